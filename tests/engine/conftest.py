"""Certificates the TLS tests share: two organizations' root CAs (Trey's with an issuing CA) and
a leaf for each, issued at :data:`AT`, built once per test module."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.pki import CertificateAuthority, ExchangeCertificate, create_root_ca

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def adatum() -> CertificateAuthority:
    return create_root_ca("Adatum Root CA", organization="Adatum", at=AT)


@pytest.fixture(scope="module")
def trey() -> CertificateAuthority:
    return create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)


@pytest.fixture(scope="module")
def adatum_cert(adatum: CertificateAuthority) -> ExchangeCertificate:
    return adatum.issue("mail.adatum.com", dns_names=("mail.adatum.com", "adatum.com"), at=AT)


@pytest.fixture(scope="module")
def trey_sub(trey: CertificateAuthority) -> CertificateAuthority:
    return trey.issue_intermediate("Trey Issuing CA", at=AT)


@pytest.fixture(scope="module")
def trey_cert(trey_sub: CertificateAuthority) -> ExchangeCertificate:
    return trey_sub.issue("mail.treyresearch.net", dns_names=("treyresearch.net",), at=AT)
