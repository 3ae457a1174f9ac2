"""The scenario of docs/scenarios.md that holds and clears a message (Suspend-Message -Filter,
Retry-Queue, Get-Message | Remove-Message) runs as pasted and passes on the real lab."""

from __future__ import annotations

from pathlib import Path

from labsim.lab import Lab
from labsim.scenario.loader import load_scenario
from labsim.scenario.model import Scenario
from labsim.scenario.report import format_report
from labsim.scenario.runner import LabLike, run_scenario

DOCS = Path(__file__).parents[2] / "docs" / "scenarios.md"
TITLE = 'title = "Hold one message while the partner is fixed, then clear it"'


def test_the_documented_hold_and_clear_scenario_passes(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```toml\n" + TITLE, 1)[1].split("```", 1)[0]
    path = tmp_path / "hold.toml"
    path.write_text(TITLE + example, encoding="utf-8")
    scenario = load_scenario(path)

    def factory(s: Scenario) -> LabLike:
        lab: LabLike = Lab.start(s.definition, cert_folder=tmp_path / "certs")
        return lab

    result = run_scenario(scenario, lab_factory=factory)
    assert result.passed, format_report([result], explain=True)
    assert [s.kind for s in scenario.steps][-2:] == ["expect.ndr", "expect.not_delivered"]
