"""A connected pair of lab connections on loopback, for the tests of ``labsim.net``; a peer that
keeps its connection's end, and the TLS contexts of two organizations' certificates."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from OpenSSL import SSL
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import ClientFactory, Factory, Protocol
from twisted.python.failure import Failure
from zope.interface import implementer

from labsim.engine.tls import client_context, server_context
from labsim.net.loopback import Network
from labsim.pki import create_root_ca
from labsim.reactor import drive

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


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


class Recorder(Peer):
    """A Peer that keeps connectionLost's reason and counts completed handshakes."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: Failure | None = None
        self.handshakes = 0

    def handshakeCompleted(self) -> None:  # noqa: N802 - Twisted's name
        super().handshakeCompleted()
        self.handshakes += 1

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted's name
        super().connectionLost(reason)
        self.reason = reason


def tls_contexts() -> tuple[SSL.Context, SSL.Context]:
    """A TreyResearch server context and an Adatum client context, each organization with its
    own root (neither trusts the other: the transport tests do not verify chains)."""
    adatum = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    trey = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    return (
        server_context(trey.issue("mail.treyresearch.net", at=AT)),
        client_context(adatum.issue("mail.adatum.com", at=AT)),
    )
