"""What Exchange's protocol and tracking logs have in common: CSV fields, timestamps, log files.

Both logs are W3C-style text files: a few ``#Name: value`` header lines, then one CSV row per
record, CRLF line ends (the files come from Windows), UTF-8 without a byte-order mark. Fields are
quoted only when they must be (a comma, a double quote or a line break inside), with inner quotes
doubled; everything else is written bare, so an empty field is simply nothing between commas.

Files roll over when the UTC date of a record differs from the date in the current file's name,
as Exchange's daily logs do, and the instance counter (``-1``, ``-2``, …) skips names that already
exist on disk so that a second lab run over the same folder never overwrites the first one's logs.

Nothing here reads a clock: each line is written with the time its record carries.

Records are rendered to CSV only when someone reads them or when they go to disk, and disk
writes are buffered until :meth:`LogFileSet.flush` (the lab flushes whenever it goes idle and when
it stops): a lab writes tens of log lines per SMTP session, and rendering and re-opening a file
for each of them cost more than the SMTP work itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "LINE_END",
    "CsvRecord",
    "LogFileSet",
    "LogFileText",
    "check_aware",
    "check_path_component",
    "csv_field",
    "csv_line",
    "exchange_timestamp",
    "render_record",
]

#: Exchange writes its logs on Windows; keeping CRLF on disk lets real tools (Log Parser,
#: ``Import-Csv``) and byte-for-byte comparisons with real logs work unchanged.
LINE_END = "\r\n"

# A field needs quotes when it could otherwise be mistaken for a field or line boundary.
_NEEDS_QUOTES = frozenset(',"\r\n')


def check_aware(when: datetime, what: str) -> None:
    """Refuse a naive datetime: logs are UTC, and guessing the zone of a naive value is a bug."""
    # The lab clock's times carry the UTC singleton: one identity test instead of a
    # utcoffset() call for the ~90 times a message's sessions log.
    if when.tzinfo is UTC:
        return
    if when.utcoffset() is None:
        raise ValueError(
            f"{what} must be a timezone-aware datetime (use the lab clock), got {when!r}"
        )


def check_path_component(value: str, what: str) -> None:
    """Refuse a name that would escape or split the log folder it names (a server name)."""
    if not value or value in {".", ".."} or any(c in value for c in "/\\:\0"):
        raise ValueError(f"{what} {value!r} cannot be used as a folder name")


def exchange_timestamp(when: datetime) -> str:
    """``when`` in UTC as Exchange logs it: ``2026-11-30T06:48:13.123Z``.

    Milliseconds are truncated, not rounded, as .NET's ``fff`` format specifier does; rounding
    could carry into the next second and make a line look later than the event.
    """
    check_aware(when, "a log time")
    utc = when.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


_QUOTE_TRIGGER = re.compile(r'[,"\r\n]')


def csv_field(value: str) -> str:
    """One CSV field, quoted only if it contains a comma, a double quote or a line break."""
    if _QUOTE_TRIGGER.search(value) is not None:
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(values: Iterable[str]) -> str:
    """One CSV row (without line end) from already formatted field values."""
    return ",".join(csv_field(v) for v in values)


class CsvRecord(Protocol):
    """A log record that renders itself as one CSV row."""

    def to_csv(self) -> str:
        """The row, without the line end."""
        ...


#: Lines kept for disk before a write is forced even though nobody flushed.
FLUSH_EVERY = 2000


def render_record(record: CsvRecord) -> str:
    """A record's row: what a file renders unless its log keeps records in another form."""
    return record.to_csv()


@dataclass
class LogFileText:
    """One log file as held in memory: its name, its header lines and its records.

    ``render`` turns one held record into its row: a log may hold its records as plain tuples
    (the protocol log does: a live lab keeps hundreds of thousands of them, and tuples of
    strings and times are left alone by the garbage collector, objects are not).
    """

    name: str
    header: list[str]
    records: list[Any] = field(default_factory=list)
    path: Path | None = None
    written: int = 0
    """How many records are on disk already (only with a path)."""
    render: Callable[[Any], str] = render_record

    @property
    def lines(self) -> list[str]:
        """The record lines, rendered now."""
        render = self.render
        return [render(record) for record in self.records]

    def text(self) -> str:
        """The whole file as it is on disk (after a flush)."""
        return "".join(line + LINE_END for line in [*self.header, *self.lines])

    def flush(self) -> None:
        """Append the records not yet on disk to the file."""
        if self.path is None or self.written == len(self.records):
            return
        pending = self.records[self.written :]
        render = self.render
        with self.path.open("a", encoding="utf-8", newline="") as stream:
            stream.write("".join(render(record) + LINE_END for record in pending))
        self.written = len(self.records)


class LogFileSet:
    """The files of one log (one directory of Exchange logs): memory always, disk if a folder.

    ``prefix`` is the file name prefix (``RECV``, ``SEND``, ``MSGTRK``) and ``header`` builds the
    header lines for a file created at a given time (the time of its first record).
    """

    def __init__(
        self,
        folder: Path | None,
        prefix: str,
        header: Callable[[datetime], list[str]],
        render: Callable[[Any], str] = render_record,
    ) -> None:
        self._folder = folder
        self._prefix = prefix
        self._header = header
        self._render = render
        self._day: date | None = None
        self._next_midnight: datetime | None = None
        """Start of the UTC day after ``_day``: records before it go to the current file."""
        self._pending = 0
        self.files: list[LogFileText] = []

    def write(self, when: datetime, record: Any) -> None:
        """Append ``record`` logged at ``when``, starting a new file on a new UTC day.

        The record is rendered later (when read, or when flushed to disk). ``when`` must be
        timezone-aware (log records check that when they are made).
        """
        # Only a later day starts a file: two sessions may log slightly out of order around
        # midnight, and Exchange keeps writing the open file rather than reopening an old one.
        # Before the next UTC midnight the day cannot be later (one comparison per record).
        next_midnight = self._next_midnight
        if next_midnight is None or when >= next_midnight:
            day = when.astimezone(UTC).date()
            if self._day is None or day > self._day:
                self._start_file(when, day)
        current = self.files[-1]
        current.records.append(record)
        if current.path is not None:
            self._pending += 1
            if self._pending >= FLUSH_EVERY:
                self.flush()

    def flush(self) -> None:
        """Write every buffered line to its file (nothing to do without a folder)."""
        for f in self.files:
            f.flush()
        self._pending = 0

    def text(self) -> str:
        """Every file of this log, oldest first, as on disk (header lines included)."""
        return "".join(f.text() for f in self.files)

    def _start_file(self, when: datetime, day: date) -> None:
        if self.files:
            self.files[-1].flush()
        self._day = day
        self._next_midnight = datetime.combine(day + timedelta(days=1), time(), UTC)
        header = self._header(when)
        stamp = f"{day:%Y%m%d}"
        taken = {f.name for f in self.files}
        instance = 1
        while True:
            name = f"{self._prefix}{stamp}-{instance}.LOG"
            exists_on_disk = self._folder is not None and (self._folder / name).exists()
            if name not in taken and not exists_on_disk:
                break
            instance += 1
        path = None
        if self._folder is not None:
            self._folder.mkdir(parents=True, exist_ok=True)
            path = self._folder / name
            with path.open("x", encoding="utf-8", newline="") as stream:
                stream.write("".join(h + LINE_END for h in header))
        self.files.append(LogFileText(name=name, header=header, path=path, render=self._render))
