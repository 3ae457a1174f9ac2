"""A transport service stopped with Stop-Service stays stopped across a restart of a lab kept
with ``--state``, as one stopped with Stop-LabServer does: the statement is journaled with the
shell's server and replayed there."""

from __future__ import annotations

from pathlib import Path

from test_state_restart import kept_lab


def test_a_stopped_transport_service_is_still_stopped_after_a_restart(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        stopped = lab.run_shell(
            "TreyResearch", "Stop-Service MSExchangeFrontEndTransport", server="TREY-CAS1"
        )
        assert stopped.error is None, stopped.error
        piped = lab.run_shell(
            "Adatum", "Get-Service -ComputerName ADATUM-MBX1 MSExchangeTransport | Stop-Service"
        )
        assert piped.error is None, piped.error
    with kept_lab(tmp_path) as lab:
        assert lab.restore_warnings == []
        assert not lab.server_running("TREY-CAS1")
        assert not lab.server_running("ADATUM-MBX1")
        shown = lab.run_shell(
            "TreyResearch", "(Get-Service MSExchangeFrontEndTransport).Status", server="TREY-CAS1"
        )
        assert shown.output == "Stopped"
