"""The shared state every engine component reads: configuration, stores, clock, network, logs.

One :class:`World` per lab. Configuration records are replaced by the shell
(:meth:`World.replace_organization`) and read afresh by the engine at each decision, so a
Set-* cmdlet takes effect for the next session, as in Exchange.
"""

from __future__ import annotations

import collections
import itertools
import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from labsim.clock import LabClock
from labsim.engine.activity import Activity
from labsim.engine.mailbox import MailboxStore
from labsim.engine.tls import TlsContextCache, TlsSessionCache, verify_chain
from labsim.logs.event_log import EventLogs, source_for
from labsim.model.enums import FidelityProfile
from labsim.model.organization import Organization, Server
from labsim.net.crl import CrlCache, CrlFetcher, CrlWebServer
from labsim.net.dns import LabDns
from labsim.net.loopback import Network
from labsim.pki.selection import CertificateSelection
from labsim.pki.store import CertificateStore
from labsim.policy.events import (
    STARTTLS_CERTIFICATE_EXPIRES_SOON,
    TransportEvent,
    event_by_id,
)
from labsim.store.hooks import MemoryOnly


@dataclass
class Explanation:
    """A decision note for ``labsim run --explain`` and failed expectations."""

    at: datetime
    server: str
    text: str


@dataclass(frozen=True)
class CertificateSeen:
    """A certificate one side of a session presented: its subject and issuer (Windows form) and
    the validation status the other side found (``not checked`` when it did not look)."""

    subject: str
    issuer: str
    status: str


NOT_CHECKED = "not checked"
"""The status of a presented certificate nobody judged (opportunistic TLS, X-EXPS sessions)."""


@dataclass
class SessionRecord:
    """One SMTP connection between lab servers as both ends saw it: the drawing code's source
    (labsim.render.paths), never read by a decision.

    Each end fills in what only it knows: the client its send connector, EHLO name, the client
    certificate it presented and its verdict on the server's; the server its receive connector,
    the certificate it presented, its verdict on the client's and its replies. The two ends
    meet on the client's endpoint (:meth:`World.session_record`). Plain and append-only while
    the session runs, like a protocol log, but kept for every session whatever the logging
    level."""

    number: int
    opened: datetime
    client_address: str
    client_port: int
    client_server: str = ""
    server_server: str = ""
    server_address: str = ""
    server_port: int = 0
    server_host: str = ""
    """The host name the client connected to (MX or smart host; an outside server's name)."""
    send_connector: str = ""
    receive_connector: str = ""
    ehlo: str = ""
    starttls: bool = False
    client_certificate: CertificateSeen | None = None
    server_certificate: CertificateSeen | None = None
    client_decisions: list[str] = field(default_factory=list)
    """The sending side's decisions in order (policy, after EHLO, after the handshake)."""
    server_decisions: list[str] = field(default_factory=list)
    """The receiving side's decisions at MAIL FROM (the check of docs/exchange-reference.md §5.3)."""
    replies: list[str] = field(default_factory=list)
    """The server's replies to MAIL, RCPT and the message data, as the wire showed them."""
    failure: str = ""
    """The reply the session failed with on the sending side (before any transaction)."""
    partner: bool = False
    """The receiving side made the session Partner (domain-secured)."""
    message_ids: list[str] = field(default_factory=list)
    """Message-IDs carried (or attempted) in this session."""
    downstream: list[int] = field(default_factory=list)
    """Sessions a proxying server (Front End Transport) opened for this one's transactions."""
    send_log_session: str = ""
    receive_log_session: str = ""
    """Protocol-log session ids of each end ("" when that end does not log)."""


SESSION_RECORDS_KEPT = 20_000
"""How many session records a lab keeps (the oldest are dropped first)."""

EXPLANATIONS_KEPT = 100_000
"""How many decision notes a lab keeps (about eight per message; the oldest are dropped first)."""

T = TypeVar("T")


class RecentItems(Sequence[T]):
    """A list that keeps only its last ``keep`` items but numbers them as if it kept them all.

    Readers remember ``len()`` and later read ``[mark:]`` (the notes of one step, one message):
    the numbers stay valid when old items go, and a slice reaching back past what is kept gives
    what is left. A live lab runs for days; its notes must not grow without bound.
    """

    def __init__(self, keep: int) -> None:
        self._items: collections.deque[T] = collections.deque(maxlen=keep)
        self._dropped = 0

    def append(self, item: T) -> None:
        if len(self._items) == self._items.maxlen:
            self._dropped += 1
        self._items.append(item)

    def __len__(self) -> int:
        return self._dropped + len(self._items)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            kept = range(max(start, self._dropped), max(stop, self._dropped), step)
            if step == 1:
                return list(
                    itertools.islice(
                        self._items, kept.start - self._dropped, kept.stop - self._dropped
                    )
                )
            return [self._items[i - self._dropped] for i in kept]
        position = index + len(self) if index < 0 else index
        if not self._dropped <= position < len(self):
            raise IndexError(
                f"item {index} is not kept (items {self._dropped}-{len(self) - 1} are)"
            )
        return self._items[position - self._dropped]

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)


class NoteLines(Sequence[str]):
    """The decision notes as ``SERVER: text`` lines, numbered as :class:`RecentItems` numbers
    them and formatted only when read: ``len()`` then ``[mark:]`` costs what the slice holds,
    however many notes a long-running lab has kept."""

    def __init__(self, notes: RecentItems[Explanation]) -> None:
        self._notes = notes

    def __len__(self) -> int:
        return len(self._notes)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [_line(note) for note in self._notes[index]]
        return _line(self._notes[index])

    def __iter__(self) -> Iterator[str]:
        return (_line(note) for note in self._notes)


def _line(note: Explanation) -> str:
    return f"{note.server}: {note.text}"


@dataclass(frozen=True)
class EngineError:
    """An unexpected exception inside the engine: a labsim bug, never a mail outcome.

    The wire still gets Exchange's transient reply; the error is kept here so the test,
    scenario or command that caused it fails (one error funnel)."""

    at: datetime
    server: str
    where: str
    error: str
    traceback: str


CERTIFICATE_EXPIRY_WARNING = timedelta(days=30)
"""How long before its NotAfter a STARTTLS certificate in use raises event 12018."""


@dataclass
class World:
    """Everything a running lab shares."""

    reactor: Any
    clock: LabClock
    network: Network
    dns: LabDns
    profile: FidelityProfile
    organizations: dict[str, Organization]
    stores: dict[str, CertificateStore]
    protocol_logs: Any
    tracking_logs: dict[str, Any]
    mailboxes: MailboxStore = field(default_factory=MailboxStore)
    activity: Activity = field(default_factory=Activity)
    tls: TlsContextCache = field(default_factory=TlsContextCache)
    tls_sessions: TlsSessionCache = field(default_factory=TlsSessionCache)
    """Client-side TLS sessions for resumption, and the lab's handshake counts."""
    explanations: RecentItems[Explanation] = field(
        default_factory=lambda: RecentItems(EXPLANATIONS_KEPT)
    )
    on_config_change: list[Callable[[str], None]] = field(default_factory=list)
    observers: list[Callable[[str, str], None]] = field(default_factory=list)
    stopped_servers: set[str] = field(default_factory=set)
    crl_cache: CrlCache = field(default_factory=CrlCache)
    """CRLs fetched by any server of the lab, per distribution point URL (labsim.net.crl)."""
    crl_fetcher: CrlFetcher | None = None
    """How servers fetch CRLs over HTTP; None in a world without a CRL web server."""
    crl_server: CrlWebServer | None = None
    """The lab's CRL web server (its ``requests`` show every fetch it answered)."""
    exchange_auth_secrets: dict[str, bytes] = field(default_factory=dict)
    """Per organization, the secret its servers prove membership with over X-EXPS (labsim's
    stand-in for Kerberos; labsim.policy.exchange_auth). Never configuration: not exported."""
    engine_errors: list[EngineError] = field(default_factory=list)
    """Every unexpected exception the engine caught (see :meth:`record_engine_error`)."""
    state: MemoryOnly = field(default_factory=MemoryOnly)
    """Where queued messages are kept across a crash (``--state``; labsim.store.hooks)."""
    session_records: list[SessionRecord] = field(default_factory=list)
    """Every SMTP session a lab server opened or accepted, in order (labsim.render)."""
    event_logs: EventLogs = field(default_factory=EventLogs)
    """Each server's Application event log (Get-EventLog; labsim.logs.event_log)."""
    _open_records: dict[tuple[str, int], SessionRecord] = field(default_factory=dict)
    _record_numbers: Any = field(default_factory=lambda: itertools.count(1))
    _server_index: dict[str, str] = field(default_factory=dict)
    _session_ids: Any = field(default_factory=lambda: itertools.count(0x08D8_0000_0000_0001))
    _internal_ids: Any = field(default_factory=lambda: itertools.count(1))

    def now(self) -> datetime:
        """Lab time."""
        return self.clock.now()

    def organization(self, name: str) -> Organization:
        """The current configuration of an organization (case-insensitive name)."""
        for key, org in self.organizations.items():
            if key.lower() == name.lower():
                return org
        raise KeyError(name)

    def replace_organization(self, organization: Organization) -> None:
        """Install a new configuration (shell cmdlets) and tell the engine."""
        self.organizations[organization.name] = organization
        self._server_index.clear()
        for callback in self.on_config_change:
            callback(organization.name)

    def organization_of(self, server_name: str) -> Organization:
        """The organization a server belongs to (by name or FQDN, case-insensitive)."""
        if not self._server_index:
            # Rebuilt after every configuration change; lookups happen for every session.
            for org in self.organizations.values():
                for s in org.servers:
                    self._server_index[s.name.lower()] = org.name
                    self._server_index[s.fqdn.lower()] = org.name
        name = self._server_index.get(server_name.lower())
        if name is None:
            raise KeyError(server_name)
        return self.organizations[name]

    def server(self, server_name: str) -> Server:
        """A server's current record."""
        found = self.organization_of(server_name).server(server_name)
        assert found is not None
        return found

    def server_at(self, address: str) -> tuple[Organization, Server] | None:
        """Which simulated server owns a loopback address."""
        for org in self.organizations.values():
            server = org.server_at(address)
            if server is not None:
                return org, server
        return None

    def new_session_id(self) -> str:
        """A protocol-log session id: 16 upper-case hex digits, increasing."""
        return f"{next(self._session_ids):016X}"

    def new_internal_id(self) -> int:
        """An internal message id (InternalId in replies, Get-Message identities)."""
        return int(next(self._internal_ids))

    def explain(self, server: str, text: str) -> None:
        """Record a decision note."""
        self.explanations.append(Explanation(self.now(), server, text))

    def write_event(self, server_name: str, event: TransportEvent, *strings: str) -> None:
        """Write ``event`` with its insertion strings to ``server_name``'s Application log, at lab
        time, under the source of the server's transport service (repeats are suppressed)."""
        server = self.server(server_name)
        self.event_logs.log(server.name, server.fqdn).write(
            event, strings, source=source_for(server.is_client_access), at=self.now()
        )

    def write_certificate_events(
        self,
        server_name: str,
        selection: CertificateSelection,
        *,
        connector: str,
        fqdn: str,
        tls_certificate_name: str | None,
        at: datetime,
    ) -> None:
        """The events of a STARTTLS certificate selection made at lab time ``at`` for ``connector``: 12014 when nothing
        fits, 12016 when only an expired certificate does, 12018 when the selected one expires
        within :data:`CERTIFICATE_EXPIRY_WARNING`. Nothing to do in the usual case."""
        if selection.event is not None:
            wanted = tls_certificate_name or fqdn
            event = event_by_id(selection.event.event_id)
            if selection.certificate is None:
                self.write_event(server_name, event, wanted, connector, wanted)
            else:
                self.write_event(server_name, event, fqdn)
            return
        certificate = selection.certificate
        if certificate is None:
            return
        left = certificate.not_after - at
        if left <= CERTIFICATE_EXPIRY_WARNING:
            self.write_event(
                server_name,
                STARTTLS_CERTIFICATE_EXPIRES_SOON,
                certificate.subject,
                certificate.thumbprint,
                str(int(left.total_seconds() // 3600)),
            )

    def session_record(self, client_address: str, client_port: int, *, side: str) -> SessionRecord:
        """The record of the session from ``client_address:client_port``; ``side`` ("client" or
        "server") says which end asks. The first end to ask makes it, the other joins it; an
        end that finds the record already holding its side (a reused port) starts a new one."""
        key = (client_address, client_port)
        found = self._open_records.get(key)
        taken = found is not None and (
            bool(found.client_server) if side == "client" else bool(found.server_server)
        )
        if found is None or taken:
            found = self.new_session_record(client_address, client_port)
            self._open_records[key] = found
        else:
            del self._open_records[key]  # both ends are in: nobody else joins it
        return found

    def new_session_record(self, client_address: str, client_port: int = 0) -> SessionRecord:
        """A record no other end will join (a session that never connected)."""
        record = SessionRecord(next(self._record_numbers), self.now(), client_address, client_port)
        self.session_records.append(record)
        if len(self.session_records) > SESSION_RECORDS_KEPT:
            # A live lab runs for days: the oldest sessions go, as old log files do.
            del self.session_records[: len(self.session_records) - SESSION_RECORDS_KEPT]
        return record

    def certificate_verdict(
        self,
        chain: tuple[Any, ...],
        *,
        trusted_roots: tuple[Any, ...],
        purpose: str,
        crls: tuple[Any, ...] | None = None,
    ) -> Any:
        """``chain`` (leaf first) validated at lab time as the engine would (a
        :class:`~labsim.pki.validation.PeerCertificate`); with ``crls``, revocation too. For
        the pure forecast of labsim.render.topology, which may not import OpenSSL's adapter."""
        return verify_chain(
            chain,
            trusted_roots=trusted_roots,
            at=self.now(),
            crls=crls or (),
            check_revocation=crls is not None,
            purpose=purpose,
        )

    def exchange_auth_secret(self, organization: str) -> bytes:
        """The organization's X-EXPS secret, made on first use."""
        key = organization.lower()
        secret = self.exchange_auth_secrets.get(key)
        if secret is None:
            secret = self.exchange_auth_secrets[key] = os.urandom(32)
        return secret

    def record_engine_error(self, server: str, where: str, error: BaseException | Any) -> str:
        """Record an engine bug (an exception or a Twisted Failure); return its one-line text.

        The single funnel for exceptions the engine did not expect: callers still answer the
        wire as Exchange would (a transient reply), but the bug is never mistaken for a mail
        outcome. ``labsim run`` reports recorded errors as internal errors (exit 1) and the test
        suite fails any test that leaves one behind."""
        if hasattr(error, "getTraceback"):
            # A twisted.python.failure.Failure (itself a BaseException in recent Twisted).
            failure: Any = error
            text = f"{failure.type.__name__}: {failure.getErrorMessage()}"
            trace = failure.getTraceback()
        else:
            text = f"{type(error).__name__}: {error}"
            trace = "".join(traceback.format_exception(error))
        self.engine_errors.append(EngineError(self.now(), server, where, text, trace))
        self.explain(server, f"internal error (a labsim bug) in {where}: {text}")
        return text

    def observe(self, server: str, text: str) -> None:
        """Tell live observers (the demo) what just happened."""
        for callback in self.observers:
            callback(server, text)
