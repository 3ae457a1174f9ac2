"""SMTP replies as values: the ``Reply`` record, its wire form, and the client-side reply parser.

A reply is a code, one or more text lines and an optional enhanced status code (RFC 3463). The
enhanced code is kept apart from the text so that logs and queue LastError fields can show the
single-line form Exchange shows (``454 4.7.5 Certificate validation failure``) while the wire form
repeats it on every line as RFC 2034 requires.

Parsing is incremental (``ReplyParser``): bytes arrive in arbitrary segments and a multi-line reply
is only complete at its ``NNN<SP>`` line. Malformed input from the peer is reported through
``ReplyParser.error`` and never raised, because it is the peer's fault, not the owner's.
"""

from __future__ import annotations

import functools
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_REPLY_LINE",
    "MAX_REPLY_LINES",
    "Reply",
    "ReplyParser",
    "ehlo_extensions",
    "parse_reply_lines",
]

#: Longest reply line accepted from a peer, without CRLF. RFC 5321 §4.5.3.1.5 says 512 octets;
#: labsim is lenient like real clients are, but bounded so a peer cannot grow our buffer forever.
MAX_REPLY_LINE = 2000

#: Most lines accepted in one multi-line reply (a real EHLO reply has about a dozen).
MAX_REPLY_LINES = 100

_ENHANCED_RE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")
_ENHANCED_PREFIX_RE = re.compile(r"([245]\.\d{1,3}\.\d{1,3})(?: (.*)|)\Z", re.DOTALL)
_REPLY_LINE_RE = re.compile(rb"([2-5][0-9][0-9])([ -]?)(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """One SMTP reply: ``code``, text (one line as ``str`` or several as a tuple), ``enhanced``.

    The text is normalized on construction: a one-element tuple becomes a ``str`` so that
    ``Reply(250, "OK") == Reply(250, ("OK",))``. Text lines must not contain CR or LF. Invalid
    values raise ``ValueError`` (building a bad reply is a bug of the caller).
    """

    code: int
    text: str | tuple[str, ...] = ""
    enhanced: str | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.code <= 599:
            raise ValueError(f"SMTP reply code must be 200..599, not {self.code!r}")
        text = self.text
        if isinstance(text, tuple):
            if not text:
                raise ValueError("a multi-line reply needs at least one line")
            if len(text) == 1:
                # Normalized so that equality does not depend on how a one-liner was spelled.
                object.__setattr__(self, "text", text[0])
        lines = (self.text,) if isinstance(self.text, str) else self.text
        for line in lines:
            if not isinstance(line, str):
                raise ValueError(f"reply text lines must be str, not {type(line).__name__}")
            if "\r" in line or "\n" in line:
                raise ValueError(f"reply text line contains CR or LF: {line!r}")
        # The class digit is not checked against the code: RFC 3463 wants them equal, but
        # Exchange itself sends "451 5.7.3 STARTTLS is required to send mail".
        if self.enhanced is not None and _ENHANCED_RE.fullmatch(self.enhanced) is None:
            raise ValueError(f"enhanced status code must look like 4.7.5, not {self.enhanced!r}")

    @property
    def lines(self) -> tuple[str, ...]:
        """The text lines, without code or enhanced status (one element for a one-line reply)."""
        return (self.text,) if isinstance(self.text, str) else self.text

    @property
    def is_positive(self) -> bool:
        """True for 2xx (completion) and 3xx (intermediate, e.g. 354) replies."""
        return self.code < 400

    @property
    def is_positive_completion(self) -> bool:
        """True for 2xx replies only."""
        return 200 <= self.code < 300

    @property
    def is_transient(self) -> bool:
        """True for 4xx replies: the sender keeps the message queued and retries."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """True for 5xx replies: the sender gives up on the message (NDR)."""
        return self.code >= 500

    def to_bytes(self) -> bytes:
        """The wire form: ``250-`` continuation lines, a final ``250 `` line, CRLF line ends."""
        return self._wire

    @functools.cached_property
    def _wire(self) -> bytes:
        # Looked up once per reply object, then kept on it: most replies are the same module
        # constants, written for every command, and a reply built afresh for each session
        # (EHLO, the banner) is usually equal to an earlier one, rendered already.
        return _wire_form(self)

    def _render(self) -> bytes:
        out = []
        last = len(self.lines) - 1
        for index, line in enumerate(self.lines):
            text = " ".join(part for part in (self.enhanced, line) if part)
            if index != last:
                out.append(f"{self.code}-{text}\r\n")
            elif text:
                out.append(f"{self.code} {text}\r\n")
            else:
                # A final line without text is the bare code ("250"), as RFC 5321 allows.
                out.append(f"{self.code}\r\n")
        return "".join(out).encode("utf-8")

    def __str__(self) -> str:
        """The one-line form for logs and LastError: ``454 4.7.5 Certificate validation failure``."""
        parts = [str(self.code)]
        if self.enhanced:
            parts.append(self.enhanced)
        parts.extend(line for line in self.lines if line)
        return " ".join(parts)


@functools.lru_cache(maxsize=1024)
def _wire_form(reply: Reply) -> bytes:
    return reply._render()


def parse_reply_lines(lines: Sequence[bytes]) -> Reply:
    """Build a ``Reply`` from the complete raw lines of one reply (CRLF already removed).

    The enhanced status code is split off only when every line carries the same one (RFC 2034
    requires that); otherwise it stays part of the text. Raises ``ValueError`` if the lines are
    not one well-formed reply — ``ReplyParser`` turns that into its ``error`` attribute.
    """
    return _parse_reply_lines(tuple(lines))


@functools.lru_cache(maxsize=1024)
def _parse_reply_lines(lines: tuple[bytes, ...]) -> Reply:
    # Memoized (a refused reply raises and is never cached): replies are frozen, and a lab
    # hears the same EHLO, STARTTLS and QUIT answers in every session.
    if not lines:
        raise ValueError("no reply lines")
    code: int | None = None
    texts: list[str] = []
    for index, raw in enumerate(lines):
        match = _REPLY_LINE_RE.match(raw)
        if match is None:
            raise ValueError(f"not an SMTP reply line: {raw[:80]!r}")
        line_code = int(match.group(1))
        separator = match.group(2)
        last = index == len(lines) - 1
        if code is None:
            code = line_code
        elif line_code != code:
            raise ValueError(f"reply code changed from {code} to {line_code} inside one reply")
        if separator == b"-" and last:
            raise ValueError("multi-line reply ends with a continuation line")
        if separator != b"-" and not last:
            raise ValueError("final reply line followed by more lines")
        if separator == b"" and match.group(3):
            raise ValueError(f"no space after reply code: {raw[:80]!r}")
        texts.append(match.group(3).decode("utf-8", errors="replace"))
    if code is None:  # pragma: no cover - lines is non-empty
        raise ValueError("no reply lines")
    enhanced: str | None = None
    splits = [_ENHANCED_PREFIX_RE.match(text) for text in texts]
    if all(splits):
        codes = {m.group(1) for m in splits if m}
        candidate = codes.pop() if len(codes) == 1 else None
        if candidate is not None:
            enhanced = candidate
            texts = [m.group(2) or "" for m in splits if m]
    return Reply(code, tuple(texts), enhanced)


class ReplyParser:
    """Incremental reply parser: ``feed`` bytes in any segmentation, then ``next_reply``.

    Lines end with CRLF (a bare LF is tolerated, as most clients do). After a malformed reply the
    parser stops: ``error`` holds the description and ``feed`` ignores further bytes.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[bytes] = []
        self._replies: deque[Reply] = deque()
        self.error: str | None = None
        """Why the peer's bytes could not be parsed, or None while all is well."""

    def feed(self, data: bytes) -> None:
        """Add bytes received from the server."""
        if self.error is not None:
            return
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end == -1:
                if len(self._buffer) > MAX_REPLY_LINE + 1:
                    self.error = f"reply line longer than {MAX_REPLY_LINE} octets"
                    self._buffer.clear()
                return
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if len(raw) > MAX_REPLY_LINE:
                self.error = f"reply line longer than {MAX_REPLY_LINE} octets"
                self._buffer.clear()
                return
            self._lines.append(raw)
            if len(self._lines) > MAX_REPLY_LINES:
                self.error = f"reply longer than {MAX_REPLY_LINES} lines"
                self._buffer.clear()
                return
            match = _REPLY_LINE_RE.match(raw)
            if match is None:
                self.error = f"not an SMTP reply line: {raw[:80]!r}"
                self._buffer.clear()
                return
            if match.group(2) == b"-":
                continue
            lines, self._lines = self._lines, []
            try:
                self._replies.append(parse_reply_lines(lines))
            except ValueError as exc:
                self.error = str(exc)
                self._buffer.clear()
                return

    def next_reply(self) -> Reply | None:
        """The oldest complete reply not yet returned, or None."""
        return self._replies.popleft() if self._replies else None

    def discard_buffered(self) -> int:
        """Drop every byte and partial reply not yet returned; returns how many bytes were dropped.

        Used after a 220 to STARTTLS: anything the server sent in plaintext after that reply must
        not be read as if it came over TLS (RFC 3207 §6, response injection).
        """
        dropped = len(self._buffer) + sum(len(line) + 2 for line in self._lines)
        dropped += sum(len(reply.to_bytes()) for reply in self._replies)
        self._buffer.clear()
        self._lines.clear()
        self._replies.clear()
        return dropped

    @property
    def has_partial(self) -> bool:
        """True if bytes of an incomplete reply are buffered."""
        return bool(self._buffer or self._lines)


def ehlo_extensions(reply: Reply) -> dict[str, str]:
    """The service extensions a positive EHLO reply advertises: keyword (upper case) → parameters.

    The first line is the greeting (``mail.contoso.com Hello [127.0.10.2]``) and is skipped;
    ``250-SIZE 37748736`` gives ``{"SIZE": "37748736"}``, ``250-STARTTLS`` gives
    ``{"STARTTLS": ""}``. A negative reply advertises nothing.
    """
    if not reply.is_positive_completion:
        return {}
    extensions: dict[str, str] = {}
    for line in reply.lines[1:]:
        keyword, _, parameters = line.strip().partition(" ")
        if keyword:
            extensions[keyword.upper()] = parameters.strip()
    return extensions
