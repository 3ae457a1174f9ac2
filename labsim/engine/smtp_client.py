"""The Twisted adapter of an outbound SMTP session: bytes ↔ :class:`labsim.smtp.ClientSession`.

Each command returns a Deferred that fires with the server's :class:`Reply` (pipelining-safe:
replies are matched to commands in order by the sans-io core). STARTTLS switches the transport
to TLS and fires when the handshake completes. Every line sent and received goes to the
session's protocol log (docs/exchange-reference.md §7.3, send side).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import Protocol as TypingProtocol

from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from labsim.logs.protocol_log import NULL_SESSION, format_endpoint
from labsim.net.starttls import start_tls
from labsim.pki.memo import memo_by_identity
from labsim.smtp.client import ClientSession
from labsim.smtp.errors import LocalProtocolError
from labsim.smtp.events import ConnectionClosed, ProtocolViolation, ReplyReceived, UnsolicitedReply
from labsim.smtp.reply import Reply


class SessionEnded(Exception):
    """The connection closed while a reply was awaited."""


@dataclass(frozen=True)
class SendTimeouts:
    """The send side's session timeouts, in lab seconds."""

    inactivity: float
    """How long the server may stay silent while the client waits for it."""
    session: float
    """How long the whole session may last."""


class LabTimers(TypingProtocol):
    """The part of the lab clock the session needs (``labsim.clock.LabClock``)."""

    def seconds(self) -> float: ...

    def call_at(self, when: float, action: Callable[[], object]) -> Any: ...


@memo_by_identity()
def reply_log_lines(reply: Reply) -> tuple[str, ...]:
    """How the send log shows a reply: one record per line as the wire carried it
    (``250-SIZE 37748736`` … ``250 8BITMIME``), as Exchange 2013 writes it
    (docs/exchange-reference.md §17 C4)."""
    # Split on the wire's CRLF only: a line's text never holds one, while other separators
    # that str.splitlines honours (a hostile server's \x1c, \u2028) stay inside their record.
    return tuple(reply.to_bytes().decode("utf-8").split("\r\n")[:-1])


@implementer(IHandshakeListener)
class SmtpClientProtocol(Protocol):
    """One outbound SMTP connection."""

    @property
    def _tcp(self) -> Any:
        # The TCP transport (later TLS-wrapped); typed Any because Twisted's ITransport lacks
        # startTLS/getHandle/setTcpNoDelay and the attribute is Optional.
        return self.transport

    def __init__(
        self,
        log: Any,
        now: Callable[[], Any],
        on_closed: Callable[[], None],
        *,
        clock: LabTimers | None = None,
        timeouts: SendTimeouts | None = None,
    ) -> None:
        self.session = ClientSession()
        self.log = log
        self._now = now
        self._on_closed = on_closed
        self._waiting: deque[Deferred[Reply]] = deque()
        self.greeting: Deferred[Reply] = Deferred()
        self._waiting.append(self.greeting)
        self.ready: Deferred[SmtpClientProtocol] = Deferred()
        self._handshake: Deferred[None] | None = None
        self.closed = False
        self.closing = False
        """A 421 arrived or the lab dropped the session: no command can get a reply."""
        self.timed_out = False
        """The session was dropped by the send side's timeouts."""
        self._clock = clock
        self._timeouts = timeouts
        self._started = self._last_activity = 0.0
        self._timer: Any = None

    # --- Twisted callbacks -------------------------------------------------------------------

    def connectionMade(self) -> None:  # noqa: N802
        """Log the connection and disable Nagle (every reply is waited for)."""
        self._tcp.setTcpNoDelay(True)
        if self.log is not NULL_SESSION:
            # The OS chose the source port only now; the send log shows the real endpoint.
            host = self._tcp.getHost()
            self.log.local_endpoint = format_endpoint(host.host, host.port)
        self.log.connect(self._now())
        if self._clock is not None and self._timeouts is not None:
            self._started = self._last_activity = self._clock.seconds()
            self._arm_timeout()
        self.ready.callback(self)

    def _arm_timeout(self) -> None:
        # One timer per session, re-armed only when it fires early: nothing per command.
        assert self._clock is not None and self._timeouts is not None
        due = min(
            self._started + self._timeouts.session,
            self._last_activity + self._timeouts.inactivity,
        )
        self._timer = self._clock.call_at(due, self._check_timeout)

    def _check_timeout(self) -> None:
        self._timer = None
        if self.closed or self._clock is None or self._timeouts is None:
            return
        now = self._clock.seconds()
        waiting = bool(self._waiting) or self._handshake is not None
        silent = waiting and now >= self._last_activity + self._timeouts.inactivity
        if now < self._started + self._timeouts.session and not silent:
            if not waiting:
                # The lab's own pause (a session kept for the next transaction) is not the
                # server's silence; the server's receive timeouts bound that.
                self._last_activity = now
            self._arm_timeout()
            return
        self.timed_out = True
        self.closing = True
        self._tcp.abortConnection()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        """Feed the sans-io core and hand out replies."""
        if self._clock is not None:
            self._last_activity = self._clock.seconds()
        self.session.receive_data(data)
        self._pump()

    def handshakeCompleted(self) -> None:  # noqa: N802
        """The TLS handshake finished."""
        if self._handshake is not None:
            d, self._handshake = self._handshake, None
            d.callback(None)

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: N802, B008
        """Fail everything still waiting; a handshake in progress fails with the TLS error.

        The disconnect is logged last: whoever waited may log why the session failed (the
        session's ``TLS negotiation failed`` line), and nothing may follow the ``-`` line.
        """
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._handshake is not None:
            # The handshake's failure is logged here, before the disconnect (the log takes no
            # record after it); open_session only turns it into the session's outcome.
            self.log.info(
                self._now(), "", f"TLS negotiation failed with error {type(reason.value).__name__}"
            )
            handshake, self._handshake = self._handshake, None
            handshake.errback(reason)
        waiting, self._waiting = self._waiting, deque()
        for d in waiting:
            d.errback(Failure(SessionEnded(str(reason.value))))
        self.log.disconnect(self._now(), "Local")
        self._on_closed()

    # --- commands ----------------------------------------------------------------------------

    def _log_reply(self, reply: Reply) -> None:
        if self.log is NULL_SESSION:
            return  # a connector that does not log costs no clock read
        now = self._now()
        for line in reply_log_lines(reply):
            self.log.received(now, line)

    def _pump(self) -> None:
        while True:
            event = self.session.next_event()
            if isinstance(event, ReplyReceived):
                self._log_reply(event.reply)
                if event.reply.code == 421 and not self.closing:
                    # The server is closing the channel: close our side once it has been read.
                    self.closing = True
                    self._tcp.loseConnection()
                if self._waiting:
                    self._waiting.popleft().callback(event.reply)
            elif isinstance(event, UnsolicitedReply):
                self._log_reply(event.reply)
            elif isinstance(event, ProtocolViolation):
                self.log.info(self._now(), event.description)
                self.closing = True
                self._tcp.abortConnection()
                return
            elif isinstance(event, ConnectionClosed):
                return
            else:
                return

    def command(self, data: bytes, *, log_line: str | None = None) -> Deferred[Reply]:
        """Write a command produced by the core and wait for its reply.

        On a closed or closing session the command fails at once with :class:`SessionEnded`,
        unlogged: no reply can come, and the protocol log has written (or is about to write)
        the session's last line.
        """
        if self.closed or self.closing:
            return fail(SessionEnded("the session has already ended"))
        if self.log is not NULL_SESSION:
            line = (
                log_line if log_line is not None else data.decode("ascii", "replace").rstrip("\r\n")
            )
            self.log.sent(self._now(), line)
        if self._clock is not None:
            self._last_activity = self._clock.seconds()
        d: Deferred[Reply] = Deferred()
        self._waiting.append(d)
        self._tcp.write(data)
        return d

    def ehlo(self, name: str) -> Deferred[Reply]:
        """EHLO."""
        return self.command(self.session.send_ehlo(name))

    def helo(self, name: str) -> Deferred[Reply]:
        """HELO."""
        return self.command(self.session.send_helo(name))

    def starttls(self) -> Deferred[Reply]:
        """STARTTLS (the caller starts TLS on a 220)."""
        return self.command(self.session.send_starttls())

    def start_tls(self, creator: Any) -> Deferred[None]:
        """Switch the transport to TLS; fires when the handshake completed."""
        self._handshake = Deferred()
        d = self._handshake
        if self._clock is not None:
            self._last_activity = self._clock.seconds()
        start_tls(self._tcp, creator)
        return d

    def exps(self, mechanism: str) -> Deferred[Reply]:
        """X-EXPS (Exchange Server authentication); a 334 carries the challenge."""
        return self.command(self.session.send_exps(mechanism))

    def auth_response(self, response: str) -> Deferred[Reply]:
        """The answer to a 334 challenge; never logged (Exchange masks credentials)."""
        return self.command(
            self.session.send_auth_response(response), log_line="<authentication response>"
        )

    def mail(
        self, address: str, parameters: dict[str, str | None] | None = None
    ) -> Deferred[Reply]:
        """MAIL FROM."""
        return self.command(self.session.send_mail(address, parameters))

    def rcpt(self, address: str) -> Deferred[Reply]:
        """RCPT TO."""
        return self.command(self.session.send_rcpt(address))

    def data(self) -> Deferred[Reply]:
        """DATA."""
        return self.command(self.session.send_data())

    def message(self, content: bytes) -> Deferred[Reply]:
        """The message content (dot-stuffed by the core); logged as Exchange does, not in full."""
        return self.command(
            self.session.send_message(content), log_line=f"<message {len(content)} bytes>"
        )

    @property
    def chunking(self) -> bool:
        """The server's EHLO offered CHUNKING: the message goes as ``BDAT <n> LAST``."""
        return "CHUNKING" in self.session.extensions

    def bdat(self, content: bytes) -> Deferred[Reply]:
        """The whole message as one ``BDAT <n> LAST`` chunk; the send log shows only the
        command line (``>,BDAT 4596 LAST,``), as Exchange's does, then the reply."""
        data = self.session.send_bdat(content)
        line_end = data.index(b"\r\n")
        return self.command(data, log_line=data[:line_end].decode("ascii"))

    def rset(self) -> Deferred[Reply]:
        """RSET."""
        return self.command(self.session.send_rset())

    def quit(self) -> None:
        """QUIT, then close without waiting for more than the reply."""
        if self.closed:
            return
        if self.closing:
            self._tcp.loseConnection()
            return
        try:
            data = self.session.send_quit()
        except LocalProtocolError:
            # Mid-DATA (the Front End proxy's client vanished while sending the message) a QUIT
            # would be read as message text: drop the connection instead, so the server discards
            # the partial message. Raising here escaped connectionLost as an unhandled error and
            # left the proxy session open, so the lab never became idle.
            self.abort()
            return
        d = self.command(data)
        d.addBoth(lambda _: self._tcp.loseConnection())
        d.addErrback(lambda _: None)

    def abort(self) -> None:
        """Drop the connection at once."""
        if not self.closed:
            self._tcp.abortConnection()


class SmtpClientFactory(ClientFactory):
    """Builds one :class:`SmtpClientProtocol`; reports connection failures."""

    # One factory per session: Twisted would log "Starting factory" / "Stopping factory" for each.
    noisy = False

    def __init__(self, make: Callable[[], SmtpClientProtocol]) -> None:
        self._make = make
        self.result: Deferred[SmtpClientProtocol] = Deferred()

    def buildProtocol(self, addr: Any) -> SmtpClientProtocol:  # noqa: N802
        """Make the protocol and chain its connected Deferred."""
        proto = self._make()
        proto.ready.chainDeferred(self.result)
        return proto

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:  # noqa: N802
        """Connecting failed (refused, unreachable)."""
        if not self.result.called:
            self.result.errback(reason)
