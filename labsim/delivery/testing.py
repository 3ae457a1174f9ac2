"""Transcript helpers for the delivery core (public, in the treq spirit; pure like the core).

A test reads as the story of one queue: at this lab time this happened, the core answered
exactly these commands. ``DeliveryTranscript`` keeps the lab time, feeds events, and checks
the commands in order; a mismatch raises ``TranscriptMismatch`` with the transcript so far.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from labsim.delivery import commands as c
from labsim.delivery import events as e
from labsim.delivery.machine import DeliveryCore, DeliverySettings, QueueJournal
from labsim.delivery.queue import DeliveryQueue
from labsim.model.transport import TransportService

__all__ = ["DeliveryTranscript", "TranscriptMismatch"]


class TranscriptMismatch(AssertionError):
    """The core did not answer as the transcript says."""


class DeliveryTranscript:
    """A :class:`DeliveryCore` driven step by step, its commands checked exactly."""

    def __init__(
        self,
        start: datetime,
        *,
        server: str = "ADATUM-MBX1",
        service: TransportService | None = None,
        journal: QueueJournal | None = None,
    ) -> None:
        self.core = DeliveryCore(server, journal)
        """The core under test."""
        self.now = start
        """Lab time, moved only by :meth:`after`."""
        self.settings = DeliverySettings(service or TransportService())
        self.commands: list[c.DeliveryCommand] = []
        """What the core answered to the last event."""
        self._log: list[str] = []

    def _fail(self, message: str) -> TranscriptMismatch:
        history = "\n".join(f"  {entry}" for entry in self._log[-30:])
        return TranscriptMismatch(f"{message}\ntranscript so far:\n{history}")

    def after(self, delta: timedelta) -> DeliveryTranscript:
        """Lab time moves on."""
        self.now += delta
        self._log.append(f"+{delta}")
        return self

    def stopped(self, stopped: bool = True) -> DeliveryTranscript:
        """The server's Transport service stops (or runs again) for the next events."""
        self.settings = DeliverySettings(self.settings.service, running=not stopped)
        return self

    def event(self, event: e.DeliveryEvent) -> DeliveryTranscript:
        """Feed one event; its commands are checked by the next ``expect``."""
        self.commands = self.core.handle(event, now=self.now, settings=self.settings)
        self._log.append(f"{self.now:%H:%M:%S} {event!r}")
        self._log.extend(f"    -> {command!r}" for command in self.commands)
        return self

    def expect(self, *expected: c.DeliveryCommand) -> DeliveryTranscript:
        """The commands of the last event, exactly and in order."""
        if list(expected) != self.commands:
            raise self._fail(f"expected commands {list(expected)!r}\ngot {self.commands!r}")
        return self

    def expect_kinds(self, *kinds: type) -> DeliveryTranscript:
        """The types of the commands of the last event, in order."""
        actual = [type(command) for command in self.commands]
        if list(kinds) != actual:
            names = [k.__name__ for k in actual]
            raise self._fail(f"expected {[k.__name__ for k in kinds]}, got {names}")
        return self

    def queue(self, number: int = 1) -> DeliveryQueue:
        """A queue of the core, to check its state."""
        return self.core.queue(number)
