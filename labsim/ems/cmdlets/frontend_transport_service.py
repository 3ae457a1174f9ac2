"""Get-FrontendTransportService and Set-FrontendTransportService: the Front End Transport
settings of the organization's Client Access servers.

labsim acts on one setting, ``IntraOrgConnectorProtocolLoggingLevel``: at ``Verbose`` the CAS's
proxy hop to the Mailbox server (the implicit intra-organization send connector) writes the
FrontEnd send protocol log. The other properties show Exchange's defaults and are display-only
(docs/fidelity.md); Set- takes only the parameter labsim acts on, so no change is silently lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import identity_matches, no_change_warning, not_found
from labsim.ems.conversions import STRING, enum_type
from labsim.ems.outputs import FrontendTransportServiceOutput
from labsim.model.enums import ProtocolLoggingLevel
from labsim.model.organization import Server

_PLL = enum_type(ProtocolLoggingLevel, "Microsoft.Exchange.Data.ProtocolLoggingLevel")


def _client_access_servers(ctx: CmdletContext) -> tuple[Server, ...]:
    return tuple(s for s in ctx.organization().servers if s.is_client_access)


def _matching(ctx: CmdletContext, identity: str) -> list[Server]:
    found = [
        s
        for s in _client_access_servers(ctx)
        if identity_matches(identity, s.name) or identity_matches(identity, s.fqdn)
    ]
    if not found and "*" not in identity and "?" not in identity:
        names = ", ".join(s.name for s in _client_access_servers(ctx)) or "none"
        raise not_found(
            ctx,
            identity,
            "Front End Transport runs on Client Access servers; those of "
            f"{ctx.organization().name} are {names}.",
        )
    return found


def get_frontend_transport_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-FrontendTransportService [[-Identity] server]: every Client Access server, or those
    matching."""
    identity = args.text("Identity")
    servers = _client_access_servers(ctx) if identity is None else _matching(ctx, identity)
    return [FrontendTransportServiceOutput(s) for s in servers]


def set_frontend_transport_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-FrontendTransportService [-Identity] server -IntraOrgConnectorProtocolLoggingLevel
    None|Verbose: prints nothing (or the no-change warning)."""
    identity = args.text("Identity") or ""
    if "*" in identity or "?" in identity:
        raise ctx.error(
            f"The -Identity parameter takes one Client Access server, not the pattern "
            f"'{identity}'; pipe Get-FrontendTransportService into Set-FrontendTransportService "
            "to change several."
        )
    (server,) = _matching(ctx, identity)
    current = server.frontend_transport
    updated = current
    if "IntraOrgConnectorProtocolLoggingLevel" in args:
        level = args.get("IntraOrgConnectorProtocolLoggingLevel")
        if not isinstance(level, ProtocolLoggingLevel):
            raise ctx.error(
                "The parameter -IntraOrgConnectorProtocolLoggingLevel can't be $null; give None "
                "or Verbose."
            )
        updated = dataclasses.replace(current, intra_org_connector_protocol_logging_level=level)
    if updated == current:
        no_change_warning(ctx, server.name)
        return []
    org = ctx.organization()
    replaced = dataclasses.replace(server, frontend_transport=updated)
    ctx.replace(
        dataclasses.replace(org, servers=tuple(replaced if s is server else s for s in org.servers))
    )
    return []


def _identity_of(obj: object) -> dict[str, object] | None:
    if isinstance(obj, FrontendTransportServiceOutput):
        return {"Identity": obj.identity}
    return None


SPECS = (
    CmdletSpec(
        "Get-FrontendTransportService",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_frontend_transport_service,
        synopsis="Show the Client Access servers' Front End Transport settings (protocol logs).",
    ),
    CmdletSpec(
        "Set-FrontendTransportService",
        (
            ParameterSpec("Identity", STRING, mandatory=True, position=0),
            ParameterSpec("IntraOrgConnectorProtocolLoggingLevel", _PLL),
            *EXCHANGE_COMMON,
        ),
        set_frontend_transport_service,
        pipeline=_identity_of,
        synopsis="Turn protocol logging of a Client Access server's hop to the Mailbox servers "
        "on (Verbose) or off (None).",
    ),
)
"""The Front End Transport service cmdlets."""
