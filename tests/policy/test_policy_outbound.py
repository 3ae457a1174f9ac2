"""Sending side of Domain Security: policy, after EHLO, after the handshake (docs/exchange-reference.md §4.1–§4.4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from policy_helpers import adatum, peer, send_connector

from labsim.model.enums import FidelityProfile, TlsAuthLevel
from labsim.model.transport import TransportConfig
from labsim.pki.validation import EMPTY_PEER, CertificateValidationStatus
from labsim.policy.domain_security import (
    OutboundAction,
    OutboundPolicy,
    after_ehlo,
    after_handshake,
    client_certificate_missing,
    matches_tls_domain,
    outbound_policy,
)
from labsim.policy.permissions import SessionIdentity
from labsim.policy.routing import next_hop_for

S = CertificateValidationStatus
E13 = FidelityProfile.EXCHANGE2013
E10 = FidelityProfile.EXCHANGE2010
LISTED = TransportConfig(tls_send_domain_secure_list=("treyresearch.net",))
UNLISTED = TransportConfig()
TREY = "treyresearch.net"


def policy_for(
    config: TransportConfig = LISTED, *, via_frontend_proxy: bool = False, **changes: Any
) -> OutboundPolicy:
    connector = send_connector(**changes)
    org = replace(adatum(connector), transport_config=config)
    return outbound_policy(
        config, connector, next_hop_for(org, connector, TREY), via_frontend_proxy=via_frontend_proxy
    )


# --- outbound_policy -------------------------------------------------------------------------


def test_listed_dns_routed_is_domain_secure() -> None:
    policy = policy_for()
    assert policy.domain_secure and policy.connector_domain_secure_enabled
    assert policy.next_hop_domain == TREY
    assert "docs/exchange-reference.md §4.1" in policy.explanation


def test_smart_host_connector_is_silently_not_enforced() -> None:
    policy = policy_for(dns_routing_enabled=False, smart_hosts=("relay.adatum.com",))
    assert not policy.domain_secure
    assert policy.next_hop_domain == "relay.adatum.com"
    assert "§4.1.3" in policy.explanation


def test_frontend_proxy_skips_enforcement_d2() -> None:
    policy = policy_for(via_frontend_proxy=True, frontend_proxy_enabled=True)
    assert not policy.domain_secure
    assert "labsim decision D2 (docs/exchange-reference.md)" in policy.explanation
    # The CAS still negotiates TLS when the partner offers it ...
    step = after_ehlo(policy, starttls_offered=True, connector_name="To TreyResearch", domain=TREY)
    assert step.action is OutboundAction.START_TLS
    # ... and a partner with a bad certificate still gets the mail (no enforcement).
    check = after_handshake(policy, peer(status=S.UNTRUSTED_ROOT), domain=TREY, profile=E13)
    assert check.ok and check.reply is None
    assert check.remote_identity is SessionIdentity.ANONYMOUS


def test_unlisted_is_opportunistic() -> None:
    policy = policy_for(UNLISTED)
    assert not policy.domain_secure
    assert "not in TLSSendDomainSecureList" in policy.explanation


# --- after_ehlo ------------------------------------------------------------------------------

NOT_OFFERED_LINE = (
    "Message to secure domain 'treyresearch.net' on send connector 'To TreyResearch' failed "
    "because TLS was not offered ."
)


@pytest.mark.parametrize(
    ("changes", "config", "offered", "action", "reply", "event", "line"),
    [
        ({}, LISTED, True, OutboundAction.START_TLS, None, None, None),
        (
            {},
            LISTED,
            False,
            OutboundAction.FAIL,
            "451 5.7.3 STARTTLS is required to send mail",
            11014,
            NOT_OFFERED_LINE,
        ),
        (
            {"domain_secure_enabled": False},
            LISTED,
            False,
            OutboundAction.FAIL,
            "451 4.7.3 The admin has temporarily disallowed this secure domain",
            11021,
            NOT_OFFERED_LINE,
        ),
        (
            {"force_helo": True},
            LISTED,
            True,
            OutboundAction.FAIL,
            "451 5.7.3 STARTTLS is required to send mail",
            11014,
            NOT_OFFERED_LINE,
        ),
        (
            {"require_tls": True},
            UNLISTED,
            False,
            OutboundAction.FAIL,
            "451 5.7.3 STARTTLS is required to send mail",
            2015,
            None,
        ),
        ({"require_tls": True}, UNLISTED, True, OutboundAction.START_TLS, None, None, None),
        ({}, UNLISTED, False, OutboundAction.CONTINUE_WITHOUT_TLS, None, None, None),
        ({}, UNLISTED, True, OutboundAction.START_TLS, None, None, None),
        (
            {"ignore_starttls": True},
            UNLISTED,
            True,
            OutboundAction.CONTINUE_WITHOUT_TLS,
            None,
            None,
            None,
        ),
    ],
    ids=[
        "listed-offered",
        "listed-not-offered",
        "listed-connector-not-domain-secure",
        "listed-force-helo",
        "require-tls-not-offered",
        "require-tls-offered",
        "opportunistic-not-offered",
        "opportunistic-offered",
        "ignore-starttls",
    ],
)
def test_after_ehlo(
    changes: dict[str, Any],
    config: TransportConfig,
    offered: bool,
    action: OutboundAction,
    reply: str | None,
    event: int | None,
    line: str | None,
) -> None:
    policy = policy_for(config, **changes)
    step = after_ehlo(
        policy, starttls_offered=offered, connector_name="To TreyResearch", domain=TREY
    )
    assert step.action is action
    assert (str(step.reply) if step.reply else None) == reply
    assert (step.event.event_id if step.event else None) == event
    assert [n.context for n in step.log_notes] == ([line] if line else [])
    assert step.explanation.startswith("docs/exchange-reference.md §4.2")
    assert step.failed is (action is OutboundAction.FAIL)


def test_client_certificate_missing() -> None:
    step = client_certificate_missing("<I>CN=Adatum Root CA<S>CN=mail.adatum.com")
    assert str(step.reply) == (
        "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could "
        "not be found."
    )
    assert step.event is not None and step.event.event_id == 12014
    assert "<I>CN=Adatum Root CA<S>CN=mail.adatum.com" in step.explanation


# --- after_handshake: Domain Security branch ----------------------------------------------


@pytest.mark.parametrize(
    ("certificate", "profile", "ok", "status", "event"),
    [
        (peer(), E13, True, S.VALID, None),
        (peer(status=S.UNTRUSTED_ROOT), E13, False, S.UNTRUSTED_ROOT, 11020),
        (peer(status=S.VALID_SELF_SIGNED), E13, False, S.VALID_SELF_SIGNED, 11020),
        (peer(status=S.CERTIFICATE_EXPIRED), E13, False, S.CERTIFICATE_EXPIRED, 11020),
        # Names first: a certificate for another domain is SubjectMismatch even if untrusted.
        (
            peer("mail.contoso.com", "mail.contoso.com", status=S.UNTRUSTED_ROOT),
            E13,
            False,
            S.SUBJECT_MISMATCH,
            11016,
        ),
        (peer("mail.contoso.com", "mail.contoso.com"), E13, False, S.SUBJECT_MISMATCH, 11016),
        (peer(status=S.REVOCATION_OFFLINE), E13, True, S.VALID, 11026),
        (peer(status=S.REVOCATION_OFFLINE), E10, False, S.REVOCATION_OFFLINE, 11020),
        (peer(status=S.REVOKED), E13, False, S.REVOKED, 11020),
        (peer(status=S.REVOKED), E10, False, S.REVOKED, 11020),
        (EMPTY_PEER, E13, False, S.EMPTY_CERTIFICATE, 11020),
    ],
    ids=[
        "valid",
        "untrusted-root",
        "self-signed",
        "expired",
        "mismatch-before-chain",
        "mismatch",
        "crl-offline-2013-tolerated",
        "crl-offline-2010-fails",
        "revoked-2013",
        "revoked-2010",
        "no-certificate",
    ],
)
def test_after_handshake_domain_secure(
    certificate: object,
    profile: FidelityProfile,
    ok: bool,
    status: CertificateValidationStatus,
    event: int | None,
) -> None:
    from labsim.pki.validation import PeerCertificate

    assert isinstance(certificate, PeerCertificate)
    check = after_handshake(policy_for(), certificate, domain=TREY, profile=profile)
    assert check.ok is ok
    assert check.status is status
    assert (check.event.event_id if check.event else None) == event
    if ok:
        assert check.reply is None
        assert check.remote_identity is SessionIdentity.PARTNER
        assert check.log_notes[-1].context == "Secure domain certificate"
    else:
        assert str(check.reply) == "454 4.7.5 Certificate validation failure"
        assert check.remote_identity is SessionIdentity.ANONYMOUS
    assert status.value in check.explanation


def test_crl_offline_tolerance_is_logged() -> None:
    check = after_handshake(
        policy_for(), peer(status=S.REVOCATION_OFFLINE), domain=TREY, profile=E13
    )
    assert [n.context for n in check.log_notes] == [
        "CRL validation failed with status RevocationOffline. Treating the failure as success.",
        "Secure domain certificate",
    ]
    assert "labsim decision D5 (docs/exchange-reference.md)" in check.explanation


def test_name_is_matched_against_recipient_domain_not_mx_host() -> None:
    # The MX host is mx1.mail.treyresearch.net: a certificate naming exactly that host is
    # two labels below the domain and does NOT satisfy Domain Security ...
    mx_only = peer("mx1.mail.treyresearch.net", "mx1.mail.treyresearch.net")
    check = after_handshake(policy_for(), mx_only, domain=TREY, profile=E13)
    assert check.status is S.SUBJECT_MISMATCH
    assert "MX host name does not count" in check.explanation
    # ... while one naming only the domain does, although it does not name the MX host.
    domain_only = peer("treyresearch.net", "treyresearch.net")
    assert after_handshake(policy_for(), domain_only, domain=TREY, profile=E13).ok


def test_wildcard_and_one_label_below_match_d4() -> None:
    for names in (("*.treyresearch.net",), ("mail.treyresearch.net",), ("TREYRESEARCH.NET",)):
        certificate = peer(names[0], *names)
        assert after_handshake(policy_for(), certificate, domain=TREY, profile=E13).ok


def test_connector_without_domain_secure_fails_after_handshake() -> None:
    policy = policy_for(domain_secure_enabled=False)
    assert (
        after_ehlo(
            policy, starttls_offered=True, connector_name="To TreyResearch", domain=TREY
        ).action
        is OutboundAction.START_TLS
    )
    check = after_handshake(policy, peer(), domain=TREY, profile=E13)
    assert not check.ok
    assert str(check.reply) == "451 4.7.3 The admin has temporarily disallowed this secure domain"
    assert check.event is not None and check.event.event_id == 11021


# --- after_handshake: RequireTLS / TlsAuthLevel branch ------------------------------------

DV = TlsAuthLevel.DOMAIN_VALIDATION
CV = TlsAuthLevel.CERTIFICATE_VALIDATION


@pytest.mark.parametrize(
    ("level", "tls_domain", "certificate", "ok", "status"),
    [
        (DV, "*.contoso.com", peer("mx.eu.contoso.com", "mx.eu.contoso.com"), True, S.VALID),
        (DV, "*.contoso.com", peer("contoso.com", "contoso.com"), True, S.VALID),
        (DV, "*.contoso.com", peer("*.mail.contoso.com", "*.mail.contoso.com"), True, S.VALID),
        (
            DV,
            "*.contoso.com",
            peer("mail.fabrikam.com", "mail.fabrikam.com"),
            False,
            S.SUBJECT_MISMATCH,
        ),
        (DV, "*.contoso.com", peer("notcontoso.com", "notcontoso.com"), False, S.SUBJECT_MISMATCH),
        (DV, None, peer(), True, S.VALID),
        (DV, None, peer("mail.contoso.com", "mail.contoso.com"), False, S.SUBJECT_MISMATCH),
        (
            DV,
            "*.contoso.com",
            peer("mx.contoso.com", "mx.contoso.com", status=S.UNTRUSTED_ROOT),
            False,
            S.UNTRUSTED_ROOT,
        ),
        (CV, None, peer("mail.contoso.com", "mail.contoso.com"), True, S.VALID),
        (CV, None, peer(status=S.VALID_SELF_SIGNED), False, S.VALID_SELF_SIGNED),
        (CV, None, peer(status=S.REVOCATION_OFFLINE), True, S.VALID),
    ],
    ids=[
        "dv-wildcard-two-below",
        "dv-wildcard-bare",
        "dv-wildcard-cert-wildcard",
        "dv-wildcard-other-domain",
        "dv-wildcard-suffix-not-label",
        "dv-recipient-domain",
        "dv-recipient-domain-mismatch",
        "dv-untrusted",
        "cv-any-name",
        "cv-self-signed",
        "cv-crl-offline-2013",
    ],
)
def test_forced_tls(
    level: TlsAuthLevel,
    tls_domain: str | None,
    certificate: object,
    ok: bool,
    status: CertificateValidationStatus,
) -> None:
    from labsim.pki.validation import PeerCertificate

    assert isinstance(certificate, PeerCertificate)
    policy = policy_for(UNLISTED, require_tls=True, tls_auth_level=level, tls_domain=tls_domain)
    check = after_handshake(policy, certificate, domain=TREY, profile=E13)
    assert check.ok is ok
    assert check.status is status
    assert check.remote_identity is SessionIdentity.ANONYMOUS
    if not ok:
        assert str(check.reply) == "454 4.7.5 Certificate validation failure"
        assert check.log_notes[-1].context == (
            f"Outbound TLS authentication failed for auth level {level.value} with error "
            f"{status.value}"
        )


def test_listed_domain_takes_precedence_over_tls_auth_level() -> None:
    policy = policy_for(require_tls=True, tls_auth_level=DV, tls_domain="*.contoso.com")
    check = after_handshake(policy, peer(), domain=TREY, profile=E13)
    assert check.ok and check.remote_identity is SessionIdentity.PARTNER


@pytest.mark.parametrize("level", [None, TlsAuthLevel.ENCRYPTION_ONLY])
def test_opportunistic_and_encryption_only_do_not_check(level: TlsAuthLevel | None) -> None:
    policy = policy_for(UNLISTED, require_tls=level is not None, tls_auth_level=level)
    check = after_handshake(policy, peer(status=S.UNTRUSTED_ROOT), domain=TREY, profile=E13)
    assert check.ok and check.status is None


def test_matches_tls_domain_plain_uses_d4() -> None:
    assert matches_tls_domain(("mail.protection.outlook.com",), "mail.protection.outlook.com")
    assert not matches_tls_domain(("a.b.contoso.com",), "contoso.com")
