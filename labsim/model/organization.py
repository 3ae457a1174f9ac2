"""Organizations, servers, accepted domains and mailboxes as frozen records.

An :class:`Organization` is the whole configuration one Exchange organization holds in Active
Directory: the shell replaces it (``dataclasses.replace``) on every Set-/New-/Remove- cmdlet and
the engine reads the current one at decision time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labsim.model.connectors import ReceiveConnector, SendConnector
from labsim.model.enums import AcceptedDomainType, ServerRole
from labsim.model.transport import FrontendTransportService, TransportConfig, TransportService


@dataclass(frozen=True)
class Server:
    """A simulated Exchange server: its own loopback address (docs/exchange-reference.md §16
    D12)."""

    name: str
    fqdn: str
    role: ServerRole
    address: str
    transport_service: TransportService = field(default_factory=TransportService)
    frontend_transport: FrontendTransportService = field(default_factory=FrontendTransportService)
    """Kept on every server; only a Client Access server's is used (it runs Front End Transport)."""

    @property
    def is_client_access(self) -> bool:
        """Runs Front End Transport."""
        return self.role is ServerRole.CLIENT_ACCESS

    @property
    def is_mailbox(self) -> bool:
        """Runs the Transport service (queues, routing, delivery)."""
        return self.role is ServerRole.MAILBOX


@dataclass(frozen=True)
class Mailbox:
    """A mailbox user; delivery to it is local to its organization."""

    primary_smtp_address: str
    display_name: str

    @property
    def alias(self) -> str:
        """The local part."""
        return self.primary_smtp_address.split("@", 1)[0]


@dataclass(frozen=True)
class AcceptedDomain:
    """An accepted domain: authoritative (mailboxes live here) or a relay domain (the
    organization accepts the mail and routes it onwards through a send connector, as a
    hosted filtering service does for its customers)."""

    domain_name: str
    default: bool = False
    domain_type: AcceptedDomainType = AcceptedDomainType.AUTHORITATIVE

    @property
    def is_relay(self) -> bool:
        """InternalRelay or ExternalRelay."""
        return self.domain_type is not AcceptedDomainType.AUTHORITATIVE


@dataclass(frozen=True)
class Organization:
    """One Exchange organization's configuration."""

    name: str
    accepted_domains: tuple[AcceptedDomain, ...]
    servers: tuple[Server, ...]
    mailboxes: tuple[Mailbox, ...] = ()
    transport_config: TransportConfig = field(default_factory=TransportConfig)
    send_connectors: tuple[SendConnector, ...] = ()
    receive_connectors: tuple[ReceiveConnector, ...] = ()

    @property
    def default_domain(self) -> str:
        """The default accepted domain (the first one when none is marked)."""
        for d in self.accepted_domains:
            if d.default:
                return d.domain_name
        return self.accepted_domains[0].domain_name

    def is_accepted_domain(self, domain: str) -> bool:
        """Exact, case-insensitive match against the accepted domains (any type)."""
        return self.accepted_domain(domain) is not None

    def accepted_domain(self, domain: str) -> AcceptedDomain | None:
        """The accepted domain record for ``domain``, or None."""
        key = domain.lower()
        for accepted in self.accepted_domains:
            if accepted.domain_name.lower() == key:
                return accepted
        return None

    def is_authoritative_domain(self, domain: str) -> bool:
        """Whether this organization holds the mailboxes of ``domain``."""
        accepted = self.accepted_domain(domain)
        return accepted is not None and not accepted.is_relay

    def server(self, name: str) -> Server | None:
        """The server with this name (case-insensitive) or FQDN."""
        key = name.lower()
        for s in self.servers:
            if s.name.lower() == key or s.fqdn.lower() == key:
                return s
        return None

    def server_at(self, address: str) -> Server | None:
        """The server whose loopback address is ``address``."""
        for s in self.servers:
            if s.address == address:
                return s
        return None

    def servers_with(self, role: ServerRole) -> tuple[Server, ...]:
        """Servers holding a role, in definition order."""
        return tuple(s for s in self.servers if s.role is role)

    def mailbox(self, address: str) -> Mailbox | None:
        """The mailbox with this primary SMTP address (case-insensitive)."""
        key = address.lower()
        for m in self.mailboxes:
            if m.primary_smtp_address.lower() == key:
                return m
        return None

    def receive_connectors_on(self, server: str) -> tuple[ReceiveConnector, ...]:
        """Receive connectors of one server."""
        return tuple(c for c in self.receive_connectors if c.server.lower() == server.lower())

    def send_connector(self, name: str) -> SendConnector | None:
        """The send connector with this name (case-insensitive)."""
        for c in self.send_connectors:
            if c.name.lower() == name.lower():
                return c
        return None
