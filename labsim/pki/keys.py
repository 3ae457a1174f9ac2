"""Private keys for lab certificates: generation, PEM encoding, loading.

ECDSA P-256 is the default key type because generating one takes well under a millisecond, so a
lab that issues a dozen certificates starts at once; RSA 2048 (Exchange's own default for
New-ExchangeCertificate) is available for scenarios that need it, at roughly 50-100 ms a key.
"""

from __future__ import annotations

import enum

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from labsim.errors import PkiError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
"""The private key types labsim issues and loads."""


class KeyType(enum.Enum):
    """The kind of key pair generated for a certificate or CA."""

    ECDSA_P256 = "EcdsaP256"
    RSA_2048 = "Rsa2048"


def generate_private_key(key_type: KeyType = KeyType.ECDSA_P256) -> PrivateKey:
    """Return a new private key of ``key_type``."""
    if key_type is KeyType.RSA_2048:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def key_type_of(key: PrivateKey) -> KeyType:
    """Return the :class:`KeyType` of an existing key (used to keep KeyUsage consistent)."""
    return KeyType.RSA_2048 if isinstance(key, rsa.RSAPrivateKey) else KeyType.ECDSA_P256


def signature_hash() -> hashes.SHA256:
    """Return the hash used for every labsim signature (SHA-256, what a 2013-era CA would use)."""
    return hashes.SHA256()


def private_key_pem(key: PrivateKey) -> bytes:
    """Return ``key`` as unencrypted PKCS#8 PEM (lab keys are not secrets worth a passphrase)."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_private_key_pem(data: bytes, *, source: str = "key data") -> PrivateKey:
    """Load an unencrypted PEM private key; ``source`` names the file in error messages."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise PkiError(
            f"{source}: not an unencrypted PEM private key ({err}); "
            "delete it so that labsim creates a new one"
        ) from err
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiError(
            f"{source}: unsupported key type {type(key).__name__}; use an RSA or ECDSA key"
        )
    return key
