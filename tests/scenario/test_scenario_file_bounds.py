"""Scenario files that pass tomllib's grammar but not labsim's bounds (issue 10 item 9):
nesting thousands of levels deep (tomllib recursed until RecursionError, a traceback), dotted
keys with thousands of parts (quadratic time and memory), files that are not regular files or
are too large, and an empty FILE_OR_DIR."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from labsim.errors import ScenarioError
from labsim.inputfiles import TOML_FILE_LIMIT
from labsim.scenario.loader import discover, load_scenario
from labsim.tomlfiles import MAX_NESTING, nesting_problem

Write = Callable[..., Path]
STEP = '[[step]]\norg = "Adatum"\nems = "Get-TransportConfig"\n'


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("[" * 5000 + "]" * 5000, "arrays and inline tables nest more than 32 levels deep"),
        ("{a=" * 5000 + "1" + "}" * 5000, "arrays and inline tables nest more than 32 levels deep"),
    ],
)
def test_deep_nesting_is_one_message(write_toml: Write, value: str, what: str) -> None:
    path = write_toml(f'title = "deep"\nx = {value}\n' + STEP)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: line 2: {what}, labsim's limit; flatten the value"


def test_a_dotted_key_with_thousands_of_parts_is_refused(write_toml: Write) -> None:
    path = write_toml(STEP + "[x." + ".".join(["a"] * 10000) + "]\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{path}: line 4: a dotted key has more than 32 parts, labsim's limit; write fewer parts"
    )


def test_the_limits_are_exact() -> None:
    assert nesting_problem("x = " + "[" * MAX_NESTING + "]" * MAX_NESTING) is None
    assert nesting_problem("x = " + "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1))
    assert nesting_problem(".".join(["a"] * MAX_NESTING) + " = 1") is None
    assert nesting_problem(".".join(["a"] * (MAX_NESTING + 1)) + " = 1")


@pytest.mark.parametrize(
    "text",
    [
        'x = "' + "[" * 100 + '"',  # brackets in strings do not nest
        "x = '" + "{" * 100 + "'",
        'x = """\n' + "[" * 100 + '\n"""',
        "x = '''\n" + "[" * 100 + "\n'''",
        'x = """a\\""" [[[ """',  # an escaped quote does not end the string
        "# " + "[" * 100,  # nor in comments
        'x = """ends with quotes"""""\ny = 1',
        "x = [" + "1.5, " * 100 + "2.5]",  # floats are not dotted keys
        '[a."b.c".d]\n',
        "t = 1979-05-27T07:32:00.999",
    ],
)
def test_strings_comments_and_floats_do_not_count(text: str) -> None:
    assert nesting_problem(text) is None


def test_every_shipped_toml_file_is_within_the_limits() -> None:
    root = Path(__file__).parents[2]
    files = [*root.glob("scenarios/**/*.toml"), *root.glob("labs/*.toml")]
    assert files
    for path in files:
        assert nesting_problem(path.read_text(encoding="utf-8")) is None, path


def test_a_file_over_the_size_limit_is_refused(write_toml: Write) -> None:
    path = write_toml(STEP + "#" * TOML_FILE_LIMIT + "\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{path}: is larger than 1 MB, labsim's limit for this kind of file; give a smaller file"
    )


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "steps.toml"
    os.mkfifo(path)
    assert discover([path]) == [path]
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{path}: is a FIFO (named pipe), not a regular file; labsim reads only regular files: "
        "save the content to a file and give its path"
    )


def test_an_empty_path_is_not_the_current_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="an empty path was given"):
        discover([""])
