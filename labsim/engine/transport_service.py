"""The Transport service of a Mailbox server: submission, categorizer, routing, delivery queues
with retry and expiry on the lab clock, local delivery and DSNs (reference §2, §4.5, §8, §9).

Every step writes message tracking events. A message accepted with 250 is kept until it is
delivered, fails with an NDR, or expires with an NDR: it is never dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from twisted.internet.defer import inlineCallbacks

from labsim.engine.outbound import (
    Established,
    SessionFailure,
    SessionPlan,
    next_hop_targets,
    open_session,
    plan_for_connector,
    run_transaction,
)
from labsim.engine.queues import DeliveryQueue, QueuedMessage
from labsim.engine.receive import InboundTransaction
from labsim.engine.world import World
from labsim.errors import CmdletError
from labsim.logs.tracking import Directionality, TrackingEventId, TrackingRecord, TrackingSource
from labsim.model.enums import (
    AuthAs,
    MessageStatus,
    ProtocolLoggingLevel,
    QueueStatus,
    SendConnectorUsage,
)
from labsim.model.mail import (
    DeliveredMessage,
    MailItem,
    MessageView,
    QueueView,
    subject_and_message_id,
)
from labsim.model.organization import Organization, Server
from labsim.net.dns import Target
from labsim.policy.compose import Draft, compose_message
from labsim.policy.headers import (
    AuthMechanismCode,
    apply_send_firewall,
    prepend_raw_header,
    received_header,
    stamp_authentication,
)
from labsim.policy.ndr import DsnRecipient, build_delay_dsn, build_ndr, should_generate_dsn
from labsim.policy.retry import (
    delay_dsn_due,
    expired_reply,
    expires_at,
    format_last_error,
    next_retry_time,
)
from labsim.policy.routing import (
    NextHop,
    ResolutionKind,
    categorize,
    recipient_domain,
    select_send_connector,
)
from labsim.smtp import replies
from labsim.smtp.reply import Reply

OUTBOUND_PROXY_PORT = 717
MAX_MESSAGES_PER_CONNECTION = 20
"""Messages per outbound session before a new one is opened (SmtpMaxMessagesPerConnection)."""
DNS_FAILURE = Reply(
    451,
    "DNS query failed. The error was: SMTPSEND.DNS.NonExistentDomain; nonexistent domain",
    "4.4.0",
)


class TransportService:
    """The Transport service of one Mailbox server."""

    resolves_recipients = True

    def __init__(self, world: World, server_name: str) -> None:
        self.world = world
        self.server_name = server_name
        self.queues: list[DeliveryQueue] = []
        self._queue_numbers = iter(range(1, 10**9))

    @property
    def server(self) -> Server:
        """This server's current record."""
        return self.world.server(self.server_name)

    @property
    def organization(self) -> Organization:
        """This server's organization, current configuration."""
        return self.world.organization_of(self.server_name)

    # --- receive role (Default <server>, port 2525) -------------------------------------------

    def on_rcpt(self, tx: InboundTransaction, recipient: str) -> Reply:
        """Recipients were resolved by the receive checks; accept."""
        return replies.RECIPIENT_OK

    def on_data(self, tx: InboundTransaction) -> Reply:
        """Ready for the message."""
        return replies.START_MAIL_INPUT

    def on_message(self, tx: InboundTransaction, content: bytes) -> Reply:
        """Accept a message over SMTP: tracking RECEIVE, then categorize; 250 only after that."""
        item = self._new_item(tx.mail_from or "", list(tx.recipients), content)
        self._track(
            TrackingEventId.RECEIVE,
            TrackingSource.SMTP,
            item,
            item.recipients,
            client_ip=tx.remote_address,
            client_hostname=tx.helo_name,
            connector_id=tx.connector.identity,
        )
        self._categorize(item, str(uuid.uuid4()))
        self.world.state.commit()  # --state: durable before the 250 (labsim.store)
        return replies.queued_mail(item.message_id.strip("<>"), item.internal_id, self.server.fqdn)

    def on_reset(self, tx: InboundTransaction) -> None:
        """Nothing to release."""

    def on_close(self, tx: InboundTransaction) -> None:
        """Nothing to release."""

    # --- submission --------------------------------------------------------------------------

    def submit_new(
        self,
        *,
        mail_from: str,
        to: list[str],
        cc: list[str],
        bcc: list[str],
        subject: str,
        body: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> str:
        """A message as Outlook submits it to the store: build it, stamp it, categorize it.

        ``headers`` are extra header lines the author wrote; org headers among them are
        overwritten by the store stamps, as Exchange's submission does.
        """
        now = self.world.now()
        message_id = f"<{uuid.uuid4().hex}@{self.server.fqdn}>"
        content = compose_message(
            Draft(
                mail_from=mail_from,
                to=tuple(to),
                cc=tuple(cc),
                subject=subject,
                date=format_datetime(now),
                message_id=message_id,
                body=body,
                headers=tuple(headers),
            )
        )
        content = stamp_authentication(
            content,
            auth_as=AuthAs.INTERNAL,
            mechanism=AuthMechanismCode.SECURE_MAPI_SUBMIT,
            source_fqdn=self.server.fqdn,
            domain=None,
        )
        # Mailbox Transport Submission hands the message to the Transport service over SMTP;
        # that hop leaves the first Received header.
        content = prepend_raw_header(
            content,
            received_header(
                helo=self.server.fqdn,
                client_ip=self.server.address,
                by_fqdn=self.server.fqdn,
                server_ip=self.server.address,
                tls_description=None,
                when=now,
            ),
        )
        item = self._new_item(mail_from, [*to, *cc, *bcc], content)
        self._track(TrackingEventId.RECEIVE, TrackingSource.STOREDRIVER, item, item.recipients)
        self._track(TrackingEventId.SUBMIT, TrackingSource.STOREDRIVER, item, item.recipients)
        self.world.observe(
            self.server_name,
            f"submitted '{subject}' from {mail_from} to {', '.join(item.recipients)}",
        )
        self._categorize(item, str(uuid.uuid4()))
        self.world.state.commit()  # --state: durable before Send-MailMessage returns
        return message_id

    def _new_item(
        self,
        mail_from: str,
        recipients: list[str],
        content: bytes,
        *,
        is_dsn: bool = False,
    ) -> MailItem:
        subject, message_id = subject_and_message_id(content)
        return MailItem(
            internal_id=self.world.new_internal_id(),
            message_id=message_id or f"<{uuid.uuid4().hex}@{self.server.fqdn}>",
            mail_from=mail_from,
            recipients=tuple(recipients),
            content=content,
            received_at=self.world.now(),
            subject=subject,
            is_dsn=is_dsn,
        )

    # --- categorizer and routing -------------------------------------------------------------

    def _categorize(self, item: MailItem, network_message_id: str) -> None:
        org = self.organization
        remote: dict[str, list[str]] = {}
        hops: dict[str, NextHop | None] = {}
        for recipient in item.recipients:
            try:
                resolution = categorize(org, recipient)
            except ValueError:
                self._fail(
                    item, network_message_id, [(recipient, replies.INVALID_ARGUMENTS, None, None)]
                )
                continue
            self.world.explain(self.server_name, resolution.explanation)
            if resolution.kind is ResolutionKind.LOCAL:
                assert resolution.mailbox is not None
                self._deliver_locally(
                    item, resolution.mailbox.primary_smtp_address, network_message_id
                )
            elif resolution.kind is ResolutionKind.NOT_FOUND:
                assert resolution.reply is not None
                self._fail(item, network_message_id, [(recipient, resolution.reply, None, None)])
            else:
                decision = select_send_connector(org, resolution.domain, self.server_name)
                self.world.explain(self.server_name, decision.explanation)
                key = decision.next_hop.next_hop_domain if decision.next_hop else "Unreachable"
                hops[key] = decision.next_hop
                remote.setdefault(key, []).append(recipient)
        for key, recipients in remote.items():
            self._enqueue(hops[key], item, recipients, network_message_id)

    def _deliver_locally(self, item: MailItem, address: str, network_message_id: str) -> None:
        now = self.world.now()
        delivered = DeliveredMessage(
            mailbox=address,
            mail_from=item.mail_from,
            subject=item.subject,
            content=item.content,
            delivered_at=now,
            message_id=item.message_id,
        )
        if not self.world.mailboxes.deliver(delivered):
            # The store already holds this Message-ID for the mailbox (--state, a message
            # sent again after a crash): Exchange's duplicate detection, logged as such.
            self._track(
                TrackingEventId.DUPLICATEDELIVER,
                TrackingSource.STOREDRIVER,
                item,
                [address],
                network_message_id=network_message_id,
            )
            return
        self._track(
            TrackingEventId.DELIVER,
            TrackingSource.STOREDRIVER,
            item,
            [address],
            network_message_id=network_message_id,
        )
        if self.world.observers:  # reading the stamps parses the message: only for an audience
            mark = " ✔ domain secured" if delivered.domain_secured else ""
            self.world.observe(self.server_name, f"delivered '{item.subject}' to {address}{mark}")

    # --- queues --------------------------------------------------------------------------------

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

    def _enqueue(
        self, hop: NextHop | None, item: MailItem, recipients: list[str], network_message_id: str
    ) -> None:
        service = self.server.transport_service
        queue = self._queue_for(hop)
        qm = QueuedMessage(
            item, list(recipients), network_message_id, expires_at(item.received_at, service)
        )
        queue.messages.append(qm)
        self.world.state.message_queued(self.server_name, queue.next_hop_domain, qm)
        clock = self.world.clock
        qm.timers.append(clock.call_at(qm.expires.timestamp(), lambda: self._expire(queue, qm)))
        org = self.organization
        due = delay_dsn_due(
            item.received_at,
            service,
            already_sent=False,
            enabled=org.transport_config.external_delay_dsn_enabled
            and not item.is_dsn
            and bool(item.mail_from),
        )
        if due is not None:
            qm.timers.append(clock.call_at(due.timestamp(), lambda: self._delay_dsn(queue, qm)))
        if hop is None:
            queue.last_error = "550 5.4.4 ROUTING.NoConnectorForAddressType"
            return
        if queue.status is QueueStatus.READY:
            queue.status = QueueStatus.ACTIVE
            self._schedule_attempt(queue)

    def _find(self, identity: str) -> DeliveryQueue:
        for queue in self.queues:
            if queue.matches(identity):
                return queue
        raise KeyError(identity)

    def suspend_queue(self, identity: str) -> None:
        """Suspend-Queue: no delivery attempts until Resume-Queue (expiry still runs)."""
        queue = self._find(identity)
        if queue.timer is not None:
            queue.timer.cancel()
            queue.timer = None
        queue.status = QueueStatus.SUSPENDED
        for qm in queue.messages:
            qm.status = MessageStatus.SUSPENDED

    def resume_queue(self, identity: str) -> None:
        """Resume-Queue: the queue becomes Ready and is attempted now."""
        queue = self._find(identity)
        if queue.status is not QueueStatus.SUSPENDED:
            return
        queue.status = QueueStatus.READY
        for qm in queue.messages:
            qm.status = MessageStatus.READY
        if queue.messages and queue.next_hop is not None:
            queue.status = QueueStatus.ACTIVE
            self._schedule_attempt(queue)

    def service_started(self) -> None:
        """The server started again: every queue with messages that is not suspended is tried."""
        for queue in self.queues:
            if (
                queue.messages
                and queue.next_hop is not None
                and queue.status is not QueueStatus.SUSPENDED
            ):
                if queue.timer is not None:
                    queue.timer.cancel()
                queue.status = QueueStatus.ACTIVE
                self._schedule_attempt(queue)

    def _schedule_attempt(self, queue: DeliveryQueue) -> None:
        # Through the lab clock, so the attempt runs when the lab is driven, not re-entrantly.
        self.world.clock.call_later(0, lambda: self._attempt(queue))

    def queue_views(self) -> list[QueueView]:
        """Get-Queue rows."""
        return [q.view() for q in self.queues]

    def message_views(self, queue: str | None) -> list[MessageView]:
        """Get-Message rows, of one queue or all."""
        rows: list[MessageView] = []
        for q in self.queues:
            if queue is None or q.matches(queue):
                rows.extend(q.message_views())
        return rows

    def has_queue(self, identity: str) -> bool:
        """Whether a queue identity names one of this server's queues."""
        return any(q.matches(identity) for q in self.queues)

    def retry_queue(self, identity: str) -> None:
        """Retry-Queue: attempt a queue in Retry now."""
        for queue in self.queues:
            if queue.matches(identity):
                if queue.status is not QueueStatus.RETRY:
                    raise CmdletError(
                        f"Retry-Queue: The queue '{queue.identity}' isn't in Retry (its Status is "
                        f"{queue.status.value}); Retry-Queue only forces a connection for queues in Retry.",
                        cmdlet="Retry-Queue",
                        category="InvalidOperation",
                    )
                if queue.timer is not None:
                    queue.timer.cancel()
                queue.status = QueueStatus.ACTIVE
                self._schedule_attempt(queue)
                return

    # --- delivery --------------------------------------------------------------------------------

    @inlineCallbacks
    def _attempt(self, queue: DeliveryQueue) -> Any:
        if queue.status is QueueStatus.SUSPENDED or self.server_name in self.world.stopped_servers:
            # A suspended queue or a stopped service makes no attempt; resume/start re-arms it.
            return
        if not queue.messages or queue.next_hop is None:
            queue.status = QueueStatus.READY
            return
        token = self.world.activity.begin(f"delivery attempt {queue.identity}")
        try:
            yield self._attempt_inner(queue)
        finally:
            self.world.activity.end(token)

    def _plan(self, queue: DeliveryQueue) -> tuple[SessionPlan | None, Any]:
        org = self.organization
        hop = queue.next_hop
        assert hop is not None
        connector = org.send_connector(hop.connector_name)
        if connector is None:
            return None, None
        if connector.frontend_proxy_enabled:
            # Proxy through the Client Access server (§4.6, D2): a hop to Outbound Proxy Frontend.
            plan = plan_for_connector(
                self.world, self.server, connector, hop, via_frontend_proxy=True
            )
            plan = SessionPlan(
                source=plan.source,
                ehlo_name=self.server.fqdn,
                domain=hop.next_hop_domain,
                port=OUTBOUND_PROXY_PORT,
                client_certificate=plan.client_certificate,
                policy=None,
                log_connector=connector.name
                if connector.protocol_logging_level is ProtocolLoggingLevel.VERBOSE
                else None,
            )
            targets = [Target(s.fqdn, s.address, 0) for s in org.servers if s.is_client_access]
            return plan, targets
        return plan_for_connector(
            self.world, self.server, connector, hop, via_frontend_proxy=False
        ), connector

    @inlineCallbacks
    def _attempt_inner(self, queue: DeliveryQueue) -> Any:
        hop = queue.next_hop
        assert hop is not None
        plan, extra = self._plan(queue)
        if plan is None:
            # The connector is gone: resubmit the messages to the categorizer (Exchange does).
            messages, queue.messages = queue.messages, []
            # Ready first, so that a message routed back into this queue gets an attempt.
            queue.status = QueueStatus.READY
            queue.last_error = ""
            queue.last_response = None
            for qm in messages:
                for t in qm.timers:
                    t.cancel()
                self.world.state.message_left(qm)  # --state: it is queued again just below
                self._categorize(
                    replace(qm.item, recipients=tuple(qm.recipients)), qm.network_message_id
                )
            return
        queue.status = QueueStatus.ACTIVE
        if isinstance(extra, list):
            targets: list[Target] = extra
        else:
            targets = yield next_hop_targets(self.world, hop, self.server_name)
        connector = (
            extra
            if not isinstance(extra, list)
            else self.organization.send_connector(hop.connector_name)
        )
        failure: SessionFailure | None = None
        delivered_session = False
        tried: set[int] = set()
        for target in targets:
            result = yield open_session(self.world, plan, target)
            if isinstance(result, SessionFailure):
                failure = result
                self.world.observe(
                    self.server_name, f"{queue.identity}: {target.host} failed: {result.reply}"
                )
                continue
            assert isinstance(result, Established)
            session: Established | SessionFailure = result
            # Every message waiting for this next hop goes over sessions to this target,
            # MAX_MESSAGES_PER_CONNECTION per session (Exchange's SmtpMaxMessagesPerConnection).
            waiting = list(queue.messages)
            while waiting and isinstance(session, Established):
                batch, waiting = (
                    waiting[:MAX_MESSAGES_PER_CONNECTION],
                    waiting[MAX_MESSAGES_PER_CONNECTION:],
                )
                tried.update(id(qm) for qm in batch)
                yield self._deliver_over(queue, session, connector, batch)
                session.protocol.quit()
                if waiting:
                    session = yield open_session(self.world, plan, target)
            delivered_session = True
            break
        now = self.world.now()
        if not delivered_session:
            reply = failure.reply if failure else DNS_FAILURE
            fqdn = failure.target.host if failure and failure.target else hop.next_hop_domain
            ip = failure.target.address if failure and failure.target else ""
            if failure is not None and failure.connected and reply.code >= 500:
                # A permanent refusal of the whole session: every message fails now.
                for qm in list(queue.messages):
                    self._remove(queue, qm)
                    self._fail(
                        qm.item,
                        qm.network_message_id,
                        [(r, reply, fqdn, ip) for r in qm.recipients],
                    )
                queue.status = QueueStatus.READY
                return
            self._to_retry(queue, reply, fqdn, ip, now)
            return
        retry = [qm for qm in queue.messages if id(qm) in tried]
        if retry:
            worst = next((qm.last_response for qm in retry if qm.last_response), None)
            target = result.target
            self._to_retry(queue, worst or DNS_FAILURE, target.host, target.address, now)
        elif queue.messages:
            # Only messages that arrived during this attempt remain: try them now.
            self._schedule_attempt(queue)
        else:
            queue.status = QueueStatus.READY
            queue.last_error = ""
            queue.last_response = None
            queue.retry_count = 0
            queue.first_retry_time = None
            queue.last_retry_time = None
            queue.next_retry_time = None

    def _to_retry(
        self, queue: DeliveryQueue, reply: Reply, fqdn: str, ip: str, now: datetime
    ) -> None:
        queue.retry_count += 1
        queue.last_response = reply
        queue.last_error = format_last_error(when=now, response=reply, fqdn=fqdn, ip=ip)
        queue.status = QueueStatus.RETRY
        queue.first_retry_time = queue.first_retry_time or now
        queue.last_retry_time = now
        queue.next_retry_time = next_retry_time(
            attempts=queue.retry_count, last_attempt=now, service=self.server.transport_service
        )
        for qm in queue.messages:
            qm.status = MessageStatus.RETRY
            qm.last_error = queue.last_error
            qm.last_response = qm.last_response or reply
            qm.retry_count = queue.retry_count
            self._track(
                TrackingEventId.DEFER,
                TrackingSource.SMTP,
                qm.item,
                qm.recipients,
                recipient_status=[str(reply)] * len(qm.recipients),
                network_message_id=qm.network_message_id,
                connector_id=queue.next_hop.connector_name if queue.next_hop else "",
            )
        self.world.explain(
            self.server_name, f"{queue.identity} in Retry: LastError {queue.last_error}"
        )
        self.world.observe(self.server_name, f"{queue.identity} → Retry: {reply}")
        queue.timer = self.world.clock.call_at(
            queue.next_retry_time.timestamp(), lambda: self._retry_due(queue)
        )

    def _retry_due(self, queue: DeliveryQueue) -> None:
        if queue.status is QueueStatus.RETRY:
            self._attempt(queue)

    @inlineCallbacks
    def _deliver_over(
        self, queue: DeliveryQueue, session: Established, connector: Any, batch: list[QueuedMessage]
    ) -> Any:
        usage = connector.usage if connector is not None else SendConnectorUsage.CUSTOM
        for index, qm in enumerate(batch):
            if session.protocol.closed:
                break
            if index:
                # RSET between messages on one session, as Exchange's SMTP send does.
                yield session.protocol.rset()
            content = apply_send_firewall(qm.item.content, usage)
            result = yield run_transaction(
                session,
                mail_from=qm.item.mail_from,
                recipients=list(qm.recipients),
                content=content,
            )
            target = session.target
            failed: list[tuple[str, Reply, str | None, str | None]] = []
            remaining: list[str] = []
            for r in qm.recipients:
                outcome = result.outcome_for(r)
                if outcome.is_positive_completion:
                    self._track(
                        TrackingEventId.SEND,
                        TrackingSource.SMTP,
                        qm.item,
                        [r],
                        recipient_status=[str(outcome)],
                        server_ip=target.address,
                        server_hostname=target.host,
                        connector_id=connector.name if connector is not None else "",
                        network_message_id=qm.network_message_id,
                    )
                    self.world.observe(
                        self.server_name,
                        f"sent '{qm.item.subject}' for {r} to {target.host}: {outcome}",
                    )
                elif outcome.code >= 500:
                    failed.append((r, outcome, target.host, target.address))
                else:
                    remaining.append(r)
                    qm.last_response = outcome
            if len(remaining) != len(qm.recipients):
                qm.recipients = remaining
                self.world.state.message_recipients(qm)  # --state: the ones still to deliver
            if failed:
                self._fail(qm.item, qm.network_message_id, failed)
            if not qm.recipients:
                self._remove(queue, qm)

    def _remove(self, queue: DeliveryQueue, qm: QueuedMessage) -> None:
        for timer in qm.timers:
            timer.cancel()
        if qm in queue.messages:
            queue.messages.remove(qm)
            self.world.state.message_left(qm)  # --state: delivered, failed or expired

    # --- expiry, DSNs -------------------------------------------------------------------------

    def _expire(self, queue: DeliveryQueue, qm: QueuedMessage) -> None:
        if qm not in queue.messages:
            return
        self._remove(queue, qm)
        reply = expired_reply(qm.last_response or queue.last_response)
        self.world.observe(
            self.server_name, f"'{qm.item.subject}' expired in {queue.identity}: {reply}"
        )
        self._fail(
            qm.item,
            qm.network_message_id,
            [(r, reply, None, None) for r in qm.recipients],
            source=TrackingSource.QUEUE,
        )
        if not queue.messages and queue.timer is not None:
            queue.timer.cancel()
            queue.status = QueueStatus.READY

    def _delay_dsn(self, queue: DeliveryQueue, qm: QueuedMessage) -> None:
        if qm not in queue.messages or qm.delay_dsn_sent:
            return
        qm.delay_dsn_sent = True
        now = self.world.now()
        org = self.organization
        reply = qm.last_response or queue.last_response or Reply(400, "Message delayed", "4.4.7")
        content = build_delay_dsn(
            original=qm.item.content,
            recipients=[
                DsnRecipient(r, reply, last_attempt=queue.last_retry_time) for r in qm.recipients
            ],
            reporting_mta=self.server.fqdn,
            org_domain=org.default_domain,
            sender=qm.item.mail_from,
            when=now,
            expires=qm.expires,
            received_at=qm.item.received_at,
        )
        self._track(
            TrackingEventId.DSN,
            TrackingSource.DSN,
            qm.item,
            qm.recipients,
            network_message_id=qm.network_message_id,
        )
        self._submit_dsn(content, qm.item.mail_from)

    def _fail(
        self,
        item: MailItem,
        network_message_id: str,
        failures: list[tuple[str, Reply, str | None, str | None]],
        *,
        source: TrackingSource = TrackingSource.SMTP,
    ) -> None:
        if not failures:
            return
        now = self.world.now()
        self._track(
            TrackingEventId.FAIL,
            source,
            item,
            [r for r, _, _, _ in failures],
            recipient_status=[str(reply) for _, reply, _, _ in failures],
            network_message_id=network_message_id,
        )
        decision = should_generate_dsn(mail_from=item.mail_from, is_dsn=item.is_dsn)
        self.world.explain(self.server_name, decision.explanation)
        if not decision.send:
            return
        org = self.organization
        content = build_ndr(
            original=item.content,
            recipients=[DsnRecipient(r, reply, host, ip, now) for r, reply, host, ip in failures],
            reporting_mta=self.server.fqdn,
            org_domain=org.default_domain,
            sender=item.mail_from,
            when=now,
            received_at=item.received_at,
        )
        self._track(
            TrackingEventId.DSN,
            TrackingSource.DSN,
            item,
            [r for r, _, _, _ in failures],
            network_message_id=network_message_id,
        )
        self.world.observe(
            self.server_name, f"NDR for '{item.subject}' to {item.mail_from}: {failures[0][1]}"
        )
        self._submit_dsn(content, item.mail_from)

    def _submit_dsn(self, content: bytes, to: str) -> None:
        item = self._new_item("", [to], content, is_dsn=True)
        self._categorize(item, str(uuid.uuid4()))

    # --- tracking --------------------------------------------------------------------------------

    def _track(
        self,
        event: TrackingEventId,
        source: TrackingSource,
        item: MailItem,
        recipients: Any,
        *,
        recipient_status: list[str] | None = None,
        client_ip: str = "",
        client_hostname: str = "",
        server_ip: str = "",
        server_hostname: str = "",
        connector_id: str = "",
        network_message_id: str = "",
    ) -> None:
        server = self.server
        org = self.organization
        try:
            sender_domain = recipient_domain(item.mail_from) if item.mail_from else ""
        except ValueError:
            sender_domain = ""
        record = TrackingRecord(
            date_time=self.world.now(),
            client_ip=client_ip or (server.address if source is TrackingSource.STOREDRIVER else ""),
            client_hostname=client_hostname
            or (server.fqdn if source is TrackingSource.STOREDRIVER else ""),
            server_ip=server_ip or server.address,
            server_hostname=server_hostname or server.fqdn,
            connector_id=connector_id,
            source=source,
            event_id=event,
            internal_message_id=item.internal_id,
            message_id=item.message_id,
            network_message_id=network_message_id,
            recipient_address=tuple(recipients),
            recipient_status=tuple(recipient_status or ()),
            total_bytes=item.size,
            recipient_count=len(tuple(recipients)),
            message_subject=item.subject,
            sender_address=item.mail_from,
            return_path=item.mail_from,
            directionality=Directionality.ORIGINATING
            if org.is_accepted_domain(sender_domain)
            else Directionality.INCOMING,
        )
        self.world.tracking_logs[server.name].append(record)
