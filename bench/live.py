"""The live-lab benchmark (issue 9): outside smtplib clients into ``labsim up``, and the same
clients into a private Postfix smtpd with the same TLS settings, in the same run.

Each client process sends its messages one per connection: connect from 127.0.20.1, EHLO,
STARTTLS with TreyResearch's client certificate (verifying the server's chain), MAIL, RCPT,
DATA, QUIT. Into labsim the session lands on ADATUM-CAS1's Partner receive connector, which
checks the certificate and proxies each message to ADATUM-MBX1 (a second, internal TLS hop)
before answering 250. Into Postfix it lands on smtpd with ``smtpd_tls_ask_ccert`` and the same
certificates, and is delivered to a Maildir. While the clients run, the bench process measures
banner latency (connect to ``220``) against the same server.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO / "tests", REPO / "tests" / "live", REPO / "tests" / "interop"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

CLIENT = r"""
import json, smtplib, ssl, sys, time
p = json.loads(sys.argv[1])
context = ssl.create_default_context(cafile=p["cafile"])
context.check_hostname = False
context.load_cert_chain(p["cert"], p["key"])
message = "From: ben@treyresearch.net\r\nTo: %s\r\nSubject: live bench\r\n\r\nhello\r\n" % p["rcpt"]
first = last = None
for n in range(p["count"]):
    with smtplib.SMTP(p["host"], p["port"], local_hostname="mail.treyresearch.net",
                      source_address=(p["source"], 0), timeout=60) as smtp:
        if first is None:
            first = time.time()
        smtp.starttls(context=context)
        smtp.sendmail("ben@treyresearch.net", [p["rcpt"]], message)
    last = time.time()
print(json.dumps({"first": first, "last": last, "sent": p["count"]}))
"""


def _clients(
    params: dict[str, Any], clients: int, *, probe_banner: bool = True
) -> tuple[float, int, list[float]]:
    """Run ``clients`` processes at once; return (messages per second, sent, banner latencies).

    ``probe_banner`` False leaves out the banner probes (their sessions would count in the
    lab's CPU per message, and their number follows the wall time)."""
    latencies: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                with socket.create_connection((params["host"], params["port"]), timeout=30) as s:
                    s.recv(512)
            except OSError:
                continue
            latencies.append(time.perf_counter() - started)
            stop.wait(0.05)

    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLIENT, json.dumps(params)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(clients)
    ]
    prober = threading.Thread(target=probe, daemon=True)
    if probe_banner:
        prober.start()
    results = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        if process.returncode != 0:
            raise RuntimeError(f"live bench client exited {process.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    stop.set()
    if probe_banner:
        prober.join(timeout=60)
    sent = sum(r["sent"] for r in results)
    elapsed = max(r["last"] for r in results) - min(r["first"] for r in results)
    return sent / elapsed, sent, latencies


def labsim_rate(messages_per_client: int, clients: int = 2) -> dict[str, Any]:
    """Messages per second into a live lab's Partner connector, and banner latency meanwhile."""
    from live_helpers import LiveLab, partner_setup

    folder = Path(tempfile.mkdtemp(prefix="labsim-bench-live-"))
    lab = LiveLab(folder)
    try:
        partner_setup(lab)
        cert = lab.certificate("TREY-CAS1")
        params = {
            "host": "127.0.10.1",
            "port": lab.port("ADATUM-CAS1"),
            "source": "127.0.20.1",
            "cafile": lab.root("Adatum"),
            "cert": cert["chain"],
            "key": cert["key"],
            "rcpt": "ed@adatum.com",
            "count": messages_per_client,
        }
        rate, sent, latencies = _clients(params, clients)
        inbox = lab.sh("Adatum", ":inbox ed@adatum.com")
        secured = inbox.count("✔ domain secured")
        if secured != sent:
            raise RuntimeError(f"labsim delivered {secured} of {sent} domain secured")
    finally:
        lab.close()
    return {"rate": rate, "sent": sent, "latency": latencies}


def postfix_rate(messages_per_client: int, clients: int = 2) -> dict[str, Any] | None:
    """The same clients into a private Postfix smtpd (None when Postfix cannot run here)."""
    from postfix import LocalCA, PrivatePostfix, free_port, postfix_missing

    if postfix_missing() is not None:
        return None
    client_ca = LocalCA("Bench Client Root CA")
    client_cert = client_ca.issue(("mail.treyresearch.net",))
    folder = Path(tempfile.mkdtemp(prefix="labsim-bench-postfix-", dir="/tmp"))
    ca = LocalCA("Bench Fabrikam Root CA")
    address = "127.0.40.1"
    server = PrivatePostfix(
        folder,
        address=address,
        port=free_port(address),
        ca=ca,
        trusted_roots=[client_ca.pem],
        require_client_certificate=False,
    )
    server.start()
    try:
        cert_path, key_path = client_cert.write(folder / "client", "client")
        root = ca.write(folder / "client" / "root.pem")
        params = {
            "host": address,
            "port": server.port,
            "source": "127.0.20.1",
            "cafile": str(root),
            "cert": str(cert_path),
            "key": str(key_path),
            "rcpt": "jamie@fabrikam.org",
            "count": messages_per_client,
        }
        rate, sent, latencies = _clients(params, clients)
        server.wait_for_messages(sent, recipient="jamie@fabrikam.org", timeout=120)
    finally:
        server.stop()
    return {"rate": rate, "sent": sent, "latency": latencies}


def median_ms(values: list[float]) -> float | None:
    """Median of seconds, in milliseconds."""
    return statistics.median(values) * 1000 if values else None
