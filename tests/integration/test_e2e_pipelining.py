"""Thousands of pipelined commands in one read are answered in order, every one of them
(issue 10 item 3: answering each at once used to nest one call per command, and a few hundred
exhausted the stack, leaving the session silent)."""

from __future__ import annotations

import select
import socket

from labsim.lab import Lab
from labsim.reactor import drive


def test_two_thousand_pipelined_commands_get_two_thousand_replies(lab: Lab) -> None:
    lab.live = True  # the test's socket is a client from outside the lab
    count = 2000
    with socket.create_connection(("127.0.10.1", lab.world.network.real_port(25)), timeout=10) as s:
        s.sendall(b"EHLO client.example.test\r\n" + b"NOOP\r\n" * count + b"QUIT\r\n")
        received = bytearray()

        def closed_or_readable() -> bool:
            while select.select([s], [], [], 0)[0]:
                chunk = s.recv(1 << 16)
                if not chunk:
                    return True
                received.extend(chunk)
            return False

        assert drive(lab.world.reactor, closed_or_readable, bound=30)
    lines = bytes(received).split(b"\r\n")
    assert sum(1 for line in lines if line.startswith(b"250 2.0.0 OK")) == count
    assert lines[-2].startswith(b"221 2.0.0")
