"""Delivery queues of a Mailbox server's Transport service (docs/exchange-reference.md §4.5, §9).

Plain state holders: which messages wait for which next hop, and the queue's Status, LastError
and retry bookkeeping, with the Get-Queue and Get-Message rows they show. The delivery core
(:mod:`labsim.delivery.machine`) is the only writer; the Transport service reads the views.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from labsim.model.enums import DeliveryType, MessageStatus, QueueStatus
from labsim.model.mail import MailItem, MessageView, QueueView
from labsim.policy.routing import NextHop
from labsim.smtp.reply import Reply

NO_CONNECTOR_GUID = "00000000-0000-0000-0000-000000000000"
"""NextHopConnector of a queue without a send connector (Submission, Unreachable)."""


@dataclass
class QueuedMessage:
    """A message waiting in a delivery queue, with the recipients still to deliver."""

    entry: int
    """This queue entry's number (unique in the core; a message resubmitted gets a new one)."""
    item: MailItem
    recipients: list[str]
    network_message_id: str
    expires: datetime
    status: MessageStatus = MessageStatus.READY
    last_error: str = ""
    last_response: Reply | None = None
    retry_count: int = 0
    delay_dsn_sent: bool = False
    held: bool = False
    """Suspend-Message holds it: no attempt sends it until Resume-Message (expiry still runs)."""
    pending_suspend: bool = False
    """Suspend-Message while its transaction runs: held when it comes back to the queue."""
    pending_remove: bool | None = None
    """Remove-Message while its transaction runs (the value is -WithNDR): removed when it comes
    back to the queue."""

    @property
    def sendable(self) -> bool:
        """An attempt may send it (not held by Suspend-Message)."""
        return not self.held

    @property
    def shown_status(self) -> MessageStatus:
        """Get-Message's Status: what the admin asked of this message first, then its queue's."""
        if self.pending_remove is not None:
            return MessageStatus.PENDING_REMOVE
        if self.pending_suspend:
            return MessageStatus.PENDING_SUSPEND
        if self.held:
            return MessageStatus.SUSPENDED
        return self.status


class Phase(Enum):
    """Where a queue is in the delivery state machine (finer than Get-Queue's Status)."""

    READY = "Ready"
    SCHEDULED = "Scheduled"
    """Status Active, an attempt is due on the lab clock."""
    RETRY = "Retry"
    SUSPENDED = "Suspended"
    RESOLVING = "Resolving"
    """An attempt looks up its send connector and targets."""
    CONNECTING = "Connecting"
    """An attempt opens a session to one target."""
    TRANSMITTING = "Transmitting"
    """An attempt sends messages over an open session."""


@dataclass(frozen=True)
class FailedSession:
    """A session that could not be used: to whom, and what LastError would show."""

    host: str
    address: str
    reply: Reply
    connected: bool
    """The server answered (a refusal inside the session) rather than being unreachable."""
    port: int = 25
    """The port of the endpoint attempted."""


@dataclass
class Attempt:
    """One delivery attempt: the targets tried in order, then the sessions to the first that
    worked, each carrying at most MAX_MESSAGES_PER_CONNECTION messages."""

    stage: Phase = Phase.RESOLVING
    targets: tuple[tuple[str, str], ...] = ()
    """(host, IP address) of each target, in order; empty until the route is resolved."""
    index: int = 0
    """The target being tried, or the one that works."""
    connected: bool = False
    """A session to ``targets[index]`` was established (the next hop answered)."""
    failure: FailedSession | None = None
    """The last session that failed."""
    waiting: list[int] = field(default_factory=list)
    """Entries still to send over later sessions of this attempt."""
    batch: list[int] = field(default_factory=list)
    """Entries of the current session, still to send."""
    tried: set[int] = field(default_factory=set)
    """Entries handed to a session during this attempt."""
    sent_on_session: int = 0
    """Transactions run on the current session (RSET goes between them)."""
    in_flight: int | None = None
    """The entry whose transaction runs now (Suspend-/Remove-Message only mark it pending)."""


@dataclass
class DeliveryQueue:
    """One delivery queue: Identity ``SERVER\\<number>``, named for users also by
    ``SERVER\\NextHopDomain`` (docs/exchange-reference.md §9, §17 C7)."""

    server: str
    number: int
    next_hop: NextHop | None
    messages: list[QueuedMessage] = field(default_factory=list)
    status: QueueStatus = QueueStatus.READY
    last_error: str = ""
    last_response: Reply | None = None
    last_server: tuple[str, str] | None = None
    """(FQDN, IP) of the target the last failed attempt ended on, when it had an address: the
    "Receiving server" a delay notice names (docs/exchange-reference.md §17 C8)."""
    retry_count: int = 0
    first_retry_time: datetime | None = None
    last_retry_time: datetime | None = None
    next_retry_time: datetime | None = None
    attempt: Attempt | None = None
    """The delivery attempt in progress, if any (owned by the delivery core)."""

    def entry(self, number: int) -> QueuedMessage | None:
        """The queued message with entry number ``number``, if it is still here."""
        return next((m for m in self.messages if m.entry == number), None)

    @property
    def next_hop_domain(self) -> str:
        """What Get-Queue shows as NextHopDomain."""
        return "Unreachable" if self.next_hop is None else self.next_hop.next_hop_domain

    @property
    def identity(self) -> str:
        """``SERVER\\<number>``, as Exchange 2013 shows a delivery queue (§17 C7)."""
        return f"{self.server}\\{self.number}"

    def matches(self, identity: str) -> bool:
        """Whether an identity a user typed names this queue.

        Exchange takes ``SERVER\\<number>`` and also ``SERVER\\NextHopDomain`` (the form the
        queue documentation gives as valid -Identity input); a bare next hop domain or number
        names the queue of the local server (labsim has one Transport service per server).
        """
        key = identity.strip().lower()
        return key in (
            self.identity.lower(),
            f"{self.server}\\{self.next_hop_domain}".lower(),
            self.next_hop_domain.lower(),
            str(self.number),
        )

    def view(self, connector_guid: str = NO_CONNECTOR_GUID) -> QueueView:
        """The Get-Queue row; ``connector_guid`` is the GUID of the queue's send connector."""
        hop = self.next_hop
        return QueueView(
            identity=self.identity,
            delivery_type=DeliveryType.UNREACHABLE if hop is None else hop.delivery_type,
            next_hop_domain=self.next_hop_domain,
            status=self.status,
            message_count=len(self.messages),
            last_error=self.last_error,
            retry_count=self.retry_count,
            last_retry_time=self.last_retry_time,
            next_retry_time=self.next_retry_time,
            first_retry_time=self.first_retry_time,
            tls_domain=(hop.tls_domain or "") if hop else "",
            next_hop_connector=connector_guid if hop else NO_CONNECTOR_GUID,
            # A relay to another server of the organization is an internal hop (Exchange's
            # queue table lists SmtpRelayToConnectorSourceServers as Internal).
            next_hop_category="Internal" if hop is not None and hop.is_relay else "External",
            deferred_message_count=0,
        )

    @staticmethod
    def submission_view(server: str) -> QueueView:
        """The Submission queue's Get-Queue row: every transport server lists it, empty here
        because the categorizer takes each message as it arrives (§9, §17 C7)."""
        return QueueView(
            identity=f"{server}\\Submission",
            delivery_type=DeliveryType.UNDEFINED,
            next_hop_domain="Submission",
            status=QueueStatus.READY,
            message_count=0,
            next_hop_connector=NO_CONNECTOR_GUID,
            next_hop_category="Internal",
        )

    def message_views(self) -> list[MessageView]:
        """The Get-Message rows of this queue."""
        return [
            MessageView(
                identity=f"{self.identity}\\{m.item.internal_id}",
                queue=self.identity,
                from_address=m.item.mail_from,
                status=m.shown_status,
                subject=m.item.subject,
                size=m.item.size,
                recipients=tuple(m.recipients),
                date_received=m.item.received_at,
                expiration_time=m.expires,
                last_error=m.last_error or self.last_error,
                retry_count=m.retry_count,
                message_id=m.item.message_id,
                next_hop_domain=self.next_hop_domain,
            )
            for m in self.messages
        ]
