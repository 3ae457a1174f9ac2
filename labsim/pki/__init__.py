"""PKI of the lab: CAs, certificates, stores, name rules, certificate selection and validation facts.

A pure layer: it imports ``cryptography``, ``service_identity`` and the standard library, never
Twisted or pyOpenSSL (the TLS handshake lives in ``labsim.engine.tls``). Time is always a
parameter (``at``), never read from a clock.
"""

from labsim.pki.ca import CertificateAuthority, create_root_ca
from labsim.pki.certificate import (
    CertificateStatus,
    ExchangeCertificate,
    serial_hex,
    thumbprint_of,
    windows_name,
)
from labsim.pki.files import (
    load_certificate_file,
    load_or_create_root_ca,
    resolve_cert_path,
    write_root,
    write_server_certificates,
)
from labsim.pki.keys import KeyType, PrivateKey, generate_private_key
from labsim.pki.names import certificate_names, matches_domain, matches_host
from labsim.pki.selection import (
    CertificateEvent,
    CertificateSelection,
    TlsCertificateName,
    select_starttls_certificate,
)
from labsim.pki.self_signed import exchange_default_certificate
from labsim.pki.store import CertificateStore
from labsim.pki.validation import (
    EMPTY_PEER,
    CertificateValidationStatus,
    PeerCertificate,
    has_eku,
    status_from_openssl_error,
)

__all__ = [
    "EMPTY_PEER",
    "CertificateAuthority",
    "CertificateEvent",
    "CertificateSelection",
    "CertificateStatus",
    "CertificateStore",
    "CertificateValidationStatus",
    "ExchangeCertificate",
    "KeyType",
    "PeerCertificate",
    "PrivateKey",
    "TlsCertificateName",
    "certificate_names",
    "create_root_ca",
    "exchange_default_certificate",
    "generate_private_key",
    "has_eku",
    "load_certificate_file",
    "load_or_create_root_ca",
    "matches_domain",
    "matches_host",
    "resolve_cert_path",
    "select_starttls_certificate",
    "serial_hex",
    "status_from_openssl_error",
    "thumbprint_of",
    "windows_name",
    "write_root",
    "write_server_certificates",
]
