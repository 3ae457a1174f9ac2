"""A lab's PKI on disk, under names a person can find, so that real tools (openssl, swaks,
smtplib) can act as the lab's servers or check them.

Owns the layout of a lab's certificate folder and keeps it in step with the servers' stores::

    index.txt                            every file below, one aligned row per certificate
    index.json                           the same, for scripts
    <Org>/root-ca.cer                    root certificate, PEM (import it into your own tools)
    <Org>/root-ca.key                    root key, PEM, mode 0600 (kept so the root survives restarts)
    <Org>/<SERVER>/smtp.pem              the certificate the server presents for SMTP STARTTLS
    <Org>/<SERVER>/smtp.key              its private key, PEM, unencrypted, mode 0600
    <Org>/<SERVER>/smtp-chain.pem        smtp.pem, then its issuing CAs up to and including the root
    <Org>/<SERVER>/exchange-default.pem  the self-signed "Microsoft Exchange" certificate of setup
    <Org>/<SERVER>/exchange-default.key  its private key, mode 0600
    <Org>/<SERVER>/<thumbprint>.pem      each certificate of the personal store, with its chain
    <Org>/<SERVER>/<thumbprint>.key      its private key, mode 0600

The rules it keeps:

* ``smtp.*`` is the certificate :func:`~labsim.pki.selection.select_starttls_certificate`
  picks for the server's FQDN at lab time: what a receive connector without its own FQDN or
  TlsCertificateName presents, and what the server presents when it sends without them. A
  server with no such certificate has no ``smtp.*`` files.
* ``exchange-default.*`` is the first self-signed certificate of the store with the friendly
  name "Microsoft Exchange" and the subject ``CN=<SERVER>`` (the one setup created).
* ``<thumbprint>.pem`` holds the certificate and the intermediates it is sent with (never the
  root): the file a thumbprint from Get-ExchangeCertificate leads to.
* A file is replaced by a rename, and only when its content changes, so a tool never reads half
  a file. In a server's folder, files named as above that belong to no certificate of the store
  any more (earlier runs, removed certificates) are deleted; nothing else is ever deleted: not
  ``root-ca.*``, not a file of another name, nothing outside the lab's server folders.
* A folder holds the files of one running lab: a second lab started on the same folder
  replaces them.

The root is cached: a lab started again on the same folder reuses it while it is valid, so a
user who imported it into their own tools keeps trusting the lab.
"""

from __future__ import annotations

import enum
import json
import os
import re
import stat
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from labsim.errors import PkiError
from labsim.inputfiles import CERTIFICATE_FILE_LIMIT, InputFileError, read_input_file
from labsim.pki.ca import CertificateAuthority, create_root_ca
from labsim.pki.certificate import (
    ExchangeCertificate,
    common_names,
    is_self_signed,
    san_dns_names,
    subject_and_issuer_der,
    thumbprint_of,
)
from labsim.pki.keys import KeyType, load_private_key_pem, private_key_pem
from labsim.pki.selection import select_starttls_certificate
from labsim.pki.self_signed import DEFAULT_FRIENDLY_NAME

ROOT_CERTIFICATE_FILE = "root-ca.cer"
"""File name of an organization's root certificate."""

ROOT_KEY_FILE = "root-ca.key"
"""File name of an organization's root key."""

SMTP_CERTIFICATE_FILE = "smtp.pem"
"""File name of the certificate a server presents for SMTP STARTTLS (PEM, the certificate only)."""

SMTP_KEY_FILE = "smtp.key"
"""File name of that certificate's private key (PEM, mode 0600)."""

SMTP_CHAIN_FILE = "smtp-chain.pem"
"""File name of the SMTP certificate followed by its issuing CAs, root included (PEM)."""

EXCHANGE_DEFAULT_CERTIFICATE_FILE = "exchange-default.pem"
"""File name of the self-signed "Microsoft Exchange" certificate setup creates (PEM)."""

EXCHANGE_DEFAULT_KEY_FILE = "exchange-default.key"
"""File name of its private key (PEM, mode 0600)."""

INDEX_TEXT_FILE = "index.txt"
"""File name of the index for people (aligned columns), at the top of the lab folder."""

INDEX_JSON_FILE = "index.json"
"""File name of the index for scripts, at the top of the lab folder."""

# The files this module writes in a server folder (and the temporary names it writes them
# under): only these are ever pruned.
_OWN_NAME = (
    r"(?:[0-9A-F]{40}\.(?:pem|key)|smtp\.pem|smtp\.key|smtp-chain\.pem"
    r"|exchange-default\.pem|exchange-default\.key)"
)
_OWN_FILE = re.compile(rf"{_OWN_NAME}|\.{_OWN_NAME}\.tmp")


def _write_private(path: Path, data: bytes) -> None:
    # Create with 0600 from the start (no window where the key is world-readable), and fix the
    # mode of a file that already existed.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def _replace_file(path: Path, data: bytes, *, private: bool) -> None:
    # A change to one store rewrites every folder, so most files come back unchanged: those are
    # left alone. A changed one is renamed into place, so that a tool reading smtp.pem meanwhile
    # sees the old or the new file, never half of one. A key file is 0600 from the start.
    try:
        if not path.is_symlink() and path.read_bytes() == data:
            if private and stat.S_IMODE(path.stat().st_mode) != 0o600:
                path.chmod(0o600)
            return
    except OSError:
        pass  # absent or unreadable: written below
    temporary = path.with_name(f".{path.name}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(temporary, flags, 0o600 if private else 0o666)
    except FileExistsError:  # left by a run that was killed while writing
        temporary.unlink()
        fd = os.open(temporary, flags, 0o600 if private else 0o666)
    with os.fdopen(fd, "wb") as handle:
        if private:
            os.fchmod(handle.fileno(), 0o600)
        handle.write(data)
    os.replace(temporary, path)


def _folder_name(name: str, what: str, example: str) -> str:
    if not name or any(sep in name for sep in ("/", "\\")) or name in (".", ".."):
        raise PkiError(f"{what} name {name!r} cannot be a folder name; use e.g. {example!r}")
    return name


def _org_folder(folder: Path, org_name: str) -> Path:
    return Path(folder) / _folder_name(org_name, "organization", "Adatum")


def _server_folder(folder: Path, org_name: str, server_name: str) -> Path:
    return _org_folder(folder, org_name) / _folder_name(server_name, "server", "ADATUM-CAS1")


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

    Only the ``<thumbprint>.pem``/``.key`` files, nothing pruned: :func:`write_certificate_files`
    keeps the whole layout. Returns the paths of the ``.pem`` files; a key file is written only
    when the record has one.
    """
    target = _server_folder(folder, org_name, server_name)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for cert in certs:
        pem_path = target / f"{cert.thumbprint}.pem"
        _replace_file(pem_path, cert.pem(), private=False)
        if cert.private_key is not None:
            _replace_file(target / f"{cert.thumbprint}.key", cert.key_pem(), private=True)
        written.append(pem_path)
    return tuple(written)


# --- stable names and the index ---------------------------------------------------------------


class CertificateRole(enum.Enum):
    """What a certificate is on its server, as the index names it."""

    SMTP = "smtp"
    EXCHANGE_DEFAULT = "exchange-default"
    OTHER = "other"


@dataclass(frozen=True)
class CertificatePaths:
    """The stable files of a server's SMTP certificate.

    ``cert`` is the certificate alone, ``key`` its private key, ``chain`` the certificate
    followed by its issuing CAs up to and including the root (what ``swaks --tls-cert`` or
    ``smtplib``'s ``load_cert_chain`` should be given to present a full chain).
    """

    cert: Path
    key: Path
    chain: Path


def smtp_certificate_paths(folder: Path, org_name: str, server_name: str) -> CertificatePaths:
    """The paths of ``<folder>/<Org>/<SERVER>/smtp.pem``, ``smtp.key`` and ``smtp-chain.pem``.

    Paths only, under ``folder`` as given (``.resolve()`` them for a file other programs read):
    the files exist while the server has an SMTP certificate, and
    :func:`write_certificate_files` keeps them current. :class:`PkiError` when a name cannot be
    a folder name.
    """
    target = _server_folder(folder, org_name, server_name)
    return CertificatePaths(
        cert=target / SMTP_CERTIFICATE_FILE,
        key=target / SMTP_KEY_FILE,
        chain=target / SMTP_CHAIN_FILE,
    )


@dataclass(frozen=True)
class ServerCertificates:
    """One server's personal store, as its certificate files are made from it."""

    organization: str
    server: str
    fqdn: str
    certificates: tuple[ExchangeCertificate, ...]


@dataclass(frozen=True)
class IndexedCertificate:
    """One certificate of a server in the index: what it is, and every file that holds it.

    ``files`` lists the ``<thumbprint>.pem``/``.key`` files, then the stable names of its roles.
    """

    certificate: ExchangeCertificate
    roles: tuple[CertificateRole, ...]
    pem: Path
    key: Path | None
    files: tuple[Path, ...]

    @property
    def thumbprint(self) -> str:
        """The thumbprint, as Get-ExchangeCertificate shows it."""
        return self.certificate.thumbprint

    @property
    def subject(self) -> str:
        """The subject, as Windows shows it."""
        return self.certificate.subject

    @property
    def sans(self) -> tuple[str, ...]:
        """The DNS names of the SubjectAlternativeName extension."""
        return san_dns_names(self.certificate.certificate)

    @property
    def not_after(self) -> datetime:
        """End of validity (aware UTC)."""
        return self.certificate.not_after


@dataclass(frozen=True)
class IndexedServer:
    """One server in the index: its SMTP and default certificates' stable files, and the rest.

    ``smtp`` is None when no certificate qualifies for STARTTLS; ``exchange_default`` holds
    the ``(cert, key)`` paths of the "Microsoft Exchange" certificate, None when it is gone.
    """

    organization: str
    server: str
    fqdn: str
    folder: Path
    smtp: CertificatePaths | None
    exchange_default: tuple[Path, Path] | None
    certificates: tuple[IndexedCertificate, ...]


@dataclass(frozen=True)
class CertificateIndex:
    """What a lab's certificate folder holds: root certificates and every server's files."""

    folder: Path
    roots: tuple[tuple[str, Path], ...]
    servers: tuple[IndexedServer, ...]


def exchange_default_of(
    server_name: str, certificates: Iterable[ExchangeCertificate]
) -> ExchangeCertificate | None:
    """The "Microsoft Exchange" self-signed certificate setup made for ``server_name``, or None.

    The first certificate (store order) that is self-signed, has that friendly name and the
    subject ``CN=<server_name>`` (any case); New-ExchangeCertificate without parameters makes a
    look-alike, which takes the role only once the first is removed.
    """
    for certificate in certificates:
        if (
            certificate.friendly_name == DEFAULT_FRIENDLY_NAME
            and [cn.lower() for cn in common_names(certificate.certificate)]
            == [server_name.lower()]
            and certificate.is_self_signed
        ):
            return certificate
    return None


def certificate_index(
    folder: Path,
    servers: Iterable[ServerCertificates],
    *,
    at: datetime,
    roots: Iterable[str] = (),
) -> CertificateIndex:
    """Decide the files of every server at lab time ``at``, without touching the disk.

    ``roots`` names the organizations (folder names, e.g. the lab's and ``Public``) whose
    ``root-ca.cer`` the index lists. Rules in the module doc.
    """
    folder = Path(folder)
    indexed: list[IndexedServer] = []
    for entry in servers:
        target = _server_folder(folder, entry.organization, entry.server)
        smtp = select_starttls_certificate(entry.certificates, fqdn=entry.fqdn, at=at).certificate
        default = exchange_default_of(entry.server, entry.certificates)
        smtp_paths = (
            None
            if smtp is None
            else smtp_certificate_paths(folder, entry.organization, entry.server)
        )
        default_paths = (
            (target / EXCHANGE_DEFAULT_CERTIFICATE_FILE, target / EXCHANGE_DEFAULT_KEY_FILE)
            if default is not None and default.has_private_key
            else None
        )
        certificates: list[IndexedCertificate] = []
        for certificate in entry.certificates:
            pem = target / f"{certificate.thumbprint}.pem"
            key = target / f"{certificate.thumbprint}.key" if certificate.has_private_key else None
            roles: list[CertificateRole] = []
            files = [pem] if key is None else [pem, key]
            if certificate is smtp and smtp_paths is not None:
                roles.append(CertificateRole.SMTP)
                files.extend((smtp_paths.cert, smtp_paths.key, smtp_paths.chain))
            if certificate is default and default_paths is not None:
                roles.append(CertificateRole.EXCHANGE_DEFAULT)
                files.extend(default_paths)
            certificates.append(
                IndexedCertificate(
                    certificate=certificate,
                    roles=tuple(roles) or (CertificateRole.OTHER,),
                    pem=pem,
                    key=key,
                    files=tuple(files),
                )
            )
        indexed.append(
            IndexedServer(
                organization=entry.organization,
                server=entry.server,
                fqdn=entry.fqdn,
                folder=target,
                smtp=smtp_paths,
                exchange_default=default_paths,
                certificates=tuple(certificates),
            )
        )
    return CertificateIndex(
        folder=folder,
        roots=tuple((name, _org_folder(folder, name) / ROOT_CERTIFICATE_FILE) for name in roots),
        servers=tuple(indexed),
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if subject_and_issuer_der(certificate)[1] != subject_and_issuer_der(issuer)[0]:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def issuing_chain(
    certificate: ExchangeCertificate, authorities: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """``certificate``, the intermediates it is sent with, then the CA certificates above them
    (found among ``authorities`` by name and signature) up to a self-signed root.

    The chain stops early when an issuer is not among ``authorities``; a self-signed
    certificate is its own chain.
    """
    chain = [certificate.certificate, *certificate.chain]
    while not is_self_signed(chain[-1]):
        issuer = next((ca for ca in authorities if _issued_by(chain[-1], ca)), None)
        if issuer is None or issuer in chain:
            break
        chain.append(issuer)
    return tuple(chain)


def _pem(certificates: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def _server_contents(
    server: IndexedServer, authorities: Sequence[x509.Certificate]
) -> dict[Path, tuple[bytes, bool]]:
    """Every file of one server folder: path → (content, private)."""
    contents: dict[Path, tuple[bytes, bool]] = {}
    for entry in server.certificates:
        certificate = entry.certificate
        contents[entry.pem] = (certificate.pem(), False)
        key = certificate.key_pem() if entry.key is not None else b""
        if entry.key is not None:
            contents[entry.key] = (key, True)
        if CertificateRole.SMTP in entry.roles and server.smtp is not None:
            contents[server.smtp.cert] = (_pem([certificate.certificate]), False)
            contents[server.smtp.key] = (key, True)
            contents[server.smtp.chain] = (_pem(issuing_chain(certificate, authorities)), False)
        if CertificateRole.EXCHANGE_DEFAULT in entry.roles and server.exchange_default is not None:
            default_cert, default_key = server.exchange_default
            contents[default_cert] = (_pem([certificate.certificate]), False)
            contents[default_key] = (key, True)
    return contents


def _prune(lab_folder: Path, target: Path, keep: Iterable[str]) -> None:
    # Only inside the lab folder (``lab_folder`` is resolved; a server folder that is a link to
    # elsewhere is left alone), only names this module writes, never a root file.
    if lab_folder not in target.resolve().parents:
        return
    kept = set(keep)
    for entry in os.scandir(target):
        name = entry.name
        if (
            name in kept
            or name in (ROOT_CERTIFICATE_FILE, ROOT_KEY_FILE)
            or not _OWN_FILE.fullmatch(name)
            or entry.is_dir(follow_symlinks=False)
        ):
            continue
        os.unlink(entry.path)


def write_certificate_files(
    folder: Path,
    servers: Iterable[ServerCertificates],
    *,
    at: datetime,
    authorities: Iterable[x509.Certificate] = (),
    roots: Iterable[str] = (),
) -> CertificateIndex:
    """Bring the lab folder in step with ``servers``' stores at lab time ``at``; return its index.

    Writes every server's files (stable names and per-thumbprint files), prunes the stale ones
    and rewrites ``index.txt`` and ``index.json`` (see the module doc). ``authorities`` are the
    lab's CA certificates (roots and intermediates), for the chains of ``smtp-chain.pem``;
    ``roots`` names the organizations whose ``root-ca.cer`` the index lists. Unchanged files are
    not rewritten. (The lab skips the call when :func:`certificate_files_signature` is what it
    was last time and :func:`certificate_files` all still exist.)
    """
    servers = tuple(servers)
    cas = tuple(authorities)
    index = certificate_index(folder, servers, at=at, roots=roots)
    lab_folder = index.folder.resolve()
    for server in index.servers:
        server.folder.mkdir(parents=True, exist_ok=True)
        contents = _server_contents(server, cas)
        for path, (data, private) in contents.items():
            _replace_file(path, data, private=private)
        _prune(lab_folder, server.folder, (path.name for path in contents))
    index.folder.mkdir(parents=True, exist_ok=True)
    _replace_file(
        index.folder / INDEX_JSON_FILE,
        (json.dumps(index_json(index), indent=2) + "\n").encode(),
        private=False,
    )
    _replace_file(index.folder / INDEX_TEXT_FILE, format_index_text(index).encode(), private=False)
    return index


def certificate_files_signature(
    servers: Sequence[ServerCertificates],
    *,
    at: datetime,
    roots: Sequence[str],
    authorities: Sequence[x509.Certificate],
) -> Hashable:
    """Everything :func:`write_certificate_files` makes the files from: equal signatures, equal
    files."""

    # Everything the files are made from. A thumbprint fixes a certificate, and with it its key
    # and chain; Services can change under the same thumbprint (Enable-ExchangeCertificate) and
    # decide the SMTP role, which the selection (memoized) reads at lab time.
    def thumbprint(certificate: ExchangeCertificate | None) -> str | None:
        return None if certificate is None else certificate.thumbprint

    return (
        roots,
        tuple(thumbprint_of(ca) for ca in authorities),
        tuple(
            (
                entry.organization,
                entry.server,
                entry.fqdn,
                tuple((c.thumbprint, c.has_private_key, c.services) for c in entry.certificates),
                thumbprint(
                    select_starttls_certificate(
                        entry.certificates, fqdn=entry.fqdn, at=at
                    ).certificate
                ),
                thumbprint(exchange_default_of(entry.server, entry.certificates)),
            )
            for entry in servers
        ),
    )


def certificate_files(index: CertificateIndex) -> Iterable[Path]:
    """Every file an index names (the two index files, each certificate's files)."""
    yield index.folder / INDEX_JSON_FILE
    yield index.folder / INDEX_TEXT_FILE
    for server in index.servers:
        for entry in server.certificates:
            yield from entry.files


def _timestamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def index_json(index: CertificateIndex) -> dict[str, Any]:
    """The index as ``index.json`` holds it: absolute paths, organizations and servers by name.

    ``{"folder": …, "organizations": {"<Org>": {"root_ca": <path or null>, "servers":
    {"<SERVER>": {"fqdn": …, "folder": …, "smtp": {"cert", "key", "chain"} or null,
    "exchange_default": {"cert", "key"} or null, "certificates": [{"thumbprint", "roles",
    "subject", "sans", "not_after", "services", "pem", "key"}, …]}}}}}``.
    """

    def path(value: Path | None) -> str | None:
        return None if value is None else str(value.absolute())

    organizations: dict[str, dict[str, Any]] = {}
    names = [s.organization for s in index.servers] + [name for name, _ in index.roots]
    for name in names:
        organizations.setdefault(name, {"root_ca": None, "servers": {}})
    for name, root in index.roots:
        organizations[name]["root_ca"] = path(root)
    for server in index.servers:
        organizations[server.organization]["servers"][server.server] = {
            "fqdn": server.fqdn,
            "folder": path(server.folder),
            "smtp": None
            if server.smtp is None
            else {
                "cert": path(server.smtp.cert),
                "key": path(server.smtp.key),
                "chain": path(server.smtp.chain),
            },
            "exchange_default": None
            if server.exchange_default is None
            else {
                "cert": path(server.exchange_default[0]),
                "key": path(server.exchange_default[1]),
            },
            "certificates": [
                {
                    "thumbprint": entry.thumbprint,
                    "roles": [role.value for role in entry.roles],
                    "subject": entry.subject,
                    "sans": list(entry.sans),
                    "not_after": _timestamp(entry.not_after),
                    "services": entry.certificate.services_display,
                    "pem": path(entry.pem),
                    "key": path(entry.key),
                }
                for entry in server.certificates
            ],
        }
    return {"folder": path(index.folder), "organizations": organizations}


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    # Every column but the last padded to its widest cell, two spaces apart.
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]
        ).rstrip()
        for row in rows
    ]


def format_index_text(index: CertificateIndex) -> str:
    """The index as ``index.txt`` holds it: two aligned tables, paths relative to the folder."""

    def relative(value: Path) -> str:
        return value.relative_to(index.folder).as_posix()

    lines = [
        f"# The certificate files of the lab in {index.folder.absolute()}",
        "# Paths are relative to that folder; index.json lists the same for scripts.",
        "# Role smtp is the certificate a server presents for STARTTLS. To act as that server:",
        "#   swaks --tls-cert <Org>/<SERVER>/smtp-chain.pem --tls-key <Org>/<SERVER>/smtp.key",
        "",
    ]
    if index.roots:
        root_rows = [("Organization", "Root CA")]
        root_rows.extend((name, relative(path)) for name, path in index.roots)
        lines.extend([*_table(root_rows), ""])
    rows = [
        ("Organization", "Server", "Role", "Thumbprint", "NotAfter", "Subject", "SANs", "Files")
    ]
    for server in index.servers:
        if not server.certificates:
            rows.append((server.organization, server.server, "-", "-", "-", "-", "-", "-"))
        for entry in server.certificates:
            rows.append(
                (
                    server.organization,
                    server.server,
                    ",".join(role.value for role in entry.roles),
                    entry.thumbprint,
                    _timestamp(entry.not_after),
                    entry.subject,
                    ",".join(entry.sans) or "-",
                    " ".join(relative(path) for path in entry.files),
                )
            )
    lines.extend(_table(rows))
    return "\n".join(lines) + "\n"


def load_certificate_file(path: Path) -> x509.Certificate:
    """Load one certificate from ``path``, PEM or DER (Import-Certificate accepts both)."""
    try:
        data = read_input_file(Path(path), CERTIFICATE_FILE_LIMIT)
    except InputFileError as err:
        raise PkiError(f"certificate file {path} {err}") from None
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


def lab_file_path(folder: Path, user_path: str) -> Path:
    """Where a path typed in the shell lives: ``\\`` or ``/`` separators; a relative path, a
    Windows drive path (``C:\\certreq\\mail.req`` → ``<folder>/C/certreq/mail.req``) and a
    UNC path (``\\\\FileServer01\\Data\\x.req`` → ``<folder>/FileServer01/Data/x.req``)
    under the lab's certificate folder ``folder``; an absolute POSIX path as it is.

    Raises :class:`PkiError` for an empty path.
    """
    cleaned = user_path.strip().strip('"').strip("'")
    if not cleaned:
        raise PkiError("empty certificate path; give a file name such as Adatum\\root-ca.cer")
    unc = cleaned.startswith("\\\\")
    text = cleaned.replace("\\", "/")
    drive = re.match(r"^([A-Za-z]):/?", text)
    if drive is not None:
        text = f"{drive[1].upper()}/{text[drive.end() :]}"
    elif unc:
        text = text.lstrip("/")
    candidate = Path(text)
    if candidate.is_absolute():
        return candidate
    return Path(folder) / candidate


def resolve_cert_path(folder: Path, user_path: str) -> Path:
    """Resolve a path typed by a user (:func:`lab_file_path`) to a file that exists.

    Raises :class:`PkiError` naming the path when no such file exists.
    """
    resolved = lab_file_path(folder, user_path)
    if not resolved.exists():
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
    subject: x509.Name | None = None,
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
        if (
            same_key
            and _reusable(certificate, common_name, at)
            and (subject is None or certificate.subject == subject)
        ):
            return CertificateAuthority(certificate, key, crl_distribution_point=crl_url)
    ca = create_root_ca(
        common_name,
        organization=organization if organization is not None else org_name,
        at=at,
        valid_years=valid_years,
        crl_url=crl_url,
        key_type=key_type,
        subject=subject,
    )
    write_root(folder, org_name, ca)
    _write_private(key_path, private_key_pem(ca.private_key))
    return ca
