"""The SMTP client's protocol log ends with exactly one disconnect, after whatever the session's
waiters logged about its failure (issue 10 item 11).

The client used to write the ``-`` line first and then fail the waiting TLS handshake, whose
handler logged ``TLS negotiation failed …`` after it; the protocol log refused that line and
the refusal's text ended up as the queue's LastError.
"""

from __future__ import annotations

from datetime import UTC, datetime

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionLost
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from labsim.engine.smtp_client import SessionEnded, SmtpClientProtocol
from labsim.logs.protocol_log import ProtocolLogRecord, ProtocolLogSession

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


class TcpTransport(StringTransport):
    """A string transport with the TCP option the client sets."""

    def setTcpNoDelay(self, enabled: bool) -> None:  # noqa: N802
        """Nothing to tune in memory."""


def connected_client() -> tuple[SmtpClientProtocol, list[ProtocolLogRecord], list[str]]:
    records: list[ProtocolLogRecord] = []
    closed: list[str] = []
    log = ProtocolLogSession.for_send_connector(
        records.append,
        connector="To Partner",
        session_id="08D8000000000001",
        local_endpoint="127.0.10.2:0",
        remote_endpoint="127.0.40.2:25",
    )
    client = SmtpClientProtocol(log, lambda: NOW, lambda: closed.append("closed"))
    client.makeConnection(TcpTransport())
    client.greeting.addErrback(lambda _: None)
    return client, records, closed


def test_a_failed_handshake_is_logged_before_the_disconnect() -> None:
    client, records, closed = connected_client()
    handshake: Deferred[None] = Deferred()
    client._handshake = handshake  # a TLS handshake in progress
    outcome: list[str] = []

    def failed(failure: Failure) -> None:
        client.log.info(NOW, "", "TLS negotiation failed with error ConnectionLost")
        outcome.append("logged")

    handshake.addErrback(failed)
    client.connectionLost(Failure(ConnectionLost()))

    assert outcome == ["logged"]
    assert [(r.event.value, r.context) for r in records[-2:]] == [
        ("*", "TLS negotiation failed with error ConnectionLost"),
        ("-", "Local"),
    ]
    assert closed == ["closed"]


def test_a_second_connection_lost_logs_no_second_disconnect() -> None:
    client, records, closed = connected_client()
    client.connectionLost(Failure(ConnectionLost()))
    client.connectionLost(Failure(ConnectionLost()))
    assert [r.event.value for r in records].count("-") == 1
    assert closed == ["closed"]


def test_a_command_on_a_closed_session_fails_without_logging() -> None:
    client, records, _ = connected_client()
    client.dataReceived(b"220 partner.example.test ESMTP\r\n")
    client.ehlo("adatum-mbx1.adatum.com")
    client.dataReceived(b"250 partner.example.test\r\n")
    client.connectionLost(Failure(ConnectionLost()))
    count = len(records)
    result: list[Failure] = []
    client.mail("april@adatum.com").addErrback(result.append)
    assert len(records) == count
    (failure,) = result
    assert failure.check(SessionEnded)
