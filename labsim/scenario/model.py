"""Parsed scenario files: frozen step records, the scenario, and lab-time durations.

Owns the records the loader produces and the runner consumes. Rules kept here:

* Records are frozen; every step keeps its 1-based ``number`` so that messages and reports can
  name it the way the author counts ``[[step]]`` tables.
* ``kind`` is the name a user sees for a step: ``ems``, ``send``, ``advance``, or
  ``expect.<kind>`` (``expect.delivered`` …), as written in the file.
* Pure: no Twisted, no lab; only data and the duration grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeAlias

from labsim.model.lab import LabDefinition, default_lab

__all__ = [
    "DURATION_UNITS",
    "ActionStep",
    "AdvanceStep",
    "EmsStep",
    "ExpectDelivered",
    "ExpectError",
    "ExpectLog",
    "ExpectNdr",
    "ExpectNotDelivered",
    "ExpectOutput",
    "ExpectQueued",
    "ExpectStep",
    "LOG_NAMES",
    "Scenario",
    "SendStep",
    "Step",
    "format_duration",
    "parse_duration",
    "MAX_ADVANCE_SECONDS",
    "MAX_SEND_SIZE",
    "SENDER_WRITTEN_HEADERS",
]

#: Seconds per duration unit, largest first (the order :func:`format_duration` writes them).
DURATION_UNITS: dict[str, int] = {"d": 86400, "h": 3600, "m": 60, "s": 1}

#: The longest single clock jump labsim accepts (``advance``, ``:advance``): 100 years. Longer
#: jumps lead nowhere an exercise needs and, repeated, past the year 9999 that times can hold.
MAX_ADVANCE_SECONDS = 36500 * 86400

#: The largest message a ``send`` step may ask for with ``size``: 100 MB, above every size limit
#: of Exchange 2013's defaults (35/36 MB on connectors, 10 MB for the organization), small
#: enough that padding it in memory cannot exhaust the machine.
MAX_SEND_SIZE = 100 * 1024 * 1024

#: Header names a ``send`` step may not give in ``headers``: labsim writes them itself (from
#: the step's from/to/cc/subject keys, or as the message's date, id and MIME body headers).
SENDER_WRITTEN_HEADERS: tuple[str, ...] = (
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
)

#: Logs an ``expect.log`` step can search: the two protocol logs, message tracking and the
#: Application event log.
LOG_NAMES: tuple[str, ...] = ("receive", "send", "tracking", "event")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_DURATION_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[dhms])+")


def parse_duration(text: str) -> float | None:
    """Seconds in a duration such as ``"90s"``, ``"15m"``, ``"4h"``, ``"2d"`` or ``"1d12h"``.

    Returns None when ``text`` is not a duration, so that the caller can name the step.
    Whitespace around the text and between parts is ignored; units are case-insensitive.
    """
    compact = "".join(text.split()).lower()
    if not _DURATION_WHOLE.fullmatch(compact):
        return None
    return float(sum(float(n) * DURATION_UNITS[u] for n, u in _DURATION_PART.findall(compact)))


def format_duration(seconds: float) -> str:
    """``seconds`` written back in the duration grammar (``90061`` → ``"1d1h1m1s"``)."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest = int(seconds)
    parts = []
    for unit, size in DURATION_UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


# kw_only keeps ``number`` first in every record without forcing defaults on the fields after it.
@dataclass(frozen=True, kw_only=True)
class _StepBase:
    number: int
    KIND: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        """The step's kind as the user wrote it (``send``, ``expect.delivered`` …)."""
        return self.KIND

    @property
    def label(self) -> str:
        """``step N (kind)``: how messages and reports name this step."""
        return f"step {self.number} ({self.kind})"


@dataclass(frozen=True, kw_only=True)
class EmsStep(_StepBase):
    """Shell lines run as in Exchange Management Shell on one organization (optionally a server)."""

    KIND: ClassVar[str] = "ems"
    org: str
    server: str | None
    ems: str

    @property
    def lines(self) -> tuple[str, ...]:
        """The non-blank shell lines, for reports."""
        return tuple(line.strip() for line in self.ems.splitlines() if line.strip())


@dataclass(frozen=True, kw_only=True)
class SendStep(_StepBase):
    """A message submitted as a mailbox user would (from Outlook)."""

    KIND: ClassVar[str] = "send"
    from_: str
    to: tuple[str, ...]
    subject: str
    body: str = ""
    cc: tuple[str, ...] = ()
    #: Extra header lines written into the message as its author typed them *(labsim)*.
    headers: tuple[tuple[str, str], ...] = ()
    #: Pad the body so that the message is about this many bytes *(labsim)*.
    size: int | None = None


@dataclass(frozen=True, kw_only=True)
class AdvanceStep(_StepBase):
    """Move the lab clock forward; ``text`` is the duration as written (``"2d"``)."""

    KIND: ClassVar[str] = "advance"
    seconds: float
    text: str


@dataclass(frozen=True, kw_only=True)
class ExpectOutput(_StepBase):
    """The most recent ``ems`` step printed ``text`` (substring of its output).

    Written ``expect.output = { matches = "REGEX" }``, ``matches`` holds a Python regular
    expression searched in the output (``re.search``) and ``text`` is empty *(labsim)*.
    """

    KIND: ClassVar[str] = "expect.output"
    text: str = ""
    matches: str | None = None

    def found_in(self, output: str) -> bool:
        """Whether ``output`` holds the text, or a match of the expression."""
        if self.matches is not None:
            return re.search(self.matches, output) is not None
        return self.text in output


@dataclass(frozen=True, kw_only=True)
class ExpectError(_StepBase):
    """The most recent ``ems`` step failed with ``text`` (substring of its error)."""

    KIND: ClassVar[str] = "expect.error"
    text: str


@dataclass(frozen=True, kw_only=True)
class ExpectDelivered(_StepBase):
    """A message with this subject is in ``to``'s mailbox; optional keys narrow it down.

    ``None`` means "not checked". ``header`` maps a header name to a substring of its value.
    """

    KIND: ClassVar[str] = "expect.delivered"
    to: str
    subject: str
    from_: str | None = None
    domain_secured: bool | None = None
    tls: bool | None = None
    auth_as: str | None = None
    # A dict (as the file writes it); the record is never hashed, so frozen is enough.
    header: dict[str, str] = field(default_factory=dict)
    #: Header names the delivered message must NOT carry (e.g. a stripped forged header) *(labsim)*.
    without_header: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ExpectNotDelivered(_StepBase):
    """No message with this subject is in ``to``'s mailbox."""

    KIND: ClassVar[str] = "expect.not_delivered"
    to: str
    subject: str


@dataclass(frozen=True, kw_only=True)
class ExpectQueued(_StepBase):
    """A queue of ``org`` towards ``next_hop`` holds messages, optionally in a given state."""

    KIND: ClassVar[str] = "expect.queued"
    org: str
    next_hop: str
    status: str | None = None
    last_error: str | None = None
    subject: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExpectNdr(_StepBase):
    """An NDR about the message ``subject`` is in ``to``'s mailbox, optionally with a DSN status."""

    KIND: ClassVar[str] = "expect.ndr"
    to: str
    subject: str
    status: str | None = None
    #: "failed" (an NDR) or "delayed" (a delay DSN); None accepts either *(labsim)*.
    action: str | None = None
    #: True: holds when NO such report is there (not yet, or never) *(labsim)*.
    absent: bool = False


@dataclass(frozen=True, kw_only=True)
class ExpectLog(_StepBase):
    """A line of a server's log contains ``contains``.

    ``log`` is ``receive`` or ``send`` (protocol logs; ``server`` required), ``tracking``
    (message tracking) or ``event`` (the Application event log); for the last two, without
    ``server``, every server of the organization. The lines
    searched are the header lines of the log's files (``#Software:`` … ``#Fields:``) and its
    records, so that header forms can be pinned as well.
    """

    KIND: ClassVar[str] = "expect.log"
    org: str
    server: str | None
    log: str
    contains: str
    #: With True, no line may contain ``contains`` (e.g. plaintext that must not be executed)
    #: *(labsim)*.
    absent: bool = False


ActionStep: TypeAlias = EmsStep | SendStep | AdvanceStep
ExpectStep: TypeAlias = (
    ExpectOutput
    | ExpectError
    | ExpectDelivered
    | ExpectNotDelivered
    | ExpectQueued
    | ExpectNdr
    | ExpectLog
)
Step: TypeAlias = ActionStep | ExpectStep


@dataclass(frozen=True)
class Scenario:
    """A parsed scenario file.

    ``path`` is the file as the user named it (messages show it so); ``lab`` is the ``lab`` key
    as written (``"default"`` or a lab file path); ``definition`` is the lab it denotes.
    """

    path: Path
    title: str
    lab: str
    steps: tuple[Step, ...]
    definition: LabDefinition = field(default_factory=default_lab)
