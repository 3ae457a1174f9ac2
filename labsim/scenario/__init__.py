"""Scenario files: TOML → steps (:mod:`.loader`, :mod:`.model`) → a run over a fresh lab
(:mod:`.runner`) → results → reports (:mod:`.report` for the terminal, :mod:`.junit` for CI).

Nothing here imports Twisted until a real lab is started (``runner.default_lab_factory``).
"""

from labsim.scenario.loader import discover, load_scenario
from labsim.scenario.model import Scenario
from labsim.scenario.runner import ScenarioResult, StepResult, run_scenario

__all__ = [
    "Scenario",
    "ScenarioResult",
    "StepResult",
    "discover",
    "load_scenario",
    "run_scenario",
]
