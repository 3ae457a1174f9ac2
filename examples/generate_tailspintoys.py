"""Write the Tailspin Toys sample exports of examples/tailspintoys/ (docs/import.md).

The exports are written as Exchange Management Shell 2013 writes them: Format-List * with every
name padded to the object's longest, values wrapped at 80 columns (inside a word when the
column falls there), CRLF line ends, UTF-16 LE with a byte order mark for the files Windows
PowerShell's ``>`` writes (TransportConfig, the certificates) and UTF-8 for the others, and
Export-Clixml (UTF-16 LE) for the accepted domains. Fabrikam's root CA certificate
(fabrikam-root.cer) is written with a new key each time.

    python examples/generate_tailspintoys.py examples/tailspintoys
"""

import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OUT = Path(sys.argv[1])
WIDTH = 80


def fl_object(props):
    width = max(len(k) for k, _ in props)
    lines = []
    for key, value in props:
        head = f"{key.ljust(width)} : "
        text = value
        room = WIDTH - 1 - len(head)
        first = True
        while True:
            chunk, text = text[:room], text[room:]
            lines.append((head if first else " " * len(head)) + chunk)
            first = False
            if not text:
                break
    return lines


def fl(objects):
    out = ["", ""]
    for props in objects:
        out += fl_object(props)
        out += [""]
    out += [""]
    return "\r\n".join(out)


def write_utf16(name, text):
    (OUT / name).write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))


def lst(values, limit=None):
    if limit is not None and len(values) > limit:
        return "{" + ", ".join(values[:limit]) + "...}"
    return "{" + ", ".join(values) + "}"


ORG_DN = "CN=Tailspin Toys,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=corp,DC=tailspintoys,DC=com"
SIZE = "35 MB (36,700,160 bytes)"

# --- Get-TransportConfig | Format-List * (UTF-16 LE, CRLF) ---------------------------------
tc = [
    ("RunspaceId", "5c0e7f7a-2f0e-4d3c-9d6b-1f2a3b4c5d6e"),
    ("AddressBookPolicyRoutingEnabled", "False"),
    ("ClearCategories", "True"),
    ("ConvertDisclaimerWrapperToEml", "False"),
    ("DSNConversionMode", "UseExchangeDSNs"),
    ("ExternalDelayDsnEnabled", "True"),
    ("ExternalDsnDefaultLanguage", ""),
    ("ExternalDsnLanguageDetectionEnabled", "True"),
    ("ExternalDsnMaxMessageAttachSize", "10 MB (10,485,760 bytes)"),
    ("ExternalDsnReportingAuthority", ""),
    ("ExternalDsnSendHtml", "True"),
    ("ExternalPostmasterAddress", ""),
    ("GenerateCopyOfDSNFor", "{}"),
    ("InternalDelayDsnEnabled", "True"),
    ("InternalSMTPServers", "{}"),
    ("JournalingReportNdrTo", "<>"),
    ("MaxDumpsterSizePerDatabase", "18 MB (18,874,368 bytes)"),
    ("MaxDumpsterTime", "7.00:00:00"),
    ("MaxReceiveSize", "25 MB (26,214,400 bytes)"),
    ("MaxRecipientEnvelopeLimit", "500"),
    ("MaxSendSize", "25 MB (26,214,400 bytes)"),
    ("ShadowRedundancyEnabled", "True"),
    ("SafetyNetHoldTime", "2.00:00:00"),
    ("TLSReceiveDomainSecureList", "{fabrikam.com, woodgrovebank.com, contoso.com}"),
    ("TLSSendDomainSecureList", "{fabrikam.com, woodgrovebank.com}"),
    ("VerifySecureSubmitEnabled", "False"),
    ("VoicemailJournalingEnabled", "True"),
    ("Xexch50Enabled", "True"),
    ("AdminDisplayName", ""),
    ("ExchangeVersion", "0.10 (14.0.100.0)"),
    ("Name", "Transport Settings"),
    ("DistinguishedName", "CN=Transport Settings," + ORG_DN),
    ("Identity", "Transport Settings"),
    ("Guid", "0b4f7c1e-9a55-4e7b-8f1c-2d3e4f5a6b7c"),
    ("ObjectCategory", "corp.tailspintoys.com/Configuration/Schema/ms-Exch-Transport-Settings"),
    ("ObjectClass", "{top, container, msExchTransportSettings}"),
    ("WhenChanged", "10/14/2026 9:12:44 AM"),
    ("WhenCreated", "3/2/2016 4:51:03 PM"),
    ("OriginatingServer", "TT-SEA-DC1.corp.tailspintoys.com"),
    ("IsValid", "True"),
    ("ObjectState", "Unchanged"),
]
write_utf16("TransportConfig.txt", fl([tc]))


# --- Get-AcceptedDomain | Export-Clixml (UTF-16 LE, as Export-Clixml writes) -----------------
def clixml_domain(ref, name, kind, kind_num, default):
    return f'''  <Obj RefId="{ref}">
    <TN RefId="{ref}">
      <T>Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomain</T>
      <T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject</T>
      <T>Microsoft.Exchange.Data.Directory.ADObject</T>
      <T>System.Object</T>
    </TN>
    <ToString>{name}</ToString>
    <Props>
      <Obj N="DomainName" RefId="{ref}1">
        <TN RefId="{ref}1">
          <T>Microsoft.Exchange.Data.SmtpDomainWithSubdomains</T>
          <T>System.Object</T>
        </TN>
        <ToString>{name}</ToString>
        <Props>
          <S N="Address">{name}</S>
          <B N="IncludeSubDomains">false</B>
          <S N="Domain">{name}</S>
        </Props>
      </Obj>
      <Nil N="CatchAllRecipientID" />
      <Obj N="DomainType" RefId="{ref}2">
        <TN RefId="{ref}2">
          <T>Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType</T>
          <T>System.Enum</T>
          <T>System.ValueType</T>
          <T>System.Object</T>
        </TN>
        <ToString>{kind}</ToString>
        <I32>{kind_num}</I32>
      </Obj>
      <B N="MatchSubDomains">false</B>
      <B N="AddressBookEnabled">true</B>
      <B N="Default">{str(default).lower()}</B>
      <S N="Name">{name}</S>
      <S N="DistinguishedName">CN={name},CN=Accepted Domains,CN=Transport Settings,{ORG_DN}</S>
      <DT N="WhenCreatedUTC">2016-03-02T16:51:03Z</DT>
    </Props>
  </Obj>
'''


xml = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
xml += clixml_domain(10, "tailspintoys.com", "Authoritative", 0, True)
xml += clixml_domain(20, "tailspintoys.co.uk", "Authoritative", 0, False)
xml += clixml_domain(30, "tailspin-legacy.net", "InternalRelay", 2, False)
xml += "</Objs>"
(OUT / "AcceptedDomain.xml").write_bytes(
    b"\xff\xfe" + xml.replace("\n", "\r\n").encode("utf-16-le")
)


# --- Get-ExchangeServer | Format-List * ------------------------------------------------------
def server(name, site, role):
    fqdn = f"{name.lower()}.corp.tailspintoys.com"
    return [
        ("RunspaceId", "5c0e7f7a-2f0e-4d3c-9d6b-1f2a3b4c5d6e"),
        ("Name", name),
        ("DataPath", "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Mailbox"),
        ("Domain", "corp.tailspintoys.com"),
        ("Edition", "Enterprise"),
        (
            "ExchangeLegacyDN",
            f"/o=Tailspin Toys/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn={name}",
        ),
        ("Fqdn", fqdn),
        ("IsClientAccessServer", str(role == "ClientAccess")),
        ("IsEdgeServer", "False"),
        ("IsHubTransportServer", str(role == "Mailbox")),
        ("IsMailboxServer", str(role == "Mailbox")),
        ("IsFrontendTransportServer", str(role == "ClientAccess")),
        ("OrganizationalUnit", f"corp.tailspintoys.com/{name}"),
        ("AdminDisplayVersion", "Version 15.0 (Build 1497.2)"),
        ("Site", f"corp.tailspintoys.com/Configuration/Sites/{site}"),
        ("ServerRole", role),
        ("IsExchangeTrialEdition", "False"),
        ("ExchangeVersion", "0.1 (8.0.535.0)"),
        (
            "DistinguishedName",
            f"CN={name},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,"
            + ORG_DN,
        ),
        ("Identity", name),
    ]


servers = [
    server("TT-EDGE1", "Seattle", "Edge"),
    server("TT-LON-CAS1", "London", "ClientAccess"),
    server("TT-LON-MBX1", "London", "Mailbox"),
    server("TT-SEA-CAS1", "Seattle", "ClientAccess"),
    server("TT-SEA-MBX1", "Seattle", "Mailbox"),
]
(OUT / "ExchangeServer.txt").write_text(fl(servers), newline="")

# --- Get-ReceiveConnector | Format-List * (wrapped at 80 columns) -----------------------------
ALL = "{::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, 0.0.0.0-255.255.255.255}"


def rc(
    server,
    name,
    role,
    bindings,
    ranges,
    auth,
    groups,
    dsec="False",
    fqdn=None,
    tls="",
    comment="",
    log="None",
    size=SIZE,
):
    return [
        ("RunspaceId", "5c0e7f7a-2f0e-4d3c-9d6b-1f2a3b4c5d6e"),
        ("AuthMechanism", auth),
        ("Banner", ""),
        ("BinaryMimeEnabled", "True"),
        ("Bindings", bindings),
        ("ChunkingEnabled", "True"),
        ("DefaultDomain", ""),
        ("DeliveryStatusNotificationEnabled", "True"),
        ("EightBitMimeEnabled", "True"),
        ("SmtpUtf8Enabled", "True"),
        ("BareLinefeedRejectionEnabled", "False"),
        ("DomainSecureEnabled", dsec),
        ("EnhancedStatusCodesEnabled", "True"),
        ("LongAddressesEnabled", "False"),
        ("OrarEnabled", "False"),
        ("SuppressXAnonymousTls", "False"),
        ("ProxyEnabled", "False"),
        ("AdvertiseClientSettings", "False"),
        ("Fqdn", fqdn or f"{server.lower()}.corp.tailspintoys.com"),
        ("ServiceDiscoveryFqdn", ""),
        ("TlsCertificateName", tls),
        ("Comment", comment),
        ("Enabled", "True"),
        ("ConnectionTimeout", "00:10:00"),
        ("ConnectionInactivityTimeout", "00:05:00"),
        ("MessageRateLimit", "Unlimited"),
        ("MessageRateSource", "IPAddress"),
        ("MaxInboundConnection", "5000"),
        ("MaxInboundConnectionPerSource", "20"),
        ("MaxInboundConnectionPercentagePerSource", "2"),
        ("MaxHeaderSize", "128 KB (131,072 bytes)"),
        ("MaxHopCount", "60"),
        ("MaxLocalHopCount", "12"),
        ("MaxLogonFailures", "3"),
        ("MaxMessageSize", size),
        ("MaxProtocolErrors", "5"),
        ("MaxRecipientsPerMessage", "200"),
        ("PermissionGroups", groups),
        ("PipeliningEnabled", "True"),
        ("ProtocolLoggingLevel", log),
        ("RemoteIPRanges", ranges),
        ("RequireEHLODomain", "False"),
        ("RequireTLS", "False"),
        ("EnableAuthGSSAPI", "False"),
        ("ExtendedProtectionPolicy", "None"),
        ("LiveCredentialEnabled", "False"),
        ("TlsDomainCapabilities", "{}"),
        ("Server", server),
        ("TransportRole", role),
        ("SizeEnabled", "Enabled"),
        ("TarpitInterval", "00:00:05"),
        ("MaxAcknowledgementDelay", "00:00:30"),
        ("AdminDisplayName", ""),
        ("ExchangeVersion", "0.1 (8.0.535.0)"),
        ("Name", name),
        (
            "DistinguishedName",
            f"CN={name},CN=SMTP Receive Connectors,CN=Protocols,CN={server},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,"
            + ORG_DN,
        ),
        ("Identity", f"{server}\\{name}"),
        ("ObjectClass", "{top, msExchSmtpReceiveConnector}"),
        ("WhenChanged", "10/14/2026 9:40:02 AM"),
        ("WhenCreated", "3/2/2016 5:20:11 PM"),
        ("IsValid", "True"),
        ("ObjectState", "Unchanged"),
    ]


FE_AUTH = "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer"
receive = []
for cas in ("TT-LON-CAS1", "TT-SEA-CAS1"):
    receive.append(
        rc(
            cas,
            f"Default Frontend {cas}",
            "FrontendTransport",
            "{[::]:25, 0.0.0.0:25}",
            ALL,
            FE_AUTH,
            "AnonymousUsers, ExchangeServers, ExchangeLegacyServers",
            dsec="True",
            fqdn="mail.tailspintoys.com" if cas == "TT-SEA-CAS1" else None,
            tls="<I>CN=Tailspin Toys Issuing CA 01, DC=corp, DC=tailspintoys, DC=com<S>CN=mail.tailspintoys.com"
            if cas == "TT-SEA-CAS1"
            else "",
        )
    )
    receive.append(
        rc(
            cas,
            f"Outbound Proxy Frontend {cas}",
            "FrontendTransport",
            "{[::]:717, 0.0.0.0:717}",
            ALL,
            "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
            "ExchangeServers",
        )
    )
    receive.append(
        rc(
            cas,
            f"Client Frontend {cas}",
            "FrontendTransport",
            "{[::]:587, 0.0.0.0:587}",
            ALL,
            "Tls, Integrated, BasicAuth, BasicAuthRequireTLS",
            "ExchangeUsers",
        )
    )
for mbx in ("TT-LON-MBX1", "TT-SEA-MBX1"):
    receive.append(
        rc(
            mbx,
            f"Default {mbx}",
            "HubTransport",
            "{[::]:2525, 0.0.0.0:2525}",
            ALL,
            "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
            "ExchangeUsers, ExchangeServers, ExchangeLegacyServers",
        )
    )
    receive.append(
        rc(
            mbx,
            f"Client Proxy {mbx}",
            "HubTransport",
            "{[::]:465, 0.0.0.0:465}",
            ALL,
            "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer",
            "ExchangeUsers, ExchangeServers",
        )
    )
receive.append(
    rc(
        "TT-SEA-CAS1",
        "From Fabrikam",
        "FrontendTransport",
        "{0.0.0.0:25}",
        "{203.0.113.0/24}",
        "Tls",
        "AnonymousUsers, Partners",
        dsec="True",
        fqdn="mail.tailspintoys.com",
        comment="Domain Security with Fabrikam, change CHG-2291",
        log="Verbose",
    )
)
receive.append(
    rc(
        "TT-SEA-CAS1",
        "From Woodgrove Bank",
        "FrontendTransport",
        "{0.0.0.0:25}",
        "{198.51.100.10-198.51.100.20}",
        "Tls",
        "AnonymousUsers, Partners",
        dsec="True",
        fqdn="mail.tailspintoys.com",
        log="Verbose",
    )
)
receive.append(
    rc(
        "TT-SEA-CAS1",
        "From FilterCloud (Contoso)",
        "FrontendTransport",
        "{0.0.0.0:25}",
        "{192.0.2.0/25, 192.0.2.128/26, 192.0.2.192-192.0.2.223}",
        "Tls",
        "AnonymousUsers, Partners",
        dsec="True",
        fqdn="mail.tailspintoys.com",
        comment="Contoso's mail arrives through its hosted filtering service FilterCloud",
    )
)
receive.append(
    rc(
        "TT-LON-CAS1",
        "LON Application Relay",
        "FrontendTransport",
        "{0.0.0.0:25}",
        "{10.20.5.0/24, 10.20.6.15, 10.20.7.1-10.20.7.40, 172.16.0.0/12}",
        "Tls",
        "AnonymousUsers",
        comment="Scanners and the ERP system in London",
    )
)
(OUT / "ReceiveConnector.txt").write_text(fl(receive), newline="")


# --- Get-SendConnector | Format-List * -----------------------------------------------------
def sc(
    name,
    spaces,
    sources,
    dns="True",
    hosts="{}",
    dsec="False",
    tlsauth="",
    tlsdomain="",
    require="False",
    proxy="False",
    fqdn="mail.tailspintoys.com",
    log="None",
    tls="<I>CN=Tailspin Toys Issuing CA 01, DC=corp, DC=tailspintoys, DC=com<S>CN=mail.tailspintoys.com",
    hostauth="None",
):
    return [
        ("RunspaceId", "5c0e7f7a-2f0e-4d3c-9d6b-1f2a3b4c5d6e"),
        ("AddressSpaces", spaces),
        ("AuthenticationCredential", ""),
        ("CloudServicesMailEnabled", "False"),
        ("Comment", ""),
        ("ConnectedDomains", "{}"),
        ("ConnectionInactivityTimeOut", "00:10:00"),
        ("DNSRoutingEnabled", dns),
        ("DomainSecureEnabled", dsec),
        ("Enabled", "True"),
        ("ErrorPolicies", "Default"),
        ("ForceHELO", "False"),
        ("FrontendProxyEnabled", proxy),
        ("HomeMTA", "Microsoft MTA"),
        ("HomeMtaServerId", "TT-SEA-MBX1"),
        ("Identity", name),
        ("IgnoreSTARTTLS", "False"),
        ("IsScopedConnector", "False"),
        ("IsSmtpConnector", "True"),
        ("MaxMessageSize", SIZE),
        ("Name", name),
        ("Port", "25"),
        ("ProtocolLoggingLevel", log),
        ("RequireOorg", "False"),
        ("RequireTLS", require),
        ("SmartHostAuthMechanism", hostauth),
        ("SmartHosts", hosts),
        ("SmartHostsString", hosts.strip("{}")),
        ("SmtpMaxMessagesPerConnection", "20"),
        ("SourceIPAddress", "0.0.0.0"),
        ("SourceRoutingGroup", "Exchange Routing Group (DWBGZMFD01QNBJR)"),
        ("SourceTransportServers", sources),
        ("TlsAuthLevel", tlsauth),
        ("TlsDomain", tlsdomain),
        ("UseExternalDNSServersEnabled", "False"),
        ("TlsCertificateName", tls),
        ("Fqdn", fqdn),
        (
            "DistinguishedName",
            f"CN={name},CN=Connections,CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,"
            + ORG_DN,
        ),
        ("WhenChanged", "10/14/2026 9:41:17 AM"),
        ("WhenCreated", "3/2/2016 5:31:40 PM"),
    ]


send = [
    sc("Internet", "{SMTP:*;10}", "{TT-LON-MBX1, TT-SEA-MBX1}", proxy="True"),
    sc(
        "To Fabrikam",
        "{SMTP:fabrikam.com;1}",
        "{TT-SEA-MBX1, TT-LON-MBX1}",
        dsec="True",
        log="Verbose",
    ),
    sc(
        "To Woodgrove Bank",
        "{SMTP:woodgrovebank.com;1, SMTP:woodgrovebank.co.uk;1}",
        "{TT-SEA-MBX1, TT-LON-MBX1}",
        dsec="True",
    ),
    sc(
        "Legacy Mail (tailspin-legacy.net)",
        "{SMTP:tailspin-legacy.net;1}",
        "{TT-LON-MBX1}",
        dns="False",
        hosts="{[10.20.9.25]}",
        hostauth="BasicAuth",
        fqdn="",
        tls="",
    ),
    sc(
        "To Contoso via FilterCloud",
        "{SMTP:contoso.com;1}",
        "{TT-SEA-MBX1}",
        dns="False",
        hosts="{contoso-com.mail.filtercloud.net}",
        tlsauth="DomainValidation",
        tlsdomain="contoso.com",
        require="True",
    ),
]
(OUT / "SendConnector.txt").write_text(fl(send), newline="")

# --- Get-ExchangeCertificate -Server X | Format-List * (UTF-16 LE) -------------------------
ISSUER = "CN=Tailspin Toys Issuing CA 01, DC=corp, DC=tailspintoys, DC=com"


def cert(
    server,
    thumb,
    subject,
    domains,
    services,
    issuer=ISSUER,
    nb="3/1/2026 8:00:00 AM",
    na="3/1/2028 8:00:00 AM",
    friendly="",
    eku="{Server Authentication (1.3.6.1.5.5.7.3.1), Client Authentication (1.3.6.1.5.5.7.3.2)}",
):
    return [
        (
            "AccessRules",
            "{System.Security.AccessControl.CryptoKeyAccessRule, System.Security.AccessControl.CryptoKeyAccessRule}",
        ),
        ("CertificateDomains", domains),
        ("HasPrivateKey", "True"),
        ("IsSelfSigned", str(issuer == subject)),
        ("Issuer", issuer),
        ("NotAfter", na),
        ("NotBefore", nb),
        ("PublicKeySize", "2048"),
        ("RootCAType", "Enterprise" if issuer != subject else "None"),
        ("SerialNumber", thumb[:20]),
        ("Services", services),
        ("Status", "Valid"),
        ("Subject", subject),
        ("Thumbprint", thumb),
        ("EnhancedKeyUsageList", eku),
        ("FriendlyName", friendly),
        ("Identity", f"{server}\\{thumb}"),
        ("ServerName", server),
    ]


for server_name in ("TT-SEA-CAS1", "TT-LON-CAS1", "TT-SEA-MBX1", "TT-LON-MBX1"):
    fq = f"{server_name.lower()}.corp.tailspintoys.com"
    objs = []
    # One SAN certificate from the enterprise CA, imported on every server (it is the
    # certificate the send connectors name in TlsCertificateName).
    objs.append(
        cert(
            server_name,
            "7D2C5A0E91B34F6A8C1D2E3F4A5B6C7D8E9F0A1B",
            "CN=mail.tailspintoys.com",
            "{mail.tailspintoys.com, tailspintoys.com, tailspintoys.co.uk, autodiscover.tailspintoys.com}",
            "IMAP, POP, IIS, SMTP" if server_name.endswith("CAS1") else "SMTP",
            friendly="Tailspin SMTP 2026",
        )
    )
    objs.append(
        cert(
            server_name,
            ("C3" if "SEA" in server_name else "D4") + "9B7A6C5D4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A",
            f"CN={server_name}",
            "{" + server_name + ", " + fq + "}",
            "IMAP, POP, SMTP",
            issuer=f"CN={server_name}",
            nb="3/2/2016 4:55:10 PM",
            na="3/2/2021 4:55:10 PM",
            friendly="Microsoft Exchange",
            eku="{Server Authentication (1.3.6.1.5.5.7.3.1)}",
        )
    )
    if server_name == "TT-LON-CAS1":
        # A commercial certificate for OWA in London (IIS only): a second issuer.
        objs.append(
            cert(
                server_name,
                "5E8F0C3B2A1D4E6F7A8B9C0D1E2F3A4B5C6D7E8F",
                "CN=webmail.tailspintoys.co.uk, O=Tailspin Toys Ltd, L=London, C=GB",
                "{webmail.tailspintoys.co.uk}",
                "IIS",
                issuer="CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US",
                nb="6/10/2026 12:00:00 AM",
                na="6/9/2027 11:59:59 PM",
                friendly="webmail.tailspintoys.co.uk 2026",
            )
        )
    write_utf16(f"ExchangeCertificate-{server_name}.txt", fl(objs))

# --- Fabrikam's root CA, as its admin would hand it over (DER .cer) ----------------------------

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Fabrikam"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam Root CA"),
    ]
)
root = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(0x3A7F19C2D4E5)
    .not_valid_before(datetime(2024, 1, 15, tzinfo=UTC))
    .not_valid_after(datetime(2044, 1, 15, tzinfo=UTC))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .sign(key, hashes.SHA256())
)
(OUT / "fabrikam-root.cer").write_bytes(root.public_bytes(serialization.Encoding.DER))
