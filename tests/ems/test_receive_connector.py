"""New-/Set-/Get-/Remove-ReceiveConnector: usage presets, roles, identities, rules."""

from __future__ import annotations

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.model.enums import AuthMechanism, PermissionGroup, TransportRole
from labsim.model.values import ALL_IPV4

PARTNER = 'New-ReceiveConnector -Name "From Trey" -Server ADATUM-CAS1 -Partner -Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.1'


def connector(host: FakeHost, name: str) -> object:
    (found,) = [c for c in host.organization("Adatum").receive_connectors if c.name == name]
    return found


def test_missing_server_bindings_and_ranges(adatum: Shell) -> None:
    result = adatum.run("New-ReceiveConnector -Name X -Partner")
    assert result.error is not None
    assert str(result.error) == (
        "New-ReceiveConnector: Cannot process command because of one or more missing mandatory "
        "parameters: Server Bindings RemoteIPRanges."
    )


def test_server_defaults_to_the_shells_machine(host: FakeHost) -> None:
    shell = Shell(host, "Adatum", "ADATUM-MBX1")
    result = shell.run(
        "New-ReceiveConnector -Name Relay -Custom -Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.0/24"
    )
    assert result.ok, result.error
    made = connector(host, "Relay")
    assert made.server == "ADATUM-MBX1"  # type: ignore[attr-defined]
    assert made.transport_role is TransportRole.HUB_TRANSPORT  # type: ignore[attr-defined]
    assert made.permission_groups == frozenset()  # type: ignore[attr-defined]


def test_internet_usage_preset(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(
        "New-ReceiveConnector Inet -Server ADATUM-CAS1 -Internet -Bindings 127.0.10.1:25"
    ).ok
    made = connector(host, "Inet")
    assert made.remote_ip_ranges == (ALL_IPV4,)  # type: ignore[attr-defined]
    assert made.permission_groups == frozenset({PermissionGroup.ANONYMOUS_USERS})  # type: ignore[attr-defined]


def test_client_usage_default_binding(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(
        "New-ReceiveConnector Sub -Server ADATUM-MBX1 -Usage Client -RemoteIPRanges 127.0.0.0/8"
    ).ok
    made = connector(host, "Sub")
    assert [str(b) for b in made.bindings] == ["0.0.0.0:587"]  # type: ignore[attr-defined]
    assert AuthMechanism.BASIC_AUTH_REQUIRE_TLS in made.auth_mechanism  # type: ignore[attr-defined]


def test_duplicate_bindings_and_ranges_refused(adatum: Shell) -> None:
    assert adatum.run(PARTNER).ok
    result = adatum.run(
        "New-ReceiveConnector -Name Again -Server ADATUM-CAS1 -Partner -Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.1"
    )
    assert result.error is not None
    assert str(result.error) == (
        "New-ReceiveConnector: The values that you specified for the Bindings and RemoteIPRanges "
        'parameters conflict with the settings on Receive connector "ADATUM-CAS1\\From Trey". A '
        "Receive connector must have a unique combination of a local IP address & port bindings "
        "and remote IP address ranges. Change at least one of these values."
    )


def test_same_binding_other_range_is_fine(adatum: Shell) -> None:
    # The Partner connector shares 0.0.0.0:25 with "Default Frontend", but its range is narrower.
    assert adatum.run(PARTNER).ok


def test_binding_must_be_an_address_of_the_server(adatum: Shell) -> None:
    result = adatum.run(PARTNER.replace("0.0.0.0:25", "127.0.10.2:25"))
    assert result.error is not None
    assert (
        "isn't an address of server ADATUM-CAS1. Use 0.0.0.0 (all addresses) or 127.0.10.1"
        in str(result.error)
    )


def test_transport_role_must_fit_the_server(adatum: Shell) -> None:
    result = adatum.run(PARTNER + " -TransportRole HubTransport")
    assert result.error is not None
    assert "The TransportRole HubTransport doesn't fit server ADATUM-CAS1" in str(result.error)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "-AuthMechanism None,Tls",
            "The AuthMechanism value None can't be combined with other values.",
        ),
        (
            "-AuthMechanism Tls,BasicAuthRequireTLS",
            "BasicAuthRequireTLS also requires BasicAuth and Tls",
        ),
        (
            "-AuthMechanism Tls,ExternalAuthoritative",
            "ExternalAuthoritative can only be used together with Tls",
        ),
        (
            "-AuthMechanism BasicAuth",
            "The DomainSecureEnabled parameter can only be $true when AuthMechanism includes Tls",
        ),
        (
            "-DomainSecureEnabled $false -AuthMechanism BasicAuth -RequireTLS $true",
            "The RequireTLS parameter can only be $true when AuthMechanism includes Tls",
        ),
        (
            "-AuthMechanism Tl",
            "Specify one of the following enumerator names and try again: None, Tls, Integrated",
        ),
        ("-RemoteIPRanges 300.1.1.1", "is specified more than once"),
    ],
)
def test_receive_connector_rules(adatum: Shell, extra: str, message: str) -> None:
    result = adatum.run(PARTNER + " " + extra)
    assert result.error is not None
    assert message in str(result.error)


def test_rules_checked_on_set(adatum: Shell) -> None:
    assert adatum.run(PARTNER).ok
    result = adatum.run('Set-ReceiveConnector "From Trey" -AuthMechanism BasicAuth')
    assert result.error is not None and "includes Tls" in str(result.error)


def test_bad_range_value(adatum: Shell) -> None:
    result = adatum.run(PARTNER.replace("127.0.20.1", "300.1.1.1"))
    assert result.error is not None
    assert "Cannot process argument transformation on parameter 'RemoteIPRanges'" in str(
        result.error
    )


def test_ambiguous_name_lists_the_matches(host: FakeHost, adatum: Shell) -> None:
    assert adatum.run(
        "New-ReceiveConnector Relay -Server ADATUM-CAS1 -Custom -Bindings 0.0.0.0:2526 -RemoteIPRanges 127.0.0.9"
    ).ok
    assert adatum.run(
        "New-ReceiveConnector Relay -Server ADATUM-MBX1 -Custom -Bindings 0.0.0.0:2526 -RemoteIPRanges 127.0.0.9"
    ).ok
    result = adatum.run("Set-ReceiveConnector Relay -Enabled $false")
    assert result.error is not None
    assert result.error.category == "ManagementObjectAmbiguousException"
    assert "ADATUM-CAS1\\Relay, ADATUM-MBX1\\Relay" in str(result.error)
    assert adatum.run('Set-ReceiveConnector "ADATUM-MBX1\\Relay" -Enabled $false').ok


def test_pipeline_and_remove(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(PARTNER).ok
    result = adatum.run(
        "Get-ReceiveConnector -Server ADATUM-CAS1 | Set-ReceiveConnector -ProtocolLoggingLevel Verbose"
    )
    assert result.ok, result.error
    assert all(
        c.protocol_logging_level.value == "Verbose"
        for c in host.organization("Adatum").receive_connectors_on("ADATUM-CAS1")
    )
    assert adatum.run('Remove-ReceiveConnector "From Trey"').ok
    assert not any(c.name == "From Trey" for c in host.organization("Adatum").receive_connectors)
