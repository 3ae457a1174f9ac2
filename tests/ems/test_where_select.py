"""Where-Object (``?``, ``where``) and Select-Object (``select``) over the objects Exchange
cmdlets write: script blocks and the simplified form, property lists, -First/-Last,
-ExpandProperty (issue 11 item 10)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ems_fakes import NOW, FakeHost, message_row, retry_queue_row

from labsim.ems import Shell
from labsim.logs.tracking import TrackingEventId, TrackingRecord, TrackingSource


def rows(shell: Shell, line: str) -> list[str]:
    """The data rows of a table (header and dashes dropped), blanks squeezed."""
    result = shell.run(line)
    assert result.ok, result.error
    return [" ".join(row.split()) for row in result.output.splitlines()[2:]]


def names(shell: Shell, line: str) -> list[str]:
    """The Name (or Identity) of each object the line keeps."""
    result = shell.run(line + " | Select-Object -ExpandProperty Name")
    assert result.ok, result.error
    return result.output.splitlines()


RECEIVE = "Get-ReceiveConnector"


def test_script_block_eq_like_and_or(adatum: Shell) -> None:
    assert names(
        adatum, RECEIVE + ' | Where-Object {$_.Name -eq "client frontend adatum-cas1"}'
    ) == ["Client Frontend ADATUM-CAS1"]
    assert names(
        adatum, RECEIVE + " | ? {$_.Name -like '*Frontend*' -and $_.Bindings -like '*:25'}"
    ) == ["Default Frontend ADATUM-CAS1"]
    assert names(
        adatum, RECEIVE + " | where {$_.Name -like 'Client*' -or $_.Name -like 'Default ADATUM*'}"
    ) == [
        "Client Frontend ADATUM-CAS1",
        "Default ADATUM-MBX1",
        "Client Proxy ADATUM-MBX1",
    ]
    assert names(
        adatum, RECEIVE + " | ? {$_.Name -notlike '*Frontend*' -and $_.Server -ne 'ADATUM-CAS1'}"
    ) == [
        "Default ADATUM-MBX1",
        "Client Proxy ADATUM-MBX1",
    ]
    assert names(adatum, RECEIVE + " | ? {-not ($_.Name -like '*Frontend*')}") == [
        "Default ADATUM-MBX1",
        "Client Proxy ADATUM-MBX1",
    ]
    assert names(adatum, RECEIVE + " | ? {$_.Name -clike 'client*'}") == []


def test_booleans_and_numbers_compare_as_powershell_does(adatum: Shell) -> None:
    assert adatum.run("Set-ReceiveConnector 'Client Proxy ADATUM-MBX1' -Enabled $false").ok
    assert names(adatum, RECEIVE + " | ? {$_.Enabled -eq $false}") == ["Client Proxy ADATUM-MBX1"]
    assert len(names(adatum, RECEIVE + " | ? {$_.Enabled}")) == 4
    assert names(adatum, RECEIVE + " | ? {$_.MaxHopCount -gt 59}") == names(adatum, RECEIVE)
    assert names(adatum, RECEIVE + " | ? {$_.MaxHopCount -lt 9}") == []


def test_simplified_form(adatum: Shell) -> None:
    assert names(adatum, RECEIVE + " | Where-Object Name -like Client*") == [
        "Client Frontend ADATUM-CAS1",
        "Client Proxy ADATUM-MBX1",
    ]
    assert names(adatum, RECEIVE + " | ? Server -eq adatum-mbx1") == [
        "Default ADATUM-MBX1",
        "Client Proxy ADATUM-MBX1",
    ]
    assert len(names(adatum, RECEIVE + " | ? Name -NotLike Client*")) == 3
    assert len(names(adatum, RECEIVE + " | ? Enabled")) == 5


def test_lists_on_the_left_match_any_item(adatum: Shell) -> None:
    assert names(adatum, RECEIVE + " | ? {$_.Bindings -eq '0.0.0.0:2525'}") == [
        "Default ADATUM-MBX1"
    ]
    assert names(adatum, RECEIVE + " | ? {$_.Bindings -contains '0.0.0.0:465'}") == [
        "Client Proxy ADATUM-MBX1"
    ]


def test_certificates_servers_queues_messages(adatum: Shell, host: FakeHost) -> None:
    certs = adatum.run(
        "Get-ExchangeCertificate | ? {$_.Subject -like 'CN=mail.*'} | select -ExpandProperty Subject"
    )
    assert certs.ok, certs.error
    assert set(certs.output.splitlines()) == {"CN=mail.adatum.com, O=Adatum"}
    assert names(adatum, "Get-ExchangeServer | ? {$_.ServerRole -eq 'Mailbox'}") == ["ADATUM-MBX1"]
    host.queue_rows.append(retry_queue_row())
    host.message_rows.append(message_row())
    queues = adatum.run("Get-Queue | ? {$_.Status -eq 'Retry'} | select -ExpandProperty Identity")
    assert queues.output == "ADATUM-MBX1\\3"
    assert adatum.run("Get-Queue | ? {$_.Status -ne 'Retry'}").output == ""
    subject = adatum.run("Get-Message | ? {$_.FromAddress -like '*@adatum.com'} | select Subject")
    assert subject.output.splitlines() == ["Subject", "-------", "Hello Trey"]


def test_tracking_records(adatum: Shell, host: FakeHost) -> None:
    def record(seconds: int, event: TrackingEventId, subject: str) -> TrackingRecord:
        return TrackingRecord(
            date_time=NOW + timedelta(seconds=seconds),
            source=TrackingSource.SMTP,
            event_id=event,
            sender_address="april@adatum.com",
            recipient_address=("ben@treyresearch.net",),
            message_subject=subject,
            message_id="<1@adatum.com>",
        )

    host.tracking["ADATUM-MBX1"] = [
        record(0, TrackingEventId.RECEIVE, "One"),
        record(1, TrackingEventId.SEND, "One"),
        record(2, TrackingEventId.FAIL, "Two"),
    ]
    got = adatum.run(
        "Get-MessageTrackingLog | ? {$_.EventId -eq 'FAIL' -or $_.EventId -eq 'SEND'} | "
        "select EventId,MessageSubject"
    )
    assert got.ok, got.error
    assert [" ".join(r.split()) for r in got.output.splitlines()[2:]] == ["SEND One", "FAIL Two"]
    recipients = adatum.run(
        "Get-MessageTrackingLog -EventId SEND | select -ExpandProperty Recipients"
    )
    assert recipients.output == "ben@treyresearch.net"


def test_select_properties_first_last(adatum: Shell) -> None:
    out = adatum.run(RECEIVE + " | Select-Object Name,Bind* -First 2")
    assert out.ok, out.error
    assert out.output.splitlines() == [
        "Name                                Bindings",
        "----                                --------",
        "Default Frontend ADATUM-CAS1        {[::]:25, 0.0.0.0:25}",
        "Outbound Proxy Frontend ADATUM-CAS1 {[::]:717, 0.0.0.0:717}",
    ]
    assert names(adatum, RECEIVE + " | select -Last 2") == [
        "Default ADATUM-MBX1",
        "Client Proxy ADATUM-MBX1",
    ]
    assert names(adatum, RECEIVE + " | select -First 1 -Skip 1") == [
        "Outbound Proxy Frontend ADATUM-CAS1"
    ]
    # Beyond four properties a selected object prints as a list, and FL shows just those.
    wide = adatum.run("Get-ExchangeServer | select -First 1 Name,Fqdn,Edition,ServerRole,Site")
    assert wide.output.splitlines()[:3] == [
        "Name       : ADATUM-CAS1",
        "Fqdn       : mail.adatum.com",
        "Edition    : Enterprise",
    ]
    assert adatum.run("Get-ExchangeServer | select Name,Nope -Last 1 | FL").output == (
        "Name : ADATUM-MBX1\nNope :"
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            RECEIVE + " | ? {$_.Name -foo 'x'}",
            "At line:1 char:35: Unexpected token '-foo' in expression or statement.",
        ),
        (
            RECEIVE + " | ? {$_.Name -eq 'x'",
            "At line:1 char:26: Missing closing '}' in statement block.",
        ),
        (
            RECEIVE + " | select -ExpandProperty Nope",
            'Select-Object: Property "Nope" cannot be found.',
        ),
        (
            RECEIVE + " | FL | ? {$_.Name}",
            "Where-Object: The input object is formatted text from a Format- cmdlet; put "
            "Format-List or Format-Table at the end of the pipeline, after Where-Object.",
        ),
        (
            RECEIVE + " | select -First -1",
            "Select-Object: Cannot validate argument on parameter 'First'. The -1 argument is less "
            "than the minimum allowed range of 0. Supply an argument that is greater than or equal "
            "to 0 and then try the command again.",
        ),
    ],
)
def test_errors(adatum: Shell, line: str, message: str) -> None:
    result = adatum.run(line)
    assert result.error is not None
    assert str(result.error) == message


def test_sizes_compare_by_bytes(adatum: Shell) -> None:
    # The frontend connectors take 36 MB, the others 35 MB (Exchange 2013's defaults).
    big = names(adatum, RECEIVE + " | ? {$_.MaxMessageSize -gt 35MB}")
    assert big == ["Default Frontend ADATUM-CAS1", "Outbound Proxy Frontend ADATUM-CAS1"]
    assert len(names(adatum, RECEIVE + " | ? {$_.MaxMessageSize -le 36MB}")) == 5


def test_select_calculated_properties(adatum: Shell) -> None:
    # Name/Expression, their short forms and Label; a string Expression names a property; without
    # a name the column is titled with the block's text.
    out = adatum.run(
        RECEIVE + ' | select -First 2 Name,@{Name="Port";Expression={$_.Bindings}},'
        '@{n="Size";e="MaxMessageSize"},@{Label="Big";e={$_.MaxMessageSize -gt 35MB}}'
    )
    assert out.ok, out.error
    assert out.output.splitlines() == [
        "Name                                Port                    Size                     Big",
        "----                                ----                    ----                     ---",
        "Default Frontend ADATUM-CAS1        {[::]:25, 0.0.0.0:25}   36 MB (37,748,736 bytes) True",
        "Outbound Proxy Frontend ADATUM-CAS1 {[::]:717, 0.0.0.0:717} 36 MB (37,748,736 bytes) True",
    ]
    untitled = adatum.run(RECEIVE + " | select @{e={$_.Name}} -Last 1")
    assert untitled.output.splitlines() == ["$_.Name", "-------", "Client Proxy ADATUM-MBX1"]
    # The computed value is a property like any other: filter and expand it downstream.
    assert adatum.run(
        RECEIVE
        + ' | select @{n="N";e={$_.Name}} | ? {$_.N -like "Default*"} | select -ExpandProperty N'
    ).output.splitlines() == ["Default Frontend ADATUM-CAS1", "Default ADATUM-MBX1"]


def test_sort_object(adatum: Shell) -> None:
    assert names(adatum, RECEIVE + " | Sort-Object Name") == [
        "Client Frontend ADATUM-CAS1",
        "Client Proxy ADATUM-MBX1",
        "Default ADATUM-MBX1",
        "Default Frontend ADATUM-CAS1",
        "Outbound Proxy Frontend ADATUM-CAS1",
    ]
    assert names(adatum, RECEIVE + " | sort name -Descending | select -First 2") == [
        "Outbound Proxy Frontend ADATUM-CAS1",
        "Default Frontend ADATUM-CAS1",
    ]
    # Sizes sort by bytes (36 MB after 35 MB), then by the next property; a block sorts too.
    assert names(adatum, RECEIVE + " | sort MaxMessageSize,Name -Descending") == [
        "Outbound Proxy Frontend ADATUM-CAS1",
        "Default Frontend ADATUM-CAS1",
        "Default ADATUM-MBX1",
        "Client Proxy ADATUM-MBX1",
        "Client Frontend ADATUM-CAS1",
    ]
    assert names(
        adatum, RECEIVE + " | sort @{e={$_.MaxMessageSize};Descending=$true},{$_.Name}"
    ) == [
        "Default Frontend ADATUM-CAS1",
        "Outbound Proxy Frontend ADATUM-CAS1",
        "Client Frontend ADATUM-CAS1",
        "Client Proxy ADATUM-MBX1",
        "Default ADATUM-MBX1",
    ]
    assert names(adatum, RECEIVE + " | sort MaxMessageSize -Unique") == [
        "Client Frontend ADATUM-CAS1",
        "Default Frontend ADATUM-CAS1",
    ]


def test_measure_object(adatum: Shell) -> None:
    out = adatum.run(RECEIVE + " | Measure-Object")
    assert out.ok, out.error
    assert out.output.splitlines() == [
        "Count    : 5",
        "Average  :",
        "Sum      :",
        "Maximum  :",
        "Minimum  :",
        "Property :",
    ]
    assert adatum.run("(" + RECEIVE + " | measure).Count").output == "5"
    assert adatum.run("(" + RECEIVE + " | ? {$_.Name -like 'Client*'} | measure).Count").output == (
        "2"
    )
    stats = adatum.run(
        RECEIVE + " | measure -Property MaxRecipientsPerMessage -Sum -Average -Maximum -Minimum"
    )
    assert stats.output.splitlines() == [
        "Count    : 5",
        "Average  : 200",
        "Sum      : 1000",
        "Maximum  : 200",
        "Minimum  : 200",
        "Property : MaxRecipientsPerMessage",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (RECEIVE + " | select @{foo={$_.Name}}", "Select-Object: The foo key is not valid."),
        (RECEIVE + ' | select @{n="X"}', "Select-Object: The Expression key is missing."),
        (
            RECEIVE + ' | select @{n="X";e=$true}',
            "Select-Object: The Expression key has a type, System.Boolean, that is not valid; "
            "expected types are {System.String, System.Management.Automation.ScriptBlock}.",
        ),
        (
            RECEIVE + " | measure -Property Name -Sum",
            'Measure-Object: Input object "Default Frontend ADATUM-CAS1" is not numeric.',
        ),
        (
            RECEIVE + " | measure -Property Nope",
            'Measure-Object: The property "Nope" cannot be found in the input for any objects.',
        ),
        (RECEIVE + ' | sort @{n="X"}', "Sort-Object: The n key is not valid."),
    ],
)
def test_calculated_property_and_measure_errors(adatum: Shell, line: str, message: str) -> None:
    result = adatum.run(line)
    assert result.error is not None
    assert str(result.error) == message


def test_format_table_and_list_take_calculated_properties(adatum: Shell) -> None:
    table = adatum.run(
        RECEIVE + ' | select -First 2 | ft Name,@{n="Size";e={$_.MaxMessageSize}} -AutoSize'
    )
    assert table.ok, table.error
    assert table.output.splitlines() == [
        "Name                                Size",
        "----                                ----",
        "Default Frontend ADATUM-CAS1        36 MB (37,748,736 bytes)",
        "Outbound Proxy Frontend ADATUM-CAS1 36 MB (37,748,736 bytes)",
    ]
    listed = adatum.run(
        RECEIVE + ' | select -Last 1 | fl Name,@{Label="P";Expression={$_.Bindings}}'
    )
    assert listed.output.splitlines() == [
        "Name : Client Proxy ADATUM-MBX1",
        "P    : {[::]:465, 0.0.0.0:465}",
    ]
    refused = adatum.run(RECEIVE + ' | ft Name,@{n="P";e={$_.Bindings};Width=10}')
    assert str(refused.error) == (
        "Format-Table: labsim's Format-Table does not apply the Width key of a calculated "
        "property (its columns are always sized to fit); give only Name (or Label) and "
        "Expression."
    )


def test_group_object_counts_in_order_of_first_appearance(adatum: Shell, host: FakeHost) -> None:
    def record(seconds: int, event: TrackingEventId) -> TrackingRecord:
        return TrackingRecord(
            date_time=NOW + timedelta(seconds=seconds),
            source=TrackingSource.SMTP,
            event_id=event,
            sender_address="april@adatum.com",
            recipient_address=("ben@treyresearch.net",),
            message_subject="One",
            message_id="<1@adatum.com>",
        )

    host.tracking["ADATUM-MBX1"] = [
        record(0, TrackingEventId.RECEIVE),
        record(1, TrackingEventId.DEFER),
        record(2, TrackingEventId.DEFER),
        record(3, TrackingEventId.SEND),
    ]
    grouped = adatum.run("Get-MessageTrackingLog | Group-Object EventId")
    assert grouped.ok, grouped.error
    event = "Microsoft.Exchange.Management.TransportLogSearchTasks.MessageTrackingEvent"
    assert grouped.output.splitlines() == [
        "Count Name    Group",
        "----- ----    -----",
        f"    1 RECEIVE {{{event}}}",
        f"    2 DEFER   {{{event}, {event}}}",
        f"    1 SEND    {{{event}}}",
    ]
    assert rows(adatum, "Get-MessageTrackingLog | group EventId -NoElement | sort Count -Desc") == [
        "2 DEFER",
        "1 RECEIVE",
        "1 SEND",
    ]
    # The groups' objects pipe on; case does not split a group unless -CaseSensitive.
    assert names(
        adatum,
        RECEIVE + " | group {$_.Name -like '*frontend*'} | ? {$_.Name -eq 'True'} | "
        "select -ExpandProperty Group",
    ) == [
        "Default Frontend ADATUM-CAS1",
        "Outbound Proxy Frontend ADATUM-CAS1",
        "Client Frontend ADATUM-CAS1",
    ]
    listed = adatum.run(RECEIVE + " | group Enabled,Server | fl")
    assert listed.ok, listed.error
    assert listed.output.splitlines()[:4] == [
        "Count  : 3",
        "Name   : True, ADATUM-CAS1",
        "Group  : {ADATUM-CAS1\\Default Frontend ADATUM-CAS1, ADATUM-CAS1\\Outbound Proxy "
        "Frontend ADATUM-CAS1, ADATUM-CAS1\\Client Frontend ADATUM-CAS1}",
        "Values : {True, ADATUM-CAS1}",
    ]
    refused = adatum.run("Get-MessageTrackingLog | group EventId -AsHashTable")
    assert not refused.ok and "does not build hash tables" in str(refused.error)


def test_foreach_object_writes_each_objects_value(adatum: Shell) -> None:
    assert run_lines(adatum, RECEIVE + " | % {$_.Identity}")[:2] == [
        "ADATUM-CAS1\\Default Frontend ADATUM-CAS1",
        "ADATUM-CAS1\\Outbound Proxy Frontend ADATUM-CAS1",
    ]
    # The alias foreach after a pipe, a member name, a list flattened, $null written not at all.
    assert run_lines(adatum, RECEIVE + " | foreach Name") == names(adatum, RECEIVE)
    domains = run_lines(adatum, "Get-ExchangeCertificate | ForEach-Object {$_.CertificateDomains}")
    assert "adatum.com" in domains and len(domains) > 3
    assert run_lines(adatum, RECEIVE + " | % {$_.Nothing}") == []
    missing = adatum.run(RECEIVE + " | %")
    assert not missing.ok and "% {$_.Name}" in str(missing.error)
    command = adatum.run(RECEIVE + " | % { Set-ReceiveConnector $_.Identity -Enabled $false }")
    assert not command.ok and "pipe the objects into the cmdlet instead" in str(command.error)


def run_lines(shell: Shell, line: str) -> list[str]:
    result = shell.run(line)
    assert result.ok, result.error
    return result.output.splitlines()
