"""Enumerations in Exchange's spelling: the value of each member is what Exchange prints.

Parsing user input goes through :func:`parse_enum`, which is case-insensitive like PowerShell.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar


class ServerRole(Enum):
    """An Exchange 2013 server role (docs/exchange-reference.md §2)."""

    CLIENT_ACCESS = "ClientAccess"
    MAILBOX = "Mailbox"


class TransportRole(Enum):
    """The transport service a receive connector belongs to (docs/exchange-reference.md §3.3)."""

    FRONTEND_TRANSPORT = "FrontendTransport"
    HUB_TRANSPORT = "HubTransport"


class SendConnectorUsage(Enum):
    """`-Usage` of New-SendConnector (docs/exchange-reference.md §3.2)."""

    CUSTOM = "Custom"
    INTERNAL = "Internal"
    INTERNET = "Internet"
    PARTNER = "Partner"


class ReceiveConnectorUsage(Enum):
    """`-Usage` of New-ReceiveConnector (docs/exchange-reference.md §3.4)."""

    CLIENT = "Client"
    CUSTOM = "Custom"
    INTERNAL = "Internal"
    INTERNET = "Internet"
    PARTNER = "Partner"


class AuthMechanism(Enum):
    """Receive connector `AuthMechanism` flags (docs/exchange-reference.md §3.3)."""

    NONE = "None"
    TLS = "Tls"
    INTEGRATED = "Integrated"
    BASIC_AUTH = "BasicAuth"
    BASIC_AUTH_REQUIRE_TLS = "BasicAuthRequireTLS"
    EXCHANGE_SERVER = "ExchangeServer"
    EXTERNAL_AUTHORITATIVE = "ExternalAuthoritative"


class PermissionGroup(Enum):
    """Receive connector `PermissionGroups` flags (docs/exchange-reference.md §3.3, §3.5)."""

    NONE = "None"
    ANONYMOUS_USERS = "AnonymousUsers"
    EXCHANGE_USERS = "ExchangeUsers"
    EXCHANGE_SERVERS = "ExchangeServers"
    EXCHANGE_LEGACY_SERVERS = "ExchangeLegacyServers"
    PARTNERS = "Partners"
    CUSTOM = "Custom"


class Permission(Enum):
    """A receive-side SMTP right, spelled as the protocol log's `Set Session Permissions` line."""

    SMTP_SUBMIT = "SMTPSubmit"
    SMTP_ACCEPT_ANY_RECIPIENT = "SMTPAcceptAnyRecipient"
    SMTP_ACCEPT_ANY_SENDER = "SMTPAcceptAnySender"
    SMTP_ACCEPT_AUTHORITATIVE_DOMAIN_SENDER = "SMTPAcceptAuthoritativeDomainSender"
    BYPASS_ANTI_SPAM = "BypassAntiSpam"
    BYPASS_MESSAGE_SIZE_LIMIT = "BypassMessageSizeLimit"
    SMTP_ACCEPT_EXCH50 = "SMTPAcceptEXCH50"
    ACCEPT_ROUTING_HEADERS = "AcceptRoutingHeaders"
    ACCEPT_FOREST_HEADERS = "AcceptForestHeaders"
    ACCEPT_ORG_HEADERS = "AcceptOrganizationHeaders"
    SMTP_ACCEPT_AUTHENTICATION_FLAG = "SMTPAcceptAuthenticationFlag"


class TlsAuthLevel(Enum):
    """Send connector `TlsAuthLevel` (docs/exchange-reference.md §3.2)."""

    ENCRYPTION_ONLY = "EncryptionOnly"
    CERTIFICATE_VALIDATION = "CertificateValidation"
    DOMAIN_VALIDATION = "DomainValidation"


class ProtocolLoggingLevel(Enum):
    """Connector `ProtocolLoggingLevel` (docs/exchange-reference.md §7)."""

    NONE = "None"
    VERBOSE = "Verbose"


class QueueStatus(Enum):
    """Get-Queue `Status` (docs/exchange-reference.md §9)."""

    ACTIVE = "Active"
    CONNECTING = "Connecting"
    READY = "Ready"
    RETRY = "Retry"
    SUSPENDED = "Suspended"


class MessageStatus(Enum):
    """Get-Message `Status` (docs/exchange-reference.md §9)."""

    ACTIVE = "Active"
    LOCKED = "Locked"
    PENDING_REMOVE = "PendingRemove"
    PENDING_SUSPEND = "PendingSuspend"
    READY = "Ready"
    RETRY = "Retry"
    SUSPENDED = "Suspended"


class DeliveryType(Enum):
    """Get-Queue `DeliveryType` (docs/exchange-reference.md §9), the subset labsim creates."""

    DNS_CONNECTOR_DELIVERY = "DnsConnectorDelivery"
    SMART_HOST_CONNECTOR_DELIVERY = "SmartHostConnectorDelivery"
    SMTP_DELIVERY_TO_MAILBOX = "SmtpDeliveryToMailbox"
    SMTP_RELAY_TO_CONNECTOR_SOURCE_SERVERS = "SmtpRelayToConnectorSourceServers"
    UNDEFINED = "Undefined"
    UNREACHABLE = "Unreachable"


class AcceptedDomainType(Enum):
    """An accepted domain's `DomainType`: mailboxes here, or mail relayed onwards."""

    AUTHORITATIVE = "Authoritative"
    INTERNAL_RELAY = "InternalRelay"
    EXTERNAL_RELAY = "ExternalRelay"


class AuthAs(Enum):
    """`X-MS-Exchange-Organization-AuthAs` values (docs/exchange-reference.md §5.4)."""

    ANONYMOUS = "Anonymous"
    INTERNAL = "Internal"
    EXTERNAL = "External"
    PARTNER = "Partner"


class FidelityProfile(Enum):
    """Which Exchange version's behaviour a lab follows where versions differ
    (docs/exchange-reference.md §16)."""

    EXCHANGE2013 = "exchange2013"
    EXCHANGE2010 = "exchange2010"


E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], text: str) -> E:
    """Return the member of ``kind`` whose Exchange spelling equals ``text`` (case-insensitive).

    Raises ValueError listing the accepted values, so callers can turn it into a message that
    names the parameter and the fix.
    """
    wanted = text.strip().lower()
    for member in kind:
        if str(member.value).lower() == wanted:
            return member
    accepted = ", ".join(str(m.value) for m in kind)
    raise ValueError(f"'{text}' is not one of: {accepted}")
