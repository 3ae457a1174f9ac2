"""Message tracking: the 2013 field order, CSV lines, file header, and the search filters (§8)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labsim.logs import (
    TRACKING_LOG_FIELDS,
    Directionality,
    TrackingEventId,
    TrackingLog,
    TrackingRecord,
    TrackingSource,
)

T0 = datetime(2026, 11, 30, 6, 48, 13, 123000, tzinfo=UTC)
NETWORK_ID = "5b0e9f3a-7c1d-4e2f-9a8b-0c1d2e3f4a5b"
MESSAGE_ID = "<a1b2c3@adatum-mbx1.adatum.com>"
FIELDS_2013 = (
    "date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,"
    "connector-id,source,event-id,internal-message-id,message-id,network-message-id,"
    "recipient-address,recipient-status,total-bytes,recipient-count,"
    "related-recipient-address,reference,message-subject,sender-address,return-path,"
    "message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data"
)


def send_event(**changes: object) -> TrackingRecord:
    values: dict[str, object] = {
        "date_time": T0,
        "client_ip": "127.0.10.2",
        "client_hostname": "ADATUM-MBX1",
        "server_ip": "127.0.20.1",
        "server_hostname": "mail.treyresearch.net",
        "source_context": "08DF4EADDFBE5001;250 2.6.0 Queued mail for delivery;ClientSubmitTime:",
        "connector_id": "To TreyResearch",
        "source": TrackingSource.SMTP,
        "event_id": TrackingEventId.SEND,
        "internal_message_id": 12884901889,
        "message_id": MESSAGE_ID,
        "network_message_id": NETWORK_ID,
        "recipient_address": ["ben@treyresearch.net", "terry@treyresearch.net"],
        "recipient_status": ("250 2.1.5 Recipient OK", "250 2.1.5 Recipient OK"),
        "total_bytes": 4321,
        "recipient_count": 2,
        "message_subject": 'Hello "Trey", again',
        "sender_address": "april@adatum.com",
        "return_path": "april@adatum.com",
        "message_info": "2026-11-30T06:48:12.000Z;SRV=mail.adatum.com:TOTAL=0",
        "directionality": Directionality.ORIGINATING,
    }
    values.update(changes)
    return TrackingRecord(**values)  # type: ignore[arg-type]


def test_record_fields_follow_the_2013_fields_line() -> None:
    assert ",".join(TRACKING_LOG_FIELDS) == FIELDS_2013
    assert tuple(f.name.replace("_", "-") for f in fields(TrackingRecord)) == TRACKING_LOG_FIELDS


def test_send_event_golden_line() -> None:
    assert send_event().to_csv() == (
        "2026-11-30T06:48:13.123Z,127.0.10.2,ADATUM-MBX1,127.0.20.1,mail.treyresearch.net,"
        "08DF4EADDFBE5001;250 2.6.0 Queued mail for delivery;ClientSubmitTime:,"
        "To TreyResearch,SMTP,SEND,12884901889,<a1b2c3@adatum-mbx1.adatum.com>,"
        "5b0e9f3a-7c1d-4e2f-9a8b-0c1d2e3f4a5b,"
        "ben@treyresearch.net;terry@treyresearch.net,"
        "250 2.1.5 Recipient OK;250 2.1.5 Recipient OK,4321,2,,,"
        '"Hello ""Trey"", again",april@adatum.com,april@adatum.com,'
        "2026-11-30T06:48:12.000Z;SRV=mail.adatum.com:TOTAL=0,Originating,,,,"
    )


def test_minimal_record_leaves_unused_columns_empty() -> None:
    record = TrackingRecord(
        date_time=T0,
        source=TrackingSource.QUEUE,
        event_id=TrackingEventId.FAIL,
        recipient_address=("ben@treyresearch.net",),
        recipient_status=("550 4.4.7 QUEUE.Expired; message expired",),
        directionality=Directionality.INCOMING,
    )
    line = record.to_csv()
    assert line.count(",") == len(TRACKING_LOG_FIELDS) - 1
    assert line == (
        "2026-11-30T06:48:13.123Z,,,,,,,QUEUE,FAIL,,,,ben@treyresearch.net,"
        "550 4.4.7 QUEUE.Expired; message expired,,,,,,,,,Incoming,,,,"
    )


def test_record_is_hashable_and_validates_its_input() -> None:
    assert isinstance(send_event().recipient_address, tuple)
    hash(send_event())
    with pytest.raises(ValueError, match="not a GUID"):
        send_event(network_message_id="not-a-guid")
    with pytest.raises(TypeError, match="sequence of strings"):
        send_event(recipient_address="ben@treyresearch.net")
    with pytest.raises(ValueError, match="timezone-aware"):
        send_event(date_time=datetime(2026, 11, 30))
    with pytest.raises(ValueError, match="total_bytes"):
        send_event(total_bytes=-1)


def test_tracking_file_layout_and_header(tmp_path: Path) -> None:
    log = TrackingLog("ADATUM-MBX1", tmp_path)
    log.append(send_event())
    log.flush()
    path = tmp_path / "ADATUM-MBX1/TransportRoles/Logs/MessageTracking/MSGTRK20261130-1.LOG"
    assert path.read_bytes().decode("utf-8").split("\r\n") == [
        "#Software: Microsoft Exchange Server",
        "#Version: 15.00.1497.002",
        "#Log-type: Message Tracking Log",  # lower-case t, as real logs write it (C6)
        "#Date: 2026-11-30T06:48:13.123Z",
        f"#Fields: {FIELDS_2013}",
        send_event().to_csv(),
        "",
    ]
    assert log.text() == path.read_bytes().decode("utf-8")
    assert log.lines() == [send_event().to_csv()]
    assert log.file_names() == ["MSGTRK20261130-1.LOG"]


def test_mailbox_delivery_and_submission_events_go_to_their_services_files(
    tmp_path: Path,
) -> None:
    # A 2013 Mailbox server: the Mailbox Transport Delivery service writes DELIVER in MSGTRKMD
    # files, the Mailbox Transport Submission service SUBMIT in MSGTRKMS (docs/exchange-reference.md §8, C6).
    log = TrackingLog("ADATUM-MBX1", tmp_path)
    submit = send_event(event_id=TrackingEventId.SUBMIT, source=TrackingSource.STOREDRIVER)
    receive = send_event(event_id=TrackingEventId.RECEIVE, source=TrackingSource.STOREDRIVER)
    deliver = send_event(event_id=TrackingEventId.DELIVER, source=TrackingSource.STOREDRIVER)
    for record in (submit, receive, send_event(), deliver):
        log.append(record)
    log.flush()
    folder = tmp_path / "ADATUM-MBX1/TransportRoles/Logs/MessageTracking"
    assert sorted(p.name for p in folder.iterdir()) == [
        "MSGTRK20261130-1.LOG",
        "MSGTRKMD20261130-1.LOG",
        "MSGTRKMS20261130-1.LOG",
    ]
    delivery = (folder / "MSGTRKMD20261130-1.LOG").read_text(encoding="utf-8").splitlines()
    assert delivery[2] == "#Log-type: Message Tracking Log"
    assert delivery[5:] == [deliver.to_csv()]
    assert log.text("MSGTRKMS").splitlines()[5:] == [submit.to_csv()]
    assert log.text().splitlines()[5:] == [receive.to_csv(), send_event().to_csv()]
    # Searches and lines still cover every file, in the order logged.
    assert log.lines() == [r.to_csv() for r in (submit, receive, send_event(), deliver)]


def build_log() -> TrackingLog:
    log = TrackingLog("ADATUM-MBX1")
    log.append(
        send_event(
            event_id=TrackingEventId.RECEIVE,
            source=TrackingSource.STOREDRIVER,
            recipient_address=("ben@treyresearch.net", "terry@treyresearch.net"),
            recipient_status=(),
        )
    )
    log.append(send_event(event_id=TrackingEventId.SUBMIT, date_time=T0 + timedelta(seconds=1)))
    log.append(send_event(date_time=T0 + timedelta(seconds=2)))
    log.append(
        send_event(
            date_time=T0 + timedelta(minutes=5),
            message_id="<other@adatum.com>",
            message_subject="Budget",
            sender_address="ed@adatum.com",
            recipient_address=("administrator@treyresearch.net",),
            recipient_status=("250 2.1.5 Recipient OK",),
        )
    )
    return log


def test_search_filters_like_get_messagetrackinglog() -> None:
    log = build_log()
    assert len(log.search()) == 4
    assert [r.event_id for r in log.search(event_id="send")] == [TrackingEventId.SEND] * 2
    assert len(log.search(event_id=TrackingEventId.RECEIVE)) == 1
    assert len(log.search(recipient="Terry@TreyResearch.net")) == 3
    assert len(log.search(recipient="treyresearch.net")) == 0  # whole address, not substring
    assert len(log.search(sender="ED@adatum.com")) == 1
    assert len(log.search(message_id="a1b2c3@adatum-mbx1.adatum.com")) == 3
    assert len(log.search(message_id=MESSAGE_ID)) == 3
    assert len(log.search(subject="trey")) == 3
    assert len(log.search(subject="budget", event_id="SEND")) == 1
    assert len(log.search(start=T0 + timedelta(seconds=1), end=T0 + timedelta(seconds=2))) == 2
    assert log.search(sender="april@adatum.com", subject="budget") == []


def test_search_refuses_an_unknown_event_id() -> None:
    with pytest.raises(ValueError, match="unknown message tracking event id 'SENT'"):
        build_log().search(event_id="SENT")
