"""The README's "Talk to the lab with real mail software" block, pasted into bash as it is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.mark.skipif(
    shutil.which("swaks") is None, reason="swaks is not installed (.ci/run installs it)"
)
def test_talk_to_the_lab_block_runs_when_pasted(tmp_path: Path) -> None:
    # "After the Quick start" there is a .venv whose bin/ holds labsim: make one that does.
    activate = tmp_path / ".venv" / "bin" / "activate"
    activate.parent.mkdir(parents=True)
    activate.write_text(f'export PATH="{Path(sys.executable).parent}:$PATH"\n')
    ready = tmp_path / "lab.json"
    script = readme_block("Talk to the lab with real mail software").replace(
        "/tmp/lab.json", str(ready)
    )
    done = subprocess.run(
        ["bash", "-e", "-c", script + "\nwait\n"],
        cwd=tmp_path,
        env={**os.environ, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"✔ domain secured\s+'from swaks' from ben@treyresearch.net", out), out
    assert "labsim: SIGTERM: lab 'default' stopped" in out
    assert "Traceback" not in out
    assert not ready.exists()


def _pasted(script: str, cwd: Path) -> str:
    """Run ``script`` as bash would run it pasted (stopping at the first failing command);
    its output, after checking it succeeded."""
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    return out


def section_blocks(path: Path, heading: str) -> list[str]:
    text = path.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


@pytest.mark.skipif(
    shutil.which("swaks") is None or shutil.which("openssl") is None,
    reason="swaks and openssl are needed (.ci/run installs them)",
)
def test_live_lab_doc_examples_run_when_pasted(tmp_path: Path) -> None:
    start, *rest = section_blocks(
        ROOT / "docs" / "live-lab.md", "Talk to the lab with real mail software"
    )
    ready = tmp_path / "lab.json"
    # The first block runs in a terminal of its own: here, in the background.
    script = "\n".join(
        [
            f'export PATH="{Path(sys.executable).parent}:$PATH"',
            start.strip() + " &",
            f"until [ -f {ready} ]; do sleep 0.1; done",  # what a person does: wait for it
            *rest,
            "kill %1",
            "wait",
        ]
    ).replace("/tmp/lab.json", str(ready))
    out = _pasted(script, tmp_path)
    for subject in ("from swaks", "from openssl", "from smtplib"):
        assert re.search(rf"✔ domain secured\s+'{subject}' from ben@treyresearch.net", out), out
    assert "Traceback" not in out


def _postfix_missing() -> str | None:
    sys.path.insert(0, str(ROOT / "tests" / "interop"))
    from postfix import postfix_missing

    reason: str | None = postfix_missing()
    return reason


@pytest.mark.skipif(_postfix_missing() is not None, reason=str(_postfix_missing()))
def test_postfix_partner_doc_runs_when_pasted() -> None:
    import json
    import signal
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="labsim-doc-fabrikam-", dir="/tmp"))
    blocks = section_blocks(ROOT / "docs" / "live-lab.md", "A Postfix partner")
    script = "\n".join([f'export PATH="{Path(sys.executable).parent}:$PATH"', *blocks]).replace(
        "/tmp/fabrikam", str(folder)
    )
    try:
        done = subprocess.run(
            ["bash", "-e", "-c", script],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        # Whatever happened, nothing is left running: the private Postfix and the lab.
        if (folder / "etc" / "main.cf").exists():
            subprocess.run(
                ["postfix", "-c", str(folder / "etc"), "abort"], capture_output=True, check=False
            )
        ready = folder / "lab.json"
        if ready.exists():
            os.kill(json.loads(ready.read_text())["pid"], signal.SIGTERM)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert re.search(r"✔ domain secured\s+'from Postfix' from jamie@fabrikam.org", out), out
    assert re.search(r"Verified TLS connection established to 127\.0\.10\.1", out), out
    assert re.search(r"Trusted TLS connection established from \S*\[127\.0\.10\.2\]", out), out
    assert "Subject: from Adatum" in out
    shutil.rmtree(folder, ignore_errors=True)


def test_log_files_doc_example_runs_when_pasted(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "live-lab.md").read_text(encoding="utf-8")
    section = text.split("## Attach a shell\n", 1)[1].split("\n## ", 1)[0]
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", section, re.S) if "Select-String" in b]
    ready = tmp_path / "lab.json"
    # The lab runs in a terminal of its own (here, in the background); other labs of this user
    # may run too (the test suite in parallel), so the shell attaches to this one by its file.
    script = "\n".join(
        [
            f'export PATH="{Path(sys.executable).parent}:$PATH"',
            f"labsim up --ready-file {ready} --certs {tmp_path / 'certs'} --no-web &",
            f"until [ -f {ready} ]; do sleep 0.1; done",
            block.replace("labsim shell --attach", f"labsim shell --attach {ready}"),
            "kill %1",
            "wait",
        ]
    )
    out = _pasted(script, tmp_path)
    logs = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs"
    hits = [line for line in out.splitlines() if line.startswith(f"{logs}\\MessageTracking\\")]
    assert hits and all(re.search(r"\.LOG:\d+:.*Find me", h) for h in hits), out
    assert "Traceback" not in out
