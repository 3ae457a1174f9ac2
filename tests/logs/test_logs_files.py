"""Protocol log store: Exchange's folder layout, file names, header lines, rollover (§7.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from labsim.logs import (
    ProtocolLogSession,
    ProtocolLogStore,
    SessionIdAllocator,
    TransportService,
)

T0 = datetime(2026, 11, 30, 6, 48, 13, 123000, tzinfo=UTC)
HEADER_RECV = [
    "#Software: Microsoft Exchange Server",
    "#Version: 15.0.0.0",
    "#Log-type: SMTP Receive Protocol Log",
    "#Date: 2026-11-30T06:48:13.123Z",
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
    "remote-endpoint,event,data,context",
]


def one_receive_session(store: ProtocolLogStore, at: datetime, session_id: str) -> None:
    log = ProtocolLogSession.for_receive_connector(
        store.log("TREY-CAS1", TransportService.FRONT_END, "receive").append,
        server="TREY-CAS1",
        connector="Default Frontend TREY-CAS1",
        session_id=session_id,
        local_endpoint="127.0.20.1:25",
        remote_endpoint="127.0.10.1:49152",
    )
    log.connect(at)
    log.received(at, "QUIT")
    log.disconnect(at, "Local")


def test_receive_log_file_layout_and_header(tmp_path: Path) -> None:
    store = ProtocolLogStore(tmp_path)
    one_receive_session(store, T0, "08DF4EADDFBE5000")
    store.flush()

    path = (
        tmp_path
        / "TREY-CAS1/TransportRoles/Logs/FrontEnd/ProtocolLog/SmtpReceive/RECV20261130-1.LOG"
    )
    assert path.read_bytes().decode("utf-8") == "\r\n".join(
        [
            *HEADER_RECV,
            r"2026-11-30T06:48:13.123Z,TREY-CAS1\Default Frontend TREY-CAS1,08DF4EADDFBE5000,0,"
            "127.0.20.1:25,127.0.10.1:49152,+,,",
            r"2026-11-30T06:48:13.123Z,TREY-CAS1\Default Frontend TREY-CAS1,08DF4EADDFBE5000,1,"
            "127.0.20.1:25,127.0.10.1:49152,<,QUIT,",
            r"2026-11-30T06:48:13.123Z,TREY-CAS1\Default Frontend TREY-CAS1,08DF4EADDFBE5000,2,"
            "127.0.20.1:25,127.0.10.1:49152,-,,Local",
            "",
        ]
    )
    # text() is the file, and lines() the records without the header.
    assert store.text("TREY-CAS1", "receive") == path.read_bytes().decode("utf-8")
    assert store.lines("trey-cas1", "receive")[1].endswith(",<,QUIT,")
    assert store.lines("TREY-CAS1", "send") == []
    assert store.text("TREY-CAS1", "send") == ""


def test_send_log_of_a_mailbox_server_goes_under_hub(tmp_path: Path) -> None:
    store = ProtocolLogStore(tmp_path)
    sink = store.log("TREY-MBX1", "Hub", "send").append
    log = ProtocolLogSession.for_send_connector(
        sink,
        connector="Intra-Organization SMTP Send Connector",
        session_id=SessionIdAllocator(1).allocate(),
        local_endpoint="127.0.20.2:50000",
        remote_endpoint="127.0.20.1:717",
    )
    log.connect(T0)
    store.flush()
    text = (
        tmp_path / "TREY-MBX1/TransportRoles/Logs/Hub/ProtocolLog/SmtpSend/SEND20261130-1.LOG"
    ).read_text(encoding="utf-8")
    assert text.splitlines()[2] == "#Log-type: SMTP Send Protocol Log"
    assert text.splitlines()[5] == (
        "2026-11-30T06:48:13.123Z,Intra-Organization SMTP Send Connector,0000000000000001,0,"
        "127.0.20.2:50000,127.0.20.1:717,+,,"
    )


def test_new_utc_day_starts_a_new_file_with_its_own_header(tmp_path: Path) -> None:
    store = ProtocolLogStore(tmp_path)
    one_receive_session(store, T0, "0000000000000001")
    one_receive_session(store, T0 + timedelta(days=2), "0000000000000002")
    store.flush()

    log = store.log("TREY-CAS1", "FrontEnd", "receive")
    assert log.file_names() == ["RECV20261130-1.LOG", "RECV20261202-1.LOG"]
    second = (log.folder or tmp_path) / "RECV20261202-1.LOG"
    lines = second.read_text(encoding="utf-8").splitlines()
    assert lines[3] == "#Date: 2026-12-02T06:48:13.123Z"
    assert len(lines) == 5 + 3
    assert len(store.lines("TREY-CAS1", "receive")) == 6


def test_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    first_run = ProtocolLogStore(tmp_path)
    one_receive_session(first_run, T0, "0000000000000001")
    first_run.flush()
    second_run = ProtocolLogStore(tmp_path)
    one_receive_session(second_run, T0, "0000000000000002")
    second_run.flush()
    folder = second_run.log("TREY-CAS1", "FrontEnd", "receive").folder
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == ["RECV20261130-1.LOG", "RECV20261130-2.LOG"]
    assert "0000000000000001" in (folder / "RECV20261130-1.LOG").read_text(encoding="utf-8")


def test_lines_reach_the_file_on_flush_and_only_once(tmp_path: Path) -> None:
    store = ProtocolLogStore(tmp_path)
    one_receive_session(store, T0, "0000000000000001")
    log = store.log("TREY-CAS1", "FrontEnd", "receive")
    path = (log.folder or tmp_path) / "RECV20261130-1.LOG"
    assert path.read_text(encoding="utf-8").splitlines() == HEADER_RECV  # buffered until flush
    store.flush()
    one_receive_session(store, T0, "0000000000000002")
    store.flush()
    store.flush()
    on_disk = path.read_bytes().decode("utf-8")
    assert on_disk == store.text("TREY-CAS1", "receive")
    assert on_disk.count(",+,,") == 2


def test_memory_only_store_writes_nothing(tmp_path: Path) -> None:
    store = ProtocolLogStore()
    one_receive_session(store, T0, "0000000000000001")
    store.flush()
    assert store.text("TREY-CAS1", "receive").startswith("#Software: Microsoft Exchange Server\r\n")
    assert list(tmp_path.iterdir()) == []


def test_services_of_one_server_are_kept_apart_and_merged_in_order() -> None:
    store = ProtocolLogStore()
    front = store.log("EX1", "FrontEnd", "receive")
    hub = store.log("EX1", "Hub", "receive")
    sessions = [
        ProtocolLogSession(
            log.append,
            connector_id=f"EX1\\{name}",
            session_id=f"{n:016X}",
            local_endpoint="127.0.30.1:25",
            remote_endpoint="127.0.30.1:2525",
        )
        for n, (log, name) in enumerate([(front, "Default Frontend EX1"), (hub, "Default EX1")])
    ]
    sessions[0].connect(T0)
    sessions[1].connect(T0)
    sessions[0].sent(T0, "250 OK")
    assert [r.connector_id for r in store.records("EX1", "receive")] == [
        r"EX1\Default Frontend EX1",
        r"EX1\Default EX1",
        r"EX1\Default Frontend EX1",
    ]
    assert len(store.lines("EX1", "receive", "Hub")) == 1
    assert store.text("EX1", "receive").count("#Software:") == 2


def test_bad_names_are_refused() -> None:
    store = ProtocolLogStore()
    with pytest.raises(ValueError, match="folder name"):
        store.log("../etc", "Hub", "receive")
    with pytest.raises(ValueError, match="unknown protocol log"):
        store.lines("EX1", "tracking")
    with pytest.raises(ValueError, match="unknown transport service"):
        store.log("EX1", "Edge", "send")
