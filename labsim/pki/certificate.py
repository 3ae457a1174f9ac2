"""The certificate record as Exchange shows it in a server's store (Get-ExchangeCertificate).

Owns :class:`ExchangeCertificate` and the formatting rules Windows and Exchange apply to a
certificate's facts: thumbprint (SHA-1, 40 upper-case hex digits), subject and issuer strings
(RDNs most specific first, joined with ", "), serial number (upper-case hex), the
CertificateDomains list and the Services set. Records are frozen; changes make new records.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from labsim.errors import PkiError
from labsim.pki.keys import PrivateKey, private_key_pem
from labsim.pki.memo import memo_by_identity

EXCHANGE_SERVICES: tuple[str, ...] = (
    "IMAP",
    "POP",
    "UM",
    "IIS",
    "SMTP",
    "Federation",
    "UMCallRouter",
)
"""Service names Enable-ExchangeCertificate accepts, in the order Exchange displays them."""

# Windows' short names for attribute types (certutil / the certificate dialog); anything not
# listed is shown by dotted OID, as Windows does for unknown types.
_WINDOWS_ATTRIBUTE_NAMES: dict[x509.ObjectIdentifier, str] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "S",
    NameOID.COUNTRY_NAME: "C",
    NameOID.EMAIL_ADDRESS: "E",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.SERIAL_NUMBER: "SERIALNUMBER",
    NameOID.TITLE: "T",
    NameOID.GIVEN_NAME: "G",
    NameOID.SURNAME: "SN",
}

# Windows quotes a value containing one of these (CertNameToStr with CERT_X500_NAME_STR).
_NEEDS_QUOTES = re.compile(r'[,+=";<>#\n]|^\s|\s$')

# A CN counts as a domain in CertificateDomains only if it looks like a host name; a CA name
# such as "Adatum Root CA" does not.
_DNS_ISH = re.compile(r"^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_-]+)*\.?$")


class CertificateStatus(enum.Enum):
    """The Status column of Get-ExchangeCertificate that depends on dates alone.

    Exchange shows ``DateInvalid`` both for an expired certificate and for one not yet valid
    (the Windows chain status it reports does not distinguish them); it has no "Expired" value.
    Trust and revocation statuses (``Untrusted``, ``Revoked``) depend on a machine's stores and
    are decided elsewhere.
    """

    VALID = "Valid"
    DATE_INVALID = "DateInvalid"


# The helpers below are memoized: certificates are immutable and the same few certificates are
# named, matched and logged in every session.
@memo_by_identity()
def thumbprint_of(cert: x509.Certificate) -> str:
    """Return the SHA-1 thumbprint of ``cert`` as Exchange shows it (40 upper-case hex)."""
    # SHA-1 here is Exchange's identifier for a certificate, not a security decision.
    return cert.fingerprint(hashes.SHA1()).hex().upper()


def serial_hex(cert: x509.Certificate) -> str:
    """Return the serial number as Windows shows it: upper-case hex, even number of digits."""
    text = f"{cert.serial_number:X}"
    return text if len(text) % 2 == 0 else "0" + text


def _quote(value: str) -> str:
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


@functools.lru_cache(maxsize=4096)
def windows_name(name: x509.Name) -> str:
    """Return ``name`` as Windows shows it: ``"CN=mail.adatum.com, O=Adatum"``.

    RDNs are listed most specific first (the reverse of DER order), joined with ", "; the
    attributes of a multi-valued RDN are joined with " + ".
    """
    parts: list[str] = []
    for rdn in reversed(name.rdns):
        attributes = []
        for attribute in rdn:
            label = _WINDOWS_ATTRIBUTE_NAMES.get(attribute.oid, attribute.oid.dotted_string)
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.hex()
            attributes.append(f"{label}={_quote(value)}")
        parts.append(" + ".join(attributes))
    return ", ".join(parts)


_ATTRIBUTE_OIDS: dict[str, x509.ObjectIdentifier] = {
    label: oid for oid, label in _WINDOWS_ATTRIBUTE_NAMES.items()
} | {"ST": NameOID.STATE_OR_PROVINCE_NAME}
_RDN = re.compile(r'\s*([A-Za-z]+)\s*=\s*("(?:[^"]|"")*"|[^,]*?)\s*(?:,|\Z)')


def parse_windows_name(text: str) -> x509.Name:
    """The name Windows shows as ``text`` (``CN=mail.adatum.com, OU=IT, O="Adatum, Inc"``).

    The inverse of :func:`windows_name`: RDNs most specific first, values with a comma quoted
    (``""`` inside quotes is one quote). Attributes: CN, O, OU, L, S (or ST), C, E, DC, STREET,
    SERIALNUMBER, T, G, SN; anything else raises :class:`PkiError` naming it.
    """
    attributes: list[x509.NameAttribute[str]] = []
    position = 0
    body = text.strip()
    while position < len(body):
        match = _RDN.match(body, position)
        if match is None or match.end() == position:
            raise PkiError(
                f"'{text}' is not a name as Windows shows it; write e.g. "
                "'CN=Adatum Issuing CA, DC=adatum, DC=com'"
            )
        label, value = match[1].upper(), match[2].strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1].replace('""', '"')
        oid = _ATTRIBUTE_OIDS.get(label)
        if oid is None:
            raise PkiError(
                f"'{text}': unknown attribute '{match[1]}'; use CN, O, OU, L, S, C, E, DC"
            )
        if not value:
            raise PkiError(f"'{text}': attribute {label} has no value")
        if oid == NameOID.COUNTRY_NAME and len(value) != 2:
            raise PkiError(f"'{text}': C={value} is not a two-letter country code")
        try:
            attributes.append(x509.NameAttribute(oid, value))
        except ValueError as err:  # e.g. a CN over X.520's 64 characters
            raise PkiError(f"'{text}': {label}={value}: {err}") from None
        position = match.end()
    if not attributes:
        raise PkiError("an empty name; write e.g. 'CN=Adatum Issuing CA, DC=adatum, DC=com'")
    # Windows lists the most specific RDN first; DER holds it last.
    return x509.Name(list(reversed(attributes)))


@memo_by_identity()
def subject_text(cert: x509.Certificate) -> str:
    """``cert``'s subject as Windows shows it (:func:`windows_name`), once per certificate.

    Reading ``cert.subject`` builds a new Name, whose hash walks every attribute; a peer's
    subject is logged and checked in every session.
    """
    return windows_name(cert.subject)


@memo_by_identity()
def issuer_text(cert: x509.Certificate) -> str:
    """``cert``'s issuer as Windows shows it (:func:`windows_name`), once per certificate."""
    return windows_name(cert.issuer)


@memo_by_identity()
def common_names(cert: x509.Certificate) -> tuple[str, ...]:
    """Return the subject's commonName values, most specific last as encoded."""
    return tuple(
        str(attribute.value)
        for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    )


@memo_by_identity()
def san_dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """Return the DNS names of the SubjectAlternativeName extension, as written."""
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(extension.value.get_values_for_type(x509.DNSName))


@memo_by_identity(8192)
def subject_and_issuer_der(cert: x509.Certificate) -> tuple[bytes, bytes]:
    """The DER encodings of ``cert``'s subject and issuer names.

    Memoized: reading ``cert.subject`` builds a new Name object every time, which made name
    comparisons the costliest part of verifying a chain in a many-organization lab.
    """
    return cert.subject.public_bytes(), cert.issuer.public_bytes()


@memo_by_identity()
def is_self_signed(cert: x509.Certificate) -> bool:
    """True when ``cert`` is issued by itself (issuer equals subject and its signature verifies).

    Memoized: the answer never changes for a certificate, and checking a signature is costly.
    """
    subject, issuer = subject_and_issuer_der(cert)
    if issuer != subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def normalize_services(services: Iterable[str]) -> frozenset[str]:
    """Return ``services`` with Exchange's spelling, dropping "None" (the display of an empty set).

    Raises :class:`PkiError` for a name Exchange does not know.
    """
    by_lower = {name.lower(): name for name in EXCHANGE_SERVICES}
    result: set[str] = set()
    for service in services:
        cleaned = service.strip()
        if cleaned.lower() == "none":
            continue
        known = by_lower.get(cleaned.lower())
        if known is None:
            raise PkiError(
                f"unknown certificate service {service!r}; use one or more of "
                f"{', '.join(EXCHANGE_SERVICES)} or None"
            )
        result.add(known)
    return frozenset(result)


@dataclass(frozen=True)
class ExchangeCertificate:
    """One certificate in a server's personal store, with what Exchange records about it.

    ``chain`` holds the intermediate CA certificates sent with it during a handshake (never the
    root); ``services`` uses Exchange's spelling (an empty set is shown as "None").
    """

    certificate: x509.Certificate
    private_key: PrivateKey | None = None
    chain: tuple[x509.Certificate, ...] = ()
    services: frozenset[str] = frozenset()
    friendly_name: str = ""
    private_key_exportable: bool = True
    """Whether the key may leave the server (Export-ExchangeCertificate with -Password). Exchange's
    cmdlets make keys that cannot unless -PrivateKeyExportable $true; the lab's own
    certificates can (docs/fidelity.md, "Certificates between servers")."""

    def __post_init__(self) -> None:
        # Normalise here so that every record, however it was built, spells services one way.
        object.__setattr__(self, "services", normalize_services(self.services))

    # The names, thumbprint and serial below are read for every session that presents the
    # certificate (protocol logs, selection); they are computed once per record
    # (cached_property writes to the instance dict, which a frozen dataclass allows).

    @functools.cached_property
    def thumbprint(self) -> str:
        """SHA-1 thumbprint, 40 upper-case hex digits (the Thumbprint column)."""
        return thumbprint_of(self.certificate)

    @functools.cached_property
    def subject(self) -> str:
        """Subject as Windows shows it, e.g. ``CN=mail.adatum.com, O=Adatum``."""
        return windows_name(self.certificate.subject)

    @functools.cached_property
    def issuer(self) -> str:
        """Issuer as Windows shows it."""
        return windows_name(self.certificate.issuer)

    @functools.cached_property
    def serial_number(self) -> str:
        """Serial number, upper-case hex."""
        return serial_hex(self.certificate)

    @property
    def not_before(self) -> datetime:
        """Start of validity, an aware UTC datetime."""
        return self.certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        """End of validity, an aware UTC datetime."""
        return self.certificate.not_valid_after_utc

    @functools.cached_property
    def certificate_domains(self) -> tuple[str, ...]:
        """Exchange's CertificateDomains: the CN (if host-like), then DNS SANs.

        Names keep the spelling written in the certificate; duplicates are dropped comparing
        case-insensitively (the first spelling wins).
        """
        seen: set[str] = set()
        result: list[str] = []
        candidates = [cn for cn in common_names(self.certificate) if _DNS_ISH.match(cn)]
        candidates.extend(san_dns_names(self.certificate))
        for name in candidates:
            if name.lower() not in seen:
                seen.add(name.lower())
                result.append(name)
        return tuple(result)

    @functools.cached_property
    def is_self_signed(self) -> bool:
        """True for a self-signed certificate (IsSelfSigned)."""
        return is_self_signed(self.certificate)

    @property
    def has_private_key(self) -> bool:
        """True when the store holds the private key (HasPrivateKey)."""
        return self.private_key is not None

    @property
    def services_display(self) -> str:
        """Services as Get-ExchangeCertificate prints them, e.g. ``IMAP, POP, IIS, SMTP``."""
        ordered = [name for name in EXCHANGE_SERVICES if name in self.services]
        return ", ".join(ordered) if ordered else "None"

    def is_time_valid_at(self, at: datetime) -> bool:
        """True when ``at`` lies within NotBefore..NotAfter (inclusive)."""
        return self.not_before <= at <= self.not_after

    def is_expired_at(self, at: datetime) -> bool:
        """True when ``at`` is after NotAfter."""
        return at > self.not_after

    def status_at(self, at: datetime) -> CertificateStatus:
        """Date-based Status at lab time ``at``: ``Valid`` or ``DateInvalid`` (see the enum)."""
        return (
            CertificateStatus.VALID if self.is_time_valid_at(at) else CertificateStatus.DATE_INVALID
        )

    def pem(self) -> bytes:
        """The certificate followed by its chain, PEM encoded (what a server presents)."""
        return b"".join(
            cert.public_bytes(serialization.Encoding.PEM)
            for cert in (self.certificate, *self.chain)
        )

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM; :class:`PkiError` when there is none."""
        if self.private_key is None:
            raise PkiError(
                f"certificate {self.thumbprint} ({self.subject}) has no private key; "
                "import it with its key or issue a new one"
            )
        return private_key_pem(self.private_key)

    def with_services(self, services: Iterable[str]) -> ExchangeCertificate:
        """Return a copy whose Services are exactly ``services`` (validated)."""
        return dataclasses.replace(self, services=normalize_services(services))
