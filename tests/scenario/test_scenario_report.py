"""The terminal report (contract layout) and the JUnit XML, parsed back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from scenario_fakes import scenario_of

from labsim.scenario.junit import write_junit
from labsim.scenario.model import AdvanceStep, EmsStep, ExpectOutput, SendStep
from labsim.scenario.report import format_report, summary_line
from labsim.scenario.runner import ScenarioResult, StepResult

EMS = EmsStep(number=1, org="Adatum", server=None, ems="Get-TransportConfig")
OUTPUT = ExpectOutput(number=2, text="treyresearch.net")
SEND = SendStep(number=1, from_="april@adatum.com", to=("ben@treyresearch.net",), subject="Hi")
ADVANCE = AdvanceStep(number=2, seconds=60, text="1m")


def results() -> list[ScenarioResult]:
    failing = ScenarioResult(
        scenario_of(EMS, OUTPUT, title="Trust"),
        (
            StepResult(EMS, True, "Adatum: Get-TransportConfig", notes=("note one",)),
            StepResult(
                OUTPUT,
                False,
                "output contains 'treyresearch.net'",
                (
                    "expected the output of step 1 (ems) to contain 'treyresearch.net', found:",
                    "  x",
                ),
                ("note two",),
            ),
        ),
        seconds=1.5,
    )
    passing = ScenarioResult(
        scenario_of(SEND, ADVANCE, title="Mail"),
        (StepResult(SEND, True, "send"), StepResult(ADVANCE, True, "lab clock +1m")),
        seconds=0.5,
    )
    return [failing, passing]


def test_report_layout() -> None:
    assert format_report(results()) == (
        "Trust (scenarios/t.toml)\n"
        "✔ step 1 (ems): Adatum: Get-TransportConfig\n"
        "✘ step 2 (expect.output): output contains 'treyresearch.net'\n"
        "    expected the output of step 1 (ems) to contain 'treyresearch.net', found:\n"
        "      x\n"
        "\n"
        "Mail (scenarios/t.toml)\n"
        "✔ step 1 (send): send\n"
        "✔ step 2 (advance): lab clock +1m\n"
        "\n"
        "1 passed, 1 failed\n"
    )


def test_report_with_explain_shows_notes_under_steps() -> None:
    text = format_report(results()[:1], explain=True)
    assert "✔ step 1 (ems): Adatum: Get-TransportConfig\n    · note one\n" in text
    assert text.splitlines()[-1] == "0 passed, 1 failed"


def test_stopped_scenario_counts_as_failed_and_says_why() -> None:
    stopped = ScenarioResult(
        scenario_of(SEND, ADVANCE),
        (StepResult(SEND, False, "send", ("the lab refused it: no",)),),
        stopped="stopped at step 1 (send): no",
    )
    text = format_report([stopped])
    assert "  scenario stopped at step 1 (send): no; 1 later step(s) not run\n" in text
    assert summary_line([stopped]) == "0 passed, 1 failed"


def test_junit_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "labsim.xml"
    write_junit(results(), path)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["Trust", "Mail"]
    assert cases[0].get("classname") == "scenarios.t"
    assert cases[0].get("file") == "scenarios/t.toml"
    assert cases[0].get("time") == "1.500"
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == (
        "step 2 (expect.output): expected the output of step 1 (ems) to contain "
        "'treyresearch.net', found:"
    )
    assert failure.text is not None
    assert failure.text.splitlines()[0] == (
        "✘ step 2 (expect.output): output contains 'treyresearch.net'"
    )
    assert cases[1].find("failure") is None
    out = cases[1].find("system-out")
    assert out is not None and out.text is not None
    assert out.text.splitlines()[1] == "✔ step 1 (send): send"
