"""Where-Object (``?``, ``where``), Select-Object (``select``), Sort-Object (``sort``),
Group-Object (``group``), ForEach-Object (``%``, ``foreach``) and Measure-Object (``measure``): PowerShell's own cmdlets for
filtering, trimming, ordering, grouping and counting whatever objects an Exchange cmdlet wrote
(connectors, queues, messages, certificates, tracking records, servers).

All run once over the whole pipeline input. Properties are the ones Format-List shows for the
object (any case). Where-Object takes a script block (``{$_.Enabled -eq $true -and ...}``) or the
simplified form ``Where-Object Prop -eq Value`` (one operator switch; ``Where-Object Prop``
alone keeps objects whose property is true). Select-Object takes a property list (wildcards
allowed) whose items may be calculated properties (``@{Name="X";Expression={$_.Prop}}``, keys
``Name``/``Label``/``Expression`` or any prefix such as ``n``/``l``/``e``),
``-First``/``-Last``/``-Skip`` and ``-ExpandProperty``. Sort-Object orders by properties or
script blocks (``-Descending``, ``-Unique``); Group-Object groups by properties or script blocks
(Windows PowerShell's order: groups as they first appear; ``-NoElement``); Measure-Object counts,
and sums/averages numeric properties. Bad input gets PowerShell's own error text.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.conversions import INT, STRING, STRING_LIST, SWITCH, ConversionError, ParamType
from labsim.ems.evaluate import compare, evaluate, is_true, member
from labsim.ems.expressions import COMPARISONS, ScriptBlock
from labsim.ems.format import display
from labsim.ems.outputs import FormattedText, GroupInfo, SelectedObject
from labsim.ems.parser import HashTable, SecureString, Value
from labsim.ems.views import object_text, property_names, property_value
from labsim.model.values import ByteSize

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


# -- calculated properties -------------------------------------------------------------------


@dataclass(frozen=True)
class CalculatedProperty:
    """``@{Name="X"; Expression={$_.Prop}}``: a property computed per object."""

    name: str
    expression: ScriptBlock | str
    """A script block evaluated with ``$_`` bound to the object, or a property name."""
    descending: bool | None = None
    """Sort-Object's ``Descending``/``Ascending`` key (None: the cmdlet's direction)."""

    def value(self, obj: object, variables: Mapping[str, object]) -> object:
        """The property's value for ``obj``."""
        if isinstance(self.expression, str):
            return member(obj, self.expression)
        body = self.expression.body
        return evaluate(body, obj, variables) if body is not None else None


def _any_list(value: Value) -> object:
    # Names, script blocks and hashtables mixed; the cmdlet checks them with PowerShell's texts.
    return value if isinstance(value, tuple) else (value,)


PROPERTY_LIST = ParamType("System.Object[]", _any_list, multivalued=True)
"""Select-/Sort-/Measure-Object's -Property: names, ``{ }`` blocks and ``@{ }`` tables."""

_EXPRESSION_TYPES = "{System.String, System.Management.Automation.ScriptBlock}"


def _key(typed: str, allowed: tuple[str, ...]) -> str | None:
    # PowerShell takes any prefix of a key name (n, na, nam, name; l, label; e, ex...).
    low = typed.lower()
    matches = [k for k in allowed if low and k.lower().startswith(low)]
    return matches[0] if len(matches) == 1 else None


_FORMAT_KEYS = ("FormatString", "Width", "Alignment")
"""Keys Format-Table takes in PowerShell that labsim's tables do not apply."""


def calculated_property(
    ctx: CmdletContext, table: HashTable, *, sort: bool = False, formatting: bool = False
) -> CalculatedProperty:
    """A ``@{...}`` property item checked as PowerShell checks it (Select-Object, Format-Table
    and Format-List: Name or Label, and Expression; Sort-Object: Expression, Ascending,
    Descending)."""
    allowed = ("Expression", "Ascending", "Descending") if sort else ("Name", "Label", "Expression")
    seen: dict[str, Value] = {}
    for typed, value in table.entries:
        key = _key(typed, allowed)
        if key is None and formatting and _key(typed, _FORMAT_KEYS) is not None:
            raise ctx.error(
                f"labsim's {ctx.cmdlet} does not apply the {_key(typed, _FORMAT_KEYS)} key of a "
                "calculated property (its columns are always sized to fit); give only Name "
                "(or Label) and Expression.",
                "NotSupported",
            )
        if key is None:
            raise ctx.error(f"The {typed} key is not valid.", "NotSupported")
        if key in ("Name", "Label") and ({"Name", "Label"} & seen.keys()):
            raise ctx.error(
                f"The {key} key cannot be used together with the "
                f"{'Label' if key == 'Name' else 'Name'} key; give one of them.",
                "NotSupported",
            )
        if key in seen:
            raise ctx.error(f"The {key} key is specified more than once.", "NotSupported")
        seen[key] = value
    if "Expression" not in seen:
        raise ctx.error("The Expression key is missing.", "NotSupported")
    expression = seen["Expression"]
    if not isinstance(expression, (str, ScriptBlock)):
        kind = (
            "System.Boolean"
            if isinstance(expression, bool)
            else "System.Object[]"
            if isinstance(expression, tuple)
            else "System.Collections.Hashtable"
            if isinstance(expression, HashTable)
            else "System.Object"
        )
        raise ctx.error(
            f"The Expression key has a type, {kind}, that is not valid; expected types are "
            f"{_EXPRESSION_TYPES}.",
            "NotSupported",
        )
    label = seen.get("Name", seen.get("Label"))
    if label is None:
        # Without a name, PowerShell titles the property with the expression as typed.
        name = expression if isinstance(expression, str) else expression.text
    elif isinstance(label, str):
        name = label
    else:
        raise ctx.error(
            "The Name key has a type that is not valid; expected type is {System.String}.",
            "NotSupported",
        )
    descending: bool | None = None
    for key in ("Ascending", "Descending"):
        if key in seen:
            flag = seen[key]
            if not isinstance(flag, bool):
                raise ctx.error(
                    f"The {key} key has a type that is not valid; expected type is "
                    "{System.Boolean}.",
                    "NotSupported",
                )
            descending = flag if key == "Descending" else not flag
    return CalculatedProperty(name, expression, descending)


# -- Select-Object ---------------------------------------------------------------------------


def select_properties(
    obj: object, items: list[str | CalculatedProperty], variables: Mapping[str, object]
) -> SelectedObject:
    """``obj`` trimmed to ``items`` (Select-Object's new object)."""
    names = property_names(obj)
    chosen: list[tuple[str, object]] = []

    def taken(name: str) -> bool:
        return any(n.lower() == name.lower() for n, _ in chosen)

    for item in items:
        if isinstance(item, CalculatedProperty):
            if not taken(item.name):
                chosen.append((item.name, item.value(obj, variables)))
            continue
        if "*" in item or "?" in item:
            chosen.extend(
                (n, property_value(obj, n)[1])
                for n in names
                if fnmatch.fnmatchcase(n.lower(), item.lower()) and not taken(n)
            )
            continue
        # A plain name keeps its place even when the object lacks it ($null), as in PowerShell.
        exact = next((n for n in names if n.lower() == item.lower()), item)
        if not taken(exact):
            chosen.append((exact, property_value(obj, exact)[1]))
    return SelectedObject(tuple(chosen))


def select_items(
    ctx: CmdletContext, args: Arguments, *, formatting: bool = False
) -> list[str | CalculatedProperty]:
    """The -Property list of Select-Object, Format-Table or Format-List: names (wildcards, or
    comma-separated) and calculated properties (``@{...}``, or a bare ``{ }`` block)."""
    items: list[str | CalculatedProperty] = []
    for raw in args.items("Property"):
        if isinstance(raw, HashTable):
            items.append(calculated_property(ctx, raw, formatting=formatting))
        elif isinstance(raw, ScriptBlock):
            items.append(CalculatedProperty(raw.text, raw))
        elif isinstance(raw, str):
            items.extend(part.strip() for part in raw.split(",") if part.strip())
        elif raw is not None:
            raise ctx.error(
                f'Cannot convert value "{display(raw)}" to type "System.String".', "InvalidArgument"
            )
    return items


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
    patterns = select_items(ctx, args)
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
        return [select_properties(obj, patterns, ctx.variables) for obj in objects]
    return objects


# -- Sort-Object -----------------------------------------------------------------------------


def _sort_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, ByteSize):
        return "size"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, timedelta):
        return "timespan"
    return "text"


def _sort_keys(values: list[object]) -> list[Any]:
    """Comparable keys for one sort column: $null first, then the values, compared as numbers,
    sizes, times or booleans when every value is one, else as text without regard to case."""
    kinds = {_sort_kind(v) for v in values} - {"null"}
    kind = kinds.pop() if len(kinds) == 1 else "text"
    keys: list[Any] = []
    for value in values:
        if value is None:
            keys.append((0, 0))
        elif kind == "size":
            assert isinstance(value, ByteSize)
            # Unlimited is larger than any size.
            keys.append((1, value.value if value.value is not None else float("inf")))
        elif kind in ("number", "bool", "datetime", "timespan"):
            keys.append((1, value))
        else:
            text = str(value.value) if isinstance(value, Enum) else display(value)
            keys.append((1, text.lower()))
    return keys


def property_columns(
    ctx: CmdletContext, args: Arguments, *, sort: bool = False
) -> list[CalculatedProperty]:
    """Sort-/Group-Object's -Property: names (comma lists too), ``{ }`` blocks and ``@{ }``
    tables (Sort-Object's with its Ascending/Descending keys)."""
    columns: list[CalculatedProperty] = []
    for raw in args.items("Property"):
        if isinstance(raw, HashTable):
            columns.append(calculated_property(ctx, raw, sort=sort))
        elif isinstance(raw, ScriptBlock):
            columns.append(CalculatedProperty(raw.text, raw))
        elif isinstance(raw, str):
            columns.extend(
                CalculatedProperty(part.strip(), part.strip())
                for part in raw.split(",")
                if part.strip()
            )
        elif raw is not None:
            raise ctx.error(
                f'Cannot convert value "{display(raw)}" to type "System.Object[]".',
                "InvalidArgument",
            )
    return columns


def sort_object(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Order the pipeline objects by properties (or script blocks), ascending by default."""
    objects = _pipeline_objects(ctx)
    columns = property_columns(ctx, args, sort=True)
    if not columns:
        # Without a property, an Exchange object sorts by its identity (its ToString()).
        columns = [CalculatedProperty("Identity", _identity_block)]
    descending = bool(args.flag("Descending"))
    keyed = list(range(len(objects)))
    per_column = [
        _sort_keys(
            [
                column.value(o, ctx.variables)
                if column.expression is not _identity_block
                else _identity_text(o)
                for o in objects
            ]
        )
        for column in columns
    ]
    # Sort by the last column first: Python's sort is stable, so earlier columns win.
    for column, keys in reversed(list(zip(columns, per_column, strict=True))):
        down = descending if column.descending is None else column.descending
        keyed.sort(key=keys.__getitem__, reverse=down)
    ordered = [objects[i] for i in keyed]
    if args.flag("Unique"):
        seen: set[tuple[object, ...]] = set()
        unique: list[object] = []
        for i in keyed:
            mark = tuple(keys[i] for keys in per_column)
            if mark not in seen:
                seen.add(mark)
                unique.append(objects[i])
        ordered = unique
    return ordered


_identity_block = ScriptBlock("$_", None)
"""Marks Sort-Object's default column (the object's identity)."""


def _identity_text(obj: object) -> str:
    for name in ("Identity", "Name"):
        found, value = property_value(obj, name)
        if found and value is not None:
            return display(value)
    return display(obj)


# -- Group-Object ----------------------------------------------------------------------------


def group_object(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Group the pipeline objects by the values of properties (or script blocks): one GroupInfo
    per distinct value, in the order the values first appear (Windows PowerShell 4/5, the
    shell Exchange 2013 runs in; PowerShell 6+ sorts them), compared without regard to case
    unless -CaseSensitive."""
    if args.flag("AsHashTable") or args.flag("AsString"):
        raise ctx.error(
            "labsim's shell does not build hash tables: leave out -AsHashTable/-AsString and "
            "read the groups' Name, Count and Group (e.g. | ? {$_.Name -eq 'RECEIVE'} | "
            "Select-Object -ExpandProperty Group).",
            "NotSupported",
        )
    objects = _pipeline_objects(ctx)
    columns = property_columns(ctx, args)
    case_sensitive = bool(args.flag("CaseSensitive"))
    groups: dict[tuple[str, ...], tuple[tuple[object, ...], list[object]]] = {}
    for obj in objects:
        if columns:
            values = tuple(column.value(obj, ctx.variables) for column in columns)
        else:
            # Without -Property an object groups by itself (its ToString()).
            values = (obj if isinstance(obj, (str, int, float, bool)) else object_text(obj),)
        texts = tuple(display(v) for v in values)
        key = texts if case_sensitive else tuple(t.lower() for t in texts)
        if key not in groups:
            groups[key] = (values, [])
        groups[key][1].append(obj)
    no_element = bool(args.flag("NoElement"))
    return [
        GroupInfo(
            len(members),
            ", ".join(display(v) for v in values),
            values,
            () if no_element else tuple(members),
            no_element,
        )
        for values, members in groups.values()
    ]


# -- ForEach-Object --------------------------------------------------------------------------


def foreach_object(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Each pipeline object's value of a ``{ }`` block (``% {$_.Name}``) or of a member
    (``% Name``); a list value is written item by item and $null not at all, as PowerShell
    writes them."""
    objects = _pipeline_objects(ctx)
    first = args.get("Process")
    name = args.get("MemberName")
    if isinstance(first, str) and name is None:
        first, name = None, first
    results: list[object] = []
    for obj in objects:
        if isinstance(first, ScriptBlock):
            value = evaluate(first.body, obj, ctx.variables) if first.body is not None else None
        elif isinstance(name, str):
            value = member(obj, name)
        else:
            raise ctx.error(
                "Cannot process command because of one or more missing mandatory parameters: "
                "Process. Give a block such as % {$_.Name}, or a property name: % Name.",
                "ParameterBindingException",
            )
        if isinstance(value, (list, tuple)):
            results.extend(v for v in value if v is not None)
        elif value is not None:
            results.append(value)
    return results


# -- Measure-Object --------------------------------------------------------------------------


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _plain(number: float) -> int | float:
    # PowerShell prints a whole double without decimals (15, not 15.0).
    return int(number) if number.is_integer() else number


_STATISTICS = ("Sum", "Average", "Maximum", "Minimum")


def measure_object(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Count the pipeline objects; with -Property and -Sum/-Average/-Maximum/-Minimum, the
    statistics of a numeric property (one result per property)."""
    objects = [o for o in _pipeline_objects(ctx) if o is not None]
    wanted = [s for s in _STATISTICS if args.flag(s)]
    names: list[str] = []
    for raw in args.items("Property"):
        if isinstance(raw, str):
            names.extend(part.strip() for part in raw.split(",") if part.strip())
        else:
            raise ctx.error(
                f'Cannot convert value "{display(raw)}" to type "System.String". Measure-Object '
                "takes property names.",
                "InvalidArgument",
            )
    if not names:
        if wanted:
            numbers = []
            for obj in objects:
                number = _number(obj)
                if number is None:
                    raise ctx.error(f'Input object "{display(obj)}" is not numeric.')
                numbers.append(number)
            return [_measured(len(objects), numbers, wanted, None)]
        return [_measured(len(objects), [], [], None)]
    results: list[object] = []
    for name in names:
        present = [(o, property_value(o, name)) for o in objects]
        having = [(o, value) for o, (found, value) in present if found]
        if not having:
            raise ctx.error(
                f'The property "{name}" cannot be found in the input for any objects.',
                "InvalidArgument",
            )
        numbers = []
        if wanted:
            for _, value in having:
                if value is None:
                    continue
                number = _number(value)
                if number is None:
                    raise ctx.error(f'Input object "{display(value)}" is not numeric.')
                numbers.append(number)
        label = next(n for n in property_names(having[0][0]) if n.lower() == name.lower())
        results.append(_measured(len(having), numbers, wanted, label))
    return results


def _measured(count: int, numbers: list[float], wanted: list[str], name: str | None) -> object:
    # PowerShell's GenericMeasureInfo: Count, Average, Sum, Maximum, Minimum, Property; a
    # statistic not asked for is empty.
    values: dict[str, object] = dict.fromkeys(_STATISTICS)
    if numbers:
        if "Sum" in wanted:
            values["Sum"] = _plain(sum(numbers))
        if "Average" in wanted:
            values["Average"] = _plain(sum(numbers) / len(numbers))
        if "Maximum" in wanted:
            values["Maximum"] = _plain(max(numbers))
        if "Minimum" in wanted:
            values["Minimum"] = _plain(min(numbers))
    return SelectedObject(
        (
            ("Count", count),
            ("Average", values["Average"]),
            ("Sum", values["Sum"]),
            ("Maximum", values["Maximum"]),
            ("Minimum", values["Minimum"]),
            ("Property", name),
        )
    )


def convert_to_secure_string(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """ConvertTo-SecureString -String s -AsPlainText -Force: a password for -Password."""
    text = args.text("String")
    if not args.flag("AsPlainText"):
        raise ctx.error(
            "labsim's shell takes a password in plain text only: ConvertTo-SecureString "
            "-String '<password>' -AsPlainText -Force.",
            "ArgumentException",
        )
    if not args.flag("Force"):
        # PowerShell 4/5's refusal without -Force.
        raise ctx.error(
            "The system cannot protect plain text input. To suppress this warning and convert "
            "the plain text to a SecureString, reissue the command specifying the Force "
            "parameter.",
            "ArgumentException",
        )
    return [SecureString(text or "")]


def get_date(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Date: the lab's time (UTC; in a live lab the wall clock, moved by ``:advance``), a
    DateTime that ``.AddHours(-1)`` and its siblings move (``Get-MessageTrackingLog -Start
    (Get-Date).AddHours(-1)``)."""
    return [ctx.host.lab_time()]


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
            ParameterSpec("Property", PROPERTY_LIST, position=0),
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
    CmdletSpec(
        "Sort-Object",
        (
            ParameterSpec("Property", PROPERTY_LIST, position=0),
            ParameterSpec("Descending", SWITCH),
            ParameterSpec("Unique", SWITCH),
        ),
        sort_object,
        aliases=("sort",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Order the pipeline objects by properties such as Name (-Descending).",
    ),
    CmdletSpec(
        "ForEach-Object",
        (
            ParameterSpec("Process", _BLOCK_OR_NAME, position=0),
            ParameterSpec("MemberName", STRING),
        ),
        foreach_object,
        aliases=("%", "foreach"),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Core",
        synopsis="Each pipeline object's value of a { } block (% {$_.Identity}) or of a "
        "property (% Name).",
    ),
    CmdletSpec(
        "Group-Object",
        (
            ParameterSpec("Property", PROPERTY_LIST, position=0),
            ParameterSpec("NoElement", SWITCH),
            ParameterSpec("CaseSensitive", SWITCH),
            ParameterSpec("AsHashTable", SWITCH),
            ParameterSpec("AsString", SWITCH),
        ),
        group_object,
        aliases=("group",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Group the pipeline objects by properties such as EventId or Status, with a "
        "count per group (-NoElement: counts only).",
    ),
    CmdletSpec(
        "Measure-Object",
        (
            ParameterSpec("Property", STRING_LIST, position=0),
            *(ParameterSpec(name, SWITCH) for name in _STATISTICS),
        ),
        measure_object,
        aliases=("measure",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Count the pipeline objects (and sum or average a numeric property).",
    ),
    CmdletSpec(
        "ConvertTo-SecureString",
        (
            ParameterSpec("String", STRING, mandatory=True, position=0),
            ParameterSpec("AsPlainText", SWITCH),
            ParameterSpec("Force", SWITCH),
        ),
        convert_to_secure_string,
        module="Microsoft.PowerShell.Security",
        synopsis="A password for -Password: ConvertTo-SecureString 'x' -AsPlainText -Force.",
    ),
    CmdletSpec(
        "Get-Date",
        (),
        get_date,
        module="Microsoft.PowerShell.Utility",
        synopsis="The lab's current time (its clock: :advance moves it); .AddHours(-1) etc.",
    ),
)
"""The object cmdlets."""
