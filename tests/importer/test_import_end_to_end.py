"""``labsim import`` end to end: the command, its errors, and a real lab started from the
imported sample organization exchanging mail with its simulated partners."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from labsim.cli import cli
from labsim.importer.sources import decode
from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.logs.tracking import TrackingEventId
from labsim.pki.certificate import windows_name

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tailspintoys"


def import_examples(folder: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli,
        [
            "import",
            str(EXAMPLES),
            "-o",
            str(folder / "tailspintoys.toml"),
            "--as-of",
            "2026-12-01",
            *extra,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_import_writes_a_lab_file_and_prints_the_report(tmp_path: Path) -> None:
    code, out, err = import_examples(tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(
        f"Wrote {tmp_path / 'tailspintoys.toml'}: Tailspin Toys (tailspintoys.com, "
        "tailspintoys.co.uk), 4 servers, 3 simulated partners\n"
    )
    assert (
        "  partner fabrikam.com: Fabrikam — sends from 127.104.113.1, inside TT-SEA-CAS1\\From Fabrikam"
        in out
    )
    assert "  test mailbox labsim.test@tailspintoys.com (no Get-Mailbox export)" in out
    assert "Not modelled (6):\n  server TT-EDGE1 (" in out
    assert (
        "  send connector Legacy Mail (tailspin-legacy.net) ("
        f"{EXAMPLES / 'SendConnector.txt'}:170): uses smart host authentication" in out
    )
    definition = load_lab_file(tmp_path / "tailspintoys.toml")
    assert definition.name == "tailspintoys"


def test_malformed_export_exits_2_with_file_line_and_property(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    shutil.copytree(EXAMPLES, folder)
    path = folder / "ReceiveConnector.txt"
    text = decode(path.read_bytes(), "x").replace(
        "RemoteIPRanges                          : {203.0.113.0/24}",
        "RemoteIPRanges                          : {203.0.113.300/24}",
    )
    path.write_text(text, encoding="utf-8", newline="")
    result = CliRunner().invoke(cli, ["import", str(folder), "-o", str(tmp_path / "x.toml")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"labsim: error: {path}:")
    assert (
        "Get-ReceiveConnector property RemoteIPRanges: '203.0.113.300/24' is not an IPv4"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.toml").exists()


def test_bad_partner_option_exits_2(tmp_path: Path) -> None:
    code, _, err = import_examples(tmp_path, "--partner", "fabrikam.com")
    assert code == 2
    assert "labsim: error: --partner 'fabrikam.com': give DOMAIN=\"SERVER\\Connector\"" in err


@pytest.fixture(scope="module")
def imported_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("imported")
    code, _, err = import_examples(folder)
    assert code == 0, err
    lab = Lab.start(load_lab_file(folder / "tailspintoys.toml"), cert_folder=folder / "certs")
    try:
        yield lab
    finally:
        lab.stop()


@pytest.mark.parametrize("partner", ["fabrikam.com", "woodgrovebank.com", "contoso.com"])
def test_mail_to_and_from_each_partner(imported_lab: Lab, partner: str) -> None:
    lab = imported_lab
    lab.send(
        mail_from="labsim.test@tailspintoys.com",
        to=[f"administrator@{partner}"],
        subject=f"To {partner}",
    )
    lab.send(
        mail_from=f"administrator@{partner}",
        to=["labsim.test@tailspintoys.com"],
        subject=f"From {partner}",
    )
    (outbound,) = [m for m in lab.inbox(f"administrator@{partner}") if m.subject == f"To {partner}"]
    (inbound,) = [
        m for m in lab.inbox("labsim.test@tailspintoys.com") if m.subject == f"From {partner}"
    ]
    # Every partner domain is in TLSReceiveDomainSecureList: inbound is domain secured.
    assert inbound.domain_secured
    assert inbound.header("X-MS-Exchange-Organization-AuthDomain") == partner
    # Outbound the partner (which lists tailspintoys.com) checks Tailspin's certificate.
    assert outbound.domain_secured


def test_partner_domain_missing_from_the_receive_list_arrives_without_the_check(
    imported_lab: Lab,
) -> None:
    # woodgrovebank.co.uk has a DomainSecureEnabled send connector but is in neither TLS list:
    # the production configuration means no Domain Security for it, and the lab shows that.
    lab = imported_lab
    lab.send(
        mail_from="administrator@woodgrovebank.co.uk",
        to=["labsim.test@tailspintoys.co.uk"],
        subject="Hi UK",
    )
    (message,) = [m for m in lab.inbox("labsim.test@tailspintoys.co.uk") if m.subject == "Hi UK"]
    assert not message.domain_secured


def test_scenario_over_the_imported_lab(tmp_path: Path) -> None:
    code, _, err = import_examples(tmp_path)
    assert code == 0, err
    (tmp_path / "fabrikam.toml").write_text(
        'title = "Imported: Fabrikam both ways"\n'
        'lab = "tailspintoys.toml"\n\n'
        "[[step]]\n"
        'send = { from = "administrator@fabrikam.com", to = ["labsim.test@tailspintoys.com"], subject = "In" }\n\n'
        "[[step]]\n"
        'expect.delivered = { to = "labsim.test@tailspintoys.com", subject = "In", domain_secured = true, auth_as = "Partner" }\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["run", str(tmp_path / "fabrikam.toml"), "--certs", str(tmp_path / "certs")]
    )
    assert result.exit_code == 0, result.output


def test_outside_partners_replace_simulated_ones(tmp_path: Path) -> None:
    code, out, err = import_examples(
        tmp_path, "--outside", "fabrikam.com=2525", "--outside", "contoso.com=127.0.40.1:2526"
    )
    assert (code, err) == (0, "")
    assert ", 1 simulated partner, 2 outside organizations\n" in out
    definition = load_lab_file(tmp_path / "tailspintoys.toml")
    outside = {o.name: o for o in definition.outside_organizations}
    # Without an address, the software gets the one inside From Fabrikam's mapped range.
    assert (outside["Fabrikam"].address, outside["Fabrikam"].port) == ("127.104.113.1", 2525)
    assert outside["Fabrikam"].roots[0].source.endswith("fabrikam-root.cer")
    assert (outside["Contoso"].address, outside["Contoso"].port) == ("127.0.40.1", 2526)
    # The FilterCloud smart host now names the software's address; Tailspin Toys imports the
    # Fabrikam root, as its production servers trust it.
    assert ("contoso-com.mail.filtercloud.net", "127.0.40.1") in definition.extra_a_records
    setup = definition.organizations[0].setup[0]
    assert (
        'Import-Certificate -FilePath "Fabrikam\\root-ca.cer" -CertStoreLocation '
        "Cert:\\LocalMachine\\Root" in setup
    )
    assert (
        "  outside organization Contoso (--outside): its software connects from 127.0.40.1" in out
    )
    lab = Lab.start(definition, cert_folder=tmp_path / "certs")
    try:
        store = lab.certificate_store("TT-SEA-MBX1")
        roots = [windows_name(c.subject) for c in store.trusted_roots()]
        assert "CN=Fabrikam Root CA, O=Fabrikam, C=US" in roots
    finally:
        lab.stop()


def test_bad_outside_option_exits_2(tmp_path: Path) -> None:
    code, _, err = import_examples(tmp_path, "--outside", "fabrikam.com=10.0.0.5:25")
    assert code == 2
    assert "labsim: error: --outside fabrikam.com: address 10.0.0.5 is outside 127.0.0.0/8" in err


def test_multi_role_servers_start_and_take_partner_mail(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    shutil.copytree(EXAMPLES, folder)
    path = folder / "ExchangeServer.txt"
    role = "ServerRole                : "
    text = path.read_bytes().decode("utf-8")
    path.write_bytes(
        text.replace(role + "Mailbox\r\n", role + "Mailbox, ClientAccess\r\n").encode("utf-8")
    )
    result = CliRunner().invoke(
        cli, ["import", str(folder), "-o", str(tmp_path / "mr.toml"), "--as-of", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output
    definition = load_lab_file(tmp_path / "mr.toml")
    setup = definition.organizations[0].setup[0]
    # The Mailbox half answers with its own lab FQDN (its certificates name it).
    assert 'Set-ReceiveConnector "TT-SEA-MBX1\\Default TT-SEA-MBX1" -Bindings 0.0.0.0:2525' in setup
    assert "-Fqdn tt-sea-mbx1-mbx.corp.tailspintoys.com" in setup
    lab = Lab.start(definition, cert_folder=tmp_path / "certs")
    try:
        lab.send(
            mail_from="administrator@fabrikam.com",
            to=["labsim.test@tailspintoys.com"],
            subject="Multi-role",
        )
        (message,) = lab.inbox("labsim.test@tailspintoys.com")
        assert message.domain_secured
    finally:
        lab.stop()


def test_connector_sourced_on_one_server_carries_mail_routed_on_the_other(
    tmp_path: Path,
) -> None:
    # The sample sources "To Fabrikam" on both Mailbox servers. With only TT-SEA-MBX1 left, mail
    # submitted on TT-LON-MBX1 is relayed to TT-SEA-MBX1 (SmtpRelayToConnectorSourceServers),
    # which sends it domain secured; it never falls back on the "Internet" connector.
    code, _, err = import_examples(tmp_path)
    assert code == 0, err
    lab = Lab.start(load_lab_file(tmp_path / "tailspintoys.toml"), cert_folder=tmp_path / "certs")
    try:
        change = lab.run_shell(
            "Tailspin Toys",
            'Set-SendConnector "To Fabrikam" -SourceTransportServers TT-SEA-MBX1',
        )
        assert change.error is None, change.error
        lab.send(
            mail_from="labsim.test@tailspintoys.com",
            to=["administrator@fabrikam.com"],
            subject="One source server",
        )
        (message,) = lab.inbox("administrator@fabrikam.com")
        assert message.domain_secured
        (relay,) = [
            r
            for r in lab.world.tracking_logs["TT-LON-MBX1"].records()
            if r.event_id is TrackingEventId.SEND
        ]
        assert relay.connector_id == "Intra-Organization SMTP Send Connector"
        assert relay.server_hostname == "tt-sea-mbx1.corp.tailspintoys.com"
        (out,) = [
            r
            for r in lab.world.tracking_logs["TT-SEA-MBX1"].records()
            if r.event_id is TrackingEventId.SEND
        ]
        assert out.connector_id == "To Fabrikam"
    finally:
        lab.stop()
