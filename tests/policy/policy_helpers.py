"""Builders shared by the policy tests: a small Adatum/TreyResearch world and peer records.

Certificates are real X.509 certificates from ``labsim.pki``; the chain *status* is given
directly, because validating chains is the engine's job (OpenSSL) and the policy layer only
judges the status it is handed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import cache
from typing import Any

from labsim.model.connectors import ReceiveConnector, SendConnector
from labsim.model.enums import (
    AuthMechanism,
    PermissionGroup,
    ServerRole,
    TransportRole,
)
from labsim.model.organization import AcceptedDomain, Mailbox, Organization, Server
from labsim.model.transport import TransportConfig
from labsim.model.values import AddressSpace, Binding, IPRange
from labsim.pki import create_root_ca
from labsim.pki.ca import CertificateAuthority
from labsim.pki.validation import CertificateValidationStatus, PeerCertificate

NOW = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
G = PermissionGroup


@cache
def trey_ca() -> CertificateAuthority:
    """TreyResearch's root CA (one per test session: key generation is not free)."""
    return create_root_ca("TreyResearch Root CA", organization="TreyResearch", at=NOW)


@cache
def _cert(common_name: str, dns_names: tuple[str, ...]) -> PeerCertificate:
    issued = trey_ca().issue(common_name, at=NOW, dns_names=dns_names)
    return PeerCertificate(chain=(issued.certificate,), status=CertificateValidationStatus.VALID)


def peer(
    common_name: str = "mail.treyresearch.net",
    *dns_names: str,
    status: CertificateValidationStatus = CertificateValidationStatus.VALID,
) -> PeerCertificate:
    """A peer certificate with CN ``common_name``, SANs ``dns_names`` and chain ``status``.

    With no SANs given the default lab's names are used (FQDN + accepted domain).
    """
    names = dns_names if dns_names else (common_name, "treyresearch.net")
    return replace(_cert(common_name, tuple(names)), status=status)


def adatum_peer(
    status: CertificateValidationStatus = CertificateValidationStatus.VALID,
) -> PeerCertificate:
    """Adatum's CAS certificate (names mail.adatum.com and adatum.com)."""
    return peer("mail.adatum.com", "mail.adatum.com", "adatum.com", status=status)


def partner_connector(**changes: Any) -> ReceiveConnector:
    """A Partner-type receive connector on TREY-CAS1 for Adatum's address."""
    base = ReceiveConnector(
        name="From Adatum",
        server="TREY-CAS1",
        transport_role=TransportRole.FRONTEND_TRANSPORT,
        bindings=(Binding("0.0.0.0", 25),),
        remote_ip_ranges=(IPRange.parse("127.0.10.1"),),
        auth_mechanism=frozenset({AuthMechanism.TLS}),
        permission_groups=frozenset({G.PARTNERS}),
        domain_secure_enabled=True,
    )
    return replace(base, **changes)


def default_frontend(**changes: Any) -> ReceiveConnector:
    """TREY-CAS1's ``Default Frontend`` connector (no Partners group, docs/exchange-reference.md §3.6)."""
    base = ReceiveConnector(
        name="Default Frontend TREY-CAS1",
        server="TREY-CAS1",
        transport_role=TransportRole.FRONTEND_TRANSPORT,
        bindings=(Binding("0.0.0.0", 25),),
        auth_mechanism=frozenset(
            {
                AuthMechanism.TLS,
                AuthMechanism.BASIC_AUTH,
                AuthMechanism.BASIC_AUTH_REQUIRE_TLS,
                AuthMechanism.EXCHANGE_SERVER,
                AuthMechanism.INTEGRATED,
            }
        ),
        permission_groups=frozenset(
            {G.ANONYMOUS_USERS, G.EXCHANGE_LEGACY_SERVERS, G.EXCHANGE_SERVERS}
        ),
    )
    return replace(base, **changes)


def send_connector(name: str = "To TreyResearch", *spaces: str, **changes: Any) -> SendConnector:
    """A send connector sourced by ADATUM-MBX1 with the given address spaces."""
    base = SendConnector(
        name=name,
        address_spaces=tuple(AddressSpace.parse(s) for s in (spaces or ("treyresearch.net",))),
        source_transport_servers=("ADATUM-MBX1",),
        domain_secure_enabled=True,
    )
    return replace(base, **changes)


def adatum(
    *connectors: SendConnector,
    send_list: tuple[str, ...] = ("treyresearch.net",),
    receive_list: tuple[str, ...] = ("treyresearch.net",),
) -> Organization:
    """Adatum with its two servers, three mailboxes and the given send connectors."""
    return Organization(
        name="Adatum",
        accepted_domains=(AcceptedDomain("adatum.com", default=True),),
        servers=(
            Server("ADATUM-CAS1", "mail.adatum.com", ServerRole.CLIENT_ACCESS, "127.0.10.1"),
            Server("ADATUM-MBX1", "adatum-mbx1.adatum.com", ServerRole.MAILBOX, "127.0.10.2"),
            Server("ADATUM-MBX2", "adatum-mbx2.adatum.com", ServerRole.MAILBOX, "127.0.10.3"),
        ),
        mailboxes=(
            Mailbox("administrator@adatum.com", "Administrator"),
            Mailbox("april@adatum.com", "April"),
            Mailbox("ed@adatum.com", "Ed"),
        ),
        transport_config=TransportConfig(
            tls_send_domain_secure_list=send_list, tls_receive_domain_secure_list=receive_list
        ),
        send_connectors=connectors,
    )


TREY_CONFIG = TransportConfig(
    tls_send_domain_secure_list=("adatum.com",), tls_receive_domain_secure_list=("adatum.com",)
)
"""TreyResearch's transport config with Adatum in both lists."""
