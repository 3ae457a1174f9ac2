"""The TLS success line and the EHLO answer in the protocol logs of a real lab session, in
Exchange 2013's forms (docs/exchange-reference.md §17 C3 and C4)."""

from __future__ import annotations

from pathlib import Path

from integration_helpers import protocol_records, sh, verbose_default_frontend

from labsim.lab import Lab
from labsim.model.lab import default_lab

SUCCESS = (
    "TLS protocol SP_PROT_TLS1_2_{side} negotiation succeeded using bulk encryption algorithm "
    "CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits "
    "and key exchange algorithm CALG_ECDHE with strength 256 bits"
)

Records = list[dict[str, str]]


def _tls_session_logs(tmp_path: Path) -> tuple[Records, Records]:
    """Adatum's send log and TreyResearch's receive log after one message over TLS."""
    lab = Lab.start(default_lab(), cert_folder=tmp_path / "certs")
    try:
        sh(
            lab,
            "Adatum",
            'New-SendConnector -Name "To TreyResearch (TLS)" -AddressSpaces '
            '"SMTP:treyresearch.net;1" -RequireTLS $true -SourceTransportServers ADATUM-MBX1 '
            "-ProtocolLoggingLevel Verbose",
        )
        verbose_default_frontend(lab, "TreyResearch", "TREY-CAS1")
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="tls")
        assert lab.inbox("ben@treyresearch.net")[-1].subject == "tls"
        return (
            protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send")),
            protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive")),
        )
    finally:
        lab.stop()


def test_tls_success_line_in_both_logs(tmp_path: Path) -> None:
    send, receive = _tls_session_logs(tmp_path)
    # The lab's certificates are ECDSA P-256: ECDHE-ECDSA-AES256-GCM-SHA384 on P-256, an AEAD
    # suite, so the MAC hash has strength 0.
    assert SUCCESS.format(side="CLIENT") in [r["context"] for r in send if r["event"] == "*"]
    assert SUCCESS.format(side="SERVER") in [r["context"] for r in receive if r["event"] == "*"]


def test_send_log_has_one_record_per_ehlo_line(tmp_path: Path) -> None:
    send, _receive = _tls_session_logs(tmp_path)
    # TREY-CAS1's EHLO answer before TLS, then after it (no STARTTLS any more).
    answers = [r["data"] for r in send if r["event"] == "<"]
    hello = "250-mail.treyresearch.net Hello [127.0.10.2]"
    first = answers.index(hello)
    # BINARYMIME and CHUNKING follow 8BITMIME, as on a 2013 connector (§17 C4).
    assert answers[first : first + 10] == [
        hello,
        "250-SIZE 37748736",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        "250-STARTTLS",
        "250-X-EXPS GSSAPI NTLM",
        "250-8BITMIME",
        "250-BINARYMIME",
        "250 CHUNKING",
    ]
    again = answers.index(hello, first + 1)
    assert answers[again : again + 9] == [
        hello,
        "250-SIZE 37748736",
        "250-PIPELINING",
        "250-DSN",
        "250-ENHANCEDSTATUSCODES",
        "250-X-EXPS GSSAPI NTLM",
        "250-8BITMIME",
        "250-BINARYMIME",
        "250 CHUNKING",
    ]
    # Single-line replies stay one record each.
    assert "220 2.0.0 SMTP server ready" in answers


def test_the_message_travels_as_one_bdat_last_in_both_logs(tmp_path: Path) -> None:
    send, receive = _tls_session_logs(tmp_path)
    sent = [(r["event"], r["data"]) for r in send if r["event"] in "<>"]
    # The Mailbox server's send log: the BDAT line, then TREY-CAS1's reply to the message
    # (relayed from TREY-MBX1), never DATA or a <message …> record.
    (at,) = [n for n, (e, d) in enumerate(sent) if e == ">" and d.startswith("BDAT ")]
    size = int(sent[at][1].split(" ")[1])
    assert sent[at][1] == f"BDAT {size} LAST"
    assert sent[at + 1][0] == "<" and sent[at + 1][1].startswith("250 2.6.0 <")
    assert (">", "DATA") not in sent and not any(d.startswith("<message") for _, d in sent)
    # TREY-CAS1's receive log: the same line as received, and the same reply as sent.
    got = [(r["event"], r["data"]) for r in receive if r["event"] in "<>"]
    here = got.index(("<", f"BDAT {size} LAST"))
    assert got[here + 1] == (">", sent[at + 1][1])
