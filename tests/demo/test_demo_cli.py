"""``labsim demo`` through the real CLI and real labs: the outcome of every step of every
chapter (so the story cannot drift from the engine), --step with piped keys, no escape codes
off a terminal or with NO_COLOR, no line wider than 100 columns, any scenario file as a demo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labsim.cli import cli
from labsim.demo import Presenter, run_chapters
from labsim.demo_file import chapter_from_file
from labsim.demo_story import chapters
from labsim.terminal import WIDTH, Palette, strip_escapes

ROOT = Path(__file__).resolve().parents[2]


def demo(
    tmp_path: Path, *args: str, keys: str | None = None, env: dict[str, str] | None = None
) -> Result:
    return CliRunner().invoke(
        cli, ["demo", "--certs", str(tmp_path / "certs"), *args], input=keys, env=env
    )


def fits(text: str) -> None:
    wide = [line for line in text.splitlines() if len(strip_escapes(line)) > WIDTH]
    assert not wide, wide


def outcomes(text: str) -> list[str]:
    """The lines that say where messages ended and whether each expectation held, each
    unwrapped (its hanging-indent continuation lines joined)."""
    kept: list[str] = []
    indent = -1
    for line in text.splitlines():
        stripped = line.strip()
        depth = len(line) - len(line.lstrip())
        if stripped.startswith(("→ ", "✔ expected", "✘", "Step ")):
            kept.append(stripped)
            indent = depth
        elif kept and indent >= 0 and depth == indent + 4 and stripped:
            kept[-1] += " " + stripped
        else:
            indent = -1
    return kept


@pytest.fixture(scope="module")
def story_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("story")
    result = demo(tmp)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_story_turns_a_failing_message_into_a_domain_secured_one(story_text: str) -> None:
    fits(story_text)
    assert "\x1b[" not in story_text  # not a terminal: no colour
    assert "✘" not in story_text
    got = outcomes(story_text)
    # Each step's outcome, in order: the story told by outcomes.
    expected_in_order = [
        "Step 1 of 6 · Before Domain Security",
        "→ delivered to ben@treyresearch.net: '1. Before Domain Security' not domain secured, no "
        "check mark (AuthAs Anonymous)",
        "→ delivered to april@adatum.com: '1. Before Domain Security (reply)' not domain secured, "
        "no check mark (AuthAs Anonymous)",
        "Step 2 of 6 · Article step 1: establish certificate trust",
        "→ delivered to ben@treyresearch.net: '2. Roots imported' not domain secured, no check "
        "mark (AuthAs Anonymous)",
        "Step 3 of 6 · Article step 2: the two TLS lists",
        "→ not delivered: in queue ADATUM-MBX1\\1 (Status Retry), LastError: 451 4.4.0 Primary "
        'target IP address responded with: "451 4.7.3 The admin has temporarily disallowed this '
        'secure domain." Attempted failover to alternate host, but that did not succeed. Either '
        "there are no alternate hosts, or delivery failed to all alternate hosts. The last "
        "endpoint attempted was 127.0.20.1:25",
        "Step 4 of 6 · Article step 3: the Partner send connectors",
        "✔ expected: Adatum queue to treyresearch.net (Status Retry, LastError ~ '451 4.7.3 The "
        "admin has temporarily disallowed this secure domain', holding '4. Partner send "
        "connector')",
        "Step 5 of 6 · Article step 3: the Partner receive connectors",
        "→ delivered to ben@treyresearch.net: '3. Lists set' domain secured ✔ (AuthAs Partner)",
        "→ delivered to ben@treyresearch.net: '4. Partner send connector' domain secured ✔ "
        "(AuthAs Partner)",
        "Step 6 of 6 · Article step 4: test the Domain Security",
        "→ delivered to ben@treyresearch.net: '5. Domain secured' domain secured ✔ (AuthAs "
        "Partner)",
        "→ delivered to april@adatum.com: '5. Domain secured (reply)' domain secured ✔ (AuthAs "
        "Partner)",
    ]
    positions = [got.index(line) for line in expected_in_order]
    assert positions == sorted(positions)
    # Which rule decided each hop: the engine's own decision notes.
    flat = re.sub(r"\s+", " ", story_text)
    assert (
        "ADATUM-MBX1 → TREY-CAS1 (TREY-CAS1\\Default Frontend TREY-CAS1): treyresearch.net is in "
        "TLSSendDomainSecureList but send connector 'Internet' lacks DomainSecureEnabled; 451 "
        "4.7.3 The admin has temporarily disallowed this secure domain (§4.2)" in flat
    )
    assert (
        "ADATUM-CAS1 → TREY-CAS1 (TREY-CAS1\\Default Frontend TREY-CAS1): sender domain "
        "adatum.com is in TLSReceiveDomainSecureList; receive connector TREY-CAS1\\Default "
        "Frontend TREY-CAS1 lacks DomainSecureEnabled: 451 4.7.3" in flat
    )
    assert (
        "ADATUM-CAS1 → TREY-CAS1 (TREY-CAS1\\From Adatum): sender domain adatum.com is in "
        "TLSReceiveDomainSecureList; client certificate CN=mail.adatum.com, O=Adatum matches "
        "adatum.com and its chain status is Valid; session identity Partner" in flat
    )
    # labsim's note is labsim's: never in Exchange's WARNING form.
    assert "labsim note: Domain Security isn't supported when outbound mail is proxied" in flat
    assert "WARNING: Domain Security" not in flat
    assert "✔ The article, step by step: every outcome held." in story_text


@pytest.mark.parametrize(
    ("name", "pinned"),
    [
        (
            "remote-ip",
            [
                "→ not delivered: in queue ADATUM-MBX1\\1 (Status Retry), LastError: 450 4.7.0 Proxy "
                "session setup failed on Frontend with '451 4.4.0 Primary target IP address "
                'responded with: "451 4.7.3 The admin has temporarily disallowed this secure '
                'domain."',
                "→ delivered to ben@treyresearch.net: 'Trap: which IP?' domain secured ✔ (AuthAs "
                "Partner)",
            ],
        ),
        (
            "self-signed",
            [
                "→ not delivered: in queue ADATUM-MBX1\\1 (Status Retry), LastError: 451 4.4.0 "
                'Primary target IP address responded with: "454 4.7.5 Certificate validation '
                'failure."',
                "→ delivered to ben@treyresearch.net: 'Trap: no proxy' domain secured ✔ (AuthAs "
                "Partner)",
            ],
        ),
        (
            "san",
            [
                "→ not delivered: in queue ADATUM-MBX1\\1 (Status Retry), LastError: 450 4.7.0 Proxy "
                "session setup failed on Frontend with '451 4.4.0 Primary target IP address "
                'responded with: "454 4.7.5 Certificate validation failure."',
                "→ delivered to ben@treyresearch.net: 'Trap: SAN' domain secured ✔ (AuthAs "
                "Partner)",
            ],
        ),
        (
            "hosted-filtering",
            [
                "→ not delivered: in queue ADATUM-MBX1\\1 (Status Retry), LastError: 451 4.4.0 "
                'Primary target IP address responded with: "454 4.7.5 Certificate validation '
                'failure."',
                "→ delivered to jamie@fabrikam.com: 'Trap: hosted filtering' not domain secured, "
                "no check mark (AuthAs Anonymous)",
            ],
        ),
        (
            "mutual-tls-light",
            [
                "→ delivered to ben@treyresearch.net: 'Light: encrypted' not domain secured, no "
                "check mark (AuthAs Anonymous)",
                "→ not delivered: in queue ADATUM-MBX1\\1 (Status Retry), LastError: 451 4.4.0 "
                'Primary target IP address responded with: "451 5.7.3 STARTTLS is required to '
                'send mail."',
                "→ delivered to ben@treyresearch.net: 'Light: no STARTTLS' not domain secured, no "
                "check mark (AuthAs Anonymous)",
            ],
        ),
    ],
)
def test_each_trap_breaks_is_found_and_is_fixed(
    tmp_path: Path, name: str, pinned: list[str]
) -> None:
    lines: list[str] = []
    status = run_chapters(
        Presenter(lines.append, Palette(False)), chapters(name), cert_folder=tmp_path
    )
    text = "\n".join(lines)
    assert status == 0, text
    fits(text)
    got = "\n".join(outcomes(text))
    last = -1
    for line in pinned:
        found = got.find(line)
        assert found > last, (line, got)
        last = found
    assert "✘" not in text


def test_step_waits_for_enter_and_q_quits(tmp_path: Path) -> None:
    result = demo(tmp_path, "--step", keys="\n\nq\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Enter: next step") == 3
    assert "Step 2 of 6" in result.output and "Step 3 of 6" in result.output
    assert "Step 4 of 6" not in result.output
    # Quit before step 3 ran: its cmdlets never did.
    assert "Set-TransportConfig -TLSSendDomainSecureList" not in result.output
    assert result.output.rstrip().endswith("labsim: demo stopped (q); the lab is stopped.")


def test_step_goes_on_when_the_input_ends(tmp_path: Path) -> None:
    result = demo(tmp_path, "--step", keys="\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Enter: next step") == 2
    assert "✔ The article, step by step: every outcome held." in result.output


def test_no_color_and_a_pipe_carry_no_escape_codes(tmp_path: Path) -> None:
    result = demo(tmp_path, "--chapter", "remote-ip", env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output


def test_a_terminal_gets_colour(tmp_path: Path) -> None:
    lines: list[str] = []
    status = run_chapters(
        Presenter(lines.append, Palette(True)), chapters("remote-ip"), cert_folder=tmp_path
    )
    text = "\n".join(lines)
    assert status == 0
    fits(text)
    assert "\x1b[1;33mSet-ReceiveConnector" in text  # the cmdlet
    assert "  \x1b[1;32m✔\x1b[0m\x1b[2m expected: " in text  # a check that held
    assert "\x1b[35mlabsim note:" not in text  # the recap leaves output out


def test_a_catalog_scenario_is_narrated(tmp_path: Path) -> None:
    path = ROOT / "scenarios" / "breakfix" / "03-ehlo-certificate-mismatch.toml"
    result = demo(tmp_path, str(path))
    assert result.exit_code == 0, result.output
    fits(result.output)
    assert result.output.startswith("━━ Break-fix: ")
    assert "BREAKS:" in result.output and "FIX:" in result.output
    assert "  ✉  april@adatum.com → ben@treyresearch.net" in result.output
    assert re.search(r"^      \S+ → \S+ \(", result.output, re.M)  # hop lines
    assert "every outcome held." in result.output


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "scenarios").rglob("*.toml")),
    ids=lambda p: p.stem,
)
def test_every_catalog_scenario_narrates_within_100_columns(tmp_path: Path, path: Path) -> None:
    lines: list[str] = []
    status = run_chapters(
        Presenter(lines.append, Palette(False)), (chapter_from_file(path),), cert_folder=tmp_path
    )
    text = "\n".join(lines)
    assert status == 0, text
    fits(text)
    assert "✘" not in text


def test_the_story_runs_on_another_lab(tmp_path: Path) -> None:
    result = demo(tmp_path, "--lab", str(ROOT / "labs" / "three-orgs.toml"))
    assert result.exit_code == 0, result.output
    assert "✔ The article, step by step: every outcome held." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chapter", "nope"], "labsim: error: --chapter nope: no such chapter; use one of"),
        (
            ["--chapter", "traps", "scenarios/domain-security-2013.toml"],
            "labsim: error: --chapter with a scenario file:",
        ),
        (["missing.toml"], "labsim: error: "),
    ],
)
def test_bad_demo_input_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(ROOT)
    result = demo(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith(message), result.stderr


def test_chapters_are_listed(tmp_path: Path) -> None:
    result = demo(tmp_path, "--chapters")
    assert result.exit_code == 0
    fits(result.output)
    for name in ("story", "traps", "remote-ip", "self-signed", "san", "hosted-filtering"):
        assert f"\n  {name} " in result.output


def test_run_step_lines_carry_no_escape_codes_off_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["run", "--certs", str(tmp_path), str(ROOT / "scenarios" / "domain-security-2013.toml")],
    )
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and result.output.startswith("Domain Security")
