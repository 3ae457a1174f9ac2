"""Shared steps of the end-to-end tests: shell configuration, external peers, log parsing.

External peers (smtplib, openssl, raw sockets) speak blocking I/O, so they run in a
subprocess while the test iterates the lab's reactor in this thread until the peer exits
(:func:`run_peer`); nothing waits on wall-clock time. Their output goes to files, not pipes,
so a chatty peer can never block on a full pipe while the reactor is being driven.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from labsim.lab import Lab
from labsim.logs.protocol_log import PROTOCOL_LOG_FIELDS
from labsim.logs.tracking import TRACKING_LOG_FIELDS
from labsim.model.lab import CertificateSpec, LabDefinition, default_lab
from labsim.reactor import drive

# The address external test clients bind (inside 127.0.0.0/8, owned by no simulated server).
CLIENT_ADDRESS = "127.0.30.1"

PARTNERS = {
    # org: (partner org, partner domain, own CAS, partner CAS address)
    "Adatum": ("TreyResearch", "treyresearch.net", "ADATUM-CAS1", "127.0.20.1"),
    "TreyResearch": ("Adatum", "adatum.com", "TREY-CAS1", "127.0.10.1"),
}


def proxied_refusal_led(reply: str, endpoint: str = "127.0.20.1:25") -> str:
    """The Mailbox server's LED when the partner refused the transaction the Client Access
    server proxied (docs/exchange-reference.md §17 C1 inside C2); ``endpoint`` is the partner's
    (TREY-CAS1 by default)."""
    return (
        "{LED=450 4.7.0 Proxy session setup failed on Frontend with '451 4.4.0 Primary target IP "
        f'address responded with: "{reply}." Attempted failover to alternate host, but that did '
        "not succeed. Either there are no alternate hosts, or delivery failed to all alternate "
        f"hosts. The last endpoint attempted was {endpoint}'}}"
    )


def sh(lab: Lab, org: str, text: str, server: str | None = None) -> str:
    """Run shell lines on ``org``; fail the test with the shell's error if there is one."""
    result = lab.run_shell(org, text, server)
    assert not result.error, f"{org}: {text.strip()}\n-> {result.error}"
    output: str = result.output
    return output


def import_partner_root(lab: Lab, org: str) -> None:
    """Import the partner organization's root CA into every server of ``org``."""
    partner = PARTNERS[org][0]
    sh(
        lab,
        org,
        f"Import-Certificate -FilePath {partner}\\root-ca.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root",
    )


def set_lists(lab: Lab, org: str, *, send: str | None, receive: str | None) -> None:
    """Set TLSSendDomainSecureList / TLSReceiveDomainSecureList ($null when None)."""
    send_value = send if send is not None else "$null"
    receive_value = receive if receive is not None else "$null"
    sh(
        lab,
        org,
        f"Set-TransportConfig -TLSSendDomainSecureList {send_value} "
        f"-TLSReceiveDomainSecureList {receive_value}",
    )


def new_partner_send_connector(lab: Lab, org: str, *, proxy: bool = True) -> None:
    """The seed walkthrough's Partner send connector to the partner's domain."""
    partner, domain, _, _ = PARTNERS[org]
    flag = "$true" if proxy else "$false"
    sh(
        lab,
        org,
        f'New-SendConnector -Name "To {partner}" -Partner -AddressSpaces {domain} '
        f"-FrontendProxyEnabled {flag} -ProtocolLoggingLevel Verbose",
    )


def new_partner_receive_connector(lab: Lab, org: str, remote: str | None = None) -> None:
    """The seed walkthrough's Partner receive connector on the CAS, for ``remote``."""
    partner, _, cas, partner_address = PARTNERS[org]
    sh(
        lab,
        org,
        f'New-ReceiveConnector -Name "From {partner}" -Server {cas} -Partner '
        f"-Bindings 0.0.0.0:25 -RemoteIPRanges {remote or partner_address} "
        "-ProtocolLoggingLevel Verbose",
    )


def configure_walkthrough(lab: Lab, org: str) -> None:
    """Every step of the seed walkthrough on one side (proxying through the CAS, D2)."""
    partner_domain = PARTNERS[org][1]
    import_partner_root(lab, org)
    set_lists(lab, org, send=partner_domain, receive=partner_domain)
    new_partner_send_connector(lab, org, proxy=True)
    new_partner_receive_connector(lab, org)


def verbose_default_frontend(lab: Lab, org: str, cas: str) -> None:
    """Turn on the protocol log of the CAS's ``Default Frontend`` connector."""
    sh(
        lab,
        org,
        f'Set-ReceiveConnector -Identity "{cas}\\Default Frontend {cas}" '
        "-ProtocolLoggingLevel Verbose",
    )


def lab_with_mailbox_certificate(
    *, message_expiration_timeout: timedelta | None = None
) -> LabDefinition:
    """The default lab plus a certificate from Adatum's CA on ADATUM-MBX1 that names adatum.com.

    Without the proxy (FrontendProxyEnabled $false) the Mailbox server opens the Internet
    session itself and presents the certificate selected for its own FQDN; in the default lab
    that is Exchange's self-signed certificate, which a partner can never accept. An
    administrator doing D13's direct sending gives the Mailbox server a certificate like this.
    ``message_expiration_timeout`` shortens ADATUM-MBX1's MessageExpirationTimeOut (D7).
    """
    lab = default_lab()
    adatum = lab.organization("Adatum")
    assert adatum is not None
    if message_expiration_timeout is not None:
        servers = tuple(
            dataclasses.replace(
                s,
                transport_service=dataclasses.replace(
                    s.transport_service, message_expiration_timeout=message_expiration_timeout
                ),
            )
            if s.name == "ADATUM-MBX1"
            else s
            for s in adatum.organization.servers
        )
        adatum = dataclasses.replace(
            adatum, organization=dataclasses.replace(adatum.organization, servers=servers)
        )
    spec = CertificateSpec(
        server="ADATUM-MBX1",
        common_name="adatum-mbx1.adatum.com",
        dns_names=("adatum-mbx1.adatum.com", "adatum.com"),
    )
    adatum = dataclasses.replace(adatum, certificates=(*adatum.certificates, spec))
    others = tuple(o for o in lab.organizations if o.organization.name != "Adatum")
    return dataclasses.replace(lab, organizations=(adatum, *others))


# --- logs -----------------------------------------------------------------------------------


def protocol_records(lines: Sequence[str]) -> list[dict[str, str]]:
    """Protocol-log CSV lines as dicts keyed by Exchange's field names."""
    rows = csv.reader(io.StringIO("\n".join(line for line in lines if not line.startswith("#"))))
    return [dict(zip(PROTOCOL_LOG_FIELDS, row, strict=True)) for row in rows]


def tracking_records(lines: Sequence[str]) -> list[dict[str, str]]:
    """Message-tracking CSV lines as dicts keyed by Exchange's field names."""
    rows = csv.reader(io.StringIO("\n".join(line for line in lines if not line.startswith("#"))))
    return [dict(zip(TRACKING_LOG_FIELDS, row, strict=True)) for row in rows]


def sessions_from(
    records: list[dict[str, str]], remote_prefix: str
) -> dict[str, list[dict[str, str]]]:
    """Protocol-log records grouped by session id, for sessions from ``remote_prefix``."""
    sessions: dict[str, list[dict[str, str]]] = {}
    for record in records:
        if record["remote-endpoint"].startswith(remote_prefix + ":"):
            sessions.setdefault(record["session-id"], []).append(record)
    return sessions


# --- external peers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerResult:
    """What an external peer process did."""

    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The last stdout line, parsed as JSON (the Python peers report that way)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, f"peer printed nothing; stderr:\n{self.stderr}"
        return json.loads(lines[-1])


def run_peer(
    lab: Lab, args: Sequence[str], workdir: Path, *, stdin: bytes = b"", name: str = "peer"
) -> PeerResult:
    """Run an external program against the lab, driving the lab's reactor until it exits."""
    out_path, err_path = workdir / f"{name}.out", workdir / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(list(args), stdin=subprocess.PIPE, stdout=out, stderr=err)
        try:
            assert proc.stdin is not None
            proc.stdin.write(stdin)  # small: fits the pipe buffer, never blocks
            proc.stdin.close()
            drive(lab.world.reactor, lambda: proc.poll() is not None)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lab.run_until_idle()
    return PeerResult(
        proc.returncode,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
    )


def run_python_peer(lab: Lab, script: str, params: dict[str, Any], workdir: Path, name: str) -> Any:
    """Run a Python peer script (params as JSON in argv[1]); return its JSON report."""
    result = run_peer(lab, [sys.executable, "-c", script, json.dumps(params)], workdir, name=name)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.json()


def certificate_files(lab: Lab, org: str, server: str, fqdn: str) -> tuple[Path, Path]:
    """The PEM certificate (with chain) and key files the lab wrote for ``server``'s
    CA-issued certificate whose subject names ``fqdn``."""
    store = lab.world.stores[server]
    matches = [c for c in store.personal() if f"CN={fqdn}" in c.subject and not c.is_self_signed]
    assert len(matches) == 1, [c.subject for c in store.personal()]
    folder = lab.cert_folder / org / server
    thumbprint = matches[0].thumbprint
    return folder / f"{thumbprint}.pem", folder / f"{thumbprint}.key"


def raw_session(lab: Lab, address: str, exchange_port: int, payload: bytes) -> bytes:
    """Send ``payload`` from a plain socket (a client outside the lab) and return all the lab
    answered until it closed the connection, driving the reactor meanwhile (bounded)."""
    import select
    import socket

    lab.live = True  # the test's socket is a client from outside the lab
    received = bytearray()
    port = lab.world.network.real_port(exchange_port)
    with socket.create_connection((address, port), timeout=10) as s:
        s.sendall(payload)

        def closed() -> bool:
            while select.select([s], [], [], 0)[0]:
                chunk = s.recv(1 << 16)
                if not chunk:
                    return True
                received.extend(chunk)
            return False

        assert drive(lab.world.reactor, closed, bound=30)
    return bytes(received)
