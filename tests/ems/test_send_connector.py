"""New-/Set-/Get-/Remove-SendConnector: defaults, cross-parameter rules, D2, pipelines."""

from __future__ import annotations

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.model.enums import TlsAuthLevel

NEW = "New-SendConnector -Name Out -AddressSpaces contoso.com "


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            NEW + "-SmartHosts relay.contoso.com",
            "The SmartHosts parameter can't be used when the DNSRoutingEnabled parameter is $true.",
        ),
        (
            NEW + "-DNSRoutingEnabled $false",
            "The SmartHosts parameter must be set when the DNSRoutingEnabled parameter is $false.",
        ),
        (
            NEW
            + "-DomainSecureEnabled $true -DNSRoutingEnabled $false -SmartHosts relay.contoso.com",
            "The DomainSecureEnabled parameter can only be $true when the DNSRoutingEnabled parameter is $true",
        ),
        (
            NEW + "-DomainSecureEnabled $true -IgnoreSTARTTLS $true",
            "can only be $true when the IgnoreSTARTTLS parameter is $false",
        ),
        (
            NEW + "-RequireTLS $true -IgnoreSTARTTLS $true",
            "The RequireTLS and IgnoreSTARTTLS parameters can't both be $true.",
        ),
        (
            NEW + "-TlsAuthLevel DomainValidation",
            "The TlsAuthLevel parameter can only be set when the RequireTLS parameter is $true",
        ),
        (
            NEW + "-RequireTLS $true -TlsAuthLevel CertificateValidation -TlsDomain contoso.com",
            "The TLSDomain parameter can only be set if the TLSAuthLevel parameter is set to DomainValidation.",
        ),
        (
            NEW + "-Partner -Internet",
            "Parameter set cannot be resolved using the specified named parameters",
        ),
        (
            NEW + "-SourceTransportServers ADATUM-CAS1",
            "can't be a source server of a send connector (-SourceTransportServers)",
        ),
        (
            NEW + "-SourceTransportServers NOPE",
            "object 'NOPE' couldn't be found on 'DC1.adatum.com'",
        ),
        (NEW + "-AddressSpaces x.com", "is specified more than once"),
    ],
)
def test_new_send_connector_rules(adatum: Shell, host: FakeHost, line: str, message: str) -> None:
    result = adatum.run(line)
    assert result.error is not None
    assert message in str(result.error)
    assert str(result.error).startswith("New-SendConnector: ")
    assert host.organization("Adatum").send_connectors == ()


def test_rules_are_checked_on_the_result_of_set(adatum: Shell) -> None:
    assert adatum.run(
        NEW + "-RequireTLS $true -TlsAuthLevel DomainValidation -TlsDomain *.contoso.com"
    ).ok
    result = adatum.run("Set-SendConnector Out -RequireTLS $false")
    assert result.error is not None
    assert "TlsAuthLevel parameter can only be set when the RequireTLS parameter is $true" in str(
        result.error
    )
    assert result.error.cmdlet == "Set-SendConnector"
    assert result.error.category == "InvalidOperation"


def test_valid_forced_tls_connector(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        NEW
        + "-RequireTLS $true -TlsAuthLevel DomainValidation -TlsDomain *.contoso.com -Comment 'EOP'"
    )
    assert result.ok, result.error
    connector = host.organization("Adatum").send_connector("out")
    assert connector is not None
    assert connector.tls_auth_level is TlsAuthLevel.DOMAIN_VALIDATION
    assert connector.tls_domain == "*.contoso.com"
    assert not connector.domain_secure_enabled


def test_partner_defaults_yield_to_explicit_values(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(NEW + "-Usage Partner -DomainSecureEnabled $false").ok
    connector = host.organization("Adatum").send_connector("Out")
    assert connector is not None and not connector.domain_secure_enabled


def test_duplicate_name_refused(adatum: Shell) -> None:
    assert adatum.run(NEW).ok
    result = adatum.run("New-SendConnector -Name OUT -AddressSpaces b.com")
    assert result.error is not None and 'A send connector named "OUT" already exists' in str(
        result.error
    )


def test_set_turning_on_proxy_prints_d2_note_never_as_an_exchange_warning(
    adatum: Shell,
) -> None:
    """Exchange prints nothing here (§17 C13): labsim's note is marked as labsim's."""
    assert adatum.run(NEW + "-Partner").ok
    result = adatum.run("Set-SendConnector Out -FrontendProxyEnabled $true")
    assert result.ok
    assert result.output.startswith(
        "labsim note: Domain Security isn't supported when outbound mail is proxied"
    )
    assert "WARNING" not in result.output
    quiet = adatum.run("Set-SendConnector Out -FrontendProxyEnabled $false")
    assert quiet.ok and quiet.output == ""


def test_pipeline_get_into_set(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(NEW + "\nNew-SendConnector -Name Two -AddressSpaces b.com").ok
    result = adatum.run("Get-SendConnector | Set-SendConnector -ProtocolLoggingLevel Verbose")
    assert result.ok, result.error
    assert all(
        c.protocol_logging_level.value == "Verbose"
        for c in host.organization("Adatum").send_connectors
    )


def test_address_spaces_add_remove(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(NEW).ok
    assert adatum.run(
        'Set-SendConnector Out -AddressSpaces @{Add="SMTP:*.contoso.com;5"; Remove="contoso.com"}'
    ).ok
    connector = host.organization("Adatum").send_connector("Out")
    assert connector is not None
    assert [str(a) for a in connector.address_spaces] == ["SMTP:*.contoso.com;5"]


def test_get_with_wildcard_and_not_found(adatum: Shell) -> None:
    assert adatum.run(NEW).ok
    assert "Out" in adatum.run("Get-SendConnector O*").output
    assert adatum.run("Get-SendConnector Z*").output == ""
    missing = adatum.run("Get-SendConnector Nope")
    assert missing.error is not None
    assert missing.error.category == "ManagementObjectNotFoundException"


def test_remove(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(NEW + "\nRemove-SendConnector Out -Confirm:$false").ok
    assert host.organization("Adatum").send_connectors == ()


def test_bad_address_space(adatum: Shell) -> None:
    result = adatum.run("New-SendConnector -Name x -AddressSpaces *contoso.com")
    assert result.error is not None
    assert "Cannot process argument transformation on parameter 'AddressSpaces'" in str(
        result.error
    )
    assert "*contoso.com" in str(result.error)


@pytest.mark.parametrize("address", ["10.0.0.1", "[192.168.1.1]", "8.8.8.8"])
def test_a_smart_host_off_loopback_is_refused(adatum: Shell, address: str) -> None:
    # labsim's bound: an address the lab would have to send off this machine (issue 10 item 7).
    made = adatum.run(
        f"New-SendConnector -Name Out -AddressSpaces * -SmartHosts {address} "
        "-SourceTransportServers ADATUM-MBX1 -DNSRoutingEnabled $false"
    )
    assert made.error is not None
    assert f"the smart host {address} is outside 127.0.0.0/8" in str(made.error)
    assert adatum.run(
        "New-SendConnector -Name Out -AddressSpaces * -SmartHosts 127.0.20.1,mail.fabrikam.org "
        "-SourceTransportServers ADATUM-MBX1 -DNSRoutingEnabled $false"
    ).ok
    changed = adatum.run(f"Set-SendConnector Out -SmartHosts {address}")
    assert changed.error is not None and "outside 127.0.0.0/8" in str(changed.error)
