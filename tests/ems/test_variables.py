"""Variables and property access in the shell: ``$c = Get-SendConnector "x"``, ``$c.Name``,
``$c | Format-List``, ``(Get-TransportConfig).TLSSendDomainSecureList``, variables as parameter
values and in Where-Object blocks; their scope (one Shell, or a session passed in) and the
self-contained statement texts the --state journal keeps (issue 11 item 10)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.ems.shell import ShellSession
from labsim.interactive import InteractiveShell
from labsim.lab import Lab
from labsim.model.lab import default_lab

NEW_TREY = "New-SendConnector -Name Trey -AddressSpaces treyresearch.net -Usage Partner"


def run(shell: Shell, text: str) -> str:
    result = shell.run(text)
    assert result.ok, result.error
    return result.output


def test_assignment_prints_nothing_and_the_variable_holds_the_object(adatum: Shell) -> None:
    run(adatum, NEW_TREY)
    assert run(adatum, '$c = Get-SendConnector "Trey"') == ""
    assert run(adatum, "$c.Name") == "Trey"
    assert run(adatum, "$C.port") == "25"
    assert run(adatum, "$c | Format-List Name,DomainSecureEnabled") == (
        "Name                : Trey\nDomainSecureEnabled : True"
    )
    assert run(adatum, "$c").splitlines()[2].split()[0] == "Trey"


def test_property_of_a_parenthesised_pipeline(adatum: Shell) -> None:
    run(adatum, "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net,contoso.com")
    assert run(adatum, "(Get-TransportConfig).TLSSendDomainSecureList") == (
        "treyresearch.net\ncontoso.com"
    )
    # Member enumeration: the property of each object of a list.
    assert run(adatum, "(Get-ExchangeServer).Name") == "ADATUM-CAS1\nADATUM-MBX1"
    # A list's own Count wins over its items' properties.
    assert run(adatum, "(Get-ExchangeServer).Count") == "2"
    assert run(adatum, "(Get-ExchangeServer ADATUM-MBX1).Count") == "1"


def test_variables_as_parameter_values_and_in_filters(adatum: Shell) -> None:
    run(adatum, NEW_TREY)
    run(adatum, "$c = Get-SendConnector Trey")
    run(adatum, "Set-SendConnector $c -Port 587")
    run(adatum, "$c | Set-SendConnector -Comment $c.Name")
    assert (
        run(adatum, "Get-SendConnector Trey | FL Port,Comment") == "Port    : 587\nComment : Trey"
    )
    run(adatum, "$name = 'Client Proxy ADATUM-MBX1'")
    assert run(adatum, "Get-ReceiveConnector | ? {$_.Name -eq $name} | select -Expand Name") == (
        "Client Proxy ADATUM-MBX1"
    )


def test_variables_live_as_long_as_the_session(host: FakeHost) -> None:
    run(Shell(host, "Adatum"), NEW_TREY)
    session = ShellSession()
    run(Shell(host, "Adatum", session=session), "$c = Get-SendConnector Trey")
    assert run(Shell(host, "Adatum", session=session), "$c.Name") == "Trey"
    # Another shell has its own (empty) variables: an unset variable is $null, as in PowerShell.
    assert run(Shell(host, "Adatum"), "$c.Name") == ""


def test_statements_reading_variables_are_recorded_whole(adatum: Shell) -> None:
    result = adatum.run(
        f"$c = {NEW_TREY}\n$c | Set-SendConnector -Port 26\n$d = Get-SendConnector\n$d.Name"
    )
    assert result.ok, result.error
    assert result.commands == (
        f"$c = {NEW_TREY}",
        "$c = Get-SendConnector 'Trey'; $c | Set-SendConnector -Port 26",
        "$d = Get-SendConnector",
        "$d = Get-SendConnector; $d.Name",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Get-SendConnector | $c",
            "At line:1 char:21: Expressions are only allowed as the first element of a pipeline.",
        ),
        (
            "$c = ",
            "At line:1 char:6: You must provide a value expression on the right-hand side of the "
            "'=' operator.",
        ),
        ("(Get-TransportConfig", "At line:1 char:1: Missing closing ')' in expression."),
    ],
)
def test_errors(adatum: Shell, text: str, message: str) -> None:
    result = adatum.run(text)
    assert result.error is not None
    assert str(result.error) == message


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    started = Lab.start(default_lab(), cert_folder=tmp_path_factory.mktemp("certs"))
    try:
        yield started
    finally:
        started.stop()


def test_interactive_shell_keeps_variables_until_the_organization_changes(lab: Lab) -> None:
    echoed: list[str] = []
    shell = InteractiveShell(lab, echoed.append, "Adatum")
    shell.execute("$s = Get-ExchangeServer ADATUM-MBX1")
    shell.execute("$s.Fqdn")
    assert echoed == ["adatum-mbx1.adatum.com"]
    # Each lab.run_shell block without a session starts with none.
    assert lab.run_shell("Adatum", "$s.Fqdn").output == ""
    shell.execute(":org TreyResearch")
    shell.execute("$s.Fqdn")
    assert echoed == ["adatum-mbx1.adatum.com"]


NOT_SUPPORTED = (
    "The syntax is not supported by this runspace. This can occur if the runspace is in "
    "no-language mode. labsim's shell does not take {what}; it takes cmdlets and pipelines, "
    "Where-Object/Select-Object/ForEach-Object, $variables and (pipeline).Property."
)


@pytest.mark.parametrize(
    ("text", "at", "what"),
    [
        ("$a = 1 + 2", "char:8", "the operator '+' in a statement"),
        ('$c.Name = "x"', "char:9", "the operator '=' in a statement"),
        (
            "Get-ReceiveConnector | ? {$_.Name -eq (Get-SendConnector).Name}",
            "char:40",
            "commands inside a script block (pipe the objects into the cmdlet instead, e.g. "
            "Get-ReceiveConnector | Set-ReceiveConnector -ProtocolLoggingLevel Verbose)",
        ),
        ("foreach ($x in $y) {}", "char:1", "the foreach statement"),
        ("[string]$x = 1", "char:1", "[type] casts"),
        ("@(1,2)", "char:1", "@(...) arrays as a statement"),
    ],
)
def test_unsupported_language_gets_powershells_no_language_error(
    adatum: Shell, text: str, at: str, what: str
) -> None:
    result = adatum.run(text)
    assert str(result.error) == f"At line:1 {at}: " + NOT_SUPPORTED.format(what=what)
    assert result.commands == ()  # nothing ran


def test_a_change_inside_parentheses_is_journaled() -> None:
    from labsim.store.records import changes_configuration

    assert changes_configuration(f"({NEW_TREY}).Identity")
    assert not changes_configuration("(Get-TransportConfig).TLSSendDomainSecureList")


def test_ems_variables_and_words_that_start_with_a_variable(adatum: Shell) -> None:
    install = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"
    assert run(adatum, "$exinstall") == install
    assert run(adatum, "$exbin") == install + "bin\\"
    assert run(adatum, "$exscripts") == install + "scripts\\"
    assert run(adatum, "$env:ExchangeInstallPath") == install
    # A bare argument that starts with a variable and goes on is one word, expanded.
    run(adatum, NEW_TREY)
    run(adatum, '$name = "Tr"')
    missing = adatum.run("Get-SendConnector $name\\ey")
    assert not missing.ok and "'Tr\\ey'" in str(missing.error)
    # The statement reads $name: the journal keeps the assignment with it.
    assert missing.commands == ('$name = "Tr"; Get-SendConnector $name\\ey',)
