"""Suspend-, Resume- and Remove-Message end to end on a real lab (docs/exchange-reference.md §8,
§9; docs/fidelity.md "Suspend-, Resume- and Remove-Message"): a queue in Retry to a partner that
refuses, one message held while the connector is fixed, test mail cleared with and without an
NDR, by identity, by OPATH filter and from Get-Message's pipeline. Real sockets; time moves
only on the lab clock."""

from __future__ import annotations

import re
from collections.abc import Callable

from hostile_partners import PARTNER_ADDRESS, PARTNER_DOMAIN, HostilePartner, HostileSession
from integration_helpers import sh

from labsim.lab import Lab
from labsim.model.enums import MessageStatus, QueueStatus
from labsim.reactor import drive
from tests.integration.test_e2e_queue_control import queue, trusted_partners

ADMIN_DELETED = "550 4.3.2 QUEUE.Admin; message deleted by administrative action"


def _refusing_partner(start_lab: Callable[..., Lab], *subjects: str) -> Lab:
    """Trey's receiving server is down: Adatum's queue to treyresearch.net is in Retry with
    these messages from april@adatum.com."""
    lab = trusted_partners(start_lab)
    assert lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1").error is None
    for subject in subjects:
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=subject)
    assert queue(lab, "Adatum", "treyresearch.net").status is QueueStatus.RETRY
    return lab


def _ok(lab: Lab, line: str, org: str = "Adatum") -> str:
    result = lab.run_shell(org, line)
    assert result.error is None, result.error
    return str(result.output)


def _identity(lab: Lab, subject: str) -> str:
    return next(m.identity for m in lab.messages("Adatum") if m.subject == subject)


def _status(lab: Lab, subject: str) -> MessageStatus:
    return next(m.status for m in lab.messages("Adatum") if m.subject == subject)


def _delivered(lab: Lab) -> list[str]:
    return [m.subject for m in lab.inbox("ben@treyresearch.net")]


def _ndrs(lab: Lab) -> list[bytes]:
    return [m.content for m in lab.inbox("april@adatum.com") if m.is_ndr]


def test_a_suspended_message_stays_while_the_rest_of_the_queue_is_delivered(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _refusing_partner(start_lab, "hold me", "send me")
    held = _identity(lab, "hold me")
    _ok(lab, f"Suspend-Message -Identity {held}")
    assert _status(lab, "hold me") is MessageStatus.SUSPENDED
    # The fix: the partner's server runs again; Retry-Queue sends what is not held.
    _ok(lab, "Start-LabServer TREY-CAS1", "TreyResearch")
    _ok(lab, "Retry-Queue -Identity ADATUM-MBX1\\treyresearch.net")
    assert _delivered(lab) == ["send me"]
    assert [m.subject for m in lab.messages("Adatum")] == ["hold me"]
    lab.advance(3600)  # no retry sends a held message either
    assert _delivered(lab) == ["send me"]
    assert _status(lab, "hold me") is MessageStatus.SUSPENDED
    # Resume-Message on a Ready queue: attempted at once.
    _ok(lab, f"Resume-Message {held}")
    assert _delivered(lab) == ["send me", "hold me"]
    assert lab.messages("Adatum") == []


def test_resume_message_in_a_retry_queue_waits_for_the_next_retry(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _refusing_partner(start_lab, "held")
    _ok(lab, "Get-Message -Queue ADATUM-MBX1\\treyresearch.net | Suspend-Message")
    _ok(lab, "Start-LabServer TREY-CAS1", "TreyResearch")
    _ok(lab, "Get-Message | Resume-Message")
    assert _status(lab, "held") is MessageStatus.READY
    assert _delivered(lab) == []  # the queue is still in Retry
    lab.advance(5 * 60)  # its next retry (TransientFailureRetryInterval)
    assert _delivered(lab) == ["held"]


def test_a_suspended_message_still_expires(start_lab: Callable[..., Lab]) -> None:
    lab = _refusing_partner(start_lab, "held")
    _ok(lab, f"Suspend-Message {_identity(lab, 'held')}")
    lab.advance(2 * 86400 + 60)  # MessageExpirationTimeOut
    assert lab.messages("Adatum") == []
    failed = [n for n in _ndrs(lab) if b"Action: failed" in n]
    assert len(failed) == 1 and b"4.4.7" in failed[0]


def test_remove_message_with_ndr_sends_the_sender_the_administrative_ndr(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _refusing_partner(start_lab, "test 1")
    line = "Get-Message -Queue ADATUM-MBX1\\treyresearch.net | Remove-Message -WithNDR $true"
    _ok(lab, line + " -Confirm:$false")
    assert lab.messages("Adatum") == []
    assert queue(lab, "Adatum", "treyresearch.net").status is QueueStatus.READY
    (ndr,) = _ndrs(lab)
    assert ADMIN_DELETED.encode() in ndr
    assert b"Action: failed" in ndr and b"Status: 4.3.2" in ndr
    tracking = lab.tracking_log("Adatum", "ADATUM-MBX1")
    fail = [line for line in tracking if ",ADMIN,FAIL," in line]
    assert len(fail) == 1 and ADMIN_DELETED in fail[0] and "test 1" in fail[0]
    assert any(",DSN,DSN," in line and "test 1" in line for line in tracking)
    # Nothing is left to deliver when the partner is back.
    _ok(lab, "Start-LabServer TREY-CAS1", "TreyResearch")
    lab.advance(3600)
    assert _delivered(lab) == []


def test_remove_message_without_ndr_is_silent_but_tracked(start_lab: Callable[..., Lab]) -> None:
    lab = _refusing_partner(start_lab, "quiet")
    _ok(lab, f"Remove-Message {_identity(lab, 'quiet')} -WithNDR $false")
    assert lab.messages("Adatum") == []
    assert _ndrs(lab) == []
    tracking = lab.tracking_log("Adatum", "ADATUM-MBX1")
    assert any(",ADMIN,FAIL," in line and ADMIN_DELETED in line for line in tracking)
    assert not any(",DSN,DSN," in line for line in tracking)


def test_remove_message_by_filter_takes_only_what_the_filter_names(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _refusing_partner(start_lab, "test A", "test B", "real mail")
    selected = _ok(lab, "Get-Message -Filter \"Subject -like 'test*'\" | FT Subject")
    assert "real mail" in _ok(lab, "Get-Message -Server ADATUM-MBX1 | FT Subject")
    assert _ok(lab, "Get-Message -Server ADATUM-CAS1") == ""
    assert "test A" in selected and "test B" in selected and "real mail" not in selected
    _ok(
        lab,
        "Remove-Message -Server ADATUM-MBX1 -Filter \"FromAddress -eq 'april@adatum.com' "
        "-and Subject -like 'test*' -and Queue -eq 'ADATUM-MBX1\\treyresearch.net' "
        '-and Status -ne Suspended" -WithNDR $false',
    )
    assert [m.subject for m in lab.messages("Adatum")] == ["real mail"]
    _ok(lab, "Suspend-Message -Filter \"Subject -eq 'real mail'\"")
    assert _status(lab, "real mail") is MessageStatus.SUSPENDED
    assert "real mail" in _ok(lab, 'Get-Message -Filter "Status -eq Suspended" | FT Subject')


def test_what_if_changes_nothing(start_lab: Callable[..., Lab]) -> None:
    lab = _refusing_partner(start_lab, "kept")
    identity = _identity(lab, "kept")
    output = _ok(lab, f"Remove-Message {identity} -WhatIf")
    assert output == f'What if: Performing the operation "Remove-Message" on target "{identity}".'
    _ok(lab, f"Suspend-Message {identity} -WhatIf")
    assert _status(lab, "kept") is MessageStatus.RETRY


def test_bad_input_gets_one_message_each_and_the_lab_goes_on(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _refusing_partner(start_lab, "one", "two")
    cases = {
        "Remove-Message ADATUM-MBX1\\1\\999999": (
            "Remove-Message: The operation couldn't be performed because object "
            "'ADATUM-MBX1\\1\\999999' couldn't be found on 'DC1.adatum.com'. Run Get-Message "
            "to list the messages."
        ),
        "Suspend-Message ADATUM-MBX1\\Submission\\7": "is in the Submission queue",
        "Resume-Message ADATUM-MBX1\\1\\*": "matches multiple entries",
        "Remove-Message -Filter \"Recipients -contains 'ben@treyresearch.net'\"": (
            "labsim cannot read the filter"
        ),
        "Remove-Message -Filter \"Colour -eq 'red'\"": "'Colour' is not a message property",
        "Remove-Message -Filter \"Subject -eq 'one'\" -Identity ADATUM-MBX1\\1\\1": (
            "Parameter set cannot be resolved"
        ),
        "Remove-Message -WithNDR $false": "Give the message as -Identity",
        "Remove-Message -Filter \"Subject -eq 'one'\" -Server NOPE": "couldn't be found",
    }
    for line, expected in cases.items():
        result = lab.run_shell("Adatum", line)
        assert result.error is not None, line
        assert expected in str(result.error), (line, str(result.error))
        assert str(result.error).count("\n") == 0, str(result.error)
    assert sorted(m.subject for m in lab.messages("Adatum")) == ["one", "two"]
    filtered = lab.run_shell("Adatum", "Remove-Message -Filter \"Colour -eq 'red'\"")
    assert "FromAddress, Subject, Queue, Status" in str(filtered.error)


def test_message_identities_are_those_get_message_shows(start_lab: Callable[..., Lab]) -> None:
    lab = _refusing_partner(start_lab, "by domain")
    identity = _identity(lab, "by domain")
    number = identity.rsplit("\\", 1)[1]
    assert re.fullmatch(r"ADATUM-MBX1\\1\\\d+", identity)
    _ok(lab, f"Suspend-Message ADATUM-MBX1\\treyresearch.net\\{number}")
    assert _status(lab, "by domain") is MessageStatus.SUSPENDED


# --- a message whose transaction runs: PendingSuspend / PendingRemove -------------------------


class _HoldingPartner:
    """A plain SMTP partner that takes the message data and keeps its reply until told."""

    def __init__(self) -> None:
        self.in_data = False
        self.waiting: object = None

    def on_connect(self, session: HostileSession) -> None:
        session.send(b"220 hostile.example.test ESMTP\r\n")

    def on_command(self, session: HostileSession, command: str) -> None:
        if self.in_data:
            if command == ".":
                self.in_data, self.waiting = False, session
            return
        verb = command.split(" ")[0].split(":")[0]
        if verb in ("EHLO", "HELO"):
            session.send(b"250 hostile.example.test\r\n")
        elif verb == "DATA":
            self.in_data = True
            session.send(b"354 go ahead\r\n")
        elif verb == "QUIT":
            session.send(b"221 2.0.0 bye\r\n")
            session.close()
        else:
            session.send(b"250 2.0.0 ok\r\n")

    def answer(self, reply: bytes) -> None:
        assert isinstance(self.waiting, HostileSession)
        self.waiting.send(reply)
        self.waiting = None


def _transaction_waiting(lab: Lab) -> tuple[HostilePartner, _HoldingPartner]:
    """A message to the partner whose DATA the partner holds: its transaction runs."""
    sh(
        lab,
        "Adatum",
        f'New-SendConnector -Name "To Hostile" -Usage Internet -AddressSpaces {PARTNER_DOMAIN} '
        f"-DNSRoutingEnabled $false -SmartHosts {PARTNER_ADDRESS}",
    )
    holding = _HoldingPartner()
    partner = HostilePartner(holding.on_connect, holding.on_command)
    partner.listen(lab)
    lab.transport_services["ADATUM-MBX1"].submit_new(
        mail_from="april@adatum.com",
        to=[f"eve@{PARTNER_DOMAIN}"],
        cc=[],
        bcc=[],
        subject="in flight",
        body="",
    )
    assert drive(lab.world.reactor, lambda: holding.waiting is not None, bound=10)
    return partner, holding


def _now(lab: Lab, line: str) -> None:
    """Run a shell line without waiting for the lab to settle (the transaction is held)."""
    result = lab.shell("Adatum").run(line)
    assert result.error is None, result.error


def test_remove_while_the_message_is_transmitted_is_pending_then_removed_if_it_comes_back(
    lab: Lab,
) -> None:
    partner, holding = _transaction_waiting(lab)
    try:
        _now(lab, "Get-Message -Queue ADATUM-MBX1\\1 | Remove-Message")
        assert _status(lab, "in flight") is MessageStatus.PENDING_REMOVE
        holding.answer(b"451 4.3.0 try again later\r\n")
        lab.run_until_idle()
        assert lab.messages("Adatum") == []
        (ndr,) = _ndrs(lab)
        assert b"550 4.3.2 QUEUE.DDAdmin; message deleted by administrative action" in ndr
        assert any(
            ",ADMIN,FAIL," in line and "QUEUE.DDAdmin" in line
            for line in lab.tracking_log("Adatum", "ADATUM-MBX1")
        )
    finally:
        partner.stop()


def test_delivery_of_a_message_pending_remove_is_not_interrupted(lab: Lab) -> None:
    partner, holding = _transaction_waiting(lab)
    try:
        _now(lab, "Get-Message | Suspend-Message")
        assert _status(lab, "in flight") is MessageStatus.PENDING_SUSPEND
        _now(lab, "Get-Message | Remove-Message -WithNDR $false")
        assert _status(lab, "in flight") is MessageStatus.PENDING_REMOVE
        holding.answer(b"250 2.6.0 queued\r\n")
        lab.run_until_idle()
        assert lab.messages("Adatum") == [] and _ndrs(lab) == []
        tracking = lab.tracking_log("Adatum", "ADATUM-MBX1")
        assert any(",SMTP,SEND," in line and "in flight" in line for line in tracking)
        assert not any(",FAIL," in line for line in tracking)
    finally:
        partner.stop()


def test_suspend_while_the_message_is_transmitted_holds_it_if_it_comes_back(lab: Lab) -> None:
    partner, holding = _transaction_waiting(lab)
    try:
        _now(lab, "Get-Message | Suspend-Message")
        holding.answer(b"451 4.3.0 try again later\r\n")
        lab.run_until_idle()
        assert _status(lab, "in flight") is MessageStatus.SUSPENDED
        lab.advance(3600)  # no retry takes a held message
        assert _status(lab, "in flight") is MessageStatus.SUSPENDED
    finally:
        partner.stop()
