"""Get-, New-, Set- and Remove-SendConnector (docs/exchange-reference.md §3.2, §4.6, §14; decision
D2).

Rules kept: SourceTransportServers default to the organization's Mailbox servers and must be
Mailbox servers; Usage Partner sets DomainSecureEnabled and DNSRoutingEnabled to $true unless they
are given; the cross-parameter rules of :func:`validate` are checked on the resulting connector
(for Set- too); a connector name is unique. When the result proxies through the Client Access
server while Domain Security is on, a WARNING explains decision D2.
The property parameters and what they change come from the send connector's property table
(:data:`labsim.ems.tables.SEND_CONNECTOR`), which Format-List shows too.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable
from enum import Enum
from typing import TypeVar

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import (
    find_send_connector,
    find_server,
    identity_matches,
    identity_of,
    no_change_warning,
    not_found,
)
from labsim.ems.conversions import (
    ADDRESS_SPACE_LIST,
    STRING,
    SWITCH,
    ListEdit,
    apply_list,
    enum_type,
)
from labsim.ems.messages import cmdlet_error, invalid_operation
from labsim.ems.outputs import SendConnectorOutput
from labsim.ems.tables import SEND_CONNECTOR
from labsim.errors import CmdletError
from labsim.model.connectors import SendConnector
from labsim.model.enums import SendConnectorUsage, TlsAuthLevel
from labsim.model.values import AddressSpace, is_ip_literal

E = TypeVar("E", bound=Enum)


def usage_from(
    ctx: CmdletContext, args: Arguments, kind: type[E], switches: dict[str, E]
) -> E | None:
    """The usage given by ``-Usage`` or one usage switch; more than one is refused."""
    chosen = [(name, value) for name, value in switches.items() if args.flag(name)]
    given = args.get("Usage")
    if len(chosen) > 1 or (chosen and given is not None):
        named = ", ".join(f"-{n}" for n, _ in chosen) + (" -Usage" if given is not None else "")
        raise cmdlet_error(
            ctx.cmdlet,
            f"Parameter set cannot be resolved using the specified named parameters ({named}). "
            "Give one usage: -Usage or one of the switches "
            + ", ".join(f"-{n}" for n in switches)
            + ".",
            "ParameterBindingException",
        )
    if chosen:
        return chosen[0][1]
    if given is None:
        return None
    assert isinstance(given, kind)
    return given


def _changes(
    ctx: CmdletContext, args: Arguments, current: SendConnector, skip: tuple[str, ...]
) -> dict[str, object]:
    """Record changes of the table's properties given in ``args`` (Exchange's checks on single
    values first; the lists in ``skip`` are handled by the cmdlet)."""
    port = args.get("Port")
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise ctx.error(f"The value of -Port must be from 1 to 65535; {port} is out of range.")
    return SEND_CONNECTOR.changes(ctx, args, current, _output(ctx, current), skip=skip)


def _output(ctx: CmdletContext, connector: SendConnector) -> SendConnectorOutput:
    org = ctx.organization()
    return SendConnectorOutput(connector, org.name, org.default_domain)


# Handled by the cmdlets themselves: the name (unique), the address spaces (at least one), the
# source servers (Mailbox servers only).
_OWN = ("Name", "AddressSpaces", "SourceTransportServers")


def _source_servers(ctx: CmdletContext, names: Iterable[object]) -> tuple[str, ...]:
    result: list[str] = []
    for name in names:
        server = find_server(ctx, str(name))
        if not server.is_mailbox:
            mailbox = ", ".join(s.name for s in ctx.organization().servers if s.is_mailbox)
            raise ctx.error(
                f"The server {server.name} can't be a source server of a send connector "
                f"(-SourceTransportServers): it is a Client Access server. Give a Mailbox "
                f"server: {mailbox}."
            )
        if server.name not in result:
            result.append(server.name)
    if not result:
        raise ctx.error(
            "A send connector needs at least one source server (-SourceTransportServers)."
        )
    return tuple(result)


LOOPBACK_NETWORK = ipaddress.ip_network("127.0.0.0/8")
"""The only addresses a lab connects to (labsim.net.loopback checks again at the socket)."""


def validate(cmdlet: str, c: SendConnector) -> None:
    """Exchange's cross-parameter rules for a send connector (docs/exchange-reference.md §3.2,
    §14)."""

    def refuse(message: str) -> CmdletError:
        return invalid_operation(cmdlet, message)

    for host in c.smart_hosts:
        literal = host.strip("[]")
        if is_ip_literal(literal) and ipaddress.ip_address(literal) not in LOOPBACK_NETWORK:
            # labsim's bound, not Exchange's: the lab never sends a packet off this machine.
            raise refuse(
                f"labsim: the smart host {host} is outside 127.0.0.0/8, and the lab never sends "
                "mail off this machine. Give a lab server's or an outside organization's "
                "address, or its host name (e.g. -SmartHosts mail.fabrikam.org)."
            )
    if c.smart_hosts and c.dns_routing_enabled:
        raise refuse(
            "The SmartHosts parameter can't be used when the DNSRoutingEnabled parameter is $true. "
            "Add -DNSRoutingEnabled $false to route through the smart hosts, or remove -SmartHosts."
        )
    if not c.smart_hosts and not c.dns_routing_enabled:
        raise refuse(
            "The SmartHosts parameter must be set when the DNSRoutingEnabled parameter is $false. "
            "Give -SmartHosts (e.g. -SmartHosts smarthost.contoso.com), or set "
            "-DNSRoutingEnabled $true."
        )
    if c.domain_secure_enabled and not c.dns_routing_enabled:
        raise refuse(
            "The DomainSecureEnabled parameter can only be $true when the DNSRoutingEnabled "
            "parameter is $true: Domain Security needs MX (DNS) routing, not smart hosts. Set "
            "-DNSRoutingEnabled $true, or -DomainSecureEnabled $false."
        )
    if c.domain_secure_enabled and c.ignore_starttls:
        raise refuse(
            "The DomainSecureEnabled parameter can only be $true when the IgnoreSTARTTLS "
            "parameter is $false: Domain Security needs STARTTLS. Set -IgnoreSTARTTLS $false, or "
            "-DomainSecureEnabled $false."
        )
    if c.require_tls and c.ignore_starttls:
        raise refuse(
            "The RequireTLS and IgnoreSTARTTLS parameters can't both be $true. Set one of them to "
            "$false."
        )
    if c.tls_auth_level is not None and (not c.require_tls or c.ignore_starttls):
        raise refuse(
            "The TlsAuthLevel parameter can only be set when the RequireTLS parameter is $true and "
            "the IgnoreSTARTTLS parameter is $false. Add -RequireTLS $true, or clear it with "
            "-TlsAuthLevel $null."
        )
    if c.tls_domain and c.tls_auth_level is not TlsAuthLevel.DOMAIN_VALIDATION:
        raise refuse(
            "The TLSDomain parameter can only be set if the TLSAuthLevel parameter is set to "
            "DomainValidation. Add -TlsAuthLevel DomainValidation (with -RequireTLS $true), or "
            "clear it with -TlsDomain $null."
        )


def d2_warning(c: SendConnector) -> str:
    """labsim's note of decision D2 (FrontendProxyEnabled together with DomainSecureEnabled).

    Exchange prints nothing here (docs/exchange-reference.md §17 C13): the note is labsim's
    teaching aid, printed as ``labsim note:``, never in Exchange's WARNING form."""
    return (
        "Domain Security isn't supported when outbound mail is proxied through a Client Access "
        f'server (send connector "{c.name}" has FrontendProxyEnabled $true and '
        "DomainSecureEnabled $true). The receiving organization can still authenticate this "
        "organization by its certificate, but this organization won't enforce mutual TLS for "
        "the connector's domains (labsim decision D2 in docs/exchange-reference.md). To enforce it "
        "here, set "
        "-FrontendProxyEnabled $false."
    )


def _address_spaces(value: object) -> tuple[AddressSpace, ...]:
    return tuple(v for v in apply_list((), value) if isinstance(v, AddressSpace))


def get_send_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-SendConnector [[-Identity] name]: all connectors, or those matching (wildcards)."""
    connectors = ctx.organization().send_connectors
    identity = args.text("Identity")
    if identity is None:
        return [_output(ctx, c) for c in connectors]
    found = [c for c in connectors if identity_matches(identity, c.name)]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-SendConnector to list the send connectors.")
    return [_output(ctx, c) for c in found]


def new_send_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """New-SendConnector: create, check the rules, print the new connector (table view)."""
    org = ctx.organization()
    name = args.text("Name") or ""
    if not name.strip():
        raise ctx.error("The -Name parameter can't be empty; give the connector a name.")
    if org.send_connector(name) is not None:
        raise invalid_operation(
            ctx.cmdlet,
            f'A send connector named "{name}" already exists. Choose another -Name, or change the '
            "existing one with Set-SendConnector.",
        )
    spaces_value = args.get("AddressSpaces")
    if isinstance(spaces_value, ListEdit):
        raise ctx.error(
            "The -AddressSpaces parameter of New-SendConnector takes a list, not "
            "@{Add=...; Remove=...}; give e.g. -AddressSpaces treyresearch.net."
        )
    spaces = _address_spaces(spaces_value)
    if not spaces:
        raise ctx.error("The -AddressSpaces parameter needs at least one address space.")
    usage = usage_from(
        ctx,
        args,
        SendConnectorUsage,
        {
            "Custom": SendConnectorUsage.CUSTOM,
            "Internal": SendConnectorUsage.INTERNAL,
            "Internet": SendConnectorUsage.INTERNET,
            "Partner": SendConnectorUsage.PARTNER,
        },
    )
    if "SourceTransportServers" in args:
        servers = _source_servers(ctx, apply_list((), args.get("SourceTransportServers")))
    else:
        servers = tuple(s.name for s in org.servers if s.is_mailbox)
    draft = SendConnector(name=name, address_spaces=spaces, source_transport_servers=servers)
    changes = _changes(ctx, args, draft, _OWN)
    # Exchange's Partner usage turns Domain Security on and keeps MX routing unless told otherwise.
    if usage is SendConnectorUsage.PARTNER:
        changes.setdefault("domain_secure_enabled", True)
        changes.setdefault("dns_routing_enabled", True)
    connector = dataclasses.replace(
        draft,
        usage=usage or SendConnectorUsage.CUSTOM,
        **changes,  # type: ignore[arg-type]
    )
    validate(ctx.cmdlet, connector)
    if connector.frontend_proxy_enabled and connector.domain_secure_enabled:
        ctx.note(d2_warning(connector))
    ctx.replace(dataclasses.replace(org, send_connectors=(*org.send_connectors, connector)))
    return [_output(ctx, connector)]


def set_send_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-SendConnector: change a connector; the rules are checked on the result."""
    org = ctx.organization()
    current = find_send_connector(ctx, args.text("Identity") or "")
    changes = _changes(ctx, args, current, _OWN)
    new_name = args.text("Name")
    if new_name is not None and new_name.lower() != current.name.lower():
        if org.send_connector(new_name) is not None:
            raise invalid_operation(
                ctx.cmdlet,
                f'A send connector named "{new_name}" already exists. Choose another -Name.',
            )
        changes["name"] = new_name
    elif new_name is not None:
        changes["name"] = new_name
    if "AddressSpaces" in args:
        spaces = tuple(
            v
            for v in apply_list(current.address_spaces, args.get("AddressSpaces"))
            if isinstance(v, AddressSpace)
        )
        if not spaces:
            raise ctx.error("A send connector needs at least one address space (-AddressSpaces).")
        changes["address_spaces"] = spaces
    if "SourceTransportServers" in args:
        changes["source_transport_servers"] = _source_servers(
            ctx, apply_list(current.source_transport_servers, args.get("SourceTransportServers"))
        )
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    validate(ctx.cmdlet, updated)
    if updated == current:
        no_change_warning(ctx, current.identity)
        return []
    turned_on = args.flag("FrontendProxyEnabled") or args.flag("DomainSecureEnabled")
    was_both = current.frontend_proxy_enabled and current.domain_secure_enabled
    if (
        updated.frontend_proxy_enabled
        and updated.domain_secure_enabled
        and (turned_on or not was_both)
    ):
        ctx.note(d2_warning(updated))
    connectors = tuple(updated if c is current else c for c in org.send_connectors)
    ctx.replace(dataclasses.replace(org, send_connectors=connectors))
    return []


def remove_send_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Remove-SendConnector: delete a connector (labsim never prompts for confirmation)."""
    org = ctx.organization()
    current = find_send_connector(ctx, args.text("Identity") or "")
    ctx.replace(
        dataclasses.replace(
            org, send_connectors=tuple(c for c in org.send_connectors if c is not current)
        )
    )
    return []


SPECS = (
    CmdletSpec(
        "Get-SendConnector",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_send_connector,
        synopsis="List send connectors (default view: Identity, AddressSpaces, Enabled).",
    ),
    CmdletSpec(
        "New-SendConnector",
        (
            ParameterSpec("Name", STRING, mandatory=True, position=0),
            ParameterSpec(
                "Usage",
                enum_type(
                    SendConnectorUsage,
                    "Microsoft.Exchange.Management.SystemConfigurationTasks.NewSendConnector+UsageType",
                ),
            ),
            ParameterSpec("Custom", SWITCH),
            ParameterSpec("Internal", SWITCH),
            ParameterSpec("Internet", SWITCH),
            ParameterSpec("Partner", SWITCH),
            *SEND_CONNECTOR.parameters(
                skip=("Name",),
                override={
                    "AddressSpaces": ParameterSpec(
                        "AddressSpaces", ADDRESS_SPACE_LIST, mandatory=True
                    )
                },
            ),
            *EXCHANGE_COMMON,
        ),
        new_send_connector,
        synopsis="Create a send connector (Usage Partner turns Domain Security on).",
    ),
    CmdletSpec(
        "Set-SendConnector",
        (
            ParameterSpec("Identity", STRING, mandatory=True, position=0),
            *SEND_CONNECTOR.parameters(),
            *EXCHANGE_COMMON,
        ),
        set_send_connector,
        pipeline=identity_of,
        synopsis="Change a send connector; the cross-parameter rules are checked on the result.",
    ),
    CmdletSpec(
        "Remove-SendConnector",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0), *EXCHANGE_COMMON),
        remove_send_connector,
        pipeline=identity_of,
        synopsis="Delete a send connector.",
    ),
)
"""The send connector cmdlets."""
