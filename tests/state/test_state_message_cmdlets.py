"""Remove-Message and Suspend-Message with ``--state``: a removed message is gone from the saved
queue, so a restart does not bring it back, and the message cmdlets are never replayed (they
name messages of the run that typed them)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.state.test_state_restart import RELAY, kept_lab, ok


def test_a_removed_message_stays_removed_after_a_restart(tmp_path: Path) -> None:
    with kept_lab(tmp_path) as lab:
        for line in RELAY:
            ok(lab, "Adatum", line)
        ok(lab, "TreyResearch", "Stop-LabServer TREY-CAS1")
        for subject in ("removed", "kept"):
            lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=subject)
        removed = next(m.identity for m in lab.messages("Adatum") if m.subject == "removed")
        ok(lab, "Adatum", f"Remove-Message {removed} -WithNDR $false")
        ok(lab, "Adatum", "Get-Message | Suspend-Message")
    with sqlite3.connect(tmp_path / "state.db") as db:
        subjects = [row[0] for row in db.execute("SELECT subject FROM queued")]
        statements = [row[0] for row in db.execute("SELECT statement FROM journal")]
    assert subjects == ["kept"]
    assert not any("-Message" in statement for statement in statements), statements
    with kept_lab(tmp_path) as lab:
        assert lab.restore_warnings == []
        assert [m.subject for m in lab.messages("Adatum")] == ["kept"]
        ok(lab, "TreyResearch", "Start-LabServer TREY-CAS1")
        lab.advance(3600)
        assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["kept"]
