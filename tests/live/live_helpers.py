"""Run ``labsim up`` / ``labsim shell`` as real processes and talk to them as outside tools do.

Every wait is for an event with a bound: a line on the process's output (read through
``selectors`` with a deadline), a reply on the control channel, a reply from an SMTP server
(socket timeouts). Nothing sleeps.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from labsim.control import ControlClient

ROOT = Path(__file__).resolve().parents[2]
LABSIM = [sys.executable, "-c", "from labsim.cli import main; main()"]
BOUND = 60.0


class LabsimProcess:
    """A labsim command in a subprocess, its output read line by line with deadlines."""

    def __init__(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: bool = False
    ) -> None:
        self.proc = subprocess.Popen(
            [*LABSIM, *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._buffer = b""
        self.output = ""

    def read_until(self, marker: str, bound: float = BOUND) -> str:
        """Read output until ``marker`` appears; return everything read up to and with it."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + bound
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while marker.encode() not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    raise AssertionError(
                        f"no {marker!r} within {bound}s; output so far:\n"
                        f"{self._buffer.decode(errors='replace')}\n{self._stderr_if_dead()}"
                    )
                chunk = self.proc.stdout.read(65536)
                if not chunk:
                    raise AssertionError(
                        f"labsim exited before {marker!r}:\n{self._buffer.decode(errors='replace')}"
                        f"\n{self._stderr_if_dead()}"
                    )
                self._buffer += chunk
        index = self._buffer.index(marker.encode()) + len(marker)
        taken, self._buffer = self._buffer[:index], self._buffer[index:]
        text = taken.decode(errors="replace")
        self.output += text
        return text

    def send(self, text: str) -> None:
        """Type lines on the process's standard input."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def stop(self, signum: int = signal.SIGTERM, bound: float = BOUND) -> tuple[int, str, str]:
        """Send ``signum``; return the exit status, the rest of stdout, and stderr."""
        self.proc.send_signal(signum)
        return self.wait(bound)

    def wait(self, bound: float = BOUND) -> tuple[int, str, str]:
        """Wait for the exit; return the exit status, the rest of stdout, and stderr."""
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), True)
        out, err = self.proc.communicate(timeout=bound)
        rest = (self._buffer + out).decode(errors="replace")
        self.output += rest
        return self.proc.returncode, rest, err.decode(errors="replace")

    def kill(self) -> None:
        """Make sure the process is gone (test teardown)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=BOUND)

    def _stderr_if_dead(self) -> str:
        if self.proc.poll() is None:
            return ""
        assert self.proc.stderr is not None
        return "stderr: " + self.proc.stderr.read().decode(errors="replace")


class LiveLab:
    """A ``labsim up`` process, its ready file, and a control client to it."""

    def __init__(self, tmp: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.ready_file = tmp / "ready.json"
        self.process = LabsimProcess(
            "up",
            "--ready-file",
            str(self.ready_file),
            "--certs",
            str(tmp / "certs"),
            *extra,
            cwd=tmp,
            env=env,
        )
        self.banner = self.process.read_until("attach a shell:")
        self.info: dict[str, Any] = json.loads(self.ready_file.read_text())
        self.control = ControlClient(Path(self.info["control"]), timeout=BOUND)

    def port(self, server: str, exchange_port: int = 25) -> int:
        """The port really in use for a server's Exchange port."""
        return int(self.info["servers"][server]["ports"][str(exchange_port)])

    def certificate(self, server: str) -> dict[str, str]:
        """cert/key/chain paths of a server's SMTP certificate."""
        return dict(self.info["servers"][server]["certificate"])

    def root(self, organization: str) -> str:
        """An organization's root CA file."""
        return str(self.info["roots"][organization])

    def sh(self, organization: str, text: str) -> str:
        """Run a shell line on the lab, as an attached shell does; return its output."""
        reply = self.control.request("line", organization=organization, server=None, text=text)
        return str(reply["output"])

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        """Stop the lab with a signal."""
        self.control.close()
        return self.process.stop(signum)

    def close(self) -> None:
        """Teardown: the process is gone whatever happened."""
        self.control.close()
        self.process.kill()


def partner_setup(lab: LiveLab, remote: str = "127.0.20.1") -> None:
    """Adatum accepts TreyResearch domain-secured on ADATUM-CAS1 (the article's receive side)."""
    for line in (
        "Import-Certificate -FilePath TreyResearch\\root-ca.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root",
        "Set-TransportConfig -TLSReceiveDomainSecureList treyresearch.net",
        'New-ReceiveConnector -Name "From TreyResearch" -Server ADATUM-CAS1 -Partner '
        f"-Bindings 0.0.0.0:25 -RemoteIPRanges {remote} -ProtocolLoggingLevel Verbose",
    ):
        output = lab.sh("Adatum", line)
        assert "error" not in output.lower() or "Thumbprint" in output, output


def refused(address: str, port: int) -> bool:
    """Whether nothing listens on address:port any more."""
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex((address, port)) != 0


def no_traceback(stderr: str) -> None:
    """A clean stop prints no Python traceback."""
    assert "Traceback" not in stderr, stderr


SIGNALS = (signal.SIGINT, signal.SIGTERM)
