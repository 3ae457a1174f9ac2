"""Get-MessageTrackingLog over the servers' tracking records, and Get-ExchangeServer: filters,
Exchange's default tables, Format-List, bad values (issue 11 item 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ems_fakes import NOW, FakeHost

from labsim.ems import Shell
from labsim.ems.cmdlets.message_tracking import DEFAULT_RESULT_SIZE, parse_datetime
from labsim.logs.tracking import TrackingEventId, TrackingRecord, TrackingSource

APRIL = "april@adatum.com"
BEN = "ben@treyresearch.net"


def record(
    seconds: int,
    event: TrackingEventId,
    source: TrackingSource = TrackingSource.SMTP,
    *,
    sender: str = APRIL,
    to: tuple[str, ...] = (BEN,),
    subject: str = "Hello Trey",
    custom_data: str = "",
) -> TrackingRecord:
    return TrackingRecord(
        date_time=NOW + timedelta(seconds=seconds),
        source=source,
        event_id=event,
        sender_address=sender,
        recipient_address=to,
        message_subject=subject,
        message_id="<1@adatum.com>",
        custom_data=custom_data,
    )


@pytest.fixture
def tracked(host: FakeHost) -> FakeHost:
    """A message from April to Ben through ADATUM-MBX1, and one from Ben to April."""
    host.tracking["ADATUM-MBX1"] = [
        record(0, TrackingEventId.RECEIVE, TrackingSource.STOREDRIVER),
        record(1, TrackingEventId.SUBMIT, TrackingSource.STOREDRIVER),
        record(2, TrackingEventId.SEND),
        record(60, TrackingEventId.RECEIVE, sender=BEN, to=(APRIL,), subject="Re: Hello Trey"),
        record(
            61,
            TrackingEventId.DELIVER,
            TrackingSource.STOREDRIVER,
            sender=BEN,
            to=(APRIL,),
            subject="Re: Hello Trey",
            custom_data="S:MailboxDatabaseName=Mailbox Database 1",
        ),
    ]
    return host


def events(shell: Shell, line: str) -> list[str]:
    result = shell.run(line + " | FT EventId,MessageSubject")
    assert result.ok, result.error
    return [" ".join(row.split()) for row in result.output.splitlines()[2:]]


def test_default_table_is_exchanges(adatum: Shell, tracked: FakeHost) -> None:
    result = adatum.run("Get-MessageTrackingLog -Server ADATUM-MBX1 -EventId SEND")
    assert result.ok, result.error
    assert result.output.splitlines() == [
        "EventId Source Sender           Recipients             MessageSubject",
        "------- ------ ------           ----------             --------------",
        "SEND    SMTP   april@adatum.com {ben@treyresearch.net} Hello Trey",
    ]


def test_filters(adatum: Shell, tracked: FakeHost) -> None:
    assert events(adatum, "Get-MessageTrackingLog -Sender BEN@treyresearch.net") == [
        "RECEIVE Re: Hello Trey",
        "DELIVER Re: Hello Trey",
    ]
    assert events(adatum, f"Get-MessageTrackingLog -Recipients {APRIL},x@y.z -EventId deliver") == [
        "DELIVER Re: Hello Trey"
    ]
    # -MessageSubject matches part of the subject, in any case.
    assert len(events(adatum, 'Get-MessageTrackingLog -MessageSubject "hello"')) == 5
    assert len(events(adatum, 'Get-MessageTrackingLog -MessageSubject "re:"')) == 2
    # -Start includes its instant, -End excludes it.
    assert events(
        adatum, 'Get-MessageTrackingLog -Start "3/1/2024 9:30:01 AM" -End "2024-03-01T09:31:00Z"'
    ) == ["SUBMIT Hello Trey", "SEND Hello Trey"]
    # An event id labsim does not write finds nothing (no error), as in Exchange.
    assert adatum.run("Get-MessageTrackingLog -EventId AGENTINFO").output == ""


def test_server_scope(tracked: FakeHost, adatum: Shell) -> None:
    # Without -Server on a shell bound to no server: every server of the organization.
    assert len(events(adatum, "Get-MessageTrackingLog")) == 5
    assert events(adatum, "Get-MessageTrackingLog -Server ADATUM-CAS1") == []
    on_cas = Shell(tracked, "Adatum", server="ADATUM-CAS1")
    assert events(on_cas, "Get-MessageTrackingLog") == []
    assert len(events(on_cas, "Get-MessageTrackingLog -Server adatum-mbx1.adatum.com")) == 5
    result = adatum.run("Get-MessageTrackingLog -Server TREY-MBX1")
    assert result.error is not None
    assert "couldn't be found" in str(result.error)
    assert "The servers of Adatum are ADATUM-CAS1, ADATUM-MBX1." in str(result.error)


def test_result_size(adatum: Shell, tracked: FakeHost) -> None:
    assert events(adatum, "Get-MessageTrackingLog -ResultSize 2") == [
        "RECEIVE Hello Trey",
        "SUBMIT Hello Trey",
    ]
    assert len(events(adatum, "Get-MessageTrackingLog -ResultSize Unlimited")) == 5
    tracked.tracking["ADATUM-MBX1"] = [
        record(n, TrackingEventId.SEND) for n in range(DEFAULT_RESULT_SIZE + 1)
    ]
    result = adatum.run("Get-MessageTrackingLog")
    assert result.output.startswith(
        "WARNING: There are more results available than are currently displayed. To view them, "
        "increase the value for the ResultSize parameter."
    )
    assert result.output.count("\nSEND ") == DEFAULT_RESULT_SIZE
    unlimited = adatum.run("Get-MessageTrackingLog -ResultSize unlimited")
    assert "WARNING" not in unlimited.output
    assert unlimited.output.count("\nSEND ") == DEFAULT_RESULT_SIZE + 1


def test_format_list_shows_the_event_properties(adatum: Shell, tracked: FakeHost) -> None:
    result = adatum.run("Get-MessageTrackingLog -EventId DELIVER | FL")
    assert result.ok, result.error
    lines = result.output.splitlines()
    names = [line.split(":", 1)[0].strip() for line in lines]
    assert names[:4] == ["Timestamp", "ClientIp", "ClientHostname", "ServerIp"]
    assert names.index("EventId") < names.index("Recipients") < names.index("Sender")
    assert "Timestamp               : 3/1/2024 9:31:01 AM" in lines
    assert "Source                  : STOREDRIVER" in lines
    assert "Recipients              : {april@adatum.com}" in lines
    assert "Sender                  : ben@treyresearch.net" in lines
    assert "MessageId               : <1@adatum.com>" in lines
    assert "EventData               : {[MailboxDatabaseName, Mailbox Database 1]}" in lines
    chosen = adatum.run("Get-MessageTrackingLog -EventId DELIVER | FL Timestamp,Message*")
    assert chosen.output.splitlines() == [
        "Timestamp          : 3/1/2024 9:31:01 AM",
        "MessageId          : <1@adatum.com>",
        "MessageSubject     : Re: Hello Trey",
        "MessageInfo        :",
        "MessageLatency     :",
        "MessageLatencyType : None",
    ]


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (
            "Get-MessageTrackingLog -Start yesterday",
            "Cannot process argument transformation on parameter 'Start'. Cannot convert value "
            '"yesterday" to type "System.DateTime". Error: "String was not recognized as a valid '
            'DateTime."',
        ),
        (
            'Get-MessageTrackingLog -End "13/45/2024"',
            "Cannot process argument transformation on parameter 'End'.",
        ),
        (
            "Get-MessageTrackingLog -ResultSize lots",
            "Cannot process argument transformation on parameter 'ResultSize'. Cannot convert "
            'value "lots" to type "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]".',
        ),
        (
            "Get-MessageTrackingLog -Recipent x@y.z",
            "A parameter cannot be found that matches parameter name 'Recipent'.",
        ),
    ],
)
def test_bad_values_get_powershells_messages(adatum: Shell, line: str, detail: str) -> None:
    result = adatum.run(line)
    assert result.error is not None
    assert detail in str(result.error)


def test_parse_datetime_forms() -> None:
    assert parse_datetime("12/4/2026") == parse_datetime("2026-12-04T00:00:00Z")
    assert parse_datetime("12/4/2026 9:30 PM") == parse_datetime("2026-12-04 21:30")
    assert parse_datetime("12/4/2026 12:05:09 AM") == parse_datetime("2026-12-04T00:05:09+00:00")
    assert parse_datetime("2026-12-04T10:30:00+01:00") == parse_datetime("12/4/2026 09:30")
    for bad in ("12/4/2026 13:00 PM", "2/30/2026", "tomorrow", ""):
        with pytest.raises(ValueError):
            parse_datetime(bad)


# -- Get-ExchangeServer --------------------------------------------------------------------------


def test_get_exchange_server_table(adatum: Shell) -> None:
    result = adatum.run("Get-ExchangeServer")
    assert result.ok, result.error
    site = "adatum.com/Configuration/Sites/Default-First-Site-Name"
    assert result.output.splitlines() == [
        "Name        Site" + " " * (len(site) - 3) + "ServerRole   Edition    AdminDisplayVersion",
        "----        ----" + " " * (len(site) - 3) + "----------   -------    -------------------",
        f"ADATUM-CAS1 {site} ClientAccess Enterprise Version 15.0 (Build 1497.2)",
        f"ADATUM-MBX1 {site} Mailbox      Enterprise Version 15.0 (Build 1497.2)",
    ]


def test_get_exchange_server_list_and_identity(adatum: Shell) -> None:
    result = adatum.run("Get-ExchangeServer adatum-mbx1.adatum.com | FL")
    assert result.ok, result.error
    lines = result.output.splitlines()
    assert lines[0] == "Name                      : ADATUM-MBX1"
    assert "AdminDisplayVersion       : Version 15.0 (Build 1497.2)" in lines
    assert "ServerRole                : Mailbox" in lines
    assert "IsMailboxServer           : True" in lines
    assert "IsClientAccessServer      : False" in lines
    assert "Fqdn                      : adatum-mbx1.adatum.com" in lines
    assert (
        "ExchangeLegacyDN          : /o=Adatum/ou=Exchange Administrative Group "
        "(FYDIBOHF23SPDLT)/cn=Configuration/cn=Servers/cn=ADATUM-MBX1"
    ) in lines
    assert adatum.run("Get-ExchangeServer *CAS* | FL Name").output == "Name : ADATUM-CAS1"
    assert adatum.run("Get-ExchangeServer TREY*").output == ""
    missing = adatum.run("Get-ExchangeServer TREY-MBX1")
    assert missing.error is not None
    assert "'TREY-MBX1' couldn't be found" in str(missing.error)
