"""The Transport service of a Mailbox server: submission, categorizer, routing, delivery queues
with retry and expiry on the lab clock, local delivery and DSNs (docs/exchange-reference.md §2,
§4.5, §8, §9).

Every step writes message tracking events. A message accepted with 250 is kept until it is
delivered, fails with an NDR, or expires with an NDR: it is never dropped.

Queue delivery is decided by the pure delivery core (:mod:`labsim.delivery`): this service is
its driver. It feeds the core events (a message categorized to a next hop, a lab-clock wake-up,
a queue cmdlet, the outcome of a session or transaction) and carries out the commands it gets
back (lab-clock timers, route lookups, outbound sessions, transactions, NDRs, delay DSNs,
tracking), never deciding a queue's fate itself. An unexpected exception on the way is a labsim
bug: recorded with ``World.record_engine_error``, and the queue retries with Exchange's
transient reply, never the exception's text.
"""

from __future__ import annotations

import functools
import itertools
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.python.failure import Failure

from labsim.delivery import DeliveryCore, DeliverySettings, InvalidTransition
from labsim.delivery.commands import (
    CancelWake,
    CloseSession,
    DeliveryCommand,
    EndAttempt,
    Explain,
    FailRecipients,
    Observe,
    OpenSession,
    ResolveRoute,
    Resubmit,
    SendDelayDsn,
    Track,
    Transmit,
    WakeAt,
    WakeEvent,
)
from labsim.delivery.events import (
    AttemptAborted,
    ConnectorRemoved,
    DeliveryEvent,
    Enqueued,
    MessageRemoved,
    MessageResumed,
    MessageSuspended,
    Resumed,
    RetryForced,
    RouteResolved,
    ServiceStarted,
    SessionFailed,
    SessionOpened,
    Suspended,
    TransactionDone,
)
from labsim.delivery.queue import DeliveryQueue, QueuedMessage
from labsim.engine.outbound import (
    ENGINE_ERROR,
    Established,
    SessionFailure,
    SessionPlan,
    next_hop_targets,
    open_session,
    plan_for_connector,
    plan_internal,
    run_transaction,
)
from labsim.engine.receive import InboundTransaction
from labsim.engine.world import World
from labsim.errors import CmdletError
from labsim.logs._csvlog import exchange_timestamp
from labsim.logs.tracking import Directionality, TrackingEventId, TrackingRecord, TrackingSource
from labsim.model.enums import AuthAs, ProtocolLoggingLevel, SendConnectorUsage
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
    header_values,
    mapi_received_header,
    prepend_raw_header,
    stamp_authentication,
)
from labsim.policy.ndr import DsnRecipient, build_delay_dsn, build_ndr, should_generate_dsn
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
NETWORK_MESSAGE_ID = "X-MS-Exchange-Organization-Network-Message-Id"
"""Where a message carries its network message id between the servers of one organization (an
organization header: the receive firewall drops it from other organizations' mail)."""
_LAB_GUIDS = uuid.UUID("6f1d2b8e-5a7c-4e39-9b0d-3c4a5e6f7a8b")
"""Namespace of the stable GUIDs labsim gives mailbox databases and mailboxes."""


@functools.lru_cache(maxsize=4096)
def lab_guid(*names: str) -> str:
    """A GUID that stays the same for the same names across runs (a mailbox, a database).

    Memoized (a pure function of the names): every delivery names its database and mailbox.
    """
    return str(uuid.uuid5(_LAB_GUIDS, "/".join(n.lower() for n in names)))


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def with_network_message_id(content: bytes, network_message_id: str) -> bytes:
    """``content`` with the network message id header added at the end of its header block,
    where Exchange writes its organization headers."""
    return with_header(content, NETWORK_MESSAGE_ID, network_message_id)


def with_header(content: bytes, name: str, value: str) -> bytes:
    """``content`` with the header ``name: value`` added at the end of its header block."""
    line = f"{name}: {value}".encode("ascii")
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = content.find(separator)
        if end >= 0:
            newline = separator[: len(separator) // 2]
            return content[:end] + newline + line + content[end:]
    newline = b"\r\n" if b"\r\n" in content or not content else b"\n"
    return content.rstrip(b"\r\n") + newline + line + newline


class _StateJournal:
    """The delivery core's queue journal: the lab's store (``--state``; memory only without)."""

    def __init__(self, world: World, server_name: str) -> None:
        self.world = world
        self.server_name = server_name

    def queued(self, queue: DeliveryQueue, message: QueuedMessage) -> None:
        self.world.state.message_queued(self.server_name, queue.next_hop_domain, message)

    def recipients_changed(self, message: QueuedMessage) -> None:
        self.world.state.message_recipients(message)

    def held_changed(self, message: QueuedMessage) -> None:
        self.world.state.message_held(message)

    def left(self, message: QueuedMessage) -> None:
        self.world.state.message_left(message)


class TransportService:
    """The Transport service of one Mailbox server."""

    resolves_recipients = True

    def __init__(self, world: World, server_name: str) -> None:
        self.world = world
        self.server_name = server_name
        self.core = DeliveryCore(server_name, _StateJournal(world, server_name))
        """The delivery state machine this service drives (labsim.delivery)."""
        self._wakes: dict[WakeEvent, Any] = {}
        self._data_started: dict[int, float] = {}
        """When each inbound transaction's message data began (DATA's 354), by ``id(tx)``:
        the 250 reports the transfer's bytes and seconds (§17 C9). A real measurement of the
        socket transfer, so it is the host's monotonic clock, not the lab clock."""
        self._attempts: dict[int, int] = {}
        """Activity tokens of the attempts in progress, per queue number."""
        self._routes: dict[int, tuple[SessionPlan, list[Target]]] = {}
        self._sessions: dict[int, Established] = {}
        self._send_sessions: dict[int, str] = {}
        """The session id of each open outbound session, per queue number (source-context)."""
        self._transmitting: int | None = None
        """The queue whose transaction result is being fed to the core (its SEND events)."""
        self._receive_sessions: dict[int, tuple[str, datetime, int]] = {}
        """Per inbound session: its id, when its first message came and the messages so far."""
        self._store_events = itertools.count(1)
        """The mailbox database event counter that STOREDRIVER source-contexts quote."""

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
        self._data_started[id(tx)] = time.perf_counter()
        return replies.START_MAIL_INPUT

    def on_message(self, tx: InboundTransaction, content: bytes) -> Reply:
        """Accept a message over SMTP: tracking RECEIVE, then categorize; 250 only after that."""
        # Another server of the organization sent the message on with its network message id
        # (the receive firewall removed any from outside); otherwise it gets its id here.
        carried = header_values(content, NETWORK_MESSAGE_ID)
        if len(carried) == 1 and _is_guid(carried[0]):
            network_message_id = carried[0]
        else:
            network_message_id = str(uuid.uuid4())
            content = with_network_message_id(content, network_message_id)
        item = self._new_item(tx.mail_from or "", list(tx.recipients), content)
        self._track_shadow(item, network_message_id)
        self._track(
            TrackingEventId.RECEIVE,
            TrackingSource.SMTP,
            item,
            item.recipients,
            client_ip=tx.remote_address,
            client_hostname=tx.helo_name,
            connector_id=tx.connector.identity,
            network_message_id=network_message_id,
            source_context=self._receive_context(tx),
        )
        self._track_agents(item, network_message_id)
        self._categorize(item, network_message_id)
        self.world.state.commit()  # --state: durable before the 250 (labsim.store)
        started = self._data_started.pop(id(tx), None)
        transfer = (item.size, time.perf_counter() - started) if started is not None else None
        return replies.queued_mail(
            item.message_id.strip("<>"), item.internal_id, self.server.fqdn, transfer
        )

    def on_reset(self, tx: InboundTransaction) -> None:
        """Forget the transaction's data start."""
        self._data_started.pop(id(tx), None)

    def on_close(self, tx: InboundTransaction) -> None:
        """Forget the transaction's data start and the session's tracking context."""
        self._data_started.pop(id(tx), None)
        self._receive_sessions.pop(id(tx), None)

    def _receive_context(self, tx: InboundTransaction) -> str:
        """source-context of an SMTP RECEIVE: ``<session id>;<time>;<n>``, the session id the
        protocol log shows (when the connector logs) and the message's number in the session."""
        known = self._receive_sessions.get(id(tx))
        if known is None:
            session_id = getattr(tx.log, "session_id", None) or self.world.new_session_id()
            known = (session_id, self.world.now(), 0)
        else:
            known = (known[0], known[1], known[2] + 1)
        self._receive_sessions[id(tx)] = known
        session_id, started, sequence = known
        return f"{session_id};{exchange_timestamp(started)};{sequence}"

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
        # One network message id for every event of the message in this organization (C6).
        network_message_id = str(uuid.uuid4())
        content = with_network_message_id(content, network_message_id)
        # The message leaves the mailbox through MAPI: the first Received header is the
        # store's ``with mapi`` hop (§17 C9).
        content = prepend_raw_header(
            content,
            mapi_received_header(
                server_fqdn=self.server.fqdn, server_ip=self.server.address, when=now
            ),
        )
        item = self._new_item(mail_from, [*to, *cc, *bcc], content)
        store = self._store_context(mail_from, now, "MOMT")
        for event in (TrackingEventId.RECEIVE, TrackingEventId.SUBMIT):
            self._track(
                event,
                TrackingSource.STOREDRIVER,
                item,
                item.recipients,
                network_message_id=network_message_id,
                source_context=store,
            )
        self._track_shadow(item, network_message_id)
        self._track_agents(item, network_message_id)
        self.world.observe(
            self.server_name,
            f"submitted '{subject}' from {mail_from} to {', '.join(item.recipients)}",
        )
        self._categorize(item, network_message_id)
        self.world.state.commit()  # --state: durable before Send-MailMessage returns
        return message_id

    def requeue(self, item: MailItem, network_message_id: str, *, held: bool = False) -> None:
        """A message that was queued when the lab stopped (``--state``): categorized again,
        keeping its arrival time (so expiry holds), its network message id and Suspend-Message's
        hold (``held``: it comes back Suspended in each queue it is routed to)."""
        self._categorize(item, network_message_id, held=held)

    def _new_item(
        self,
        mail_from: str,
        recipients: list[str],
        content: bytes,
        *,
        is_dsn: bool = False,
    ) -> MailItem:
        subject, message_id = subject_and_message_id(content)
        if message_id is None:
            # Exchange gives a message that came without a Message-ID one, written into its
            # header, so every later hop, the recipient and duplicate detection see the same id.
            message_id = f"<{uuid.uuid4().hex}@{self.server.fqdn}>"
            content = with_header(content, "Message-ID", message_id)
        return MailItem(
            internal_id=self.world.new_internal_id(),
            message_id=message_id,
            mail_from=mail_from,
            recipients=tuple(recipients),
            content=content,
            received_at=self.world.now(),
            subject=subject,
            is_dsn=is_dsn,
        )

    # --- categorizer and routing -------------------------------------------------------------

    def _categorize(self, item: MailItem, network_message_id: str, *, held: bool = False) -> None:
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
        delay_dsn = org.transport_config.external_delay_dsn_enabled
        for key, recipients in remote.items():
            self._feed(
                Enqueued(hops[key], item, tuple(recipients), network_message_id, delay_dsn, held)
            )

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
                source_context=self._store_context(address, now, "Transport"),
            )
            return
        self._track(
            TrackingEventId.DELIVER,
            TrackingSource.STOREDRIVER,
            item,
            [address],
            network_message_id=network_message_id,
            source_context=self._store_context(address, now, "Transport"),
        )
        if self.world.observers:  # reading the stamps parses the message: only for an audience
            mark = " ✔ domain secured" if delivered.domain_secured else ""
            self.world.observe(self.server_name, f"delivered '{item.subject}' to {address}{mark}")

    # --- the delivery core's driver ------------------------------------------------------------

    def _settings(self) -> DeliverySettings:
        return DeliverySettings(
            self.server.transport_service,
            running=self.server_name not in self.world.stopped_servers,
        )

    def _feed(self, event: DeliveryEvent) -> None:
        """Give the core one event and carry out what it answers, in order."""
        commands = self.core.handle(event, now=self.world.now(), settings=self._settings())
        for command in commands:
            self._execute(command)

    def _execute(self, command: DeliveryCommand) -> None:
        match command:
            case WakeAt(at=at, event=event):
                self._cancel_wake(event)
                # Through the lab clock, so that even a wake-up due now runs when the lab is
                # driven, never re-entrantly inside the event that asked for it.
                self._wakes[event] = self.world.clock.call_at(
                    at.timestamp(), lambda: self._woken(event)
                )
            case CancelWake(event=event):
                self._cancel_wake(event)
            case ResolveRoute(queue=number):
                queue = self.core.queue(number)
                self._attempts[number] = self.world.activity.begin(
                    f"delivery attempt {queue.identity}"
                )
                self._guard(number, "route resolution", self._resolve(number))
            case OpenSession(queue=number, index=index):
                self._guard(number, "outbound session", self._open(number, index))
            case Transmit(queue=number, entry=entry, reset_first=reset_first):
                self._guard(number, "transaction", self._transmit(number, entry, reset_first))
            case CloseSession(queue=number):
                self._send_sessions.pop(number, None)
                session = self._sessions.pop(number, None)
                if session is not None:
                    session.protocol.quit()
            case EndAttempt(queue=number):
                self._routes.pop(number, None)
                token = self._attempts.pop(number, None)
                if token is not None:
                    self.world.activity.end(token)
            case FailRecipients(item=item, network_message_id=nmid, failures=failures):
                self._fail(item, nmid, list(failures), source=command.source, ndr=command.ndr)
            case SendDelayDsn():
                self._delay_dsn(command)
            case Resubmit(item=item, network_message_id=nmid):
                self._categorize(item, nmid)
            case Track():
                context = ""
                session_id = self._send_sessions.get(self._transmitting or 0)
                if command.event is TrackingEventId.SEND and session_id is not None:
                    # 2013's SEND: the session, the reply, and when the message was submitted.
                    context = (
                        f"{session_id};{';'.join(command.recipient_status)};"
                        f"ClientSubmitTime:{exchange_timestamp(command.item.received_at)}"
                    )
                self._track(
                    command.event,
                    TrackingSource.SMTP,
                    command.item,
                    command.recipients,
                    recipient_status=list(command.recipient_status),
                    server_ip=command.server_ip,
                    server_hostname=command.server_hostname,
                    connector_id=command.connector_id,
                    network_message_id=command.network_message_id,
                    source_context=context,
                )
            case Explain(text=text):
                self.world.explain(self.server_name, text)
            case Observe(text=text):
                self.world.observe(self.server_name, text)

    def _cancel_wake(self, event: WakeEvent) -> None:
        timer = self._wakes.pop(event, None)
        if timer is not None:
            timer.cancel()

    def _woken(self, event: WakeEvent) -> None:
        self._wakes.pop(event, None)
        self._feed(event)

    def _guard(self, number: int, where: str, work: Deferred[Any]) -> None:
        """An unexpected exception in the attempt is a labsim bug: recorded, never shown as a
        LastError; the attempt ends in Retry with Exchange's transient reply."""

        def failed(failure: Failure) -> None:
            self.world.record_engine_error(self.server_name, f"delivery ({where})", failure)
            session = self._sessions.pop(number, None)
            if session is not None:
                session.protocol.abort()
            if self.core.queue(number).attempt is not None:
                self._feed(AttemptAborted(number, ENGINE_ERROR))

        work.addErrback(failed)

    @inlineCallbacks
    def _resolve(self, number: int) -> Any:
        queue = self.core.queue(number)
        hop = queue.next_hop
        assert hop is not None
        org = self.organization
        connector = org.send_connector(hop.connector_name)
        if connector is None:
            self._feed(ConnectorRemoved(number))
            return
        targets: list[Target]
        proxied = connector.frontend_proxy_enabled and not hop.is_relay
        if hop.is_relay:
            # Relay to the connector's source servers: an intra-organization hop straight to
            # their Transport service (X-EXPS, never through the Client Access server); the
            # source server routes the message again and sends it through the connector.
            plan = plan_internal(self.world, self.server, hop.port, hop.next_hop_domain)
            servers = (org.server(name) for name in hop.source_servers)
            targets = [Target(s.fqdn, s.address, 0) for s in servers if s is not None]
            self.world.explain(
                self.server_name,
                f"{queue.identity}: relay to the source servers of '{connector.name}': "
                + ", ".join(f"{t.host} ({t.address}:{hop.port})" for t in targets),
            )
        elif connector.frontend_proxy_enabled:
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
        else:
            plan = plan_for_connector(
                self.world, self.server, connector, hop, via_frontend_proxy=False
            )
            targets = yield next_hop_targets(self.world, hop, self.server_name)
        self._routes[number] = (plan, targets)
        self._feed(
            RouteResolved(
                number,
                tuple((t.host, t.address) for t in targets),
                proxied=proxied,
            )
        )

    @inlineCallbacks
    def _open(self, number: int, index: int) -> Any:
        plan, targets = self._routes[number]
        result = yield open_session(self.world, plan, targets[index])
        if result.record is not None:
            # The messages this attempt was for (labsim.render draws each one's path).
            queue = self.core.queue(number)
            for held in queue.messages:
                if held.item.message_id not in result.record.message_ids:
                    result.record.message_ids.append(held.item.message_id)
        if isinstance(result, SessionFailure):
            port = self.world.network.endpoint_port(targets[index].address, plan.port)
            self._feed(SessionFailed(number, result.reply, result.connected, port))
            return
        assert isinstance(result, Established)
        self._sessions[number] = result
        log_session_id = getattr(result.protocol.log, "session_id", None)
        self._send_sessions[number] = log_session_id or self.world.new_session_id()
        self._feed(SessionOpened(number))

    @inlineCallbacks
    def _transmit(self, number: int, entry: int, reset_first: bool) -> Any:
        queue = self.core.queue(number)
        session = self._sessions[number]
        qm = queue.entry(entry)
        assert qm is not None and queue.next_hop is not None
        if reset_first and not session.protocol.closed:
            # RSET between messages on one session, as Exchange's SMTP send does.
            yield session.protocol.rset()
        connector = self.organization.send_connector(queue.next_hop.connector_name)
        usage = connector.usage if connector is not None else SendConnectorUsage.CUSTOM
        # A relay stays inside the organization: the send connector's header firewall applies
        # on the source server, when the message leaves through it.
        content = (
            qm.item.content
            if queue.next_hop.is_relay
            else apply_send_firewall(qm.item.content, usage)
        )
        recipients = list(qm.recipients)
        if session.record is not None and qm.item.message_id not in session.record.message_ids:
            session.record.message_ids.append(qm.item.message_id)
        result = yield run_transaction(
            session,
            mail_from=qm.item.mail_from,
            recipients=recipients,
            content=content,
        )
        outcomes = tuple((r, result.outcome_for(r)) for r in recipients)
        if session.record is not None and not session.record.server_server:
            # An outside organization's server records nothing of its own: keep its answer.
            session.record.replies.append(str(result.final or outcomes[0][1]))
        plan, _ = self._routes[number]
        port = self.world.network.endpoint_port(session.target.address, plan.port)
        self._transmitting = number
        try:
            self._feed(
                TransactionDone(
                    number,
                    entry,
                    outcomes,
                    not session.protocol.closed,
                    # Through the outbound proxy the Client Access server has wrapped the
                    # remote server's refusal already (450 4.7.0 Proxy session setup failed).
                    refused_before_recipient=result.refused_before_recipient
                    and plan.port != OUTBOUND_PROXY_PORT,
                    port=port,
                )
            )
        finally:
            self._transmitting = None

    def _feed_cmdlet(self, identity: str, event: Callable[[int], DeliveryEvent]) -> None:
        queue = self.core.find(identity)
        if queue is None:
            raise KeyError(identity)
        self._feed(event(queue.number))

    def _is_submission(self, identity: str) -> bool:
        key = identity.strip().lower()
        return key in (f"{self.server_name}\\submission".lower(), "submission")

    def suspend_queue(self, identity: str) -> None:
        """Suspend-Queue: no delivery attempts until Resume-Queue (expiry still runs)."""
        if self._is_submission(identity):
            # labsim's categorizer takes each message as it arrives, so there is nothing a
            # suspended Submission queue could hold (docs/fidelity.md).
            raise CmdletError(
                f"Suspend-Queue: labsim does not suspend the Submission queue "
                f"({self.server_name}\\Submission): its categorizer routes every message as it "
                "arrives. Suspend the delivery queue instead (Get-Queue lists them).",
                cmdlet="Suspend-Queue",
                category="InvalidOperation",
            )
        self._feed_cmdlet(identity, Suspended)

    def resume_queue(self, identity: str) -> None:
        """Resume-Queue: the queue becomes Ready and is attempted now (the Submission queue is
        never suspended, so resuming it changes nothing)."""
        if self._is_submission(identity):
            return
        self._feed_cmdlet(identity, Resumed)

    def service_started(self) -> None:
        """The server started again: every queue with messages that is not suspended is tried."""
        self._feed(ServiceStarted())

    def retry_queue(self, identity: str) -> None:
        """Retry-Queue: attempt a queue in Retry now."""
        if self._is_submission(identity):
            raise CmdletError(
                f"Retry-Queue: The queue '{self.server_name}\\Submission' isn't in Retry (its "
                "Status is Ready); Retry-Queue only forces a connection for queues in Retry.",
                cmdlet="Retry-Queue",
                category="InvalidOperation",
            )
        queue = self.core.find(identity)
        if queue is None:
            return
        try:
            self._feed(RetryForced(queue.number))
        except InvalidTransition:
            raise CmdletError(
                f"Retry-Queue: The queue '{queue.identity}' isn't in Retry (its Status is "
                f"{queue.status.value}); Retry-Queue only forces a connection for queues in Retry.",
                cmdlet="Retry-Queue",
                category="InvalidOperation",
            ) from None

    def _message_entry(self, identity: str, cmdlet: str) -> tuple[int, int]:
        """(queue number, entry) of the message Get-Message shows as ``identity``
        (``SERVER\\<queue number>\\<InternalId>``)."""
        key = identity.strip().lower()
        for queue in self.core.queues:
            for qm in queue.messages:
                if f"{queue.identity}\\{qm.item.internal_id}".lower() == key:
                    return queue.number, qm.entry
        raise CmdletError(
            f"{cmdlet}: The operation couldn't be performed because object '{identity}' "
            "couldn't be found. Run Get-Message to list the messages.",
            cmdlet=cmdlet,
            category="ManagementObjectNotFoundException",
        )

    def suspend_message(self, identity: str) -> None:
        """Suspend-Message: the message stays in its queue and no attempt sends it."""
        self._feed(MessageSuspended(*self._message_entry(identity, "Suspend-Message")))

    def resume_message(self, identity: str) -> None:
        """Resume-Message: the message may be sent again."""
        self._feed(MessageResumed(*self._message_entry(identity, "Resume-Message")))

    def remove_message(self, identity: str, with_ndr: bool) -> None:
        """Remove-Message: the message leaves its queue (an NDR to its sender if ``with_ndr``)."""
        number, entry = self._message_entry(identity, "Remove-Message")
        self._feed(MessageRemoved(number, entry, with_ndr))

    def queue_views(self) -> list[QueueView]:
        """Get-Queue rows: the delivery queues in the order they were made, then Submission,
        which every transport server lists (§17 C7)."""
        org = self.organization
        rows = []
        for queue in self.core.queues:
            connector = (
                org.send_connector(queue.next_hop.connector_name) if queue.next_hop else None
            )
            rows.append(queue.view(connector.guid) if connector else queue.view())
        rows.append(DeliveryQueue.submission_view(self.server_name))
        return rows

    def message_views(self, queue: str | None) -> list[MessageView]:
        """Get-Message rows, of one queue or all."""
        rows: list[MessageView] = []
        for q in self.core.queues:
            if queue is None or q.matches(queue):
                rows.extend(q.message_views())
        return rows

    def has_queue(self, identity: str) -> bool:
        """Whether a queue identity names one of this server's queues."""
        return self._is_submission(identity) or self.core.find(identity) is not None

    # --- DSNs ------------------------------------------------------------------------------------

    def _delay_dsn(self, command: SendDelayDsn) -> None:
        now = self.world.now()
        org = self.organization
        content = build_delay_dsn(
            original=command.item.content,
            recipients=[
                DsnRecipient(
                    r,
                    command.reply,
                    command.remote_server,
                    command.remote_ip,
                    command.last_attempt,
                )
                for r in command.recipients
            ],
            reporting_mta=self.server.fqdn,
            org_domain=org.default_domain,
            sender=command.item.mail_from,
            when=now,
            expires=command.expires,
            received_at=command.item.received_at,
        )
        self._track(
            TrackingEventId.DSN,
            TrackingSource.DSN,
            command.item,
            command.recipients,
            network_message_id=command.network_message_id,
        )
        self._submit_dsn(content, command.item.mail_from)

    def _fail(
        self,
        item: MailItem,
        network_message_id: str,
        failures: list[tuple[str, Reply, str | None, str | None]],
        *,
        source: TrackingSource = TrackingSource.SMTP,
        ndr: bool = True,
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
        if not ndr:
            return  # Remove-Message -WithNDR $false: FAIL is tracked, the sender hears nothing
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
        network_message_id = str(uuid.uuid4())  # a DSN is a new message
        content = with_network_message_id(content, network_message_id)
        item = self._new_item("", [to], content, is_dsn=True)
        self._categorize(item, network_message_id)

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
        source_context: str = "",
        custom_data: str = "",
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
            source_context=source_context,
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
            custom_data=custom_data,
        )
        self.world.tracking_logs[server.name].append(record)

    def _store_context(self, address: str, when: datetime, client_type: str) -> str:
        """source-context of a STOREDRIVER event: the mailbox database and mailbox of
        ``address`` on this server, the store event, the message class and the client."""
        return (
            f"MDB:{lab_guid(self.server_name, 'Mailbox Database')}, "
            f"Mailbox:{lab_guid(address)}, Event:{next(self._store_events)}, "
            f"MessageClass:IPM.Note, CreationTime:{exchange_timestamp(when)}, "
            f"ClientType:{client_type}"
        )

    def _track_shadow(self, item: MailItem, network_message_id: str) -> None:
        """HAREDIRECT: Shadow Redundancy keeps a copy on another Mailbox server of the
        organization before the message is acknowledged; an organization with one Mailbox
        server has no shadow server, and 2013 writes no HAREDIRECT there (docs/fidelity.md)."""
        shadow = next(
            (s for s in self.organization.servers if s.is_mailbox and s.name != self.server_name),
            None,
        )
        if shadow is None:
            return
        reply = (
            f"250 2.6.0 {item.message_id} [InternalId={item.internal_id}, "
            f"Hostname={shadow.fqdn}] Queued mail for redundancy"
        )
        self._track(
            TrackingEventId.HAREDIRECT,
            TrackingSource.SMTP,
            item,
            item.recipients,
            server_hostname=self.server_name,
            network_message_id=network_message_id,
            source_context=f"{shadow.fqdn} = {reply}",
        )

    def _track_agents(self, item: MailItem, network_message_id: str) -> None:
        """AGENTINFO: what the transport agents (the malware agent on by default in 2013) noted
        about the message in the categorizer."""
        self._track(
            TrackingEventId.AGENTINFO,
            TrackingSource.AGENT,
            item,
            item.recipients,
            client_hostname=self.server_name,
            network_message_id=network_message_id,
            custom_data=(
                "S:AMA=SUM|action=p|error=|atch=0;S:CompCost=|ETR=0;S:DeliveryPriority=Normal;"
                f"S:OriginalFromAddress={item.mail_from};"
                f"S:AccountForest={self.organization.default_domain}"
            ),
        )
