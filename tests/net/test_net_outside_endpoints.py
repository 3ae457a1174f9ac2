"""Connections to an outside organization's address: its real port, never the lab's offset.

The lab's own hosts listen on Exchange ports plus the offset, so a connection to them adds it;
an outside organization (real mail software, docs/lab-files.md) listens where its lab file
says, and Exchange's SMTP port 25 stands for that port there.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from twisted.internet.protocol import ClientFactory, Protocol

from labsim.errors import ConfigError
from labsim.net.loopback import Network
from labsim.reactor import default_reactor, drive

SOURCE = "127.0.77.2"
OUTSIDE = "127.0.77.3"
LAB_HOST = "127.0.77.4"


def test_ports_of_outside_and_lab_hosts() -> None:
    network = Network(default_reactor(), 20000, {OUTSIDE: 2525})
    assert network.remote_port(OUTSIDE, 25) == 2525  # a connector's default -Port 25
    assert network.remote_port(OUTSIDE, 2525) == 2525  # -Port given as the real port
    assert network.remote_port(OUTSIDE, 80) == 80  # no offset on an outside host
    assert network.remote_port(LAB_HOST, 25) == 20025
    # What logs show: the outside server's own port; a lab host's Exchange port (D12).
    assert network.endpoint_port(OUTSIDE, 25) == 2525
    assert network.endpoint_port(LAB_HOST, 25) == 25


def test_an_outside_address_off_loopback_is_refused() -> None:
    with pytest.raises(ConfigError, match="outside 127.0.0.0/8"):
        Network(default_reactor(), 20000, {"192.0.2.25": 25})


class _Connected(Protocol):
    def __init__(self, seen: list[tuple[str, int]], lost: list[bool]) -> None:
        self.seen = seen
        self.lost = lost

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        assert self.transport is not None
        peer: Any = self.transport.getPeer()
        self.seen.append((peer.host, peer.port))
        self.transport.loseConnection()

    def connectionLost(self, reason: object = None) -> None:  # noqa: N802 - Twisted's name
        self.lost.append(True)


def test_a_connection_reaches_the_outside_port_without_the_offset() -> None:
    reactor = default_reactor()
    server = socket.socket()
    server.bind((OUTSIDE, 0))
    server.listen(1)
    port = server.getsockname()[1]
    seen: list[tuple[str, int]] = []
    lost: list[bool] = []
    factory = ClientFactory.forProtocol(lambda: _Connected(seen, lost))
    try:
        # An offset that would point far from the listening port.
        network = Network(reactor, 11000, {OUTSIDE: port})
        network.connect(SOURCE, OUTSIDE, 25, factory)
        drive(reactor, lambda: bool(lost))
        assert seen == [(OUTSIDE, port)]
        accepted, (source, _) = server.accept()
        accepted.close()
        assert source == SOURCE
    finally:
        server.close()
