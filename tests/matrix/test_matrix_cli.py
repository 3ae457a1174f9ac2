"""``labsim matrix`` on an imported lab: the table, JSON and JUnit, and its exit statuses."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from labsim.cli import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tailspintoys"


def imported(tmp_path: Path) -> Path:
    lab = tmp_path / "tailspintoys.toml"
    result = CliRunner().invoke(
        cli, ["import", str(EXAMPLES), "-o", str(lab), "--as-of", "2026-12-01"]
    )
    assert result.exit_code == 0, result.output
    return lab


def matrix(tmp_path: Path, lab: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, ["matrix", str(lab), "--certs", str(tmp_path / "certs"), *extra]
    )
    return result.exit_code, result.stdout, result.stderr


def test_imported_sample_keeps_every_check_it_means(tmp_path: Path) -> None:
    lab = imported(tmp_path)
    code, out, err = matrix(tmp_path, lab, "--junit", str(tmp_path / "m.xml"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Partner matrix of Tailspin Toys (lab tailspintoys)"
    assert "fabrikam.com         inbound    secured  ✔ delivered, domain secured" in lines
    # Not in TLSReceiveDomainSecureList: delivered, without the check, and not a failure.
    assert "woodgrovebank.co.uk  inbound    -        delivered without the check" in lines
    assert lines[-1] == "8 pairs; every pair meant to be domain secured is"
    suite = ET.parse(tmp_path / "m.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures")) == ("8", "0")


def test_a_partner_root_no_longer_trusted_fails_the_matrix(tmp_path: Path) -> None:
    lab = imported(tmp_path)
    text = lab.read_text(encoding="utf-8")
    # The change an admin is about to make: Fabrikam's root removed from Tailspin's servers.
    assert 'trusted_roots = ["own", "public", "Fabrikam"]' in text
    lab.write_text(
        text.replace(
            'trusted_roots = ["own", "public", "Fabrikam"]', 'trusted_roots = ["own", "public"]'
        ),
        encoding="utf-8",
    )
    code, out, err = matrix(tmp_path, lab, "--json")
    assert (code, err) == (1, "")
    document = json.loads(out)
    assert document["passed"] is False
    failed = {(p["domain"], p["direction"]): p for p in document["pairs"] if not p["passed"]}
    assert set(failed) == {("fabrikam.com", "outbound"), ("fabrikam.com", "inbound")}
    outbound = failed[("fabrikam.com", "outbound")]
    assert outbound["outcome"] == "queued"
    assert outbound["detail"].startswith("Retry [{LRT=")
    assert "454 4.7.5" in outbound["detail"]


def test_bad_input_exits_2(tmp_path: Path) -> None:
    code, _, err = matrix(tmp_path, tmp_path / "missing.toml")
    assert code == 2
    assert err.startswith("labsim: error: ")
    lab = imported(tmp_path)
    code, _, err = matrix(tmp_path, lab, "--org", "Nobody")
    assert code == 2
    assert (
        "labsim: error: --org Nobody: not an organization of the lab; use one of Tailspin Toys"
        in err
    )


def test_junit_folder_is_checked_before_the_lab_starts(tmp_path: Path) -> None:
    code, out, err = matrix(tmp_path, Path("default"), "--junit", str(tmp_path / "no" / "m.xml"))
    assert (code, out) == (2, "")
    assert (
        err
        == f"labsim: error: --junit {tmp_path / 'no' / 'm.xml'}: folder {tmp_path / 'no'} does not exist; create it\n"
    )
