"""``labsim run --html FILE``: a self-contained report of a real run; a failing scenario shows
its ✘ with the explanation, and the sequence diagram of its message; hostile text stays text."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner
from pytest import MonkeyPatch

from labsim.cli import cli
from tests.render.conftest import ROOT

PARTNERS = ROOT / "labs" / "partners.toml"

# The partner lab with TreyResearch's root missing at Adatum (break-fix 01's mistake), and an
# expectation that the message arrives: it fails, with the queue's LastError as explanation.
FAILING = f"""
title = "Adatum expects the green check"
lab = "{PARTNERS}"

[[step]]
org = "TreyResearch"
ems = 'Import-Certificate -FilePath Adatum\\root-ca.cer -CertStoreLocation Cert:\\LocalMachine\\Root'

[[step]]
send = {{ from = "april@adatum.com", to = ["ben@treyresearch.net"], subject = "Quarterly report" }}

[[step]]
expect.delivered = {{ to = "ben@treyresearch.net", subject = "Quarterly report", domain_secured = true }}
"""

HOSTILE_SUBJECT = (
    '<script>alert(1)</script>"><img src=x onerror=alert(2)><a href="javascript:alert(3)">x</a>'
)


def _run(tmp_path: Path, text: str) -> tuple[int, str, str]:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(text, encoding="utf-8")
    report = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(
        cli, ["run", "--certs", str(tmp_path / "certs"), "--html", str(report), str(scenario)]
    )
    return result.exit_code, result.output, report.read_text(encoding="utf-8")


def test_failing_scenario_report_shows_the_cross_and_why(tmp_path: Path) -> None:
    code, output, report = _run(tmp_path, FAILING)
    assert code == 1, output
    assert "0 passed, 1 failed" in report
    failed = re.search(r'<li class="fail">(.*?)</li>', report, re.S)
    assert failed is not None
    item = failed.group(1)
    assert "\u2718" in item and "step 3 (expect.delivered)" in item
    # The explanation the terminal prints under the ✘ is in the report too.
    assert "454 4.7.5 Certificate validation failure" in item
    # The message's sequence diagram: the sending side refused TreyResearch's certificate.
    svgs = re.findall(r"<svg .*?</svg>", report, re.S)
    diagram = next(s for s in svgs if "ADATUM-MBX1" in s and "Quarterly report" in s)
    root = ET.fromstring(diagram)
    text = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "UntrustedRoot" in text and "CN=mail.treyresearch.net, O=TreyResearch" in text
    # Self-contained: no script, nothing fetched.
    assert (
        "<script" not in report
        and "src=" not in report
        and "http://" not in report.split("<svg")[0]
    )


def test_hostile_subject_stays_text_in_the_report(tmp_path: Path) -> None:
    text = f"""
title = "Hostile subject"
[[step]]
send = {{ from = "april@adatum.com", to = ["april@adatum.com"], subject = '{HOSTILE_SUBJECT}' }}
[[step]]
expect.delivered = {{ to = "april@adatum.com", subject = '{HOSTILE_SUBJECT}' }}
"""
    code, output, report = _run(tmp_path, text)
    assert code == 0, output
    assert "<script" not in report and "<img" not in report and '<a href="javascript' not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_html_to_a_folder_is_refused_before_any_lab_starts(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(FAILING, encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--html", str(tmp_path), str(scenario)])
    assert result.exit_code == 2
    assert "'--html'" in result.output and "is a directory" in result.output


def test_html_in_a_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(FAILING, encoding="utf-8")
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--html", str(blocker / "r.html"), str(scenario)])
    assert result.exit_code == 2
    assert f"--html {blocker / 'r.html'}: {blocker} is not a folder" in result.output


def test_report_of_a_fake_lab_has_steps_and_no_diagrams(
    tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    # The documented seam: a lab without records (tests' fakes) still gets its report.
    from labsim.scenario import runner
    from tests.test_cli import FAILING as FAKE_FAILING
    from tests.test_cli import TinyLab

    monkeypatch.setattr(runner, "default_lab_factory", lambda s, o: TinyLab())
    monkeypatch.chdir(tmp_path)
    code, output, report = _run(tmp_path, FAKE_FAILING)
    assert code == 1, output
    assert '<li class="fail">' in report and "step 2 (expect.output)" in report
    assert "<svg" not in report
