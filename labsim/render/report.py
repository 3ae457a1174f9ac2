"""The HTML report of ``labsim run --html FILE``: one self-contained page (no script, no
external file) for CI artifacts: the summary, then for each scenario its steps ✔/✘ with the
explanation of each failure and the lab's decision notes, the sequence diagram of each message
the scenario's lab carried, and the lab's topology as it ended.

Pure: it takes the runner's results and the records the CLI captured from each lab before it
stopped (:class:`ScenarioRun`), and returns text. Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from labsim.render.html import escape, page
from labsim.render.paths import MessagePath
from labsim.render.sequence import sequence_svg
from labsim.render.topology import Topology, topology_svg
from labsim.scenario.model import EmsStep
from labsim.scenario.report import FAIL_MARK, PASS_MARK, summary_line
from labsim.scenario.runner import ScenarioResult, StepResult

__all__ = ["ScenarioRun", "html_report"]


@dataclass(frozen=True)
class ScenarioRun:
    """One scenario's result and what its lab showed before it stopped: the path of every
    message it carried (in the order they were submitted), the Message-IDs its ``send`` steps
    returned (step number → Message-ID), and its topology (None when the lab could not be
    read, e.g. a fake lab in tests)."""

    result: ScenarioResult
    paths: tuple[MessagePath, ...] = ()
    sent: tuple[tuple[int, str], ...] = ()
    topology: Topology | None = None


def _mark(passed: bool) -> str:
    label = "passed" if passed else "failed"
    glyph = PASS_MARK if passed else FAIL_MARK
    return f'<span class="mark" role="img" aria-label="{label}" title="{label}">{glyph}</span>'


def _step(result: StepResult) -> str:
    css = "pass" if result.passed else "fail"
    parts = [
        f'<li class="{css}">{_mark(result.passed)}{escape(result.step.label)}: '
        f"{escape(result.description)}"
    ]
    if not result.passed and result.details:
        parts.append("<pre>" + escape("\n".join(result.details)) + "</pre>")
    step = result.step
    if isinstance(step, EmsStep) and len(step.lines) > 1:
        parts.append(
            "<details><summary>shell lines</summary><pre>"
            + escape("\n".join(step.lines))
            + "</pre></details>"
        )
    if result.notes:
        parts.append(
            '<details><summary>decision notes</summary><ul class="notes">'
            + "".join(f"<li>{escape(note)}</li>" for note in result.notes)
            + "</ul></details>"
        )
    parts.append("</li>")
    return "".join(parts)


def _scenario(index: int, run: ScenarioRun) -> str:
    result = run.result
    css = "pass" if result.passed else "fail"
    out = [
        f'<section id="scenario-{index}">',
        f'<h2 class="{css}">{_mark(result.passed)}{escape(result.scenario.title)}</h2>',
        f'<p class="meta">{escape(result.scenario.path)} · {len(result.steps)} step(s) · '
        f"{result.seconds:.1f} s</p>",
        '<ol class="steps">',
        *(_step(step) for step in result.steps),
        "</ol>",
    ]
    if result.stopped is not None:
        skipped = len(result.scenario.steps) - len(result.steps)
        out.append(
            f'<p class="fail">Scenario {escape(result.stopped)}'
            + (f"; {skipped} later step(s) not run" if skipped else "")
            + "</p>"
        )
    if run.paths:
        out.append("<h3>Messages</h3>")
        steps_of: dict[str, int] = {}
        for number, message_id in run.sent:
            steps_of.setdefault(message_id, number)
        for path in run.paths:
            sent_by = steps_of.get(path.message_id)
            caption = f"'{path.subject}' from {path.sender or '(null sender)'}"
            if sent_by is not None:
                caption = f"step {sent_by}: {caption}"
            # The diagram states the outcome itself; the caption names the message.
            out.append(
                f"<figure><figcaption>{escape(caption)}</figcaption>{sequence_svg(path)}</figure>"
            )
    if run.topology is not None:
        out.append("<h3>Topology at the end of the scenario</h3>")
        out.append(f"<figure>{topology_svg(run.topology)}</figure>")
    out.append("</section>")
    return "\n".join(out)


def html_report(runs: Sequence[ScenarioRun], *, generated: datetime | None = None) -> str:
    """The whole report page."""
    results = [run.result for run in runs]
    passed = all(r.passed for r in results)
    when = f" · generated {generated:%Y-%m-%d %H:%M:%S %Z}" if generated else ""
    body = [
        "<header><h1>labsim scenario report</h1>",
        f'<p class="summary {"pass" if passed else "fail"}">{_mark(passed)}'
        f"{escape(summary_line(results))}</p>",
        f'<p class="meta">{len(results)} scenario(s){escape(when)}</p></header>',
        "<nav><ol>",
        *(
            f'<li><a href="#scenario-{i}">{_mark(r.passed)}{escape(r.scenario.title)}</a></li>'
            for i, r in enumerate(results, start=1)
        ),
        "</ol></nav>",
        *(_scenario(i, run) for i, run in enumerate(runs, start=1)),
    ]
    return page(f"labsim report: {summary_line(results)}", "\n".join(body))
