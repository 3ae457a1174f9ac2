"""Dot-stuffing of SMTP message data (RFC 5321 §4.5.2), both directions.

``stuff`` prepares message content for the wire (client side). ``Unstuffer`` undoes it
incrementally on the server side and finds the end of the data, whatever the segmentation.

The end of data is recognized only as ``CRLF . CRLF`` (the first CRLF may be the one that ended
the DATA command line). Bare-LF variants such as ``LF . LF`` or ``LF . CRLF`` are content, never
an end: accepting them is what makes "SMTP smuggling" possible between servers that disagree.
"""

from __future__ import annotations

__all__ = ["Unstuffer", "normalize_line_ends", "stuff"]

_END_LINE = b".\r\n"


def normalize_line_ends(content: bytes) -> bytes:
    """Turn every bare LF into CRLF (existing CRLFs are kept; a bare CR stays as it is)."""
    return content.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def stuff(content: bytes) -> bytes:
    """The wire form of ``content``: CRLF line ends, leading dots doubled, ``.`` CRLF appended.

    LF-only input is normalized to CRLF. A last line without a line end gets a CRLF, because the
    terminator must start a line; the receiver will therefore see that CRLF in the content.
    """
    data = normalize_line_ends(content)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    return data + _END_LINE


class Unstuffer:
    """Incremental receiver of message data: removes dot-stuffing and detects the end.

    ``feed`` returns the content bytes that are final so far. Bytes that might still turn out to
    be part of the terminator (a trailing CR, or ``.``/``.CR`` at the start of a line) are held
    back until the next ``feed``. Once ``done`` is true, ``leftover`` holds the bytes that followed
    the terminator (pipelined commands) and further ``feed`` calls are a bug.
    """

    def __init__(self) -> None:
        # The DATA command line ended with CRLF, so the data starts at the beginning of a line.
        self._at_line_start = True
        self._held = b""
        self.done = False
        """True once the terminating ``.`` line was seen."""
        self.leftover = b""
        """Bytes received after the terminator (valid once ``done``)."""

    def feed(self, data: bytes) -> bytes:
        """Consume ``data``; return the unstuffed content bytes that are now known to be final."""
        if self.done:
            raise ValueError("Unstuffer.feed() after the end of data")
        buf = self._held + data
        self._held = b""
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while pos < size:
            if self._at_line_start:
                rest = buf[pos : pos + 3]
                if rest == _END_LINE:
                    self.done = True
                    self.leftover = buf[pos + 3 :]
                    return b"".join(out)
                if len(rest) < 3 and _END_LINE.startswith(rest):
                    # Could still become ".CRLF": decide when more bytes arrive.
                    self._held = rest
                    return b"".join(out)
                if rest[:1] == b".":
                    # A leading dot on any other line was added by the sender's stuffing.
                    pos += 1
                self._at_line_start = False
            end = buf.find(b"\r\n", pos)
            if end == -1:
                if buf.endswith(b"\r"):
                    # The CR may be the first half of a CRLF that ends this line.
                    out.append(buf[pos:-1])
                    self._held = b"\r"
                else:
                    out.append(buf[pos:])
                return b"".join(out)
            out.append(buf[pos : end + 2])
            pos = end + 2
            self._at_line_start = True
        return b"".join(out)
