"""Get-ExchangeServer: the organization's servers as Exchange 2013 CU23 shows them.

Every lab server runs build 15.0.1497.2 (Exchange 2013 CU23, the build the lab's headers carry),
shown as ``AdminDisplayVersion : Version 15.0 (Build 1497.2)``; every server is in the
organization's one Active Directory site, ``Default-First-Site-Name``, as in a new forest.
Identities are names or FQDNs, with ``*`` wildcards.
"""

from __future__ import annotations

from collections.abc import Iterable

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import identity_matches, not_found
from labsim.ems.conversions import STRING
from labsim.ems.outputs import ExchangeServerOutput


def get_exchange_server(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-ExchangeServer [[-Identity] name]: every server of the organization, or those matching."""
    org = ctx.organization()
    servers = [ExchangeServerOutput(s, org.name, org.default_domain) for s in org.servers]
    identity = args.text("Identity")
    if identity is None:
        return servers
    found = [
        s
        for s in servers
        if identity_matches(identity, s.server.name) or identity_matches(identity, s.server.fqdn)
    ]
    if not found and "*" not in identity and "?" not in identity:
        names = ", ".join(s.server.name for s in servers)
        raise not_found(ctx, identity, f"The servers of {org.name} are {names}.")
    return found


SPECS = (
    CmdletSpec(
        "Get-ExchangeServer",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_exchange_server,
        synopsis="Show the organization's Exchange servers (Name, Site, ServerRole, Edition, "
        "AdminDisplayVersion).",
    ),
)
"""The server cmdlets."""
