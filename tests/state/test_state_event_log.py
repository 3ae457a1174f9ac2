"""The Application event log survives a restart of a lab kept with ``--state``: every entry
written is staged in the state database's ``event_log`` table and committed with the reactor
turn, put back into each server's log at the next start (Index goes on from the last one; the
suppression of repeats starts afresh), bounded by ENTRIES_KEPT; folders of schema 1 and 2 open
(labsim.store, docs/fidelity.md "The Application event log")."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labsim.lab import Lab
from labsim.logs import event_log
from labsim.logs.event_log import ApplicationLog, EventLogEntry
from labsim.model.lab import default_lab
from labsim.policy import events
from labsim.store.database import SCHEMA_VERSION, LabState
from tests.state.test_state_restart import RELAY, kept_lab, ok

AT = datetime(2026, 12, 4, 9, 30, 15, 250000, tzinfo=UTC)
MBX = "adatum-mbx1.adatum.com"
NO_CERTIFICATE = (
    'Set-ReceiveConnector "TREY-CAS1\\Default Frontend TREY-CAS1" -Fqdn mx.treyresearch.net'
)
"""TREY-CAS1's Internet connector names an FQDN no certificate carries: 12014 at the next
session that would offer STARTTLS."""


def entries(count: int, *, first_at: datetime = AT) -> list[EventLogEntry]:
    """``count`` entries of ADATUM-MBX1's log, a different connector each (none suppressed)."""
    log = ApplicationLog(MBX)
    for number in range(count):
        log.write(
            events.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
            ("smtp.adatum.com", f"To Partner {number}", "smtp.adatum.com"),
            source=event_log.SOURCE_TRANSPORT,
            at=first_at + timedelta(minutes=number),
        )
    return list(log.entries())


def kept(folder: Path) -> list[tuple[str, EventLogEntry]]:
    with closing(LabState.open(folder, default_lab())) as state:
        return list(state.event_log_entries())


def _environment() -> dict[str, str]:
    """This checkout first on the path of a child Python (its ``tests`` package too)."""
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}


# --- the store ------------------------------------------------------------------------------


def test_entries_written_and_committed_come_back_equal_after_reopening(tmp_path: Path) -> None:
    written = entries(2)
    with closing(LabState.open(tmp_path, default_lab())) as state:
        for entry in written:
            state.event_written("ADATUM-MBX1", entry)
        state.commit()
    assert kept(tmp_path) == [("ADATUM-MBX1", entry) for entry in written]
    (restored,) = [entry for server, entry in kept(tmp_path) if entry.index == 1]
    assert restored.time_generated == AT  # to the microsecond, with its time zone
    assert restored.replacement_strings == ("smtp.adatum.com", "To Partner 0", "smtp.adatum.com")
    assert restored.instance_id == 3221237486


def test_a_crash_keeps_what_was_committed_and_loses_what_was_only_staged(tmp_path: Path) -> None:
    """A process that commits one entry, stages a second and is killed with SIGKILL."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from tests.state.test_state_event_log import entries
        from labsim.model.lab import default_lab
        from labsim.store.database import LabState

        first, second = entries(2)
        state = LabState.open(Path({str(tmp_path)!r}), default_lab())
        state.event_written("ADATUM-MBX1", first)
        state.commit()
        state.event_written("ADATUM-MBX1", second)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    process = subprocess.run(
        [sys.executable, "-c", script], env=_environment(), capture_output=True, timeout=120
    )
    assert process.returncode == -9, process.stderr.decode()
    assert kept(tmp_path) == [("ADATUM-MBX1", entries(2)[0])]


def test_the_bound_on_entries_kept_applies_to_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_log, "ENTRIES_KEPT", 3)
    with closing(LabState.open(tmp_path, default_lab())) as state:
        for entry in entries(5):
            state.event_written("ADATUM-MBX1", entry)
        for entry in entries(2):
            state.event_written("TREY-MBX1", entry)
        state.commit()
    assert [(server, entry.index) for server, entry in kept(tmp_path)] == [
        ("ADATUM-MBX1", 3),
        ("ADATUM-MBX1", 4),
        ("ADATUM-MBX1", 5),
        ("TREY-MBX1", 1),
        ("TREY-MBX1", 2),
    ]


def _written_by_an_older_labsim(folder: Path, schema: int) -> None:
    """A state folder as labsim of ``schema`` left it: no event_log table (and, for schema 1,
    no 'held' column in the queue table)."""
    LabState.open(folder, default_lab()).close()
    with sqlite3.connect(folder / "state.db") as db:
        db.execute("DROP TABLE event_log")
        if schema < 2:
            db.execute("ALTER TABLE queued DROP COLUMN held")
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(schema),))


@pytest.mark.parametrize("schema", [1, 2])
def test_a_state_folder_of_an_older_schema_opens_and_keeps_entries(
    tmp_path: Path, schema: int
) -> None:
    _written_by_an_older_labsim(tmp_path, schema)
    (entry,) = entries(1)
    with closing(LabState.open(tmp_path, default_lab())) as state:
        assert list(state.event_log_entries()) == []
        state.event_written("ADATUM-MBX1", entry)  # committed by close, as a lab's stop does
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        columns = {row[1] for row in db.execute("PRAGMA table_info(queued)")}
        assert "held" in columns
    assert kept(tmp_path) == [("ADATUM-MBX1", entry)]
    assert SCHEMA_VERSION == 3


# --- a lab restarted through --state --------------------------------------------------------


def _twelve_0_fourteen(lab: Lab, subject: str) -> None:
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=subject)


def _configure(lab: Lab) -> None:
    for line in RELAY:
        ok(lab, "Adatum", line)
    ok(lab, "TreyResearch", NO_CERTIFICATE)


def test_get_eventlog_lists_yesterdays_entries_after_a_restart_and_indexes_go_on(
    tmp_path: Path,
) -> None:
    with kept_lab(tmp_path) as lab:
        _configure(lab)
        _twelve_0_fourteen(lab, "before")
        (before,) = lab.event_log_entries("TREY-CAS1")
        assert (before.event_id, before.index) == (12014, 1)
        listed_before = ok(
            lab, "TreyResearch", "Get-EventLog Application -ComputerName TREY-CAS1 | fl"
        )
    with kept_lab(tmp_path) as lab:
        assert lab.event_log_entries("TREY-CAS1") == [before]
        assert ok(lab, "TreyResearch", "Get-EventLog Application -ComputerName TREY-CAS1 | fl") == (
            listed_before
        )
        # Within the suppression period of the first, but the restarted service does not
        # remember it: the condition is written again, with the next Index.
        _twelve_0_fourteen(lab, "after")
        after = lab.event_log_entries("TREY-CAS1")
        assert [e.index for e in after] == [1, 2]
        assert after[1].time_generated - before.time_generated < event_log.SUPPRESSION_PERIOD
        table = ok(lab, "TreyResearch", "Get-EventLog Application -ComputerName TREY-CAS1")
        assert [line.split()[0] for line in table.splitlines()[2:]] == ["2", "1"]
    with kept_lab(tmp_path) as lab:
        assert [e.index for e in lab.event_log_entries("TREY-CAS1")] == [1, 2]


def test_a_killed_lab_keeps_the_entries_its_turns_committed(tmp_path: Path) -> None:
    """A lab process killed with SIGKILL right after the turn that wrote the 12014: the entry
    was committed with the turn, and the next start lists it."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from tests.state.test_state_event_log import _configure, _twelve_0_fourteen
        from tests.state.test_state_restart import kept_lab

        with kept_lab(Path({str(tmp_path)!r})) as lab:
            _configure(lab)
            _twelve_0_fourteen(lab, "before the crash")
            (entry,) = lab.event_log_entries("TREY-CAS1")
            print(entry.index, entry.time_generated.isoformat(), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    process = subprocess.run(
        [sys.executable, "-c", script], env=_environment(), capture_output=True, timeout=300
    )
    assert process.returncode == -9, process.stderr.decode()
    index, at = process.stdout.decode().split()
    with kept_lab(tmp_path) as lab:
        (entry,) = lab.event_log_entries("TREY-CAS1")
        assert (entry.index, entry.time_generated.isoformat(), entry.event_id) == (
            int(index),
            at,
            12014,
        )
