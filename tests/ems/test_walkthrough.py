"""The seed walkthrough, typed on Adatum as the article shows it (docs/exchange-reference.md §16 D2)."""

from __future__ import annotations

from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.model.enums import PermissionGroup, ProtocolLoggingLevel, TransportRole


def test_transport_config_lists(adatum: Shell, host: FakeHost) -> None:
    before = adatum.run("Get-TransportConfig | FL")
    assert before.ok
    assert "TLSReceiveDomainSecureList".ljust(53) + " : {}" in before.output
    result = adatum.run(
        "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net\n"
        "Set-TransportConfig \u2013TLSReceiveDomainSecureList treyresearch.net\n"
        "Get-TransportConfig | FL"
    )
    assert result.ok, result.error
    assert "TLSReceiveDomainSecureList".ljust(53) + " : {treyresearch.net}" in result.output
    assert "TLSSendDomainSecureList".ljust(53) + " : {treyresearch.net}" in result.output
    config = host.organization("Adatum").transport_config
    assert config.sends_domain_secured_to("treyresearch.net")
    assert config.receives_domain_secured_from("TreyResearch.NET")
    assert len(result.commands) == 3


def test_partner_send_connector_with_proxy_warns_and_is_domain_secure(
    adatum: Shell, host: FakeHost
) -> None:
    result = adatum.run(
        'New-SendConnector -Name "To TreyResearch" -Partner -AddressSpaces treyresearch.net '
        "-FrontendProxyEnabled $true -ProtocolLoggingLevel Verbose"
    )
    assert result.ok, result.error
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "labsim note: Domain Security isn't supported when outbound mail is proxied"
    )
    assert "won't enforce mutual TLS" in lines[0]
    assert lines[2:] == [
        "Identity        AddressSpaces             Enabled",
        "--------        -------------             -------",
        "To TreyResearch {SMTP:treyresearch.net;1} True",
    ]
    connector = host.organization("Adatum").send_connector("To TreyResearch")
    assert connector is not None
    assert connector.domain_secure_enabled and connector.dns_routing_enabled
    assert connector.source_transport_servers == ("ADATUM-MBX1",)
    assert connector.protocol_logging_level is ProtocolLoggingLevel.VERBOSE

    shown = adatum.run('Get-SendConnector \u2013identity "To TreyResearch" | FL')
    assert "DomainSecureEnabled          : True" in shown.output
    assert "FrontendProxyEnabled         : True" in shown.output

    # The article's fallback: already True, so EMS reports that nothing changed.
    again = adatum.run(
        'Set-SendConnector \u2013identity "To TreyResearch" \u2013DomainSecureEnabled:$true'
    )
    assert again.ok
    assert again.output == (
        "WARNING: The command completed successfully but no settings of 'To TreyResearch' have "
        "been modified."
    )


def test_partner_receive_connector_on_the_cas(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        'New-ReceiveConnector -Name "From TreyResearch" -Server ADATUM-CAS1 -Partner '
        "-Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.1\n"
        'Set-ReceiveConnector "From TreyResearch" -ProtocolLoggingLevel Verbose'
    )
    assert result.ok, result.error
    assert result.output.splitlines() == [
        "Identity                      Bindings     Enabled",
        "--------                      --------     -------",
        "ADATUM-CAS1\\From TreyResearch {0.0.0.0:25} True",
    ]
    (connector,) = [
        c for c in host.organization("Adatum").receive_connectors if c.name == "From TreyResearch"
    ]
    assert connector.transport_role is TransportRole.FRONTEND_TRANSPORT
    assert connector.permission_groups == frozenset({PermissionGroup.PARTNERS})
    assert connector.domain_secure_enabled
    assert connector.protocol_logging_level is ProtocolLoggingLevel.VERBOSE
    shown = adatum.run(
        'Get-ReceiveConnector "ADATUM-CAS1\\From TreyResearch" | FL Auth*,Perm*,Domain*,Remote*'
    )
    assert shown.output.splitlines() == [
        "AuthMechanism       : Tls",
        "PermissionGroups    : Partners",
        "DomainSecureEnabled : True",
        "RemoteIPRanges      : {127.0.20.1}",
    ]


def test_whole_walkthrough_in_one_block_on_the_cas(host: FakeHost) -> None:
    shell = Shell(host, "Adatum", "ADATUM-CAS1")
    result = shell.run(
        r"""
        Import-Certificate -FilePath TreyResearch\root-ca.cer -CertStoreLocation Cert:\LocalMachine\Root
        Set-TransportConfig -TLSSendDomainSecureList treyresearch.net -TLSReceiveDomainSecureList treyresearch.net
        New-SendConnector -Name "To TreyResearch" -Partner -AddressSpaces treyresearch.net `
            -FrontendProxyEnabled $true -ProtocolLoggingLevel Verbose
        New-ReceiveConnector -Name "From TreyResearch" -Partner -Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.1
        Get-TransportConfig | FL TLS*
        """
    )
    assert result.ok, result.error
    assert (
        "PSParentPath: Microsoft.PowerShell.Security\\Certificate::LocalMachine\\Root"
        in result.output
    )
    assert "CN=TreyResearch Root CA, O=TreyResearch" in result.output
    assert result.output.endswith(
        "TLSReceiveDomainSecureList : {treyresearch.net}\n"
        "TLSSendDomainSecureList    : {treyresearch.net}"
    )
    trey_root = host.certificate_store("TREY-CAS1").trusted_roots()[0]
    assert host.certificate_store("ADATUM-CAS1").is_trusted_root(trey_root)
    # The step named the CAS: the Mailbox server's store is untouched.
    assert not host.certificate_store("ADATUM-MBX1").is_trusted_root(trey_root)
    assert len(result.commands) == 5
