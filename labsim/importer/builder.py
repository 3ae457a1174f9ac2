"""Exports → the lab: the imported organization, its simulated partners, and the report.

Rules kept (each is a section of docs/import.md):

* **Servers.** Each Mailbox or Client Access server of ``Get-ExchangeServer`` becomes a lab
  server of the same name and FQDN. A server running both roles becomes two: the Mailbox one
  keeps the name (send connectors name it in SourceTransportServers), the Client Access one is
  ``<NAME>-FE`` with the real FQDN (what partners see); the Mailbox one gets
  ``<host>-mbx.<rest of the FQDN>``. Servers get ``127.1.<site>.<n>`` (sites in name order,
  servers in name order) unless a receive connector binds to a specific address of theirs.
* **Connectors and settings** become setup lines of the shell labsim runs at lab start:
  ``Set-ReceiveConnector`` for a connector Exchange setup creates (the lab creates it too),
  ``New-ReceiveConnector -Custom`` for the others, ``New-SendConnector -Custom`` with every
  property labsim models given explicitly, ``Set-TransportConfig`` and ``New-AcceptedDomain``.
* **Certificates**: stand-ins with the same subject common name, SANs, validity (relative to
  the import date), extended key usage, services and friendly name; see :func:`_issuer_plan`.
* **Partners**: one simulated organization per partner domain; see :class:`_PartnerPlanner`.
* Anything not modelled is a :class:`ReportItem` (what, where, why).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from labsim.errors import PkiError
from labsim.importer.addresses import AddressMap, AddressMapError, is_ipv6, range_bounds
from labsim.importer.records import ExportKind, ExportObject, ImportInputError, items
from labsim.importer.sources import Exports, RootFile
from labsim.importer.values import boolean, byte_count, common_name, date, flags
from labsim.limits import NOT_BEFORE_DAYS_RANGE, VALID_DAYS_RANGE
from labsim.model.lab import PUBLIC_CA_NAME
from labsim.pki.certificate import parse_windows_name, windows_name

PUBLIC_CA_ORGANIZATION = "Lab Public CA"
"""The O= of the lab's public CA (labsim.lab creates it with this organization)."""

_EKU_BY_OID = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
}
_EKU_BY_NAME = {
    "server authentication": "serverAuth",
    "client authentication": "clientAuth",
    "code signing": "codeSigning",
    "secure email": "emailProtection",
}
_SERVICES = ("IMAP", "POP", "UM", "IIS", "SMTP", "Federation", "UMCallRouter")
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z", re.IGNORECASE)
_AUTH = ("None", "Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer",
         "ExternalAuthoritative")  # fmt: skip
_GROUPS = ("None", "AnonymousUsers", "ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers",
           "Partners", "Custom")  # fmt: skip
_DEFAULT_FRONTEND = ("Default Frontend {}", "Outbound Proxy Frontend {}", "Client Frontend {}")
_DEFAULT_HUB = ("Default {}", "Client Proxy {}")
TEST_MAILBOX = "labsim.test"
"""The alias of the test mailbox made in each authoritative domain without a Get-Mailbox export."""


@dataclass(frozen=True)
class ImportOptions:
    """What the admin adds on the command line."""

    as_of: datetime
    # partner domain → "SERVER\Connector": the Partner receive connector meant for it.
    partner_connectors: tuple[tuple[str, str], ...] = ()
    # partner domain → (address or None, port): real mail software plays that partner.
    outside: tuple[tuple[str, str | None, int], ...] = ()
    lab_name: str = "imported"


@dataclass(frozen=True)
class ReportItem:
    """Something the lab does not model as production has it."""

    what: str
    where: str
    why: str

    def line(self) -> str:
        """The item as one line of the report."""
        return f"{self.what} ({self.where}): {self.why}"


@dataclass(frozen=True)
class CertificatePlan:
    """One ``[[organizations.servers.certificates]]`` table."""

    common_name: str
    dns_names: tuple[str, ...]
    issuer: str
    services: tuple[str, ...]
    eku: tuple[str, ...] | None
    not_before_days: int
    valid_days: int
    friendly_name: str | None
    comment: str = ""
    subject: str | None = None  # the production subject, exactly (Windows form)


@dataclass(frozen=True)
class ServerPlan:
    """One ``[[organizations.servers]]`` table."""

    name: str
    role: str
    fqdn: str
    address: str
    certificates: tuple[CertificatePlan, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class OrganizationPlan:
    """One ``[[organizations]]`` table, its setup block included."""

    name: str
    domains: tuple[str, ...]
    root_ca: str
    mailboxes: tuple[tuple[str, str], ...]
    trusted_roots: tuple[str, ...]
    servers: tuple[ServerPlan, ...]
    setup: tuple[str, ...]
    comment: tuple[str, ...] = ()
    root_ca_subject: str | None = None


@dataclass(frozen=True)
class OutsidePlan:
    """One ``[[outside_organizations]]`` table: a partner real mail software plays."""

    name: str
    domains: tuple[str, ...]
    address: str
    port: int
    roots: tuple[str, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class ImportResult:
    """The whole import: what the writer turns into the lab file."""

    lab_name: str
    sources: tuple[str, ...]
    as_of: datetime
    address_map: tuple[str, ...]
    organizations: tuple[OrganizationPlan, ...]
    mx_records: tuple[tuple[str, str], ...]
    a_records: tuple[tuple[str, str], ...]
    report: tuple[ReportItem, ...]
    partners: tuple[str, ...]
    test_mailboxes: tuple[str, ...]
    outside: tuple[OutsidePlan, ...] = ()


def ps_quote(text: str) -> str:
    """A PowerShell double-quoted string (backtick escapes ``"``, ``$`` and the backtick)."""
    return '"' + re.sub(r'([`"$])', r"`\1", text) + '"'


def ps_list(values: Iterable[str]) -> str:
    """A PowerShell array argument: ``a,b,"c d"``."""
    return ",".join(v if re.fullmatch(r"[A-Za-z0-9.:/\-]+", v) else ps_quote(v) for v in values)


def _is_dns_name(name: str, *, wildcard: bool = False) -> bool:
    labels = name.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
    return len(labels) >= 2 and all(_DNS_LABEL.match(label) for label in labels)


@dataclass
class _ServerInfo:
    real: str
    fqdn: str
    roles: set[str]
    site: str
    mailbox: str | None = None  # lab server names
    frontend: str | None = None


@dataclass
class _Context:
    exports: Exports
    options: ImportOptions
    report: list[ReportItem] = field(default_factory=list)

    def of(self, kind: ExportKind) -> list[ExportObject]:
        return [o for o in self.exports.objects if o.kind is kind]

    def note(self, what: str, where: str, why: str) -> None:
        # The same finding in several files (one certificate on four servers) is told once,
        # at its first place.
        if not any(i.what == what and i.why == why for i in self.report):
            self.report.append(ReportItem(what, where, why))


def build_import(exports: Exports, options: ImportOptions) -> ImportResult:
    """The lab the exports describe; bad input raises :class:`ImportInputError`."""
    return _Builder(_Context(exports, options)).build()


class _Builder:
    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.servers: dict[str, _ServerInfo] = {}
        self.addresses: dict[str, str] = {}  # lab server name → address
        self.used: set[str] = set()
        self.setup: list[str] = []
        self.a_records: list[tuple[str, str]] = []
        # Per imported send connector: the object, its SMTP address spaces, DNS routing, its
        # (mapped) smart hosts, its lab source servers; the partner planner routes with them.
        self.send_info: list[tuple[ExportObject, list[str], bool, list[str], list[str]]] = []

    # -- inputs ----------------------------------------------------------------------------

    def required(self, kind: ExportKind, command: str) -> list[ExportObject]:
        found = self.ctx.of(kind)
        if not found:
            raise ImportInputError(
                f"no {kind.value} export among the files; run {command} in the Exchange "
                "Management Shell and give its file too (docs/import.md)"
            )
        return found

    def build(self) -> ImportResult:
        ctx = self.ctx
        self.dedupe()
        transport = self.required(
            ExportKind.TRANSPORT_CONFIG, "Get-TransportConfig | Format-List *"
        )
        if len(transport) > 1:
            raise ImportInputError(
                f"{transport[1].place()}: a second Get-TransportConfig export "
                f"(the first is {transport[0].place()}); give one organization's exports"
            )
        config = transport[0]
        domains, relay = self.accepted_domains()
        org_name = self.organization_name(domains[0])
        self.read_servers()
        address_map = self.address_map()
        self.place_servers(address_map)
        certificates, (root_ca, root_subject), tls_names = self.certificates(org_name)
        receive = self.receive_connectors(address_map, tls_names)
        send = self.send_connectors(address_map, tls_names)
        self.transport_config(config, address_map)
        for domain, kind in relay:
            self.setup.append(
                f"New-AcceptedDomain -Name {ps_quote(domain)} -DomainName {domain} "
                f"-DomainType {kind}"
            )
        self.setup.extend(receive)
        self.setup.extend(send)
        mailboxes, test_mailboxes = self.mailboxes(domains)
        planner = _PartnerPlanner(self, config, domains, org_name, address_map)
        partners = planner.plan()
        cas_hosts = planner.mx_host
        server_plans = self.server_plans(certificates)
        trusted = ("own", "public", *planner.trusted_partner_roots)
        organization = OrganizationPlan(
            name=org_name,
            domains=tuple(domains),
            root_ca=root_ca,
            root_ca_subject=root_subject,
            mailboxes=mailboxes,
            trusted_roots=trusted,
            servers=server_plans,
            setup=tuple(self.setup),
        )
        mx = [(d, cas_hosts) for d in domains] if cas_hosts else []
        return ImportResult(
            lab_name=ctx.options.lab_name,
            sources=tuple(sorted({o.source for o in ctx.exports.objects})),
            as_of=ctx.options.as_of,
            address_map=tuple(address_map.lines()),
            organizations=(organization, *partners),
            mx_records=tuple(mx),
            a_records=tuple(self.a_records),
            report=tuple(ctx.report),
            partners=tuple(planner.summary),
            test_mailboxes=test_mailboxes,
            outside=tuple(planner.outside),
        )

    def dedupe(self) -> None:
        """The same object exported twice (as text and as XML) counts once; files of a folder
        that are no export are named in the report."""
        for source in self.ctx.exports.skipped:
            self.ctx.note(
                f"file {source}",
                source,
                "not an export (its first line is not 'Property : value', nor Export-Clixml "
                "XML, nor a certificate); skipped",
            )
        seen: dict[tuple[ExportKind, str], ExportObject] = {}
        kept: list[ExportObject] = []
        for obj in self.ctx.exports.objects:
            identity = obj.text("Identity") or obj.text("Thumbprint") or obj.text("Name")
            if obj.kind is ExportKind.EXCHANGE_CERTIFICATE:
                identity = f"{self.certificate_server(obj)}\\{obj.text('Thumbprint')}"
            key = (obj.kind, identity.lower())
            if identity and key in seen:
                self.ctx.note(
                    f"{obj.kind.value} object {identity}",
                    obj.place(),
                    f"exported again (first in {seen[key].place()}); the first one is used",
                )
                continue
            seen[key] = obj
            kept.append(obj)
        self.ctx.exports = replace(self.ctx.exports, objects=tuple(kept))

    def accepted_domains(self) -> tuple[list[str], list[tuple[str, str]]]:
        objects = self.required(ExportKind.ACCEPTED_DOMAIN, "Get-AcceptedDomain | Format-List *")
        authoritative: list[tuple[bool, str]] = []
        relay: list[tuple[str, str]] = []
        for obj in objects:
            name = obj.text("DomainName").lower()
            kind = obj.text("DomainType")
            if not name:
                raise obj.fail("DomainName", "empty; export the accepted domains again")
            if not _is_dns_name(name):
                self.ctx.note(
                    f"accepted domain {name}",
                    obj.place("DomainName"),
                    "a wildcard or single-label domain; labsim's accepted domains are DNS names, "
                    "so mail to its subdomains is not accepted in the lab",
                )
                continue
            if kind.lower() == "authoritative":
                authoritative.append((boolean(obj.text("Default")) is True, name))
            elif kind.lower() in ("internalrelay", "externalrelay"):
                relay.append(
                    (name, "InternalRelay" if kind.lower() == "internalrelay" else "ExternalRelay")
                )
            else:
                raise obj.fail(
                    "DomainType", f"'{kind}' is not Authoritative, InternalRelay or ExternalRelay"
                )
        if not authoritative:
            raise ImportInputError(
                f"{objects[0].source}: no authoritative accepted domain in the Get-AcceptedDomain "
                "export; an organization receives mail for at least one"
            )
        authoritative.sort(key=lambda item: (not item[0], item[1]))
        return [name for _, name in authoritative], sorted(relay)

    def organization_name(self, default_domain: str) -> str:
        for obj in self.ctx.exports.objects:
            dn = obj.text("DistinguishedName")
            match = re.search(r"CN=([^,]+),CN=Microsoft Exchange,CN=Services", dn, re.IGNORECASE)
            if match:
                name = match[1].strip()
                if name and not any(c in name for c in "/\\") and len(name) <= 40:
                    return name
        return default_domain.split(".")[0].capitalize()

    # -- servers ---------------------------------------------------------------------------

    def read_servers(self) -> None:
        for obj in self.required(ExportKind.EXCHANGE_SERVER, "Get-ExchangeServer | Format-List *"):
            name = obj.text("Name")
            fqdn = obj.text("Fqdn").lower()
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", name):
                raise obj.fail("Name", f"'{name}' is not a server name")
            if not _is_dns_name(fqdn):
                raise obj.fail("Fqdn", f"'{fqdn}' is not a DNS name such as ex01.contoso.com")
            roles = {r.lower() for r in flags(obj.text("ServerRole"))}
            site = obj.text("Site").rsplit("/", 1)[-1] or "Default-First-Site-Name"
            modelled = roles & {"mailbox", "clientaccess"}
            if not modelled:
                self.ctx.note(
                    f"server {name}",
                    obj.place("ServerRole"),
                    f"role {obj.text('ServerRole') or 'none'} is not modelled (labsim simulates "
                    "Exchange 2013 Mailbox and Client Access servers); connectors on it are left out",
                )
                continue
            version = obj.text("AdminDisplayVersion")
            if version and not version.startswith(("Version 15.0", "15.0")):
                self.ctx.note(
                    f"server {name}",
                    obj.place("AdminDisplayVersion"),
                    f"runs {version}; the lab behaves as Exchange 2013 (15.0)",
                )
            self.servers[name.lower()] = _ServerInfo(name, fqdn, modelled, site)
        infos = list(self.servers.values())
        if not any("mailbox" in s.roles for s in infos) or not any(
            "clientaccess" in s.roles for s in infos
        ):
            raise ImportInputError(
                "the Get-ExchangeServer export has no Mailbox or no Client Access server; "
                "an Exchange 2013 organization needs both (give the export of all servers)"
            )
        for info in infos:
            both = len(info.roles) == 2
            if "mailbox" in info.roles:
                info.mailbox = info.real
            if "clientaccess" in info.roles:
                info.frontend = f"{info.real}-FE" if both else info.real
            if both:
                self.ctx.note(
                    f"server {info.real}",
                    "Get-ExchangeServer",
                    f"runs both roles; the lab runs them as two servers: {info.real} (Mailbox, "
                    f"FQDN {self.mailbox_fqdn(info)}) and {info.frontend} (Client Access, FQDN "
                    f"{info.fqdn}); its Front End Transport connectors are on {info.frontend}",
                )

    @staticmethod
    def mailbox_fqdn(info: _ServerInfo) -> str:
        if info.frontend is None or info.frontend == info.real:
            return info.fqdn
        host, _, rest = info.fqdn.partition(".")
        return f"{host}-mbx.{rest}"

    def lab_server(self, real: str, role: str) -> str | None:
        """The lab server that runs ``role`` (FrontendTransport/HubTransport) of ``real``."""
        info = self.servers.get(real.lower())
        if info is None:
            return None
        return info.frontend if role.lower() == "frontendtransport" else info.mailbox

    def address_map(self) -> AddressMap:
        texts: list[str] = []
        for obj in self.ctx.of(ExportKind.RECEIVE_CONNECTOR):
            texts.extend(items(obj, "RemoteIPRanges")[0])
            texts.extend(b.rpartition(":")[0] for b in items(obj, "Bindings")[0])
        for obj in self.ctx.of(ExportKind.SEND_CONNECTOR):
            texts.extend(h.strip("[]") for h in items(obj, "SmartHosts")[0] if _is_ip(h))
        for obj in self.ctx.of(ExportKind.TRANSPORT_CONFIG):
            texts.extend(items(obj, "InternalSMTPServers")[0])
        good: list[str] = []
        for text in texts:
            try:
                range_bounds(text) if not is_ipv6(text) else None
            except AddressMapError:
                continue  # reported with its place where the value is used
            good.append(text)
        try:
            return AddressMap.of(good)
        except AddressMapError as err:
            raise ImportInputError(f"address map: {err}") from None

    def place_servers(self, address_map: AddressMap) -> None:
        # A specific binding pins the server's lab address to the mapped one.
        pinned: dict[str, str] = {}
        for obj in self.ctx.of(ExportKind.RECEIVE_CONNECTOR):
            server = self.lab_server(obj.text("Server"), obj.text("TransportRole"))
            for binding in items(obj, "Bindings")[0]:
                host = binding.rpartition(":")[0]
                if server and host and not is_ipv6(host) and host != "0.0.0.0":
                    try:
                        pinned.setdefault(server, address_map.address(host))
                    except AddressMapError:
                        continue
        self.used.update(pinned.values())
        sites = sorted({s.site.lower() for s in self.servers.values()})
        for info in sorted(self.servers.values(), key=lambda s: s.real.lower()):
            site = sites.index(info.site.lower()) + 1
            for name in (info.frontend, info.mailbox):
                if name is None:
                    continue
                address = pinned.get(name)
                if address is None:
                    number = 10
                    while f"127.1.{site}.{number}" in self.used:
                        number += 1
                    address = f"127.1.{site}.{number}"
                self.used.add(address)
                self.addresses[name] = address

    def server_plans(
        self, certificates: dict[str, list[CertificatePlan]]
    ) -> tuple[ServerPlan, ...]:
        plans: list[ServerPlan] = []
        for info in sorted(self.servers.values(), key=lambda s: (s.site.lower(), s.real.lower())):
            if info.frontend is not None:
                plans.append(
                    ServerPlan(
                        info.frontend,
                        "ClientAccess",
                        info.fqdn,
                        self.addresses[info.frontend],
                        tuple(certificates.get(info.real.lower(), ())),
                        f"site {info.site}",
                    )
                )
            if info.mailbox is not None:
                plans.append(
                    ServerPlan(
                        info.mailbox,
                        "Mailbox",
                        self.mailbox_fqdn(info),
                        self.addresses[info.mailbox],
                        tuple(certificates.get(info.real.lower(), ())),
                        f"site {info.site}",
                    )
                )
        return tuple(plans)

    # -- certificates ----------------------------------------------------------------------

    def certificate_server(self, obj: ExportObject) -> str:
        identity = obj.text("Identity")
        if "\\" in identity:
            return identity.split("\\", 1)[0]
        return obj.text("ServerName") or obj.text("PSComputerName").split(".")[0]

    def certificates(
        self, org_name: str
    ) -> tuple[dict[str, list[CertificatePlan]], tuple[str, str | None], dict[str, str]]:
        """Stand-ins by real server name, the organization's root CA (name, exact subject),
        and the TlsCertificateName values (production ``<I>…<S>…`` → the stand-in's)."""
        objects = self.ctx.of(ExportKind.EXCHANGE_CERTIFICATE)
        issuers = Counter(
            obj.text("Issuer")
            for obj in objects
            if obj.text("Issuer") and obj.text("Issuer").lower() != obj.text("Subject").lower()
        )
        main_issuer = issuers.most_common(1)[0][0] if issuers else ""
        root_subject = _normalized_name(main_issuer) if main_issuer else None
        root_ca = (common_name(root_subject) if root_subject else None) or f"{org_name} Root CA"
        if main_issuer and root_subject is None:
            root_ca = (common_name(main_issuer) or root_ca)[:64]
            self.ctx.note(
                f"issuer {main_issuer}",
                "Get-ExchangeCertificate",
                f"not a name labsim can give a CA exactly; the lab CA is CN={root_ca}, "
                f"O={org_name}",
            )
        root = (root_ca, root_subject)
        by_server: dict[str, list[CertificatePlan]] = {}
        rewrites: dict[str, str] = {}
        for obj in objects:
            server = self.certificate_server(obj)
            if not server:
                raise obj.fail(
                    "Identity",
                    "the export does not say which server holds the certificate; export with "
                    "Get-ExchangeCertificate -Server <name> | Format-List * (Identity is "
                    "<server>\\<thumbprint>)",
                )
            if server.lower() not in self.servers:
                self.ctx.note(
                    f"certificate {obj.text('Thumbprint')}",
                    obj.place("Identity"),
                    f"held by {server}, which is not a modelled server of the Get-ExchangeServer "
                    "export; left out",
                )
                continue
            plan = self.certificate(obj, server, main_issuer, root, org_name)
            if plan is None:
                continue
            by_server.setdefault(server.lower(), []).append(plan)
            production = f"<I>{obj.text('Issuer')}<S>{obj.text('Subject')}".lower()
            rewrites[production] = _stand_in_name(plan, root, org_name)
        return by_server, root, rewrites

    def certificate(
        self,
        obj: ExportObject,
        server: str,
        main_issuer: str,
        root: tuple[str, str | None],
        org_name: str,
    ) -> CertificatePlan | None:
        subject = obj.text("Subject")
        issuer = obj.text("Issuer")
        cn = common_name(subject)
        self_signed = bool(issuer) and issuer.lower() == subject.lower()
        if self_signed and cn and cn.lower() == server.lower():
            return None  # Exchange's own certificate: the lab gives every server one.
        domains_raw, cut = items(obj, "CertificateDomains")
        where = obj.place("CertificateDomains")
        if cut:
            self.ctx.note(
                f"certificate {obj.text('Thumbprint')}",
                where,
                "Format-List cut its CertificateDomains with '...'; only the names shown are "
                "on the stand-in (export with $FormatEnumerationLimit = -1)",
            )
        dns_names: list[str] = []
        for name in domains_raw:
            lowered = name.lower()
            if _is_dns_name(lowered, wildcard=True):
                if lowered not in dns_names:
                    dns_names.append(lowered)
            else:
                self.ctx.note(
                    f"certificate name {name}",
                    where,
                    "not a DNS name with a dot (a NetBIOS name?); the stand-in leaves it out",
                )
        if cn is None:
            if not dns_names:
                raise obj.fail("Subject", f"'{subject}' has no CN= and there are no DNS names")
            cn = dns_names[0]
            self.ctx.note(
                f"certificate {obj.text('Thumbprint')}",
                obj.place("Subject"),
                f"subject '{subject}' has no CN; the stand-in's is CN={cn}",
            )
        if len(cn) > 64:
            raise obj.fail("Subject", f"the common name '{cn}' is longer than 64 characters")
        if self_signed:
            issuer_key = "self"
        elif issuer == main_issuer:
            issuer_key = "own"
        else:
            issuer_key = "public"
            self.ctx.note(
                f"certificate {cn} on {server}",
                obj.place("Issuer"),
                f"issued by '{issuer}', a second CA; the lab's public CA ({PUBLIC_CA_NAME}), "
                "which every lab server trusts, issues its stand-in",
            )
        exact_subject = _normalized_name(subject) if issuer_key != "self" else None
        if exact_subject is not None and common_name(exact_subject) != cn:
            exact_subject = None
        produced = _stand_in_name(
            CertificatePlan(cn, (), issuer_key, (), None, 0, 1, None, subject=exact_subject),
            root,
            org_name,
        )
        production = (
            f"<I>{_normalized_name(issuer) or issuer}<S>{_normalized_name(subject) or subject}"
        )
        if production.lower() != produced.lower():
            self.ctx.note(
                f"certificate {cn}",
                obj.place("Issuer"),
                f"issuer and subject in the lab are {produced!r} (production: {production!r}); "
                "TlsCertificateName values naming it are rewritten to match",
            )
        services_text = obj.text("Services", "None")
        services = tuple(
            next(s for s in _SERVICES if s.lower() == part.lower())
            for part in flags(services_text)
            if part.lower() in (s.lower() for s in _SERVICES)
        )
        eku = self.eku(obj)
        try:
            not_before = date(obj.text("NotBefore"))
            not_after = date(obj.text("NotAfter"))
        except ValueError as err:
            name = "NotBefore" if obj.text("NotBefore") in str(err) else "NotAfter"
            raise obj.fail(name, str(err)) from None
        low, high = NOT_BEFORE_DAYS_RANGE
        before_days = max(low, min(high, (not_before - self.ctx.options.as_of).days))
        valid_days = max(1, min(VALID_DAYS_RANGE[1], (not_after - not_before).days))
        friendly = obj.text("FriendlyName") or None
        return CertificatePlan(
            common_name=cn,
            dns_names=tuple(dns_names),
            issuer=issuer_key,
            services=services,
            eku=eku,
            not_before_days=before_days,
            valid_days=valid_days,
            friendly_name=friendly,
            comment=f"production thumbprint {obj.text('Thumbprint')}, issuer {issuer}",
            subject=exact_subject,
        )

    def eku(self, obj: ExportObject) -> tuple[str, ...] | None:
        prop = obj.get("EnhancedKeyUsageList")
        if prop is None:
            return None
        found: list[str] = []
        text = obj.text("EnhancedKeyUsageList")
        for part in re.split(r",\s*(?![^()]*\))", text.strip("{}")):
            part = part.strip()
            if not part:
                continue
            oid = re.search(r"\d+(?:\.\d+){3,}", part)
            purpose = _EKU_BY_OID.get(oid[0]) if oid else None
            purpose = purpose or _EKU_BY_NAME.get(re.sub(r"\s*\(.*\)", "", part).lower())
            if purpose is None:
                self.ctx.note(
                    f"extended key usage {part}",
                    obj.place("EnhancedKeyUsageList"),
                    "not one labsim issues (serverAuth, clientAuth, emailProtection, "
                    "codeSigning); left off the stand-in",
                )
            elif purpose not in found:
                found.append(purpose)
        return tuple(found)

    # -- connectors ------------------------------------------------------------------------

    def ranges(self, obj: ExportObject, name: str, address_map: AddressMap) -> list[str]:
        values, cut = items(obj, name)
        if cut:
            self.ctx.note(
                f"{name} of {obj.text('Identity')}",
                obj.place(name),
                "Format-List cut the list with '...'; only the ranges shown are in the lab "
                "(export with $FormatEnumerationLimit = -1)",
            )
        found: list[str] = []
        for value in values:
            if is_ipv6(value):
                continue
            try:
                mapped, approximate = address_map.ranges(value)
            except AddressMapError as err:
                raise obj.fail(name, str(err)) from None
            if approximate:
                self.ctx.note(
                    f"{name} entry {value} of {obj.text('Identity')}",
                    obj.place(name),
                    "wider than a /16; the lab keeps the blocks of it the exports use: "
                    + (", ".join(mapped) or "none"),
                )
            found.extend(m for m in mapped if m not in found)
        return found

    def receive_connectors(self, address_map: AddressMap, tls_names: dict[str, str]) -> list[str]:
        lines: list[str] = []
        for obj in self.ctx.of(ExportKind.RECEIVE_CONNECTOR):
            name = obj.text("Name") or obj.text("Identity").rpartition("\\")[2]
            real = obj.text("Server") or obj.text("Identity").partition("\\")[0]
            role = obj.text("TransportRole") or "HubTransport"
            if role.lower() not in ("frontendtransport", "hubtransport"):
                raise obj.fail(
                    "TransportRole", f"'{role}' is not FrontendTransport or HubTransport"
                )
            lab = self.lab_server(real, role)
            if lab is None:
                self.ctx.note(
                    f"receive connector {real}\\{name}",
                    obj.place(),
                    f"on {real}, which runs no {role} the lab models; left out",
                )
                continue
            defaults = _DEFAULT_FRONTEND if role.lower() == "frontendtransport" else _DEFAULT_HUB
            default = next((d for d in defaults if d.format(real).lower() == name.lower()), None)
            lab_name = default.format(lab) if default else name
            bindings: list[str] = []
            for binding in items(obj, "Bindings")[0]:
                host, _, port = binding.rpartition(":")
                if is_ipv6(host.strip("[]")):
                    continue
                try:
                    bindings.append(f"{address_map.address(host)}:{int(port)}")
                except (AddressMapError, ValueError):
                    raise obj.fail("Bindings", f"'{binding}' is not address:port") from None
            remote = self.ranges(obj, "RemoteIPRanges", address_map)
            params = [
                f"-Bindings {ps_list(bindings)}" if bindings else "",
                f"-RemoteIPRanges {ps_list(remote)}" if remote else "",
                self.flag_param(obj, "AuthMechanism", _AUTH),
                self.flag_param(obj, "PermissionGroups", _GROUPS),
                self.bool_param(obj, "DomainSecureEnabled"),
                self.bool_param(obj, "RequireTLS"),
                self.bool_param(obj, "Enabled"),
                self.fqdn_param(obj, lab),
                self.tls_name_param(obj, tls_names),
                self.size_param(obj, "MaxMessageSize"),
                self.choice_param(obj, "ProtocolLoggingLevel", ("None", "Verbose")),
                # Exchange's defaults are True; only a connector that turned BDAT off says so.
                self.bool_param(obj, "ChunkingEnabled", only_false=True),
                self.bool_param(obj, "BinaryMimeEnabled", only_false=True),
            ]
            if not remote or not bindings:
                self.ctx.note(
                    f"receive connector {real}\\{name}",
                    obj.place("RemoteIPRanges"),
                    "has no IPv4 bindings or remote IP ranges; left out (the lab is IPv4)",
                )
                continue
            arguments = " ".join(p for p in params if p)
            if default:
                lines.append(
                    f"Set-ReceiveConnector {ps_quote(lab + chr(92) + lab_name)} {arguments}"
                )
            else:
                lines.append(
                    f"New-ReceiveConnector -Name {ps_quote(name)} -Server {lab} -TransportRole "
                    f"{'FrontendTransport' if role.lower() == 'frontendtransport' else 'HubTransport'} "
                    f"-Custom {arguments}"
                )
        return lines

    def send_connectors(self, address_map: AddressMap, tls_names: dict[str, str]) -> list[str]:
        lines: list[str] = []
        for obj in self.ctx.of(ExportKind.SEND_CONNECTOR):
            name = obj.text("Name") or obj.text("Identity")
            spaces, cut = items(obj, "AddressSpaces")
            if cut:
                self.ctx.note(
                    f"AddressSpaces of send connector {name}",
                    obj.place("AddressSpaces"),
                    "Format-List cut the list with '...'; only the address spaces shown are in "
                    "the lab (export with $FormatEnumerationLimit = -1)",
                )
            smtp_spaces = [
                s
                for s in spaces
                if not re.match(r"[A-Za-z0-9]+:", s) or s.upper().startswith("SMTP:")
            ]
            for other in (s for s in spaces if s not in smtp_spaces):
                self.ctx.note(
                    f"address space {other} of send connector {name}",
                    obj.place("AddressSpaces"),
                    "not an SMTP address space; left out",
                )
            if not smtp_spaces:
                continue
            sources: list[str] = []
            for real in items(obj, "SourceTransportServers")[0]:
                lab = self.lab_server(real, "HubTransport")
                if lab is None:
                    self.ctx.note(
                        f"source server {real} of send connector {name}",
                        obj.place("SourceTransportServers"),
                        "not a modelled Mailbox server of the export; left out",
                    )
                else:
                    sources.append(lab)
            if not sources:
                self.ctx.note(
                    f"send connector {name}",
                    obj.place("SourceTransportServers"),
                    "no modelled source server; left out",
                )
                continue
            dns = boolean(obj.text("DNSRoutingEnabled", "True")) is not False
            hosts: list[str] = []
            for host in items(obj, "SmartHosts")[0]:
                if _is_ip(host):
                    try:
                        hosts.append(f"[{address_map.address(host.strip('[]'))}]")
                    except AddressMapError as err:
                        raise obj.fail("SmartHosts", str(err)) from None
                else:
                    hosts.append(host.lower())
            for parameter, what in (
                ("SmartHostAuthMechanism", "smart host authentication"),
                ("SourceIPAddress", "a source IP address"),
                ("IsScopedConnector", "scoping to its AD site"),
                ("CloudServicesMailEnabled", "CloudServicesMailEnabled"),
            ):
                value = obj.text(parameter)
                if value and value.lower() not in ("none", "0.0.0.0", "false"):
                    self.ctx.note(
                        f"send connector {name}",
                        obj.place(parameter),
                        f"uses {what} ({parameter} {value}); labsim does not model it",
                    )
            params = [
                f"-AddressSpaces {ps_list(smtp_spaces)}",
                f"-SourceTransportServers {ps_list(sources)}",
                f"-DNSRoutingEnabled ${str(dns).lower()}",
                f"-SmartHosts {ps_list(hosts)}" if hosts and not dns else "",
                self.int_param(obj, "Port"),
                self.bool_param(obj, "DomainSecureEnabled"),
                self.bool_param(obj, "RequireTLS"),
                self.bool_param(obj, "IgnoreSTARTTLS"),
                self.choice_param(
                    obj,
                    "TlsAuthLevel",
                    ("EncryptionOnly", "CertificateValidation", "DomainValidation"),
                ),
                f"-TlsDomain {obj.text('TlsDomain')}" if obj.text("TlsDomain") else "",
                self.tls_name_param(obj, tls_names),
                self.fqdn_param(obj),
                self.bool_param(obj, "FrontendProxyEnabled"),
                self.bool_param(obj, "Enabled"),
                self.size_param(obj, "MaxMessageSize"),
                self.choice_param(obj, "ProtocolLoggingLevel", ("None", "Verbose")),
            ]
            self.send_info.append((obj, smtp_spaces, dns, hosts, sources))
            lines.append(
                f"New-SendConnector -Name {ps_quote(name)} -Custom "
                + " ".join(p for p in params if p)
            )
        return lines

    def transport_config(self, config: ExportObject, address_map: AddressMap) -> None:
        params: list[str] = []
        for name in ("TLSSendDomainSecureList", "TLSReceiveDomainSecureList"):
            values, cut = items(config, name)
            if cut:
                self.ctx.note(
                    name,
                    config.place(name),
                    "Format-List cut the list with '...'; only the domains shown are listed and "
                    "get a partner (export with $FormatEnumerationLimit = -1)",
                )
            if values:
                params.append(f"-{name} {ps_list(v.lower() for v in values)}")
        internal = self.ranges(config, "InternalSMTPServers", address_map)
        if internal:
            params.append(f"-InternalSMTPServers {ps_list(internal)}")
        for name in ("MaxSendSize", "MaxReceiveSize"):
            param = self.size_param(config, name)
            if param:
                params.append(param)
        if params:
            self.setup.insert(0, "Set-TransportConfig " + " ".join(params))

    # -- parameters ------------------------------------------------------------------------

    def bool_param(self, obj: ExportObject, name: str, *, only_false: bool = False) -> str:
        text = obj.text(name)
        if not text:
            return ""
        value = boolean(text)
        if value is None:
            raise obj.fail(name, f"'{text}' is not True or False")
        if value and only_false:
            return ""
        return f"-{name} ${str(value).lower()}"

    def int_param(self, obj: ExportObject, name: str) -> str:
        text = obj.text(name)
        if not text:
            return ""
        digits = re.sub(r"[\s,.\u00a0\u202f']", "", text)
        if not digits.isdigit():
            raise obj.fail(name, f"'{text}' is not a number")
        return f"-{name} {int(digits)}"

    def size_param(self, obj: ExportObject, name: str) -> str:
        text = obj.text(name)
        if not text:
            return ""
        try:
            count = byte_count(text)
        except ValueError as err:
            raise obj.fail(name, str(err)) from None
        if count is None:
            return f"-{name} unlimited"
        if count % (1 << 20) == 0:
            return f"-{name} {count >> 20}MB"
        if count % (1 << 10) == 0:
            return f"-{name} {count >> 10}KB"
        return f"-{name} {count}B"

    def choice_param(self, obj: ExportObject, name: str, choices: Sequence[str]) -> str:
        text = obj.text(name)
        if not text:
            return ""
        found = next((c for c in choices if c.lower() == text.lower()), None)
        if found is None:
            raise obj.fail(name, f"'{text}' is not one of {', '.join(choices)}")
        return f"-{name} {found}"

    def flag_param(self, obj: ExportObject, name: str, choices: Sequence[str]) -> str:
        text = obj.text(name)
        if not text:
            return ""
        values: list[str] = []
        for part in flags(text):
            found = next((c for c in choices if c.lower() == part.lower()), None)
            if found is None:
                self.ctx.note(
                    f"{name} value {part} of {obj.text('Identity')}",
                    obj.place(name),
                    "not modelled by labsim; left out",
                )
                continue
            values.append(found)
        return f"-{name} {','.join(values)}" if values else ""

    def fqdn_param(self, obj: ExportObject, lab_server: str | None = None) -> str:
        text = obj.text("Fqdn")
        if not text:
            return ""
        for info in self.servers.values():
            # The Mailbox half of a server with both roles has its own FQDN in the lab, and
            # its connectors answer with it (their certificates name it).
            if (
                lab_server == info.mailbox
                and info.frontend not in (None, info.real)
                and text.lower() == info.fqdn
            ):
                return f"-Fqdn {self.mailbox_fqdn(info)}"
        if not _is_dns_name(text.lower()):
            self.ctx.note(
                f"Fqdn {text} of {obj.text('Identity')}",
                obj.place("Fqdn"),
                "not a DNS name with a dot; the lab uses the server's FQDN",
            )
            return ""
        return f"-Fqdn {text.lower()}"

    def tls_name_param(self, obj: ExportObject, tls_names: dict[str, str]) -> str:
        text = obj.text("TlsCertificateName")
        if not text:
            return ""
        lab = tls_names.get(text.lower())
        if lab is None:
            self.ctx.note(
                f"TlsCertificateName of {obj.text('Identity')}",
                obj.place("TlsCertificateName"),
                f"names '{text}', a certificate none of the Get-ExchangeCertificate exports "
                "holds; left out (the lab picks a certificate by its names)",
            )
            return ""
        return f"-TlsCertificateName {ps_quote(lab)}"

    # -- mailboxes -------------------------------------------------------------------------

    def mailboxes(self, domains: list[str]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
        found: list[tuple[str, str]] = []
        for obj in self.ctx.of(ExportKind.MAILBOX):
            address = obj.text("PrimarySmtpAddress").lower()
            if "@" not in address or address.rpartition("@")[2] not in domains:
                self.ctx.note(
                    f"mailbox {address or obj.text('Name')}",
                    obj.place("PrimarySmtpAddress"),
                    "not in an authoritative accepted domain; left out",
                )
                continue
            if all(address != a for a, _ in found):
                found.append((address, obj.text("DisplayName") or address.partition("@")[0]))
        if found:
            return tuple(found), ()
        made = tuple(f"{TEST_MAILBOX}@{d}" for d in domains)
        return tuple((a, f"Lab Test ({a.partition('@')[2]})") for a in made), made


def _is_ip(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text.strip().strip("[]"))
    except ValueError:
        return False
    return True


def _normalized_name(text: str) -> str | None:
    """``text`` as Windows shows a name (labsim.pki.certificate.windows_name), or None when it
    is not a name labsim can give a certificate exactly."""
    try:
        return windows_name(parse_windows_name(text))
    except PkiError:
        return None


def _stand_in_name(plan: CertificatePlan, root: tuple[str, str | None], org_name: str) -> str:
    """The ``<I>issuer<S>subject`` of the stand-in certificate, as Windows shows them."""
    if plan.issuer == "self":
        return f"<I>CN={plan.common_name}<S>CN={plan.common_name}"
    if plan.issuer == "public":
        issuer = f"CN={PUBLIC_CA_NAME}, O={PUBLIC_CA_ORGANIZATION}"
        organization = PUBLIC_CA_ORGANIZATION
    else:
        root_ca, root_subject = root
        issuer = root_subject or f"CN={root_ca}, O={org_name}"
        organization = org_name
    return f"<I>{issuer}<S>{plan.subject or f'CN={plan.common_name}, O={organization}'}"


class _PartnerPlanner:
    """One simulated organization per partner domain, configured as a correct partner would be.

    * partner domains: TLSSendDomainSecureList, TLSReceiveDomainSecureList, and the SMTP address
      spaces of send connectors with DomainSecureEnabled (wildcards and ``*`` excepted);
    * inbound: the Partner receive connector meant for the domain (``--partner``, else the one
      whose name holds the domain or its first label, else the only one); the partner's
      Mailbox server, which sends, gets the first free address inside its mapped
      RemoteIPRanges for which that connector is the most specific on its server;
    * outbound: the partner's Client Access server is the MX of its domain; when the imported
      send connector uses smart hosts, the partner's server answers on them (its address is
      the mapped smart host address, or the smart host name is an alias of it);
    * it lists the imported organization's domains in both TLS lists, has a Partner send
      connector to them and a Partner receive connector for the imported servers' addresses,
      trusts the imported organization's root, and holds a certificate naming its domain,
      issued by the lab's public CA, or by a CA named like the partner root given as ``.cer``.
    """

    def __init__(
        self,
        builder: _Builder,
        config: ExportObject,
        domains: list[str],
        org_name: str,
        address_map: AddressMap,
    ) -> None:
        self.builder = builder
        self.ctx = builder.ctx
        self.config = config
        self.domains = domains
        self.org_name = org_name
        self.address_map = address_map
        self.summary: list[str] = []
        self.trusted_partner_roots: list[str] = []
        self.mx_host = ""
        self.names: set[str] = {org_name.lower()}
        self.root_subjects: dict[str, str] = {}  # partner domain → its .cer root's subject
        self.outside: list[OutsidePlan] = []

    def partner_domains(self) -> list[str]:
        found: list[str] = []
        for name in ("TLSSendDomainSecureList", "TLSReceiveDomainSecureList"):
            found.extend(v.lower() for v in items(self.config, name)[0])
        for obj, spaces, *_ in self.builder.send_info:
            if boolean(obj.text("DomainSecureEnabled")) is True:
                for space in spaces:
                    domain = space.split(":", 1)[-1].split(";", 1)[0].lower()
                    if domain.startswith("*"):
                        if domain != "*":
                            self.ctx.note(
                                f"address space {space} of send connector {obj.text('Name')}",
                                obj.place("AddressSpaces"),
                                "a wildcard; no partner is simulated for its subdomains",
                            )
                        continue
                    found.append(domain)
        own = set(self.domains)
        unique: list[str] = []
        for domain in found:
            if domain not in own and domain not in unique and _is_dns_name(domain):
                unique.append(domain)
        return sorted(unique)

    def partner_receive_connectors(self) -> list[ExportObject]:
        return [
            obj
            for obj in self.ctx.of(ExportKind.RECEIVE_CONNECTOR)
            if any(g.lower() == "partners" for g in flags(obj.text("PermissionGroups")))
            and self.builder.lab_server(obj.text("Server"), obj.text("TransportRole"))
        ]

    def connector_for(
        self, group: Sequence[str], candidates: list[ExportObject]
    ) -> ExportObject | None:
        """The Partner receive connector the partner with domains ``group`` sends to."""
        domain = group[0]
        given = {d.lower(): c for d, c in self.ctx.options.partner_connectors}
        chosen = next((given[d] for d in group if d in given), None)
        if chosen is not None:
            for obj in candidates:
                if obj.text("Identity").lower() == chosen.lower():
                    return obj
            raise ImportInputError(
                f"--partner {domain}={chosen!r}: no Partner receive connector of that identity; "
                "use one of " + ", ".join(repr(c.text("Identity")) for c in candidates)
            )
        # "From Woodgrove Bank" is named for woodgrovebank.com: compare letters and digits only.
        label = re.sub(r"[^a-z0-9]", "", domain.split(".")[0])
        named = [
            obj
            for obj in candidates
            if label and label in re.sub(r"[^a-z0-9]", "", obj.text("Name").lower())
        ]
        if len(named) == 1:
            return named[0]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            return None
        raise ImportInputError(
            f"partner {domain}: the exports have several Partner receive connectors ("
            + ", ".join(repr(c.text("Identity")) for c in candidates)
            + f") and none is named for {domain}; say which one it sends to with "
            f'--partner {domain}="SERVER\\Connector"'
        )

    def source_address(self, connector: ExportObject) -> str | None:
        """The first free address the connector is the most specific for on its server."""
        server = connector.text("Server")
        role = connector.text("TransportRole")
        others = [
            o
            for o in self.ctx.of(ExportKind.RECEIVE_CONNECTOR)
            if o.text("Server").lower() == server.lower()
            and o is not connector
            and o.text("TransportRole").lower() == role.lower()
        ]
        mine = self.builder.ranges(connector, "RemoteIPRanges", self.address_map)
        other_ranges = [
            r for o in others for r in self.builder.ranges(o, "RemoteIPRanges", self.address_map)
        ]
        for text in mine:
            first, last = range_bounds(text)
            size = last - first + 1
            start = first + 1 if size > 2 else first
            for value in range(start, min(last, start + 4096) + 1):
                address = str(ipaddress.IPv4Address(value))
                if address in self.builder.used or address.endswith((".0", ".255")):
                    continue
                if any(_contains(r, value) and _size(r) <= size for r in other_ranges):
                    continue
                return address
        return None

    def plan(self) -> list[OrganizationPlan]:
        partners: list[OrganizationPlan] = []
        candidates = self.partner_receive_connectors()
        frontends = sorted(
            {
                self.builder.lab_server(c.text("Server"), "FrontendTransport") or ""
                for c in candidates
            }
            - {""}
        )
        cas = [s for s in self.builder.servers.values() if s.frontend]
        mx_server = frontends[0] if frontends else sorted(s.frontend or "" for s in cas)[0]
        info = next(s for s in self.builder.servers.values() if s.frontend == mx_server)
        self.mx_host = info.fqdn
        imported_addresses = sorted(self.builder.addresses.values(), key=_address_key)
        roots = self.roots()
        known = self.partner_domains()
        given = [("--partner", d) for d, _ in self.ctx.options.partner_connectors]
        given += [("--outside", d) for d, _, _ in self.ctx.options.outside]
        for option, domain in given:
            if domain.lower() not in known:
                raise ImportInputError(
                    f"{option} {domain}: not a partner domain of the exports (those are the "
                    "domains of TLSSendDomainSecureList, TLSReceiveDomainSecureList and the "
                    "DomainSecureEnabled send connectors): " + (", ".join(known) or "none")
                )
        groups: dict[str, list[str]] = {}
        for domain in self.partner_domains():
            # woodgrovebank.com and woodgrovebank.co.uk: one partner organization.
            groups.setdefault(domain.split(".")[0], []).append(domain)
        for index, group in enumerate(groups.values()):
            group.sort(key=lambda d: (len(d.split(".")), d))
            domain = group[0]
            connector = self.connector_for(group, candidates)
            name = self.unique_name(domain)
            prefix = re.sub(r"[^A-Za-z0-9]", "", domain.split(".")[0]).upper()[:10] or "PARTNER"
            prefix = self.unique_prefix(prefix)
            block = 200 + index // 200
            slot = index % 200 + 1
            cas_address = f"127.{block}.{slot}.1"
            mbx_address = f"127.{block}.{slot}.2"
            notes: list[str] = []
            if connector is not None:
                source = self.source_address(connector)
                if source is None:
                    self.ctx.note(
                        f"partner {domain}",
                        connector.place("RemoteIPRanges"),
                        "no free address inside the remote IP ranges of "
                        f"{connector.text('Identity')}; the partner sends from its own address, "
                        "outside them",
                    )
                else:
                    mbx_address = source
                lab_server = self.builder.lab_server(
                    connector.text("Server"), connector.text("TransportRole")
                )
                notes.append(f"sends from {mbx_address}, inside {connector.text('Identity')}")
                if lab_server != mx_server:
                    self.ctx.note(
                        f"partner {domain}",
                        connector.place(),
                        f"its receive connector is on {lab_server}, but the lab's MX for "
                        f"{', '.join(self.domains)} is {mx_server}; mail from it arrives there",
                    )
            else:
                notes.append(
                    f"sends from {mbx_address} (no Partner receive connector in the exports)"
                )
            for partner_domain in group:
                outbound = self.outbound(partner_domain)
                if outbound is None:
                    continue
                obj, hosts = outbound
                for host in hosts:
                    if host.startswith("["):
                        cas_address = host.strip("[]")
                    elif host not in (a for a, _ in self.builder.a_records):
                        self.builder.a_records.append((host, cas_address))
                if hosts:
                    notes.append(
                        f"receives on the smart host(s) {', '.join(hosts)} of {obj.text('Name')}"
                    )
            root_name, root_file = next((roots[d] for d in group if d in roots), (None, None))
            outside = next(
                ((a, p) for d, a, p in self.ctx.options.outside if d.lower() in group), None
            )
            if outside is not None:
                self.plan_outside(group, name, outside, mbx_address, cas_address, root_file, notes)
                continue
            self.builder.used.update({cas_address, mbx_address})
            issuer = "own" if root_name else "public"
            if root_name:
                self.trusted_partner_roots.append(name)
                notes.append(
                    f"its certificates chain to a lab CA named {root_name!r} like the root in "
                    f"{Path(root_file or '').name}, trusted as a root by {self.org_name}"
                )
            fqdn = f"mail.{domain}"
            mbx_fqdn = f"{prefix.lower()}-mbx1.{domain}"
            servers = (
                ServerPlan(
                    f"{prefix}-CAS1",
                    "ClientAccess",
                    fqdn,
                    cas_address,
                    (_partner_certificate(fqdn, group, issuer),),
                ),
                ServerPlan(
                    f"{prefix}-MBX1",
                    "Mailbox",
                    mbx_fqdn,
                    mbx_address,
                    (_partner_certificate(mbx_fqdn, group, issuer),),
                ),
            )
            own_domains = ps_list(self.domains)
            setup = (
                f"Set-TransportConfig -TLSSendDomainSecureList {own_domains} "
                f"-TLSReceiveDomainSecureList {own_domains}",
                f"New-SendConnector -Name {ps_quote('To ' + self.org_name)} -Partner "
                f"-AddressSpaces {own_domains} -SourceTransportServers {prefix}-MBX1 "
                "-DomainSecureEnabled $true",
                f"New-ReceiveConnector -Name {ps_quote('From ' + self.org_name)} -Partner "
                f"-Server {prefix}-CAS1 -Bindings 0.0.0.0:25 "
                f"-RemoteIPRanges {ps_list(imported_addresses)}",
            )
            partners.append(
                OrganizationPlan(
                    name=name,
                    domains=tuple(group),
                    root_ca=root_name or f"{name} Root CA",
                    root_ca_subject=next(
                        (self.root_subjects[d] for d in group if d in self.root_subjects), None
                    ),
                    # One per domain, so that mail to and from each domain can be tried.
                    mailboxes=tuple((f"administrator@{d}", "Administrator") for d in group),
                    trusted_roots=("own", "public", self.org_name),
                    servers=servers,
                    setup=setup,
                    comment=(f"Simulated partner for {', '.join(group)}: " + "; ".join(notes),),
                )
            )
            self.summary.append(f"{', '.join(group)}: {name} — " + "; ".join(notes))
        answered = {name for name, _ in self.builder.a_records} | {
            f"[{server.address}]" for plan in partners for server in plan.servers
        }
        for obj, _spaces, dns, hosts, _sources in self.builder.send_info:
            for host in hosts if not dns else ():
                if host not in answered:
                    self.ctx.note(
                        f"smart host {host} of send connector {obj.text('Name')}",
                        obj.place("SmartHosts"),
                        "not a simulated partner's; nothing answers it in the lab, so mail "
                        "routed there stays queued (add an outside organization or a lab "
                        "organization for it)",
                    )
        for root in self.ctx.exports.roots:
            if not any(root.source == f for _, f in roots.values()):
                self.ctx.note(
                    f"root file {root.source}",
                    root.source,
                    "names no partner domain in its subject; not used (rename its CA or give "
                    "it as the only .cer)",
                )
        return partners

    def plan_outside(
        self,
        group: list[str],
        name: str,
        given: tuple[str | None, int],
        inside: str,
        cas_address: str,
        root_file: str | None,
        notes: list[str],
    ) -> None:
        """The partner as an outside organization: real mail software at address:port.

        Without an address it gets the one a simulated partner would send from (inside its
        Partner receive connector's ranges), so the software is picked by that connector.
        """
        address, port = given
        if address is None:
            address = inside
        try:
            parsed = ipaddress.IPv4Address(address)
        except ValueError:
            raise ImportInputError(
                f"--outside {group[0]}: '{address}' is not an IPv4 address; give "
                "DOMAIN=ADDRESS:PORT with a 127.x address, or DOMAIN=PORT"
            ) from None
        if parsed not in ipaddress.IPv4Network("127.0.0.0/8") or address in self.builder.used:
            raise ImportInputError(
                f"--outside {group[0]}: address {address} is outside 127.0.0.0/8 or taken by a "
                "lab host; give another loopback address, or DOMAIN=PORT to let labsim choose"
            )
        if not 1 <= port <= 65535:
            raise ImportInputError(f"--outside {group[0]}: port {port} is not 1 to 65535")
        self.builder.used.add(address)
        # Its smart host names point at the software's address, not at a simulated server.
        self.builder.a_records = [
            (host, address if target == cas_address else target)
            for host, target in self.builder.a_records
        ]
        roots: tuple[str, ...] = ()
        if root_file is not None:
            roots = (str(Path(root_file).resolve()),)
            self.builder.setup.append(
                f"Import-Certificate -FilePath {ps_quote(name + chr(92) + 'root-ca.cer')} "
                "-CertStoreLocation Cert:\\LocalMachine\\Root"
            )
        note = f"outside organization: real mail software at {address}:{port}"
        if address != inside:
            # The simulated partner's "sends from" note no longer holds.
            notes = [n for n in notes if not n.startswith("sends from")]
            self.ctx.note(
                f"outside organization {name}",
                "--outside",
                f"its software connects from {address}, which the lab did not choose: a "
                f"receive connector picks it by that address ({inside} is inside the ranges "
                "of its Partner receive connector)",
            )
        self.outside.append(
            OutsidePlan(name, tuple(group), address, port, roots, "; ".join([note, *notes]))
        )
        self.summary.append(f"{', '.join(group)}: {name} — " + "; ".join([note, *notes]))

    def outbound(self, domain: str) -> tuple[ExportObject, list[str]] | None:
        """The imported send connector that routes ``domain`` (most specific, lowest cost)."""
        best: tuple[int, int, ExportObject, list[str]] | None = None
        for obj, spaces, dns, hosts, _sources in self.builder.send_info:
            for space in spaces:
                body = space.split(":", 1)[-1]
                pattern, _, cost_text = body.partition(";")
                pattern = pattern.lower()
                cost = int(cost_text) if cost_text.strip().isdigit() else 1
                if pattern == domain:
                    score = 1000
                elif pattern.startswith("*.") and domain.endswith(pattern[1:]):
                    score = len(pattern)
                elif pattern == "*":
                    score = 0
                else:
                    continue
                if best is None or (score, -cost) > (best[0], -best[1]):
                    best = (score, cost, obj, [] if dns else hosts)
        if best is None:
            return None
        return best[2], best[3]

    def roots(self) -> dict[str, tuple[str, str]]:
        """Partner domain → (root CA name, file) for the ``.cer`` files given."""
        found: dict[str, tuple[str, str]] = {}
        domains = self.partner_domains()
        for root in self.ctx.exports.roots:
            certificate = root.certificates[0]
            subject = certificate.subject.rfc4514_string()
            cn = _attribute_of(certificate, "CN") or subject
            organization = _attribute_of(certificate, "O") or ""
            for domain in domains:
                label = domain.split(".")[0].lower()
                if (
                    label in cn.lower()
                    or label in organization.lower()
                    or label in Path(root.source).name.lower()
                ):
                    found.setdefault(domain, (cn[:64], root.source))
                    self.root_subjects.setdefault(domain, windows_name(certificate.subject))
        return found

    def unique_name(self, domain: str) -> str:
        base = domain.split(".")[0].capitalize()
        name = base
        number = 2
        while name.lower() in self.names:
            name = f"{base}{number}"
            number += 1
        self.names.add(name.lower())
        return name

    def unique_prefix(self, prefix: str) -> str:
        taken = {s.lower() for s in self.builder.addresses} | {
            n.lower() for n in getattr(self, "_prefixes", set())
        }
        base = prefix
        number = 2
        while f"{prefix}-cas1".lower() in taken:
            prefix = f"{base}{number}"
            number += 1
        self._prefixes = {*getattr(self, "_prefixes", set()), f"{prefix}-cas1", f"{prefix}-mbx1"}
        return prefix


def _partner_certificate(fqdn: str, domains: Sequence[str], issuer: str) -> CertificatePlan:
    return CertificatePlan(
        common_name=fqdn,
        dns_names=(fqdn, *domains),
        issuer=issuer,
        services=("SMTP",),
        eku=None,
        not_before_days=-1,
        valid_days=730,
        friendly_name=None,
    )


def _attribute_of(certificate: object, key: str) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    assert isinstance(certificate, x509.Certificate)
    oid = NameOID.COMMON_NAME if key == "CN" else NameOID.ORGANIZATION_NAME
    values = certificate.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def _contains(text: str, value: int) -> bool:
    if text in ("0.0.0.0-255.255.255.255", "0.0.0.0/0"):
        return True
    first, last = range_bounds(text)
    return first <= value <= last


def _size(text: str) -> int:
    first, last = range_bounds(text)
    return last - first + 1


def _address_key(address: str) -> int:
    return int(ipaddress.IPv4Address(address))


__all__ = [
    "CertificatePlan",
    "ImportOptions",
    "ImportResult",
    "OrganizationPlan",
    "ReportItem",
    "RootFile",
    "ServerPlan",
    "build_import",
]
