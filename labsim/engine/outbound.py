"""Outbound SMTP sessions: connect from a server's own address, EHLO, STARTTLS with the client
certificate §4.4 selects, judge the server certificate with the policy of §4.2, and run a
transaction. Used by the Transport service (direct delivery, and the hop to the CAS's Outbound
Proxy Frontend), and by Front End Transport (proxying to a Mailbox server or to the Internet).

Failures are results (:class:`SessionFailure`), never exceptions: they become a queue's
LastError or a proxied reply. A partner that drops the session, breaks the protocol or stays
silent past the send side's timeouts is such a failure, with Exchange's text. An exception the
session did not expect is a labsim bug: it is recorded (``World.record_engine_error``) and the
queue sees only Exchange's transient reply, never the exception's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from OpenSSL import SSL
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ConnectError, ConnectionClosed
from twisted.internet.error import TimeoutError as ConnectTimeout

from labsim.engine.crl import outbound_needs_revocation, verify_presented
from labsim.engine.smtp_client import (
    SendTimeouts,
    SessionEnded,
    SmtpClientFactory,
    SmtpClientProtocol,
)
from labsim.engine.tls import (
    ClientConnectionCreator,
    TlsSessionKey,
    log_sending_certificate,
    negotiated_description,
    peer_chain,
)
from labsim.engine.world import NOT_CHECKED, CertificateSeen, SessionRecord, World
from labsim.logs.event_log import CATALOG
from labsim.logs.protocol_log import NULL_SESSION, ProtocolLogSession, format_endpoint
from labsim.model.connectors import SendConnector
from labsim.model.enums import ProtocolLoggingLevel
from labsim.model.organization import Server
from labsim.model.values import is_ip_literal
from labsim.net.dns import Target
from labsim.pki.certificate import ExchangeCertificate, thumbprint_of
from labsim.pki.selection import select_starttls_certificate
from labsim.pki.validation import PeerCertificate
from labsim.policy import exchange_auth, texts
from labsim.policy.domain_security import (
    OutboundAction,
    OutboundPolicy,
    OutboundStep,
    after_ehlo,
    after_handshake,
    client_certificate_missing,
    outbound_policy,
)
from labsim.policy.events import (
    MESSAGE_TO_SECURE_DOMAIN_FAILED_DUE_TO_TLS_NEGOTIATION_FAILURE,
    SMTP_SEND_TLS_REQUIRED_FAILED,
    TransportEvent,
)
from labsim.policy.routing import NextHop
from labsim.smtp.reply import Reply

SEND_CONNECTION_INACTIVITY_TIMEOUT = 10 * 60.0
"""A send connector's ConnectionInactivityTimeOut (Exchange's default, 00:10:00), lab seconds."""
SEND_SESSION_LIMIT = 60 * 60.0
"""labsim's bound on a whole outbound session (a partner that trickles a byte at a time)."""
DEFAULT_SEND_TIMEOUTS = SendTimeouts(SEND_CONNECTION_INACTIVITY_TIMEOUT, SEND_SESSION_LIMIT)

CONNECTION_DROPPED = Reply(421, "Connection dropped due to SocketError", "4.4.2")
"""The partner closed the session, or broke the protocol so that the lab dropped it."""
CONNECTION_TIMED_OUT = Reply(421, "Connection dropped due to TimedOut", "4.4.2")
"""The partner stayed silent past the inactivity timeout, or the session ran too long."""
ENGINE_ERROR = Reply(451, "Temporary server error. Please try again later", "4.3.2")
"""What the queue shows for a labsim bug (the bug itself goes to World.engine_errors)."""


def dropped_reply(protocol: SmtpClientProtocol) -> Reply:
    """Why a session ended under the lab's feet: a timeout or a dropped connection."""
    return CONNECTION_TIMED_OUT if protocol.timed_out else CONNECTION_DROPPED


@dataclass(frozen=True)
class SessionPlan:
    """How a server will open sessions for one queue (or one internal hop)."""

    source: Server
    ehlo_name: str
    domain: str
    port: int
    client_certificate: ExchangeCertificate | None
    policy: OutboundPolicy | None
    """None for hops inside the organization: opportunistic TLS, no certificate verdict."""
    log_connector: str | None
    """Send connector name for the protocol log when its ProtocolLoggingLevel is Verbose."""
    refuse: OutboundStep | None = None
    """Set when the session must fail before connecting (TlsCertificateName not found, §17
    C11): :func:`open_session` then makes no connection."""
    timeouts: SendTimeouts = DEFAULT_SEND_TIMEOUTS
    """The send side's timeouts of every session of this plan."""

    @property
    def intra_organization(self) -> bool:
        """A hop to another server of the organization: it must achieve Exchange Server
        authentication (X-EXPS) before MAIL FROM (docs/exchange-reference.md §17 C5)."""
        return self.policy is None


@dataclass
class Established:
    """An open session, ready for MAIL FROM."""

    protocol: SmtpClientProtocol
    target: Target
    peer: PeerCertificate | None
    tls_description: str | None
    explanation: list[str] = field(default_factory=list)
    record: SessionRecord | None = None
    """The session as the web console and HTML report show it (labsim.render)."""


@dataclass(frozen=True)
class SessionFailure:
    """A session that could not be used; ``reply`` is what LastError shows."""

    reply: Reply
    target: Target | None
    explanation: str
    connected: bool = False
    record: SessionRecord | None = None
    """The attempt as the web console and HTML report show it (labsim.render)."""


@dataclass(frozen=True)
class TransactionResult:
    """The outcome of one MAIL transaction: per-recipient replies and the final reply."""

    recipient_replies: dict[str, Reply]
    final: Reply | None
    """The reply to the message data; None when no recipient was accepted or MAIL failed."""
    mail_refused: bool = False
    """MAIL FROM was refused: every recipient carries that reply."""

    @property
    def refused_before_recipient(self) -> bool:
        """The server accepted no recipient: it refused MAIL FROM or every RCPT, or the session
        ended before one was accepted. The transaction failed at this target as a whole, as a
        refused session does, not for one recipient (docs/exchange-reference.md §17 C1)."""
        return self.mail_refused or (
            self.final is None
            and not any(reply.is_positive_completion for reply in self.recipient_replies.values())
        )

    def accepted(self) -> list[str]:
        """Recipients whose RCPT got 250 and whose message was accepted."""
        if self.final is None or not self.final.is_positive_completion:
            return []
        return [r for r, reply in self.recipient_replies.items() if reply.is_positive_completion]

    def outcome_for(self, recipient: str) -> Reply:
        """What happened to one recipient."""
        reply = self.recipient_replies[recipient]
        if not reply.is_positive_completion:
            return reply
        assert self.final is not None
        return self.final


def connect_failure_reply(target: Target, port: int) -> Reply:
    """Exchange's text when the TCP connection cannot be made (2013, Winsock 10061)."""
    return Reply(
        441,
        'Error encountered while communicating with primary target IP address: "Failed to '
        'connect. Winsock error code: 10061, Win32 error code: 10061." Attempted failover to '
        "alternate host, but that did not succeed. Either there are no alternate hosts, or "
        f"delivery failed to all alternate hosts. The last endpoint attempted was {target.address}:{port}",
        "4.4.1",
    )


def failover_reason(failure: SessionFailure, port: int) -> Reply:
    """What a server reports when every target of a next hop failed (docs/exchange-reference.md §17
    C1).

    A connection failure keeps its own ``441 4.4.1`` text; any other outcome is wrapped by
    :func:`labsim.policy.texts.failover_reason`, the text the delivery queues show too.
    """
    if not failure.connected or failure.target is None:
        return failure.reply
    return texts.failover_reason(failure.reply, failure.target.address, port)


proxy_setup_failed = texts.proxy_setup_failed


def plan_for_connector(
    world: World,
    source: Server,
    connector: SendConnector,
    next_hop: NextHop,
    *,
    via_frontend_proxy: bool,
) -> SessionPlan:
    """The session plan of a send connector on ``source`` (§4.1–§4.4, D2)."""
    org = world.organization_of(source.name)
    ehlo = connector.fqdn or source.fqdn
    store = world.stores[source.name]
    now = world.now()
    selection = select_starttls_certificate(
        store.personal(),
        fqdn=ehlo,
        at=now,
        tls_certificate_name=connector.tls_certificate_name,
    )
    refuse = None
    if connector.tls_certificate_name and selection.certificate is None:
        refuse = client_certificate_missing(connector.tls_certificate_name)
    if selection.event is not None:
        world.explain(source.name, f"client certificate for {ehlo}: {selection.reason}")
    world.write_certificate_events(
        source.name,
        selection,
        connector=connector.name,
        fqdn=ehlo,
        tls_certificate_name=connector.tls_certificate_name,
        at=now,
    )
    policy = outbound_policy(
        org.transport_config, connector, next_hop, via_frontend_proxy=via_frontend_proxy
    )
    return SessionPlan(
        source=source,
        ehlo_name=ehlo,
        domain=next_hop.next_hop_domain,
        port=next_hop.port,
        client_certificate=selection.certificate,
        policy=policy,
        log_connector=connector.name
        if connector.protocol_logging_level is ProtocolLoggingLevel.VERBOSE
        else None,
        refuse=refuse,
    )


INTRA_ORG_SEND_CONNECTOR = "Intra-Organization SMTP Send Connector"
"""The implicit connector's name in the send protocol log (Exchange's connector-id for hops
between servers of one organization)."""


def _logs_intra_org(source: Server) -> bool:
    # Set-FrontendTransportService -IntraOrgConnectorProtocolLoggingLevel: a Client Access
    # server's proxy hop to the Mailbox server is logged only when it is Verbose.
    level = source.frontend_transport.intra_org_connector_protocol_logging_level
    return source.is_client_access and level is ProtocolLoggingLevel.VERBOSE


def plan_internal(world: World, source: Server, port: int, domain: str) -> SessionPlan:
    """A hop between two servers of one organization (the implicit intra-org connector)."""
    selection = select_starttls_certificate(
        world.stores[source.name].personal(), fqdn=source.fqdn, at=world.now()
    )
    return SessionPlan(
        source=source,
        ehlo_name=source.fqdn,
        domain=domain,
        port=port,
        client_certificate=selection.certificate,
        policy=None,
        log_connector=INTRA_ORG_SEND_CONNECTOR if _logs_intra_org(source) else None,
    )


def _log_session(world: World, plan: SessionPlan, target: Target) -> ProtocolLogSession:
    if plan.log_connector is None:
        return NULL_SESSION
    service = "FrontEnd" if plan.source.is_client_access else "Hub"
    return ProtocolLogSession.for_send_connector(
        world.protocol_logs.log(plan.source.name, service, "send").append,
        connector=plan.log_connector,
        session_id=world.new_session_id(),
        local_endpoint=format_endpoint(plan.source.address, 0),
        remote_endpoint=format_endpoint(
            target.address, world.network.endpoint_port(target.address, plan.port)
        ),
    )


@inlineCallbacks
def next_hop_targets(world: World, hop: NextHop, server_name: str) -> Any:
    """The hosts to try for ``hop``, in order (a Deferred of ``list[Target]``).

    DNS-routed: the MX hosts of the next-hop domain with their A records. Smart hosts: each in
    the connector's order, an IP literal as is, a name through the lab DNS (one that does not
    resolve is skipped).
    """
    if hop.is_dns_routed:
        targets: list[Target] = yield world.dns.resolve_mx(hop.next_hop_domain)
        world.observe(server_name, f"DNS {world.dns.last_answer}")
        return targets
    targets = []
    for host in hop.smart_hosts:
        address = host if is_ip_literal(host) else (yield world.dns.resolve_a(host))
        if address:
            targets.append(Target(host, address, 0))
    return targets


def open_session(world: World, plan: SessionPlan, target: Target) -> Deferred[Any]:
    """Connect to ``target`` and bring the session to the point of MAIL FROM.

    Returns a Deferred of :class:`Established` or :class:`SessionFailure`, each with the
    session's :class:`~labsim.engine.world.SessionRecord`.
    """
    records: list[SessionRecord] = []
    opening: Deferred[Any] = _open_session(world, plan, target, records)
    # A callback, not a second generator: every proxied message opens a session here.
    return opening.addCallback(_with_record, world, plan, target, records)


def _with_record(
    result: Established | SessionFailure,
    world: World,
    plan: SessionPlan,
    target: Target,
    records: list[SessionRecord],
) -> Established | SessionFailure:
    if not records:
        # It never connected: a record of the attempt alone.
        records.append(
            _client_record(world, plan, target, world.new_session_record(plan.source.address))
        )
    record = records[0]
    if isinstance(result, SessionFailure):
        record.failure = str(result.reply)
        if result.explanation not in record.client_decisions:
            record.client_decisions.append(result.explanation)
    return replace(result, record=record)


def _client_record(
    world: World, plan: SessionPlan, target: Target, record: SessionRecord
) -> SessionRecord:
    """Fill in what the sending end knows before the first command."""
    record.client_server = plan.source.name
    record.server_host = target.host
    if not record.server_address:
        record.server_address = target.address
        record.server_port = plan.port
    record.send_connector = (
        plan.policy.connector_name if plan.policy is not None else INTRA_ORG_SEND_CONNECTOR
    )
    if plan.policy is not None:
        record.client_decisions.append(plan.policy.explanation)
    return record


@inlineCallbacks
def _open_session(
    world: World, plan: SessionPlan, target: Target, records: list[SessionRecord]
) -> Any:
    if plan.refuse is not None and plan.refuse.reply is not None:
        # TlsCertificateName names no certificate: Exchange fails while it creates the
        # outbound session, before any EHLO (docs/exchange-reference.md §17 C11), so no connection
        # is made and the target sees nothing. The reply text is the one of §4.4.1; the session
        # never reached the target, so LastError shows it as is, not in the failover form.
        world.explain(plan.source.name, plan.refuse.explanation)
        return SessionFailure(plan.refuse.reply, target, plan.refuse.explanation)
    token = world.activity.begin(f"outbound session {plan.source.name} -> {target.host}")
    log = _log_session(world, plan, target)
    closed: list[bool] = []

    def on_closed() -> None:
        closed.append(True)
        world.activity.end(token)

    factory = SmtpClientFactory(
        lambda: SmtpClientProtocol(
            log, world.now, on_closed, clock=world.clock, timeouts=plan.timeouts
        )
    )
    world.network.connect(plan.source.address, target.address, plan.port, factory)
    try:
        proto: SmtpClientProtocol = yield factory.result
    except (ConnectError, ConnectTimeout, OSError):
        world.activity.end(token)
        reply = connect_failure_reply(
            target, world.network.endpoint_port(target.address, plan.port)
        )
        return SessionFailure(
            reply, target, f"cannot connect to {target.host} ({target.address}): {reply}"
        )
    host = proto._tcp.getHost()
    record = world.session_record(host.host, host.port, side="client")
    records.append(_client_record(world, plan, target, record))
    record.send_log_session = log.session_id if log is not NULL_SESSION else ""
    notes: list[str] = []
    try:
        greeting: Reply = yield proto.greeting
        if greeting.code != 220:
            proto.quit()
            return SessionFailure(
                greeting, target, f"{target.host} greeted with {greeting}", connected=True
            )
        ehlo: Reply = yield proto.ehlo(plan.ehlo_name)
        if not ehlo.is_positive_completion:
            if not proto.closing:  # after a 421 the server is gone: no HELO
                ehlo = yield proto.helo(plan.ehlo_name)
            if not ehlo.is_positive_completion:
                proto.quit()
                return SessionFailure(
                    ehlo, target, f"{target.host} refused HELO: {ehlo}", connected=True
                )
        offered = "STARTTLS" in proto.session.extensions
        policy = plan.policy
        if policy is not None:
            step = after_ehlo(
                policy,
                starttls_offered=offered,
                connector_name=policy.connector_name,
                domain=plan.domain,
            )
            notes.append(step.explanation)
            record.client_decisions.append(step.explanation)
            world.explain(plan.source.name, step.explanation)
            if step.event is not None:
                _write_session_event(world, plan, step.event, target)
            for note in step.log_notes:
                log.info(world.now(), note.data, note.context)
            if step.failed:
                assert step.reply is not None
                proto.quit()
                return SessionFailure(step.reply, target, step.explanation, connected=True)
            start_tls = step.action is OutboundAction.START_TLS
        else:
            start_tls = offered
        peer: PeerCertificate | None = None
        description: str | None = None
        if start_tls:
            ready: Reply = yield proto.starttls()
            if ready.code != 220:
                proto.quit()
                return SessionFailure(
                    ready, target, f"{target.host} refused STARTTLS: {ready}", connected=True
                )
            context = world.tls.client(plan.client_certificate)
            if plan.client_certificate is not None:
                log_sending_certificate(log, world.now(), plan.client_certificate)
                if record.client_certificate is None:
                    record.client_certificate = CertificateSeen(
                        plan.client_certificate.subject, plan.client_certificate.issuer, NOT_CHECKED
                    )
            session_key = TlsSessionKey(
                plan.source.name,
                plan.client_certificate.thumbprint if plan.client_certificate else "",
                target.address,
                plan.port,
            )
            offered_session = world.tls_sessions.offer(session_key, world.now())
            handshake = proto.start_tls(ClientConnectionCreator(context, session=offered_session))
            try:
                yield handshake
            except (
                SSL.Error,
                ConnectionClosed,
                SessionEnded,
            ) as err:  # the peer or OpenSSL said no
                # (the session logged the failure before its disconnect record)
                world.tls_sessions.forget(session_key)
                if policy is not None and policy.domain_secure:
                    _write_session_event(
                        world,
                        plan,
                        MESSAGE_TO_SECURE_DOMAIN_FAILED_DUE_TO_TLS_NEGOTIATION_FAILURE,
                        target,
                    )
                if proto.timed_out:
                    return SessionFailure(
                        CONNECTION_TIMED_OUT,
                        target,
                        f"{target.host} stayed silent during the TLS handshake",
                        connected=True,
                    )
                text = f"TLS negotiation failed with error {type(err).__name__}"
                reply = Reply(451, text, "4.4.0")
                return SessionFailure(reply, target, text, connected=True)
            connection = proto._tcp.getHandle()
            world.tls_sessions.completed(session_key, connection, world.now())
            store = world.stores[plan.source.name]
            chain = peer_chain(connection)
            description = negotiated_description(connection, server_side=False)
            log.info(world.now(), "", description)
            log.certificate(
                world.now(),
                "Received certificate",
                thumbprint=thumbprint_of(chain[0]) if chain else "",
            )
            # Chain validation, with revocation checking only when the verdict rests on it:
            # the CRLs are fetched from this server's own address (labsim.engine.crl), so the
            # verdict may come later.
            peer = yield verify_presented(
                world,
                chain,
                server_name=plan.source.name,
                source=plan.source.address,
                trusted_roots=store.trusted_roots(),
                purpose="serverAuth",
                needs_revocation=outbound_needs_revocation(
                    policy, domain=plan.domain, profile=world.profile
                ),
            )
            if closed:
                return SessionFailure(
                    Reply(421, "Connection dropped: the server closed the session", "4.4.2"),
                    target,
                    f"{target.host} closed the session during the certificate check",
                    connected=True,
                )
            verdict = f"{peer.status.value} (not enforced)"
            if policy is not None:
                check = after_handshake(policy, peer, domain=plan.domain, profile=world.profile)
                if check.status is not None:
                    verdict = check.status.value  # what the decision rested on
                record.client_decisions.append(check.explanation)
                notes.append(check.explanation)
                world.explain(plan.source.name, check.explanation)
                if check.event is not None:
                    # The status the verdict rests on; for a tolerated CRL failure the chain's.
                    failed = check.status is not None and not check.ok
                    status = check.status.value if failed and check.status else peer.status.value
                    _write_session_event(world, plan, check.event, target, status)
                for note in check.log_notes:
                    if note.context == "Secure domain certificate" and peer.chain:
                        log.certificate(
                            world.now(),
                            "Secure domain certificate",
                            thumbprint=peer.thumbprint,
                            subject=peer.subject,
                            issuer=peer.issuer,
                            serial=peer.serial_number,
                            alternate_names=peer.names,
                        )
                    else:
                        log.info(world.now(), note.data, note.context)
            if peer.chain:
                record.server_certificate = CertificateSeen(peer.subject, peer.issuer, verdict)
            if policy is not None and not check.ok:
                assert check.reply is not None
                proto.quit()
                return SessionFailure(check.reply, target, check.explanation, connected=True)
            ehlo = yield proto.ehlo(plan.ehlo_name)
            if not ehlo.is_positive_completion:
                proto.quit()
                return SessionFailure(
                    ehlo, target, f"{target.host} refused EHLO after TLS: {ehlo}", connected=True
                )
        if plan.intra_organization:
            refused = yield _exchange_server_authentication(world, plan, target, proto)
            if refused is not None:
                log.info(world.now(), "", "Exchange Server authentication failed")
                proto.quit()
                return refused
        world.observe(
            plan.source.name,
            f"session to {target.host} "
            f"({target.address}:{world.network.endpoint_port(target.address, plan.port)}): "
            + (
                f"TLS, server certificate {peer.subject} [{peer.status.value}]"
                if peer and peer.chain
                else "no TLS"
            )
            + (
                f", client certificate {plan.client_certificate.subject}"
                if start_tls and plan.client_certificate is not None
                else ""
            ),
        )
        return Established(proto, target, peer, description, notes)
    except SessionEnded:
        # The partner closed the session, broke the protocol or stayed silent too long.
        reply = dropped_reply(proto)
        return SessionFailure(
            reply, target, f"session with {target.host} ended: {reply}", connected=True
        )
    except Exception as err:
        # A labsim bug: recorded, and the queue sees only Exchange's transient reply.
        if not closed:
            proto.abort()
        world.record_engine_error(plan.source.name, f"outbound session to {target.host}", err)
        return SessionFailure(
            ENGINE_ERROR, target, f"session with {target.host}: internal error", connected=True
        )


def _write_session_event(
    world: World,
    plan: SessionPlan,
    event: TransportEvent,
    target: Target,
    peer_status: str = "",
) -> None:
    """A send-side decision's event in the sending server's Application log: the CAS's when it
    proxies, as the CAS holds the session to the partner."""
    assert plan.policy is not None
    connector = plan.policy.connector_name
    if event == SMTP_SEND_TLS_REQUIRED_FAILED:
        world.write_event(plan.source.name, event, connector, plan.domain, target.host)
    elif CATALOG[event.event_id].names_status:
        world.write_event(plan.source.name, event, plan.domain, connector, peer_status)
    else:
        world.write_event(plan.source.name, event, plan.domain, connector)


@inlineCallbacks
def _exchange_server_authentication(
    world: World, plan: SessionPlan, target: Target, proto: SmtpClientProtocol
) -> Any:
    """X-EXPS on an intra-organization hop: None once authenticated, else a SessionFailure.

    Exchange gives up on a target that does not authenticate it as an Exchange server
    (KB 979175: ``451 5.7.3 Cannot achieve Exchange Server authentication``): without TLS, when
    X-EXPS is not advertised, or when the target refuses the proof.
    """

    def failure(why: str) -> SessionFailure:
        text = f"{target.host}: {exchange_auth.CANNOT_ACHIEVE} ({why})"
        world.explain(plan.source.name, text)
        return SessionFailure(exchange_auth.CANNOT_ACHIEVE, target, text, connected=True)

    if not proto.session.tls_active:
        return failure("no TLS")
    if "X-EXPS" not in proto.session.extensions:
        return failure("X-EXPS not offered")
    challenge: Reply = yield proto.exps(exchange_auth.MECHANISM)
    if challenge.code != 334:
        return failure(f"X-EXPS answered {challenge}")
    org = world.organization_of(plan.source.name)
    response = exchange_auth.response_line(
        world.exchange_auth_secret(org.name),
        challenge.lines[0],
        proto._tcp.getHandle().export_keying_material(exchange_auth.CHANNEL_BINDING_LABEL, 32),
        plan.source.name,
    )
    if response is None:
        return failure("the challenge is not base64")
    answer: Reply = yield proto.auth_response(response)
    if answer.code != 235:
        return failure(f"the proof was refused: {answer}")
    return None


@inlineCallbacks
def run_transaction(
    session: Established, *, mail_from: str, recipients: list[str], content: bytes
) -> Any:
    """MAIL, RCPT for each recipient, then the message (``BDAT <n> LAST`` when the server offered
    CHUNKING, as Exchange sends, else DATA and the data), on an established session."""
    proto = session.protocol
    replies: dict[str, Reply] = {}
    try:
        result: TransactionResult = yield _transaction(
            proto, replies, mail_from, recipients, content
        )
    except SessionEnded:
        # The session ended mid-transaction: a recipient keeps its refusal, every other one
        # (accepted or not yet asked) gets the dropped session's transient reply.
        dropped = dropped_reply(proto)
        return TransactionResult(
            {
                r: replies[r] if r in replies and not replies[r].is_positive_completion else dropped
                for r in recipients
            },
            None,
        )
    return result


@inlineCallbacks
def _transaction(
    proto: SmtpClientProtocol,
    replies: dict[str, Reply],
    mail_from: str,
    recipients: list[str],
    content: bytes,
) -> Any:
    mail: Reply = yield proto.mail(mail_from, {"SIZE": str(len(content))})
    if not mail.is_positive_completion:
        for r in recipients:
            replies[r] = mail
        return TransactionResult(replies, None, mail_refused=True)
    for r in recipients:
        replies[r] = yield proto.rcpt(r)
    if not any(reply.is_positive_completion for reply in replies.values()):
        if not proto.closing:
            yield proto.rset()
        return TransactionResult(replies, None)
    if proto.chunking:
        # Exchange sends a message as one chunk (docs/fidelity.md, "CHUNKING and BDAT"): the
        # reply to BDAT LAST is the reply to the message.
        chunked: Reply = yield proto.bdat(content)
        return TransactionResult(replies, chunked)
    ready: Reply = yield proto.data()
    if ready.code != 354:
        if ready.is_positive:
            # 354 or a failure are the only answers to DATA (RFC 5321 §4.3.2): a 2xx or other
            # 3xx means the dialogue is out of step; nothing was sent, so the session is dropped
            # and every recipient waits for a retry.
            proto.abort()
            ready = Reply(451, f"Unexpected response to DATA: {ready}", "4.4.0")
        return TransactionResult(
            {r: (ready if rep.is_positive_completion else rep) for r, rep in replies.items()}, None
        )
    final: Reply = yield proto.message(content)
    return TransactionResult(replies, final)
