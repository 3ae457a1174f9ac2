"""Server-side TLS handshakes of outside clients in a worker thread (a live lab's
labsim.engine.tls.HandshakeThreads with labsim.net.starttls), on real loopback sockets: the
steps run in the worker, the lab stays busy meanwhile, the connection is left alone until the
step is back (an abort waits for it), the lab's own sessions stay in the reactor's thread,
and stop() ends the worker."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import pytest
from loopback_pair import Recorder, tls_contexts
from OpenSSL import SSL
from twisted.internet.error import ConnectionLost
from twisted.internet.protocol import ClientFactory, Factory

from labsim.engine.activity import Activity
from labsim.engine.tls import (
    ClientConnectionCreator,
    HandshakeThreads,
    ServerConnectionCreator,
)
from labsim.net.loopback import Network
from labsim.net.starttls import start_tls
from labsim.reactor import default_reactor, drive

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
_addresses = iter(range(10, 250, 4))


@pytest.fixture(scope="module")
def contexts() -> tuple[SSL.Context, SSL.Context]:
    return tls_contexts()


@pytest.fixture
def lab() -> Any:
    """A lab network with a handshake worker, a listener on it, and a way to connect from
    outside the lab (another network) or from the lab itself."""
    reactor = default_reactor()
    address = f"127.0.83.{next(_addresses)}"
    probe = socket.socket()
    probe.bind((address, 0))
    offset = probe.getsockname()[1] - 25
    probe.close()
    activity = Activity()
    network = Network(reactor, offset)
    threads = HandshakeThreads(reactor, activity)
    network.handshake_offload = threads
    accepted: list[Recorder] = []

    def build() -> Recorder:
        accepted.append(Recorder())
        return accepted[-1]

    port = network.listen(address, 25, Factory.forProtocol(build))
    opened: list[Recorder] = []

    def connect(*, outside: bool) -> tuple[Recorder, Recorder]:
        client = Recorder()
        opened.append(client)
        via = Network(reactor, offset) if outside else network
        head, last = address.rsplit(".", 1)
        via.connect(
            f"{head}.{int(last) + 1}", address, 25, ClientFactory.forProtocol(lambda: client)
        )
        drive(reactor, lambda: len(accepted) == len(opened) and client.transport is not None)
        drive(reactor, lambda: client.transport.connected)
        return accepted[-1], client

    yield reactor, activity, threads, connect
    for peer in [*accepted, *opened]:
        if not peer.lost and peer.transport is not None:
            peer.transport.abortConnection()
    drive(reactor, lambda: all(p.lost for p in [*accepted, *opened]))
    threads.stop()
    port.stopListening()
    for _ in range(3):
        reactor.iterate(0)


def _start(server: Recorder, client: Recorder, contexts: Any) -> None:
    server_ctx, client_ctx = contexts
    start_tls(server.transport, ServerConnectionCreator(server_ctx))
    start_tls(client.transport, ClientConnectionCreator(client_ctx))


def test_an_outside_clients_handshake_runs_in_the_worker_and_the_lab_stays_busy(
    lab: Any, contexts: Any
) -> None:
    reactor, activity, threads, connect = lab
    server, client = connect(outside=True)
    _start(server, client, contexts)
    # The ClientHello is read: the step goes to the worker, the lab is busy until it is back,
    # and the reactor does not watch the connection meanwhile.
    drive(reactor, lambda: threads.steps >= 1)
    # (A step comes back through callFromThread, on a later reactor turn than the one that
    # handed it over, so it is still out now.)
    assert threads.in_flight == 1
    assert not activity.idle
    assert server.transport not in reactor.getReaders()
    drive(reactor, lambda: server.secured and client.secured)
    # The ClientHello, then the client's Finished: two steps, or one when the client's flight
    # (sent by this same reactor while the worker ran) was already there for the first step.
    assert threads.steps in (1, 2)
    assert threads.in_flight == 0 and activity.idle
    assert server.handshakes == client.handshakes == 1
    client.transport.write(b"MAIL FROM:<terry@treyresearch.net>\r\n")
    drive(reactor, lambda: bytes(server.received) == b"MAIL FROM:<terry@treyresearch.net>\r\n")
    server.transport.write(b"250 2.1.0 Sender OK\r\n")
    drive(reactor, lambda: bytes(client.received) == b"250 2.1.0 Sender OK\r\n")


def test_an_abort_during_a_step_in_the_worker_waits_for_it(lab: Any, contexts: Any) -> None:
    reactor, activity, threads, connect = lab
    server, client = connect(outside=True)
    _start(server, client, contexts)
    drive(reactor, lambda: threads.steps >= 1)
    assert threads.in_flight == 1
    server.transport.abortConnection()
    # Nothing happens to the connection while the worker holds it: the abort waits.
    assert not server.transport._aborting and server.transport.connected
    drive(reactor, lambda: server.lost and client.lost)
    assert server.reason is not None and server.reason.check(ConnectionLost)
    assert not server.secured
    assert threads.in_flight == 0 and activity.idle


def test_the_labs_own_sessions_handshake_in_the_reactors_thread(lab: Any, contexts: Any) -> None:
    reactor, _activity, threads, connect = lab
    server, client = connect(outside=False)
    _start(server, client, contexts)
    drive(reactor, lambda: server.secured and client.secured)
    assert threads.steps == 0


def test_stop_ends_the_worker_and_later_steps_run_in_the_reactors_thread(
    lab: Any, contexts: Any
) -> None:
    reactor, activity, threads, connect = lab
    threads.stop()
    assert not threads._thread.is_alive()
    server, client = connect(outside=True)
    _start(server, client, contexts)
    drive(reactor, lambda: server.secured and client.secured)
    assert threads.steps == 0 and activity.idle
