"""The calls the engine and the lab make into a lab's saved state, and the memory-only lab's
answer to them (do nothing).

Owns :class:`MemoryOnly`: every hook a no-op, so that a lab without ``--state`` pays one
empty method call per hook and nothing else. :class:`labsim.store.database.LabState`
implements the same calls over SQLite. The engine calls only these names (the port points of
a delivery core): :meth:`message_queued` when a message enters a delivery queue,
:meth:`message_recipients` when some of its recipients are done, :meth:`message_held` when
Suspend-Message holds it or Resume-Message releases it, :meth:`message_left` when it
leaves the queue (delivered, accepted by the next hop, failed, expired, resubmitted), and
:meth:`commit` before a 250 acknowledges a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from labsim.delivery.queue import QueuedMessage

T = TypeVar("T")


class MemoryOnly:
    """The state of a lab without ``--state``: nothing is kept beyond the process."""

    persistent = False
    replaying = False

    def message_queued(self, server: str, queue: str, qm: QueuedMessage) -> None:
        """A message entered a delivery queue of ``server`` (staged, not yet committed)."""

    def message_recipients(self, qm: QueuedMessage) -> None:
        """Some recipients of a queued message are done; ``qm.recipients`` are the rest."""

    def message_held(self, qm: QueuedMessage) -> None:
        """Suspend-Message held the message, or Resume-Message released it (``qm.held``)."""

    def message_left(self, qm: QueuedMessage) -> None:
        """A message left its queue (delivered, accepted with 250, failed or resubmitted)."""

    def commit(self) -> None:
        """Make everything staged so far durable (before the 250 that acknowledges it)."""

    def recall(self, kind: str, request: str, make: Callable[[], T]) -> T:
        """A certificate or authority the lab makes: made now (a persistent state gives back
        the one made for the same request before a restart)."""
        return make()
