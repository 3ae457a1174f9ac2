"""Reading the TOML files users write (lab files, scenario files): one place that turns a
missing file, a non-UTF-8 file or a TOML syntax error into one message naming the file and the
fix, and that names TOML value types in messages. Pure: stdlib only.

Bounds kept here (docs/limits.md), checked before ``tomllib`` sees the text, because tomllib
recurses once per nested array or inline table (thousands of levels end in a RecursionError)
and spends time and memory quadratic in the parts of one dotted key:

* only a regular file of at most :data:`~labsim.inputfiles.TOML_FILE_LIMIT` bytes is read;
* arrays and inline tables nest at most :data:`MAX_NESTING` levels deep, and a dotted key
  (``a.b.c``, also in ``[table.headers]``) has at most :data:`MAX_NESTING` parts.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

from labsim.errors import LabsimError
from labsim.inputfiles import TOML_FILE_LIMIT, InputFileError, read_input_file

MAX_NESTING = 32
"""How deep arrays and inline tables may nest in a lab or scenario file, and how many parts a
dotted key may have (labsim's own formats need 4)."""

# The next character that matters to the nesting scan: a bracket, a quote (the triple forms
# first), a comment, a dot, or anything that ends a dotted key (not a bare-key character, space
# or tab).
_SCAN = re.compile(r"""[\[\]{}]|""" r'"""' r"""|'''|["'#.]|[^A-Za-z0-9_\- \t]""")
# The rest of a string once its opening quote is read (possessive: linear on any input).
_STRING_ENDS = {
    '"': re.compile(r'(?:[^"\\\n]|\\.)*+"'),
    "'": re.compile(r"[^'\n]*+'"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*+"{3,5}', re.DOTALL),
    "'''": re.compile(r"(?:[^']|'(?!''))*+'{3,5}"),
}


def read_toml(path: Path, error: type[LabsimError], what: str) -> dict[str, Any]:
    """The document in ``path``; every problem raises ``error`` with one message.

    ``what`` names the kind of file in messages ("file", "lab file").
    """
    try:
        raw = read_input_file(path, TOML_FILE_LIMIT)
    except FileNotFoundError:
        raise error(f"{path}: no such {what}; check the path") from None
    except InputFileError as err:
        raise error(f"{path}: {err}") from None
    except OSError as err:
        raise error(f"{path}: cannot read the {what}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8") from None
    too_deep = nesting_problem(text)
    if too_deep is not None:
        raise error(f"{path}: {too_deep}")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # tomllib's message ends with "(at line L, column C)": the place the user needs.
        raise error(f"{path}: invalid TOML: {err}; fix the syntax there") from None


def nesting_problem(text: str) -> str | None:
    """What in ``text`` nests deeper than :data:`MAX_NESTING` (with its line), else None.

    A light scan of TOML's lexical structure (strings and comments skipped); a file it cannot
    follow (an unclosed string) is left to tomllib, which reports the syntax error.
    """
    depth = 0
    dots = 0
    pos = 0
    while True:
        found = _SCAN.search(text, pos)
        if found is None:
            return None
        token = found.group()
        pos = found.end()
        if token in _STRING_ENDS:
            closed = _STRING_ENDS[token].match(text, pos)
            if closed is None:
                return None
            pos = closed.end()
            continue  # a quoted key part keeps a dotted key going
        if token == "#":
            end = text.find("\n", pos)
            if end < 0:
                return None
            pos = end
            continue
        if token == ".":
            dots += 1
            if dots >= MAX_NESTING:
                return (
                    f"line {_line(text, found.start())}: a dotted key has more than {MAX_NESTING} parts, labsim's "
                    "limit; write fewer parts"
                )
            continue
        dots = 0
        if token in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return (
                    f"line {_line(text, found.start())}: arrays and inline tables nest more than {MAX_NESTING} levels "
                    "deep, labsim's limit; flatten the value"
                )
        elif token in "]}":
            depth = max(depth - 1, 0)


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def type_name(value: object) -> str:
    """The TOML name of a value's type, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, datetime | date | time):
        return "a date/time"
    return type(value).__name__  # pragma: no cover - tomllib yields only the types above


class TableReader:
    """The checks every reader of a user's TOML file shares: one message per problem, naming
    the file and the key path (``where``), with a "did you mean" and an example of the fix.

    Subclasses set ``error`` (the exception class), ``examples`` (key → example line) and
    ``suggest`` (word, candidates → "did you mean 'x'?" text), and add ``opt_text``.
    """

    error: type[LabsimError] = LabsimError
    examples: Mapping[str, str] = {}

    def __init__(self, path: Path) -> None:
        self.path = path

    def suggest(self, word: str, candidates: Sequence[str]) -> str:
        """``did you mean 'x'?`` when a candidate is close, else the list of candidates."""
        close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
        if close:
            return f"did you mean '{close[0]}'?"
        return "expected one of " + ", ".join(f"'{c}'" for c in candidates)

    def fail(self, where: str, problem: str) -> NoReturn:
        """Raise the one message for a problem at ``where`` (a key path, or ``""``)."""
        place = f"{self.path}: {where}: " if where else f"{self.path}: "
        raise self.error(place + problem)

    def check_keys(self, where: str, table: Mapping[str, Any], allowed: Sequence[str]) -> None:
        """Every key of ``table`` is one of ``allowed``."""
        for key in table:
            if key not in allowed:
                self.fail(where, f"unknown key '{key}'; {self.suggest(key, allowed)}")

    def wrong_type(self, where: str, key: str, expected: str, value: object) -> NoReturn:
        """Raise the message for a value of the wrong type."""
        example = self.examples.get(key)
        fix = f"; e.g. {example}" if example else ""
        self.fail(where, f"key '{key}' must be {expected}, not {type_name(value)}{fix}")

    def missing(self, where: str, key: str) -> NoReturn:
        """Raise the message for a required key that is absent."""
        self.fail(where, f"missing key '{key}'; add {self.examples.get(key, f'{key} = …')}")

    def opt_text(self, where: str, table: Mapping[str, Any], key: str) -> str | None:
        """An optional non-empty string (subclasses decide on surrounding white space)."""
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, str):
            self.wrong_type(where, key, "a string", value)
        if not value.strip():
            self.fail(
                where, f"key '{key}' is empty; give a value, e.g. {self.examples.get(key, '')}"
            )
        return value

    def text(self, where: str, table: Mapping[str, Any], key: str) -> str:
        """A required non-empty string."""
        value = self.opt_text(where, table, key)
        if value is None:
            self.missing(where, key)
        return value

    def opt_bool(self, where: str, table: Mapping[str, Any], key: str) -> bool | None:
        """An optional boolean."""
        if key not in table:
            return None
        value = table[key]
        if not isinstance(value, bool):
            self.wrong_type(where, key, "true or false", value)
        return value
