"""The self-signed certificate Exchange setup creates on every server ("Microsoft Exchange").

Setup gives each Exchange 2013 server a self-signed certificate with Subject ``CN=<SERVERNAME>``,
SANs ``<SERVERNAME>`` and ``<fqdn>``, valid five years, enabled for IMAP, POP, IIS and SMTP.
Because it is self-signed, a Domain Security peer sees ``ValidSelfSigned`` (not ``Valid``) and
fails the session; scenarios use it to show exactly that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import NameOID

from labsim.errors import PkiError
from labsim.limits import date_problem, name_length_problem
from labsim.pki.ca import CLOCK_SKEW, eku_extension, leaf_key_usage
from labsim.pki.certificate import ExchangeCertificate
from labsim.pki.keys import KeyType, generate_private_key, signature_hash

DEFAULT_FRIENDLY_NAME = "Microsoft Exchange"
"""Friendly name of the certificate Exchange setup creates."""

DEFAULT_SERVICES = frozenset({"IMAP", "POP", "IIS", "SMTP"})
"""Services setup enables on its self-signed certificate."""


def self_signed_certificate(
    common_name: str,
    dns_names: tuple[str, ...],
    *,
    not_before: datetime,
    not_after: datetime,
    eku: tuple[str, ...] = ("serverAuth",),
    services: frozenset[str] = frozenset({"SMTP"}),
    friendly_name: str = DEFAULT_FRIENDLY_NAME,
    key_type: KeyType = KeyType.ECDSA_P256,
) -> ExchangeCertificate:
    """A self-signed certificate (issuer == subject ``CN=<common_name>``) with the given SANs.

    ``eku`` empty means no EKU extension. New-ExchangeCertificate and New-LabCertificate -Issuer
    self make these; Exchange setup's default certificate is one of them.
    """
    if not common_name.strip():
        raise PkiError("a self-signed certificate needs a common name, e.g. mail.adatum.com")
    if not_before.tzinfo is None or not_after.tzinfo is None:
        raise PkiError("not_before/not_after have no time zone; pass aware UTC datetimes")
    too_early = date_problem(not_before)
    if too_early is not None:
        raise PkiError(f"certificate CN={common_name}: {too_early}")
    problem = name_length_problem(common_name)
    if problem is not None:
        raise PkiError(problem)
    key = generate_private_key(key_type)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(key), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False
        )
    usage = eku_extension(eku)
    if usage is not None:
        builder = builder.add_extension(usage, critical=False)
    return ExchangeCertificate(
        certificate=builder.sign(key, signature_hash()),
        private_key=key,
        chain=(),
        services=services,
        friendly_name=friendly_name,
    )


def exchange_default_certificate(
    server_name: str,
    fqdn: str,
    *,
    at: datetime,
    valid_years: int = 5,
    key_type: KeyType = KeyType.ECDSA_P256,
) -> ExchangeCertificate:
    """Return the self-signed default certificate of server ``server_name`` (``fqdn``) at ``at``."""
    if not server_name.strip() or not fqdn.strip():
        raise PkiError(
            f"self-signed certificate needs a server name and an FQDN (got {server_name!r}, "
            f"{fqdn!r}); give e.g. 'ADATUM-CAS1' and 'adatum-cas1.adatum.com'"
        )
    if at.tzinfo is None:
        raise PkiError(f"at {at.isoformat()} has no time zone; pass an aware UTC datetime")
    not_before = at - CLOCK_SKEW
    return self_signed_certificate(
        server_name,
        (server_name, fqdn),
        not_before=not_before,
        not_after=not_before + timedelta(days=365 * valid_years),
        eku=("serverAuth",),
        services=DEFAULT_SERVICES,
        key_type=key_type,
    )
