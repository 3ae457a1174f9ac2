"""Messages in flight and at rest: the mail item transport carries, queue and message views
(Get-Queue / Get-Message, docs/exchange-reference.md §9), and a message delivered to a mailbox."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from functools import cached_property

from labsim.model.enums import AuthAs, DeliveryType, MessageStatus, QueueStatus

AUTH_AS = "X-MS-Exchange-Organization-AuthAs"
AUTH_DOMAIN = "X-MS-Exchange-Organization-AuthDomain"
AUTH_MECHANISM = "X-MS-Exchange-Organization-AuthMechanism"
AUTH_SOURCE = "X-MS-Exchange-Organization-AuthSource"
CLASSIFICATION = "X-MS-Exchange-Organization-Classification"
PARTNER_MAIL_CLASSIFICATION = "030e9e2f-134b-4020-861c-5bfc616f113d"


def parse_headers(content: bytes) -> EmailMessage:
    """Parse only the header block (transport reads Subject and Message-ID, never the body)."""
    msg = BytesHeaderParser(policy=policy.SMTP).parsebytes(content)
    assert isinstance(msg, EmailMessage)
    return msg


_WANTED = (b"subject", b"message-id")
_FIELD_NAME = re.compile(rb"[\x21-\x39\x3b-\x7e]+\Z")  # printable ASCII but the colon
# ": value" with one space, printable ASCII words single-spaced, no encoded word.
_PLAIN_FIELD = re.compile(rb" (?!.*=\?)[!-~]+( [!-~]+)*\Z")


def subject_and_message_id(content: bytes) -> tuple[str, str | None]:
    """The Subject (decoded, "" when absent) and Message-ID (None when absent) of a message.

    Transport reads these two for every message it accepts. Plain one-line ASCII values are read
    straight from the header block; anything else (folded, encoded words, 8-bit, repeated, a
    bare CR anywhere before the end of the header block) is parsed by the ``email`` package,
    whose answer this always equals (a property test holds it to that).
    """
    found: dict[bytes, bytes] = {}
    previous = b""
    start = 0
    while start < len(content):
        end = content.find(b"\n", start)
        if end < 0:
            end = len(content)
        line = content[start:end].removesuffix(b"\r")
        start = end + 1
        if b"\r" in line:
            # A bare CR ends a line for the email parser (as it does for Exchange), so what
            # follows it may be a header of its own: let the parser decide.
            return _parsed_subject_and_id(content)
        if not line:
            break  # the end of the header block
        if line[:1] in (b" ", b"\t"):
            if previous in _WANTED:
                return _parsed_subject_and_id(content)  # a folded value
            continue
        name, colon, value = line.partition(b":")
        if not colon or not _FIELD_NAME.match(name):
            # Not a header line: the email parser would end the header block here (or treat
            # an mbox "From " line specially); let it decide.
            return _parsed_subject_and_id(content)
        previous = name.lower()
        if previous not in _WANTED:
            continue
        if previous in found or not _PLAIN_FIELD.match(value):
            return _parsed_subject_and_id(content)
        found[previous] = value[1:]
    subject = found.get(b"subject")
    message_id = found.get(b"message-id")
    return (
        subject.decode("ascii") if subject is not None else "",
        message_id.decode("ascii") if message_id is not None else None,
    )


def _parsed_subject_and_id(content: bytes) -> tuple[str, str | None]:
    parsed = parse_headers(content)
    message_id = parsed.get("Message-ID")
    # A long first word makes a writer fold right after the colon ("Subject:\r\n <word>"); the
    # email package keeps the folding space, which no mail client shows.
    subject = str(parsed.get("Subject") or "").lstrip(" \t")
    return subject, (None if message_id is None else str(message_id))


def parse_message(content: bytes) -> EmailMessage:
    """Parse RFC 5322 bytes with the modern policy (headers decoded, CRLF tolerated)."""
    msg = message_from_bytes(content, policy=policy.SMTP)
    assert isinstance(msg, EmailMessage)
    return msg


@dataclass(frozen=True)
class MailItem:
    """A message as transport carries it: envelope plus RFC 5322 content."""

    internal_id: int
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    content: bytes
    received_at: datetime
    subject: str = ""
    # Set when the message must be treated as a DSN (null reverse path, no DSN about a DSN).
    is_dsn: bool = False

    @property
    def size(self) -> int:
        """Size in bytes of the content."""
        return len(self.content)


@dataclass(frozen=True)
class DeliveredMessage:
    """A message in a mailbox, as a user's client would list it."""

    mailbox: str
    mail_from: str
    subject: str
    content: bytes
    delivered_at: datetime
    message_id: str

    @cached_property
    def headers(self) -> EmailMessage:
        """The parsed message (parsed once; the record is frozen)."""
        return parse_message(self.content)

    def header(self, name: str) -> str | None:
        """First value of a header, or None."""
        value = self.headers.get(name)
        return None if value is None else str(value)

    @property
    def auth_as(self) -> str | None:
        """The AuthAs stamp the receiving organization wrote."""
        return self.header(AUTH_AS)

    @property
    def domain_secured(self) -> bool:
        """Outlook's green check: AuthAs Partner and an AuthDomain (docs/exchange-reference.md §16
        D10)."""
        return self.auth_as == AuthAs.PARTNER.value and bool(self.header(AUTH_DOMAIN))

    @property
    def is_ndr(self) -> bool:
        """A delivery status notification (RFC 3464 report)."""
        # The email package re-quotes the parameter, so compare parsed values, not text.
        parsed = self.headers
        return (
            parsed.get_content_type() == "multipart/report"
            and str(parsed.get_param("report-type", "")).lower() == "delivery-status"
        )


@dataclass(frozen=True)
class QueueView:
    """One row of Get-Queue (docs/exchange-reference.md §9)."""

    identity: str
    delivery_type: DeliveryType
    next_hop_domain: str
    status: QueueStatus
    message_count: int
    last_error: str = ""
    retry_count: int = 0
    last_retry_time: datetime | None = None
    next_retry_time: datetime | None = None
    first_retry_time: datetime | None = None
    tls_domain: str = ""
    next_hop_connector: str = ""
    next_hop_category: str = "External"
    deferred_message_count: int = 0


@dataclass(frozen=True)
class MessageView:
    """One row of Get-Message (docs/exchange-reference.md §9)."""

    identity: str
    queue: str
    from_address: str
    status: MessageStatus
    subject: str
    size: int
    recipients: tuple[str, ...]
    date_received: datetime
    expiration_time: datetime
    last_error: str = ""
    retry_count: int = 0
    message_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    next_hop_domain: str = ""
    """The NextHopDomain of the message's queue (``SERVER\\NextHopDomain\\<id>`` names it too)."""
