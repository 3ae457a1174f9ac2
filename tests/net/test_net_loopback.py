"""Listening on loopback: a taken port is refused cleanly, without leaking the socket."""

from __future__ import annotations

import os
import socket

import pytest
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol

from labsim.net.loopback import Network
from labsim.reactor import default_reactor

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
