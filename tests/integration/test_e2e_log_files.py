"""Log files on disk while the lab runs: buffered lines reach the files whenever the lab is idle,
so an admin reading the folder between steps sees every line the lab logged (§7.1)."""

from __future__ import annotations

from pathlib import Path

from integration_helpers import configure_walkthrough

from labsim.lab import Lab
from labsim.model.lab import default_lab


def _disk_lines(folder: Path) -> list[str]:
    return [
        line
        for line in folder.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]


def test_files_hold_every_line_each_time_the_lab_is_idle(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    lab = Lab.start(default_lab(), cert_folder=tmp_path / "certs", log_folder=logs)
    try:
        configure_walkthrough(lab, "Adatum")
        configure_walkthrough(lab, "TreyResearch")
        for n in range(2):
            lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=f"m{n}")
            # lab.send returns when the lab is idle: no stop, no explicit flush.
            receive = next((logs / "TREY-CAS1").rglob("RECV*.LOG"))
            # The Transport service's file and the Mailbox Transport Delivery service's
            # (MSGTRKMD: DELIVER) together hold every tracking line (docs/exchange-reference.md §17 C6).
            tracking = next((logs / "TREY-MBX1").rglob("MSGTRK2*.LOG"))
            delivery = next((logs / "TREY-MBX1").rglob("MSGTRKMD*.LOG"))
            assert _disk_lines(receive) == lab.protocol_log("TreyResearch", "TREY-CAS1", "receive")
            lines = lab.tracking_log("TreyResearch", "TREY-MBX1")
            assert _disk_lines(tracking) == [line for line in lines if ",DELIVER," not in line]
            assert _disk_lines(delivery) == [line for line in lines if ",DELIVER," in line]
            assert lab.inbox("ben@treyresearch.net")[-1].subject == f"m{n}"
            assert sum(f",m{n}," in line for line in _disk_lines(tracking)) >= 1
    finally:
        lab.stop()
