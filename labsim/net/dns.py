"""The lab DNS zone, served and resolved with twisted.names over real UDP on loopback.

One in-memory authority per zone (each accepted domain, plus any other names the lab file
declares). Delivery resolves MX then A through a ``twisted.names`` client that asks only the
lab's server, so routing sees the same answers a real Exchange server would get from DNS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.names import authority, client, dns, error, server

from labsim.model.lab import MxRecord

DNS_ADDRESS = "127.0.53.53"
DNS_PORT = 53
TTL = 3600


class MemoryAuthority(authority.FileAuthority):  # type: ignore[misc]
    """An authoritative zone held in memory (FileAuthority without the file)."""

    soa: Any
    records: Any

    def __init__(self, zone: str, records: dict[bytes, list[Any]]) -> None:
        self._zone = zone
        self._records = records
        super().__init__(zone)

    def loadFile(self, filename: str) -> None:  # noqa: N802 - Twisted's name
        """Install the SOA and the records given to the constructor."""
        name = self._zone.encode("ascii")
        self.soa = (
            name,
            dns.Record_SOA(
                mname=b"ns." + name,
                rname=b"hostmaster." + name,
                serial=1,
                refresh=3600,
                retry=600,
                expire=86400,
                minimum=300,
                ttl=TTL,
            ),
        )
        self.records = {k.lower(): v for k, v in self._records.items()}
        self.records.setdefault(name, []).append(self.soa[1])


@dataclass(frozen=True)
class Target:
    """One host to try for a next hop, after MX and A resolution."""

    host: str
    address: str
    preference: int


def build_zones(
    mx_records: Iterable[MxRecord], a_records: Iterable[tuple[str, str]]
) -> list[MemoryAuthority]:
    """Group MX and A records into one authority per zone.

    A zone is the MX domain for MX records; an A record belongs to the longest zone it falls
    under, or to a zone of its own parent domain.
    """
    zones: dict[str, dict[bytes, list[Any]]] = {}
    for mx in mx_records:
        zone = zones.setdefault(mx.domain.lower(), {})
        zone.setdefault(mx.domain.lower().encode(), []).append(
            dns.Record_MX(mx.preference, mx.exchange.lower().encode(), ttl=TTL)
        )
    for host, address in a_records:
        host = host.lower()
        owner = max(
            (z for z in zones if host == z or host.endswith("." + z)), key=len, default=None
        )
        if owner is None:
            owner = host.split(".", 1)[1] if "." in host else host
            zones.setdefault(owner, {})
        zones[owner].setdefault(host.encode(), []).append(dns.Record_A(address, ttl=TTL))
    return [MemoryAuthority(zone, records) for zone, records in zones.items()]


class LoopbackResolver(client.Resolver):  # type: ignore[misc]
    """twisted.names' resolver with its query sockets on a loopback address.

    Twisted binds each query's UDP socket to a random port on every interface (0.0.0.0) and,
    when that port is taken, leaks the socket it could not bind (a ResourceWarning later, which
    failed an unrelated test once in a few hundred runs). Here each query binds port 0 on
    ``source``: the OS picks a free port, and no lab socket leaves 127.0.0.0/8.
    """

    def __init__(self, *, source: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source

    def _connectedProtocol(self, interface: str = "") -> dns.DNSDatagramProtocol:  # noqa: N802
        protocol = dns.DNSDatagramProtocol(self, reactor=self._reactor)
        self._reactor.listenUDP(0, protocol, interface=self.source)
        return protocol


class LabDns:
    """The lab's DNS server plus a resolver that queries only it."""

    def __init__(
        self,
        network: Any,
        zones: list[MemoryAuthority],
        *,
        now: Callable[[], float] | None = None,
    ) -> None:
        factory = server.DNSServerFactory(authorities=zones)
        self._protocol = dns.DNSDatagramProtocol(factory)
        self._port = network.listen_udp(DNS_ADDRESS, DNS_PORT, self._protocol)
        self.last_answer = ""
        # Answers are cached for their TTL on the lab clock, as Exchange's DNS client caches
        # them (without a clock, nothing is cached).
        self._now = now
        self._cache: dict[tuple[str, str], tuple[float, Any]] = {}
        self.resolver = LoopbackResolver(
            source=DNS_ADDRESS,
            servers=[(DNS_ADDRESS, network.real_port(DNS_PORT))],
            reactor=network.reactor,
        )

    def stop(self) -> Any:
        """Stop serving."""
        return self._port.stopListening()

    def _cached(self, kind: str, name: str) -> tuple[bool, Any]:
        if self._now is None:
            return False, None
        entry = self._cache.get((kind, name.lower()))
        if entry is None or entry[0] <= self._now():
            return False, None
        return True, entry[1]

    def _remember(self, kind: str, name: str, value: Any) -> Any:
        if self._now is not None:
            self._cache[(kind, name.lower())] = (self._now() + TTL, value)
        return value

    def resolve_mx(self, domain: str) -> Deferred[Any]:
        """Targets for ``domain``: MX hosts by preference, each resolved to its A record.

        Falls back to the domain's own A record when it has no MX (RFC 5321 §5.1). Returns a
        list of :class:`Target`; an empty list means the name does not resolve.
        """
        hit, value = self._cached("MX", domain)
        if hit:
            return succeed(list(value))
        d: Deferred[Any] = self._resolve_mx(domain)
        return d.addCallback(lambda targets: self._remember("MX", domain, targets))

    @inlineCallbacks
    def _resolve_mx(self, domain: str) -> Any:
        targets: list[Target] = []
        additional: dict[str, str] = {}
        try:
            answers, _auth, extra = yield self.resolver.lookupMailExchange(domain)
            mxs = sorted(
                (r.payload.preference, str(r.payload.name)) for r in answers if r.type == dns.MX
            )
            # The A records the server sent along (additional section), as the Windows DNS
            # client keeps them: an MX host listed there needs no query of its own.
            for record in extra:
                if record.type == dns.A:
                    additional.setdefault(str(record.name).lower(), record.payload.dottedQuad())
        except (error.DomainError, error.AuthoritativeDomainError, dns.DNSQueryTimeoutError):
            mxs = []
        if not mxs:
            mxs = [(0, domain)]
        for preference, host in mxs:
            if host.lower() in additional:
                address = self._remember("A", host, additional[host.lower()])
            else:
                address = yield self.resolve_a(host)
            if address is not None:
                targets.append(Target(host, address, preference))
        self.last_answer = f"MX {domain}: " + (
            ", ".join(f"{t.host} ({t.address}, preference {t.preference})" for t in targets)
            or "no answer"
        )
        return targets

    def resolve_a(self, host: str) -> Deferred[Any]:
        """The first A record of ``host``, or None."""
        hit, value = self._cached("A", host)
        if hit:
            return succeed(value)
        d: Deferred[Any] = self._resolve_a(host)
        return d.addCallback(lambda address: self._remember("A", host, address))

    @inlineCallbacks
    def _resolve_a(self, host: str) -> Any:
        try:
            answers, _auth, _add = yield self.resolver.lookupAddress(host)
        except (error.DomainError, error.AuthoritativeDomainError, dns.DNSQueryTimeoutError):
            return None
        for record in answers:
            if record.type == dns.A:
                return record.payload.dottedQuad()
        return None
