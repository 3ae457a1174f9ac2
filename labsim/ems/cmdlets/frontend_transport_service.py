"""Get-FrontendTransportService and Set-FrontendTransportService: the Front End Transport
settings of the organization's Client Access servers.

labsim acts on one setting, ``IntraOrgConnectorProtocolLoggingLevel``: at ``Verbose`` the CAS's
proxy hop to the Mailbox server (the implicit intra-organization send connector) writes the
FrontEnd send protocol log. The protocol and connectivity log settings (path, maximum age,
directory and file size, ConnectivityLogEnabled) and MaxConnectionRatePerMinute are checked as
Exchange checks them, stored and shown by Get-FrontendTransportService, and otherwise not acted
on (docs/fidelity.md). Exchange's other parameters (agent, DNS and routing-table logs, DNS
adapters) are not taken, so no change is silently lost.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import timedelta

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import identity_matches, no_change_warning, not_found
from labsim.ems.conversions import (
    BOOL,
    BYTE_SIZE,
    INT,
    STRING,
    TIMESPAN,
    ConversionError,
    ParamType,
    enum_type,
)
from labsim.ems.messages import out_of_range
from labsim.ems.outputs import FrontendTransportServiceOutput
from labsim.ems.parser import Value
from labsim.model.enums import ProtocolLoggingLevel
from labsim.model.organization import Server
from labsim.model.transport import FRONTEND_TRANSPORT_PROPERTIES
from labsim.model.values import ByteSize, format_timespan

_PLL = enum_type(ProtocolLoggingLevel, "Microsoft.Exchange.Data.ProtocolLoggingLevel")

_PATH_TYPE = "Microsoft.Exchange.Data.LocalLongFullPath"
_FULL_PATH = re.compile(r"[A-Za-z]:\\[^<>\"|?*\x00-\x1f]*")
_MAX_PATH = 248
"""Exchange's LocalLongFullPath limit for a folder."""


def _to_local_path(value: Value) -> object:
    if value is None:
        return None  # refused by the cmdlet, which names the parameter
    if not isinstance(value, str):
        raise ConversionError(
            f'Cannot convert value "{value}" to type "{_PATH_TYPE}". Error: "Give a full local '
            'folder path such as D:\\Logs\\SmtpReceive."'
        )
    path = value.strip()
    if not _FULL_PATH.fullmatch(path) or "\\\\" in path[2:]:
        raise ConversionError(
            f'Cannot convert value "{value}" to type "{_PATH_TYPE}". Error: "Path is not '
            "legal: a full local path with a drive letter is required, such as "
            'D:\\Logs\\SmtpReceive."'
        )
    if len(path) > _MAX_PATH:
        raise ConversionError(
            f'Cannot convert value "{value}" to type "{_PATH_TYPE}". Error: "The path is '
            f'longer than {_MAX_PATH} characters."'
        )
    return path.rstrip("\\") if len(path) > 3 else path


LOCAL_PATH = ParamType(_PATH_TYPE, _to_local_path)
"""A LocalLongFullPath: a full local folder path with a drive letter."""

_MAX_AGE = timedelta(days=24855, hours=3, minutes=14, seconds=7)
"""EnhancedTimeSpan's largest value (Int32.MaxValue seconds): the log ages' upper bound."""

_TYPES: dict[str, ParamType] = {
    "IntraOrgConnectorProtocolLoggingLevel": _PLL,
    "ConnectivityLogEnabled": BOOL,
    "MaxConnectionRatePerMinute": INT,
}


def setting_type(parameter: str) -> ParamType:
    if parameter in _TYPES:
        return _TYPES[parameter]
    if parameter.endswith("MaxAge"):
        return TIMESPAN
    if parameter.endswith(("MaxDirectorySize", "MaxFileSize")):
        return BYTE_SIZE
    assert parameter.endswith("Path"), parameter
    return LOCAL_PATH


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


def checked_setting(ctx: CmdletContext, parameter: str, value: object) -> object:
    """One parameter's value, held to Exchange's rules for it."""
    kind = setting_type(parameter)
    if value is None:
        what = {
            _PLL.type_name: "None or Verbose",
            BOOL.type_name: "$true or $false",
            INT.type_name: "a number from 1 to 2147483647",
            TIMESPAN.type_name: "a time span such as 30.00:00:00",
            BYTE_SIZE.type_name: "a size such as 250MB, or unlimited",
        }.get(
            kind.type_name,
            "a full local path such as D:\\Logs (labsim does not model turning a log off by "
            "clearing its path)",
        )
        raise ctx.error(f"The parameter -{parameter} can't be $null; give {what}.")
    if isinstance(value, timedelta):
        if value > _MAX_AGE:
            raise out_of_range(
                ctx.cmdlet,
                parameter,
                format_timespan(value),
                format_timespan(_MAX_AGE),
                too_large=True,
            )
    elif isinstance(value, ByteSize):
        if value.value is not None and value.value < 1:
            raise out_of_range(ctx.cmdlet, parameter, str(value), "1 B (1 bytes)", too_large=False)
    elif isinstance(value, int) and not isinstance(value, bool) and value < 1:
        raise out_of_range(ctx.cmdlet, parameter, str(value), "1", too_large=False)
    return value


def set_frontend_transport_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-FrontendTransportService [-Identity] server -<setting> value …: prints nothing (or the
    no-change warning)."""
    identity = args.text("Identity") or ""
    if "*" in identity or "?" in identity:
        raise ctx.error(
            f"The -Identity parameter takes one Client Access server, not the pattern "
            f"'{identity}'; pipe Get-FrontendTransportService into Set-FrontendTransportService "
            "to change several."
        )
    (server,) = _matching(ctx, identity)
    current = server.frontend_transport
    changes = {
        attribute: checked_setting(ctx, parameter, args.get(parameter))
        for parameter, attribute in FRONTEND_TRANSPORT_PROPERTIES
        if parameter in args
    }
    updated = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
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
            *(
                ParameterSpec(parameter, setting_type(parameter))
                for parameter, _ in FRONTEND_TRANSPORT_PROPERTIES
            ),
            *EXCHANGE_COMMON,
        ),
        set_frontend_transport_service,
        pipeline=_identity_of,
        synopsis="Change a Client Access server's Front End Transport settings: protocol "
        "logging of its hop to the Mailbox servers (Verbose or None), and the protocol and "
        "connectivity log paths, ages and sizes (stored and shown).",
    ),
)
"""The Front End Transport service cmdlets."""
