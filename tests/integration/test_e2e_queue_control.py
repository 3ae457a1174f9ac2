"""Queue and server control through the shell, end to end: Suspend-/Resume-Queue, Stop-/Start-
LabServer, MX failover before Retry, and two lab days of retries into an NDR (docs/exchange-reference.md §4.5,
§9). Everything runs on real sockets; time moves only on the lab clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.model.enums import QueueStatus
from labsim.model.lab import MxRecord

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = ROOT / "labs" / "partners.toml"


def trusted_partners(start_lab: Callable[..., Lab], **changes: object) -> Lab:
    """labs/partners.toml with both roots imported: domain-secured mail flows directly."""
    definition = dataclasses.replace(load_lab_file(PARTNERS), **changes)
    lab = start_lab(definition)
    for org, partner in (("Adatum", "TreyResearch"), ("TreyResearch", "Adatum")):
        result = lab.run_shell(
            org,
            f"Import-Certificate -FilePath {partner}\\root-ca.cer -CertStoreLocation Cert:\\LocalMachine\\Root",
        )
        assert result.error is None, result.error
    return lab


def queue(lab: Lab, org: str, next_hop: str):  # noqa: ANN201 - a QueueView
    return next(q for q in lab.queues(org) if q.next_hop_domain == next_hop)


def test_suspended_queue_holds_mail_until_resumed(start_lab: Callable[..., Lab]) -> None:
    lab = trusted_partners(start_lab)
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="first")
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["first"]
    assert (
        lab.run_shell("Adatum", "Suspend-Queue -Identity ADATUM-MBX1\\treyresearch.net").error
        is None
    )
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="held")
    lab.advance(3600)
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["first"]
    assert queue(lab, "Adatum", "treyresearch.net").status is QueueStatus.SUSPENDED
    assert lab.run_shell("Adatum", "Get-Queue | Resume-Queue").error is None
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["first", "held"]
    assert all(m.domain_secured for m in lab.inbox("ben@treyresearch.net"))


def test_stopped_receiver_puts_the_queue_in_retry_until_it_starts(
    start_lab: Callable[..., Lab],
) -> None:
    lab = trusted_partners(start_lab)
    assert lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1").error is None
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="while down")
    row = queue(lab, "Adatum", "treyresearch.net")
    assert row.status is QueueStatus.RETRY
    assert (
        "{LED=441 4.4.1 Error encountered while communicating with primary target IP address"
        in row.last_error
    )
    assert "The last endpoint attempted was 127.0.20.1:25" in row.last_error
    assert lab.run_shell("TreyResearch", "Start-LabServer TREY-CAS1").error is None
    lab.advance(5 * 60)  # the next retry (TransientFailureRetryInterval)
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["while down"]


def test_second_mx_is_tried_before_retry(start_lab: Callable[..., Lab]) -> None:
    # treyresearch.net gets a preferred MX that does not answer (no server listens there).
    base = load_lab_file(PARTNERS)
    mx = (MxRecord("treyresearch.net", "mx0.treyresearch.net", 5), *base.mx_records)
    lab = trusted_partners(
        start_lab,
        mx_records=mx,
        extra_a_records=(*base.extra_a_records, ("mx0.treyresearch.net", "127.0.20.9")),
    )
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="failover")
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["failover"]
    assert lab.inbox("ben@treyresearch.net")[0].domain_secured
    assert queue(lab, "Adatum", "treyresearch.net").retry_count == 0


def test_two_lab_days_of_retries_end_in_an_ndr(start_lab: Callable[..., Lab]) -> None:
    lab = trusted_partners(start_lab)
    lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1")
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="doomed")
    lab.advance(4 * 3600 + 60)
    delayed = [m for m in lab.inbox("april@adatum.com") if m.is_ndr]
    assert len(delayed) == 1 and b"Action: delayed" in delayed[0].content
    notice = _human_text(delayed[0].content)
    # §17 C8: the receiving server is named, "Remote Server at … returned"; the target was down,
    # so the last error is the 441 of a connection that could not be made.
    assert "Receiving server: mail.treyresearch.net (127.0.20.1)\n" in notice
    assert (
        "Remote Server at mail.treyresearch.net (127.0.20.1) returned '400 4.4.7 Message delayed'"
    ) in notice
    assert " - Remote Server at mail.treyresearch.net (127.0.20.1) returned '441 4.4.1 " in notice
    retries = queue(lab, "Adatum", "treyresearch.net").retry_count
    # 6 retries every 5 minutes, then every 10 minutes (decision D7): about 27 in 4 hours.
    assert 20 <= retries <= 30
    lab.advance(2 * 86400)
    reports = [m for m in lab.inbox("april@adatum.com") if m.is_ndr]
    assert len(reports) == 2
    assert b"Action: failed" in reports[1].content and b"Status: 4.4.7" in reports[1].content
    assert "ben@treyresearch.net\n#550 4.4.7 QUEUE.Expired; message expired ##\n" in _human_text(
        reports[1].content
    )
    assert not lab.queues("Adatum") or queue(lab, "Adatum", "treyresearch.net").message_count == 0


def test_message_follows_a_replaced_send_connector(start_lab: Callable[..., Lab]) -> None:
    lab = start_lab()
    setup = 'New-SendConnector -Name "Old" -Internet -AddressSpaces * -SourceTransportServers ADATUM-MBX1'
    assert lab.run_shell("Adatum", setup).error is None
    lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1")
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="rerouted")
    assert queue(lab, "Adatum", "treyresearch.net").status is QueueStatus.RETRY
    replace_connector = (
        "Start-LabServer TREY-CAS1\n"
        'Remove-SendConnector "Old"\n'
        'New-SendConnector -Name "New" -Internet -AddressSpaces * -SourceTransportServers ADATUM-MBX1\n'
        "Retry-Queue -Identity ADATUM-MBX1\\treyresearch.net"
    )
    assert lab.run_shell("Adatum", replace_connector).error is None
    # Resubmitted to the categorizer, routed through "New", delivered without waiting.
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["rerouted"]


def test_more_messages_than_one_session_carries(start_lab: Callable[..., Lab]) -> None:
    lab = trusted_partners(start_lab)
    verbose = 'Set-ReceiveConnector "TREY-MBX1\\Default TREY-MBX1" -ProtocolLoggingLevel Verbose'
    assert lab.run_shell("TreyResearch", verbose).error is None
    lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1")
    for n in range(45):
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=f"m{n}")
    lab.run_shell("TreyResearch", "Start-LabServer TREY-CAS1")
    lab.run_shell("Adatum", "Retry-Queue -Identity ADATUM-MBX1\\treyresearch.net")
    assert sorted(m.subject for m in lab.inbox("ben@treyresearch.net")) == sorted(
        f"m{n}" for n in range(45)
    )
    # 45 messages over sessions of at most 20 (SmtpMaxMessagesPerConnection), RSET in between.
    sends = lab.protocol_log("Adatum", "ADATUM-MBX1", "send")
    sessions = {line.split(",")[2] for line in sends if ",>,MAIL FROM:<april@adatum.com>" in line}
    assert len(sessions) == 3
    assert sum(",>,RSET," in line for line in sends) == 45 - 3
    # Front End Transport keeps one downstream session per inbound session: 45 transactions
    # reach TREY-MBX1 over 3 sessions.
    hub = lab.protocol_log("TreyResearch", "TREY-MBX1", "receive")
    mails = [line for line in hub if ",<,MAIL FROM:<april@adatum.com>" in line]
    assert len(mails) == 45
    assert len({line.split(",")[2] for line in mails}) == 3


def _listening(address: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex((address, port)) == 0


def test_stop_and_start_in_one_statement_listen_again(lab: Lab) -> None:
    # Twisted closes a listening socket one reactor turn later: binding the same port again in
    # the same statement used to raise CannotListenError out of the cmdlet.
    port = lab.world.network.real_port(25)
    result = lab.run_shell("Adatum", "Stop-LabServer ADATUM-CAS1; Start-LabServer ADATUM-CAS1")
    assert result.error is None
    assert _listening("127.0.10.1", port)
    assert lab.listening_ports("ADATUM-CAS1")[0] == (25, port)
    # Stopped again before the socket came back: nothing listens.
    result = lab.run_shell(
        "Adatum",
        "Stop-LabServer ADATUM-CAS1; Start-LabServer ADATUM-CAS1; Stop-LabServer ADATUM-CAS1",
    )
    assert result.error is None
    assert not _listening("127.0.10.1", port)
    assert lab.listening_ports("ADATUM-CAS1") == []
    assert lab.run_shell("Adatum", "Start-LabServer ADATUM-CAS1").error is None
    assert _listening("127.0.10.1", port)


def test_a_receive_connector_on_a_port_held_by_another_program(lab: Lab) -> None:
    import socket

    port = lab.world.network.real_port(2526)
    holder = socket.socket()
    holder.bind(("127.0.10.2", port))
    holder.listen()
    try:
        made = lab.run_shell(
            "Adatum",
            'New-ReceiveConnector -Name "Relay 2526" -Server ADATUM-MBX1 -Custom '
            "-Bindings 0.0.0.0:2526 -RemoteIPRanges 127.0.0.1",
        )
        assert made.error is None  # stored, as Exchange stores it; the service cannot bind
        assert any("cannot listen on 127.0.10.2:2526" in note for note in lab.explain())
        # Later configuration changes work, and the other listeners serve.
        later = lab.run_shell("Adatum", "Set-TransportConfig -TLSSendDomainSecureList x.test")
        assert later.error is None
        assert _listening("127.0.10.1", lab.world.network.real_port(25))
    finally:
        holder.close()
    # The port is free again: the next configuration change binds it.
    assert (
        lab.run_shell("Adatum", "Set-TransportConfig -TLSSendDomainSecureList $null").error is None
    )
    assert _listening("127.0.10.2", port)


def test_a_clock_jump_past_the_limit_is_refused_and_the_lab_goes_on(lab: Lab) -> None:
    import pytest

    from labsim.errors import ConfigError

    before = lab.now()
    with pytest.raises(ConfigError, match=r"give a duration from 0s to 36500d \(100 years\)"):
        lab.advance(99999999999 * 86400)
    assert lab.now() - before < timedelta(minutes=1)  # nothing moved
    for _ in range(69):  # up to the year 8926: allowed, 100 years at a time
        lab.advance(36500 * 86400)
    with pytest.raises(ConfigError, match="would pass the year 9000"):
        lab.advance(36500 * 86400)
    assert lab.run_shell("Adatum", "Get-Queue").error is None  # the lab still answers


def test_a_receive_connector_whose_port_plus_the_offset_passes_65535(lab: Lab) -> None:
    """The bind used to raise OverflowError out of the socket layer, leaking the socket."""
    offset = lab.world.network.port_offset
    port = 65536 - offset  # the first Exchange port this lab cannot map
    made = lab.run_shell(
        "Adatum",
        'New-ReceiveConnector -Name "High" -Server ADATUM-MBX1 -Custom '
        f"-Bindings 0.0.0.0:{port} -RemoteIPRanges 127.0.0.1",
    )
    assert made.error is None  # stored, as a binding the service cannot open
    assert any(
        f"cannot listen on 127.0.10.2:{port}: with this lab's port offset {offset} it would be "
        f"port 65536, beyond 65535" in note
        for note in lab.explain()
    )
    assert (
        lab.run_shell("Adatum", "Set-TransportConfig -TLSSendDomainSecureList x.test").error is None
    )


def _human_text(report: bytes) -> str:
    """The human-readable first part of a delivery status report."""
    parsed = message_from_bytes(report, policy=policy.default)
    first = next(iter(parsed.iter_parts()))
    return str(first.get_content()).replace("\r\n", "\n")  # type: ignore[attr-defined]
