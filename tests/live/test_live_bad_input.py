"""Bad input around a live lab: one line naming what and where, exit 2, and a running lab goes
on serving (control requests from another user, malformed requests, no lab to attach to, a
ready file that cannot be written, a port already taken, offsets in the ephemeral range)."""

from __future__ import annotations

import os
import shutil
import smtplib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_helpers import LABSIM, LabsimProcess, LiveLab, no_traceback

from labsim.net.ports import ephemeral_range


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveLab]:
    lab = LiveLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def labsim(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = LabsimProcess(*args, cwd=tmp_path, env=env)
    try:
        return process.wait()
    finally:
        process.kill()


def one_error_line(err: str) -> str:
    no_traceback(err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labsim: error: "), err
    return lines[0]


def still_serving(lab: LiveLab) -> None:
    with smtplib.SMTP("127.0.10.1", lab.port("ADATUM-CAS1"), timeout=10) as smtp:
        assert smtp.noop()[0] == 250
    assert lab.control.request("hello")["lab"] == "default"


def test_malformed_control_requests_get_an_error_and_the_lab_serves_on(live: LiveLab) -> None:
    for raw, expected in (
        (b"not json\n", "control request is not JSON"),
        (b"[1, 2]\n", 'must be a JSON object with a string "op"'),
        (b'{"op": "launch"}\n', "unknown op 'launch'"),
        (b'{"op": "line", "organization": "Adatum"}\n', '"text" must be a string'),
        (b'{"op": "line", "organization": "Nowhere", "text": "Get-Queue"}\n', "'Nowhere' is not in this lab"),
        (b"\xff\xfe\n", "control request is not JSON"),
    ):  # fmt: skip
        reply = live.control.raw(raw)
        assert reply["ok"] is False and expected in reply["error"], reply
    still_serving(live)


def test_a_request_over_the_size_limit_closes_only_that_client(live: LiveLab) -> None:
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(30)
        client.connect(live.info["control"])
        # One byte over the limit: the lab reads every byte before it can tell, so it never
        # closes while the client still writes (a bigger request raced into EPIPE under load).
        client.sendall(b"x" * 1_000_001)
        reply = client.makefile("rb").readline()
    assert b"longer than 1000000 bytes" in reply
    still_serving(live)


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_another_user_cannot_attach(live: LiveLab, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         *LABSIM, "shell", "--attach", live.info["control"]],
        capture_output=True, text=True, timeout=60, cwd="/", check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "permission denied; it belongs to another user's lab" in one_error_line(done.stderr)
    still_serving(live)


def test_the_lab_refuses_a_peer_of_another_uid_even_when_the_socket_is_open_to_it(
    live: LiveLab,
) -> None:
    # Root passes file permissions; the lab's own uid check still holds for everyone else.
    if os.getuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv")
    folder = Path(live.info["control"]).parent
    os.chmod(folder, 0o755)
    os.chmod(live.info["control"], 0o777)
    # The lab speaks first to a refused peer (before any request), then closes.
    probe = (
        "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
        "print(s.makefile().readline())"
    )
    import sys

    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", probe,
         live.info["control"]],
        capture_output=True, text=True, timeout=60, cwd="/", check=False,
    )  # fmt: skip
    assert "belongs to uid 0; uid 65534 may not use it" in done.stdout, done.stdout + done.stderr
    still_serving(live)


def test_attach_to_no_running_lab(tmp_path: Path) -> None:
    status, _, err = labsim(tmp_path, "shell", "--attach")
    assert status == 2
    assert "no running lab of this user" in one_error_line(err)
    status, _, err = labsim(tmp_path, "shell", "--attach", str(tmp_path / "gone.sock"))
    assert status == 2
    assert "no lab is running there; start one with labsim up" in one_error_line(err)
    status, _, err = labsim(tmp_path, "shell", "--attach", "--certs", "elsewhere")
    assert status == 2
    assert "--certs belongs to the labsim up that started it" in one_error_line(err)


def test_a_ready_file_that_cannot_be_written(tmp_path: Path) -> None:
    status, _, err = labsim(tmp_path, "up", "--ready-file", str(tmp_path / "missing" / "r.json"))
    assert status == 2
    assert "--ready-file" in one_error_line(err) and "missing" in err


def test_a_port_already_taken(tmp_path: Path) -> None:
    low, _ = ephemeral_range()
    taken = socket.socket()
    try:
        taken.bind(("127.0.10.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        if port - 25 + 2999 >= low:
            # The kernel gave an ephemeral port: hold one clear of the range instead (the first
            # free one from 21025: another lab on the machine may hold a fixed port).
            taken.close()
            for port in range(21025, 21025 + 200, 3):
                taken = socket.socket()
                try:
                    taken.bind(("127.0.10.1", port))
                    break
                except OSError:
                    taken.close()
            taken.listen()
        status, _, err = labsim(tmp_path, "up", "--port-offset", str(port - 25))
    finally:
        taken.close()
    assert status == 2
    assert "cannot bind the lab's sockets" in one_error_line(err)
    assert "choose another with --port-offset" in err


def test_an_offset_inside_the_ephemeral_range_is_refused(tmp_path: Path) -> None:
    low, high = ephemeral_range()
    status, _, err = labsim(tmp_path, "up", "--port-offset", str(low))
    assert status == 2
    line = one_error_line(err)
    assert f"inside this machine's ephemeral port range {low}–{high}" in line
    assert "ip_local_port_range" in line


def test_the_environment_variable_sets_and_checks_the_offset(tmp_path: Path) -> None:
    status, _, err = labsim(tmp_path, "up", env={"LABSIM_PORT_OFFSET": "lots"})
    assert status == 2
    assert "LABSIM_PORT_OFFSET: 'lots' is not a port offset" in one_error_line(err)
    lab = LiveLab(tmp_path, env={"LABSIM_PORT_OFFSET": "21500"})
    try:
        assert lab.info["port_offset"] == 21500
    finally:
        lab.close()


def test_bad_option_values(tmp_path: Path) -> None:
    status, _, err = labsim(tmp_path, "up", "--port-offset", "lots")
    assert status == 2 and "Invalid value for '--port-offset'" in err
    no_traceback(err)
