"""When the sending side's verdict rests on revocation (``outbound_needs_revocation``): only a
session that judges the server certificate, and only when the certificate would pass without
revocation. Opportunistic TLS, the CAS proxying for a FrontendProxyEnabled connector (D2), a
name mismatch and a chain that fails on something else fetch no CRL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from labsim.engine.crl import outbound_needs_revocation
from labsim.model.enums import FidelityProfile, TlsAuthLevel
from labsim.pki import create_root_ca
from labsim.pki.validation import CertificateValidationStatus as Status
from labsim.pki.validation import PeerCertificate
from labsim.policy.domain_security import OutboundPolicy

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
DOMAIN = "treyresearch.net"

ROOT = create_root_ca("TreyResearch Root CA", organization="TreyResearch", at=AT)
MATCHING = ROOT.issue("mail.treyresearch.net", dns_names=("mail.treyresearch.net",), at=AT)
OTHER = ROOT.issue("mail.fabrikam.com", dns_names=("mail.fabrikam.com",), at=AT)

DOMAIN_SECURE = OutboundPolicy(
    next_hop_domain=DOMAIN,
    connector_name="To TreyResearch",
    domain_secure=True,
    connector_domain_secure_enabled=True,
    require_tls=False,
    tls_auth_level=None,
    tls_domain=None,
    ignore_starttls=False,
    force_helo=False,
    via_frontend_proxy=False,
    explanation="",
)
OPPORTUNISTIC = dataclasses.replace(DOMAIN_SECURE, domain_secure=False)
PROXIED = dataclasses.replace(OPPORTUNISTIC, via_frontend_proxy=True)
FORCED = dataclasses.replace(
    OPPORTUNISTIC, require_tls=True, tls_auth_level=TlsAuthLevel.CERTIFICATE_VALIDATION
)
ENCRYPTION_ONLY = dataclasses.replace(FORCED, tls_auth_level=TlsAuthLevel.ENCRYPTION_ONLY)
NOT_ENABLED = dataclasses.replace(DOMAIN_SECURE, connector_domain_secure_enabled=False)


def peer(certificate: object, status: Status) -> PeerCertificate:
    return PeerCertificate((certificate.certificate, ROOT.certificate), status)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("policy", "presented", "needed"),
    [
        (DOMAIN_SECURE, peer(MATCHING, Status.VALID), True),
        (FORCED, peer(OTHER, Status.VALID), True),  # CertificateValidation: no name check
        (DOMAIN_SECURE, peer(OTHER, Status.VALID), False),  # SubjectMismatch decides
        (DOMAIN_SECURE, peer(MATCHING, Status.UNTRUSTED_ROOT), False),
        (DOMAIN_SECURE, peer(MATCHING, Status.CERTIFICATE_EXPIRED), False),
        (NOT_ENABLED, peer(MATCHING, Status.VALID), False),  # 451 4.7.3 decides
        (OPPORTUNISTIC, peer(MATCHING, Status.VALID), False),
        (PROXIED, peer(MATCHING, Status.VALID), False),
        (ENCRYPTION_ONLY, peer(MATCHING, Status.VALID), False),
        (None, peer(MATCHING, Status.VALID), False),
    ],
)
def test_revocation_is_needed_only_where_the_verdict_rests_on_it(
    policy: OutboundPolicy | None, presented: PeerCertificate, needed: bool
) -> None:
    for profile in FidelityProfile:
        rule = outbound_needs_revocation(policy, domain=DOMAIN, profile=profile)
        assert rule(presented) is needed
