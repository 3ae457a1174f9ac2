"""The Application event log of each simulated server: what ``Get-EventLog -LogName Application``
reads (docs/fidelity.md, "The Application event log").

Owns the catalog of the transport events labsim writes (entry type, category, message text with
Exchange's ``%1`` insertion strings, and how sure labsim is of the text), the frozen
:class:`EventLogEntry` records, and :class:`ApplicationLog`, one server's record list with
Exchange's suppression of repeats. Rules kept:

* Decisions return a ``labsim.policy.events.TransportEvent``; the engine passes it here with
  the insertion strings from the decision's details (domain, connector, FQDN, status). The texts
  live only in :data:`CATALOG`.
* The source is the service that logs: ``MSExchangeFrontEndTransport`` on a Client Access server,
  ``MSExchangeTransport`` on a Mailbox server (docs/exchange-reference.md §11).
* InstanceId is the event id with the severity bits of its entry type, as Get-EventLog shows it
  (an Error's is ``0xC0000000 | id``).
* A condition that repeats (every session to a partner whose certificate lacks its domain) is
  written once per :data:`SUPPRESSION_PERIOD` of lab time: the same event with the same insertion
  strings on the same server within the period is not written again, as Exchange's periodic
  events are not.
* A log keeps the newest :data:`ENTRIES_KEPT` entries (the Application log overwrites its oldest
  events as needed); Index keeps counting.
* A lab kept with ``--state`` hands every entry written to a persistence hook
  (:meth:`EventLogs.keep`) and puts the saved ones back at its start (:meth:`EventLogs.restore`):
  Index goes on from the last one; the suppression of repeats starts afresh, as Exchange's lives
  in the service's memory.

Pure: no Twisted, no clock reads (the caller passes lab time).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


class TransportEvent(Protocol):
    """What a decision names (labsim.policy.events.TransportEvent; logs sit below policy)."""

    @property
    def event_id(self) -> int:
        """The numeric event id."""
        ...

    @property
    def name(self) -> str:
        """Exchange's symbolic name."""
        ...


SOURCE_TRANSPORT = "MSExchangeTransport"
"""The source of the Transport service's events (a Mailbox server)."""

SOURCE_FRONTEND_TRANSPORT = "MSExchangeFrontEndTransport"
"""The source of the Front End Transport service's events (a Client Access server)."""

LOG_NAME = "Application"
"""The only event log labsim keeps."""

SUPPRESSION_PERIOD = timedelta(minutes=15)
"""How long a written event suppresses the same event with the same insertion strings."""

ENTRIES_KEPT = 10_000
"""Entries one server's log keeps before the oldest are overwritten."""


class EntryType(enum.Enum):
    """Get-EventLog's EntryType, with the severity bits InstanceId carries."""

    ERROR = "Error"
    WARNING = "Warning"
    INFORMATION = "Information"

    @property
    def severity_bits(self) -> int:
        """The top bits of InstanceId for this entry type."""
        return _SEVERITY_BITS[self]


_SEVERITY_BITS = {
    EntryType.ERROR: 0xC000_0000,
    EntryType.WARNING: 0x8000_0000,
    EntryType.INFORMATION: 0x4000_0000,
}

# MSExchangeTransport's event categories and their numbers (CategoryNumber in Get-EventLog).
CATEGORY_NUMBERS = {
    "SmtpReceive": 1,
    "SmtpSend": 2,
    "TransportService": 8,
    "MessageSecurity": 11,
}


@dataclass(frozen=True)
class CatalogEntry:
    """One event's fixed facts: entry type, category, message template and its fidelity mark
    (``C`` confirmed text, ``O`` observed in an excerpt, ``I`` written by labsim)."""

    event_id: int
    entry_type: EntryType
    category: str
    template: str
    fidelity: str

    @property
    def names_status(self) -> bool:
        """Whether the text names a certificate status (``%3``) after the domain and connector."""
        return "%3" in self.template and self.category == "MessageSecurity"

    def message(self, strings: Sequence[str]) -> str:
        """The template with ``%1``, ``%2`` … replaced by ``strings`` (highest number first, so
        ``%1`` never eats the start of ``%10``)."""
        text = self.template
        for number in range(len(strings), 0, -1):
            text = text.replace(f"%{number}", strings[number - 1])
        return text


_CONTACT = "Contact the administrator of %1 to resolve the problem, or remove the domain from the domain-secured list."

# The sending side's texts open as a real 11020 does ("A secure connection to domain-secured
# domain … could not be established", seen with UntrustedRoot); the rest is labsim's [I].
_SECURE_CONNECTION = (
    "A secure connection to domain-secured domain '%1' on connector '%2' could not be "
    "established because "
)

_ENTRIES = (
    CatalogEntry(
        12014,
        EntryType.ERROR,
        "TransportService",
        "Microsoft Exchange could not find a certificate that contains the domain name %1 in the "
        "personal store on the local computer. Therefore, it is unable to support the STARTTLS "
        "SMTP verb for the connector %2 with a FQDN parameter of %3. If the connector's FQDN is "
        "not specified, the computer's FQDN is used. Verify the connector configuration and the "
        "installed certificates to make sure that there is a certificate with a domain name for "
        "that FQDN. If this certificate exists, run Enable-ExchangeCertificate -Services SMTP to "
        "make sure that the Microsoft Exchange Transport service has access to the certificate "
        "key.",
        "C",
    ),
    CatalogEntry(
        12016,
        EntryType.ERROR,
        "TransportService",
        "There is no valid SMTP Transport Layer Security (TLS) certificate for the FQDN of %1. "
        "The existing certificate for that FQDN has expired. The continued use of that FQDN will "
        "cause mail flow problems. A new certificate that contains the FQDN of %1 should be "
        "installed on this server as soon as possible. You can create a new certificate by using "
        "the New-ExchangeCertificate task.",
        "C",
    ),
    CatalogEntry(
        12018,
        EntryType.WARNING,
        "TransportService",
        "The STARTTLS certificate will expire soon: subject: %1, thumbprint: %2, hours "
        "remaining: %3. Run the New-ExchangeCertificate cmdlet to create a new certificate.",
        "C",
    ),
    CatalogEntry(
        11011,
        EntryType.ERROR,
        "MessageSecurity",
        "A message from domain-secured domain '%1' on connector '%2' failed to authenticate "
        "because validation of the Transport Layer Security (TLS) certificate failed with status "
        "'%3'. " + _CONTACT,
        "I",
    ),
    CatalogEntry(
        11012,
        EntryType.ERROR,
        "MessageSecurity",
        "A message from domain-secured domain '%1' on connector '%2' could not be authenticated "
        "because the server did not use Transport Layer Security (TLS). Contact the "
        "administrator for %1 to resolve the problem, or remove the domain from the "
        "domain-secured list.",
        "C",
    ),
    CatalogEntry(
        11013,
        EntryType.ERROR,
        "MessageSecurity",
        _SECURE_CONNECTION + "Transport Layer Security (TLS) negotiation with the remote server "
        "failed. " + _CONTACT,
        "I",
    ),
    CatalogEntry(
        11014,
        EntryType.ERROR,
        "MessageSecurity",
        _SECURE_CONNECTION + "the remote server did not offer STARTTLS. " + _CONTACT,
        "I",
    ),
    CatalogEntry(
        11015,
        EntryType.ERROR,
        "MessageSecurity",
        "A message from domain-secured domain '%1' on connector '%2' failed to authenticate "
        "because the Transport Layer Security (TLS) certificate does not contain the domain "
        "name. " + _CONTACT,
        "C",
    ),
    CatalogEntry(
        11016,
        EntryType.ERROR,
        "MessageSecurity",
        _SECURE_CONNECTION + "the Transport Layer Security (TLS) certificate of the remote "
        "server does not contain the domain name. " + _CONTACT,
        "I",
    ),
    CatalogEntry(
        11017,
        EntryType.ERROR,
        "MessageSecurity",
        "A message from domain-secured domain '%1' on connector '%2' failed to authenticate "
        "because the remote server did not present a Transport Layer Security (TLS) "
        "certificate. " + _CONTACT,
        "I",
    ),
    CatalogEntry(
        11018,
        EntryType.ERROR,
        "MessageSecurity",
        "A message from domain-secured domain '%1' on connector '%2' could not be authenticated "
        "because the connector does not advertise STARTTLS. Add Tls to the connector's "
        "AuthMechanism, or remove the domain from the domain-secured list.",
        "I",
    ),
    CatalogEntry(
        11019,
        EntryType.ERROR,
        "MessageSecurity",
        _SECURE_CONNECTION + "Transport Layer Security (TLS) negotiation failed. " + _CONTACT,
        "I",
    ),
    CatalogEntry(
        11020,
        EntryType.ERROR,
        "MessageSecurity",
        _SECURE_CONNECTION + "the validation of the Transport Layer Security (TLS) certificate "
        "failed with status '%3'. " + _CONTACT,
        "O",
    ),
    CatalogEntry(
        11021,
        EntryType.ERROR,
        "MessageSecurity",
        "The domain '%1' is in the domain-secured list, but connector '%2' is not enabled for "
        "Domain Security (DomainSecureEnabled is $false), so mail with %1 on it could not be "
        "domain-secured. Set DomainSecureEnabled to $true on the connector, or remove the domain "
        "from the domain-secured list.",
        "I",
    ),
    CatalogEntry(
        11026,
        EntryType.WARNING,
        "MessageSecurity",
        "The certificate revocation check of the Transport Layer Security (TLS) certificate for "
        "domain '%1' on connector '%2' could not be completed (status '%3'). The failure is "
        "treated as transient and the certificate is accepted.",
        "I",
    ),
    CatalogEntry(
        2015,
        EntryType.ERROR,
        "SmtpSend",
        "Send connector %1 couldn't connect to remote domain %2. The send connector requires "
        "Transport Layer Security (TLS) authentication, but is unable to establish TLS with the "
        "receiving server for the remote domain. Check this connector's authentication setting "
        "and the EHLO response from the remote server %3.",
        "C",
    ),
)

CATALOG: dict[int, CatalogEntry] = {entry.event_id: entry for entry in _ENTRIES}
"""Every event labsim writes, by id."""


def source_for(is_client_access: bool) -> str:
    """The event source of a server's transport service."""
    return SOURCE_FRONTEND_TRANSPORT if is_client_access else SOURCE_TRANSPORT


@dataclass(frozen=True)
class EventLogEntry:
    """One Application log entry as Get-EventLog returns it (System.Diagnostics.EventLogEntry)."""

    index: int
    time_generated: datetime
    entry_type: EntryType
    source: str
    event_id: int
    name: str
    """Exchange's symbolic name of the event (not a Get-EventLog property; for reports)."""
    category: str
    category_number: int
    message: str
    replacement_strings: tuple[str, ...]
    machine_name: str

    @property
    def instance_id(self) -> int:
        """The event id with its entry type's severity bits (an Error's 12014 is 3221237486)."""
        return self.entry_type.severity_bits | self.event_id

    @property
    def time_written(self) -> datetime:
        """When the entry was written: the same instant in the lab."""
        return self.time_generated

    def line(self) -> str:
        """One line for scenario expectations and reports: when, where, what."""
        return (
            f"{self.time_generated.isoformat(timespec='seconds')} {self.machine_name} {self.source} "
            f"{self.entry_type.value} {self.event_id} {self.name} ({self.category}): {self.message}"
        )


class ApplicationLog:
    """One server's Application log: entries in the order written, repeats suppressed."""

    def __init__(self, machine_name: str, *, period: timedelta = SUPPRESSION_PERIOD) -> None:
        self.machine_name = machine_name
        self._period = period
        self._entries: deque[EventLogEntry] = deque(maxlen=ENTRIES_KEPT)
        self._last_written: dict[tuple[str, int, tuple[str, ...]], datetime] = {}
        self._next_index = 1
        self._persist: Callable[[EventLogEntry], None] | None = None

    def write(
        self, event: TransportEvent, strings: Iterable[str], *, source: str, at: datetime
    ) -> EventLogEntry | None:
        """Write ``event`` with its insertion ``strings`` at lab time ``at``; None when the same
        event with the same strings was written less than the suppression period ago."""
        entry = CATALOG[event.event_id]
        texts = tuple(strings)
        key = (source, event.event_id, texts)
        last = self._last_written.get(key)
        if last is not None and at - last < self._period:
            return None
        self._last_written[key] = at
        record = EventLogEntry(
            index=self._next_index,
            time_generated=at,
            entry_type=entry.entry_type,
            source=source,
            event_id=event.event_id,
            name=event.name,
            category=entry.category,
            category_number=CATEGORY_NUMBERS[entry.category],
            message=entry.message(texts),
            replacement_strings=texts,
            machine_name=self.machine_name,
        )
        self._next_index += 1
        self._entries.append(record)
        if self._persist is not None:
            self._persist(record)
        return record

    def keep(self, persist: Callable[[EventLogEntry], None]) -> None:
        """From now on, also hand every entry written to ``persist`` (a lab kept with --state)."""
        self._persist = persist

    def restore(self, entries: Iterable[EventLogEntry]) -> None:
        """Put back entries written before a restart, oldest first: Index goes on from the last
        one. Suppression is not restored: it is the service's memory, and a restarted service
        writes the first occurrence of a repeating condition again."""
        for entry in entries:
            self._entries.append(entry)
            self._next_index = max(self._next_index, entry.index + 1)

    def entries(self) -> tuple[EventLogEntry, ...]:
        """The entries kept, oldest first."""
        return tuple(self._entries)

    @property
    def written(self) -> int:
        """How many entries were written (kept or since dropped)."""
        return self._next_index - 1


class EventLogs:
    """The Application logs of a lab's servers, by server name (made on first write)."""

    def __init__(self) -> None:
        self._logs: dict[str, ApplicationLog] = {}
        self._names: dict[str, str] = {}
        """Each log's server name as first given (the persistence hook's key)."""
        self._persist: Callable[[str, EventLogEntry], None] | None = None

    def log(self, server: str, machine_name: str) -> ApplicationLog:
        """The log of ``server`` (its entries show ``machine_name``)."""
        found = self._logs.get(server.lower())
        if found is None:
            found = self._logs[server.lower()] = ApplicationLog(machine_name)
            self._names[server.lower()] = server
            if self._persist is not None:
                found.keep(self._persister(server))
        return found

    def keep(self, persist: Callable[[str, EventLogEntry], None]) -> None:
        """From now on, hand every entry any server writes to ``persist(server, entry)``."""
        self._persist = persist
        for key, log in self._logs.items():
            log.keep(self._persister(self._names[key]))

    def _persister(self, server: str) -> Callable[[EventLogEntry], None]:
        persist = self._persist
        assert persist is not None

        def written(entry: EventLogEntry) -> None:
            persist(server, entry)

        return written

    def restore(self, server: str, machine_name: str, entries: Iterable[EventLogEntry]) -> None:
        """Put back the entries ``server`` wrote before a restart (see ApplicationLog.restore)."""
        self.log(server, machine_name).restore(entries)

    def entries(self, server: str) -> tuple[EventLogEntry, ...]:
        """The entries of ``server``, oldest first (none when it never wrote one)."""
        found = self._logs.get(server.lower())
        return found.entries() if found is not None else ()

    def written(self) -> int:
        """How many entries every server has written (a cheap count for the console's poll)."""
        return sum(log.written for log in self._logs.values())
