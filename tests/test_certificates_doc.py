"""docs/certificates.md's blocks, pasted into bash as they are: the request workflow in one
shell, then openssl playing the CA with the key in the certificate folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "certificates.md"


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def run(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_workflow_block_completes_and_enables_the_requested_certificate(
    tmp_path: Path,
) -> None:
    workflow = blocks()[0]
    done = run(workflow, tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out and "Error" not in out, out
    assert "-----BEGIN NEW CERTIFICATE REQUEST-----" in out
    assert re.search(r"[0-9A-F]{40} \.{7}  CN=mail\.adatum\.com, O=Adatum, C=US", out), out
    tail = out.rsplit("FriendlyName       : Adatum SMTP", 1)[1]
    for line in (
        "Subject            : CN=mail.adatum.com, O=Adatum, C=US",
        "Issuer             : CN=Adatum Root CA, O=Adatum",
        "CertificateDomains : {mail.adatum.com, adatum.com}",
        "Services           : SMTP",
        "Status             : Valid",
        "HasPrivateKey      : True",
    ):
        assert line in tail, tail
    assert (tmp_path / "lab-certs" / "C" / "certreq" / "mail.req").is_file()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_openssl_block_signs_the_request_with_the_names_kept(tmp_path: Path) -> None:
    first, second = blocks()[:2]
    assert run(first, tmp_path).returncode == 0
    done = run(second, tmp_path)
    assert done.returncode == 0, done.stderr
    issued = tmp_path / "lab-certs" / "C" / "certreq" / "openssl.cer"
    text = subprocess.run(
        ["openssl", "x509", "-in", str(issued), "-noout", "-ext", "subjectAltName", "-issuer"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "DNS:mail.adatum.com, DNS:adatum.com" in text
    assert "Adatum Root CA" in text


def test_the_pfx_block_moves_the_certificate_with_its_key(tmp_path: Path) -> None:
    block = blocks()[2]
    done = run(block, tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Error" not in out and "Traceback" not in out, out
    assert out.rstrip().endswith(
        "Subject              : CN=mail.adatum.com, O=Adatum\n"
        "Services             : SMTP\n"
        "HasPrivateKey        : True\n"
        "PrivateKeyExportable : False\n"
        "[PS] Adatum>"
    ), out
