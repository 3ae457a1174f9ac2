"""Set-TransportConfig: replace, @{Add;Remove}, $null, wildcards refused, no duplicates."""

from __future__ import annotations

from ems_fakes import FakeHost

from labsim.ems import Shell


def lists(host: FakeHost) -> tuple[tuple[str, ...], tuple[str, ...]]:
    config = host.organization("Adatum").transport_config
    return config.tls_send_domain_secure_list, config.tls_receive_domain_secure_list


def test_replace_with_a_list(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run('Set-TransportConfig -TLSSendDomainSecureList contoso.com,"fabrikam.com"').ok
    assert lists(host)[0] == ("contoso.com", "fabrikam.com")


def test_add_and_remove(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run("Set-TransportConfig -TLSReceiveDomainSecureList old.com,keep.com").ok
    result = adatum.run(
        'Set-TransportConfig -TLSReceiveDomainSecureList @{Add="woodgrovebank.com","x.org"; Remove="OLD.com"}'
    )
    assert result.ok, result.error
    assert lists(host)[1] == ("keep.com", "woodgrovebank.com", "x.org")


def test_no_duplicates_case_insensitive(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(
        "Set-TransportConfig -TLSSendDomainSecureList TreyResearch.net,treyresearch.NET"
    ).ok
    assert lists(host)[0] == ("TreyResearch.net",)
    again = adatum.run("Set-TransportConfig -TLSSendDomainSecureList @{Add='treyresearch.net'}")
    assert again.ok
    assert again.output.startswith("WARNING: The command completed successfully but no settings")


def test_null_clears(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(
        "Set-TransportConfig -TLSSendDomainSecureList a.com\nSet-TransportConfig -TLSSendDomainSecureList $null"
    ).ok
    assert lists(host)[0] == ()


def test_wildcards_refused(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run('Set-TransportConfig -TLSReceiveDomainSecureList @{Add="*.contoso.com"}')
    assert result.error is not None
    text = str(result.error)
    assert text.startswith(
        "Set-TransportConfig: Cannot process argument transformation on parameter "
        "'TLSReceiveDomainSecureList'."
    )
    assert "'*.contoso.com' isn't a valid SMTP domain." in text
    assert lists(host) == ((), ())


def test_sizes_and_flags(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "Set-TransportConfig -MaxSendSize 25MB -MaxReceiveSize unlimited -ExternalDelayDsnEnabled $false "
        "-MaxRecipientEnvelopeLimit 1000 -InternalSMTPServers 127.0.10.0/24 -ExternalDsnReportingAuthority adatum.com\n"
        "Get-TransportConfig | FL MaxSendSize,MaxReceiveSize,ExternalDelay*,MaxRecip*,InternalSMTP*,ExternalDsnRep*"
    )
    assert result.ok, result.error
    assert result.output.splitlines() == [
        "MaxSendSize                   : 25 MB (26,214,400 bytes)",
        "MaxReceiveSize                : Unlimited",
        "ExternalDelayDsnEnabled       : False",
        "MaxRecipientEnvelopeLimit     : 1000",
        "InternalSMTPServers           : {127.0.10.0/24}",
        "ExternalDsnReportingAuthority : adatum.com",
    ]


def test_bad_size(adatum: Shell) -> None:
    result = adatum.run("Set-TransportConfig -MaxSendSize lots")
    assert result.error is not None
    assert "parameter 'MaxSendSize'" in str(result.error) and "35MB" in str(result.error)
