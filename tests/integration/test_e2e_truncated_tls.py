"""A partner that answers STARTTLS with 220 and then closes the connection (truncated TLS).

The sending server's protocol log must end the session with the TLS failure and then exactly
one disconnect line, and the queue's LastError must be the TLS failure, not labsim's internal
"protocol log session … already logged its disconnect" (issue 10 item 11): the client logged
the disconnect before it failed the waiting handshake, whose handler then logged the failure
after the ``-`` line and raised.

The partner is a Twisted protocol on the lab's own reactor, listening on a loopback address
that no simulated server owns.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from integration_helpers import protocol_records, sh
from twisted.internet.protocol import Factory, Protocol

from labsim.lab import Lab

SERVER_ADDRESS = "127.0.40.2"


class TruncatingServer(Protocol):
    """Greets, offers STARTTLS, answers it with 220 and hangs up before any handshake."""

    def connectionMade(self) -> None:  # noqa: N802
        self.transport.write(b"220 truncate.example.test ESMTP\r\n")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        for line in data.split(b"\r\n"):
            verb = line.split(b" ")[0].upper()
            if verb == b"EHLO":
                self.transport.write(b"250-truncate.example.test\r\n250 STARTTLS\r\n")  # type: ignore[union-attr]
            elif verb == b"STARTTLS":
                self.transport.write(b"220 2.0.0 Ready\r\n")  # type: ignore[union-attr]
                self.transport.loseConnection()  # type: ignore[union-attr]


@pytest.fixture
def truncating_partner(lab: Lab) -> Iterator[None]:
    port = lab.world.reactor.listenTCP(  # type: ignore[attr-defined]
        lab.world.network.real_port(25),
        Factory.forProtocol(TruncatingServer),
        interface=SERVER_ADDRESS,
    )
    try:
        yield
    finally:
        port.stopListening()


def test_truncated_tls_is_a_tls_failure_not_an_internal_error(
    lab: Lab, truncating_partner: None
) -> None:
    sh(
        lab,
        "Adatum",
        'New-SendConnector -Name "To Truncate" -Usage Internet -AddressSpaces '
        f"truncate.example.test -DNSRoutingEnabled $false -SmartHosts {SERVER_ADDRESS} "
        "-ProtocolLoggingLevel Verbose",
    )

    lab.send(mail_from="april@adatum.com", to=["eve@truncate.example.test"], subject="Hi")

    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain != "Submission"]
    assert "already logged" not in queue.last_error
    assert "TLS negotiation failed with error" in queue.last_error
    records = [
        r
        for r in protocol_records(lab.protocol_log("Adatum", "ADATUM-MBX1", "send"))
        if r["connector-id"] == "To Truncate"
    ]
    assert [r["event"] for r in records].count("-") == 1
    assert records[-1]["event"] == "-"
    assert records[-2]["event"] == "*"
    assert records[-2]["context"].startswith("TLS negotiation failed with error")
