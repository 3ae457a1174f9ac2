"""A connected pair of lab connections on loopback, for the tests of ``labsim.net``."""

from __future__ import annotations

import socket
from typing import Any

from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import ClientFactory, Factory, Protocol
from zope.interface import implementer

from labsim.net.loopback import Network
from labsim.reactor import drive


@implementer(IHandshakeListener)
class Peer(Protocol):
    """Records what arrives, whether TLS came up, and whether the connection was lost."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.secured = False
        self.lost = False

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.received += data

    def handshakeCompleted(self) -> None:  # noqa: N802 - Twisted's name
        self.secured = True

    def connectionLost(self, reason: object = None) -> None:  # noqa: N802 - Twisted's name
        self.lost = True


def connected_pair(reactor: Any, address: str) -> tuple[Any, Peer, Peer]:
    """A lab server on ``address`` port 25 and a lab client connected to it (from the next
    address up): ``(listening port, server protocol, client protocol)``."""
    probe = socket.socket()
    probe.bind((address, 0))
    free = probe.getsockname()[1]
    probe.close()
    network = Network(reactor, port_offset=free - 25)
    servers: list[Peer] = []

    def build() -> Peer:
        servers.append(Peer())
        return servers[-1]

    port = network.listen(address, 25, Factory.forProtocol(build))
    client = Peer()
    head, last = address.rsplit(".", 1)
    network.connect(
        f"{head}.{int(last) + 1}", address, 25, ClientFactory.forProtocol(lambda: client)
    )
    drive(
        reactor,
        lambda: bool(servers) and client.transport is not None and client.transport.connected,
    )
    return port, servers[0], client
