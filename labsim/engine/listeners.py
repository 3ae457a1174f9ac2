"""Sockets follow configuration: each server listens on every port its receive connectors bind.

A binding ``0.0.0.0:25`` means "port 25 on this server's own address". When the shell adds or
changes a receive connector, :meth:`Listeners.reconcile_all` opens the new sockets and closes the
ones no connector needs any more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.error import CannotListenError
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
        self._closing: dict[tuple[str, str, int], Any] = {}

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

    def reconcile_all(self, *, strict: bool = False) -> None:
        """Open missing sockets, close unneeded ones.

        ``strict`` (lab start) lets CannotListenError out, so the lab tries another port
        offset. Afterwards a port someone else holds does not undo the configuration change
        that wanted it: as a Transport service that cannot bind logs an event and serves its
        other bindings, the lab notes it (``:explain``) and tries again at the next change.
        """
        wanted = self.wanted()
        for key in sorted(set(self._ports) - wanted):
            closed = self._ports.pop(key).stopListening()
            if closed is not None:
                self._closing[key] = closed
                closed.addBoth(self._closed, key, closed)
        for key in sorted(wanted - set(self._ports)):
            closing = self._closing.get(key)
            if closing is None:
                try:
                    self._ports[key] = self._listen(key)
                except CannotListenError as err:
                    if strict:
                        raise
                    self._cannot_listen(key, err)
                continue
            # Twisted closes a listening socket at the reactor's next turn, so the same binding
            # wanted again in the same statement (Stop-LabServer X; Start-LabServer X) binds
            # once the old socket is gone; the lab is busy until then.
            reopening = _Reopening(self.world.activity.begin(f"listener {key} reopening"))
            self._ports[key] = reopening
            closing.addCallback(lambda _, key=key, r=reopening: self._reopen(key, r))

    def _listen(self, key: tuple[str, str, int]) -> Any:
        server_name, address, port = key
        factory = ReceiveFactory(self.world, server_name, port, self._handler_for(server_name))
        return self.world.network.listen(address, port, factory)

    def _closed(self, result: object, key: tuple[str, str, int], closed: Any) -> object:
        if self._closing.get(key) is closed:
            del self._closing[key]
        return result

    def _reopen(self, key: tuple[str, str, int], reopening: _Reopening) -> None:
        try:
            if reopening.cancelled or self._ports.get(key) is not reopening:
                return
            try:
                reopening.port = self._ports[key] = self._listen(key)
            except CannotListenError as err:
                del self._ports[key]
                self._cannot_listen(key, err)
        finally:
            self.world.activity.end(reopening.token)

    def _cannot_listen(self, key: tuple[str, str, int], err: CannotListenError) -> None:
        server, address, port = key
        real = self.world.network.real_port(port)
        if real > 65535:
            offset = self.world.network.port_offset
            text = (
                f"cannot listen on {address}:{port}: with this lab's port offset {offset} it "
                f"would be port {real}, beyond 65535; the receive connectors bound to it get no "
                f"sessions (bind them to a port up to {65535 - offset}, or start the lab with a "
                "smaller --port-offset)"
            )
        else:
            text = (
                f"cannot listen on {address}:{port} (port {real} in use: {err.socketError}); "
                "the receive connectors bound to it get no sessions until the port is free and "
                "the configuration changes again"
            )
        self.world.explain(server, text)
        self.world.observe(server, text)

    def bound(self) -> list[tuple[str, str, int]]:
        """(server, address, Exchange port) of every open listening socket."""
        return sorted(k for k, v in self._ports.items() if not isinstance(v, _Reopening))

    def stop_all(self) -> None:
        """Close every socket."""
        for port in self._ports.values():
            port.stopListening()
        self._ports.clear()


class _Reopening:
    """A binding waiting for its old socket to close; it stands in :attr:`Listeners._ports`."""

    def __init__(self, token: int) -> None:
        self.token = token
        self.cancelled = False
        self.port: Any = None

    def stopListening(self) -> Any:  # noqa: N802 - the port's own name
        """Closed again before it opened: open nothing (or close what opened)."""
        self.cancelled = True
        return None if self.port is None else self.port.stopListening()
