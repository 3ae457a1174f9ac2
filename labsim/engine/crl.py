"""Revocation checking of a presented chain: collect its CRL distribution points, get each CRL
(from the lab's cache, else over HTTP from the verifying server's own address), then validate
the chain with OpenSSL at lab time with CRL checking on (reference §4.3, D5).

Rules kept here:

* The leaf and the intermediates are checked, never the root (§4.3). A chain in which no
  certificate carries a CRL distribution point is validated without revocation checking (a
  Windows chain engine reports "no revocation check" for such a chain, which Exchange does not
  treat as a failure); as soon as one certificate has one, OpenSSL's CRL_CHECK_ALL asks for a CRL
  for every certificate below the root, so a CRL that could not be fetched gives
  ``RevocationOffline`` and a listed serial gives ``Revoked``.
* The verdict uses the lab time *after* the CRLs arrived, so a CRL issued while the fetch was in
  flight is never "not yet valid".
* Every fetch holds an activity token (in :class:`labsim.net.crl.CrlFetcher`), so "until idle"
  includes it; the returned Deferred never fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from cryptography import x509
from twisted.internet.defer import inlineCallbacks

from labsim.engine.tls import verify_chain
from labsim.engine.world import World
from labsim.net.crl import CrlFetch, next_update_of, revocation_urls
from labsim.pki.validation import PeerCertificate


def _describe_crl(crl: x509.CertificateRevocationList) -> str:
    next_update = next_update_of(crl)
    when = next_update.strftime("%Y-%m-%d %H:%M:%SZ") if next_update else "none"
    return f"{len(crl)} revoked, next update {when}"


@inlineCallbacks
def fetch_crls(world: World, urls: Iterable[str], *, source: str, server_name: str) -> Any:
    """The CRLs of ``urls`` (in ``server_name``'s cache, else fetched from its address
    ``source``), skipping the missing ones.

    A Deferred firing with ``(crls, notes)``: the CRLs found, and one explain note per URL.
    """
    crls: list[x509.CertificateRevocationList] = []
    notes: list[str] = []
    fetcher = world.crl_fetcher
    for url in urls:
        cached = world.crl_cache.get(url, world.now(), holder=server_name)
        if cached is not None:
            crls.append(cached)
            notes.append(f"{url} from the CRL cache ({_describe_crl(cached)})")
            continue
        if fetcher is None:
            notes.append(f"{url} cannot be fetched: this lab has no CRL fetcher")
            continue
        generation = world.crl_cache.generation(url)
        result: CrlFetch = yield fetcher.fetch(url, source=source)
        if result.crl is None:
            notes.append(f"{url} fetched from {source}: missing ({result.detail})")
            continue
        world.crl_cache.put(url, result.crl, holder=server_name, generation=generation)
        crls.append(result.crl)
        notes.append(f"{url} fetched from {source}: {result.detail}, {_describe_crl(result.crl)}")
    return crls, notes


@inlineCallbacks
def verify_presented(
    world: World,
    chain: tuple[x509.Certificate, ...],
    *,
    server_name: str,
    source: str,
    trusted_roots: Iterable[x509.Certificate],
    purpose: str,
    at: datetime | None = None,
) -> Any:
    """Validate ``chain`` (leaf first) for ``server_name``, with revocation checking when the
    chain has CRL distribution points (module docstring); fires with a :class:`PeerCertificate`.

    ``source`` is the verifying server's own address, from which CRLs are fetched; ``at`` fixes
    the verification time (default: lab time once the CRLs are in).
    """
    roots = list(trusted_roots)
    urls = revocation_urls(chain)
    if not chain or not urls:
        return verify_chain(chain, trusted_roots=roots, at=at or world.now(), purpose=purpose)
    crls, notes = yield fetch_crls(world, urls, source=source, server_name=server_name)
    world.explain(
        server_name,
        "revocation check (reference §4.3, leaf and intermediates): " + "; ".join(notes),
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
