"""Fast paths of the logs: counts, the store's lookup by spelling, reply lines, the day's end.

The web console polls a fingerprint of the lab every second or so; it counts log records through
``count()`` (a copy of every record per poll grew with the lab's age). The protocol log store
finds a session's log by the names the engine spells, remembered per spelling: these tests hold
that a remembered spelling still leads to the right log set (server, service and direction).
A log file set compares each record's time with the end of the current UTC day instead of
working out its day: the file must still change at every midnight, whatever the time zone.
A protocol log keeps its records as plain tuples that the garbage collector leaves alone, and
hands out the same records, lines and files as before.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta, timezone

import pytest

from labsim.logs import (
    NULL_SESSION,
    ProtocolLogRecord,
    ProtocolLogSession,
    ProtocolLogSink,
    ProtocolLogStore,
    TrackingLog,
)
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


def test_a_reply_is_logged_line_by_line_in_one_call() -> None:
    records: list[ProtocolLogRecord] = []
    log = ProtocolLogSession(
        records.append,
        connector_id="ADATUM-CAS1\\Partner",
        session_id="08DF4EADDFBE5000",
        local_endpoint="127.0.10.1:25",
        remote_endpoint="127.0.20.1:49152",
    )
    log.connect(T0)
    log.sent_lines(T0, ("250-mail.adatum.com Hello [127.0.20.1]", "250 8BITMIME"))
    assert [r.to_csv() for r in records[1:]] == [
        "2026-11-30T06:48:13.123Z,ADATUM-CAS1\\Partner,08DF4EADDFBE5000,1,127.0.10.1:25,"
        "127.0.20.1:49152,>,250-mail.adatum.com Hello [127.0.20.1],",
        "2026-11-30T06:48:13.123Z,ADATUM-CAS1\\Partner,08DF4EADDFBE5000,2,127.0.10.1:25,"
        "127.0.20.1:49152,>,250 8BITMIME,",
    ]
    with pytest.raises(ValueError, match="timezone-aware"):
        log.sent_lines(datetime(2026, 11, 30, 6, 48, 13), ("250 OK",))
    NULL_SESSION.sent_lines(T0, ("250 OK",))
    assert NULL_SESSION.next_sequence_number == 0


def test_the_day_a_file_ends_is_checked_again_at_each_midnight() -> None:
    # The file set remembers when the current day ends; a record at or after that instant,
    # in any time zone, starts the next day's file, and one written late for the day before
    # stays in the open file.
    store = ProtocolLogStore()
    log = store.log("ADATUM-CAS1", "FrontEnd", "receive")
    last_ms = datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)
    times = [
        T0,
        last_ms,
        last_ms + timedelta(microseconds=1),  # midnight
        last_ms,  # late for the day before
        datetime(2026, 12, 2, 0, 30, tzinfo=timezone(timedelta(hours=1))),  # 12-01 23:30 UTC
        datetime(2026, 12, 2, 1, 0, tzinfo=timezone(timedelta(hours=1))),  # 12-02 00:00 UTC
    ]
    for at in times:
        _session_at(log.append, at)
    assert log.file_names() == [
        "RECV20261130-1.LOG",
        "RECV20261201-1.LOG",
        "RECV20261202-1.LOG",
    ]
    per_file = [len(f.records) for f in log._files.files]
    assert per_file == [4, 6, 2]


def _session_at(sink: ProtocolLogSink, at: datetime) -> None:
    log = ProtocolLogSession(
        sink,
        connector_id="ADATUM-CAS1\\Default",
        session_id="08DF4EADDFBE5000",
        local_endpoint="127.0.10.1:25",
        remote_endpoint="127.0.20.1:49152",
    )
    log.connect(at)
    log.disconnect(at)


def _transcript(log: ProtocolLogSession) -> None:
    log.connect(T0)
    log.permissions(T0, "SMTPSubmit SMTPAcceptAnySender")
    log.sent_lines(T0, ("220 mail.adatum.com Microsoft ESMTP MAIL Service ready",))
    log.received(T0 + timedelta(milliseconds=5), 'EHLO "quoted", name')
    log.certificate(T0, "Received certificate", thumbprint="3B0C1AE8E1D1E0B1F0A7C2F3B4D5E6F7")
    log.info(T0, "", "TLS protocol SP_PROT_TLS1_2_SERVER negotiated")
    log.disconnect(T0, "Local")


def test_a_log_store_holds_what_a_record_sink_gets() -> None:
    # Sessions of a lab write their log's rows directly; a test's list gets record objects.
    # Both must say the same, record for record and byte for byte.
    sink: list[ProtocolLogRecord] = []
    store = ProtocolLogStore()
    log = store.log("ADATUM-CAS1", "FrontEnd", "receive")
    for target in (sink.append, log.append):
        _transcript(
            ProtocolLogSession(
                target,
                connector_id="ADATUM-CAS1\\Partner",
                session_id="08DF4EADDFBE5000",
                local_endpoint="127.0.10.1:25",
                remote_endpoint="127.0.20.1:49152",
            )
        )
    assert log.records() == sink
    assert log.lines() == [record.to_csv() for record in sink]
    assert [record for _, record in log.entries()] == sink
    assert store.lines("adatum-cas1", "receive") == log.lines()
    # A record handed to the log by hand is kept as it is, after the others.
    log.append(sink[0])
    assert log.records()[-1] == sink[0] and log.count() == len(sink) + 1
    assert log.lines()[-1] == sink[0].to_csv()


def test_logged_records_cost_the_garbage_collector_nothing() -> None:
    # A live lab keeps every record of its protocol logs; what it keeps must not be objects
    # that each full collection visits again (40 records per message, for days).
    store = ProtocolLogStore()
    log = store.log("ADATUM-CAS1", "FrontEnd", "receive")
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(100):
        _transcript(
            ProtocolLogSession(
                log.append,
                connector_id="ADATUM-CAS1\\Partner",
                session_id="08DF4EADDFBE5000",
                local_endpoint="127.0.10.1:25",
                remote_endpoint="127.0.20.1:49152",
            )
        )
    gc.collect()
    assert log.count() == 800
    assert len(gc.get_objects()) - before < 50
