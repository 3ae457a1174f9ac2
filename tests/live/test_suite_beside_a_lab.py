"""The test suite while a lab is up: a user's ``labsim up`` and a test run on the same machine
(automatic port offsets, private state folders) do not collide, and the lab keeps serving."""

from __future__ import annotations

import smtplib
import subprocess
import sys
from pathlib import Path

from live_helpers import LiveLab

ROOT = Path(__file__).resolve().parents[2]


def test_part_of_the_suite_runs_beside_a_live_lab(tmp_path: Path) -> None:
    lab = LiveLab(tmp_path)
    try:
        # A second pytest process, as a developer would start it in another terminal: the
        # scenario catalog (one lab per scenario) and the shell tests (live labs of their own).
        done = subprocess.run(
            [
                sys.executable, "-m", "pytest", "-q", "-p", "no:randomly",
                "tests/test_scenario_catalog.py", "tests/test_cli_shell.py",
            ],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert " passed" in done.stdout and "failed" not in done.stdout
        with smtplib.SMTP("127.0.10.1", lab.port("ADATUM-CAS1"), timeout=10) as smtp:
            assert smtp.noop()[0] == 250
        assert lab.control.request("hello")["lab"] == "default"
    finally:
        lab.close()
