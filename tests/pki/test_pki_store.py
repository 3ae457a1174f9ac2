"""The per-server certificate stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.errors import PkiError
from labsim.pki import CertificateStore, create_root_ca, exchange_default_certificate

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ca():
    return create_root_ca("Adatum Root CA", organization="Adatum", at=AT)


def test_personal_store_keeps_order_and_finds_exact_thumbprints(ca) -> None:
    store = CertificateStore("ADATUM-CAS1")
    first = store.add_personal(
        exchange_default_certificate("ADATUM-CAS1", "cas1.adatum.com", at=AT)
    )
    second = store.add_personal(ca.issue("mail.adatum.com", at=AT))
    assert store.personal() == (first, second)
    assert store.find(second.thumbprint.lower()) == second
    assert store.find(second.thumbprint[:20]) is None  # a prefix is not enough
    with pytest.raises(PkiError, match=r"not found on ADATUM-CAS1"):
        store.get("ABCDEF")
    assert store.remove_personal(first.thumbprint) == first
    assert store.personal() == (second,)
    with pytest.raises(PkiError, match=first.thumbprint):
        store.remove_personal(first.thumbprint)


def test_enable_services_adds_to_the_set(ca) -> None:
    store = CertificateStore()
    cert = store.add_personal(ca.issue("mail.adatum.com", at=AT, services={"IIS"}))
    updated = store.enable_services(cert.thumbprint, ["SMTP"])
    assert updated.services == frozenset({"IIS", "SMTP"})
    assert store.find(cert.thumbprint) == updated
    assert cert.services == frozenset({"IIS"})  # records are frozen
    with pytest.raises(PkiError, match="unknown certificate service"):
        store.enable_services(cert.thumbprint, ["FTP"])


def test_trusted_roots(ca) -> None:
    store = CertificateStore()
    other = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    assert not store.is_trusted_root(ca.certificate)
    store.import_root(ca.certificate)
    store.import_root(ca.certificate)  # importing twice keeps one
    assert store.trusted_roots() == (ca.certificate,)
    assert store.is_trusted_root(ca.certificate)
    assert not store.is_trusted_root(other.certificate)


def test_domain_names_matching(ca) -> None:
    store = CertificateStore()
    mail = store.add_personal(ca.issue("mail.adatum.com", dns_names=("adatum.com",), at=AT))
    wildcard = store.add_personal(ca.issue("*.adatum.com", at=AT))
    store.add_personal(ca.issue("mail.treyresearch.net", at=AT))
    assert store.domain_names_matching("mail.adatum.com") == (mail, wildcard)
    assert store.domain_names_matching("adatum.com") == (mail,)
