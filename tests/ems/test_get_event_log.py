"""Get-EventLog in the shell: parameters, PowerShell's table and list views, the pipeline, and
one clear message for bad input (labsim.ems.cmdlets.event_log)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ems_fakes import NOW, FakeHost

from labsim.ems import Shell
from labsim.logs.event_log import ApplicationLog, EventLogEntry
from labsim.policy import events

MBX = "adatum-mbx1.adatum.com"
CAS = "mail.adatum.com"


def fill(host: FakeHost) -> None:
    """ADATUM-MBX1: 12014 then 11016 (an hour later); ADATUM-CAS1: 12018 (a warning)."""
    mbx = ApplicationLog(MBX)
    mbx.write(
        events.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
        ("smtp.adatum.com", "To TreyResearch", "smtp.adatum.com"),
        source="MSExchangeTransport",
        at=NOW - timedelta(hours=2),
    )
    mbx.write(
        events.TLS_DOMAIN_SERVER_CERTIFICATE_SUBJECT_MISMATCH,
        ("treyresearch.net", "To TreyResearch"),
        source="MSExchangeTransport",
        at=NOW - timedelta(hours=1),
    )
    cas = ApplicationLog(CAS)
    cas.write(
        events.STARTTLS_CERTIFICATE_EXPIRES_SOON,
        ("CN=mail.adatum.com", "0123456789ABCDEF0123456789ABCDEF01234567", "100"),
        source="MSExchangeFrontEndTransport",
        at=NOW - timedelta(minutes=30),
    )
    host.event_log["ADATUM-MBX1"] = list(mbx.entries())
    host.event_log["ADATUM-CAS1"] = list(cas.entries())


def ok(shell: Shell, text: str) -> str:
    result = shell.run(text)
    assert result.error is None, result.error
    return result.output


def error_of(shell: Shell, text: str) -> str:
    result = shell.run(text)
    assert result.error is not None, result.output
    assert shell.run("Get-TransportConfig").ok  # the shell goes on
    return str(result.error)


def test_default_view_is_powershells_table_newest_first_over_the_organization(
    adatum: Shell, host: FakeHost
) -> None:
    fill(host)
    assert ok(adatum, "Get-EventLog Application").splitlines() == [
        "   Index Time          EntryType   Source                 InstanceID Message",
        "   ----- ----          ---------   ------                 ---------- -------",
        "       1 Mar 01 09:00  Warning     MSExchangeFrontEn...   2147495666 The STARTTLS "
        "certificate will expire soon: subj...",
        "       2 Mar 01 08:30  Error       MSExchangeTransport    3221236488 A secure "
        "connection to domain-secured domain 't...",
        "       1 Mar 01 07:30  Error       MSExchangeTransport    3221237486 Microsoft Exchange "
        "could not find a certificate...",
    ]


def test_format_list_shows_powershells_properties(adatum: Shell, host: FakeHost) -> None:
    fill(host)
    text = ok(adatum, "Get-EventLog -LogName Application -ComputerName ADATUM-MBX1 -Newest 1 | fl")
    names = [line.split(":")[0].rstrip() for line in text.splitlines()]
    assert names == [
        "Index",
        "EntryType",
        "InstanceId",
        "Message",
        "Category",
        "CategoryNumber",
        "ReplacementStrings",
        "Source",
        "TimeGenerated",
        "TimeWritten",
        "UserName",
    ]
    assert "ReplacementStrings : {treyresearch.net, To TreyResearch}" in text
    assert "TimeGenerated      : 3/1/2024 8:30:00 AM" in text
    assert "InstanceId         : 3221236488" in text
    every = ok(adatum, "Get-EventLog Application -ComputerName ADATUM-MBX1 -Newest 1 | fl *")
    assert "EventID            : 11016" in every
    assert f"MachineName        : {MBX}" in every


@pytest.mark.parametrize(
    ("line", "ids"),
    [
        ("Get-EventLog Application -Source MSExchangeTransport", [11016, 12014]),
        ("Get-EventLog Application -Source *FrontEnd*, Nothing", [12018]),
        ("Get-EventLog Application -EntryType Warning", [12018]),
        ("Get-EventLog Application -EntryType error,WARNING", [12018, 11016, 12014]),
        ("Get-EventLog Application 3221237486", [12014]),
        ("Get-EventLog Application -Newest 2", [12018, 11016]),
        ("Get-EventLog Application -After (Get-Date).AddMinutes(-90)", [12018, 11016]),
        ("Get-EventLog Application -Before '3/1/2024 8:30'", [12014]),
        ("Get-EventLog Application -Message '*domain-secured*'", [11016]),
        ("Get-EventLog Application -ComputerName adatum-cas1, ADATUM-MBX1 -Index 2", [11016]),
    ],
)
def test_filters(adatum: Shell, host: FakeHost, line: str, ids: list[int]) -> None:
    fill(host)
    text = ok(adatum, line + " | Select-Object -ExpandProperty EventID")
    assert [int(x) for x in text.split()] == ids


def test_the_shells_server_is_the_default_computer(host: FakeHost) -> None:
    fill(host)
    on_cas = Shell(host, "Adatum", "ADATUM-CAS1")
    text = ok(on_cas, "Get-EventLog Application | Select-Object -ExpandProperty EventID")
    assert text.split() == ["12018"]


def test_pipeline_where_object_and_format_table(adatum: Shell, host: FakeHost) -> None:
    fill(host)
    text = ok(
        adatum,
        "Get-EventLog Application | Where-Object {$_.EventID -eq 12014} | ft EventID, Category",
    )
    assert text.splitlines()[2].split() == ["12014", "TransportService"]


def test_event_id_given_as_instance_id_finds_nothing_and_says_why(
    adatum: Shell, host: FakeHost
) -> None:
    fill(host)
    result = adatum.run("Get-EventLog Application -InstanceId 12014")
    assert str(result.error).endswith("No matches found")
    assert "EventID 12014 (Error) has InstanceId 3221237486" in result.output


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "Get-EventLog System",
            "The event log 'System' on computer '.' does not exist. (labsim keeps one event log "
            "per server, Application: Get-EventLog -LogName Application.)",
        ),
        (
            "Get-EventLog Application -EntryType Critical",
            "Cannot validate argument on parameter 'EntryType'. The argument \"Critical\" does not "
            'belong to the set "Error,Information,FailureAudit,SuccessAudit,Warning"',
        ),
        (
            "Get-EventLog Application -After 'yesterday'",
            "Cannot process argument transformation on parameter 'After'. Cannot convert value "
            '"yesterday" to type "System.DateTime"',
        ),
        ("Get-EventLog Application -ComputerName EX99", "The network path was not found."),
        ("Get-EventLog Application -Newest 0", "Cannot validate argument on parameter 'Newest'"),
        ("Get-EventLog Application -InstanceId abc", 'Cannot convert value "abc"'),
    ],
)
def test_bad_input_gives_one_clear_message(
    adatum: Shell, host: FakeHost, line: str, message: str
) -> None:
    fill(host)
    assert message in error_of(adatum, line)


def test_get_command_and_help_know_it(adatum: Shell) -> None:
    listed = ok(adatum, "Get-Command Get-EventLog")
    assert "Microsoft.PowerShell.Management" in listed
    assert "-LogName" in ok(adatum, "Get-Help Get-EventLog")


def test_entries_are_frozen() -> None:
    log = ApplicationLog(MBX)
    entry = log.write(events.TLS_DOMAIN_SECURE_DISABLED, ("d", "c"), source="S", at=NOW)
    assert isinstance(entry, EventLogEntry)
    with pytest.raises(AttributeError):
        entry.message = "changed"  # type: ignore[misc]
