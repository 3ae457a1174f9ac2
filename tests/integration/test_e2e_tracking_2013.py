"""Message tracking as Exchange 2013 writes it (docs/exchange-reference.md §8, §17 C6): one network message id
on every event of a message in an organization, STOREDRIVER RECEIVE included; source-context
filled (the mailbox database and mailbox for STOREDRIVER, the SMTP session for SMTP events);
AGENTINFO after the message is received; DELIVER in the Mailbox Transport Delivery service's
MSGTRKMD files; the ``#Log-type`` header line."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from integration_helpers import configure_walkthrough

from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.logs import TrackingEventId, TrackingRecord, TrackingSource
from labsim.model.lab import default_lab
from tests.integration.test_e2e_queue_control import queue, trusted_partners

PARTNERS = Path(__file__).resolve().parents[2] / "labs" / "partners.toml"
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
WHEN = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@pytest.fixture
def sent(tmp_path: Path) -> Iterator[tuple[Lab, Path]]:
    logs = tmp_path / "logs"
    lab = Lab.start(default_lab(), cert_folder=tmp_path / "certs", log_folder=logs)
    try:
        configure_walkthrough(lab, "Adatum")
        configure_walkthrough(lab, "TreyResearch")
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="tracked")
        assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["tracked"]
        yield lab, logs
    finally:
        lab.stop()


def _events(lab: Lab, server: str) -> list[TrackingRecord]:
    return [r for r in lab.world.tracking_logs[server].records() if r.message_subject == "tracked"]


def test_one_network_message_id_per_organization_with_the_2013_events(
    sent: tuple[Lab, Path],
) -> None:
    lab, _ = sent
    adatum = _events(lab, "ADATUM-MBX1")
    assert [(r.source, r.event_id) for r in adatum] == [
        (TrackingSource.STOREDRIVER, TrackingEventId.RECEIVE),
        (TrackingSource.STOREDRIVER, TrackingEventId.SUBMIT),
        (TrackingSource.AGENT, TrackingEventId.AGENTINFO),
        (TrackingSource.SMTP, TrackingEventId.SEND),
    ]
    (adatum_id,) = {r.network_message_id for r in adatum}
    assert re.fullmatch(GUID, adatum_id)
    trey = _events(lab, "TREY-MBX1")
    assert [(r.source, r.event_id) for r in trey] == [
        (TrackingSource.SMTP, TrackingEventId.RECEIVE),
        (TrackingSource.AGENT, TrackingEventId.AGENTINFO),
        (TrackingSource.STOREDRIVER, TrackingEventId.DELIVER),
    ]
    (trey_id,) = {r.network_message_id for r in trey}
    # TreyResearch's receive firewall drops Adatum's organization header: a new id there.
    assert re.fullmatch(GUID, trey_id) and trey_id != adatum_id
    delivered = lab.inbox("ben@treyresearch.net")[0]
    assert delivered.header("X-MS-Exchange-Organization-Network-Message-Id") == trey_id


def test_source_context_names_the_store_and_the_smtp_sessions(sent: tuple[Lab, Path]) -> None:
    lab, _ = sent
    receive, submit, agent, send = _events(lab, "ADATUM-MBX1")
    store = (
        rf"MDB:{GUID}, Mailbox:{GUID}, Event:\d+, MessageClass:IPM\.Note, "
        rf"CreationTime:{WHEN}, ClientType:MOMT"
    )
    assert re.fullmatch(store, receive.source_context), receive.source_context
    assert re.fullmatch(store, submit.source_context), submit.source_context
    assert agent.custom_data.startswith("S:AMA=SUM|"), agent.custom_data
    assert "S:AccountForest=adatum.com" in agent.custom_data
    assert re.fullmatch(
        rf"[0-9A-F]{{16}};250 2\.6\.0 .+;ClientSubmitTime:{WHEN}", send.source_context
    ), send.source_context
    smtp_receive, _, deliver = _events(lab, "TREY-MBX1")
    assert re.fullmatch(rf"[0-9A-F]{{16}};{WHEN};0", smtp_receive.source_context)
    assert deliver.source_context.startswith("MDB:"), deliver.source_context


def test_deliver_is_written_to_the_msgtrkmd_file_under_the_2013_header(
    sent: tuple[Lab, Path],
) -> None:
    _, logs = sent
    folder = logs / "TREY-MBX1" / "TransportRoles" / "Logs" / "MessageTracking"
    transport = next(folder.glob("MSGTRK2*.LOG")).read_text(encoding="utf-8").splitlines()
    delivery = next(folder.glob("MSGTRKMD*.LOG")).read_text(encoding="utf-8").splitlines()
    for lines in (transport, delivery):
        assert lines[2] == "#Log-type: Message Tracking Log"
    assert any(",STOREDRIVER,DELIVER," in line for line in delivery)
    assert not any(",STOREDRIVER,DELIVER," in line for line in transport)
    assert any(",SMTP,RECEIVE," in line for line in transport)


def test_every_failed_attempt_writes_one_defer_per_message(
    start_lab: Callable[..., Lab],
) -> None:
    # labsim's decision (docs/fidelity.md): one DEFER row per message for each attempt that
    # ends in Retry, so Get-MessageTrackingLog -EventId DEFER counts what RetryCount counts.
    lab = trusted_partners(start_lab)
    assert lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1").error is None
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="deferred")
    lab.advance(5 * 60 + 1)  # TransientFailureRetryInterval: the second attempt
    retries = queue(lab, "Adatum", "treyresearch.net").retry_count
    assert retries == 2
    defers = [
        r
        for r in lab.world.tracking_logs["ADATUM-MBX1"].records()
        if r.event_id is TrackingEventId.DEFER and r.message_subject == "deferred"
    ]
    assert len(defers) == retries
    assert len({r.network_message_id for r in defers}) == 1


def test_a_second_mailbox_server_holds_the_shadow_copy_haredirect(
    start_lab: Callable[..., Lab], tmp_path: Path
) -> None:
    # With a second Mailbox server in the organization, Shadow Redundancy keeps a copy there
    # before the message is acknowledged: HAREDIRECT, as a 2013 DAG shows around RECEIVE.
    text = PARTNERS.read_text(encoding="utf-8").replace(
        '[[organizations]]\nname = "TreyResearch"',
        '[[organizations.servers]]\nname = "ADATUM-MBX2"\nrole = "Mailbox"\n'
        'fqdn = "adatum-mbx2.adatum.com"\naddress = "127.0.10.3"\n\n'
        '[[organizations]]\nname = "TreyResearch"',
    )
    lab_file = tmp_path / "two-mailbox-servers.toml"
    lab_file.write_text(text, encoding="utf-8")
    lab = start_lab(load_lab_file(lab_file))
    lab.send(mail_from="april@adatum.com", to=["ed@adatum.com"], subject="tracked")
    events = _events(lab, "ADATUM-MBX1")
    kinds = [r.event_id for r in events]
    assert kinds[:5] == [
        TrackingEventId.RECEIVE,
        TrackingEventId.SUBMIT,
        TrackingEventId.HAREDIRECT,
        TrackingEventId.AGENTINFO,
        TrackingEventId.DELIVER,
    ]
    shadow = events[2]
    assert shadow.source is TrackingSource.SMTP
    assert shadow.source_context.startswith("adatum-mbx2.adatum.com = 250 2.6.0 ")
    assert shadow.source_context.endswith("Queued mail for redundancy")
    assert len({r.network_message_id for r in events}) == 1


def test_the_2525_reply_counts_the_message_as_received_there(tmp_path: Path) -> None:
    # 250 2.6.0 … <n> bytes in …: n is the message as the Mailbox server received and queued it,
    # the Received header it adds included (§17 C9), so it equals the RECEIVE event's
    # total-bytes and the size of what lands in the mailbox.
    lab = Lab.start(default_lab(), cert_folder=tmp_path / "certs", log_folder=tmp_path / "logs")
    try:
        configure_walkthrough(lab, "Adatum")
        configure_walkthrough(lab, "TreyResearch")
        lab.shell("TreyResearch").run(
            'Set-ReceiveConnector "TREY-MBX1\\Default TREY-MBX1" -ProtocolLoggingLevel Verbose'
        )
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="tracked")
        (message,) = lab.inbox("ben@treyresearch.net")
        (reply,) = [
            line
            for line in lab.protocol_log("TreyResearch", "TREY-MBX1", "receive")
            if "Queued mail for delivery" in line
        ]
        found = re.search(r"\] (\d+) bytes in \d+\.\d{3}, \d+\.\d{3} KB/sec Queued", reply)
        assert found is not None, reply
        counted = int(found.group(1))
        (received,) = [
            r
            for r in _events(lab, "TREY-MBX1")
            if r.event_id is TrackingEventId.RECEIVE and r.source is TrackingSource.SMTP
        ]
        assert counted == received.total_bytes == len(message.content)
        assert message.content.startswith(b"Received: from mail.treyresearch.net")
    finally:
        lab.stop()
