"""The pytest plugin as a user meets it: installed through the pytest11 entry point, a fresh
pytest process in a folder of its own, scenario files collected as items, the `lab` and
`lab_factory` fixtures, and pytest-xdist running scenarios on two workers."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PASSING = """\
title = "Adatum mail stays inside Adatum"

[[step]]
send = { from = "april@adatum.com", to = ["ed@adatum.com"], subject = "Inside" }

[[step]]
expect.delivered = { to = "ed@adatum.com", subject = "Inside" }
"""

FAILING = """\
title = "A delivery that cannot happen"

[[step]]
send = { from = "april@adatum.com", to = ["ben@treyresearch.net"], subject = "Hi" }

[[step]]
expect.delivered = { to = "ben@treyresearch.net", subject = "Hi", domain_secured = true }
"""

DOCS = REPO / "docs" / "pytest.md"


def _docs_example() -> str:
    """The test module docs/pytest.md tells users to save (its first python block)."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    return text[start : text.index("```", start)]


MORE_USER_TESTS = """\
def test_default_lab(lab):
    lab.send(mail_from="april@adatum.com", to=["ed@adatum.com"], subject="Hi Ed")
    assert [m.subject for m in lab.inbox("ed@adatum.com")] == ["Hi Ed"]


def test_two_labs(lab_factory):
    first, second = lab_factory(), lab_factory()
    assert first.listening_ports("ADATUM-CAS1") != second.listening_ports("ADATUM-CAS1")
"""


def _pytest(folder: Path, *args: str) -> tuple[int, str, dict[str, str]]:
    """Run pytest in ``folder``; the exit code, the output and each test's outcome."""
    junit = folder / "junit.xml"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes: dict[str, str] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            outcomes[case.get("name", "")] = kinds[0] if kinds else "passed"
    return run.returncode, run.stdout + run.stderr, outcomes


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user's project: two scenarios, a lab file, their own tests."""
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "inside.toml").write_text(PASSING)
    (tmp_path / "scenarios" / "broken-expectation.toml").write_text(FAILING)
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "partners.toml").write_text((REPO / "labs" / "partners.toml").read_text())
    (tmp_path / "test_partners.py").write_text(_docs_example())
    (tmp_path / "test_more.py").write_text(MORE_USER_TESTS)
    return tmp_path


def test_the_plugin_is_registered_for_pytest() -> None:
    names = {e.name: e.value for e in importlib.metadata.entry_points(group="pytest11")}
    assert names.get("labsim") == "labsim.pytest_plugin"


def test_scenarios_and_fixtures_as_a_user_runs_them(project: Path) -> None:
    code, output, outcomes = _pytest(project)
    assert code == 1, output
    assert outcomes == {
        "Adatum mail stays inside Adatum": "passed",
        "A delivery that cannot happen": "failure",
        "test_mail_to_treyresearch_is_domain_secured": "passed",
        "test_an_untrusted_partner_root_queues_the_mail": "passed",
        "test_two_days_later_april_gets_an_ndr": "passed",
        "test_default_lab": "passed",
        "test_two_labs": "passed",
    }, output
    # The failure text is labsim run's step report, with the decisions that explain it.
    assert "✘ step 2 (expect.delivered)" in output
    assert "found an empty inbox" in output
    assert "ROUTING.NoConnectorForAddressType" in output


def test_the_lab_file_is_not_taken_for_a_scenario(project: Path) -> None:
    code, output, outcomes = _pytest(project, "labs/partners.toml")
    # Nothing collected: pytest's own exit status 4 for "no tests" when a path yields nothing.
    assert code in (4, 5), output
    assert outcomes == {}


def test_a_broken_scenario_is_a_collection_error_that_names_the_fix(project: Path) -> None:
    (project / "scenarios" / "typo.toml").write_text(
        'title = "typo"\n\n[[step]]\nsendd = { from = "april@adatum.com" }\n'
    )
    code, output, _ = _pytest(project, "scenarios")
    assert code == 2, output
    assert "typo.toml: step 1: unknown key 'sendd'; did you mean 'send'?" in output
    assert "Traceback" not in output


def test_scenarios_run_on_two_xdist_workers(project: Path) -> None:
    (project / "scenarios" / "broken-expectation.toml").unlink()
    for n in range(3):
        (project / "scenarios" / f"copy-{n}.toml").write_text(
            PASSING.replace("stays inside Adatum", f"stays inside Adatum ({n})")
        )
    certs = project / "kept-certs"
    code, output, outcomes = _pytest(project, "-n", "2", "--labsim-certs", str(certs), "scenarios")
    assert code == 0, output
    assert len(outcomes) == 4 and set(outcomes.values()) == {"passed"}, output
    assert "2 workers" in output
    # Each worker keeps its own copy (two labs never write one folder at once).
    kept = sorted(p.relative_to(certs).as_posix() for p in certs.glob("gw*/default"))
    assert kept == ["gw0/default", "gw1/default"], output
