"""``labsim up --state DIR`` refuses a folder it cannot use with one line naming the option and
the fix, exit 2, no traceback, before it starts anything; a second lab on a folder in use is
refused (the lock)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from labsim.cli import cli
from labsim.model.lab import default_lab
from labsim.model.mail import DeliveredMessage
from labsim.store.database import LabState

AT = datetime(2026, 12, 4, tzinfo=UTC)
LABS = Path(__file__).resolve().parents[2] / "labs"


def up(state: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["up", "--state", str(state), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def refused(state: Path, *wanted: str, extra: tuple[str, ...] = ()) -> None:
    code, output = up(state, *extra)
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"labsim: error: --state {state}: "), output
    for text in wanted:
        assert text in lines[0], output
    assert "Traceback" not in output


def test_a_file_is_not_a_state_folder(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("x")
    refused(file, "is not a folder")
    refused(file / "state", "cannot create it", "give a folder you can write")


def test_a_corrupt_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"this is not sqlite at all" * 100)
    refused(
        tmp_path, "state.db is damaged or is not a labsim state database", "move that file away"
    )


def test_a_damaged_state_database_is_refused(tmp_path: Path) -> None:
    state = LabState.open(tmp_path, default_lab())
    for number in range(20):
        state.delivered(
            DeliveredMessage("ed@adatum.com", "a@b", "s", b"x" * 3000, AT, f"<{number}@b>")
        )
    state.close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray((tmp_path / "state.db").read_bytes())
    assert len(data) > 10 * 4096
    data[-3 * 4096 :] = b"\xff" * (3 * 4096)  # the last pages (mailbox rows) overwritten
    (tmp_path / "state.db").write_bytes(bytes(data))
    refused(
        tmp_path, "state.db is damaged or is not a labsim state database", "move that file away"
    )


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("CREATE TABLE contacts (name TEXT)")
    refused(tmp_path, "not a labsim state")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    LabState.open(tmp_path, default_lab()).close()
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    refused(tmp_path, "newer labsim (state schema 99", "use that labsim")


def test_the_state_of_another_lab_is_refused(tmp_path: Path) -> None:
    LabState.open(tmp_path, default_lab()).close()
    refused(
        tmp_path,
        "holds the state of another lab ('default'",
        "start it with the --lab it was made with",
        extra=("--lab", str(LABS / "three-orgs.toml")),
    )


def test_a_second_lab_on_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    first = LabState.open(tmp_path, default_lab())
    try:
        refused(tmp_path, "another lab uses this state folder", "stop that lab first")
    finally:
        first.close()
    # Once the first lab is gone, the folder can be opened again.
    LabState.open(tmp_path, default_lab()).close()


def test_help_names_the_option() -> None:
    result = CliRunner().invoke(cli, ["up", "--help"])
    assert "--state DIR" in result.output
    assert "survives a crash" in " ".join(result.output.split())
