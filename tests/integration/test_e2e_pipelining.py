"""Thousands of pipelined commands in one read are answered in order, every one of them
(issue 10 item 3: answering each at once used to nest one call per command, and a few hundred
exhausted the stack, leaving the session silent)."""

from __future__ import annotations

from integration_helpers import raw_session

from labsim.lab import Lab


def test_two_thousand_pipelined_commands_get_two_thousand_replies(lab: Lab) -> None:
    count = 2000
    received = raw_session(
        lab, "127.0.10.1", 25, b"EHLO client.example.test\r\n" + b"NOOP\r\n" * count + b"QUIT\r\n"
    )
    lines = received.split(b"\r\n")
    assert sum(1 for line in lines if line.startswith(b"250 2.0.0 OK")) == count
    assert lines[-2].startswith(b"221 2.0.0")
