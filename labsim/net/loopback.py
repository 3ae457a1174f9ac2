"""Real TCP on loopback: every simulated server has its own 127.x address
(docs/exchange-reference.md §16 D12).

Configuration and logs keep Exchange's port numbers (25, 587, 717, 2525, 465); sockets bind that
port plus one lab-wide offset, so that no root privilege is needed and labs can run side by
side. Every address is checked to lie in 127.0.0.0/8 before a socket is opened: the lab must
never send a packet anywhere else.

The offset belongs to the lab's own listeners, so it is added on connect too, to every address
but one kind: the address of an *outside organization* (real mail software the lab file names,
``labsim.model.lab.OutsideOrganization``). There nothing of the lab listens, so ports are real
ports, and Exchange's SMTP port 25 (a send connector's default ``-Port``) is the port the lab
file gives for that server. The exception lives here, where Exchange ports become socket ports,
so that routing and connectors keep speaking Exchange ports for every host alike; logs show
:meth:`Network.endpoint_port`, which is the outside server's own port (the one its log shows).

Connections write eagerly (:class:`LoopbackServer`, :class:`LoopbackClient`): Twisted buffers
every write until the reactor's next turn reports the socket writable, so each SMTP reply, TLS
flight and QUIT cost two reactor turns, one to send and one for the peer to read. On loopback the
socket buffer takes a whole flight, so the lab sends at once and the peer reads it on the next
turn. A write that does not fit, one made while closing, and any socket error take Twisted's
own path unchanged. After STARTTLS the same classes run TLS themselves
(:class:`labsim.net.starttls.LabTlsConnection`): OpenSSL writes each record to the socket.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any

from twisted.internet import abstract, tcp
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import ClientFactory, Factory
from zope.interface import implementedBy, implementer_only

from labsim.errors import ConfigError
from labsim.net.starttls import HandshakeOffload, LabTlsConnection

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")

LISTEN_BACKLOG = 1024
SMTP_PORT = 25
"""Exchange's SMTP port: what a send connector dials unless ``-Port`` says otherwise."""


@functools.lru_cache(maxsize=1024)
def require_loopback(address: str) -> str:
    """Return ``address`` if it lies in 127.0.0.0/8, else refuse it."""
    try:
        ok = ipaddress.IPv4Address(address) in LOOPBACK
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(
            f"address '{address}' is outside 127.0.0.0/8; every simulated server must use a "
            "loopback address such as 127.0.10.1"
        )
    return address


class _EagerWrites(abstract.FileDescriptor):
    """Send new data from ``startWriting`` when nothing is waiting in Twisted's buffer.

    Every write (the TLS layer's included, which calls ``FileDescriptor.write`` past the
    connection's own ``write``) appends to ``_tempDataBuffer`` and calls ``startWriting``. When
    no earlier data is still unsent, this sends the new data now; what the socket does not take
    stays in ``dataBuffer`` and the reactor's ``doWrite`` sends it, as before. ``startWriting``
    with nothing new (``loseConnection`` calls it), or during a close or a half-close, keeps
    Twisted's behaviour, so closing still runs through ``doWrite``.
    """

    socket: socket.socket  # set by tcp.Connection

    def startWriting(self) -> None:
        if (
            self._tempDataBuffer
            and len(self.dataBuffer) == self.offset
            and self.connected
            and not self.disconnecting
            and not self._writeDisconnecting
            and self.producer is None
        ):
            data = b"".join(self._tempDataBuffer)
            try:
                sent = self.socket.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                # Leave it to doWrite, which turns the error into connectionLost.
                super().startWriting()
                return
            self._tempDataBuffer = []
            self._tempDataLen = 0
            self.dataBuffer = data[sent:] if sent < len(data) else b""
            self.offset = 0
            if not self.dataBuffer:
                return
        super().startWriting()


# The same interfaces as Twisted's classes, declared on the class itself: Twisted's TLS layer
# walks them on every STARTTLS, and a flat declaration spares it the walk up the class tree.
@implementer_only(*implementedBy(tcp.Server))
class LoopbackServer(LabTlsConnection, _EagerWrites, tcp.Server):
    """An accepted connection that writes eagerly (module docstring) and runs STARTTLS with
    labsim's own TLS transport (labsim.net.starttls)."""

    def handshake_offload(self) -> HandshakeOffload | None:
        """The network's handshake worker (a live lab's), for a client outside the lab: the
        lab's own sessions resume their TLS sessions, which is cheap."""
        network: Network | None = getattr(self.server, "lab_network", None)
        if network is None or network.handshake_offload is None:
            return None
        peer = self.getPeer()
        if (peer.host, peer.port) in network.own_endpoints:
            return None
        return network.handshake_offload


@implementer_only(*implementedBy(tcp.Client))
class LoopbackClient(LabTlsConnection, _EagerWrites, tcp.Client):
    """An outgoing connection that writes eagerly (module docstring) and runs STARTTLS with
    labsim's own TLS transport (labsim.net.starttls).

    Its local endpoint is recorded in ``own_endpoints`` while it is open, so the receiving
    side can tell the lab's own sessions from an outside client's that binds a lab address.
    """

    own_endpoints: set[tuple[str, int]] | None = None
    _own: tuple[str, int] | None = None

    def doConnect(self) -> Any:  # noqa: N802 - Twisted's name
        result = super().doConnect()
        if self._own is None and self.own_endpoints is not None:
            try:
                host, port = self.socket.getsockname()[:2]
            except (OSError, AttributeError):
                return result
            # Known once connect() ran, before the listening side can accept (a later turn).
            self._own = (host, port)
            self.own_endpoints.add(self._own)
        return result

    def connectionLost(self, reason: Any) -> None:  # noqa: N802
        self._forget_endpoint()
        super().connectionLost(reason)

    def failIfNotConnected(self, err: Any) -> None:  # noqa: N802 - a refused connect ends here
        self._forget_endpoint()
        super().failIfNotConnected(err)

    def _forget_endpoint(self) -> None:
        if self._own is not None and self.own_endpoints is not None:
            self.own_endpoints.discard(self._own)


class LoopbackConnector(tcp.Connector):
    """``reactor.connectTCP``'s connector, making :class:`LoopbackClient` transports."""

    own_endpoints: set[tuple[str, int]] | None = None

    def _makeTransport(self) -> tcp.Client:
        client = LoopbackClient(self.host, self.port, self.bindAddress, self, self.reactor)
        client.own_endpoints = self.own_endpoints
        return client


class Network:
    """Listen and connect by simulated address and Exchange port, over real loopback TCP.

    ``outside_smtp_ports`` maps the address of each outside organization's SMTP server to the
    real port it listens on (module docstring).
    """

    def __init__(
        self, reactor: Any, port_offset: int, outside_smtp_ports: Mapping[str, int] | None = None
    ) -> None:
        self.reactor = reactor
        self.port_offset = port_offset
        self.own_endpoints: set[tuple[str, int]] = set()
        """Local (address, port) of every open connection the lab made itself."""
        self.handshake_offload: HandshakeOffload | None = None
        """Where server-side TLS handshakes of outside clients run (a live lab sets it)."""
        self.outside_smtp_ports: dict[str, int] = {
            require_loopback(address): port for address, port in (outside_smtp_ports or {}).items()
        }

    def real_port(self, port: int) -> int:
        """The socket port for an Exchange port of a lab listener."""
        return port + self.port_offset

    def endpoint_port(self, address: str, port: int) -> int:
        """The port of ``address`` that Exchange port ``port`` stands for, as logs show it:
        the Exchange port of a lab host (D12), an outside organization's own SMTP port."""
        outside = self.outside_smtp_ports.get(address)
        return outside if outside is not None and port == SMTP_PORT else port

    def remote_port(self, address: str, port: int) -> int:
        """The socket port a connection to ``address`` on Exchange port ``port`` goes to."""
        if address in self.outside_smtp_ports:
            return self.endpoint_port(address, port)
        return self.real_port(port)

    def listen(self, address: str, port: int, factory: Factory) -> IListeningPort:
        """Listen on ``address:port`` (Exchange port); raises CannotListenError when taken."""
        require_loopback(address)
        sock = _bound_socket(socket.SOCK_STREAM, address, self.real_port(port))
        try:
            port_obj: IListeningPort = self.reactor.adoptStreamPort(
                sock.fileno(), socket.AF_INET, factory
            )
        finally:
            sock.close()  # the reactor listens on its own duplicate of the descriptor
        # tcp.Port builds each accepted connection from its ``transport`` attribute.
        port_obj.transport = LoopbackServer  # type: ignore[attr-defined]
        port_obj.lab_network = self  # type: ignore[attr-defined]
        return port_obj

    def connect(
        self, source: str, address: str, port: int, factory: ClientFactory, timeout: float = 30
    ) -> Any:
        """Connect from ``source`` to ``address:port`` (Exchange port; see :meth:`remote_port`)."""
        require_loopback(source)
        require_loopback(address)
        connector = LoopbackConnector(
            address, self.remote_port(address, port), factory, timeout, (source, 0), self.reactor
        )
        connector.own_endpoints = self.own_endpoints
        connector.connect()
        return connector

    def listen_udp(self, address: str, port: int, protocol: Any) -> Any:
        """Listen for datagrams (the lab DNS server); raises CannotListenError when taken."""
        require_loopback(address)
        sock = _bound_socket(socket.SOCK_DGRAM, address, self.real_port(port))
        try:
            return self.reactor.adoptDatagramPort(sock.fileno(), socket.AF_INET, protocol)
        finally:
            sock.close()


def _bound_socket(kind: socket.SocketKind, address: str, port: int) -> socket.socket:
    """A non-blocking socket bound to ``address:port`` (and listening, for TCP).

    The lab binds its sockets itself and hands them to the reactor: Twisted's listenTCP and
    listenUDP leave the socket open when the bind fails, and a lab that tries port offsets
    until one is free must not leak a socket (and a ResourceWarning) for each taken port.
    A deep accept queue: a burst of sessions (a mesh of partners all sending at once, CRL
    fetches) must not overflow the default backlog of 50 and wait for SYN retries.
    """
    sock = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # As Twisted does for listening ports: a restarted server may rebind at once while
            # connections of its previous run are in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        if kind == socket.SOCK_STREAM:
            sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except (OSError, OverflowError) as err:
        # OverflowError: an Exchange port plus the lab's offset beyond 65535.
        sock.close()
        raise CannotListenError(address, port, err) from err
    return sock
