"""PowerShell's binding errors: unknown cmdlet/parameter, prefixes, values, mandatory, blocks."""

from __future__ import annotations

from ems_fakes import FakeHost

from labsim.ems import Shell


def test_unknown_cmdlet_with_suggestion(adatum: Shell) -> None:
    result = adatum.run("Get-SendConector")
    assert result.error is not None
    assert str(result.error) == (
        "Get-SendConector: The term 'Get-SendConector' is not recognized as the name of a cmdlet, "
        "function, script file, or operable program. Check the spelling of the name, or if a path "
        "was included, verify that the path is correct and try again. Did you mean "
        "'Get-SendConnector'?"
    )
    assert result.error.category == "CommandNotFoundException"


def test_unknown_cmdlet_without_suggestion(adatum: Shell) -> None:
    result = adatum.run("Frobnicate-Everything")
    assert result.error is not None and "Did you mean" not in str(result.error)


def test_unknown_parameter(adatum: Shell) -> None:
    result = adatum.run("Get-TransportConfig -Foo bar")
    assert result.error is not None
    assert str(result.error) == (
        "Get-TransportConfig: A parameter cannot be found that matches parameter name 'Foo'."
    )
    assert result.error.cmdlet == "Get-TransportConfig"
    assert result.error.category == "ParameterBindingException"


def test_parameter_names_case_insensitive_and_prefixes(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run("set-transportconfig -tlssend treyresearch.net -TLSRec treyresearch.net").ok
    config = host.organization("Adatum").transport_config
    assert config.tls_send_domain_secure_list == ("treyresearch.net",)
    assert config.tls_receive_domain_secure_list == ("treyresearch.net",)


def test_ambiguous_prefix(adatum: Shell) -> None:
    result = adatum.run("Set-TransportConfig -TLS a.com")
    assert result.error is not None
    assert str(result.error) == (
        "Set-TransportConfig: Parameter cannot be processed because the parameter name 'TLS' is "
        "ambiguous. Possible matches include: -TLSReceiveDomainSecureList, "
        "-TLSSendDomainSecureList."
    )


def test_bad_boolean(adatum: Shell) -> None:
    result = adatum.run("Set-TransportConfig -ExternalDelayDsnEnabled true")
    assert result.error is not None
    assert (
        "Cannot process argument transformation on parameter 'ExternalDelayDsnEnabled'. Cannot "
        'convert value "true" to type "System.Boolean".'
    ) in str(result.error)


def test_bad_integer(adatum: Shell) -> None:
    result = adatum.run("Set-TransportConfig -MaxRecipientEnvelopeLimit many")
    assert result.error is not None
    assert 'Cannot convert value "many" to type "System.Int32".' in str(result.error)


def test_missing_mandatory(adatum: Shell) -> None:
    result = adatum.run("New-SendConnector")
    assert result.error is not None
    assert str(result.error) == (
        "New-SendConnector: Cannot process command because of one or more missing mandatory "
        "parameters: Name AddressSpaces."
    )


def test_missing_argument(adatum: Shell) -> None:
    result = adatum.run("Set-SendConnector x -Comment")
    assert result.error is not None
    assert (
        "Missing an argument for parameter 'Comment'. Specify a parameter of type 'System.String'"
        in str(result.error)
    )


def test_extra_positional(adatum: Shell) -> None:
    result = adatum.run("Get-SendConnector a b")
    assert result.error is not None
    assert "A positional parameter cannot be found that accepts argument 'b'." in str(result.error)


def test_object_not_found(adatum: Shell) -> None:
    result = adatum.run('Set-SendConnector "To Nowhere" -Enabled $false')
    assert result.error is not None
    assert str(result.error).startswith(
        "Set-SendConnector: The operation couldn't be performed because object 'To Nowhere' "
        "couldn't be found on 'DC1.adatum.com'."
    )


def test_first_error_stops_the_block(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "Set-TransportConfig -TLSSendDomainSecureList a.com\n"
        "Set-TransportConfig -Bogus 1\n"
        "Set-TransportConfig -TLSSendDomainSecureList b.com"
    )
    assert result.error is not None
    assert result.commands == (
        "Set-TransportConfig -TLSSendDomainSecureList a.com",
        "Set-TransportConfig -Bogus 1",
    )
    assert host.organization("Adatum").transport_config.tls_send_domain_secure_list == ("a.com",)


def test_syntax_error_runs_nothing(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run('Set-TransportConfig -TLSSendDomainSecureList a.com\nGet-X "abc')
    assert result.error is not None and result.error.category == "ParseException"
    assert result.commands == ()
    assert host.organization("Adatum").transport_config.tls_send_domain_secure_list == ()


def test_pipeline_into_a_cmdlet_without_pipeline_input(adatum: Shell) -> None:
    result = adatum.run("Get-AcceptedDomain | Get-TransportConfig")
    assert result.error is not None
    assert "The input object cannot be bound to any parameters for the command" in str(result.error)


def test_format_cannot_feed_another_cmdlet(adatum: Shell) -> None:
    result = adatum.run("Get-AcceptedDomain | FL | FT")
    assert result.error is not None and "FormatStartData" in str(result.error)


def test_confirm_false_accepted(adatum: Shell) -> None:
    assert adatum.run("Set-TransportConfig -TLSSendDomainSecureList a.com -Confirm:$false").ok
