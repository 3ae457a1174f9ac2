"""Reading the TOML files users write (lab files, scenario files): one place that turns a
missing file, a non-UTF-8 file or a TOML syntax error into one message naming the file and the
fix, and that names TOML value types in messages. Pure: stdlib only."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

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
