"""What the fuzz tests share: a lab per example, an SMTP client and a hostile SMTP server on
real loopback sockets driven from the lab's own reactor, and the lab's invariants.

Both peers live in the test's thread. The client is a non-blocking socket (with TLS through
``ssl.SSLObject`` over memory buffers) pumped between turns of the lab's reactor, so a script
of thousands of pipelined bytes goes out without threads and without waiting on wall-clock
time. The hostile server is a Twisted protocol on the same reactor, listening where the lab's
smart host points. Every wait is for an event and has a bound; a lab that does not settle is
reported by :func:`labsim.reactor.drive` (LabStuckError, its bound shortened by the fixture).
"""

from __future__ import annotations

import contextlib
import gc
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.logger import globalLogPublisher

from labsim.lab import Lab
from labsim.logs.tracking import TRACKING_LOG_FIELDS
from labsim.model.lab import LabDefinition, default_lab

CLIENT_ADDRESS = "127.0.30.1"
"""Where the fuzzing client connects from (inside 127.0.0.0/8, owned by no simulated server)."""

HOSTILE_ADDRESS = "127.0.40.1"
"""Where the hostile SMTP server listens (the lab's smart host for evil.example.test)."""

TREY_CAS = "127.0.20.1"
ADATUM_CAS = "127.0.10.1"

# A lab (or a session) that has not settled within this many seconds is stuck: a bug. Real
# sessions here settle in milliseconds; the bound only keeps a hang from costing a minute.
STUCK_SECONDS = 5.0


# --- a lab per example -------------------------------------------------------------------------


class TwistedErrors:
    """Twisted's error log events while a block ran (the suite's conftest fails on them too;
    collecting them per example lets Hypothesis see the failing example itself)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("isError") or event.get("log_failure") is not None:
            self.events.append(event)

    def texts(self) -> list[str]:
        """The events as text, with tracebacks."""
        from twisted.logger import formatEvent

        out = []
        for event in self.events:
            failure = event.get("log_failure")
            out.append(formatEvent(event) + ("\n" + failure.getTraceback() if failure else ""))
        return out


@contextlib.contextmanager
def running_lab(
    cert_folder: Path, definition: LabDefinition | None = None
) -> Iterator[tuple[Lab, TwistedErrors]]:
    """A fresh lab (the default one unless given) and the Twisted errors logged while it runs;
    the lab is stopped afterwards, also when the example fails."""
    errors = TwistedErrors()
    # A failed Deferred is reported when it is collected: collect before and after, so every
    # report lands in the example that caused it.
    gc.collect()
    globalLogPublisher.addObserver(errors)
    lab = Lab.start(
        definition if definition is not None else default_lab(), cert_folder=cert_folder
    )
    reactor = lab.world.reactor
    before = set(reactor.getReaders()) | set(reactor.getWriters())
    try:
        yield lab, errors
    finally:
        lab.stop()
        close_leftovers(reactor, before)
        gc.collect()
        globalLogPublisher.removeObserver(errors)


def close_leftovers(reactor: Any, before: set[Any]) -> None:
    """Close sockets the example left in the (global) reactor.

    A lab that settled has none. One that hung (a strict xfail reproducing a known bug) leaves
    sessions open, even between its own servers; they must end here, inside the example that
    opened them, so that what they report lands here and not in a later test.
    """
    for selectable in (set(reactor.getReaders()) | set(reactor.getWriters())) - before:
        if hasattr(selectable, "abortConnection"):
            selectable.abortConnection()
        elif hasattr(selectable, "stopListening"):
            selectable.stopListening()
    for _ in range(5):
        reactor.iterate(0)


def assert_healthy(lab: Lab, errors: TwistedErrors) -> None:
    """No engine error recorded and nothing unhandled logged by Twisted."""
    assert not lab.world.engine_errors, "\n".join(
        f"{e.server} in {e.where}: {e.error}\n{e.traceback}" for e in lab.world.engine_errors
    )
    assert not errors.events, "\n".join(errors.texts())


def assert_still_delivers(lab: Lab) -> None:
    """A normal message from outside, over SMTP to TREY-CAS1, reaches its mailbox."""
    before = len(lab.inbox("terry@treyresearch.net"))
    client = WireClient(lab, TREY_CAS, lab.world.network.real_port(25))
    try:
        client.send(
            b"EHLO normal.example.test\r\nMAIL FROM:<normal@fabrikam.test>\r\n"
            b"RCPT TO:<terry@treyresearch.net>\r\nDATA\r\n"
        )
        assert client.wait_for(lambda: client.reply_count() >= 5), client.transcript()
        client.send(b"Subject: after the fuzz\r\n\r\nstill here\r\n.\r\nQUIT\r\n")
        assert client.wait_for(lambda: client.peer_closed), client.transcript()
    finally:
        client.close()
    lab.run_until_idle()
    inbox = lab.inbox("terry@treyresearch.net")
    assert len(inbox) == before + 1, client.transcript()
    assert inbox[-1].subject == "after the fuzz"


def bare_id(message_id: str) -> str:
    """A Message-ID without angle brackets or surrounding space, lower-cased."""
    return message_id.strip().strip("<>").strip().lower()


def message_whereabouts(lab: Lab) -> set[str]:
    """Message-IDs the lab can account for: delivered to a mailbox, waiting in a queue, or
    failed (tracking FAIL / DSN: an NDR was made) or handed on (tracking SEND)."""
    known = {bare_id(m.message_id) for m in lab.world.mailboxes.all()}
    for org in lab.organization_names():
        known |= {bare_id(m.message_id) for m in lab.messages(org)}
        for line in lab.tracking_log(org):
            if line.startswith("#"):
                continue
            record = dict(zip(TRACKING_LOG_FIELDS, _csv_row(line), strict=False))
            if record.get("event-id") in ("FAIL", "DSN", "SEND", "DELIVER"):
                known.add(bare_id(record.get("message-id", "")))
    return known


def _csv_row(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]))


# --- the client --------------------------------------------------------------------------------


class WireClient:
    """An SMTP client socket pumped from the lab's reactor loop; plaintext or TLS.

    ``received`` is everything the server said (after TLS, decrypted). Sends never block:
    bytes wait in ``_out`` until the socket takes them, while the reactor runs the server.
    """

    def __init__(self, lab: Lab, host: str, port: int, source: str = CLIENT_ADDRESS) -> None:
        self.lab = lab
        self.sock = socket.create_connection((host, port), timeout=5, source_address=(source, 0))
        self.sock.setblocking(False)
        self.received = bytearray()
        self.peer_closed = False
        self._out = bytearray()
        self._tls: ssl.SSLObject | None = None
        self._tls_in = ssl.MemoryBIO()
        self._tls_out = ssl.MemoryBIO()

    # sending

    def send(self, data: bytes) -> None:
        """Queue bytes (encrypted when TLS is on) and push what the socket takes now."""
        if self._tls is not None:
            with contextlib.suppress(ssl.SSLError):
                self._tls.write(data)
        else:
            self._out += data
        self.pump()

    def send_raw(self, data: bytes) -> None:
        """Bytes on the socket as they are, TLS or not (garbage instead of TLS records)."""
        self._out += data
        self.pump()

    def half_close(self) -> None:
        """Everything queued is sent first; then the write side is shut (the peer reads EOF)."""
        self.wait_for(lambda: not self._out and not self._tls_out.pending)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        """Close the socket."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def abort(self) -> None:
        """Close with a reset (SO_LINGER 0): the peer sees the connection torn down."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
        self.close()

    # pumping

    def pump(self) -> None:
        """Move bytes between the socket, the TLS buffers and ``received``; never blocks."""
        if self._tls is not None and self._tls_out.pending:
            self._out += self._tls_out.read()
        while self._out and not self.peer_closed:
            try:
                sent = self.sock.send(self._out)
            except BlockingIOError:
                break
            except OSError:
                self.peer_closed = True
                self._out.clear()
                break
            del self._out[:sent]
        while not self.peer_closed:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                break
            except OSError:
                self.peer_closed = True
                break
            if not data:
                self.peer_closed = True
                break
            if self._tls is not None:
                self._tls_in.write(data)
            else:
                self.received += data
        if self._tls is not None:
            self._read_tls()

    def _read_tls(self) -> None:
        assert self._tls is not None
        while True:
            try:
                chunk = self._tls.read(1 << 16)
            except ssl.SSLWantReadError:
                return
            except (ssl.SSLError, ValueError):
                self.peer_closed = True
                return
            if not chunk:
                self.peer_closed = True
                return
            self.received += chunk

    def wait_for(self, done: Callable[[], bool], bound: float = STUCK_SECONDS) -> bool:
        """Turn the lab's reactor (pumping this client) until ``done()``; False at the bound."""
        reactor = self.lab.world.reactor
        deadline = time.monotonic() + bound
        while True:
            self.pump()
            if done():
                return True
            if time.monotonic() > deadline:
                return False
            reactor.iterate(0.002)

    def settle(self, until: Callable[[], bool] = lambda: False, quiet_turns: int = 6) -> None:
        """Turn the reactor until ``until()``, or nothing moved for ``quiet_turns`` turns: the server has
        answered all it will answer to what was sent (loopback delivers a send at once, so
        a turn without traffic means the lab has nothing left to say now)."""
        state = {"quiet": 0, "seen": -1}

        def quiet() -> bool:
            size = len(self.received) + (1 << 40 if self.peer_closed else 0)
            if size == state["seen"] and not self._out:
                state["quiet"] += 1
            else:
                state["quiet"], state["seen"] = 0, size
            return state["quiet"] >= quiet_turns

        self.wait_for(lambda: until() or quiet())

    # TLS

    def start_tls(self) -> bool:
        """Handshake (no certificate checks: the fuzzer is a hostile client, not a verifier);
        False when the server ends the session instead."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self._tls = context.wrap_bio(self._tls_in, self._tls_out)
        outcome = {"done": False}

        def handshaken() -> bool:
            assert self._tls is not None
            try:
                self._tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLError, OSError):
                self.peer_closed = True
            else:
                outcome["done"] = True
            if self._tls_out.pending:
                self._out += self._tls_out.read()
            return outcome["done"] or self.peer_closed

        self.wait_for(handshaken)
        return outcome["done"]

    @property
    def tls_active(self) -> bool:
        """True once TLS was started (whether or not the handshake completed)."""
        return self._tls is not None

    # replies

    def lines(self) -> list[bytes]:
        """Complete reply lines received so far."""
        return bytes(self.received).split(b"\r\n")[:-1]

    def reply_count(self) -> int:
        """Complete replies (a multi-line reply counts once)."""
        return sum(1 for line in self.lines() if line[3:4] != b"-")

    def transcript(self) -> str:
        """What the server said, for assertion messages."""
        return bytes(self.received[-4000:]).decode("latin-1")


# --- the hostile server ------------------------------------------------------------------------


@dataclass
class HostileScript:
    """What the hostile server answers: ``banner`` on the first connect, then one answer per command line
    in order, across sessions (a retry meets the rest of the script); when the answers run out
    it behaves (250 / 354 / 221), so the message can finally be delivered.

    An answer is bytes to write, or one of the actions ``CLOSE`` (drop the connection),
    ``SILENCE`` (answer nothing, ever), ``TLS`` (reply 220 and start TLS), ``TLS_GARBAGE``
    (reply 220, then write garbage instead of a handshake), ``LONG_LINE`` (a 100,000-byte reply
    line), ``junk:N`` (N lines of multi-line junk).
    """

    banner: bytes | str
    answers: list[bytes | str] = field(default_factory=list)
    log: list[bytes] = field(default_factory=list)
    sessions: int = 0
    messages: int = 0


CLOSE, SILENCE, TLS, TLS_GARBAGE = "close", "silence", "tls", "tls-garbage"
LONG_LINE = "long-line"
JUNK = "junk:"
"""``junk:N``: a multi-line reply of N ``250-junk`` lines and a last line (a short repr)."""


def hostile_server(lab: Lab, script: HostileScript, tls_options: Any) -> Any:
    """Listen on HOSTILE_ADDRESS at the lab's port for 25; return the listening port."""
    from twisted.internet.protocol import Factory
    from twisted.protocols.basic import LineOnlyReceiver

    class Hostile(LineOnlyReceiver):
        MAX_LENGTH = 1 << 20
        delimiter = b"\n"

        def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
            script.sessions += 1
            self.answers = script.answers
            self.in_data = False
            self.silent = False
            # Only the first session meets the hostile banner; a retry is greeted properly.
            self.act(script.banner if script.sessions == 1 else b"220 evil.example.test ESMTP\r\n")

        def act(self, answer: bytes | str) -> None:
            if answer == CLOSE:
                self.transport.loseConnection()
            elif answer == SILENCE:
                self.silent = True
            elif answer == TLS:
                self.transport.write(b"220 2.0.0 go ahead\r\n")
                self.transport.startTLS(tls_options)
            elif isinstance(answer, str) and answer.startswith(JUNK):
                count = int(answer[len(JUNK) :])
                self.transport.write(b"250-junk\r\n" * count + b"250 end of junk\r\n")
            elif answer == LONG_LINE:
                self.transport.write(b"250 " + b"x" * 100_000 + b"\r\n")
            elif answer == TLS_GARBAGE:
                self.transport.write(b"220 2.0.0 go ahead\r\n\x16\x03\x01\x00\x05junk!" * 3)
                self.transport.loseConnection()
            else:
                assert isinstance(answer, bytes)
                self.transport.write(answer)

        def lineReceived(self, line: bytes) -> None:  # noqa: N802 - Twisted's name
            line = line.rstrip(b"\r")
            script.log.append(line)
            if self.silent:
                return
            if self.in_data:
                if line == b".":
                    self.in_data = False
                    script.messages += 1
                    self.act(self.answers.pop(0) if self.answers else b"250 2.6.0 queued\r\n")
                return
            verb = line.split(b" ", 1)[0].split(b":", 1)[0].upper()
            behaved = {
                b"EHLO": b"250-evil.example.test\r\n250 8BITMIME\r\n",
                b"DATA": b"354 go ahead\r\n",
                b"QUIT": b"221 2.0.0 bye\r\n",
            }.get(verb, b"250 2.0.0 ok\r\n")
            answer = self.answers.pop(0) if self.answers else behaved
            self.act(answer)
            if verb == b"DATA" and isinstance(answer, bytes) and answer.startswith(b"354"):
                self.in_data = True

    factory = Factory.forProtocol(Hostile)
    return lab.world.reactor.listenTCP(
        lab.world.network.real_port(25), factory, interface=HOSTILE_ADDRESS
    )


def hostile_tls_options(lab: Lab) -> Any:
    """Server TLS options for the hostile server: a certificate from the lab's public CA."""
    cert = lab.authorities["public"].issue(
        "evil.example.test", at=lab.now(), dns_names=("evil.example.test",)
    )
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from OpenSSL import SSL

    from labsim.engine.tls import ServerConnectionCreator

    # Built from cryptography objects: pyOpenSSL's X509 objects (Twisted's PrivateCertificate)
    # are deprecated, and the suite turns warnings into errors.
    context = SSL.Context(SSL.TLS_METHOD)
    context.use_certificate(x509.load_pem_x509_certificate(cert.pem()))
    context.use_privatekey(load_pem_private_key(cert.key_pem(), None))  # type: ignore[arg-type]
    return ServerConnectionCreator(context)
