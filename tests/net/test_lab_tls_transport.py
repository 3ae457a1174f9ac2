"""labsim's own TLS transport (labsim.net.starttls.LabTlsConnection) on real loopback sockets:
what the engine relies on, checked end to end. The session runs on the lab connection itself
(no Twisted TLS layer), close_notify is exchanged on a clean close, an abort ends both sides
as ConnectionLost, a failed handshake reaches connectionLost with OpenSSL's error, and a write
larger than the socket buffer arrives whole and in order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from loopback_pair import Recorder, connected_pair, tls_contexts
from OpenSSL import SSL
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.protocols.tls import TLSMemoryBIOProtocol

from labsim.engine.tls import (
    ClientConnectionCreator,
    ServerConnectionCreator,
    client_context,
    server_context,
)
from labsim.net.starttls import start_tls
from labsim.pki import create_root_ca
from labsim.reactor import default_reactor, drive

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
_addresses = iter(range(10, 250, 2))


@pytest.fixture(scope="module")
def contexts() -> tuple[SSL.Context, SSL.Context]:
    return tls_contexts()


@pytest.fixture
def pair(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A connected lab server and client (Recorder protocols); closed after the test."""
    import loopback_pair

    monkeypatch.setattr(loopback_pair, "Peer", Recorder)
    reactor = default_reactor()
    port, server, client = connected_pair(reactor, f"127.0.82.{next(_addresses)}")
    yield reactor, server, client
    for peer in (server, client):
        if not peer.lost:
            peer.transport.abortConnection()
    drive(reactor, lambda: server.lost and client.lost)
    port.stopListening()
    for _ in range(3):
        reactor.iterate(0)


def _secure(
    reactor: Any, server: Recorder, client: Recorder, contexts: Any, version: str = "TLSv1.2"
) -> None:
    server_ctx, client_ctx = contexts
    start_tls(server.transport, ServerConnectionCreator(server_ctx))
    start_tls(client.transport, ClientConnectionCreator(client_ctx))
    drive(reactor, lambda: server.secured and client.secured)
    for peer in (server, client):
        # labsim's transport: the protocol still receives straight from the connection, whose
        # handle is an SSL.Connection over the socket (a memory-BIO connection has bio_read).
        assert peer.transport.protocol is peer
        handle = peer.transport.getHandle()
        assert isinstance(handle, SSL.Connection)
        with pytest.raises(TypeError):
            handle.bio_read(1)
        assert handle.get_protocol_version_name() == version


def test_a_clean_close_exchanges_close_notify(pair: Any, contexts: Any) -> None:
    reactor, server, client = pair
    _secure(reactor, server, client, contexts)
    client.transport.write(b"QUIT\r\n")
    drive(reactor, lambda: bytes(server.received) == b"QUIT\r\n")
    server.transport.write(b"221 2.0.0 Service closing transmission channel\r\n")
    server.transport.loseConnection()
    drive(reactor, lambda: server.lost and client.lost)
    assert bytes(client.received) == b"221 2.0.0 Service closing transmission channel\r\n"
    # Each side sent close_notify and received the other's: both see a clean close.
    for peer in (server, client):
        shutdown = peer.transport.getHandle().get_shutdown()
        assert shutdown & SSL.SENT_SHUTDOWN and shutdown & SSL.RECEIVED_SHUTDOWN
        assert peer.reason is not None and peer.reason.check(ConnectionDone)
    assert server.handshakes == client.handshakes == 1


def test_an_abort_ends_both_sides_as_connection_lost(pair: Any, contexts: Any) -> None:
    reactor, server, client = pair
    _secure(reactor, server, client, contexts)
    client.transport.abortConnection()
    client.transport.write(b"dropped after the abort")
    drive(reactor, lambda: server.lost and client.lost)
    assert client.reason is not None and client.reason.check(ConnectionLost)
    assert server.reason is not None and server.reason.check(ConnectionLost)
    assert bytes(server.received) == b""


def test_an_abort_during_the_handshake_ends_both_sides_as_connection_lost(
    pair: Any, contexts: Any
) -> None:
    reactor, server, client = pair
    server_ctx, client_ctx = contexts
    start_tls(server.transport, ServerConnectionCreator(server_ctx))
    start_tls(client.transport, ClientConnectionCreator(client_ctx))
    assert client.transport.protocol is client
    client.transport.abortConnection()
    drive(reactor, lambda: server.lost and client.lost)
    assert not server.secured and not client.secured
    assert client.reason is not None and client.reason.check(ConnectionLost)
    assert server.reason is not None and server.reason.check(ConnectionLost)


def test_a_failed_handshake_reaches_connection_lost_with_the_tls_error(pair: Any) -> None:
    reactor, server, client = pair
    # A server without a certificate cannot agree on any cipher suite with the client.
    start_tls(server.transport, ServerConnectionCreator(server_context(None)))
    start_tls(client.transport, ClientConnectionCreator(client_context(None)))
    assert server.transport.protocol is server and client.transport.protocol is client
    drive(reactor, lambda: server.lost and client.lost)
    assert not server.secured and not client.secured
    assert server.handshakes == client.handshakes == 0
    assert server.reason is not None and server.reason.check(SSL.Error)
    assert "no shared cipher" in str(server.reason.value)
    # The server's alert reached the client, whose handshake fails on it.
    assert client.reason is not None and client.reason.check(SSL.Error)
    assert "handshake failure" in str(client.reason.value)


def test_the_peer_leaving_during_the_handshake_is_connection_lost(pair: Any, contexts: Any) -> None:
    reactor, server, client = pair
    server_ctx, _ = contexts
    start_tls(server.transport, ServerConnectionCreator(server_ctx))
    assert server.transport.protocol is server
    client.transport.loseConnection()  # a plain close: the server waits for a ClientHello
    drive(reactor, lambda: server.lost and client.lost)
    assert server.reason is not None and server.reason.check(ConnectionLost)


def test_a_write_larger_than_the_socket_buffer_arrives_whole_and_in_order(
    pair: Any, contexts: Any
) -> None:
    reactor, server, client = pair
    _secure(reactor, server, client, contexts)
    big = bytes(range(256)) * 40_000  # 10 MB: far more than a loopback socket buffer holds
    client.transport.write(big)
    client.transport.writeSequence([b" and", b" then"])
    client.transport.write(b" the end")
    expected = big + b" and then the end"
    assert drive(reactor, lambda: len(server.received) >= len(expected), bound=30)
    assert bytes(server.received) == expected
    client.transport.loseConnection()  # after everything written: close_notify follows it
    drive(reactor, lambda: server.lost and client.lost)
    assert server.reason is not None and server.reason.check(ConnectionDone)


def test_a_creator_without_a_socket_connection_takes_twisteds_layer(
    pair: Any, contexts: Any
) -> None:
    reactor, server, client = pair
    server_ctx, client_ctx = contexts

    class TwistedStyleCreator:
        """An IOpenSSLServerConnectionCreator as Twisted knows it, and nothing more."""

        def serverConnectionForTLS(self, tls_protocol: object) -> SSL.Connection:  # noqa: N802
            return SSL.Connection(server_ctx, None)

    from twisted.internet.interfaces import IOpenSSLServerConnectionCreator
    from zope.interface import directlyProvides

    creator = TwistedStyleCreator()
    directlyProvides(creator, IOpenSSLServerConnectionCreator)
    start_tls(server.transport, creator)
    start_tls(client.transport, ClientConnectionCreator(client_ctx))
    assert isinstance(server.transport.protocol, TLSMemoryBIOProtocol)
    assert client.transport.protocol is client
    drive(reactor, lambda: server.secured and client.secured)
    client.transport.write(b"EHLO mail.adatum.com\r\n")
    drive(reactor, lambda: bytes(server.received) == b"EHLO mail.adatum.com\r\n")
    server.transport.loseConnection()
    drive(reactor, lambda: server.lost and client.lost)
    assert client.reason is not None and client.reason.check(ConnectionDone)


def test_a_tls13_session_carries_data_both_ways_and_closes_cleanly(pair: Any) -> None:
    # A lab may allow TLS 1.3: the server's post-handshake messages (session tickets) arrive
    # as records without application data, which a read must pass over.
    reactor, server, client = pair
    adatum = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    trey = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    contexts = (
        server_context(trey.issue("mail.treyresearch.net", at=AT), allow_tls13=True),
        client_context(adatum.issue("mail.adatum.com", at=AT), allow_tls13=True),
    )
    _secure(reactor, server, client, contexts, version="TLSv1.3")
    client.transport.write(b"EHLO mail.adatum.com\r\n")
    drive(reactor, lambda: bytes(server.received) == b"EHLO mail.adatum.com\r\n")
    server.transport.write(b"250 mail.treyresearch.net Hello\r\n")
    drive(reactor, lambda: bytes(client.received) == b"250 mail.treyresearch.net Hello\r\n")
    client.transport.loseConnection()
    drive(reactor, lambda: server.lost and client.lost)
    assert server.reason is not None and server.reason.check(ConnectionDone)
    assert client.reason is not None and client.reason.check(ConnectionDone)
