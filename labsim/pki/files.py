"""A lab's PKI on disk, so that real tools (openssl, swaks, smtplib) can use it.

Layout under the lab folder::

    <Org>/root-ca.cer                  root certificate, PEM (import it into your own tools)
    <Org>/root-ca.key                  root key, PEM, mode 0600 (kept so the root survives restarts)
    <Org>/<SERVER>/<thumbprint>.pem    certificate followed by its chain
    <Org>/<SERVER>/<thumbprint>.key    private key, PEM, unencrypted, mode 0600

The root is cached: a lab started again on the same folder reuses it while it is valid, so a
user who imported it into their own tools keeps trusting the lab.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from labsim.errors import PkiError
from labsim.pki.ca import CertificateAuthority, create_root_ca
from labsim.pki.certificate import ExchangeCertificate
from labsim.pki.keys import KeyType, load_private_key_pem, private_key_pem

ROOT_CERTIFICATE_FILE = "root-ca.cer"
"""File name of an organization's root certificate."""

ROOT_KEY_FILE = "root-ca.key"
"""File name of an organization's root key."""


def _write_private(path: Path, data: bytes) -> None:
    # Create with 0600 from the start (no window where the key is world-readable), and fix the
    # mode of a file that already existed.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def _org_folder(folder: Path, org_name: str) -> Path:
    if not org_name or any(sep in org_name for sep in ("/", "\\")) or org_name in (".", ".."):
        raise PkiError(f"organization name {org_name!r} cannot be a folder name; use e.g. 'Adatum'")
    return Path(folder) / org_name


def write_root(folder: Path, org_name: str, ca: CertificateAuthority) -> Path:
    """Write ``ca``'s certificate as ``<folder>/<Org>/root-ca.cer`` (PEM); return the path."""
    target = _org_folder(folder, org_name)
    target.mkdir(parents=True, exist_ok=True)
    path = target / ROOT_CERTIFICATE_FILE
    path.write_bytes(ca.certificate.public_bytes(serialization.Encoding.PEM))
    return path


def write_server_certificates(
    folder: Path, org_name: str, server_name: str, certs: Iterable[ExchangeCertificate]
) -> tuple[Path, ...]:
    """Write each certificate (with chain) and its key under ``<folder>/<Org>/<SERVER>/``.

    Returns the paths of the ``.pem`` files; a key file is written only when the record has one.
    """
    target = _org_folder(folder, org_name) / server_name
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for cert in certs:
        pem_path = target / f"{cert.thumbprint}.pem"
        pem_path.write_bytes(cert.pem())
        if cert.private_key is not None:
            _write_private(target / f"{cert.thumbprint}.key", cert.key_pem())
        written.append(pem_path)
    return tuple(written)


def load_certificate_file(path: Path) -> x509.Certificate:
    """Load one certificate from ``path``, PEM or DER (Import-Certificate accepts both)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise PkiError(f"cannot read certificate file {path}: {err.strerror}") from err
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as err:
        raise PkiError(
            f"{path} is not a certificate in PEM or DER form ({err}); export it as .cer again"
        ) from err


def resolve_cert_path(folder: Path, user_path: str) -> Path:
    """Resolve a path typed by a user: ``\\`` or ``/`` separators, relative to ``folder``.

    Raises :class:`PkiError` naming the path when no such file exists.
    """
    cleaned = user_path.strip().strip('"').strip("'")
    if not cleaned:
        raise PkiError("empty certificate path; give a file name such as Adatum\\root-ca.cer")
    candidate = Path(cleaned.replace("\\", "/"))
    resolved = candidate if candidate.is_absolute() else Path(folder) / candidate
    if not resolved.is_file():
        raise PkiError(
            f"certificate file {user_path!r} was not found (looked for {resolved}); "
            f"give a path relative to the lab folder {folder} or an absolute path"
        )
    return resolved


def _reusable(ca_cert: x509.Certificate, common_name: str, at: datetime) -> bool:
    names = [str(a.value) for a in ca_cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return (
        names == [common_name] and ca_cert.not_valid_before_utc <= at <= ca_cert.not_valid_after_utc
    )


def load_or_create_root_ca(
    folder: Path,
    org_name: str,
    common_name: str,
    *,
    at: datetime,
    organization: str | None = None,
    valid_years: int = 10,
    crl_url: str | None = None,
    key_type: KeyType = KeyType.ECDSA_P256,
) -> CertificateAuthority:
    """Return the organization's root CA, reusing ``<Org>/root-ca.cer`` + ``.key`` when valid.

    The cached pair is reused when both files exist, the key belongs to the certificate, the CN is
    ``common_name`` and the certificate is valid at ``at``; otherwise a new root is created and
    both files are (over)written. ``organization`` defaults to ``org_name``.
    """
    target = _org_folder(folder, org_name)
    cert_path = target / ROOT_CERTIFICATE_FILE
    key_path = target / ROOT_KEY_FILE
    if cert_path.is_file() and key_path.is_file():
        try:
            certificate = load_certificate_file(cert_path)
            key = load_private_key_pem(key_path.read_bytes(), source=str(key_path))
        except (PkiError, OSError) as err:
            raise PkiError(
                f"the cached root CA of {org_name} in {target} cannot be read ({err}); delete "
                f"{ROOT_CERTIFICATE_FILE} and {ROOT_KEY_FILE} there so that labsim creates a new root"
            ) from err
        same_key = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ) == certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if same_key and _reusable(certificate, common_name, at):
            return CertificateAuthority(certificate, key, crl_distribution_point=crl_url)
    ca = create_root_ca(
        common_name,
        organization=organization if organization is not None else org_name,
        at=at,
        valid_years=valid_years,
        crl_url=crl_url,
        key_type=key_type,
    )
    write_root(folder, org_name, ca)
    _write_private(key_path, private_key_pem(ca.private_key))
    return ca
