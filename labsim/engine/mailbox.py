"""Mailbox stores: where delivered messages rest, as a user's Outlook would list them."""

from __future__ import annotations

from collections import defaultdict

from labsim.model.mail import DeliveredMessage


class MailboxStore:
    """All mailboxes of a lab, keyed by lower-cased primary SMTP address."""

    def __init__(self) -> None:
        self._boxes: dict[str, list[DeliveredMessage]] = defaultdict(list)

    def deliver(self, message: DeliveredMessage) -> None:
        """Put a message into its mailbox."""
        self._boxes[message.mailbox.lower()].append(message)

    def inbox(self, address: str) -> tuple[DeliveredMessage, ...]:
        """Messages in a mailbox, oldest first."""
        return tuple(self._boxes.get(address.lower(), ()))

    def all(self) -> tuple[DeliveredMessage, ...]:
        """Every delivered message in the lab."""
        return tuple(m for box in self._boxes.values() for m in box)
