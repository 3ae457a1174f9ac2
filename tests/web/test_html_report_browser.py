"""``labsim run --html`` opened in the real headless Chromium: the failing step shows its ✘ and
the explanation as a reader sees them, the message's sequence diagram is drawn, and the page
runs no script (it has none, and its CSP allows none)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner
from web_helpers import screenshot_folder

from labsim.cli import cli

PARTNERS = Path(__file__).resolve().parents[2] / "labs" / "partners.toml"

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


def test_the_report_of_a_failing_scenario_shows_the_cross_and_why_in_a_browser(
    tmp_path: Path, browser: Any
) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(FAILING, encoding="utf-8")
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["run", "--certs", str(tmp_path / "certs"), "--html", str(report), str(scenario)]
    )
    assert result.exit_code == 1, result.output

    browser.get(report.as_uri())
    from selenium.webdriver.common.by import By

    failed = browser.find_element(By.CSS_SELECTOR, "li.fail")
    shown = failed.text
    assert "✘" in shown and "step 3 (expect.delivered)" in shown
    assert "454 4.7.5 Certificate validation failure" in shown
    diagram_text = " ".join(
        svg.text for svg in browser.find_elements(By.CSS_SELECTOR, "svg") if svg.is_displayed()
    )
    assert "UntrustedRoot" in diagram_text
    assert "CN=mail.treyresearch.net, O=TreyResearch" in diagram_text
    # Nothing ran: no script element, and the console has no errors from blocked content.
    assert browser.find_elements(By.TAG_NAME, "script") == []
    browser.save_screenshot(str(screenshot_folder() / "html-report-failing.png"))
