"""Real labs built from lab files: the certificate stores hold exactly what the file describes,
setup blocks run, and scenarios name lab files (labsim.lab Lab.start, labsim.scenario.loader)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsim.errors import ConfigError, ScenarioError
from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.model.lab import default_lab
from labsim.pki.certificate import ExchangeCertificate
from labsim.scenario.loader import load_scenario

LABS = Path(__file__).resolve().parents[2] / "labs"


@pytest.fixture(scope="module")
def three_orgs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    lab = Lab.start(
        load_lab_file(LABS / "three-orgs.toml"), cert_folder=tmp_path_factory.mktemp("certs")
    )
    try:
        yield lab
    finally:
        lab.stop()


def cert(lab: Lab, server: str, friendly_name: str) -> ExchangeCertificate:
    (found,) = [
        c for c in lab.certificate_store(server).personal() if c.friendly_name == friendly_name
    ]
    return found


def cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def cdp(certificate: x509.Certificate) -> list[str]:
    try:
        ext = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return []
    return [str(name.value) for point in ext.value for name in point.full_name or ()]


def sans(certificate: x509.Certificate) -> list[str]:
    ext = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return ext.value.get_values_for_type(x509.DNSName)


def test_intermediate_chain(three_orgs: Lab) -> None:
    leaf = cert(three_orgs, "ADATUM-MBX1", "Adatum MBX1 (issuing CA)")
    assert cn(leaf.certificate.issuer) == "Adatum Issuing CA"
    (intermediate,) = leaf.chain
    assert cn(intermediate.subject) == "Adatum Issuing CA"
    assert cn(intermediate.issuer) == "Adatum Root CA"
    assert cdp(leaf.certificate) == ["http://crl.adatum.com/AdatumIssuingCA.crl"]
    assert cdp(intermediate) == ["http://crl.adatum.com/AdatumRootCA.crl"]
    assert sans(leaf.certificate) == ["adatum-mbx1.adatum.com", "adatum.com"]
    # The issuing CA is a lab CA: Revoke-LabCertificate finds it.
    assert leaf.certificate.issuer in {
        ca.certificate.subject for ca in three_orgs.authorities.values()
    }


def test_expired_and_not_yet_valid(three_orgs: Lab) -> None:
    now = three_orgs.now()
    expired = cert(three_orgs, "TREY-MBX1", "Trey MBX1 (expired)")
    assert expired.not_after < now
    assert (expired.not_after - expired.not_before).days == 365
    future = cert(three_orgs, "TREY-MBX1", "Trey MBX1 (not yet valid)")
    assert future.not_before > now
    assert round((future.not_before - now).total_seconds() / 86400) == 30


def test_no_cdp_and_eku(three_orgs: Lab) -> None:
    no_cdp = cert(three_orgs, "FAB-MBX1", "Fabrikam MBX1 (no CDP)")
    assert cn(no_cdp.certificate.issuer) == "Fabrikam Root CA"
    assert cdp(no_cdp.certificate) == []
    eku = no_cdp.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert list(eku.value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    # The other CA-issued certificates carry their CA's distribution point.
    trey = cert(three_orgs, "TREY-CAS1", "mail.treyresearch.net")
    assert cdp(trey.certificate) == ["http://crl.treyresearch.net/TreyResearchRootCA.crl"]


def test_self_signed(three_orgs: Lab) -> None:
    own = cert(three_orgs, "FAB-MBX1", "Fabrikam MBX1 (self-signed)")
    assert own.certificate.issuer == own.certificate.subject
    assert cn(own.certificate.subject) == "fab-mbx1.fabrikam.com"
    assert sans(own.certificate) == ["fab-mbx1.fabrikam.com", "fabrikam.com"]
    assert own.services == frozenset({"SMTP"}) and own.chain == ()
    assert cdp(own.certificate) == []


def test_public_ca_and_exchange_default_certificates(three_orgs: Lab) -> None:
    public = cert(three_orgs, "FAB-CAS1", "mail.fabrikam.com")
    assert cn(public.certificate.issuer) == "Lab Public Root CA"
    assert public.services == frozenset({"SMTP", "IIS"})
    assert sans(public.certificate) == ["mail.fabrikam.com", "fabrikam.com", "fabrikam.net"]
    for server in ("ADATUM-CAS1", "TREY-MBX1", "FAB-MBX1"):
        assert cert(three_orgs, server, "Microsoft Exchange").certificate.subject == x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, server)]
        )


def test_trusted_roots_per_server(three_orgs: Lab) -> None:
    def roots(server: str) -> list[str]:
        return [cn(r.subject) for r in three_orgs.certificate_store(server).trusted_roots()]

    assert roots("ADATUM-CAS1") == ["Adatum Root CA", "Lab Public Root CA"]
    assert roots("TREY-CAS1") == ["TreyResearch Root CA", "Lab Public Root CA"]
    assert roots("TREY-MBX1") == ["TreyResearch Root CA", "Lab Public Root CA", "Adatum Root CA"]
    assert roots("FAB-CAS1") == ["Fabrikam Root CA", "Lab Public Root CA", "Adatum Root CA"]


def test_transport_timers_and_setup_block(three_orgs: Lab) -> None:
    result = three_orgs.run_shell(
        "Fabrikam", "Get-TransportService FAB-MBX1 | Format-List MessageRetryInterval,Message*"
    )
    assert "00:05:00" in result.output and "1.00:00:00" in result.output
    assert three_orgs.organization("Fabrikam").send_connector("To Internet") is not None
    assert three_orgs.organization("Adatum").send_connectors == ()


def test_mail_flows_through_the_setup_connector(three_orgs: Lab) -> None:
    three_orgs.send(mail_from="kim@fabrikam.net", to=["april@adatum.com"], subject="Hi Adatum")
    (message,) = [m for m in three_orgs.inbox("april@adatum.com") if m.subject == "Hi Adatum"]
    assert message.mail_from == "kim@fabrikam.net"


def test_hosted_filtering_partner_fails_with_subject_mismatch(tmp_path: Path) -> None:
    lab = Lab.start(load_lab_file(LABS / "hosted-filtering.toml"), cert_folder=tmp_path)
    try:
        lab.run_shell(
            "Adatum",
            "Set-TransportConfig -TLSSendDomainSecureList fabrikam.com\n"
            'Set-SendConnector "To Internet" -DomainSecureEnabled $true',
        )
        lab.send(mail_from="april@adatum.com", to=["jamie@fabrikam.com"], subject="Hi Fabrikam")
        (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "fabrikam.com"]
        assert queue.status.value == "Retry"
        assert "454 4.7.5 Certificate validation failure" in queue.last_error
        assert "FQDN=fabrikam-com.mail.protection.contoso-online.test" in queue.last_error
        assert any("SubjectMismatch" in line for line in lab.explain())
    finally:
        lab.stop()


def test_a_failing_setup_block_stops_the_lab_with_one_message(tmp_path: Path) -> None:
    base = default_lab()
    trey = replace(base.organizations[1], setup=("Get-TransportConfig", "Get-Nothing -Now"))
    definition = replace(
        base, organizations=(base.organizations[0], trey), source="labs/broken.toml"
    )
    with pytest.raises(ConfigError) as caught:
        Lab.start(definition, cert_folder=tmp_path, port_offset=None)
    text = str(caught.value)
    assert text.startswith("labs/broken.toml: organizations[1] (TreyResearch).setup[1]: ")
    assert "Get-Nothing" in text and text.endswith("; fix this setup block")
    # The lab released its sockets: the same definition without the bad block starts.
    good = replace(definition, organizations=(base.organizations[0], base.organizations[1]))
    Lab.start(good, cert_folder=tmp_path).stop()


def write_scenario(tmp_path: Path, body: str) -> Path:
    (tmp_path / "labs").mkdir()
    shutil.copy(LABS / "three-orgs.toml", tmp_path / "labs" / "three-orgs.toml")
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "x.toml"
    path.write_text('lab = "../labs/three-orgs.toml"\n' + body, encoding="utf-8")
    return path


def test_a_scenario_names_a_lab_file_relative_to_itself(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        """
[[step]]
org = "Fabrikam"
server = "fab-cas1"
ems = "Get-ExchangeCertificate"
[[step]]
expect.output = "mail.fabrikam.com"
""",
    )
    scenario = load_scenario(path)
    assert scenario.lab == "../labs/three-orgs.toml"
    assert scenario.definition.name == "three-orgs"
    assert [o.organization.name for o in scenario.definition.organizations] == [
        "Adatum",
        "TreyResearch",
        "Fabrikam",
    ]
    assert scenario.steps[0].server == "FAB-CAS1"  # type: ignore[attr-defined]


def test_scenario_names_are_checked_against_the_lab_file(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, '[[step]]\norg = "Fabrikm"\nems = "Get-TransportConfig"\n')
    with pytest.raises(ScenarioError, match=r"no organization 'Fabrikm'.*did you mean 'Fabrikam'"):
        load_scenario(path)


def test_an_invalid_lab_file_fails_the_scenario_with_the_lab_files_message(
    tmp_path: Path,
) -> None:
    path = write_scenario(tmp_path, '[[step]]\nadvance = "1m"\n')
    lab_file = tmp_path / "labs" / "three-orgs.toml"
    lab_file.write_text(
        lab_file.read_text(encoding="utf-8").replace('address = "127.0.30.2"', 'adress = "x"'),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{lab_file}: organizations[2] (Fabrikam).servers[1] (FAB-MBX1): unknown key 'adress'; "
        "did you mean 'address'?"
    )


def test_the_documentation_example_starts(tmp_path: Path) -> None:
    # Same folder, on sys.path (rootdir import mode).
    from test_labfile_load import write_doc_example

    lab = Lab.start(load_lab_file(write_doc_example(tmp_path)), cert_folder=tmp_path / "certs")
    try:
        assert lab.organization("Adatum").send_connector("To Internet") is not None
        expired = cert(lab, "TREY-CAS1", "mail.treyresearch.net")
        assert expired.not_after < lab.now()
        leaf = cert(lab, "ADATUM-MBX1", "adatum-mbx1.adatum.com")
        assert [cn(c.subject) for c in leaf.chain] == ["Adatum Issuing CA"]
        assert (lab.cert_folder / "Fabrikam" / "root-ca.cer").read_bytes() == (
            tmp_path / "fabrikam-root.pem"
        ).read_bytes()
    finally:
        lab.stop()
