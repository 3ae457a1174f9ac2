"""Parameter binding: a parsed :class:`CommandCall` + its :class:`CmdletSpec` → :class:`Arguments`.

Owns PowerShell's binding rules as labsim keeps them: parameter names are case-insensitive and
may be shortened to a unique prefix (an exact name or alias wins over prefixes); a non-switch
parameter takes the value after it; a switch takes a value only in the ``-Switch:$false`` form;
remaining values bind to positional parameters in position order; each value is converted by the
parameter's type. ``$null`` given for a parameter that is mandatory (in every parameter set or
in its own) is refused as it is bound, before pipeline input, as PowerShell binds named and
positional arguments first; missing mandatory parameters are checked after pipeline input is
bound (:func:`check_mandatory`).
"""

from __future__ import annotations

from labsim.ems.catalog import (
    COMMON_PARAMETERS,
    WHAT_IF,
    Arguments,
    CmdletSpec,
    ParameterSpec,
    suggest,
    supports_what_if,
)
from labsim.ems.conversions import ConversionError, show
from labsim.ems.messages import (
    cmdlet_error,
    missing_argument,
    missing_mandatory,
    null_argument,
    parameter_ambiguous,
    parameter_not_found,
    transformation,
)
from labsim.ems.parser import CommandCall, ParameterArgument, PositionalArgument, Value


def parameters_of(spec: CmdletSpec) -> tuple[ParameterSpec, ...]:
    """The cmdlet's own parameters followed by the common parameters (and -WhatIf where the
    cmdlet changes configuration)."""
    extra = (WHAT_IF,) if supports_what_if(spec) else ()
    return spec.parameters + COMMON_PARAMETERS + extra


def resolve_parameter(spec: CmdletSpec, typed: str) -> ParameterSpec:
    """The parameter ``-typed`` names: exact name or alias, else a unique prefix."""
    key = typed.lower()
    params = parameters_of(spec)
    for p in params:
        if p.name.lower() == key or key in (a.lower() for a in p.aliases):
            return p
    matches = [p for p in params if p.name.lower().startswith(key)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise parameter_ambiguous(spec.name, typed, (p.name for p in matches))
    raise parameter_not_found(spec.name, typed, suggest(typed, [p.name for p in spec.parameters]))


def convert(spec: CmdletSpec, parameter: ParameterSpec, raw: Value) -> object:
    """Convert ``raw`` to the parameter's type; PowerShell's transformation error otherwise,
    and its null-binding error for ``$null`` where the parameter is mandatory (a variable or a
    ``( ... )`` pipeline that found nothing, ``Set-SendConnector -Identity $c``)."""
    try:
        value = parameter.type.convert(raw)
    except ConversionError as err:
        raise transformation(spec.name, parameter.name, str(err)) from None
    if value is None and parameter.refuses_null:
        raise null_argument(spec.name, parameter.name)
    return value


def bind(spec: CmdletSpec, call: CommandCall) -> Arguments:
    """Bind the elements of ``call`` to ``spec``'s parameters (no mandatory check yet)."""
    values: dict[str, object] = {}
    positional: list[Value] = []
    elements = call.arguments
    i = 0
    while i < len(elements):
        element = elements[i]
        i += 1
        if isinstance(element, PositionalArgument):
            positional.append(element.value)
            continue
        assert isinstance(element, ParameterArgument)
        parameter = resolve_parameter(spec, element.name)
        if parameter.name in values:
            raise cmdlet_error(
                spec.name,
                f"Cannot bind parameter because parameter '{parameter.name}' is specified more "
                "than once. To provide multiple values to parameters that can accept multiple "
                'values, use the array syntax. For example, "-parameter value1,value2,value3".',
                "ParameterBindingException",
            )
        raw: Value
        if element.has_value:
            raw = element.value
        elif parameter.switch:
            raw = True
        elif i < len(elements) and isinstance(elements[i], PositionalArgument):
            nxt = elements[i]
            assert isinstance(nxt, PositionalArgument)
            raw = nxt.value
            i += 1
        else:
            raise missing_argument(spec.name, parameter.name, parameter.type.type_name)
        values[parameter.name] = convert(spec, parameter, raw)
    slots = sorted(
        (p for p in spec.parameters if p.position is not None and p.name not in values),
        key=lambda p: p.position if p.position is not None else 0,
    )
    for raw_value in positional:
        if not slots:
            raise cmdlet_error(
                spec.name,
                f"A positional parameter cannot be found that accepts argument '{show(raw_value)}'."
                " Name the parameter, e.g. -Identity.",
                "ParameterBindingException",
            )
        parameter = slots.pop(0)
        values[parameter.name] = convert(spec, parameter, raw_value)
    return Arguments(values)


def check_mandatory(spec: CmdletSpec, arguments: Arguments) -> None:
    """Refuse the call when a mandatory parameter is missing (all missing names listed), or
    given ``$null`` (PowerShell refuses null for a mandatory parameter: a variable or a
    ``( ... )`` pipeline that found nothing, ``-Thumbprint (Get-ExchangeCertificate -DomainName
    typo).Thumbprint``, stops here rather than acting on nothing)."""
    missing = [p.name for p in spec.parameters if p.mandatory and p.name not in arguments]
    if missing:
        raise missing_mandatory(spec.name, missing)
    for parameter in spec.parameters:
        if (
            parameter.refuses_null
            and parameter.name in arguments
            and arguments.get(parameter.name) is None
        ):
            raise null_argument(spec.name, parameter.name)
