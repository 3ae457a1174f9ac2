"""docs/live-lab.md's "A lab that survives a crash" block, pasted into bash as it is: a lab
killed with -9 comes back with its send connector, its queued message and then delivers it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_survives_a_crash_block_runs_when_pasted(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "live-lab.md").read_text(encoding="utf-8")
    section = text.split("## A lab that survives a crash: `--state DIR`\n", 1)[1]
    (block,) = re.findall(r"```sh\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    script = (
        f'export PATH="{Path(sys.executable).parent}:$PATH"\n'
        + block.replace("/tmp/lab-state", str(tmp_path / "state")).replace(
            "/tmp/lab.json", str(tmp_path / "lab.json")
        )
        + "wait\n"
    )
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    before, after = done.stdout.split("labsim shell: attached to")[1:]
    assert re.search(
        r"ADATUM-MBX1\\1\s+DnsConnectorDelivery\s+Retry\s+1\s.*treyresearch.net", before
    ), out
    assert re.search(r"To Trey\s+\{SMTP:treyresearch.net;1\}", after), out
    assert re.search(r"ADATUM-MBX1\\1\s+\S+\s+\S+\s+1\s.*treyresearch.net", after), out
    assert "'before the crash' from april@adatum.com" in after, out
    assert "Traceback" not in out
