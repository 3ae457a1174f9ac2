"""Scenario and lab file fuzzing: the project's own valid files, mutated as text and as data
(issue 10, what to build 5).

Each mutated file either loads or raises the one error type its loader uses (ConfigError for lab
files, ScenarioError for scenario files: a LabsimError, which the CLI prints as one message with
exit 2), never another exception. A lab file that loads must also start (or be refused with a
LabsimError): item 9 of the issue was inputs that pass validation and then crash.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from fuzz_helpers import running_lab
from fuzz_profiles import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from labsim.cli import cli
from labsim.errors import ConfigError, LabsimError, ScenarioError
from labsim.labfile import load_lab_file
from labsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
LAB_FILES = sorted((ROOT / "labs").glob("*.toml"))
SCENARIO_FILES = sorted((ROOT / "scenarios").rglob("*.toml"))

FRAGMENTS = [
    "=",
    " = 1",
    '"',
    "'''",
    "[",
    "]",
    "[[steps]]\n",
    "[x]\n",
    "\n",
    "\r",
    "#",
    "{",
    "}",
    ",",
    ".",
    "99999999999999d",
    "-1",
    "1e999",
    "nan",
    "inf",
    "\x00",
    "\u2028",
    "a" * 300,
]


def toml_value(value: Any) -> str:
    """A value as TOML (inline tables and arrays), for the data mutations."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(text, text)
    if isinstance(value, str):
        escaped = "".join(
            ch if ch.isprintable() and ch not in '"\\' else f"\\u{ord(ch):04x}" for ch in value
        )
        return f'"{escaped}"'
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_key(key: str) -> str:
    """A key, quoted as TOML needs."""
    return key if key.replace("_", "").replace("-", "").isalnum() else toml_value(key)


def toml_document(document: dict[str, Any]) -> str:
    """A whole document: one ``key = value`` line per top-level key."""
    return "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in document.items())


scalars = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 1, 2**31, 10**15, 100_000_000, -1_000_000, 1_000_000]),
    st.floats(allow_nan=False),
    st.booleans(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "99999999999999d",
            "999999999999MB",
            "36500d",
            "-5m",
            "1.5h",
            "Subject\r\nBcc: x@y",
            "a\rb",
            "http://[crl",
            "x" * 100,
            "ADATUM-CAS1",
            "adatum.com",
            "127.0.10.1",
            "10.0.0.1",
            "default",
        ]
    ),
)
# Two levels of lists and tables are enough to reach every kind of value the loaders read.
flat = (
    scalars
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=10), scalars, max_size=3)
)
values = flat | st.lists(flat, max_size=2) | st.dictionaries(st.text(max_size=10), flat, max_size=2)


@st.composite
def text_mutations(draw: st.DrawFn, files: list[Path]) -> str:
    """A valid file with a few characters deleted, duplicated, or replaced by a fragment."""
    text = draw(st.sampled_from(files)).read_text()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        how = draw(st.sampled_from(["delete", "duplicate", "insert"]))
        if how == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif how == "duplicate":
            end = at + draw(st.integers(1, 200))
            text = text[:end] + text[at:end] + text[end:]
        else:
            text = text[:at] + draw(st.sampled_from(FRAGMENTS)) + text[at:]
    return text


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@st.composite
def data_mutations(draw: st.DrawFn, files: list[Path]) -> str:
    """A valid file parsed, one to three values replaced (or keys dropped), written back."""
    document = tomllib.loads(draw(st.sampled_from(files)).read_text())
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = document
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return toml_document(document)


def check_loads_or_refuses(path: Path, text: str, loader: Any, error: type[LabsimError]) -> Any:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        return loader(path)
    except error as err:
        message = str(err)
        assert message.strip() and "Traceback" not in message, message
        return None


@fuzz_settings(fast=40, deep=3000)
@given(text=text_mutations(LAB_FILES) | data_mutations(LAB_FILES))
def test_mutated_lab_files_load_or_give_one_config_error(tmp_path: Path, text: str) -> None:
    definition = check_loads_or_refuses(tmp_path / "lab.toml", text, load_lab_file, ConfigError)
    if definition is None:
        return
    try:
        with running_lab(tmp_path / "certs", definition) as (lab, _errors):
            assert lab.run_until_idle()
    except LabsimError as err:
        assert str(err).strip()


@fuzz_settings(fast=80, deep=4000)
@given(text=text_mutations(SCENARIO_FILES) | data_mutations(SCENARIO_FILES))
def test_mutated_scenario_files_load_or_give_one_scenario_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "scenario.toml"
    if check_loads_or_refuses(path, text, load_scenario, ScenarioError) is None:
        # Refused: through the CLI that is one message and exit 2, no traceback.
        result = CliRunner().invoke(cli, ["run", str(path)])
        assert result.exit_code == 2, (result.output, result.exception)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
