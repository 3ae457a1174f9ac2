"""Windows services end to end: Stop-/Start-/Restart-Service on the transport services take a
server's SMTP down and up on real sockets, as Stop-/Start-LabServer do (docs/fidelity.md,
"Windows services"). Time moves only on the lab clock."""

from __future__ import annotations

from collections.abc import Callable

from test_e2e_queue_control import queue, trusted_partners

from labsim.lab import Lab
from labsim.model.enums import QueueStatus


def test_stopping_the_partners_frontend_transport_queues_mail_until_it_starts(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    observed: list[tuple[str, str]] = []
    lab.world.observers.append(lambda server, text: observed.append((server, text)))
    stopped = lab.run_shell(
        "TreyResearch", "Stop-Service MSExchangeFrontEndTransport", server="TREY-CAS1"
    )
    assert stopped.error is None, stopped.error
    assert stopped.output == ""
    # What the lab tells its observers (the demo, the web console) names the admin's command.
    assert ("TREY-CAS1", "stopped (Stop-Service MSExchangeFrontEndTransport)") in observed
    shown = lab.run_shell("TreyResearch", "Get-Service *Transport*", server="TREY-CAS1")
    assert shown.output.splitlines() == [
        "Status   Name               DisplayName",
        "------   ----               -----------",
        "Stopped  MSExchangeFront... Microsoft Exchange Frontend Transport",
    ]
    # One switch: the lab action sees the same server stopped.
    running = lab.run_shell("TreyResearch", "Get-LabServer TREY-CAS1 | FL Running,Ports")
    assert running.output.splitlines() == ["Running : False", "Ports   : {}"]

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="while stopped")
    row = queue(lab, "Adatum", "treyresearch.net")
    assert row.status is QueueStatus.RETRY
    assert "441 4.4.1 Error encountered while communicating with primary target" in row.last_error
    assert "The last endpoint attempted was 127.0.20.1:25" in row.last_error

    started = lab.run_shell(
        "TreyResearch", "Start-Service MSExchangeFrontEndTransport", server="TREY-CAS1"
    )
    assert started.error is None and started.output == ""
    lab.advance(5 * 60)  # Adatum's queue retries on its own schedule
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["while stopped"]


def test_restarting_the_transport_service_retries_its_waiting_queues_at_once(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    assert lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1").error is None
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="waiting")
    assert queue(lab, "Adatum", "treyresearch.net").status is QueueStatus.RETRY
    assert lab.run_shell("TreyResearch", "Start-LabServer TREY-CAS1").error is None
    assert not lab.inbox("ben@treyresearch.net")  # the queue waits for its next retry

    restarted = lab.run_shell(
        "Adatum", "Restart-Service MSExchangeTransport -PassThru", server="ADATUM-MBX1"
    )
    assert restarted.error is None, restarted.error
    assert restarted.output.splitlines()[-1] == (
        "Running  MSExchangeTrans... Microsoft Exchange Transport"
    )
    # No lab time passed: the restart itself retried the queue.
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["waiting"]


def test_a_service_piped_from_another_computer_stops_that_server(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab()
    piped = lab.run_shell(
        "TreyResearch",
        "Get-Service -ComputerName TREY-CAS1 -Name MSExchangeFrontEndTransport | Stop-Service",
    )
    assert piped.error is None, piped.error
    assert not lab.server_running("TREY-CAS1")
    assert lab.listening_ports("TREY-CAS1") == []
    # And the other way round: Stop-LabServer shows as a stopped transport service.
    assert lab.run_shell("Adatum", "Stop-LabServer ADATUM-MBX1").error is None
    status = lab.run_shell(
        "Adatum", "(Get-Service -ComputerName ADATUM-MBX1 MSExchangeTransport).Status"
    )
    assert status.output == "Stopped"
