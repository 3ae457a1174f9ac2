"""The global reactor's lean poll loop (labsim.reactor.install_lean_poll), on real loopback
sockets: it is what default_reactor() runs, an exception escaping a connection is still
reported through Twisted's log (never swallowed), and the loop goes on serving."""

from __future__ import annotations

from typing import Any

import pytest
from loopback_pair import Peer, connected_pair
from twisted.internet.protocol import ClientFactory, Factory
from twisted.python.failure import Failure

import labsim.reactor as lab_reactor
from labsim.net.loopback import Network
from labsim.reactor import default_reactor, drive

ADDRESS = "127.0.79.1"


class _Recorder:
    """Stands in for ``twisted.python.log`` inside labsim.reactor: records what it is told."""

    def __init__(self) -> None:
        self.reported: list[tuple[Failure, str]] = []

    def err(self, _stuff: Any = None, _why: Any = None, **kw: Any) -> None:
        self.reported.append((Failure(), kw.get("system", "")))


class _BrokenOnClose(Peer):
    def connectionLost(self, reason: object = None) -> None:  # noqa: N802 - Twisted's name
        super().connectionLost(reason)
        raise RuntimeError("a bug in connectionLost")


def test_default_reactor_polls_without_the_logging_context() -> None:
    reactor = default_reactor()
    assert reactor.doIteration.__func__ is lab_reactor._lean_do_poll
    # Installing again changes nothing (the lab and the tests all ask for the reactor).
    assert lab_reactor.install_lean_poll(reactor)
    assert reactor.doIteration.__func__ is lab_reactor._lean_do_poll


def test_an_exception_escaping_a_connection_is_reported_and_the_loop_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reactor = default_reactor()
    recorder = _Recorder()
    monkeypatch.setattr(lab_reactor, "log", recorder)
    port, server, client = connected_pair(reactor, ADDRESS)
    network = Network(reactor, port_offset=port.getHost().port - 25)
    accepted: list[Peer] = []
    other = network.listen(
        "127.0.79.5", 25, Factory.forProtocol(lambda: accepted.append(Peer()) or accepted[-1])
    )
    broken = _BrokenOnClose()
    network.connect("127.0.79.3", "127.0.79.5", 25, ClientFactory.forProtocol(lambda: broken))
    drive(
        reactor,
        lambda: bool(accepted) and broken.transport is not None and broken.transport.connected,
    )
    prefix = broken.transport.logPrefix()
    try:
        # The server hangs up; the client's connectionLost raises out of the reactor's
        # _doReadOrWrite, into the poll loop.
        accepted[0].transport.loseConnection()
        assert drive(reactor, lambda: broken.lost and bool(recorder.reported), bound=10)
        [(failure, system)] = recorder.reported
        assert failure.check(RuntimeError)
        assert str(failure.value) == "a bug in connectionLost"
        assert system == prefix
        # The loop still serves the first connection.
        client.transport.write(b"still here")
        drive(reactor, lambda: bytes(server.received) == b"still here")
    finally:
        client.transport.loseConnection()
        drive(reactor, lambda: server.lost and client.lost)
        port.stopListening()
        other.stopListening()
        for _ in range(3):
            reactor.iterate(0)
