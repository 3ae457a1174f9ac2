"""What a poll may ask of a log without copying it, and the store's lookup of a log by spelling.

The web console polls a fingerprint of the lab every second or so; it counts log records through
``count()`` (a copy of every record per poll grew with the lab's age). The protocol log store
finds a session's log by the names the engine spells, remembered per spelling: these tests hold
that a remembered spelling still leads to the right log set (server, service and direction).
"""

from __future__ import annotations

from datetime import UTC, datetime

from labsim.logs import ProtocolLogSession, ProtocolLogStore, TrackingLog
from labsim.logs.protocol_log import ProtocolLogDirection, TransportService
from tests.logs.test_logs_tracking import send_event

T0 = datetime(2026, 11, 30, 6, 48, 13, 123456, tzinfo=UTC)


def _session(store: ProtocolLogStore, server: str, service: str, direction: str) -> None:
    log = ProtocolLogSession.for_receive_connector(
        store.log(server, service, direction).append,
        server=server,
        connector="Default",
        session_id="08DF4EADDFBE5000",
        local_endpoint="127.0.10.1:25",
        remote_endpoint="127.0.20.1:49152",
    )
    log.connect(T0)
    log.disconnect(T0)


def test_protocol_log_count_follows_appends() -> None:
    store = ProtocolLogStore()
    log = store.log("ADATUM-CAS1", "FrontEnd", "receive")
    assert log.count() == 0
    _session(store, "ADATUM-CAS1", "FrontEnd", "receive")
    assert log.count() == 2 == len(log.records())
    _session(store, "ADATUM-CAS1", "FrontEnd", "receive")
    assert log.count() == 4


def test_tracking_log_count_follows_appends_and_restores() -> None:
    log = TrackingLog("ADATUM-MBX1")
    assert log.count() == 0
    log.append(send_event())
    log.restore([send_event(), send_event()])
    assert log.count() == 3 == len(log.records())


def test_each_spelling_leads_to_its_own_log_set() -> None:
    store = ProtocolLogStore()
    receive = store.log("ADATUM-CAS1", "FrontEnd", "receive")
    # Asked again, in other spellings of the same names: the same log set.
    assert store.log("ADATUM-CAS1", "FrontEnd", "receive") is receive
    assert store.log("adatum-cas1", TransportService.FRONT_END, "Receive") is receive
    assert store.log("ADATUM-CAS1", "frontend", ProtocolLogDirection.RECEIVE) is receive
    # A different direction, service or server after the first lookup is another log set.
    send = store.log("ADATUM-CAS1", "FrontEnd", "send")
    hub = store.log("ADATUM-CAS1", "Hub", "receive")
    other = store.log("ADATUM-MBX1", "FrontEnd", "receive")
    assert len({id(receive), id(send), id(hub), id(other)}) == 4
    assert send.direction is ProtocolLogDirection.SEND
    assert hub.service is TransportService.HUB
    assert other.server == "ADATUM-MBX1"
    _session(store, "adatum-cas1", "FrontEnd", "send")
    assert [r.connector_id for r in send.records()] == ["adatum-cas1\\Default"] * 2
    assert receive.count() == 0
