"""``labsim shell`` at a real terminal (a pty): a cmdlet's error comes out red, as EMS shows it,
and with NO_COLOR it comes out plain."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ERROR = b"Get-SendConnector: The operation couldn't be performed because object 'nope'"


def _shell_at_a_terminal(tmp_path: Path, extra_env: dict[str, str]) -> bytes:
    master, slave = os.openpty()
    env = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
    env.update(TERM="xterm", **extra_env)
    process = subprocess.Popen(
        [sys.executable, "-c", "from labsim.cli import main; main()", "shell",
         "--certs", str(tmp_path / "certs")],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
        start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    seen = bytearray()

    def until(token: bytes, bound: float = 60.0) -> None:
        deadline = time.monotonic() + bound
        while token not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no {token!r} within {bound}s; last output {bytes(seen[-400:])!r}"
                )
            ready, _, _ = select.select([master], [], [], left)
            if ready:
                try:
                    seen.extend(os.read(master, 65536))
                except OSError:  # the shell closed the terminal
                    break

    try:
        until(b"[PS] Adatum>")
        os.write(master, b"Get-SendConnector nope\r")
        until(b"to list the send connectors.")
        os.write(master, b"exit\r")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        os.close(master)
    return bytes(seen)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_an_error_is_red_at_a_terminal(tmp_path: Path) -> None:
    seen = _shell_at_a_terminal(tmp_path, {})

    assert b"\x1b[31m" + ERROR in seen


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_no_colour_with_no_color(tmp_path: Path) -> None:
    seen = _shell_at_a_terminal(tmp_path, {"NO_COLOR": "1"})

    assert ERROR in seen
    assert b"\x1b[31m" + ERROR not in seen
