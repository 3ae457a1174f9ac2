"""Exchange's OPATH filters on queued messages: the ``-Filter "..."`` of Get-Message,
Suspend-Message, Resume-Message and Remove-Message.

Owns :func:`message_filter` (the filter text → a :class:`MessageFilter`, or one clear error
naming what labsim reads) and the :data:`FILTER` parameter type (a quoted string, or a
``{ ... }`` block as Exchange also takes). The grammar is the part of OPATH admins type on
queues: ``Property -op value`` with ``-eq -ne -like -notlike -gt -ge -lt -le``, joined with
``-and`` / ``-or``, ``-not`` and parentheses; properties are Get-Message's (no ``$_.``), values
quoted or bare words (``Status -eq Suspended``). It is parsed with the script-block grammar of
:mod:`labsim.ems.expressions` and checked to be that subset; evaluation uses the shell's
PowerShell comparisons (:mod:`labsim.ems.evaluate`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from labsim.model.mail import MessageView

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

OPERATORS = ("eq", "ne", "like", "notlike", "gt", "ge", "lt", "le")
"""The OPATH comparison operators labsim reads."""


def _to_filter_text(value: object) -> object:
    if isinstance(value, ScriptBlock):
        return value.text
    if isinstance(value, str):
        return value
    raise ConversionError(
        "Cannot convert the value to the type 'System.String' required by parameter 'Filter'. "
        "Give the filter as one quoted string, e.g. -Filter \"FromAddress -eq 'april@adatum.com'\"."
    )


FILTER = ParamType("System.String", _to_filter_text)
"""``-Filter``: a quoted OPATH string, or the same in ``{ }``."""


@dataclass(frozen=True)
class MessageFilter:
    """A parsed message filter; :meth:`matches` decides for one Get-Message row."""

    text: str
    expression: Expression

    def matches(self, message: MessageView) -> bool:
        """Whether ``message`` passes the filter."""
        return is_true(_evaluate(self.expression, message))


def _evaluate(expression: Expression, message: MessageView) -> object:
    if (
        isinstance(expression, Compare)
        and isinstance(expression.left, Member)
        and expression.left.name.lower() == "queue"
    ):
        return _queue_compare(expression, message)
    if isinstance(expression, Logical):
        left = is_true(_evaluate(expression.left, message))
        if expression.op == "and":
            return left and is_true(_evaluate(expression.right, message))
        return left or is_true(_evaluate(expression.right, message))
    if isinstance(expression, Not):
        return not is_true(_evaluate(expression.operand, message))
    return evaluate(expression, message)


def _queue_compare(expression: Compare, message: MessageView) -> bool:
    # A queue is named SERVER\<number> (as Get-Message shows it) or SERVER\NextHopDomain, as
    # the queue cmdlets take it: the filter matches either spelling.
    server = message.queue.split("\\", 1)[0]
    names = (message.queue, f"{server}\\{message.next_hop_domain}")
    right = evaluate(expression.right, message)
    positive = {"ne": "eq", "notlike": "like"}.get(expression.op, expression.op)
    hit = any(is_true(compare(name, positive, right, expression.case_sensitive)) for name in names)
    return hit if positive == expression.op else not hit


def _readable() -> str:
    return (
        "labsim reads Property -eq|-ne|-like|-notlike|-gt|-ge|-lt|-le 'value', joined with "
        "-and, -or, -not and parentheses, on the message properties "
        + ", ".join(MESSAGE_PROPERTIES)
        + " (e.g. -Filter \"FromAddress -eq 'april@adatum.com' -and Subject -like 'test*'\")"
    )


def _refuse(cmdlet: str, text: str, problem: str) -> CmdletError:
    return cmdlet_error(
        cmdlet,
        f'labsim cannot read the filter "{text}": {problem}. {_readable()}.',
        "InvalidArgument",
    )


def message_filter(cmdlet: str, text: str) -> MessageFilter:
    """Parse ``text`` as a message filter, or raise one CmdletError naming what labsim reads."""
    if not text.strip():
        raise _refuse(cmdlet, text, "it is empty")
    if "{" in text or "}" in text:
        raise _refuse(cmdlet, text, "braces are not part of a filter")
    scan = Scanner("{" + text + "}")
    try:
        block = read_script_block(scan)
    except CmdletError as err:
        raise _refuse(cmdlet, text, str(err.args[0] if err.args else err)) from None
    if not scan.at_end() or block.body is None:
        raise _refuse(cmdlet, text, "it does not end where it should")
    return MessageFilter(text, _checked(cmdlet, text, block.body))


def _checked(cmdlet: str, text: str, node: Expression) -> Expression:
    """The expression with each bare property name as ``$_.Name``, after checking that every
    node is part of the subset labsim reads."""
    if isinstance(node, Logical):
        return Logical(
            node.op, _checked(cmdlet, text, node.left), _checked(cmdlet, text, node.right)
        )
    if isinstance(node, Not):
        return Not(_checked(cmdlet, text, node.operand))
    if not isinstance(node, Compare):
        raise _refuse(cmdlet, text, "each condition must compare a property with a value")
    if node.op not in OPERATORS:
        raise _refuse(cmdlet, text, f"the operator -{node.op} is not one of labsim's")
    left = node.left
    if not isinstance(left, Literal) or not isinstance(left.value, str):
        raise _refuse(
            cmdlet,
            text,
            "a condition starts with a property name (FromAddress, not $_.FromAddress)",
        )
    name = next((p for p in MESSAGE_PROPERTIES if p.lower() == left.value.lower()), None)
    if name is None:
        raise _refuse(cmdlet, text, f"'{left.value}' is not a message property labsim filters on")
    if not isinstance(node.right, Literal):
        raise _refuse(cmdlet, text, f"the value compared with {name} must be a quoted string")
    return Compare(Member(CurrentObject(), name), node.op, node.right, node.case_sensitive)
