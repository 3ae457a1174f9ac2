"""labsim's pytest plugin: labs as fixtures, scenario files as test items.

Registered through the ``pytest11`` entry point, so installing labsim is enough:

* ``lab``: a started lab for one test, stopped afterwards. The default lab, or the lab file
  named by ``@pytest.mark.lab("labs/partners.toml")`` (relative to the test file's folder).
* ``lab_factory``: ``lab_factory()`` / ``lab_factory("file.toml")`` / ``lab_factory(definition)``
  starts as many labs as a test needs; all are stopped afterwards.
* Every ``*.toml`` scenario file (a TOML file with top-level ``[[step]]`` tables) under the
  paths pytest is given is collected as one test item, so ``pytest scenarios/`` runs the
  catalog, with the same step report as ``labsim run --explain`` as the failure text.
  ``pytest -n auto scenarios/`` (pytest-xdist) runs them in parallel: each worker process
  starts its own labs with automatic port offsets.

Labs take automatic port offsets (two workers, or a lab a user is running, never collide) and
keep their certificates in a per-session folder, one subfolder per lab name, so a session
issues each lab's PKI once. A lab that recorded an engine error (a labsim bug answered on the
wire with a transient reply) fails the test at teardown: such a test would otherwise pass by
accident.

This module is imported by pytest in every environment where labsim is installed: it imports
nothing heavy (Twisted, OpenSSL) until a fixture or a scenario item runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from labsim.lab import Lab
    from labsim.model.lab import LabDefinition
    from labsim.scenario.model import Scenario
    from labsim.scenario.runner import ScenarioResult

__all__ = ["LabFactory", "ScenarioFailed"]

LabFactory = Callable[..., "Lab"]

_CERTS_KEY = pytest.StashKey[Path]()
_TEMPORARY_KEY = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("labsim")
    group.addoption(
        "--labsim-logs",
        metavar="DIR",
        default=None,
        help="write each scenario's Exchange-format log files under DIR/<scenario file name>",
    )
    group.addoption(
        "--labsim-certs",
        metavar="DIR",
        default=None,
        help="keep the labs' certificates under DIR/<lab name> (DIR/<xdist worker>/<lab name> "
        "with -n) and reuse them in later runs; default: a temporary folder per session",
    )
    parser.addini(
        "labsim_scenarios",
        "collect *.toml scenario files as test items (default true)",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lab(path): the lab file the `lab` fixture starts (relative to the test file's folder)",
    )


# --- fixtures ------------------------------------------------------------------------------


def _cert_root(config: pytest.Config) -> Path:
    """One certificate folder per test session (per xdist worker), made on first use and
    removed when the session ends."""
    if _CERTS_KEY not in config.stash:
        given = config.getoption("labsim_certs")
        if given is not None:
            worker = os.environ.get("PYTEST_XDIST_WORKER")
            folder = Path(given) / worker if worker else Path(given)
            folder.mkdir(parents=True, exist_ok=True)
        else:
            folder = Path(tempfile.mkdtemp(prefix="labsim-certs-"))
            config.stash[_TEMPORARY_KEY] = True
        config.stash[_CERTS_KEY] = folder
    return config.stash[_CERTS_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(_CERTS_KEY, None)
    if folder is not None and config.stash.get(_TEMPORARY_KEY, False):
        shutil.rmtree(folder, ignore_errors=True)


def _definition(spec: Any, base: Path) -> LabDefinition:
    from labsim.labfile import load_lab_file
    from labsim.model.lab import LabDefinition, default_lab

    if spec is None or spec == "default":
        return default_lab()
    if isinstance(spec, LabDefinition):
        return spec
    path = Path(spec)
    return load_lab_file(path if path.is_absolute() else base / path)


@pytest.fixture
def lab_factory(request: pytest.FixtureRequest) -> Iterator[LabFactory]:
    """Start labs for this test: ``lab_factory(spec=None, *, log_folder=None, start_time=None)``.

    ``spec`` is None (the default lab), a lab file path (relative to the test file's folder)
    or a :class:`labsim.model.lab.LabDefinition`. Every lab started is stopped after the test.
    """
    from labsim.lab import Lab

    started: list[Lab] = []
    base = Path(str(request.path)).parent

    def start(spec: Any = None, **options: Any) -> Lab:
        definition = _definition(spec, base)
        certs = _cert_root(request.config) / definition.name
        lab = Lab.start(definition, cert_folder=certs, port_offset=None, **options)
        started.append(lab)
        return lab

    try:
        yield start
    finally:
        bugs: list[str] = []
        for lab in reversed(started):
            bugs += [f"{bug.server} in {bug.where}: {bug.error}" for bug in lab.engine_errors]
            lab.stop()
    if bugs:
        pytest.fail("the lab recorded internal errors (labsim bugs):\n" + "\n".join(bugs))


@pytest.fixture
def lab(request: pytest.FixtureRequest, lab_factory: LabFactory) -> Lab:
    """A started lab: the default lab, or ``@pytest.mark.lab("file.toml")``'s."""
    marker = request.node.get_closest_marker("lab")
    spec = None
    if marker is not None:
        if len(marker.args) != 1:
            raise pytest.UsageError(
                f"{request.node.nodeid}: @pytest.mark.lab takes one lab file, e.g. "
                '@pytest.mark.lab("labs/partners.toml")'
            )
        spec = marker.args[0]
    return lab_factory(spec)


# --- scenario files as test items ----------------------------------------------------------


def _is_scenario(path: Path) -> bool:
    """A ``*.toml`` with top-level ``[[step]]`` tables; one that does not parse is collected
    (and reported) when it has a ``[[step]]`` line, so a broken scenario is never skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return any(line.strip() == "[[step]]" for line in text.splitlines())
    return isinstance(document.get("step"), list)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".toml" or not parent.config.getini("labsim_scenarios"):
        return None
    if not _is_scenario(file_path):
        return None
    collector: pytest.Collector = ScenarioFile.from_parent(parent, path=file_path)
    return collector


class ScenarioFailed(Exception):
    """A scenario whose steps did not all pass; carries the step report."""

    def __init__(self, result: ScenarioResult) -> None:
        # The short summary line (pytest -r) shows this: the first failed step and why.
        first = result.failures[0] if result.failures else None
        if first is None:
            summary = f"scenario {result.stopped}"
        else:
            why = first.details[0] if first.details else first.description
            summary = f"{first.step.label}: {why}"
        super().__init__(summary)
        self.result = result


class ScenarioFile(pytest.File):
    """One scenario file: one item, named after the scenario's title."""

    def collect(self) -> Iterator[pytest.Item]:
        from labsim.errors import LabsimError
        from labsim.scenario.loader import load_scenario

        try:
            scenario = load_scenario(self.path)
        except LabsimError as err:
            raise self.CollectError(str(err)) from None
        yield ScenarioItem.from_parent(self, name=scenario.title, scenario=scenario)


class ScenarioItem(pytest.Item):
    """Runs one scenario in a fresh lab, as ``labsim run`` does."""

    def __init__(self, *, scenario: Scenario, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario

    def runtest(self) -> None:
        from labsim.scenario import runner

        logs = self.config.getoption("labsim_logs")
        options = runner.LabOptions(
            cert_folder=_cert_root(self.config) / self.scenario.definition.name,
            log_folder=None if logs is None else Path(logs) / self.path.stem,
            port_offset=None,
        )
        result = runner.run_scenario(
            self.scenario,
            lab_factory=lambda s: runner.default_lab_factory(s, options),
            explain=True,
        )
        if not result.passed:
            raise ScenarioFailed(result)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | Any:
        if isinstance(excinfo.value, ScenarioFailed):
            from labsim.scenario.report import scenario_lines

            return "\n".join(scenario_lines(excinfo.value.result, explain=True))
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario: {self.scenario.title}"
