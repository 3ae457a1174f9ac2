"""Certificate files as Import-Certificate reads them: one certificate or several.

A file holds certificates in one of three forms: PEM (one or more ``CERTIFICATE`` blocks; other
blocks such as a private key are skipped), DER (exactly one certificate), or PKCS #7 (a
``.p7b``, DER or PEM, holding any number). Every certificate of the file is returned, never
only the first: a partner that hands over two roots in one file must not find one of them
silently missing. What Windows does with each form differs (docs/fidelity.md), and
:attr:`CertificateFile.windows_imports_all` says it: Import-Certificate takes every certificate
of a PKCS #7 file but only the first of a PEM file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from labsim.errors import PkiError
from labsim.inputfiles import CERTIFICATE_FILE_LIMIT, InputFileError, read_input_file
from labsim.pki.certificate import ExchangeCertificate

__all__ = ["CertificateFile", "FileForm", "parse_certificate_file", "read_certificate_file"]


class FileForm(enum.Enum):
    """How the certificates of a file are encoded."""

    PEM = "PEM"
    DER = "DER"
    PKCS7 = "PKCS #7"


@dataclass(frozen=True)
class CertificateFile:
    """The certificates of one file, in file order, and the form they came in."""

    certificates: tuple[x509.Certificate, ...]
    form: FileForm

    @property
    def windows_imports_all(self) -> bool:
        """Whether Windows' Import-Certificate would import every certificate of this file.

        CryptoAPI opens a PKCS #7 message as a store of all its certificates (the usual way to
        hand over several roots, e.g. a ``.p7b``), but decodes only the first block of a PEM
        file: Microsoft's Import-Certificate page says that outside a store format only the
        first certificate of a file is imported.
        """
        return self.form is FileForm.PKCS7 or len(self.certificates) == 1


def parse_certificate_file(data: bytes, source: str) -> CertificateFile:
    """The certificates in ``data`` (the contents of ``source``, named in messages)."""
    fix = "export the root CA certificate again as Base64 (.cer, PEM), DER or PKCS #7 (.p7b)"
    if b"-----BEGIN PKCS7-----" in data:
        try:
            found = tuple(pkcs7.load_pem_pkcs7_certificates(data))
        except ValueError as err:
            raise PkiError(f"{source} holds a damaged PKCS #7 block ({err}); {fix}") from None
        return _checked(found, FileForm.PKCS7, source, fix)
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise PkiError(f"{source} holds no CERTIFICATE block (a key or a request?); {fix}")
        try:
            found = tuple(x509.load_pem_x509_certificates(data))
        except ValueError as err:
            raise PkiError(f"{source} holds a damaged PEM certificate ({err}); {fix}") from None
        return _checked(found, FileForm.PEM, source, fix)
    try:
        return CertificateFile((x509.load_der_x509_certificate(data),), FileForm.DER)
    except ValueError:
        pass
    try:
        found = tuple(pkcs7.load_der_pkcs7_certificates(data))
    except ValueError:
        raise PkiError(
            f"{source} is not a certificate in PEM, DER or PKCS #7 form; {fix}"
        ) from None
    return _checked(found, FileForm.PKCS7, source, fix)


def read_certificate_file(path: Path) -> CertificateFile:
    """The certificates in the file at ``path``."""
    try:
        data = read_input_file(Path(path), CERTIFICATE_FILE_LIMIT)
    except InputFileError as err:
        raise PkiError(f"certificate file {path} {err}") from None
    except OSError as err:
        raise PkiError(f"cannot read certificate file {path}: {err.strerror or err}") from err
    return parse_certificate_file(data, str(path))


def _checked(
    found: tuple[x509.Certificate, ...], form: FileForm, source: str, fix: str
) -> CertificateFile:
    if not found:
        raise PkiError(f"{source} holds no certificate; {fix}")
    return CertificateFile(found, form)


def write_issued_certificate(
    path: Path,
    certificate: x509.Certificate,
    chain: tuple[x509.Certificate, ...],
    *,
    binary: bool = False,
) -> None:
    """Write what a CA hands back for a request, by the file's extension: ``.p7b`` a PKCS #7
    (DER) with the certificate and ``chain``, ``.der`` the certificate in DER, anything else
    (``.cer``, ``.crt``, ``.pem``) the certificate in Base64 with CRLF lines, as certreq writes it;
    ``binary`` DER whatever the extension (but ``.p7b``). Creates the folder. Raises OSError when it cannot be written."""
    from cryptography.hazmat.primitives import serialization

    suffix = path.suffix.lower()
    if binary and suffix != ".p7b":
        data = certificate.public_bytes(serialization.Encoding.DER)
    elif suffix == ".p7b":
        data = pkcs7.serialize_certificates([certificate, *chain], serialization.Encoding.DER)
    elif suffix == ".der":
        data = certificate.public_bytes(serialization.Encoding.DER)
    else:
        text = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        data = text.replace("\n", "\r\n").encode("ascii")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def pfx_bytes(
    certificate: ExchangeCertificate, password: str, *, friendly_name: str | None = None
) -> bytes:
    """The certificate, its private key and its chain as a PKCS #12 file protected by
    ``password`` (what Export-ExchangeCertificate -BinaryEncoded -Password writes).
    :class:`PkiError` when the record has no private key."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    if certificate.private_key is None:
        raise PkiError(f"certificate {certificate.thumbprint} has no private key to export")
    name = (friendly_name or certificate.friendly_name or certificate.thumbprint).encode()
    return pkcs12.serialize_key_and_certificates(
        name,
        certificate.private_key,
        certificate.certificate,
        list(certificate.chain) or None,
        BestAvailableEncryption(password.encode("utf-8")),
    )


def read_pfx(data: bytes, password: str, source: str) -> ExchangeCertificate:
    """The certificate, key and chain of a PKCS #12 file (DER, or Base64 as
    Export-ExchangeCertificate writes it without -BinaryEncoded). Raises :class:`PkiError`
    naming ``source`` for a wrong password or a file that is not PKCS #12."""
    import base64
    import binascii
    import contextlib

    from cryptography.hazmat.primitives.serialization import pkcs12

    candidates = [data]
    stripped = b"".join(data.split())
    if stripped and not data.startswith(b"\x30"):
        with contextlib.suppress(binascii.Error, ValueError):
            candidates.append(base64.b64decode(stripped, validate=True))
    last: Exception | None = None
    for blob in candidates:
        try:
            bundle = pkcs12.load_pkcs12(blob, password.encode("utf-8"))
        except ValueError as err:
            last = err
            continue
        if bundle.cert is None or bundle.key is None:
            raise PkiError(f"{source} holds no certificate with its private key (-FileName)")
        key = bundle.key
        return ExchangeCertificate(
            certificate=bundle.cert.certificate,
            private_key=key,  # type: ignore[arg-type]
            chain=tuple(
                extra.certificate
                for extra in bundle.additional_certs
                if extra.certificate.subject != extra.certificate.issuer
            ),
            friendly_name=(bundle.cert.friendly_name or b"").decode("utf-8", "replace"),
        )
    detail = str(last) if last is not None else "not PKCS #12"
    if "password" in detail.lower() or "mac" in detail.lower():
        raise PkiError(f"the password does not open {source} (-Password)")
    raise PkiError(f"{source} is not a PKCS #12 (.pfx) file ({detail}) (-FileName)")
