"""Mailbox stores: where delivered messages rest, as a user's Outlook would list them.

A lab that keeps state (``--state``) also has the store's duplicate detection: a message whose
Message-ID is already in the recipient's mailbox is not delivered again (Exchange's store
does the same; labsim needs it so that a message re-sent after a crash arrives once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from labsim.model.mail import DeliveredMessage


class MailboxStore:
    """All mailboxes of a lab, keyed by lower-cased primary SMTP address."""

    def __init__(self) -> None:
        self._boxes: dict[str, list[DeliveredMessage]] = defaultdict(list)
        self._persist: Callable[[DeliveredMessage], None] | None = None
        self._seen: set[tuple[str, str]] | None = None

    def keep(self, persist: Callable[[DeliveredMessage], None]) -> None:
        """From now on, hand every delivered message to ``persist`` and detect duplicates."""
        self._persist = persist
        self._seen = {_duplicate_key(m) for m in self.all()}

    def deliver(self, message: DeliveredMessage) -> bool:
        """Put a message into its mailbox; False when it is a duplicate (not delivered)."""
        if self._seen is not None:
            key = _duplicate_key(message)
            if key in self._seen:
                return False
            self._seen.add(key)
        self._boxes[message.mailbox.lower()].append(message)
        if self._persist is not None:
            self._persist(message)
        return True

    def restore(self, messages: Iterable[DeliveredMessage]) -> None:
        """Put back messages a kept lab had delivered before it stopped (not persisted again)."""
        for message in messages:
            self._boxes[message.mailbox.lower()].append(message)
            if self._seen is not None:
                self._seen.add(_duplicate_key(message))

    def inbox(self, address: str) -> tuple[DeliveredMessage, ...]:
        """Messages in a mailbox, oldest first."""
        return tuple(self._boxes.get(address.lower(), ()))

    def all(self) -> tuple[DeliveredMessage, ...]:
        """Every delivered message in the lab."""
        return tuple(m for box in self._boxes.values() for m in box)


def _duplicate_key(message: DeliveredMessage) -> tuple[str, str]:
    # What makes a delivery a duplicate: the same Message-ID in the same mailbox.
    return message.mailbox.lower(), message.message_id.strip()
