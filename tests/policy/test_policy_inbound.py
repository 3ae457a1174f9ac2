"""The MAIL FROM domain security check (docs/exchange-reference.md §5.3, D5, D11), recipients and sizes."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from policy_helpers import (
    TREY_CONFIG,
    adatum,
    adatum_peer,
    default_frontend,
    partner_connector,
    peer,
)

from labsim.model.connectors import ReceiveConnector
from labsim.model.enums import FidelityProfile, Permission
from labsim.model.values import ByteSize
from labsim.pki.validation import EMPTY_PEER, CertificateValidationStatus, PeerCertificate
from labsim.policy.domain_security import check_mail_from, check_recipient, check_size
from labsim.policy.permissions import SessionIdentity

S = CertificateValidationStatus
E13 = FidelityProfile.EXCHANGE2013
E10 = FidelityProfile.EXCHANGE2010
ANON = SessionIdentity.ANONYMOUS
PARTNER = SessionIdentity.PARTNER


@dataclass(frozen=True)
class Case:
    """One row of the §5.3 table."""

    id: str
    reply: str | None
    event: int | None
    identity: SessionIdentity
    status: CertificateValidationStatus | None = None
    connector: ReceiveConnector | None = None
    sender_domain: str = "adatum.com"
    tls_active: bool = True
    starttls_offered: bool = True
    peer: PeerCertificate | None = field(default_factory=adatum_peer)
    start_identity: SessionIdentity = ANON
    profile: FidelityProfile = E13
    explains: str = ""


CASES = [
    Case(
        "listed-connector-not-domain-secure",
        "451 4.7.3 The admin has temporarily disallowed this secure domain",
        11021,
        ANON,
        connector=partner_connector(domain_secure_enabled=False),
        peer=adatum_peer(),
        explains="lacks DomainSecureEnabled",
    ),
    Case(
        "listed-tls-offered-not-started",
        "530 5.7.1 Not authenticated",
        11012,
        ANON,
        tls_active=False,
        explains="STARTTLS was offered but TLS was not started",
    ),
    Case(
        "listed-tls-not-advertised",
        "454 4.7.0 Temporary authentication failure",
        11018,
        ANON,
        tls_active=False,
        starttls_offered=False,
        explains="does not offer STARTTLS",
    ),
    Case(
        "listed-no-client-certificate",
        "530 5.7.1 Not authenticated",
        11017,
        ANON,
        S.EMPTY_CERTIFICATE,
        peer=None,
        explains="EmptyCertificate",
    ),
    Case(
        "listed-empty-certificate-record",
        "530 5.7.1 Not authenticated",
        11017,
        ANON,
        S.EMPTY_CERTIFICATE,
        peer=EMPTY_PEER,
    ),
    Case(
        "listed-subject-mismatch",
        "454 4.7.5 Certificate validation failure",
        11015,
        ANON,
        S.SUBJECT_MISMATCH,
        # TreyResearch's own certificate offered for an adatum.com sender.
        peer=peer(),
        explains="do not match adatum.com",
    ),
    Case(
        "listed-subject-mismatch-before-chain",
        "454 4.7.5 Certificate validation failure",
        11015,
        ANON,
        S.SUBJECT_MISMATCH,
        peer=peer(status=S.UNTRUSTED_ROOT),
    ),
    Case(
        "listed-two-labels-below-does-not-match",
        "454 4.7.5 Certificate validation failure",
        11015,
        ANON,
        S.SUBJECT_MISMATCH,
        peer=peer("a.b.adatum.com", "a.b.adatum.com"),
    ),
    Case(
        "listed-untrusted-root",
        "454 4.7.5 Certificate validation failure",
        11011,
        ANON,
        S.UNTRUSTED_ROOT,
        peer=adatum_peer(S.UNTRUSTED_ROOT),
        explains="chain status UntrustedRoot",
    ),
    Case(
        "listed-self-signed",
        "454 4.7.5 Certificate validation failure",
        11011,
        ANON,
        S.VALID_SELF_SIGNED,
        peer=adatum_peer(S.VALID_SELF_SIGNED),
    ),
    Case(
        "listed-revoked-2013",
        "454 4.7.5 Certificate validation failure",
        11011,
        ANON,
        S.REVOKED,
        peer=adatum_peer(S.REVOKED),
    ),
    Case(
        "listed-revocation-offline-2010",
        "454 4.7.5 Certificate validation failure",
        11011,
        ANON,
        S.REVOCATION_OFFLINE,
        peer=adatum_peer(S.REVOCATION_OFFLINE),
        profile=E10,
        explains="fails under profile exchange2010",
    ),
    Case(
        "listed-revocation-offline-2013-tolerated",
        None,
        11026,
        PARTNER,
        S.VALID,
        peer=adatum_peer(S.REVOCATION_OFFLINE),
        explains="tolerated under profile exchange2013",
    ),
    Case(
        "listed-valid-partner",
        None,
        None,
        PARTNER,
        S.VALID,
        peer=adatum_peer(),
        explains="session identity Partner",
    ),
    Case(
        "listed-valid-case-insensitive",
        None,
        None,
        PARTNER,
        S.VALID,
        sender_domain="Adatum.COM",
        peer=adatum_peer(),
    ),
    Case(
        "listed-valid-but-no-partners-group-D11",
        "550 5.7.1 Client does not have permissions to submit to this server",
        None,
        PARTNER,
        S.VALID,
        connector=default_frontend(domain_secure_enabled=True),
        peer=adatum_peer(),
        explains="labsim decision D11 (docs/exchange-reference.md)",
    ),
    Case(
        "not-listed-valid-certificate-stays-anonymous",
        None,
        None,
        ANON,
        sender_domain="fabrikam.com",
        connector=default_frontend(),
        peer=peer("mail.fabrikam.com", "fabrikam.com"),
        explains="not in TLSReceiveDomainSecureList",
    ),
    Case(
        "not-listed-no-anonymous-group",
        "530 5.7.1 Client was not authenticated",
        None,
        ANON,
        sender_domain="fabrikam.com",
        explains="lacks SMTPSubmit",
    ),
    Case(
        "null-sender-not-listed",
        None,
        None,
        ANON,
        sender_domain="",
        connector=default_frontend(),
    ),
    Case(
        "partner-from-previous-message-reset",
        None,
        None,
        ANON,
        sender_domain="fabrikam.com",
        connector=default_frontend(),
        start_identity=PARTNER,
        explains="reset to Anonymous",
    ),
    Case(
        "partner-reset-then-checked-again",
        "530 5.7.1 Not authenticated",
        11012,
        ANON,
        tls_active=False,
        start_identity=PARTNER,
    ),
    Case(
        "exchange-server-bypasses-check",
        None,
        None,
        SessionIdentity.EXCHANGE_SERVER,
        connector=default_frontend(),
        tls_active=False,
        start_identity=SessionIdentity.EXCHANGE_SERVER,
        explains="no domain check",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_check_mail_from(case: Case) -> None:
    decision = check_mail_from(
        config=TREY_CONFIG,
        connector=case.connector or partner_connector(),
        sender_domain=case.sender_domain,
        tls_active=case.tls_active,
        starttls_offered=case.starttls_offered,
        peer=case.peer,
        identity=case.start_identity,
        profile=case.profile,
    )
    assert (str(decision.reply) if decision.reply else None) == case.reply
    assert (decision.event.event_id if decision.event else None) == case.event
    assert decision.identity is case.identity
    assert decision.status is case.status
    assert decision.explanation.startswith("docs/exchange-reference.md §5.3")
    assert case.explains in decision.explanation
    assert decision.accepted is (case.reply is None)


def test_partner_success_sets_permissions_auth_domain_and_log_line() -> None:
    decision = check_mail_from(
        config=TREY_CONFIG,
        connector=partner_connector(),
        sender_domain="adatum.com",
        tls_active=True,
        starttls_offered=True,
        peer=adatum_peer(),
        identity=ANON,
        profile=E13,
    )
    assert decision.permissions == {Permission.SMTP_SUBMIT, Permission.ACCEPT_ROUTING_HEADERS}
    assert decision.auth_domain == "adatum.com"
    assert [(n.data, n.context) for n in decision.log_notes] == [
        ("SMTPSubmit AcceptRoutingHeaders", "Set Session Permissions")
    ]


def test_revocation_offline_2013_is_logged() -> None:
    decision = check_mail_from(
        config=TREY_CONFIG,
        connector=partner_connector(),
        sender_domain="adatum.com",
        tls_active=True,
        starttls_offered=True,
        peer=adatum_peer(S.REVOCATION_OFFLINE),
        identity=ANON,
        profile=E13,
    )
    assert decision.log_notes[0].context == (
        "CRL validation failed with status RevocationOffline. Treating the failure as success."
    )


def test_anonymous_permissions_on_default_frontend() -> None:
    decision = check_mail_from(
        config=TREY_CONFIG,
        connector=default_frontend(),
        sender_domain="fabrikam.com",
        tls_active=False,
        starttls_offered=True,
        peer=None,
        identity=ANON,
        profile=E13,
    )
    assert decision.permissions == {
        Permission.SMTP_SUBMIT,
        Permission.SMTP_ACCEPT_ANY_SENDER,
        Permission.SMTP_ACCEPT_AUTHORITATIVE_DOMAIN_SENDER,
        Permission.ACCEPT_ROUTING_HEADERS,
    }


# --- RCPT TO and size -----------------------------------------------------------------------

PARTNER_PERMS = frozenset({Permission.SMTP_SUBMIT, Permission.ACCEPT_ROUTING_HEADERS})


@pytest.mark.parametrize(
    ("recipient", "permissions", "resolve", "expected"),
    [
        ("april@adatum.com", PARTNER_PERMS, True, None),
        ("April@ADATUM.com", PARTNER_PERMS, True, None),
        (
            "nobody@adatum.com",
            PARTNER_PERMS,
            True,
            "550 5.1.1 RESOLVER.ADR.RecipNotFound; not found",
        ),
        ("nobody@adatum.com", PARTNER_PERMS, False, None),
        (
            "ben@treyresearch.net",
            PARTNER_PERMS,
            True,
            "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
        ),
        (
            "ben@treyresearch.net",
            PARTNER_PERMS | {Permission.SMTP_ACCEPT_ANY_RECIPIENT},
            True,
            None,
        ),
    ],
)
def test_check_recipient(
    recipient: str, permissions: frozenset[Permission], resolve: bool, expected: str | None
) -> None:
    reply = check_recipient(
        adatum(), recipient=recipient, permissions=permissions, resolve_recipients=resolve
    )
    assert (str(reply) if reply else None) == expected


def test_check_size() -> None:
    connector_limit = ByteSize.mb(36)
    org_limit = ByteSize.mb(10)
    assert check_size(10 * 1024 * 1024, connector_limit, org_limit) is None
    over = check_size(10 * 1024 * 1024 + 1, connector_limit, org_limit)
    assert str(over) == "552 5.3.4 Message size exceeds fixed maximum message size"
    assert check_size(10**9, ByteSize(None)) is None
    assert check_size(10**9, org_limit, bypass=True) is None
