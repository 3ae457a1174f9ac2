"""Get-Command and Get-Help describe the shell's own catalog: every cmdlet it has (and nothing
else), PowerShell's table and help layout, the parameters labsim takes (issue 11 item 10)."""

from __future__ import annotations

from collections.abc import Iterable

from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets import default_catalog
from labsim.ems.conversions import INT


def rows(shell: Shell, line: str) -> list[list[str]]:
    result = shell.run(line)
    assert result.ok, result.error
    return [row.split() for row in result.output.splitlines()[2:]]


def test_get_command_lists_every_cmdlet_of_the_catalog(adatum: Shell) -> None:
    result = adatum.run("Get-Command")
    assert result.ok, result.error
    header = result.output.splitlines()[0].split()
    assert header == ["CommandType", "Name", "Version", "Source"]
    listed = [r[1] for r in rows(adatum, "Get-Command") if r[0] == "Cmdlet"]
    assert sorted(listed, key=str.lower) == listed
    assert set(listed) == {spec.name for spec in default_catalog().specs()}
    aliases = {r[1] for r in rows(adatum, "Get-Command") if r[0] == "Alias"}
    assert {"FL", "?", "select", "gcm"} <= aliases


def test_get_command_filters_and_sources(adatum: Shell) -> None:
    assert rows(adatum, "Get-Command *SendConnector -Verb Set") == [
        [
            "Cmdlet",
            "Set-SendConnector",
            "15.0.1497.2",
            "Microsoft.Exchange.Management.PowerShell.SnapIn",
        ]
    ]
    assert [r[1] for r in rows(adatum, "gcm -Noun Lab*Server")] == [
        "Get-LabServer",
        "Start-LabServer",
        "Stop-LabServer",
    ]
    assert rows(adatum, "Get-Command Where-Object")[0][3] == "Microsoft.PowerShell.Core"
    assert rows(adatum, "Get-Command Nothing*") == []


def test_get_command_of_an_unknown_name_is_powershells_error(adatum: Shell) -> None:
    result = adatum.run("Get-Command Foo-Bar")
    assert result.error is not None
    assert "The term 'Foo-Bar' is not recognized as the name of a cmdlet, function, script " in str(
        result.error
    )
    assert result.error.category == "CommandNotFoundException"


def _noop(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    return []


def test_help_follows_the_catalog_it_runs_with(host: FakeHost) -> None:
    catalog = default_catalog()
    catalog.register(
        CmdletSpec(
            "Test-Widget",
            (ParameterSpec("Identity", mandatory=True, position=0), ParameterSpec("Size", INT)),
            _noop,
            synopsis="Check a widget.",
        )
    )
    shell = Shell(host, "Adatum", catalog=catalog)
    assert rows(shell, "Get-Command Test-Widget")[0][1] == "Test-Widget"
    text = shell.run("Get-Help Test-Widget").output
    assert text.splitlines()[:8] == [
        "NAME",
        "    Test-Widget",
        "",
        "SYNOPSIS",
        "    Check a widget.",
        "",
        "SYNTAX",
        "    Test-Widget [-Identity] <String> [-Size <Int32>] [<CommonParameters>]",
    ]
    assert "    -Size <Int32>\n        Required?                    false\n" in text


def test_get_help_shows_what_labsim_takes(adatum: Shell) -> None:
    text = adatum.run("Get-Help Set-SendConnector").output
    assert (
        "    Set-SendConnector [-Identity] <String> [-AddressSpaces <MultiValuedProperty>]" in text
    )
    assert "[-WhatIf] [<CommonParameters>]" in text
    assert "    -TlsAuthLevel <TlsAuthLevel>\n" in text
    assert (
        "Accepted values              EncryptionOnly, CertificateValidation, DomainValidation"
        in text
    )
    assert adatum.run("help fl").output.splitlines()[1] == "    Format-List"
    assert adatum.run("Get-Help New-SendConnector -Parameter Usage").output.splitlines() == [
        "    -Usage <UsageType>",
        "        Required?                    false",
        "        Position?                    named",
        "        Accepted values              Custom, Internal, Internet, Partner",
    ]
    missing = adatum.run("Get-Help Foo-Bar")
    assert str(missing.error) == (
        "Get-Help: Get-Help could not find Foo-Bar in a help file in this session. Get-Command "
        "lists the commands labsim supports."
    )
