"""A message the CAS refuses itself (over its MaxMessageSize) while it holds a proxy session
to the Mailbox server: the client's next transaction on the same connection must travel with
its own sender, whatever state the proxy hop was left in.

The proxy hop opens at the first RCPT. When the Mailbox server offers CHUNKING the CAS keeps the
message and would send it as BDAT, so the hop waits after RCPT; without CHUNKING the CAS relays
DATA, so the hop is inside DATA. Either way the CAS's own 552 must end the downstream
transaction too: before, the next transaction's RCPT was relayed into the old one (the old
sender) or failed on a hop still waiting for message data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from integration_helpers import CLIENT_ADDRESS, run_python_peer, sh

from labsim.lab import Lab

TWO_TRANSACTIONS = r"""
import json, socket, sys
p = json.loads(sys.argv[1])
sock = socket.create_connection((p["host"], p["port"]), timeout=30,
                                source_address=(p["source"], 0))
f = sock.makefile("rb")
def reply():
    lines = []
    while True:
        line = f.readline().decode().rstrip("\r\n")
        if not line:
            raise SystemExit("connection closed; got %r" % (lines,))
        lines.append(line)
        if line[3:4] != "-":
            return lines[-1]
def command(line):
    sock.sendall(line.encode() + b"\r\n")
    return reply()
report = {"banner": reply(), "ehlo": command("EHLO client.example.test")}
def transaction(sender, subject, size):
    body = ("Subject: %s\r\n\r\n" % subject + "x" * size + "\r\n").encode()
    out = {"mail": command("MAIL FROM:<%s>" % sender),
           "rcpt": command("RCPT TO:<ben@treyresearch.net>")}
    if p["verb"] == "DATA":
        out["data"] = command("DATA")
        sock.sendall(body + b".\r\n")
    else:
        # The first chunk carries the whole body; an empty LAST chunk ends the message.
        sock.sendall(b"BDAT %d\r\n" % len(body) + body)
        out["chunk"] = reply()
        if out["chunk"].startswith("250"):
            sock.sendall(b"BDAT 0 LAST\r\n")
        else:
            sock.sendall(b"RSET\r\n")
    out["end"] = reply()
    return out
report["first"] = transaction("mallory@fabrikam.test", "Too big", 70000)
report["second"] = transaction("erin@fabrikam.test", "Small", 10)
report["quit"] = command("QUIT")
print(json.dumps(report))
"""


@pytest.mark.parametrize("verb", ["DATA", "BDAT"])
@pytest.mark.parametrize("chunking", ["$true", "$false"])
def test_the_next_transaction_after_a_refused_message_keeps_its_sender(
    lab: Lab, tmp_path: Path, verb: str, chunking: str
) -> None:
    sh(
        lab,
        "TreyResearch",
        'Set-ReceiveConnector "TREY-CAS1\\Default Frontend TREY-CAS1" -MaxMessageSize 64KB\n'
        f'Set-ReceiveConnector "TREY-MBX1\\Default TREY-MBX1" -ChunkingEnabled {chunking}',
    )
    params = {
        "host": "127.0.20.1",
        "port": lab.world.network.real_port(25),
        "source": CLIENT_ADDRESS,
        "verb": verb,
    }
    report = run_python_peer(lab, TWO_TRANSACTIONS, params, tmp_path, f"{verb}-{chunking}")
    too_big = "552 5.3.4 Message size exceeds fixed maximum message size"
    first = report["first"]
    assert (first["chunk"] if verb == "BDAT" else first["end"]) == too_big, report
    second = report["second"]
    assert second["rcpt"] == "250 2.1.5 Recipient OK", report
    assert second["end"].startswith("250 2.6.0 "), report
    (message,) = lab.inbox("ben@treyresearch.net")
    assert (message.subject, message.mail_from) == ("Small", "erin@fabrikam.test")
    assert lab.world.activity.idle
