"""Text layout of PowerShell's Format-List and Format-Table, and how values print.

Owns the rules, independent of object types (those are in ``views.py``):

* values: booleans ``True``/``False``; ``$null`` empty; enums by Exchange spelling; lists as
  ``{a, b}`` (``{}`` when empty), cut after 16 items with ``...`` as EMS sets
  ``$FormatEnumerationLimit = 16``; dates ``M/d/yyyy h:mm:ss AM``; time spans ``d.hh:mm:ss``.
* Format-List: ``Name : value``, names left-aligned and padded to the longest name of the
  object; objects separated by one blank line.
* Format-Table: a header row, a row of dashes as long as each header, then one row per object;
  columns padded to their widest cell and separated by one space; numbers right-aligned.

Trailing spaces are stripped from every line (PowerShell pads them, but they are invisible and
would only make golden texts brittle). Long values are not wrapped or cut to a console width.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import Enum

from labsim.model.values import format_timespan

ENUMERATION_LIMIT = 16
"""EMS sets $FormatEnumerationLimit to 16 (plain PowerShell uses 4)."""


def format_datetime(value: datetime) -> str:
    """A date as en-US PowerShell prints it: ``1/15/2024 3:04:05 PM``."""
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} {suffix}"


def format_datetime_long(value: datetime) -> str:
    """A DateTime on its own at the end of a pipeline, as en-US PowerShell prints it:
    ``Saturday, December 5, 2026 3:04:05 AM``."""
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    return (
        f"{value:%A}, {value:%B} {value.day}, {value.year} "
        f"{hour}:{value.minute:02d}:{value.second:02d} {suffix}"
    )


def display(value: object) -> str:
    """One property value as PowerShell prints it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, timedelta):
        return format_timespan(value)
    if isinstance(value, (tuple, list, frozenset, set)):
        items = [display(v) for v in value]
        if len(items) > ENUMERATION_LIMIT:
            return "{" + ", ".join(items[:ENUMERATION_LIMIT]) + "...}"
        return "{" + ", ".join(items) + "}"
    return str(value)


def format_list(objects: Iterable[Sequence[tuple[str, str]]]) -> str:
    """Format-List layout of objects given as (name, display text) pairs."""
    blocks: list[str] = []
    for properties in objects:
        if not properties:
            continue
        width = max(len(name) for name, _ in properties)
        lines = [f"{name.ljust(width)} : {text}".rstrip() for name, text in properties]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def format_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    right_aligned: Iterable[str] = (),
) -> str:
    """Format-Table layout: header, dashes, rows; ``right_aligned`` names numeric columns."""
    right = set(right_aligned)
    widths = [
        max([len(header)] + [len(row[i]) for row in rows]) for i, header in enumerate(columns)
    ]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, cell in enumerate(cells):
            parts.append(cell.rjust(widths[i]) if columns[i] in right else cell.ljust(widths[i]))
        return " ".join(parts).rstrip()

    out = [line(columns), line(["-" * len(h) for h in columns])]
    out.extend(line(row) for row in rows)
    return "\n".join(out)
