"""CRL distribution points that cannot give a CRL (issue 10 item 8): each one ends in a missing
CRL, in bounded time, without an exception and without a packet off 127.0.0.0/8.

* :func:`crl_location` (pure) reads a URL as WinHTTP would and names what makes it unusable.
* The fetcher, over real loopback sockets against hostile servers started here: a malformed URL
  fires at once; an address literal is used without DNS; a server that answers SMTP or
  garbage, or sends headers and then nothing, gives a missing CRL; an endpoint the caller
  refuses is never connected to; cancelling (the engine's time limit) fires at once and, when
  the last caller gives up, closes the connection and releases the activity token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol

from labsim.engine.activity import Activity
from labsim.net.crl import GIVEN_UP, CrlFetch, CrlFetcher, CrlLocation, crl_location
from labsim.net.loopback import Network
from labsim.net.ports import auto_offsets, ephemeral_range
from labsim.reactor import default_reactor, drive, wait_for

HOSTILE = "127.0.41.1"
HOSTILE_PORT = 81
SOURCE = "127.0.20.1"


# --- the pure reading of a URL -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[crl.adatum.com/AdatumRootCA.crl", "not a valid URL"),
        ("http://crl.adatum.com:http/x.crl", "not a valid URL"),
        ("http://crl.adatum.com:99999/x.crl", "not a valid URL"),
        ("http://crl.adatum.com:0/x.crl", "port 0"),
        ("ldap:///CN=Adatum%20Root%20CA,CN=CDP", "ldap scheme; labsim fetches CRLs over http only"),
        ("https://crl.adatum.com/x.crl", "https scheme"),
        ("file:///C:/crl/x.crl", "file scheme"),
        ("crl.adatum.com/x.crl", "no scheme"),
        ("http:///x.crl", "no host name"),
        ("http://[::1]/x.crl", "IPv6 address ::1"),
        ("http://10.1.2.3/x.crl", "address 10.1.2.3 is outside 127.0.0.0/8"),
        ("http://8.8.8.8:80/x.crl", "outside 127.0.0.0/8"),
        ("http://crl..adatum.com/x.crl", "not a valid host name"),
        ("http://" + "a" * 64 + ".test/x.crl", "not a valid host name"),
        ("http://crl.adätum.com/x.crl", "not a valid host name"),
    ],
)
def test_an_unusable_url_says_why(url: str, why: str) -> None:
    location = crl_location(url)
    assert isinstance(location, str)
    assert why in location


def test_a_usable_url_gives_host_port_and_path() -> None:
    assert crl_location("http://CRL.Adatum.com/AdatumRootCA.crl") == CrlLocation(
        "crl.adatum.com", 80, "/adatumrootca.crl", None
    )
    assert crl_location("http://127.0.41.1:81/X.crl") == CrlLocation(
        "127.0.41.1", 81, "/x.crl", "127.0.41.1"
    )
    assert crl_location("HTTP://crl.adatum.com.") == CrlLocation("crl.adatum.com", 80, "/", None)


# --- hostile servers on loopback ---------------------------------------------------------------


class _Hostile(Protocol):
    """A server that answers a CRL request with ``answer`` (or nothing), recording the session."""

    def __init__(self, owner: _Listening) -> None:
        self.owner = owner
        self.lost = False

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.owner.sessions.append(self)
        if self.owner.greeting:
            self._transport().write(self.owner.greeting)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.owner.received += data
        if self.owner.answer:
            self._transport().write(self.owner.answer)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted's name
        self.lost = True

    def _transport(self) -> Any:
        return self.transport


class _Listening:
    def __init__(self, greeting: bytes = b"", answer: bytes = b"") -> None:
        self.greeting = greeting
        self.answer = answer
        self.sessions: list[_Hostile] = []
        self.received = b""
        self.port: Any = None

    def factory(self) -> Any:
        factory: Any = Factory.forProtocol(lambda: _Hostile(self))
        factory.noisy = False
        return factory


class _Lab:
    """A lab network on a free offset, a fetcher on it, and its activity."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.reactor = network.reactor
        self.activity = Activity()
        self.connects: list[tuple[str, str, int]] = []
        real_connect = network.connect

        def connect(source: str, address: str, port: int, factory: Any, timeout: float = 30) -> Any:
            self.connects.append((source, address, port))
            return real_connect(source, address, port, factory, timeout)

        network.connect = connect  # type: ignore[method-assign]
        self.fetcher = CrlFetcher(
            self.reactor,
            network,
            lambda host: succeed({"crl.hostile.test": HOSTILE}.get(host)),
            busy=self.activity.begin,
            done=self.activity.end,
        )

    def fetch(self, url: str, **kwargs: Any) -> Deferred[CrlFetch]:
        return self.fetcher.fetch(url, source=SOURCE, **kwargs)

    def wait(self, done: Any) -> None:
        assert drive(self.reactor, done, bound=10), "nothing happened within 10 s"


@pytest.fixture
def hostile() -> Iterator[tuple[_Lab, _Listening]]:
    reactor = default_reactor()
    server = _Listening()
    for offset in auto_offsets(ephemeral_range()):
        network = Network(reactor, offset)
        try:
            server.port = network.listen(HOSTILE, HOSTILE_PORT, server.factory())
        except CannotListenError:
            continue
        break
    else:
        raise AssertionError("no free port offset")
    try:
        yield _Lab(network), server
    finally:
        server.port.stopListening()
        for session in server.sessions:
            if not session.lost:
                session._transport().abortConnection()
        for _ in range(5):
            reactor.iterate(0)


URL = f"http://{HOSTILE}:{HOSTILE_PORT}/Hostile.crl"


def test_a_malformed_url_fires_at_once_with_a_missing_crl(
    hostile: tuple[_Lab, _Listening],
) -> None:
    lab, _ = hostile
    d = lab.fetch("http://[crl.adatum.com/AdatumRootCA.crl")
    assert d.called  # it used to raise inside the fetcher and never fire: MAIL FROM hung
    result = wait_for(lab.reactor, d)
    assert result.crl is None
    assert result.detail.startswith("not a valid URL")
    assert lab.activity.idle
    assert lab.connects == []


def test_an_address_literal_is_used_without_dns_and_an_smtp_answer_is_not_http(
    hostile: tuple[_Lab, _Listening],
) -> None:
    lab, server = hostile
    server.greeting = b"220 mail.hostile.test Microsoft ESMTP MAIL Service ready\r\n"
    server.answer = b"500 5.3.3 Unrecognized command\r\n"
    result = wait_for(lab.reactor, lab.fetch(URL))
    assert result.crl is None
    assert result.detail == "the answer is not HTTP"
    assert server.received.startswith(b"GET /Hostile.crl HTTP/1.1\r\n")
    assert lab.connects == [(SOURCE, HOSTILE, HOSTILE_PORT)]
    assert lab.activity.idle


def test_garbage_after_the_headers_and_a_body_cut_short_are_missing(
    hostile: tuple[_Lab, _Listening],
) -> None:
    lab, server = hostile
    server.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnot a CRL, too long"
    result = wait_for(lab.reactor, lab.fetch(URL))
    assert result.crl is None
    assert result.detail.startswith("HTTP 200 but the body is not a DER CRL")
    server.answer = b"\x16\x03\x01\x00\x05hello\r\n\r\n"
    result = wait_for(lab.reactor, lab.fetch("http://crl.hostile.test:81/Other.crl"))
    assert result.crl is None
    assert result.detail == "the answer is not HTTP"
    assert lab.activity.idle


def test_cancelling_a_silent_fetch_fires_at_once_and_the_last_caller_closes_it(
    hostile: tuple[_Lab, _Listening],
) -> None:
    lab, server = hostile
    server.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n30"  # then nothing more
    first = lab.fetch(URL)
    second = lab.fetch(URL)  # the same CRL from the same server: one fetch, shared
    lab.wait(lambda: bool(server.received))
    assert len(server.sessions) == 1
    assert not first.called and not lab.activity.idle

    first.cancel()
    assert wait_for(lab.reactor, first) == CrlFetch(URL, None, GIVEN_UP)
    # The other caller still waits, so the fetch goes on.
    for _ in range(5):
        lab.reactor.iterate(0)
    assert not second.called and not lab.activity.idle
    assert not server.sessions[0].lost

    second.cancel()
    assert wait_for(lab.reactor, second).detail == GIVEN_UP
    assert lab.activity.idle
    lab.wait(lambda: server.sessions[0].lost)  # the lab closed the connection

    # A new fetch of the same URL starts afresh.
    server.answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    assert wait_for(lab.reactor, lab.fetch(URL)).detail == "HTTP 404"


def test_cancelling_before_the_answer_aborts_the_connection(
    hostile: tuple[_Lab, _Listening],
) -> None:
    lab, server = hostile
    d = lab.fetch(URL)
    lab.wait(lambda: bool(server.received))
    d.cancel()
    assert wait_for(lab.reactor, d).detail == GIVEN_UP
    assert lab.activity.idle
    lab.wait(lambda: server.sessions[0].lost)


def test_a_refused_endpoint_is_never_connected_to(hostile: tuple[_Lab, _Listening]) -> None:
    lab, server = hostile
    asked: list[tuple[str, int]] = []

    def refuse(address: str, port: int) -> str | None:
        asked.append((address, port))
        return f"{address}:{port} is an SMTP endpoint of the lab"

    result = wait_for(lab.reactor, lab.fetch("http://crl.hostile.test:81/X.crl", refuse=refuse))
    assert result.crl is None
    assert result.detail == f"not contacted: {HOSTILE}:81 is an SMTP endpoint of the lab"
    assert asked == [(HOSTILE, 81)]
    assert lab.connects == [] and server.sessions == []
    assert lab.activity.idle


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://10.1.2.3/x.crl", "address 10.1.2.3 is outside 127.0.0.0/8"),
        ("http://[::1]:81/x.crl", "IPv6 address ::1"),
        ("ldap://10.1.2.3/x", "ldap scheme"),
    ],
)
def test_nothing_outside_loopback_is_ever_contacted(
    hostile: tuple[_Lab, _Listening], url: str, why: str
) -> None:
    lab, _ = hostile
    result = wait_for(lab.reactor, lab.fetch(url))
    assert result.crl is None
    assert why in result.detail
    assert lab.connects == []
    assert lab.activity.idle
