"""SMTP protocol logs as Exchange 2013 writes them (docs/exchange-reference.md §7).

Owns the record (:class:`ProtocolLogRecord`, one CSV row), the per-session writer
(:class:`ProtocolLogSession`: sequence numbers, connector id, session id, endpoints, the
certificate block), the session id allocator, and the store (:class:`ProtocolLogStore`) that keeps
every server's receive and send logs in memory and, given a root folder, in Exchange's file layout.

Rules kept here:

* Fidelity is the product: field order, timestamp format, CSV quoting, header lines, folder and
  file names are Exchange's (docs/exchange-reference.md §7.1-§7.3); any difference is documented
  where it is made.
* Pure: no Twisted, no OpenSSL, no clock reads. Every record carries the time its caller gives.
* Whether a connector logs at all (``ProtocolLoggingLevel Verbose``) is the caller's decision; a
  connector that does not log gets :data:`NULL_SESSION`, which drops everything, so the SMTP code
  never branches on the logging level.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from labsim.logs._csvlog import (
    LogFileSet,
    check_aware,
    check_path_component,
    csv_line,
    exchange_timestamp,
)

__all__ = [
    "NULL_SESSION",
    "PROTOCOL_LOG_FIELDS",
    "PROTOCOL_LOG_VERSION",
    "CertificateLabel",
    "NullProtocolLogSession",
    "ProtocolLog",
    "ProtocolLogDirection",
    "ProtocolLogEvent",
    "ProtocolLogRecord",
    "ProtocolLogSession",
    "ProtocolLogSink",
    "ProtocolLogStore",
    "SessionIdAllocator",
    "TransportService",
    "format_endpoint",
    "protocol_log_header",
    "receive_connector_id",
    "send_connector_id",
]

#: The ``#Fields`` of an Exchange 2013 SMTP protocol log, in file order (docs/exchange-reference.md
#: §7.1).
PROTOCOL_LOG_FIELDS: tuple[str, ...] = (
    "date-time",
    "connector-id",
    "session-id",
    "sequence-number",
    "local-endpoint",
    "remote-endpoint",
    "event",
    "data",
    "context",
)

#: ``#Version`` of a 2013 protocol log: Exchange writes the product version here, not the build
#: (the build appears only in the tracking log header).
PROTOCOL_LOG_VERSION = "15.0.0.0"

# Exchange's session ids are 16 upper-case hex digits (docs/exchange-reference.md §7.2, real logs).
_SESSION_ID_RE = re.compile(r"[0-9A-F]{16}\Z")

# .NET DateTime ticks (100 ns) between 0001-01-01 and the Unix epoch.
_TICKS_AT_UNIX_EPOCH = 621_355_968_000_000_000


class ProtocolLogEvent(enum.Enum):
    """The ``event`` field: one character saying what the line records (docs/exchange-reference.md
    §7.2)."""

    CONNECT = "+"
    DISCONNECT = "-"
    SEND = ">"
    RECEIVE = "<"
    INFORMATION = "*"


_EVENT_OF_CHARACTER = {member.value: member for member in ProtocolLogEvent}


class ProtocolLogDirection(enum.Enum):
    """Which of a transport service's two protocol logs: receive connectors' or send connectors'.

    Values are the words scenario files use (``expect.log = { log = "receive" }``).
    """

    RECEIVE = "receive"
    SEND = "send"

    @property
    def folder(self) -> str:
        """The log folder name (``SmtpReceive`` / ``SmtpSend``)."""
        return "SmtpReceive" if self is ProtocolLogDirection.RECEIVE else "SmtpSend"

    @property
    def file_prefix(self) -> str:
        """The file name prefix (``RECV`` / ``SEND``)."""
        return "RECV" if self is ProtocolLogDirection.RECEIVE else "SEND"

    @property
    def log_type(self) -> str:
        """The ``#Log-type`` header value."""
        if self is ProtocolLogDirection.RECEIVE:
            return "SMTP Receive Protocol Log"
        return "SMTP Send Protocol Log"

    @classmethod
    def parse(cls, value: ProtocolLogDirection | str) -> ProtocolLogDirection:
        """A direction from itself or its word (case-insensitive), as scenario files give it."""
        if isinstance(value, ProtocolLogDirection):
            return value
        for member in cls:
            if member.value == value.strip().lower():
                return member
        raise ValueError(f"unknown protocol log {value!r}; expected 'receive' or 'send'")


class TransportService(enum.Enum):
    """The transport service whose logs a record belongs to; the value is its log folder.

    labsim runs Front End Transport on a Client Access server and the Transport service (``Hub``)
    on a Mailbox server (docs/exchange-reference.md §2, §16 D1). Mailbox Transport is listed because
    Exchange keeps a third log set for it (docs/exchange-reference.md §7.1).
    """

    FRONT_END = "FrontEnd"
    HUB = "Hub"
    MAILBOX = "Mailbox"

    @classmethod
    def parse(cls, value: TransportService | str) -> TransportService:
        """A service from itself or its folder name (case-insensitive)."""
        if isinstance(value, TransportService):
            return value
        for member in cls:
            if member.value.lower() == value.strip().lower():
                return member
        names = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"unknown transport service {value!r}; expected one of {names}")


class CertificateLabel(enum.Enum):
    """The information line that opens a certificate block (docs/exchange-reference.md §7.3)."""

    SENDING = "Sending certificate"
    RECEIVED = "Received certificate"
    SECURE_DOMAIN = "Secure domain certificate"

    @classmethod
    def parse(cls, value: CertificateLabel | str) -> CertificateLabel:
        """A label from itself or its exact log text (``"Sending certificate"``, …)."""
        if isinstance(value, CertificateLabel):
            return value
        try:
            return cls(value)
        except ValueError:
            texts = ", ".join(repr(m.value) for m in cls)
            raise ValueError(
                f"unknown certificate label {value!r}; expected one of {texts}"
            ) from None


def receive_connector_id(server: str, connector: str) -> str:
    """``connector-id`` of a receive connector line: ``SERVER\\Connector Name``
    (docs/exchange-reference.md §7.2)."""
    return f"{server}\\{connector}"


def send_connector_id(connector: str) -> str:
    """``connector-id`` of a send connector line: the bare connector name
    (docs/exchange-reference.md §7.2)."""
    return connector


def format_endpoint(address: str, port: int) -> str:
    """``local-endpoint`` / ``remote-endpoint`` text: ``IP:port``, IPv6 in brackets as .NET does."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return f"{_endpoint_host(address)}:{port}"


@functools.lru_cache(maxsize=4096)
def _endpoint_host(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed


@functools.lru_cache(maxsize=4096)
def _check_session_id(session_id: str) -> None:
    # Memoized (a refused id raises and is never cached): every record of a session checks it.
    if not _SESSION_ID_RE.match(session_id):
        raise ValueError(f"session id {session_id!r} is not 16 upper-case hex digits")


@dataclass(frozen=True)
class ProtocolLogRecord:
    """One line of an SMTP protocol log, in ``#Fields`` order (docs/exchange-reference.md §7.2)."""

    date_time: datetime
    connector_id: str
    session_id: str
    sequence_number: int
    local_endpoint: str
    remote_endpoint: str
    event: ProtocolLogEvent
    data: str
    context: str

    def __post_init__(self) -> None:
        check_aware(self.date_time, "date_time")
        _check_session_id(self.session_id)
        if self.sequence_number < 0:
            raise ValueError(f"sequence_number must be >= 0, got {self.sequence_number}")

    def to_csv(self) -> str:
        """The line exactly as Exchange writes it (without the line end)."""
        return csv_line(
            (
                exchange_timestamp(self.date_time),
                self.connector_id,
                self.session_id,
                str(self.sequence_number),
                self.local_endpoint,
                self.remote_endpoint,
                self.event.value,
                self.data,
                self.context,
            )
        )


#: Where a session's records go: ``ProtocolLog.append``, a list's ``append`` in a test, …
ProtocolLogSink = Callable[[ProtocolLogRecord], None]


class SessionIdAllocator:
    """Hands out session ids: a counter shown as 16 upper-case hex digits, never random.

    Exchange seeds the counter with the .NET tick count (100 ns units since 0001-01-01) of the
    moment the transport service started and adds one per session; that is why real ids such as
    ``08D760DF231F00BC`` decode to the date of the log they appear in. [I: inferred from real
    logs.] :meth:`started_at` does the same with a lab-clock time, so ids look real and stay
    reproducible.
    """

    def __init__(self, first: int) -> None:
        if not 0 <= first < 16**16:
            raise ValueError(f"first session id {first} does not fit in 16 hex digits")
        self._next = first

    @classmethod
    def started_at(cls, when: datetime) -> SessionIdAllocator:
        """An allocator seeded like a transport service that started at ``when`` (lab time)."""
        check_aware(when, "a service start time")
        utc = when.astimezone(UTC)
        since_epoch = utc - datetime(1970, 1, 1, tzinfo=UTC)
        ticks = (
            since_epoch.days * 86_400 * 10**7
            + since_epoch.seconds * 10**7
            + since_epoch.microseconds * 10
        )
        return cls(_TICKS_AT_UNIX_EPOCH + ticks)

    def allocate(self) -> str:
        """The next session id."""
        value = self._next
        self._next = (self._next + 1) % 16**16
        return f"{value:016X}"


class ProtocolLogSession:
    """The protocol log writer of one SMTP session (one TCP connection, one connector).

    Numbers lines from 0, stamps every line with the session's connector id, session id and
    endpoints, and sends each record to ``sink``. A session that has logged its disconnect refuses
    further lines: Exchange never logs after ``-``, so such a call is a bug in the caller.
    """

    def __init__(
        self,
        sink: ProtocolLogSink,
        *,
        connector_id: str,
        session_id: str,
        local_endpoint: str,
        remote_endpoint: str,
    ) -> None:
        _check_session_id(session_id)
        self._sink = sink
        # A session whose sink is a ProtocolLog's ``append`` (every session of a lab) writes
        # the log's rows itself; any other sink gets records.
        owner = getattr(sink, "__self__", None)
        self._log: ProtocolLog | None = (
            owner
            if owner is not None  # (a plain function; also NULL_SESSION's, made before ProtocolLog)
            and isinstance(owner, ProtocolLog)
            and getattr(sink, "__func__", None) is ProtocolLog.append
            else None
        )
        self.connector_id = connector_id
        self.session_id = session_id
        self.local_endpoint = local_endpoint
        self.remote_endpoint = remote_endpoint
        self._sequence = 0
        self._disconnected = False

    @classmethod
    def for_receive_connector(
        cls,
        sink: ProtocolLogSink,
        *,
        server: str,
        connector: str,
        session_id: str,
        local_endpoint: str,
        remote_endpoint: str,
    ) -> ProtocolLogSession:
        """A session on receive connector ``connector`` of ``server`` (id ``SERVER\\Name``)."""
        return cls(
            sink,
            connector_id=receive_connector_id(server, connector),
            session_id=session_id,
            local_endpoint=local_endpoint,
            remote_endpoint=remote_endpoint,
        )

    @classmethod
    def for_send_connector(
        cls,
        sink: ProtocolLogSink,
        *,
        connector: str,
        session_id: str,
        local_endpoint: str,
        remote_endpoint: str,
    ) -> ProtocolLogSession:
        """A session opened by send connector ``connector`` (id = the bare name)."""
        return cls(
            sink,
            connector_id=send_connector_id(connector),
            session_id=session_id,
            local_endpoint=local_endpoint,
            remote_endpoint=remote_endpoint,
        )

    @property
    def next_sequence_number(self) -> int:
        """The sequence number the next line will carry."""
        return self._sequence

    @property
    def disconnected(self) -> bool:
        """Whether the disconnect line has been written."""
        return self._disconnected

    def connect(self, at: datetime) -> None:
        """``+``: the TCP connection is established (empty data and context)."""
        self._emit(at, "+", "", "")

    def disconnect(self, at: datetime, context: Literal["Remote", "Local"] = "Remote") -> None:
        """``-``: the connection closed; ``context`` says which side closed it."""
        if context not in ("Remote", "Local"):
            raise ValueError(f"disconnect context must be 'Remote' or 'Local', got {context!r}")
        self._emit(at, "-", "", context)
        self._disconnected = True

    def sent(self, at: datetime, line: str) -> None:
        """``>``: one line this side sent (a reply line on receive, a command on send)."""
        self._emit(at, ">", line, "")

    def received(self, at: datetime, line: str) -> None:
        """``<``: one line this side received (a command on receive, a reply line on send)."""
        self._emit(at, "<", line, "")

    def sent_lines(self, at: datetime, lines: Sequence[str]) -> None:
        """``>`` for each line of a reply this side sent (one record per line, §7.3)."""
        for line in lines:
            self._emit(at, ">", line, "")

    def info(self, at: datetime, data: str, context: str = "") -> None:
        """``*``: an information line (TLS results, failures, certificate facts)."""
        self._emit(at, "*", data, context)

    def permissions(self, at: datetime, permission_string: str) -> None:
        """The session's permissions, e.g. ``SMTPSubmit SMTPAcceptAnySender …``
        (docs/exchange-reference.md §7.3)."""
        self.info(at, permission_string, "Set Session Permissions")

    def certificate(
        self,
        at: datetime,
        label: CertificateLabel | str,
        *,
        thumbprint: str,
        subject: str = "",
        issuer: str = "",
        serial: str = "",
        alternate_names: Sequence[str] = (),
    ) -> None:
        """The block of lines describing a certificate (docs/exchange-reference.md §7.3, 2013 form).

        A sending or secure-domain certificate is written in full: subject, issuer name, serial
        number, thumbprint and alternate names (joined with ``;``). A received certificate is
        written as its thumbprint only, as 2013 logs show it; the other arguments are ignored.
        """
        label = CertificateLabel.parse(label)
        self.info(at, "", label.value)
        if label is CertificateLabel.RECEIVED:
            self.info(at, thumbprint, "Certificate thumbprint")
            return
        self.info(at, subject, "Certificate subject")
        self.info(at, issuer, "Certificate issuer name")
        self.info(at, serial, "Certificate serial number")
        self.info(at, thumbprint, "Certificate thumbprint")
        self.info(at, ";".join(alternate_names), "Certificate alternate names")

    def _emit(self, at: datetime, event: str, data: str, context: str) -> None:
        # ``event`` is the field's character (ProtocolLogEvent's value). A session writes some
        # forty records per message: its session id was checked when it was made and it
        # numbers lines from 0, so only the time is left to check here.
        if self._disconnected:
            raise RuntimeError(
                f"protocol log session {self.session_id} already logged its disconnect; "
                f"refusing {event!r} {data!r}"
            )
        if at.tzinfo is not UTC:
            check_aware(at, "date_time")
        sequence = self._sequence
        self._sequence = sequence + 1
        log = self._log
        if log is not None:
            # Straight into the log's rows, without a record object (ProtocolLog).
            row = (
                next(log._ordinals),
                at,
                self.connector_id,
                self.session_id,
                sequence,
                self.local_endpoint,
                self.remote_endpoint,
                event,
                data,
                context,
            )
            log._rows.append(row)
            log._files.write(at, row)
            return
        record = object.__new__(ProtocolLogRecord)
        record.__dict__.update(
            date_time=at,
            connector_id=self.connector_id,
            session_id=self.session_id,
            sequence_number=sequence,
            local_endpoint=self.local_endpoint,
            remote_endpoint=self.remote_endpoint,
            event=_EVENT_OF_CHARACTER[event],
            data=data,
            context=context,
        )
        self._sink(record)


def _drop(record: ProtocolLogRecord) -> None:
    """A sink that keeps nothing."""


class NullProtocolLogSession(ProtocolLogSession):
    """The session of a connector whose ``ProtocolLoggingLevel`` is ``None``: logs nothing.

    It keeps no state, so one shared instance (:data:`NULL_SESSION`) serves every such session.
    """

    def __init__(self) -> None:
        super().__init__(
            _drop,
            connector_id="",
            session_id="0" * 16,
            local_endpoint="",
            remote_endpoint="",
        )

    def disconnect(self, at: datetime, context: Literal["Remote", "Local"] = "Remote") -> None:
        """Accept and drop, without remembering the disconnect (the instance is shared)."""
        if context not in ("Remote", "Local"):
            raise ValueError(f"disconnect context must be 'Remote' or 'Local', got {context!r}")
        check_aware(at, "a log time")

    def _emit(self, at: datetime, event: str, data: str, context: str) -> None:
        # Still refuse a naive time, so that a bug does not hide while logging is off.
        check_aware(at, "a log time")


#: The session to give an SMTP session whose connector does not log.
NULL_SESSION: ProtocolLogSession = NullProtocolLogSession()


def protocol_log_header(direction: ProtocolLogDirection, created: datetime) -> list[str]:
    """The header lines of a protocol log file created at ``created`` (docs/exchange-reference.md
    §7.1)."""
    return [
        "#Software: Microsoft Exchange Server",
        f"#Version: {PROTOCOL_LOG_VERSION}",
        f"#Log-type: {direction.log_type}",
        f"#Date: {exchange_timestamp(created)}",
        "#Fields: " + ",".join(PROTOCOL_LOG_FIELDS),
    ]


class ProtocolLog:
    """One protocol log set: one server, one transport service, one direction.

    All receive connectors of a transport service share one log, and all send connectors another
    (docs/exchange-reference.md §7.1), so this is the sink every session of that service and direction writes to.
    Records are kept in memory; with a folder, lines go to their files on :meth:`flush` (the lab
    flushes whenever it is idle and when it stops).
    """

    def __init__(
        self,
        server: str,
        service: TransportService,
        direction: ProtocolLogDirection,
        *,
        folder: Path | None,
        ordinals: Iterator[int],
    ) -> None:
        self.server = server
        self.service = service
        self.direction = direction
        self.folder = folder
        self._ordinals = ordinals
        # One plain tuple per record (see _Row): the garbage collector stops visiting a tuple
        # of strings, numbers and times after its first pass, while a record object and its
        # dict would be visited by every full collection for as long as the lab runs.
        self._rows: list[_Row] = []
        self._files = LogFileSet(
            folder,
            direction.file_prefix,
            lambda at: protocol_log_header(direction, at),
            render=_row_csv,
        )

    def append(self, record: ProtocolLogRecord) -> None:
        """Log ``record`` (usable as a :data:`ProtocolLogSink`)."""
        row = (
            next(self._ordinals),
            record.date_time,
            record.connector_id,
            record.session_id,
            record.sequence_number,
            record.local_endpoint,
            record.remote_endpoint,
            record.event.value,
            record.data,
            record.context,
        )
        self._rows.append(row)
        self._files.write(record.date_time, row)

    def records(self) -> list[ProtocolLogRecord]:
        """Every record, in the order logged."""
        return [_record_of(row) for row in self._rows]

    def count(self) -> int:
        """How many records were logged (without copying them, for a poll's fingerprint)."""
        return len(self._rows)

    def lines(self) -> list[str]:
        """Every record as its CSV line, in the order logged (no header)."""
        return [_row_csv(row) for row in self._rows]

    def text(self) -> str:
        """The log's files, oldest first, exactly as on disk (header lines and CRLF included)."""
        return self._files.text()

    def file_names(self) -> list[str]:
        """Names of the files written so far (``RECV20261130-1.LOG``, …), oldest first."""
        return [f.name for f in self._files.files]

    def files(self) -> list[tuple[str, Callable[[], str], datetime]]:
        """Each file so far, oldest first: its name, what renders its text as on disk (header
        lines and CRLF included) and the time of its last record (its LastWriteTime)."""
        return [(f.name, f.text, f.records[-1][1]) for f in self._files.files if f.records]

    def flush(self) -> None:
        """Write buffered lines to disk (nothing to do for a log in memory only)."""
        self._files.flush()

    def entries(self) -> list[tuple[int, ProtocolLogRecord]]:
        """Records with their store-wide ordinals, so logs of several services can be merged."""
        return [(row[0], _record_of(row)) for row in self._rows]


# A record as a protocol log keeps it: its store-wide ordinal, then the fields in ``#Fields``
# order with the event as its character.
_Row = tuple[int, datetime, str, str, int, str, str, str, str, str]


def _record_of(row: _Row) -> ProtocolLogRecord:
    # The record of a row, built as the session built it (its values were checked then).
    record = object.__new__(ProtocolLogRecord)
    record.__dict__.update(
        date_time=row[1],
        connector_id=row[2],
        session_id=row[3],
        sequence_number=row[4],
        local_endpoint=row[5],
        remote_endpoint=row[6],
        event=_EVENT_OF_CHARACTER[row[7]],
        data=row[8],
        context=row[9],
    )
    return record


def _row_csv(row: _Row) -> str:
    # ProtocolLogRecord.to_csv of the row's record, byte for byte.
    return csv_line(
        (exchange_timestamp(row[1]), row[2], row[3], str(row[4]), row[5], row[6], *row[7:])
    )


class ProtocolLogStore:
    """Every protocol log of a lab, by server, transport service and direction.

    With ``root``, files are written in Exchange's layout:
    ``<root>/<SERVER>/TransportRoles/Logs/<FrontEnd|Hub>/ProtocolLog/<SmtpReceive|SmtpSend>/
    <RECV|SEND>yyyymmdd-n.LOG``. Server names are matched case-insensitively, as Exchange does;
    the folder keeps the spelling first used.
    """

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._logs: dict[tuple[str, TransportService, ProtocolLogDirection], ProtocolLog] = {}
        # The same log by the arguments a caller spelled it with: every SMTP session asks for
        # its log, and parsing the names each time cost more than the lookup.
        self._by_spelling: dict[
            tuple[str, TransportService | str, ProtocolLogDirection | str], ProtocolLog
        ] = {}
        self._ordinals = itertools.count()

    def log(
        self,
        server: str,
        service: TransportService | str,
        direction: ProtocolLogDirection | str,
    ) -> ProtocolLog:
        """The log set of ``server``'s ``service`` for ``direction``, created on first use."""
        spelling = (server, service, direction)
        known = self._by_spelling.get(spelling)
        if known is not None:
            return known
        check_path_component(server, "server name")
        service = TransportService.parse(service)
        direction = ProtocolLogDirection.parse(direction)
        key = (server.upper(), service, direction)
        if key not in self._logs:
            folder = None
            if self.root is not None:
                folder = (
                    self.root
                    / server
                    / "TransportRoles"
                    / "Logs"
                    / service.value
                    / "ProtocolLog"
                    / direction.folder
                )
            self._logs[key] = ProtocolLog(
                server, service, direction, folder=folder, ordinals=self._ordinals
            )
        found = self._by_spelling[spelling] = self._logs[key]
        return found

    def append(
        self,
        record: ProtocolLogRecord,
        *,
        server: str,
        service: TransportService | str,
        direction: ProtocolLogDirection | str,
    ) -> None:
        """Log ``record`` in the named log set (same as ``log(...).append(record)``)."""
        self.log(server, service, direction).append(record)

    def logs_of(self, server: str) -> list[ProtocolLog]:
        """The log sets ``server`` has written to so far (any service and direction)."""
        return [log for (name, _, _), log in self._logs.items() if name == server.upper()]

    def records(
        self,
        server: str,
        direction: ProtocolLogDirection | str,
        service: TransportService | str | None = None,
    ) -> list[ProtocolLogRecord]:
        """Records of one server and direction; of every service unless ``service`` is given.

        Several services' records are merged in the order they were logged.
        """
        return [record for _, record in self._entries(server, direction, service)]

    def lines(
        self,
        server: str,
        direction: ProtocolLogDirection | str,
        service: TransportService | str | None = None,
    ) -> list[str]:
        """CSV lines (no header) of one server and direction, as :meth:`records` selects them."""
        return [record.to_csv() for record in self.records(server, direction, service)]

    def text(
        self,
        server: str,
        direction: ProtocolLogDirection | str,
        service: TransportService | str | None = None,
    ) -> str:
        """The files' text of one server and direction (empty if nothing was logged).

        Without ``service``, the texts of the server's services follow each other (FrontEnd,
        Hub, Mailbox), as ``type`` over the folders would show them.
        """
        return "".join(log.text() for log in self._select(server, direction, service))

    def logs(self) -> list[ProtocolLog]:
        """Every log set created so far."""
        return list(self._logs.values())

    def flush(self) -> None:
        """Write every buffered line to disk (nothing to do for a log in memory only)."""
        for log in self._logs.values():
            log.flush()

    def _select(
        self,
        server: str,
        direction: ProtocolLogDirection | str,
        service: TransportService | str | None,
    ) -> list[ProtocolLog]:
        direction = ProtocolLogDirection.parse(direction)
        services = list(TransportService) if service is None else [TransportService.parse(service)]
        return [
            self._logs[key]
            for key in ((server.upper(), s, direction) for s in services)
            if key in self._logs
        ]

    def _entries(
        self,
        server: str,
        direction: ProtocolLogDirection | str,
        service: TransportService | str | None,
    ) -> list[tuple[int, ProtocolLogRecord]]:
        merged = [
            entry for log in self._select(server, direction, service) for entry in log.entries()
        ]
        merged.sort(key=lambda entry: entry[0])
        return merged
