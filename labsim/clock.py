"""The lab clock: one notion of "now" for a whole lab, which scenarios can jump forward.

Lab time runs with the reactor's clock (so an interactive lab ages in real time) plus an offset
that :meth:`LabClock.jump_to` moves forward. Timers live on the lab clock, not on the reactor:
a retry due "in 5 minutes" fires either when 5 real minutes have passed or as soon as a scenario
advances the clock past it, in due order, at its own lab time. The reactor is injected
(magic-wormhole style); nothing here imports the global reactor.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


class ReactorTime(Protocol):
    """The part of IReactorTime the clock needs."""

    def seconds(self) -> float: ...

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any: ...


@dataclass(order=True)
class LabTimer:
    """A call scheduled at a lab time; :meth:`cancel` makes it a no-op."""

    due: float
    seq: int
    action: Callable[[], object] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        """Do not run this timer."""
        self.cancelled = True


class LabClock:
    """Lab time over an injected reactor clock."""

    def __init__(self, reactor: ReactorTime, start: datetime | None = None) -> None:
        self._reactor = reactor
        self._real_base = reactor.seconds()
        self._lab_base = (start or datetime.fromtimestamp(self._real_base, UTC)).timestamp()
        self._offset = 0.0
        self._timers: list[LabTimer] = []
        self._seq = itertools.count()
        self._wakeup: Any = None
        self._armed_for: float | None = None
        self._armed_offset = 0.0
        self._stopped = False

    def seconds(self) -> float:
        """Lab time as POSIX seconds."""
        return self._lab_base + (self._reactor.seconds() - self._real_base) + self._offset

    def now(self) -> datetime:
        """Lab time as an aware UTC datetime."""
        # seconds() written out: the engine asks for the time a hundred times per message.
        lab_seconds = self._lab_base + (self._reactor.seconds() - self._real_base) + self._offset
        return datetime.fromtimestamp(lab_seconds, UTC)

    def call_at(self, when: float, action: Callable[[], object]) -> LabTimer:
        """Run ``action`` at lab time ``when`` (POSIX seconds); never, once the clock stopped."""
        timer = LabTimer(when, next(self._seq), action)
        if self._stopped:
            timer.cancel()
            return timer
        heapq.heappush(self._timers, timer)
        self._arm()
        return timer

    def call_later(self, delay: float, action: Callable[[], object]) -> LabTimer:
        """Run ``action`` ``delay`` lab seconds from now."""
        return self.call_at(self.seconds() + delay, action)

    def next_due(self) -> float | None:
        """Lab time of the earliest pending timer, or None."""
        self._drop_cancelled()
        return self._timers[0].due if self._timers else None

    def has_due(self) -> bool:
        """Whether a timer is due at the current lab time."""
        due = self.next_due()
        return due is not None and due <= self.seconds()

    def run_due(self) -> int:
        """Run every timer due now, in order; return how many ran."""
        ran = 0
        now = self.seconds()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0].due > now:
                break
            timer = heapq.heappop(self._timers)
            timer.action()
            ran += 1
        if ran:
            # Called once per reactor iteration while the lab is driven: with nothing run, the
            # wake-up armed for the earliest timer is still the right one.
            self._arm()
        return ran

    def stop(self) -> None:
        """The lab stopped: no timer of it runs any more (a retry due later would otherwise
        open a session from the stopped lab, into whichever lab listens on the same addresses
        and ports by then: the web demo's next chapter, a later scenario of a run)."""
        self._stopped = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._wakeup is not None and self._wakeup.active():
            self._wakeup.cancel()
        self._wakeup = None

    def jump_to(self, when: float) -> None:
        """Move lab time forward to ``when`` (never backward). Timers are not run here."""
        delta = when - self.seconds()
        if delta > 0:
            self._offset += delta
        self._arm()

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)

    def _arm(self) -> None:
        # One reactor wake-up for the earliest timer, so a lab left running ages in real time.
        # It is re-armed only when the earliest timer or the lab-time offset changed.
        due = self.next_due()
        armed = self._wakeup is not None and self._wakeup.active()
        if armed and due == self._armed_for and self._offset == self._armed_offset:
            return
        if armed:
            self._wakeup.cancel()
        self._wakeup = None
        self._armed_for = due
        self._armed_offset = self._offset
        if due is not None:
            delay = max(0.0, due - self.seconds())
            self._wakeup = self._reactor.callLater(delay, self.run_due)
