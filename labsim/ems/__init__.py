"""The Exchange Management Shell language of labsim: what you type is what you'd type in EMS.

Pure (standard library, ``labsim.model``, ``labsim.errors``; ``labsim.pki`` only inside the
certificate cmdlets): the tokenizer/parser (``tokens``, ``parser``, with Where-Object's script
blocks in ``expressions`` and their evaluation in ``evaluate``), parameter types and binding
(``conversions``, ``binding``), the cmdlet catalog as data (``catalog``, ``cmdlets``), output in
Format-List / Format-Table layout (``format``, ``views``), and the :class:`Shell` that runs a
block of lines against a :class:`ShellHost` (the running lab, or a fake in tests), with its
variables in a :class:`ShellSession`.
"""

from __future__ import annotations

from labsim.ems.catalog import Arguments, Catalog, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets import default_catalog
from labsim.ems.host import ShellHost
from labsim.ems.parser import CommandCall, Pipeline, parse
from labsim.ems.shell import Shell, ShellResult, ShellSession

__all__ = [
    "Arguments",
    "Catalog",
    "CmdletContext",
    "CmdletSpec",
    "CommandCall",
    "ParameterSpec",
    "Pipeline",
    "Shell",
    "ShellHost",
    "ShellResult",
    "ShellSession",
    "default_catalog",
    "parse",
]
