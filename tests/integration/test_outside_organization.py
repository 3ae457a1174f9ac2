"""An outside organization: a real SMTP server (aiosmtpd) plays Fabrikam, and Adatum reaches it
the way an admin would reach a partner (docs/lab-files.md, "Outside organizations").

The lab file names Fabrikam's domain, the address and real port of its server, and the root
CA its certificate chains to. Fabrikam's PKI is made here with ``cryptography`` alone, so the
lab trusts it only through the file it was given. aiosmtpd runs its asyncio loop in its own
thread and answers STARTTLS with that certificate; the lab answers ``send`` only once its own
session has ended, so the test reads what aiosmtpd recorded without waiting.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import hashes
from integration_helpers import protocol_records, sh
from local_ca import LocalCA, free_port

from labsim.errors import ConfigError
from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.model.enums import QueueStatus

FABRIKAM_ADDRESS = "127.0.40.21"
"""Fabrikam's SMTP server: a loopback address no simulated server and no other test uses."""


LAB_FILE = """
name = "outside-partner-test"

[[organizations]]
name = "Adatum"
domains = ["adatum.com"]
mailboxes = ["april"]

[[organizations.servers]]
name = "ADATUM-CAS1"
role = "ClientAccess"
fqdn = "mail.adatum.com"
address = "127.0.10.1"

[[organizations.servers]]
name = "ADATUM-MBX1"
role = "Mailbox"
fqdn = "adatum-mbx1.adatum.com"
address = "127.0.10.2"

[[organizations.servers.certificates]]
common_name = "adatum-mbx1.adatum.com"
dns_names = ["adatum-mbx1.adatum.com", "adatum.com"]

[[outside_organizations]]
name = "Fabrikam"
domains = ["fabrikam.org"]
address = "{address}"
port = {port}
roots = [{roots}]
"""


class Recorder:
    """aiosmtpd handler: keep each envelope and what the session knew about TLS."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "peer": session.peer[0],
                "tls": session.ssl is not None,
            }
        )
        return "250 2.0.0 Ok: queued by Fabrikam"


@dataclass
class Fabrikam:
    """The outside organization's side of a test: its server, its PKI, its lab file."""

    recorder: Recorder
    port: int
    root: LocalCA
    lab_file: Path


@pytest.fixture
def fabrikam(tmp_path: Path) -> Iterator[Fabrikam]:
    """aiosmtpd as Fabrikam's mail server on FABRIKAM_ADDRESS, STARTTLS required, with a
    certificate for mail.fabrikam.org and fabrikam.org from Fabrikam's own root CA."""
    root = LocalCA("Fabrikam Root CA", organization="Fabrikam")
    server = root.issue(("mail.fabrikam.org", "fabrikam.org"))
    partner = tmp_path / "fabrikam"
    partner.mkdir()
    root.write(partner / "root.pem")
    (partner / "mail.pem").write_bytes(server.cert_pem)
    (partner / "mail.key").write_bytes(server.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(partner / "mail.pem", partner / "mail.key")
    recorder = Recorder()
    port = free_port(FABRIKAM_ADDRESS)
    controller = Controller(
        recorder,
        hostname=FABRIKAM_ADDRESS,
        port=port,
        tls_context=context,
        require_starttls=True,
        server_hostname="mail.fabrikam.org",
    )
    lab_file = tmp_path / "outside-partner.toml"
    lab_file.write_text(
        LAB_FILE.format(address=FABRIKAM_ADDRESS, port=port, roots='"fabrikam/root.pem"'),
        encoding="utf-8",
    )
    controller.start()
    try:
        yield Fabrikam(recorder, port, root, lab_file)
    finally:
        controller.stop()


def configure_partner_connector(lab: Lab) -> None:
    """What Adatum's admin does for a partner: the TLS lists and a Partner send connector
    (DNS-routed, DomainSecureEnabled), sent directly from the Mailbox server."""
    sh(
        lab,
        "Adatum",
        "Set-TransportConfig -TLSSendDomainSecureList fabrikam.org "
        "-TLSReceiveDomainSecureList fabrikam.org",
    )
    sh(
        lab,
        "Adatum",
        'New-SendConnector -Name "To Fabrikam" -Partner -AddressSpaces fabrikam.org '
        "-SourceTransportServers ADATUM-MBX1 -DomainSecureEnabled $true "
        "-ProtocolLoggingLevel Verbose",
    )


IMPORT_FABRIKAM_ROOT = (
    "Import-Certificate -FilePath Fabrikam\\root-ca.cer "
    "-CertStoreLocation Cert:\\LocalMachine\\Root"
)


def test_mail_to_the_outside_partner_arrives_domain_secured_on_its_own_port(
    start_lab: Callable[..., Lab], fabrikam: Fabrikam
) -> None:
    lab = start_lab(load_lab_file(fabrikam.lab_file))
    network = lab.world.network
    # The port the lab file gives is used as is: not the lab's port for Exchange's 25.
    assert network.remote_port(FABRIKAM_ADDRESS, 25) == fabrikam.port
    assert network.real_port(25) != fabrikam.port

    imported = sh(lab, "Adatum", IMPORT_FABRIKAM_ROOT)
    root_thumbprint = fabrikam.root.certificate.fingerprint(hashes.SHA1()).hex().upper()
    assert root_thumbprint in imported and "CN=Fabrikam Root CA, O=Fabrikam" in imported
    configure_partner_connector(lab)

    lab.send(
        mail_from="april@adatum.com",
        to=["someone@fabrikam.org"],
        subject="Hello Fabrikam",
        body="Sent by labsim to real mail software.",
    )

    (envelope,) = fabrikam.recorder.envelopes
    assert envelope["rcpt_tos"] == ["someone@fabrikam.org"]
    assert envelope["mail_from"] == "april@adatum.com"
    assert envelope["tls"] is True
    assert envelope["peer"] == "127.0.10.2"  # the Mailbox server sent it directly
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "fabrikam.org"]
    assert queue.message_count == 0

    # The send log: MX fabrikam.org → mail.fabrikam.org at the outside address and its own
    # port, STARTTLS, and the domain-secure verdict on the partner's certificate.
    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send"))
    assert {r["connector-id"] for r in records} == {"To Fabrikam"}
    assert {r["remote-endpoint"] for r in records} == {f"{FABRIKAM_ADDRESS}:{fabrikam.port}"}
    contexts = [r["context"] for r in records]
    assert "Secure domain certificate" in contexts
    subject = records[contexts.index("Secure domain certificate") + 1]
    assert (subject["context"], subject["data"]) == ("Certificate subject", "CN=mail.fabrikam.org")
    assert any(r["event"] == ">" and r["data"] == "STARTTLS" for r in records)

    # Its mailboxes are not in the lab: the lab says so rather than showing an empty inbox.
    with pytest.raises(ConfigError, match="outside organization Fabrikam, whose mail labsim"):
        lab.inbox("someone@fabrikam.org")


def test_without_the_partners_root_the_message_waits_with_exchanges_454(
    start_lab: Callable[..., Lab], fabrikam: Fabrikam
) -> None:
    lab = start_lab(load_lab_file(fabrikam.lab_file))
    configure_partner_connector(lab)  # Fabrikam's root is NOT imported

    lab.send(mail_from="april@adatum.com", to=["someone@fabrikam.org"], subject="Untrusted")

    assert fabrikam.recorder.envelopes == []
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "fabrikam.org"]
    assert queue.status is QueueStatus.RETRY
    assert queue.message_count == 1
    assert (
        '{LED=451 4.4.0 Primary target IP address responded with: "454 4.7.5 Certificate validation failure." Attempted failover'
        in queue.last_error
    )
    assert "{FQDN=mail.fabrikam.org};{IP=" + FABRIKAM_ADDRESS + "}" in queue.last_error
    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send"))
    assert "Secure domain certificate" not in [r["context"] for r in records]
    assert not any(r["data"].startswith("MAIL FROM:") for r in records)

    # The admin imports the root and retries: the same message now goes out.
    sh(lab, "Adatum", IMPORT_FABRIKAM_ROOT)
    sh(lab, "Adatum", f"Retry-Queue -Identity {queue.identity}")
    (envelope,) = fabrikam.recorder.envelopes
    assert envelope["rcpt_tos"] == ["someone@fabrikam.org"] and envelope["tls"] is True


def test_a_root_file_with_two_certificates_imports_both(
    start_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    first = LocalCA("Fabrikam Root CA", organization="Fabrikam")
    second = LocalCA("Fabrikam Root CA 2", organization="Fabrikam")
    (tmp_path / "roots.pem").write_bytes(first.pem + second.pem)
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(
        LAB_FILE.format(address=FABRIKAM_ADDRESS, port=2525, roots='"roots.pem"'),
        encoding="utf-8",
    )
    lab = start_lab(load_lab_file(lab_file))
    copied = lab.cert_folder / "Fabrikam" / "root-ca.cer"
    assert copied.read_bytes() == (tmp_path / "roots.pem").read_bytes()

    output = sh(lab, "Adatum", IMPORT_FABRIKAM_ROOT)

    thumbprints = [
        issued.certificate.fingerprint(hashes.SHA1()).hex().upper() for issued in (first, second)
    ]
    rows = [line.split(None, 1) for line in output.splitlines() if line[:40] in thumbprints]
    assert rows == [
        [thumbprints[0], "CN=Fabrikam Root CA, O=Fabrikam"],
        [thumbprints[1], "CN=Fabrikam Root CA 2, O=Fabrikam"],
    ]
    assert "labsim note:" in output and "only the first certificate" in output
    for server in ("ADATUM-CAS1", "ADATUM-MBX1"):
        store = lab.certificate_store(server)
        assert all(store.is_trusted_root(issued.certificate) for issued in (first, second))


def test_a_smart_host_connector_reaches_the_outside_server_by_name(
    start_lab: Callable[..., Lab], fabrikam: Fabrikam
) -> None:
    lab = start_lab(load_lab_file(fabrikam.lab_file))
    sh(
        lab,
        "Adatum",
        'New-SendConnector -Name "Fabrikam Smart Host" -Custom -AddressSpaces fabrikam.org '
        "-SourceTransportServers ADATUM-MBX1 -DNSRoutingEnabled $false "
        "-SmartHosts mail.fabrikam.org -ProtocolLoggingLevel Verbose",
    )

    lab.send(mail_from="april@adatum.com", to=["someone@fabrikam.org"], subject="Via smart host")

    # Opportunistic TLS (a smart host is never domain-secured, §4.1), at the outside port.
    (envelope,) = fabrikam.recorder.envelopes
    assert envelope["rcpt_tos"] == ["someone@fabrikam.org"] and envelope["tls"] is True
    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send"))
    assert {r["remote-endpoint"] for r in records} == {f"{FABRIKAM_ADDRESS}:{fabrikam.port}"}
    assert "Secure domain certificate" not in [r["context"] for r in records]


def test_a_partner_server_that_is_not_running_is_a_connection_failure_at_its_port(
    start_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    port = free_port(FABRIKAM_ADDRESS)  # nothing listens there
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(
        LAB_FILE.format(address=FABRIKAM_ADDRESS, port=port, roots=""), encoding="utf-8"
    )
    lab = start_lab(load_lab_file(lab_file))
    configure_partner_connector(lab)

    lab.send(mail_from="april@adatum.com", to=["someone@fabrikam.org"], subject="Anyone?")

    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "fabrikam.org"]
    assert queue.status is QueueStatus.RETRY
    assert "{LED=441 4.4.1 Error encountered while communicating" in queue.last_error
    assert f"The last endpoint attempted was {FABRIKAM_ADDRESS}:{port}}}" in queue.last_error
