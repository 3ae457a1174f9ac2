"""Remove-Message and Suspend-Message with ``--state``: a removed message is gone from the saved
queue, so a restart does not bring it back; a held message comes back held (Suspended, sent
only after Resume-Message, expiring at its own date); the message cmdlets are never replayed
(they name messages of the run that typed them); a state folder of the schema before holds
were kept still opens."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from labsim.model.enums import MessageStatus
from labsim.store.database import SCHEMA_VERSION
from tests.state.test_state_restart import RELAY, kept_lab, ok


def _held_and_removed(folder: Path) -> None:
    """A lab whose partner is down: 'removed' is removed, 'kept' is held."""
    with kept_lab(folder) as lab:
        for line in RELAY:
            ok(lab, "Adatum", line)
        ok(lab, "TreyResearch", "Stop-LabServer TREY-CAS1")
        for subject in ("removed", "kept"):
            lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=subject)
        removed = next(m.identity for m in lab.messages("Adatum") if m.subject == "removed")
        ok(lab, "Adatum", f"Remove-Message {removed} -WithNDR $false")
        ok(lab, "Adatum", "Get-Message | Suspend-Message")
        # The hold is committed with the shell line's turn, not only when the lab stops.
        with sqlite3.connect(folder / "state.db") as db:
            assert list(db.execute("SELECT subject, held FROM queued")) == [("kept", 1)]


def test_a_removed_message_stays_removed_and_a_held_one_stays_held(tmp_path: Path) -> None:
    _held_and_removed(tmp_path)
    with sqlite3.connect(tmp_path / "state.db") as db:
        statements = [row[0] for row in db.execute("SELECT statement FROM journal")]
    assert not any("-Message" in statement for statement in statements), statements
    with kept_lab(tmp_path) as lab:
        assert lab.restore_warnings == []
        [kept] = lab.messages("Adatum")
        assert (kept.subject, kept.status) == ("kept", MessageStatus.SUSPENDED)
        assert "Suspended" in ok(lab, "Adatum", "Get-Message | Format-List Subject,Status")
        ok(lab, "TreyResearch", "Start-LabServer TREY-CAS1")
        lab.advance(3600)
        # The partner is back, but the message is held: nothing is delivered.
        assert lab.inbox("ben@treyresearch.net") == ()
        assert [m.status for m in lab.messages("Adatum")] == [MessageStatus.SUSPENDED]
        ok(lab, "Adatum", f"Resume-Message {kept.identity}")
        lab.advance(60)
        assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["kept"]
        assert lab.messages("Adatum") == []


def test_a_held_message_still_expires_at_its_own_date_after_a_restart(tmp_path: Path) -> None:
    _held_and_removed(tmp_path)
    with kept_lab(tmp_path) as lab:
        [kept] = lab.messages("Adatum")
        expires = kept.expiration_time
        assert expires is not None
        ok(lab, "TreyResearch", "Start-LabServer TREY-CAS1")
        lab.advance(int((expires - lab.now()).total_seconds()) - 60)
        assert [m.status for m in lab.messages("Adatum")] == [MessageStatus.SUSPENDED]
        lab.advance(120)
        assert lab.messages("Adatum") == []
        assert lab.inbox("ben@treyresearch.net") == ()
        ndrs = [m.subject for m in lab.inbox("april@adatum.com")]
        assert any("kept" in subject for subject in ndrs), ndrs


def test_a_state_folder_of_schema_1_opens_and_its_messages_come_back_ready(
    tmp_path: Path,
) -> None:
    _held_and_removed(tmp_path)
    # What the labsim before holds were kept wrote: schema 1, no 'held' column.
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("ALTER TABLE queued DROP COLUMN held")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with kept_lab(tmp_path) as lab:
        assert lab.restore_warnings == []
        assert [(m.subject, m.status) for m in lab.messages("Adatum")] == [
            ("kept", MessageStatus.READY)
        ]
        ok(lab, "Adatum", "Get-Message | Suspend-Message")
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert list(db.execute("SELECT subject, held FROM queued")) == [("kept", 1)]
    with kept_lab(tmp_path) as lab:
        assert [m.status for m in lab.messages("Adatum")] == [MessageStatus.SUSPENDED]
