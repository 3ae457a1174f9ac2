"""The certificate stores of one simulated Windows server.

Owns :class:`CertificateStore`: the computer's personal store (certificates with what Exchange
knows about them, keyed by thumbprint, in insertion order), its trusted root store, and its
REQUEST store (certificate requests made on this server and not yet completed,
:mod:`labsim.pki.requests`). The store
is mutable machine state; the certificates in it are frozen records, replaced on change.
Thumbprints are accepted in any case but must be complete: Exchange's -Thumbprint takes no prefix.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509

from labsim.errors import PkiError
from labsim.pki.certificate import ExchangeCertificate, thumbprint_of
from labsim.pki.names import matches_host
from labsim.pki.requests import PendingRequest, same_key


def normalize_thumbprint(thumbprint: str) -> str:
    """Upper-case ``thumbprint`` and drop spaces (as copied from the certificate dialog)."""
    return "".join(thumbprint.split()).upper()


class CertificateStore:
    """Personal and trusted-root certificate stores of one server (``server_name`` for messages)."""

    def __init__(self, server_name: str = "") -> None:
        self.server_name = server_name
        self._personal: dict[str, ExchangeCertificate] = {}
        self._roots: dict[str, x509.Certificate] = {}
        self._requests: dict[str, PendingRequest] = {}

    def __repr__(self) -> str:
        return (
            f"CertificateStore({self.server_name!r}, personal={len(self._personal)}, "
            f"roots={len(self._roots)}, requests={len(self._requests)})"
        )

    def _where(self) -> str:
        return f" on {self.server_name}" if self.server_name else ""

    def add_personal(self, certificate: ExchangeCertificate) -> ExchangeCertificate:
        """Add (or replace, by thumbprint) a certificate in the personal store; return it."""
        self._personal[certificate.thumbprint] = certificate
        return certificate

    def remove_personal(self, thumbprint: str) -> ExchangeCertificate:
        """Remove and return the certificate ``thumbprint``; :class:`PkiError` when absent."""
        key = normalize_thumbprint(thumbprint)
        if key not in self._personal:
            raise self._not_found(thumbprint)
        return self._personal.pop(key)

    def personal(self) -> tuple[ExchangeCertificate, ...]:
        """The personal store, in the order certificates were added."""
        return tuple(self._personal.values())

    def find(self, thumbprint: str) -> ExchangeCertificate | None:
        """The certificate with exactly this thumbprint (any case), or None."""
        return self._personal.get(normalize_thumbprint(thumbprint))

    def get(self, thumbprint: str) -> ExchangeCertificate:
        """Like :meth:`find` but raises :class:`PkiError` naming the thumbprint when absent."""
        found = self.find(thumbprint)
        if found is None:
            raise self._not_found(thumbprint)
        return found

    def _not_found(self, thumbprint: str) -> PkiError:
        return PkiError(
            f"the certificate with thumbprint {thumbprint} was not found{self._where()}; "
            "run Get-ExchangeCertificate to list the full 40-digit thumbprints"
        )

    def enable_services(self, thumbprint: str, services: Iterable[str]) -> ExchangeCertificate:
        """Add ``services`` to a certificate's Services, as Enable-ExchangeCertificate does."""
        current = self.get(thumbprint)
        updated = current.with_services(current.services | frozenset(services))
        self._personal[updated.thumbprint] = updated
        return updated

    def add_request(self, pending: PendingRequest) -> PendingRequest:
        """Keep a request made on this server until it is completed or removed."""
        self._requests[pending.thumbprint] = pending
        return pending

    def requests(self) -> tuple[PendingRequest, ...]:
        """The pending requests, in the order they were made."""
        return tuple(self._requests.values())

    def find_request(self, thumbprint: str) -> PendingRequest | None:
        """The pending request whose placeholder has this thumbprint, or None."""
        return self._requests.get(normalize_thumbprint(thumbprint))

    def remove_request(self, thumbprint: str) -> PendingRequest:
        """Remove and return a pending request; :class:`PkiError` when absent."""
        key = normalize_thumbprint(thumbprint)
        if key not in self._requests:
            raise self._not_found(thumbprint)
        return self._requests.pop(key)

    def request_for(self, certificate: x509.Certificate) -> PendingRequest | None:
        """The pending request ``certificate`` was issued for (the same public key), or None."""
        for pending in self._requests.values():
            if same_key(certificate, pending.private_key):
                return pending
        return None

    def import_root(self, certificate: x509.Certificate) -> str:
        """Add ``certificate`` to the trusted root store; return its thumbprint."""
        thumbprint = thumbprint_of(certificate)
        self._roots[thumbprint] = certificate
        return thumbprint

    def remove_root(self, thumbprint: str) -> x509.Certificate:
        """Remove a trusted root by thumbprint; :class:`PkiError` when absent."""
        key = normalize_thumbprint(thumbprint)
        if key not in self._roots:
            raise PkiError(
                f"no trusted root with thumbprint {thumbprint}{self._where()}; "
                "list the trusted roots to find the full thumbprint"
            )
        return self._roots.pop(key)

    def trusted_roots(self) -> tuple[x509.Certificate, ...]:
        """The trusted root store, in the order roots were imported."""
        return tuple(self._roots.values())

    def is_trusted_root(self, certificate: x509.Certificate) -> bool:
        """True when ``certificate`` itself is in the trusted root store."""
        return thumbprint_of(certificate) in self._roots

    def domain_names_matching(self, domain: str) -> tuple[ExchangeCertificate, ...]:
        """Certificates whose CertificateDomains cover ``domain`` (Get-ExchangeCertificate -DomainName).

        A certificate matches when a name equals ``domain`` or a wildcard covers it.
        """
        return tuple(
            certificate
            for certificate in self._personal.values()
            if matches_host(certificate.certificate_domains, domain, allow_wildcard=True)
        )
