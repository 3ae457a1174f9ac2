"""Per-organization certificate authorities: root, optional intermediate, leaf issuance, CRLs.

Owns :class:`CertificateAuthority`. Every certificate is a real X.509 v3 certificate signed with
``cryptography``. Rules kept here:

* time is a parameter (``at``), never read from the clock;
* a leaf's NotBefore defaults to one day before ``at`` so that a lab started "now" has valid
  certificates even if a peer's clock is a little behind;
* a leaf is sent with the intermediates of its CA (``ExchangeCertificate.chain``), never the root;
* the CA's revocation list is machine state (``revoke`` adds to it); the certificates are not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from labsim.errors import PkiError
from labsim.limits import date_problem, name_length_problem
from labsim.pki.certificate import ExchangeCertificate, serial_hex, windows_name
from labsim.pki.keys import KeyType, PrivateKey, generate_private_key, key_type_of, signature_hash

CLOCK_SKEW = timedelta(days=1)
"""How far before ``at`` a new certificate's NotBefore lies by default."""

EKU_OIDS: dict[str, x509.ObjectIdentifier] = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "emailProtection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
}
"""Extended key usage names accepted by :meth:`CertificateAuthority.issue` (OpenSSL spelling)."""


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise PkiError(f"{what} {at.isoformat()} has no time zone; pass an aware UTC datetime")


def _name(common_name: str, organization: str | None) -> x509.Name:
    problem = name_length_problem(common_name, organization)
    if problem is not None:
        raise PkiError(problem)
    attributes = []
    # DER order is most general first; Windows will show it reversed (CN first).
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _organization_of(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return str(values[0].value) if values else None


def _crl_extension(url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [
            x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(url)],
                relative_name=None,
                reasons=None,
                crl_issuer=None,
            )
        ]
    )


def _check_crl_url(url: str | None) -> None:
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise PkiError(
            f"CRL distribution point {url!r} is not an http URL; use e.g. http://crl.adatum.com/root.crl"
        )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def leaf_key_usage(key: PrivateKey) -> x509.KeyUsage:
    """KeyUsage of an end-entity certificate: digitalSignature, plus keyEncipherment for RSA."""
    return _key_usage(rsa_key=key_type_of(key) is KeyType.RSA_2048)


def _key_usage(*, rsa_key: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def eku_extension(eku: Iterable[str]) -> x509.ExtendedKeyUsage | None:
    """Build the ExtendedKeyUsage extension from names; None for an empty list (any purpose)."""
    oids = []
    for purpose in eku:
        oid = EKU_OIDS.get(purpose)
        if oid is None:
            raise PkiError(
                f"unknown extended key usage {purpose!r}; use one of {', '.join(EKU_OIDS)}"
            )
        oids.append(oid)
    return x509.ExtendedKeyUsage(oids) if oids else None


class CertificateAuthority:
    """A CA of one lab organization: its certificate, key, CRL location and revocation list.

    ``chain`` is what a certificate issued by this CA is sent with: empty for a root, and for an
    intermediate its own certificate followed by its parent's intermediates (never the root).
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: PrivateKey,
        *,
        chain: tuple[x509.Certificate, ...] = (),
        crl_distribution_point: str | None = None,
    ) -> None:
        _check_crl_url(crl_distribution_point)
        self.certificate = certificate
        self.private_key = private_key
        self.chain = chain
        self.crl_distribution_point = crl_distribution_point
        self._revoked: dict[int, datetime] = {}
        self._crl_number = 0
        self._published: tuple[x509.CertificateRevocationList, bytes, int] | None = None

    def __repr__(self) -> str:
        return f"CertificateAuthority({self.name!r}, serial={serial_hex(self.certificate)})"

    @property
    def name(self) -> str:
        """The CA's common name, e.g. ``Adatum Root CA``."""
        values = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(values[0].value) if values else windows_name(self.certificate.subject)

    @property
    def subject(self) -> str:
        """The CA's subject as Windows shows it."""
        return windows_name(self.certificate.subject)

    @property
    def is_root(self) -> bool:
        """True for a self-signed root CA."""
        return self.certificate.issuer == self.certificate.subject

    @property
    def revocations(self) -> dict[int, datetime]:
        """A copy of the revocation list: serial number → revocation time."""
        return dict(self._revoked)

    def _builder(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        not_before: datetime,
        not_after: datetime,
        *,
        crl: bool = True,
    ) -> x509.CertificateBuilder:
        too_early = date_problem(not_before)
        if too_early is not None:
            raise PkiError(f"certificate {windows_name(subject)}: {too_early}")
        if not_after <= not_before:
            raise PkiError(
                f"certificate {windows_name(subject)}: NotAfter {not_after.isoformat()} is not "
                f"after NotBefore {not_before.isoformat()}; give a later not_after"
            )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        )
        if crl and self.crl_distribution_point:
            builder = builder.add_extension(
                _crl_extension(self.crl_distribution_point), critical=False
            )
        return builder

    def issue_intermediate(
        self,
        common_name: str,
        *,
        at: datetime,
        crl_url: str | None = None,
        valid_years: int = 5,
        key_type: KeyType = KeyType.ECDSA_P256,
    ) -> CertificateAuthority:
        """Issue a subordinate CA (path length 0) named ``common_name``, valid from ``at``.

        Certificates it issues carry the CDP ``crl_url`` (its own CRL); its own certificate
        carries this CA's CDP.
        """
        _require_aware(at, "at")
        _check_crl_url(crl_url)
        key = generate_private_key(key_type)
        not_before = at - CLOCK_SKEW
        certificate = (
            self._builder(
                _name(common_name, _organization_of(self.certificate.subject)),
                key.public_key(),
                not_before,
                not_before + timedelta(days=365 * valid_years),
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .sign(self.private_key, signature_hash())
        )
        return CertificateAuthority(
            certificate, key, chain=(certificate, *self.chain), crl_distribution_point=crl_url
        )

    def issue(
        self,
        common_name: str,
        *,
        at: datetime,
        dns_names: Iterable[str] = (),
        eku: Iterable[str] = ("serverAuth", "clientAuth"),
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        valid_days: int = 730,
        organization: str | None = None,
        services: Iterable[str] = frozenset({"SMTP"}),
        friendly_name: str | None = None,
        key_type: KeyType = KeyType.ECDSA_P256,
        crl: bool = True,
        subject: x509.Name | None = None,
    ) -> ExchangeCertificate:
        """Issue an end-entity certificate with a new key, as a store record.

        Subject ``CN=<common_name>`` (plus ``O=`` of this CA unless ``organization`` is given);
        SAN = exactly ``dns_names`` (the CN is not added, so that a lab can show a CN-only
        certificate); NotBefore defaults to ``at`` minus one day, NotAfter to ``at`` plus
        ``valid_days``. ``friendly_name`` defaults to the common name. ``crl`` False leaves out
        the CRL distribution point extension (a certificate nobody can check for revocation).
        ``subject`` replaces the whole subject exactly (a stand-in for a production certificate).
        """
        _require_aware(at, "at")
        if not common_name.strip():
            raise PkiError("a certificate needs a common name; give e.g. 'mail.adatum.com'")
        start = not_before if not_before is not None else at - CLOCK_SKEW
        end = not_after if not_after is not None else at + timedelta(days=valid_days)
        _require_aware(start, "not_before")
        _require_aware(end, "not_after")
        names = [name.strip() for name in dns_names if name.strip()]
        key = generate_private_key(key_type)
        org = (
            organization if organization is not None else _organization_of(self.certificate.subject)
        )
        certificate = self._leaf(
            subject if subject is not None else _name(common_name, org),
            key.public_key(),
            start,
            end,
            dns_names=names,
            eku=eku,
            crl=crl,
        )
        return ExchangeCertificate(
            certificate=certificate,
            private_key=key,
            chain=self.chain,
            services=frozenset(services),
            friendly_name=friendly_name if friendly_name is not None else common_name,
        )

    def issue_to_key(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        *,
        at: datetime,
        valid_days: int,
        dns_names: Iterable[str] = (),
        eku: Iterable[str] = ("serverAuth", "clientAuth"),
    ) -> ExchangeCertificate:
        """Issue an end-entity certificate for a key this CA never sees (a certificate request):
        exactly ``subject`` and the SAN ``dns_names``, valid from ``at`` minus the clock skew for
        ``valid_days`` days, with this CA's CRL distribution point. The record has no private key
        and carries this CA's chain."""
        _require_aware(at, "at")
        start = at - CLOCK_SKEW
        certificate = self._leaf(
            subject,
            public_key,
            start,
            at + timedelta(days=valid_days),
            dns_names=dns_names,
            eku=eku,
        )
        return ExchangeCertificate(certificate=certificate, chain=self.chain)

    def _leaf(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        not_before: datetime,
        not_after: datetime,
        *,
        dns_names: Iterable[str],
        eku: Iterable[str],
        crl: bool = True,
    ) -> x509.Certificate:
        """An end-entity certificate of this CA for ``public_key``: exactly ``subject`` and the
        SAN ``dns_names`` (none: no SAN extension), the EKU ``eku`` (none: no EKU extension)."""
        builder = (
            self._builder(subject, public_key, not_before, not_after, crl=crl)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(rsa_key=isinstance(public_key, rsa.RSAPublicKey)), critical=True
            )
        )
        names = [name for name in dns_names if name]
        if names:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False
            )
        extended = eku_extension(eku)
        if extended is not None:
            builder = builder.add_extension(extended, critical=False)
        return builder.sign(self.private_key, signature_hash())

    def revoke(self, serial: int | str, at: datetime) -> None:
        """Add ``serial`` (int, or hex as Exchange shows it) to the revocation list at ``at``."""
        _require_aware(at, "at")
        if isinstance(serial, str):
            try:
                number = int(serial.replace(" ", ""), 16)
            except ValueError as err:
                raise PkiError(
                    f"serial number {serial!r} is not hexadecimal; copy it from SerialNumber"
                ) from err
        else:
            number = serial
        self._revoked.setdefault(number, at)

    def is_revoked(self, serial: int) -> bool:
        """True when ``serial`` is on this CA's revocation list."""
        return serial in self._revoked

    def crl(
        self, at: datetime, *, next_update: datetime | None = None
    ) -> x509.CertificateRevocationList:
        """Return a CRL signed by this CA, issued at ``at`` (next update default: 7 days later).

        Only revocations made at or before ``at`` are listed, so a lab can ask for yesterday's CRL.
        """
        _require_aware(at, "at")
        self._crl_number += 1
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(at)
            .next_update(next_update if next_update is not None else at + timedelta(days=7))
            .add_extension(x509.CRLNumber(self._crl_number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
        )
        for serial, revoked_at in sorted(self._revoked.items()):
            if revoked_at <= at:
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder()
                    .serial_number(serial)
                    .revocation_date(revoked_at)
                    .build()
                )
        return builder.sign(self.private_key, signature_hash())

    def published_crl(self, at: datetime) -> tuple[x509.CertificateRevocationList, bytes]:
        """The CRL this CA has published as of ``at``, and its DER bytes.

        Like an AD CS web server serving a CRL file, every download gets the same CRL (same CRL
        number) until the CA publishes again: after a revocation, or once the published CRL's
        NextUpdate has passed (the CA republishes on schedule). The first request publishes.
        """
        _require_aware(at, "at")
        published = self._published
        if published is not None:
            crl, der, revocations = published
            fresh = (
                revocations == len(self._revoked)
                and crl.last_update_utc <= at
                and (crl.next_update_utc is None or at < crl.next_update_utc)
            )
            if fresh:
                return crl, der
        crl = self.crl(at)
        der = crl.public_bytes(serialization.Encoding.DER)
        self._published = (crl, der, len(self._revoked))
        return crl, der


def create_root_ca(
    common_name: str,
    *,
    organization: str | None,
    at: datetime,
    valid_years: int = 10,
    crl_url: str | None = None,
    key_type: KeyType = KeyType.ECDSA_P256,
    subject: x509.Name | None = None,
) -> CertificateAuthority:
    """Create a self-signed root CA named ``common_name`` (e.g. ``Adatum Root CA``).

    ``crl_url`` is the CDP written into the certificates this root issues (a root's own
    certificate carries none: nothing above it could revoke it). ``subject`` replaces the
    ``CN=<common_name>, O=<organization>`` subject exactly (a stand-in for a production CA).
    """
    _require_aware(at, "at")
    _check_crl_url(crl_url)
    if not common_name.strip():
        raise PkiError("a root CA needs a common name; give e.g. 'Adatum Root CA'")
    key = generate_private_key(key_type)
    name = subject if subject is not None else _name(common_name, organization)
    not_before = at - CLOCK_SKEW
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=365 * valid_years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, signature_hash())
    )
    return CertificateAuthority(certificate, key, crl_distribution_point=crl_url)
