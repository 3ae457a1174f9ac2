"""Loading lab files: the shipped examples, the documentation's example, and what each key
becomes in the lab definition (labsim.labfile, docs/lab-files.md)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from labsim.labfile import load_lab_file
from labsim.model.enums import FidelityProfile, ServerRole
from labsim.model.lab import CertificateSpec, LabDefinition, MxRecord, ServerTrust, default_lab
from labsim.model.organization import Mailbox
from labsim.model.transport import TransportService
from labsim.pki.ca import create_root_ca

ROOT = Path(__file__).resolve().parents[2]
LABS = ROOT / "labs"
DOC = ROOT / "docs" / "lab-files.md"


def doc_example() -> str:
    """The TOML block under "## A complete example" in docs/lab-files.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A complete example", 1)[1]
    match = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def write_doc_example(folder: Path) -> Path:
    """The documentation's example as ``example.toml`` in ``folder``, with the root file its
    outside organization names (a root CA certificate made here)."""
    ca = create_root_ca("Fabrikam Root CA", organization="Fabrikam", at=datetime.now(UTC))
    (folder / "fabrikam-root.pem").write_bytes(
        ca.certificate.public_bytes(serialization.Encoding.PEM)
    )
    path = folder / "example.toml"
    path.write_text(doc_example(), encoding="utf-8")
    return path


def org(definition: LabDefinition, name: str):  # type: ignore[no-untyped-def]
    found = definition.organization(name)
    assert found is not None
    return found


def without_guids(definition: LabDefinition) -> LabDefinition:
    """The definition with every receive connector's (random) GUID blanked."""
    orgs = tuple(
        replace(
            o,
            organization=replace(
                o.organization,
                receive_connectors=tuple(
                    replace(c, guid="") for c in o.organization.receive_connectors
                ),
            ),
        )
        for o in definition.organizations
    )
    return replace(definition, organizations=orgs)


@pytest.mark.parametrize("path", sorted(LABS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_lab_file_loads(path: Path) -> None:
    definition = load_lab_file(path)
    assert definition.name == path.stem
    assert definition.source == str(path)
    names = [o.organization.name for o in definition.organizations]
    assert len(names) >= 2 and len(set(names)) == len(names)


def test_the_documentation_example_loads(tmp_path: Path) -> None:
    definition = load_lab_file(write_doc_example(tmp_path))
    assert definition.name == "example"
    adatum = org(definition, "Adatum")
    assert adatum.root_ca_name == "Adatum Root CA"
    assert adatum.issuing_ca_name == "Adatum Issuing CA"
    assert [m.primary_smtp_address for m in adatum.organization.mailboxes] == [
        "administrator@adatum.com",
        "april@adatum.net",
        "ed@adatum.com",
    ]
    assert adatum.organization.mailboxes[2].display_name == "Ed Meadows"
    assert adatum.roots_trusted_by("ADATUM-CAS1") == ("own", "public", "TreyResearch")
    assert adatum.roots_trusted_by("ADATUM-MBX1") == ("own", "public")
    mbx = adatum.organization.server("ADATUM-MBX1")
    assert mbx is not None
    assert mbx.transport_service.message_expiration_timeout == timedelta(days=1)
    assert mbx.transport_service.message_retry_interval == timedelta(minutes=5)
    assert mbx.transport_service.queue_max_idle_time == TransportService().queue_max_idle_time
    assert definition.mx_records == (
        MxRecord("treyresearch.net", "mail.treyresearch.net", 10),
        MxRecord("treyresearch.net", "backup.treyresearch.net", 20),
        MxRecord("adatum.com", "mail.adatum.com", 10),
        MxRecord("adatum.net", "mail.adatum.com", 10),
    )
    assert definition.extra_a_records == (("backup.treyresearch.net", "127.0.20.99"),)
    (fabrikam,) = definition.outside_organizations
    assert (fabrikam.name, fabrikam.domains, fabrikam.address, fabrikam.port) == (
        "Fabrikam",
        ("fabrikam.org",),
        "127.0.40.1",
        2525,
    )
    assert fabrikam.mx_host == "mail.fabrikam.org"
    assert [root.source for root in fabrikam.roots] == [str(tmp_path / "fabrikam-root.pem")]


def test_a_lab_file_of_the_default_lab_gives_the_default_lab(tmp_path: Path) -> None:
    path = tmp_path / "again.toml"
    path.write_text(
        """
[[organizations]]
name = "Adatum"
domains = ["adatum.com"]
mailboxes = ["administrator", "april", "ed"]
[[organizations.servers]]
name = "ADATUM-CAS1"
role = "ClientAccess"
fqdn = "mail.adatum.com"
address = "127.0.10.1"
[[organizations.servers.certificates]]
common_name = "mail.adatum.com"
dns_names = ["mail.adatum.com", "adatum.com"]
valid_days = 731
[[organizations.servers]]
name = "ADATUM-MBX1"
role = "Mailbox"
fqdn = "adatum-mbx1.adatum.com"
address = "127.0.10.2"

[[organizations]]
name = "TreyResearch"
domains = ["treyresearch.net"]
mailboxes = ["administrator", "ben", "terry"]
[[organizations.servers]]
name = "TREY-CAS1"
role = "ClientAccess"
fqdn = "mail.treyresearch.net"
address = "127.0.20.1"
[[organizations.servers.certificates]]
common_name = "mail.treyresearch.net"
dns_names = ["mail.treyresearch.net", "treyresearch.net"]
valid_days = 731
[[organizations.servers]]
name = "TREY-MBX1"
role = "Mailbox"
fqdn = "trey-mbx1.treyresearch.net"
address = "127.0.20.2"
""",
        encoding="utf-8",
    )
    loaded = load_lab_file(path)
    default = default_lab()
    assert without_guids(loaded).organizations == without_guids(default).organizations
    assert loaded.mx_records == default.mx_records
    assert loaded.profile is default.profile
    assert loaded.extra_a_records == default.extra_a_records


def test_default_lab_is_unchanged() -> None:
    lab = default_lab()
    assert lab.name == "default" and lab.source is None
    adatum = org(lab, "Adatum")
    (spec,) = adatum.certificates
    assert spec == CertificateSpec(
        server="ADATUM-CAS1",
        common_name="mail.adatum.com",
        dns_names=("mail.adatum.com", "adatum.com"),
        valid_days=731,
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # As before lab files: NotBefore one day before lab start, NotAfter 730 days after it.
    assert spec.validity(start) == (start - timedelta(days=1), start + timedelta(days=730))
    assert adatum.roots_trusted_by("ADATUM-CAS1") == ("own", "public")
    assert adatum.trusted_roots == () and adatum.setup == () and not adatum.needs_intermediate


def test_three_orgs_lab_expresses_every_certificate_kind() -> None:
    definition = load_lab_file(LABS / "three-orgs.toml")
    assert definition.profile is FidelityProfile.EXCHANGE2013
    specs = {
        (s.server, s.friendly_name or s.common_name): s
        for o in definition.organizations
        for s in o.certificates
    }
    assert specs["ADATUM-MBX1", "Adatum MBX1 (issuing CA)"].issuer == "intermediate"
    expired = specs["TREY-MBX1", "Trey MBX1 (expired)"]
    assert (expired.not_before_days, expired.valid_days) == (-400, 365)
    assert specs["TREY-MBX1", "Trey MBX1 (not yet valid)"].not_before_days == 30
    no_cdp = specs["FAB-MBX1", "Fabrikam MBX1 (no CDP)"]
    assert (no_cdp.crl, no_cdp.eku) == (False, ("serverAuth",))
    assert specs["FAB-MBX1", "Fabrikam MBX1 (self-signed)"].issuer == "self"
    public = specs["FAB-CAS1", "mail.fabrikam.com"]
    assert (public.issuer, public.services) == ("public", frozenset({"SMTP", "IIS"}))
    fabrikam = org(definition, "Fabrikam")
    assert fabrikam.trusted_roots == (
        ServerTrust("FAB-CAS1", ("own", "public", "Adatum")),
        ServerTrust("FAB-MBX1", ("own", "public", "Adatum")),
    )
    assert fabrikam.organization.mailbox("kim@fabrikam.net") == Mailbox(
        "kim@fabrikam.net", "Kim Akers"
    )
    assert len(fabrikam.setup) == 1 and "New-SendConnector" in fabrikam.setup[0]
    assert [s.role for s in fabrikam.organization.servers] == [
        ServerRole.CLIENT_ACCESS,
        ServerRole.MAILBOX,
    ]
    assert {c.name for c in fabrikam.organization.receive_connectors} == {
        "Default Frontend FAB-CAS1",
        "Outbound Proxy Frontend FAB-CAS1",
        "Client Frontend FAB-CAS1",
        "Default FAB-MBX1",
        "Client Proxy FAB-MBX1",
    }
    assert MxRecord("fabrikam.com", "smtp.fabrikam.com", 20) in definition.mx_records
    assert MxRecord("fabrikam.net", "mail.fabrikam.com", 10) in definition.mx_records


def test_hosted_filtering_lab_points_the_partner_mx_at_the_service() -> None:
    definition = load_lab_file(LABS / "hosted-filtering.toml")
    assert (
        MxRecord("fabrikam.com", "fabrikam-com.mail.protection.contoso-online.test")
        in definition.mx_records
    )
    service = org(definition, "Contoso Online Protection")
    (spec,) = [s for s in service.certificates if s.server == "CONTOSO-EOP1"]
    assert spec.issuer == "public"
    assert spec.dns_names == (
        "mail.protection.contoso-online.test",
        "*.mail.protection.contoso-online.test",
    )
    assert not any("fabrikam" in name for name in (spec.common_name, *spec.dns_names))


def test_single_strings_and_case_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "small.toml"
    path.write_text(
        """
profile = "Exchange2010"
[[organizations]]
name = "Adatum"
domains = "Adatum.com"
setup = "Get-TransportConfig"
[[organizations.servers]]
name = "ADATUM-CAS1"
role = "clientaccess"
fqdn = "Mail.Adatum.com"
address = "127.0.10.1"
[[organizations.servers.certificates]]
common_name = "mail.adatum.com"
issuer = "ADATUM"
services = ["smtp"]
[[organizations.servers]]
name = "ADATUM-MBX1"
role = "Mailbox"
fqdn = "adatum-mbx1.adatum.com"
address = "127.0.10.2"
""",
        encoding="utf-8",
    )
    definition = load_lab_file(path)
    adatum = org(definition, "Adatum")
    assert definition.profile is FidelityProfile.EXCHANGE2010
    assert adatum.organization.default_domain == "adatum.com"
    assert adatum.setup == ("Get-TransportConfig",)
    assert adatum.organization.servers[0].fqdn == "mail.adatum.com"
    assert adatum.certificates[0].issuer == "Adatum"
    assert adatum.certificates[0].services == frozenset({"SMTP"})
