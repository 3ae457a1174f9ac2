"""Where-Object (``?``, ``where``) and Select-Object (``select``): PowerShell's own cmdlets for
filtering and trimming whatever objects an Exchange cmdlet wrote (connectors, queues, messages,
certificates, tracking records, servers).

Both run once over the whole pipeline input. Properties are the ones Format-List shows for the
object (any case). Where-Object takes a script block (``{$_.Enabled -eq $true -and ...}``) or the
simplified form ``Where-Object Prop -eq Value`` (one operator switch; ``Where-Object Prop``
alone keeps objects whose property is true). Select-Object takes a property list (wildcards
allowed), ``-First``/``-Last``/``-Skip`` and ``-ExpandProperty``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.conversions import INT, STRING, STRING_LIST, SWITCH, ConversionError, ParamType
from labsim.ems.evaluate import compare, evaluate, is_true, member
from labsim.ems.expressions import COMPARISONS, ScriptBlock
from labsim.ems.outputs import FormattedText, SelectedObject
from labsim.ems.parser import Value
from labsim.ems.views import property_names, property_value

# -- Where-Object ----------------------------------------------------------------------------


def _to_script_block(value: Value) -> object:
    if isinstance(value, ScriptBlock):
        return value
    raise ConversionError(
        f'Cannot convert the "{value}" value of type "System.String" to type '
        '"System.Management.Automation.ScriptBlock".'
    )


def _to_block_or_name(value: Value) -> object:
    # Position 0 is -FilterScript ({...}) or -Property (a name), as PowerShell's two
    # parameter sets of Where-Object both start there.
    if isinstance(value, (ScriptBlock, str)):
        return value
    raise ConversionError(
        f'Cannot convert value "{value}" to type "System.Management.Automation.ScriptBlock".'
    )


SCRIPT_BLOCK = ParamType("System.Management.Automation.ScriptBlock", _to_script_block)
"""A ``{ ... }`` block."""

_BLOCK_OR_NAME = ParamType("System.Management.Automation.ScriptBlock", _to_block_or_name)


def _any_value(value: Value) -> object:
    return value


ANY = ParamType("System.Object", _any_value)
"""Whatever was typed (the value of Where-Object's simplified form)."""

_OPERATORS = tuple(
    sorted(COMPARISONS | {f"c{op}" for op in COMPARISONS if op not in ("in", "notin")})
)


def _pipeline_objects(ctx: CmdletContext) -> list[object]:
    for obj in ctx.input:
        if isinstance(obj, FormattedText):
            raise ctx.error(
                "The input object is formatted text from a Format- cmdlet; put Format-List or "
                "Format-Table at the end of the pipeline, after "
                f"{ctx.cmdlet}.",
                "InvalidArgument",
            )
    return list(ctx.input)


def where_object(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Keep the pipeline objects the filter holds true for."""
    objects = _pipeline_objects(ctx)
    first = args.get("Property")
    block = args.get("FilterScript")
    if isinstance(first, ScriptBlock):
        if block is not None:
            raise ctx.error(
                "Parameter set cannot be resolved using the specified named parameters.",
                "ParameterBindingException",
            )
        block = first
    if isinstance(block, ScriptBlock):
        body = block.body
        if body is None:
            return []
        return [obj for obj in objects if is_true(evaluate(body, obj, ctx.variables))]
    if not isinstance(first, str):
        raise ctx.error(
            "Cannot process command because of one or more missing mandatory parameters: "
            "FilterScript.",
            "ParameterBindingException",
        )
    operators = [op for op in _OPERATORS if args.flag(_operator_parameter(op))]
    if len(operators) > 1:
        raise ctx.error(
            "Parameter set cannot be resolved using the specified named parameters.",
            "ParameterBindingException",
        )
    if not operators:
        if "Value" in args:
            raise ctx.error(
                "Parameter set cannot be resolved using the specified named parameters. Give "
                "an operator: Where-Object Name -eq Value.",
                "ParameterBindingException",
            )
        return [obj for obj in objects if is_true(member(obj, first))]
    op = operators[0]
    case_sensitive = op.startswith("c") and op[1:] in COMPARISONS
    bare = op[1:] if case_sensitive else op
    right = args.get("Value")
    return [
        obj for obj in objects if is_true(compare(member(obj, first), bare, right, case_sensitive))
    ]


_SPELLING = {
    "eq": "EQ",
    "ne": "NE",
    "gt": "GT",
    "ge": "GE",
    "lt": "LT",
    "le": "LE",
    "in": "In",
    "notin": "NotIn",
    "like": "Like",
    "notlike": "NotLike",
    "match": "Match",
    "notmatch": "NotMatch",
    "contains": "Contains",
    "notcontains": "NotContains",
}


def _operator_parameter(op: str) -> str:
    # PowerShell's spelling: -EQ, -Like, -CNotLike... (binding compares names in any case).
    if op in _SPELLING:
        return _SPELLING[op]
    return "C" + _SPELLING[op[1:]]


# -- Select-Object ---------------------------------------------------------------------------


def _select(obj: object, patterns: list[str]) -> SelectedObject:
    names = property_names(obj)
    chosen: list[str] = []
    for pattern in patterns:
        if "*" in pattern or "?" in pattern:
            chosen.extend(
                n
                for n in names
                if fnmatch.fnmatchcase(n.lower(), pattern.lower()) and n not in chosen
            )
            continue
        # A plain name keeps its place even when the object lacks it ($null), as in PowerShell.
        exact = next((n for n in names if n.lower() == pattern.lower()), pattern)
        if exact not in chosen:
            chosen.append(exact)
    return SelectedObject(tuple((n, property_value(obj, n)[1]) for n in chosen))


def select_object(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Trim the pipeline objects to some properties, the first/last N, or one property's values."""
    objects = _pipeline_objects(ctx)
    skip = args.typed("Skip", int)
    first = args.typed("First", int)
    last = args.typed("Last", int)
    for name, count in (("Skip", skip), ("First", first), ("Last", last)):
        if count is not None and count < 0:
            raise ctx.error(
                f"Cannot validate argument on parameter '{name}'. The {count} argument is less "
                "than the minimum allowed range of 0. Supply an argument that is greater than "
                "or equal to 0 and then try the command again.",
                "ParameterBindingValidationException",
            )
    if skip:
        objects = objects[skip:]
    if first is not None or last is not None:
        head = objects[:first] if first is not None else []
        tail = objects[len(objects) - last :] if last else []
        objects = head + [o for o in tail if not any(o is h for h in head)]
    expand = args.text("ExpandProperty")
    patterns = [str(p) for p in args.items("Property")]
    if expand is not None:
        out: list[object] = []
        for obj in objects:
            found, value = property_value(obj, expand)
            if not found:
                raise ctx.error(f'Property "{expand}" cannot be found.', "InvalidArgument")
            if isinstance(value, (tuple, list, frozenset, set)):
                out.extend(value)
            elif value is not None:
                out.append(value)
        return out
    if patterns:
        return [_select(obj, patterns) for obj in objects]
    return objects


SPECS = (
    CmdletSpec(
        "Where-Object",
        (
            ParameterSpec("Property", _BLOCK_OR_NAME, position=0),
            ParameterSpec("Value", ANY, position=1),
            ParameterSpec("FilterScript", SCRIPT_BLOCK),
            *(ParameterSpec(_operator_parameter(op), SWITCH) for op in _OPERATORS),
        ),
        where_object,
        aliases=("?", "where"),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Core",
        synopsis="Keep the pipeline objects a filter such as {$_.Enabled -eq $true} holds for.",
    ),
    CmdletSpec(
        "Select-Object",
        (
            ParameterSpec("Property", STRING_LIST, position=0),
            ParameterSpec("First", INT),
            ParameterSpec("Last", INT),
            ParameterSpec("Skip", INT),
            ParameterSpec("ExpandProperty", STRING),
        ),
        select_object,
        aliases=("select",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Keep some properties, the first or last objects, or one property's values.",
    ),
)
"""The object cmdlets."""
