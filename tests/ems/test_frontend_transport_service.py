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


def test_set_stores_the_log_settings_and_the_connection_rate(adatum: Shell) -> None:
    result = adatum.run(
        "Set-FrontendTransportService ADATUM-CAS1 -ReceiveProtocolLogPath D:\\Logs\\FE\\Recv\\ "
        "-ReceiveProtocolLogMaxAge 7.00:00:00 -SendProtocolLogMaxDirectorySize 1GB "
        "-SendProtocolLogMaxFileSize 20MB -ConnectivityLogEnabled $false "
        "-ConnectivityLogPath E:\\Connectivity -MaxConnectionRatePerMinute 600"
    )

    assert result.ok, result.error
    shown = fields(adatum.run("Get-FrontendTransportService ADATUM-CAS1 | FL").output)
    assert shown["ReceiveProtocolLogPath"] == "D:\\Logs\\FE\\Recv"
    assert shown["ReceiveProtocolLogMaxAge"] == "7.00:00:00"
    assert shown["SendProtocolLogMaxDirectorySize"] == "1 GB (1,073,741,824 bytes)"
    assert shown["SendProtocolLogMaxFileSize"] == "20 MB (20,971,520 bytes)"
    assert shown["ConnectivityLogEnabled"] == "False"
    assert shown["ConnectivityLogPath"] == "E:\\Connectivity"
    assert shown["MaxConnectionRatePerMinute"] == "600"
    # What was not set keeps Exchange's default.
    assert shown["SendProtocolLogPath"] == f"{FRONTEND_LOGS}\\ProtocolLog\\SmtpSend"
    assert shown["ReceiveProtocolLogMaxDirectorySize"] == "250 MB (262,144,000 bytes)"


def test_set_refuses_bad_log_settings_with_exchanges_texts(adatum: Shell) -> None:
    cases = {
        "-ReceiveProtocolLogPath Logs": (
            "Set-FrontendTransportService: Cannot process argument transformation on parameter "
            "'ReceiveProtocolLogPath'. Cannot convert value \"Logs\" to type "
            '"Microsoft.Exchange.Data.LocalLongFullPath". Error: "Path is not legal: a full '
            'local path with a drive letter is required, such as D:\\Logs\\SmtpReceive."'
        ),
        "-MaxConnectionRatePerMinute 0": (
            "Set-FrontendTransportService: Cannot validate argument on parameter "
            "'MaxConnectionRatePerMinute'. The 0 argument is less than the minimum allowed range "
            "of 1. Supply an argument that is greater than or equal to 1 and then try the "
            "command again."
        ),
        "-SendProtocolLogMaxAge 30000.00:00:00": (
            "Set-FrontendTransportService: Cannot validate argument on parameter "
            "'SendProtocolLogMaxAge'. The 30000.00:00:00 argument is greater than the maximum "
            "allowed range of 24855.03:14:07. Supply an argument that is less than or equal to "
            "24855.03:14:07 and then try the command again."
        ),
        "-AgentLogEnabled $false": (
            "Set-FrontendTransportService: A parameter cannot be found that matches parameter "
            "name 'AgentLogEnabled'."
        ),
    }
    for parameters, message in cases.items():
        result = adatum.run(f"Set-FrontendTransportService ADATUM-CAS1 {parameters}")
        assert str(result.error) == message, parameters
    shown = fields(adatum.run("Get-FrontendTransportService ADATUM-CAS1 | FL").output)
    assert shown["MaxConnectionRatePerMinute"] == "1200"
