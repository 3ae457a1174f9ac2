"""Judging a presented chain: the chain check at lab time, and the revocation check (collect its
CRL distribution points, get each CRL from the lab's cache, else over HTTP from the verifying
server's own address, then validate with OpenSSL at lab time with CRL checking on; reference
§4.3, D5), done only when a verdict needs it (docs/fidelity.md, "Revocation checking on demand").

Rules kept here:

* :func:`basic_verdict` checks trust, validity, EKU and signatures without revocation; it is
  synchronous. :func:`check_revocation` adds revocation; its Deferred always fires with a
  :class:`PeerCertificate` and never fails (a labsim bug is recorded as an engine error and
  gives ``InternalChainFailure``, so the session fails closed).
* Revocation is checked only when the verdict rests on it, as Exchange validates a chain only on
  the paths that judge it: :func:`verify_presented` takes a ``needs_revocation`` predicate over
  the basic verdict; :func:`outbound_needs_revocation` is the sending side's (a Domain Security
  or RequireTLS + TlsAuthLevel session whose certificate would otherwise pass); the receiving side
  asks at MAIL FROM when the sender's domain is domain-secured and the certificate would
  otherwise make the session Partner (labsim.engine.receive).
* The leaf and the intermediates are checked, never the root (§4.3). A chain in which no
  certificate carries a CRL distribution point is validated without revocation checking (a
  Windows chain engine reports "no revocation check" for such a chain, which Exchange does not
  treat as a failure); as soon as one certificate has one, OpenSSL's CRL_CHECK_ALL asks for a CRL
  for every certificate below the root, so a CRL that could not be had gives
  ``RevocationOffline`` (CryptoAPI's revocation status unknown / offline) and a listed serial
  gives ``Revoked``.
* Every distribution point ends in bounded lab time: an unusable URL, an endpoint outside
  127.0.0.0/8 or one of the lab's SMTP endpoints is not contacted at all; the CRLs of one check
  are fetched within :data:`REVOCATION_TIMEOUT` seconds of lab time (Exchange's chain-build
  timeout, docs/exchange-reference.md §4.3), after which the fetch is abandoned; at most
  :data:`MAX_DISTRIBUTION_POINTS` URLs of one chain are tried.
* The verdict uses the lab time *after* the CRLs arrived, so a CRL issued while the fetch was in
  flight is never "not yet valid".
* Every fetch holds an activity token (in :class:`labsim.net.crl.CrlFetcher`), so "until idle"
  includes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from cryptography import x509
from twisted.internet.defer import Deferred, inlineCallbacks, succeed

from labsim.engine.tls import verify_chain
from labsim.engine.world import World
from labsim.model.enums import FidelityProfile
from labsim.net.crl import CrlFetch, EndpointRule, next_update_of, revocation_urls
from labsim.pki.validation import CertificateValidationStatus, PeerCertificate
from labsim.policy.domain_security import OutboundPolicy, after_handshake

REVOCATION_TIMEOUT = 10.0
"""Lab seconds one revocation check may spend fetching CRLs (docs/exchange-reference.md §4.3:
Exchange builds the chain with a 10 s timeout; CryptoAPI then reports the revocation status as
unknown)."""

MAX_DISTRIBUTION_POINTS = 16
"""The most CRL URLs of one chain labsim tries (a labsim bound against a certificate carrying
thousands; real chains carry one or two per certificate)."""


def _describe_crl(crl: x509.CertificateRevocationList) -> str:
    next_update = next_update_of(crl)
    when = next_update.strftime("%Y-%m-%d %H:%M:%SZ") if next_update else "none"
    return f"{len(crl)} revoked, next update {when}"


def lab_smtp_endpoint_rule(world: World) -> EndpointRule:
    """The endpoints a CRL fetch must not connect to: every SMTP endpoint of the lab (each
    receive connector binding of each server, running or not) and each outside
    organization's SMTP server. A server never talks HTTP to an SMTP port (docs/fidelity.md)."""
    network = world.network

    def refuse(address: str, port: int) -> str | None:
        wanted = network.remote_port(address, port)
        for org in world.organizations.values():
            for connector in org.receive_connectors:
                server = org.server(connector.server)
                if server is None:
                    continue
                for binding in connector.bindings:
                    bound = server.address if binding.address == "0.0.0.0" else binding.address
                    if bound == address and network.real_port(binding.port) == wanted:
                        return (
                            f"{address}:{port} is an SMTP endpoint of the lab (receive connector "
                            f"{connector.identity}), not a CRL web server"
                        )
        outside = network.outside_smtp_ports.get(address)
        if outside is not None and outside == wanted:
            return f"{address}:{port} is the SMTP server of an outside organization"
        return None

    return refuse


@inlineCallbacks
def fetch_crls(
    world: World,
    urls: Iterable[str],
    *,
    source: str,
    server_name: str,
    timeout: float = REVOCATION_TIMEOUT,
) -> Any:
    """The CRLs of ``urls`` (in ``server_name``'s cache, else fetched from its address
    ``source``), skipping the missing ones, all within ``timeout`` seconds of lab time.

    A Deferred firing with ``(crls, notes)``: the CRLs found, and one explain note per URL.
    """
    crls: list[x509.CertificateRevocationList] = []
    notes: list[str] = []
    fetcher = world.crl_fetcher
    refuse = lab_smtp_endpoint_rule(world)
    deadline = world.clock.seconds() + timeout
    wanted = list(urls)
    for url in wanted[:MAX_DISTRIBUTION_POINTS]:
        cached = world.crl_cache.get(url, world.now(), holder=server_name)
        if cached is not None:
            crls.append(cached)
            notes.append(f"{url} from the CRL cache ({_describe_crl(cached)})")
            continue
        if fetcher is None:
            notes.append(f"{url} cannot be fetched: this lab has no CRL fetcher")
            continue
        remaining = deadline - world.clock.seconds()
        if remaining <= 0:
            notes.append(f"{url} not fetched: the {timeout:g} s of the revocation check are spent")
            continue
        generation = world.crl_cache.generation(url)
        fetching = fetcher.fetch(url, source=source, refuse=refuse)
        expired: list[bool] = []

        def give_up(fetching: Deferred[CrlFetch] = fetching, expired: list[bool] = expired) -> None:
            expired.append(True)
            fetching.cancel()

        timer = world.clock.call_later(remaining, give_up)
        result: CrlFetch = yield fetching
        timer.cancel()
        if expired:
            notes.append(
                f"{url} fetched from {source}: missing (no answer within the {timeout:g} s "
                "of the revocation check)"
            )
            continue
        if result.crl is None:
            notes.append(f"{url} fetched from {source}: missing ({result.detail})")
            continue
        world.crl_cache.put(url, result.crl, holder=server_name, generation=generation)
        crls.append(result.crl)
        notes.append(f"{url} fetched from {source}: {result.detail}, {_describe_crl(result.crl)}")
    if len(wanted) > MAX_DISTRIBUTION_POINTS:
        notes.append(
            f"{len(wanted) - MAX_DISTRIBUTION_POINTS} more distribution points not tried "
            f"(labsim tries at most {MAX_DISTRIBUTION_POINTS} per chain)"
        )
    return crls, notes


def basic_verdict(
    world: World,
    chain: tuple[x509.Certificate, ...],
    *,
    trusted_roots: Iterable[x509.Certificate],
    purpose: str,
    at: datetime | None = None,
) -> PeerCertificate:
    """``chain`` (leaf first) checked at lab time without revocation (trust, validity, EKU)."""
    return verify_chain(
        chain, trusted_roots=list(trusted_roots), at=at or world.now(), purpose=purpose
    )


@inlineCallbacks
def check_revocation(
    world: World,
    chain: tuple[x509.Certificate, ...],
    *,
    server_name: str,
    source: str,
    trusted_roots: Iterable[x509.Certificate],
    purpose: str,
    at: datetime | None = None,
) -> Any:
    """``chain`` checked with its CRLs (module docstring); fires with a
    :class:`PeerCertificate`, never fails."""
    roots = list(trusted_roots)
    urls = revocation_urls(chain)
    if not chain or not urls:
        return basic_verdict(world, chain, trusted_roots=roots, purpose=purpose, at=at)
    try:
        crls, notes = yield fetch_crls(world, urls, source=source, server_name=server_name)
        world.explain(
            server_name,
            "revocation check (docs/exchange-reference.md §4.3, leaf and intermediates): "
            + "; ".join(notes),
        )
        peer: PeerCertificate = verify_chain(
            chain,
            trusted_roots=roots,
            at=at or world.now(),
            crls=crls,
            check_revocation=True,
            purpose=purpose,
        )
        return peer
    except Exception as err:  # a labsim bug: recorded, and the certificate is not accepted
        text = world.record_engine_error(server_name, "the revocation check", err)
        return PeerCertificate(chain, CertificateValidationStatus.INTERNAL_CHAIN_FAILURE, text)


def verify_presented(
    world: World,
    chain: tuple[x509.Certificate, ...],
    *,
    server_name: str,
    source: str,
    trusted_roots: Iterable[x509.Certificate],
    purpose: str,
    at: datetime | None = None,
    needs_revocation: Callable[[PeerCertificate], bool] | None = None,
) -> Deferred[Any]:
    """Validate ``chain`` (leaf first) for ``server_name``; fires with a
    :class:`PeerCertificate` and never fails.

    The chain is checked without revocation first; when ``needs_revocation`` (default: always)
    says that verdict rests on revocation, the CRLs are fetched from ``source`` (the verifying
    server's own address) and the chain checked again with them. ``at`` fixes the verification
    time (default: lab time, once the CRLs are in).
    """
    roots = list(trusted_roots)
    basic = basic_verdict(world, chain, trusted_roots=roots, purpose=purpose, at=at)
    if not chain or not revocation_urls(chain):
        return succeed(basic)
    if needs_revocation is not None and not needs_revocation(basic):
        world.explain(
            server_name,
            f"certificate {basic.subject}: revocation not checked (the verdict does not rest on "
            f"it; chain status without revocation {basic.status.value})",
        )
        return succeed(basic)
    checking: Deferred[Any] = check_revocation(
        world,
        chain,
        server_name=server_name,
        source=source,
        trusted_roots=roots,
        purpose=purpose,
        at=at,
    )
    return checking


def outbound_needs_revocation(
    policy: OutboundPolicy | None, *, domain: str, profile: FidelityProfile
) -> Callable[[PeerCertificate], bool]:
    """The sending side's rule: revocation matters when the session judges the server
    certificate (Domain Security, or RequireTLS with CertificateValidation / DomainValidation)
    and would accept it without revocation; opportunistic TLS and a certificate already refused
    for its name or chain fetch nothing."""

    def needs(peer: PeerCertificate) -> bool:
        if policy is None:
            return False
        check = after_handshake(policy, peer, domain=domain, profile=profile)
        return check.ok and check.status is CertificateValidationStatus.VALID

    return needs
