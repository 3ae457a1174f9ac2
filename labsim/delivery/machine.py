"""The delivery state machine of one Mailbox server: queues, retries, failover across targets,
proxying through the Client Access server, suspend/resume, expiry and DSNs
(docs/exchange-reference.md §4.5, §4.6, §9, D7, D8).

Sans-io in the mitmproxy style: :meth:`DeliveryCore.handle` takes one event (what happened)
with the lab time and the server's Transport service settings, changes the queues, and returns
the commands the driver must carry out (open a session, wake me at, fail these recipients, …).
Nothing here reads a clock, opens a socket or imports Twisted. Every transition is one row of
:data:`TRANSITIONS`, keyed by the queue's :class:`Phase` and the event's type; an event that
has no row for the queue's phase is a misuse (:class:`InvalidTransition`), and rows that do
nothing say so (``_ignore``).

Rules kept here (they were the Transport service's):

* A queue with messages is attempted at once; an attempt resolves the route, tries each target
  in order until one session works, then sends every message waiting at that moment over
  sessions to that target, MAX_MESSAGES_PER_CONNECTION per session, RSET between messages.
* A recipient refused with 5xx fails at once (NDR); a 4xx keeps it queued. When every target
  failed, a 5xx refusal inside a session fails every message (the NDR quotes the refusal);
  anything else puts the queue in Retry with LastError and the next retry time of D7. A
  LastError whose last target answered wraps the answer in Exchange's failover sentence
  (``451 4.4.0 Primary target IP address responded with: "…"``, §17 C1).
* A message expires at received + MessageExpirationTimeOut with ``550 4.4.7 QUEUE.Expired``;
  its delay DSN is due once at received + DelayNotificationTimeOut.
* A queue whose send connector is gone hands its messages back to the categorizer.
* A suspended queue makes no attempt (expiry still runs); an attempt already running ends, but
  the queue stays Suspended.
* Suspend-Message holds one message (Status Suspended): attempts send the rest of its queue,
  expiry still runs; Resume-Message releases it (an attempt now if the queue is Ready, the next
  retry if it is in Retry, Resume-Queue if the queue is suspended). Remove-Message takes a
  message out at once, FAIL (source ADMIN) with ``550 4.3.2 QUEUE.Admin`` and an NDR unless
  -WithNDR $false. A message whose transaction runs is not interrupted: it is marked
  PendingSuspend / PendingRemove and held or removed (``QUEUE.DDAdmin``) if it comes back to
  the queue (docs/fidelity.md, "Suspend-, Resume- and Remove-Message").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from labsim.delivery import commands as c
from labsim.delivery import events as e
from labsim.delivery.queue import (
    Attempt,
    DeliveryQueue,
    FailedSession,
    Phase,
    QueuedMessage,
)
from labsim.logs.tracking import TrackingEventId, TrackingSource
from labsim.model.enums import MessageStatus, QueueStatus
from labsim.model.transport import TransportService
from labsim.policy.retry import (
    delay_dsn_due,
    expired_reply,
    expires_at,
    format_last_error,
    next_retry_time,
)
from labsim.policy.routing import NextHop
from labsim.policy.texts import failover_reason
from labsim.smtp.reply import Reply

MAX_MESSAGES_PER_CONNECTION = 20
"""Messages per outbound session before a new one is opened (SmtpMaxMessagesPerConnection)."""
DNS_FAILURE = Reply(
    451,
    "DNS query failed. The error was: SMTPSEND.DNS.NonExistentDomain; nonexistent domain",
    "4.4.0",
)
"""No host to try: the next hop's MX or smart host names did not resolve."""
NO_CONNECTOR_LAST_ERROR = "550 5.4.4 ROUTING.NoConnectorForAddressType"
MESSAGE_DELAYED = Reply(400, "Message delayed", "4.4.7")
DELETED_BY_ADMIN = Reply(550, "QUEUE.Admin; message deleted by administrative action", "4.3.2")
"""Remove-Message's recipient status and NDR diagnostic (Exchange 15's AckReason)."""
DELAYED_DELETE_BY_ADMIN = Reply(
    550, "QUEUE.DDAdmin; message deleted by administrative action", "4.3.2"
)
"""The same for a message removed while its transaction ran, once it came back (PendingRemove)."""


class InvalidTransition(Exception):
    """The event does not apply to the queue in its current phase (a misuse of the core)."""

    def __init__(self, queue: DeliveryQueue, phase: Phase, event: object) -> None:
        super().__init__(
            f"{type(event).__name__} does not apply to {queue.identity} in phase {phase.value}"
        )
        self.queue = queue
        self.phase = phase


@dataclass(frozen=True)
class DeliverySettings:
    """What the core reads of the server's configuration at each event."""

    service: TransportService
    """The server's Transport service timers (retry intervals, expiry, delay DSN)."""
    running: bool = True
    """The server's Transport service runs (Stop-LabServer stops it)."""


Commands = list[c.DeliveryCommand]
Handler = Callable[["DeliveryCore", DeliveryQueue, e.DeliveryEvent, "_Context"], None]


@dataclass(frozen=True)
class _Context:
    now: datetime
    settings: DeliverySettings
    out: Commands


def phase_of(queue: DeliveryQueue) -> Phase:
    """The queue's phase: its attempt's stage while one runs, else its Status."""
    if queue.attempt is not None:
        return queue.attempt.stage
    return {
        QueueStatus.READY: Phase.READY,
        QueueStatus.ACTIVE: Phase.SCHEDULED,
        QueueStatus.CONNECTING: Phase.SCHEDULED,
        QueueStatus.RETRY: Phase.RETRY,
        QueueStatus.SUSPENDED: Phase.SUSPENDED,
    }[queue.status]


class QueueJournal(Protocol):
    """Where queue contents are made durable (``labsim up --state``; labsim.store).

    Called by the core at the moment a message enters a queue, loses some recipients or leaves
    it, in the same step as the change: storage is not a delivery decision, so it is a port the
    core calls rather than a command in the transcripts."""

    def queued(self, queue: DeliveryQueue, message: QueuedMessage) -> None:
        """A message entered ``queue``."""

    def recipients_changed(self, message: QueuedMessage) -> None:
        """Some recipients are done; ``message.recipients`` are the rest."""

    def held_changed(self, message: QueuedMessage) -> None:
        """Suspend-Message held the message or Resume-Message released it (``message.held``)."""

    def left(self, message: QueuedMessage) -> None:
        """The message left its queue (delivered, failed, expired or routed again)."""


class _NoJournal:
    def queued(self, queue: DeliveryQueue, message: QueuedMessage) -> None:
        pass

    def recipients_changed(self, message: QueuedMessage) -> None:
        pass

    def held_changed(self, message: QueuedMessage) -> None:
        pass

    def left(self, message: QueuedMessage) -> None:
        pass


class DeliveryCore:
    """The delivery queues of one Mailbox server and the one state machine over them."""

    def __init__(self, server_name: str, journal: QueueJournal | None = None) -> None:
        self.server_name = server_name
        self.journal: QueueJournal = journal if journal is not None else _NoJournal()
        self.queues: list[DeliveryQueue] = []
        self._queue_numbers = itertools.count(1)
        self._entries = itertools.count(1)

    # --- the one entry point -----------------------------------------------------------------

    def handle(
        self, event: e.DeliveryEvent, *, now: datetime, settings: DeliverySettings
    ) -> Commands:
        """Apply ``event`` at lab time ``now``; return what the driver must do, in order."""
        ctx = _Context(now, settings, [])
        if isinstance(event, e.ServiceStarted):
            for queue in self.queues:
                self._dispatch(queue, event, ctx)
            return ctx.out
        if isinstance(event, e.Enqueued):
            queue = self._queue_for(event.hop)
            self._add(queue, event, ctx)
        else:
            queue = self.queue(event.queue)
        self._dispatch(queue, event, ctx)
        return ctx.out

    def _dispatch(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        phase = phase_of(queue)
        handler = TRANSITIONS.get((phase, type(event)))
        if handler is None:
            raise InvalidTransition(queue, phase, event)
        handler(self, queue, event, ctx)

    # --- lookups -----------------------------------------------------------------------------

    def queue(self, number: int) -> DeliveryQueue:
        """The queue with ``number``."""
        for queue in self.queues:
            if queue.number == number:
                return queue
        raise KeyError(number)

    def find(self, identity: str) -> DeliveryQueue | None:
        """The queue an identity a user typed names, if any."""
        return next((q for q in self.queues if q.matches(identity)), None)

    def _queue_for(self, hop: NextHop | None) -> DeliveryQueue:
        key = hop.next_hop_domain if hop else "Unreachable"
        for queue in self.queues:
            if queue.next_hop_domain == key and (hop is None or queue.next_hop == hop):
                return queue
        for queue in self.queues:
            if queue.next_hop_domain == key:
                queue.next_hop = hop
                return queue
        queue = DeliveryQueue(self.server_name, next(self._queue_numbers), hop)
        self.queues.append(queue)
        return queue

    # --- messages in and out -------------------------------------------------------------------

    def _add(self, queue: DeliveryQueue, event: e.Enqueued, ctx: _Context) -> None:
        service = ctx.settings.service
        item = event.item
        qm = QueuedMessage(
            next(self._entries),
            item,
            list(event.recipients),
            event.network_message_id,
            expires_at(item.received_at, service),
            held=event.held,
        )
        queue.messages.append(qm)
        self.journal.queued(queue, qm)
        ctx.out.append(c.WakeAt(qm.expires, e.MessageExpired(queue.number, qm.entry)))
        due = delay_dsn_due(
            item.received_at,
            service,
            already_sent=False,
            enabled=event.delay_dsn_enabled and not item.is_dsn and bool(item.mail_from),
        )
        if due is not None:
            ctx.out.append(c.WakeAt(due, e.DelayDsnDue(queue.number, qm.entry)))
        if event.hop is None:
            queue.last_error = NO_CONNECTOR_LAST_ERROR

    def _remove(self, queue: DeliveryQueue, qm: QueuedMessage, ctx: _Context) -> None:
        ctx.out.append(c.CancelWake(e.MessageExpired(queue.number, qm.entry)))
        ctx.out.append(c.CancelWake(e.DelayDsnDue(queue.number, qm.entry)))
        if qm in queue.messages:
            queue.messages.remove(qm)
            self.journal.left(qm)

    def _fail_message(
        self,
        qm: QueuedMessage,
        failures: list[tuple[str, Reply, str | None, str | None]],
        ctx: _Context,
        source: TrackingSource = TrackingSource.SMTP,
    ) -> None:
        if failures:
            ctx.out.append(
                c.FailRecipients(qm.item, qm.network_message_id, tuple(failures), source)
            )

    # --- transitions ---------------------------------------------------------------------------

    def _ignore(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """Nothing to do in this phase."""

    def _schedule(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """A Ready queue with a reachable next hop and a message to send is attempted at once
        (a message that arrives held, restored Suspended after a restart, waits)."""
        if queue.next_hop is None or not _sendable(queue):
            return
        queue.status = QueueStatus.ACTIVE
        ctx.out.append(c.WakeAt(ctx.now, e.AttemptDue(queue.number)))

    def _begin_attempt(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        if not ctx.settings.running:
            return  # a stopped service makes no attempt; ServiceStarted re-arms it
        if not _sendable(queue) or queue.next_hop is None:
            queue.status = QueueStatus.READY
            return
        queue.status = QueueStatus.ACTIVE
        queue.attempt = Attempt()
        ctx.out.append(c.ResolveRoute(queue.number))

    def _force_retry(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        ctx.out.append(c.CancelWake(e.RetryDue(queue.number)))
        queue.status = QueueStatus.ACTIVE
        ctx.out.append(c.WakeAt(ctx.now, e.AttemptDue(queue.number)))

    def _suspend(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        ctx.out.append(c.CancelWake(e.RetryDue(queue.number)))
        ctx.out.append(c.CancelWake(e.AttemptDue(queue.number)))
        queue.status = QueueStatus.SUSPENDED
        for qm in queue.messages:
            qm.status = MessageStatus.SUSPENDED

    def _resume(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        if queue.status is not QueueStatus.SUSPENDED:
            return
        queue.status = QueueStatus.READY
        for qm in queue.messages:
            qm.status = MessageStatus.READY
        if queue.attempt is not None:
            queue.status = QueueStatus.ACTIVE  # the running attempt decides what follows
        elif _sendable(queue) and queue.next_hop is not None:
            queue.status = QueueStatus.ACTIVE
            ctx.out.append(c.WakeAt(ctx.now, e.AttemptDue(queue.number)))

    def _restart(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """The service started: a queue with messages that is not suspended is tried now."""
        if _sendable(queue) and queue.next_hop is not None:
            ctx.out.append(c.CancelWake(e.RetryDue(queue.number)))
            queue.status = QueueStatus.ACTIVE
            ctx.out.append(c.WakeAt(ctx.now, e.AttemptDue(queue.number)))

    def _expire(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        assert isinstance(event, e.MessageExpired)
        qm = queue.entry(event.entry)
        if qm is None:
            return
        self._remove(queue, qm, ctx)
        reply = expired_reply(qm.last_response or queue.last_response)
        ctx.out.append(c.Observe(f"'{qm.item.subject}' expired in {queue.identity}: {reply}"))
        self._fail_message(
            qm, [(r, reply, None, None) for r in qm.recipients], ctx, TrackingSource.QUEUE
        )
        if not queue.messages and queue.status is QueueStatus.RETRY:
            ctx.out.append(c.CancelWake(e.RetryDue(queue.number)))
            queue.status = QueueStatus.READY

    def _delay_dsn(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        assert isinstance(event, e.DelayDsnDue)
        qm = queue.entry(event.entry)
        if qm is None or qm.delay_dsn_sent:
            return
        qm.delay_dsn_sent = True
        reply = qm.last_response or queue.last_response or MESSAGE_DELAYED
        host, ip = queue.last_server or (None, None)
        ctx.out.append(
            c.SendDelayDsn(
                qm.item,
                qm.network_message_id,
                tuple(qm.recipients),
                reply,
                queue.last_retry_time,
                qm.expires,
                host,
                ip,
            )
        )

    def _reroute(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """The send connector is gone: the categorizer routes the messages again (Exchange
        does); the queue is Ready first, so a message routed back into it gets an attempt."""
        messages, queue.messages = queue.messages, []
        queue.status = QueueStatus.READY
        queue.last_error = ""
        queue.last_response = None
        queue.last_server = None
        queue.attempt = None
        ctx.out.append(c.EndAttempt(queue.number))
        for qm in messages:
            self.journal.left(qm)  # routed again just below: a new queue entry
            ctx.out.append(c.CancelWake(e.MessageExpired(queue.number, qm.entry)))
            ctx.out.append(c.CancelWake(e.DelayDsnDue(queue.number, qm.entry)))
            ctx.out.append(
                c.Resubmit(replace(qm.item, recipients=tuple(qm.recipients)), qm.network_message_id)
            )

    def _route_resolved(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        assert isinstance(event, e.RouteResolved) and queue.attempt is not None
        attempt = queue.attempt
        attempt.targets = event.targets
        if not attempt.targets:
            self._finish(queue, ctx)
            return
        attempt.stage = Phase.CONNECTING
        ctx.out.append(c.OpenSession(queue.number, 0))

    def _session_failed(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        assert isinstance(event, e.SessionFailed) and queue.attempt is not None
        attempt = queue.attempt
        host, address = attempt.targets[attempt.index]
        if attempt.connected:
            # A later session to the target that worked: the attempt ends with what it did.
            self._finish(queue, ctx)
            return
        attempt.failure = FailedSession(host, address, event.reply, event.connected, event.port)
        ctx.out.append(c.Observe(f"{queue.identity}: {host} failed: {event.reply}"))
        if attempt.index + 1 < len(attempt.targets):
            attempt.index += 1
            ctx.out.append(c.OpenSession(queue.number, attempt.index))
            return
        self._finish(queue, ctx)

    def _session_opened(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        assert queue.attempt is not None
        attempt = queue.attempt
        if not attempt.connected:
            # Every message waiting now goes over sessions to this target.
            attempt.connected = True
            attempt.waiting = [qm.entry for qm in queue.messages if qm.sendable]
        attempt.batch = attempt.waiting[:MAX_MESSAGES_PER_CONNECTION]
        attempt.waiting = attempt.waiting[MAX_MESSAGES_PER_CONNECTION:]
        attempt.tried.update(attempt.batch)
        attempt.sent_on_session = 0
        attempt.stage = Phase.TRANSMITTING
        self._transmit_next(queue, ctx, session_open=True)

    def _transmit_next(self, queue: DeliveryQueue, ctx: _Context, *, session_open: bool) -> None:
        attempt = queue.attempt
        assert attempt is not None
        # A message that expired, was removed or was suspended meanwhile is not sent.
        while attempt.batch and not _still_sendable(queue, attempt.batch[0]):
            attempt.tried.discard(attempt.batch.pop(0))
        if session_open and attempt.batch:
            entry = attempt.batch.pop(0)
            attempt.in_flight = entry
            ctx.out.append(c.Transmit(queue.number, entry, attempt.sent_on_session > 0))
            attempt.sent_on_session += 1
            return
        ctx.out.append(c.CloseSession(queue.number))
        if attempt.waiting:
            attempt.stage = Phase.CONNECTING
            ctx.out.append(c.OpenSession(queue.number, attempt.index))
            return
        self._finish(queue, ctx)

    def _transaction_done(
        self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context
    ) -> None:
        assert isinstance(event, e.TransactionDone) and queue.attempt is not None
        host, address = queue.attempt.targets[queue.attempt.index]
        queue.attempt.in_flight = None
        qm = queue.entry(event.entry)
        if qm is not None:
            outcomes = dict(event.outcomes)
            connector = queue.next_hop.tracking_connector_id if queue.next_hop else ""
            failed: list[tuple[str, Reply, str | None, str | None]] = []
            remaining: list[str] = []
            for r in qm.recipients:
                outcome = outcomes[r]
                if outcome.is_positive_completion:
                    ctx.out.append(
                        c.Track(
                            TrackingEventId.SEND,
                            qm.item,
                            qm.network_message_id,
                            (r,),
                            (str(outcome),),
                            server_ip=address,
                            server_hostname=host,
                            connector_id=connector,
                        )
                    )
                    ctx.out.append(
                        c.Observe(f"sent '{qm.item.subject}' for {r} to {host}: {outcome}")
                    )
                elif outcome.code >= 500:
                    failed.append((r, outcome, host, address))
                else:
                    remaining.append(r)
                    qm.last_response = (
                        failover_reason(outcome, address, event.port)
                        if event.refused_before_recipient
                        else outcome
                    )
            if len(remaining) != len(qm.recipients):
                qm.recipients = remaining
                self.journal.recipients_changed(qm)
            self._fail_message(qm, failed, ctx)
            if not qm.recipients:
                self._remove(queue, qm, ctx)
            else:
                self._came_back(queue, qm, ctx)
        self._transmit_next(queue, ctx, session_open=event.session_open)

    def _abort(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        assert isinstance(event, e.AttemptAborted) and queue.attempt is not None
        hop = queue.next_hop
        self._settle_pending(queue, ctx)
        queue.attempt = None
        ctx.out.append(c.EndAttempt(queue.number))
        self._to_retry(queue, event.reply, hop.next_hop_domain if hop else "", "", ctx)

    # --- Suspend-, Resume- and Remove-Message -------------------------------------------------------

    def _suspend_message(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """Idle: the message is held at once (Status Suspended); the rest of the queue goes on."""
        assert isinstance(event, e.MessageSuspended)
        qm = queue.entry(event.entry)
        if qm is None or qm.held or qm.pending_remove is not None:
            return
        qm.held = True
        self.journal.held_changed(qm)
        ctx.out.append(c.Observe(f"'{qm.item.subject}' suspended in {queue.identity}"))

    def _suspend_message_in_attempt(
        self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context
    ) -> None:
        """During an attempt: a message whose transaction runs is not interrupted
        (PendingSuspend, held if it comes back); any other is held and skipped."""
        assert isinstance(event, e.MessageSuspended) and queue.attempt is not None
        qm = queue.entry(event.entry)
        if qm is None or qm.held or qm.pending_remove is not None:
            return
        if queue.attempt.in_flight == qm.entry:
            qm.pending_suspend = True
            ctx.out.append(c.Observe(f"'{qm.item.subject}' in {queue.identity}: PendingSuspend"))
            return
        self._suspend_message(queue, event, ctx)

    def _resume_message(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """The message may go again: now if its queue is Ready, at the queue's next retry if it
        is in Retry, after Resume-Queue if the queue is suspended, and after the running attempt
        (at once, if that attempt ends without Retry) during one."""
        assert isinstance(event, e.MessageResumed)
        qm = queue.entry(event.entry)
        if qm is None:
            return
        if qm.pending_suspend:
            qm.pending_suspend = False  # its transaction still runs; nothing to hold
            return
        if not qm.held:
            return
        qm.held = False
        self.journal.held_changed(qm)
        if queue.status is not QueueStatus.SUSPENDED:
            qm.status = MessageStatus.READY
        ctx.out.append(c.Observe(f"'{qm.item.subject}' resumed in {queue.identity}"))
        if phase_of(queue) is Phase.READY:
            self._schedule(queue, event, ctx)

    def _remove_message(self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context) -> None:
        """Idle: the message leaves at once (FAIL from ADMIN, an NDR if -WithNDR $true)."""
        assert isinstance(event, e.MessageRemoved)
        qm = queue.entry(event.entry)
        if qm is None or qm.pending_remove is not None:
            return
        self._remove_by_admin(queue, qm, DELETED_BY_ADMIN, event.with_ndr, ctx)
        if not queue.messages and queue.status is QueueStatus.RETRY:
            ctx.out.append(c.CancelWake(e.RetryDue(queue.number)))
            queue.status = QueueStatus.READY

    def _remove_message_in_attempt(
        self, queue: DeliveryQueue, event: e.DeliveryEvent, ctx: _Context
    ) -> None:
        """During an attempt: a message whose transaction runs is not interrupted
        (PendingRemove, removed if it comes back); any other leaves at once and is skipped."""
        assert isinstance(event, e.MessageRemoved) and queue.attempt is not None
        qm = queue.entry(event.entry)
        if qm is None or qm.pending_remove is not None:
            return
        if queue.attempt.in_flight == qm.entry:
            qm.pending_remove = event.with_ndr
            qm.pending_suspend = False
            ctx.out.append(c.Observe(f"'{qm.item.subject}' in {queue.identity}: PendingRemove"))
            return
        self._remove_by_admin(queue, qm, DELETED_BY_ADMIN, event.with_ndr, ctx)

    def _remove_by_admin(
        self, queue: DeliveryQueue, qm: QueuedMessage, reply: Reply, ndr: bool, ctx: _Context
    ) -> None:
        self._remove(queue, qm, ctx)
        how = "" if ndr else " without NDR"
        ctx.out.append(c.Observe(f"'{qm.item.subject}' removed from {queue.identity}{how}"))
        ctx.out.append(
            c.FailRecipients(
                qm.item,
                qm.network_message_id,
                tuple((r, reply, None, None) for r in qm.recipients),
                TrackingSource.ADMIN,
                ndr=ndr,
            )
        )

    def _came_back(self, queue: DeliveryQueue, qm: QueuedMessage, ctx: _Context) -> None:
        """A message whose transaction ran is back in the queue (recipients left): what the
        admin asked meanwhile happens now."""
        if qm.pending_remove is not None:
            ndr, qm.pending_remove = qm.pending_remove, None
            self._remove_by_admin(queue, qm, DELAYED_DELETE_BY_ADMIN, ndr, ctx)
        elif qm.pending_suspend:
            qm.pending_suspend = False
            qm.held = True
            self.journal.held_changed(qm)
            ctx.out.append(c.Observe(f"'{qm.item.subject}' suspended in {queue.identity}"))

    def _settle_pending(self, queue: DeliveryQueue, ctx: _Context) -> None:
        """The attempt ends: a transaction that never reported back (the session dropped)
        leaves its message in the queue, so a pending suspend or remove happens now."""
        attempt = queue.attempt
        if attempt is None or attempt.in_flight is None:
            return
        qm = queue.entry(attempt.in_flight)
        attempt.in_flight = None
        if qm is not None:
            self._came_back(queue, qm, ctx)

    # --- the end of an attempt -------------------------------------------------------------------

    def _finish(self, queue: DeliveryQueue, ctx: _Context) -> None:
        attempt = queue.attempt
        assert attempt is not None
        self._settle_pending(queue, ctx)
        queue.attempt = None
        ctx.out.append(c.EndAttempt(queue.number))
        hop = queue.next_hop
        assert hop is not None
        if not attempt.connected:
            failure = attempt.failure
            if failure is None:  # no target at all
                self._to_retry(queue, DNS_FAILURE, hop.next_hop_domain, "", ctx)
                return
            if failure.connected and failure.reply.code >= 500:
                # A permanent refusal of the whole session: every message it was for fails now
                # (one held by Suspend-Message was not).
                for qm in [qm for qm in queue.messages if qm.sendable]:
                    self._remove(queue, qm, ctx)
                    self._fail_message(
                        qm,
                        [(r, failure.reply, failure.host, failure.address) for r in qm.recipients],
                        ctx,
                    )
                if queue.status is not QueueStatus.SUSPENDED:
                    queue.status = QueueStatus.READY
                return
            reason = failure.reply
            if failure.connected:
                # The last target answered: LastError wraps its answer (or the sender's own
                # verdict on it) in the failover sentence (§17 C1); an unreachable target
                # keeps its own 441 4.4.1 text.
                reason = failover_reason(failure.reply, failure.address, failure.port)
            self._to_retry(queue, reason, failure.host, failure.address, ctx)
            return
        host, address = attempt.targets[attempt.index]
        retry = [qm for qm in queue.messages if qm.entry in attempt.tried and qm.sendable]
        if retry:
            worst = next((qm.last_response for qm in retry if qm.last_response), None)
            self._to_retry(queue, worst or DNS_FAILURE, host, address, ctx)
        elif queue.status is QueueStatus.SUSPENDED:
            return
        elif _sendable(queue):
            # Only messages that arrived (or were resumed) during this attempt remain: try
            # them now.
            ctx.out.append(c.WakeAt(ctx.now, e.AttemptDue(queue.number)))
        else:
            queue.status = QueueStatus.READY
            queue.last_error = ""
            queue.last_response = None
            queue.last_server = None
            queue.retry_count = 0
            queue.first_retry_time = None
            queue.last_retry_time = None
            queue.next_retry_time = None

    def _to_retry(
        self, queue: DeliveryQueue, reply: Reply, fqdn: str, ip: str, ctx: _Context
    ) -> None:
        now = ctx.now
        queue.retry_count += 1
        queue.last_response = reply
        queue.last_error = format_last_error(when=now, response=reply, fqdn=fqdn, ip=ip)
        queue.last_server = (fqdn, ip) if ip else None
        suspended = queue.status is QueueStatus.SUSPENDED
        if not suspended:
            queue.status = QueueStatus.RETRY
        queue.first_retry_time = queue.first_retry_time or now
        queue.last_retry_time = now
        queue.next_retry_time = next_retry_time(
            attempts=queue.retry_count, last_attempt=now, service=ctx.settings.service
        )
        for qm in queue.messages:
            if not qm.sendable:
                continue  # held by Suspend-Message: this attempt was not for it
            if not suspended:
                qm.status = MessageStatus.RETRY
            qm.last_error = queue.last_error
            qm.last_response = qm.last_response or reply
            qm.retry_count = queue.retry_count
            ctx.out.append(
                c.Track(
                    TrackingEventId.DEFER,
                    qm.item,
                    qm.network_message_id,
                    tuple(qm.recipients),
                    tuple([str(reply)] * len(qm.recipients)),
                    connector_id=queue.next_hop.tracking_connector_id if queue.next_hop else "",
                )
            )
        ctx.out.append(c.Explain(f"{queue.identity} in Retry: LastError {queue.last_error}"))
        ctx.out.append(c.Observe(f"{queue.identity} → Retry: {reply}"))
        if not suspended:
            ctx.out.append(c.WakeAt(queue.next_retry_time, e.RetryDue(queue.number)))


def _sendable(queue: DeliveryQueue) -> bool:
    """The queue holds a message an attempt may send (not held by Suspend-Message)."""
    return any(qm.sendable for qm in queue.messages)


def _still_sendable(queue: DeliveryQueue, entry: int) -> bool:
    qm = queue.entry(entry)
    return qm is not None and qm.sendable


_D = DeliveryCore
_IDLE = (Phase.READY, Phase.SCHEDULED, Phase.RETRY, Phase.SUSPENDED)
_ATTEMPT = (Phase.RESOLVING, Phase.CONNECTING, Phase.TRANSMITTING)
_ALL = _IDLE + _ATTEMPT

TRANSITIONS: dict[tuple[Phase, type], Handler] = {
    # A message arrives (it was added to the queue before the row runs).
    (Phase.READY, e.Enqueued): _D._schedule,
    **{(p, e.Enqueued): _D._ignore for p in _ALL if p is not Phase.READY},
    # Attempts start from the lab clock.
    (Phase.READY, e.AttemptDue): _D._begin_attempt,
    (Phase.SCHEDULED, e.AttemptDue): _D._begin_attempt,
    (Phase.RETRY, e.AttemptDue): _D._begin_attempt,
    (Phase.SUSPENDED, e.AttemptDue): _D._ignore,
    **{(p, e.AttemptDue): _D._ignore for p in _ATTEMPT},
    (Phase.RETRY, e.RetryDue): _D._begin_attempt,
    **{(p, e.RetryDue): _D._ignore for p in _ALL if p is not Phase.RETRY},
    # The admin's cmdlets.
    (Phase.RETRY, e.RetryForced): _D._force_retry,
    **{(p, e.MessageSuspended): _D._suspend_message for p in _IDLE},
    **{(p, e.MessageSuspended): _D._suspend_message_in_attempt for p in _ATTEMPT},
    **{(p, e.MessageResumed): _D._resume_message for p in _ALL},
    **{(p, e.MessageRemoved): _D._remove_message for p in _IDLE},
    **{(p, e.MessageRemoved): _D._remove_message_in_attempt for p in _ATTEMPT},
    **{(p, e.Suspended): _D._suspend for p in _ALL},
    **{(p, e.Resumed): _D._resume for p in _ALL},
    **{(p, e.ServiceStarted): _D._restart for p in (Phase.READY, Phase.SCHEDULED, Phase.RETRY)},
    (Phase.SUSPENDED, e.ServiceStarted): _D._ignore,
    **{(p, e.ServiceStarted): _D._ignore for p in _ATTEMPT},
    # Message timers run in every phase.
    **{(p, e.MessageExpired): _D._expire for p in _ALL},
    **{(p, e.DelayDsnDue): _D._delay_dsn for p in _ALL},
    # The attempt itself.
    (Phase.RESOLVING, e.ConnectorRemoved): _D._reroute,
    (Phase.RESOLVING, e.RouteResolved): _D._route_resolved,
    (Phase.CONNECTING, e.SessionOpened): _D._session_opened,
    (Phase.CONNECTING, e.SessionFailed): _D._session_failed,
    (Phase.TRANSMITTING, e.TransactionDone): _D._transaction_done,
    **{(p, e.AttemptAborted): _D._abort for p in _ATTEMPT},
}
"""Every transition of the delivery state machine: (phase, event type) → handler."""
