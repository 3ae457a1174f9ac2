"""Writing a lab's PKI to disk: stable names by server and role, pruning, the index; loading
certificates, resolving user paths, root reuse."""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from labsim.errors import PkiError
from labsim.pki import (
    CertificateAuthority,
    ExchangeCertificate,
    create_root_ca,
    exchange_default_certificate,
    load_certificate_file,
    load_or_create_root_ca,
    resolve_cert_path,
    select_starttls_certificate,
    write_root,
    write_server_certificates,
)
from labsim.pki.files import (
    CertificatePaths,
    ServerCertificates,
    exchange_default_of,
    smtp_certificate_paths,
    write_certificate_files,
)

AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
OPENSSL = shutil.which("openssl")


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


# --- stable names, pruning and the index -------------------------------------------------------


@dataclasses.dataclass
class Pki:
    """Adatum's root and issuing CA on disk, and ADATUM-CAS1's store: Exchange's self-signed
    default and a certificate from the issuing CA enabled for SMTP."""

    folder: Path
    root: CertificateAuthority
    issuing: CertificateAuthority
    default: ExchangeCertificate
    smtp: ExchangeCertificate

    def server(self, *certificates: ExchangeCertificate) -> ServerCertificates:
        return ServerCertificates("Adatum", "ADATUM-CAS1", "mail.adatum.com", certificates)

    def write(self, *certificates: ExchangeCertificate, at: datetime = AT) -> None:
        write_certificate_files(
            self.folder,
            [self.server(*certificates)],
            at=at,
            authorities=[self.root.certificate, self.issuing.certificate],
            roots=["Adatum"],
        )

    @property
    def server_folder(self) -> Path:
        return self.folder / "Adatum" / "ADATUM-CAS1"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    folder = tmp_path / "certs"
    root = load_or_create_root_ca(folder, "Adatum", "Adatum Root CA", at=AT)
    issuing = root.issue_intermediate("Adatum Issuing CA", at=AT)
    default = exchange_default_certificate("ADATUM-CAS1", "mail.adatum.com", at=AT)
    smtp = issuing.issue(
        "mail.adatum.com", at=AT, dns_names=("mail.adatum.com", "adatum.com"), services={"SMTP"}
    )
    return Pki(folder, root, issuing, default, smtp)


def _certificates(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stable_names_hold_the_smtp_and_the_default_certificate(pki: Pki) -> None:
    pki.write(pki.default, pki.smtp)
    here = pki.server_folder
    # The SMTP certificate is the one the lab's selection picks (CA-issued before self-signed).
    chosen = select_starttls_certificate([pki.default, pki.smtp], fqdn="mail.adatum.com", at=AT)
    assert chosen.certificate is pki.smtp
    assert smtp_certificate_paths(pki.folder, "Adatum", "ADATUM-CAS1") == CertificatePaths(
        cert=here / "smtp.pem", key=here / "smtp.key", chain=here / "smtp-chain.pem"
    )
    assert _certificates(here / "smtp.pem") == [pki.smtp.certificate]
    assert (here / "smtp.key").read_bytes() == pki.smtp.key_pem()
    assert _mode(here / "smtp.key") == 0o600
    assert _certificates(here / "smtp-chain.pem") == [
        pki.smtp.certificate,
        pki.issuing.certificate,
        pki.root.certificate,
    ]
    assert _certificates(here / "exchange-default.pem") == [pki.default.certificate]
    assert (here / "exchange-default.key").read_bytes() == pki.default.key_pem()
    assert _mode(here / "exchange-default.key") == 0o600
    # The per-thumbprint files stay as they were: certificate and intermediates, and the key.
    for cert in (pki.default, pki.smtp):
        assert (here / f"{cert.thumbprint}.pem").read_bytes() == cert.pem()
        assert (here / f"{cert.thumbprint}.key").read_bytes() == cert.key_pem()
        assert _mode(here / f"{cert.thumbprint}.key") == 0o600


def test_chain_file_verifies_against_the_root_file(pki: Pki) -> None:
    pki.write(pki.default, pki.smtp)
    leaf, *chain = _certificates(pki.server_folder / "smtp-chain.pem")
    root = load_certificate_file(pki.folder / "Adatum" / "root-ca.cer")
    assert chain[-1] == root
    for child, parent in zip([leaf, *chain], chain, strict=False):
        child.verify_directly_issued_by(parent)
    if OPENSSL is not None:  # the command certs/README.md shows
        here = pki.server_folder
        result = subprocess.run(
            [
                OPENSSL,
                "verify",
                "-attime",
                str(int(AT.timestamp())),
                "-CAfile",
                str(pki.folder / "Adatum" / "root-ca.cer"),
                "-untrusted",
                str(here / "smtp-chain.pem"),
                str(here / "smtp.pem"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().endswith("smtp.pem: OK")


def test_self_signed_smtp_certificate_is_its_own_chain(pki: Pki) -> None:
    pki.write(pki.default)
    here = pki.server_folder
    assert _certificates(here / "smtp.pem") == [pki.default.certificate]
    assert _certificates(here / "smtp-chain.pem") == [pki.default.certificate]
    assert (here / "smtp.key").read_bytes() == (here / "exchange-default.key").read_bytes()


def test_smtp_files_follow_the_services_and_the_store(pki: Pki) -> None:
    not_smtp = pki.smtp.with_services({"IIS"})
    pki.write(pki.default, not_smtp)
    smtp_pem = pki.server_folder / "smtp.pem"
    assert _certificates(smtp_pem) == [pki.default.certificate]
    # Enable-ExchangeCertificate -Services SMTP makes a new record under the same thumbprint.
    pki.write(pki.default, not_smtp.with_services({"IIS", "SMTP"}))
    assert _certificates(smtp_pem) == [pki.smtp.certificate]
    # With no certificate left for SMTP, there are no smtp.* files.
    pki.write(pki.default.with_services({"IIS"}))
    assert not smtp_pem.exists()
    assert not (pki.server_folder / "smtp.key").exists()
    assert not (pki.server_folder / "smtp-chain.pem").exists()
    assert (pki.server_folder / "exchange-default.pem").exists()


def test_files_of_certificates_no_longer_in_the_store_are_pruned(pki: Pki) -> None:
    earlier = pki.issuing.issue("old.adatum.com", at=AT, services={"SMTP"})
    pki.write(pki.default, pki.smtp, earlier)
    here = pki.server_folder
    # What a person keeps next to the lab's files, and names the lab never writes.
    (here / "notes.txt").write_text("mine")
    (here / "root-ca.cer").write_bytes(b"a copy")
    (here / f"{earlier.thumbprint.lower()}.pem").write_bytes(b"not a lab name")
    (here / "subfolder").mkdir()
    (here / "subfolder" / f"{earlier.thumbprint}.pem").write_bytes(b"deeper")
    pki.write(pki.default, pki.smtp)
    assert not (here / f"{earlier.thumbprint}.pem").exists()
    assert not (here / f"{earlier.thumbprint}.key").exists()
    assert sorted(p.name for p in here.iterdir()) == sorted(
        [
            f"{pki.default.thumbprint}.pem",
            f"{pki.default.thumbprint}.key",
            f"{pki.smtp.thumbprint}.pem",
            f"{pki.smtp.thumbprint}.key",
            "smtp.pem",
            "smtp.key",
            "smtp-chain.pem",
            "exchange-default.pem",
            "exchange-default.key",
            "notes.txt",
            "root-ca.cer",
            f"{earlier.thumbprint.lower()}.pem",
            "subfolder",
        ]
    )
    assert (here / "subfolder" / f"{earlier.thumbprint}.pem").exists()
    assert (pki.folder / "Adatum" / "root-ca.cer").exists()
    assert (pki.folder / "Adatum" / "root-ca.key").exists()


def test_pruning_never_follows_a_server_folder_out_of_the_lab_folder(
    pki: Pki, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    stale = elsewhere / f"{pki.smtp.thumbprint}.pem"
    stale.write_bytes(b"someone else's file")
    (pki.folder / "Adatum").mkdir(parents=True, exist_ok=True)
    pki.server_folder.symlink_to(elsewhere, target_is_directory=True)
    pki.write(pki.default)
    assert stale.read_bytes() == b"someone else's file"


def test_unchanged_files_are_not_rewritten_and_missing_ones_come_back(pki: Pki) -> None:
    pki.write(pki.default, pki.smtp)
    here = pki.server_folder
    before = {p.name: p.stat().st_ino for p in here.iterdir()}
    pki.write(pki.default, pki.smtp)
    assert {p.name: p.stat().st_ino for p in here.iterdir()} == before
    (here / "smtp.pem").unlink()
    (pki.folder / "index.txt").unlink()
    pki.write(pki.default, pki.smtp)
    assert _certificates(here / "smtp.pem") == [pki.smtp.certificate]
    assert (pki.folder / "index.txt").exists()
    # Only what was missing was written again; the rest was compared and left alone.
    after = {p.name: p.stat().st_ino for p in here.iterdir()}
    assert {k: v for k, v in after.items() if k != "smtp.pem"} == {
        k: v for k, v in before.items() if k != "smtp.pem"
    }
    # A rewrite renames a complete file into place: no temporary file is left behind.
    assert not [p for p in here.iterdir() if p.name.endswith(".tmp")]


def test_index_lists_every_certificate_with_its_role_and_files(pki: Pki) -> None:
    other = pki.root.issue("legacy.adatum.com", at=AT, services={"IIS"})
    pki.write(pki.default, pki.smtp, other)
    data = json.loads((pki.folder / "index.json").read_text())
    adatum = data["organizations"]["Adatum"]
    assert adatum["root_ca"] == str((pki.folder / "Adatum" / "root-ca.cer").absolute())
    server = adatum["servers"]["ADATUM-CAS1"]
    here = pki.server_folder.absolute()
    assert server["fqdn"] == "mail.adatum.com"
    assert server["smtp"] == {
        "cert": str(here / "smtp.pem"),
        "key": str(here / "smtp.key"),
        "chain": str(here / "smtp-chain.pem"),
    }
    assert server["exchange_default"] == {
        "cert": str(here / "exchange-default.pem"),
        "key": str(here / "exchange-default.key"),
    }
    rows = {c["thumbprint"]: c for c in server["certificates"]}
    assert list(rows) == [pki.default.thumbprint, pki.smtp.thumbprint, other.thumbprint]
    assert rows[pki.default.thumbprint]["roles"] == ["exchange-default"]
    assert rows[pki.smtp.thumbprint]["roles"] == ["smtp"]
    assert rows[other.thumbprint]["roles"] == ["other"]
    smtp_row = rows[pki.smtp.thumbprint]
    assert smtp_row["subject"] == "CN=mail.adatum.com, O=Adatum"
    assert smtp_row["sans"] == ["mail.adatum.com", "adatum.com"]
    assert smtp_row["not_after"] == pki.smtp.not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert smtp_row["pem"] == str(here / f"{pki.smtp.thumbprint}.pem")
    assert smtp_row["key"] == str(here / f"{pki.smtp.thumbprint}.key")

    lines = (pki.folder / "index.txt").read_text().splitlines()
    header = next(line for line in lines if line.startswith("Organization  Server"))
    table = lines[lines.index(header) :]
    assert len(table) == 4
    # Aligned columns: every row's thumbprint starts under the Thumbprint heading.
    column = header.index("Thumbprint")
    assert [row[column : column + 40] for row in table[1:]] == list(rows)
    smtp_line = table[2]
    assert smtp_line.split()[:3] == ["Adatum", "ADATUM-CAS1", "smtp"]
    assert "Adatum/ADATUM-CAS1/smtp-chain.pem" in smtp_line
    assert "Adatum/root-ca.cer" in lines[lines.index("Organization  Root CA") + 1]


def test_exchange_default_is_setups_certificate_not_a_look_alike(pki: Pki) -> None:
    renamed = dataclasses.replace(pki.default, friendly_name="Adatum SMTP")
    look_alike = exchange_default_certificate("ADATUM-CAS1", "mail.adatum.com", at=AT)
    assert exchange_default_of("ADATUM-CAS1", [pki.smtp, renamed]) is None
    assert exchange_default_of("adatum-cas1", [pki.default, look_alike]) is pki.default
    assert exchange_default_of("ADATUM-MBX1", [pki.default]) is None


def test_names_that_cannot_be_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PkiError, match="server name 'A/B' cannot be a folder name"):
        smtp_certificate_paths(tmp_path, "Adatum", "A/B")
    with pytest.raises(PkiError, match="organization name '..'"):
        smtp_certificate_paths(tmp_path, "..", "ADATUM-CAS1")
