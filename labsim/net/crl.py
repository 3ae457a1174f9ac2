"""CRL distribution points over real HTTP on loopback: the lab's CRL web server, the fetcher the
simulated servers use, and the per-URL cache of fetched CRLs.

* :class:`CrlWebServer` is a ``twisted.web`` site on :data:`~labsim.model.pki_urls.CRL_ADDRESS`,
  Exchange port 80 (plus the lab's port offset). A request for a CA's distribution point path
  (matched on the Host header and the path, case-insensitively, as IIS would) gets that CA's
  published CRL (``CertificateAuthority.published_crl``: the same CRL until a revocation or its
  NextUpdate), as DER with ``Content-Type: application/pkix-crl``. A CA whose CRL the lab made unreachable (``Set-LabCrl -Reachable
  $false``) gets the connection aborted before any HTTP answer, as a blocking firewall or proxy
  looks to a client. Any other path is a 404.
* :func:`crl_location` (pure) reads a distribution point URL as WinHTTP would and says why one
  is unusable: not ``http``, malformed (``http://[crl``), no host, a bad port, an IPv6 literal
  or an IPv4 literal outside 127.0.0.0/8 (the lab never sends a packet off this machine).
* :class:`CrlFetcher` is a ``twisted.web.client.Agent`` whose endpoints take an IPv4 literal
  as it is and resolve a name through the lab DNS, check the address (127.0.0.0/8 only) and the
  caller's endpoint rule (the engine refuses the lab's own SMTP endpoints), then connect
  through the lab :class:`~labsim.net.loopback.Network` from the verifying server's own
  address. Every failure (unusable URL, DNS, refused endpoint, refused connection, aborted, an
  answer that is not HTTP, a non-200 answer, a body that is not a CRL) is a result saying the
  CRL is missing, never an exception, and the returned Deferred always fires. Cancelling it
  (the engine's time limit) fires it at once with a missing CRL and, once no caller waits for
  the fetch any more, aborts the connection and releases the activity token.
* :class:`CrlCache` keeps a fetched CRL per server and URL until its NextUpdate at lab time; the
  lab drops a URL's entries when the CA revokes a certificate or when its reachability changes
  (docs/fidelity.md).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from twisted.internet.defer import CancelledError, Deferred, inlineCallbacks, maybeDeferred
from twisted.internet.endpoints import _WrappingFactory
from twisted.internet.error import (
    ConnectError,
    ConnectingCancelledError,
    ConnectionRefusedError,
    DNSLookupError,
)
from twisted.internet.error import TimeoutError as ConnectTimeout
from twisted.internet.interfaces import IProtocolFactory, IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web._newclient import BadResponseVersion, ParseError
from twisted.web.client import Agent, ResponseDone, ResponseFailed, ResponseNeverReceived
from twisted.web.error import Error as WebError
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import IAgentEndpointFactory
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site
from zope.interface import implementer

from labsim.errors import ConfigError
from labsim.model.pki_urls import CRL_ADDRESS, CRL_PORT
from labsim.net.loopback import LOOPBACK, Network
from labsim.pki.ca import CertificateAuthority
from labsim.pki.certificate import subject_and_issuer_der

CRL_CONTENT_TYPE = b"application/pkix-crl"


# --- distribution points of a chain ----------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def distribution_points(certificate: x509.Certificate) -> tuple[str, ...]:
    """The URIs in a certificate's CRL Distribution Points extension (every scheme), in order."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return ()
    urls: list[str] = []
    for point in extension.value:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and name.value not in urls:
                urls.append(name.value)
    return tuple(urls)


def _self_signed(certificate: x509.Certificate) -> bool:
    subject, issuer = subject_and_issuer_der(certificate)
    return subject == issuer


def revocation_urls(chain: Iterable[x509.Certificate]) -> tuple[str, ...]:
    """The CDP URLs to fetch for ``chain`` (leaf first): the leaf and the intermediates, never a
    self-signed root (docs/exchange-reference.md §4.3: end certificate + intermediates, root
    excluded)."""
    urls: list[str] = []
    for certificate in chain:
        if _self_signed(certificate):
            continue
        for url in distribution_points(certificate):
            if url not in urls:
                urls.append(url)
    return tuple(urls)


@dataclass(frozen=True)
class CrlLocation:
    """Where a usable ``http`` distribution point points: host (lower case), port, path."""

    host: str
    port: int
    path: str
    address: str | None
    """The host itself when it is an IPv4 literal (no DNS lookup), else None."""


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def crl_location(url: str) -> CrlLocation | str:
    """Read a CRL distribution point URL; a :class:`CrlLocation`, or why it cannot be fetched.

    Pure. Windows' chain engine counts every such URL as a failed retrieval, so the caller
    treats the CRL as missing (revocation status unknown, ``RevocationOffline``), never as an
    error.
    """
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        hostname = parts.hostname
        port = parts.port
    except ValueError as err:  # urlsplit: "Invalid IPv6 URL"; .port: not a number, out of range
        return f"not a valid URL ({err})"
    if scheme != "http":
        return f"{scheme or 'no'} scheme; labsim fetches CRLs over http only"
    if not hostname:
        return "no host name in the URL"
    if port == 0:
        return "port 0 in the URL"
    path = (parts.path or "/").lower()
    try:
        literal = ipaddress.ip_address(hostname)
    except ValueError:
        literal = None
    if isinstance(literal, ipaddress.IPv6Address):
        return f"IPv6 address {hostname}: the lab network is IPv4 loopback only"
    if literal is not None:
        if literal not in LOOPBACK:
            return f"address {hostname} is outside 127.0.0.0/8; labsim never leaves this machine"
        return CrlLocation(hostname, port or CRL_PORT, path, str(literal))
    name = hostname.rstrip(".")
    if len(name) > 253 or not all(_HOST_LABEL.match(label) for label in name.split(".")):
        return f"{hostname!r} is not a valid host name"
    return CrlLocation(name, port or CRL_PORT, path, None)


@functools.lru_cache(maxsize=4096)
def _normalized(url: str) -> tuple[str, int, str] | None:
    location = crl_location(url)
    if isinstance(location, str):
        return None
    return location.host, location.port, location.path


# --- the cache --------------------------------------------------------------------------------


def next_update_of(crl: x509.CertificateRevocationList) -> datetime | None:
    """A CRL's NextUpdate as an aware UTC datetime (None when it has none)."""
    value = crl.next_update_utc
    return value.astimezone(UTC) if value is not None else None


class CrlCache:
    """Fetched CRLs per machine and distribution point URL, each kept until its NextUpdate at
    lab time.

    One object per lab (in the World); entries are keyed by the fetching server (``holder``) and
    the URL, as each Windows machine keeps its own CRL cache. ``hits`` and ``misses`` count
    :meth:`get` answers. An entry is stored only by a fetch that started after the last
    invalidation of its URL (:meth:`generation`), so a fetch in flight while the lab revokes a
    certificate never re-installs the old CRL.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], x509.CertificateRevocationList] = {}
        self._generations: dict[str, int] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, url: object) -> bool:
        """Whether any server holds the CRL of ``url``."""
        return any(key_url == url for _, key_url in self._entries)

    def holders(self, url: str) -> tuple[str, ...]:
        """The servers that hold the CRL of ``url``, sorted."""
        return tuple(sorted(holder for holder, key_url in self._entries if key_url == url))

    def get(
        self, url: str, at: datetime, *, holder: str = ""
    ) -> x509.CertificateRevocationList | None:
        """``holder``'s cached CRL of ``url`` if it is still current at lab time ``at``."""
        key = (holder, url)
        crl = self._entries.get(key)
        if crl is not None:
            next_update = next_update_of(crl)
            if next_update is not None and at >= next_update:
                del self._entries[key]
                crl = None
        if crl is None:
            self.misses += 1
        else:
            self.hits += 1
        return crl

    def generation(self, url: str) -> int:
        """How many times ``url`` was invalidated; pass it back to :meth:`put`."""
        return self._generations.get(url, 0)

    def put(
        self,
        url: str,
        crl: x509.CertificateRevocationList,
        *,
        holder: str = "",
        generation: int | None = None,
    ) -> bool:
        """Keep ``crl`` for ``holder`` and ``url``; refused (False) when ``url`` was invalidated
        since ``generation`` was read."""
        if generation is not None and generation != self.generation(url):
            return False
        self._entries[(holder, url)] = crl
        return True

    def invalidate(self, url: str) -> None:
        """Forget every server's CRL of ``url`` (its CA revoked a certificate, or its
        reachability changed)."""
        for key in [key for key in self._entries if key[1] == url]:
            del self._entries[key]
        self._generations[url] = self.generation(url) + 1

    def invalidate_host(self, host: str) -> None:
        """Forget every CRL served from ``host`` (an organization's CRL web host)."""
        wanted = host.lower()
        for url in {*(url for _, url in self._entries), *self._generations}:
            normalized = _normalized(url)
            if normalized is not None and normalized[0] == wanted:
                self.invalidate(url)

    def clear(self) -> None:
        """Forget every CRL."""
        for url in {url for _, url in self._entries}:
            self.invalidate(url)


# --- the web server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CrlRequest:
    """One request the CRL web server answered (or refused to answer)."""

    at: datetime
    client: str
    host: str
    path: str
    outcome: str
    """``200``, ``404`` or ``aborted``."""
    authority: str | None = None


class _CrlResource(Resource):
    isLeaf = True

    def __init__(self, server: CrlWebServer) -> None:
        super().__init__()
        self._server = server

    def render_GET(self, request: Request) -> bytes | int:  # noqa: N802 - twisted.web's name
        return self._server.answer(request)


class CrlWebServer:
    """The lab's CRL web server (module docstring)."""

    def __init__(
        self,
        network: Network,
        *,
        authorities: Callable[[], Iterable[tuple[str, CertificateAuthority]]],
        now: Callable[[], datetime],
        reachable: Callable[[str, CertificateAuthority, str], bool],
    ) -> None:
        """``authorities`` lists (key, CA) pairs afresh for each request; ``reachable(key, ca,
        host)`` says whether that CA's CRL may be served to a request for ``host``."""
        self.network = network
        self._authorities = authorities
        self._now = now
        self._reachable = reachable
        self.requests: list[CrlRequest] = []
        self._port: Any = None

    def start(self) -> None:
        """Listen on the CRL address, port 80 (plus the lab's port offset)."""
        site: Any = Site(_CrlResource(self), reactor=self.network.reactor)
        site.noisy = False
        self._port = self.network.listen(CRL_ADDRESS, CRL_PORT, site)

    def stop(self) -> Any:
        """Stop listening."""
        port, self._port = self._port, None
        return port.stopListening() if port is not None else None

    def authority_for(self, host: str, path: str) -> tuple[str, CertificateAuthority] | None:
        """The CA whose distribution point is ``http://<host><path>``, with its key."""
        wanted = (host.lower(), path.lower())
        for key, ca in self._authorities():
            if ca.crl_distribution_point is None:
                continue
            normalized = _normalized(ca.crl_distribution_point)
            if normalized is not None and (normalized[0], normalized[2]) == wanted:
                return key, ca
        return None

    def answer(self, request: Request) -> bytes | int:
        """Serve the CRL, abort the connection, or answer 404 (module docstring)."""
        host = request.getRequestHostname().decode("ascii", "replace")
        path = request.path.decode("ascii", "replace")
        client = request.getClientAddress()
        client_host = str(getattr(client, "host", client))
        at = self._now()
        found = self.authority_for(host, path)
        if found is None:
            self.requests.append(CrlRequest(at, client_host, host, path, "404"))
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return f"404 Not Found: no CRL is published at http://{host}{path}\n".encode()
        key, ca = found
        if not self._reachable(key, ca, host):
            self.requests.append(CrlRequest(at, client_host, host, path, "aborted", ca.name))
            transport: Any = request.channel.transport
            transport.abortConnection()
            return NOT_DONE_YET
        self.requests.append(CrlRequest(at, client_host, host, path, "200", ca.name))
        request.setHeader(b"content-type", CRL_CONTENT_TYPE)
        _, der = ca.published_crl(at)
        return der


# --- the fetcher ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CrlFetch:
    """The outcome of fetching one distribution point: the CRL, or None and why."""

    url: str
    crl: x509.CertificateRevocationList | None
    detail: str


EndpointRule = Callable[[str, int], "str | None"]
"""``(address, Exchange port)`` → why a CRL fetch must not connect there, or None."""


class CrlEndpointRefused(Exception):
    """The fetch will not connect to this address and port (the text says why)."""


@implementer(IStreamClientEndpoint)
class LabHttpEndpoint:
    """Connects to a URL's host: an IPv4 literal as it is, a name through the lab DNS; then the
    address is checked (127.0.0.0/8, ``refuse``) and the lab network connects from ``source``."""

    def __init__(
        self,
        network: Network,
        resolve_a: Callable[[str], Deferred[Any]],
        source: str,
        host: str,
        port: int,
        refuse: EndpointRule | None = None,
    ) -> None:
        self.network = network
        self.resolve_a = resolve_a
        self.source = source
        self.host = host
        self.port = port
        self.refuse = refuse

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[Any]:  # noqa: N803
        """Resolve the host, check the endpoint, then connect; fails with DNSLookupError,
        :class:`CrlEndpointRefused` or the connect error."""

        def resolved(address: str | None) -> Deferred[Any]:
            if address is None:
                raise DNSLookupError(f"{self.host} has no A record in the lab DNS")
            if not _is_loopback(address):
                raise CrlEndpointRefused(
                    f"{self.host} is {address}, outside 127.0.0.0/8; labsim never leaves "
                    "this machine"
                )
            why = self.refuse(address, self.port) if self.refuse is not None else None
            if why is None and self.network.remote_port(address, self.port) > 65535:
                why = f"port {self.port} plus the lab's port offset is above 65535"
            if why is not None:
                raise CrlEndpointRefused(why)
            wrapping = _WrappingFactory(protocolFactory)
            wrapping.noisy = False
            self.network.connect(self.source, address, self.port, wrapping, timeout=10)
            connected: Deferred[Any] = wrapping._onConnection
            return connected.addCallback(_no_delay)

        if _is_ipv4_literal(self.host):
            # WinHTTP connects to an address literal as it is, without a DNS lookup.
            return maybeDeferred(resolved, self.host)
        return self.resolve_a(self.host).addCallback(resolved)


def _is_ipv4_literal(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv4Address)
    except ValueError:
        return False


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address) in LOOPBACK
    except ValueError:
        return False


def _no_delay(protocol: Any) -> Any:
    # Request and answer are small writes; Nagle plus delayed ACKs would add tens of ms each.
    transport = getattr(protocol, "transport", None)
    if transport is not None and hasattr(transport, "setTcpNoDelay"):
        transport.setTcpNoDelay(True)
    return protocol


@implementer(IAgentEndpointFactory)
class LabEndpointFactory:
    """The Agent's endpoint factory for fetches made by the server at ``source``."""

    def __init__(
        self,
        network: Network,
        resolve_a: Callable[[str], Deferred[Any]],
        source: str,
        refuse: EndpointRule | None = None,
    ) -> None:
        self.network = network
        self.resolve_a = resolve_a
        self.source = source
        self.refuse = refuse

    def endpointForURI(self, uri: Any) -> LabHttpEndpoint:  # noqa: N802 - Twisted's name
        """An endpoint for ``uri`` (an http URL; the port is an Exchange port)."""
        host = uri.host.decode("ascii") if isinstance(uri.host, bytes) else str(uri.host)
        return LabHttpEndpoint(
            self.network, self.resolve_a, self.source, host, int(uri.port), self.refuse
        )


_DONE = Failure(ResponseDone())

MAX_CRL_BYTES = 4 * 1024 * 1024
"""A larger answer is not read to the end (the CRL counts as missing)."""


class _BodyReader(Protocol):
    """Collects a response body (twisted.web.client.readBody warns with the transports the
    Agent hands to body protocols, and the suite turns warnings into errors)."""

    def __init__(self, done: Deferred[bytes]) -> None:
        self._done = done
        self._chunks: list[bytes] = []
        self._size = 0

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self._done.called:
            return
        self._size += len(data)
        if self._size > MAX_CRL_BYTES:
            self._done.errback(ValueError(f"answer larger than {MAX_CRL_BYTES} bytes"))
            self.stop()
            return
        self._chunks.append(data)

    def stop(self) -> None:
        """Stop reading: close the connection (a cancelled or oversized answer)."""
        transport: Any = self.transport
        if transport is not None:
            transport.stopProducing()

    def connectionLost(self, reason: Failure = _DONE) -> None:  # noqa: N802, B008
        if self._done.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self._done.callback(b"".join(self._chunks))
        else:
            self._done.errback(reason)


def read_body(response: Any) -> Deferred[bytes]:
    """The whole body of ``response`` (at most :data:`MAX_CRL_BYTES`); cancelling the Deferred
    closes the connection."""
    reader: list[_BodyReader] = []
    done: Deferred[bytes] = Deferred(lambda _d: reader[0].stop() if reader else None)
    reader.append(_BodyReader(done))
    response.deliverBody(reader[0])
    return done


def _not_http(err: BaseException) -> bool:
    reasons = getattr(err, "reasons", None) or ()
    return any(
        isinstance(reason, Failure) and reason.check(ParseError, BadResponseVersion)
        for reason in reasons
    )


FETCH_FAILURES: tuple[type[BaseException], ...] = (
    ConnectError,
    DNSLookupError,
    ConnectTimeout,
    OSError,
    ResponseNeverReceived,
    ResponseFailed,
    WebError,
    CancelledError,
    ConnectingCancelledError,
    CrlEndpointRefused,
    ConfigError,
)
"""What a CRL fetch may end in without a labsim bug: the network, the peer, the time limit."""


def _describe(err: BaseException) -> str:
    if isinstance(err, DNSLookupError):
        return f"DNS lookup failed ({err})"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    if isinstance(err, CrlEndpointRefused):
        return f"not contacted: {err}"
    if isinstance(err, (ResponseNeverReceived, ResponseFailed)) and _not_http(err):
        return "the answer is not HTTP"
    if isinstance(err, ResponseNeverReceived):
        return "connection closed before any HTTP answer"
    if isinstance(err, ResponseFailed):
        return "connection closed during the HTTP answer"
    if isinstance(err, (CancelledError, ConnectingCancelledError)):
        return "given up (time limit)"
    if isinstance(err, ConfigError):
        return str(err)
    return f"{type(err).__name__}: {err}"


@dataclass
class _Flight:
    """One fetch in progress and the callers waiting for it."""

    fetching: Deferred[CrlFetch] | None
    waiting: list[Deferred[CrlFetch]]


GIVEN_UP = "given up (time limit)"
"""The detail of the result a cancelled caller gets."""


class CrlFetcher:
    """Fetch CRLs over HTTP through the lab DNS and network (module docstring).

    ``busy(what)`` / ``done(token)`` mark the lab busy while a fetch is in flight (the lab's
    activity tokens), so that a lab driven "until idle" waits for it.
    """

    def __init__(
        self,
        reactor: Any,
        network: Network,
        resolve_a: Callable[[str], Deferred[Any]],
        *,
        busy: Callable[[str], int] = lambda what: 0,
        done: Callable[[int], None] = lambda token: None,
    ) -> None:
        self.reactor = reactor
        self.network = network
        self.resolve_a = resolve_a
        self._busy = busy
        self._done = done
        self._in_flight: dict[tuple[str, str], _Flight] = {}

    def agent(self, source: str, refuse: EndpointRule | None = None) -> Agent:
        """An Agent fetching from the server at ``source``, refusing what ``refuse`` names."""
        agent: Agent = Agent.usingEndpointFactory(
            self.reactor, LabEndpointFactory(self.network, self.resolve_a, source, refuse)
        )
        return agent

    def fetch(
        self, url: str, *, source: str, refuse: EndpointRule | None = None
    ) -> Deferred[CrlFetch]:
        """GET ``url`` from ``source``; a Deferred that always fires with a :class:`CrlFetch`.

        Sessions that need the same CRL while it is being fetched share that one fetch, as
        Windows' CryptoAPI does, instead of opening one HTTP connection each. ``refuse`` names
        endpoints the fetch must not connect to. Cancelling the returned Deferred fires it at
        once with a missing CRL (:data:`GIVEN_UP`); the last caller to give up also ends the
        fetch (connection aborted, activity token released).
        """
        key = (source, url)
        flight = self._in_flight.get(key)
        if flight is None:
            flight = self._in_flight[key] = _Flight(None, [])
            started = True
        else:
            started = False

        def give_up(waiter: Deferred[CrlFetch]) -> None:
            if waiter in flight.waiting:
                flight.waiting.remove(waiter)
            if not flight.waiting and self._in_flight.get(key) is flight:
                del self._in_flight[key]
                if flight.fetching is not None:
                    flight.fetching.cancel()
            waiter.callback(CrlFetch(url, None, GIVEN_UP))

        mine: Deferred[CrlFetch] = Deferred(give_up)
        flight.waiting.append(mine)
        if not started:
            return mine

        def share(result: CrlFetch | Failure) -> None:
            if isinstance(result, Failure):  # _fetch catches everything; belt and braces
                result = CrlFetch(url, None, result.getErrorMessage())
            if self._in_flight.get(key) is flight:
                del self._in_flight[key]
            waiting, flight.waiting = flight.waiting, []
            for waiter in waiting:
                waiter.callback(result)

        fetching: Deferred[CrlFetch] = self._fetch(url, source=source, refuse=refuse)
        if not fetching.called:
            flight.fetching = fetching
        fetching.addBoth(share)
        return mine

    @inlineCallbacks
    def _fetch(self, url: str, *, source: str, refuse: EndpointRule | None) -> Any:
        location = crl_location(url)
        if isinstance(location, str):
            return CrlFetch(url, None, location)
        token = self._busy(f"CRL fetch {url} from {source}")
        try:
            response = yield self.agent(source, refuse).request(b"GET", url.encode("ascii"))
            body: bytes = yield read_body(response)
            if response.code != 200:
                return CrlFetch(url, None, f"HTTP {response.code}")
            try:
                crl = x509.load_der_x509_crl(body)
            except ValueError as err:
                return CrlFetch(url, None, f"HTTP 200 but the body is not a DER CRL ({err})")
            return CrlFetch(url, crl, "HTTP 200")
        except FETCH_FAILURES as err:
            # The distribution point gave no CRL: revocation offline. Anything else is a bug and
            # goes on to the engine's funnel (labsim.engine.crl records it).
            return CrlFetch(url, None, _describe(err))
        finally:
            self._done(token)
