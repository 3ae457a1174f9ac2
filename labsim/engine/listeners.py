"""Sockets follow configuration: each server listens on every port its receive connectors bind.

A binding ``0.0.0.0:25`` means "port 25 on this server's own address". When the shell adds or
changes a receive connector, :meth:`Listeners.reconcile_all` opens the new sockets and closes the
ones no connector needs any more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.protocol import Factory

from labsim.engine.receive import SmtpReceiveProtocol
from labsim.engine.world import World


class ReceiveFactory(Factory):
    """Builds an inbound SMTP session for one server and port."""

    def __init__(self, world: World, server_name: str, port: int, handler: Any) -> None:
        self.world = world
        self.server_name = server_name
        self.port = port
        self.handler = handler

    def buildProtocol(self, addr: Any) -> SmtpReceiveProtocol:  # noqa: N802
        """One protocol per connection."""
        return SmtpReceiveProtocol(self.world, self.server_name, self.port, self.handler)


class Listeners:
    """The listening sockets of every server of a lab."""

    def __init__(self, world: World, handler_for: Callable[[str], Any]) -> None:
        self.world = world
        self._handler_for = handler_for
        self._ports: dict[tuple[str, str, int], Any] = {}

    def wanted(self) -> set[tuple[str, str, int]]:
        """(server, address, port) for every binding of every enabled receive connector."""
        wanted: set[tuple[str, str, int]] = set()
        for org in self.world.organizations.values():
            for connector in org.receive_connectors:
                server = org.server(connector.server)
                if (
                    server is None
                    or not connector.enabled
                    or server.name in self.world.stopped_servers
                ):
                    continue
                for binding in connector.bindings:
                    address = server.address if binding.address == "0.0.0.0" else binding.address
                    wanted.add((server.name, address, binding.port))
        return wanted

    def reconcile_all(self) -> None:
        """Open missing sockets, close unneeded ones."""
        wanted = self.wanted()
        for key in sorted(set(self._ports) - wanted):
            self._ports.pop(key).stopListening()
        for key in sorted(wanted - set(self._ports)):
            server_name, address, port = key
            factory = ReceiveFactory(self.world, server_name, port, self._handler_for(server_name))
            self._ports[key] = self.world.network.listen(address, port, factory)

    def bound(self) -> list[tuple[str, str, int]]:
        """(server, address, Exchange port) of every open listening socket."""
        return sorted(self._ports)

    def stop_all(self) -> None:
        """Close every socket."""
        for port in self._ports.values():
            port.stopListening()
        self._ports.clear()
