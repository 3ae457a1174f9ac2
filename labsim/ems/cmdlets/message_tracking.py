"""Get-MessageTrackingLog: search the lab's message tracking logs as an admin does in EMS.

The records are the servers' :class:`~labsim.logs.tracking.TrackingRecord` objects, written to
the pipeline as they are (their view, in :mod:`labsim.ems.views`, shows the 2013 property names:
``Timestamp``, ``Recipients``, ``Sender`` …). Filters follow Exchange's documentation:

* ``-Sender`` is a whole address and ``-Recipients`` whole addresses (any of them matches a
  record that has it among its recipients), case-insensitively; ``-MessageSubject`` matches a
  part of the subject; ``-EventId`` compares the event name without regard to case, so that event
  ids labsim adds later are found without a change here; ``-MessageId`` with or without ``<>``.
* ``-Start`` includes its instant and ``-End`` excludes it ("up to, but not including").
  A date without a zone is lab time (UTC), the way the lab's logs are stamped.
* ``-ResultSize`` is a number or ``Unlimited``; by default 1000 records, with Exchange's warning
  when more matched.
* Without ``-Server``, the server the shell runs on, or every server of the organization when the
  shell is not on one (labsim: the lab has no "local" server; docs/fidelity.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import find_server
from labsim.ems.conversions import STRING, STRING_LIST, ConversionError, ParamType, show
from labsim.ems.parser import Value
from labsim.logs.tracking import TrackingRecord

DEFAULT_RESULT_SIZE = 1000
"""How many records Get-MessageTrackingLog returns when -ResultSize is not given."""

MORE_RESULTS_WARNING = (
    "There are more results available than are currently displayed. To view them, increase "
    "the value for the ResultSize parameter."
)
"""Exchange's warning when the default result size cut the output short."""

UNLIMITED = "Unlimited"
"""The -ResultSize value that returns every record."""

_DATETIME = "System.DateTime"
_UNLIMITED = "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]"

# en-US short date, optionally with a time (h:mm, h:mm:ss, with AM/PM or 24-hour).
_US_DATE = re.compile(
    r"(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<half>[AaPp][Mm])?)?"
)


def parse_datetime(text: str) -> datetime:
    """A date as PowerShell reads one on an en-US machine: ``12/4/2026 9:30 PM``, ``12/4/2026``,
    or ISO 8601 (``2026-12-04T21:30:00Z``). No zone means UTC (lab time). ValueError otherwise."""
    text = text.strip()
    match = _US_DATE.fullmatch(text)
    if match is not None:
        hour = int(match["hour"] or 0)
        half = (match["half"] or "").upper()
        if half and not 1 <= hour <= 12:
            raise ValueError(text)
        if half == "PM" and hour != 12:
            hour += 12
        elif half == "AM" and hour == 12:
            hour = 0
        value = datetime(
            int(match["year"]),
            int(match["month"]),
            int(match["day"]),
            hour,
            int(match["minute"] or 0),
            int(match["second"] or 0),
        )
    else:
        value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _to_datetime(value: Value) -> object:
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            pass
    raise ConversionError(
        f'Cannot convert value "{show(value)}" to type "{_DATETIME}". Error: "String was not '
        'recognized as a valid DateTime." Give a date such as "12/4/2026 09:00" or '
        '"2026-12-04T09:00:00Z".'
    )


def _to_result_size(value: Value) -> object:
    if isinstance(value, str):
        if value.strip().lower() == "unlimited":
            return UNLIMITED
        if re.fullmatch(r"\s*\d+\s*", value) and int(value) <= 0xFFFFFFFF:
            return int(value)
    raise ConversionError(
        f'Cannot convert value "{show(value)}" to type "{_UNLIMITED}". Error: "The value must '
        'be a number from 0 to 4294967295, or Unlimited."'
    )


DATETIME = ParamType(_DATETIME, _to_datetime)
"""``-Start`` / ``-End``."""

RESULT_SIZE = ParamType(_UNLIMITED, _to_result_size)
"""``-ResultSize``: a count, or :data:`UNLIMITED`."""


def _bare_message_id(value: str) -> str:
    return value.strip().removeprefix("<").removesuffix(">").casefold()


def _servers(ctx: CmdletContext, args: Arguments) -> list[str]:
    named = args.text("Server") or ctx.server
    if named is not None:
        return [find_server(ctx, named).name]
    return [server.name for server in ctx.organization().servers]


def _matches(record: TrackingRecord, args: Arguments) -> bool:
    """Whether ``record`` passes every filter given (TrackingRecord's fields only)."""
    event_id = args.text("EventId")
    if event_id is not None and str(record.event_id.value).casefold() != event_id.casefold():
        return False
    sender = args.text("Sender")
    if sender is not None and record.sender_address.casefold() != sender.strip().casefold():
        return False
    wanted = {str(r).strip().casefold() for r in args.items("Recipients")}
    if wanted and not wanted & {a.casefold() for a in record.recipient_address}:
        return False
    subject = args.text("MessageSubject")
    if subject is not None and subject.casefold() not in record.message_subject.casefold():
        return False
    message_id = args.text("MessageId")
    if message_id is not None and _bare_message_id(message_id) != _bare_message_id(
        record.message_id
    ):
        return False
    start = args.get("Start")
    if isinstance(start, datetime) and record.date_time < start:
        return False
    end = args.get("End")
    return not (isinstance(end, datetime) and record.date_time >= end)


def get_message_tracking_log(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-MessageTrackingLog [-Server s] [-Sender a] [-Recipients a,b] [-MessageSubject t]
    [-EventId e] [-MessageId id] [-Start d] [-End d] [-ResultSize n|Unlimited]."""
    found: list[TrackingRecord] = []
    for server in _servers(ctx, args):
        records: Sequence[TrackingRecord] = ctx.host.tracking_records(server)
        found.extend(r for r in records if _matches(r, args))
    limit = args.get("ResultSize")
    if limit == UNLIMITED:
        return found
    if isinstance(limit, int):
        return found[:limit]
    if len(found) > DEFAULT_RESULT_SIZE:
        ctx.warn(MORE_RESULTS_WARNING)
    return found[:DEFAULT_RESULT_SIZE]


SPECS = (
    CmdletSpec(
        "Get-MessageTrackingLog",
        (
            ParameterSpec("Server", STRING),
            ParameterSpec("Sender", STRING),
            ParameterSpec("Recipients", STRING_LIST),
            ParameterSpec("MessageSubject", STRING),
            ParameterSpec("EventId", STRING),
            ParameterSpec("MessageId", STRING),
            ParameterSpec("Start", DATETIME),
            ParameterSpec("End", DATETIME),
            ParameterSpec("ResultSize", RESULT_SIZE),
            *EXCHANGE_COMMON,
        ),
        get_message_tracking_log,
        synopsis="Search the message tracking logs (default view: EventId, Source, Sender, "
        "Recipients, MessageSubject).",
    ),
)
"""The message tracking cmdlets."""
