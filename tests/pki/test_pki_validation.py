"""Validation statuses, the OpenSSL error mapping, the EKU check and PeerCertificate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.errors import PkiError
from labsim.pki import (
    EMPTY_PEER,
    CertificateValidationStatus,
    PeerCertificate,
    create_root_ca,
    has_eku,
    status_from_openssl_error,
)
from labsim.pki import validation as v

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
S = CertificateValidationStatus


@pytest.mark.parametrize(
    ("errno", "depth", "self_signed", "expected"),
    [
        (v.X509_V_OK, 0, False, S.VALID),
        (v.X509_V_OK, 0, True, S.VALID_SELF_SIGNED),
        (v.X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0, True, S.VALID_SELF_SIGNED),
        (v.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, 0, False, S.UNTRUSTED_ROOT),
        (v.X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, 1, False, S.UNTRUSTED_ROOT),
        (v.X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, 1, False, S.UNTRUSTED_ROOT),
        (v.X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, 0, False, S.UNTRUSTED_ROOT),
        (v.X509_V_ERR_CERT_HAS_EXPIRED, 0, False, S.CERTIFICATE_EXPIRED),
        (v.X509_V_ERR_CERT_NOT_YET_VALID, 0, False, S.CERTIFICATE_EXPIRED),
        (v.X509_V_ERR_CERT_REVOKED, 0, False, S.REVOKED),
        (v.X509_V_ERR_UNABLE_TO_GET_CRL, 0, False, S.REVOCATION_OFFLINE),
        (v.X509_V_ERR_CRL_HAS_EXPIRED, 0, False, S.REVOCATION_OFFLINE),
        (v.X509_V_ERR_INVALID_PURPOSE, 0, False, S.WRONG_USAGE),
        (v.X509_V_ERR_CERT_SIGNATURE_FAILURE, 0, False, S.SIGNATURE_FAILURE),
        (v.X509_V_ERR_INVALID_CA, 1, False, S.BASIC_CONSTRAINTS_ERROR),
        (9999, 0, False, S.INTERNAL_CHAIN_FAILURE),
    ],
)
def test_status_from_openssl_error(
    errno: int, depth: int, self_signed: bool, expected: CertificateValidationStatus
) -> None:
    assert status_from_openssl_error(errno, depth, leaf_is_self_signed=self_signed) is expected


def test_statuses_carry_exchange_spelling() -> None:
    assert S.VALID_SELF_SIGNED.value == "ValidSelfSigned"
    assert S.UNTRUSTED_ROOT.value == "UntrustedRoot"
    assert S("EmptyCertificate") is S.EMPTY_CERTIFICATE


def test_has_eku() -> None:
    ca = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    server_only = ca.issue("a.adatum.com", at=AT, eku=("serverAuth",)).certificate
    any_purpose = ca.issue("b.adatum.com", at=AT, eku=()).certificate
    assert has_eku(server_only, "serverAuth")
    assert not has_eku(server_only, "clientAuth")
    assert has_eku(any_purpose, "clientAuth")
    with pytest.raises(PkiError, match="'smtp'"):
        has_eku(server_only, "smtp")


def test_peer_certificate_facts() -> None:
    ca = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    cert = ca.issue("mail.adatum.com", dns_names=("adatum.com",), at=AT)
    peer = PeerCertificate(chain=(cert.certificate, ca.certificate), status=S.VALID)
    assert peer.leaf == cert.certificate
    assert peer.thumbprint == cert.thumbprint
    assert peer.subject == "CN=mail.adatum.com, O=Adatum"
    assert peer.issuer == "CN=Adatum Root CA, O=Adatum"
    assert peer.serial_number == cert.serial_number
    assert peer.names == ("mail.adatum.com", "adatum.com")
    assert not peer.is_self_signed


def test_empty_peer() -> None:
    assert EMPTY_PEER.status is S.EMPTY_CERTIFICATE
    assert EMPTY_PEER.leaf is None
    assert (EMPTY_PEER.thumbprint, EMPTY_PEER.subject, EMPTY_PEER.names) == ("", "", ())
    assert PeerCertificate.empty() == EMPTY_PEER
