"""``labsim demo --web``'s options: documented in --help, bad combinations refused in one line
(exit 2) before any lab starts. ``--web --chapter traps`` is no longer refused: the browser walks
the five traps (tests/web/test_demo_web.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from labsim.cli import cli


def test_demo_help_documents_web_and_auto() -> None:
    result = CliRunner().invoke(cli, ["demo", "--web", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--web" in text and "--auto SECONDS" in text
    assert "Next" in text and "until Ctrl-C" in text
    assert "--chapter traps" in text and "Next opens the next one on a fresh lab" in text


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--web", "--step"], "--step with --web"),
        (["--auto", "5"], "--auto without --web"),
        (["--web", "--auto", "0"], "--auto 0"),
        (["--web", "--auto", "-3"], "--auto -3"),
        (["--web", "--step", "--chapter", "traps"], "--step with --web"),
        (["--web", "--chapter", "nosuch"], "--chapter nosuch: no such chapter"),
    ],
)
def test_bad_combinations_get_one_line_and_exit_2(
    tmp_path: Path, args: list[str], names: str
) -> None:
    result = CliRunner().invoke(cli, ["demo", "--certs", str(tmp_path / "certs"), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "certs").exists()  # refused before any lab started
