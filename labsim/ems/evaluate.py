"""Evaluating script blocks on pipeline objects, with PowerShell's comparison rules.

Owns :func:`evaluate` and :func:`is_true`. Properties come from the object's view (the names
Format-List shows, any case); a property the object lacks is ``$null``, as in PowerShell outside
strict mode. Comparisons follow PowerShell: the left operand's type decides how the right one is
converted (a number compares as a number, a boolean as a boolean — so any non-empty string is
``$true`` — everything else as text, case-insensitively unless the operator has its ``c``
prefix); with a list on the left, ``-eq``/``-like``/... keep the matching items (true when any
matches) and ``-contains`` asks whether the list holds the value.
"""

from __future__ import annotations

import calendar
import fnmatch
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from labsim.ems.expressions import (
    Call,
    Compare,
    CurrentObject,
    Expression,
    LabNow,
    Literal,
    Logical,
    Member,
    Not,
    Variable,
)
from labsim.ems.format import display
from labsim.ems.messages import cmdlet_error
from labsim.ems.views import property_value
from labsim.model.values import ByteSize

_COLLECTIONS = (tuple, list, frozenset, set)

NOW_VARIABLE = "(get-date)"
"""The key under which the shell's variables give lab time to ``(Get-Date)`` in a filter
(parentheses cannot be part of a variable's name, so no ``$name`` reaches it)."""

DATETIME_METHODS = ("AddYears", "AddMonths", "AddDays", "AddHours", "AddMinutes", "AddSeconds")
"""DateTime's methods the shell runs (``(Get-Date).AddHours(-1)``), besides ToUniversalTime and
ToLocalTime (lab time is UTC: both give the date back)."""


def call_method(value: object, name: str, arguments: tuple[object, ...]) -> object:
    """``value.Name(arguments)``: DateTime's Add* methods (and ToUniversalTime/ToLocalTime) on
    a date, or on each date of a list; any other method is refused with what labsim runs."""
    if isinstance(value, _COLLECTIONS):
        return tuple(call_method(item, name, arguments) for item in value)
    key = name.lower()
    if isinstance(value, datetime):
        if key in ("touniversaltime", "tolocaltime") and not arguments:
            return value
        method = next((m for m in DATETIME_METHODS if m.lower() == key), None)
        if method is not None and len(arguments) == 1:
            return _add(value, method, arguments[0])
    kind = (
        "System.DateTime"
        if isinstance(value, datetime)
        else "System.String"
        if isinstance(value, str)
        else "an Exchange object"
    )
    raise cmdlet_error(
        "",
        f"labsim's shell does not run the method {name}() on {kind}; it runs DateTime's "
        f"{', '.join(DATETIME_METHODS)}, ToUniversalTime and ToLocalTime, as in "
        "(Get-Date).AddHours(-1).",
        "MethodNotFound",
    )


def _add(value: datetime, method: str, amount: object) -> datetime:
    whole = method in ("AddYears", "AddMonths")
    number: float | None
    if isinstance(amount, bool):
        number = None
    elif isinstance(amount, (int, float)):
        number = float(amount)
    else:
        try:
            number = float(str(amount))
        except ValueError:
            number = None
    if number is None or (whole and not number.is_integer()):
        raise cmdlet_error(
            "",
            f'Cannot convert argument "value", with value: "{display(amount)}", for "{method}" '
            f'to type "System.{"Int32" if whole else "Double"}": give a number, e.g. '
            f".{method}(-1).",
            "MethodArgumentConversionInvalidCastArgument",
        )
    if whole:
        months = int(number) * (12 if method == "AddYears" else 1)
        index = value.year * 12 + value.month - 1 + months
        year, month = divmod(index, 12)
        # .NET keeps the day, or the month's last day when it has fewer (31 Jan + 1 month).
        day = min(value.day, calendar.monthrange(year, month + 1)[1])
        return value.replace(year=year, month=month + 1, day=day)
    return value + timedelta(**{method[3:].lower(): number})


def _as_datetime(value: object) -> datetime | None:
    # The right side of a comparison with a date: a date, or text PowerShell reads as one.
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, str):
        from labsim.ems.cmdlets.message_tracking import parse_datetime

        try:
            found = parse_datetime(value)
        except ValueError:
            return None
    else:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def member(value: object, name: str) -> object:
    """``value.name``; on a list, the property of each item (PowerShell's member enumeration)."""
    if name.lower() in ("count", "length") and not property_value(value, name)[0]:
        # A list's own Count wins over its items' properties; one object counts 1, $null 0.
        if isinstance(value, _COLLECTIONS):
            return len(value)
        return 0 if value is None else 1
    if isinstance(value, _COLLECTIONS):
        found: list[object] = []
        for item in value:
            got = member(item, name)
            found.extend(got if isinstance(got, _COLLECTIONS) else (got,))
        return tuple(found)
    return property_value(value, name)[1]


def is_true(value: object) -> bool:
    """PowerShell's conversion to boolean."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value != ""
    if isinstance(value, _COLLECTIONS):
        items = list(value)
        if not items:
            return False
        return is_true(items[0]) if len(items) == 1 else True
    return True


def _text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    return display(value)


def _scalar(left: object, op: str, right: object, case_sensitive: bool) -> bool:
    if op in ("like", "notlike"):
        pattern, text = _text(right), _text(left)
        if not case_sensitive:
            pattern, text = pattern.lower(), text.lower()
        return fnmatch.fnmatchcase(text, pattern) == (op == "like")
    if op in ("match", "notmatch"):
        flags = 0 if case_sensitive else re.IGNORECASE
        try:
            hit = re.search(_text(right), _text(left), flags) is not None
        except re.error:
            hit = False
        return hit == (op == "match")
    a: object
    b: object
    if left is None or right is None:
        a, b = left is None, right is None
        if op == "eq":
            return a and b
        if op == "ne":
            return not (a and b)
        return False
    if isinstance(left, ByteSize) and isinstance(right, (int, str)) and not isinstance(right, bool):
        # A size compares by its bytes (unlimited above every number), as Exchange's
        # ByteQuantifiedSize does with 10MB on the right.
        try:
            wanted = right if isinstance(right, int) else ByteSize.parse(right).value
        except ValueError:
            wanted = None
        if wanted is not None:
            a = left.value if left.value is not None else float("inf")
            b = wanted
            return _ordered(a, op, b)
    if isinstance(left, datetime):
        # A date compares as a date (PowerShell converts the right side to DateTime), not as
        # the text it prints.
        when = _as_datetime(right)
        if when is not None:
            moment = left if left.tzinfo is not None else left.replace(tzinfo=UTC)
            return _ordered(moment, op, when)
    if isinstance(left, bool):
        a, b = left, is_true(right)
    elif isinstance(left, int) and not isinstance(right, bool):
        try:
            a, b = left, int(_text(right).strip())
        except ValueError:
            a, b = str(left), _text(right)
    else:
        a, b = _text(left), _text(right)
    if isinstance(a, str) and isinstance(b, str) and not case_sensitive:
        a, b = a.lower(), b.lower()
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    try:
        if op == "gt":
            return a > b  # type: ignore[operator]
        if op == "ge":
            return a >= b  # type: ignore[operator]
        if op == "lt":
            return a < b  # type: ignore[operator]
        if op == "le":
            return a <= b  # type: ignore[operator]
    except TypeError:
        return False
    raise ValueError(op)


def _ordered(a: Any, op: str, b: Any) -> bool:
    return bool(
        {
            "eq": a == b,
            "ne": a != b,
            "gt": a > b,
            "ge": a >= b,
            "lt": a < b,
            "le": a <= b,
        }[op]
    )


def compare(left: object, op: str, right: object, case_sensitive: bool = False) -> object:
    """``left -op right`` with PowerShell's rules (a list on the left filters)."""
    if op in ("in", "notin"):
        return compare(right, "contains" if op == "in" else "notcontains", left, case_sensitive)
    if op in ("contains", "notcontains"):
        items = left if isinstance(left, _COLLECTIONS) else (left,)
        hit = any(_scalar(item, "eq", right, case_sensitive) for item in items)
        return hit == (op == "contains")
    if isinstance(left, _COLLECTIONS):
        return tuple(item for item in left if _scalar(item, op, right, case_sensitive))
    return _scalar(left, op, right, case_sensitive)


def evaluate(
    expression: Expression, current: object, variables: Mapping[str, object] | None = None
) -> object:
    """The value of ``expression`` with ``$_`` bound to ``current`` and the session's
    ``variables`` (by lower-case name)."""
    if isinstance(expression, Literal):
        return expression.value
    if isinstance(expression, CurrentObject):
        return current
    if isinstance(expression, Variable):
        return (variables if variables is not None else {}).get(expression.name.lower())
    if isinstance(expression, Member):
        return member(evaluate(expression.base, current, variables), expression.name)
    if isinstance(expression, LabNow):
        now = (variables if variables is not None else {}).get(NOW_VARIABLE)
        if now is None:
            raise cmdlet_error(
                "",
                "(Get-Date) is taken only in Where-Object filters and calculated properties; "
                "here write the date itself, e.g. '12/5/2026 09:00'.",
                "InvalidOperation",
            )
        return now
    if isinstance(expression, Call):
        return call_method(
            evaluate(expression.base, current, variables),
            expression.name,
            tuple(evaluate(a, current, variables) for a in expression.arguments),
        )
    if isinstance(expression, Compare):
        return compare(
            evaluate(expression.left, current, variables),
            expression.op,
            evaluate(expression.right, current, variables),
            expression.case_sensitive,
        )
    if isinstance(expression, Logical):
        left = is_true(evaluate(expression.left, current, variables))
        if expression.op == "and":
            return left and is_true(evaluate(expression.right, current, variables))
        return left or is_true(evaluate(expression.right, current, variables))
    assert isinstance(expression, Not)
    return not is_true(evaluate(expression.operand, current, variables))
