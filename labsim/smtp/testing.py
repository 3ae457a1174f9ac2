"""Test helpers that let SMTP tests read as protocol transcripts (public, in the treq spirit).

A server test is a list of steps — the client sends bytes, the session surfaces an event, the
owner replies, these exact bytes went on the wire — checked in order by ``ServerTranscript``
(or ``run_transcript`` for the list form). A mismatch raises ``TranscriptMismatch`` with the
transcript so far, so the failure shows where the dialogue went another way.

Pure like the rest of ``labsim.smtp``: no Twisted, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeAlias

from .client import ClientSession
from .events import NEED_DATA, ClientEvent, ConnectionClosed, Sentinel, ServerEvent
from .reply import Reply
from .server import ServerSession

__all__ = [
    "ServerTranscript",
    "Step",
    "TranscriptMismatch",
    "collect_events",
    "run_transcript",
]


class TranscriptMismatch(AssertionError):
    """The session did not behave as the transcript says."""


class ServerTranscript:
    """A ``ServerSession`` driven step by step, with the wire output checked exactly.

    Every method returns ``self`` so that a test reads top to bottom like a session log::

        (ServerTranscript()
            .greet(banner).server(b"220 ...\\r\\n")
            .client(b"EHLO mx.fabrikam.com\\r\\n")
            .event(Ehlo("mx.fabrikam.com", "EHLO mx.fabrikam.com"))
            .respond(ehlo_reply).server(b"250-...\\r\\n..."))

    Bytes the session writes by itself (``data_to_send()``) are collected after every event, so
    ``server()`` sees replies in the order they would reach the network.
    """

    def __init__(self, session: ServerSession | None = None) -> None:
        self.session = session if session is not None else ServerSession()
        """The session under test."""
        self._wire = bytearray()
        self._log: list[str] = []

    def _fail(self, message: str) -> TranscriptMismatch:
        history = "\n".join(f"  {entry}" for entry in self._log[-30:])
        return TranscriptMismatch(f"{message}\ntranscript so far:\n{history}")

    def greet(self, reply: Reply) -> ServerTranscript:
        """The owner sends the banner."""
        self._wire += self.session.greeting(reply)
        self._log.append(f"greeting {reply}")
        return self

    def client(self, data: bytes) -> ServerTranscript:
        """The client's bytes arrive (one segment)."""
        self.session.receive_data(data)
        self._log.append(f"C: {data!r}")
        return self

    def close(self) -> ServerTranscript:
        """The client closes the connection."""
        return self.client(b"")

    def event(self, expected: ServerEvent | Sentinel) -> ServerTranscript:
        """The next event must equal ``expected`` (NEED_DATA and PAUSED included)."""
        actual = self.session.next_event()
        self._wire += self.session.data_to_send()
        self._log.append(f"event {actual!r}")
        if actual != expected:
            raise self._fail(f"expected event {expected!r}\n     got event {actual!r}")
        return self

    def respond(self, reply: Reply) -> ServerTranscript:
        """The owner answers the waiting event."""
        self._wire += self.session.respond(reply)
        self._log.append(f"respond {reply}")
        return self

    def accept_chunk(self) -> ServerTranscript:
        """The owner lets the waiting BDAT chunk in (nothing is written until its octets)."""
        self.session.accept_chunk()
        self._log.append("accept_chunk")
        return self

    def server(self, expected: bytes) -> ServerTranscript:
        """Exactly these bytes went to the client since the last ``server()`` check."""
        actual = bytes(self._wire)
        self._wire.clear()
        self._log.append(f"S: {actual!r}")
        if actual != expected:
            raise self._fail(
                f"expected server bytes {expected!r}\n     got server bytes {actual!r}"
            )
        return self

    def quiet(self) -> ServerTranscript:
        """Nothing more to surface: NEED_DATA, and nothing unchecked on the wire."""
        self.event(NEED_DATA)
        return self.server(b"")


Step: TypeAlias = (
    tuple[Literal["greet"], Reply]
    | tuple[Literal["client"], bytes]
    | tuple[Literal["event"], ServerEvent | Sentinel]
    | tuple[Literal["respond"], Reply]
    | tuple[Literal["server"], bytes]
)
"""One transcript step for ``run_transcript``: ``("client", b"EHLO x\\r\\n")``, ``("event", …)``."""


def run_transcript(session: ServerSession, steps: Iterable[Step]) -> ServerTranscript:
    """Check ``steps`` against ``session`` in order; returns the transcript for further steps."""
    transcript = ServerTranscript(session)
    for step in steps:
        kind, value = step
        if kind == "greet" and isinstance(value, Reply):
            transcript.greet(value)
        elif kind == "client" and isinstance(value, bytes):
            transcript.client(value)
        elif kind == "event" and not isinstance(value, (bytes, Reply)):
            transcript.event(value)
        elif kind == "respond" and isinstance(value, Reply):
            transcript.respond(value)
        elif kind == "server" and isinstance(value, bytes):
            transcript.server(value)
        else:
            raise ValueError(f"not a transcript step: {step!r}")
    return transcript


def collect_events(session: ClientSession | ServerSession) -> list[ClientEvent | ServerEvent]:
    """Every event ``next_event()`` hands out until NEED_DATA or PAUSED (sentinels left out).

    Stops after a ``ConnectionClosed`` too, since a closed session repeats it forever. For a
    server session, replies it made by itself stay in ``data_to_send()``.
    """
    events: list[ClientEvent | ServerEvent] = []
    while True:
        event = session.next_event()
        if isinstance(event, Sentinel):
            return events
        events.append(event)
        if isinstance(event, ConnectionClosed):
            return events
