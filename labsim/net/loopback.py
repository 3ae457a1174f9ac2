"""Real TCP on loopback: every simulated server has its own 127.x address (reference §16 D12).

Configuration and logs keep Exchange's port numbers (25, 587, 717, 2525, 465); sockets bind that
port plus one lab-wide offset, so that no root privilege is needed and labs can run side by
side. Every address is checked to lie in 127.0.0.0/8 before a socket is opened: the lab must
never send a packet anywhere else.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import ClientFactory, Factory

from labsim.errors import ConfigError

LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")

AUTO_PORT_OFFSETS = range(11000, 30001, 100)
"""Offsets a lab picks from when none is given. Every lab port (Exchange's 25 … 2525, DNS 53,
HTTP 80) plus one of these stays below 32768, the start of Linux's ephemeral port range, so an
outgoing connection of another lab can never hold a port this lab wants to listen on."""
LISTEN_BACKLOG = 1024


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


class Network:
    """Listen and connect by simulated address and Exchange port, over real loopback TCP."""

    def __init__(self, reactor: Any, port_offset: int) -> None:
        self.reactor = reactor
        self.port_offset = port_offset

    def real_port(self, port: int) -> int:
        """The socket port for an Exchange port."""
        return port + self.port_offset

    def listen(self, address: str, port: int, factory: Factory) -> IListeningPort:
        """Listen on ``address:port`` (Exchange port); raises CannotListenError when taken."""
        require_loopback(address)
        # A deep accept queue: a burst of sessions (a mesh of partners all sending at once, CRL
        # fetches) must not overflow Twisted's default backlog of 50 and wait for SYN retries.
        port_obj: IListeningPort = self.reactor.listenTCP(
            self.real_port(port), factory, backlog=LISTEN_BACKLOG, interface=address
        )
        return port_obj

    def connect(
        self, source: str, address: str, port: int, factory: ClientFactory, timeout: float = 30
    ) -> Any:
        """Connect from ``source`` to ``address:port`` (Exchange port)."""
        require_loopback(source)
        require_loopback(address)
        return self.reactor.connectTCP(
            address, self.real_port(port), factory, timeout=timeout, bindAddress=(source, 0)
        )

    def listen_udp(self, address: str, port: int, protocol: Any) -> Any:
        """Listen for datagrams (the lab DNS server)."""
        require_loopback(address)
        return self.reactor.listenUDP(self.real_port(port), protocol, interface=address)
