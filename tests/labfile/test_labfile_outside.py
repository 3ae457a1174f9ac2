"""Outside organizations in lab files: what each key becomes, the defaults, the root files (read
and checked when the file loads, copied when the lab starts), the lab DNS answers, and the
places where the lab refuses to pretend it holds their mail (docs/lab-files.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from labsim.errors import ConfigError, ScenarioError
from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.model.lab import MxRecord, OutsideOrganization, OutsideRoot
from labsim.pki.ca import create_root_ca
from labsim.reactor import wait_for
from labsim.scenario.loader import load_scenario

SIMULATED = """
[[organizations]]
name = "Adatum"
domains = ["adatum.com"]
mailboxes = ["april"]

[[organizations.servers]]
name = "ADATUM-CAS1"
role = "ClientAccess"
fqdn = "mail.adatum.com"
address = "127.0.10.1"

[[organizations.servers]]
name = "ADATUM-MBX1"
role = "Mailbox"
fqdn = "adatum-mbx1.adatum.com"
address = "127.0.10.2"
"""

FABRIKAM = """
[[outside_organizations]]
name = "Fabrikam"
domains = ["Fabrikam.org", "fabrikam.net"]
address = "127.0.40.1"
port = 2525
"""
WHERE = "outside_organizations[0] (Fabrikam)"


def root_pem(name: str) -> bytes:
    ca = create_root_ca(name, organization="Fabrikam", at=datetime.now(UTC))
    return ca.certificate.public_bytes(serialization.Encoding.PEM)


def write_lab(folder: Path, text: str) -> Path:
    path = folder / "lab.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_outside_organization_and_its_defaults(tmp_path: Path) -> None:
    definition = load_lab_file(write_lab(tmp_path, SIMULATED + FABRIKAM))

    (fabrikam,) = definition.outside_organizations
    assert fabrikam == OutsideOrganization(
        name="Fabrikam",
        domains=("fabrikam.org", "fabrikam.net"),
        address="127.0.40.1",
        port=2525,
        mx_host="mail.fabrikam.org",  # mail.<first domain>
        roots=(),
    )
    assert definition.organization("Fabrikam") is None  # not simulated
    assert definition.outside_organization("FABRIKAM") == fabrikam
    assert definition.outside_organization_of("ben@FABRIKAM.net") == fabrikam
    assert definition.outside_organization_of("april@adatum.com") is None
    # No MX of the simulated kind: the lab file's own records stay as they were …
    assert MxRecord("fabrikam.org", "mail.fabrikam.org") not in definition.mx_records
    # … and the zone gets the outside organization's MX and A records.
    assert definition.dns_mx_records()[-2:] == (
        MxRecord("fabrikam.org", "mail.fabrikam.org", 10),
        MxRecord("fabrikam.net", "mail.fabrikam.org", 10),
    )
    assert ("mail.fabrikam.org", "127.0.40.1") in definition.dns_a_records()
    assert definition.outside_smtp_ports() == {"127.0.40.1": 2525}


def test_mx_host_and_roots_relative_to_the_lab_file(tmp_path: Path) -> None:
    (tmp_path / "partner").mkdir()
    first, second = root_pem("Fabrikam Root CA"), root_pem("Fabrikam Root CA 2")
    (tmp_path / "partner" / "root.pem").write_bytes(first)
    elsewhere = tmp_path / "elsewhere.cer"
    elsewhere.write_bytes(second)
    text = FABRIKAM.replace(
        "port = 2525",
        f'port = 25\nmx_host = "MX1.fabrikam.org"\nroots = ["partner/root.pem", "{elsewhere}"]',
    )
    definition = load_lab_file(write_lab(tmp_path, SIMULATED + text))

    (fabrikam,) = definition.outside_organizations
    assert (fabrikam.port, fabrikam.mx_host) == (25, "mx1.fabrikam.org")
    assert fabrikam.roots == (
        OutsideRoot(str(tmp_path / "partner" / "root.pem"), first),
        OutsideRoot(str(elsewhere), second),
    )
    assert fabrikam.root_file_names() == ("root-ca.cer", "root-ca-2.cer")


def test_an_mx_record_of_a_simulated_domain_may_name_the_outside_host(tmp_path: Path) -> None:
    # A real filtering service in front of a simulated organization.
    text = (
        SIMULATED + FABRIKAM + '[[mx_records]]\ndomain = "adatum.com"\nhost = "mail.fabrikam.org"\n'
    )
    definition = load_lab_file(write_lab(tmp_path, text))
    assert definition.mx_records == (MxRecord("adatum.com", "mail.fabrikam.org"),)


@pytest.mark.parametrize(
    ("contents", "problem"),
    [
        (
            None,
            "file 'fabrikam-root.pem' was not found (looked for {path}); give the root CA "
            "certificate file its server's certificates chain to, as a path relative to the lab "
            "file",
        ),
        (
            b"not a certificate",
            "'fabrikam-root.pem' is not a certificate in PEM, DER or PKCS #7 "
            "form; export the root CA certificate again as Base64 (.cer, PEM), DER or PKCS #7 "
            "(.p7b)",
        ),
        (
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "'fabrikam-root.pem' holds no CERTIFICATE block (a key or a request?); export the root "
            "CA certificate again as Base64 (.cer, PEM), DER or PKCS #7 (.p7b)",
        ),
    ],
    ids=["missing", "not-a-certificate", "a-key"],
)
def test_a_root_file_that_cannot_be_used_is_one_message(
    tmp_path: Path, contents: bytes | None, problem: str
) -> None:
    path = tmp_path / "fabrikam-root.pem"
    if contents is not None:
        path.write_bytes(contents)
    text = FABRIKAM.replace("port = 2525", 'port = 2525\nroots = ["fabrikam-root.pem"]')
    lab_file = write_lab(tmp_path, SIMULATED + text)
    with pytest.raises(ConfigError) as caught:
        load_lab_file(lab_file)
    assert str(caught.value) == f"{lab_file}: {WHERE}: key 'roots': " + problem.format(path=path)


def test_a_root_file_listed_twice(tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(root_pem("Fabrikam Root CA"))
    text = FABRIKAM.replace("port = 2525", 'port = 2525\nroots = ["root.pem", "./root.pem"]')
    lab_file = write_lab(tmp_path, SIMULATED + text)
    with pytest.raises(ConfigError) as caught:
        load_lab_file(lab_file)
    assert str(caught.value) == (
        f"{lab_file}: {WHERE}: key 'roots': './root.pem' is listed twice; list it once"
    )


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Lab]:
    """A lab with Fabrikam outside, two root files (one a PKCS #7 bundle)."""
    (tmp_path / "root.pem").write_bytes(root_pem("Fabrikam Root CA"))
    bundle = pkcs7.serialize_certificates(
        [
            create_root_ca(n, organization="Fabrikam", at=datetime.now(UTC)).certificate
            for n in ("Fabrikam Old Root", "Fabrikam New Root")
        ],
        serialization.Encoding.DER,
    )
    (tmp_path / "roots.p7b").write_bytes(bundle)
    text = FABRIKAM.replace("port = 2525", 'port = 2525\nroots = ["root.pem", "roots.p7b"]')
    certs = tmp_path / "certs"
    # A root file an earlier run of this lab wrote and the lab file no longer lists.
    (certs / "Fabrikam").mkdir(parents=True)
    (certs / "Fabrikam" / "root-ca-3.cer").write_bytes(b"stale")
    lab = Lab.start(load_lab_file(write_lab(tmp_path, SIMULATED + text)), cert_folder=certs)
    try:
        yield lab
    finally:
        lab.stop()


def test_the_lab_copies_the_roots_where_import_certificate_looks(
    started: Lab, tmp_path: Path
) -> None:
    folder = started.cert_folder / "Fabrikam"
    assert sorted(p.name for p in folder.iterdir()) == ["root-ca-2.cer", "root-ca.cer"]
    assert (folder / "root-ca.cer").read_bytes() == (tmp_path / "root.pem").read_bytes()
    assert (folder / "root-ca-2.cer").read_bytes() == (tmp_path / "roots.p7b").read_bytes()
    # Nothing is trusted until an admin imports it.
    assert not any(
        "Fabrikam" in root.subject.rfc4514_string()
        for root in started.certificate_store("ADATUM-MBX1").trusted_roots()
    )

    result = started.run_shell(
        "Adatum",
        "Import-Certificate -FilePath Fabrikam\\root-ca-2.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root",
    )
    assert result.error is None
    assert "CN=Fabrikam Old Root" in result.output and "CN=Fabrikam New Root" in result.output
    assert "labsim note" not in result.output  # Windows imports every certificate of a .p7b


def test_the_lab_dns_answers_mx_and_a_for_the_outside_domains(started: Lab) -> None:
    dns = started.world.dns
    reactor = started.world.reactor
    for domain in ("fabrikam.org", "fabrikam.net"):
        targets = wait_for(reactor, dns.resolve_mx(domain))
        assert [(t.host, t.address, t.preference) for t in targets] == [
            ("mail.fabrikam.org", "127.0.40.1", 10)
        ]
    assert wait_for(reactor, dns.resolve_a("mail.fabrikam.org")) == "127.0.40.1"
    # Sessions to it go to its own port; the lab's own hosts keep the offset.
    network = started.world.network
    assert network.remote_port("127.0.40.1", 25) == 2525
    assert network.remote_port("127.0.10.1", 25) == network.real_port(25)


def test_the_lab_does_not_pretend_to_hold_outside_mailboxes(started: Lab) -> None:
    with pytest.raises(ConfigError, match=r"ben@fabrikam.net is a mailbox of the outside "):
        started.inbox("ben@fabrikam.net")
    assert started.inbox("april@adatum.com") == ()


def write_scenario(folder: Path, steps: str) -> Path:
    write_lab(folder, SIMULATED + FABRIKAM)
    path = folder / "scenario.toml"
    path.write_text('lab = "lab.toml"\n' + steps, encoding="utf-8")
    return path


def test_a_scenario_may_send_to_the_outside_organization(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        '[[step]]\nsend = { from = "april@adatum.com", to = "ben@fabrikam.org", subject = "Hi" }\n'
        '[[step]]\nexpect.queued = { org = "Adatum", next_hop = "fabrikam.org" }\n',
    )
    assert len(load_scenario(path).steps) == 2


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        (
            'expect.delivered = { to = "ben@fabrikam.org", subject = "Hi" }',
            "step 1 (expect.delivered): key 'to': 'ben@fabrikam.org' is a mailbox of the "
            "outside organization Fabrikam, which labsim does not simulate: its mail is neither "
            "sent nor held by the lab; expect what the lab shows instead (expect.queued, "
            "expect.log of the sending server)",
        ),
        (
            'expect.not_delivered = { to = "ben@fabrikam.org", subject = "Hi" }',
            "step 1 (expect.not_delivered): key 'to': 'ben@fabrikam.org' is a mailbox of the",
        ),
        (
            'send = { from = "ben@fabrikam.org", to = "april@adatum.com", subject = "Hi" }',
            "step 1 (send): key 'from': 'ben@fabrikam.org' is a mailbox of the outside",
        ),
        (
            'org = "Fabrikam"\nems = "Get-TransportConfig"',
            "step 1 (ems): key 'org': 'Fabrikam' is an outside organization of lab 'lab'; "
            "labsim has no shell, queues or logs of it",
        ),
    ],
    ids=["expect-delivered", "expect-not-delivered", "send-from", "ems-org"],
)
def test_a_scenario_cannot_look_inside_the_outside_organization(
    tmp_path: Path, step: str, problem: str
) -> None:
    path = write_scenario(tmp_path, f"[[step]]\n{step}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: {problem}")
