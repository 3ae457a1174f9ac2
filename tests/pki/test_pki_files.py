"""Writing a lab's PKI to disk, loading certificates, resolving user paths, root reuse."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from labsim.errors import PkiError
from labsim.pki import (
    create_root_ca,
    load_certificate_file,
    load_or_create_root_ca,
    resolve_cert_path,
    write_root,
    write_server_certificates,
)

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_write_root_and_server_certificates(tmp_path: Path) -> None:
    root = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    sub = root.issue_intermediate("Adatum Issuing CA", at=AT)
    cert = sub.issue("mail.adatum.com", at=AT)
    root_path = write_root(tmp_path, "Adatum", root)
    assert root_path == tmp_path / "Adatum" / "root-ca.cer"
    assert load_certificate_file(root_path) == root.certificate
    (pem_path,) = write_server_certificates(tmp_path, "Adatum", "ADATUM-CAS1", [cert])
    assert pem_path == tmp_path / "Adatum" / "ADATUM-CAS1" / f"{cert.thumbprint}.pem"
    assert x509.load_pem_x509_certificates(pem_path.read_bytes()) == [
        cert.certificate,
        sub.certificate,
    ]
    key_path = pem_path.with_suffix(".key")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_path.read_bytes() == cert.key_pem()


def test_load_pem_and_der(tmp_path: Path) -> None:
    root = create_root_ca("Adatum Root CA", organization="Adatum", at=AT)
    der = tmp_path / "root.der.cer"
    der.write_bytes(root.certificate.public_bytes(serialization.Encoding.DER))
    pem = tmp_path / "root.pem.cer"
    pem.write_bytes(root.certificate.public_bytes(serialization.Encoding.PEM))
    assert load_certificate_file(der) == root.certificate
    assert load_certificate_file(pem) == root.certificate
    junk = tmp_path / "junk.cer"
    junk.write_bytes(b"not a certificate")
    with pytest.raises(PkiError, match="junk.cer"):
        load_certificate_file(junk)


def test_resolve_cert_path_accepts_backslashes(tmp_path: Path) -> None:
    target = tmp_path / "Adatum" / "root-ca.cer"
    target.parent.mkdir()
    target.write_bytes(b"x")
    assert resolve_cert_path(tmp_path, "Adatum\\root-ca.cer") == target
    assert resolve_cert_path(tmp_path, "Adatum/root-ca.cer") == target
    assert resolve_cert_path(tmp_path, str(target)) == target
    with pytest.raises(PkiError, match=r"Trey\\\\root-ca.cer"):
        resolve_cert_path(tmp_path, "Trey\\root-ca.cer")


def test_root_is_reused_on_the_same_folder(tmp_path: Path) -> None:
    first = load_or_create_root_ca(tmp_path, "Adatum", "Adatum Root CA", at=AT)
    key_path = tmp_path / "Adatum" / "root-ca.key"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    again = load_or_create_root_ca(tmp_path, "Adatum", "Adatum Root CA", at=AT + timedelta(days=30))
    assert again.certificate == first.certificate
    assert again.subject == "CN=Adatum Root CA, O=Adatum"
    # The reused CA still issues certificates that chain to the saved root.
    again.issue("mail.adatum.com", at=AT).certificate.verify_directly_issued_by(first.certificate)
    # Past its validity, or under another name, a new root replaces the cache.
    later = load_or_create_root_ca(
        tmp_path, "Adatum", "Adatum Root CA", at=AT + timedelta(days=3700)
    )
    assert later.certificate != first.certificate
    renamed = load_or_create_root_ca(tmp_path, "Adatum", "Adatum Root CA 2", at=AT)
    assert renamed.name == "Adatum Root CA 2"
    assert load_certificate_file(tmp_path / "Adatum" / "root-ca.cer") == renamed.certificate


def test_corrupt_cached_root_names_the_fix(tmp_path: Path) -> None:
    load_or_create_root_ca(tmp_path, "Adatum", "Adatum Root CA", at=AT)
    (tmp_path / "Adatum" / "root-ca.key").write_bytes(b"garbage")
    with pytest.raises(PkiError, match="delete root-ca.cer and root-ca.key"):
        load_or_create_root_ca(tmp_path, "Adatum", "Adatum Root CA", at=AT)
