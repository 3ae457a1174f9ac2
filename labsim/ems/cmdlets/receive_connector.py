"""Get-, New-, Set- and Remove-ReceiveConnector (docs/exchange-reference.md §3.3, §3.4).

Rules kept: Server defaults to the shell's machine when the step names one; TransportRole
defaults by server role (Client Access → FrontendTransport, Mailbox → HubTransport) and must fit
the server; the usage presets of §3.4 fill PermissionGroups, AuthMechanism, DomainSecureEnabled
and default Bindings/RemoteIPRanges, and say which of Bindings/RemoteIPRanges must be given;
explicit parameters win over presets. The checks of :func:`validate` run on the resulting
connector (for Set- too), including the unique Bindings + RemoteIPRanges combination per server.
The property parameters and what they change come from the receive connector's property table
(:data:`labsim.ems.tables.RECEIVE_CONNECTOR`), which Format-List shows too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import (
    find_receive_connector,
    find_server,
    identity_of,
    no_change_warning,
    not_found,
    receive_connectors_matching,
)
from labsim.ems.cmdlets.send_connector import usage_from
from labsim.ems.conversions import (
    STRING,
    SWITCH,
    apply_list,
    enum_type,
)
from labsim.ems.messages import invalid_operation, missing_mandatory
from labsim.ems.outputs import ReceiveConnectorOutput
from labsim.ems.tables import RECEIVE_CONNECTOR
from labsim.errors import CmdletError
from labsim.model.connectors import (
    MAX_HOP_COUNT_RANGE,
    MAX_LOCAL_HOP_COUNT_RANGE,
    ReceiveConnector,
)
from labsim.model.enums import (
    AuthMechanism,
    PermissionGroup,
    ReceiveConnectorUsage,
    TransportRole,
)
from labsim.model.organization import Organization, Server
from labsim.model.values import ALL_IPV4, Binding, ByteSize, IPRange, format_timespan

A = AuthMechanism
G = PermissionGroup
U = ReceiveConnectorUsage


@dataclass(frozen=True)
class UsagePreset:
    """What a ``-Usage`` sets (docs/exchange-reference.md §3.4) and which of
    Bindings/RemoteIPRanges it needs."""

    permission_groups: frozenset[PermissionGroup]
    auth_mechanism: frozenset[AuthMechanism]
    domain_secure_enabled: bool = False
    default_bindings: tuple[Binding, ...] = ()
    fixed_remote_ranges: tuple[IPRange, ...] = ()


PRESETS: dict[ReceiveConnectorUsage | None, UsagePreset] = {
    U.PARTNER: UsagePreset(frozenset({G.PARTNERS}), frozenset({A.TLS}), domain_secure_enabled=True),
    U.INTERNET: UsagePreset(
        frozenset({G.ANONYMOUS_USERS}), frozenset({A.TLS}), fixed_remote_ranges=(ALL_IPV4,)
    ),
    U.INTERNAL: UsagePreset(
        frozenset({G.EXCHANGE_SERVERS, G.EXCHANGE_LEGACY_SERVERS}),
        frozenset({A.TLS, A.EXCHANGE_SERVER}),
        default_bindings=(Binding("0.0.0.0", 25),),
    ),
    U.CLIENT: UsagePreset(
        frozenset({G.EXCHANGE_USERS}),
        frozenset({A.TLS, A.BASIC_AUTH, A.BASIC_AUTH_REQUIRE_TLS, A.INTEGRATED}),
        default_bindings=(Binding("0.0.0.0", 587),),
    ),
    U.CUSTOM: UsagePreset(frozenset(), frozenset({A.TLS})),
    None: UsagePreset(
        frozenset({G.EXCHANGE_USERS, G.EXCHANGE_SERVERS, G.EXCHANGE_LEGACY_SERVERS}),
        frozenset({A.TLS, A.INTEGRATED, A.BASIC_AUTH, A.BASIC_AUTH_REQUIRE_TLS, A.EXCHANGE_SERVER}),
    ),
}
"""Usage presets; the key None is New-ReceiveConnector without a usage."""


def _changes(
    ctx: CmdletContext, args: Arguments, current: ReceiveConnector, skip: tuple[str, ...] = ()
) -> dict[str, object]:
    """Record changes of the table's properties given in ``args`` (Exchange's checks on single
    values first)."""
    banner = args.get("Banner")
    if isinstance(banner, str) and not banner.startswith("220"):
        raise ctx.error(
            f"The -Banner value '{banner}' must start with the SMTP code 220, e.g. "
            '"220 mail.adatum.com ready".'
        )
    if "Name" in args and not (args.text("Name") or "").strip():
        raise ctx.error("The -Name parameter can't be empty; give the connector a name.")
    shown = _output(ctx.organization(), current)
    return RECEIVE_CONNECTOR.changes(ctx, args, current, shown, skip=skip)


def default_role(server: Server) -> TransportRole:
    """The transport role a receive connector gets on ``server`` by default."""
    return (
        TransportRole.FRONTEND_TRANSPORT if server.is_client_access else TransportRole.HUB_TRANSPORT
    )


TIMEOUT_RANGE = (timedelta(seconds=1), timedelta(days=1))
"""ConnectionTimeout and ConnectionInactivityTimeout: what labsim accepts (docs/fidelity.md)."""


def validate(cmdlet: str, org: Organization, c: ReceiveConnector) -> None:
    """Exchange's rules for a receive connector, checked against its server and neighbours."""

    def refuse(message: str) -> CmdletError:
        return invalid_operation(cmdlet, message)

    server = org.server(c.server)
    assert server is not None
    for name, value in (
        ("ConnectionTimeout", c.connection_timeout),
        ("ConnectionInactivityTimeout", c.connection_inactivity_timeout),
    ):
        if not TIMEOUT_RANGE[0] <= value <= TIMEOUT_RANGE[1]:
            raise refuse(
                f"The value of -{name} must be between 00:00:01 and 1.00:00:00 (24 hours); "
                f"it was {format_timespan(value)}."
            )
    size = c.max_message_size.value
    if size is not None and not 65536 <= size <= 2147483647:
        # Exchange's range for a receive connector (a larger value used to be taken silently).
        raise refuse(
            "The value of -MaxMessageSize must be between 64KB (65536 bytes) and 2GB "
            f"(2147483647 bytes); it was {c.max_message_size}."
        )
    for hop_name, count, (low, high) in (
        ("MaxHopCount", c.max_hop_count, MAX_HOP_COUNT_RANGE),
        ("MaxLocalHopCount", c.max_local_hop_count, MAX_LOCAL_HOP_COUNT_RANGE),
    ):
        if not low <= count <= high:
            raise refuse(
                f"The value of -{hop_name} must be between {low} and {high}; it was {count}."
            )
    if c.connection_inactivity_timeout > c.connection_timeout:
        raise refuse(
            "The ConnectionInactivityTimeout value must be less than or equal to the "
            f"ConnectionTimeout value ({format_timespan(c.connection_timeout)}). Lower "
            "-ConnectionInactivityTimeout "
            "or raise -ConnectionTimeout."
        )
    if c.transport_role is not default_role(server):
        kind = "Client Access" if server.is_client_access else "Mailbox"
        raise refuse(
            f"The TransportRole {c.transport_role.value} doesn't fit server {server.name}, a "
            f"{kind} server. Use -TransportRole {default_role(server).value}, or omit it."
        )
    auth = c.auth_mechanism
    if A.NONE in auth and len(auth) > 1:
        raise refuse(
            "The AuthMechanism value None can't be combined with other values. Give either "
            "-AuthMechanism None or a list such as -AuthMechanism Tls,BasicAuth."
        )
    if A.BASIC_AUTH_REQUIRE_TLS in auth and not {A.BASIC_AUTH, A.TLS} <= auth:
        raise refuse(
            "The AuthMechanism value BasicAuthRequireTLS also requires BasicAuth and Tls. Use "
            "-AuthMechanism Tls,BasicAuth,BasicAuthRequireTLS."
        )
    if A.EXTERNAL_AUTHORITATIVE in auth and (
        A.TLS not in auth or G.EXCHANGE_SERVERS not in c.permission_groups
    ):
        raise refuse(
            "The AuthMechanism value ExternalAuthoritative can only be used together with Tls "
            "and with the ExchangeServers permission group. Use -AuthMechanism "
            "Tls,ExternalAuthoritative -PermissionGroups ExchangeServers."
        )
    if c.domain_secure_enabled and (A.TLS not in auth or A.EXTERNAL_AUTHORITATIVE in auth):
        raise refuse(
            "The DomainSecureEnabled parameter can only be $true when AuthMechanism includes Tls "
            "and not ExternalAuthoritative. Add Tls to -AuthMechanism (e.g. -AuthMechanism Tls), "
            "or set -DomainSecureEnabled $false."
        )
    if c.require_tls and A.TLS not in auth:
        raise refuse(
            "The RequireTLS parameter can only be $true when AuthMechanism includes Tls. Add Tls "
            "to -AuthMechanism, or set -RequireTLS $false."
        )
    if not c.bindings:
        raise refuse("A receive connector needs at least one binding (-Bindings 0.0.0.0:25).")
    if not c.remote_ip_ranges:
        raise refuse(
            "A receive connector needs at least one remote IP range (-RemoteIPRanges), e.g. "
            "0.0.0.0-255.255.255.255 for every address."
        )
    for binding in c.bindings:
        if binding.address not in ("0.0.0.0", server.address):
            raise refuse(
                f"The binding {binding} (-Bindings) uses an address that isn't an address of "
                f"server {server.name}. Use 0.0.0.0 (all addresses) or {server.address}, e.g. "
                f"0.0.0.0:{binding.port}."
            )
    for other in org.receive_connectors_on(c.server):
        if other.guid == c.guid:
            continue
        if other.name.lower() == c.name.lower():
            raise refuse(
                f'A receive connector named "{c.name}" already exists on server {server.name}. '
                "Choose another -Name, or change it with Set-ReceiveConnector."
            )
        # A binding to the server's own address is more specific than 0.0.0.0 on the same port
        # (Exchange prefers it when selecting a connector), so only equal bindings conflict.
        overlap = any(a == b for a in c.bindings for b in other.bindings)
        same_range = any(
            (r.first, r.last) == (s.first, s.last)
            for r in c.remote_ip_ranges
            for s in other.remote_ip_ranges
        )
        if overlap and same_range:
            raise refuse(
                "The values that you specified for the Bindings and RemoteIPRanges parameters "
                f'conflict with the settings on Receive connector "{other.identity}". A Receive '
                "connector must have a unique combination of a local IP address & port bindings "
                "and remote IP address ranges. Change at least one of these values."
            )


def _output(org: Organization, connector: ReceiveConnector) -> ReceiveConnectorOutput:
    server = org.server(connector.server)
    return ReceiveConnectorOutput(
        connector, server.fqdn if server is not None else "", org.name, org.default_domain
    )


def get_receive_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-ReceiveConnector [[-Identity] x] [-Server s]: every server's connectors by default."""
    org = ctx.organization()
    connectors = list(org.receive_connectors)
    server_name = args.text("Server")
    if server_name is not None:
        server = find_server(ctx, server_name)
        connectors = [c for c in connectors if c.server == server.name]
    identity = args.text("Identity")
    if identity is not None:
        matched = receive_connectors_matching(org, identity)
        connectors = [c for c in connectors if c in matched]
        if not connectors and "*" not in identity:
            raise not_found(
                ctx, identity, "Run Get-ReceiveConnector to list the receive connectors."
            )
    return [_output(org, c) for c in connectors]


def new_receive_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """New-ReceiveConnector: create with the usage presets; prints the new connector (table)."""
    org = ctx.organization()
    usage = usage_from(
        ctx,
        args,
        ReceiveConnectorUsage,
        {
            "Client": U.CLIENT,
            "Custom": U.CUSTOM,
            "Internal": U.INTERNAL,
            "Internet": U.INTERNET,
            "Partner": U.PARTNER,
        },
    )
    preset = PRESETS[usage]
    server_name = args.text("Server") or ctx.server
    missing = []
    if "Name" not in args:
        missing.append("Name")
    if server_name is None:
        missing.append("Server")
    if "Bindings" not in args and not preset.default_bindings:
        missing.append("Bindings")
    if "RemoteIPRanges" not in args and not preset.fixed_remote_ranges:
        missing.append("RemoteIPRanges")
    if missing:
        raise missing_mandatory(ctx.cmdlet, missing)
    if preset.fixed_remote_ranges and "RemoteIPRanges" in args:
        raise ctx.error(
            "A receive connector of usage Internet accepts from every address; -RemoteIPRanges "
            "can't be given with it. Use -Partner or -Custom to limit the remote addresses."
        )
    assert server_name is not None
    server = find_server(ctx, server_name)
    name = args.text("Name") or ""
    if not name.strip():
        raise ctx.error("The -Name parameter can't be empty; give the connector a name.")
    bindings = tuple(
        b
        for b in apply_list((), args.get("Bindings", preset.default_bindings))
        if isinstance(b, Binding)
    )
    ranges = tuple(
        r
        for r in apply_list((), args.get("RemoteIPRanges", preset.fixed_remote_ranges))
        if isinstance(r, IPRange)
    )
    connector = ReceiveConnector(
        name=name,
        server=server.name,
        transport_role=default_role(server),
        bindings=bindings,
        remote_ip_ranges=ranges,
        usage=usage,
        auth_mechanism=preset.auth_mechanism,
        permission_groups=preset.permission_groups,
        domain_secure_enabled=preset.domain_secure_enabled,
        # Exchange writes the server's FQDN into a new connector's Fqdn.
        fqdn=server.fqdn,
        max_message_size=ByteSize.mb(36),
    )
    changes = _changes(ctx, args, connector, skip=("Name", "Bindings", "RemoteIPRanges"))
    connector = dataclasses.replace(connector, **changes)  # type: ignore[arg-type]
    validate(ctx.cmdlet, org, connector)
    ctx.replace(dataclasses.replace(org, receive_connectors=(*org.receive_connectors, connector)))
    return [_output(org, connector)]


def set_receive_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-ReceiveConnector: change a connector; the rules are checked on the result."""
    org = ctx.organization()
    current = find_receive_connector(ctx, args.text("Identity") or "")
    changes = _changes(ctx, args, current)
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    validate(ctx.cmdlet, org, updated)
    if updated == current:
        no_change_warning(ctx, current.identity)
        return []
    connectors = tuple(updated if c is current else c for c in org.receive_connectors)
    ctx.replace(dataclasses.replace(org, receive_connectors=connectors))
    return []


def remove_receive_connector(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Remove-ReceiveConnector: delete a connector (labsim never prompts for confirmation)."""
    org = ctx.organization()
    current = find_receive_connector(ctx, args.text("Identity") or "")
    connectors = tuple(c for c in org.receive_connectors if c is not current)
    ctx.replace(dataclasses.replace(org, receive_connectors=connectors))
    return []


SPECS = (
    CmdletSpec(
        "Get-ReceiveConnector",
        (
            ParameterSpec("Identity", STRING, position=0),
            ParameterSpec("Server", STRING),
            *EXCHANGE_COMMON,
        ),
        get_receive_connector,
        synopsis="List receive connectors (default view: Identity, Bindings, Enabled).",
    ),
    CmdletSpec(
        "New-ReceiveConnector",
        (
            ParameterSpec("Name", STRING, position=0),
            ParameterSpec("Server", STRING),
            ParameterSpec(
                "Usage",
                enum_type(
                    ReceiveConnectorUsage,
                    "Microsoft.Exchange.Management.SystemConfigurationTasks.NewReceiveConnector+UsageType",
                ),
            ),
            ParameterSpec("Client", SWITCH),
            ParameterSpec("Custom", SWITCH),
            ParameterSpec("Internal", SWITCH),
            ParameterSpec("Internet", SWITCH),
            ParameterSpec("Partner", SWITCH),
            *RECEIVE_CONNECTOR.parameters(skip=("Name",)),
            *EXCHANGE_COMMON,
        ),
        new_receive_connector,
        synopsis="Create a receive connector (Usage Partner: Partners group, Tls, DomainSecureEnabled).",
    ),
    CmdletSpec(
        "Set-ReceiveConnector",
        (
            ParameterSpec("Identity", STRING, mandatory=True, position=0),
            *RECEIVE_CONNECTOR.parameters(),
            *EXCHANGE_COMMON,
        ),
        set_receive_connector,
        pipeline=identity_of,
        synopsis="Change a receive connector; the rules are checked on the result.",
    ),
    CmdletSpec(
        "Remove-ReceiveConnector",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0), *EXCHANGE_COMMON),
        remove_receive_connector,
        pipeline=identity_of,
        synopsis="Delete a receive connector.",
    ),
)
"""The receive connector cmdlets."""
