"""Get-TransportConfig and Set-TransportConfig (docs/exchange-reference.md §3.1).

The two TLS lists are multivalued SmtpDomain properties: a list replaces them, ``@{Add=;Remove=}``
edits them, ``$null`` clears them; wildcards are refused at conversion (SmtpDomain); values keep
the spelling typed and are compared case-insensitively, without duplicates.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import no_change_warning
from labsim.ems.conversions import (
    BOOL,
    BYTE_SIZE,
    INT,
    IP_RANGE_TEXT_LIST,
    SMTP_DOMAIN,
    SMTP_DOMAIN_LIST,
    STRING,
    apply_list,
)
from labsim.model.values import ByteSize


def get_transport_config(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-TransportConfig: the organization's transport settings (default view: a list)."""
    return [ctx.organization().transport_config]


# Parameter name → record field; the lists go through apply_list, scalars are set as given.
_LISTS = {
    "TLSSendDomainSecureList": "tls_send_domain_secure_list",
    "TLSReceiveDomainSecureList": "tls_receive_domain_secure_list",
    "InternalSMTPServers": "internal_smtp_servers",
}
_SCALARS = {
    "MaxReceiveSize": "max_receive_size",
    "MaxSendSize": "max_send_size",
    "MaxRecipientEnvelopeLimit": "max_recipient_envelope_limit",
    "ExternalDelayDsnEnabled": "external_delay_dsn_enabled",
    "InternalDelayDsnEnabled": "internal_delay_dsn_enabled",
    "ExternalDsnReportingAuthority": "external_dsn_reporting_authority",
}


MAX_ORGANIZATION_SIZE = 2097151 * 1024
"""The largest MaxReceiveSize / MaxSendSize Set-TransportConfig takes (2097151 KB)."""


def set_transport_config(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-TransportConfig: change the lists and limits; prints nothing (or the no-change warning)."""
    org = ctx.organization()
    current = org.transport_config
    changes: dict[str, object] = {}
    for parameter, field_name in _LISTS.items():
        if parameter in args:
            items = apply_list(getattr(current, field_name), args.get(parameter))
            changes[field_name] = tuple(str(v) for v in items)
    for parameter, field_name in _SCALARS.items():
        if parameter in args:
            value = args.get(parameter)
            if parameter in ("MaxReceiveSize", "MaxSendSize") and value is None:
                value = ByteSize(None)
            if parameter == "MaxRecipientEnvelopeLimit" and isinstance(value, int) and value < 0:
                raise ctx.error(
                    "The value of -MaxRecipientEnvelopeLimit must be 0 or more (or use 'unlimited')."
                )
            if (
                parameter in ("MaxReceiveSize", "MaxSendSize")
                and isinstance(value, ByteSize)
                and value.value is not None
                and value.value > MAX_ORGANIZATION_SIZE
            ):
                # Exchange's range: up to 2097151 KB, or unlimited (a larger value used to be
                # taken silently).
                raise ctx.error(
                    f"The value of -{parameter} must be at most 2097151KB (2147482624 bytes) or "
                    f"unlimited; it was {value}."
                )
            if value is None and field_name != "external_dsn_reporting_authority":
                raise ctx.error(f"The parameter -{parameter} can't be $null; give a value.")
            changes[field_name] = value
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
            ParameterSpec("TLSSendDomainSecureList", SMTP_DOMAIN_LIST),
            ParameterSpec("TLSReceiveDomainSecureList", SMTP_DOMAIN_LIST),
            ParameterSpec("InternalSMTPServers", IP_RANGE_TEXT_LIST),
            ParameterSpec("MaxReceiveSize", BYTE_SIZE),
            ParameterSpec("MaxSendSize", BYTE_SIZE),
            ParameterSpec("MaxRecipientEnvelopeLimit", INT),
            ParameterSpec("ExternalDelayDsnEnabled", BOOL),
            ParameterSpec("InternalDelayDsnEnabled", BOOL),
            ParameterSpec("ExternalDsnReportingAuthority", SMTP_DOMAIN),
            *EXCHANGE_COMMON,
        ),
        set_transport_config,
        synopsis="Change the TLS domain-secure lists and the organization's transport limits.",
    ),
)
"""The transport configuration cmdlets."""
