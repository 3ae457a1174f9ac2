"""Format-List of the Exchange objects: Exchange 2013 CU23's whole property sets in Exchange's order
(golden texts over the default lab), ``FL *`` and wildcards, and the property tables as the single
declaration of what Format-List shows and what Set-/New- take (docs/exchange-reference.md §17.1)."""

from __future__ import annotations

import re

import pytest
from ems_fakes import FakeHost, message_row, retry_queue_row

from labsim.ems import Shell
from labsim.ems.catalog import Arguments
from labsim.ems.cmdlets import default_catalog
from labsim.ems.conversions import (
    BOOL,
    BYTE_SIZE,
    FQDN,
    INT,
    SMTP_DOMAIN,
    STRING,
    STRING_LIST,
    TIMESPAN,
)
from labsim.ems.format import format_list
from labsim.ems.properties import Property, PropertyTable
from labsim.ems.tables import RECEIVE_CONNECTOR, SEND_CONNECTOR, TRANSPORT_CONFIG

GUID = re.compile(r"(?!0{8}-)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _fl(shell: Shell, line: str) -> str:
    result = shell.run(line)
    assert result.ok, result.error
    # Connector GUIDs are fresh for every lab: pin the form, not the value.
    return GUID.sub("<guid>", result.output)


ADMIN = "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups"
CONFIG = "CN=Adatum,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=adatum,DC=com"

DEFAULT_FRONTEND = f"""\
AuthMechanism                           : Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer
Banner                                  :
BinaryMimeEnabled                       : True
Bindings                                : {{[::]:25, 0.0.0.0:25}}
ChunkingEnabled                         : True
DefaultDomain                           :
DeliveryStatusNotificationEnabled       : True
EightBitMimeEnabled                     : True
BareLinefeedRejectionEnabled            : False
DomainSecureEnabled                     : False
EnhancedStatusCodesEnabled              : True
LongAddressesEnabled                    : False
OrarEnabled                             : False
SuppressXAnonymousTls                   : False
ProxyEnabled                            : False
AdvertiseClientSettings                 : False
Fqdn                                    : mail.adatum.com
ServiceDiscoveryFqdn                    :
TlsCertificateName                      :
Comment                                 :
Enabled                                 : True
ConnectionTimeout                       : 00:10:00
ConnectionInactivityTimeout             : 00:05:00
MessageRateLimit                        : Unlimited
MessageRateSource                       : IPAddress
MaxInboundConnection                    : 5000
MaxInboundConnectionPerSource           : 20
MaxInboundConnectionPercentagePerSource : 2
MaxHeaderSize                           : 256 KB (262,144 bytes)
MaxHopCount                             : 60
MaxLocalHopCount                        : 5
MaxLogonFailures                        : 3
MaxMessageSize                          : 36 MB (37,748,736 bytes)
MaxProtocolErrors                       : 5
MaxRecipientsPerMessage                 : 200
PermissionGroups                        : AnonymousUsers, ExchangeServers, ExchangeLegacyServers
PipeliningEnabled                       : True
ProtocolLoggingLevel                    : Verbose
RemoteIPRanges                          : {{::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, 0.0.0.0-255.255.255.255}}
RequireEHLODomain                       : False
RequireTLS                              : False
EnableAuthGSSAPI                        : False
ExtendedProtectionPolicy                : None
LiveCredentialEnabled                   : False
TlsDomainCapabilities                   : {{}}
Server                                  : ADATUM-CAS1
TransportRole                           : FrontendTransport
SizeEnabled                             : Enabled
TarpitInterval                          : 00:00:05
MaxAcknowledgementDelay                 : 00:00:30
AdminDisplayName                        :
ExchangeVersion                         : 0.1 (8.0.535.0)
Name                                    : Default Frontend ADATUM-CAS1
DistinguishedName                       : CN=Default Frontend ADATUM-CAS1,CN=SMTP Receive Connectors,CN=Protocols,CN=ADATUM-CAS1,CN=Servers,{ADMIN},{CONFIG}
Identity                                : ADATUM-CAS1\\Default Frontend ADATUM-CAS1
Guid                                    : <guid>
ObjectCategory                          : adatum.com/Configuration/Schema/ms-Exch-Smtp-Receive-Connector
ObjectClass                             : {{top, msExchSmtpReceiveConnector}}
WhenChanged                             :
WhenCreated                             :
WhenChangedUTC                          :
WhenCreatedUTC                          :
OrganizationId                          :
Id                                      : ADATUM-CAS1\\Default Frontend ADATUM-CAS1
OriginatingServer                       : DC1.adatum.com
IsValid                                 : True
ObjectState                             : Unchanged"""


def test_receive_connector_fl_is_exchange_2013s_whole_list(adatum: Shell) -> None:
    assert _fl(adatum, 'Get-ReceiveConnector "Default Frontend ADATUM-CAS1" | FL') == (
        DEFAULT_FRONTEND
    )


def test_setup_connectors_differ_as_on_a_real_server(adatum: Shell) -> None:
    # Values of a real export: the Mailbox server's Default connector lists 0.0.0.0 first and
    # has its own limits; the client connectors limit by user.
    mbx = _fl(adatum, 'Get-ReceiveConnector "Default ADATUM-MBX1" | FL Bind*,MaxInbound*,Size*')
    assert mbx.splitlines() == [
        "Bindings                                : {0.0.0.0:2525, [::]:2525}",
        "MaxInboundConnection                    : 5000",
        "MaxInboundConnectionPerSource           : Unlimited",
        "MaxInboundConnectionPercentagePerSource : 100",
        "SizeEnabled                             : EnabledWithoutValue",
    ]
    client = _fl(adatum, 'Get-ReceiveConnector "Client Frontend ADATUM-CAS1" | FL MessageRate*')
    assert client.splitlines() == ["MessageRateLimit  : 5", "MessageRateSource : User"]
    proxy = _fl(adatum, 'Get-ReceiveConnector "Outbound Proxy*" | FL TarpitInterval')
    assert proxy == "TarpitInterval : 00:00:00"
    # A connector made with New-ReceiveConnector shows only the bindings it was given.
    assert adatum.run(
        'New-ReceiveConnector -Name "From Trey" -Server ADATUM-CAS1 -Partner '
        "-Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.1"
    ).ok
    shown = _fl(adatum, 'Get-ReceiveConnector "From Trey" | FL Bindings,RemoteIPRanges')
    assert shown == "Bindings       : {0.0.0.0:25}\nRemoteIPRanges : {127.0.20.1}"


SEND_CONNECTOR_OUT = f"""\
DNSRoutingEnabled            : True
TlsDomain                    :
TlsAuthLevel                 :
ErrorPolicies                : Default
SmartHosts                   : {{}}
Port                         : 25
ConnectionInactivityTimeOut  : 00:10:00
ForceHELO                    : False
FrontendProxyEnabled         : False
IgnoreSTARTTLS               : False
CloudServicesMailEnabled     : False
Fqdn                         :
TlsCertificateName           :
RequireTLS                   : False
RequireOorg                  : False
Enabled                      : True
ProtocolLoggingLevel         : None
SmartHostAuthMechanism       : None
AuthenticationCredential     :
UseExternalDNSServersEnabled : False
DomainSecureEnabled          : True
SourceIPAddress              : 0.0.0.0
SmartHostsString             :
AddressSpaces                : {{SMTP:treyresearch.net;1}}
ConnectedDomains             : {{}}
IsScopedConnector            : False
IsSmtpConnector              : True
Comment                      :
SourceRoutingGroup           : Exchange Routing Group (DWBGZMFD01QNBJR)
SourceTransportServers       : {{ADATUM-MBX1}}
HomeMTA                      : Microsoft MTA
HomeMtaServerId              : ADATUM-MBX1
MaxMessageSize               : 35 MB (36,700,160 bytes)
AdminDisplayName             :
ExchangeVersion              : 0.1 (8.0.535.0)
Name                         : To Trey
DistinguishedName            : CN=To Trey,CN=Connections,CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,{ADMIN},{CONFIG}
Identity                     : To Trey
Guid                         : <guid>
ObjectCategory               : adatum.com/Configuration/Schema/ms-Exch-Routing-SMTP-Connector
ObjectClass                  : {{top, msExchConnector, mailGateway, msExchRoutingSMTPConnector}}
WhenChanged                  :
WhenCreated                  :
WhenChangedUTC               :
WhenCreatedUTC               :
OrganizationId               :
Id                           : To Trey
OriginatingServer            : DC1.adatum.com
IsValid                      : True
ObjectState                  : Unchanged"""


def test_send_connector_fl_is_exchange_2013s_whole_list(adatum: Shell) -> None:
    assert adatum.run('New-SendConnector "To Trey" -AddressSpaces treyresearch.net -Partner').ok
    assert _fl(adatum, 'Get-SendConnector "To Trey" | FL') == SEND_CONNECTOR_OUT


TRANSPORT_SETTINGS = f"""\
AddressBookPolicyRoutingEnabled                       : False
AgentGeneratedMessageLoopDetectionInSmtpEnabled       : True
AgentGeneratedMessageLoopDetectionInSubmissionEnabled : True
AnonymousSenderToRecipientRatePerHour                 : 1800
ClearCategories                                       : True
ConvertDisclaimerWrapperToEml                         : False
DiagnosticsAggregationServicePort                     : 9710
DSNConversionMode                                     : UseExchangeDSNs
ExternalDelayDsnEnabled                               : True
ExternalDsnDefaultLanguage                            :
ExternalDsnLanguageDetectionEnabled                   : True
ExternalDsnMaxMessageAttachSize                       : 10 MB (10,485,760 bytes)
ExternalDsnReportingAuthority                         :
ExternalDsnSendHtml                                   : True
ExternalPostmasterAddress                             :
GenerateCopyOfDSNFor                                  : {{5.4.8, 5.4.6, 5.4.4, 5.2.4, 5.2.0, 5.1.4}}
HeaderPromotionModeSetting                            : NoCreate
HygieneSuite                                          : Standard
InternalDelayDsnEnabled                               : True
InternalDsnDefaultLanguage                            :
InternalDsnLanguageDetectionEnabled                   : True
InternalDsnMaxMessageAttachSize                       : 10 MB (10,485,760 bytes)
InternalDsnReportingAuthority                         :
InternalDsnSendHtml                                   : True
InternalSMTPServers                                   : {{}}
JournalArchivingEnabled                               : False
JournalingReportNdrTo                                 : <>
LegacyArchiveJournalingEnabled                        : False
LegacyArchiveLiveJournalingEnabled                    : False
LegacyJournalingMigrationEnabled                      : False
MaxAllowedAgentGeneratedMessageDepth                  : 3
MaxAllowedAgentGeneratedMessageDepthPerAgent          : 2
MaxDumpsterSizePerDatabase                            : 18 MB (18,874,368 bytes)
MaxDumpsterTime                                       : 7.00:00:00
MaxReceiveSize                                        : 10 MB (10,485,760 bytes)
MaxRecipientEnvelopeLimit                             : 500
MaxRetriesForLocalSiteShadow                          : 2
MaxRetriesForRemoteSiteShadow                         : 4
MaxSendSize                                           : 10 MB (10,485,760 bytes)
MigrationEnabled                                      : False
OpenDomainRoutingEnabled                              : False
OrganizationFederatedMailbox                          :
PreserveReportBodypart                                : True
Rfc2231EncodingEnabled                                : False
SafetyNetHoldTime                                     : 2.00:00:00
ShadowHeartbeatFrequency                              : 00:02:00
ShadowMessageAutoDiscardInterval                      : 2.00:00:00
ShadowMessagePreferenceSetting                        : PreferRemote
ShadowRedundancyEnabled                               : True
ShadowResubmitTimeSpan                                : 03:00:00
SupervisionTags                                       : {{Reject, Allow}}
TLSReceiveDomainSecureList                            : {{}}
TLSSendDomainSecureList                               : {{}}
VerifySecureSubmitEnabled                             : False
VoicemailJournalingEnabled                            : True
Xexch50Enabled                                        : True
AdminDisplayName                                      :
ExchangeVersion                                       : 0.1 (8.0.535.0)
Name                                                  : Transport Settings
DistinguishedName                                     : CN=Transport Settings,{CONFIG}
Identity                                              : Transport Settings
Guid                                                  : <guid>
ObjectCategory                                        : adatum.com/Configuration/Schema/ms-Exch-Transport-Settings
ObjectClass                                           : {{top, msExchTransportSettings}}
WhenChanged                                           :
WhenCreated                                           :
WhenChangedUTC                                        :
WhenCreatedUTC                                        :
OrganizationId                                        :
Id                                                    : Transport Settings
OriginatingServer                                     : DC1.adatum.com
IsValid                                               : True
ObjectState                                           : Unchanged"""


def test_transport_config_fl_is_exchange_2013s_whole_list(adatum: Shell) -> None:
    assert _fl(adatum, "Get-TransportConfig | FL") == TRANSPORT_SETTINGS
    # Its default view is the list too, and its GUID is stable for the organization.
    assert adatum.run("Get-TransportConfig").output == adatum.run("Get-TransportConfig").output
    assert _fl(adatum, "Get-TransportConfig") == TRANSPORT_SETTINGS


def test_exchange_certificate_fl_is_the_list_view(host: FakeHost) -> None:
    shell = Shell(host, "Adatum", "ADATUM-CAS1")
    default, issued = host.certificate_store("ADATUM-CAS1").personal()
    shown = shell.run(f"Get-ExchangeCertificate {issued.thumbprint} | FL").output
    assert shown == (
        "AccessRules        : {System.Security.AccessControl.CryptoKeyAccessRule, "
        "System.Security.AccessControl.CryptoKeyAccessRule}\n"
        "CertificateDomains : {mail.adatum.com, adatum.com}\n"
        "HasPrivateKey      : True\n"
        "IsSelfSigned       : False\n"
        "Issuer             : CN=Adatum Root CA, O=Adatum\n"
        "NotAfter           : 3/1/2026 9:30:00 AM\n"
        "NotBefore          : 2/29/2024 9:30:00 AM\n"
        "PublicKeySize      : 256\n"
        "RootCAType         : Registry\n"
        f"SerialNumber       : {issued.serial_number}\n"
        "Services           : SMTP\n"
        "Status             : Valid\n"
        "Subject            : CN=mail.adatum.com, O=Adatum\n"
        f"Thumbprint         : {issued.thumbprint}"
    )
    self_signed = shell.run(f"Get-ExchangeCertificate {default.thumbprint} | FL RootCAType")
    assert self_signed.output == "RootCAType : None"
    # FL * reaches the properties the list view leaves out.
    everything = shell.run(f"Get-ExchangeCertificate {issued.thumbprint} | FL *").output

    def pairs(text: str) -> list[tuple[str, ...]]:
        # FL * aligns to its longest name (PrivateKeyExportable): compare names and values.
        return [tuple(part.strip() for part in line.split(" : ", 1)) for line in text.splitlines()]

    assert pairs(everything)[: len(pairs(shown))] == pairs(shown)
    assert ("PrivateKeyExportable", "True") in pairs(everything)
    assert pairs(everything)[-2:] == [
        ("FriendlyName", "mail.adatum.com"),
        ("Identity", f"ADATUM-CAS1\\{issued.thumbprint}"),
    ]


QUEUE = """\
DeliveryType                     : DnsConnectorDelivery
NextHopDomain                    : treyresearch.net
TlsDomain                        : treyresearch.net
NextHopConnector                 :
Status                           : Retry
MessageCount                     : 1
LastError                        : [{LRT=3/1/2024 9:30:00 AM};{LED=454 4.7.5 Certificate validation failure}]
RetryCount                       : 0
LastRetryTime                    :
NextRetryTime                    :
FirstRetryTime                   :
DeferredMessageCount             : 0
LockedMessageCount               : 0
MessageCountsPerPriority         : {0, 1, 0, 0}
DeferredMessageCountsPerPriority : {0, 0, 0, 0}
RiskLevel                        : Normal
OutboundIPPool                   : 0
NextHopCategory                  : External
IncomingRate                     : 0
OutgoingRate                     : 0
Velocity                         : 0
QueueIdentity                    : ADATUM-MBX1\\3
PriorityDescriptions             : {High, Normal, Low, None}
Identity                         : ADATUM-MBX1\\3
IsValid                          : True
ObjectState                      : New"""

MESSAGE = """\
Subject                         : Hello Trey
InternetMessageId               :
FromAddress                     : april@adatum.com
Status                          : Retry
Size                            : 1.23 KB (1,259 bytes)
MessageSourceName               :
SourceIP                        :
SCL                             : -1
DateReceived                    : 3/1/2024 9:30:00 AM
ExpirationTime                  : 3/3/2024 9:30:00 AM
LastError                       :
RetryCount                      : 0
Recipients                      : {ben@treyresearch.net}
ComponentLatency                : {}
MessageLatency                  :
DeferReason                     :
LockReason                      :
IsProbeMessage                  : False
Priority                        : Normal
ExternalDirectoryOrganizationId : 00000000-0000-0000-0000-000000000000
Directionality                  :
OriginalFromAddress             : april@adatum.com
AccountForest                   :
Queue                           : ADATUM-MBX1\\3
Identity                        : ADATUM-MBX1\\3\\12884901889
IsValid                         : True
ObjectState                     : New"""


def test_queue_and_message_fl_are_exchange_2013s_lists(adatum: Shell, host: FakeHost) -> None:
    host.queue_rows.append(retry_queue_row())
    host.message_rows.append(message_row())
    assert _fl(adatum, "Get-Queue ADATUM-MBX1\\3 | FL") == QUEUE
    assert _fl(adatum, "Get-Message | FL") == MESSAGE


@pytest.mark.parametrize(
    "line",
    [
        'Get-ReceiveConnector "Default ADATUM-MBX1"',
        "Get-TransportConfig",
        "Get-Message",
        "Get-Mailbox april",
        "Get-SendConnector",
    ],
)
def test_fl_star_equals_fl(adatum: Shell, host: FakeHost, line: str) -> None:
    host.queue_rows.append(retry_queue_row())
    host.message_rows.append(message_row())
    assert adatum.run("New-SendConnector Out -AddressSpaces contoso.com").ok
    plain = adatum.run(f"{line} | FL").output
    # The whole 2013 set: every one of these objects ends with ObjectState.
    assert plain.splitlines()[-1].startswith("ObjectState ")
    assert adatum.run(f"{line} | FL *").output == plain


def test_fl_wildcards_select_in_exchange_order(adatum: Shell) -> None:
    shown = _fl(adatum, 'Get-ReceiveConnector "Default Frontend*" | FL Tls*')
    assert shown == "TlsCertificateName    :\nTlsDomainCapabilities : {}"
    picked = _fl(adatum, 'Get-ReceiveConnector "Default Frontend*" | FL Name,Bindings')
    assert picked == "Name     : Default Frontend ADATUM-CAS1\nBindings : {[::]:25, 0.0.0.0:25}"
    selected = adatum.run(
        'Get-ReceiveConnector "Default Frontend*" | Select-Object MaxHeaderSize,ExchangeVersion'
    ).output.splitlines()
    assert selected[2].split() == ["256", "KB", "(262,144", "bytes)", "0.1", "(8.0.535.0)"]
    value = adatum.run('(Get-ReceiveConnector "Default Frontend*").ChunkingEnabled').output
    assert value == "True"


# --- Round trip: every modelled settable property of each table, set and shown ---------------

RC = "From Trey"
NEW_RC = (
    f'New-ReceiveConnector -Name "{RC}" -Server ADATUM-CAS1 -Partner -Bindings 0.0.0.0:25 '
    "-RemoteIPRanges 127.0.20.1"
)
CERT_NAME = "<I>CN=Adatum Root CA, O=Adatum<S>CN=mail.adatum.com, O=Adatum"

# Property → (other parameters the rules need, the value typed, the value Format-List shows).
RECEIVE_SAMPLES: dict[str, tuple[str, str, str]] = {
    "AuthMechanism": ("", "Tls,BasicAuth", "Tls, BasicAuth"),
    "Banner": ("", '"220 trey gateway ready"', "220 trey gateway ready"),
    "BinaryMimeEnabled": ("", "$false", "False"),
    "ChunkingEnabled": ("", "$false", "False"),
    "Bindings": ("", "0.0.0.0:2526", "{0.0.0.0:2526}"),
    "DomainSecureEnabled": ("", "$false", "False"),
    "Fqdn": ("", "in.adatum.com", "in.adatum.com"),
    "TlsCertificateName": ("", f'"{CERT_NAME}"', CERT_NAME),
    "Comment": ("", '"from the partner"', "from the partner"),
    "Enabled": ("", "$false", "False"),
    "ConnectionTimeout": ("", "00:20:00", "00:20:00"),
    "ConnectionInactivityTimeout": ("", "00:02:00", "00:02:00"),
    "MaxHopCount": ("", "40", "40"),
    "MaxLocalHopCount": ("", "3", "3"),
    "MaxMessageSize": ("", "20MB", "20 MB (20,971,520 bytes)"),
    "MaxRecipientsPerMessage": ("", "100", "100"),
    "PermissionGroups": ("", "Partners,AnonymousUsers", "AnonymousUsers, Partners"),
    "ProtocolLoggingLevel": ("", "Verbose", "Verbose"),
    "RemoteIPRanges": ("", "127.0.20.9", "{127.0.20.9}"),
    "RequireEHLODomain": ("", "$true", "True"),
    "RequireTLS": ("", "$true", "True"),
    "TransportRole": ("", "FrontendTransport", "FrontendTransport"),
    "Name": ("", '"Trey Gateway"', "Trey Gateway"),
}

SEND_SAMPLES: dict[str, tuple[str, str, str]] = {
    "DNSRoutingEnabled": ("-SmartHosts smart.contoso.com", "$false", "False"),
    "TlsDomain": (
        "-RequireTLS $true -TlsAuthLevel DomainValidation",
        "contoso.com",
        "contoso.com",
    ),
    "TlsAuthLevel": ("-RequireTLS $true", "CertificateValidation", "CertificateValidation"),
    "SmartHosts": ("-DNSRoutingEnabled $false", "smart.contoso.com", "{smart.contoso.com}"),
    "Port": ("", "587", "587"),
    "ForceHELO": ("", "$true", "True"),
    "FrontendProxyEnabled": ("", "$true", "True"),
    "IgnoreSTARTTLS": ("", "$true", "True"),
    "Fqdn": ("", "out.adatum.com", "out.adatum.com"),
    "TlsCertificateName": ("", f'"{CERT_NAME}"', CERT_NAME),
    "RequireTLS": ("", "$true", "True"),
    "Enabled": ("", "$false", "False"),
    "ProtocolLoggingLevel": ("", "Verbose", "Verbose"),
    "DomainSecureEnabled": ("", "$true", "True"),
    "AddressSpaces": ("", "fabrikam.com", "{SMTP:fabrikam.com;1}"),
    "Comment": ("", '"to the partner"', "to the partner"),
    "SourceTransportServers": ("", "ADATUM-MBX1", "{ADATUM-MBX1}"),
    "MaxMessageSize": ("", "20MB", "20 MB (20,971,520 bytes)"),
    "Name": ("", '"Out Renamed"', "Out Renamed"),
}

CONFIG_SAMPLES: dict[str, tuple[str, str, str]] = {
    "ExternalDelayDsnEnabled": ("", "$false", "False"),
    "ExternalDsnReportingAuthority": ("", "adatum.com", "adatum.com"),
    "GenerateCopyOfDSNFor": ("", "5.4.8", "{5.4.8}"),
    "InternalDelayDsnEnabled": ("", "$false", "False"),
    "InternalSMTPServers": ("", "127.0.0.5", "{127.0.0.5}"),
    "MaxReceiveSize": ("", "20MB", "20 MB (20,971,520 bytes)"),
    "MaxRecipientEnvelopeLimit": ("", "100", "100"),
    "MaxSendSize": ("", "20MB", "20 MB (20,971,520 bytes)"),
    "TLSReceiveDomainSecureList": ("", "treyresearch.net", "{treyresearch.net}"),
    "TLSSendDomainSecureList": ("", "treyresearch.net", "{treyresearch.net}"),
}


def _modelled(table: PropertyTable) -> set[str]:
    return {p.name for p in table.settable() if p.modelled}


def test_every_modelled_property_has_a_round_trip_sample() -> None:
    # A property added to a table is covered by the round trip below, or this fails.
    assert set(RECEIVE_SAMPLES) == _modelled(RECEIVE_CONNECTOR)
    assert set(SEND_SAMPLES) == _modelled(SEND_CONNECTOR)
    assert set(CONFIG_SAMPLES) == _modelled(TRANSPORT_CONFIG)


def _round_trip(shell: Shell, set_line: str, get: str, prop: str, shown: str) -> None:
    result = shell.run(set_line)
    assert result.ok, result.error
    listed = shell.run(f"{get} | FL {prop}")
    assert listed.ok, listed.error
    assert re.sub(r"\s+:", " :", listed.output) == f"{prop} : {shown}".rstrip()


@pytest.mark.parametrize("prop", sorted(RECEIVE_SAMPLES))
def test_set_receive_connector_round_trip(adatum: Shell, prop: str) -> None:
    assert adatum.run(NEW_RC).ok
    extra, typed, shown = RECEIVE_SAMPLES[prop]
    name = "Trey Gateway" if prop == "Name" else RC
    _round_trip(
        adatum,
        f'Set-ReceiveConnector "ADATUM-CAS1\\{RC}" {extra} -{prop} {typed}',
        f'Get-ReceiveConnector "ADATUM-CAS1\\{name}"',
        prop,
        shown,
    )


@pytest.mark.parametrize("prop", sorted(SEND_SAMPLES))
def test_set_send_connector_round_trip(adatum: Shell, prop: str) -> None:
    assert adatum.run("New-SendConnector Out -AddressSpaces contoso.com").ok
    extra, typed, shown = SEND_SAMPLES[prop]
    name = "Out Renamed" if prop == "Name" else "Out"
    _round_trip(
        adatum,
        f"Set-SendConnector Out {extra} -{prop} {typed}",
        f'Get-SendConnector "{name}"',
        prop,
        shown,
    )


@pytest.mark.parametrize("prop", sorted(CONFIG_SAMPLES))
def test_set_transport_config_round_trip(adatum: Shell, prop: str) -> None:
    extra, typed, shown = CONFIG_SAMPLES[prop]
    _round_trip(
        adatum, f"Set-TransportConfig {extra} -{prop} {typed}", "Get-TransportConfig", prop, shown
    )


# A valid value for each parameter type of the properties labsim does not model.
_VALID = {
    id(BOOL): "$true",
    id(INT): "7",
    id(TIMESPAN): "00:01:00",
    id(BYTE_SIZE): "1MB",
    id(STRING): "x",
    id(FQDN): "a.adatum.com",
    id(STRING_LIST): "x",
    id(SMTP_DOMAIN): "adatum.com",
}

_TARGETS = {
    "Set-ReceiveConnector": (RECEIVE_CONNECTOR, '"Default Frontend ADATUM-CAS1"'),
    "Set-SendConnector": (SEND_CONNECTOR, "Out"),
    "Set-TransportConfig": (TRANSPORT_CONFIG, ""),
}


@pytest.mark.parametrize(
    ("cmdlet", "prop"),
    [
        (cmdlet, p.name)
        for cmdlet, (table, _) in _TARGETS.items()
        for p in table.settable()
        if not p.modelled
    ],
)
def test_setting_an_unmodelled_property_is_refused_clearly(
    adatum: Shell, cmdlet: str, prop: str
) -> None:
    assert adatum.run("New-SendConnector Out -AddressSpaces contoso.com").ok
    table, identity = _TARGETS[cmdlet]
    parameter = next(p for p in table.properties if p.name == prop).parameter
    assert parameter is not None
    get = cmdlet.replace("Set-", "Get-") + (f" {identity}" if identity else "")
    before = adatum.run(f"{get} | FL").output
    shown = adatum.run(f"{get} | FL {prop}").output.split(" : ", 1)[-1]
    # A value other than the one shown (that one is accepted as a no-op).
    value = _VALID[id(parameter)]
    if parameter is BOOL and shown == "True":
        value = "$false"
    result = adatum.run(f"{cmdlet} {identity} -{prop} {value}")
    assert result.error is not None
    assert str(result.error).startswith(f"{cmdlet}: labsim does not model {prop}")
    assert f"Leave -{prop} out." in str(result.error)
    assert adatum.run(f"{get} | FL").output == before


def test_restating_the_value_shown_is_accepted_as_a_no_op(adatum: Shell) -> None:
    frontend = '"Default Frontend ADATUM-CAS1"'
    before = adatum.run(f"Get-ReceiveConnector {frontend} | FL").output
    result = adatum.run(
        f"Set-ReceiveConnector {frontend} -ChunkingEnabled $true -TarpitInterval 00:00:05 "
        "-MaxInboundConnectionPerSource 20 -MaxHeaderSize 256KB -Comment restated"
    )
    assert result.ok, result.error
    after = adatum.run(f"Get-ReceiveConnector {frontend} | FL").output
    assert after == before.replace(
        "Comment                                 :",
        "Comment                                 : restated",
    )
    assert after != before


def test_a_wrong_value_for_an_unmodelled_property_gets_powershells_error(adatum: Shell) -> None:
    result = adatum.run('Set-ReceiveConnector "Default Frontend ADATUM-CAS1" -TarpitInterval soon')
    assert result.error is not None
    assert "Cannot process argument transformation on parameter 'TarpitInterval'" in str(
        result.error
    )


# --- The table is the only declaration --------------------------------------------------------


def _parameter_names(cmdlet: str) -> set[str]:
    return {p.name for p in default_catalog().find(cmdlet).parameters}


@pytest.mark.parametrize(
    ("cmdlet", "table", "own"),
    [
        ("Set-ReceiveConnector", RECEIVE_CONNECTOR, {"Identity"}),
        ("Set-SendConnector", SEND_CONNECTOR, {"Identity"}),
        ("Set-TransportConfig", TRANSPORT_CONFIG, {"Identity"}),
        (
            "New-ReceiveConnector",
            RECEIVE_CONNECTOR,
            {"Server", "Usage", "Client", "Custom", "Internal", "Internet", "Partner"},
        ),
        (
            "New-SendConnector",
            SEND_CONNECTOR,
            {"Usage", "Custom", "Internal", "Internet", "Partner"},
        ),
    ],
)
def test_cmdlet_parameters_come_from_the_table(
    cmdlet: str, table: PropertyTable, own: set[str]
) -> None:
    settable = {p.name for p in table.settable()}
    assert _parameter_names(cmdlet) - {"DomainController"} == settable | own


def test_format_list_shows_exactly_the_table(adatum: Shell) -> None:
    assert adatum.run("New-SendConnector Out -AddressSpaces contoso.com").ok
    for line, table in (
        ('Get-ReceiveConnector "Default Frontend ADATUM-CAS1"', RECEIVE_CONNECTOR),
        ("Get-SendConnector Out", SEND_CONNECTOR),
        ("Get-TransportConfig", TRANSPORT_CONFIG),
    ):
        names = [
            row.split(" :")[0].rstrip() for row in adatum.run(f"{line} | FL").output.split("\n")
        ]
        assert names == list(table.names())


class _Record:
    enabled = True


def test_a_property_added_to_a_table_is_bindable_settable_and_shown(adatum: Shell) -> None:
    table = PropertyTable(
        (
            *TRANSPORT_CONFIG.properties[:2],
            Property("LabFrobEnabled", lambda o: o.enabled, BOOL, "enabled"),
        )
    )
    assert [p.name for p in table.parameters()][-1] == "LabFrobEnabled"
    args = Arguments({"LabFrobEnabled": False})
    changes = table.changes(_Ctx(), args, _Record(), _Record())  # type: ignore[arg-type]
    assert changes == {"enabled": False}
    shown = format_list([[(n, str(g(_Record()))) for n, g in table.pairs()]])
    width = len("AgentGeneratedMessageLoopDetectionInSmtpEnabled")
    assert shown.splitlines()[-1] == "LabFrobEnabled".ljust(width) + " : True"


class _Ctx:
    """The two members PropertyTable.changes uses."""

    cmdlet = "Set-Lab"

    def error(self, text: str) -> Exception:
        return ValueError(text)


def test_unlimited_and_null_values_follow_the_table(adatum: Shell) -> None:
    assert adatum.run("Set-TransportConfig -MaxSendSize unlimited").ok
    assert _fl(adatum, "Get-TransportConfig | FL MaxSendSize") == "MaxSendSize : Unlimited"
    frontend = 'Set-ReceiveConnector "Default Frontend ADATUM-CAS1"'
    assert adatum.run(f'{frontend} -MaxMessageSize unlimited -Comment x -Banner "220 hi"').ok
    assert adatum.run(f"{frontend} -Comment $null -Banner $null").ok
    shown = _fl(adatum, f"{frontend.replace('Set-', 'Get-')} | FL MaxMessageSize,Comment,Banner")
    assert shown == "MaxMessageSize : Unlimited\nComment        :\nBanner         :"
    refused = adatum.run(f"{frontend} -MaxHopCount $null")
    assert refused.error is not None


MAILBOX_APRIL = """\
Database                               : Mailbox Database 5526582525
MessageCopyForSentAsEnabled            : False
MessageCopyForSendOnBehalfEnabled      : False
UseDatabaseRetentionDefaults           : True
RetainDeletedItemsUntilBackup          : False
DeliverToMailboxAndForward             : False
IsExcludedFromServingHierarchy         : False
IsHierarchyReady                       : True
LitigationHoldEnabled                  : False
SingleItemRecoveryEnabled              : False
RetentionHoldEnabled                   : False
EndDateForRetentionHold                :
StartDateForRetentionHold              :
RetentionComment                       :
RetentionUrl                           :
LitigationHoldDate                     :
LitigationHoldOwner                    :
LitigationHoldDuration                 : Unlimited
ManagedFolderMailboxPolicy             :
RetentionPolicy                        :
AddressBookPolicy                      :
CalendarRepairDisabled                 : False
ExchangeGuid                           : d788d8bd-84fe-5202-9e4e-0aadd04a53a2
MailboxContainerGuid                   :
UnifiedMailbox                         :
AggregatedMailboxGuids                 : {}
ExchangeSecurityDescriptor             : System.Security.AccessControl.RawSecurityDescriptor
ExchangeUserAccountControl             : None
AdminDisplayVersion                    : Version 15.0 (Build 1497.2)
MessageTrackingReadStatusEnabled       : True
ExternalOofOptions                     : External
ForwardingAddress                      :
ForwardingSmtpAddress                  :
RetainDeletedItemsFor                  : 14.00:00:00
IsMailboxEnabled                       : True
Languages                              : {}
OfflineAddressBook                     :
ProhibitSendQuota                      : Unlimited
ProhibitSendReceiveQuota               : Unlimited
RecoverableItemsQuota                  : Unlimited
RecoverableItemsWarningQuota           : Unlimited
CalendarLoggingQuota                   : Unlimited
DowngradeHighPriorityMessagesEnabled   : False
ProtocolSettings                       : {}
RecipientLimits                        : Unlimited
ImListMigrationCompleted               : False
IsResource                             : False
IsLinked                               : False
IsShared                               : False
IsRootPublicFolderMailbox              : False
LinkedMasterAccount                    :
ResetPasswordOnNextLogon               : False
ResourceCapacity                       :
ResourceCustom                         : {}
ResourceType                           :
RoomMailboxAccountEnabled              :
SamAccountName                         : april
SCLDeleteThreshold                     :
SCLDeleteEnabled                       :
SCLRejectThreshold                     :
SCLRejectEnabled                       :
SCLQuarantineThreshold                 :
SCLQuarantineEnabled                   :
SCLJunkThreshold                       :
SCLJunkEnabled                         :
AntispamBypassEnabled                  : False
ServerLegacyDN                         : /o=Adatum/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=ADATUM-MBX1
ServerName                             : adatum-mbx1
UseDatabaseQuotaDefaults               : True
IssueWarningQuota                      : Unlimited
RulesQuota                             : 64 KB (65,536 bytes)
Office                                 :
UserPrincipalName                      : april@adatum.com
UMEnabled                              : False
MaxSafeSenders                         :
MaxBlockedSenders                      :
NetID                                  :
ReconciliationId                       :
WindowsLiveID                          :
MicrosoftOnlineServicesID              :
ThrottlingPolicy                       :
RoleAssignmentPolicy                   : Default Role Assignment Policy
DefaultPublicFolderMailbox             :
SharingPolicy                          : Default Sharing Policy
RemoteAccountPolicy                    :
MailboxPlan                            :
ArchiveDatabase                        :
ArchiveGuid                            : 00000000-0000-0000-0000-000000000000
ArchiveName                            : {}
JournalArchiveAddress                  :
ArchiveQuota                           : 100 GB (107,374,182,400 bytes)
ArchiveWarningQuota                    : 90 GB (96,636,764,160 bytes)
ArchiveDomain                          :
ArchiveStatus                          : None
ArchiveState                           : None
RemoteRecipientType                    : None
DisabledArchiveDatabase                :
DisabledArchiveGuid                    : 00000000-0000-0000-0000-000000000000
QueryBaseDN                            :
QueryBaseDNRestrictionEnabled          : False
MailboxMoveTargetMDB                   :
MailboxMoveSourceMDB                   :
MailboxMoveFlags                       : None
MailboxMoveRemoteHostName              :
MailboxMoveBatchName                   :
MailboxMoveStatus                      : None
MailboxRelease                         :
ArchiveRelease                         :
IsPersonToPersonTextMessagingEnabled   : False
IsMachineToPersonTextMessagingEnabled  : False
UserSMimeCertificate                   : {}
UserCertificate                        : {}
CalendarVersionStoreDisabled           : False
ImmutableId                            :
PersistedCapabilities                  : {}
SKUAssigned                            :
AuditEnabled                           : False
AuditLogAgeLimit                       : 90.00:00:00
AuditAdmin                             : {Update, Move, MoveToDeletedItems, SoftDelete, HardDelete, FolderBind, SendAs, SendOnBehalf, Create}
AuditDelegate                          : {Update, SoftDelete, HardDelete, SendAs, Create}
AuditOwner                             : {}
WhenMailboxCreated                     :
SourceAnchor                           :
UsageLocation                          :
IsSoftDeletedByRemove                  : False
IsSoftDeletedByDisable                 : False
IsInactiveMailbox                      : False
IncludeInGarbageCollection             : False
WhenSoftDeleted                        :
InPlaceHolds                           : {}
AccountDisabled                        : False
StsRefreshTokensValidFrom              :
Extensions                             : {}
HasPicture                             : False
HasSpokenName                          : False
IsDirSynced                            : False
AcceptMessagesOnlyFrom                 : {}
AcceptMessagesOnlyFromDLMembers        : {}
AcceptMessagesOnlyFromSendersOrMembers : {}
AddressListMembership                  : {\\Mailboxes(VLV), \\All Mailboxes(VLV), \\All Recipients(VLV), \\Default Global Address List, \\All Users}
AdministrativeUnits                    : {}
Alias                                  : april
ArbitrationMailbox                     :
BypassModerationFromSendersOrMembers   : {}
OrganizationalUnit                     : adatum.com/Users
CustomAttribute1                       :
CustomAttribute2                       :
CustomAttribute3                       :
CustomAttribute4                       :
CustomAttribute5                       :
CustomAttribute6                       :
CustomAttribute7                       :
CustomAttribute8                       :
CustomAttribute9                       :
CustomAttribute10                      :
CustomAttribute11                      :
CustomAttribute12                      :
CustomAttribute13                      :
CustomAttribute14                      :
CustomAttribute15                      :
ExtensionCustomAttribute1              : {}
ExtensionCustomAttribute2              : {}
ExtensionCustomAttribute3              : {}
ExtensionCustomAttribute4              : {}
ExtensionCustomAttribute5              : {}
DisplayName                            : April
EmailAddresses                         : {SMTP:april@adatum.com}
GrantSendOnBehalfTo                    : {}
ExternalDirectoryObjectId              :
HiddenFromAddressListsEnabled          : False
LastExchangeChangedTime                :
LegacyExchangeDN                       : /o=Adatum/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=april
MaxSendSize                            : Unlimited
MaxReceiveSize                         : Unlimited
ModeratedBy                            : {}
ModerationEnabled                      : False
PoliciesIncluded                       : {}
PoliciesExcluded                       : {}
EmailAddressPolicyEnabled              : True
PrimarySmtpAddress                     : april@adatum.com
RecipientType                          : UserMailbox
RecipientTypeDetails                   : UserMailbox
RejectMessagesFrom                     : {}
RejectMessagesFromDLMembers            : {}
RejectMessagesFromSendersOrMembers     : {}
RequireSenderAuthenticationEnabled     : False
SimpleDisplayName                      :
SendModerationNotifications            : Always
UMDtmfMap                              : {}
WindowsEmailAddress                    : april@adatum.com
MailTip                                :
MailTipTranslations                    : {}
Identity                               : adatum.com/Users/April
IsValid                                : True
ExchangeVersion                        : 0.20 (15.0.0.0)
Name                                   : April
DistinguishedName                      : CN=April,CN=Users,DC=adatum,DC=com
Guid                                   : 55b45df0-6679-533d-9eac-09c69a79e6aa
ObjectCategory                         : adatum.com/Configuration/Schema/Person
ObjectClass                            : {top, person, organizationalPerson, user}
WhenChanged                            :
WhenCreated                            :
WhenChangedUTC                         :
WhenCreatedUTC                         :
OrganizationId                         :
Id                                     : adatum.com/Users/April
OriginatingServer                      : DC1.adatum.com
ObjectState                            : Unchanged"""


def test_mailbox_fl_is_exchange_2013s_whole_list(adatum: Shell) -> None:
    assert adatum.run("Get-Mailbox april | FL").output == MAILBOX_APRIL
    assert adatum.run("Get-Mailbox").output.splitlines()[:3] == [
        "Name          Alias         ServerName  ProhibitSendQuota",
        "----          -----         ----------  -----------------",
        "Administrator administrator adatum-mbx1 Unlimited",
    ]
