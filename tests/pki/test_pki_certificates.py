"""CA issuance, the ExchangeCertificate record and its Windows/Exchange formatting, CRLs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsim.errors import PkiError
from labsim.pki import (
    CertificateStatus,
    ExchangeCertificate,
    KeyType,
    create_root_ca,
    exchange_default_certificate,
    windows_name,
)

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def root():
    return create_root_ca(
        "Adatum Root CA", organization="Adatum", at=AT, crl_url="http://crl.adatum.com/root.crl"
    )


@pytest.fixture(scope="module")
def mail(root) -> ExchangeCertificate:
    return root.issue("mail.adatum.com", dns_names=("mail.adatum.com", "adatum.com"), at=AT)


def test_root_ca_is_a_ca(root) -> None:
    cert = root.certificate
    assert root.name == "Adatum Root CA"
    assert root.subject == "CN=Adatum Root CA, O=Adatum"
    assert root.is_root
    assert root.chain == ()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_before_utc == AT - timedelta(days=1)


def test_issued_certificate_has_exchange_extensions(root, mail: ExchangeCertificate) -> None:
    cert = mail.certificate
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "mail.adatum.com"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mail.adatum.com", "adatum.com"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "http://crl.adatum.com/root.crl"
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and not usage.key_encipherment  # ECDSA: no key encipherment
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    cert.verify_directly_issued_by(root.certificate)
    assert mail.chain == ()  # issued by the root: nothing to send with it
    assert mail.services == frozenset({"SMTP"})
    assert mail.friendly_name == "mail.adatum.com"
    assert isinstance(mail.private_key, ec.EllipticCurvePrivateKey)


def test_rsa_leaf_has_key_encipherment(root) -> None:
    cert = root.issue("rsa.adatum.com", at=AT, key_type=KeyType.RSA_2048)
    assert isinstance(cert.private_key, rsa.RSAPrivateKey)
    assert cert.certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_record_shows_what_exchange_shows(mail: ExchangeCertificate) -> None:
    assert re.fullmatch(r"[0-9A-F]{40}", mail.thumbprint)
    assert mail.subject == "CN=mail.adatum.com, O=Adatum"
    assert mail.issuer == "CN=Adatum Root CA, O=Adatum"
    assert re.fullmatch(r"([0-9A-F]{2})+", mail.serial_number)
    assert int(mail.serial_number, 16) == mail.certificate.serial_number
    assert mail.not_before == AT - timedelta(days=1)
    assert mail.not_after == AT + timedelta(days=730)
    assert mail.not_before.tzinfo is not None
    assert mail.certificate_domains == ("mail.adatum.com", "adatum.com")
    assert not mail.is_self_signed
    assert mail.has_private_key
    assert mail.services_display == "SMTP"


def test_windows_name_quotes_and_orders() -> None:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Adatum, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, "mail.adatum.com"),
        ]
    )
    assert windows_name(name) == 'CN=mail.adatum.com, O="Adatum, Inc.", S=WA, C=US'


def test_status_at_uses_exchange_spelling(mail: ExchangeCertificate) -> None:
    assert mail.status_at(AT) is CertificateStatus.VALID
    assert mail.status_at(AT + timedelta(days=731)).value == "DateInvalid"
    assert mail.status_at(AT - timedelta(days=2)).value == "DateInvalid"
    assert mail.is_expired_at(AT + timedelta(days=731))


def test_with_services_returns_a_new_record(mail: ExchangeCertificate) -> None:
    more = mail.with_services(["smtp", "iis", "None"])
    assert more.services == frozenset({"SMTP", "IIS"})
    assert more.services_display == "IIS, SMTP"
    assert mail.services == frozenset({"SMTP"})
    assert mail.with_services([]).services_display == "None"
    with pytest.raises(PkiError, match="'SMPT'"):
        mail.with_services(["SMPT"])


def test_pem_contains_certificate_and_chain(root) -> None:
    sub = root.issue_intermediate("Adatum Issuing CA", at=AT, crl_url="http://crl.adatum.com/i.crl")
    assert sub.chain == (sub.certificate,)
    assert not sub.is_root
    leaf = sub.issue("mail.adatum.com", dns_names=("mail.adatum.com",), at=AT)
    assert leaf.chain == (sub.certificate,)
    assert leaf.issuer == "CN=Adatum Issuing CA, O=Adatum"
    loaded = x509.load_pem_x509_certificates(leaf.pem())
    assert loaded == [leaf.certificate, sub.certificate]
    assert b"PRIVATE KEY" in leaf.key_pem()
    cdp = leaf.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == "http://crl.adatum.com/i.crl"
    sub_cdp = sub.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert sub_cdp.value[0].full_name[0].value == "http://crl.adatum.com/root.crl"


def test_key_pem_without_key_names_the_certificate(mail: ExchangeCertificate) -> None:
    public_only = ExchangeCertificate(certificate=mail.certificate)
    with pytest.raises(PkiError, match=mail.thumbprint):
        public_only.key_pem()


def test_bad_input_is_refused(root) -> None:
    with pytest.raises(PkiError, match="clientAut"):
        root.issue("x.adatum.com", at=AT, eku=("clientAut",))
    with pytest.raises(PkiError, match="NotAfter"):
        root.issue("x.adatum.com", at=AT, not_after=AT - timedelta(days=5))
    with pytest.raises(PkiError, match="time zone"):
        root.issue("x.adatum.com", at=datetime(2024, 1, 1))
    with pytest.raises(PkiError, match="http URL"):
        create_root_ca("X", organization=None, at=AT, crl_url="ldap://x")


def test_no_eku_means_no_extension(root) -> None:
    cert = root.issue("any.adatum.com", at=AT, eku=())
    with pytest.raises(x509.ExtensionNotFound):
        cert.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)


def test_exchange_default_certificate() -> None:
    cert = exchange_default_certificate("ADATUM-CAS1", "adatum-cas1.adatum.com", at=AT)
    assert cert.subject == "CN=ADATUM-CAS1"
    assert cert.issuer == cert.subject
    assert cert.is_self_signed
    assert cert.friendly_name == "Microsoft Exchange"
    assert cert.services_display == "IMAP, POP, IIS, SMTP"
    assert cert.certificate_domains == ("ADATUM-CAS1", "adatum-cas1.adatum.com")
    assert cert.not_after - cert.not_before == timedelta(days=5 * 365)
    eku = cert.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_crl_lists_revoked_serial(root) -> None:
    ca = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    cert = ca.issue("mail.treyresearch.net", at=AT)
    other = ca.issue("other.treyresearch.net", at=AT)
    ca.revoke(cert.serial_number, AT)  # the hex form Exchange shows
    crl = ca.crl(AT + timedelta(hours=1))
    assert crl.is_signature_valid(ca.private_key.public_key())
    assert crl.get_revoked_certificate_by_serial_number(cert.certificate.serial_number)
    assert crl.get_revoked_certificate_by_serial_number(other.certificate.serial_number) is None
    assert crl.next_update_utc == AT + timedelta(hours=1, days=7)
    assert ca.is_revoked(cert.certificate.serial_number)
    # A CRL issued before the revocation does not list it.
    assert (
        ca.crl(AT - timedelta(hours=1)).get_revoked_certificate_by_serial_number(
            cert.certificate.serial_number
        )
        is None
    )
    with pytest.raises(PkiError, match="hexadecimal"):
        ca.revoke("XYZ", AT)


def test_published_crl_is_served_unchanged_until_a_revocation_or_its_next_update() -> None:
    ca = create_root_ca("Trey Root CA", organization="TreyResearch", at=AT)
    cert = ca.issue("mail.treyresearch.net", at=AT)
    first, der = ca.published_crl(AT)
    again, der_again = ca.published_crl(AT + timedelta(days=6))
    assert again is first and der_again == der == first.public_bytes(Encoding.DER)
    number = first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number

    ca.revoke(cert.serial_number, AT + timedelta(days=6))
    after_revoke, _ = ca.published_crl(AT + timedelta(days=6))
    assert after_revoke.get_revoked_certificate_by_serial_number(cert.certificate.serial_number)
    assert after_revoke.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == (
        number + 1
    )

    # Past NextUpdate (7 days after publication) the CA publishes again on schedule.
    due = after_revoke.next_update_utc
    assert due is not None
    assert ca.published_crl(due - timedelta(seconds=1))[0] is after_revoke
    republished, _ = ca.published_crl(due)
    assert republished.last_update_utc == due
    assert republished.get_revoked_certificate_by_serial_number(cert.certificate.serial_number)


def test_names_over_x520_bounds_are_a_pki_error(root) -> None:
    # cryptography's ValueError used to reach the shell as an internal error.
    from labsim.pki.self_signed import self_signed_certificate

    long_name = "a" * 61 + ".com"
    with pytest.raises(PkiError) as caught:
        root.issue(long_name, at=AT)
    assert str(caught.value) == (
        f"the CN '{long_name}' holds 65 characters; a certificate's CN holds at most 64 "
        "(X.520), so shorten it"
    )
    with pytest.raises(PkiError, match="the O 'o{65}' holds 65 characters"):
        root.issue("mail.adatum.com", at=AT, organization="o" * 65)
    with pytest.raises(PkiError, match="holds 65 characters"):
        self_signed_certificate(
            long_name, (), not_before=AT, not_after=AT + timedelta(days=1), eku=()
        )
    assert root.issue("a" * 60 + ".com", at=AT).subject.startswith("CN=" + "a" * 60)


def test_a_not_before_earlier_than_1950_is_a_pki_error(root) -> None:
    # cryptography's ValueError ("must be on or after 1950") used to reach the user.
    from labsim.pki.self_signed import self_signed_certificate

    early = datetime(1949, 12, 31, tzinfo=UTC)
    with pytest.raises(PkiError) as caught:
        root.issue("mail.adatum.com", at=AT, not_before=early, not_after=AT)
    assert str(caught.value) == (
        "certificate CN=mail.adatum.com, O=Adatum: NotBefore 1949-12-31 is before 1950-01-01, "
        "the earliest date labsim can put in a certificate; give a later NotBefore"
    )
    with pytest.raises(PkiError, match="is before 1950-01-01"):
        self_signed_certificate("mail.adatum.com", (), not_before=early, not_after=AT, eku=())
