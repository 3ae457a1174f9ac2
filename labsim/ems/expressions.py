"""Script blocks: the ``{$_.Prop -eq 'x' -and ...}`` filters of Where-Object, parsed to a tree.

Owns :class:`ScriptBlock` and the expression nodes, and the grammar labsim reads inside braces
(PowerShell expression mode, the part admins type in filters):

* operands: ``$_`` / ``$PSItem`` (the pipeline object), ``$true`` / ``$false`` / ``$null``,
  session variables (``$c``),
  quoted strings, numbers, a bare word (taken as its text), ``( ... )``; each may be followed by
  ``.Property`` (any case, chained: ``$_.A.B``);
* comparison operators ``-eq -ne -gt -ge -lt -le -like -notlike -match -notmatch -contains
  -notcontains -in -notin``, with their ``c``/``i`` forms (``-ceq``, ``-ilike``);
* ``-not`` / ``!``, then ``-and``, then ``-or`` (PowerShell gives -and and -or the same
  precedence, left to right; labsim does too).

Evaluation is in :mod:`labsim.ems.evaluate` (it needs the object views); this module knows only
syntax, so the parser can use it without importing the views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from labsim.ems.tokens import (
    DOUBLE_QUOTES,
    SINGLE_QUOTES,
    Scanner,
    not_supported,
    parse_error,
)
from labsim.errors import CmdletError

COMPARISONS = frozenset(
    {
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "like",
        "notlike",
        "match",
        "notmatch",
        "contains",
        "notcontains",
        "in",
        "notin",
    }
)
"""Comparison operators, without their ``c`` (case-sensitive) or ``i`` prefix."""


@dataclass(frozen=True)
class Literal:
    """A constant: a string, an integer, a boolean or ``$null``."""

    value: str | int | bool | None


@dataclass(frozen=True)
class CurrentObject:
    """``$_`` / ``$PSItem``: the object Where-Object is looking at."""


@dataclass(frozen=True)
class Variable:
    """``$name``: a variable of the shell session (``$null`` when it was never set)."""

    name: str


@dataclass(frozen=True)
class Member:
    """``base.Name``: a property of what ``base`` evaluates to."""

    base: Expression
    name: str


@dataclass(frozen=True)
class LabNow:
    """``(Get-Date)``: the lab's time when the filter runs (the one command a filter takes)."""


@dataclass(frozen=True)
class Call:
    """``base.Method(arguments)``: a method of what ``base`` evaluates to (DateTime's Add*,
    :func:`labsim.ems.evaluate.call_method`)."""

    base: Expression
    name: str
    arguments: tuple[Expression, ...] = ()


@dataclass(frozen=True)
class Compare:
    """``left -op right``; ``op`` is lower case, without its c/i prefix; ``case_sensitive`` for c."""

    left: Expression
    op: str
    right: Expression
    case_sensitive: bool = False


@dataclass(frozen=True)
class Logical:
    """``left -and right`` / ``left -or right``."""

    op: str
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Not:
    """``-not operand`` / ``!operand``."""

    operand: Expression


Expression: TypeAlias = (
    "Literal | CurrentObject | Variable | Member | LabNow | Call | Compare | Logical | Not"
)
"""A node of a script block's expression."""


@dataclass(frozen=True)
class ScriptBlock:
    """``{ ... }`` as typed (``text``, without the braces) and its parsed expression."""

    text: str
    body: Expression | None

    def variables(self) -> tuple[str, ...]:
        """The session variables the block reads (lower case)."""
        found: list[str] = []
        pending: list[Expression] = [self.body] if self.body is not None else []
        while pending:
            node = pending.pop(0)
            if isinstance(node, Variable) and node.name.lower() not in found:
                found.append(node.name.lower())
            elif isinstance(node, Member):
                pending.append(node.base)
            elif isinstance(node, Call):
                pending.extend((node.base, *node.arguments))
            elif isinstance(node, (Compare, Logical)):
                pending.extend((node.left, node.right))
            elif isinstance(node, Not):
                pending.append(node.operand)
        return tuple(found)


_MULTIPLIERS = {"kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4}


def _number_or_word(word: str) -> Literal:
    # PowerShell numbers, with its KB/MB/GB/TB multipliers (10MB is 10485760); anything else is
    # taken as text, more lenient than PowerShell (which would run it as a command).
    match = re.fullmatch(r"(-?\d+)(kb|mb|gb|tb)?", word, re.IGNORECASE)
    if match is None:
        return Literal(word)
    factor = _MULTIPLIERS.get((match.group(2) or "").lower(), 1)
    return Literal(int(match.group(1)) * factor)


_NAME_END = frozenset(" \t\f\v\u00a0\r\n,|;(){}.=!") | DOUBLE_QUOTES | SINGLE_QUOTES


class _BlockParser:
    def __init__(self, scan: Scanner) -> None:
        self.scan = scan

    def error(self, message: str, index: int | None = None) -> CmdletError:
        return parse_error(message, self.scan.position(index))

    def skip(self) -> None:
        self.scan.skip_blanks(newlines=True)

    def operator(self) -> tuple[str, int] | None:
        """The ``-word`` at the cursor (lower case) and where it starts, without consuming it."""
        scan = self.scan
        if not scan.at_parameter():
            return None
        start = scan.index
        end = start + 1
        while end < len(scan.text) and (scan.text[end].isalnum() or scan.text[end] == "_"):
            end += 1
        return scan.text[start + 1 : end].lower(), start

    def expression(self) -> Expression:
        left = self.unary()
        while True:
            self.skip()
            found = self.operator()
            if found is None or found[0] not in ("and", "or"):
                return left
            self.scan.index = found[1] + 1 + len(found[0])
            self.skip()
            left = Logical(found[0], left, self.unary())

    def unary(self) -> Expression:
        self.skip()
        scan = self.scan
        if scan.peek() == "!":
            scan.advance()
            return Not(self.unary())
        found = self.operator()
        if found is not None and found[0] == "not":
            scan.index = found[1] + 4
            return Not(self.unary())
        return self.comparison()

    def comparison(self) -> Expression:
        left = self.operand()
        self.skip()
        found = self.operator()
        if found is None or found[0] in ("and", "or"):
            return left
        word, start = found
        op, case_sensitive = word, False
        if word not in COMPARISONS and word[:1] in ("c", "i") and word[1:] in COMPARISONS:
            op, case_sensitive = word[1:], word[0] == "c"
        if op not in COMPARISONS:
            raise self.error(f"Unexpected token '-{word}' in expression or statement.", start)
        self.scan.index = start + 1 + len(word)
        self.skip()
        if self.scan.at_end() or self.scan.peek() == "}":
            raise self.error(
                f"You must provide a value expression following the '-{word}' operator."
            )
        return Compare(left, op, self.operand(), case_sensitive)

    def operand(self) -> Expression:
        self.skip()
        scan = self.scan
        ch = scan.peek()
        start = scan.index
        base: Expression
        if ch in SINGLE_QUOTES:
            base = Literal(scan.read_single_quoted())
        elif ch in DOUBLE_QUOTES:
            base = Literal(scan.read_double_quoted())
        elif ch == "$":
            base = self.variable()
        elif ch == "(" and _GET_DATE.match(scan.text, scan.index):
            # (Get-Date): lab time. Other commands stay outside filters (refused below).
            scan.index = _GET_DATE.match(scan.text, scan.index).end()  # type: ignore[union-attr]
            base = LabNow()
        elif ch == "(":
            scan.advance()
            base = self.expression()
            self.skip()
            if scan.peek() != ")":
                raise self.error("Missing closing ')' in expression.", start)
            scan.advance()
        elif ch == "" or ch in "})|;" or scan.at_parameter():
            shown = ch or "}"
            raise self.error(f"Unexpected token '{shown}' in expression or statement.")
        else:
            word = self.name()
            if not word:
                raise self.error(f"Unexpected token '{ch}' in expression or statement.")
            if re.fullmatch(r"[A-Za-z]+-[A-Za-z]+", word):
                raise not_supported(
                    "commands inside a script block (pipe the objects into the cmdlet instead, "
                    "e.g. Get-ReceiveConnector | Set-ReceiveConnector -ProtocolLoggingLevel "
                    "Verbose)",
                    scan.position(start),
                )
            base = _number_or_word(word)
        while scan.peek() == ".":
            scan.advance()
            name = self.name()
            if not name:
                raise self.error("Missing property name after reference operator '.'.")
            if scan.peek() == "(":
                base = Call(base, name, self.call_arguments())
            else:
                base = Member(base, name)
        return base

    def call_arguments(self) -> tuple[Expression, ...]:
        """``(a, b)`` of a method call (cursor on the parenthesis)."""
        scan = self.scan
        start = scan.index
        scan.advance()
        items: list[Expression] = []
        while True:
            self.skip()
            if scan.at_end() or scan.peek() == "}":
                raise self.error("Missing closing ')' in expression.", start)
            if scan.peek() == ")":
                scan.advance()
                return tuple(items)
            if items:
                if scan.peek() != ",":
                    raise self.error("Missing ')' in method call.")
                scan.advance()
            items.append(self.operand())

    def name(self) -> str:
        scan = self.scan
        out: list[str] = []
        while not scan.at_end() and scan.peek() not in _NAME_END:
            out.append(scan.peek())
            scan.advance()
        return "".join(out)

    def variable(self) -> Expression:
        scan = self.scan
        start = scan.index
        scan.advance()
        chars: list[str] = []
        while not scan.at_end() and (scan.peek().isalnum() or scan.peek() == "_"):
            chars.append(scan.peek())
            scan.advance()
        name = "".join(chars).lower()
        if name in ("_", "psitem"):
            return CurrentObject()
        if name in ("true", "false"):
            return Literal(name == "true")
        if name == "null":
            return Literal(None)
        if not chars:
            raise self.error(
                "Variable reference is not valid. '$' was not followed by a valid variable name "
                "character.",
                start,
            )
        return Variable("".join(chars))


_GET_DATE = re.compile(r"\(\s*get-date\s*\)", re.IGNORECASE)
"""``(Get-Date)`` inside a filter."""


def read_script_block(scan: Scanner) -> ScriptBlock:
    """Read ``{ ... }`` (cursor on the brace) into a :class:`ScriptBlock`."""
    start = scan.index
    scan.advance()
    parser = _BlockParser(scan)
    parser.skip()
    body: Expression | None = None
    if scan.peek() != "}":
        if scan.at_end():
            raise parse_error("Missing closing '}' in statement block.", scan.position(start))
        body = parser.expression()
        parser.skip()
    if scan.at_end():
        raise parse_error("Missing closing '}' in statement block.", scan.position(start))
    if scan.peek() != "}":
        ch = scan.peek()
        raise parser.error(f"Unexpected token '{ch}' in expression or statement.")
    text = scan.text[start + 1 : scan.index].strip()
    scan.advance()
    return ScriptBlock(text, body)
