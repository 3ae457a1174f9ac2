"""Commands the delivery core gives out: what the driver must do now (frozen records).

The core never acts itself: it asks to be woken at a lab time, to open a session to one of the
targets it was given, to run a transaction, to fail recipients (NDR), to send a delay DSN, to
route messages again, to write tracking events and to explain. The driver does each, in order,
and feeds back what happened as events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from labsim.delivery.events import AttemptDue, DelayDsnDue, MessageExpired, RetryDue
from labsim.logs.tracking import TrackingEventId, TrackingSource
from labsim.model.mail import MailItem
from labsim.smtp.reply import Reply

WakeEvent = AttemptDue | RetryDue | MessageExpired | DelayDsnDue
"""What a wake-up feeds back; also its key (one pending wake-up per event)."""


@dataclass(frozen=True)
class WakeAt:
    """Feed ``event`` at lab time ``at`` (replacing a pending wake-up for the same event)."""

    at: datetime
    event: WakeEvent


@dataclass(frozen=True)
class CancelWake:
    """Forget the pending wake-up for ``event``, if any."""

    event: WakeEvent


@dataclass(frozen=True)
class ResolveRoute:
    """An attempt starts: find the queue's send connector and its targets (RouteResolved or
    ConnectorRemoved); the lab is busy until EndAttempt."""

    queue: int


@dataclass(frozen=True)
class OpenSession:
    """Open a session to target ``index`` of the resolved route (SessionOpened/Failed)."""

    queue: int
    index: int


@dataclass(frozen=True)
class Transmit:
    """Run the transaction of one queued message on the open session (TransactionDone)."""

    queue: int
    entry: int
    reset_first: bool
    """RSET first: an earlier transaction ran on this session."""


@dataclass(frozen=True)
class CloseSession:
    """QUIT the open session."""

    queue: int


@dataclass(frozen=True)
class EndAttempt:
    """The attempt is over (the lab is no longer busy with it)."""

    queue: int


@dataclass(frozen=True)
class FailRecipients:
    """These recipients failed for good: FAIL tracking and an NDR (if one may be sent)."""

    item: MailItem
    network_message_id: str
    failures: tuple[tuple[str, Reply, str | None, str | None], ...]
    """(recipient, reply, remote host, remote IP)."""
    source: TrackingSource = TrackingSource.SMTP
    ndr: bool = True
    """The sender may get an NDR (False: Remove-Message -WithNDR $false; FAIL is still
    tracked)."""


@dataclass(frozen=True)
class SendDelayDsn:
    """A delay DSN for these recipients of a message still queued."""

    item: MailItem
    network_message_id: str
    recipients: tuple[str, ...]
    reply: Reply
    last_attempt: datetime | None
    expires: datetime
    remote_server: str | None = None
    """The receiving server of the last attempt (host name), if one was reached."""
    remote_ip: str | None = None


@dataclass(frozen=True)
class Resubmit:
    """Route this message (with only these recipients) again through the categorizer."""

    item: MailItem
    network_message_id: str


@dataclass(frozen=True)
class Track:
    """Write a message tracking event."""

    event: TrackingEventId
    item: MailItem
    network_message_id: str
    recipients: tuple[str, ...]
    recipient_status: tuple[str, ...] = ()
    server_ip: str = ""
    server_hostname: str = ""
    connector_id: str = ""


@dataclass(frozen=True)
class Explain:
    """A decision note (``--explain``)."""

    text: str


@dataclass(frozen=True)
class Observe:
    """A line for live observers (the demo)."""

    text: str


DeliveryCommand = (
    WakeAt
    | CancelWake
    | ResolveRoute
    | OpenSession
    | Transmit
    | CloseSession
    | EndAttempt
    | FailRecipients
    | SendDelayDsn
    | Resubmit
    | Track
    | Explain
    | Observe
)
"""Every command the core gives."""
