"""PowerShell's and Exchange's error texts, built in one place so every cmdlet words them alike.

Each function returns a :class:`CmdletError` whose message starts with the cmdlet name (as
PowerShell 7 prints ``New-SendConnector: <message>``), so that a scenario report shows which
cmdlet failed; the category is PowerShell's exception/category name.
"""

from __future__ import annotations

from collections.abc import Iterable

from labsim.errors import CmdletError


def cmdlet_error(cmdlet: str, message: str, category: str = "InvalidArgument") -> CmdletError:
    """A CmdletError whose text is ``<cmdlet>: <message>``."""
    text = f"{cmdlet}: {message}" if cmdlet else message
    return CmdletError(text, cmdlet=cmdlet, category=category)


def command_not_found(name: str, suggestion: str | None) -> CmdletError:
    """PowerShell's text for an unknown command, plus a close match when there is one."""
    text = (
        f"The term '{name}' is not recognized as the name of a cmdlet, function, script file, "
        "or operable program. Check the spelling of the name, or if a path was included, verify "
        "that the path is correct and try again."
    )
    if suggestion:
        text += f" Did you mean '{suggestion}'?"
    return cmdlet_error(name, text, "CommandNotFoundException")


def parameter_not_found(cmdlet: str, name: str, suggestion: str | None = None) -> CmdletError:
    """``A parameter cannot be found that matches parameter name 'X'.``"""
    text = f"A parameter cannot be found that matches parameter name '{name}'."
    if suggestion:
        text += f" Did you mean -{suggestion}?"
    return cmdlet_error(cmdlet, text, "ParameterBindingException")


def parameter_ambiguous(cmdlet: str, name: str, matches: Iterable[str]) -> CmdletError:
    """PowerShell's text for a parameter prefix that fits several parameters."""
    listed = ", ".join(f"-{m}" for m in matches)
    return cmdlet_error(
        cmdlet,
        f"Parameter cannot be processed because the parameter name '{name}' is ambiguous. "
        f"Possible matches include: {listed}.",
        "ParameterBindingException",
    )


def missing_mandatory(cmdlet: str, names: Iterable[str]) -> CmdletError:
    """``Cannot process command because of one or more missing mandatory parameters: A B.``"""
    return cmdlet_error(
        cmdlet,
        "Cannot process command because of one or more missing mandatory parameters: "
        f"{' '.join(names)}.",
        "ParameterBindingException",
    )


def null_argument(cmdlet: str, name: str) -> CmdletError:
    """PowerShell's refusal of ``$null`` for a mandatory parameter."""
    return cmdlet_error(
        cmdlet,
        f"Cannot bind argument to parameter '{name}' because it is null.",
        "InvalidData",
    )


def missing_argument(cmdlet: str, name: str, type_name: str) -> CmdletError:
    """``Missing an argument for parameter 'X'. Specify a parameter of type 'T' and try again.``"""
    return cmdlet_error(
        cmdlet,
        f"Missing an argument for parameter '{name}'. Specify a parameter of type '{type_name}' "
        "and try again.",
        "ParameterBindingException",
    )


def transformation(cmdlet: str, parameter: str, detail: str) -> CmdletError:
    """``Cannot process argument transformation on parameter 'X'. <detail>``"""
    return cmdlet_error(
        cmdlet,
        f"Cannot process argument transformation on parameter '{parameter}'. {detail}",
        "ParameterBindingArgumentTransformationException",
    )


def object_not_found(cmdlet: str, identity: str, domain_controller: str, hint: str) -> CmdletError:
    """Exchange's text for an identity that matches nothing, plus how to list what exists."""
    return cmdlet_error(
        cmdlet,
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{domain_controller}'. {hint}",
        "ManagementObjectNotFoundException",
    )


def ambiguous_identity(
    cmdlet: str, identity: str, matches: Iterable[str], hint: str
) -> CmdletError:
    """Exchange's text for an identity that matches several objects, listing them."""
    listed = ", ".join(matches)
    return cmdlet_error(
        cmdlet,
        f"The operation couldn't be performed because '{identity}' matches multiple entries: "
        f"{listed}. {hint}",
        "ManagementObjectAmbiguousException",
    )


def invalid_operation(cmdlet: str, message: str) -> CmdletError:
    """A cross-parameter rule or state check refused (Exchange's task validation errors)."""
    return cmdlet_error(cmdlet, message, "InvalidOperation")


def out_of_range(
    cmdlet: str, parameter: str, value: str, bound: str, *, too_large: bool
) -> CmdletError:
    """PowerShell's ValidateRange text for a value outside the parameter's range."""
    if too_large:
        detail = (
            f"The {value} argument is greater than the maximum allowed range of {bound}. Supply "
            f"an argument that is less than or equal to {bound} and then try the command again."
        )
    else:
        detail = (
            f"The {value} argument is less than the minimum allowed range of {bound}. Supply an "
            f"argument that is greater than or equal to {bound} and then try the command again."
        )
    return cmdlet_error(
        cmdlet,
        f"Cannot validate argument on parameter '{parameter}'. {detail}",
        "ParameterBindingValidationException",
    )
