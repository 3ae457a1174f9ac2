"""``labsim up --state DIR`` killed with SIGKILL in the middle of a stream of messages and
started again: every message acknowledged with 250 is in its mailboxes exactly once.

Real processes and real SMTP clients: four smtplib clients send to ADATUM-CAS1:25, each message
to a local mailbox (april@adatum.com, delivered in the turn that answers 250) and to a relay
domain routed to TreyResearch (ben@treyresearch.net, left in ADATUM-MBX1's queue: TREY-CAS1 is
stopped, so the queue is what must survive). Once half the messages are acknowledged the lab
is killed with -9. The same command starts it again; TREY-CAS1 is started, the lab clock moved
past the retry, and the state database then holds every acknowledged Message-ID exactly once in
each mailbox, and no message twice.

Suite profile: 200 messages. Deep profile (the issue's 1,000): ``LABSIM_STATE_MESSAGES=1000
python -m pytest tests/live/test_state_crash.py``.
"""

from __future__ import annotations

import os
import signal
import smtplib
import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest
from live_helpers import BOUND, LabsimProcess, LiveLab, no_traceback

MESSAGES = int(os.environ.get("LABSIM_STATE_MESSAGES", "200"))
CLIENTS = 4
LOCAL = "april@adatum.com"
RELAYED = "ben@treyresearch.net"


def _message_id(number: int) -> str:
    return f"<crash-{number}@client.example>"


def _configure(lab: LiveLab, next_hop_stopped: bool) -> None:
    lines = (
        (
            "Adatum",
            'New-AcceptedDomain -Name "Trey relay" -DomainName treyresearch.net '
            "-DomainType InternalRelay",
        ),
        (
            "Adatum",
            'New-SendConnector -Name "To Trey" -Internet -AddressSpaces treyresearch.net '
            "-SourceTransportServers ADATUM-MBX1",
        ),
        ("TreyResearch", "Stop-LabServer TREY-CAS1"),
    )
    for organization, line in lines if next_hop_stopped else lines[:-1]:
        output = lab.sh(organization, line)
        assert "error" not in output.lower(), output


def _content(number: int) -> str:
    return (
        f"From: ed@client.example\r\nTo: {LOCAL}, {RELAYED}\r\n"
        f"Subject: crash {number}\r\nMessage-ID: {_message_id(number)}\r\n"
        f"\r\nmessage {number}\r\n"
    )


def _send_until_killed(lab: LiveLab, acknowledged: set[int], kill_after: int) -> None:
    """Clients send until the lab dies; the lab is killed once ``kill_after`` are acked."""
    port = lab.port("ADATUM-CAS1")
    lock = threading.Lock()
    killed = threading.Event()
    numbers = iter(range(MESSAGES))

    def client() -> None:
        try:
            with smtplib.SMTP("127.0.10.1", port, timeout=BOUND) as smtp:
                while not killed.is_set():
                    with lock:
                        number = next(numbers, None)
                    if number is None:
                        return
                    smtp.sendmail("ed@client.example", [LOCAL, RELAYED], _content(number))
                    with lock:  # sendmail returned: the lab answered 250 to DATA
                        acknowledged.add(number)
                        if len(acknowledged) >= kill_after and not killed.is_set():
                            killed.set()
                            os.kill(lab.process.proc.pid, signal.SIGKILL)
        except (OSError, smtplib.SMTPException):
            if not killed.is_set():
                raise

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(BOUND)
    assert killed.is_set(), f"the lab was not killed ({len(acknowledged)} acknowledged)"
    status, _out, _err = lab.process.wait(BOUND)
    assert status == -signal.SIGKILL


def _mailboxes(state: Path) -> dict[str, Counter[str]]:
    with sqlite3.connect(state / "state.db") as db:
        rows = db.execute("SELECT mailbox, message_id FROM mailbox").fetchall()
    boxes: dict[str, Counter[str]] = {}
    for mailbox, message_id in rows:
        boxes.setdefault(mailbox.lower(), Counter())[message_id] += 1
    return boxes


@pytest.mark.parametrize("next_hop_stopped", [True, False], ids=["queued", "relaying"])
def test_killed_lab_delivers_every_acknowledged_message_once(
    tmp_path: Path, next_hop_stopped: bool
) -> None:
    """``queued``: TREY-CAS1 is stopped, every relayed copy waits in ADATUM-MBX1's queue at
    the kill. ``relaying``: TREY-CAS1 runs, copies are on their way to TreyResearch when the
    lab dies (some accepted there whose removal from the queue was not yet committed)."""
    state = tmp_path / "state"
    acknowledged: set[int] = set()
    first = LiveLab(tmp_path, "--state", str(state))
    try:
        _configure(first, next_hop_stopped)
        _send_until_killed(first, acknowledged, kill_after=MESSAGES // 2)
    finally:
        first.close()
    if next_hop_stopped:
        with sqlite3.connect(state / "state.db") as db:
            waiting = db.execute("SELECT COUNT(*) FROM queued").fetchone()[0]
        # Every acknowledged message's relayed copy was in ADATUM-MBX1's queue at the kill.
        assert waiting >= len(acknowledged)

    second = LiveLab(tmp_path, "--state", str(state))
    assert second.info["state"] == str(state)
    try:
        # As a sending MTA does, the clients send again what was never acknowledged (a message
        # in flight at the kill may have been committed without its 250 going out: the
        # mailbox's duplicate detection by Message-ID keeps it to one copy).
        with smtplib.SMTP("127.0.10.1", second.port("ADATUM-CAS1"), timeout=BOUND) as smtp:
            for number in sorted(set(range(MESSAGES)) - acknowledged):
                smtp.sendmail("ed@client.example", [LOCAL, RELAYED], _content(number))
        assert "error" not in second.sh("TreyResearch", "Start-LabServer TREY-CAS1").lower()
        # The restored queue made its first attempt while TREY-CAS1 was still stopped, or
        # makes it now; either way the retry falls due within the hour.
        second.sh("Adatum", ":advance 1h")
        queues = second.sh("Adatum", "Get-Queue")
        assert "treyresearch.net" not in queues or " 0 " in queues, queues
        inbox = second.sh("TreyResearch", f":inbox {RELAYED}")
        status, _out, err = second.stop(signal.SIGTERM)
    finally:
        second.close()
    assert status == 0, err
    no_traceback(err)

    boxes = _mailboxes(state)
    for mailbox in (LOCAL, RELAYED):
        box = boxes.get(mailbox, Counter())
        missing = [n for n in acknowledged if box[_message_id(n)] == 0]
        assert not missing, f"{mailbox}: acknowledged but lost: {sorted(missing)[:10]}"
        assert len(box) == MESSAGES, f"{mailbox}: {len(box)} of {MESSAGES} messages"
        twice = [m for m, count in box.items() if count > 1]
        assert not twice, f"{mailbox}: delivered more than once: {twice[:10]}"
    # The lab shows what the database holds.
    assert inbox.count("'crash ") == sum(boxes[RELAYED].values())


def test_a_second_lab_on_the_same_state_folder_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = LiveLab(tmp_path, "--state", str(state))
    try:
        second = LabsimProcess("up", "--state", str(state), cwd=tmp_path)
        status, out, err = second.wait(BOUND)
        assert status == 2, out + err
        assert (out + err).strip() == (
            f"labsim: error: --state {state}: another lab uses this state folder "
            f"(labsim pid {first.process.proc.pid}); stop that lab first, or give another "
            "--state folder"
        )
        # The first lab goes on serving.
        assert "adatum.com" in first.sh("Adatum", "Get-AcceptedDomain")
    finally:
        first.close()
