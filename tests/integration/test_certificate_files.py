"""The certificate files a person is told to use, checked against the running lab.

``smtp.pem`` must be the certificate the server really presents in a STARTTLS handshake (read
with ``openssl s_client``), the files and the index must follow the certificate cmdlets, and
the commands certs/README.md shows (swaks and openssl s_client acting as TREY-CAS1 towards
ADATUM-CAS1) must be accepted as Domain Security by the lab itself.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from integration_helpers import (
    CLIENT_ADDRESS,
    PARTNERS,
    import_partner_root,
    new_partner_receive_connector,
    protocol_records,
    run_peer,
    sessions_from,
    set_lists,
    sh,
)

from labsim.lab import Lab
from labsim.model.lab import ISSUER_INTERMEDIATE, LabDefinition, default_lab
from labsim.pki.certificate import thumbprint_of
from labsim.pki.files import smtp_certificate_paths

OPENSSL = shutil.which("openssl")
SWAKS = shutil.which("swaks")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl tool is not installed")

TREY_CAS = "TREY-CAS1"
TREY_ADDRESS = PARTNERS["Adatum"][3]  # 127.0.20.1
ADATUM_ADDRESS = PARTNERS["TreyResearch"][3]  # 127.0.10.1


def _first_certificate(text: str) -> x509.Certificate:
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.DOTALL)
    assert match, text
    return x509.load_pem_x509_certificate(match.group(0).encode())


def _presented(lab: Lab, tmp_path: Path, address: str, name: str) -> x509.Certificate:
    """The certificate the server at ``address`` presents after STARTTLS on port 25."""
    assert OPENSSL is not None
    result = run_peer(
        lab,
        [
            OPENSSL,
            "s_client",
            "-starttls",
            "smtp",
            "-connect",
            f"{address}:{lab.world.network.real_port(25)}",
            "-bind",
            f"{CLIENT_ADDRESS}:0",
            "-crlf",
            "-ign_eof",
        ],
        tmp_path,
        stdin=b"QUIT\n",
        name=name,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return _first_certificate(result.stdout)


def _smtp_certificate(lab: Lab, org: str, server: str) -> x509.Certificate:
    path = smtp_certificate_paths(lab.cert_folder, org, server).cert
    (certificate,) = x509.load_pem_x509_certificates(path.read_bytes())
    return certificate


def _index(lab: Lab) -> dict[str, object]:
    data: dict[str, object] = json.loads((lab.cert_folder / "index.json").read_text())
    return data


def _indexed_roles(lab: Lab, org: str, server: str) -> dict[str, list[str]]:
    organizations = _index(lab)["organizations"]
    assert isinstance(organizations, dict)
    rows = organizations[org]["servers"][server]["certificates"]
    return {row["thumbprint"]: row["roles"] for row in rows}


@needs_openssl
def test_smtp_pem_is_the_certificate_the_server_presents(lab: Lab, tmp_path: Path) -> None:
    presented = _presented(lab, tmp_path, TREY_ADDRESS, "s_client-trey")
    assert _smtp_certificate(lab, "TreyResearch", TREY_CAS) == presented
    assert presented.subject.rfc4514_string() == "CN=mail.treyresearch.net,O=TreyResearch"

    paths = smtp_certificate_paths(lab.cert_folder, "TreyResearch", TREY_CAS)
    root = lab.cert_folder / "TreyResearch" / "root-ca.cer"
    assert OPENSSL is not None
    verified = subprocess.run(
        [OPENSSL, "verify", "-CAfile", str(root), "-untrusted", str(paths.chain), str(paths.cert)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The index names, for every server, exactly the certificates of its store.
    for org in lab.world.organizations.values():
        for server in org.servers:
            roles = _indexed_roles(lab, org.name, server.name)
            store = lab.world.stores[server.name].personal()
            assert list(roles) == [c.thumbprint for c in store]
    assert _indexed_roles(lab, "TreyResearch", TREY_CAS)[thumbprint_of(presented)] == ["smtp"]


def _new_certificate(lab: Lab, server: str, cmdlet: str) -> str:
    before = {c.thumbprint for c in lab.world.stores[server].personal()}
    sh(lab, "TreyResearch", cmdlet)
    (thumbprint,) = {c.thumbprint for c in lab.world.stores[server].personal()} - before
    return thumbprint


@needs_openssl
def test_certificate_cmdlets_rewrite_the_smtp_files_and_the_index(lab: Lab, tmp_path: Path) -> None:
    folder = lab.cert_folder / "TreyResearch" / TREY_CAS
    original = _smtp_certificate(lab, "TreyResearch", TREY_CAS)

    # A newer certificate for the same names, not yet enabled for SMTP: nothing changes for SMTP.
    newer = _new_certificate(
        lab,
        TREY_CAS,
        f'New-LabCertificate -Server {TREY_CAS} -Issuer own -SubjectName "CN=mail.treyresearch.net" '
        "-DomainName mail.treyresearch.net,treyresearch.net -Services IIS",
    )
    assert (folder / f"{newer}.pem").exists() and (folder / f"{newer}.key").exists()
    assert _smtp_certificate(lab, "TreyResearch", TREY_CAS) == original
    assert _indexed_roles(lab, "TreyResearch", TREY_CAS)[newer] == ["other"]

    # Enabled for SMTP, it is the newest eligible one: the server presents it, smtp.* follow.
    sh(lab, "TreyResearch", f"Enable-ExchangeCertificate -Thumbprint {newer} -Services SMTP")
    enabled = _smtp_certificate(lab, "TreyResearch", TREY_CAS)
    assert thumbprint_of(enabled) == newer
    assert _presented(lab, tmp_path, TREY_ADDRESS, "s_client-enabled") == enabled
    assert (folder / "smtp.key").read_bytes() == (folder / f"{newer}.key").read_bytes()
    assert _indexed_roles(lab, "TreyResearch", TREY_CAS)[newer] == ["smtp"]

    # Removed again: back to the first certificate, and the removed one's files are gone.
    sh(lab, "TreyResearch", f"Remove-ExchangeCertificate -Thumbprint {newer} -Server {TREY_CAS}")
    assert _smtp_certificate(lab, "TreyResearch", TREY_CAS) == original
    assert _presented(lab, tmp_path, TREY_ADDRESS, "s_client-removed") == original
    assert not (folder / f"{newer}.pem").exists()
    assert not (folder / f"{newer}.key").exists()
    assert newer not in _indexed_roles(lab, "TreyResearch", TREY_CAS)

    # New-ExchangeCertificate: a self-signed look-alike of setup's; the CA-issued one stays SMTP.
    self_signed = _new_certificate(lab, TREY_CAS, f"New-ExchangeCertificate -Server {TREY_CAS}")
    assert (folder / f"{self_signed}.pem").exists()
    roles = _indexed_roles(lab, "TreyResearch", TREY_CAS)
    assert roles[self_signed] == ["other"]
    assert roles[thumbprint_of(original)] == ["smtp"]
    assert sorted(role for r in roles.values() for role in r) == [
        "exchange-default",
        "other",
        "smtp",
    ]


def _adatum_accepts_trey_cas(lab: Lab) -> None:
    """ADATUM-CAS1 takes Domain Security mail from TREY-CAS1's address (the walkthrough's
    receiving side: TreyResearch's root, the receive list, a Partner receive connector)."""
    import_partner_root(lab, "Adatum")
    set_lists(lab, "Adatum", send=None, receive="treyresearch.net")
    new_partner_receive_connector(lab, "Adatum")


@pytest.mark.skipif(SWAKS is None, reason="swaks is not installed")
def test_swaks_with_the_smtp_files_sends_as_trey_cas1(lab: Lab, tmp_path: Path) -> None:
    assert SWAKS is not None
    _adatum_accepts_trey_cas(lab)
    paths = smtp_certificate_paths(lab.cert_folder, "TreyResearch", TREY_CAS)
    # The command of certs/README.md.
    result = run_peer(
        lab,
        [
            SWAKS,
            "--server",
            f"{ADATUM_ADDRESS}:{lab.world.network.real_port(25)}",
            "--local-interface",
            TREY_ADDRESS,
            "--ehlo",
            "mail.treyresearch.net",
            "--from",
            "ben@treyresearch.net",
            "--to",
            "april@adatum.com",
            "--header",
            "Subject: From swaks",
            "--tls",
            "--tls-cert",
            str(paths.chain),
            "--tls-key",
            str(paths.key),
        ],
        tmp_path,
        name="swaks",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (message,) = lab.inbox("april@adatum.com")
    assert message.subject == "From swaks"
    assert message.domain_secured
    assert message.auth_as == "Partner"


def _issued_by_intermediate(definition: LabDefinition, org_name: str) -> LabDefinition:
    """``definition`` with the CAS certificate of ``org_name`` issued by an intermediate CA."""
    organizations = tuple(
        dataclasses.replace(
            o,
            certificates=tuple(
                dataclasses.replace(spec, issuer=ISSUER_INTERMEDIATE) for spec in o.certificates
            ),
        )
        if o.organization.name == org_name
        else o
        for o in definition.organizations
    )
    return dataclasses.replace(definition, organizations=organizations)


@needs_openssl
def test_openssl_s_client_with_the_chain_file_is_a_partner_even_through_an_intermediate(
    start_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    # Adatum trusts TreyResearch's root only: the intermediate must come from the chain file.
    lab = start_lab(_issued_by_intermediate(default_lab(), "TreyResearch"))
    _adatum_accepts_trey_cas(lab)
    paths = smtp_certificate_paths(lab.cert_folder, "TreyResearch", TREY_CAS)
    assert len(x509.load_pem_x509_certificates(paths.chain.read_bytes())) == 3
    assert OPENSSL is not None
    # The command of certs/README.md; MAIL FROM is where Exchange checks the certificate.
    result = run_peer(
        lab,
        [
            OPENSSL,
            "s_client",
            "-starttls",
            "smtp",
            "-name",
            "mail.treyresearch.net",
            "-connect",
            f"{ADATUM_ADDRESS}:{lab.world.network.real_port(25)}",
            "-bind",
            f"{TREY_ADDRESS}:0",
            "-cert",
            str(paths.cert),
            "-key",
            str(paths.key),
            "-cert_chain",
            str(paths.chain),
            "-CAfile",
            str(lab.cert_folder / "Adatum" / "root-ca.cer"),
            "-verify_hostname",
            "mail.adatum.com",
            "-verify_return_error",
            "-crlf",
            "-ign_eof",
        ],
        tmp_path,
        stdin=b"EHLO mail.treyresearch.net\nMAIL FROM:<ben@treyresearch.net>\nQUIT\n",
        name="s_client-partner",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verify return code: 0 (ok)" in result.stdout
    assert "250 2.1.0 Sender OK" in result.stdout, result.stdout

    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-CAS1", "receive"))
    (session,) = sessions_from(records, TREY_ADDRESS).values()
    assert session[0]["connector-id"] == "ADATUM-CAS1\\From TreyResearch"
    index = [r["context"] for r in session].index("Received certificate")
    assert session[index + 1]["data"] == thumbprint_of(
        x509.load_pem_x509_certificate(paths.cert.read_bytes())
    )
