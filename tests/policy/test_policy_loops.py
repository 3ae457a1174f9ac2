"""Mail loop detection: the hop count of a header block and the receive connector's verdict."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.model.connectors import ReceiveConnector
from labsim.model.enums import ServerRole, TransportRole
from labsim.model.organization import Server
from labsim.model.values import Binding
from labsim.policy.headers import received_header
from labsim.policy.loops import (
    HOP_COUNT_EXCEEDED,
    HopCount,
    check_hop_count,
    count_hops,
    receive_hop_check,
)

WHEN = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def received(by: str, by_ip: str, helo: str = "client.example.test") -> bytes:
    return received_header(
        helo=helo,
        client_ip="127.0.30.1",
        by_fqdn=by,
        server_ip=by_ip,
        tls_description=None,
        when=WHEN,
    )


MBX = ("adatum-mbx1.adatum.com", "127.0.10.2")
CAS = ("mail.adatum.com", "127.0.10.1")


def message(*received_lines: bytes, body: bytes = b"hello\r\n") -> bytes:
    return b"".join(received_lines) + b"Subject: loop\r\n\r\n" + body


def test_counts_every_received_field_and_the_local_ones() -> None:
    content = message(received(*MBX), received(*CAS), received(*MBX), received("x.test", "1.2.3.4"))
    assert count_hops(content, local_names=MBX) == HopCount(total=4, local=2)
    assert count_hops(content, local_names=CAS) == HopCount(total=4, local=1)


def test_local_by_address_only_and_case_insensitive_names() -> None:
    content = message(
        b"received: from a (127.0.30.1) by OTHER-NAME (127.0.10.2) with SMTP; now\r\n",
        b"RECEIVED : from a by ADATUM-MBX1.ADATUM.COM; now\r\n",
    )
    assert count_hops(content, local_names=MBX) == HopCount(total=2, local=2)


def test_a_folded_field_counts_once_and_the_body_not_at_all() -> None:
    content = message(
        b"Received: from a (127.0.30.1)\r\n\tby adatum-mbx1.adatum.com (127.0.10.2)\r\n"
        b" with SMTP; now\r\n",
        body=b"Received: from b by adatum-mbx1.adatum.com; now\r\n" * 100,
    )
    assert count_hops(content, local_names=MBX) == HopCount(total=1, local=1)


def test_from_clause_naming_the_server_is_not_local() -> None:
    content = message(received("mail.adatum.com", "127.0.10.1", helo="adatum-mbx1.adatum.com"))
    assert count_hops(content, local_names=MBX).local == 0


@pytest.mark.parametrize(
    ("hops", "refused"),
    [
        (HopCount(60, 0), False),
        (HopCount(61, 0), True),
        (HopCount(10, 5), False),
        (HopCount(10, 6), True),
    ],
)
def test_limits_are_exceeded_only_above_the_maximum(hops: HopCount, refused: bool) -> None:
    check = check_hop_count(hops, max_hop_count=60, max_local_hop_count=5)
    assert check.refused is refused
    assert check.reply == (HOP_COUNT_EXCEEDED if refused else None)


def test_max_local_hop_count_zero_turns_the_local_check_off() -> None:
    check = check_hop_count(HopCount(10, 50), max_hop_count=60, max_local_hop_count=0)
    assert not check.refused


def test_the_reply_is_exchanges_on_premises_text() -> None:
    assert str(HOP_COUNT_EXCEEDED) == "554 5.4.6 Hop count exceeded - possible mail loop"
    check = check_hop_count(HopCount(61, 0), max_hop_count=60, max_local_hop_count=5)
    assert "MaxHopCount 60" in check.explanation


def test_receive_hop_check_uses_the_connector_and_the_server() -> None:
    server = Server(name="ADATUM-MBX1", fqdn=MBX[0], address=MBX[1], role=ServerRole.MAILBOX)
    connector = ReceiveConnector(
        name="Default ADATUM-MBX1",
        server="ADATUM-MBX1",
        transport_role=TransportRole.HUB_TRANSPORT,
        bindings=(Binding("0.0.0.0", 2525),),
        max_hop_count=3,
    )
    three = message(*(received(*CAS) for _ in range(3)))
    four = message(*(received(*CAS) for _ in range(4)))
    assert not receive_hop_check(three, connector, server).refused
    assert receive_hop_check(four, connector, server).refused
    local = message(*(received(*MBX) for _ in range(3)))
    assert not receive_hop_check(local, connector, server).refused
    tight = ReceiveConnector(
        name="Default ADATUM-MBX1",
        server="ADATUM-MBX1",
        transport_role=TransportRole.HUB_TRANSPORT,
        bindings=(Binding("0.0.0.0", 2525),),
        max_local_hop_count=2,
    )
    assert receive_hop_check(local, tight, server).refused
