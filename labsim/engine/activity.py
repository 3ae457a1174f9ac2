"""What the lab is busy with, so drivers can run it "until idle" instead of waiting on time.

Every open SMTP session, connection attempt, DNS lookup and delivery attempt holds a token
from :class:`Activity` until it ends. The lab is idle when no token is held and no lab-clock
timer is due (contract: "no SMTP session open and no queued message due at the current time").

A live lab also serves clients from outside (swaks, a real Postfix, a script): their inbound
sessions hold tokens marked ``outside``. A shell line waits only for the lab's own work
(:attr:`Activity.lab_idle`), never for a session someone else left open.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager


class Activity:
    """A set of named busy tokens."""

    def __init__(self) -> None:
        self._tokens: dict[int, str] = {}
        self._outside: set[int] = set()
        self._ids = itertools.count(1)

    def begin(self, what: str) -> int:
        """Mark the lab busy with ``what``; return the token to pass to :meth:`end`."""
        token = next(self._ids)
        self._tokens[token] = what
        return token

    def mark_outside(self, token: int) -> None:
        """The token is held for a client outside the lab (its peer is no simulated server)."""
        if token in self._tokens:
            self._outside.add(token)

    def end(self, token: int) -> None:
        """Release a token (idempotent)."""
        self._tokens.pop(token, None)
        self._outside.discard(token)

    @contextmanager
    def busy(self, what: str) -> Iterator[None]:
        """Hold a token for the duration of a synchronous block."""
        token = self.begin(what)
        try:
            yield
        finally:
            self.end(token)

    @property
    def idle(self) -> bool:
        """No token is held."""
        return not self._tokens

    @property
    def lab_idle(self) -> bool:
        """No token is held except by sessions from outside the lab."""
        return len(self._tokens) == len(self._outside)

    def describe(self) -> str:
        """What is still busy, for the stuck-lab error."""
        return ", ".join(sorted(set(self._tokens.values()))) or "nothing"
