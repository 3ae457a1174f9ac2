"""The property tables of the configurable objects: receive connector, send connector, transport
configuration (docs/exchange-reference.md §17.1).

Each table is the single declaration of its object's properties: Exchange 2013 CU23's names in
the order ``| Format-List`` prints them, how each value is shown, and the Set-/New- parameter and
model field of each settable one (:mod:`labsim.ems.properties`). Properties labsim does not model
show Exchange's default value (docs/fidelity.md, "Format-List objects"). The Active Directory
bookkeeping properties (DistinguishedName, ObjectCategory, OriginatingServer, …) are built from
the organization's name and domain; the AD timestamps, which the lab does not keep, are shown
empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from labsim.ems.conversions import (
    ADDRESS_SPACE_LIST,
    BINDING_LIST,
    BOOL,
    BYTE_SIZE,
    FQDN,
    FQDN_LIST,
    INT,
    IP_RANGE_LIST,
    IP_RANGE_TEXT_LIST,
    SERVER_LIST,
    SMTP_DOMAIN,
    SMTP_DOMAIN_LIST,
    SMTP_DOMAIN_WITH_SUBDOMAINS,
    STRING,
    STRING_LIST,
    TIMESPAN,
    TLS_CERTIFICATE_NAME,
    enum_type,
    flags_type,
)
from labsim.ems.outputs import ReceiveConnectorOutput, SendConnectorOutput, TransportConfigOutput
from labsim.ems.properties import KEEP, Getter, Property, PropertyTable
from labsim.model.connectors import format_flags
from labsim.model.enums import (
    AuthMechanism,
    PermissionGroup,
    ProtocolLoggingLevel,
    TlsAuthLevel,
    TransportRole,
)
from labsim.model.values import ALL_IPV4, ByteSize

EXCHANGE_VERSION = "0.1 (8.0.535.0)"
"""What every connector and the transport settings show as ExchangeVersion (the AD schema
version of the object class, not the build)."""

ALL_IPV6 = "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
"""The IPv6 half of a default connector's RemoteIPRanges."""

ADMIN_GROUP = "Exchange Administrative Group (FYDIBOHF23SPDLT)"
ROUTING_GROUP = "Exchange Routing Group (DWBGZMFD01QNBJR)"

PROTOCOL_LOGGING_LEVEL = enum_type(
    ProtocolLoggingLevel, "Microsoft.Exchange.Data.ProtocolLoggingLevel"
)


def _domain_dn(domain: str) -> str:
    return ",".join(f"DC={label}" for label in domain.split("."))


def _exchange_dn(organization: str, domain: str) -> str:
    # The organization's container in the configuration partition.
    return (
        f"CN={organization},CN=Microsoft Exchange,CN=Services,CN=Configuration,{_domain_dn(domain)}"
    )


def _ad_object(
    dn: Getter,
    category: str,
    classes: tuple[str, ...],
    guid: Getter,
    identity: Getter,
    domain: Getter,
) -> tuple[Property, ...]:
    """The Active Directory bookkeeping properties every configuration object ends with."""
    return (
        Property("DistinguishedName", dn),
        Property("Identity", identity),
        Property("Guid", guid),
        Property("ObjectCategory", lambda o: f"{domain(o)}/Configuration/Schema/{category}"),
        Property("ObjectClass", lambda o: classes),
        # labsim keeps no Active Directory timestamps: shown empty (docs/fidelity.md).
        Property("WhenChanged", lambda o: None),
        Property("WhenCreated", lambda o: None),
        Property("WhenChangedUTC", lambda o: None),
        Property("WhenCreatedUTC", lambda o: None),
        Property("OrganizationId", lambda o: None),
        Property("Id", identity),
        # The domain controller the lab names in its not-found messages (CmdletContext).
        Property("OriginatingServer", lambda o: f"DC1.{domain(o)}"),
        Property("IsValid", lambda o: True),
        Property("ObjectState", lambda o: "Unchanged"),
    )


# --- Receive connector -------------------------------------------------------------------------


@dataclass(frozen=True)
class StockSettings:
    """The values Exchange 2013 gives a receive connector for what labsim does not model.

    Setup's five default connectors differ from each other (values from a real export,
    docs/exchange-reference.md §17.1); a connector made with New-ReceiveConnector gets
    :data:`NEW_CONNECTOR`."""

    default_connector: bool = False
    ipv6_first: bool = True
    message_rate_limit: str = "Unlimited"
    message_rate_source: str = "IPAddress"
    max_inbound_connection_per_source: str = "20"
    max_inbound_connection_percentage_per_source: int = 2
    enable_auth_gssapi: bool = False
    size_enabled: str = "Enabled"
    tarpit_interval: timedelta = timedelta(seconds=5)


NEW_CONNECTOR = StockSettings()

_SETUP_CONNECTORS = {
    "Default ": StockSettings(
        default_connector=True,
        ipv6_first=False,
        max_inbound_connection_per_source="Unlimited",
        max_inbound_connection_percentage_per_source=100,
        size_enabled="EnabledWithoutValue",
    ),
    "Client Proxy ": StockSettings(
        default_connector=True,
        message_rate_limit="5",
        message_rate_source="User",
        enable_auth_gssapi=True,
    ),
    "Default Frontend ": StockSettings(default_connector=True),
    "Outbound Proxy Frontend ": StockSettings(default_connector=True, tarpit_interval=timedelta()),
    "Client Frontend ": StockSettings(
        default_connector=True,
        message_rate_limit="5",
        message_rate_source="User",
        enable_auth_gssapi=True,
    ),
}


def stock_settings(o: ReceiveConnectorOutput) -> StockSettings:
    """Exchange's values for what labsim does not model: Setup's ``<Kind> <SERVER>`` connectors
    have their own, every other connector those of New-ReceiveConnector."""
    for prefix, stock in _SETUP_CONNECTORS.items():
        if o.connector.name == f"{prefix}{o.connector.server}":
            return stock
    return NEW_CONNECTOR


def receive_bindings(o: ReceiveConnectorOutput) -> tuple[str, ...]:
    """Bindings as Exchange shows them: Setup's connectors listen on ``[::]`` and ``0.0.0.0``.

    labsim binds IPv4 only (on the server's 127.x address, docs/fidelity.md); a default binding
    still shows its IPv6 twin in Exchange's order so the list reads as on a real server."""
    stock = stock_settings(o)
    shown: list[str] = []
    for binding in o.connector.bindings:
        text = str(binding)
        if stock.default_connector and binding.address == "0.0.0.0":
            twin = f"[::]:{binding.port}"
            shown.extend((twin, text) if stock.ipv6_first else (text, twin))
        else:
            shown.append(text)
    return tuple(shown)


def receive_remote_ranges(o: ReceiveConnectorOutput) -> tuple[str, ...]:
    """RemoteIPRanges: a default connector that still accepts every IPv4 address also shows
    Exchange's every-IPv6 range."""
    ranges = tuple(str(r) for r in o.connector.remote_ip_ranges)
    if stock_settings(o).default_connector and o.connector.remote_ip_ranges == (ALL_IPV4,):
        return (ALL_IPV6, *ranges)
    return ranges


def _permission_groups(value: object) -> object:
    # "None" is how Exchange prints an empty set of groups; keep the set empty.
    assert isinstance(value, frozenset)
    return frozenset(g for g in value if g is not PermissionGroup.NONE)


def _receive_dn(o: ReceiveConnectorOutput) -> str:
    c = o.connector
    return (
        f"CN={c.name},CN=SMTP Receive Connectors,CN=Protocols,CN={c.server},CN=Servers,"
        f"CN={ADMIN_GROUP},CN=Administrative Groups,{_exchange_dn(o.organization, o.domain)}"
    )


RECEIVE_CONNECTOR = PropertyTable(
    (
        Property(
            "AuthMechanism",
            lambda o: format_flags(o.connector.auth_mechanism),
            flags_type(AuthMechanism, "Microsoft.Exchange.Data.AuthMechanisms"),
            "auth_mechanism",
        ),
        Property("Banner", lambda o: o.connector.banner, STRING, "banner", null=KEEP),
        Property(
            "BinaryMimeEnabled",
            lambda o: o.connector.binary_mime_enabled,
            BOOL,
            "binary_mime_enabled",
        ),
        Property("Bindings", receive_bindings, BINDING_LIST, "bindings", is_list=True),
        Property(
            "ChunkingEnabled", lambda o: o.connector.chunking_enabled, BOOL, "chunking_enabled"
        ),
        Property("DefaultDomain", lambda o: None, STRING),
        Property("DeliveryStatusNotificationEnabled", lambda o: True, BOOL),
        Property("EightBitMimeEnabled", lambda o: True, BOOL),
        Property("BareLinefeedRejectionEnabled", lambda o: False, BOOL),
        Property(
            "DomainSecureEnabled",
            lambda o: o.connector.domain_secure_enabled,
            BOOL,
            "domain_secure_enabled",
        ),
        Property("EnhancedStatusCodesEnabled", lambda o: True, BOOL),
        Property("LongAddressesEnabled", lambda o: False, BOOL),
        Property("OrarEnabled", lambda o: False, BOOL),
        Property("SuppressXAnonymousTls", lambda o: False, BOOL),
        Property("ProxyEnabled", lambda o: False, BOOL),
        Property("AdvertiseClientSettings", lambda o: False, BOOL),
        Property("Fqdn", lambda o: o.connector.fqdn or o.server_fqdn, FQDN, "fqdn", null=KEEP),
        Property("ServiceDiscoveryFqdn", lambda o: None, FQDN),
        Property(
            "TlsCertificateName",
            lambda o: o.connector.tls_certificate_name,
            TLS_CERTIFICATE_NAME,
            "tls_certificate_name",
            null=KEEP,
        ),
        Property("Comment", lambda o: o.connector.comment, STRING, "comment", null=""),
        Property("Enabled", lambda o: o.connector.enabled, BOOL, "enabled"),
        Property(
            "ConnectionTimeout",
            lambda o: o.connector.connection_timeout,
            TIMESPAN,
            "connection_timeout",
        ),
        Property(
            "ConnectionInactivityTimeout",
            lambda o: o.connector.connection_inactivity_timeout,
            TIMESPAN,
            "connection_inactivity_timeout",
        ),
        Property("MessageRateLimit", lambda o: stock_settings(o).message_rate_limit, STRING),
        Property("MessageRateSource", lambda o: stock_settings(o).message_rate_source, STRING),
        Property("MaxInboundConnection", lambda o: 5000, STRING),
        Property(
            "MaxInboundConnectionPerSource",
            lambda o: stock_settings(o).max_inbound_connection_per_source,
            STRING,
        ),
        Property(
            "MaxInboundConnectionPercentagePerSource",
            lambda o: stock_settings(o).max_inbound_connection_percentage_per_source,
            INT,
        ),
        Property("MaxHeaderSize", lambda o: ByteSize(256 * 1024), BYTE_SIZE),
        Property("MaxHopCount", lambda o: o.connector.max_hop_count, INT, "max_hop_count"),
        Property(
            "MaxLocalHopCount",
            lambda o: o.connector.max_local_hop_count,
            INT,
            "max_local_hop_count",
        ),
        Property("MaxLogonFailures", lambda o: 3, INT),
        Property(
            "MaxMessageSize",
            lambda o: o.connector.max_message_size,
            BYTE_SIZE,
            "max_message_size",
            null=ByteSize(None),
        ),
        Property("MaxProtocolErrors", lambda o: 5, STRING),
        Property(
            "MaxRecipientsPerMessage",
            lambda o: o.connector.max_recipients_per_message,
            INT,
            "max_recipients_per_message",
        ),
        Property(
            "PermissionGroups",
            lambda o: format_flags(o.connector.permission_groups),
            flags_type(PermissionGroup, "Microsoft.Exchange.Data.PermissionGroups"),
            "permission_groups",
            store=_permission_groups,
        ),
        Property("PipeliningEnabled", lambda o: True, BOOL),
        Property(
            "ProtocolLoggingLevel",
            lambda o: o.connector.protocol_logging_level,
            PROTOCOL_LOGGING_LEVEL,
            "protocol_logging_level",
        ),
        Property(
            "RemoteIPRanges", receive_remote_ranges, IP_RANGE_LIST, "remote_ip_ranges", is_list=True
        ),
        Property(
            "RequireEHLODomain",
            lambda o: o.connector.require_ehlo_domain,
            BOOL,
            "require_ehlo_domain",
        ),
        Property("RequireTLS", lambda o: o.connector.require_tls, BOOL, "require_tls"),
        Property("EnableAuthGSSAPI", lambda o: stock_settings(o).enable_auth_gssapi, BOOL),
        Property("ExtendedProtectionPolicy", lambda o: "None", STRING),
        Property("LiveCredentialEnabled", lambda o: False, BOOL),
        Property("TlsDomainCapabilities", lambda o: (), STRING_LIST),
        Property("Server", lambda o: o.connector.server),
        Property(
            "TransportRole",
            lambda o: o.connector.transport_role,
            enum_type(
                TransportRole, "Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole"
            ),
            "transport_role",
        ),
        Property("SizeEnabled", lambda o: stock_settings(o).size_enabled, STRING),
        Property("TarpitInterval", lambda o: stock_settings(o).tarpit_interval, TIMESPAN),
        Property("MaxAcknowledgementDelay", lambda o: timedelta(seconds=30), TIMESPAN),
        Property("AdminDisplayName", lambda o: None),
        Property("ExchangeVersion", lambda o: EXCHANGE_VERSION),
        Property("Name", lambda o: o.connector.name, STRING, "name"),
        *_ad_object(
            _receive_dn,
            "ms-Exch-Smtp-Receive-Connector",
            ("top", "msExchSmtpReceiveConnector"),
            lambda o: o.connector.guid,
            lambda o: o.identity,
            lambda o: o.domain,
        ),
    )
)
"""Get-ReceiveConnector | Format-List, Set-/New-ReceiveConnector's property parameters."""


# --- Send connector ----------------------------------------------------------------------------


def _send_dn(o: SendConnectorOutput) -> str:
    return (
        f"CN={o.connector.name},CN=Connections,CN={ROUTING_GROUP},CN=Routing Groups,"
        f"CN={ADMIN_GROUP},CN=Administrative Groups,{_exchange_dn(o.organization, o.domain)}"
    )


SEND_CONNECTOR = PropertyTable(
    (
        Property(
            "DNSRoutingEnabled",
            lambda o: o.connector.dns_routing_enabled,
            BOOL,
            "dns_routing_enabled",
        ),
        Property(
            "TlsDomain",
            lambda o: o.connector.tls_domain,
            SMTP_DOMAIN_WITH_SUBDOMAINS,
            "tls_domain",
            null=KEEP,
        ),
        Property(
            "TlsAuthLevel",
            lambda o: o.connector.tls_auth_level,
            enum_type(TlsAuthLevel, "Microsoft.Exchange.Data.TlsAuthLevel", nullable=True),
            "tls_auth_level",
            null=KEEP,
        ),
        Property("ErrorPolicies", lambda o: "Default", STRING),
        Property(
            "SmartHosts",
            lambda o: o.connector.smart_hosts,
            FQDN_LIST,
            "smart_hosts",
            is_list=True,
            store=str,
        ),
        Property("Port", lambda o: o.connector.port, INT, "port"),
        Property("ConnectionInactivityTimeOut", lambda o: timedelta(minutes=10), TIMESPAN),
        Property("ForceHELO", lambda o: o.connector.force_helo, BOOL, "force_helo"),
        Property(
            "FrontendProxyEnabled",
            lambda o: o.connector.frontend_proxy_enabled,
            BOOL,
            "frontend_proxy_enabled",
        ),
        Property("IgnoreSTARTTLS", lambda o: o.connector.ignore_starttls, BOOL, "ignore_starttls"),
        Property("CloudServicesMailEnabled", lambda o: False, BOOL),
        Property("Fqdn", lambda o: o.connector.fqdn, FQDN, "fqdn", null=KEEP),
        Property(
            "TlsCertificateName",
            lambda o: o.connector.tls_certificate_name,
            TLS_CERTIFICATE_NAME,
            "tls_certificate_name",
            null=KEEP,
        ),
        Property("RequireTLS", lambda o: o.connector.require_tls, BOOL, "require_tls"),
        Property("RequireOorg", lambda o: False, BOOL),
        Property("Enabled", lambda o: o.connector.enabled, BOOL, "enabled"),
        Property(
            "ProtocolLoggingLevel",
            lambda o: o.connector.protocol_logging_level,
            PROTOCOL_LOGGING_LEVEL,
            "protocol_logging_level",
        ),
        Property("SmartHostAuthMechanism", lambda o: "None", STRING),
        Property("AuthenticationCredential", lambda o: None, STRING),
        Property("UseExternalDNSServersEnabled", lambda o: False, BOOL),
        Property(
            "DomainSecureEnabled",
            lambda o: o.connector.domain_secure_enabled,
            BOOL,
            "domain_secure_enabled",
        ),
        Property("SourceIPAddress", lambda o: "0.0.0.0", STRING),
        Property("SmartHostsString", lambda o: ",".join(o.connector.smart_hosts)),
        Property(
            "AddressSpaces",
            lambda o: tuple(str(a) for a in o.connector.address_spaces),
            ADDRESS_SPACE_LIST,
            "address_spaces",
            is_list=True,
        ),
        Property("ConnectedDomains", lambda o: ()),
        Property("IsScopedConnector", lambda o: False, BOOL),
        Property("IsSmtpConnector", lambda o: True),
        Property("Comment", lambda o: o.connector.comment, STRING, "comment", null=""),
        Property("SourceRoutingGroup", lambda o: ROUTING_GROUP),
        Property(
            "SourceTransportServers",
            lambda o: o.connector.source_transport_servers,
            SERVER_LIST,
            "source_transport_servers",
            is_list=True,
            store=str,
        ),
        Property("HomeMTA", lambda o: "Microsoft MTA"),
        Property(
            "HomeMtaServerId",
            lambda o: (
                o.connector.source_transport_servers[0]
                if o.connector.source_transport_servers
                else None
            ),
        ),
        Property(
            "MaxMessageSize",
            lambda o: o.connector.max_message_size,
            BYTE_SIZE,
            "max_message_size",
            null=ByteSize(None),
        ),
        Property("AdminDisplayName", lambda o: None),
        Property("ExchangeVersion", lambda o: EXCHANGE_VERSION),
        Property("Name", lambda o: o.connector.name, STRING, "name"),
        *_ad_object(
            _send_dn,
            "ms-Exch-Routing-SMTP-Connector",
            ("top", "msExchConnector", "mailGateway", "msExchRoutingSMTPConnector"),
            lambda o: o.connector.guid,
            lambda o: o.identity,
            lambda o: o.domain,
        ),
    )
)
"""Get-SendConnector | Format-List, Set-/New-SendConnector's property parameters."""


# --- Transport configuration -------------------------------------------------------------------


TRANSPORT_CONFIG = PropertyTable(
    (
        Property("AddressBookPolicyRoutingEnabled", lambda t: False, BOOL),
        Property("AgentGeneratedMessageLoopDetectionInSmtpEnabled", lambda t: True, BOOL),
        Property("AgentGeneratedMessageLoopDetectionInSubmissionEnabled", lambda t: True, BOOL),
        Property("AnonymousSenderToRecipientRatePerHour", lambda t: 1800, INT),
        Property("ClearCategories", lambda t: True, BOOL),
        Property("ConvertDisclaimerWrapperToEml", lambda t: False, BOOL),
        Property("DiagnosticsAggregationServicePort", lambda t: 9710, INT),
        Property("DSNConversionMode", lambda t: "UseExchangeDSNs", STRING),
        Property(
            "ExternalDelayDsnEnabled",
            lambda t: t.config.external_delay_dsn_enabled,
            BOOL,
            "external_delay_dsn_enabled",
        ),
        Property("ExternalDsnDefaultLanguage", lambda t: None, STRING),
        Property("ExternalDsnLanguageDetectionEnabled", lambda t: True, BOOL),
        Property("ExternalDsnMaxMessageAttachSize", lambda t: ByteSize.mb(10), BYTE_SIZE),
        Property(
            "ExternalDsnReportingAuthority",
            lambda t: t.config.external_dsn_reporting_authority,
            SMTP_DOMAIN,
            "external_dsn_reporting_authority",
            null=KEEP,
        ),
        Property("ExternalDsnSendHtml", lambda t: True, BOOL),
        Property("ExternalPostmasterAddress", lambda t: None, STRING),
        Property(
            "GenerateCopyOfDSNFor",
            lambda t: t.config.generate_copy_of_dsn_for,
            STRING_LIST,
            "generate_copy_of_dsn_for",
            is_list=True,
            store=str,
        ),
        Property("HeaderPromotionModeSetting", lambda t: "NoCreate", STRING),
        Property("HygieneSuite", lambda t: "Standard", STRING),
        Property(
            "InternalDelayDsnEnabled",
            lambda t: t.config.internal_delay_dsn_enabled,
            BOOL,
            "internal_delay_dsn_enabled",
        ),
        Property("InternalDsnDefaultLanguage", lambda t: None, STRING),
        Property("InternalDsnLanguageDetectionEnabled", lambda t: True, BOOL),
        Property("InternalDsnMaxMessageAttachSize", lambda t: ByteSize.mb(10), BYTE_SIZE),
        Property("InternalDsnReportingAuthority", lambda t: None, SMTP_DOMAIN),
        Property("InternalDsnSendHtml", lambda t: True, BOOL),
        Property(
            "InternalSMTPServers",
            lambda t: t.config.internal_smtp_servers,
            IP_RANGE_TEXT_LIST,
            "internal_smtp_servers",
            is_list=True,
            store=str,
        ),
        Property("JournalArchivingEnabled", lambda t: False, BOOL),
        Property("JournalingReportNdrTo", lambda t: "<>", STRING),
        Property("LegacyArchiveJournalingEnabled", lambda t: False, BOOL),
        Property("LegacyArchiveLiveJournalingEnabled", lambda t: False, BOOL),
        Property("LegacyJournalingMigrationEnabled", lambda t: False, BOOL),
        Property("MaxAllowedAgentGeneratedMessageDepth", lambda t: 3, INT),
        Property("MaxAllowedAgentGeneratedMessageDepthPerAgent", lambda t: 2, INT),
        Property("MaxDumpsterSizePerDatabase", lambda t: ByteSize.mb(18), BYTE_SIZE),
        Property("MaxDumpsterTime", lambda t: timedelta(days=7), TIMESPAN),
        Property(
            "MaxReceiveSize",
            lambda t: t.config.max_receive_size,
            BYTE_SIZE,
            "max_receive_size",
            null=ByteSize(None),
        ),
        Property(
            "MaxRecipientEnvelopeLimit",
            lambda t: t.config.max_recipient_envelope_limit,
            INT,
            "max_recipient_envelope_limit",
        ),
        Property("MaxRetriesForLocalSiteShadow", lambda t: 2, INT),
        Property("MaxRetriesForRemoteSiteShadow", lambda t: 4, INT),
        Property(
            "MaxSendSize",
            lambda t: t.config.max_send_size,
            BYTE_SIZE,
            "max_send_size",
            null=ByteSize(None),
        ),
        Property("MigrationEnabled", lambda t: False, BOOL),
        Property("OpenDomainRoutingEnabled", lambda t: False, BOOL),
        Property("OrganizationFederatedMailbox", lambda t: None, STRING),
        Property("PreserveReportBodypart", lambda t: True, BOOL),
        Property("Rfc2231EncodingEnabled", lambda t: False, BOOL),
        Property("SafetyNetHoldTime", lambda t: timedelta(days=2), TIMESPAN),
        Property("ShadowHeartbeatFrequency", lambda t: timedelta(minutes=2), TIMESPAN),
        Property("ShadowMessageAutoDiscardInterval", lambda t: timedelta(days=2), TIMESPAN),
        Property("ShadowMessagePreferenceSetting", lambda t: "PreferRemote", STRING),
        Property("ShadowRedundancyEnabled", lambda t: True, BOOL),
        Property("ShadowResubmitTimeSpan", lambda t: timedelta(hours=3), TIMESPAN),
        Property("SupervisionTags", lambda t: ("Reject", "Allow"), STRING_LIST),
        Property(
            "TLSReceiveDomainSecureList",
            lambda t: t.config.tls_receive_domain_secure_list,
            SMTP_DOMAIN_LIST,
            "tls_receive_domain_secure_list",
            is_list=True,
            store=str,
        ),
        Property(
            "TLSSendDomainSecureList",
            lambda t: t.config.tls_send_domain_secure_list,
            SMTP_DOMAIN_LIST,
            "tls_send_domain_secure_list",
            is_list=True,
            store=str,
        ),
        Property("VerifySecureSubmitEnabled", lambda t: False, BOOL),
        Property("VoicemailJournalingEnabled", lambda t: True, BOOL),
        Property("Xexch50Enabled", lambda t: True, BOOL),
        Property("AdminDisplayName", lambda t: None),
        Property("ExchangeVersion", lambda t: EXCHANGE_VERSION),
        Property("Name", lambda t: "Transport Settings"),
        *_ad_object(
            lambda t: f"CN=Transport Settings,{_exchange_dn(t.organization, t.domain)}",
            "ms-Exch-Transport-Settings",
            ("top", "msExchTransportSettings"),
            lambda t: t.guid,
            lambda t: "Transport Settings",
            lambda t: t.domain,
        ),
    )
)
"""Get-TransportConfig | Format-List, Set-TransportConfig's property parameters."""

TABLES: dict[type, PropertyTable] = {
    ReceiveConnectorOutput: RECEIVE_CONNECTOR,
    SendConnectorOutput: SEND_CONNECTOR,
    TransportConfigOutput: TRANSPORT_CONFIG,
}
"""The table of each object type a Get- cmdlet writes."""
