"""Events the delivery core takes in: what happened to a queue (frozen records).

The Transport service (the driver) feeds them: a message was categorized to a next hop, a
lab-clock wake-up the core asked for fell due, an admin ran a queue or message cmdlet, or an outbound
session it opened for the core ended one way or another. Every event names its queue by
number; session outcomes carry only what the core decides on (replies, host and address),
never a socket.
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.model.mail import MailItem
from labsim.policy.routing import NextHop
from labsim.smtp.reply import Reply


@dataclass(frozen=True)
class Enqueued:
    """The categorizer routed ``recipients`` of a message to ``hop`` (None: no connector)."""

    hop: NextHop | None
    item: MailItem
    recipients: tuple[str, ...]
    network_message_id: str
    delay_dsn_enabled: bool
    """The organization sends delay DSNs for these recipients (ExternalDelayDsnEnabled)."""
    held: bool = False
    """It comes back from the saved queue held by Suspend-Message (``--state``): it enters
    its queue Suspended and waits for Resume-Message."""


@dataclass(frozen=True)
class AttemptDue:
    """The attempt the core scheduled is due (right after it asked, on the lab clock)."""

    queue: int


@dataclass(frozen=True)
class RetryDue:
    """The queue's NextRetryTime has come."""

    queue: int


@dataclass(frozen=True)
class MessageExpired:
    """A message reached MessageExpirationTimeOut."""

    queue: int
    entry: int


@dataclass(frozen=True)
class DelayDsnDue:
    """A message reached DelayNotificationTimeOut."""

    queue: int
    entry: int


@dataclass(frozen=True)
class Suspended:
    """Suspend-Queue."""

    queue: int


@dataclass(frozen=True)
class Resumed:
    """Resume-Queue."""

    queue: int


@dataclass(frozen=True)
class MessageSuspended:
    """Suspend-Message: the message stays in its queue and no attempt sends it."""

    queue: int
    entry: int


@dataclass(frozen=True)
class MessageResumed:
    """Resume-Message: the message may be sent again."""

    queue: int
    entry: int


@dataclass(frozen=True)
class MessageRemoved:
    """Remove-Message: the message leaves its queue, its sender gets an NDR if ``with_ndr``."""

    queue: int
    entry: int
    with_ndr: bool = True


@dataclass(frozen=True)
class RetryForced:
    """Retry-Queue (valid only for a queue in Retry)."""

    queue: int


@dataclass(frozen=True)
class ServiceStarted:
    """The server's Transport service started again (Start-LabServer)."""


@dataclass(frozen=True)
class ConnectorRemoved:
    """The attempt found the queue's send connector gone: its messages are routed again."""

    queue: int


@dataclass(frozen=True)
class RouteResolved:
    """The hosts to try for the queue's next hop, in order, as (host, IP address)."""

    queue: int
    targets: tuple[tuple[str, str], ...]
    proxied: bool = False
    """The targets are the organization's Client Access servers (FrontendProxyEnabled)."""


@dataclass(frozen=True)
class SessionOpened:
    """The session to the target the core asked for is ready for MAIL FROM."""

    queue: int


@dataclass(frozen=True)
class SessionFailed:
    """The session to the target the core asked for could not be used."""

    queue: int
    reply: Reply
    connected: bool
    """The server answered and refused (else it could not be reached)."""
    port: int = 25
    """The port of the endpoint attempted, as LastError names it (``<ip>:<port>``,
    docs/exchange-reference.md §17 C1)."""


@dataclass(frozen=True)
class TransactionDone:
    """The transaction of one queued message ended; ``outcomes`` per recipient."""

    queue: int
    entry: int
    outcomes: tuple[tuple[str, Reply], ...]
    session_open: bool
    """The session can carry another transaction."""
    refused_before_recipient: bool = False
    """The server accepted no recipient (it refused MAIL FROM or every RCPT): a refusal of the
    session to this target, not of one recipient, so a transient one shows in LastError in the
    failover form (§17 C1). False when the target is the Client Access server's outbound proxy,
    whose replies already carry that form inside its own (§17 C2)."""
    port: int = 25
    """The port of the endpoint the session went to."""


@dataclass(frozen=True)
class AttemptAborted:
    """The driver hit a labsim bug during the attempt; it ends in Retry with ``reply``."""

    queue: int
    reply: Reply


DeliveryEvent = (
    Enqueued
    | AttemptDue
    | RetryDue
    | MessageExpired
    | DelayDsnDue
    | Suspended
    | Resumed
    | RetryForced
    | MessageSuspended
    | MessageResumed
    | MessageRemoved
    | ServiceStarted
    | ConnectorRemoved
    | RouteResolved
    | SessionOpened
    | SessionFailed
    | TransactionDone
    | AttemptAborted
)
"""Every event the core takes."""
