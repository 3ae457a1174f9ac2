"""Fixtures of the drawing tests: real labs that ran scenarios and are kept running for the
records to be read, stopped at the end of the module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from labsim.lab import Lab
from labsim.scenario import runner
from labsim.scenario.loader import load_scenario
from labsim.scenario.runner import ScenarioResult

ROOT = Path(__file__).resolve().parents[2]
WALKTHROUGH = ROOT / "scenarios" / "domain-security-2013.toml"


RunKept = Callable[..., tuple[Lab, ScenarioResult]]


class _Kept:
    """The lab as the runner sees it, but its ``stop`` waits for the end of the module."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab

    def stop(self) -> None:
        """Kept running: the test reads its records after the scenario."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)


@pytest.fixture(scope="module")
def run_kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunKept]:
    """Run a scenario file (its first ``steps`` steps) and return its lab still running."""
    labs: list[Lab] = []

    def run(path: Path, *, steps: int | None = None) -> tuple[Lab, ScenarioResult]:
        scenario = load_scenario(path)
        if steps is not None:
            scenario = replace(scenario, steps=scenario.steps[:steps])
        lab = Lab.start(scenario.definition, cert_folder=tmp_path_factory.mktemp("certs"))
        labs.append(lab)
        kept: Any = _Kept(lab)
        result = runner.run_scenario(scenario, lab_factory=lambda _s: kept)
        return lab, result

    try:
        yield run
    finally:
        for lab in labs:
            lab.stop()


@pytest.fixture(scope="module")
def walkthrough(run_kept: RunKept) -> Lab:
    """The default lab after the Exchange 2013 walkthrough: one message each way, delivered
    domain-secured."""
    lab, result = run_kept(WALKTHROUGH)
    assert result.passed, [s.details for s in result.failures]
    return lab
