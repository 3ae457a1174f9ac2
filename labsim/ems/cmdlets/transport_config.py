"""Get-TransportConfig and Set-TransportConfig (docs/exchange-reference.md §3.1).

The two TLS lists are multivalued SmtpDomain properties: a list replaces them, ``@{Add=;Remove=}``
edits them, ``$null`` clears them; wildcards are refused at conversion (SmtpDomain); values keep
the spelling typed and are compared case-insensitively, without duplicates. Set-TransportConfig's
parameters and what they change come from the property table
(:data:`labsim.ems.tables.TRANSPORT_CONFIG`), which Format-List shows too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import no_change_warning
from labsim.ems.conversions import (
    STRING,
)
from labsim.ems.outputs import TransportConfigOutput
from labsim.ems.tables import TRANSPORT_CONFIG
from labsim.model.values import ByteSize


def _output(ctx: CmdletContext) -> TransportConfigOutput:
    org = ctx.organization()
    return TransportConfigOutput(org.transport_config, org.name, org.default_domain)


def get_transport_config(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-TransportConfig: the organization's transport settings (default view: a list)."""
    return [_output(ctx)]


MAX_ORGANIZATION_SIZE = 2097151 * 1024
"""The largest MaxReceiveSize / MaxSendSize Set-TransportConfig takes (2097151 KB)."""


def set_transport_config(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-TransportConfig: change the lists and limits; prints nothing (or the no-change warning)."""
    org = ctx.organization()
    current = org.transport_config
    limit = args.get("MaxRecipientEnvelopeLimit")
    if isinstance(limit, int) and limit < 0:
        raise ctx.error(
            "The value of -MaxRecipientEnvelopeLimit must be 0 or more (or use 'unlimited')."
        )
    for parameter in ("MaxReceiveSize", "MaxSendSize"):
        value = args.get(parameter)
        if (
            isinstance(value, ByteSize)
            and value.value is not None
            and value.value > MAX_ORGANIZATION_SIZE
        ):
            # Exchange's range: up to 2097151 KB, or unlimited (a larger value used to be taken
            # silently).
            raise ctx.error(
                f"The value of -{parameter} must be at most 2097151KB (2147482624 bytes) or "
                f"unlimited; it was {value}."
            )
    changes = TRANSPORT_CONFIG.changes(ctx, args, current, _output(ctx))
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    if updated == current:
        no_change_warning(ctx, "Transport Settings")
        return []
    ctx.replace(dataclasses.replace(org, transport_config=updated))
    return []


SPECS = (
    CmdletSpec(
        "Get-TransportConfig",
        EXCHANGE_COMMON,
        get_transport_config,
        synopsis="Show the organization's transport settings (TLS domain-secure lists, limits).",
    ),
    CmdletSpec(
        "Set-TransportConfig",
        (
            ParameterSpec("Identity", STRING, position=0),
            *TRANSPORT_CONFIG.parameters(),
            *EXCHANGE_COMMON,
        ),
        set_transport_config,
        synopsis="Change the TLS domain-secure lists and the organization's transport limits.",
    ),
)
"""The transport configuration cmdlets."""
