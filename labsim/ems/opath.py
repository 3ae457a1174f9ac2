"""Exchange's OPATH filters on queues and queued messages: the ``-Filter "..."`` of Get-Message,
Suspend-Message, Resume-Message and Remove-Message, and of Get-Queue, Retry-Queue, Suspend-Queue
and Resume-Queue.

Owns :func:`message_filter` and :func:`queue_filter` (the filter text → a :class:`RowFilter`,
or one clear error naming what labsim reads) and the :data:`FILTER` parameter type (a quoted
string, or a ``{ ... }`` block as Exchange also takes). The grammar is the part of OPATH admins
type on queues: ``Property -op value`` with ``-eq -ne -like -notlike -gt -ge -lt -le``, joined
with ``-and`` / ``-or``, ``-not`` and parentheses; properties are Get-Message's or Get-Queue's
(no ``$_.``), values quoted or bare words (``Status -eq Suspended``); dates compare as dates and
counts as numbers. It is parsed with the script-block grammar of
:mod:`labsim.ems.expressions` and checked to be that subset; evaluation uses the shell's
PowerShell comparisons (:mod:`labsim.ems.evaluate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from labsim.ems.conversions import ConversionError, ParamType
from labsim.ems.evaluate import compare, evaluate, is_true
from labsim.ems.expressions import (
    Compare,
    CurrentObject,
    Expression,
    Literal,
    Logical,
    Member,
    Not,
    ScriptBlock,
    read_script_block,
)
from labsim.ems.messages import cmdlet_error
from labsim.ems.tokens import Scanner
from labsim.errors import CmdletError
from labsim.model.mail import MessageView, QueueView

MESSAGE_PROPERTIES = (
    "FromAddress",
    "Subject",
    "Queue",
    "Status",
    "Identity",
    "Size",
    "InternetMessageId",
    "LastError",
    "RetryCount",
    "SCL",
    "OriginalFromAddress",
)
"""The Get-Message properties a labsim message filter reads (Exchange's message filter
properties that labsim models)."""

QUEUE_PROPERTIES = (
    "Identity",
    "DeliveryType",
    "NextHopDomain",
    "TlsDomain",
    "NextHopConnector",
    "Status",
    "MessageCount",
    "LastError",
    "RetryCount",
    "LastRetryTime",
    "NextRetryTime",
    "FirstRetryTime",
    "DeferredMessageCount",
    "NextHopCategory",
)
"""The Get-Queue properties a labsim queue filter reads (Exchange's queue filter properties
that labsim's Get-Queue shows with a value)."""

OPERATORS = ("eq", "ne", "like", "notlike", "gt", "ge", "lt", "le")
"""The OPATH comparison operators labsim reads."""


def _to_filter_text(value: object) -> object:
    if isinstance(value, ScriptBlock):
        return value.text
    if isinstance(value, str) or value is None:
        return value  # $null: refused where -Filter is mandatory, else as if not given
    raise ConversionError(
        "Cannot convert the value to the type 'System.String' required by parameter 'Filter'. "
        "Give the filter as one quoted string, e.g. -Filter \"Status -eq 'Retry'\"."
    )


FILTER = ParamType("System.String", _to_filter_text)
"""``-Filter``: a quoted OPATH string, or the same in ``{ }``."""


Spellings = Mapping[str, Callable[[object], tuple[str, ...]]]
"""Properties that name a queue, by lower-case name: every spelling of the row's queue."""


@dataclass(frozen=True)
class RowFilter:
    """A parsed filter; :meth:`matches` decides for one Get-Message or Get-Queue row."""

    text: str
    expression: Expression
    spellings: Spellings = field(default_factory=dict)

    def matches(self, row: object) -> bool:
        """Whether ``row`` passes the filter."""
        return is_true(_evaluate(self.expression, row, self.spellings))


def _evaluate(expression: Expression, row: object, spellings: Spellings) -> object:
    if (
        isinstance(expression, Compare)
        and isinstance(expression.left, Member)
        and expression.left.name.lower() in spellings
    ):
        names = spellings[expression.left.name.lower()](row)
        return _any_spelling(expression, names, row)
    if isinstance(expression, Logical):
        left = is_true(_evaluate(expression.left, row, spellings))
        if expression.op == "and":
            return left and is_true(_evaluate(expression.right, row, spellings))
        return left or is_true(_evaluate(expression.right, row, spellings))
    if isinstance(expression, Not):
        return not is_true(_evaluate(expression.operand, row, spellings))
    return evaluate(expression, row)


def _any_spelling(expression: Compare, names: tuple[str, ...], row: object) -> bool:
    # A queue is named SERVER\<number> (as Get-Queue and Get-Message show it) or
    # SERVER\NextHopDomain, as the queue cmdlets take it: the filter matches either spelling.
    right = evaluate(expression.right, row)
    positive = {"ne": "eq", "notlike": "like"}.get(expression.op, expression.op)
    hit = any(is_true(compare(name, positive, right, expression.case_sensitive)) for name in names)
    return hit if positive == expression.op else not hit


def _message_queue(row: object) -> tuple[str, ...]:
    assert isinstance(row, MessageView)
    server = row.queue.split("\\", 1)[0]
    return (row.queue, f"{server}\\{row.next_hop_domain}")


def _queue_identity(row: object) -> tuple[str, ...]:
    assert isinstance(row, QueueView)
    server = row.identity.split("\\", 1)[0]
    return (row.identity, f"{server}\\{row.next_hop_domain}")


@dataclass(frozen=True)
class _Kind:
    noun: str
    properties: tuple[str, ...]
    example: str
    spellings: Spellings


_MESSAGES = _Kind(
    "message",
    MESSAGE_PROPERTIES,
    "-Filter \"FromAddress -eq 'april@adatum.com' -and Subject -like 'test*'\"",
    {"queue": _message_queue},
)
_QUEUES = _Kind(
    "queue",
    QUEUE_PROPERTIES,
    "-Filter \"NextHopDomain -eq 'treyresearch.net' -and Status -eq 'Retry'\"",
    {"identity": _queue_identity},
)


def _readable(kind: _Kind) -> str:
    return (
        "labsim reads Property -eq|-ne|-like|-notlike|-gt|-ge|-lt|-le 'value', joined with "
        f"-and, -or, -not and parentheses, on the {kind.noun} properties "
        + ", ".join(kind.properties)
        + f" (e.g. {kind.example})"
    )


def _refuse(cmdlet: str, kind: _Kind, text: str, problem: str) -> CmdletError:
    return cmdlet_error(
        cmdlet,
        f'labsim cannot read the filter "{text}": {problem}. {_readable(kind)}.',
        "InvalidArgument",
    )


def message_filter(cmdlet: str, text: str) -> RowFilter:
    """Parse ``text`` as a message filter, or raise one CmdletError naming what labsim reads."""
    return _parse(cmdlet, text, _MESSAGES)


def queue_filter(cmdlet: str, text: str) -> RowFilter:
    """Parse ``text`` as a queue filter (Get-Queue's properties), or raise one CmdletError
    naming what labsim reads."""
    return _parse(cmdlet, text, _QUEUES)


def _parse(cmdlet: str, text: str, kind: _Kind) -> RowFilter:
    if not text.strip():
        raise _refuse(cmdlet, kind, text, "it is empty")
    if "{" in text or "}" in text:
        raise _refuse(cmdlet, kind, text, "braces are not part of a filter")
    scan = Scanner("{" + text + "}")
    try:
        block = read_script_block(scan)
    except CmdletError as err:
        raise _refuse(cmdlet, kind, text, str(err.args[0] if err.args else err)) from None
    if not scan.at_end() or block.body is None:
        raise _refuse(cmdlet, kind, text, "it does not end where it should")
    return RowFilter(text, _checked(cmdlet, kind, text, block.body), kind.spellings)


def _checked(cmdlet: str, kind: _Kind, text: str, node: Expression) -> Expression:
    """The expression with each bare property name as ``$_.Name``, after checking that every
    node is part of the subset labsim reads."""
    if isinstance(node, Logical):
        return Logical(
            node.op,
            _checked(cmdlet, kind, text, node.left),
            _checked(cmdlet, kind, text, node.right),
        )
    if isinstance(node, Not):
        return Not(_checked(cmdlet, kind, text, node.operand))
    if not isinstance(node, Compare):
        raise _refuse(cmdlet, kind, text, "each condition must compare a property with a value")
    if node.op not in OPERATORS:
        raise _refuse(cmdlet, kind, text, f"the operator -{node.op} is not one of labsim's")
    left = node.left
    if not isinstance(left, Literal) or not isinstance(left.value, str):
        raise _refuse(
            cmdlet,
            kind,
            text,
            f"a condition starts with a property name ({kind.properties[0]}, not "
            f"$_.{kind.properties[0]})",
        )
    name = next((p for p in kind.properties if p.lower() == left.value.lower()), None)
    if name is None:
        raise _refuse(
            cmdlet, kind, text, f"'{left.value}' is not a {kind.noun} property labsim filters on"
        )
    if not isinstance(node.right, Literal):
        raise _refuse(cmdlet, kind, text, f"the value compared with {name} must be a quoted string")
    return Compare(Member(CurrentObject(), name), node.op, node.right, node.case_sensitive)
