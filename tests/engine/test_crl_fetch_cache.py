"""The CRL cache (per server and URL, until NextUpdate, invalidated on demand), the distribution
points of a chain, and fetching over real loopback HTTP: a served CRL, a 404, an aborted
connection, a refused connection, a missing DNS name and a body that is not a CRL each give the
right result, and a fetch holds an activity token only while it runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError
from twisted.web.resource import Resource
from twisted.web.server import Site

from labsim.engine.activity import Activity
from labsim.model.pki_urls import CRL_ADDRESS, CRL_PORT
from labsim.net.crl import (
    CrlCache,
    CrlFetch,
    CrlFetcher,
    CrlWebServer,
    distribution_points,
    revocation_urls,
)
from labsim.net.loopback import Network
from labsim.net.ports import auto_offsets, ephemeral_range
from labsim.pki import create_root_ca
from labsim.reactor import default_reactor, wait_for

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ROOT_URL = "http://crl.adatum.com/AdatumRootCA.crl"
SUB_URL = "http://crl.adatum.com/AdatumIssuingCA.crl"


@pytest.fixture(scope="module")
def root() -> Any:
    return create_root_ca("Adatum Root CA", organization="Adatum", at=AT, crl_url=ROOT_URL)


@pytest.fixture(scope="module")
def sub(root: Any) -> Any:
    return root.issue_intermediate("Adatum Issuing CA", at=AT, crl_url=SUB_URL)


# --- distribution points ---------------------------------------------------------------------


def test_revocation_urls_cover_leaf_and_intermediates_but_never_the_root(
    root: Any, sub: Any
) -> None:
    leaf = sub.issue("mail.adatum.com", dns_names=("mail.adatum.com",), at=AT)
    assert distribution_points(leaf.certificate) == (SUB_URL,)
    assert distribution_points(sub.certificate) == (ROOT_URL,)
    assert distribution_points(root.certificate) == ()
    chain = (leaf.certificate, sub.certificate, root.certificate)
    assert revocation_urls(chain) == (SUB_URL, ROOT_URL)
    # Two certificates from one CA: the URL once.
    other = root.issue("other.adatum.com", at=AT)
    assert revocation_urls((other.certificate, other.certificate)) == (ROOT_URL,)


def test_a_chain_without_distribution_points_has_nothing_to_fetch() -> None:
    bare = create_root_ca("Bare Root CA", organization="Bare", at=AT)
    leaf = bare.issue("mail.bare.test", at=AT)
    assert revocation_urls((leaf.certificate,)) == ()
    assert revocation_urls(()) == ()


# --- the cache ------------------------------------------------------------------------------


def test_cache_miss_then_hit_per_server(root: Any) -> None:
    cache = CrlCache()
    crl = root.crl(AT)
    assert cache.get(ROOT_URL, AT, holder="TREY-CAS1") is None
    assert cache.put(ROOT_URL, crl, holder="TREY-CAS1")
    assert cache.get(ROOT_URL, AT + timedelta(days=1), holder="TREY-CAS1") is crl
    # Another machine has its own cache.
    assert cache.get(ROOT_URL, AT, holder="TREY-MBX1") is None
    assert (cache.hits, cache.misses) == (1, 2)
    assert ROOT_URL in cache
    assert cache.holders(ROOT_URL) == ("TREY-CAS1",)
    assert len(cache) == 1


def test_cache_entry_expires_at_next_update(root: Any) -> None:
    cache = CrlCache()
    crl = root.crl(AT, next_update=AT + timedelta(hours=1))
    cache.put(ROOT_URL, crl, holder="S")
    assert cache.get(ROOT_URL, AT + timedelta(minutes=59), holder="S") is crl
    assert cache.get(ROOT_URL, AT + timedelta(hours=1), holder="S") is None
    assert ROOT_URL not in cache


def test_invalidation_drops_every_server_and_refuses_a_fetch_started_before_it(
    root: Any,
) -> None:
    cache = CrlCache()
    crl = root.crl(AT)
    cache.put(ROOT_URL, crl, holder="A")
    cache.put(ROOT_URL, crl, holder="B")
    cache.put(SUB_URL, crl, holder="A")
    generation = cache.generation(ROOT_URL)  # a fetch starts here ...
    cache.invalidate(ROOT_URL)  # ... the CA revokes meanwhile ...
    assert ROOT_URL not in cache
    assert SUB_URL in cache
    assert not cache.put(ROOT_URL, crl, holder="A", generation=generation)  # ... stale: dropped
    assert ROOT_URL not in cache
    assert cache.put(ROOT_URL, crl, holder="A", generation=cache.generation(ROOT_URL))


def test_invalidate_host_drops_that_hosts_urls_only(root: Any) -> None:
    cache = CrlCache()
    crl = root.crl(AT)
    cache.put(ROOT_URL, crl, holder="A")
    cache.put(SUB_URL, crl, holder="A")
    cache.put("http://crl.treyresearch.net/TreyResearchRootCA.crl", crl, holder="A")
    cache.invalidate_host("CRL.Adatum.com")
    assert ROOT_URL not in cache and SUB_URL not in cache
    assert "http://crl.treyresearch.net/TreyResearchRootCA.crl" in cache
    cache.clear()
    assert len(cache) == 0


# --- fetching over loopback -----------------------------------------------------------------


class _Served:
    """A CRL web server and a fetcher on a free port offset, with a switchable reachability."""

    def __init__(self, network: Network, root: Any) -> None:
        self.network = network
        self.reachable = True
        self.activity = Activity()
        self.busy_seen: list[bool] = []
        self.server = CrlWebServer(
            network,
            authorities=lambda: [("adatum", root)],
            now=lambda: AT,
            reachable=lambda key, ca, host: self.reachable,
        )
        self.names = {"crl.adatum.com": CRL_ADDRESS, "crl.other.test": "127.0.80.2"}
        self.fetcher = CrlFetcher(
            network.reactor,
            network,
            lambda host: succeed(self.names.get(host)),
            busy=self._begin,
            done=self.activity.end,
        )

    def _begin(self, what: str) -> int:
        token = self.activity.begin(what)
        self.busy_seen.append(not self.activity.idle)
        return token

    def fetch(self, url: str) -> CrlFetch:
        d: Deferred[CrlFetch] = self.fetcher.fetch(url, source="127.0.20.1")
        result = wait_for(self.network.reactor, d)
        assert self.activity.idle
        return result


def _listen_somewhere(reactor: Any, listen: Any) -> Network:
    for offset in auto_offsets(ephemeral_range()):
        network = Network(reactor, offset)
        try:
            listen(network)
        except CannotListenError:
            continue
        return network
    raise AssertionError("no free port offset")


@pytest.fixture
def served(root: Any) -> Iterator[_Served]:
    reactor = default_reactor()
    holder: list[_Served] = []

    def listen(network: Network) -> None:
        holder.clear()
        holder.append(_Served(network, root))
        holder[0].server.start()

    _listen_somewhere(reactor, listen)
    try:
        yield holder[0]
    finally:
        holder[0].server.stop()
        for _ in range(3):
            reactor.iterate(0)


def test_fetch_returns_the_ca_crl_served_at_lab_time(served: _Served, root: Any) -> None:
    result = served.fetch(ROOT_URL)
    assert result.crl is not None, result.detail
    assert result.detail == "HTTP 200"
    assert result.crl.issuer == root.certificate.subject
    assert result.crl.last_update_utc == AT
    assert served.busy_seen == [True]
    (request,) = served.server.requests
    assert (request.client, request.host, request.path, request.outcome) == (
        "127.0.20.1",
        "crl.adatum.com",
        "/AdatumRootCA.crl",
        "200",
    )
    # The path is matched case-insensitively, as IIS would.
    assert served.fetch("http://crl.adatum.com/adatumrootca.crl").crl is not None


def test_unknown_path_is_a_404_and_the_crl_is_missing(served: _Served) -> None:
    result = served.fetch("http://crl.adatum.com/Nothing.crl")
    assert result.crl is None
    assert result.detail == "HTTP 404"
    assert served.server.requests[-1].outcome == "404"


def test_unreachable_crl_aborts_the_connection_and_the_crl_is_missing(served: _Served) -> None:
    served.reachable = False
    result = served.fetch(ROOT_URL)
    assert result.crl is None
    assert result.detail == "connection closed before any HTTP answer"
    assert served.server.requests[-1].outcome == "aborted"


def test_refused_connection_and_unknown_name_are_missing(served: _Served) -> None:
    refused = served.fetch("http://crl.other.test/Other.crl")  # nothing listens on 127.0.80.2
    assert refused.crl is None
    assert refused.detail == "connection refused"
    unknown = served.fetch("http://crl.nowhere.test/X.crl")
    assert unknown.crl is None
    assert unknown.detail.startswith("DNS lookup failed")
    not_http = served.fetch("ldap:///CN=Adatum%20Root%20CA,CN=CDP")
    assert not_http.crl is None
    assert "http" in not_http.detail
    assert served.server.requests == []


def test_an_address_outside_loopback_is_never_contacted(served: _Served) -> None:
    served.names["crl.evil.test"] = "192.0.2.1"
    result = served.fetch("http://crl.evil.test/X.crl")
    assert result.crl is None
    assert "outside 127.0.0.0/8" in result.detail


class _Garbage(Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render_GET(self, request: Any) -> bytes:  # noqa: N802 - twisted.web's name
        request.setHeader(b"content-type", b"application/pkix-crl")
        return b"not a CRL"


def test_a_body_that_is_not_a_crl_is_missing(root: Any) -> None:
    reactor = default_reactor()
    ports: list[Any] = []

    def listen(network: Network) -> None:
        site: Any = Site(_Garbage())  # type: ignore[no-untyped-call]
        site.noisy = False
        ports.append(network.listen(CRL_ADDRESS, CRL_PORT, site))

    network = _listen_somewhere(reactor, listen)
    try:
        fetcher = CrlFetcher(reactor, network, lambda host: succeed(CRL_ADDRESS))
        d: Deferred[CrlFetch] = fetcher.fetch(
            "http://crl.adatum.com/Garbage.crl", source="127.0.20.1"
        )
        result = wait_for(reactor, d)
    finally:
        ports[0].stopListening()
        for _ in range(3):
            reactor.iterate(0)
    assert result.crl is None
    assert result.detail.startswith("HTTP 200 but the body is not a DER CRL")
