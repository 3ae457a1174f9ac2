"""Get-Queue, Retry-, Suspend- and Resume-Queue with ``-Filter "<OPATH>"`` and ``-Server`` on a
real lab (docs/fidelity.md, "Queue cmdlets: -Filter and -Server"): Microsoft's examples, dates
compared as dates and counts as numbers, -Server and the shell's ``:server``, Exchange's
parameter sets, one clear message for what labsim does not read. Real sockets; time moves only
on the lab clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labsim.lab import Lab
from labsim.model.enums import QueueStatus
from tests.integration.test_e2e_queue_control import queue, trusted_partners

TREY = "treyresearch.net"


@pytest.fixture
def lab(start_lab: Callable[..., Lab]) -> Lab:
    """Trey's receiving server is down: Adatum's queue to treyresearch.net is in Retry with
    two messages."""
    lab = trusted_partners(start_lab)
    _ok(lab, "Stop-LabServer TREY-CAS1", "TreyResearch")
    for subject in ("one", "two"):
        lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject=subject)
    assert queue(lab, "Adatum", TREY).status is QueueStatus.RETRY
    return lab


def _ok(lab: Lab, line: str, org: str = "Adatum", server: str | None = None) -> str:
    result = lab.run_shell(org, line, server)
    assert result.error is None, result.error
    return str(result.output)


def _listed(lab: Lab, line: str, server: str | None = None) -> list[str]:
    out = _ok(lab, f"{line} | Format-List Identity", server=server)
    return [row.split(":", 1)[1].strip() for row in out.splitlines() if ":" in row]


def test_get_queue_filter_selects_by_next_hop_and_status(lab: Lab) -> None:
    trey = queue(lab, "Adatum", TREY).identity
    assert _listed(lab, f"Get-Queue -Filter \"NextHopDomain -eq '{TREY}'\"") == [trey]
    assert _listed(lab, 'Get-Queue -Filter {Status -eq "Retry"}') == [trey]
    assert _listed(lab, "Get-Queue -Filter \"Status -eq 'Ready'\"") == ["ADATUM-MBX1\\Submission"]
    # Identity matches either spelling of the queue.
    assert _listed(lab, f"Get-Queue -Filter \"Identity -eq 'ADATUM-MBX1\\{TREY}'\"") == [trey]


def test_counts_compare_as_numbers_and_dates_as_dates(lab: Lab) -> None:
    trey = queue(lab, "Adatum", TREY).identity
    # As text, "2" would come after "10".
    assert _listed(lab, 'Get-Queue -Filter "MessageCount -gt 10"') == []
    assert _listed(lab, 'Get-Queue -Filter "MessageCount -gt 1"') == [trey]
    # As text, "12/..." would come before "3/1/2020".
    assert _listed(lab, "Get-Queue -Filter \"NextRetryTime -gt '3/1/2020'\"") == [trey]
    assert _listed(lab, "Get-Queue -Filter \"NextRetryTime -lt '3/1/2020'\"") == []


def test_suspend_and_resume_queue_by_filter(lab: Lab) -> None:
    _ok(lab, f"Suspend-Queue -Filter \"NextHopDomain -eq '{TREY}' -and Status -eq 'Retry'\"")
    assert queue(lab, "Adatum", TREY).status is QueueStatus.SUSPENDED
    # A filter that selects the Submission queue too suspends only the delivery queues.
    _ok(lab, "Resume-Queue -Filter \"Status -eq 'Suspended'\"")
    assert queue(lab, "Adatum", TREY).status is not QueueStatus.SUSPENDED
    _ok(lab, 'Suspend-Queue -Server ADATUM-MBX1 -Filter "MessageCount -ge 0"')
    assert queue(lab, "Adatum", TREY).status is QueueStatus.SUSPENDED
    submission = next(q for q in lab.queues("Adatum") if q.next_hop_domain == "Submission")
    assert submission.status is QueueStatus.READY


def test_retry_queue_by_filter_sends_the_queue_now(lab: Lab) -> None:
    _ok(lab, "Start-LabServer TREY-CAS1", "TreyResearch")
    _ok(lab, 'Retry-Queue -Filter {Status -eq "Retry"}')
    assert sorted(m.subject for m in lab.inbox("ben@treyresearch.net")) == ["one", "two"]


def test_retry_queue_filter_retries_every_queue_in_retry_then_reports_one_that_is_not(
    lab: Lab,
) -> None:
    _ok(lab, "Start-LabServer TREY-CAS1", "TreyResearch")
    result = lab.run_shell("Adatum", 'Retry-Queue -Filter "MessageCount -ge 0"')
    assert "The queue 'ADATUM-MBX1\\Submission' isn't in Retry" in str(result.error)
    assert sorted(m.subject for m in lab.inbox("ben@treyresearch.net")) == ["one", "two"]


def test_server_and_the_shells_server_choose_where_a_filter_looks(lab: Lab) -> None:
    retry = "Get-Queue -Filter \"Status -eq 'Retry'\""
    assert _listed(lab, f"{retry} -Server ADATUM-CAS1") == []
    assert _listed(lab, retry, server="ADATUM-CAS1") == []
    assert len(_listed(lab, retry, server="ADATUM-MBX1")) == 1
    _ok(lab, "Suspend-Queue -Filter \"Status -eq 'Retry'\"", server="ADATUM-CAS1")
    assert queue(lab, "Adatum", TREY).status is QueueStatus.RETRY


def test_a_filter_that_matches_nothing_does_nothing(lab: Lab) -> None:
    for cmdlet in ("Suspend-Queue", "Resume-Queue", "Retry-Queue"):
        assert _ok(lab, f"{cmdlet} -Filter \"NextHopDomain -eq 'nowhere.example'\"") == ""
    assert queue(lab, "Adatum", TREY).status is QueueStatus.RETRY
    assert lab.inbox("ben@treyresearch.net") == ()


@pytest.mark.parametrize("cmdlet", ["Get-Queue", "Retry-Queue", "Suspend-Queue", "Resume-Queue"])
def test_bad_input_gets_one_message_each_and_the_lab_goes_on(lab: Lab, cmdlet: str) -> None:
    cases = {
        f"{cmdlet} ADATUM-MBX1\\{TREY} -Filter \"Status -eq 'Retry'\"": (
            "Parameter set cannot be resolved using the specified named parameters. -Filter "
            "and -Identity belong to different parameter sets"
        ),
        f"{cmdlet} -Filter \"Colour -eq 'red'\"": (
            "'Colour' is not a queue property labsim filters on. labsim reads Property "
            "-eq|-ne|-like|-notlike|-gt|-ge|-lt|-le 'value', joined with -and, -or, -not and "
            "parentheses, on the queue properties Identity, DeliveryType, NextHopDomain"
        ),
        f"{cmdlet} -Filter \"$_.Status -eq 'Retry'\"": "labsim cannot read the filter",
        f"{cmdlet} -Filter \"Status -eq 'Retry'\" -Server NOPE": "couldn't be found",
    }
    if cmdlet != "Get-Queue":
        # -Filter is mandatory in its parameter set (Get-Queue's is optional: $null lists all).
        cases[f"{cmdlet} -Filter $null"] = "Cannot bind argument to parameter 'Filter'"
        cases[f"{cmdlet} ADATUM-MBX1\\{TREY} -Server ADATUM-MBX1"] = (
            "-Server goes with -Filter; -Identity names its server itself"
        )
    for line, expected in cases.items():
        result = lab.run_shell("Adatum", line)
        assert result.error is not None, line
        assert expected in str(result.error), (line, str(result.error))
        assert str(result.error).count("\n") == 0, str(result.error)
    assert queue(lab, "Adatum", TREY).status is QueueStatus.RETRY
    assert len(lab.messages("Adatum")) == 2
