"""Variables of an attached shell live as long as its connection, as in an EMS window: a
``$cert = Get-ExchangeCertificate …`` typed at one prompt is there at the next (each line used
to start a fresh session, so ``$cert.Thumbprint`` was silently empty). Each attached shell has
its own variables."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_helpers import BOUND, LabsimProcess, LiveLab, no_traceback

from labsim.control import ControlClient


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveLab]:
    lab = LiveLab(tmp_path)
    try:
        yield lab
    finally:
        lab.close()


def test_a_variable_lives_from_line_to_line_and_only_in_its_own_shell(live: LiveLab) -> None:
    assert live.sh("Adatum", "$size = (Get-TransportConfig).MaxSendSize") == ""
    assert live.sh("Adatum", "$size") == "10 MB (10,485,760 bytes)"
    other = ControlClient(Path(live.info["control"]), timeout=BOUND)
    try:
        reply = other.request("line", organization="Adatum", server=None, text="$size")
        assert reply["output"] == ""
    finally:
        other.close()
    # The first shell still has it after the other one left.
    assert live.sh("Adatum", "$size") == "10 MB (10,485,760 bytes)"


def test_a_piped_labsim_shell_keeps_its_variables(tmp_path: Path) -> None:
    shell = LabsimProcess("shell", "--certs", str(tmp_path / "certs"), cwd=tmp_path, stdin=True)
    try:
        shell.send(
            "$c = Get-ExchangeCertificate -Server ADATUM-CAS1 | where {$_.Subject -like '*O=Adatum'}\n"
            "Enable-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint $c.Thumbprint -Services IIS\n"
            "Get-ExchangeCertificate -Server ADATUM-CAS1 | where {$_.Subject -like '*O=Adatum'} | fl Services\n"
            ":quit\n"
        )
        status, out, err = shell.wait()
    finally:
        shell.kill()
    assert status == 0, err
    no_traceback(err)
    assert "was not found" not in out
    assert "Services : IIS, SMTP" in out
