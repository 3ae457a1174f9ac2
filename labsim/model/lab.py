"""A lab definition: which organizations exist, their servers, mailboxes, PKI and DNS.

This is the input from which ``labsim.lab`` builds a running lab. The default lab of the
contract (``../shared/contracts/scenarios.md``) is :func:`default_lab`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labsim.model.defaults import default_receive_connectors
from labsim.model.enums import FidelityProfile, ServerRole
from labsim.model.organization import AcceptedDomain, Mailbox, Organization, Server

PUBLIC_CA_NAME = "Lab Public Root CA"


@dataclass(frozen=True)
class CertificateSpec:
    """A certificate a server holds in its personal store.

    ``issuer`` is ``"own"`` (the organization's root CA), ``"public"`` (the lab-wide public CA),
    an organization name (that organization's CA), or ``"self"`` (self-signed).
    """

    server: str
    common_name: str
    dns_names: tuple[str, ...] = ()
    issuer: str = "own"
    services: frozenset[str] = frozenset({"SMTP"})
    eku: tuple[str, ...] = ("serverAuth", "clientAuth")
    valid_days: int = 730


@dataclass(frozen=True)
class OrganizationDefinition:
    """One organization of a lab: its configuration plus its PKI."""

    organization: Organization
    root_ca_name: str
    certificates: tuple[CertificateSpec, ...] = ()
    # Roots each server trusts besides its own organization's and the public CA:
    # organization names whose root CA is pre-imported (default none: the walkthrough imports).
    extra_trusted_roots: tuple[str, ...] = ()


@dataclass(frozen=True)
class MxRecord:
    """An MX record of the lab DNS zone."""

    domain: str
    exchange: str
    preference: int = 10


@dataclass(frozen=True)
class LabDefinition:
    """A whole lab."""

    name: str
    organizations: tuple[OrganizationDefinition, ...]
    mx_records: tuple[MxRecord, ...] = ()
    profile: FidelityProfile = FidelityProfile.EXCHANGE2013
    extra_a_records: tuple[tuple[str, str], ...] = field(default=())

    def organization(self, name: str) -> OrganizationDefinition | None:
        """The organization with this name (case-insensitive)."""
        for o in self.organizations:
            if o.organization.name.lower() == name.lower():
                return o
        return None


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
            CertificateSpec(server=cas.name, common_name=cas.fqdn, dns_names=(cas.fqdn, domain)),
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
