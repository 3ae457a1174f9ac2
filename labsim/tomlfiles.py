"""Reading the TOML files users write (lab files, scenario files): one place that turns a
missing file, a non-UTF-8 file or a TOML syntax error into one message naming the file and the
fix, and that names TOML value types in messages. Pure: stdlib only."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

from labsim.errors import LabsimError


def read_toml(path: Path, error: type[LabsimError], what: str) -> dict[str, Any]:
    """The document in ``path``; every problem raises ``error`` with one message.

    ``what`` names the kind of file in messages ("file", "lab file").
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}; check the path") from None
    except OSError as err:
        raise error(f"{path}: cannot read the {what}: {err.strerror or err}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # tomllib's message ends with "(at line L, column C)": the place the user needs.
        raise error(f"{path}: invalid TOML: {err}; fix the syntax there") from None


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
