"""Send and receive connectors as frozen records, with Exchange's defaults
(docs/exchange-reference.md §3.2–§3.6)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from labsim.model.enums import (
    AuthMechanism,
    PermissionGroup,
    ProtocolLoggingLevel,
    ReceiveConnectorUsage,
    SendConnectorUsage,
    TlsAuthLevel,
    TransportRole,
)
from labsim.model.values import ALL_IPV4, AddressSpace, Binding, ByteSize, IPRange


def new_guid() -> str:
    """A fresh object GUID, as Exchange gives every connector."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class SendConnector:
    """An organization-wide send connector (Get-SendConnector)."""

    name: str
    address_spaces: tuple[AddressSpace, ...]
    source_transport_servers: tuple[str, ...]
    usage: SendConnectorUsage = SendConnectorUsage.CUSTOM
    enabled: bool = True
    dns_routing_enabled: bool = True
    smart_hosts: tuple[str, ...] = ()
    port: int = 25
    domain_secure_enabled: bool = False
    require_tls: bool = False
    ignore_starttls: bool = False
    force_helo: bool = False
    tls_auth_level: TlsAuthLevel | None = None
    tls_domain: str | None = None
    tls_certificate_name: str | None = None
    fqdn: str | None = None
    frontend_proxy_enabled: bool = False
    max_message_size: ByteSize = field(default_factory=lambda: ByteSize.mb(35))
    protocol_logging_level: ProtocolLoggingLevel = ProtocolLoggingLevel.NONE
    comment: str = ""
    guid: str = field(default_factory=new_guid)

    @property
    def identity(self) -> str:
        """Send connectors are organization objects: the identity is the name."""
        return self.name


MAX_HOP_COUNT_RANGE = (1, 500)
"""Valid MaxHopCount values (Set-ReceiveConnector)."""
MAX_LOCAL_HOP_COUNT_RANGE = (0, 50)
"""Valid MaxLocalHopCount values; 0 turns the local check off."""


@dataclass(frozen=True)
class ReceiveConnector:
    """A receive connector on one server (Get-ReceiveConnector); identity ``SERVER\\Name``."""

    name: str
    server: str
    transport_role: TransportRole
    bindings: tuple[Binding, ...]
    remote_ip_ranges: tuple[IPRange, ...] = (ALL_IPV4,)
    usage: ReceiveConnectorUsage | None = None
    auth_mechanism: frozenset[AuthMechanism] = frozenset({AuthMechanism.TLS})
    permission_groups: frozenset[PermissionGroup] = frozenset()
    enabled: bool = True
    domain_secure_enabled: bool = False
    require_tls: bool = False
    require_ehlo_domain: bool = False
    binary_mime_enabled: bool = True
    """EHLO offers BINARYMIME (``MAIL FROM … BODY=BINARYMIME``); Exchange's default."""
    chunking_enabled: bool = True
    """EHLO offers CHUNKING and the connector takes BDAT; Exchange's default."""
    fqdn: str | None = None
    tls_certificate_name: str | None = None
    max_message_size: ByteSize = field(default_factory=lambda: ByteSize.mb(35))
    max_recipients_per_message: int = 200
    max_hop_count: int = 60
    """Received headers a message may carry before this connector refuses it (2013: 60)."""
    max_local_hop_count: int = 5
    """Received headers written by this server a message may carry (0: no limit)."""
    protocol_logging_level: ProtocolLoggingLevel = ProtocolLoggingLevel.NONE
    banner: str | None = None
    comment: str = ""
    guid: str = field(default_factory=new_guid)
    connection_timeout: timedelta = timedelta(minutes=10)
    """The longest a session may last (Exchange 2013's default on Mailbox and CAS: 10 min)."""
    connection_inactivity_timeout: timedelta = timedelta(minutes=5)
    """The longest a client may stay silent (Exchange 2013's default: 5 min)."""

    @property
    def identity(self) -> str:
        """``SERVER\\Name`` as Exchange prints it."""
        return f"{self.server}\\{self.name}"


# Exchange lists these flags in a fixed order; keep it so output matches.
AUTH_ORDER = (
    AuthMechanism.NONE,
    AuthMechanism.TLS,
    AuthMechanism.INTEGRATED,
    AuthMechanism.BASIC_AUTH,
    AuthMechanism.BASIC_AUTH_REQUIRE_TLS,
    AuthMechanism.EXCHANGE_SERVER,
    AuthMechanism.EXTERNAL_AUTHORITATIVE,
)
GROUP_ORDER = (
    PermissionGroup.NONE,
    PermissionGroup.ANONYMOUS_USERS,
    PermissionGroup.EXCHANGE_USERS,
    PermissionGroup.EXCHANGE_SERVERS,
    PermissionGroup.EXCHANGE_LEGACY_SERVERS,
    PermissionGroup.PARTNERS,
    PermissionGroup.CUSTOM,
)


def format_flags(values: frozenset[AuthMechanism] | frozenset[PermissionGroup]) -> str:
    """Print a flags set as Exchange does: ``Tls, BasicAuth`` (or ``None`` when empty)."""
    order: tuple[AuthMechanism | PermissionGroup, ...] = (
        AUTH_ORDER if any(isinstance(v, AuthMechanism) for v in values) else GROUP_ORDER
    )
    shown = [str(v.value) for v in order if v in values]
    return ", ".join(shown) if shown else "None"
