"""The lab as an SMTP client against a hostile server that injects plaintext replies after its
STARTTLS ``220`` (the client side of CVE-2011-0411): the injected lines must never be taken as
the reply to a command sent inside TLS.

The server is a Python subprocess. The test binds its listening socket (127.0.40.1 at the lab's
port for Exchange port 25) and hands it over with ``pass_fds``, so the server is listening
before the lab connects without any waiting; the test then drives the lab until the server has
handled the one session and exited.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from integration_helpers import protocol_records, sh

from labsim.lab import Lab
from labsim.reactor import drive

SERVER_ADDRESS = "127.0.40.1"

HOSTILE_SERVER = r"""
import json, socket, ssl, sys
p = json.loads(sys.argv[1])
listener = socket.socket(fileno=p["fd"])
conn, peer = listener.accept()
conn.settimeout(30)
report = {"peer": peer[0], "plain": [], "tls": [], "data": ""}
buffer = b""
def line(read):
    global buffer
    while b"\r\n" not in buffer:
        chunk = read(4096)
        if not chunk:
            return None
        buffer += chunk
    text, buffer = buffer.split(b"\r\n", 1)
    return text.decode()
conn.sendall(b"220 evil.example.test ESMTP\r\n")
report["plain"].append(line(conn.recv))
conn.sendall(b"250-evil.example.test\r\n250 STARTTLS\r\n")
report["plain"].append(line(conn.recv))
# The attack: the 220 and a forged EHLO reply in one segment, before the handshake.
conn.sendall(b"220 2.0.0 Ready\r\n250-injected.example.test\r\n250 INJECTED-EXTENSION\r\n")
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(p["cert"], p["key"])
tls = context.wrap_socket(conn, server_side=True)
report["buffer_at_tls"] = buffer.decode()
answers = {"EHLO": b"250-evil.example.test\r\n250 8BITMIME\r\n", "MAIL": b"250 2.1.0 ok\r\n",
           "RCPT": b"250 2.1.5 ok\r\n", "DATA": b"354 go ahead\r\n", "QUIT": b"221 2.0.0 bye\r\n"}
while True:
    command = line(tls.recv)
    if command is None:
        break
    report["tls"].append(command)
    verb = command.split(" ")[0].split(":")[0].upper()
    tls.sendall(answers.get(verb, b"500 5.5.1 unknown\r\n"))
    if verb == "DATA":
        body = []
        while (text := line(tls.recv)) not in (".", None):
            body.append(text)
        report["data"] = "\r\n".join(body)
        tls.sendall(b"250 2.6.0 queued by evil\r\n")
    if verb == "QUIT":
        break
with open(p["report"], "w") as out:
    json.dump(report, out)
"""


def test_plaintext_injected_by_the_server_after_starttls_is_ignored(
    lab: Lab, tmp_path: Path
) -> None:
    cert = lab.authorities["public"].issue(
        "evil.example.test", at=lab.now(), dns_names=("evil.example.test",)
    )
    (tmp_path / "evil.pem").write_bytes(cert.pem())
    (tmp_path / "evil.key").write_bytes(cert.key_pem())
    sh(
        lab,
        "Adatum",
        'New-SendConnector -Name "To Evil" -Usage Internet -AddressSpaces evil.example.test '
        f"-DNSRoutingEnabled $false -SmartHosts {SERVER_ADDRESS} -ProtocolLoggingLevel Verbose",
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # An earlier test's connections to this address and port may still be in TIME_WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((SERVER_ADDRESS, lab.world.network.real_port(25)))
    listener.listen(1)
    params = {
        "fd": listener.fileno(),
        "cert": str(tmp_path / "evil.pem"),
        "key": str(tmp_path / "evil.key"),
        "report": str(tmp_path / "server.json"),
    }
    with (tmp_path / "server.err").open("wb") as err:
        server = subprocess.Popen(
            [sys.executable, "-c", HOSTILE_SERVER, json.dumps(params)],
            pass_fds=(listener.fileno(),),
            stderr=err,
        )
    listener.close()  # the server holds its own copy
    try:
        lab.send(mail_from="april@adatum.com", to=["eve@evil.example.test"], subject="Hi")
        drive(lab.world.reactor, lambda: server.poll() is not None)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == 0, (tmp_path / "server.err").read_text()
    report = json.loads((tmp_path / "server.json").read_text())

    assert report["peer"] == "127.0.10.2"
    assert report["plain"] == ["EHLO adatum-mbx1.adatum.com", "STARTTLS"]
    # Inside TLS the lab waited for the real EHLO reply before MAIL FROM: had it taken the
    # injected lines as that reply, its commands would be pipelined ahead of the replies and
    # the transcript below would be shifted.
    assert report["tls"] == [
        "EHLO adatum-mbx1.adatum.com",
        f"MAIL FROM:<april@adatum.com> SIZE={report['tls'][1].rsplit('=', 1)[1]}",
        "RCPT TO:<eve@evil.example.test>",
        "DATA",
        "QUIT",
    ]
    assert "Subject: Hi" in report["data"]

    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send"))
    received = [r["data"] for r in records if r["event"] == "<"]
    assert not any("INJECTED" in line or "injected" in line for line in received), received
    assert "250 2.6.0 queued by evil" in received
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain != "Submission"]
    assert queue.message_count == 0
    assert queue.last_error == ""
