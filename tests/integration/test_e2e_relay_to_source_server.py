"""Routing to a send connector another Mailbox server sources, end to end (issue 13's
reproducer, docs/fidelity.md "Relay to a connector's source servers"): the routing server relays
the message to the connector's source server over SMTP (Transport service, port 2525, X-EXPS),
which sends it through the connector. Real sockets; time moves only on the lab clock."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.logs.tracking import TrackingEventId, TrackingRecord, TrackingSource
from labsim.model.enums import QueueStatus

TWO_MAILBOX_SERVERS = Path(__file__).resolve().parent / "labs" / "two-mailbox-servers.toml"


def _events(lab: Lab, server: str, subject: str) -> list[TrackingRecord]:
    return [r for r in lab.world.tracking_logs[server].records() if r.message_subject == subject]


def _ok(lab: Lab, line: str) -> str:
    result = lab.run_shell("Adatum", line)
    assert result.error is None, result.error
    return str(result.output)


def test_mail_routed_on_mbx1_leaves_domain_secured_through_mbx2(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab(load_lab_file(TWO_MAILBOX_SERVERS))
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="relayed")
    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    assert message.header("X-MS-Exchange-Organization-AuthAs") == "Partner"
    # The partner saw ADATUM-MBX2 connect: its Partner receive connector (RemoteIPRanges
    # 127.0.10.3 only) took the session.
    log = lab.protocol_log("TreyResearch", "TREY-CAS1", "receive")
    sessions = [line for line in log if "From Adatum" in line]
    assert sessions and all(",127.0.10.3:" in line for line in sessions), log
    # ADATUM-MBX1: SEND to ADATUM-MBX2 through the implicit intra-organization connector.
    first = _events(lab, "ADATUM-MBX1", "relayed")
    (send,) = [r for r in first if r.event_id is TrackingEventId.SEND]
    assert send.source is TrackingSource.SMTP
    assert send.connector_id == "Intra-Organization SMTP Send Connector"
    assert send.server_hostname == "adatum-mbx2.adatum.com"
    assert send.server_ip == "127.0.10.3"
    # ADATUM-MBX2: RECEIVE from ADATUM-MBX1 on its Default connector, then SEND to the partner.
    second = _events(lab, "ADATUM-MBX2", "relayed")
    (receive,) = [
        r
        for r in second
        if r.event_id is TrackingEventId.RECEIVE and r.source is TrackingSource.SMTP
    ]
    assert receive.client_ip == "127.0.10.2"
    assert receive.client_hostname == "adatum-mbx1.adatum.com"
    assert receive.connector_id == "ADATUM-MBX2\\Default ADATUM-MBX2"
    (out,) = [r for r in second if r.event_id is TrackingEventId.SEND]
    assert out.connector_id == "To TreyResearch"
    assert out.server_hostname == "mail.treyresearch.net"
    # One network message id across both servers.
    assert {r.network_message_id for r in first + second} == {send.network_message_id}
    # Nothing went out through 'Internet'.
    assert not any(r.connector_id == "Internet" for r in first + second)


def test_stopped_source_server_holds_the_relay_queue_until_it_starts(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab(load_lab_file(TWO_MAILBOX_SERVERS))
    _ok(lab, "Stop-LabServer ADATUM-MBX2")
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="waiting")
    assert not lab.inbox("ben@treyresearch.net")
    table = _ok(lab, "Get-Queue -Server ADATUM-MBX1")
    assert re.search(
        r"^ADATUM-MBX1\\\d+\s+SmtpRelayToConnectorSourceServers\s+Retry\s+1\s.*To TreyResearch$",
        table,
        re.M,
    ), table
    (row,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "To TreyResearch"]
    assert row.status is QueueStatus.RETRY
    assert row.next_hop_category == "Internal"
    assert row.tls_domain == ""
    assert (
        "{LED=441 4.4.1 Error encountered while communicating with primary target IP address"
        in row.last_error
    )
    assert "The last endpoint attempted was 127.0.10.3:2525" in row.last_error
    assert "{FQDN=adatum-mbx2.adatum.com};{IP=127.0.10.3}" in row.last_error
    listing = _ok(lab, "Get-Message -Queue 'ADATUM-MBX1\\To TreyResearch' | FL Subject,Status")
    assert re.search(r"^Subject\s+: waiting$", listing, re.M), listing
    assert re.search(r"^Status\s+: Retry$", listing, re.M), listing
    (defer,) = [
        r for r in _events(lab, "ADATUM-MBX1", "waiting") if r.event_id is TrackingEventId.DEFER
    ]
    assert defer.connector_id == "Intra-Organization SMTP Send Connector"
    _ok(lab, "Start-LabServer ADATUM-MBX2")
    lab.advance(5 * 60)  # TransientFailureRetryInterval
    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.subject == "waiting" and message.domain_secured
