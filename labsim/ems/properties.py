"""One property table per configurable Exchange object: what Format-List shows, what Set-/New- take.

Owns :class:`Property` and :class:`PropertyTable`. A table lists an object's properties once, in
the order Exchange 2013 CU23 prints them (``| Format-List``), and for each one says how its value
is read from the object the Get- cmdlet writes, and, when Exchange's Set- cmdlet has a parameter of
that name, the parameter's type and the model field it writes. Everything else is derived from the
table: the Format-List view (``views.py``), the parameters the New-/Set- cmdlets bind
(:meth:`PropertyTable.parameters`) and the record changes a Set- makes
(:meth:`PropertyTable.changes`).

The rule for properties labsim does not model (docs/fidelity.md, "Format-List objects"): they
are shown with Exchange's default value, so a ``| FL`` compares line by line with a production
server; their parameter binds (so a wrong value gets PowerShell's own conversion error), the value
shown is accepted and changes nothing, and any other value gets one clear error naming the
property. labsim never stores a value it would not act on: an admin who changes it would otherwise
believe the lab behaves differently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labsim.ems.catalog import Arguments, CmdletContext, ParameterSpec
from labsim.ems.conversions import ParamType, apply_list
from labsim.ems.format import display
from labsim.ems.messages import cmdlet_error
from labsim.errors import CmdletError

Getter = Callable[[Any], object]


class _Null:
    """How a ``$null`` given to a modelled property is stored."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __repr__(self) -> str:
        return self.label


REFUSE = _Null("REFUSE")
"""``$null`` is refused with a message naming the parameter (booleans, enums, numbers)."""

KEEP = _Null("KEEP")
"""``$null`` is stored as None (an optional value, shown empty)."""


@dataclass(frozen=True)
class Property:
    """One property: its Exchange name, how it is shown, and (if settable) how it is set.

    ``parameter`` is the type of Exchange's Set-/New- parameter of the same name (None: read-only
    in Exchange). ``field`` is the model record's field the parameter writes; a parameter without
    a field is one labsim does not model (shown with Exchange's default, refused when set).
    ``null`` says what ``$null`` stores (:data:`REFUSE`, :data:`KEEP`, or a value such as
    ``ByteSize(None)`` for "unlimited"). ``is_list`` marks a multivalued property: a list replaces
    it, ``@{Add=…;Remove=…}`` edits it. ``store`` converts a value (each item of a list) before it
    is stored.
    """

    name: str
    show: Getter
    parameter: ParamType | None = None
    field: str | None = None
    null: object = REFUSE
    is_list: bool = False
    store: Callable[[object], object] | None = None

    @property
    def settable(self) -> bool:
        """Exchange's Set- cmdlet has a parameter of this name."""
        return self.parameter is not None

    @property
    def modelled(self) -> bool:
        """labsim stores the value and acts on it."""
        return self.field is not None


def not_modelled(cmdlet: str, prop: Property, shown: str) -> CmdletError:
    """The error for setting a property labsim does not model."""
    default = f" (Exchange's default, {shown}, is shown)" if shown else ""
    return cmdlet_error(
        cmdlet,
        f"labsim does not model {prop.name}{default}; the lab would behave the same whatever its "
        f"value. Leave -{prop.name} out.",
        "InvalidOperation",
    )


@dataclass(frozen=True)
class PropertyTable:
    """An Exchange object's properties in Format-List order: the single declaration of each."""

    properties: tuple[Property, ...]

    def names(self) -> tuple[str, ...]:
        """Property names in Format-List order."""
        return tuple(p.name for p in self.properties)

    def pairs(self) -> tuple[tuple[str, Getter], ...]:
        """(name, getter) in order: what a Format-List view needs."""
        return tuple((p.name, p.show) for p in self.properties)

    def settable(self) -> tuple[Property, ...]:
        """The properties Exchange's Set- cmdlet takes, in table order."""
        return tuple(p for p in self.properties if p.settable)

    def parameters(
        self,
        skip: Iterable[str] = (),
        override: Mapping[str, ParameterSpec] | None = None,
    ) -> tuple[ParameterSpec, ...]:
        """Parameter specs of the settable properties (minus ``skip``; ``override`` replaces a
        spec, e.g. to make it mandatory or positional on New-)."""
        skipped = set(skip)
        replaced = dict(override or {})
        specs: list[ParameterSpec] = []
        for prop in self.settable():
            if prop.name in skipped:
                continue
            assert prop.parameter is not None
            specs.append(replaced.get(prop.name, ParameterSpec(prop.name, prop.parameter)))
        return tuple(specs)

    def changes(
        self,
        ctx: CmdletContext,
        args: Arguments,
        current: object,
        shown: object,
        skip: Iterable[str] = (),
    ) -> dict[str, object]:
        """Field → new value for every modelled property given in ``args``. ``current`` is the
        record before the change (list edits start from it); ``shown`` is the object the Get-
        cmdlet writes for it (the not-modelled message quotes the value it shows)."""
        skipped = set(skip)
        changes: dict[str, object] = {}
        for prop in self.settable():
            if prop.name in skipped or prop.name not in args:
                continue
            value = args.get(prop.name)
            if prop.field is None:
                current_text = display(prop.show(shown))
                # The value labsim shows is accepted as a no-op, so a script copied from a
                # production server that restates Exchange's defaults still runs.
                if display(value).lower() != current_text.lower():
                    raise not_modelled(ctx.cmdlet, prop, current_text)
                continue
            if prop.is_list:
                items = apply_list(getattr(current, prop.field), value)
                changes[prop.field] = tuple(prop.store(v) if prop.store else v for v in items)
                continue
            if value is None:
                if prop.null is REFUSE:
                    raise ctx.error(f"The parameter -{prop.name} can't be $null; give a value.")
                value = None if prop.null is KEEP else prop.null
            elif prop.store is not None:
                value = prop.store(value)
            changes[prop.field] = value
        return changes
