"""Small SVG writing helpers shared by the topology and sequence diagrams.

Everything returns markup strings; every text and attribute value goes through
:func:`labsim.render.html.escape`. Text width is estimated (no font metrics in a pure module):
:data:`CHAR_WIDTH` em per character is the average of DejaVu Sans, the widest common sans
font, so that wrapped lines never run past their box whatever font the viewer has.
"""

from __future__ import annotations

import textwrap

from labsim.render.html import FONT, GREEN, GREY, INK, RED, escape

CHAR_WIDTH = 0.6
"""Estimated average character width, in em."""


def chars_for(width: float, size: float) -> int:
    """How many characters of ``size`` px fit in ``width`` px (at least 8)."""
    return max(8, int(width / (size * CHAR_WIDTH)))


def wrap(
    text: str, width: float, size: float, *, max_lines: int = 0, bold: bool = False
) -> list[str]:
    """``text`` broken into lines that fit ``width`` px at ``size`` px (long words split; bold
    text is taken as 12% wider); with ``max_lines``, the last kept line ends with an ellipsis
    when text was left out."""
    room = chars_for(width * (0.88 if bold else 1.0), size)
    lines = textwrap.wrap(text, room, break_long_words=True, break_on_hyphens=False) or [""]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        lines[-1] = (last[: max(0, len(last) - 1)] + "\u2026") if last else "\u2026"
    return lines


def fits(text: str, width: float, size: float, *, bold: bool = False) -> str:
    """``text`` cut (with an ellipsis) to one line of ``width`` px."""
    room = chars_for(width * (0.88 if bold else 1.0), size)
    return text if len(text) <= room else text[: room - 1] + "\u2026"


def text(
    x: float,
    y: float,
    content: str,
    *,
    size: float = 15,
    weight: str = "normal",
    fill: str = INK,
    anchor: str = "start",
    family: str | None = None,
) -> str:
    """One ``<text>`` element."""
    extra = f' font-family="{escape(family)}"' if family else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" font-weight="{weight}" '
        f'fill="{fill}" text-anchor="{anchor}"{extra}>{escape(content)}</text>'
    )


def rect(
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    fill: str,
    stroke: str = "none",
    radius: float = 6,
    width: float = 1.5,
) -> str:
    """One ``<rect>`` element."""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{radius}" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
    )


def line(
    x1: float, y1: float, x2: float, y2: float, *, stroke: str, width: float = 2, dash: str = ""
) -> str:
    """One ``<line>`` element."""
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
        f'stroke-width="{width}"{dashed}/>'
    )


def arrow(x1: float, x2: float, y: float, *, stroke: str, width: float = 3) -> str:
    """A horizontal arrow from ``x1`` to ``x2`` with its head drawn as a polygon (no shared
    ``<marker>`` ids: several diagrams may sit in one page)."""
    direction = 1 if x2 >= x1 else -1
    tip = x2 - direction * 2
    base = tip - direction * 14
    head = f"{tip:.1f},{y:.1f} {base:.1f},{y - 7:.1f} {base:.1f},{y + 7:.1f}"
    return line(x1, y, base, y, stroke=stroke, width=width) + (
        f'<polygon points="{head}" fill="{stroke}"/>'
    )


def mark(x: float, y: float, ok: bool | None, label: str, *, size: float = 20) -> str:
    """✔ (green), ✘ (red) or • (grey, ``ok`` None) with ``label`` as its text alternative."""
    glyph, colour = ("\u2714", GREEN) if ok else ("\u2718", RED)
    if ok is None:
        glyph, colour = "\u2022", GREY
    return (
        f'<g role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + text(x, y, glyph, size=size, weight="bold", fill=colour)
        + "</g>"
    )


def document(width: float, height: float, title: str, body: list[str], *, label: str) -> str:
    """The ``<svg>`` root: sized, titled (``title`` for assistive technology), no script."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{escape(label)}" '
        f'font-family="{escape(FONT)}">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )
