"""Clients that misbehave at the socket level must not wedge the lab: a client that vanishes in
the middle of DATA (while the CAS holds a proxy session to the Mailbox server: after RCPT when
the Mailbox server offers CHUNKING and the message would go on as BDAT, inside DATA when it
does not), one that connects and
leaves, and one that sends garbage instead of a TLS handshake. Each time the lab must become
idle again (``run_until_idle`` returns), deliver nothing partial, log no unhandled error (the
suite's conftest fails the test on one), and still serve the next client."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration_helpers import (
    CLIENT_ADDRESS,
    protocol_records,
    run_python_peer,
    sessions_from,
    sh,
    tracking_records,
    verbose_default_frontend,
)

from labsim.lab import Lab

RUDE_CLIENTS = r"""
import json, socket, sys
p = json.loads(sys.argv[1])
report = {}
def connect():
    sock = socket.create_connection((p["host"], p["port"]), timeout=30,
                                    source_address=(p["source"], 0))
    return sock, sock.makefile("rb")
def reply(f):
    lines = []
    while True:
        line = f.readline().decode().rstrip("\r\n")
        lines.append(line)
        if line[3:4] != "-":
            return lines
# 1. connect, leave without a word
sock, f = connect(); sock.close()
# 2. vanish in the middle of the message
sock, f = connect(); reply(f)
for command in ["EHLO rude.example.test", "MAIL FROM:<rude@fabrikam.test>",
                "RCPT TO:<ben@treyresearch.net>", "DATA"]:
    sock.sendall(command.encode() + b"\r\n")
    report[command.split(":")[0].split(" ")[0]] = reply(f)[-1]
sock.sendall(b"Subject: Partial\r\n\r\nhalf a bo")
sock.close()
# 3. STARTTLS, then garbage instead of a ClientHello
sock, f = connect(); reply(f)
sock.sendall(b"EHLO rude.example.test\r\n"); reply(f)
sock.sendall(b"STARTTLS\r\n"); report["STARTTLS"] = reply(f)[-1]
sock.sendall(b"this is not TLS\r\n" * 8)
report["after_garbage"] = sock.recv(4096).hex()[:16]  # an alert or nothing, then close
sock.close()
# 4. a polite client afterwards still gets its message through
sock, f = connect(); reply(f)
for command in ["EHLO polite.example.test", "MAIL FROM:<polite@fabrikam.test>",
                "RCPT TO:<ben@treyresearch.net>", "DATA"]:
    sock.sendall(command.encode() + b"\r\n"); reply(f)
sock.sendall(b"Subject: Complete\r\n\r\nwhole body\r\n.\r\n")
report["final"] = reply(f)[-1]
sock.sendall(b"QUIT\r\n"); reply(f)
print(json.dumps(report))
"""


@pytest.mark.parametrize("chunking", ["$true", "$false"])
def test_rude_clients_do_not_wedge_the_lab(lab: Lab, tmp_path: Path, chunking: str) -> None:
    verbose_default_frontend(lab, "TreyResearch", "TREY-CAS1")
    # Without CHUNKING on 2525 the CAS relays DATA, so its proxy session is mid-DATA when the
    # client vanishes (the proxy must drop it rather than send QUIT as message text).
    sh(
        lab,
        "TreyResearch",
        f'Set-ReceiveConnector "TREY-MBX1\\Default TREY-MBX1" -ChunkingEnabled {chunking} '
        "-ProtocolLoggingLevel Verbose",
    )

    report = run_python_peer(
        lab,
        RUDE_CLIENTS,
        {"host": "127.0.20.1", "port": lab.world.network.real_port(25), "source": CLIENT_ADDRESS},
        tmp_path,
        "rude",
    )

    # The CAS had accepted the envelope (so its proxy session to TREY-MBX1 was open).
    assert report["RCPT"] == "250 2.1.5 Recipient OK"
    assert report["DATA"].startswith("354 ")
    assert report["STARTTLS"] == "220 2.0.0 SMTP server ready"
    assert report["final"].startswith("250 2.6.0 ")
    assert lab.world.activity.idle

    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["Complete"]
    received = [
        r["message-subject"]
        for r in tracking_records(lab.tracking_log("TreyResearch", "TREY-MBX1"))
        if r["event-id"] == "RECEIVE"
    ]
    assert received == ["Complete"]
    hop = protocol_records(lab.protocol_log("TreyResearch", "TREY-MBX1", "receive"))
    verbs = [r["data"].split(" ")[0] for r in hop if r["event"] == "<"]
    if chunking == "$false":
        assert verbs.count("DATA") == 2 and "BDAT" not in verbs  # the vanished one, Complete
    else:
        assert verbs.count("BDAT") == 1 and "DATA" not in verbs  # only Complete went on

    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    sessions = sessions_from(records, CLIENT_ADDRESS)
    assert len(sessions) == 4
    for session in sessions.values():  # every session was closed and logged as such
        assert session[-1]["event"] == "-"
