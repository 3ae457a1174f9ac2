"""The walkthrough scenario through the real CLI and the real lab (sockets, TLS, DNS).

Done-when of the walkthrough issue: ``labsim run scenarios/domain-security-2013.toml`` exits 0,
and the same file with one expectation inverted exits 1 naming the expectation and why; the
demo runs the same walkthrough and ends with both inboxes domain-secured.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from labsim.cli import cli
from labsim.demo import run_demo

ROOT = Path(__file__).resolve().parent.parent
WALKTHROUGH = ROOT / "scenarios" / "domain-security-2013.toml"


def test_walkthrough_scenario_passes(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--certs", str(tmp_path / "certs"), str(WALKTHROUGH)])
    assert result.exit_code == 0, result.output
    assert "✘" not in result.output
    assert result.output.rstrip().splitlines()[-1] == "1 passed, 0 failed"
    # The certificates a user's tools need were written where the contract says.
    assert (tmp_path / "certs" / "Adatum" / "root-ca.cer").is_file()
    assert (tmp_path / "certs" / "TreyResearch" / "root-ca.cer").is_file()


def test_inverted_expectation_fails_and_says_why(tmp_path: Path) -> None:
    text = WALKTHROUGH.read_text(encoding="utf-8")
    needle = 'subject = "Hello Trey", from = "april@adatum.com", domain_secured = true'
    assert needle in text
    inverted = tmp_path / "inverted.toml"
    inverted.write_text(text.replace(needle, needle.replace("true", "false")), encoding="utf-8")
    result = CliRunner().invoke(cli, ["run", "--certs", str(tmp_path / "certs"), str(inverted)])
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("✘")]
    assert len(failed) == 1 and "expect.delivered" in failed[0] and "Hello Trey" in failed[0]
    assert "expected domain_secured = false, found true" in result.output
    assert result.output.rstrip().splitlines()[-1] == "0 passed, 1 failed"


def test_demo_narrates_the_walkthrough(tmp_path: Path) -> None:
    lines: list[str] = []
    status = run_demo(lines.append, cert_folder=tmp_path / "certs")
    text = "\n".join(lines)
    assert status == 0, text
    # The ports in use, as every banner prints them.
    assert re.search(r"  ports: each server listens on Exchange's port \+ (\d+) \(SMTP 25 on", text)
    # Cmdlets at an EMS prompt, each hop with the rule that decided it, the inboxes at the end.
    assert "[PS] Adatum> Set-TransportConfig -TLSSendDomainSecureList treyresearch.net" in text
    assert (
        "ADATUM-CAS1 → TREY-CAS1 (TREY-CAS1\\From Adatum): sender domain adatum.com is in" in text
    )
    inboxes = text[text.index("Inboxes, as Outlook shows them:") :]
    assert "✔ '5. Domain secured' from april@adatum.com (domain secured, AuthAs Partner)" in inboxes
    assert (
        "✔ '5. Domain secured (reply)' from ben@treyresearch.net (domain secured, AuthAs Partner)"
        in inboxes
    )
