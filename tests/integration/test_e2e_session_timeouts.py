"""Every inbound session has the receive connector's timeouts (ConnectionTimeout,
ConnectionInactivityTimeout) on the lab clock: an idle or endless client gets Exchange's
``421 4.4.1 Connection timed out`` and is disconnected, logged as closed by the server."""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from labsim.lab import Lab
from labsim.reactor import drive

CAS = "127.0.10.1"
CONNECTOR = '"Default Frontend ADATUM-CAS1"'


@pytest.fixture
def client(lab: Lab) -> Iterator[socket.socket]:
    # The test is a client from outside the lab: as in a live lab, shell lines and clock jumps
    # do not wait for it.
    lab.live = True
    assert (
        lab.run_shell(
            "Adatum", f"Set-ReceiveConnector {CONNECTOR} -ProtocolLoggingLevel Verbose"
        ).error
        is None
    )
    sock = socket.create_connection((CAS, lab.world.network.real_port(25)), timeout=10)
    try:
        assert read_reply(lab, sock).startswith(b"220 ")
        yield sock
    finally:
        sock.close()


def read_reply(lab: Lab, sock: socket.socket) -> bytes:
    """Turn the lab's reactor until the client has something to read; return it."""
    assert drive(lab.world.reactor, lambda: bool(select.select([sock], [], [], 0)[0]), bound=10), (
        "no reply within 10 s"
    )
    return sock.recv(65536)


def closed_with_timeout(lab: Lab, sock: socket.socket) -> bool:
    data = read_reply(lab, sock)
    while data and not data.endswith(b"\r\n"):
        data += read_reply(lab, sock)
    return data == b"421 4.4.1 Connection timed out\r\n" and read_reply(lab, sock) == b""


def test_a_silent_client_is_disconnected_after_the_inactivity_timeout(
    lab: Lab, client: socket.socket
) -> None:
    lab.advance(5 * 60 - 1)
    assert not select.select([client], [], [], 0)[0]  # still open one second before
    lab.advance(2)
    assert closed_with_timeout(lab, client)
    log = "\n".join(lab.protocol_log("Adatum", "ADATUM-CAS1", "receive"))
    assert ">,421 4.4.1 Connection timed out," in log
    assert log.rstrip().endswith("-,,Local")


def test_a_busy_client_is_disconnected_after_the_connection_timeout(lab: Lab) -> None:
    assert (
        lab.run_shell(
            "Adatum",
            f"Set-ReceiveConnector {CONNECTOR} -ConnectionTimeout 00:02:00 "
            "-ConnectionInactivityTimeout 00:01:00",
        ).error
        is None
    )
    lab.live = True
    sock = socket.create_connection((CAS, lab.world.network.real_port(25)), timeout=10)
    try:
        assert read_reply(lab, sock).startswith(b"220 ")
        for _ in range(2):  # speaking every 50 s keeps it under the inactivity timeout
            lab.advance(50)
            sock.sendall(b"NOOP\r\n")
            assert read_reply(lab, sock).startswith(b"250 ")
        lab.advance(50)  # 150 s in: past the 2-minute ConnectionTimeout
        assert closed_with_timeout(lab, sock)
    finally:
        sock.close()


def test_the_timeouts_are_shown_set_and_checked(lab: Lab) -> None:
    shown = lab.run_shell("Adatum", f"Get-ReceiveConnector {CONNECTOR} | FL Connection*").output
    assert "ConnectionInactivityTimeout : 00:05:00" in shown
    assert "ConnectionTimeout           : 00:10:00" in shown
    longer = lab.run_shell(
        "Adatum", f"Set-ReceiveConnector {CONNECTOR} -ConnectionInactivityTimeout 00:20:00"
    )
    assert longer.error is not None
    assert "must be less than or equal to the ConnectionTimeout value (00:10:00)" in str(
        longer.error
    )
    too_long = lab.run_shell(
        "Adatum", f"Set-ReceiveConnector {CONNECTOR} -ConnectionTimeout 2.00:00:00"
    )
    assert too_long.error is not None and "between 00:00:01 and 1.00:00:00" in str(too_long.error)
