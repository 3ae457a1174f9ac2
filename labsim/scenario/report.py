"""The terminal report of ``labsim run`` (contract: one line per step, a final count line).

Layout, for each scenario::

    <title> (<file>)
    ✔ step 1 (ems): Adatum: Get-TransportConfig
    ✘ step 2 (expect.delivered): 'Hello Trey' delivered to ben@treyresearch.net
        expected 'Hello Trey' in ben@treyresearch.net, found an empty inbox
        Adatum queue ADATUM-MBX1\\3: Retry, 1 message(s), NextHopDomain treyresearch.net, …

then a blank line, and after all scenarios the line ``N passed, M failed`` (scenarios counted)
alone. Step lines start with the mark so that they can be grepped; explanations and, with
``--explain``, the lab's decision notes are indented under their step. Pure text: the CLI prints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from labsim.scenario.model import Scenario
from labsim.scenario.runner import ScenarioResult, StepResult

__all__ = [
    "FAIL_MARK",
    "PASS_MARK",
    "format_report",
    "scenario_header",
    "scenario_lines",
    "step_lines",
    "summary_line",
]

PASS_MARK = "✔"
FAIL_MARK = "✘"
_DETAIL_INDENT = "    "
_NOTE_PREFIX = "    · "


def scenario_header(scenario: Scenario) -> str:
    """The header line of a scenario: its title and its file."""
    return f"{scenario.title} ({scenario.path})"


def step_lines(result: StepResult, *, explain: bool = False) -> list[str]:
    """The line of one step, then (on failure) its explanation and (with explain) its notes."""
    mark = PASS_MARK if result.passed else FAIL_MARK
    lines = [f"{mark} {result.step.label}: {result.description}"]
    if not result.passed:
        lines += [_DETAIL_INDENT + detail for detail in result.details]
    if explain:
        lines += [_NOTE_PREFIX + note for note in result.notes]
    return lines


def stopped_lines(result: ScenarioResult) -> list[str]:
    """The note for steps that did not run because the scenario stopped early."""
    if result.stopped is None:
        return []
    skipped = len(result.scenario.steps) - len(result.steps)
    if not skipped:
        return [f"  scenario {result.stopped}"]
    return [f"  scenario {result.stopped}; {skipped} later step(s) not run"]


def scenario_lines(result: ScenarioResult, *, explain: bool = False) -> list[str]:
    """The whole block of one scenario: header, step lines, stop note."""
    lines = [scenario_header(result.scenario)]
    for step in result.steps:
        lines += step_lines(step, explain=explain)
    return lines + stopped_lines(result)


def summary_line(results: Iterable[ScenarioResult]) -> str:
    """``N passed, M failed``, counting scenarios."""
    outcomes = [r.passed for r in results]
    return f"{outcomes.count(True)} passed, {outcomes.count(False)} failed"


def format_report(results: Sequence[ScenarioResult], *, explain: bool = False) -> str:
    """The full report: each scenario's block, a blank line after each, the summary line."""
    lines: list[str] = []
    for result in results:
        lines += scenario_lines(result, explain=explain)
        lines.append("")
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"
