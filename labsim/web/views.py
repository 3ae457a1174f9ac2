"""What each console view shows, chosen from plain lab data (pure: no Twisted, no HTML).

The Twisted edge (labsim.web.console) reads the lab and hands records to these functions;
labsim.web.pages turns their results into HTML. Keeping the choices here (which messages, in
which order, which header lines are Exchange's authentication stamps, which log lines a filter
keeps) lets them be tested without a lab or a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from labsim.logs.event_log import EventLogEntry
from labsim.logs.protocol_log import ProtocolLogRecord
from labsim.logs.tracking import TrackingRecord
from labsim.model.mail import DeliveredMessage

AUTH_STAMP_PREFIX = "x-ms-exchange-organization-auth"
"""AuthAs, AuthDomain, AuthMechanism, AuthSource: the stamps that make Outlook's check mark."""

LOG_KINDS = ("receive", "send", "tracking", "event")
MAX_LOG_ROWS = 500
"""A log view shows the newest rows up to this many (a page a browser still draws quickly)."""


@dataclass(frozen=True)
class MailboxRow:
    """One line of the Outlook-like message list."""

    number: int
    """1 = the oldest message in the mailbox (as ``:headers ADDRESS N`` counts)."""
    sender: str
    subject: str
    received: datetime
    domain_secured: bool
    auth_as: str
    is_ndr: bool
    message_id: str


def mailbox_rows(messages: Sequence[DeliveredMessage]) -> list[MailboxRow]:
    """The message list, newest first as Outlook sorts it."""
    rows = [
        MailboxRow(
            number=index,
            sender=message.header("From") or message.mail_from or "<>",
            subject=message.subject,
            received=message.delivered_at,
            domain_secured=message.domain_secured,
            auth_as=message.auth_as or "",
            is_ndr=message.is_ndr,
            message_id=message.message_id,
        )
        for index, message in enumerate(messages, start=1)
    ]
    return rows[::-1]


@dataclass(frozen=True)
class HeaderLine:
    """One header field of a delivered message; ``stamp`` marks Exchange's Auth* stamps."""

    name: str
    value: str
    stamp: bool


def header_lines(content: bytes) -> list[HeaderLine]:
    """The header block as the recipient's Outlook shows it under Message options, unfolded."""
    head = content.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    fields: list[list[str]] = []
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            fields.append([name.strip(), value.strip()])
    return [
        HeaderLine(name, value, name.lower().startswith(AUTH_STAMP_PREFIX))
        for name, value in fields
    ]


def message_body(content: bytes, limit: int = 20_000) -> str:
    """The raw text after the header block (as Outlook's plain-text view shows it), cut at
    ``limit`` characters."""
    text = content.replace(b"\r\n", b"\n").split(b"\n\n", 1)
    body = text[1].decode("utf-8", "replace") if len(text) == 2 else ""
    return body if len(body) <= limit else body[:limit] + "\n[…]"


@dataclass(frozen=True)
class LogFilter:
    """What the Logs view's form asks for; empty fields select everything."""

    server: str = ""
    kind: str = "receive"
    session: str = ""
    message_id: str = ""
    text: str = ""

    @property
    def active(self) -> bool:
        """Whether any filter narrows the lines."""
        return bool(self.session or self.message_id or self.text)


def filter_protocol_log(
    records: Iterable[ProtocolLogRecord], wanted: LogFilter
) -> list[ProtocolLogRecord]:
    """The records of a protocol log a filter keeps, newest :data:`MAX_LOG_ROWS` in log order.

    A message id selects whole sessions: those in which it appears (the 250 reply of DATA
    names it), so every line of the conversation that carried the message is shown.
    """
    records = list(records)
    if wanted.message_id:
        needle = wanted.message_id.strip().strip("<>").lower()
        sessions = {r.session_id for r in records if needle and needle in r.data.lower()}
        records = [r for r in records if r.session_id in sessions]
    if wanted.session:
        records = [r for r in records if r.session_id.upper() == wanted.session.strip().upper()]
    if wanted.text:
        needle = wanted.text.lower()
        records = [r for r in records if needle in r.to_csv().lower()]
    return records[-MAX_LOG_ROWS:]


def filter_tracking_log(
    records: Iterable[TrackingRecord], wanted: LogFilter
) -> list[TrackingRecord]:
    """The message tracking records a filter keeps (a session filter matches the
    Reference/SourceContext columns, where Exchange names the SMTP session)."""
    kept = list(records)
    if wanted.message_id:
        needle = wanted.message_id.strip().strip("<>").lower()
        kept = [r for r in kept if needle in r.message_id.lower()]
    if wanted.session:
        needle = wanted.session.strip().lower()
        kept = [
            r
            for r in kept
            if needle in r.source_context.lower() or any(needle in x.lower() for x in r.reference)
        ]
    if wanted.text:
        needle = wanted.text.lower()
        kept = [r for r in kept if needle in _tracking_text(r)]
    return kept[-MAX_LOG_ROWS:]


def filter_event_log(entries: Iterable[EventLogEntry], wanted: LogFilter) -> list[EventLogEntry]:
    """The Application log entries a filter keeps: the text (and a message id or session id,
    which an entry's message may name) anywhere in the entry's line."""
    kept = list(entries)
    for needle in (wanted.text, wanted.message_id.strip().strip("<>"), wanted.session.strip()):
        if needle:
            kept = [r for r in kept if needle.lower() in r.line().lower()]
    return kept[-MAX_LOG_ROWS:]


def _tracking_text(record: TrackingRecord) -> str:
    return " ".join(
        (
            record.event_id.value,
            record.source.value,
            record.message_id,
            record.message_subject,
            record.sender_address,
            " ".join(record.recipient_address),
            " ".join(record.recipient_status),
            record.source_context,
            record.connector_id,
            record.server_hostname,
            record.client_hostname,
        )
    ).lower()


def log_filter(query: dict[str, str], servers: Sequence[str]) -> LogFilter:
    """The Logs view's query parameters, checked: an unknown server or kind falls back to the
    first server and the receive log (a stale bookmark still opens a view)."""
    server = query.get("server", "")
    by_name = {s.lower(): s for s in servers}
    server = by_name.get(server.lower(), servers[0] if servers else "")
    kind = query.get("kind", "receive").lower()
    return LogFilter(
        server=server,
        kind=kind if kind in LOG_KINDS else "receive",
        session=query.get("session", "")[:64],
        message_id=query.get("message_id", "")[:998],
        text=query.get("text", "")[:200],
    )


QUEUE_CMDLETS = {"retry": "Retry-Queue", "resume": "Resume-Queue"}
"""The queue buttons, by the last part of their POST path."""

_QUEUE_IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]*\\[A-Za-z0-9.\-_]+")


def queue_action_line(action: str, identity: str) -> str | None:
    """The shell line a queue button runs (the same cmdlet an admin types), or None when the
    action or the identity is not one the Queues view offers (``SERVER\\NextHopDomain`` or
    ``SERVER\\<number>``): nothing from a request is ever spliced into a line unchecked."""
    cmdlet = QUEUE_CMDLETS.get(action)
    if cmdlet is None or len(identity) > 300 or not _QUEUE_IDENTITY.fullmatch(identity):
        return None
    return f'{cmdlet} -Identity "{identity}"'
