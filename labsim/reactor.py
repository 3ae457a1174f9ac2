"""Driving a reactor step by step instead of ``reactor.run()``.

The reactor is injected everywhere (magic-wormhole style). The code that drives a lab (the
scenario runner, the demo, the tests) iterates it until what it waits for has happened: a
Deferred has fired or the lab is idle. ``iterate`` blocks in epoll/select only while sockets are
busy, so nothing here sleeps; the guard below only turns a hung lab (a bug) into an error
instead of a hang.

The reactor is Twisted's global one, iterated but never ``run()``: Twisted's TLS layer
(``transport.startTLS``) schedules its buffered writes on the global reactor whatever reactor
the transport belongs to, so a private reactor instance would leave STARTTLS sessions hanging
(docs/design-notes.md).

The global reactor runs a lean poll loop (:func:`install_lean_poll`): Twisted's epoll reactor
wraps every socket event in a logging context (``log.callWithLogger`` → ``callWithContext`` →
``context.call`` → ``ContextTracker.callWithContext``, four frames and a dict copy per event,
about forty events per message of a live lab) only so that log lines written while a protocol
runs carry its ``logPrefix``. The lean loop calls ``_doReadOrWrite`` directly; an exception
that escapes it (a protocol's ``connectionLost`` raising) is still logged with ``log.err``,
under the selectable's prefix, and the loop goes on with the next event.

Stop signals (SIGINT, SIGTERM) never raise inside Twisted: :func:`install_stop_signals` makes
them set a flag and wake the reactor, and :func:`drive` raises :class:`LabInterrupted` at its
next turn, from this one known place, so a command can stop its lab cleanly (close every
listener, flush the logs, write its report) instead of unwinding from a random frame.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from collections.abc import Callable
from types import MethodType
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python import log
from twisted.python.failure import Failure

T = TypeVar("T")

# A lab that stays busy this long without becoming idle is stuck (a bug), not slow.
STUCK_AFTER_SECONDS = float(os.environ.get("LABSIM_STUCK_SECONDS", "60"))


class LabStuckError(RuntimeError):
    """The lab did not reach the awaited state: a bug in labsim, reported with what was busy."""


class LabInterrupted(BaseException):  # noqa: N818 - a stop request, like KeyboardInterrupt
    """SIGINT or SIGTERM arrived while the lab was driven; ``signum`` says which.

    A BaseException, as KeyboardInterrupt is, so that code catching ``Exception`` for an
    engine bug does not swallow the user's request to stop.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_pending_signals: list[int] = []


def request_stop(signum: int, reactor: Any = None) -> None:
    """Record a stop signal and wake the reactor if it is waiting in epoll."""
    _pending_signals.append(signum)
    waker = getattr(reactor, "wakeUp", None)
    if waker is not None:
        waker()


def pending_stop() -> int | None:
    """The first stop signal not yet handled, or None."""
    return _pending_signals[0] if _pending_signals else None


def clear_stop() -> None:
    """Forget stop signals (after one was handled)."""
    _pending_signals.clear()


def install_stop_signals(reactor: Any) -> Callable[[], None]:
    """Route SIGINT and SIGTERM to :func:`request_stop`; return a function restoring the old."""
    previous = {
        signum: signal.signal(signum, lambda n, _frame: request_stop(n, reactor))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


def default_reactor() -> Any:
    """Twisted's global reactor (installed on first use, with the lean poll loop of
    :func:`install_lean_poll`), to be iterated, never run."""
    from twisted.internet import reactor

    install_lean_poll(reactor)
    return reactor


def _lean_do_poll(self: Any, timeout: float | None) -> None:
    """``EPollReactor.doPoll`` without the per-event logging context (module docstring)."""
    try:
        events = self._poller.poll(-1 if timeout is None else timeout, len(self._selectables))
    except OSError as err:
        if err.errno == errno.EINTR:
            return
        raise
    selectables = self._selectables
    do_read_or_write = self._doReadOrWrite
    for fd, event in events:
        selectable = selectables.get(fd)
        if selectable is None:
            continue
        try:
            do_read_or_write(selectable, fd, event)
        except KeyboardInterrupt:
            raise
        except BaseException:
            # What log.callWithLogger did: report it under the selectable's prefix, go on.
            log.err(system=_log_prefix(selectable))  # type: ignore[no-untyped-call]


def _log_prefix(selectable: Any) -> str:
    try:
        return str(selectable.logPrefix())
    except BaseException:
        return "(buggy logPrefix method)"


def install_lean_poll(reactor: Any) -> bool:
    """Make ``reactor`` (Twisted's epoll reactor) poll with :func:`_lean_do_poll`; True when it
    does. Other reactors are left as they are."""
    from twisted.internet.epollreactor import EPollReactor

    if not isinstance(reactor, EPollReactor):
        return False
    if getattr(reactor.doIteration, "__func__", None) is not _lean_do_poll:
        # An attribute of the instance: iterate() and mainLoop() both call self.doIteration.
        lean = MethodType(_lean_do_poll, reactor)
        reactor.doIteration = reactor.doPoll = lean  # type: ignore[method-assign]
    return True


def drive(
    reactor: Any,
    done: Callable[[], bool],
    describe: Callable[[], str] = lambda: "",
    *,
    bound: float | None = None,
) -> bool:
    """Iterate ``reactor`` until ``done()`` is true; raise LabInterrupted on a stop signal.

    Without ``bound`` a lab still busy after STUCK_AFTER_SECONDS is a bug (LabStuckError).
    With ``bound`` (a live lab, whose clients are outside labsim's control) the wait ends
    after that many seconds and returns False instead.
    """
    started = time.monotonic()
    limit = STUCK_AFTER_SECONDS if bound is None else bound
    while not done():
        if _pending_signals:
            raise LabInterrupted(_pending_signals[0])
        reactor.iterate(0.05)
        if time.monotonic() - started > limit:
            if bound is not None:
                return False
            raise LabStuckError(
                f"the lab did not settle within {STUCK_AFTER_SECONDS:.0f}s: {describe()}"
            )
    return True


def wait_for(reactor: Any, deferred: Deferred[T]) -> T:
    """Drive ``reactor`` until ``deferred`` fires; return its result or raise its failure."""
    box: list[Any] = []
    deferred.addBoth(box.append)
    drive(reactor, lambda: bool(box))
    result = box[0]
    if isinstance(result, Failure):
        result.raiseException()
    value: T = result
    return value
