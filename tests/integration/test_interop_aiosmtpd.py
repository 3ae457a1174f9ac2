"""The lab's outbound hop against an independent SMTP server (aiosmtpd).

A send connector on Adatum routes ``example.test`` to a smart host at 127.0.40.1. The smart
host's port is an Exchange port (the lab adds its port offset), so aiosmtpd listens on
``real_port(25)`` of its own address and the connector keeps the default ``-Port 25``. aiosmtpd
runs its asyncio loop in its own thread; its handler only records what arrived, and the lab
answers ``send`` only once that session has ended, so the test reads the record without waiting.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from integration_helpers import protocol_records, sh, tracking_records

from labsim.lab import Lab

SMART_HOST = "127.0.40.1"


class Recorder:
    """aiosmtpd handler: keep each envelope and what the session knew about TLS."""

    def __init__(self) -> None:
        self.envelopes: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.envelopes.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "helo": session.host_name,
                "peer": session.peer[0],
                "tls": session.ssl is not None,
            }
        )
        return "250 2.0.0 Ok: queued by aiosmtpd"


@pytest.fixture
def smart_host(lab: Lab, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Recorder]:
    """aiosmtpd on 127.0.40.1 at the lab's port for Exchange port 25; STARTTLS when the test
    is parametrized with tls=True (certificate from the lab's public CA)."""
    recorder = Recorder()
    context = None
    if getattr(request, "param", False):
        cert = lab.authorities["public"].issue(
            "mx.example.test", at=lab.now(), dns_names=("mx.example.test",)
        )
        (tmp_path / "mx.pem").write_bytes(cert.pem())
        (tmp_path / "mx.key").write_bytes(cert.key_pem())
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tmp_path / "mx.pem", tmp_path / "mx.key")
    controller = Controller(
        recorder,
        hostname=SMART_HOST,
        port=lab.world.network.real_port(25),
        tls_context=context,
        require_starttls=context is not None,
        server_hostname="mx.example.test",
    )
    controller.start()
    try:
        yield recorder
    finally:
        controller.stop()


@pytest.mark.parametrize("smart_host", [False, True], ids=["plain", "starttls"], indirect=True)
def test_outbound_hop_to_aiosmtpd(lab: Lab, smart_host: Recorder, request: Any) -> None:
    with_tls = request.node.callspec.params["smart_host"]
    sh(
        lab,
        "Adatum",
        'New-SendConnector -Name "To Example" -Usage Internet -AddressSpaces example.test '
        f"-DNSRoutingEnabled $false -SmartHosts {SMART_HOST} -ProtocolLoggingLevel Verbose",
    )

    message_id = lab.send(
        mail_from="april@adatum.com",
        to=["someone@example.test"],
        subject="Hello aiosmtpd",
        body="Sent by labsim.",
    )

    (envelope,) = smart_host.envelopes
    assert envelope["mail_from"] == "april@adatum.com"
    assert envelope["rcpt_tos"] == ["someone@example.test"]
    # The Mailbox server sent it directly (FrontendProxyEnabled $false), from its own address,
    # greeting with its FQDN.
    assert envelope["peer"] == "127.0.10.2"
    assert envelope["helo"] == "adatum-mbx1.adatum.com"
    assert envelope["tls"] is with_tls

    message = message_from_bytes(envelope["content"], policy=policy.SMTP)
    assert message["Subject"] == "Hello aiosmtpd"
    assert message["From"] == "april@adatum.com"
    assert message["To"] == "someone@example.test"
    assert message["Message-ID"] == message_id
    assert message_id.endswith("@adatum-mbx1.adatum.com>")
    assert message.get_content().strip() == "Sent by labsim."
    # Organization headers never leave on an Internet connector (§10.1).
    assert not [k for k in message if k.lower().startswith("x-ms-exchange-organization-")]
    assert b"\r\n" in envelope["content"]  # CRLF line ends on the wire, as SMTP requires

    (queue,) = [
        q
        for q in lab.queues("Adatum")
        if q.next_hop_domain not in ("treyresearch.net", "Submission")
    ]
    assert queue.message_count == 0
    (send,) = [
        r
        for r in tracking_records(lab.tracking_log("Adatum", "ADATUM-MBX1"))
        if r["event-id"] == "SEND"
    ]
    assert send["recipient-status"] == "250 2.0.0 Ok: queued by aiosmtpd"
    assert send["server-ip"] == SMART_HOST

    # The lab's send protocol log recorded the conversation with aiosmtpd.
    records = protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send"))
    assert {r["connector-id"] for r in records} == {"To Example"}
    sent = [r["data"] for r in records if r["event"] == ">"]
    assert "MAIL FROM:<april@adatum.com> SIZE=" in " ".join(sent)
    assert ("STARTTLS" in sent) is with_tls
