"""Escaping and the page shell shared by the HTML report and the web console.

Rules kept: every text goes through :func:`escape` (or :func:`attr`) on its way into markup,
whatever its source; characters XML cannot carry (C0 controls but tab and line breaks,
lone surrogates, U+FFFE/U+FFFF) are replaced, so a hostile subject can neither inject markup
nor make an SVG unparsable. Pages carry no inline script and no inline ``style`` attribute:
the stylesheet (:data:`STYLESHEET`) goes in one ``<style>`` element whose hash a strict
Content-Security-Policy can allow (:func:`style_hash`), or is served as a file.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

GREEN = "#1a7f37"
"""Domain secured (the Outlook check)."""
RED = "#cf222e"
"""A failure: a refusal, a failed session, a queued or NDR'd message."""
GREY = "#6e7781"
"""Plain: delivered or carried without Domain Security."""
INK = "#1f2328"
PAPER = "#ffffff"
PANEL = "#f6f8fa"
LINE = "#d0d7de"
FONT = "'DejaVu Sans', 'Segoe UI', Arial, sans-serif"
MONO = "'DejaVu Sans Mono', Consolas, monospace"

CHECK = "\u2714"
"""✔"""
CROSS = "\u2718"
"""✘"""


def clean(text: object) -> str:
    """``text`` as a string XML can carry (unrepresentable characters become U+FFFD)."""
    return _NOT_XML.sub("\ufffd", str(text))


def escape(text: object) -> str:
    """Text for element content or a quoted attribute value (``& < > " '`` escaped)."""
    return html.escape(clean(text), quote=True)


def attr(text: object) -> str:
    """An attribute value, escaped (the same as :func:`escape`; named for readability)."""
    return escape(text)


STYLESHEET = f"""
:root {{ color-scheme: light; }}
body {{ font-family: {FONT}; color: {INK}; background: {PAPER}; margin: 0 auto;
  max-width: 1500px; padding: 24px 32px; font-size: 17px; line-height: 1.45; }}
h1 {{ font-size: 30px; margin: 0 0 8px; }}
h2 {{ font-size: 24px; margin: 28px 0 10px; border-bottom: 2px solid {LINE}; padding-bottom: 4px; }}
h3 {{ font-size: 20px; margin: 20px 0 8px; }}
.meta {{ color: {GREY}; font-size: 15px; }}
.summary {{ font-size: 20px; font-weight: bold; margin: 10px 0 20px; }}
.pass {{ color: {GREEN}; }}
.fail {{ color: {RED}; }}
.plain {{ color: {GREY}; }}
ol.steps {{ list-style: none; padding: 0; margin: 0; }}
ol.steps > li {{ padding: 6px 10px; border-left: 5px solid {LINE}; margin: 4px 0;
  background: {PANEL}; }}
ol.steps > li.pass {{ border-left-color: {GREEN}; color: {INK}; }}
ol.steps > li.fail {{ border-left-color: {RED}; color: {INK}; background: #fff1f0; }}
.mark {{ font-weight: bold; margin-right: 6px; }}
li.pass .mark {{ color: {GREEN}; }}
li.fail .mark {{ color: {RED}; }}
pre {{ font-family: {MONO}; font-size: 14px; white-space: pre-wrap; word-break: break-word;
  margin: 6px 0 2px 26px; }}
ul.notes {{ font-size: 14px; color: {GREY}; margin: 4px 0 2px 26px; padding-left: 18px; }}
figure {{ margin: 12px 0 24px; }}
figcaption {{ font-size: 17px; margin-bottom: 6px; }}
svg {{ max-width: 100%; height: auto; display: block; }}
.outcome {{ font-weight: bold; }}
"""
"""The shared stylesheet: readable when projected (17 px body text), one colour per meaning."""


def style_hash() -> str:
    """The CSP source for :data:`STYLESHEET` in a ``<style>`` element (``'sha256-…'``)."""
    digest = hashlib.sha256(STYLESHEET.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {style_hash()}; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
"""A policy under which a self-contained page (no script at all) renders fully."""


def page(
    title: str,
    body: str,
    *,
    csp: str | None = CONTENT_SECURITY_POLICY,
    head: str = "",
    stylesheet: bool = True,
) -> str:
    """A complete HTML document: ``title`` is text (escaped here), ``body`` is markup the caller
    built with :func:`escape`. The stylesheet is inlined (``stylesheet=False`` leaves it out,
    for a server that links it as a file through ``head``); with ``csp`` a ``<meta>``
    Content-Security-Policy forbids every script (give ``None`` when the server sends the
    header itself). ``head`` is extra markup for ``<head>`` (a ``<link>``, a ``<script src>``
    of the server's own), written as given."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{attr(csp)}">\n' if csp else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"{meta}"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        + (f"<style>{STYLESHEET}</style>\n" if stylesheet else "")
        + head
        + "</head>\n<body>\n"
        f"{body}\n"
        "</body>\n</html>\n"
    )
