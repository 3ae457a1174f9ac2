"""Hostile partner SMTP servers on loopback, served by the lab's own reactor (issue 10 item 5).

Each behaviour is a small Twisted protocol listening on a partner address at the lab's port for
Exchange port 25, so the lab reaches it through a send connector's smart host like any partner.
Everything runs in the reactor the test drives: no subprocess, no thread, no sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.protocol import Factory, Protocol

from labsim.lab import Lab

PARTNER_ADDRESS = "127.0.40.1"
PARTNER_DOMAIN = "hostile.example.test"

EHLO_REPLY = b"250-hostile.example.test\r\n250 STARTTLS\r\n"


class HostileSession(Protocol):
    """One connection; ``script`` says what the partner does."""

    def __init__(self, partner: HostilePartner) -> None:
        self.partner = partner
        self.received = b""

    def connectionMade(self) -> None:  # noqa: N802
        self.partner.connections += 1
        self.partner.open.append(self)
        self.partner.on_connect(self)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.received += data
        while b"\r\n" in self.received:
            line, self.received = self.received.split(b"\r\n", 1)
            self.partner.commands.append(line.decode("ascii", "replace"))
            self.partner.on_command(self, line.decode("ascii", "replace").upper())

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802
        if self in self.partner.open:
            self.partner.open.remove(self)

    def send(self, data: bytes) -> None:
        """Write to the lab's session."""
        assert self.transport is not None
        self.transport.write(data)

    def close(self) -> None:
        """Close the connection."""
        assert self.transport is not None
        self.transport.loseConnection()


def _silent(session: HostileSession, command: str = "") -> None:
    """Say nothing."""


@dataclass
class HostilePartner:
    """A partner server with one behaviour for every connection."""

    on_connect: Callable[[HostileSession], None]
    on_command: Callable[[HostileSession, str], None] = _silent
    connections: int = 0
    commands: list[str] = field(default_factory=list)
    open: list[HostileSession] = field(default_factory=list)
    port: Any = None

    def listen(self, lab: Lab) -> None:
        """Listen on the partner address (the lab's port for Exchange port 25)."""
        factory = Factory.forProtocol(lambda: HostileSession(self))
        factory.noisy = False
        self.port = lab.world.network.listen(PARTNER_ADDRESS, 25, factory)

    def stop(self) -> None:
        """Stop listening and drop every connection."""
        for session in list(self.open):
            assert session.transport is not None
            session.transport.abortConnection()
        if self.port is not None:
            self.port.stopListening()


def _ehlo_then(after_ehlo: Callable[[HostileSession, str], None]) -> Callable[..., None]:
    def on_command(session: HostileSession, command: str) -> None:
        if command.startswith(("EHLO", "HELO")):
            session.send(EHLO_REPLY)
        else:
            after_ehlo(session, command)

    return on_command


def _starttls_then(data: bytes, *, close: bool) -> Callable[[HostileSession, str], None]:
    def on_command(session: HostileSession, command: str) -> None:
        if command == "STARTTLS":
            session.send(data)
            if close:
                session.close()

    return on_command


def _greet(session: HostileSession) -> None:
    session.send(b"220 hostile.example.test ESMTP\r\n")


# A truncated TLS record: a handshake record header announcing more bytes than ever come.
TRUNCATED_SERVER_HELLO = bytes.fromhex("160303004a020000460303") + b"\x00" * 8

BEHAVIOURS: dict[str, Callable[[], HostilePartner]] = {
    "garbage banner": lambda: HostilePartner(
        lambda s: s.send(b"\x00\xff\xfe garbage \x1b[2J no SMTP here\r\n")
    ),
    "200,000-line banner": lambda: HostilePartner(
        lambda s: s.send(b"220-hostile.example.test line\r\n" * 200_000)
    ),
    "bad reply codes": lambda: HostilePartner(_greet, lambda s, c: s.send(b"999 what is this\r\n")),
    "injected STARTTLS response": lambda: HostilePartner(
        _greet,
        _ehlo_then(
            _starttls_then(
                b"220 2.0.0 Ready\r\n250-injected.example.test\r\n250 INJECTED\r\n", close=False
            )
        ),
    ),
    "truncated TLS": lambda: HostilePartner(
        _greet,
        _ehlo_then(_starttls_then(b"220 2.0.0 Ready\r\n" + TRUNCATED_SERVER_HELLO, close=True)),
    ),
    "nothing at all": lambda: HostilePartner(_silent),
    "421 to EHLO": lambda: HostilePartner(
        _greet, lambda s, c: (s.send(b"421 4.3.2 Service not available\r\n"), s.close())
    ),
}


class _Accepting:
    """A well-behaved partner: plain SMTP, accepts every message."""

    def __init__(self) -> None:
        self.in_data = False
        self.messages = 0

    def on_connect(self, session: HostileSession) -> None:
        _greet(session)

    def on_command(self, session: HostileSession, command: str) -> None:
        if self.in_data:
            if command == ".":
                self.in_data = False
                self.messages += 1
                session.send(b"250 2.6.0 queued\r\n")
            return
        verb = command.split(" ")[0].split(":")[0]
        if verb in ("EHLO", "HELO"):
            session.send(b"250 hostile.example.test\r\n")
        elif verb == "DATA":
            self.in_data = True
            session.send(b"354 go ahead\r\n")
        elif verb == "QUIT":
            session.send(b"221 2.0.0 bye\r\n")
            session.close()
        else:
            session.send(b"250 2.0.0 ok\r\n")


def accepting_partner() -> tuple[HostilePartner, _Accepting]:
    """A partner that accepts every message (``messages`` counts them)."""
    state = _Accepting()
    return HostilePartner(state.on_connect, state.on_command), state
