"""Queue identities as Exchange 2013 shows them (docs/exchange-reference.md §9, §17 C7): delivery queues are
``SERVER\\<number>``, the Submission queue is always listed, NextHopConnector is the send
connector's GUID, ``Get-Queue | Format-List`` prints the 2013 property set, and the queue
cmdlets take the number form as well as ``SERVER\\NextHopDomain``."""

from __future__ import annotations

import re
from collections.abc import Callable

from labsim.lab import Lab
from labsim.model.enums import QueueStatus
from tests.integration.test_e2e_queue_control import queue, trusted_partners


def _waiting(start_lab: Callable[..., Lab]) -> Lab:
    lab = trusted_partners(start_lab)
    assert lab.run_shell("TreyResearch", "Stop-LabServer TREY-CAS1").error is None
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="waiting")
    return lab


def _ok(lab: Lab, line: str) -> str:
    result = lab.run_shell("Adatum", line)
    assert result.error is None, result.error
    return result.output


def test_get_queue_lists_numbered_delivery_queues_and_submission(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _waiting(start_lab)
    table = _ok(lab, "Get-Queue")
    assert re.search(
        r"^ADATUM-MBX1\\1\s+DnsConnectorDelivery\s+Retry\s+1\s.*treyresearch\.net$", table, re.M
    ), table
    assert re.search(
        r"^ADATUM-MBX1\\Submission\s+Undefined\s+Ready\s+0\s.*Submission$", table, re.M
    ), table
    assert "ADATUM-MBX1\\treyresearch.net" not in table


def test_format_list_shows_the_2013_property_set_with_the_connector_guid(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _waiting(start_lab)
    guid = next(c.guid for c in lab.organization("Adatum").send_connectors)
    listing = _ok(lab, "Get-Queue -Identity ADATUM-MBX1\\1 | FL")
    names = [line.split(":", 1)[0].strip() for line in listing.splitlines() if ":" in line]
    assert names == [
        "DeliveryType", "NextHopDomain", "TlsDomain", "NextHopConnector", "Status",
        "MessageCount", "LastError", "RetryCount", "LastRetryTime", "NextRetryTime",
        "FirstRetryTime", "DeferredMessageCount", "LockedMessageCount",
        "MessageCountsPerPriority", "DeferredMessageCountsPerPriority", "RiskLevel",
        "OutboundIPPool", "NextHopCategory", "IncomingRate", "OutgoingRate", "Velocity",
        "QueueIdentity", "PriorityDescriptions", "Identity", "IsValid", "ObjectState",
    ]  # fmt: skip
    assert re.search(rf"^NextHopConnector\s+: {guid}$", listing, re.M), listing
    assert re.search(r"^Identity\s+: ADATUM-MBX1\\1$", listing, re.M), listing
    submission = _ok(lab, "Get-Queue ADATUM-MBX1\\Submission | FL NextHop*")
    assert re.search(r"NextHopConnector\s+: 00000000-0000-0000-0000-000000000000", submission)
    assert re.search(r"NextHopCategory\s+: Internal", submission)


def test_queue_cmdlets_take_the_number_and_the_next_hop_domain(
    start_lab: Callable[..., Lab],
) -> None:
    lab = _waiting(start_lab)
    assert "waiting" in _ok(lab, "Get-Message -Queue ADATUM-MBX1\\1 | FL Subject")
    assert "waiting" in _ok(lab, "Get-Message -Queue ADATUM-MBX1\\treyresearch.net | FL Subject")
    listing = _ok(lab, "Get-Message -Queue ADATUM-MBX1\\1 | FL Identity")
    found = re.search(r"Identity : (ADATUM-MBX1\\1\\(\d+))$", listing, re.M)
    assert found, listing
    assert "waiting" in _ok(lab, f"Get-Message {found[1]} | FL Subject")
    assert "waiting" in _ok(
        lab, f"Get-Message ADATUM-MBX1\\treyresearch.net\\{found[2]} | FL Subject"
    )
    _ok(lab, "Suspend-Queue -Identity ADATUM-MBX1\\1")
    assert queue(lab, "Adatum", "treyresearch.net").status is QueueStatus.SUSPENDED
    _ok(lab, "Resume-Queue -Identity ADATUM-MBX1\\treyresearch.net")
    assert lab.run_shell("TreyResearch", "Start-LabServer TREY-CAS1").error is None
    _ok(lab, "Retry-Queue -Identity ADATUM-MBX1\\1")
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["waiting"]
    # Get-Queue | Resume-Queue passes the Submission queue too; that is no error.
    _ok(lab, "Get-Queue | Resume-Queue")
    refused = lab.run_shell("Adatum", "Retry-Queue -Identity ADATUM-MBX1\\Submission").error
    assert refused is not None and "isn't in Retry" in str(refused)


def test_retry_queue_of_a_queue_that_does_not_exist_names_the_cmdlet(lab: Lab) -> None:
    result = lab.run_shell("Adatum", "Retry-Queue -Identity ADATUM-MBX1\\nowhere.example")
    assert str(result.error) == (
        "Retry-Queue: The operation couldn't be performed because object "
        "'ADATUM-MBX1\\nowhere.example' couldn't be found. Run Get-Queue to list the queue "
        "identities (SERVER\\<number>, or SERVER\\NextHopDomain)."
    )
