"""A lab definition: which organizations exist, their servers, mailboxes, PKI and DNS.

This is the input from which ``labsim.lab`` builds a running lab. The default lab of the
contract (``docs/scenarios.md``) is :func:`default_lab`; lab files
(``labsim.labfile``, documented in ``docs/lab-files.md``) produce the same records.

Besides the organizations labsim simulates, a lab may name *outside organizations*: real mail
software (Postfix, aiosmtpd, …) on a loopback address that plays a partner. The lab only
knows what DNS and a partner's admin would tell: its domains, its MX host and address, the
port its SMTP server listens on, and the root certificates its certificates chain to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from labsim.model.defaults import default_receive_connectors
from labsim.model.enums import FidelityProfile, ServerRole
from labsim.model.organization import AcceptedDomain, Mailbox, Organization, Server

PUBLIC_CA_NAME = "Lab Public Root CA"

ISSUER_OWN = "own"
"""Issuer keyword: the organization's own root CA."""
ISSUER_INTERMEDIATE = "intermediate"
"""Issuer keyword: the organization's issuing (intermediate) CA, signed by its root."""
ISSUER_PUBLIC = "public"
"""Issuer keyword (and trusted-root keyword): the lab-wide public CA."""
ISSUER_SELF = "self"
"""Issuer keyword: a self-signed certificate."""
ISSUER_KEYWORDS: tuple[str, ...] = (ISSUER_OWN, ISSUER_INTERMEDIATE, ISSUER_PUBLIC, ISSUER_SELF)
"""Issuer values that are not organization names (no organization may be named like them)."""

DEFAULT_TRUSTED_ROOTS: tuple[str, ...] = (ISSUER_OWN, ISSUER_PUBLIC)
"""What a server trusts unless told otherwise: its organization's root and the public CA."""


@dataclass(frozen=True)
class CertificateSpec:
    """A certificate a server holds in its personal store.

    ``issuer`` is ``"own"`` (the organization's root CA), ``"intermediate"`` (the organization's
    issuing CA under its root, created when a spec asks for it), ``"public"`` (the lab-wide
    public CA), an organization name (that organization's root CA), or ``"self"``
    (self-signed: issuer = subject ``CN=<common_name>``).

    Validity is relative to lab start: NotBefore = start + ``not_before_days`` days (negative:
    in the past), NotAfter = NotBefore + ``valid_days`` days. So ``not_before_days = -400,
    valid_days = 365`` is a certificate that expired 35 days ago, and ``not_before_days = 10`` one
    that is not yet valid. ``crl`` says whether the certificate carries its CA's CRL
    distribution point (a self-signed certificate never does). ``dns_names`` is exactly the SAN
    list (the common name is not added); ``eku`` empty means no EKU extension (any purpose).
    ``friendly_name`` defaults to the common name (self-signed: "Microsoft Exchange").
    """

    server: str
    common_name: str
    dns_names: tuple[str, ...] = ()
    issuer: str = ISSUER_OWN
    services: frozenset[str] = frozenset({"SMTP"})
    eku: tuple[str, ...] = ("serverAuth", "clientAuth")
    valid_days: int = 730
    not_before_days: int = -1
    crl: bool = True
    friendly_name: str | None = None
    # The exact subject as Windows shows it (``CN=mail.adatum.com, OU=IT``), replacing
    # ``CN=<common_name>, O=<issuer's organization>``: a stand-in for a production certificate.
    subject: str | None = None

    def validity(self, start: datetime) -> tuple[datetime, datetime]:
        """NotBefore and NotAfter for a lab started at ``start``."""
        not_before = start + timedelta(days=self.not_before_days)
        return not_before, not_before + timedelta(days=self.valid_days)


@dataclass(frozen=True)
class ServerTrust:
    """Exactly which root CAs one server's Trusted Root Certification Authorities store holds.

    Each entry is ``"own"`` (the organization's root), ``"public"`` (the lab's public CA) or an
    organization name (that organization's root). An empty tuple is a store trusting nothing.
    """

    server: str
    roots: tuple[str, ...]


@dataclass(frozen=True)
class OrganizationDefinition:
    """One organization of a lab: its configuration, its PKI, and its setup blocks."""

    organization: Organization
    root_ca_name: str
    certificates: tuple[CertificateSpec, ...] = ()
    # Roots each server trusts besides its own organization's and the public CA:
    # organization names whose root CA is pre-imported (default none: the walkthrough imports).
    # Applies to servers without a ServerTrust entry.
    extra_trusted_roots: tuple[str, ...] = ()
    # Per-server trusted roots; a server listed here trusts exactly these roots.
    trusted_roots: tuple[ServerTrust, ...] = ()
    # Name of the issuing CA made when a certificate asks for issuer "intermediate"
    # (None: "<Org> Issuing CA").
    intermediate_ca_name: str | None = None
    # Blocks of shell lines the lab runs, in order, once it is up (Lab.start).
    setup: tuple[str, ...] = ()
    # The root CA's exact subject as Windows shows it (``CN=Contoso CA, DC=contoso, DC=com``),
    # replacing ``CN=<root_ca_name>, O=<organization name>``: a stand-in for a production CA.
    root_ca_subject: str | None = None

    @property
    def issuing_ca_name(self) -> str:
        """The common name of the organization's intermediate CA."""
        return self.intermediate_ca_name or f"{self.organization.name} Issuing CA"

    @property
    def needs_intermediate(self) -> bool:
        """True when a certificate of this organization is issued by its intermediate CA."""
        return any(spec.issuer == ISSUER_INTERMEDIATE for spec in self.certificates)

    def roots_trusted_by(self, server: str) -> tuple[str, ...]:
        """The root CAs ``server`` trusts at lab start (keywords and organization names)."""
        for trust in self.trusted_roots:
            if trust.server.lower() == server.lower():
                return trust.roots
        return (*DEFAULT_TRUSTED_ROOTS, *self.extra_trusted_roots)


@dataclass(frozen=True)
class MxRecord:
    """An MX record of the lab DNS zone."""

    domain: str
    exchange: str
    preference: int = 10


OUTSIDE_ROOT_FILE = "root-ca.cer"
"""The first root file of an outside organization in the lab's certificate folder (the same name
as a simulated organization's root, so ``Import-Certificate -FilePath <Org>\\root-ca.cer`` works
for both); further roots are ``root-ca-2.cer``, ``root-ca-3.cer``, …"""


@dataclass(frozen=True)
class OutsideRoot:
    """One root file an outside organization's admin handed over: where the lab file named it,
    and its bytes exactly as read (copied as they are, so Import-Certificate reads what the
    partner sent: one certificate, a PEM bundle or a PKCS #7 file)."""

    source: str
    data: bytes


@dataclass(frozen=True)
class OutsideOrganization:
    """An organization labsim does not simulate: a real SMTP server at ``address``:``port``.

    The lab DNS answers MX ``mx_host`` (preference 10) for each domain and A ``mx_host`` →
    ``address``. ``port`` is the real TCP port of its SMTP server (no lab port offset): every
    SMTP session the lab opens to ``address`` goes there (``labsim.net.loopback``). Its roots
    are written to ``<certificate folder>/<name>/`` under :meth:`root_file_names`.
    """

    name: str
    domains: tuple[str, ...]
    address: str
    port: int
    mx_host: str
    roots: tuple[OutsideRoot, ...] = ()

    def root_file_names(self) -> tuple[str, ...]:
        """File names of the roots in the certificate folder, in lab-file order."""
        stem, dot, suffix = OUTSIDE_ROOT_FILE.rpartition(".")
        return tuple(
            OUTSIDE_ROOT_FILE if number == 1 else f"{stem}-{number}{dot}{suffix}"
            for number in range(1, len(self.roots) + 1)
        )

    def mx_records(self) -> tuple[MxRecord, ...]:
        """The MX record of each of its domains."""
        return tuple(MxRecord(domain, self.mx_host) for domain in self.domains)

    def holds_domain(self, domain: str) -> bool:
        """Whether ``domain`` is one of its domains (case-insensitive)."""
        return domain.lower() in (d.lower() for d in self.domains)


@dataclass(frozen=True)
class LabDefinition:
    """A whole lab.

    ``source`` is the lab file it was read from (None for a built-in lab), for messages.
    """

    name: str
    organizations: tuple[OrganizationDefinition, ...]
    mx_records: tuple[MxRecord, ...] = ()
    profile: FidelityProfile = FidelityProfile.EXCHANGE2013
    extra_a_records: tuple[tuple[str, str], ...] = field(default=())
    source: str | None = None
    outside_organizations: tuple[OutsideOrganization, ...] = ()

    def organization(self, name: str) -> OrganizationDefinition | None:
        """The organization with this name (case-insensitive)."""
        for o in self.organizations:
            if o.organization.name.lower() == name.lower():
                return o
        return None

    def outside_organization(self, name: str) -> OutsideOrganization | None:
        """The outside organization with this name (case-insensitive)."""
        for o in self.outside_organizations:
            if o.name.lower() == name.lower():
                return o
        return None

    def outside_organization_of(self, address: str) -> OutsideOrganization | None:
        """The outside organization whose domain an email address (or a bare domain) is in."""
        domain = address.rpartition("@")[2]
        for o in self.outside_organizations:
            if o.holds_domain(domain):
                return o
        return None

    def dns_mx_records(self) -> tuple[MxRecord, ...]:
        """Every MX record of the lab zone: the simulated domains' and the outside ones'."""
        return self.mx_records + tuple(
            mx for o in self.outside_organizations for mx in o.mx_records()
        )

    def dns_a_records(self) -> tuple[tuple[str, str], ...]:
        """The A records the lab file adds to its servers' and CRL hosts': ``[[a_records]]``
        and each outside organization's MX host."""
        return self.extra_a_records + tuple(
            (o.mx_host, o.address) for o in self.outside_organizations
        )

    def outside_smtp_ports(self) -> dict[str, int]:
        """Address → real SMTP port of each outside organization (for the network)."""
        return {o.address: o.port for o in self.outside_organizations}


def _org(
    name: str,
    domain: str,
    prefix: str,
    cas_fqdn: str,
    net: str,
    users: tuple[str, ...],
) -> OrganizationDefinition:
    cas = Server(
        name=f"{prefix}-CAS1", fqdn=cas_fqdn, role=ServerRole.CLIENT_ACCESS, address=f"{net}.1"
    )
    mbx = Server(
        name=f"{prefix}-MBX1",
        fqdn=f"{prefix.lower()}-mbx1.{domain}",
        role=ServerRole.MAILBOX,
        address=f"{net}.2",
    )
    mailboxes = tuple(Mailbox(f"{u}@{domain}", u.capitalize()) for u in users)
    org = Organization(
        name=name,
        accepted_domains=(AcceptedDomain(domain, default=True),),
        servers=(cas, mbx),
        mailboxes=mailboxes,
        receive_connectors=default_receive_connectors(cas) + default_receive_connectors(mbx),
    )
    return OrganizationDefinition(
        organization=org,
        root_ca_name=f"{name} Root CA",
        certificates=(
            # NotBefore one day before lab start, NotAfter 730 days after it.
            CertificateSpec(
                server=cas.name,
                common_name=cas.fqdn,
                dns_names=(cas.fqdn, domain),
                valid_days=731,
            ),
        ),
    )


def default_lab() -> LabDefinition:
    """The built-in lab of the contract: Adatum and TreyResearch, Domain Security not configured."""
    adatum = _org(
        "Adatum",
        "adatum.com",
        "ADATUM",
        "mail.adatum.com",
        "127.0.10",
        ("administrator", "april", "ed"),
    )
    trey = _org(
        "TreyResearch",
        "treyresearch.net",
        "TREY",
        "mail.treyresearch.net",
        "127.0.20",
        ("administrator", "ben", "terry"),
    )
    return LabDefinition(
        name="default",
        organizations=(adatum, trey),
        mx_records=(
            MxRecord("adatum.com", "mail.adatum.com"),
            MxRecord("treyresearch.net", "mail.treyresearch.net"),
        ),
    )
