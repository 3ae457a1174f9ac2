"""The delivery core (pure, sans-io): a Mailbox server's delivery queues as one state machine.

Events in (:mod:`labsim.delivery.events`), commands out (:mod:`labsim.delivery.commands`),
transitions in one table (:data:`labsim.delivery.machine.TRANSITIONS`); the queue records and
their Get-Queue/Get-Message rows in :mod:`labsim.delivery.queue`. The Transport service
(``labsim.engine.transport_service``) is its driver: it feeds events, carries out commands on
the lab clock and the network, and never decides itself. No Twisted import here.
"""

from labsim.delivery.machine import (
    DNS_FAILURE,
    MAX_MESSAGES_PER_CONNECTION,
    TRANSITIONS,
    DeliveryCore,
    DeliverySettings,
    InvalidTransition,
)
from labsim.delivery.queue import DeliveryQueue, Phase, QueuedMessage

__all__ = [
    "DNS_FAILURE",
    "MAX_MESSAGES_PER_CONNECTION",
    "TRANSITIONS",
    "DeliveryCore",
    "DeliveryQueue",
    "DeliverySettings",
    "InvalidTransition",
    "Phase",
    "QueuedMessage",
]
