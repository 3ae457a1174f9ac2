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

import fnmatch
import re
from collections.abc import Mapping
from enum import Enum

from labsim.ems.expressions import (
    Compare,
    CurrentObject,
    Expression,
    Literal,
    Logical,
    Member,
    Not,
    Variable,
)
from labsim.ems.format import display
from labsim.ems.views import property_value
from labsim.model.values import ByteSize

_COLLECTIONS = (tuple, list, frozenset, set)


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


def _ordered(a: float, op: str, b: float) -> bool:
    return {
        "eq": a == b,
        "ne": a != b,
        "gt": a > b,
        "ge": a >= b,
        "lt": a < b,
        "le": a <= b,
    }[op]


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
        return (variables or {}).get(expression.name.lower())
    if isinstance(expression, Member):
        return member(evaluate(expression.base, current, variables), expression.name)
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
