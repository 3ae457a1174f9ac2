"""``labsim up --no-web``: no console, no URL in the banner, ``"web": null`` in the ready file."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from live_helpers import LiveLab

from labsim.cli import cli


def test_no_web_leaves_the_console_out(tmp_path: Path) -> None:
    lab = LiveLab(tmp_path, "--no-web")
    try:
        assert lab.info["web"] is None
        assert "web console" not in lab.banner
        status, _rest, stderr = lab.stop()
        assert status == 0, stderr
    finally:
        lab.close()


def test_up_help_names_the_web_options() -> None:
    result = CliRunner().invoke(cli, ["up", "--help"])
    assert result.exit_code == 0
    assert "--web / --no-web" in result.output
