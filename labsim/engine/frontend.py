"""Front End Transport on a Client Access server: a stateless proxy that never queues (§2).

Inbound (Default Frontend, Partner connectors): after the receive checks, each RCPT opens (once)
and uses a proxy session to a Mailbox server's ``Default`` connector (port 2525); the Mailbox
server's replies are relayed to the sender, so the CAS answers 250 to the message only once the
Mailbox server has accepted it. Outbound (Outbound Proxy Frontend, port 717): a Mailbox server
relays for a FrontendProxyEnabled send connector; the CAS routes the recipient domain through
that connector, opens the Internet session from its own address with its own certificate, and
relays the remote server's replies back (decision D2: no sender-side Domain Security checks).
When no session to the Internet can be set up (every target refused, dropped, broke the
protocol or stayed silent), the Mailbox server gets ``450 4.7.0 Proxy session setup failed on
Frontend with '<reason>'`` (docs/exchange-reference.md §17 C2) at once, a transient reply it
retries. A transient refusal the remote server gives to MAIL FROM, or to every RCPT of a
transaction before it accepted one, is part of that set-up and gets the same wrapped form, so
the Mailbox server's queue shows what it would show had it sent directly, inside the proxy's
sentence (docs/fidelity.md, "Refusals on the proxied path"); a permanent refusal is relayed as it
is, so the NDR quotes the remote server.

A proxied session never outlives what its client may wait: its inactivity timeout is the
receive connector's ConnectionInactivityTimeout when that is shorter than the send side's, and
the whole session is bounded by the receive connector's ConnectionTimeout, so the CAS answers
its client before the client's session times out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import wraps
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.python.failure import Failure

from labsim.delivery import DNS_FAILURE
from labsim.engine.outbound import (
    ENGINE_ERROR,
    SEND_CONNECTION_INACTIVITY_TIMEOUT,
    SEND_SESSION_LIMIT,
    Established,
    SessionFailure,
    SessionPlan,
    connect_failure_reply,
    failover_reason,
    next_hop_targets,
    open_session,
    plan_for_connector,
    plan_internal,
    proxy_setup_failed,
)
from labsim.engine.receive import InboundTransaction
from labsim.engine.smtp_client import SendTimeouts, SessionEnded
from labsim.engine.world import World
from labsim.model.enums import SendConnectorUsage
from labsim.net.dns import Target
from labsim.policy import texts
from labsim.policy.headers import apply_send_firewall
from labsim.policy.routing import next_hop_for, recipient_domain, select_send_connector
from labsim.smtp import replies
from labsim.smtp.errors import LocalProtocolError
from labsim.smtp.reply import Reply

MAILBOX_DEFAULT_PORT = 2525
NO_MAILBOX_SERVER = Reply(
    451, "Error communicating with target host. No Mailbox server is available", "4.4.0"
)


@dataclass
class ProxySession:
    """The downstream session of one inbound transaction."""

    session: Established
    usage: SendConnectorUsage | None
    """The send connector usage whose header firewall applies (outbound proxy), else None."""
    domain: str
    """The recipient domain the session was opened for (the outbound proxy's next hop)."""
    endpoint: tuple[str, int] = ("", 0)
    """The remote address and port the session went to, as a failover reason names them."""
    in_transaction: bool = True
    """MAIL FROM has been relayed and the transaction is not finished."""
    recipient_accepted: bool = False
    """The remote server accepted a RCPT of the current transaction."""

    @property
    def outbound(self) -> bool:
        """Opened through a send connector (Outbound Proxy Frontend)."""
        return self.usage is not None

    def usable_for(self, domain: str) -> bool:
        """Whether the next transaction of the same inbound session can use it."""
        if self.session.protocol.closed or self.session.protocol.closing:
            return False
        return not self.outbound or domain == self.domain


def _relayed(where: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A relayed command whose downstream session dropped gets the transient reply receive
    sessions give; any other exception is a labsim bug, recorded (never a mail outcome).

    What ``maybeDeferred(...).addErrback`` did, without a Deferred around a reply that is
    ready: a relayed command is one Deferred (the downstream reply) and its callbacks.
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(method)
        def run(self: FrontendTransport, tx: InboundTransaction, *args: Any) -> Any:
            def failed(failure: Failure) -> Reply:
                if not failure.check(SessionEnded):
                    self.world.record_engine_error(
                        self.server_name, f"Front End Transport ({where})", failure
                    )
                return ENGINE_ERROR

            try:
                result = method(self, tx, *args)
            except BaseException:
                return failed(Failure())
            if isinstance(result, Deferred):
                return result.addErrback(failed)
            return result

        return run

    return wrap


CLIENT_GONE = Reply(421, "Connection dropped", "4.4.2")
"""What a relayed command resolves to once the inbound client has gone (never written)."""


class FrontendTransport:
    """Front End Transport of one Client Access server."""

    resolves_recipients = False

    def __init__(self, world: World, server_name: str) -> None:
        self.world = world
        self.server_name = server_name

    @_relayed("RCPT")
    def on_rcpt(self, tx: InboundTransaction, recipient: str) -> Deferred[Reply] | Reply:
        """Open the proxy session on the first RCPT (or reuse the inbound session's one for
        its next transaction, RSET in between), then relay each RCPT.

        Plain callbacks, not a generator: every relayed command of every proxied message
        passes here."""
        current: ProxySession | None = tx.proxy
        if current is not None and not current.usable_for(recipient_domain(recipient)):
            current.session.protocol.quit()
            tx.proxy = current = None
        if current is None:
            opening: Deferred[Any] = self._open(tx, recipient)
            return opening.addCallback(self._opened, tx, recipient)
        if not current.in_transaction:
            mailing = current.session.protocol.mail(tx.mail_from or "", _mail_parameters(tx))
            return mailing.addCallback(_mail_relayed, current, recipient)
        return _relay_rcpt(current, recipient)

    @staticmethod
    def _opened(
        opened: ProxySession | Reply, tx: InboundTransaction, recipient: str
    ) -> Deferred[Reply] | Reply:
        if isinstance(opened, Reply):
            return opened
        if tx.ended:
            # The client left while the proxy session was being set up: end that one too
            # (the reply is never written).
            opened.session.protocol.quit()
            return CLIENT_GONE
        tx.proxy = opened
        return _relay_rcpt(opened, recipient)

    @_relayed("DATA")
    def on_data(self, tx: InboundTransaction) -> Deferred[Reply] | Reply:
        """Relay DATA, or get ready for the message when the downstream server offered CHUNKING.

        A proxied message goes downstream as one ``BDAT <n> LAST`` whenever the next server
        offered CHUNKING, whether the client used DATA or BDAT: the proxy holds the whole
        message before it answers anyway (it relays the downstream reply to the message), and
        Exchange's own send side always prefers BDAT (docs/fidelity.md, "CHUNKING and BDAT")."""
        proxy: ProxySession = tx.proxy
        if proxy.session.protocol.chunking:
            return replies.START_MAIL_INPUT
        return proxy.session.protocol.data()

    @_relayed("message")
    def on_message(self, tx: InboundTransaction, content: bytes) -> Deferred[Reply]:
        """Relay the message; the downstream reply is the answer."""
        proxy: ProxySession = tx.proxy
        if proxy.usage is not None:
            content = apply_send_firewall(content, proxy.usage)
        protocol = proxy.session.protocol
        sending = protocol.bdat(content) if protocol.chunking else protocol.message(content)
        return sending.addCallback(_message_relayed, proxy)

    def on_reset(self, tx: InboundTransaction) -> None:
        """RSET from the client, or a message this CAS refused itself: reset the downstream
        transaction too. A downstream session inside DATA (relayed, and the message refused
        here before it went on) cannot take RSET: it is dropped, so the server there discards
        the partial message, and the client's next transaction opens a new one."""
        proxy: ProxySession | None = tx.proxy
        if proxy is None or not proxy.in_transaction or proxy.session.protocol.closed:
            return
        protocol = proxy.session.protocol
        try:
            resetting = protocol.rset()
        except LocalProtocolError:
            protocol.abort()
            tx.proxy = None
            return
        resetting.addErrback(lambda _: None)
        proxy.in_transaction = False

    def on_close(self, tx: InboundTransaction) -> None:
        """The inbound session ended (QUIT or a lost connection): end the downstream one."""
        if tx.proxy is not None:
            tx.proxy.session.protocol.quit()
            tx.proxy = None

    @inlineCallbacks
    def _open(self, tx: InboundTransaction, recipient: str) -> Any:
        org = self.world.organization_of(self.server_name)
        cas = self.world.server(self.server_name)
        domain = recipient_domain(recipient)
        usage: SendConnectorUsage | None = None
        plan: SessionPlan
        # Outbound proxying is for a Mailbox server of the organization that proved it is one
        # (X-EXPS); its address alone proves nothing (docs/exchange-reference.md §17 C5).
        relaying_server = org.server(tx.exchange_server) if tx.exchange_server else None
        outbound = relaying_server is not None and relaying_server.is_mailbox
        if not outbound:
            # Inbound: to a Mailbox server of this organization (which also routes relay domains).
            mailbox_servers = [s for s in org.servers if s.is_mailbox]
            if not mailbox_servers:
                return NO_MAILBOX_SERVER
            targets = [Target(s.fqdn, s.address, 0) for s in mailbox_servers]
            plan = plan_internal(self.world, cas, MAILBOX_DEFAULT_PORT, domain)
        else:
            source = relaying_server
            decision = select_send_connector(
                org, domain, source.name if source else self.server_name
            )
            self.world.explain(cas.name, "outbound proxy: " + decision.explanation)
            if decision.connector is None or decision.next_hop is None:
                return decision.reply or Reply(550, "ROUTING.NoConnectorForAddressType", "5.4.4")
            connector, hop = decision.connector, decision.next_hop
            if hop.is_relay:
                # The Mailbox server only proxies through a connector it sources; when its
                # configuration changed under the message, the CAS still sends through the
                # connector the Mailbox server chose, as a proxy has no queue to relay from.
                hop = next_hop_for(org, connector, domain)
            usage = connector.usage
            plan = plan_for_connector(self.world, cas, connector, hop, via_frontend_proxy=True)
            self.world.explain(cas.name, plan.policy.explanation if plan.policy else "")
            targets = yield next_hop_targets(self.world, hop, cas.name)
        receive = tx.connector
        plan = replace(
            plan,
            timeouts=SendTimeouts(
                min(
                    SEND_CONNECTION_INACTIVITY_TIMEOUT,
                    receive.connection_inactivity_timeout.total_seconds(),
                ),
                min(SEND_SESSION_LIMIT, receive.connection_timeout.total_seconds()),
            ),
        )
        failure: SessionFailure | None = None
        for target in targets:
            result = yield open_session(self.world, plan, target)
            if tx.record is not None and result.record is not None:
                tx.record.downstream.append(result.record.number)
            if isinstance(result, SessionFailure):
                failure = result
                continue
            proxy = ProxySession(
                result,
                usage,
                domain,
                (
                    result.target.address,
                    self.world.network.endpoint_port(result.target.address, plan.port),
                ),
            )
            mail: Reply = yield result.protocol.mail(tx.mail_from or "", _mail_parameters(tx))
            if not mail.is_positive_completion:
                result.protocol.quit()
                return _setup_refusal(proxy, mail)
            return proxy
        if outbound:
            reason = (
                failover_reason(
                    failure, self.world.network.endpoint_port(failure.target.address, plan.port)
                )
                if failure is not None and failure.target is not None
                else DNS_FAILURE
            )
            self.world.explain(cas.name, f"outbound proxy: no session to {domain}: {reason}")
            return proxy_setup_failed(reason)
        if failure is not None:
            return failure.reply
        return connect_failure_reply(Target(domain, "", 0), plan.port)


def _mail_relayed(mail: Reply, current: ProxySession, recipient: str) -> Deferred[Reply] | Reply:
    """MAIL FROM of the inbound session's next transaction was answered downstream."""
    if not mail.is_positive_completion:
        return _setup_refusal(current, mail)
    current.in_transaction = True
    current.recipient_accepted = False
    return _relay_rcpt(current, recipient)


def _relay_rcpt(current: ProxySession, recipient: str) -> Deferred[Reply]:
    return current.session.protocol.rcpt(recipient).addCallback(_rcpt_relayed, current)


def _rcpt_relayed(reply: Reply, current: ProxySession) -> Reply:
    if reply.is_positive_completion:
        current.recipient_accepted = True
    elif not current.recipient_accepted:
        return _setup_refusal(current, reply)
    return reply


def _message_relayed(reply: Reply, proxy: ProxySession) -> Reply:
    # The downstream session stays with the inbound session for its next transaction.
    proxy.in_transaction = False
    return reply


def _setup_refusal(proxy: ProxySession, reply: Reply) -> Reply:
    """What the client gets when the remote server refuses the proxied transaction before it
    accepted a recipient: on the outbound proxy a transient refusal is the proxy session's
    set-up failing (docs/exchange-reference.md §17 C1, C2), as the Mailbox server's queue must
    show it; a permanent one, and any refusal on the inbound path (where the Mailbox server
    answers for itself), is relayed as it is."""
    if not proxy.outbound or not reply.is_transient:
        return reply
    address, port = proxy.endpoint
    return proxy_setup_failed(texts.failover_reason(reply, address, port))


def _mail_parameters(tx: InboundTransaction) -> dict[str, str | None]:
    size = tx.mail_parameters.get("SIZE")
    return {"SIZE": size} if size else {}
