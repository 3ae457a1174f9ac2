"""What labsim prints on a terminal: the screen width, word wrapping, and colour.

Owns the presentation rules shared by ``labsim demo`` and ``labsim run``'s step lines:

* Lines fit :data:`WIDTH` (100) columns, the width a projector shows without wrapping; a long
  text is wrapped at word boundaries with a hanging indent (:func:`wrap`). A single word longer
  than a line (a 60-character thumbprint list, say) is broken, never left to overflow.
* Colour only where a person reads it: never when ``NO_COLOR`` is set (https://no-color.org,
  any non-empty value), when ``TERM`` is ``dumb``, or when the stream is not a terminal (a pipe,
  a file, a test), so logs and pasted transcripts carry no escape codes (:func:`colour_wanted`).
* One meaning per colour (:class:`Palette`): cmdlets as typed, the shell's output, ✔ and ✘,
  labsim's own notes (never mistaken for Exchange's output, docs/exchange-reference.md §17 C13), headings.
  Colour is applied after wrapping, so escape codes never count towards the width.

Pure: no Twisted, no lab; strings in, strings out.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["WIDTH", "Palette", "colour_wanted", "mark_line", "strip_escapes", "wrap"]

#: The widest line labsim's presentation prints.
WIDTH = 100

_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

# SGR codes: one meaning each (see the module docstring).
_BOLD = "1"
_DIM = "2"
_RED = "31"
_GREEN = "32"
_YELLOW = "33"
_MAGENTA = "35"
_CYAN = "36"


def colour_wanted(stream: IO[Any] | Any, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to colour text written to ``stream``: a terminal, no NO_COLOR, TERM not dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR", ""):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def strip_escapes(text: str) -> str:
    """``text`` without colour escape codes (what a width check measures)."""
    return _ESCAPE.sub("", text)


def wrap(text: str, *, indent: str = "", hanging: str = "    ", width: int = WIDTH) -> list[str]:
    """``text`` as lines of at most ``width`` columns, broken at spaces.

    The first line starts with ``indent``; the lines it continues onto start with ``indent``
    plus ``hanging``, so a wrapped sentence reads as one item. An empty text is one empty line
    (with its indent stripped)."""
    if not text.strip():
        return [""]
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_on_hyphens=False,
        break_long_words=True,
        drop_whitespace=True,
        replace_whitespace=False,
    )
    return lines or [indent.rstrip()]


@dataclass(frozen=True)
class Palette:
    """Colours by meaning; with ``enabled`` False every method returns its text unchanged."""

    enabled: bool = False

    def _paint(self, text: str, *codes: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"

    def heading(self, text: str) -> str:
        """A chapter or step heading."""
        return self._paint(text, _BOLD, _CYAN)

    def cmdlet(self, text: str) -> str:
        """A shell line as the admin types it."""
        return self._paint(text, _BOLD, _YELLOW)

    def output(self, text: str) -> str:
        """What the shell (Exchange) printed."""
        return text

    def prompt(self, text: str) -> str:
        """The ``[PS] Org>`` prompt."""
        return self._paint(text, _DIM)

    def ok(self, text: str) -> str:
        """✔ and what held."""
        return self._paint(text, _BOLD, _GREEN)

    def fail(self, text: str) -> str:
        """✘ and what did not hold."""
        return self._paint(text, _BOLD, _RED)

    def error(self, text: str) -> str:
        """A cmdlet's error, red as in EMS."""
        return self._paint(text, _RED)

    def warning(self, text: str) -> str:
        """A warning line, yellow as in EMS."""
        return self._paint(text, _YELLOW)

    def note(self, text: str) -> str:
        """labsim's own explanations (``labsim note:``): never Exchange's output."""
        return self._paint(text, _MAGENTA)

    def quiet(self, text: str) -> str:
        """Supporting detail (a hop's rule, a check that held)."""
        return self._paint(text, _DIM)


_CMDLET_ERROR = re.compile(r"[A-Z][A-Za-z]*-[A-Za-z]+: ")
_WARNING_PREFIXES = ("WARNING: ", "labsim note: ", "labsim: ")


def output_line_kind(line: str) -> str:
    """How a line of shell output is coloured, as EMS does: ``error`` (a cmdlet's error,
    ``Cmdlet-Name: message``), ``warning`` (Exchange's ``WARNING:`` and labsim's own notes) or
    ``text``. The shell at a terminal and the web console (console.js too) use this rule."""
    if _CMDLET_ERROR.match(line):
        return "error"
    if line.startswith(_WARNING_PREFIXES):
        return "warning"
    return "text"


def shell_output(text: str, palette: Palette) -> str:
    """Shell output with EMS's colours: errors red, warnings yellow, the rest as printed."""
    if not palette.enabled:
        return text
    painted = []
    for line in text.split("\n"):
        kind = output_line_kind(line)
        painted.append(
            palette.error(line)
            if kind == "error"
            else palette.warning(line)
            if kind == "warning"
            else line
        )
    return "\n".join(painted)


def mark_line(line: str, palette: Palette) -> str:
    """A report line with its leading ✔ or ✘ coloured (``labsim run``'s step lines)."""
    stripped = line.lstrip(" ")
    lead = line[: len(line) - len(stripped)]
    if stripped.startswith("✔"):
        return lead + palette.ok("✔") + stripped[1:]
    if stripped.startswith("✘"):
        return lead + palette.fail("✘") + stripped[1:]
    return line
