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
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

T = TypeVar("T")

# A lab that stays busy this long without becoming idle is stuck (a bug), not slow.
STUCK_AFTER_SECONDS = float(os.environ.get("LABSIM_STUCK_SECONDS", "60"))


class LabStuckError(RuntimeError):
    """The lab did not reach the awaited state: a bug in labsim, reported with what was busy."""


def default_reactor() -> Any:
    """Twisted's global reactor (installed on first use), to be iterated, never run."""
    from twisted.internet import reactor

    return reactor


def drive(reactor: Any, done: Callable[[], bool], describe: Callable[[], str] = lambda: "") -> None:
    """Iterate ``reactor`` until ``done()`` is true."""
    started = time.monotonic()
    while not done():
        reactor.iterate(0.05)
        if time.monotonic() - started > STUCK_AFTER_SECONDS:
            raise LabStuckError(
                f"the lab did not settle within {STUCK_AFTER_SECONDS:.0f}s: {describe()}"
            )


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
