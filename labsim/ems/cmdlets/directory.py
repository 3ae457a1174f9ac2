"""Directory cmdlets: Get-/New-/Set-/Remove-AcceptedDomain and Get-Mailbox.

Accepted domains are Authoritative (mailboxes live here) or relay domains (InternalRelay,
ExternalRelay: the organization accepts the mail and routes it onwards through a send connector,
which is how a hosted filtering service handles its customers' domains, docs/exchange-reference.md
§12).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import identity_matches, no_change_warning, not_found
from labsim.ems.conversions import BOOL, SMTP_DOMAIN, STRING, enum_type
from labsim.ems.outputs import MailboxOutput
from labsim.model.enums import AcceptedDomainType
from labsim.model.organization import AcceptedDomain, Mailbox

DOMAIN_TYPE = enum_type(
    AcceptedDomainType, "Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType"
)


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


def _find_domain(ctx: CmdletContext, identity: str) -> AcceptedDomain:
    for accepted in ctx.organization().accepted_domains:
        if accepted.domain_name.lower() == identity.lower():
            return accepted
    raise not_found(ctx, identity, "Run Get-AcceptedDomain to list the accepted domains.")


def new_accepted_domain(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """New-AcceptedDomain -Name n -DomainName d [-DomainType Authoritative|InternalRelay|ExternalRelay]."""
    org = ctx.organization()
    domain = str(args.get("DomainName")).lower()
    if org.is_accepted_domain(domain):
        raise ctx.error(
            f"The accepted domain {domain} already exists in {org.name}; change it with "
            f"Set-AcceptedDomain {domain} -DomainType ...",
            category="InvalidOperation",
        )
    kind = args.get("DomainType") or AcceptedDomainType.AUTHORITATIVE
    assert isinstance(kind, AcceptedDomainType)
    accepted = AcceptedDomain(domain, default=False, domain_type=kind)
    ctx.replace(dataclasses.replace(org, accepted_domains=(*org.accepted_domains, accepted)))
    return [accepted]


def set_accepted_domain(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-AcceptedDomain [-Identity] d [-DomainType t] [-MakeDefault $true]."""
    org = ctx.organization()
    current = _find_domain(ctx, str(args.get("Identity")))
    updated = current
    if "DomainType" in args:
        kind = args.get("DomainType")
        assert isinstance(kind, AcceptedDomainType)
        if current.default and kind is not AcceptedDomainType.AUTHORITATIVE:
            raise ctx.error(
                f"The default accepted domain {current.domain_name} must be Authoritative; make "
                "another domain the default first (Set-AcceptedDomain <domain> -MakeDefault $true)."
            )
        updated = dataclasses.replace(updated, domain_type=kind)
    make_default = args.get("MakeDefault")
    if make_default:
        if updated.is_relay:
            raise ctx.error(
                f"A relay domain can't be the default; {updated.domain_name} is {updated.domain_type.value}."
            )
        updated = dataclasses.replace(updated, default=True)
    if updated == current:
        no_change_warning(ctx, current.domain_name)
        return []
    domains = tuple(
        updated if d is current else (dataclasses.replace(d, default=False) if make_default else d)
        for d in org.accepted_domains
    )
    ctx.replace(dataclasses.replace(org, accepted_domains=domains))
    return []


def remove_accepted_domain(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Remove-AcceptedDomain [-Identity] d (not the default domain)."""
    org = ctx.organization()
    current = _find_domain(ctx, str(args.get("Identity")))
    if current.default:
        raise ctx.error(
            f"The default accepted domain {current.domain_name} can't be removed; make another "
            "domain the default first.",
            category="InvalidOperation",
        )
    domains = tuple(d for d in org.accepted_domains if d is not current)
    ctx.replace(dataclasses.replace(org, accepted_domains=domains))
    return []


def get_mailbox(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Mailbox [[-Identity] alias|address|name]."""
    org = ctx.organization()
    server = next((s.name for s in org.servers if s.is_mailbox), "")

    def shown(m: Mailbox) -> MailboxOutput:
        return MailboxOutput(m, org.name, org.default_domain, server)

    mailboxes = list(org.mailboxes)
    identity = args.text("Identity")
    if identity is None:
        return [shown(m) for m in mailboxes]
    found = [
        m
        for m in mailboxes
        if any(
            identity_matches(identity, v)
            for v in (m.alias, m.primary_smtp_address, m.display_name, shown(m).identity)
        )
    ]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-Mailbox to list the mailboxes.")
    return [shown(m) for m in found]


SPECS = (
    CmdletSpec(
        "Get-AcceptedDomain",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_accepted_domain,
        synopsis="List the organization's accepted domains.",
    ),
    CmdletSpec(
        "New-AcceptedDomain",
        (
            ParameterSpec("Name", STRING, mandatory=True, position=0),
            ParameterSpec("DomainName", SMTP_DOMAIN, mandatory=True),
            ParameterSpec("DomainType", DOMAIN_TYPE),
            *EXCHANGE_COMMON,
        ),
        new_accepted_domain,
        synopsis="Add an accepted domain (Authoritative, or a relay domain routed onwards).",
    ),
    CmdletSpec(
        "Set-AcceptedDomain",
        (
            ParameterSpec("Identity", STRING, mandatory=True, position=0),
            ParameterSpec("DomainType", DOMAIN_TYPE),
            ParameterSpec("MakeDefault", BOOL),
            *EXCHANGE_COMMON,
        ),
        set_accepted_domain,
        synopsis="Change an accepted domain's type or make it the default.",
    ),
    CmdletSpec(
        "Remove-AcceptedDomain",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0), *EXCHANGE_COMMON),
        remove_accepted_domain,
        synopsis="Remove an accepted domain.",
    ),
    CmdletSpec(
        "Get-Mailbox",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_mailbox,
        synopsis="List mailboxes.",
    ),
)
"""The directory cmdlets."""
