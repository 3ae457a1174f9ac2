"""Real SMTP clients against a simulated CAS: Python's ``smtplib`` and a raw-socket client,
each in a subprocess bound to 127.0.30.1, while the test drives the lab's reactor.

What they check: the header firewall strips forged organization headers from anonymous mail
(§10.1, D10); plaintext pipelined after STARTTLS is discarded (the session restarts at EHLO);
a client certificate presented by an independent TLS stack is what the Partner check (§5.3)
authenticates, and without one MAIL FROM of a listed domain is refused.
"""

from __future__ import annotations

from pathlib import Path

from integration_helpers import (
    CLIENT_ADDRESS,
    certificate_files,
    import_partner_root,
    new_partner_receive_connector,
    protocol_records,
    run_python_peer,
    sessions_from,
    set_lists,
    verbose_default_frontend,
)

from labsim.lab import Lab

SMTPLIB_PEER = r"""
import json, smtplib, ssl, sys
p = json.loads(sys.argv[1])
report = {}
with smtplib.SMTP(p["host"], p["port"], local_hostname=p["helo"],
                  source_address=(p["source"], 0), timeout=30) as smtp:
    smtp.ehlo()
    report["ehlo_features"] = sorted(smtp.esmtp_features)
    if p.get("tls"):
        context = ssl.create_default_context(cafile=p["cafile"])
        context.check_hostname = False  # we connect by address; the chain is still verified
        if p.get("cert"):
            context.load_cert_chain(p["cert"], p["key"])
        code, _ = smtp.starttls(context=context)
        report["starttls"] = code
        report["server_subject"] = [
            "%s=%s" % pair for rdn in smtp.sock.getpeercert()["subject"] for pair in rdn
        ]
        smtp.ehlo()
    report["transactions"] = []
    for t in p.get("transactions") or [p]:
        # One transaction per entry, all on this one session.
        outcome = {}
        try:
            refused = smtp.sendmail(t["mail_from"], t["rcpt"], t["message"].encode())
            outcome["sent"] = True
            outcome["refused_rcpt"] = {k: [v[0], v[1].decode()] for k, v in refused.items()}
        except smtplib.SMTPSenderRefused as err:
            outcome["sent"] = False
            outcome["mail_reply"] = [err.smtp_code, err.smtp_error.decode()]
        report["transactions"].append(outcome)
    report.update(report["transactions"][0])
print(json.dumps(report))
"""

RAW_STARTTLS_INJECTION_PEER = r"""
import json, socket, ssl, sys
p = json.loads(sys.argv[1])
sock = socket.create_connection((p["host"], p["port"]), timeout=30,
                                source_address=(p["source"], 0))
buffer = b""
def reply(read):
    global buffer
    lines = []
    while True:
        while b"\r\n" not in buffer:
            chunk = read(4096)
            if not chunk:
                raise SystemExit("connection closed; got %r" % (lines,))
            buffer += chunk
        line, buffer = buffer.split(b"\r\n", 1)
        lines.append(line.decode())
        if line[3:4] != b"-":
            return lines
report = {"banner": reply(sock.recv)}
# One segment: the command injected after STARTTLS rides in the same packet (CVE-2011-0411).
sock.sendall(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x.test>\r\n")
report["ehlo"] = reply(sock.recv)
report["starttls"] = reply(sock.recv)
report["plaintext_left"] = buffer.decode(errors="replace")
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
tls = context.wrap_socket(sock, server_hostname=None)
report["tls_version"] = tls.version()
def command(line):
    tls.sendall(line.encode() + b"\r\n")
    return reply(tls.recv)
report["mail_before_ehlo"] = command("MAIL FROM:<ok@x.test>")
report["ehlo_after_tls"] = command("EHLO x")
report["mail_after_ehlo"] = command("MAIL FROM:<ok@x.test>")
report["quit"] = command("QUIT")
print(json.dumps(report))
"""


def _message(sender: str, recipient: str, subject: str, extra_headers: str = "") -> str:
    return (
        f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n{extra_headers}"
        "\r\nBody line.\r\n"
    )


def _trey_cas(lab: Lab) -> dict[str, object]:
    return {
        "host": "127.0.20.1",
        "port": lab.world.network.real_port(25),
        "source": CLIENT_ADDRESS,
        "helo": "client.example.test",
    }


def test_forged_authentication_headers_from_an_anonymous_client_are_stripped(
    lab: Lab, tmp_path: Path
) -> None:
    forged = (
        "X-MS-Exchange-Organization-AuthAs: Partner\r\n"
        "X-MS-Exchange-Organization-AuthDomain: forged-domain.test\r\n"
        "X-MS-Exchange-Organization-AuthSource: forged-source.test\r\n"
        "X-MS-Exchange-Organization-AuthMechanism: 02\r\n"
        "X-MS-Exchange-Organization-Classification: forged-classification\r\n"
    )
    report = run_python_peer(
        lab,
        SMTPLIB_PEER,
        {
            **_trey_cas(lab),
            "mail_from": "mallory@fabrikam.test",
            "rcpt": ["ben@treyresearch.net"],
            "message": _message("april@adatum.com", "ben@treyresearch.net", "Forged", forged),
        },
        tmp_path,
        "forger",
    )
    assert report["sent"] is True, report

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.subject == "Forged"
    assert message.mail_from == "mallory@fabrikam.test"
    assert not message.domain_secured
    assert message.headers.get_all("X-MS-Exchange-Organization-AuthAs") == ["Anonymous"]
    assert message.header("X-MS-Exchange-Organization-AuthDomain") is None
    assert message.header("X-MS-Exchange-Organization-AuthSource") == "mail.treyresearch.net"
    header_block = message.content.split(b"\r\n\r\n", 1)[0].decode()
    for value in ("forged-domain.test", "forged-source.test", "forged-classification"):
        assert value not in header_block
    assert "AuthAs: Partner" not in header_block
    # The anonymous session came in from the client's address through Default Frontend.
    received = message.headers.get_all("Received")
    assert any(f"({CLIENT_ADDRESS}) by mail.treyresearch.net" in h for h in received)


def test_plaintext_injected_after_starttls_is_discarded(lab: Lab, tmp_path: Path) -> None:
    verbose_default_frontend(lab, "TreyResearch", "TREY-CAS1")

    report = run_python_peer(lab, RAW_STARTTLS_INJECTION_PEER, _trey_cas(lab), tmp_path, "injector")

    assert report["banner"][0].startswith("220 mail.treyresearch.net Microsoft ESMTP MAIL Service")
    assert "250-STARTTLS" in report["ehlo"]
    assert report["starttls"] == ["220 2.0.0 SMTP server ready"]
    # Nothing answered the injected command in plaintext ...
    assert report["plaintext_left"] == ""
    assert report["tls_version"] in ("TLSv1.2", "TLSv1.3")
    # ... nor inside TLS: the first reply over TLS answers the client's first TLS command, and
    # the session is back to "before EHLO".
    assert report["mail_before_ehlo"] == ["503 5.5.2 Send hello first"]
    assert report["ehlo_after_tls"][0] == f"250-mail.treyresearch.net Hello [{CLIENT_ADDRESS}]"
    assert not any("STARTTLS" in line for line in report["ehlo_after_tls"])
    assert report["mail_after_ehlo"] == ["250 2.1.0 Sender OK"]
    assert report["quit"][0].startswith("221 ")

    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    (session,) = sessions_from(records, CLIENT_ADDRESS).values()
    received = [r["data"] for r in session if r["event"] == "<"]
    assert "MAIL FROM:<evil@x.test>" not in received
    assert not any("evil@x.test" in r["data"] for r in session)
    assert received == [
        "EHLO x",
        "STARTTLS",
        "MAIL FROM:<ok@x.test>",
        "EHLO x",
        "MAIL FROM:<ok@x.test>",
        "QUIT",
    ]
    sent = [r["data"] for r in session if r["event"] == ">"]
    assert "503 5.5.2 Send hello first" in sent


def _trust_adatum_client(lab: Lab) -> None:
    import_partner_root(lab, "TreyResearch")
    set_lists(lab, "TreyResearch", send="adatum.com", receive="adatum.com")
    new_partner_receive_connector(lab, "TreyResearch", remote=CLIENT_ADDRESS)


def test_smtplib_with_the_partner_client_certificate_is_domain_secured(
    lab: Lab, tmp_path: Path
) -> None:
    _trust_adatum_client(lab)
    cert, key = certificate_files(lab, "Adatum", "ADATUM-CAS1", "mail.adatum.com")
    assert cert.exists() and key.exists()

    report = run_python_peer(
        lab,
        SMTPLIB_PEER,
        {
            **_trey_cas(lab),
            "helo": "mail.adatum.com",
            "tls": True,
            "cafile": str(lab.cert_folder / "TreyResearch" / "root-ca.cer"),
            "cert": str(cert),
            "key": str(key),
            "mail_from": "april@adatum.com",
            "rcpt": ["ben@treyresearch.net"],
            "message": _message("april@adatum.com", "ben@treyresearch.net", "From smtplib"),
        },
        tmp_path,
        "smtplib-cert",
    )

    assert "starttls" in report["ehlo_features"]
    assert report["starttls"] == 220
    # smtplib verified the lab's server chain against TreyResearch's root file.
    assert "commonName=mail.treyresearch.net" in report["server_subject"]
    assert report["sent"] is True, report
    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.subject == "From smtplib"
    assert message.domain_secured
    assert message.auth_as == "Partner"
    assert message.header("X-MS-Exchange-Organization-AuthDomain") == "adatum.com"
    # The receiver authenticated the certificate smtplib actually sent.
    thumbprint = cert.stem
    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    (session,) = sessions_from(records, CLIENT_ADDRESS).values()
    assert session[0]["connector-id"] == "TREY-CAS1\\From Adatum"
    index = [r["context"] for r in session].index("Received certificate")
    assert session[index + 1]["data"] == thumbprint


def test_smtplib_without_a_client_certificate_is_not_authenticated(
    lab: Lab, tmp_path: Path
) -> None:
    _trust_adatum_client(lab)

    report = run_python_peer(
        lab,
        SMTPLIB_PEER,
        {
            **_trey_cas(lab),
            "helo": "mail.adatum.com",
            "tls": True,
            "cafile": str(lab.cert_folder / "TreyResearch" / "root-ca.cer"),
            "mail_from": "april@adatum.com",
            "rcpt": ["ben@treyresearch.net"],
            "message": _message("april@adatum.com", "ben@treyresearch.net", "No cert"),
        },
        tmp_path,
        "smtplib-nocert",
    )

    assert report["starttls"] == 220
    assert report["sent"] is False
    assert report["mail_reply"] == [530, "5.7.1 Not authenticated"]
    assert lab.inbox("ben@treyresearch.net") == ()


def test_partner_identity_is_evaluated_again_for_each_message_of_a_session(
    lab: Lab, tmp_path: Path
) -> None:
    # §5.3: a Partner identity from a previous MAIL FROM is reset before the next one, so a
    # second message on the same authenticated TLS session from an unlisted domain is
    # anonymous, and the Partner connector grants anonymous sessions nothing (D11).
    _trust_adatum_client(lab)
    cert, key = certificate_files(lab, "Adatum", "ADATUM-CAS1", "mail.adatum.com")

    report = run_python_peer(
        lab,
        SMTPLIB_PEER,
        {
            **_trey_cas(lab),
            "helo": "mail.adatum.com",
            "tls": True,
            "cafile": str(lab.cert_folder / "TreyResearch" / "root-ca.cer"),
            "cert": str(cert),
            "key": str(key),
            "transactions": [
                {
                    "mail_from": "april@adatum.com",
                    "rcpt": ["ben@treyresearch.net"],
                    "message": _message("april@adatum.com", "ben@treyresearch.net", "First"),
                },
                {
                    "mail_from": "mallory@fabrikam.test",
                    "rcpt": ["ben@treyresearch.net"],
                    "message": _message("mallory@fabrikam.test", "ben@treyresearch.net", "Second"),
                },
                {
                    "mail_from": "ed@adatum.com",
                    "rcpt": ["terry@treyresearch.net"],
                    "message": _message("ed@adatum.com", "terry@treyresearch.net", "Third"),
                },
            ],
        },
        tmp_path,
        "smtplib-session",
    )

    first, second, third = report["transactions"]
    assert first["sent"] is True
    assert second == {"sent": False, "mail_reply": [530, "5.7.1 Client was not authenticated"]}
    assert third["sent"] is True
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["First"]
    (first_message,) = lab.inbox("ben@treyresearch.net")
    (third_message,) = lab.inbox("terry@treyresearch.net")
    for message in (first_message, third_message):
        assert message.domain_secured
        assert message.header("X-MS-Exchange-Organization-AuthDomain") == "adatum.com"
