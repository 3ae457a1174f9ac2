"""Get-Command (``gcm``) and Get-Help (``help``): what this shell supports, read from its catalog.

Both describe the catalog the shell runs with (``ctx.catalog``), so they can never list a cmdlet
labsim lacks or miss one it has: the cmdlets with their aliases, the parameters each takes (its
own, then -WhatIf where it applies and the common parameters), the synopsis of each spec.
Get-Command writes PowerShell's table (CommandType, Name, Version, Source); Get-Help writes the
NAME / SYNOPSIS / SYNTAX / PARAMETERS / ALIASES / REMARKS layout of PowerShell's help.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from labsim.ems.binding import parameters_of
from labsim.ems.catalog import (
    COMMON_PARAMETERS,
    Arguments,
    Catalog,
    CmdletContext,
    CmdletSpec,
    ParameterSpec,
)
from labsim.ems.conversions import STRING, STRING_LIST, SWITCH
from labsim.ems.messages import command_not_found
from labsim.ems.outputs import CommandInfo, FormattedText

VERSION = "15.0.1497.2"
"""The version Get-Command shows for labsim's commands: the Exchange 2013 build labsim models."""


def _catalog(ctx: CmdletContext) -> Catalog:
    if ctx.catalog is None:
        raise ctx.error("This shell has no cmdlet catalog to describe.", "InvalidOperation")
    return ctx.catalog


def _matches(patterns: tuple[object, ...], name: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(name.lower(), str(p).lower()) for p in patterns)


def get_command(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Command [[-Name] pattern,...] [-Verb v] [-Noun n]: the commands labsim supports."""
    specs = _catalog(ctx).specs()
    names = args.items("Name")
    verbs = args.items("Verb")
    nouns = args.items("Noun")
    aliases: list[CommandInfo] = []
    cmdlets: list[CommandInfo] = []
    for spec in specs:
        verb, _, noun = spec.name.partition("-")
        if not (_matches(verbs, verb) and _matches(nouns, noun)):
            continue
        if _matches(names, spec.name):
            cmdlets.append(CommandInfo("Cmdlet", spec.name, VERSION, spec.source, spec.name))
        if not verbs and not nouns:
            aliases.extend(
                CommandInfo("Alias", f"{alias} -> {spec.name}", "", spec.source, spec.name)
                for alias in spec.aliases
                if _matches(names, alias)
            )
    found = sorted(aliases, key=lambda c: c.name.lower()) + sorted(
        cmdlets, key=lambda c: c.name.lower()
    )
    # A name without wildcards that names nothing is PowerShell's "not recognized" error.
    for pattern in names:
        text = str(pattern)
        if "*" in text or "?" in text:
            continue
        if not any(c.definition.lower() == text.lower() or _alias_of(c, text) for c in found):
            raise command_not_found(text, None)
    return found


def _alias_of(info: CommandInfo, name: str) -> bool:
    return info.command_type == "Alias" and info.name.lower().startswith(name.lower() + " ->")


def _short_type(parameter: ParameterSpec) -> str:
    # PowerShell's help shows the type's own name: MultiValuedProperty`1[...] as
    # MultiValuedProperty, Unlimited`1[...] as Unlimited, System.String as String.
    base = parameter.type.type_name.split("`", 1)[0].split("[", 1)[0]
    return base.rsplit(".", 1)[-1].rsplit("+", 1)[-1]


def _syntax_item(parameter: ParameterSpec) -> str:
    if parameter.switch:
        return f"[-{parameter.name}]"
    name = f"-{parameter.name}"
    if parameter.position is not None:
        name = f"[{name}]"
    item = f"{name} <{_short_type(parameter)}>"
    return item if parameter.mandatory else f"[{item}]"


def _syntax(spec: CmdletSpec) -> str:
    own = [p for p in parameters_of(spec) if p not in COMMON_PARAMETERS]
    ordered = sorted(
        own,
        key=lambda p: (
            p.position is None,
            p.position if p.position is not None else 0,
            not p.mandatory,
            p.name.lower(),
        ),
    )
    return " ".join([spec.name, *(_syntax_item(p) for p in ordered), "[<CommonParameters>]"])


def _parameter_block(parameter: ParameterSpec) -> list[str]:
    head = f"-{parameter.name}" + ("" if parameter.switch else f" <{_short_type(parameter)}>")
    position = "named" if parameter.position is None else str(parameter.position)
    lines = [
        f"    {head}",
        f"        Required?                    {'true' if parameter.mandatory else 'false'}",
        f"        Position?                    {position}",
    ]
    if parameter.aliases:
        lines.append(f"        Aliases                      {', '.join(parameter.aliases)}")
    if parameter.type.choices:
        lines.append(f"        Accepted values              {', '.join(parameter.type.choices)}")
    return [*lines, ""]


def _help_text(spec: CmdletSpec, only: str | None) -> str:
    own = [p for p in parameters_of(spec) if p not in COMMON_PARAMETERS]
    if only is not None:
        chosen = [p for p in own if fnmatch.fnmatchcase(p.name.lower(), only.lower())]
        return "\n".join(line for p in chosen for line in _parameter_block(p)).rstrip()
    lines = [
        "NAME",
        f"    {spec.name}",
        "",
        "SYNOPSIS",
        f"    {spec.synopsis or spec.name}",
        "",
        "SYNTAX",
        f"    {_syntax(spec)}",
        "",
        "PARAMETERS",
    ]
    for parameter in own:
        lines.extend(_parameter_block(parameter))
    lines.extend(
        [
            "    <CommonParameters>",
            "        This cmdlet supports the common parameters: "
            + ", ".join(p.name for p in COMMON_PARAMETERS)
            + ".",
            "",
            "ALIASES",
            f"    {', '.join(spec.aliases) if spec.aliases else 'None'}",
            "",
            "REMARKS",
            "    This is labsim's help: the parameters above are the ones labsim's shell takes.",
            "    Get-Command lists every command labsim supports.",
        ]
    )
    return "\n".join(lines)


def get_help(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Help [-Name] cmdlet [-Parameter name]: the synopsis and parameters labsim takes."""
    catalog = _catalog(ctx)
    name = args.text("Name")
    if name is None:
        return [
            FormattedText(
                "Get-Help <cmdlet> shows a cmdlet's synopsis, syntax and the parameters labsim "
                "takes, e.g. Get-Help Set-SendConnector.\nGet-Command lists every command "
                "labsim supports; Get-Command *Connector* finds some by name."
            )
        ]
    matches = [
        spec
        for spec in catalog.specs()
        if fnmatch.fnmatchcase(spec.name.lower(), name.lower())
        or any(alias.lower() == name.lower() for alias in spec.aliases)
    ]
    if not matches:
        raise ctx.error(
            f"Get-Help could not find {name} in a help file in this session. Get-Command lists "
            "the commands labsim supports.",
            "ResourceUnavailable",
        )
    if len(matches) > 1:
        return [CommandInfo("Cmdlet", s.name, VERSION, s.source, s.name) for s in matches]
    return [FormattedText(_help_text(matches[0], args.text("Parameter")))]


SPECS = (
    CmdletSpec(
        "Get-Command",
        (
            ParameterSpec("Name", STRING_LIST, position=0),
            ParameterSpec("Verb", STRING_LIST),
            ParameterSpec("Noun", STRING_LIST),
        ),
        get_command,
        aliases=("gcm",),
        module="Microsoft.PowerShell.Core",
        synopsis="List the commands this shell supports.",
    ),
    CmdletSpec(
        "Get-Help",
        (
            ParameterSpec("Name", STRING, position=0),
            ParameterSpec("Parameter", STRING),
            ParameterSpec("Full", SWITCH),
            ParameterSpec("Detailed", SWITCH),
            ParameterSpec("Examples", SWITCH),
        ),
        get_help,
        aliases=("help",),
        module="Microsoft.PowerShell.Core",
        synopsis="Show a command's synopsis, syntax and the parameters labsim takes.",
    ),
)
"""The help cmdlets."""
