"""The self-signed certificate Exchange setup creates on every server ("Microsoft Exchange").

Setup gives each Exchange 2013 server a self-signed certificate with Subject ``CN=<SERVERNAME>``,
SANs ``<SERVERNAME>`` and ``<fqdn>``, valid five years, enabled for IMAP, POP, IIS and SMTP.
Because it is self-signed, a Domain Security peer sees ``ValidSelfSigned`` (not ``Valid``) and
fails the session; scenarios use it to show exactly that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsim.errors import PkiError
from labsim.pki.ca import CLOCK_SKEW, leaf_key_usage
from labsim.pki.certificate import ExchangeCertificate
from labsim.pki.keys import KeyType, generate_private_key, signature_hash

DEFAULT_FRIENDLY_NAME = "Microsoft Exchange"
"""Friendly name of the certificate Exchange setup creates."""

DEFAULT_SERVICES = frozenset({"IMAP", "POP", "IIS", "SMTP"})
"""Services setup enables on its self-signed certificate."""


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
    key = generate_private_key(key_type)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)])
    not_before = at - CLOCK_SKEW
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=365 * valid_years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(leaf_key_usage(key), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(server_name), x509.DNSName(fqdn)]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, signature_hash())
    )
    return ExchangeCertificate(
        certificate=certificate,
        private_key=key,
        chain=(),
        services=DEFAULT_SERVICES,
        friendly_name=DEFAULT_FRIENDLY_NAME,
    )
