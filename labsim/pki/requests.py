"""Certificate requests: what ``New-ExchangeCertificate -GenerateRequest`` makes, what a
certification authority signs, and what ``Import-ExchangeCertificate`` completes.

Owns :class:`PendingRequest` (a request waiting on the server that made it), building the
PKCS #10 request with Windows' armour (``-----BEGIN NEW CERTIFICATE REQUEST-----``, CRLF lines,
or DER with ``-BinaryEncoded``), reading a request file (either armour, or DER), signing a
request as a Windows enterprise CA does (subject and subject alternative names as requested,
the EKU of the template), and matching an issued certificate to a pending request by its
public key. docs/certificates.md tells the whole workflow; docs/fidelity.md the choices.

Why a placeholder certificate: Windows keeps a pending request in the computer's REQUEST store
as a self-signed certificate made with the request's key. That certificate gives the request
the thumbprint Get-ExchangeCertificate shows (Status ``PendingRequest``) and
Remove-ExchangeCertificate takes. Completing the request replaces it with the issued
certificate, which has another thumbprint.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from labsim.errors import PkiError
from labsim.limits import date_problem
from labsim.pki.ca import CLOCK_SKEW, CertificateAuthority
from labsim.pki.certificate import ExchangeCertificate, parse_windows_name
from labsim.pki.keys import PrivateKey, signature_hash

Certificate = x509.Certificate
"""A certificate (for layers that name the type without importing cryptography)."""

CertificateRequest = x509.CertificateSigningRequest
"""A PKCS #10 request (for layers that name the type without importing cryptography)."""

REQUEST_ARMOUR = "NEW CERTIFICATE REQUEST"
"""The PEM label CertEnroll writes (OpenSSL reads it as well as ``CERTIFICATE REQUEST``)."""

PLACEHOLDER_DAYS = 365
"""Validity of the REQUEST-store placeholder (it is never presented to anyone)."""

TEMPLATES: dict[str, tuple[str, ...]] = {
    "Computer": ("clientAuth", "serverAuth"),
    "WebServer": ("serverAuth",),
}
"""Certificate templates of the lab's enterprise CAs and the EKU each puts in a certificate
(Windows' "Computer" and "Web Server" templates)."""


@dataclass(frozen=True)
class PendingRequest:
    """A request made on one server and not yet completed: the request and its placeholder.

    ``placeholder`` carries the private key, which never leaves the server (the reason a request
    can be completed only where it was made).
    """

    request: x509.CertificateSigningRequest
    placeholder: ExchangeCertificate

    @property
    def thumbprint(self) -> str:
        """The placeholder's thumbprint: how Exchange names the pending request."""
        return self.placeholder.thumbprint

    @property
    def private_key(self) -> PrivateKey:
        """The request's private key."""
        key = self.placeholder.private_key
        assert key is not None  # a placeholder is always made with its key
        return key


def request_subject(text: str) -> x509.Name:
    """The subject of ``-SubjectName`` as typed (``C=US, O=Adatum, CN=mail.adatum.com``).

    X500DistinguishedName keeps the typed order in the encoding, and Windows shows a name's
    attributes in reverse encoding order: ``C=US, O=Adatum, CN=mail.adatum.com`` is shown as
    ``CN=mail.adatum.com, O=Adatum, C=US``. Raises :class:`PkiError` with the fix.
    """
    shown_order = parse_windows_name(text)  # encodes so that it shows as typed
    name = x509.Name(list(reversed(shown_order.rdns)))
    if not name.get_attributes_for_oid(NameOID.COMMON_NAME):
        raise PkiError(
            f"the subject name '{text}' has no CN; give e.g. \"C=US, O=Adatum, CN=mail.adatum.com\""
        )
    return name


def new_request(
    subject: x509.Name,
    dns_names: Iterable[str],
    key: PrivateKey,
    *,
    at: datetime,
    friendly_name: str,
) -> PendingRequest:
    """A PKCS #10 request for ``subject`` and the SAN ``dns_names``, signed with ``key``, and
    its placeholder in the REQUEST store (self-signed with the same key, valid from ``at``)."""
    names = [x509.DNSName(name) for name in dns_names]
    start = at - CLOCK_SKEW
    too_early = date_problem(start)
    if too_early is not None:
        raise PkiError(f"certificate request: {too_early}")
    placeholder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=PLACEHOLDER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if names:
        placeholder = placeholder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return pending_request(
        ExchangeCertificate(
            certificate=placeholder.sign(key, signature_hash()),
            private_key=key,
            friendly_name=friendly_name,
        )
    )


def pending_request(placeholder: ExchangeCertificate) -> PendingRequest:
    """The pending request a placeholder stands for: the request is made again from the
    placeholder's subject, names and key (a lab restored from ``--state`` keeps placeholders)."""
    key = placeholder.private_key
    if key is None:
        raise PkiError("a certificate request needs its private key")
    builder = x509.CertificateSigningRequestBuilder().subject_name(placeholder.certificate.subject)
    try:
        names = placeholder.certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
    except x509.ExtensionNotFound:
        pass
    else:
        builder = builder.add_extension(names, critical=False)
    return PendingRequest(builder.sign(key, signature_hash()), placeholder)


def request_text(request: x509.CertificateSigningRequest, *, binary: bool = False) -> bytes:
    """The request as New-ExchangeCertificate writes it: Base64 in CertEnroll's armour with
    CRLF lines (64 characters each), or DER with ``-BinaryEncoded``."""
    der = request.public_bytes(serialization.Encoding.DER)
    if binary:
        return der
    body = base64.b64encode(der).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    text = "\r\n".join(
        [f"-----BEGIN {REQUEST_ARMOUR}-----", *lines, f"-----END {REQUEST_ARMOUR}-----"]
    )
    return (text + "\r\n").encode("ascii")


def read_request(data: bytes, source: str) -> x509.CertificateSigningRequest:
    """The request in ``data`` (the file ``source``): PEM with either label, or DER.

    Raises :class:`PkiError` naming ``source`` and the fix.
    """
    fix = "give the file New-ExchangeCertificate -GenerateRequest wrote (-RequestFile)"
    if b"-----BEGIN" in data:
        text = data.replace(f"BEGIN {REQUEST_ARMOUR}".encode(), b"BEGIN CERTIFICATE REQUEST")
        text = text.replace(f"END {REQUEST_ARMOUR}".encode(), b"END CERTIFICATE REQUEST")
        try:
            request = x509.load_pem_x509_csr(text)
        except ValueError:
            raise PkiError(f"{source} holds no readable certificate request; {fix}") from None
    else:
        try:
            request = x509.load_der_x509_csr(data)
        except ValueError:
            raise PkiError(f"{source} is not a certificate request; {fix}") from None
    if not request.is_signature_valid:
        raise PkiError(f"{source}: the request's signature does not verify; {fix}")
    return request


def requested_names(request: x509.CertificateSigningRequest) -> tuple[str, ...]:
    """The DNS names of the request's subject alternative name extension (may be empty)."""
    try:
        extension = request.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    return tuple(extension.value.get_values_for_type(x509.DNSName))


def sign_request(
    ca: CertificateAuthority,
    request: x509.CertificateSigningRequest,
    *,
    at: datetime,
    valid_days: int,
    template: str,
) -> ExchangeCertificate:
    """The certificate ``ca`` issues for ``request`` under ``template`` (a :data:`TEMPLATES`
    name), as a Windows enterprise CA whose template takes the subject from the request: the
    requested subject and DNS names, the CA's CRL distribution point, the template's EKU. The
    record has no private key (the CA never sees it) and carries the CA's chain, as Windows
    finds it in its intermediate store."""
    if template not in TEMPLATES:
        raise PkiError(f"unknown template {template!r}; use one of {', '.join(TEMPLATES)}")
    return ca.issue_to_key(
        request.subject,
        request.public_key(),
        at=at,
        valid_days=valid_days,
        dns_names=requested_names(request),
        eku=TEMPLATES[template],
    )


def same_key(certificate: x509.Certificate, key: PrivateKey) -> bool:
    """True when ``certificate`` carries the public half of ``key``."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return certificate.public_key().public_bytes(der, spki) == key.public_key().public_bytes(
        der, spki
    )


def end_entities(certificates: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    """The certificates of a CA's answer that are not CA certificates (what a server imports)."""
    leaves = []
    for cert in certificates:
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound:
            if cert.subject != cert.issuer:
                leaves.append(cert)
            continue
        if not constraints.value.ca:
            leaves.append(cert)
    return leaves


def chain_for(
    leaf: x509.Certificate, candidates: Iterable[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """The intermediates a server sends with ``leaf``: its issuers by name among
    ``candidates`` (the file's certificates and the lab's CAs, as Windows finds them in its
    Intermediate store), leaf side first, without the self-signed root (never sent)."""
    pool = list(candidates)
    chain: list[x509.Certificate] = []
    current = leaf
    for _ in range(8):
        issuer = next((c for c in pool if c.subject == current.issuer and c != current), None)
        if issuer is None or issuer.subject == issuer.issuer or issuer in chain:
            break
        chain.append(issuer)
        current = issuer
    return tuple(chain)
