"""Get-EventLog: read the servers' Application event logs as an admin does in Windows PowerShell
(docs/fidelity.md, "The Application event log").

The entries are :class:`~labsim.logs.event_log.EventLogEntry` objects, written to the pipeline
newest first (their view, in :mod:`labsim.ems.views`, is PowerShell's EventLogEntry table and
list). Parameters follow Windows PowerShell 5.1:

* ``-LogName`` (mandatory, position 0): labsim keeps the Application log only; another name is
  refused with PowerShell's text and what labsim has.
* ``-Source`` and ``-Message`` take wildcards (several sources); ``-EntryType`` is one of
  PowerShell's set; ``-InstanceId`` (position 1) compares InstanceId, which for Exchange's errors
  is the event id with its severity bits (a note says so when an EventID was given instead);
  ``-Index``; ``-After``/``-Before`` exclude their instant; ``-Newest N``.
* ``-ComputerName``: servers of the shell's organization; without it the shell's server, or
  every server of the organization when the shell is on none (as Get-MessageTrackingLog).
* Nothing found: PowerShell's ``No matches found`` error.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from datetime import datetime

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import find_lab_server
from labsim.ems.cmdlets.message_tracking import DATETIME
from labsim.ems.conversions import INT, STRING, ConversionError, ParamType, show
from labsim.ems.parser import Value
from labsim.logs.event_log import LOG_NAME, EventLogEntry
from labsim.model.organization import Server

ENTRY_TYPES = ("Error", "Information", "FailureAudit", "SuccessAudit", "Warning")
"""The values -EntryType accepts (its ValidateSet)."""


def _flatten(value: Value) -> tuple[Value, ...]:
    if isinstance(value, tuple):
        return tuple(item for part in value for item in _flatten(part))
    return (value,)


def _to_strings(value: Value) -> object:
    items = _flatten(value)
    if not all(isinstance(item, str) for item in items):
        raise ConversionError(f'Cannot convert "{show(value)}" to "System.String[]".')
    return tuple(str(item).strip() for item in items)


def _to_longs(value: Value) -> object:
    numbers: list[int] = []
    for item in _flatten(value):
        text = item.strip() if isinstance(item, str) else ""
        if not text.isdigit():
            raise ConversionError(
                f'Cannot convert value "{show(item)}" to type "System.Int64". Error: "Input '
                'string was not in a correct format."'
            )
        numbers.append(int(text))
    return tuple(numbers)


STRINGS = ParamType("System.String[]", _to_strings)
"""A string array (``-Source a,b``), without Exchange's multivalued-property forms."""

LONGS = ParamType("System.Int64[]", _to_longs)
"""``-InstanceId``: whole numbers."""

ENTRY_TYPE_LIST = ParamType("System.String[]", _to_strings, choices=ENTRY_TYPES)
"""``-EntryType``: names checked against :data:`ENTRY_TYPES` by the cmdlet."""


def _computers(ctx: CmdletContext, args: Arguments) -> list[Server]:
    org = ctx.organization()
    names = args.items("ComputerName") or ((ctx.server,) if ctx.server else ())
    if not names:
        return list(org.servers)
    servers: list[Server] = []
    for name in names:
        server = org.server(str(name))
        if server is None and ctx.server is not None and str(name).lower() == ctx.server.lower():
            # The shell's own :server is the machine the admin is on, whatever its organization.
            server = find_lab_server(ctx, ctx.server)[1]
        if server is None:
            known = ", ".join(s.name for s in org.servers)
            raise ctx.error(
                f"The network path was not found. ('{name}' is not a server of {org.name}; its "
                f"servers are {known}.)",
                "InvalidOperation",
            )
        servers.append(server)
    return servers


def _entry_types(ctx: CmdletContext, args: Arguments) -> set[str]:
    wanted: set[str] = set()
    for raw in args.items("EntryType"):
        match = next((t for t in ENTRY_TYPES if t.lower() == str(raw).lower()), None)
        if match is None:
            raise ctx.error(
                f"Cannot validate argument on parameter 'EntryType'. The argument \"{raw}\" does "
                f'not belong to the set "{",".join(ENTRY_TYPES)}" specified by the ValidateSet '
                "attribute. Supply an argument that is in the set and then try the command again.",
                "ParameterBindingValidationException",
            )
        wanted.add(match)
    return wanted


def _like(text: str, patterns: Iterable[object]) -> bool:
    return any(fnmatch.fnmatchcase(text.lower(), str(p).lower()) for p in patterns)


def _matches(entry: EventLogEntry, args: Arguments, entry_types: set[str]) -> bool:
    """Whether ``entry`` passes every filter given."""
    sources = args.items("Source")
    if sources and not _like(entry.source, sources):
        return False
    if entry_types and entry.entry_type.value not in entry_types:
        return False
    instance_ids = args.items("InstanceId")
    if instance_ids and entry.instance_id not in instance_ids:
        return False
    indexes = args.items("Index")
    if indexes and entry.index not in indexes:
        return False
    message = args.text("Message")
    if message is not None and not _like(entry.message, (message,)):
        return False
    if args.items("UserName"):
        return False  # the transport services log with no user (UserName is empty)
    after = args.get("After")
    if isinstance(after, datetime) and entry.time_generated <= after:
        return False
    before = args.get("Before")
    return not (isinstance(before, datetime) and entry.time_generated >= before)


def get_event_log(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-EventLog [-LogName] Application [[-InstanceId] n,…] [-ComputerName s,…] [-Source
    pattern,…] [-EntryType t,…] [-Message pattern] [-Index n,…] [-After d] [-Before d]
    [-Newest n]."""
    log_name = (args.text("LogName") or "").strip()
    servers = _computers(ctx, args)
    if log_name.lower() != LOG_NAME.lower():
        computer = servers[0].name if len(servers) == 1 else "."
        raise ctx.error(
            f"The event log '{log_name}' on computer '{computer}' does not exist. (labsim keeps "
            f"one event log per server, {LOG_NAME}: Get-EventLog -LogName {LOG_NAME}.)",
            "ObjectNotFound",
        )
    entry_types = _entry_types(ctx, args)
    newest = args.get("Newest")
    if isinstance(newest, int) and newest < 1:
        raise ctx.error(
            f"Cannot validate argument on parameter 'Newest'. The {newest} argument is less than "
            "the minimum allowed range of 0. Supply an argument that is greater than or equal to "
            "1 and then try the command again.",
            "ParameterBindingValidationException",
        )
    everything: list[EventLogEntry] = []
    for server in servers:
        everything.extend(ctx.host.event_log_entries(server.name))
    # Get-EventLog reads a log from its newest entry back.
    everything.sort(key=lambda e: (e.time_generated, e.index), reverse=True)
    found = [e for e in everything if _matches(e, args, entry_types)]
    if isinstance(newest, int):
        found = found[:newest]
    if not found:
        _explain_instance_ids(ctx, args, everything)
        raise ctx.error("No matches found", "ObjectNotFound")
    return found


def _explain_instance_ids(
    ctx: CmdletContext, args: Arguments, entries: list[EventLogEntry]
) -> None:
    # The classic trap: -InstanceId 12014 finds nothing, as the Error's InstanceId carries
    # severity bits. Windows says only "No matches found"; labsim adds why.
    for wanted in args.items("InstanceId"):
        same = next((e for e in entries if e.event_id == wanted), None)
        if same is not None:
            ctx.note(
                f"no entry has InstanceId {wanted}; EventID {wanted} ({same.entry_type.value}) "
                f"has InstanceId {same.instance_id} (the event id with its severity bits): use "
                f"-InstanceId {same.instance_id}, or Where-Object {{$_.EventID -eq {wanted}}}."
            )


SPECS = (
    CmdletSpec(
        "Get-EventLog",
        (
            ParameterSpec("LogName", STRING, mandatory=True, position=0, aliases=("LN",)),
            ParameterSpec("InstanceId", LONGS, position=1),
            ParameterSpec("ComputerName", STRINGS, aliases=("Cn",)),
            ParameterSpec("Newest", INT),
            ParameterSpec("After", DATETIME),
            ParameterSpec("Before", DATETIME),
            ParameterSpec("UserName", STRINGS),
            ParameterSpec("Index", LONGS),
            ParameterSpec("EntryType", ENTRY_TYPE_LIST, aliases=("ET",)),
            ParameterSpec("Source", STRINGS),
            ParameterSpec("Message", STRING, aliases=("MSG",)),
        ),
        get_event_log,
        module="Microsoft.PowerShell.Management",
        synopsis="Read a server's Application event log (Get-EventLog Application -Source "
        "MSExchange* -EntryType Error -Newest 20): the transport services' certificate and "
        "Domain Security events.",
    ),
)
"""The event log cmdlets."""
