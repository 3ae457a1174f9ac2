"""STARTTLS on real lab connections (loopback sockets): the session completes on labsim's own
TLS transport, which puts no layer (and no zope.interface declarations) on the connection; and
where Twisted's TLS layer is still used, its declarations outlive the session, so the next
session does not rebuild them (labsim.net.starttls)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

from loopback_pair import connected_pair
from zope.interface import providedBy
from zope.interface.declarations import InstanceDeclarations

from labsim.engine.tls import (
    ClientConnectionCreator,
    ServerConnectionCreator,
    client_context,
    server_context,
)
from labsim.net.starttls import _twisted_start_tls, start_tls
from labsim.pki import create_root_ca
from labsim.reactor import default_reactor, drive

ADDRESS = "127.0.78.1"
AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def _session(reactor, server_ctx, client_ctx, start=start_tls) -> tuple[list, type]:
    """One STARTTLS session; returns the client connection's interfaces and the class of what
    receives its bytes (Twisted's TLS layer, or the protocol itself on labsim's transport)."""
    port, server, client = connected_pair(reactor, ADDRESS)
    try:
        start(server.transport, ServerConnectionCreator(server_ctx))
        start(client.transport, ClientConnectionCreator(client_ctx))
        drive(reactor, lambda: server.secured and client.secured)
        client.transport.write(b"over TLS")
        drive(reactor, lambda: server.received == b"over TLS")
        assert client.transport.getHandle().get_protocol_version_name() == "TLSv1.2"
        interfaces, layer = list(providedBy(client.transport)), type(client.transport.protocol)
        client.transport.loseConnection()
        drive(reactor, lambda: server.lost and client.lost)
    finally:
        port.stopListening()
        for _ in range(3):
            reactor.iterate(0)
    return interfaces, layer


def test_tls_sessions_complete_and_leave_the_tls_layer_declarations_cached() -> None:
    reactor = default_reactor()
    adatum = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    trey = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    server_ctx = server_context(trey.issue("mail.treyresearch.net", at=AT))
    client_ctx = client_context(adatum.issue("mail.adatum.com", at=AT))
    # A lab connection runs TLS itself: no layer between the socket and the protocol.
    _, receiver = _session(reactor, server_ctx, client_ctx)
    assert receiver.__name__ == "Peer"
    # Twisted's path (other transports, other creators) keeps its declarations cached.
    interfaces, layer = _session(reactor, server_ctx, client_ctx, start=_twisted_start_tls)
    gc.collect()
    # What Twisted's TLS layer asks zope for on every session is still cached after the session.
    for interface in interfaces:
        assert (layer, interface) in InstanceDeclarations
    # And a second session over the same contexts works just the same, on both paths.
    _session(reactor, server_ctx, client_ctx, start=_twisted_start_tls)
    _session(reactor, server_ctx, client_ctx)


def test_tls_writes_reach_the_socket_before_the_reactor_turns_and_keep_their_order() -> None:
    # Twisted's TLS layer holds small writes until the next reactor turn (one timer per write
    # burst, a turn more per reply); lab connections send each TLS record at once, as they send
    # plain data (labsim.net.loopback). writeSequence goes the same way, so order is kept.
    import socket as socket_module

    reactor = default_reactor()
    adatum = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    trey = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    server_ctx = server_context(trey.issue("mail.treyresearch.net", at=AT))
    client_ctx = client_context(adatum.issue("mail.adatum.com", at=AT))
    port, server, client = connected_pair(reactor, ADDRESS)
    try:
        start_tls(server.transport, ServerConnectionCreator(server_ctx))
        start_tls(client.transport, ClientConnectionCreator(client_ctx))
        drive(reactor, lambda: server.secured and client.secured)
        for _ in range(3):
            reactor.iterate(0)  # the last handshake flight is read on both sides
        client.transport.write(b"250 at once")
        # Peek at the server's socket without a reactor turn: the record is already there.
        raw = server.transport.socket.recv(65536, socket_module.MSG_PEEK)
        assert raw[:1] == b"\x17"  # a TLS application-data record
        client.transport.writeSequence([b" a", b" b"])
        client.transport.write(b" c")
        expected = b"250 at once a b c"
        drive(reactor, lambda: bytes(server.received) == expected)
        client.transport.loseConnection()
        drive(reactor, lambda: server.lost and client.lost)
    finally:
        port.stopListening()
        for _ in range(3):
            reactor.iterate(0)
