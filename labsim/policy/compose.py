"""A message as Outlook submits it: RFC 5322 bytes built from what the user typed.

The ``email`` package is the reference for every byte (:func:`compose_with_email`). It costs
about 1.5 ms per message, more than the SMTP hops that carry it, so :func:`compose_message`
writes the common case directly: plain ASCII addresses, a short ASCII subject and an ASCII body
whose lines fit in 78 characters, which ``email`` would write as 7bit text/plain without folding
or encoding anything. Everything else goes through ``email``. A property test keeps the two
byte-identical wherever the direct path applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

MAX_LINE = 78
"""``email``'s policy.SMTP line length: a longer header is folded, a longer body line encoded."""

_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_+-]+(\.[A-Za-z0-9_+-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\Z"
)
# Printable ASCII words separated by single spaces: what the header registry would leave alone.
_PLAIN_TEXT = re.compile(r"[!-~]+( [!-~]+)*\Z")
_PLAIN_BODY = re.compile(r"[\t\r\n -~]*\Z")
_TRAILER = (
    b'Content-Type: text/plain; charset="utf-8"\r\n'
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"MIME-Version: 1.0\r\n"
    b"\r\n"
)


@dataclass(frozen=True)
class Draft:
    """What the author's client hands to the store: the fields of a new message."""

    mail_from: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: str
    message_id: str
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra header lines the author wrote, after the standard ones."""

    def header_fields(self) -> list[tuple[str, str]]:
        """The header fields in the order they are written."""
        fields = [("From", self.mail_from)]
        if self.to:
            fields.append(("To", ", ".join(self.to)))
        if self.cc:
            fields.append(("Cc", ", ".join(self.cc)))
        fields += [("Subject", self.subject), ("Date", self.date), ("Message-ID", self.message_id)]
        return fields + list(self.headers)


def compose_with_email(draft: Draft) -> bytes:
    """The message as the ``email`` package writes it (CRLF line ends)."""
    message = EmailMessage()
    for name, value in draft.header_fields():
        message[name] = value
    message.set_content(draft.body or "")
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _direct(draft: Draft) -> bytes | None:
    if draft.headers:
        return None
    if not all(_PLAIN_ADDRESS.match(a) for a in (draft.mail_from, *draft.to, *draft.cc)):
        return None
    lines = []
    for name, value in draft.header_fields():
        line = f"{name}: {value}"
        if len(line) > MAX_LINE or not _PLAIN_TEXT.match(value):
            return None
        lines.append(line)
    body = draft.body or ""
    if not _PLAIN_BODY.match(body):
        return None
    body_lines = body.splitlines()
    if any(len(line) > MAX_LINE for line in body_lines):
        return None
    head = "\r\n".join(lines).encode("ascii") + b"\r\n"
    return (
        head
        + _TRAILER
        + "".join(f"{line}\r\n" for line in body_lines).encode("ascii")
        + (b"" if body_lines else b"\r\n")
    )


def compose_message(draft: Draft) -> bytes:
    """The submitted message's bytes, identical to :func:`compose_with_email`'s."""
    direct = _direct(draft)
    return direct if direct is not None else compose_with_email(draft)
