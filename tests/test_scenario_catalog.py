"""Every shipped scenario passes on the real lab, and fails when its expected reply text is
altered by one character (issue: the break-fix catalog must pin Exchange's exact texts).

Each scenario runs in a fresh lab on a free port offset, through the same runner as
``labsim run``; the mutated copy keeps its lab reference by rewriting ``lab`` to an absolute path.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labsim.lab import Lab
from labsim.scenario.loader import load_scenario
from labsim.scenario.model import Scenario
from labsim.scenario.report import format_report
from labsim.scenario.runner import LabLike, run_scenario

ROOT = Path(__file__).resolve().parent.parent
CATALOG = sorted((ROOT / "scenarios" / "breakfix").glob("*.toml"))
SCENARIOS = [ROOT / "scenarios" / "domain-security-2013.toml", *CATALOG]
# An Exchange reply inside an expectation: code, enhanced status code, text.
REPLY = re.compile(r"[245]\d\d [245]\.\d{1,3}\.\d{1,3} [A-Za-z][^\"'}{]*[A-Za-z]")
LOG_TEXT = re.compile(r'contains = "([^"]*[A-Za-z][^"]*)"')


def run_report(scenario: Scenario, tmp_path: Path) -> tuple[bool, str]:
    """Whether the scenario passed, and its report with the decisions (--explain)."""

    def factory(s: Scenario) -> LabLike:
        lab: LabLike = Lab.start(s.definition, cert_folder=tmp_path / "certs")
        return lab

    result = run_scenario(scenario, lab_factory=factory)
    return result.passed, format_report([result], explain=not result.passed)


def run(scenario: Scenario, tmp_path: Path) -> bool:
    return run_report(scenario, tmp_path)[0]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_scenario_passes(path: Path, tmp_path: Path) -> None:
    passed, report = run_report(load_scenario(path), tmp_path)
    assert passed, f"{path.name} failed; run: labsim run {path}\n{report}"


def test_the_catalog_covers_every_case() -> None:
    # One file per case of the list (some cases share a file, some files show two).
    assert len(CATALOG) >= 18


@pytest.mark.parametrize("path", CATALOG, ids=lambda p: p.name)
def test_altering_the_expected_reply_by_one_character_fails(path: Path, tmp_path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    steps = text[text.index("[[step]]") :]
    # Only expectation lines hold the texts the scenario pins (not shell lines or comments).
    expectation_lines = [line for line in steps.splitlines() if line.startswith("expect.")]
    replies = [m.group(0) for line in expectation_lines for m in REPLY.finditer(line)]
    # A case that ends well (e.g. a tolerated CRL failure) pins its protocol-log line instead.
    replies += [m.group(1) for line in expectation_lines for m in LOG_TEXT.finditer(line)]
    assert replies, f"{path.name} pins no Exchange reply or log text in its expectations"
    original = replies[0]
    last = max(i for i, ch in enumerate(original) if ch.isalpha())
    altered = original[:last] + original[last].swapcase() + original[last + 1 :]
    # Alter it where the first expectation pins it (comments above may quote it too).
    line = next(line for line in expectation_lines if original in line)
    at = text.index(line)
    mutated = text[:at] + line.replace(original, altered, 1) + text[at + len(line) :]
    lab = re.search(r'^lab = "([^"]+)"', text, re.M)
    if lab and lab.group(1) != "default":
        target = (path.parent / lab.group(1)).resolve()
        mutated = mutated.replace(lab.group(0), f'lab = "{target.as_posix()}"', 1)
    copy = tmp_path / path.name
    copy.write_text(mutated, encoding="utf-8")
    assert not run(load_scenario(copy), tmp_path), (
        f"{path.name} still passes with '{original}' altered to '{altered}'"
    )
