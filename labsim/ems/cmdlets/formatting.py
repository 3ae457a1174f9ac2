"""Format-List (FL) and Format-Table (FT): pipeline-only cmdlets that turn objects into text.

Both take an optional property list (positional, wildcards allowed: ``FL Name,Tls*``); ``*``
selects every property; an item may be a calculated property (``FT Name,@{n="Size";
e={$_.MaxMessageSize}} -AutoSize``), as Select-Object takes it. Columns are always sized to fit
their contents, so ``-AutoSize`` changes nothing. Their output is :class:`FormattedText`, which, as in PowerShell, can only
go to the screen: piping it into another cmdlet is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.objects import (
    PROPERTY_LIST,
    CalculatedProperty,
    select_items,
    select_properties,
)
from labsim.ems.conversions import SWITCH
from labsim.ems.outputs import FormattedText
from labsim.ems.views import render_list, render_table


def _chosen(ctx: CmdletContext, args: Arguments) -> tuple[list[object], list[str] | None]:
    """The objects to show and the property patterns: with a calculated property among the
    items, each object is first trimmed to the items (as Select-Object would) and shown
    whole."""
    objects = _objects(ctx)
    items = select_items(ctx, args, formatting=True)
    if any(isinstance(item, CalculatedProperty) for item in items):
        return [select_properties(o, items, ctx.variables) for o in objects], None
    patterns = [str(item) for item in items]
    return objects, patterns or None


def _objects(ctx: CmdletContext) -> list[object]:
    for obj in ctx.input:
        if isinstance(obj, FormattedText):
            raise ctx.error(
                'The object of type "Microsoft.PowerShell.Commands.Internal.Format.FormatStartData" '
                "is not valid or not in the correct sequence. This is likely caused by a "
                'user-specified "format-*" command which is conflicting with the default '
                "formatting. Use only one Format- cmdlet, at the end of the pipeline.",
                "InvalidArgument",
            )
    return list(ctx.input)


def format_list(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Format-List [[-Property] a,b*]: every property (or the chosen ones) as ``Name : value``."""
    text = render_list(*_chosen(ctx, args))
    return [FormattedText(text)] if text else []


def format_table(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Format-Table [[-Property] a,b*] [-AutoSize]: the default columns (or the chosen ones)."""
    text = render_table(*_chosen(ctx, args))
    return [FormattedText(text)] if text else []


_PARAMETERS = (
    ParameterSpec("Property", PROPERTY_LIST, position=0),
    ParameterSpec("AutoSize", SWITCH),
    ParameterSpec("Wrap", SWITCH),
)

SPECS = (
    CmdletSpec(
        "Format-List",
        _PARAMETERS[:1],
        format_list,
        aliases=("FL",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Show objects as lists of Name : value.",
    ),
    CmdletSpec(
        "Format-Table",
        _PARAMETERS[:3],
        format_table,
        aliases=("FT",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Show objects as a table.",
    ),
)
"""The formatting cmdlets."""
