"""The error tree: every user-facing error is a LabsimError whose text names the place and the fix.

Simulated mail failures (a 454 reply, a queue in Retry, an NDR) are data, never exceptions;
these classes are for bad input and for bugs. The CLI turns any LabsimError into one message
and exit status 2.
"""

from __future__ import annotations


class LabsimError(Exception):
    """Base of all user-facing errors; ``str(err)`` is the whole message shown to the user."""


class ConfigError(LabsimError):
    """A lab definition (file or built-in) is invalid."""


class ScenarioError(LabsimError):
    """A scenario file is invalid (names the file, the step and the key)."""


class CmdletError(LabsimError):
    """A shell line was refused, with Exchange's kind of message.

    ``category`` follows PowerShell's error categories (e.g. ``InvalidArgument``) so that output
    can look like Exchange Management Shell's.
    """

    def __init__(
        self, message: str, *, cmdlet: str = "", category: str = "InvalidArgument"
    ) -> None:
        super().__init__(message)
        self.cmdlet = cmdlet
        self.category = category


class PkiError(LabsimError):
    """A certificate request or store operation cannot be carried out."""


class UsageError(LabsimError):
    """A CLI option or argument is invalid."""
