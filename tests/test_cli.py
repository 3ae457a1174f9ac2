"""``labsim run`` and ``labsim demo`` through Click's CliRunner, over a fake lab.

The fake lab goes in through the documented seam ``labsim.scenario.runner.default_lab_factory``.
"""

from __future__ import annotations

import sys
import types
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labsim import __version__
from labsim.cli import cli
from labsim.errors import CmdletError, ConfigError
from labsim.model.lab import default_lab
from labsim.model.mail import DeliveredMessage, MessageView, QueueView
from labsim.scenario import runner
from labsim.scenario.model import Scenario
from labsim.scenario.runner import LabOptions

GOOD = """
title = "Transport config"
[[step]]
org = "Adatum"
ems = "Get-TransportConfig"
[[step]]
expect.output = "TLSSendDomainSecureList"
"""

FAILING = GOOD.replace('"TLSSendDomainSecureList"', '"treyresearch.net"')


@dataclass(frozen=True)
class Shell:
    output: str
    error: CmdletError | None = None


class TinyLab:
    """Answers every shell block with the same output; holds no mail."""

    def __init__(self) -> None:
        self.stopped = False
        self.engine_errors: list[object] = []

    def stop(self) -> None:
        self.stopped = True

    def run_shell(self, organization: str, text: str, server: str | None = None) -> Shell:
        return Shell("TLSSendDomainSecureList : {}")

    def send(
        self,
        *,
        mail_from: str,
        to: Sequence[str],
        subject: str,
        body: str = "",
        cc: Sequence[str] = (),
    ) -> str:
        return "<1@x>"

    def run_until_idle(self) -> None:
        pass

    def advance(self, seconds: float) -> None:
        pass

    def now(self) -> datetime:
        return datetime(2024, 1, 1, tzinfo=UTC)

    def inbox(self, address: str) -> tuple[DeliveredMessage, ...]:
        return ()

    def queues(self, organization: str, server: str | None = None) -> list[QueueView]:
        return []

    def messages(self, organization: str, queue: str | None = None) -> list[MessageView]:
        return []

    def protocol_log(self, organization: str, server: str, direction: str) -> list[str]:
        return []

    def tracking_log(self, organization: str, server: str | None = None) -> list[str]:
        return []

    def log_headers(self, organization: str, server: str | None, log: str) -> list[str]:
        return []

    def explain(self) -> list[str]:
        return ["chose receive connector Default Frontend ADATUM-CAS1"]


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default certificate folder (./certs/<lab>, checked before a run) goes here."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Scenario, LabOptions]]:
    """Replace the real lab with TinyLab; records what each start was asked for."""
    calls: list[tuple[Scenario, LabOptions]] = []

    def factory(scenario: Scenario, options: LabOptions) -> TinyLab:
        calls.append((scenario, options))
        return TinyLab()

    monkeypatch.setattr(runner, "default_lab_factory", factory)
    return calls


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_passing_scenario_exits_0(tmp_path: Path, started: list[object]) -> None:
    path = write(tmp_path, "good.toml", GOOD)
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Transport config ({path})",
        "✔ step 1 (ems): Adatum: Get-TransportConfig",
        "✔ step 2 (expect.output): output contains 'TLSSendDomainSecureList'",
        "",
        "1 passed, 0 failed",
    ]
    assert result.stderr == ""


def test_failing_expectation_exits_1(tmp_path: Path, started: list[object]) -> None:
    write(tmp_path, "s/a.toml", GOOD)
    write(tmp_path, "s/b.toml", FAILING)
    result = invoke("run", tmp_path / "s")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "✘ step 2 (expect.output): output contains 'treyresearch.net'" in lines
    assert lines[-1] == "1 passed, 1 failed"


def test_invalid_scenario_exits_2_with_one_line_and_starts_no_lab(
    tmp_path: Path, started: list[object]
) -> None:
    write(tmp_path, "s/a.toml", GOOD)
    bad = write(tmp_path, "s/b.toml", '[[step]]\nsend = { form = "april@adatum.com" }\n')
    result = invoke("run", tmp_path / "s")
    assert result.exit_code == 2
    assert result.stderr == (
        f"labsim: error: {bad}: step 1 (send): unknown key 'form'; did you mean 'from'?\n"
    )
    assert "Traceback" not in result.output
    assert started == []  # every file is checked before any lab starts


def test_missing_path_exits_2(tmp_path: Path, started: list[object]) -> None:
    result = invoke("run", tmp_path / "nope.toml")
    assert result.exit_code == 2
    assert result.stderr == (
        f"labsim: error: {tmp_path / 'nope.toml'}: no such file or directory; check the path\n"
    )


def test_bad_option_exits_2(tmp_path: Path, started: list[object]) -> None:
    path = write(tmp_path, "good.toml", GOOD)
    result = invoke("run", path, "--port-offset", "lots")
    assert result.exit_code == 2
    assert "Invalid value for '--port-offset'" in result.stderr
    assert "Traceback" not in result.output
    assert invoke("run").exit_code == 2  # FILE_OR_DIR is required


def test_lab_error_at_start_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(scenario: Scenario, options: LabOptions) -> TinyLab:
        raise ConfigError("cannot bind the lab's sockets; choose another with --port-offset")

    monkeypatch.setattr(runner, "default_lab_factory", refuse)
    result = invoke("run", write(tmp_path, "good.toml", GOOD))
    assert result.exit_code == 2
    assert result.stderr == (
        "labsim: error: cannot bind the lab's sockets; choose another with --port-offset\n"
    )


def test_options_reach_the_lab_factory(
    tmp_path: Path, started: list[tuple[Scenario, LabOptions]]
) -> None:
    write(tmp_path, "s/a.toml", GOOD)
    write(tmp_path, "s/sub/a.toml", GOOD)
    result = invoke(
        "run",
        tmp_path / "s",
        "--port-offset",
        "20000",
        "--certs",
        tmp_path / "c",
        "--logs",
        tmp_path / "logs",
    )
    assert result.exit_code == 0, result.output
    assert [options for _, options in started] == [
        LabOptions(
            cert_folder=tmp_path / "c", log_folder=tmp_path / "logs" / "a", port_offset=20000
        ),
        LabOptions(
            cert_folder=tmp_path / "c", log_folder=tmp_path / "logs" / "a-2", port_offset=20000
        ),
    ]


def test_default_cert_folder_is_certs_lab_name() -> None:
    from labsim.model.lab import default_lab

    assert runner.default_cert_folder(default_lab()) == Path("certs") / "default"


def test_explain_prints_notes(tmp_path: Path, started: list[object]) -> None:
    result = invoke("run", write(tmp_path, "good.toml", GOOD), "--explain")
    assert "    · chose receive connector Default Frontend ADATUM-CAS1" in result.stdout


def test_junit_is_written(tmp_path: Path, started: list[object]) -> None:
    junit = tmp_path / "out" / "junit.xml"
    result = invoke("run", write(tmp_path, "b.toml", FAILING), "--junit", junit)
    assert result.exit_code == 1
    case = ET.parse(junit).getroot().find("testsuite/testcase")
    assert case is not None and case.find("failure") is not None


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"labsim, version {__version__}\n"


def test_demo_calls_run_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Path, int | None, bool]] = []

    def run_demo(
        echo: Callable[[str], None],
        *,
        cert_folder: Path,
        port_offset: int | None,
        step: bool,
        **_: object,
    ) -> int:
        calls.append((cert_folder, port_offset, step))
        echo("Adatum and TreyResearch are up")
        return 0

    module = types.ModuleType("labsim.demo")
    module.run_demo = run_demo  # type: ignore[attr-defined]
    module.select_chapters = lambda **_: (types.SimpleNamespace(lab=default_lab()),)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "labsim.demo", module)
    result = invoke("demo", "--port-offset", "30000", "--step")
    assert result.exit_code == 0
    assert result.stdout == "Adatum and TreyResearch are up\n"
    assert calls == [(Path("certs") / "default", 30000, True)]


def test_checking_files_does_not_import_twisted() -> None:
    import subprocess

    code = "import sys, labsim.cli; sys.exit('twisted' in sys.modules)"
    root = Path(__file__).parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


def test_python_dash_m_labsim_is_the_same_command_line() -> None:
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "labsim", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("labsim, version ")
