"""JUnit XML for CI systems: one ``<testcase>`` per scenario (contract: ``--junit PATH``).

A failed scenario gets one ``<failure>`` whose text is the report lines of its failed steps;
every testcase carries its whole report block in ``<system-out>``. Written with
``xml.etree`` (no extra dependency); the layout is the common Jenkins/GitLab/Azure schema.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from labsim.scenario.report import scenario_lines, step_lines
from labsim.scenario.runner import ScenarioResult

__all__ = ["junit_tree", "write_junit"]

SUITE_NAME = "labsim"


def _classname(result: ScenarioResult) -> str:
    """``scenarios.x`` for ``scenarios/x.toml``: CI tools group test cases by this."""
    dotted = result.scenario.path.with_suffix("").as_posix().replace("/", ".")
    return dotted.strip(".") or SUITE_NAME


def junit_tree(results: Sequence[ScenarioResult]) -> ET.ElementTree:
    """The JUnit document for ``results``."""
    failed = sum(1 for r in results if not r.passed)
    total_time = sum(r.seconds for r in results)
    root = ET.Element("testsuites", tests=str(len(results)), failures=str(failed))
    root.set("errors", "0")
    root.set("time", f"{total_time:.3f}")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=SUITE_NAME,
        tests=str(len(results)),
        failures=str(failed),
        errors="0",
        skipped="0",
        time=f"{total_time:.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            name=result.scenario.title,
            classname=_classname(result),
            file=str(result.scenario.path),
            time=f"{result.seconds:.3f}",
        )
        if not result.passed:
            lines: list[str] = []
            for step in result.failures:
                lines += step_lines(step)
            first = result.failures[0] if result.failures else None
            message = (
                f"{first.step.label}: {first.details[0] if first.details else first.description}"
                if first is not None
                else result.stopped or "failed"
            )
            if result.stopped is not None:
                lines.append(f"scenario {result.stopped}")
            failure = ET.SubElement(case, "failure", message=message, type="ExpectationFailed")
            failure.text = "\n".join(lines)
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(scenario_lines(result))
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(results: Sequence[ScenarioResult], path: Path | str) -> None:
    """Write the JUnit XML of ``results`` to ``path`` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(results).write(path, encoding="utf-8", xml_declaration=True)
