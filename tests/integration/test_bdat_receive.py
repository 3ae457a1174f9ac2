"""BDAT (RFC 3030 CHUNKING) received over real TLS from a raw-socket client, and the receive
connector's ChunkingEnabled / BinaryMimeEnabled switches, end to end.

Python's smtplib and swaks cannot send BDAT, so the client is a raw socket in a subprocess
(bound to 127.0.30.1) that starts TLS with Python's ssl module and writes the chunks itself;
the test drives the lab's reactor. What it checks: the message arrives exactly as the chunks
carried it (dot lines included: nothing is unstuffed), the intermediate chunk and the LAST one
get their replies, the CAS's receive log shows the BDAT lines as Exchange's does, the CAS's hop
to the Mailbox server carries the message as one ``BDAT <n> LAST``; with ChunkingEnabled $false
CHUNKING leaves the EHLO and BDAT is an unknown verb, with BinaryMimeEnabled $false
``BODY=BINARYMIME`` is refused.
"""

from __future__ import annotations

import re
from pathlib import Path

from integration_helpers import (
    CLIENT_ADDRESS,
    protocol_records,
    run_python_peer,
    sessions_from,
    sh,
    verbose_default_frontend,
)

from labsim.lab import Lab

BDAT_PEER = r"""
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
sock.sendall(b"EHLO client.example.test\r\n")
report["ehlo_plain"] = reply(sock.recv)
sock.sendall(b"STARTTLS\r\n")
report["starttls"] = reply(sock.recv)
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
tls = context.wrap_socket(sock, server_hostname=None)
def command(data):
    tls.sendall(data)
    return reply(tls.recv)
report["ehlo"] = command(b"EHLO client.example.test\r\n")
report["mail"] = command(p["mail"].encode() + b"\r\n")
report["rcpt"] = command(b"RCPT TO:<ben@treyresearch.net>\r\n")
first, last = p["first"].encode(), p["last"].encode()
# Both chunks in one write (BDAT may be pipelined): each reply follows its chunk's octets.
tls.sendall(b"BDAT %d\r\n" % len(first) + first + b"BDAT %d LAST\r\n" % len(last) + last)
report["chunk"] = reply(tls.recv)
report["last"] = reply(tls.recv)
report["quit"] = command(b"QUIT\r\n")
print(json.dumps(report))
"""

FIRST = "From: mallory@fabrikam.test\r\nTo: ben@treyresearch.net\r\nSubject: Chunked\r\n\r\n"
# A lone dot and leading dots: content under BDAT, never an end or a stuffed dot.
LAST = "First line.\r\n.\r\n..two dots stay two\r\nLast line.\r\n"


def _peer(lab: Lab, tmp_path: Path, name: str, mail: str) -> dict[str, list[str]]:
    params = {
        "host": "127.0.20.1",
        "port": lab.world.network.real_port(25),
        "source": CLIENT_ADDRESS,
        "mail": mail,
        "first": FIRST,
        "last": LAST,
    }
    report: dict[str, list[str]] = run_python_peer(lab, BDAT_PEER, params, tmp_path, name)
    return report


def test_bdat_chunks_over_tls_arrive_exactly_and_are_logged(lab: Lab, tmp_path: Path) -> None:
    verbose_default_frontend(lab, "TreyResearch", "TREY-CAS1")
    sh(
        lab,
        "TreyResearch",
        'Set-ReceiveConnector "TREY-MBX1\\Default TREY-MBX1" -ProtocolLoggingLevel Verbose',
    )
    report = _peer(lab, tmp_path, "bdat", "MAIL FROM:<mallory@fabrikam.test> BODY=BINARYMIME")

    assert report["ehlo"][-3:] == ["250-8BITMIME", "250-BINARYMIME", "250 CHUNKING"]
    assert report["mail"] == ["250 2.1.0 Sender OK"]
    assert report["chunk"] == [f"250 2.6.0 CHUNK received OK, {len(FIRST)} octets"]
    (last,) = report["last"]
    # The CAS relays the Mailbox server's reply to the message (§17 C9 form on the 2525 hop).
    assert re.fullmatch(
        r"250 2\.6\.0 <[^>]+> \[InternalId=\d+, Hostname=trey-mbx1\.treyresearch\.net\] "
        r"\d+ bytes in \d+\.\d{3}, \d+\.\d{3} KB/sec Queued mail for delivery",
        last,
    ), last

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.subject == "Chunked"
    assert message.content.endswith(b"\r\n\r\n" + LAST.encode())

    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    (session,) = sessions_from(records, CLIENT_ADDRESS).values()
    lines = [(r["event"], r["data"]) for r in session]
    chunk_at = lines.index(("<", f"BDAT {len(FIRST)}"))
    assert lines[chunk_at + 1] == (">", f"250 2.6.0 CHUNK received OK, {len(FIRST)} octets")
    assert lines[chunk_at + 2] == ("<", f"BDAT {len(LAST)} LAST")
    assert lines[chunk_at + 3] == (">", last)
    # The CAS proxied the whole message to the Mailbox server as one chunk.
    hop = protocol_records(lab.protocol_log("TreyResearch", "TREY-MBX1", "receive"))
    received = [r["data"] for r in hop if r["event"] == "<"]
    (bdat,) = [d for d in received if d.startswith("BDAT ")]
    assert re.fullmatch(r"BDAT \d+ LAST", bdat) and "DATA" not in received


def test_chunking_and_binarymime_switched_off_are_no_longer_offered(
    lab: Lab, tmp_path: Path
) -> None:
    sh(
        lab,
        "TreyResearch",
        'Set-ReceiveConnector "TREY-CAS1\\Default Frontend TREY-CAS1" -ChunkingEnabled $false '
        "-BinaryMimeEnabled $false",
    )
    shown = sh(
        lab,
        "TreyResearch",
        'Get-ReceiveConnector "Default Frontend TREY-CAS1" | FL BinaryMimeEnabled,ChunkingEnabled',
    )
    assert "BinaryMimeEnabled : False" in shown and "ChunkingEnabled   : False" in shown
    params = {
        "host": "127.0.20.1",
        "port": lab.world.network.real_port(25),
        "source": CLIENT_ADDRESS,
        "mail": "MAIL FROM:<mallory@fabrikam.test> BODY=BINARYMIME",
    }
    script = BDAT_PEER.split('report["rcpt"]')[0] + "print(json.dumps(report))\n"
    report = run_python_peer(lab, script, params, tmp_path, "binarymime-off")
    assert report["ehlo"][-1] == "250 8BITMIME"
    assert not any("CHUNKING" in x or "BINARYMIME" in x for x in report["ehlo"])
    assert report["mail"] == ["501 5.5.4 Invalid arguments"]
    # BDAT is then a verb the connector does not know.
    params["mail"] = "MAIL FROM:<mallory@fabrikam.test>"
    script = BDAT_PEER.split("first, last")[0] + (
        'report["bdat"] = command(b"BDAT 4 LAST\\r\\n")\nprint(json.dumps(report))\n'
    )
    report = run_python_peer(lab, script, params, tmp_path, "chunking-off")
    assert report["rcpt"] == ["250 2.1.5 Recipient OK"]
    assert report["bdat"] == ["500 5.3.3 Unrecognized command"]
