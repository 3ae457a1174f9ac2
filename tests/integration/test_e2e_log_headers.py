"""expect.log reads the header lines of the real lab's log files (issue 11 item 12): the lines
``#Software:`` … ``#Fields:`` that open each protocol and tracking log file can be pinned."""

from __future__ import annotations

from pathlib import Path

from integration_helpers import configure_walkthrough

from labsim.lab import Lab
from labsim.scenario.model import ExpectLog, Scenario
from labsim.scenario.runner import run_scenario


def _header_names(lines: list[str]) -> list[str]:
    return [line.split(":", 1)[0].casefold() for line in lines]


def _send_logged(lab: Lab) -> None:
    """One message to TreyResearch over the walkthrough's connectors (they log verbosely)."""
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Headers")


def test_header_lines_of_protocol_and_tracking_logs(lab: Lab) -> None:
    _send_logged(lab)
    receive = lab.log_headers("TreyResearch", "TREY-CAS1", "receive")
    assert _header_names(receive) == ["#software", "#version", "#log-type", "#date", "#fields"]
    assert receive[0] == "#Software: Microsoft Exchange Server"
    assert receive[-1].startswith("#Fields: date-time,connector-id,session-id,")
    tracking = lab.log_headers("TreyResearch", "TREY-MBX1", "tracking")
    assert _header_names(tracking) == ["#software", "#version", "#log-type", "#date", "#fields"]
    # Without a server: the headers of every server's files, in the organization's order.
    every = lab.log_headers("TreyResearch", None, "tracking")
    assert every == lab.log_headers("TreyResearch", "TREY-CAS1", "tracking") + tracking
    # Records are not header lines.
    assert not any(line in every for line in lab.tracking_log("TreyResearch"))


def test_expect_log_finds_a_header_line_in_the_real_lab(lab: Lab) -> None:
    _send_logged(lab)
    steps = (
        ExpectLog(
            number=1,
            org="TreyResearch",
            server="TREY-CAS1",
            log="receive",
            contains="#Software: Microsoft Exchange Server",
        ),
        ExpectLog(
            number=2, org="TreyResearch", server=None, log="tracking", contains="#Fields: date-time"
        ),
    )
    scenario = Scenario(path=Path("headers.toml"), title="t", lab="default", steps=steps)
    result = run_scenario(scenario, lab_factory=lambda s: lab)
    assert [s.passed for s in result.steps] == [True, True], result.steps
