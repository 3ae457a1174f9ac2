"""Who may use the web console, and which requests it answers (pure: no Twisted).

The console binds 127.0.0.1, but other users of the machine can reach loopback too, and a web
page in the trainer's own browser can make it send requests. So:

* every page and action needs the per-run secret that ``labsim up`` prints in the console's
  URL (``?k=SECRET``); the first visit turns it into a cookie (HttpOnly, SameSite=Strict) so
  that the URL can be shared as a link without the secret afterwards;
* a POST also needs the CSRF token (derived from the secret, sent in the page) in a form field
  or the ``X-CSRF-Token`` header, and an ``Origin``, when the browser sends one, of the console
  itself;
* the ``Host`` header must name the console (a DNS-rebinding page cannot use it);
* bodies are small (shell lines, queue identities): a larger one is refused before it is read.

:func:`check_request` takes a request as plain data and returns the decision; the Twisted
resources only carry it out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

SECRET_PARAMETER = "k"
"""The query parameter carrying the secret in the URL ``labsim up`` prints."""

COOKIE_PREFIX = "labsim_console_"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 64 * 1024
"""A shell line or a queue identity fits many times over; anything larger is refused (413)."""

PUBLIC_PREFIXES = ("/static/",)
"""The console's own script and style sheet: nothing from the lab, served without the secret
(the page that refers to them has been authorized already)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
"""No inline script, no script from elsewhere, no framing: text that escaped escaping still
cannot run."""

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null" with the
    # console's own form posts, which the Origin check must refuse.
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)


def cookie_name(port: int) -> str:
    """The cookie of the console on ``port``: browsers keep cookies per host, not per port, so
    two labs on one machine need two names or each visit would log the other out."""
    return f"{COOKIE_PREFIX}{port}"


def new_secret() -> str:
    """A fresh per-run secret (URL-safe, 192 bits)."""
    return secrets.token_urlsafe(24)


def csrf_token(secret: str) -> str:
    """The CSRF token pages carry: derived from the secret, so it needs no server state."""
    return hmac.new(secret.encode(), b"labsim-console-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class HttpRequest:
    """What the checks need of one HTTP request."""

    method: str
    path: str
    host: str
    query: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Lower-cased names."""
    form: dict[str, str] = field(default_factory=dict)
    body_too_large: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do with a request: serve it, set the cookie and redirect, or refuse it."""

    status: int
    """200: serve; 303: redirect to ``location`` setting the cookie; else refuse with ``reason``."""
    reason: str = ""
    location: str = ""
    set_cookie: bool = False


SERVE = Decision(200)


def check_request(request: HttpRequest, secret: str, port: int) -> Decision:
    """Decide whether the console serves ``request`` (see the module's rules)."""
    if request.host.lower() not in {f"127.0.0.1:{port}", f"localhost:{port}"}:
        return Decision(
            421,
            f"this console answers for http://127.0.0.1:{port}/ only (Host was "
            f"'{request.host}'); open the URL labsim up printed",
        )
    if request.body_too_large:
        return Decision(
            413,
            f"request body over {MAX_BODY_BYTES} bytes; the console takes one shell line or "
            "queue identity at a time",
        )
    if request.path.startswith(PUBLIC_PREFIXES):
        return SERVE
    given = request.query.get(SECRET_PARAMETER)
    if given is not None:
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Decision(403, _WRONG_SECRET)
        if request.method == "GET":
            # Trade the secret in the URL for the cookie, and drop it from the address bar.
            rest = [f"{k}={v}" for k, v in request.query.items() if k != SECRET_PARAMETER]
            location = request.path + ("?" + "&".join(rest) if rest else "")
            return Decision(303, location=location, set_cookie=True)
    cookie = request.cookies.get(cookie_name(port), "")
    if given is None and not hmac.compare_digest(cookie.encode(), secret.encode()):
        return Decision(403, _NO_SECRET)
    if request.method == "POST":
        origin = request.headers.get("origin")
        if origin is not None and origin not in {
            f"http://127.0.0.1:{port}",
            f"http://localhost:{port}",
        }:
            return Decision(403, f"cross-site request from {origin} refused")
        token = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(token.encode(), csrf_token(secret).encode()):
            return Decision(
                403,
                "CSRF token missing or wrong; use the console's own buttons and prompt "
                "(reload the page if the lab was restarted)",
            )
    return SERVE


_NO_SECRET = (
    "this console needs the secret of the lab's run: open the URL labsim up printed "
    '(http://127.0.0.1:PORT/?k=SECRET; also in its ready file under "web")'
)
_WRONG_SECRET = (
    "wrong secret in ?k=: open the URL this run of labsim up printed (a restarted lab has a "
    "new secret)"
)
