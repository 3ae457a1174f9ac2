"""A command's output in parentheses as a parameter value, and DateTime's Add* methods:
``Enable-ExchangeCertificate -Thumbprint (Get-ExchangeCertificate -DomainName x).Thumbprint``
and ``Get-MessageTrackingLog -Start (Get-Date).AddHours(-1)``, as admins type them in EMS."""

from __future__ import annotations

import pytest
from ems_fakes import NOW, FakeHost

from labsim.ems import Shell
from labsim.ems.parser import SubPipeline, parse


def ok(shell: Shell, text: str) -> str:
    result = shell.run(text)
    assert result.error is None, result.error
    return result.output


def test_a_pipeline_in_parentheses_gives_its_property_as_the_value(
    adatum: Shell, host: FakeHost
) -> None:
    ok(
        adatum,
        "Enable-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint "
        "(Get-ExchangeCertificate -Server ADATUM-CAS1 | ? {$_.Subject -like '*O=Adatum'}).Thumbprint "
        "-Services IIS",
    )
    (cert,) = [
        c for c in host.certificate_store("ADATUM-CAS1").personal() if "O=Adatum" in c.subject
    ]
    assert cert.services == frozenset({"IIS", "SMTP"})


def test_a_list_from_a_pipeline_binds_as_a_list(adatum: Shell) -> None:
    ok(adatum, "Set-TransportConfig -TLSSendDomainSecureList (Get-AcceptedDomain).DomainName")
    assert ok(adatum, "Get-TransportConfig | fl TLSSendDomainSecureList") == (
        "TLSSendDomainSecureList : {adatum.com}"
    )
    # Words in parentheses stay a list of words.
    ok(adatum, "Set-TransportConfig -TLSReceiveDomainSecureList (treyresearch.net, contoso.com)")
    assert "{treyresearch.net, contoso.com}" in ok(adatum, "Get-TransportConfig | fl TLSRec*")


def test_the_commands_in_an_argument_count_as_the_statements(adatum: Shell) -> None:
    (pipeline,) = parse(
        "Set-TransportConfig -TLSSendDomainSecureList (Get-AcceptedDomain).DomainName"
    )
    assert [c.name for c in pipeline.calls()] == ["Get-AcceptedDomain", "Set-TransportConfig"]
    argument = pipeline.commands[0].arguments[1]
    assert isinstance(argument.value, SubPipeline)


def test_get_date_is_lab_time_and_add_methods_move_it(adatum: Shell) -> None:
    assert ok(adatum, "Get-Date") == "Friday, March 1, 2024 9:30:00 AM"
    assert NOW.day == 1
    assert ok(adatum, "(Get-Date).AddHours(-1.5)") == "Friday, March 1, 2024 8:00:00 AM"
    assert ok(adatum, "(Get-Date).AddDays(30).AddMinutes(1)") == "Sunday, March 31, 2024 9:31:00 AM"
    # .NET keeps the day, or the month's last: 31 March minus one month is 29 February 2024.
    assert (
        ok(adatum, "(Get-Date).AddDays(30).AddMonths(-1)")
        == "Thursday, February 29, 2024 9:30:00 AM"
    )
    assert ok(adatum, "$d = (Get-Date).AddYears(1); $d") == "Saturday, March 1, 2025 9:30:00 AM"


def test_a_date_from_a_method_binds_to_a_datetime_parameter(adatum: Shell) -> None:
    # The fake host's tracking log is empty: the binding is what is checked (no error).
    ok(adatum, "Get-MessageTrackingLog -Start (Get-Date).AddHours(-1) -End (Get-Date)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(Get-Date).AddWeeks(1)", "does not run the method AddWeeks() on System.DateTime"),
        ("(Get-TransportConfig).Foo()", "does not run the method Foo() on an Exchange object"),
        ("(Get-Date).AddHours('x')", 'with value: "x", for "AddHours" to type "System.Double"'),
        ("(Get-Date).AddMonths(1.5)", 'for "AddMonths" to type "System.Int32"'),
        ("(Get-Date).AddHours(1", "Missing closing ')'"),
    ],
)
def test_other_methods_and_bad_arguments_get_one_message(
    adatum: Shell, text: str, expected: str
) -> None:
    result = adatum.run(text)
    assert result.error is not None
    assert expected in str(result.error), result.error


def test_a_method_other_than_datetimes_is_refused_when_the_statement_runs(adatum: Shell) -> None:
    result = adatum.run("$x = Get-ExchangeServer; $x.Name.ToUpper()")
    assert "labsim's shell does not run the method ToUpper()" in str(result.error)


# -- inside a filter ---------------------------------------------------------------------------


def test_get_date_and_add_methods_inside_a_filter(adatum: Shell) -> None:
    # The fake host's time is 1 March 2024; the CA-issued certificate is valid for two years,
    # Exchange's self-signed one for five.
    soon = ok(
        adatum,
        "Get-ExchangeCertificate -Server ADATUM-CAS1 | ? {$_.NotAfter -lt (Get-Date).AddYears(3)}"
        " | select -ExpandProperty Subject",
    )
    assert soon == "CN=mail.adatum.com, O=Adatum"
    later = ok(
        adatum,
        "Get-ExchangeCertificate -Server ADATUM-CAS1 | ? {$_.NotAfter.AddYears(-3) -gt (get-date)}"
        " | select -ExpandProperty Subject",
    )
    assert later == "CN=ADATUM-CAS1"


def test_a_date_compares_as_a_date_not_as_its_text(adatum: Shell) -> None:
    # The CA-issued certificate ends in March 2026, the self-signed one in 2029. As text,
    # "3/…/2026" is after "12/1/2026" ('3' > '1') and nothing would be found.
    out = ok(
        adatum,
        "Get-ExchangeCertificate -Server ADATUM-CAS1 | ? {$_.NotAfter -lt '12/1/2026'}"
        " | select -ExpandProperty Subject",
    )
    assert out == "CN=mail.adatum.com, O=Adatum"


def test_a_calculated_property_may_call_a_date_method(adatum: Shell) -> None:
    out = ok(
        adatum,
        "Get-ExchangeCertificate -Server ADATUM-CAS1 | sort NotAfter | select -First 1 "
        '@{n="Warn";e={$_.NotAfter.AddDays(-30)}} | fl',
    )
    assert out.startswith("Warn : 1/")


def test_other_methods_inside_a_filter_are_refused_when_it_runs(adatum: Shell) -> None:
    result = adatum.run("Get-ReceiveConnector | ? {$_.Name.StartsWith('C')}")
    assert "does not run the method StartsWith() on System.String" in str(result.error)
    result = adatum.run("Get-ReceiveConnector | ? {$_.Name -eq (Get-SendConnector).Name}")
    assert "does not take commands inside a script block" in str(result.error)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Enable-ExchangeCertificate -Thumbprint "
            "(Get-ExchangeCertificate -DomainName nowhere.example).Thumbprint -Services SMTP",
            "Enable-ExchangeCertificate: Cannot bind argument to parameter 'Thumbprint' because "
            "it is null.",
        ),
        (
            "$c = Get-SendConnector | ? {$_.Name -eq 'none'}; Set-SendConnector -Identity $c -Port 26",
            "Set-SendConnector: Cannot bind argument to parameter 'Identity' because it is null.",
        ),
    ],
)
def test_nothing_found_for_a_mandatory_parameter_stops_with_powershells_null_error(
    adatum: Shell, text: str, expected: str
) -> None:
    result = adatum.run(text)
    assert str(result.error) == expected
