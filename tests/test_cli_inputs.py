"""Hostile command-line input (issue 10 item 10): every file and folder a command takes is
checked before a lab starts, and a bad one is one ``labsim: error:`` line, exit 2, no traceback.

* ``--logs`` and ``--certs`` naming something that is not a writable folder (/dev/null, a
  folder under /proc) are refused up front by every command that starts a lab;
* a lab file, a scenario file or a lab named by a scenario that is not a regular file (a FIFO,
  /dev/zero) is refused without reading it (it used to block, or read forever);
* an empty FILE_OR_DIR (``labsim run ""``, an unset shell variable) is refused instead of
  running every scenario under the current directory.

Commands that would start a real lab run as subprocesses with a bound, so that the old
behaviour (a lab that serves forever, a read that never ends) fails the test instead of hanging
the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labsim.cli import cli
from labsim.model.lab import default_lab
from labsim.scenario import runner
from labsim.scenario.model import Scenario
from labsim.scenario.runner import LabOptions

GOOD = '[[step]]\norg = "Adatum"\nems = "Get-TransportConfig"\n'
BOUND = 60.0
LABSIM = [sys.executable, "-c", "from labsim.cli import main; main()"]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default folders (./certs/<lab>) go to the test's own folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Scenario]:
    """No real lab: a start is recorded and fails the test (it must not happen)."""
    calls: list[Scenario] = []

    def factory(scenario: Scenario, options: LabOptions) -> object:
        calls.append(scenario)
        raise AssertionError("a lab was started")

    monkeypatch.setattr(runner, "default_lab_factory", factory)
    return calls


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labsim: error: "), result.stderr
    return lines[0]


def labsim(cwd: Path, *args: str) -> tuple[int, str]:
    """``labsim ARGS`` in a subprocess: its exit status and stderr, within BOUND seconds."""
    done = subprocess.run(
        [*LABSIM, *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=False,
    )
    return done.returncode, done.stderr


def fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


# -- FILE_OR_DIR ---------------------------------------------------------------------------------


def test_run_refuses_an_empty_path(tmp_path: Path, started: list[Scenario]) -> None:
    (tmp_path / "here.toml").write_text(GOOD, encoding="utf-8")
    line = one_error_line(invoke("run", ""))
    assert line == (
        "labsim: error: an empty path was given; name a scenario file or a directory "
        "(use . for the current directory)"
    )
    assert started == []


def test_run_refuses_a_fifo_without_blocking(tmp_path: Path, started: list[Scenario]) -> None:
    path = fifo(tmp_path, "steps.toml")
    line = one_error_line(invoke("run", path))
    assert line == (
        f"labsim: error: {path}: is a FIFO (named pipe), not a regular file; labsim reads only "
        "regular files: save the content to a file and give its path"
    )


def test_run_refuses_a_device(started: list[Scenario]) -> None:
    line = one_error_line(invoke("run", "/dev/zero"))
    assert line.startswith("labsim: error: /dev/zero: is a device, not a regular file")


def test_a_scenario_whose_lab_is_a_fifo(tmp_path: Path, started: list[Scenario]) -> None:
    fifo(tmp_path, "lab.toml")
    scenario = tmp_path / "s.toml"
    scenario.write_text('lab = "lab.toml"\n' + GOOD, encoding="utf-8")
    line = one_error_line(invoke("run", scenario))
    assert "lab.toml: is a FIFO (named pipe), not a regular file" in line


# -- --lab ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["up", "shell"])
def test_lab_that_is_not_a_regular_file(tmp_path: Path, command: str) -> None:
    path = fifo(tmp_path, "lab.toml")
    for lab, kind in ((str(path), "a FIFO (named pipe)"), ("/dev/zero", "a device")):
        status, err = labsim(tmp_path, command, "--lab", lab)
        assert status == 2, err
        assert "Traceback" not in err
        assert err == (
            f"labsim: error: {lab}: is {kind}, not a regular file; labsim reads only regular "
            "files: save the content to a file and give its path\n"
        )


def test_an_empty_lab_is_refused() -> None:
    assert one_error_line(invoke("up", "--lab", "")) == (
        'labsim: error: --lab: empty; give "default" (the built-in lab) or a lab file'
    )


# -- --logs and --certs ---------------------------------------------------------------------------


def test_run_checks_logs_and_certs_before_any_lab(tmp_path: Path, started: list[Scenario]) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(GOOD, encoding="utf-8")
    for option in ("--logs", "--certs"):
        assert one_error_line(invoke("run", scenario, option, "/dev/null")) == (
            f"labsim: error: {option} /dev/null: is not a folder; give a folder, e.g. "
            f"{option} ./{option[2:]}"
        )
        line = one_error_line(invoke("run", scenario, option, "/proc/labsim-test"))
        assert line.startswith(f"labsim: error: {option} /proc/labsim-test: cannot write there (")
        assert line.endswith(f"give a folder you can write to, e.g. {option} ./{option[2:]}")
    assert started == []


def test_run_checks_the_default_certificate_folder(tmp_path: Path, started: list[Scenario]) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(GOOD, encoding="utf-8")
    (tmp_path / "certs").write_text("not a folder", encoding="utf-8")
    line = one_error_line(invoke("run", scenario))
    assert line.startswith(
        "labsim: error: certs/default (the default of --certs): cannot write there ("
    )


def test_demo_checks_certs(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def run_demo(echo: Callable[[str], None], *, cert_folder: Path, **_: object) -> int:
        calls.append(cert_folder)
        return 0

    module = types.ModuleType("labsim.demo")
    module.run_demo = run_demo  # type: ignore[attr-defined]
    module.select_chapters = lambda **_: (types.SimpleNamespace(lab=default_lab()),)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "labsim.demo", module)
    line = one_error_line(invoke("demo", "--certs", "/dev/null"))
    assert line.startswith("labsim: error: --certs /dev/null: is not a folder")
    assert calls == []


@pytest.mark.parametrize(
    ("command", "option", "folder"),
    [
        ("up", "--logs", "/dev/null"),
        ("up", "--certs", "/proc/labsim-test"),
        ("shell", "--logs", "/proc/labsim-test"),
        ("shell", "--certs", "/dev/null"),
    ],
)
def test_live_commands_check_logs_and_certs_before_the_lab_starts(
    tmp_path: Path, command: str, option: str, folder: str
) -> None:
    status, err = labsim(tmp_path, command, option, folder)
    assert status == 2, err
    assert "Traceback" not in err
    assert err.startswith(f"labsim: error: {option} {folder}: ")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "certs").exists()  # nothing of a lab was made


def test_run_checks_the_junit_folder_before_any_lab(
    tmp_path: Path, started: list[Scenario]
) -> None:
    # The file is written after the whole run; an unwritable place used to fail only then.
    scenario = tmp_path / "s.toml"
    scenario.write_text(GOOD, encoding="utf-8")
    assert one_error_line(invoke("run", scenario, "--junit", "/dev/null/out.xml")) == (
        "labsim: error: --junit /dev/null/out.xml: /dev/null is not a folder; give a file in a "
        "folder you can write to, e.g. --junit ./junit.xml"
    )
    line = one_error_line(invoke("run", scenario, "--junit", "/proc/labsim-test/out.xml"))
    assert line.startswith("labsim: error: --junit /proc/labsim-test/out.xml: cannot write there")
    assert started == []
