"""Get-TransportService and Set-TransportService: a server's retry and expiry timers
(docs/exchange-reference.md §4.5, decision D7), and its protocol and connectivity log settings.

The settings live on the :class:`~labsim.model.organization.Server` record (``transport_service``),
so Set-TransportService is a pure configuration change: the organization is replaced and the
engine reads the new timers from then on. Exchange's valid ranges are checked with PowerShell's
ValidateRange wording. Exchange has the cmdlets on transport servers; labsim accepts every server
of the organization (a Client Access server's settings are kept, and shown, but only Mailbox
servers queue mail). The log settings (IntraOrgConnectorProtocolLoggingLevel, the protocol and
connectivity log paths, ages and sizes) are checked as Set-FrontendTransportService checks them,
stored and shown, and not acted on: labsim writes its logs to its own folder, and a Mailbox
server's sends to its Client Access server go through a send connector, whose own
ProtocolLoggingLevel decides (docs/fidelity.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import timedelta

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import (
    find_server,
    identity_matches,
    identity_of,
    no_change_warning,
    not_found,
)
from labsim.ems.cmdlets.frontend_transport_service import checked_setting, setting_type
from labsim.ems.conversions import INT, STRING, TIMESPAN
from labsim.ems.messages import out_of_range
from labsim.ems.outputs import TransportServiceOutput
from labsim.model.transport import TRANSPORT_SERVICE_LOG_PROPERTIES
from labsim.model.values import format_timespan

TIMER_RANGES: dict[str, tuple[str, timedelta, timedelta]] = {
    "TransientFailureRetryInterval": (
        "transient_failure_retry_interval",
        timedelta(seconds=1),
        timedelta(hours=12),
    ),
    "OutboundConnectionFailureRetryInterval": (
        "outbound_connection_failure_retry_interval",
        timedelta(seconds=1),
        timedelta(days=20),
    ),
    "MessageRetryInterval": ("message_retry_interval", timedelta(seconds=1), timedelta(days=1)),
    "DelayNotificationTimeout": (
        "delay_notification_timeout",
        timedelta(seconds=1),
        timedelta(days=30),
    ),
    "MessageExpirationTimeout": (
        "message_expiration_timeout",
        timedelta(seconds=5),
        timedelta(days=90),
    ),
    "QueueMaxIdleTime": ("queue_max_idle_time", timedelta(seconds=5), timedelta(hours=1)),
}
"""Parameter → (record field, minimum, maximum): Exchange's ranges for the D7 timers (lab files'
``transport`` tables are held to the same ranges)."""
_TIMERS = TIMER_RANGES

RETRY_COUNT_RANGE = (0, 15)
"""Exchange's range of TransientFailureRetryCount."""


def get_transport_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-TransportService [[-Identity] server]: the timers of every server, or of those matching."""
    servers = ctx.organization().servers
    identity = args.text("Identity")
    if identity is None:
        return [TransportServiceOutput(s) for s in servers]
    found = [
        TransportServiceOutput(s)
        for s in servers
        if identity_matches(identity, s.name) or identity_matches(identity, s.fqdn)
    ]
    if not found and "*" not in identity:
        names = ", ".join(s.name for s in servers)
        raise not_found(ctx, identity, f"The servers of {ctx.organization().name} are {names}.")
    return found


def _checked_timer(ctx: CmdletContext, parameter: str, value: object) -> timedelta:
    _, minimum, maximum = _TIMERS[parameter]
    if not isinstance(value, timedelta):
        raise ctx.error(f"The parameter -{parameter} can't be $null; give a time span.")
    shown = format_timespan(value)
    if value < minimum:
        raise out_of_range(ctx.cmdlet, parameter, shown, format_timespan(minimum), too_large=False)
    if value > maximum:
        raise out_of_range(ctx.cmdlet, parameter, shown, format_timespan(maximum), too_large=True)
    return value


def set_transport_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-TransportService [-Identity] server -<timer> value …: prints nothing (or the warning)."""
    org = ctx.organization()
    server = find_server(ctx, args.text("Identity") or "")
    current = server.transport_service
    changes: dict[str, object] = {}
    if "TransientFailureRetryCount" in args:
        count = args.get("TransientFailureRetryCount")
        if not isinstance(count, int):
            raise ctx.error(
                "The parameter -TransientFailureRetryCount can't be $null; give 0 to 15."
            )
        low, high = RETRY_COUNT_RANGE
        if not low <= count <= high:
            raise out_of_range(
                ctx.cmdlet,
                "TransientFailureRetryCount",
                str(count),
                str(high if count > high else low),
                too_large=count > high,
            )
        changes["transient_failure_retry_count"] = count
    for parameter, (field_name, _, _) in _TIMERS.items():
        if parameter in args:
            changes[field_name] = _checked_timer(ctx, parameter, args.get(parameter))
    for parameter, field_name in TRANSPORT_SERVICE_LOG_PROPERTIES:
        if parameter in args:
            changes[field_name] = checked_setting(ctx, parameter, args.get(parameter))
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    if updated == current:
        no_change_warning(ctx, server.name)
        return []
    replaced = dataclasses.replace(server, transport_service=updated)
    servers = tuple(replaced if s is server else s for s in org.servers)
    ctx.replace(dataclasses.replace(org, servers=servers))
    return []


SPECS = (
    CmdletSpec(
        "Get-TransportService",
        (ParameterSpec("Identity", STRING, position=0), *EXCHANGE_COMMON),
        get_transport_service,
        synopsis="Show the servers' retry and expiry timers and log settings (default view: a "
        "list).",
    ),
    CmdletSpec(
        "Set-TransportService",
        (
            ParameterSpec("Identity", STRING, mandatory=True, position=0),
            ParameterSpec("TransientFailureRetryCount", INT),
            *(ParameterSpec(name, TIMESPAN) for name in _TIMERS),
            *(
                ParameterSpec(parameter, setting_type(parameter))
                for parameter, _ in TRANSPORT_SERVICE_LOG_PROPERTIES
            ),
            *EXCHANGE_COMMON,
        ),
        set_transport_service,
        pipeline=identity_of,
        synopsis="Change a server's retry and expiry timers (d.hh:mm:ss), and its protocol "
        "and connectivity log settings (stored and shown).",
    ),
)
"""The transport service cmdlets."""
