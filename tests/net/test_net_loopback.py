"""Loopback sockets: a taken port is refused cleanly, without leaking the socket; writes go
on the wire at once, and what does not fit follows in order."""

from __future__ import annotations

import os
import socket

import pytest
from loopback_pair import connected_pair
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol

from labsim.net.loopback import Network
from labsim.reactor import default_reactor, drive

ADDRESS = "127.0.77.1"


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_a_taken_port_raises_and_leaves_no_socket_open(kind: socket.SocketKind) -> None:
    reactor = default_reactor()
    holder = socket.socket(socket.AF_INET, kind)
    holder.bind((ADDRESS, 0))
    if kind == socket.SOCK_STREAM:
        holder.listen(1)
    taken = holder.getsockname()[1]
    network = Network(reactor, port_offset=taken - 25)
    try:
        before = _open_descriptors()
        for _ in range(20):
            with pytest.raises(CannotListenError):
                if kind == socket.SOCK_STREAM:
                    network.listen(ADDRESS, 25, Factory.forProtocol(Protocol))
                else:
                    network.listen_udp(ADDRESS, 25, DatagramProtocol())
        # Twisted's own listenTCP/listenUDP leave the unbound socket open (a ResourceWarning
        # later, in whatever test runs then); the lab's sockets are closed at once.
        assert _open_descriptors() == before
    finally:
        holder.close()


def test_a_free_port_listens_and_stops() -> None:
    reactor = default_reactor()
    probe = socket.socket()
    probe.bind((ADDRESS, 0))
    free = probe.getsockname()[1]
    probe.close()
    network = Network(reactor, port_offset=free - 25)
    port = network.listen(ADDRESS, 25, Factory.forProtocol(Protocol))
    try:
        host = port.getHost()
        assert (host.host, host.port) == (ADDRESS, free)
        client = socket.create_connection((ADDRESS, host.port), timeout=5)
        client.close()
    finally:
        port.stopListening()
        for _ in range(3):
            reactor.iterate(0)


def test_a_write_is_on_the_wire_before_the_reactor_turns() -> None:
    reactor = default_reactor()
    port, server, client = connected_pair(reactor, ADDRESS)
    try:
        server.transport.write(b"220 ready\r\n")
        # No reactor turn in between: the bytes are already in the client's socket, and the
        # server's transport does not wait to be told it may write.
        assert client.transport.socket.recv(100, socket.MSG_DONTWAIT) == b"220 ready\r\n"
        assert server.transport not in reactor.getWriters()
    finally:
        client.transport.loseConnection()
        port.stopListening()
        drive(reactor, lambda: server.lost and client.lost)


def test_what_the_socket_does_not_take_follows_in_order_and_a_close_waits_for_it() -> None:
    reactor = default_reactor()
    port, server, client = connected_pair(reactor, ADDRESS)
    try:
        server.transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        payload = bytes(range(256)) * 8192  # 2 MiB: far more than a 4 KiB send buffer takes
        server.transport.write(payload[:1000])
        server.transport.write(payload[1000:])
        server.transport.write(b"")
        assert server.transport in reactor.getWriters()  # the rest goes through doWrite
        server.transport.loseConnection()
        drive(reactor, lambda: client.lost)
        assert bytes(client.received) == payload
    finally:
        port.stopListening()
        drive(reactor, lambda: server.lost)
