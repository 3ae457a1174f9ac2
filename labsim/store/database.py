"""The SQLite edge of a lab's saved state: ``<DIR>/state.db`` (WAL) and ``<DIR>/lock``.

Owns the schema and its migrations (a state folder written by an older labsim is brought up
to this schema when it opens), the folder lock (one lab per state folder), the checks that
refuse a folder that cannot be used (one message naming ``--state`` and the fix), and the
explicit commit points. One connection, owned by the thread that runs the reactor; writes are staged in an
open transaction and made durable by :meth:`LabState.commit`, which the engine calls before
it answers 250 and the live lab calls after every reactor turn.

Durability: WAL with ``synchronous=NORMAL``. A commit is in the operating system's hands
before the 250 goes out, so it survives the lab process being killed (``kill -9``); a power
failure may lose the last commits (Exchange's ESE with circular logging has a similar window).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from labsim.errors import UsageError
from labsim.logs import event_log
from labsim.logs.event_log import EventLogEntry
from labsim.logs.tracking import TrackingRecord
from labsim.model.mail import DeliveredMessage, MailItem
from labsim.store import records
from labsim.store.hooks import MemoryOnly

if TYPE_CHECKING:
    from labsim.delivery.queue import QueuedMessage

T = TypeVar("T")

SCHEMA_VERSION = 3
"""The schema this labsim writes; a database of a newer one is refused, not guessed at, and
one of an older one is brought up to it at open (:data:`_MIGRATIONS`)."""

DATABASE_FILE = "state.db"
LOCK_FILE = "lock"

_EVENT_LOG_TABLE = """CREATE TABLE IF NOT EXISTS event_log (
    id INTEGER PRIMARY KEY, server TEXT NOT NULL, entry_index INTEGER NOT NULL,
    time_generated TEXT NOT NULL, entry_type TEXT NOT NULL, source TEXT NOT NULL,
    event_id INTEGER NOT NULL, name TEXT NOT NULL, category TEXT NOT NULL,
    category_number INTEGER NOT NULL, message TEXT NOT NULL,
    replacement_strings TEXT NOT NULL, machine_name TEXT NOT NULL)"""
_EVENT_LOG_INDEX = (
    "CREATE INDEX IF NOT EXISTS event_log_by_server ON event_log (server, entry_index)"
)

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY, block INTEGER NOT NULL, organization TEXT NOT NULL,
    server TEXT, statement TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS certificates (
    slot TEXT PRIMARY KEY, kind TEXT NOT NULL, request TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS mailbox (
    id INTEGER PRIMARY KEY, mailbox TEXT NOT NULL, mail_from TEXT NOT NULL,
    subject TEXT NOT NULL, content BLOB NOT NULL, delivered_at TEXT NOT NULL,
    message_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracking (
    id INTEGER PRIMARY KEY, server TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queued (
    id INTEGER PRIMARY KEY, server TEXT NOT NULL, queue TEXT NOT NULL,
    message_id TEXT NOT NULL, mail_from TEXT NOT NULL, recipients TEXT NOT NULL,
    content BLOB NOT NULL, received_at TEXT NOT NULL, subject TEXT NOT NULL,
    is_dsn INTEGER NOT NULL, network_message_id TEXT NOT NULL,
    held INTEGER NOT NULL DEFAULT 0);
"""
    + f"{_EVENT_LOG_TABLE};\n{_EVENT_LOG_INDEX};\n"
)


def _add_held(connection: sqlite3.Connection) -> None:
    # Schema 2: Suspend-Message's hold is kept with the queued message (mail.que keeps a
    # message's admin status across a restart of the Transport service).
    columns = {row[1] for row in connection.execute("PRAGMA table_info(queued)")}
    if "held" not in columns:
        connection.execute("ALTER TABLE queued ADD COLUMN held INTEGER NOT NULL DEFAULT 0")


def _add_event_log(connection: sqlite3.Connection) -> None:
    # Schema 3: the Application event log is kept (a Windows event log survives a restart).
    # A folder of an older labsim has no entries to bring over: that labsim kept none.
    connection.execute(_EVENT_LOG_TABLE)
    connection.execute(_EVENT_LOG_INDEX)


_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {2: _add_held, 3: _add_event_log}
"""What brings a database of schema ``n - 1`` to schema ``n`` (run after the tables of
:data:`_SCHEMA` that were missing are made)."""


@dataclass(frozen=True)
class JournalEntry:
    """One configuration statement as typed: where it ran and the block it came in."""

    block: int
    organization: str
    server: str | None
    statement: str


@dataclass(frozen=True)
class QueuedRow:
    """A message that was in a delivery queue of ``server`` when the lab last stopped."""

    server: str
    queue: str
    item: MailItem
    network_message_id: str
    held: bool = False
    """Suspend-Message held it: it comes back Suspended."""


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring a database of schema ``version`` up to :data:`SCHEMA_VERSION`, in one transaction
    (a crash part-way leaves the old schema, migrated again at the next open)."""
    if version >= SCHEMA_VERSION:
        return
    connection.execute("BEGIN")
    try:
        for step in range(version + 1, SCHEMA_VERSION + 1):
            _MIGRATIONS[step](connection)
        connection.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
        )
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _refuse(folder: Path, problem: str, fix: str) -> UsageError:
    return UsageError(f"--state {folder}: {problem}; {fix}")


def _prepare_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise _refuse(folder, "is not a folder", "give a folder (it is created if missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _refuse(
            folder, f"cannot create it ({err.strerror or err})", "give a folder you can write"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _refuse(folder, "is not writable", "give a folder you can write")


def _try_lock(file: Any) -> bool:
    """Lock the open ``file`` for this process without waiting; False when another holds it.

    The operating system releases the lock when the process ends, however it ends (kill -9)."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


class LabState(MemoryOnly):
    """A lab's state in ``<folder>/state.db``; see the module docstring."""

    persistent = True

    def __init__(self, folder: Path, connection: sqlite3.Connection, lock: Any) -> None:
        self.folder = folder
        self._db = connection
        self._lock = lock
        self._in_transaction = False
        self._rows: dict[int, int] = {}
        """Row id of each queued message, by ``id()`` of its QueuedMessage."""
        self._context = "start"
        self._counters: dict[str, int] = {}
        self._pending_slots: list[tuple[str, str, str, str]] = []
        self._journal_block: int | None = None
        self.replaying = False

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: Path, definition: Any) -> LabState:
        """Open (or create) the state of ``definition`` in ``folder``, locked for this process.

        Raises UsageError naming ``--state`` for a folder that cannot be used.
        """
        folder = Path(folder)
        _prepare_folder(folder)
        try:
            lock = (folder / LOCK_FILE).open("a+")
        except OSError as err:
            raise _refuse(
                folder,
                f"cannot open its lock file ({err.strerror or err})",
                "give a folder you can write",
            ) from None
        if not _try_lock(lock):
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise _refuse(
                folder,
                f"another lab uses this state folder ({holder})",
                "stop that lab first, or give another --state folder",
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"labsim pid {os.getpid()}\n")
        lock.flush()
        try:
            connection = cls._connect(folder, definition)
        except BaseException:
            lock.close()
            raise
        return cls(folder, connection, lock)

    @staticmethod
    def _connect(folder: Path, definition: Any) -> sqlite3.Connection:
        path = folder / DATABASE_FILE
        identity = records.lab_identity(definition)
        try:
            connection = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as err:
            raise _refuse(
                folder, f"cannot open {path} ({err})", "give a folder you can write"
            ) from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if tables and "meta" not in tables:
                raise _refuse(
                    folder,
                    f"{path} is an SQLite database, but not a labsim state",
                    "give another --state folder, or move that file away",
                )
            meta = dict(connection.execute("SELECT key, value FROM meta")) if tables else {}
            (check,) = connection.execute("PRAGMA quick_check(1)").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            version = int(meta.get("schema", SCHEMA_VERSION))
            if version > SCHEMA_VERSION:
                raise _refuse(
                    folder,
                    f"it was written by a newer labsim (state schema {version}; this labsim "
                    f"reads {SCHEMA_VERSION})",
                    "use that labsim, or give another --state folder",
                )
            if meta and meta.get("lab") != identity:
                raise _refuse(
                    folder,
                    f"it holds the state of another lab ('{meta.get('lab_name', '?')}': "
                    f"{meta.get('lab')}; this is '{definition.name}': {identity})",
                    "start it with the --lab it was made with, or give another --state folder",
                )
            connection.executescript(_SCHEMA)
            if meta:
                _migrate(connection, version)
            if not meta:
                connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [
                        ("schema", str(SCHEMA_VERSION)),
                        ("lab", identity),
                        ("lab_name", str(definition.name)),
                    ],
                )
        except sqlite3.DatabaseError as err:
            connection.close()
            raise _refuse(
                folder,
                f"{path} is damaged or is not a labsim state database ({' '.join(str(err).split())})",
                "give another --state folder, or move that file away to start afresh",
            ) from None
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        """Commit, close the database and release the folder."""
        with contextlib.suppress(sqlite3.Error):
            self.commit()
            self._db.close()
        self._lock.close()

    # --- writing --------------------------------------------------------------------------

    def _write(self, sql: str, parameters: tuple[Any, ...]) -> sqlite3.Cursor:
        if not self._in_transaction:
            self._db.execute("BEGIN")
            self._in_transaction = True
        return self._db.execute(sql, parameters)

    def commit(self) -> None:
        """Make everything staged durable (no-op when nothing is staged)."""
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    def set_meta(self, key: str, value: str) -> None:
        """Remember one value (staged)."""
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def meta(self, key: str) -> str | None:
        """A value :meth:`set_meta` kept."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- queues ---------------------------------------------------------------------------

    def message_queued(self, server: str, queue: str, qm: QueuedMessage) -> None:
        """Stage the message, its envelope and its queue."""
        item = qm.item
        cursor = self._write(
            "INSERT INTO queued (server, queue, message_id, mail_from, recipients, content,"
            " received_at, subject, is_dsn, network_message_id, held)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                server,
                queue,
                item.message_id,
                item.mail_from,
                records.encode_recipients(qm.recipients),
                item.content,
                item.received_at.isoformat(),
                item.subject,
                int(item.is_dsn),
                qm.network_message_id,
                int(qm.held),
            ),
        )
        assert cursor.lastrowid is not None
        self._rows[id(qm)] = cursor.lastrowid

    def message_recipients(self, qm: QueuedMessage) -> None:
        """Stage the recipients still to deliver."""
        row = self._rows.get(id(qm))
        if row is not None:
            self._write(
                "UPDATE queued SET recipients = ? WHERE id = ?",
                (records.encode_recipients(qm.recipients), row),
            )

    def message_held(self, qm: QueuedMessage) -> None:
        """Stage whether Suspend-Message holds the message (``qm.held``)."""
        row = self._rows.get(id(qm))
        if row is not None:
            self._write("UPDATE queued SET held = ? WHERE id = ?", (int(qm.held), row))

    def message_left(self, qm: QueuedMessage) -> None:
        """Stage the removal of a message from its queue."""
        row = self._rows.pop(id(qm), None)
        if row is not None:
            self._write("DELETE FROM queued WHERE id = ?", (row,))

    def queued_messages(self) -> list[QueuedRow]:
        """The messages that were queued when the lab last stopped, oldest first."""
        rows = self._db.execute(
            "SELECT server, queue, message_id, mail_from, recipients, content, received_at,"
            " subject, is_dsn, network_message_id, held FROM queued ORDER BY id"
        ).fetchall()
        return [
            QueuedRow(
                server,
                queue,
                MailItem(
                    internal_id=0,
                    message_id=message_id,
                    mail_from=mail_from,
                    recipients=tuple(json.loads(recipients)),
                    content=bytes(content),
                    received_at=datetime.fromisoformat(received_at),
                    subject=subject,
                    is_dsn=bool(is_dsn),
                ),
                network_message_id,
                bool(held),
            )
            for (
                server,
                queue,
                message_id,
                mail_from,
                recipients,
                content,
                received_at,
                subject,
                is_dsn,
                network_message_id,
                held,
            ) in rows
        ]

    def forget_queued(self) -> None:
        """Stage the removal of every queued row (before they are queued again)."""
        self._write("DELETE FROM queued", ())
        self._rows.clear()

    # --- mailboxes and tracking -----------------------------------------------------------

    def delivered(self, message: DeliveredMessage) -> None:
        """Stage a message put into a mailbox."""
        self._write(
            "INSERT INTO mailbox (mailbox, mail_from, subject, content, delivered_at, message_id)"
            " VALUES (?,?,?,?,?,?)",
            records.delivered_row(message),
        )

    def mailbox_messages(self) -> list[DeliveredMessage]:
        """Every delivered message, in delivery order."""
        rows = self._db.execute(
            "SELECT mailbox, mail_from, subject, content, delivered_at, message_id FROM mailbox"
            " ORDER BY id"
        )
        return [records.delivered_from_row(row) for row in rows]

    def tracked(self, server: str, record: TrackingRecord) -> None:
        """Stage a message tracking record of ``server``."""
        self._write(
            "INSERT INTO tracking (server, record) VALUES (?, ?)",
            (server, records.encode_tracking(record)),
        )

    def tracking_records(self) -> Iterator[tuple[str, TrackingRecord]]:
        """Every tracking record (server, record), in the order logged."""
        for server, text in self._db.execute("SELECT server, record FROM tracking ORDER BY id"):
            yield server, records.decode_tracking(text)

    # --- the Application event log ---------------------------------------------------------

    def event_written(self, server: str, entry: EventLogEntry) -> None:
        """Stage an Application log entry of ``server``, and the removal of the entries that
        fell out of the log's bound (:data:`labsim.logs.event_log.ENTRIES_KEPT`), so that a lab
        that runs for days keeps as many as Get-EventLog shows."""
        self._write(
            "INSERT INTO event_log (server, entry_index, time_generated, entry_type, source,"
            " event_id, name, category, category_number, message, replacement_strings,"
            " machine_name) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            records.event_row(server, entry),
        )
        self._write(
            "DELETE FROM event_log WHERE server = ? AND entry_index <= ?",
            (server, entry.index - event_log.ENTRIES_KEPT),
        )

    def event_log_entries(self) -> Iterator[tuple[str, EventLogEntry]]:
        """Every kept Application log entry (server, entry), each server's oldest first."""
        for row in self._db.execute(
            "SELECT server, entry_index, time_generated, entry_type, source, event_id, name,"
            " category, category_number, message, replacement_strings, machine_name"
            " FROM event_log ORDER BY server, entry_index"
        ):
            yield records.event_from_row(row)

    # --- configuration journal ------------------------------------------------------------

    def journal(self) -> list[JournalEntry]:
        """The configuration statements as typed, in order."""
        rows = self._db.execute(
            "SELECT block, organization, server, statement FROM journal ORDER BY seq"
        )
        return [JournalEntry(*row) for row in rows]

    def begin_block(self) -> None:
        """A shell block starts: certificates it issues belong to it (until it is journaled)."""
        row = self._db.execute("SELECT COALESCE(MAX(block), 0) + 1 FROM journal").fetchone()
        self._journal_block = int(row[0])
        self.enter(f"block:{self._journal_block}")

    def end_block(self, organization: str, server: str | None, statements: list[str]) -> None:
        """Journal a block's configuration statements with the certificates they issued, or
        forget the block when it has none; commit."""
        block = self._journal_block
        self._journal_block = None
        pending, self._pending_slots = self._pending_slots, []
        if block is not None and statements:
            for text in statements:
                self._write(
                    "INSERT INTO journal (block, organization, server, statement) VALUES (?,?,?,?)",
                    (block, organization, server, text),
                )
            for slot in pending:
                self._write("INSERT OR REPLACE INTO certificates VALUES (?,?,?,?)", slot)
        self.commit()
        self.enter("live")

    def enter(self, context: str) -> None:
        """Certificates made from now on are recalled under ``context`` (start, block:N)."""
        self._context = context
        self._counters[context] = 0

    # --- certificates ---------------------------------------------------------------------

    def recall(self, kind: str, request: str, make: Callable[[], T]) -> T:
        """The certificate or authority made for ``request`` in this context before a restart,
        else a new one (kept with the start, or with the block once it is journaled)."""
        context = self._context
        number = self._counters.get(context, 0)
        self._counters[context] = number + 1
        slot = f"{context}:{number}"
        row = self._db.execute(
            "SELECT kind, request, data FROM certificates WHERE slot = ?", (slot,)
        ).fetchone()
        if row is not None and row[0] == kind and row[1] == request:
            return cast(T, _DECODE[kind](row[2]))
        made = make()
        if self.replaying or context == "live":
            return made  # a replayed block that differs, or no block: nothing to recall later
        entry = (slot, kind, request, _ENCODE[kind](made))
        if context == "start":
            self._write("INSERT OR REPLACE INTO certificates VALUES (?,?,?,?)", entry)
        else:
            self._pending_slots.append(entry)
        return made


_ENCODE: dict[str, Callable[[Any], str]] = {
    "certificate": records.encode_certificate,
    "authority": records.encode_authority,
}
_DECODE: dict[str, Callable[[str], Any]] = {
    "certificate": records.decode_certificate,
    "authority": records.decode_authority,
}
