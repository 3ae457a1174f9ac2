"""The Twisted adapter of an inbound SMTP session on any simulated server.

It picks the receive connector (§5.1), greets, answers EHLO with what the connector offers,
switches to TLS on STARTTLS (presenting the certificate §5.2 selects and requesting a client
certificate), records the client certificate's chain facts at lab time, runs the Domain Security
check at MAIL FROM (§5.3), the relay and size checks, the header firewall and the
authentication stamps (§5.4, §10), and hands the transaction to the server's role: the Front End
Transport proxy on a Client Access server, the Transport service on a Mailbox server. Decisions
are the pure functions of :mod:`labsim.policy`; this module only moves bytes and writes logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography import x509
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Protocol as TwistedProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from labsim.engine.crl import basic_verdict, check_revocation
from labsim.engine.smtp_client import SessionEnded
from labsim.engine.tls import (
    ServerConnectionCreator,
    log_sending_certificate,
    negotiated_description,
    peer_chain,
    received_header_tls,
)
from labsim.engine.world import NOT_CHECKED, CertificateSeen, SessionRecord, World
from labsim.logs.event_log import CATALOG
from labsim.logs.protocol_log import NULL_SESSION, ProtocolLogSession, format_endpoint
from labsim.model.connectors import ReceiveConnector
from labsim.model.enums import (
    AuthAs,
    AuthMechanism,
    Permission,
    ProtocolLoggingLevel,
)
from labsim.model.mail import subject_and_message_id
from labsim.model.organization import Organization, Server
from labsim.model.values import ByteSize
from labsim.net.starttls import start_tls
from labsim.pki.certificate import ExchangeCertificate, thumbprint_of
from labsim.pki.memo import memo_by_identity
from labsim.pki.selection import select_starttls_certificate
from labsim.pki.validation import CertificateValidationStatus, PeerCertificate
from labsim.policy import exchange_auth
from labsim.policy.domain_security import (
    InboundDecision,
    check_mail_from,
    check_recipient,
    check_size,
    size_explanation,
)
from labsim.policy.headers import (
    AuthMechanismCode,
    apply_receive_firewall,
    prepend_raw_header,
    received_header,
    stamp_authentication,
)
from labsim.policy.loops import receive_hop_check
from labsim.policy.permissions import SessionIdentity, format_permissions, permissions_for
from labsim.policy.receive_selection import choose_receive_connector
from labsim.policy.routing import recipient_domain
from labsim.smtp import replies
from labsim.smtp.events import (
    AuthResponse,
    Bdat,
    ChunkReceived,
    CommandRejected,
    ConnectionClosed,
    Data,
    Ehlo,
    ExchangeAuth,
    Helo,
    LineTooLong,
    MailFrom,
    MessageReceived,
    Noop,
    Quit,
    RcptTo,
    Rset,
    Sentinel,
    StartTls,
    TooManyProtocolErrors,
)
from labsim.smtp.reply import Reply
from labsim.smtp.server import ServerSession, ServerState


@dataclass
class InboundTransaction:
    """What one inbound session knows, handed to the server role for each step."""

    server: Server
    organization: Organization
    connector: ReceiveConnector
    local_address: str
    remote_address: str
    helo_name: str = ""
    identity: SessionIdentity = SessionIdentity.ANONYMOUS
    auth_domain: str | None = None
    tls_description: str | None = None
    received_tls: str | None = None
    peer: PeerCertificate | None = None
    verification: Deferred[None] | None = None
    presented_chain: tuple[x509.Certificate, ...] | None = None
    """The client certificate check in flight (CRL fetches); fires once ``peer`` is set."""
    mail_from: str | None = None
    mail_parameters: dict[str, str | None] = field(default_factory=dict)
    recipients: list[str] = field(default_factory=list)
    log: ProtocolLogSession = NULL_SESSION
    proxy: Any = None
    exchange_server: str | None = None
    """The organization's server that authenticated with X-EXPS (ExchangeServer identity)."""
    exps_challenge: bytes | None = None
    """The challenge of an X-EXPS exchange in progress."""
    ended: bool = False
    """The inbound session is over (the role's ``on_close`` ran)."""
    record: SessionRecord | None = None
    """The session's record for the web console and HTML report (labsim.render)."""


class ReceiveRole(Protocol):
    """What a server role does with an accepted transaction (Front End proxy or Transport)."""

    resolves_recipients: bool

    def on_rcpt(self, tx: InboundTransaction, recipient: str) -> Deferred[Reply] | Reply: ...

    def on_data(self, tx: InboundTransaction) -> Deferred[Reply] | Reply: ...

    def on_message(self, tx: InboundTransaction, content: bytes) -> Deferred[Reply] | Reply: ...

    def on_reset(self, tx: InboundTransaction) -> None: ...

    def on_close(self, tx: InboundTransaction) -> None: ...


@implementer(IHandshakeListener)
class SmtpReceiveProtocol(TwistedProtocol):
    """One inbound SMTP connection to a simulated server."""

    @property
    def _tcp(self) -> Any:
        # The TCP transport (later TLS-wrapped); typed Any because Twisted's ITransport lacks
        # startTLS/getHandle/setTcpNoDelay and the attribute is Optional.
        return self.transport

    def __init__(self, world: World, server_name: str, port: int, role: ReceiveRole) -> None:
        self.world = world
        self.server_name = server_name
        self.port = port
        self.role = role
        self.session = ServerSession()
        self.tx: InboundTransaction | None = None
        self.certificate: ExchangeCertificate | None = None
        self.record: SessionRecord | None = None
        """What this session shows in the web console and HTML report (labsim.render)."""
        self._token = 0
        self._busy = False
        self._closed = False
        self._closed_by_lab = False
        self._timeouts: tuple[float, float] | None = None
        self._started = 0.0
        self._last_heard = 0.0
        self._timer: Any = None

    # --- connection --------------------------------------------------------------------------

    def connectionMade(self) -> None:  # noqa: N802
        """Pick the receive connector, log, greet."""
        self._token = self.world.activity.begin(f"inbound session on {self.server_name}")
        self._tcp.setTcpNoDelay(True)
        local = self._tcp.getHost()
        remote = self._tcp.getPeer()
        if (remote.host, remote.port) not in self.world.network.own_endpoints:
            # A client of a live lab (swaks, a real MTA), even one that binds a lab server's
            # address: lines of the shell never wait for it.
            self.world.activity.mark_outside(self._token)
        org = self.world.organization_of(self.server_name)
        server = self.world.server(self.server_name)
        selection = choose_receive_connector(
            org.receive_connectors_on(server.name),
            local_address=local.host,
            local_port=self.port,
            remote_address=remote.host,
        )
        self.world.explain(server.name, selection.explanation)
        connector = selection.connector
        if connector is None:
            self._tcp.loseConnection()
            return
        log = NULL_SESSION
        if connector.protocol_logging_level is ProtocolLoggingLevel.VERBOSE:
            service = "FrontEnd" if server.is_client_access else "Hub"
            log = ProtocolLogSession.for_receive_connector(
                self.world.protocol_logs.log(server.name, service, "receive").append,
                server=server.name,
                connector=connector.name,
                session_id=self.world.new_session_id(),
                local_endpoint=format_endpoint(local.host, self.port),
                remote_endpoint=format_endpoint(remote.host, remote.port),
            )
        # Every session starts anonymous, whatever its address: another server of the
        # organization becomes ExchangeServer only by X-EXPS (docs/exchange-reference.md §17 C5).
        identity = SessionIdentity.ANONYMOUS
        if org.server_at(remote.host) is None:
            self.world.observe(
                server.name,
                f"connection from {remote.host} on receive connector {connector.identity}",
            )
        self.tx = InboundTransaction(
            server=server,
            organization=org,
            connector=connector,
            local_address=local.host,
            remote_address=remote.host,
            identity=identity,
            log=log,
        )
        now = self.world.now()
        log.connect(now)
        log.permissions(now, format_permissions(permissions_for(connector, identity)))
        fqdn = connector.fqdn or server.fqdn
        selection_cert = select_starttls_certificate(
            self.world.stores[server.name].personal(),
            fqdn=fqdn,
            at=now,
            tls_certificate_name=connector.tls_certificate_name,
        )
        self.certificate = selection_cert.certificate
        self.world.write_certificate_events(
            server.name,
            selection_cert,
            connector=connector.name,
            fqdn=fqdn,
            tls_certificate_name=connector.tls_certificate_name,
            at=now,
        )
        record = self.record = self.world.session_record(remote.host, remote.port, side="server")
        record.server_server = server.name
        record.server_address = local.host
        record.server_port = self.port
        record.receive_connector = connector.identity
        self.tx.record = record
        record.receive_log_session = log.session_id if log is not NULL_SESSION else ""
        if self.certificate is not None and record.server_certificate is None:
            record.server_certificate = CertificateSeen(
                self.certificate.subject, self.certificate.issuer, NOT_CHECKED
            )
        banner = _banner(connector, fqdn, now)
        self._write(self.session.greeting(banner), banner)
        # Every session has the receive connector's timeouts, on the lab clock (a live lab's
        # follows the wall clock; :advance moves it).
        self._timeouts = (
            connector.connection_timeout.total_seconds(),
            connector.connection_inactivity_timeout.total_seconds(),
        )
        self._started = self._last_heard = self.world.clock.seconds()
        self._arm_timeout()

    def _arm_timeout(self) -> None:
        # One timer per session, re-armed only when it fires early (the client spoke since):
        # nothing is scheduled per command.
        assert self._timeouts is not None
        total, inactivity = self._timeouts
        due = min(self._started + total, self._last_heard + inactivity)
        self._timer = self.world.clock.call_at(due, self._check_timeout)

    def _check_timeout(self) -> None:
        self._timer = None
        if self._closed or self._timeouts is None:
            return
        total, inactivity = self._timeouts
        now = self.world.clock.seconds()
        # A command the server is still working on (a proxied hop) is not the client's silence.
        silent = not self._busy and now >= self._last_heard + inactivity
        if now < self._started + total and not silent:
            if self._busy:
                self._last_heard = now
            self._arm_timeout()
            return
        reply = replies.CONNECTION_TIMED_OUT
        self._write(reply.to_bytes(), reply)
        self._closed_by_lab = True
        self._tcp.loseConnection()

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: N802, B008
        """Log the disconnect, release the proxy, mark the lab less busy."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.tx is not None:
            self.tx.ended = True
            self.role.on_close(self.tx)
            self.tx.log.disconnect(self.world.now(), "Local" if self._closed_by_lab else "Remote")
        self.world.activity.end(self._token)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        """Feed the core and answer what it surfaces."""
        self._last_heard = self.world.clock.seconds()
        self.session.receive_data(data)
        self._pump()

    def handshakeCompleted(self) -> None:  # noqa: N802
        """TLS is up: log it and keep the client's chain for the check at MAIL FROM."""
        tx = self.tx
        assert tx is not None
        connection = self._tcp.getHandle()
        now = self.world.now()
        chain = peer_chain(connection)
        tx.peer = None
        tx.verification = None
        tx.presented_chain = chain
        tx.tls_description = negotiated_description(connection, server_side=True)
        tx.received_tls = received_header_tls(connection)
        tx.log.info(now, "", tx.tls_description)
        if self.record is not None:
            self.record.starttls = True
            if chain:
                leaf = PeerCertificate(chain, CertificateValidationStatus.VALID)
                self.record.client_certificate = CertificateSeen(
                    leaf.subject, leaf.issuer, NOT_CHECKED
                )
        if chain:
            tx.log.certificate(now, "Received certificate", thumbprint=thumbprint_of(chain[0]))

    def _start_verification(self, tx: InboundTransaction) -> None:
        """Check the client certificate at lab time, as Exchange does at MAIL FROM (§5.3).

        This is the check without revocation (trust, validity, EKU), done once per TLS
        session; its CRLs are fetched only when a MAIL FROM's verdict rests on them
        (:meth:`_checked_mail_from`). Sessions that never reach MAIL FROM (a sender that gives
        up after the handshake) cost no check.
        """
        if tx.peer is not None:
            return  # judged at an earlier MAIL FROM of this TLS session
        chain = tx.presented_chain or ()
        store = self.world.stores[tx.server.name]
        peer = basic_verdict(
            self.world, chain, trusted_roots=store.trusted_roots(), purpose="clientAuth"
        )
        tx.peer = peer
        self._record_peer(peer)
        self.world.explain(
            tx.server.name,
            f"TLS with {tx.remote_address}: client certificate "
            + (
                f"{peer.subject} chain status {peer.status.value} without revocation"
                + (f" ({peer.detail})" if peer.detail else "")
                if peer.chain
                else "none (EmptyCertificate)"
            ),
        )

    def _record_peer(self, peer: PeerCertificate) -> None:
        """The client certificate as this server judged it, for the session record."""
        if self.record is not None and peer.chain:
            self.record.client_certificate = CertificateSeen(
                peer.subject, peer.issuer, peer.status.value
            )

    # --- the command loop ----------------------------------------------------------------------

    def _write(self, data: bytes, reply: Reply | None = None) -> None:
        # A connector that does not log (NULL_SESSION) costs no clock read and no records.
        if reply is not None and self.tx is not None and self.tx.log is not NULL_SESSION:
            log = self.tx.log
            now = self.world.now()
            if reply.code == 334:
                # A challenge is never logged as sent (Exchange masks authentication blobs).
                log.sent(now, exchange_auth.LOG_CHALLENGE)
            else:
                # The receive log has one record per reply line, as the wire shows it (§7.3).
                log.sent_lines(now, _sent_log_lines(reply))
        if not self._closed:
            self._tcp.write(data)

    def _pump(self) -> None:
        while not self._busy and not self._closed:
            event = self.session.next_event()
            if isinstance(event, Sentinel):
                return
            if isinstance(event, ConnectionClosed):
                self._tcp.loseConnection()
                return
            tx = self.tx
            assert tx is not None
            line = getattr(event, "line", None)
            if (
                line is not None
                and tx.log is not NULL_SESSION
                and not isinstance(event, (MessageReceived, AuthResponse))
            ):
                # Exchange never logs an authentication response (a credential).
                tx.log.received(self.world.now(), line)
            if isinstance(event, (CommandRejected, LineTooLong, TooManyProtocolErrors)):
                reply = event.reply
                if isinstance(event, LineTooLong):
                    tx.log.received(self.world.now(), "<line too long>")
                self._write(self.session.data_to_send(), reply)
                if isinstance(event, TooManyProtocolErrors):
                    self._tcp.loseConnection()
                    return
                continue
            # What maybeDeferred does, without wrapping a reply that is ready in a Deferred
            # (most commands): an exception becomes a Failure, which _answer turns into 451.
            try:
                result = self._handle(tx, event)
            except BaseException:
                result = Failure()
            if isinstance(result, Deferred):
                if not result.called:
                    self._busy = True
                    result.addBoth(self._resume, event)
                    return
                # Answered at once: reply here and go on with the loop. Resuming through a
                # callback would nest one call per pipelined command, and a client that
                # pipelines a few hundred commands in one read would exhaust the stack.
                outcome: list[Any] = []
                result.addBoth(outcome.append)
                result = outcome[0]
            if not self._answer(result, event):
                return

    def _resume(self, outcome: Any, event: Any) -> None:
        self._busy = False
        if self._answer(outcome, event):
            self._pump()

    def _answer(self, outcome: Any, event: Any) -> bool:
        """Send the reply to ``event``; False when the session is over."""
        if isinstance(outcome, Failure):
            # Never leave the client hanging: Exchange's transient reply. A downstream session
            # that ended under the proxy is a mail event; anything else is a labsim bug.
            if outcome.check(SessionEnded) is None:
                self.world.record_engine_error(self.server_name, f"answering {event!r}", outcome)
            else:
                self.world.explain(self.server_name, f"proxy session lost: {outcome.value}")
            outcome = Reply(451, "Temporary server error. Please try again later", "4.3.2")
        if self._closed:
            return False
        if isinstance(event, Bdat) and outcome.code == 354:
            # The go-ahead the role gives to DATA lets a BDAT chunk in: nothing is written, the
            # reply follows the chunk's octets (RFC 3030).
            self.session.accept_chunk()
            return True
        if self.record is not None and isinstance(event, (MailFrom, RcptTo, MessageReceived)):
            self.record.replies.append(str(outcome))
        self._write(self.session.respond(outcome), outcome)
        if isinstance(event, StartTls) and outcome.code == 220:
            context = self.world.tls.server(self.certificate)
            start_tls(self._tcp, ServerConnectionCreator(context))
            if self.tx is not None and self.certificate is not None:
                log_sending_certificate(self.tx.log, self.world.now(), self.certificate)
        if isinstance(event, Quit) or outcome.code == 421:
            # 421 closes the transmission channel (RFC 5321 §3.8): the session core reads
            # nothing more, so the connection must not stay open in silence.
            self._closed_by_lab = outcome.code == 421
            self._tcp.loseConnection()
            return False
        return True

    def _handle(self, tx: InboundTransaction, event: object) -> Any:
        connector = tx.connector
        fqdn = connector.fqdn or tx.server.fqdn
        if isinstance(event, Ehlo):
            tx.helo_name = event.domain
            if self.record is not None:
                self.record.ehlo = event.domain
            offer = (
                AuthMechanism.TLS in connector.auth_mechanism
                and self.certificate is not None
                and not self.session.tls_active
            )
            return replies.ehlo(
                fqdn,
                tx.remote_address,
                max_size=connector.max_message_size.value,
                starttls=offer,
                exchange_auth=AuthMechanism.EXCHANGE_SERVER in connector.auth_mechanism,
                binary_mime=connector.binary_mime_enabled,
                chunking=connector.chunking_enabled,
            )
        if isinstance(event, Helo):
            tx.helo_name = event.domain
            if self.record is not None:
                self.record.ehlo = event.domain
            return replies.helo(fqdn, tx.remote_address)
        if isinstance(event, StartTls):
            return replies.STARTTLS_READY
        if isinstance(event, ExchangeAuth):
            return self._exchange_auth(tx, event)
        if isinstance(event, AuthResponse):
            return self._auth_response(tx, event)
        if isinstance(event, MailFrom):
            return self._mail_from(tx, event)
        if isinstance(event, RcptTo):
            return self._rcpt_to(tx, event)
        if isinstance(event, Data):
            self.session.message_size_limit = self._message_size_limit(tx)
            return self.role.on_data(tx)
        if isinstance(event, Bdat):
            if self.session.state is ServerState.BDAT:
                return replies.START_MAIL_INPUT  # a later chunk: the role said yes at the first
            # The transaction's first chunk is its DATA: the role gets ready for the message
            # (the proxy relays it downstream, the Transport service starts its transfer clock).
            self.session.message_size_limit = self._message_size_limit(tx)
            return self.role.on_data(tx)
        if isinstance(event, ChunkReceived):
            if event.oversized:
                self._explain_size(
                    tx, event.oversized, tx.organization.transport_config.max_receive_size
                )
                return self._refuse_message(tx, replies.MESSAGE_TOO_BIG)
            return replies.chunk_received(event.size)
        if isinstance(event, MessageReceived):
            if event.oversized:
                limit = tx.organization.transport_config.max_receive_size
                self._explain_size(tx, event.size, limit)
                return self._refuse_message(tx, replies.MESSAGE_TOO_BIG)
            return self._message(tx, event.content)
        if isinstance(event, Rset):
            self._reset(tx)
            return replies.RESETTING
        if isinstance(event, Noop):
            return replies.NOOP_OK
        if isinstance(event, Quit):
            return replies.CLOSING_CHANNEL
        self.world.explain(tx.server.name, f"unexpected event {event!r} at {self.world.now()}")
        return replies.UNRECOGNIZED_COMMAND

    def _exchange_auth(self, tx: InboundTransaction, event: ExchangeAuth) -> Reply:
        """X-EXPS: send a challenge only a server of this organization can answer (§17 C5)."""
        if tx.identity is not SessionIdentity.ANONYMOUS:
            return exchange_auth.ALREADY_AUTHENTICATED
        if event.mechanism != exchange_auth.MECHANISM or not self.session.tls_active:
            # NTLM is advertised but not modelled; Exchange Server authentication needs TLS.
            self.world.explain(
                tx.server.name,
                f"X-EXPS {event.mechanism} from {tx.remote_address} refused: "
                + ("labsim models only GSSAPI" if self.session.tls_active else "TLS not started"),
            )
            return exchange_auth.UNRECOGNIZED_TYPE
        tx.exps_challenge = os.urandom(exchange_auth.CHALLENGE_OCTETS)
        return Reply(334, exchange_auth.challenge_line(tx.exps_challenge))

    def _auth_response(self, tx: InboundTransaction, event: AuthResponse) -> Reply:
        """Check the X-EXPS response; on success the session is an Exchange server's."""
        challenge, tx.exps_challenge = tx.exps_challenge, None
        assert challenge is not None
        org = self.world.organization(tx.organization.name)
        verdict = exchange_auth.verify_response(
            self.world.exchange_auth_secret(org.name),
            challenge,
            self._tcp.getHandle().export_keying_material(exchange_auth.CHANNEL_BINDING_LABEL, 32),
            event.line,
            frozenset(s.name.upper() for s in org.servers),
        )
        now = self.world.now()
        if verdict.server_name is None:
            self.world.explain(
                tx.server.name,
                f"X-EXPS from {tx.remote_address} failed: {verdict.reply} (not a server of "
                f"{org.name})",
            )
            tx.log.info(now, "", "Inbound Exchange Server authentication failed")
            return verdict.reply
        tx.identity = SessionIdentity.EXCHANGE_SERVER
        tx.exchange_server = verdict.server_name
        tx.log.permissions(
            now, format_permissions(permissions_for(tx.connector, SessionIdentity.EXCHANGE_SERVER))
        )
        tx.log.info(
            now,
            exchange_auth.account_name(org.default_domain, verdict.server_name),
            "authenticated",
        )
        self.world.explain(
            tx.server.name,
            f"X-EXPS: {verdict.server_name} authenticated as an Exchange server of {org.name} "
            f"on receive connector {tx.connector.identity}",
        )
        return verdict.reply

    def _message_size_limit(self, tx: InboundTransaction) -> int | None:
        """The octets a message may have on this session (None: no limit).

        The running size is checked while the data comes (Exchange does not hold more than
        MaxMessageSize of a message it is going to refuse): labsim keeps at most the limit,
        reads the rest to its end (or to the end of the BDAT chunk) and answers 552.
        """
        org = self.world.organization(tx.organization.name)
        permissions = permissions_for(tx.connector, tx.identity)
        limits = (tx.connector.max_message_size, org.transport_config.max_receive_size)
        finite = [limit.value for limit in limits if limit.value is not None]
        bypass = _bypasses_size(permissions) or not finite
        return None if bypass else min(finite)

    def _write_domain_security_event(
        self, tx: InboundTransaction, decision: InboundDecision, sender: str
    ) -> None:
        """The MAIL FROM decision's event in this server's Application log (11011 … 11026)."""
        assert decision.event is not None
        domain = recipient_domain(sender) if sender else ""
        if CATALOG[decision.event.event_id].names_status:
            peer_status = tx.peer.status.value if tx.peer is not None else ""
            status = decision.status.value if decision.status is not None else peer_status
            self.world.write_event(
                tx.server.name, decision.event, domain, tx.connector.name, status
            )
        else:
            self.world.write_event(tx.server.name, decision.event, domain, tx.connector.name)

    def _explain_size(self, tx: InboundTransaction, size: int, org_limit: ByteSize) -> None:
        """Why a message was refused for its size (§10.3), for --explain."""
        why = size_explanation(size, tx.connector.max_message_size, org_limit)
        self.world.explain(tx.server.name, f"{why} (receive connector {tx.connector.identity})")

    def _refuse_message(self, tx: InboundTransaction, reply: Reply) -> Reply:
        """This server refuses the message itself (size, hop count): the transaction ends here,
        and the role's part of it too (the proxy's downstream transaction, opened at RCPT,
        must not carry the client's next transaction under this one's sender)."""
        self._reset(tx)
        return reply

    def _reset(self, tx: InboundTransaction) -> None:
        tx.mail_from = None
        tx.recipients = []
        tx.mail_parameters = {}
        self.role.on_reset(tx)

    def _mail_from(self, tx: InboundTransaction, event: MailFrom) -> Deferred[Reply] | Reply:
        if (
            tx.verification is None
            and tx.presented_chain is not None
            and tx.identity is not SessionIdentity.EXCHANGE_SERVER
        ):
            self._start_verification(tx)
        pending = tx.verification
        if pending is None or pending.called:
            return self._checked_mail_from(tx, event)
        # The client certificate is still being checked (CRL fetches): answer MAIL FROM once
        # it is known (the adapter holds the session until then).
        waiter: Deferred[None] = Deferred()

        def release(result: object) -> object:
            waiter.callback(None)
            return result

        pending.addBoth(release)
        return waiter.addCallback(lambda _: self._checked_mail_from(tx, event))

    def _checked_mail_from(
        self, tx: InboundTransaction, event: MailFrom
    ) -> Deferred[Reply] | Reply:
        now = self.world.now()
        org = self.world.organization(tx.organization.name)
        tx.organization = org
        decision = check_mail_from(
            config=org.transport_config,
            connector=tx.connector,
            sender_domain=recipient_domain(event.address) if event.address else "",
            tls_active=self.session.tls_active,
            starttls_offered=self.session.starttls_offered or self.session.tls_active,
            peer=tx.peer,
            identity=tx.identity,
            profile=self.world.profile,
        )
        if (
            decision.identity is SessionIdentity.PARTNER
            and tx.verification is None
            and tx.peer is not None
        ):
            # Domain Security accepts the certificate on everything but revocation: check its
            # CRLs now (once per TLS session) and decide once they are in.
            done: Deferred[None] = Deferred()
            tx.verification = done
            store = self.world.stores[tx.server.name]

            def judged(peer: PeerCertificate) -> Deferred[Reply] | Reply:
                tx.peer = peer
                self._record_peer(peer)
                done.callback(None)
                if self._closed:
                    # The client left while its CRLs were fetched: nothing to decide or log
                    # (its disconnect is logged); the reply is never written.
                    return replies.CONNECTION_TIMED_OUT
                return self._checked_mail_from(tx, event)

            checking: Deferred[PeerCertificate] = check_revocation(
                self.world,
                tx.peer.chain,
                server_name=tx.server.name,
                source=tx.server.address,
                trusted_roots=store.trusted_roots(),
                purpose="clientAuth",
            )

            def failed(failure: Failure) -> Failure:
                # A bug in the check (recorded by _answer): later commands must not wait on it.
                if not done.called:
                    done.callback(None)
                return failure

            return checking.addCallbacks(judged, failed)
        self.world.explain(tx.server.name, decision.explanation)
        if decision.event is not None:
            self._write_domain_security_event(tx, decision, event.address)
        if self.record is not None:
            self.record.server_decisions.append(decision.explanation)
            self.record.partner = decision.identity is SessionIdentity.PARTNER
            seen = self.record.client_certificate
            if decision.status is None and seen is not None and seen.status != NOT_CHECKED:
                # The verdict decided nothing (the sender domain is not listed): say so, as
                # for the sending side's opportunistic TLS.
                status = seen.status.removesuffix(" (not enforced)")
                self.record.client_certificate = CertificateSeen(
                    seen.subject, seen.issuer, f"{status} (not enforced)"
                )
        for note in decision.log_notes:
            tx.log.info(now, note.data, note.context)
        tx.identity = decision.identity
        tx.auth_domain = decision.auth_domain
        if decision.reply is not None:
            self.world.observe(
                tx.server.name, f"MAIL FROM:<{event.address}> refused: {decision.reply}"
            )
            return decision.reply
        if event.size is not None:
            too_big = check_size(
                event.size,
                tx.connector.max_message_size,
                org.transport_config.max_receive_size,
                bypass=_bypasses_size(decision.permissions),
            )
            if too_big is not None:
                self._explain_size(tx, event.size, org.transport_config.max_receive_size)
                return too_big
        if decision.identity is SessionIdentity.PARTNER:
            self.world.observe(
                tx.server.name,
                f"MAIL FROM:<{event.address}>: {decision.auth_domain} is domain-secured; client certificate "
                "matches and chains to a trusted root: session identity Partner",
            )
        elif tx.identity is SessionIdentity.ANONYMOUS:
            self.world.observe(
                tx.server.name,
                f"MAIL FROM:<{event.address}>: anonymous session (not domain-secured)",
            )
        tx.mail_from = event.address
        tx.mail_parameters = dict(event.parameters)
        tx.recipients = []
        return replies.SENDER_OK

    def _rcpt_to(self, tx: InboundTransaction, event: RcptTo) -> Any:
        address = event.address
        if "@" not in address:
            # RFC 5321's bare <postmaster> (the only address the session takes without a
            # domain): Exchange's RCPT parser makes it postmaster@ the domain the connector
            # advertises (RcptSmtpCommandParser, docs/fidelity.md "RCPT TO:<postmaster>").
            address = f"{address}@{tx.connector.fqdn or tx.server.fqdn}"
        permissions = permissions_for(tx.connector, tx.identity)
        refused = check_recipient(
            tx.organization,
            recipient=address,
            permissions=permissions,
            resolve_recipients=self.role.resolves_recipients,
        )
        if refused is not None:
            self.world.explain(tx.server.name, f"RCPT TO:<{address}> refused: {refused}")
            return refused
        if len(tx.recipients) >= tx.connector.max_recipients_per_message:
            return replies.TOO_MANY_RECIPIENTS
        # An exception from the role is the loop's to record (_pump turns it into a Failure);
        # a reply that is ready (the Mailbox server's) needs no Deferred around it.
        answer = self.role.on_rcpt(tx, address)
        if isinstance(answer, Deferred):
            return answer.addCallback(_recipient_answered, tx, address)
        return _recipient_answered(answer, tx, address)

    def _message(self, tx: InboundTransaction, content: bytes) -> Any:
        now = self.world.now()
        if self.record is not None:
            message_id = subject_and_message_id(content)[1]
            if message_id and message_id not in self.record.message_ids:
                self.record.message_ids.append(message_id)
        permissions = permissions_for(tx.connector, tx.identity)
        too_big = check_size(
            len(content),
            tx.connector.max_message_size,
            tx.organization.transport_config.max_receive_size,
            bypass=_bypasses_size(permissions),
        )
        if too_big is not None:
            self._explain_size(tx, len(content), tx.organization.transport_config.max_receive_size)
            return self._refuse_message(tx, too_big)
        loop = receive_hop_check(content, tx.connector, tx.server)  # MaxHopCount, before stamping
        if loop.reply is not None:  # refused
            self.world.explain(tx.server.name, loop.explanation)
            return self._refuse_message(tx, loop.reply)
        content = apply_receive_firewall(content, permissions)
        if tx.identity is not SessionIdentity.EXCHANGE_SERVER:
            # The first server of the organization that evaluated authentication stamps (D3).
            if tx.identity is SessionIdentity.PARTNER:
                content = stamp_authentication(
                    content,
                    auth_as=AuthAs.PARTNER,
                    mechanism=AuthMechanismCode.MUTUAL_TLS,
                    source_fqdn=tx.server.fqdn,
                    domain=tx.auth_domain,
                )
            else:
                content = stamp_authentication(
                    content,
                    auth_as=AuthAs.ANONYMOUS,
                    mechanism=AuthMechanismCode.NONE,
                    source_fqdn=tx.server.fqdn,
                    domain=None,
                )
        content = prepend_raw_header(
            content,
            received_header(
                helo=tx.helo_name or tx.remote_address,
                client_ip=tx.remote_address,
                by_fqdn=tx.server.fqdn,
                server_ip=tx.local_address,
                tls_description=tx.received_tls,
                when=now,
                via="Frontend Transport" if tx.server.is_client_access else None,
            ),
        )
        answer = self.role.on_message(tx, content)
        if isinstance(answer, Deferred):
            return answer.addCallback(_transaction_answered, tx)
        return _transaction_answered(answer, tx)


def _recipient_answered(reply: Reply, tx: InboundTransaction, recipient: str) -> Reply:
    if reply.is_positive_completion:
        tx.recipients.append(recipient)
    return reply


def _transaction_answered(reply: Reply, tx: InboundTransaction) -> Reply:
    tx.mail_from = None
    tx.recipients = []
    return reply


def _banner(connector: ReceiveConnector, fqdn: str, now: Any) -> Reply:
    if connector.banner:
        text = connector.banner
        return Reply(220, text[4:] if text.startswith("220 ") else text)
    return replies.banner(fqdn, now)


def _bypasses_size(permissions: frozenset[Permission]) -> bool:
    return Permission.BYPASS_MESSAGE_SIZE_LIMIT in permissions


@memo_by_identity()
def _sent_log_lines(reply: Reply) -> tuple[str, ...]:
    # Once per reply object: most replies are the same module constants for every command.
    return tuple(reply.to_bytes().decode("utf-8").splitlines())
