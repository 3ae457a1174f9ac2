"""EMS syntax → pipelines of command calls (no knowledge of which cmdlets exist).

Owns the grammar labsim accepts, a subset of PowerShell argument mode:

* statements separated by newlines or ``;``; blank lines and ``#`` comments; a backtick at the end
  of a line continues it, and so does a trailing ``|`` or ``,``;
* ``Verb-Noun`` followed by ``-Param value``, ``-Switch``, ``-Param:value`` (``-Param:$false``),
  and positional values; ``|`` between commands;
* values: bare words (``treyresearch.net``, ``0.0.0.0:25``, ``Cert:\\LocalMachine\\Root``),
  single- and double-quoted strings, ``$true`` / ``$false`` / ``$null``, comma lists
  (``a,b``, ``"a", "b"``), ``@(...)`` / ``(...)`` lists, hashtables ``@{Add="x"; Remove="y"}``,
  and script blocks ``{$_.Name -like "A*"}`` (:mod:`labsim.ems.expressions`).

A statement may also assign its objects to a variable (``$c = Get-SendConnector "x"``) and may
start with an expression instead of a command: a variable with properties (``$c.Name``), a
parenthesised pipeline with properties (``(Get-TransportConfig).TLSSendDomainSecureList``) or a
constant. Variables are values too (``-Identity $c``). Language beyond this (operators in
statements, method calls, keywords, casts) is refused with PowerShell's no-language-mode error.

Whether ``-Param`` takes the next value depends on the parameter's type, which only the catalog
knows, so a call keeps its elements in order and binding happens later (``binding.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

from labsim.ems.expressions import ScriptBlock, read_script_block
from labsim.ems.tokens import (
    DOUBLE_QUOTES,
    NEWLINES,
    SINGLE_QUOTES,
    Position,
    Scanner,
    not_supported,
    parse_error,
)
from labsim.errors import CmdletError


@dataclass(frozen=True)
class HashTable:
    """A ``@{Key=value; ...}`` literal; keys compare case-insensitively, as in PowerShell."""

    entries: tuple[tuple[str, Value], ...]

    def names(self) -> tuple[str, ...]:
        """The keys as typed."""
        return tuple(key for key, _ in self.entries)

    def get(self, key: str) -> Value:
        """The value of ``key`` (any case), or None."""
        for name, value in self.entries:
            if name.lower() == key.lower():
                return value
        return None


@dataclass(frozen=True)
class MethodCall:
    """``.AddHours(-1)`` after a value: a method called on it (labsim runs DateTime's Add*
    methods, :func:`labsim.ems.shell.call_method`)."""

    name: str
    arguments: tuple[Value, ...] = ()


Member: TypeAlias = "str | MethodCall"
"""A property name, or a method call, after a value."""


@dataclass(frozen=True)
class VariableRef:
    """``$name`` or ``$name.Prop.Prop``: a session variable (resolved when the statement runs)."""

    name: str
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class ExpandableWord:
    """``$exinstall\\TransportRoles\\Logs``: a bare argument that starts with a variable and goes
    on with text; PowerShell expands it to the variable's text followed by the rest."""

    variable: VariableRef
    rest: str


@dataclass(frozen=True)
class SecureString:
    """A System.Security.SecureString (ConvertTo-SecureString's output): a password that binds
    to ``-Password`` and never prints."""

    text: str = field(repr=False)

    def __str__(self) -> str:
        return "System.Security.SecureString"


Value: TypeAlias = (
    "str | bool | None | tuple[Value, ...] | HashTable | ScriptBlock | VariableRef | SubPipeline"
    " | SecureString | ExpandableWord"
)
"""An argument value: a string (bare or quoted), a boolean, $null, a list, a hashtable, a
script block (Where-Object's filter), a variable, or a command's output in parentheses
(``-Thumbprint (Get-ExchangeCertificate -DomainName mail.adatum.com).Thumbprint``)."""


@dataclass(frozen=True)
class ParameterArgument:
    """``-Name`` (``has_value`` False), ``-Name:value`` (``colon`` True); the name as typed."""

    name: str
    value: Value = None
    has_value: bool = False
    position: Position = Position(1, 1)


@dataclass(frozen=True)
class PositionalArgument:
    """A value not introduced by a parameter name (it may still belong to the previous one)."""

    value: Value
    position: Position = Position(1, 1)


Argument: TypeAlias = ParameterArgument | PositionalArgument
"""One element after the command name."""


@dataclass(frozen=True)
class CommandCall:
    """One command of a pipeline: its name as typed and its elements in order."""

    name: str
    arguments: tuple[Argument, ...]
    position: Position = Position(1, 1)


@dataclass(frozen=True)
class SubPipeline:
    """``(Get-TransportConfig).TLSSendDomainSecureList``: a pipeline's objects, then properties."""

    pipeline: Pipeline
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class ValueSource:
    """A constant first element (``"text"``, ``42``, ``$true``): written to the pipeline as is."""

    value: str | bool | None


Source: TypeAlias = VariableRef | SubPipeline | ValueSource
"""An expression as the first element of a pipeline (PowerShell allows one only there)."""


@dataclass(frozen=True)
class Pipeline:
    """Commands joined by ``|``; ``text`` is the statement as typed (for ShellResult.commands).

    ``source`` is an expression that starts the pipeline instead of a command (``$c | FL``);
    ``assign`` names the variable the statement's objects go to (``$c = Get-SendConnector``).
    """

    commands: tuple[CommandCall, ...]
    text: str
    source: Source | None = None
    assign: str | None = None

    def calls(self) -> tuple[CommandCall, ...]:
        """Every command the statement runs: those of a ``( ... )`` pipeline at its start
        first, then each command after those of the ``( ... )`` pipelines among its arguments."""
        found: list[CommandCall] = []
        if isinstance(self.source, SubPipeline):
            found.extend(self.source.pipeline.calls())
        for call in self.commands:
            for argument in call.arguments:
                found.extend(_argument_calls(argument.value))
            found.append(call)
        return tuple(found)

    def variables(self) -> tuple[str, ...]:
        """The variables the statement reads (lower case), in order, each once."""
        found: list[str] = []

        def add(name: str) -> None:
            if name.lower() not in found:
                found.append(name.lower())

        def walk(value: object) -> None:
            if isinstance(value, VariableRef):
                add(value.name)
            elif isinstance(value, ExpandableWord):
                add(value.variable.name)
            elif isinstance(value, SubPipeline):
                for name in value.pipeline.variables():
                    add(name)
            elif isinstance(value, tuple):
                for item in value:
                    walk(item)
            elif isinstance(value, HashTable):
                for _, item in value.entries:
                    walk(item)
            elif isinstance(value, ScriptBlock):
                for name in value.variables():
                    add(name)

        if isinstance(self.source, VariableRef):
            add(self.source.name)
        elif isinstance(self.source, SubPipeline):
            for name in self.source.pipeline.variables():
                add(name)
        for call in self.commands:
            for argument in call.arguments:
                walk(argument.value)
        return tuple(found)


def _argument_calls(value: object) -> tuple[CommandCall, ...]:
    # The commands of ( ... ) pipelines inside an argument value (lists and hashtables too).
    if isinstance(value, SubPipeline):
        return value.pipeline.calls()
    if isinstance(value, tuple):
        return tuple(call for item in value for call in _argument_calls(item))
    if isinstance(value, HashTable):
        return tuple(call for _, item in value.entries for call in _argument_calls(item))
    return ()


_COMMAND_WORD = re.compile(r"[A-Za-z]+-[A-Za-z][A-Za-z0-9]*(?=[\s)|;]|$)")
"""A cmdlet name (Verb-Noun) at the start of ``( ... )`` in an argument: the parentheses hold a
pipeline, whose output is the value, as in PowerShell."""

_VARIABLES: dict[str, Value] = {"true": True, "false": False, "null": None}

_KEYWORDS = frozenset(
    {"foreach", "for", "if", "while", "do", "switch", "function", "filter", "try", "param"}
)
"""PowerShell's statement keywords: labsim's shell runs none of them."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.scan = Scanner(text)
        self.last_end = 0
        self.depth = 0
        """How many ``(`` sub-pipelines enclose the cursor (a ``)`` ends one)."""

    def error(self, message: str, index: int | None = None) -> CmdletError:
        return parse_error(message, self.scan.position(index))

    # -- statements ------------------------------------------------------------------------

    def script(self) -> tuple[Pipeline, ...]:
        pipelines: list[Pipeline] = []
        scan = self.scan
        while True:
            scan.skip_blanks(newlines=True)
            while scan.peek() == ";":
                scan.advance()
                scan.skip_blanks(newlines=True)
            if scan.at_end():
                return tuple(pipelines)
            pipelines.append(self.pipeline())

    def pipeline(self) -> Pipeline:
        scan = self.scan
        start = scan.index
        assign = self.assignment()
        source = self.source()
        commands = [] if source is not None else [self.command()]
        while True:
            scan.skip_blanks()
            if scan.peek() != "|":
                break
            scan.advance()
            # A trailing pipe continues the statement on the next line, as in PowerShell.
            scan.skip_blanks(newlines=True)
            if scan.at_end() or scan.peek() in "|;":
                raise self.error("An empty pipe element is not allowed.")
            commands.append(self.command(after_pipe=True))
        ch = scan.peek()
        if not (scan.at_end() or ch in NEWLINES or ch == ";" or (ch == ")" and self.depth)):
            if source is not None and not commands:
                what = "method calls" if ch == "(" else f"the operator '{ch}' in a statement"
                raise not_supported(what, scan.position())
            raise self.error(f"Unexpected token '{ch}' in expression or statement.")
        # The statement's text ends at its last element: trailing comments are not part of it.
        text = " ".join(scan.text[start : self.last_end].split())
        return Pipeline(tuple(commands), text, source, assign)

    def assignment(self) -> str | None:
        """``$name =`` at the cursor: consume it and return the name; else leave the cursor."""
        scan = self.scan
        if scan.peek() != "$":
            return None
        save = scan.index
        scan.advance()
        name = self.variable_name()
        scan.skip_blanks()
        if not name or scan.peek() != "=" or name.lower() in _VARIABLES or name == "_":
            scan.index = save
            return None
        scan.advance()
        scan.skip_blanks(newlines=True)
        if scan.at_end() or scan.peek() in ";)":
            raise self.error(
                "You must provide a value expression on the right-hand side of the '=' operator."
            )
        return name

    def source(self) -> Source | None:
        """An expression as the pipeline's first element, or None when a command starts it."""
        scan = self.scan
        ch = scan.peek()
        result: Source
        if ch == "$":
            value = self.variable()
            if isinstance(value, VariableRef):
                result = value
            else:
                assert value is None or isinstance(value, bool)
                result = ValueSource(value)
        elif ch in SINGLE_QUOTES:
            result = ValueSource(scan.read_single_quoted())
        elif ch in DOUBLE_QUOTES:
            result = ValueSource(scan.read_double_quoted())
        elif ch.isdigit():
            result = ValueSource(scan.read_bare_word())
        elif ch == "@" and scan.peek(1) == "(":
            raise not_supported("@(...) arrays as a statement", scan.position())
        elif ch == "[":
            raise not_supported("[type] casts", scan.position())
        elif ch == "(":
            start = scan.index
            scan.advance()
            scan.skip_blanks(newlines=True)
            if scan.peek() == ")":
                raise self.error("An expression was expected after '('.")
            self.depth += 1
            inner = self.pipeline()
            self.depth -= 1
            scan.skip_blanks(newlines=True)
            if scan.peek() != ")":
                raise self.error("Missing closing ')' in expression.", start)
            scan.advance()
            result = SubPipeline(inner, self.members())
        else:
            return None
        self.last_end = scan.index
        return result

    def members(self) -> tuple[Member, ...]:
        """``.Name.Name`` and ``.Method(args)`` right after an expression (no blanks, as
        PowerShell requires)."""
        scan = self.scan
        names: list[Member] = []
        while scan.peek() == "." and (scan.peek(1).isalnum() or scan.peek(1) == "_"):
            scan.advance()
            name = self.variable_name()
            if scan.peek() == "(":
                names.append(MethodCall(name, self.method_arguments()))
            else:
                names.append(name)
        return tuple(names)

    def method_arguments(self) -> tuple[Value, ...]:
        """``(a, b)`` of a method call (cursor on the parenthesis)."""
        scan = self.scan
        start = scan.index
        scan.advance()
        items: list[Value] = []
        while True:
            scan.skip_blanks()
            if scan.at_end():
                raise self.error("Missing closing ')' in expression.", start)
            if scan.peek() == ")":
                scan.advance()
                return tuple(items)
            if items:
                if scan.peek() != ",":
                    raise self.error("Missing ')' in method call.")
                scan.advance()
                scan.skip_blanks()
            items.append(self.primary(frozenset(",)")))

    def variable_name(self) -> str:
        scan = self.scan
        chars: list[str] = []
        while not scan.at_end() and (scan.peek().isalnum() or scan.peek() in "_:"):
            if scan.peek() == ":" and not scan.peek(1).isalnum():
                break
            chars.append(scan.peek())
            scan.advance()
        return "".join(chars)

    def command(self, *, after_pipe: bool = False) -> CommandCall:
        scan = self.scan
        scan.skip_blanks()
        position = scan.position()
        ch = scan.peek()
        if ch == "|":
            raise self.error("An empty pipe element is not allowed.")
        if ch in SINGLE_QUOTES or ch in DOUBLE_QUOTES or ch in "$@(":
            raise self.error("Expressions are only allowed as the first element of a pipeline.")
        name = scan.read_bare_word()
        self.last_end = scan.index
        if not name:
            raise self.error(f"Unexpected token '{ch}' in expression or statement.")
        # After a pipe, foreach is ForEach-Object's alias, not the statement.
        if name.lower() in _KEYWORDS and not (after_pipe and name.lower() == "foreach"):
            raise not_supported(f"the {name.lower()} statement", position)
        arguments: list[Argument] = []
        while True:
            scan.skip_blanks()
            ch = scan.peek()
            if scan.at_end() or ch in NEWLINES or ch in "|;" or (ch == ")" and self.depth):
                break
            if ch in ")}":
                raise self.error(f"Unexpected token '{ch}' in expression or statement.")
            where = scan.position()
            if scan.at_parameter():
                param, colon = scan.read_parameter_name()
                if colon:
                    scan.skip_blanks()
                    if scan.at_end() or scan.peek() in NEWLINES or scan.peek() in "|;":
                        raise self.error(
                            f"Missing an argument for parameter '{param}' after ':'; "
                            f"write -{param}:value, e.g. -{param}:$true."
                        )
                    arguments.append(ParameterArgument(param, self.value(), True, where))
                else:
                    arguments.append(ParameterArgument(param, None, False, where))
            else:
                arguments.append(PositionalArgument(self.value(), where))
            self.last_end = scan.index
        return CommandCall(name, tuple(arguments), position)

    # -- values ------------------------------------------------------------------------------

    def value(self, extra_end: frozenset[str] = frozenset()) -> Value:
        scan = self.scan
        items = [self.primary(extra_end)]
        while True:
            save = scan.index
            scan.skip_blanks()
            if scan.peek() != ",":
                scan.index = save
                break
            scan.advance()
            scan.skip_blanks(newlines=True)
            if scan.at_end() or scan.peek() in "|;)}":
                raise self.error("Missing expression after ','.")
            items.append(self.primary(extra_end))
        return items[0] if len(items) == 1 else tuple(items)

    def primary(self, extra_end: frozenset[str] = frozenset()) -> Value:
        scan = self.scan
        ch = scan.peek()
        if ch in SINGLE_QUOTES:
            return scan.read_single_quoted()
        if ch in DOUBLE_QUOTES:
            return scan.read_double_quoted()
        if ch == "$":
            value = self.variable()
            if isinstance(value, VariableRef) and scan.peek() in ("\\", "/"):
                # Argument mode: $exinstall\TransportRoles\Logs is one expandable word.
                return ExpandableWord(value, scan.read_bare_word(extra_end))
            return value
        if ch == "@" and scan.peek(1) == "{":
            return self.hashtable()
        if ch == "{":
            return read_script_block(scan)
        if ch == "@" and scan.peek(1) == "(":
            scan.advance()
            return self.group()
        if ch == "(":
            return self.group()
        word = scan.read_bare_word(extra_end)
        if not word:
            raise self.error(f"Unexpected token '{ch}' in expression or statement.")
        return word

    def variable(self) -> Value:
        scan = self.scan
        scan.advance()
        name = self.variable_name()
        if name.lower() in _VARIABLES:
            return _VARIABLES[name.lower()]
        if not name:
            raise self.error(
                "Variable reference is not valid. '$' was not followed by a valid "
                "variable name character.",
                scan.index - 1,
            )
        return VariableRef(name, self.members())

    def group(self) -> Value:
        """``(a, b)`` or ``@(a, b)`` (cursor on the parenthesis): a list of values; or
        ``(Get-X ... | ...).Prop``: a pipeline whose output (then its properties) is the value."""
        scan = self.scan
        start = scan.index
        scan.advance()
        scan.skip_blanks(newlines=True)
        if _COMMAND_WORD.match(scan.text, scan.index):
            self.depth += 1
            inner = self.pipeline()
            self.depth -= 1
            scan.skip_blanks(newlines=True)
            if scan.peek() != ")":
                raise self.error("Missing closing ')' in expression.", start)
            scan.advance()
            return SubPipeline(inner, self.members())
        items: list[Value] = []
        while True:
            scan.skip_blanks(newlines=True)
            if scan.at_end():
                raise self.error("Missing closing ')' in expression.", start)
            if scan.peek() == ")":
                scan.advance()
                break
            if scan.peek() == ",":
                scan.advance()
                continue
            got = self.value()
            items.extend(got if isinstance(got, tuple) else (got,))
        return tuple(items)

    def hashtable(self) -> HashTable:
        scan = self.scan
        start = scan.index
        scan.advance(2)
        entries: list[tuple[str, Value]] = []
        while True:
            scan.skip_blanks(newlines=True)
            while scan.peek() == ";":
                scan.advance()
                scan.skip_blanks(newlines=True)
            if scan.at_end():
                raise self.error("The hash literal was incomplete.", start)
            if scan.peek() == "}":
                scan.advance()
                return HashTable(tuple(entries))
            key_start = scan.index
            key = self.primary(frozenset("="))
            if not isinstance(key, str):
                raise self.error(
                    "A hash literal key must be a name such as Add or Remove.", key_start
                )
            scan.skip_blanks()
            if scan.peek() != "=":
                raise self.error("Missing '=' operator after key in hash literal.")
            scan.advance()
            scan.skip_blanks(newlines=True)
            if scan.at_end() or scan.peek() in ";}":
                raise self.error("Missing statement after '=' in hash literal.")
            entries.append((key, self.value()))
            scan.skip_blanks()
            if not (scan.at_end() or scan.peek() in NEWLINES or scan.peek() in ";}"):
                raise self.error("The hash literal was incomplete.", start)


def parse(text: str) -> tuple[Pipeline, ...]:
    """Parse a block of shell lines into pipelines; raises CmdletError (ParseException) on bad syntax."""
    return _Parser(text).script()
