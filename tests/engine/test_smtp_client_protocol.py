"""The outbound SMTP adapter on a fake transport and clock: send-side timeouts, a 421 closing
the channel, and no command ever waiting on a closed session (issue 10 item 5)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from labsim.engine.smtp_client import SendTimeouts, SessionEnded, SmtpClientProtocol
from labsim.logs.protocol_log import NULL_SESSION


class FakeClock:
    """Lab timers that run only when the test moves time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.timers: list[tuple[float, Callable[[], object], list[bool]]] = []

    def seconds(self) -> float:
        return self.now

    def call_at(self, when: float, action: Callable[[], object]) -> Any:
        cancelled = [False]
        self.timers.append((when, action, cancelled))

        class Timer:
            def cancel(self) -> None:
                cancelled[0] = True

        return Timer()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := [t for t in self.timers if t[0] <= self.now and not t[2][0]]:
            for timer in due:
                self.timers.remove(timer)
                timer[1]()


class Transport(StringTransport):
    def __init__(self, proto: SmtpClientProtocol) -> None:
        super().__init__()
        self.proto = proto

    def setTcpNoDelay(self, enabled: bool) -> None:  # noqa: N802
        pass

    def abortConnection(self) -> None:  # noqa: N802
        self.proto.connectionLost(Failure(ConnectionAbortedError("aborted")))

    def loseConnection(self) -> None:  # noqa: N802
        self.disconnecting = True


def connected(clock: FakeClock) -> tuple[SmtpClientProtocol, Transport]:
    closed: list[bool] = []
    proto = SmtpClientProtocol(
        NULL_SESSION,
        lambda: datetime.fromtimestamp(clock.now, UTC),
        lambda: closed.append(True),
        clock=clock,
        timeouts=SendTimeouts(inactivity=600, session=3600),
    )
    transport = Transport(proto)
    proto.makeConnection(transport)
    return proto, transport


def outcome(d: Any) -> list[Any]:
    box: list[Any] = []
    d.addBoth(box.append)
    return box


def test_a_silent_server_times_out_after_the_inactivity_timeout() -> None:
    clock = FakeClock()
    proto, _ = connected(clock)
    greeting = outcome(proto.greeting)
    clock.advance(599)
    assert greeting == [] and not proto.closed
    clock.advance(1)
    assert proto.closed and proto.timed_out
    assert isinstance(greeting[0], Failure) and greeting[0].check(SessionEnded)


def test_the_lab_pausing_between_commands_is_not_the_servers_silence() -> None:
    clock = FakeClock()
    proto, _ = connected(clock)
    proto.dataReceived(b"220 mx.example ESMTP\r\n")
    clock.advance(1200)  # nothing awaited: the session stays
    assert not proto.closed
    reply = outcome(proto.ehlo("a.example"))
    clock.advance(599)
    assert reply == []
    clock.advance(1)
    assert proto.timed_out


def test_the_whole_session_is_bounded() -> None:
    clock = FakeClock()
    proto, _ = connected(clock)
    greeting = outcome(proto.greeting)
    for _ in range(6):  # a line every 9 minutes: never silent for 10
        clock.advance(540)
        proto.dataReceived(b"220-still here\r\n")
    assert greeting == [] and not proto.closed
    clock.advance(540)
    assert proto.timed_out


def test_a_421_closes_the_channel_and_later_commands_fail_at_once() -> None:
    clock = FakeClock()
    proto, transport = connected(clock)
    proto.dataReceived(b"220 mx.example ESMTP\r\n")
    ehlo = outcome(proto.ehlo("a.example"))
    proto.dataReceived(b"421 4.3.2 Service not available\r\n")
    assert str(ehlo[0]) == "421 4.3.2 Service not available"
    assert proto.closing and transport.disconnecting
    written = transport.value()
    helo = outcome(proto.helo("a.example"))
    assert isinstance(helo[0], Failure) and helo[0].check(SessionEnded)
    assert transport.value() == written  # nothing more went on the wire


@pytest.mark.parametrize("data", [b"\x00\xffgarbage\r\n", b"999 what\r\n"])
def test_a_reply_that_is_no_smtp_drops_the_session(data: bytes) -> None:
    clock = FakeClock()
    proto, _ = connected(clock)
    greeting = outcome(proto.greeting)
    proto.dataReceived(data)
    assert proto.closed and not proto.timed_out
    assert greeting[0].check(SessionEnded)


class RecordingLog:
    """A session log keeping the ``<`` records (reply lines) the adapter writes."""

    def __init__(self) -> None:
        self.replies: list[str] = []

    def received(self, at: datetime, line: str) -> None:
        self.replies.append(line)

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def test_the_send_log_has_one_record_per_reply_line() -> None:
    # Exchange 2013's send log writes "<,250-SIZE 37748736," … "<,250 XSHADOW," (§17 C4).
    clock = FakeClock()
    log = RecordingLog()
    proto = SmtpClientProtocol(
        log, lambda: datetime.fromtimestamp(clock.now, UTC), lambda: None, clock=clock
    )
    proto.makeConnection(Transport(proto))
    proto.dataReceived(b"220 mx.example ESMTP\r\n")
    outcome(proto.ehlo("a.example"))
    proto.dataReceived(
        b"250-mx.example Hello [127.0.10.2]\r\n250-SIZE 37748736\r\n250-PIPELINING\r\n"
        b"250 XSHADOW\r\n"
    )
    outcome(proto.rset())
    # Enhanced codes stay on every line; a separator other than CRLF (U+2028) stays in its line.
    proto.dataReceived("250-2.0.0 one\u2028two\r\n250 2.0.0 Resetting\r\n".encode())
    assert log.replies == [
        "220 mx.example ESMTP",
        "250-mx.example Hello [127.0.10.2]",
        "250-SIZE 37748736",
        "250-PIPELINING",
        "250 XSHADOW",
        "250-2.0.0 one\u2028two",
        "250 2.0.0 Resetting",
    ]
