"""STARTTLS certificate selection (docs/exchange-reference.md §4.4 for the sending side, §5.2 for
receiving).

Owns :func:`select_starttls_certificate` and the ``TlsCertificateName`` syntax. The rules:

1. With ``TlsCertificateName`` (``<I>issuer<S>subject``) Exchange takes that certificate or none;
   issuer and subject are compared case-insensitively with the Windows strings.
2. Otherwise a certificate is eligible when it has its private key, is enabled for SMTP and
   names the FQDN: an exact pass first, then a wildcard pass (``*.adatum.com``).
3. Among eligible ones: currently valid before expired, CA-issued before self-signed, most
   recent NotBefore first.
4. Nothing eligible → event 12014 CannotLoadSTARTTLSCertificateFromStore. An expired
   certificate is still used when it is the best there is → event 12016 STARTTLSCertificateExpired.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labsim.errors import PkiError
from labsim.pki.certificate import ExchangeCertificate
from labsim.pki.names import certificate_names, matches_host


class CertificateEvent(enum.Enum):
    """MSExchangeTransport events raised by certificate selection (docs/exchange-reference.md
    §11)."""

    CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE = "CannotLoadSTARTTLSCertificateFromStore"
    STARTTLS_CERTIFICATE_EXPIRED = "STARTTLSCertificateExpired"

    @property
    def event_id(self) -> int:
        """The numeric event id shown in the Application log."""
        return _EVENT_IDS[self]


_EVENT_IDS = {
    CertificateEvent.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE: 12014,
    CertificateEvent.STARTTLS_CERTIFICATE_EXPIRED: 12016,
}


@dataclass(frozen=True)
class TlsCertificateName:
    """A parsed ``TlsCertificateName`` value: ``<I>issuer<S>subject``."""

    issuer: str
    subject: str

    def __str__(self) -> str:
        return f"<I>{self.issuer}<S>{self.subject}"

    @classmethod
    def parse(cls, value: str) -> TlsCertificateName:
        """Parse ``<I>issuer<S>subject``; :class:`PkiError` names the value and the form."""
        match = re.fullmatch(r"\s*<I>(?P<issuer>.+?)<S>(?P<subject>.+?)\s*", value, re.IGNORECASE)
        if match is None or not match["issuer"].strip() or not match["subject"].strip():
            raise PkiError(
                f"TlsCertificateName {value!r} is malformed; use "
                "'<I>issuer<S>subject', e.g. '<I>CN=Adatum Root CA, O=Adatum<S>CN=mail.adatum.com'"
            )
        return cls(issuer=match["issuer"].strip(), subject=match["subject"].strip())

    def matches(self, certificate: ExchangeCertificate) -> bool:
        """True when ``certificate`` has this issuer and subject (case-insensitive)."""
        return _same_name(self.issuer, certificate.issuer) and _same_name(
            self.subject, certificate.subject
        )


def _same_name(left: str, right: str) -> bool:
    # Admins type "CN=a,O=b" and "CN=a, O=b" alike; spaces around separators carry no meaning.
    def canonical(text: str) -> str:
        return re.sub(r"\s*([,=+])\s*", r"\1", text.strip()).casefold()

    return canonical(left) == canonical(right)


@dataclass(frozen=True)
class CertificateSelection:
    """The outcome of STARTTLS certificate selection.

    ``certificate`` is None when nothing fits; ``event`` is the event Exchange would log (or
    None); ``reason`` is a one-line explanation for logs and scenario reports.
    """

    certificate: ExchangeCertificate | None
    event: CertificateEvent | None
    reason: str


def _rank(certificate: ExchangeCertificate, at: datetime) -> tuple[bool, bool, float]:
    return (
        not certificate.is_time_valid_at(at),
        certificate.is_self_signed,
        -certificate.not_before.timestamp(),
    )


def _choose(
    candidates: Sequence[ExchangeCertificate], *, at: datetime, what: str
) -> CertificateSelection:
    best = sorted(candidates, key=lambda certificate: _rank(certificate, at))[0]
    if best.is_expired_at(at):
        return CertificateSelection(
            best,
            CertificateEvent.STARTTLS_CERTIFICATE_EXPIRED,
            f"certificate {best.thumbprint} for {what} expired on {best.not_after.isoformat()} "
            "but is the only one available; it is used anyway",
        )
    return CertificateSelection(best, None, f"certificate {best.thumbprint} selected for {what}")


_SELECTIONS: dict[Any, tuple[int | None, CertificateEvent | None, str]] = {}
_SELECTIONS_MAX = 4096


def _validity_period(pool: Sequence[ExchangeCertificate], at: datetime) -> tuple[int, int]:
    # Which stretch of time between the pool's NotBefore/NotAfter instants ``at`` falls in (an
    # instant exactly on a boundary is its own stretch): within one, every validity test used by
    # the selection gives the same answer, so the selection is the same.
    bounds = sorted({t for c in pool for t in (c.not_before, c.not_after)})
    return bisect.bisect_left(bounds, at), bisect.bisect_right(bounds, at)


def select_starttls_certificate(
    certificates: Iterable[ExchangeCertificate],
    *,
    fqdn: str,
    at: datetime,
    tls_certificate_name: str | None = None,
) -> CertificateSelection:
    """Pick the STARTTLS certificate for ``fqdn`` at lab time ``at`` (rules in the module doc).

    With ``tls_certificate_name`` only a certificate with that issuer and subject and a private
    key qualifies (SMTP need not be enabled: Exchange loads it by name and the handshake fails
    later if the key is unreadable). A malformed name raises :class:`PkiError`.

    Memoized on everything the rules read (each certificate's thumbprint, services and key
    presence, the FQDN, the name, and where ``at`` falls among the validity boundaries): every
    session selects a certificate, almost always from an unchanged store.
    """
    pool = tuple(certificates)
    key = (
        tuple((c.thumbprint, c.services, c.has_private_key) for c in pool),
        fqdn,
        tls_certificate_name,
        _validity_period(pool, at),
    )
    cached = _SELECTIONS.get(key)
    if cached is not None:
        index, event, reason = cached
        return CertificateSelection(None if index is None else pool[index], event, reason)
    selection = _select(pool, fqdn=fqdn, at=at, tls_certificate_name=tls_certificate_name)
    chosen = selection.certificate
    index = None if chosen is None else next(i for i, c in enumerate(pool) if c is chosen)
    if len(_SELECTIONS) >= _SELECTIONS_MAX:
        _SELECTIONS.clear()
    _SELECTIONS[key] = (index, selection.event, selection.reason)
    return selection


def _select(
    pool: tuple[ExchangeCertificate, ...],
    *,
    fqdn: str,
    at: datetime,
    tls_certificate_name: str | None,
) -> CertificateSelection:
    if tls_certificate_name is not None and tls_certificate_name.strip():
        wanted = TlsCertificateName.parse(tls_certificate_name)
        named = [c for c in pool if c.has_private_key and wanted.matches(c)]
        if not named:
            return CertificateSelection(
                None,
                CertificateEvent.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
                f"the certificate specified in TlsCertificateName {wanted} could not be found",
            )
        return _choose(named, at=at, what=f"TlsCertificateName {wanted}")

    usable = [c for c in pool if c.has_private_key and "SMTP" in c.services]
    for allow_wildcard in (False, True):
        matching = [
            c
            for c in usable
            if matches_host(certificate_names(c.certificate), fqdn, allow_wildcard=allow_wildcard)
        ]
        if matching:
            return _choose(matching, at=at, what=f"FQDN {fqdn}")
    return CertificateSelection(
        None,
        CertificateEvent.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
        f"could not find a certificate that contains the domain name {fqdn} in the personal "
        "store on the local computer (needs a private key and the SMTP service)",
    )
