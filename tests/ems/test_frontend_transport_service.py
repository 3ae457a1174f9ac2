"""Get-/Set-FrontendTransportService: the Client Access servers' Front End Transport settings;
-IntraOrgConnectorProtocolLoggingLevel Verbose makes the CAS's proxy hop to the Mailbox server
write the FrontEnd send protocol log."""

from __future__ import annotations

from pathlib import Path

from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.lab import Lab
from labsim.model.enums import ProtocolLoggingLevel
from labsim.model.lab import default_lab

FRONTEND_LOGS = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\FrontEnd"


def fields(output: str) -> dict[str, str]:
    pairs = (line.partition(" : ") for line in output.splitlines())
    return {name.strip(): value for name, sep, value in pairs if sep}


def test_get_lists_the_client_access_servers_with_exchanges_defaults(adatum: Shell) -> None:
    result = adatum.run("Get-FrontendTransportService")

    assert result.ok, result.error
    shown = fields(result.output)
    assert shown["Name"] == "ADATUM-CAS1"
    assert shown["IntraOrgConnectorProtocolLoggingLevel"] == "None"
    assert shown["ReceiveProtocolLogPath"] == f"{FRONTEND_LOGS}\\ProtocolLog\\SmtpReceive"
    assert shown["SendProtocolLogPath"] == f"{FRONTEND_LOGS}\\ProtocolLog\\SmtpSend"
    assert shown["ReceiveProtocolLogMaxAge"] == shown["SendProtocolLogMaxAge"] == "30.00:00:00"
    assert shown["ConnectivityLogEnabled"] == "True"
    assert "ADATUM-MBX1" not in result.output


def test_a_mailbox_server_is_not_found(adatum: Shell) -> None:
    result = adatum.run("Get-FrontendTransportService ADATUM-MBX1")

    assert not result.ok
    assert "couldn't be found" in str(result.error)
    assert "ADATUM-CAS1" in str(result.error)


def test_set_changes_the_logging_level_and_get_shows_it(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "Set-FrontendTransportService ADATUM-CAS1 -IntraOrgConnectorProtocolLoggingLevel Verbose"
    )

    assert result.ok, result.error
    server = host.organization("Adatum").server("ADATUM-CAS1")
    assert server is not None
    level = server.frontend_transport.intra_org_connector_protocol_logging_level
    assert level is ProtocolLoggingLevel.VERBOSE
    shown = adatum.run("Get-FrontendTransportService ADATUM-CAS1 | FL IntraOrg*").output
    assert fields(shown) == {"IntraOrgConnectorProtocolLoggingLevel": "Verbose"}
    again = adatum.run(
        "Get-FrontendTransportService | Set-FrontendTransportService "
        "-IntraOrgConnectorProtocolLoggingLevel Verbose"
    )
    assert "no settings of 'ADATUM-CAS1' have been modified" in again.output


def _cas_send_log(tmp_path: Path, level: str) -> list[str]:
    lab = Lab.start(default_lab(), cert_folder=tmp_path / "certs")
    try:
        lab.run_shell(
            "Adatum",
            'New-SendConnector -Name "To Trey" -AddressSpaces "SMTP:treyresearch.net;1" '
            "-SourceTransportServers ADATUM-MBX1",
        )
        changed = lab.run_shell(
            "TreyResearch",
            f"Set-FrontendTransportService TREY-CAS1 -IntraOrgConnectorProtocolLoggingLevel {level}",
        )
        assert changed.error is None
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="proxied")
        assert lab.inbox("ben@treyresearch.net")[-1].subject == "proxied"
        return lab.protocol_log("TreyResearch", "TREY-CAS1", "send")
    finally:
        lab.stop()


def test_verbose_logs_the_proxy_hop_to_the_mailbox_server(tmp_path: Path) -> None:
    lines = _cas_send_log(tmp_path, "Verbose")

    records = [line.split(",") for line in lines]
    assert records and all(r[1] == "Intra-Organization SMTP Send Connector" for r in records)
    assert any(r[5].endswith(":2525") and r[6] == "<" for r in records)


def test_none_leaves_the_frontend_send_log_empty(tmp_path: Path) -> None:
    assert _cas_send_log(tmp_path, "None") == []
