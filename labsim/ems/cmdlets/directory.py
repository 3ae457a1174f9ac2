"""Read-only directory cmdlets: Get-AcceptedDomain and Get-Mailbox."""

from __future__ import annotations

from collections.abc import Iterable

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import identity_matches, not_found
from labsim.ems.conversions import STRING


def get_accepted_domain(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-AcceptedDomain [[-Identity] domain]."""
    domains = list(ctx.organization().accepted_domains)
    identity = args.text("Identity")
    if identity is None:
        return domains
    found = [d for d in domains if identity_matches(identity, d.domain_name)]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-AcceptedDomain to list the accepted domains.")
    return found


def get_mailbox(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Mailbox [[-Identity] alias|address|name]."""
    mailboxes = list(ctx.organization().mailboxes)
    identity = args.text("Identity")
    if identity is None:
        return mailboxes
    found = [
        m
        for m in mailboxes
        if any(
            identity_matches(identity, v) for v in (m.alias, m.primary_smtp_address, m.display_name)
        )
    ]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-Mailbox to list the mailboxes.")
    return found


SPECS = (
    CmdletSpec(
        "Get-AcceptedDomain",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_accepted_domain,
        synopsis="List the organization's accepted domains.",
    ),
    CmdletSpec(
        "Get-Mailbox",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_mailbox,
        synopsis="List mailboxes.",
    ),
)
"""The directory cmdlets."""
