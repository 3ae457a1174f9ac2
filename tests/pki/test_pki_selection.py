"""STARTTLS certificate selection (docs/exchange-reference.md §4.4, §5.2)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from labsim.errors import PkiError
from labsim.pki import (
    CertificateEvent,
    ExchangeCertificate,
    create_root_ca,
    exchange_default_certificate,
    select_starttls_certificate,
)

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
FQDN = "mail.adatum.com"


@pytest.fixture(scope="module")
def ca():
    return create_root_ca("Adatum Root CA", organization="Adatum", at=AT)


def test_exact_name_beats_wildcard_even_if_older(ca) -> None:
    wildcard = ca.issue("*.adatum.com", at=AT)
    exact = ca.issue(FQDN, at=AT, not_before=AT - timedelta(days=30))
    chosen = select_starttls_certificate([wildcard, exact], fqdn=FQDN, at=AT)
    assert chosen.certificate == exact
    assert chosen.event is None
    assert exact.thumbprint in chosen.reason


def test_wildcard_pass_when_no_exact_name(ca) -> None:
    wildcard = ca.issue("Adatum wildcard", dns_names=("*.adatum.com",), at=AT)
    other = ca.issue("mail.treyresearch.net", at=AT)
    chosen = select_starttls_certificate([other, wildcard], fqdn=FQDN, at=AT)
    assert chosen.certificate == wildcard


def test_only_smtp_enabled_certificates_with_private_key(ca) -> None:
    iis_only = ca.issue(FQDN, at=AT, services={"IIS"})
    no_key = dataclasses.replace(ca.issue(FQDN, at=AT), private_key=None)
    chosen = select_starttls_certificate([iis_only, no_key], fqdn=FQDN, at=AT)
    assert chosen.certificate is None
    assert chosen.event is CertificateEvent.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE
    assert chosen.event.event_id == 12014
    assert chosen.event.value == "CannotLoadSTARTTLSCertificateFromStore"
    assert FQDN in chosen.reason


def test_newest_not_before_first(ca) -> None:
    older = ca.issue(FQDN, at=AT, not_before=AT - timedelta(days=20))
    newer = ca.issue(FQDN, at=AT, not_before=AT - timedelta(days=2))
    oldest = ca.issue(FQDN, at=AT, not_before=AT - timedelta(days=200))
    chosen = select_starttls_certificate([older, newer, oldest], fqdn=FQDN, at=AT)
    assert chosen.certificate == newer


def test_ca_issued_beats_newer_self_signed(ca) -> None:
    issued = ca.issue(FQDN, at=AT - timedelta(days=10))
    self_signed = exchange_default_certificate("ADATUM-CAS1", FQDN, at=AT)
    assert self_signed.not_before > issued.not_before
    chosen = select_starttls_certificate([self_signed, issued], fqdn=FQDN, at=AT)
    assert chosen.certificate == issued
    alone = select_starttls_certificate([self_signed], fqdn=FQDN, at=AT)
    assert alone.certificate == self_signed and alone.event is None


def test_valid_beats_expired_and_expired_is_still_used_alone(ca) -> None:
    expired = ca.issue(
        FQDN, at=AT, not_before=AT - timedelta(days=10), not_after=AT - timedelta(days=1)
    )
    valid = ca.issue(FQDN, at=AT, not_before=AT - timedelta(days=300))
    assert select_starttls_certificate([expired, valid], fqdn=FQDN, at=AT).certificate == valid
    alone = select_starttls_certificate([expired], fqdn=FQDN, at=AT)
    assert alone.certificate == expired
    assert alone.event is CertificateEvent.STARTTLS_CERTIFICATE_EXPIRED
    assert alone.event.event_id == 12016
    assert "expired" in alone.reason


def test_tls_certificate_name_found_and_not_found(ca) -> None:
    wanted = ca.issue("partner.adatum.com", at=AT, services=set())  # SMTP not needed by name
    by_fqdn = ca.issue(FQDN, at=AT)
    chosen = select_starttls_certificate(
        [by_fqdn, wanted],
        fqdn=FQDN,
        at=AT,
        tls_certificate_name="<I>cn=adatum root ca,o=ADATUM<S>CN=partner.adatum.com, O=Adatum",
    )
    assert chosen.certificate == wanted
    missing = select_starttls_certificate(
        [by_fqdn], fqdn=FQDN, at=AT, tls_certificate_name="<I>CN=Other CA<S>CN=mail.adatum.com"
    )
    assert missing.certificate is None  # no fallback to the FQDN
    assert missing.event is CertificateEvent.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE
    assert "TlsCertificateName" in missing.reason


@pytest.mark.parametrize("value", ["CN=mail.adatum.com", "<I><S>CN=x", "<S>CN=x<I>CN=y"])
def test_malformed_tls_certificate_name(ca, value: str) -> None:
    cert: ExchangeCertificate = ca.issue(FQDN, at=AT)
    with pytest.raises(PkiError, match=r"<I>issuer<S>subject"):
        select_starttls_certificate([cert], fqdn=FQDN, at=AT, tls_certificate_name=value)


def test_selection_follows_time_and_the_store_on_every_call(ca) -> None:
    # The selection is memoized; each call must still answer for its own time and store.
    current = ca.issue(FQDN, at=AT, not_before=AT - timedelta(days=30), not_after=AT)
    renewal = ca.issue(FQDN, at=AT, not_before=AT + timedelta(days=1))
    pool = [current, renewal]
    assert select_starttls_certificate(pool, fqdn=FQDN, at=AT).certificate == current
    # One second after NotAfter neither is valid (the renewal starts tomorrow): among invalid
    # certificates the newest NotBefore wins.
    later = select_starttls_certificate(pool, fqdn=FQDN, at=AT + timedelta(seconds=1))
    assert later.certificate == renewal
    assert select_starttls_certificate(pool, fqdn=FQDN, at=AT).certificate == current
    assert (
        select_starttls_certificate(pool, fqdn=FQDN, at=AT + timedelta(days=2)).certificate
        == renewal
    )
    # The same certificates with SMTP disabled on the renewal: the store changed.
    disabled = dataclasses.replace(renewal, services=frozenset({"IIS"}))
    chosen = select_starttls_certificate([current, disabled], fqdn=FQDN, at=AT + timedelta(days=2))
    assert chosen.certificate == current
    assert chosen.event is CertificateEvent.STARTTLS_CERTIFICATE_EXPIRED
    # A returned record is the caller's own object, not one remembered from an earlier call.
    renamed = dataclasses.replace(current, friendly_name="renamed")
    assert select_starttls_certificate([renamed], fqdn=FQDN, at=AT).certificate is renamed
