"""Chain validation facts in Exchange's vocabulary, independent of how the chain was checked.

Owns :class:`CertificateValidationStatus` (Exchange's ``CertificateValidationStatus`` spelling),
the mapping from OpenSSL's ``X509_V_ERR_*`` numbers to it, the EKU check and
:class:`PeerCertificate`, the record of what a TLS peer presented and how it validated. The
OpenSSL verification itself runs above the Twisted line (``labsim.engine.tls``); this module only
interprets numbers, so policy code and tests can use it without OpenSSL.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography import x509

from labsim.errors import PkiError
from labsim.pki.ca import EKU_OIDS
from labsim.pki.certificate import (
    is_self_signed,
    issuer_text,
    serial_hex,
    subject_text,
    thumbprint_of,
)
from labsim.pki.names import certificate_names


class CertificateValidationStatus(enum.Enum):
    """Result of validating a peer certificate, with Exchange's spelling."""

    VALID = "Valid"
    VALID_SELF_SIGNED = "ValidSelfSigned"
    EMPTY_CERTIFICATE = "EmptyCertificate"
    SUBJECT_MISMATCH = "SubjectMismatch"
    SIGNATURE_FAILURE = "SignatureFailure"
    UNTRUSTED_ROOT = "UntrustedRoot"
    UNTRUSTED_TEST_ROOT = "UntrustedTestRoot"
    INTERNAL_CHAIN_FAILURE = "InternalChainFailure"
    WRONG_USAGE = "WrongUsage"
    CERTIFICATE_EXPIRED = "CertificateExpired"
    VALIDITY_PERIOD_NESTING = "ValidityPeriodNesting"
    PURPOSE_ERROR = "PurposeError"
    BASIC_CONSTRAINTS_ERROR = "BasicConstraintsError"
    # The reference's captured enum stops after PurposeError ("continues with further chain /
    # revocation statuses not captured"); the three below are labsim's names for those.
    REVOKED = "Revoked"
    REVOCATION_OFFLINE = "RevocationOffline"
    REVOCATION_FAILURE = "RevocationFailure"


# OpenSSL X509_V_ERR_* numbers (include/openssl/x509_vfy.h); stable across OpenSSL 1.1 and 3.x.
X509_V_OK = 0
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2
X509_V_ERR_UNABLE_TO_GET_CRL = 3
X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE = 4
X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE = 5
X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY = 6
X509_V_ERR_CERT_SIGNATURE_FAILURE = 7
X509_V_ERR_CRL_SIGNATURE_FAILURE = 8
X509_V_ERR_CERT_NOT_YET_VALID = 9
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_CRL_NOT_YET_VALID = 11
X509_V_ERR_CRL_HAS_EXPIRED = 12
X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD = 13
X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD = 14
X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
X509_V_ERR_CERT_REVOKED = 23
X509_V_ERR_INVALID_CA = 24
X509_V_ERR_PATH_LENGTH_EXCEEDED = 25
X509_V_ERR_INVALID_PURPOSE = 26
X509_V_ERR_CERT_UNTRUSTED = 27
X509_V_ERR_CERT_REJECTED = 28

_STATUS_BY_ERRNO: dict[int, CertificateValidationStatus] = {
    X509_V_OK: CertificateValidationStatus.VALID,
    # No path to a trusted root: Windows reports the chain as ending in an untrusted root.
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: CertificateValidationStatus.UNTRUSTED_ROOT,
    X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: CertificateValidationStatus.UNTRUSTED_ROOT,
    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: CertificateValidationStatus.UNTRUSTED_ROOT,
    X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: CertificateValidationStatus.UNTRUSTED_ROOT,
    X509_V_ERR_CERT_UNTRUSTED: CertificateValidationStatus.UNTRUSTED_ROOT,
    X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: CertificateValidationStatus.UNTRUSTED_ROOT,
    X509_V_ERR_CERT_NOT_YET_VALID: CertificateValidationStatus.CERTIFICATE_EXPIRED,
    X509_V_ERR_CERT_HAS_EXPIRED: CertificateValidationStatus.CERTIFICATE_EXPIRED,
    X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD: CertificateValidationStatus.CERTIFICATE_EXPIRED,
    X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: CertificateValidationStatus.CERTIFICATE_EXPIRED,
    X509_V_ERR_CERT_REVOKED: CertificateValidationStatus.REVOKED,
    # A missing or stale CRL means the revocation status is unknown (CRYPT_E_REVOCATION_OFFLINE).
    X509_V_ERR_UNABLE_TO_GET_CRL: CertificateValidationStatus.REVOCATION_OFFLINE,
    X509_V_ERR_CRL_NOT_YET_VALID: CertificateValidationStatus.REVOCATION_OFFLINE,
    X509_V_ERR_CRL_HAS_EXPIRED: CertificateValidationStatus.REVOCATION_OFFLINE,
    X509_V_ERR_CRL_SIGNATURE_FAILURE: CertificateValidationStatus.REVOCATION_FAILURE,
    X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE: CertificateValidationStatus.REVOCATION_FAILURE,
    X509_V_ERR_INVALID_PURPOSE: CertificateValidationStatus.WRONG_USAGE,
    X509_V_ERR_CERT_REJECTED: CertificateValidationStatus.WRONG_USAGE,
    X509_V_ERR_CERT_SIGNATURE_FAILURE: CertificateValidationStatus.SIGNATURE_FAILURE,
    X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE: CertificateValidationStatus.SIGNATURE_FAILURE,
    X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: CertificateValidationStatus.SIGNATURE_FAILURE,
    # An issuer that is not a CA, or a chain longer than allowed, breaks basic constraints.
    X509_V_ERR_INVALID_CA: CertificateValidationStatus.BASIC_CONSTRAINTS_ERROR,
    X509_V_ERR_PATH_LENGTH_EXCEEDED: CertificateValidationStatus.BASIC_CONSTRAINTS_ERROR,
}


def status_from_openssl_error(
    errno: int, depth: int, *, leaf_is_self_signed: bool
) -> CertificateValidationStatus:
    """Map an OpenSSL verification error at chain ``depth`` to Exchange's status.

    A self-signed leaf is ``ValidSelfSigned`` whether or not the machine trusts it (Exchange
    reports a self-signed peer that way, and Domain Security refuses it either way); errors not
    listed map to ``InternalChainFailure``.
    """
    if leaf_is_self_signed and (
        errno in (X509_V_OK, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
        or (errno == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN and depth == 0)
    ):
        return CertificateValidationStatus.VALID_SELF_SIGNED
    return _STATUS_BY_ERRNO.get(errno, CertificateValidationStatus.INTERNAL_CHAIN_FAILURE)


def has_eku(cert: x509.Certificate, purpose: str) -> bool:
    """True when ``cert`` may be used for ``purpose`` ("serverAuth", "clientAuth", ...).

    A certificate without an ExtendedKeyUsage extension is valid for any purpose; the
    anyExtendedKeyUsage OID also allows every purpose.
    """
    oid = EKU_OIDS.get(purpose)
    if oid is None:
        raise PkiError(f"unknown purpose {purpose!r}; use one of {', '.join(EKU_OIDS)}")
    try:
        extension = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        return True
    usages = list(extension.value)
    return oid in usages or x509.oid.ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


@dataclass(frozen=True)
class PeerCertificate:
    """What a TLS peer presented and how it validated at lab time.

    ``chain`` is leaf first, without duplicates; it is empty when the peer sent no certificate
    (status ``EmptyCertificate``). ``detail`` is OpenSSL's error text, or "". The text
    properties return "" when there is no certificate, so logs can print them unconditionally.
    """

    chain: tuple[x509.Certificate, ...]
    status: CertificateValidationStatus
    detail: str = ""

    @classmethod
    def empty(cls) -> PeerCertificate:
        """The record for "no certificate presented"."""
        return cls(chain=(), status=CertificateValidationStatus.EMPTY_CERTIFICATE)

    @property
    def leaf(self) -> x509.Certificate | None:
        """The peer's own certificate, or None."""
        return self.chain[0] if self.chain else None

    @property
    def thumbprint(self) -> str:
        """Thumbprint of the leaf, or ""."""
        return thumbprint_of(self.chain[0]) if self.chain else ""

    @property
    def subject(self) -> str:
        """Windows subject string of the leaf, or ""."""
        return subject_text(self.chain[0]) if self.chain else ""

    @property
    def issuer(self) -> str:
        """Windows issuer string of the leaf, or ""."""
        return issuer_text(self.chain[0]) if self.chain else ""

    @property
    def serial_number(self) -> str:
        """Serial number of the leaf (upper-case hex), or ""."""
        return serial_hex(self.chain[0]) if self.chain else ""

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the leaf (Subject CN then DNS SANs), or ()."""
        return certificate_names(self.chain[0]) if self.chain else ()

    @property
    def is_self_signed(self) -> bool:
        """True when the leaf is self-signed."""
        return bool(self.chain) and is_self_signed(self.chain[0])


EMPTY_PEER = PeerCertificate.empty()
"""The peer presented no certificate."""
