"""Certificate names and the two ways Exchange matches them.

* :func:`matches_domain` — the Domain Security rule (docs/exchange-reference.md §4.3, decision D4,
  Exchange 2013 CU23): the peer's certificate must name the SMTP domain exactly, as ``*.domain``
  (which also covers the bare domain), as a host exactly one label below the domain, or through a
  wider wildcard such as ``*.com``; case-insensitive; Subject CN and DNS SANs both count.
* :func:`matches_host` — STARTTLS certificate *selection* by FQDN (docs/exchange-reference.md §4.4,
  §5.2): an exact pass, then an RFC 6125 wildcard pass, done with ``service_identity``.

The Domain Security rule is deliberately not delegated to ``service_identity``: Exchange accepts
names RFC 6125 refuses (``*.com``, a wildcard covering the bare domain, a host one label below).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from cryptography import x509
from service_identity.exceptions import CertificateError
from service_identity.hazmat import DNS_ID, DNSPattern

from labsim.errors import PkiError
from labsim.pki.certificate import common_names, san_dns_names
from labsim.pki.memo import memo_by_identity


@memo_by_identity()
def certificate_names(cert: x509.Certificate) -> tuple[str, ...]:
    """Names a certificate is valid for: Subject CN values first, then DNS SANs.

    Memoized: a certificate never changes, and every session reads the names of both ends.

    Names keep the spelling written in the certificate; case-insensitive duplicates are dropped.
    (SAN values are read as written rather than through ``service_identity.extract_patterns``,
    which lower-cases them and refuses ``*.com``; both are needed to reproduce Exchange.)
    """
    seen: set[str] = set()
    result: list[str] = []
    for name in (*common_names(cert), *san_dns_names(cert)):
        key = _normalize(name)
        if key and key not in seen:
            seen.add(key)
            result.append(name)
    return tuple(result)


def _normalize(name: str) -> str:
    # A trailing dot (absolute DNS name) names the same host; Exchange compares case-insensitively.
    return name.strip().rstrip(".").lower()


def matches_domain(names: Iterable[str], domain: str) -> bool:
    """True when one of ``names`` satisfies Exchange 2013's Domain Security rule for ``domain``.

    Accepted: ``domain`` itself; ``*.domain`` (also covering ``domain``); ``<label>.domain``
    (exactly one label below); a wildcard ``*.<suffix>`` where ``domain`` ends with ``.suffix``
    (multi-level, e.g. ``*.com``). Refused: two or more labels below (``a.b.domain``).
    """
    wanted = _normalize(domain)
    if not wanted:
        return False
    for raw in names:
        name = _normalize(raw)
        if not name:
            continue
        if name == wanted:
            return True
        if name.startswith("*."):
            suffix = name[2:]
            if suffix and (wanted == suffix or wanted.endswith("." + suffix)):
                return True
            continue
        if name.endswith("." + wanted):
            head = name[: -len(wanted) - 1]
            if head and "." not in head and "*" not in head:
                return True
    return False


def _pattern(name: str) -> DNSPattern | None:
    try:
        return DNSPattern.from_bytes(_normalize(name).encode("ascii"))
    except (CertificateError, UnicodeEncodeError):
        # A name service_identity refuses (e.g. "*.com", a CA's "Adatum Root CA") can never be
        # selected by FQDN; skipping it is what Exchange's own lookup ends up doing.
        return None


def matches_host(names: Iterable[str], fqdn: str, *, allow_wildcard: bool) -> bool:
    """True when ``names`` cover host ``fqdn``: exactly, or (``allow_wildcard``) by ``*.parent``.

    Raises :class:`PkiError` when ``fqdn`` is not a valid host name.
    """
    return _matches_host(tuple(names), fqdn, allow_wildcard)


@functools.lru_cache(maxsize=4096)
def _matches_host(names: tuple[str, ...], fqdn: str, allow_wildcard: bool) -> bool:
    # Memoized: certificate selection asks the same question for every session.
    try:
        identity = DNS_ID(_normalize(fqdn))
    except (ValueError, TypeError, ImportError) as err:
        raise PkiError(
            f"{fqdn!r} is not a valid host name for certificate selection; "
            "set the connector Fqdn to a DNS name such as mail.adatum.com"
        ) from err
    for name in names:
        pattern = _pattern(name)
        if pattern is None:
            continue
        is_wildcard = b"*" in pattern.pattern
        if is_wildcard and not allow_wildcard:
            continue
        if identity.verify(pattern):
            return True
    return False
