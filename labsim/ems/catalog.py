"""Cmdlets as data: names, parameters (type, mandatory, position, aliases) and the implementation.

Owns :class:`ParameterSpec`, :class:`CmdletSpec`, :class:`Catalog` (lookup by name or alias,
case-insensitive, with a close-match suggestion for typos), :class:`Arguments` (what binding
produced) and :class:`CmdletContext` (what an implementation may use: the host, the
organization, the machine, warnings, pipeline input).

The default catalog is assembled in :mod:`labsim.ems.cmdlets`; another catalog can be built for
tests or extensions with :meth:`Catalog.register`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from labsim.ems.conversions import STRING, SWITCH, ParamType
from labsim.ems.host import ShellHost
from labsim.ems.messages import cmdlet_error, command_not_found
from labsim.errors import CmdletError
from labsim.model.organization import Organization

T = TypeVar("T")


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: Exchange's spelling, its type, and how it binds."""

    name: str
    type: ParamType = STRING
    mandatory: bool = False
    position: int | None = None
    aliases: tuple[str, ...] = ()
    mandatory_in_set: bool = False
    """Mandatory in its own parameter set (``-Identity`` beside ``-Filter``): the call may leave
    it out for another set, but ``$null`` given for it is refused as for a mandatory one."""

    @property
    def refuses_null(self) -> bool:
        """PowerShell refuses to bind ``$null`` to it (mandatory, in every set or its own)."""
        return (self.mandatory or self.mandatory_in_set) and not self.switch

    @property
    def switch(self) -> bool:
        """True for a switch parameter (takes no following value)."""
        return self.type.switch


class Arguments:
    """Bound, converted parameter values by canonical name, with typed accessors."""

    def __init__(self, values: dict[str, object] | None = None) -> None:
        self._values: dict[str, object] = dict(values or {})

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        return f"Arguments({self._values!r})"

    def names(self) -> tuple[str, ...]:
        """Names of the parameters given, in binding order."""
        return tuple(self._values)

    def get(self, name: str, default: object = None) -> object:
        """The value of ``name`` or ``default`` when not given."""
        return self._values.get(name, default)

    def set(self, name: str, value: object) -> None:
        """Bind ``name`` (used for pipeline input)."""
        self._values[name] = value

    def copy(self) -> Arguments:
        """A copy that can be changed independently."""
        return Arguments(self._values)

    def typed(self, name: str, kind: type[T]) -> T | None:
        """The value of ``name`` if given and of type ``kind``; None when not given."""
        value = self._values.get(name)
        if value is None:
            return None
        if not isinstance(value, kind):
            raise TypeError(f"parameter {name} holds {type(value).__name__}, not {kind.__name__}")
        return value

    def text(self, name: str) -> str | None:
        """A string parameter."""
        return self.typed(name, str)

    def flag(self, name: str) -> bool | None:
        """A boolean or switch parameter (None when not given)."""
        return self.typed(name, bool)

    def items(self, name: str) -> tuple[object, ...]:
        """A list parameter as a tuple (empty when not given)."""
        value = self._values.get(name)
        if value is None:
            return ()
        return value if isinstance(value, tuple) else (value,)


@dataclass
class CmdletContext:
    """What a cmdlet implementation works with; one per invocation."""

    host: ShellHost
    organization_name: str
    server: str | None
    cmdlet: str
    input: tuple[object, ...] = ()
    # Warnings print at once, ahead of the pipeline's formatted output, as in PowerShell.
    warnings: list[str] = field(default_factory=list)
    """Exchange's warnings, printed after the cmdlet's output as ``WARNING: …``."""
    notes: list[str] = field(default_factory=list)
    """labsim's own notes, printed after them as ``labsim note: …``."""
    variables: Mapping[str, object] = field(default_factory=dict)
    """The session's variables by lower-case name (what ``$c`` in a script block reads)."""
    catalog: Catalog | None = None
    """The shell's cmdlets (what Get-Command and Get-Help describe)."""

    def organization(self) -> Organization:
        """The current organization configuration."""
        return self.host.organization(self.organization_name)

    def replace(self, organization: Organization) -> None:
        """Store a changed organization."""
        self.host.replace_organization(organization)

    def warn(self, text: str) -> None:
        """Print ``WARNING: text`` (in order with the cmdlet's output): Exchange's own warnings."""
        self.warnings.append(text)

    def note(self, text: str) -> None:
        """Print ``labsim note: text``: labsim's explanation, never in Exchange's WARNING form
        (docs/exchange-reference.md §17 C13), so no admin mistakes it for Exchange output."""
        self.notes.append(text)

    def error(self, message: str, category: str = "InvalidArgument") -> CmdletError:
        """A CmdletError naming this cmdlet."""
        return cmdlet_error(self.cmdlet, message, category)

    def domain_controller(self) -> str:
        """The name Exchange would show as the domain controller it searched."""
        return f"DC1.{self.organization().default_domain}"


Implementation = Callable[[CmdletContext, Arguments], Iterable[object]]
"""A cmdlet body: returns the objects it writes to the pipeline."""

PipelineBinder = Callable[[object], dict[str, object] | None]
"""Maps one pipeline input object to parameter values (None: the object doesn't fit)."""


EXCHANGE_MODULE = "Microsoft.Exchange.Management.PowerShell.SnapIn"
"""Exchange's cmdlets' source, as Get-Command names it in a shell with Exchange's snap-in."""


@dataclass(frozen=True)
class CmdletSpec:
    """A cmdlet: name, parameters, implementation, and how it takes pipeline input.

    ``pipeline`` binds each input object to parameters and runs the body once per object
    (Set-SendConnector after Get-SendConnector); ``collects_pipeline`` runs the body once with all
    input in ``ctx.input`` (Format-List).
    """

    name: str
    parameters: tuple[ParameterSpec, ...]
    run: Implementation
    aliases: tuple[str, ...] = ()
    pipeline: PipelineBinder | None = None
    collects_pipeline: bool = False
    synopsis: str = ""
    module: str = ""
    """Where PowerShell says the command comes from (Get-Command's Source); empty means
    Exchange's, or labsim's own for the lab actions (``*-Lab*``)."""
    what_if: Callable[[CmdletContext, Arguments], list[str]] | None = None
    """The ShouldProcess targets of a cmdlet outside Exchange's verbs that takes -WhatIf
    (Stop-Service: ``Microsoft Exchange Transport (MSExchangeTransport)``)."""

    @property
    def source(self) -> str:
        """Get-Command's Source column for this cmdlet."""
        if self.module:
            return self.module
        if self.name.partition("-")[2].lower().startswith("lab"):
            return "labsim"
        return EXCHANGE_MODULE

    def parameter(self, name: str) -> ParameterSpec:
        """The parameter with this canonical name (a programming error if missing)."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)


COMMON_PARAMETERS: tuple[ParameterSpec, ...] = (
    ParameterSpec("Confirm", SWITCH),
    ParameterSpec("ErrorAction", STRING, aliases=("ea",)),
    ParameterSpec("WarningAction", STRING, aliases=("wa",)),
    ParameterSpec("Verbose", SWITCH, aliases=("vb",)),
    ParameterSpec("Debug", SWITCH, aliases=("db",)),
)
"""PowerShell common parameters labsim accepts (and ignores: the shell never prompts)."""

WHAT_IF = ParameterSpec("WhatIf", SWITCH, aliases=("wi",))
"""``-WhatIf``: say what the cmdlet would change, and change nothing."""

_WHAT_IF_VERBS = frozenset({"set", "new", "remove", "enable", "suspend", "resume"})


def supports_what_if(spec: CmdletSpec) -> bool:
    """Whether ``spec`` takes -WhatIf: Exchange's Set-/New-/Remove-/Enable-/Suspend-/Resume-
    cmdlets (the lab actions ``*-Lab*`` are not Exchange's and act at once)."""
    if spec.what_if is not None:
        return True
    verb, _, noun = spec.name.partition("-")
    return verb.lower() in _WHAT_IF_VERBS and not noun.lower().startswith("lab")


EXCHANGE_COMMON: tuple[ParameterSpec, ...] = (ParameterSpec("DomainController", STRING),)
"""Parameters every Exchange cmdlet has (accepted; the lab has one directory)."""


class Catalog:
    """The cmdlets the shell knows, looked up by name or alias (case-insensitive)."""

    def __init__(self, specs: Iterable[CmdletSpec] = ()) -> None:
        self._by_name: dict[str, CmdletSpec] = {}
        self._specs: list[CmdletSpec] = []
        for spec in specs:
            self.register(spec)

    def register(self, spec: CmdletSpec) -> None:
        """Add a cmdlet; a name or alias already taken is a programming error."""
        for key in (spec.name, *spec.aliases):
            if key.lower() in self._by_name:
                raise ValueError(f"cmdlet name {key} registered twice")
            self._by_name[key.lower()] = spec
        self._specs.append(spec)

    def specs(self) -> tuple[CmdletSpec, ...]:
        """All cmdlets, in registration order."""
        return tuple(self._specs)

    def find(self, name: str) -> CmdletSpec:
        """The cmdlet ``name``; CommandNotFoundException with a suggestion when unknown."""
        spec = self._by_name.get(name.lower())
        if spec is None:
            names = [s.name for s in self._specs]
            close = difflib.get_close_matches(name.lower(), [n.lower() for n in names], n=1)
            suggestion = next((n for n in names if close and n.lower() == close[0]), None)
            raise command_not_found(name, suggestion)
        return spec


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """The closest of ``choices`` to ``word`` (case-insensitive), or None."""
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.75)
    return lowered[close[0]] if close else None
