"""STARTTLS on a lab connection: labsim's own TLS transport, OpenSSL reading and writing the
socket itself.

Why: Twisted's ``transport.startTLS`` puts a memory-BIO layer (``TLSMemoryBIOProtocol``)
between the socket and the protocol. Each read went TCP → ``dataReceived`` → ``bio_write`` → a
``recv`` loop ending in a ``WantReadError`` → ``bio_read`` ending in another → the protocol;
each write went through four Python layers; and every session built its layer with about ten
``directlyProvides`` calls. In the live benchmark that edge was a large share of the lab's CPU
per message (bench/README.md, "Live lab: the edge"). Here the connection the lab accepted or
opened (:class:`LabTlsConnection`, the base of :mod:`labsim.net.loopback`'s classes) keeps its
protocol, and its ``doRead``/``doWrite``/``write`` call ``SSL.Connection.recv``/``send`` on a
connection made over the socket's descriptor.

What the protocol sees is what Twisted's layer gave it (the engine's logs and replies on
handshake failures depend on it):

* ``write``/``writeSequence`` encrypt and send at once (as :mod:`labsim.net.loopback` sends
  plain data); what the socket does not take waits for the reactor's ``doWrite`` (OpenSSL is
  given the rest of the same buffer). Writes during the handshake wait for its end.
* A read takes one TLS record (OpenSSL's read-ahead is off, so further records wait in the
  socket, where the reactor sees them): no ``WantReadError`` per read.
* ``getHandle()`` is the ``SSL.Connection``; ``handshakeCompleted()`` of an
  ``IHandshakeListener`` protocol is called once.
* ``loseConnection`` sends close_notify and closes once the peer's close_notify (or its end of
  the connection) arrives; during the handshake it aborts. ``abortConnection`` sends close_notify
  when it can and resets the connection.
* ``connectionLost``'s reason: the OpenSSL error that ended TLS (a failed handshake: ``SSL.Error``);
  ``ConnectionLost`` when the peer's end came without close_notify (an EOF OpenSSL reports,
  a socket error, a reset, an abort); ``ConnectionDone`` after a close_notify exchange.

A connection with plain data still unsent when TLS starts, a connection creator that cannot
make a connection over a socket, and any other transport take Twisted's ``startTLS``, unchanged
but for two things kept from before: its layer writes TLS records at once (``write`` and
``writeSequence`` unbuffered, both, so data keeps its order), and zope.interface's declarations
for that layer stay cached between sessions (:data:`_HELD`).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from types import MethodType
from typing import Any
from typing import Protocol as TypingProtocol

from OpenSSL import SSL
from twisted.internet import abstract
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IHandshakeListener
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import providedBy
from zope.interface.declarations import Provides

_HELD: dict[tuple[type, type], list[Any]] = {}
"""The declarations kept alive for Twisted's TLS layer, by (layer class, connection class)."""

RECORD_PLAINTEXT = 16384
"""The most plain text one TLS record carries: one ``recv`` takes a whole record."""

# The states of a lab connection's TLS (None before STARTTLS).
_HANDSHAKE, _OPEN, _ENDED = 1, 2, 3


def start_tls(transport: Any, creator: Any) -> None:
    """Start TLS on ``transport`` with the connection creator ``creator`` (labsim.engine.tls):
    labsim's own transport on a lab connection, Twisted's ``startTLS`` elsewhere (module
    docstring)."""
    if isinstance(transport, LabTlsConnection) and transport.can_start_tls(creator):
        transport.start_lab_tls(creator)
        return
    _twisted_start_tls(transport, creator)


def _twisted_start_tls(transport: Any, creator: Any) -> None:
    transport.startTLS(creator)
    layer = transport.protocol
    layer.write = MethodType(TLSMemoryBIOProtocol.write, layer)
    layer.writeSequence = MethodType(TLSMemoryBIOProtocol.writeSequence, layer)
    layer_class = type(layer)
    key = (layer_class, type(transport))
    if key not in _HELD:
        # The same calls Twisted's makeConnection made: zope returns its cached declarations.
        _HELD[key] = [Provides(layer_class, interface) for interface in providedBy(transport)]


class HandshakeOffload(TypingProtocol):
    """Runs handshake steps outside the reactor's thread (a live lab's worker,
    :class:`labsim.engine.tls.HandshakeThreads`)."""

    def run(self, step: Callable[[], object], done: Callable[[BaseException | None], None]) -> None:
        """Run ``step`` elsewhere; then call ``done`` with what it raised (None if nothing)
        in the reactor's thread."""

    def keep(self, connection: SSL.Connection | None) -> bool:
        """Whether the next steps of ``connection``'s handshake should run elsewhere too
        (not once a session is resumed: the rest is cheap)."""


def represents_eof(error: SSL.Error) -> bool:
    """Whether OpenSSL's ``error`` means the peer's end of the connection came without
    close_notify (as Twisted's TLS layer judges it), or a socket error ended it."""
    if isinstance(error, SSL.SysCallError):
        # (-1, "Unexpected EOF") or an errno (a reset): Twisted's TCP layer saw those as
        # ConnectionLost before its TLS layer did.
        return True
    queue = error.args[0] if error.args else None
    if not queue:
        return True
    return str(queue[-1][-1]).casefold().startswith("unexpected eof")


class LabTlsConnection(abstract.FileDescriptor):
    """A TCP connection of the lab that can run TLS itself (module docstring).

    Mixed in before ``tcp.Server``/``tcp.Client``; until :meth:`start_lab_tls` every method
    is Twisted's own.
    """

    socket: socket.socket  # set by tcp.Connection
    protocol: Any

    _tls: SSL.Connection | None = None
    _tls_state: int | None = None
    _tls_out: memoryview | None = None
    """Plain text OpenSSL has not taken yet (the socket was full): given again first."""
    _tls_later: list[bytes] | None = None
    """Plain text written after it (or during the handshake), in order."""
    _tls_closing = False
    """The protocol asked to close: close_notify goes once everything written is sent."""
    _tls_reason: Failure | None = None
    """What ended TLS, for connectionLost (None: the TCP layer's reason)."""
    _tls_writing = False
    """Registered with the reactor for writability (OpenSSL wants to write)."""
    _tls_reset = False
    """The connection was aborted: the socket closes with a reset, as Twisted's would."""
    _tls_offload: HandshakeOffload | None = None
    """Where this connection's handshake steps run, when not here (a live lab's worker)."""
    _tls_in_thread = False
    """A handshake step runs in the worker: nothing here touches the SSL.Connection."""
    _tls_held_abort = False
    """An abort asked for while a step ran in the worker, done once it is back."""

    def can_start_tls(self, creator: Any) -> bool:
        """Whether this connection can run TLS itself: nothing plain left unsent, and a
        creator that makes connections over a socket."""
        return bool(
            self._tls_state is None
            and getattr(creator, "client_side", None)
            is bool(getattr(self, "_tlsClientDefault", False))
            and not self._tempDataBuffer
            and len(self.dataBuffer) == self.offset
            and self.connected
            and not self.disconnecting
        )

    def start_lab_tls(self, creator: Any) -> None:
        """Switch to TLS: the next bytes on the wire are the handshake's."""
        self._tls = creator.connection_over(self.socket)
        self._tls_state = _HANDSHAKE
        self._tls_later = []
        if not creator.client_side:
            self._tls_offload = self.handshake_offload()
        if creator.client_side:
            # The ClientHello goes now; a server waits for it (the reactor reports it readable).
            self._tls_handshake()

    # --- reading ------------------------------------------------------------------------------

    def doRead(self) -> Any:  # noqa: N802 - Twisted's name
        state = self._tls_state
        if state is None:
            return super().doRead()
        if state == _ENDED:
            # Reading stopped when TLS ended; bytes after it are never taken as plain text.
            return None
        if state == _HANDSHAKE:
            self._tls_handshake()
            return None
        tls = self._tls
        assert tls is not None
        try:
            data = tls.recv(RECORD_PLAINTEXT)
        except SSL.WantReadError:
            return None
        except SSL.ZeroReturnError:
            # The peer's close_notify: answer it and close (the reason stays ConnectionDone).
            self._tls_end(None)
            return None
        except SSL.WantWriteError:
            self._want_writable()
            return None
        except SSL.Error as err:
            self._tls_end(err)
            return None
        self.protocol.dataReceived(data)
        if self._tls_out is not None and not self._tls_writing and self._tls_state == _OPEN:
            # A send that waited for a read (a renegotiation) may go on now.
            self._tls_flush()
        return None

    def handshake_offload(self) -> HandshakeOffload | None:
        """Where the server-side handshake steps of this connection run instead of the
        reactor's thread; None (here) unless a subclass says otherwise."""
        return None

    def _tls_handshake(self) -> None:
        tls = self._tls
        assert tls is not None
        offload = self._tls_offload
        if offload is not None:
            # The step runs in the worker; meanwhile the reactor neither reads nor writes this
            # connection, and a close waits (nothing else may touch the SSL.Connection).
            self._tls_in_thread = True
            abstract.FileDescriptor.stopReading(self)
            if self._tls_writing:
                self._tls_writing = False
                abstract.FileDescriptor.stopWriting(self)
            offload.run(tls.do_handshake, self._tls_step_done)
            return
        try:
            tls.do_handshake()
        except SSL.Error as err:
            self._tls_after_step(err)
            return
        self._tls_after_step(None)

    def _tls_step_done(self, error: BaseException | None) -> None:
        """A handshake step came back from the worker (in the reactor's thread)."""
        self._tls_in_thread = False
        offload = self._tls_offload
        if offload is not None and not (
            isinstance(error, SSL.WantReadError | SSL.WantWriteError) and offload.keep(self._tls)
        ):
            # Done, failed, or resumed (the rest is cheap): later steps run here.
            self._tls_offload = None
        if self._tls_held_abort:
            self._tls_held_abort = False
            self.abortConnection()
            return
        abstract.FileDescriptor.startReading(self)
        self._tls_after_step(error)

    def _tls_after_step(self, error: BaseException | None) -> None:
        if isinstance(error, SSL.WantReadError):
            return
        if isinstance(error, SSL.WantWriteError):
            self._want_writable()
            return
        if isinstance(error, SSL.Error):
            self._tls_end(error)
            return
        if error is not None:
            raise error  # a bug, not the peer: the reactor logs it
        self._tls_state = _OPEN
        self._tls_offload = None
        if self._tls_writing:
            self._tls_writing = False
            abstract.FileDescriptor.stopWriting(self)
        if IHandshakeListener.providedBy(self.protocol):
            self.protocol.handshakeCompleted()
        if self._tls_state == _OPEN and (self._tls_later or self._tls_closing):
            self._tls_flush()

    # --- writing ------------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        state = self._tls_state
        if state is None:
            super().write(data)
            return
        # As Twisted's TLS layer: nothing is written once the protocol closed or TLS ended.
        if state == _ENDED or self._tls_closing or not self.connected:
            return
        later = self._tls_later
        assert later is not None
        if state == _HANDSHAKE or self._tls_out is not None or later:
            later.append(data)
            return
        self._tls_out = memoryview(data)
        self._tls_flush()

    def writeSequence(self, iovec: Any) -> None:  # noqa: N802 - Twisted's name
        if self._tls_state is None:
            super().writeSequence(iovec)
            return
        self.write(b"".join(iovec))

    def _tls_flush(self) -> None:
        """Hand OpenSSL what is waiting, until the socket is full; then close if asked."""
        tls = self._tls
        assert tls is not None
        later = self._tls_later
        assert later is not None
        while True:
            view = self._tls_out
            if view is None:
                if not later:
                    break
                view = self._tls_out = memoryview(later[0] if len(later) == 1 else b"".join(later))
                later.clear()
            try:
                # pyOpenSSL's contexts allow partial writes (a record at a time) and a moved
                # buffer: what OpenSSL did not take is given again when the socket has room.
                while view:
                    view = view[tls.send(view) :]
            except SSL.WantWriteError:
                self._tls_out = view
                self._want_writable()
                return
            except SSL.WantReadError:
                self._tls_out = view
                return  # doRead goes on once the peer's records are read
            except SSL.Error as err:
                self._tls_out = None
                self._tls_end(err)
                return
            self._tls_out = None
        if self._tls_writing:
            self._tls_writing = False
            abstract.FileDescriptor.stopWriting(self)
        if self._tls_closing and self._tls_state == _OPEN:
            self._tls_shutdown()

    def _want_writable(self) -> None:
        if not self._tls_writing:
            self._tls_writing = True
            abstract.FileDescriptor.startWriting(self)

    def doWrite(self) -> Any:  # noqa: N802 - Twisted's name
        state = self._tls_state
        if state is None or state == _ENDED:
            return super().doWrite()
        if state == _HANDSHAKE:
            self._tls_handshake()
        else:
            self._tls_flush()
        return None

    # --- closing ------------------------------------------------------------------------------

    def loseConnection(self, _connDone: Any = None) -> None:  # noqa: N802, N803 - Twisted's
        state = self._tls_state
        if state is None:
            super().loseConnection()
            return
        if state == _ENDED or self._tls_closing or not self.connected or self.disconnecting:
            return
        if state == _HANDSHAKE and not self._tls_later:
            # As Twisted's layer: OpenSSL cannot close a handshake half done.
            self.abortConnection()
            return
        self._tls_closing = True
        if state == _OPEN and self._tls_out is None and not self._tls_later:
            self._tls_shutdown()

    def _tls_shutdown(self) -> None:
        """Send close_notify; close at once when the peer's has come already."""
        tls = self._tls
        assert tls is not None
        try:
            done = tls.shutdown()
        except SSL.Error:
            done = False
        if done:
            self._tls_state = _ENDED
            abstract.FileDescriptor.loseConnection(self)

    def _tls_end(self, error: SSL.Error | None) -> None:
        """TLS is over: the peer's close_notify (``error`` None, answered with ours) or an
        error (OpenSSL has sent its alert). The connection closes after what is queued."""
        if error is None:
            with contextlib.suppress(SSL.Error):
                self._tls.shutdown()  # type: ignore[union-attr]
        elif self._tls_reason is None:
            self._tls_reason = Failure(ConnectionLost() if represents_eof(error) else error)
        self._tls_state = _ENDED
        if self._tls_writing:
            self._tls_writing = False
            abstract.FileDescriptor.stopWriting(self)
        abstract.FileDescriptor.loseConnection(self)

    def abortConnection(self) -> None:  # noqa: N802 - Twisted's name
        if self._tls_in_thread:
            self._tls_held_abort = True
            return
        if self._tls_state is not None and self._tls_state != _ENDED:
            # As Twisted's layer: close_notify if the handshake is done, then the reset.
            with contextlib.suppress(SSL.Error):
                self._tls.shutdown()  # type: ignore[union-attr]
            if self._tls_reason is None:
                self._tls_reason = Failure(ConnectionLost())
            self._tls_state = _ENDED
        super().abortConnection()  # type: ignore[misc]

    def connectionLost(self, reason: Failure) -> None:  # noqa: N802 - Twisted's name
        if self._tls_state is not None:
            # The socket closes as the TCP layer's reason says (an abort resets it); the
            # protocol hears what ended TLS.
            self._tls_reset = bool(reason.check(ConnectionAborted))
            if self._tls_reason is not None:
                reason = self._tls_reason
            elif self._tls_state != _ENDED or not reason.check(ConnectionDone):
                # The connection ended under TLS without a close_notify exchange.
                reason = Failure(ConnectionLost())
            self._tls_reason = None
            self._tls_later = None
            self._tls_out = None
        super().connectionLost(reason)

    def _closeSocket(self, orderly: bool) -> None:  # noqa: N802 - Twisted's name
        super()._closeSocket(orderly and not self._tls_reset)  # type: ignore[misc]

    # --- what the engine reads ----------------------------------------------------------------

    def getHandle(self) -> Any:  # noqa: N802 - Twisted's name
        """The ``SSL.Connection`` once TLS started, the socket before (as Twisted's)."""
        if self._tls is not None:
            return self._tls
        return super().getHandle()  # type: ignore[misc]

    def getPeerCertificate(self) -> Any:  # noqa: N802 - Twisted's name
        """The peer's certificate (pyOpenSSL), as Twisted's TLS transports give it."""
        return self._tls.get_peer_certificate() if self._tls is not None else None
