"""Import-Certificate reads every certificate of a file (PEM bundle, DER, PKCS #7) and lists
each one it imported, one row per certificate; a PEM bundle gets a labsim note, because Windows
would import only its first certificate (docs/fidelity.md)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.inputfiles import CERTIFICATE_FILE_LIMIT
from labsim.pki.ca import create_root_ca
from labsim.pki.certificate import thumbprint_of

ROOT_STORE = "-CertStoreLocation Cert:\\LocalMachine\\Root"


def roots(*names: str) -> list[x509.Certificate]:
    at = datetime.now(UTC)
    return [create_root_ca(n, organization="Fabrikam", at=at).certificate for n in names]


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def imported_rows(output: str) -> list[list[str]]:
    """The Thumbprint / Subject rows of Import-Certificate's table."""
    return [line.split(None, 1) for line in output.splitlines() if line[:40].isalnum()]


def trusted_everywhere(host: FakeHost, certificate: x509.Certificate) -> bool:
    return all(
        host.certificate_store(s).is_trusted_root(certificate)
        for s in ("ADATUM-CAS1", "ADATUM-MBX1")
    )


def test_a_pem_file_with_two_certificates_imports_both(
    adatum: Shell, host: FakeHost, tmp_path: Path
) -> None:
    first, second = roots("Fabrikam Root CA", "Fabrikam Root CA 2")
    # Text around the blocks (as openssl writes it) and a key block are skipped.
    (tmp_path / "roots.pem").write_bytes(
        b"Fabrikam roots\n" + pem(first) + b"\n" + pem(second) + b"-----BEGIN PRIVATE KEY-----\n"
        b"AAAA\n-----END PRIVATE KEY-----\n"
    )

    result = adatum.run(f"Import-Certificate -FilePath {tmp_path / 'roots.pem'} {ROOT_STORE}")

    assert result.ok, result.error
    assert imported_rows(result.output) == [
        [thumbprint_of(first), "CN=Fabrikam Root CA, O=Fabrikam"],
        [thumbprint_of(second), "CN=Fabrikam Root CA 2, O=Fabrikam"],
    ]
    assert trusted_everywhere(host, first) and trusted_everywhere(host, second)
    assert result.output.splitlines()[-1] == (
        f"labsim note: {tmp_path / 'roots.pem'} holds 2 certificates in PEM form; labsim "
        "imported each of them, but Windows' Import-Certificate imports only the first "
        "certificate of a PEM file. On the real server import each root from a file of its "
        "own, or all of them from one PKCS #7 (.p7b) file."
    )


@pytest.mark.parametrize("encoding", [serialization.Encoding.DER, serialization.Encoding.PEM])
def test_a_pkcs7_file_imports_every_certificate_without_a_note(
    adatum: Shell, host: FakeHost, tmp_path: Path, encoding: serialization.Encoding
) -> None:
    certificates = roots("Fabrikam Old Root", "Fabrikam New Root", "Fabrikam Next Root")
    (tmp_path / "roots.p7b").write_bytes(pkcs7.serialize_certificates(certificates, encoding))

    result = adatum.run(f"Import-Certificate -FilePath {tmp_path / 'roots.p7b'} {ROOT_STORE}")

    assert result.ok, result.error
    # A PKCS #7 SET OF is stored in DER order, not in the order the certificates were given.
    assert sorted(row[0] for row in imported_rows(result.output)) == sorted(
        thumbprint_of(c) for c in certificates
    )
    assert all(trusted_everywhere(host, c) for c in certificates)
    assert "labsim note" not in result.output


def test_a_der_certificate_imports_one(adatum: Shell, host: FakeHost, tmp_path: Path) -> None:
    (root,) = roots("Fabrikam Root CA")
    (tmp_path / "root.cer").write_bytes(root.public_bytes(serialization.Encoding.DER))

    result = adatum.run(f"Import-Certificate -FilePath {tmp_path / 'root.cer'} {ROOT_STORE}")

    assert result.ok, result.error
    assert imported_rows(result.output) == [
        [thumbprint_of(root), "CN=Fabrikam Root CA, O=Fabrikam"]
    ]
    assert "labsim note" not in result.output


def test_a_file_without_a_certificate_is_refused(adatum: Shell, tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_bytes(
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )

    result = adatum.run(f"Import-Certificate -FilePath {tmp_path / 'key.pem'} {ROOT_STORE}")

    assert result.error is not None
    assert "holds no CERTIFICATE block (a key or a request?)" in str(result.error)
    assert "(-FilePath)" in str(result.error)


def test_a_file_that_is_not_a_regular_file_is_refused_without_reading_it(
    adatum: Shell, tmp_path: Path
) -> None:
    # A FIFO used to block the shell until a writer came; /dev/zero used to be read forever.
    fifo = tmp_path / "root.cer"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO (named pipe)"), (Path("/dev/zero"), "a device")):
        result = adatum.run(f"Import-Certificate -FilePath {path} {ROOT_STORE}")
        assert result.error is not None
        assert f"certificate file {path} is {kind}, not a regular file" in str(result.error)


def test_a_file_over_the_size_limit_is_refused(adatum: Shell, tmp_path: Path) -> None:
    big = tmp_path / "big.pem"
    big.write_bytes(b"#" * (CERTIFICATE_FILE_LIMIT + 1))
    result = adatum.run(f"Import-Certificate -FilePath {big} {ROOT_STORE}")
    assert result.error is not None
    assert f"certificate file {big} is larger than 1 MB, labsim's limit" in str(result.error)
