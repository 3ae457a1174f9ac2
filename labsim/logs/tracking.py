"""Message tracking logs as Exchange 2013 writes them, and Get-MessageTrackingLog's filters (§8).

Owns the tracking record (:class:`TrackingRecord`: every 2013 ``#Fields`` column, in file order),
its CSV form, and the per-server log (:class:`TrackingLog`) that keeps records in memory and,
given a root folder, writes ``<root>/<SERVER>/TransportRoles/Logs/MessageTracking/`` with
Exchange's header: the Transport service's events in ``MSGTRKyyyymmdd-n.LOG``, the Mailbox
Transport Delivery service's (DELIVER) in ``MSGTRKMD…`` and the Mailbox Transport Submission
service's (SUBMIT) in ``MSGTRKMS…``, as a 2013 Mailbox server splits them
(docs/exchange-reference.md §8, §17 C6).

Rules kept here: pure (no Twisted, no clock reads; each record carries its time), Exchange's
spelling for event ids, sources and directionality, and multi-valued fields (recipient-address,
recipient-status, reference) joined with ``;`` as Exchange writes them.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from labsim.logs._csvlog import (
    LogFileSet,
    check_aware,
    check_path_component,
    csv_line,
    exchange_timestamp,
)

__all__ = [
    "TRACKING_LOG_FIELDS",
    "TRACKING_LOG_VERSION",
    "Directionality",
    "TrackingEventId",
    "TrackingLog",
    "TrackingRecord",
    "TrackingSource",
    "tracking_file_prefix",
    "tracking_log_header",
]

#: The ``#Fields`` of an Exchange 2013 message tracking log, in file order
#: (docs/exchange-reference.md §8): the 2010 list plus ``network-message-id`` after ``message-id``.
TRACKING_LOG_FIELDS: tuple[str, ...] = (
    "date-time",
    "client-ip",
    "client-hostname",
    "server-ip",
    "server-hostname",
    "source-context",
    "connector-id",
    "source",
    "event-id",
    "internal-message-id",
    "message-id",
    "network-message-id",
    "recipient-address",
    "recipient-status",
    "total-bytes",
    "recipient-count",
    "related-recipient-address",
    "reference",
    "message-subject",
    "sender-address",
    "return-path",
    "message-info",
    "directionality",
    "tenant-id",
    "original-client-ip",
    "original-server-ip",
    "custom-data",
)

#: ``#Version`` of the tracking log header: the build, Exchange 2013 CU23
#: (docs/exchange-reference.md §0, S21).
TRACKING_LOG_VERSION = "15.00.1497.002"


class TrackingEventId(enum.Enum):
    """The ``event-id`` field (Get-MessageTrackingLog ``-EventId``), docs/exchange-reference.md
    §8."""

    RECEIVE = "RECEIVE"
    SUBMIT = "SUBMIT"
    SEND = "SEND"
    DELIVER = "DELIVER"
    DEFER = "DEFER"
    FAIL = "FAIL"
    DSN = "DSN"
    EXPAND = "EXPAND"
    REDIRECT = "REDIRECT"
    RESOLVE = "RESOLVE"
    TRANSFER = "TRANSFER"
    DROP = "DROP"
    POISONMESSAGE = "POISONMESSAGE"
    BADMAIL = "BADMAIL"
    HAREDIRECT = "HAREDIRECT"
    HARECEIVE = "HARECEIVE"
    HADISCARD = "HADISCARD"
    HAREDIRECTFAIL = "HAREDIRECTFAIL"
    NOTIFYMAPI = "NOTIFYMAPI"
    NOTIFYSHADOW = "NOTIFYSHADOW"
    AGENTINFO = "AGENTINFO"
    THROTTLE = "THROTTLE"
    RESUBMIT = "RESUBMIT"
    RESUBMITDEFER = "RESUBMITDEFER"
    RESUBMITFAIL = "RESUBMITFAIL"
    SUBMITDEFER = "SUBMITDEFER"
    SUBMITFAIL = "SUBMITFAIL"
    SUPPRESSED = "SUPPRESSED"
    LOAD = "LOAD"
    PROCESS = "PROCESS"
    INITMESSAGECREATED = "INITMESSAGECREATED"
    MODERATORAPPROVE = "MODERATORAPPROVE"
    MODERATORREJECT = "MODERATORREJECT"
    MODERATORSALLNDR = "MODERATORSALLNDR"
    MODERATIONEXPIRE = "MODERATIONEXPIRE"
    DUPLICATEDELIVER = "DUPLICATEDELIVER"
    DUPLICATEEXPAND = "DUPLICATEEXPAND"
    DUPLICATEREDIRECT = "DUPLICATEREDIRECT"

    @classmethod
    def parse(cls, value: TrackingEventId | str) -> TrackingEventId:
        """An event id from itself or its name, case-insensitive like ``-EventId``."""
        if isinstance(value, TrackingEventId):
            return value
        try:
            return cls(value.strip().upper())
        except ValueError:
            raise ValueError(f"unknown message tracking event id {value!r}") from None


class TrackingSource(enum.Enum):
    """The ``source`` field: the transport component that logged the event
    (docs/exchange-reference.md §8)."""

    ADMIN = "ADMIN"
    AGENT = "AGENT"
    APPROVAL = "APPROVAL"
    BOOTLOADER = "BOOTLOADER"
    DNS = "DNS"
    DSN = "DSN"
    GATEWAY = "GATEWAY"
    MAILBOXRULE = "MAILBOXRULE"
    MEETINGMESSAGEPROCESSOR = "MEETINGMESSAGEPROCESSOR"
    ORAR = "ORAR"
    PICKUP = "PICKUP"
    POISONMESSAGE = "POISONMESSAGE"
    PUBLICFOLDER = "PUBLICFOLDER"
    QUEUE = "QUEUE"
    REDUNDANCY = "REDUNDANCY"
    ROUTING = "ROUTING"
    SAFETYNET = "SAFETYNET"
    SMTP = "SMTP"
    STOREDRIVER = "STOREDRIVER"


class Directionality(enum.Enum):
    """The ``directionality`` field: whether the message came from inside the organization."""

    ORIGINATING = "Originating"
    INCOMING = "Incoming"


def _optional_int(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True, kw_only=True)
class TrackingRecord:
    """One message tracking event: the 2013 fields in ``#Fields`` order, snake_case names.

    Only ``date_time``, ``source`` and ``event_id`` are required; Exchange leaves the columns an
    event does not use empty, and so do the defaults here. Multi-valued columns are tuples (a list
    given by the caller is stored as a tuple, so the record stays hashable).
    ``network_message_id`` is a GUID string chosen by the caller (one per message per org).
    """

    date_time: datetime
    client_ip: str = ""
    client_hostname: str = ""
    server_ip: str = ""
    server_hostname: str = ""
    source_context: str = ""
    connector_id: str = ""
    source: TrackingSource
    event_id: TrackingEventId
    internal_message_id: int | None = None
    message_id: str = ""
    network_message_id: str = ""
    recipient_address: tuple[str, ...] = ()
    recipient_status: tuple[str, ...] = ()
    total_bytes: int | None = None
    recipient_count: int | None = None
    related_recipient_address: str = ""
    reference: tuple[str, ...] = ()
    message_subject: str = ""
    sender_address: str = ""
    return_path: str = ""
    message_info: str = ""
    directionality: Directionality | None = None
    tenant_id: str = ""
    original_client_ip: str = ""
    original_server_ip: str = ""
    custom_data: str = ""

    def __post_init__(self) -> None:
        check_aware(self.date_time, "date_time")
        for name in ("recipient_address", "recipient_status", "reference"):
            value: Sequence[str] = getattr(self, name)
            if isinstance(value, str):
                # A bare string would be split into characters by tuple(); that is a caller bug.
                raise TypeError(f"{name} takes a sequence of strings, not a single string")
            object.__setattr__(self, name, tuple(value))
        if self.network_message_id:
            try:
                uuid.UUID(self.network_message_id)
            except ValueError:
                raise ValueError(
                    f"network_message_id {self.network_message_id!r} is not a GUID"
                ) from None
        for name in ("internal_message_id", "total_bytes", "recipient_count"):
            number: int | None = getattr(self, name)
            if number is not None and number < 0:
                raise ValueError(f"{name} must be >= 0, got {number}")

    def to_csv(self) -> str:
        """The line exactly as Exchange writes it (without the line end)."""
        return csv_line(
            (
                exchange_timestamp(self.date_time),
                self.client_ip,
                self.client_hostname,
                self.server_ip,
                self.server_hostname,
                self.source_context,
                self.connector_id,
                self.source.value,
                self.event_id.value,
                _optional_int(self.internal_message_id),
                self.message_id,
                self.network_message_id,
                ";".join(self.recipient_address),
                ";".join(self.recipient_status),
                _optional_int(self.total_bytes),
                _optional_int(self.recipient_count),
                self.related_recipient_address,
                ";".join(self.reference),
                self.message_subject,
                self.sender_address,
                self.return_path,
                self.message_info,
                "" if self.directionality is None else self.directionality.value,
                self.tenant_id,
                self.original_client_ip,
                self.original_server_ip,
                self.custom_data,
            )
        )


def tracking_log_header(created: datetime) -> list[str]:
    """The header lines of a tracking log file created at ``created`` (docs/exchange-reference.md
    §8)."""
    return [
        "#Software: Microsoft Exchange Server",
        f"#Version: {TRACKING_LOG_VERSION}",
        # Lower-case "t", as every real tracking log writes it (§17 C6).
        "#Log-type: Message Tracking Log",
        f"#Date: {exchange_timestamp(created)}",
        "#Fields: " + ",".join(TRACKING_LOG_FIELDS),
    ]


#: Which service's file an event goes to on a 2013 Mailbox server (docs/exchange-reference.md §8):
#: the Mailbox Transport Delivery service logs what it delivers to mailboxes, the Mailbox Transport
#: Submission service what it picks up from them; the Transport service logs everything else.
_FILE_PREFIXES: dict[tuple[TrackingSource, TrackingEventId], str] = {
    (TrackingSource.STOREDRIVER, TrackingEventId.DELIVER): "MSGTRKMD",
    (TrackingSource.STOREDRIVER, TrackingEventId.DUPLICATEDELIVER): "MSGTRKMD",
    (TrackingSource.STOREDRIVER, TrackingEventId.SUBMIT): "MSGTRKMS",
    (TrackingSource.STOREDRIVER, TrackingEventId.NOTIFYMAPI): "MSGTRKMS",
}
_PREFIXES = ("MSGTRK", "MSGTRKMD", "MSGTRKMS")


def tracking_file_prefix(record: TrackingRecord) -> str:
    """The file name prefix of the file ``record`` is written to (``MSGTRK``, ``MSGTRKMD``,
    ``MSGTRKMS``)."""
    return _FILE_PREFIXES.get((record.source, record.event_id), "MSGTRK")


def _bare_message_id(value: str) -> str:
    # Admins pass -MessageId with or without the angle brackets; both must find the message.
    return value.strip().removeprefix("<").removesuffix(">").casefold()


class TrackingLog:
    """The message tracking log of one server: in memory, and in files when given a root folder.

    Files: ``<root>/<SERVER>/TransportRoles/Logs/MessageTracking/MSGTRKyyyymmdd-n.LOG`` (and
    ``MSGTRKMD…``/``MSGTRKMS…`` for mailbox delivery and submission events), a new file for
    each UTC day; lines reach the files on :meth:`flush`. Records, lines and searches cover
    every file, in the order the events were logged.
    """

    def __init__(self, server: str, root: Path | None = None) -> None:
        check_path_component(server, "server name")
        self.server = server
        self.folder = (
            None if root is None else root / server / "TransportRoles" / "Logs" / "MessageTracking"
        )
        self._records: list[TrackingRecord] = []
        self._files = {
            prefix: LogFileSet(self.folder, prefix, tracking_log_header) for prefix in _PREFIXES
        }
        self._persist: Callable[[TrackingRecord], None] | None = None

    def append(self, record: TrackingRecord) -> None:
        """Log ``record``."""
        self._records.append(record)
        self._files[tracking_file_prefix(record)].write(record.date_time, record)
        if self._persist is not None:
            self._persist(record)

    def keep(self, persist: Callable[[TrackingRecord], None]) -> None:
        """From now on, also hand every record to ``persist`` (a lab kept with --state)."""
        self._persist = persist

    def restore(self, records: Iterable[TrackingRecord]) -> None:
        """Put back records logged before a restart (in memory; the files already have the
        ones flushed before the lab stopped)."""
        self._records.extend(records)

    def records(self) -> list[TrackingRecord]:
        """Every record, in the order logged."""
        return list(self._records)

    def count(self) -> int:
        """How many records were logged (without copying them, for a poll's fingerprint)."""
        return len(self._records)

    def lines(self) -> list[str]:
        """Every record as its CSV line, in the order logged (no header)."""
        return [record.to_csv() for record in self._records]

    def text(self, prefix: str = "MSGTRK") -> str:
        """The files with this name prefix, oldest first, exactly as on disk (header lines and
        CRLF included): ``MSGTRK`` (Transport), ``MSGTRKMD`` (delivery), ``MSGTRKMS``
        (submission)."""
        return self._files[prefix].text()

    def file_names(self) -> list[str]:
        """Names of the files written so far (``MSGTRK20261130-1.LOG``, …): the Transport
        service's, then MSGTRKMD, then MSGTRKMS, each oldest first."""
        return [f.name for prefix in _PREFIXES for f in self._files[prefix].files]

    def files(self) -> list[tuple[str, Callable[[], str], datetime]]:
        """Each file so far (MSGTRK, then MSGTRKMD, then MSGTRKMS, each oldest first): its name,
        what renders its text as on disk and the time of its last record (its LastWriteTime)."""
        return [
            (f.name, f.text, f.records[-1].date_time)
            for prefix in _PREFIXES
            for f in self._files[prefix].files
            if f.records
        ]

    def flush(self) -> None:
        """Write every buffered line to disk (nothing to do for a log in memory only)."""
        for files in self._files.values():
            files.flush()

    def search(
        self,
        event_id: TrackingEventId | str | None = None,
        recipient: str | None = None,
        sender: str | None = None,
        message_id: str | None = None,
        subject: str | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[TrackingRecord]:
        """Records matching every filter given, in log order, like Get-MessageTrackingLog.

        ``recipient`` matches any of a record's recipient addresses and ``sender`` its sender
        address, both whole and case-insensitive (``-Recipients``, ``-Sender``); ``message_id``
        matches with or without angle brackets (``-MessageId``); ``subject`` is a
        case-insensitive substring (``-MessageSubject`` matches partial subjects); ``start`` and
        ``end`` bound ``date_time`` inclusively (``-Start``, ``-End``).
        """
        wanted_event = None if event_id is None else TrackingEventId.parse(event_id)
        if start is not None:
            check_aware(start, "start")
        if end is not None:
            check_aware(end, "end")
        found = []
        for record in self._records:
            if wanted_event is not None and record.event_id is not wanted_event:
                continue
            if recipient is not None and recipient.strip().casefold() not in {
                address.casefold() for address in record.recipient_address
            }:
                continue
            if sender is not None and sender.strip().casefold() != record.sender_address.casefold():
                continue
            if message_id is not None and _bare_message_id(message_id) != _bare_message_id(
                record.message_id
            ):
                continue
            if subject is not None and subject.casefold() not in record.message_subject.casefold():
                continue
            if start is not None and record.date_time < start:
                continue
            if end is not None and record.date_time > end:
                continue
            found.append(record)
        return found
