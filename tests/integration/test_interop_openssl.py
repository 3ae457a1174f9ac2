"""``openssl s_client -starttls smtp`` against TREY-CAS1: an independent TLS stack completes
the handshake, verifies the lab's chain and name with TreyResearch's root file, and talks to
Exchange's SMTP service over TLS; the receive protocol log records the session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from integration_helpers import (
    CLIENT_ADDRESS,
    protocol_records,
    run_peer,
    sessions_from,
    verbose_default_frontend,
)

from labsim.lab import Lab

OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="the openssl command-line tool is not installed")
def test_openssl_s_client_starttls_handshake(lab: Lab, tmp_path: Path) -> None:
    assert OPENSSL is not None
    verbose_default_frontend(lab, "TreyResearch", "TREY-CAS1")
    port = lab.world.network.real_port(25)
    root = lab.cert_folder / "TreyResearch" / "root-ca.cer"

    # -ign_eof: keep the session open after our two lines until the server closes it (QUIT),
    # so the replies are read before s_client exits; no timing involved.
    result = run_peer(
        lab,
        [
            OPENSSL,
            "s_client",
            "-starttls",
            "smtp",
            "-name",
            "client.example.test",
            "-connect",
            f"127.0.20.1:{port}",
            "-bind",
            f"{CLIENT_ADDRESS}:0",
            "-CAfile",
            str(root),
            "-verify_hostname",
            "mail.treyresearch.net",
            "-verify_return_error",
            "-nameopt",
            "RFC2253",  # most significant RDN first, as Windows shows it: CN=…,O=…
            "-crlf",
            "-ign_eof",
        ],
        tmp_path,
        stdin=b"EHLO client.example.test\nQUIT\n",
        name="s_client",
    )

    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    subject = re.search(r"^subject=(.*)$", out, re.MULTILINE)
    assert subject, out
    assert subject.group(1) == "CN=mail.treyresearch.net,O=TreyResearch"
    assert "Verify return code: 0 (ok)" in out
    assert re.search(r"Protocol\s*: TLSv1\.2", out), out
    # Exchange's own words over the encrypted channel: the EHLO reply, then QUIT's.
    assert f"250-mail.treyresearch.net Hello [{CLIENT_ADDRESS}]" in out
    assert "221 2.0.0 Service closing transmission channel" in out

    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    (session,) = sessions_from(records, CLIENT_ADDRESS).values()
    assert session[0]["connector-id"] == "TREY-CAS1\\Default Frontend TREY-CAS1"
    # The banner s_client read before STARTTLS is Exchange's.
    banner = next(r["data"] for r in session if r["event"] == ">")
    assert banner.startswith("220 mail.treyresearch.net Microsoft ESMTP MAIL Service ready at ")
    received = [r["data"] for r in session if r["event"] == "<"]
    assert received == [
        "EHLO client.example.test",
        "STARTTLS",
        "EHLO client.example.test",
        "QUIT",
    ]
    assert any(
        r["context"].startswith("TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded")
        for r in session
    )
    assert session[-1]["event"] == "-"
