"""Get-/Set-TransportService: the D7 timers on the Server record, Exchange's ranges, pipeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.model.transport import TransportService


def timers(host: FakeHost, server: str = "ADATUM-MBX1") -> TransportService:
    found = host.organization("Adatum").server(server)
    assert found is not None
    return found.transport_service


def test_get_transport_service_list(adatum: Shell) -> None:
    result = adatum.run("Get-TransportService ADATUM-MBX1")
    assert result.ok, result.error
    lines = result.output.splitlines()
    assert lines[0] == "Name                                   : ADATUM-MBX1"
    assert "MessageExpirationTimeout               : 2.00:00:00" in lines
    assert "TransientFailureRetryCount             : 6" in lines
    assert "TransientFailureRetryInterval          : 00:05:00" in lines
    assert "OutboundConnectionFailureRetryInterval : 00:10:00" in lines
    assert "DelayNotificationTimeout               : 04:00:00" in lines
    assert len(adatum.run("Get-TransportService").output.split("\n\n")) == 2


def test_set_every_timer(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "Set-TransportService ADATUM-MBX1 -TransientFailureRetryCount 3 "
        "-TransientFailureRetryInterval 00:00:30 -OutboundConnectionFailureRetryInterval 00:20:00 "
        "-MessageRetryInterval 00:05:00 -DelayNotificationTimeOut 13:00:00 "
        "-MessageExpirationTimeOut 1.12:00:00 -QueueMaxIdleTime 00:10:00"
    )
    assert result.ok, result.error
    assert result.output == ""
    assert timers(host) == TransportService(
        transient_failure_retry_count=3,
        transient_failure_retry_interval=timedelta(seconds=30),
        outbound_connection_failure_retry_interval=timedelta(minutes=20),
        message_retry_interval=timedelta(minutes=5),
        delay_notification_timeout=timedelta(hours=13),
        message_expiration_timeout=timedelta(days=1, hours=12),
        queue_max_idle_time=timedelta(minutes=10),
    )
    assert timers(host, "ADATUM-CAS1") == TransportService()
    shown = adatum.run("Get-TransportService ADATUM-MBX1 | FL MessageExpiration*,Delay*").output
    assert shown.splitlines() == [
        "MessageExpirationTimeout : 1.12:00:00",
        "DelayNotificationTimeout : 13:00:00",
    ]


def test_any_server_by_fqdn_and_no_change(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run("Set-TransportService mail.adatum.com -MessageRetryInterval 00:01:00").ok
    assert timers(host, "ADATUM-CAS1").message_retry_interval == timedelta(minutes=1)
    again = adatum.run("Set-TransportService ADATUM-CAS1 -MessageRetryInterval 00:01:00")
    assert again.ok
    assert again.output == (
        "WARNING: The command completed successfully but no settings of 'ADATUM-CAS1' have been "
        "modified."
    )


def test_pipeline_from_get_transport_service(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run("Get-TransportService | Set-TransportService -MessageExpirationTimeout 4h")
    assert result.ok, result.error
    assert timers(host, "ADATUM-CAS1").message_expiration_timeout == timedelta(hours=4)
    assert timers(host, "ADATUM-MBX1").message_expiration_timeout == timedelta(hours=4)


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        (
            "MessageExpirationTimeout",
            "91.00:00:00",
            "The 91.00:00:00 argument is greater than the maximum allowed range of 90.00:00:00. "
            "Supply an argument that is less than or equal to 90.00:00:00 and then try the "
            "command again.",
        ),
        (
            "MessageExpirationTimeout",
            "00:00:04",
            "The 00:00:04 argument is less than the minimum allowed range of 00:00:05. Supply an "
            "argument that is greater than or equal to 00:00:05 and then try the command again.",
        ),
        (
            "TransientFailureRetryCount",
            "16",
            "The 16 argument is greater than the maximum allowed range of 15.",
        ),
        (
            "TransientFailureRetryCount",
            "-1",
            "The -1 argument is less than the minimum allowed range of 0.",
        ),
        (
            "TransientFailureRetryInterval",
            "12:00:01",
            "greater than the maximum allowed range of 12:00:00.",
        ),
        (
            "TransientFailureRetryInterval",
            "00:00:00",
            "less than the minimum allowed range of 00:00:01.",
        ),
        (
            "OutboundConnectionFailureRetryInterval",
            "20.00:00:01",
            "greater than the maximum allowed range of 20.00:00:00.",
        ),
        (
            "DelayNotificationTimeout",
            "31.00:00:00",
            "greater than the maximum allowed range of 30.00:00:00.",
        ),
        (
            "MessageRetryInterval",
            "2.00:00:00",
            "greater than the maximum allowed range of 1.00:00:00.",
        ),
        ("QueueMaxIdleTime", "02:00:00", "greater than the maximum allowed range of 01:00:00."),
    ],
)
def test_ranges(adatum: Shell, host: FakeHost, parameter: str, value: str, message: str) -> None:
    result = adatum.run(f"Set-TransportService ADATUM-MBX1 -{parameter} {value}")
    assert result.error is not None
    text = str(result.error)
    assert text.startswith(
        f"Set-TransportService: Cannot validate argument on parameter '{parameter}'. "
    )
    assert message in text
    assert result.error.category == "ParameterBindingValidationException"
    assert timers(host) == TransportService()


def test_bad_timespan_and_count(adatum: Shell) -> None:
    bad = adatum.run("Set-TransportService ADATUM-MBX1 -MessageRetryInterval soon")
    assert bad.error is not None
    assert str(bad.error).startswith(
        "Set-TransportService: Cannot process argument transformation on parameter "
        '\'MessageRetryInterval\'. Cannot convert value "soon" to type "System.TimeSpan".'
    )
    assert "d.hh:mm:ss" in str(bad.error)
    count = adatum.run("Set-TransportService ADATUM-MBX1 -TransientFailureRetryCount many")
    assert count.error is not None
    assert "parameter 'TransientFailureRetryCount'" in str(count.error)
    assert '"System.Int32"' in str(count.error)


def test_unknown_server_lists_the_servers(adatum: Shell) -> None:
    result = adatum.run("Set-TransportService TREY-MBX1 -MessageRetryInterval 00:01:00")
    assert result.error is not None
    assert str(result.error) == (
        "Set-TransportService: The operation couldn't be performed because object 'TREY-MBX1' "
        "couldn't be found on 'DC1.adatum.com'. The servers of Adatum are ADATUM-CAS1, "
        "ADATUM-MBX1."
    )
    get = adatum.run("Get-TransportService NOPE")
    assert get.error is not None and "The servers of Adatum are ADATUM-CAS1, ADATUM-MBX1." in str(
        get.error
    )
    missing = adatum.run("Set-TransportService -MessageRetryInterval 00:01:00")
    assert missing.error is not None
    assert "missing mandatory parameters: Identity." in str(missing.error)


def test_log_settings_are_shown_checked_and_stored(adatum: Shell, host: FakeHost) -> None:
    shown = adatum.run("Get-TransportService ADATUM-MBX1 | fl *ProtocolLog*Path,IntraOrg*")
    assert shown.ok, shown.error
    hub = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\Hub"
    assert shown.output.splitlines() == [
        f"ReceiveProtocolLogPath                : {hub}\\ProtocolLog\\SmtpReceive",
        f"SendProtocolLogPath                   : {hub}\\ProtocolLog\\SmtpSend",
        "IntraOrgConnectorProtocolLoggingLevel : None",
    ]
    changed = adatum.run(
        "Set-TransportService ADATUM-MBX1 -IntraOrgConnectorProtocolLoggingLevel Verbose "
        "-SendProtocolLogPath D:\\Logs\\Send -ReceiveProtocolLogMaxAge 7.00:00:00"
    )
    assert changed.ok, changed.error
    service = timers(host)
    assert service.send_protocol_log_path == "D:\\Logs\\Send"
    assert service.receive_protocol_log_max_age == timedelta(days=7)
    assert str(service.intra_org_connector_protocol_logging_level.value) == "Verbose"
    assert timers(host, "ADATUM-CAS1") == TransportService()
    relative = adatum.run("Set-TransportService ADATUM-MBX1 -SendProtocolLogPath Logs")
    assert not relative.ok and "LocalLongFullPath" in str(relative.error)
    loud = adatum.run("Set-TransportService ADATUM-MBX1 -IntraOrgConnectorProtocolLoggingLevel X")
    assert not loud.ok and "ProtocolLoggingLevel" in str(loud.error)
