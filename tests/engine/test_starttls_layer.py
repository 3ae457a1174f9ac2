"""STARTTLS on real lab connections (loopback sockets, Twisted's TLS layer): the session
completes, and zope.interface's declarations for the TLS layer outlive the session, so the next
session does not rebuild them (labsim.net.starttls)."""

from __future__ import annotations

import gc
import socket

from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import ClientFactory, Factory, Protocol
from zope.interface import implementer, providedBy
from zope.interface.declarations import InstanceDeclarations

from labsim.engine.tls import (
    ClientConnectionCreator,
    ServerConnectionCreator,
    client_context,
    server_context,
)
from labsim.net.loopback import Network
from labsim.net.starttls import start_tls
from labsim.reactor import default_reactor, drive

ADDRESS = "127.0.78.1"


@implementer(IHandshakeListener)
class _Side(Protocol):
    def __init__(self) -> None:
        self.secured = False
        self.received = b""
        self.lost = False

    def handshakeCompleted(self) -> None:
        self.secured = True

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: object = None) -> None:
        self.lost = True


def _session(reactor, network, server_ctx, client_ctx) -> tuple[_Side, _Side, type]:
    servers: list[_Side] = []
    port = network.listen(
        ADDRESS, 25, Factory.forProtocol(lambda: servers.append(_Side()) or servers[-1])
    )
    client = _Side()
    network.connect("127.0.78.2", ADDRESS, 25, ClientFactory.forProtocol(lambda: client))
    try:
        drive(
            reactor,
            lambda: bool(servers) and client.transport is not None and client.transport.connected,
        )
        server = servers[0]
        start_tls(server.transport, ServerConnectionCreator(server_ctx))
        start_tls(client.transport, ClientConnectionCreator(client_ctx))
        layer = type(client.transport.protocol)
        drive(reactor, lambda: server.secured and client.secured)
        client.transport.write(b"over TLS")
        drive(reactor, lambda: server.received == b"over TLS")
        assert client.transport.getHandle().get_protocol_version_name() == "TLSv1.2"
        client.transport.loseConnection()
        drive(reactor, lambda: server.lost and client.lost)
    finally:
        port.stopListening()
        for _ in range(3):
            reactor.iterate(0)
    return server, client, layer


def test_tls_sessions_complete_and_leave_the_tls_layer_declarations_cached(
    adatum_cert, trey_cert
) -> None:
    reactor = default_reactor()
    probe = socket.socket()
    probe.bind((ADDRESS, 0))
    free = probe.getsockname()[1]
    probe.close()
    network = Network(reactor, port_offset=free - 25)
    server_ctx, client_ctx = server_context(trey_cert), client_context(adatum_cert)
    server, client, layer = _session(reactor, network, server_ctx, client_ctx)
    interfaces = list(providedBy(client.transport))
    del server, client
    gc.collect()
    # What Twisted's TLS layer asks zope for on every session is still cached after the session.
    for interface in interfaces:
        assert (layer, interface) in InstanceDeclarations
    # And a second session over the same contexts works just the same.
    _session(reactor, network, server_ctx, client_ctx)
