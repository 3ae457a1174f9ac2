"""The runner over a fake lab: every expectation kind passing and failing, shell error
semantics, the lab settling before each expectation, advance, explain notes, stop."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from scenario_fakes import (
    SECURED,
    FakeLab,
    FakeShellResult,
    mail,
    message_row,
    ndr,
    queue,
    scenario_of,
)

from labsim.errors import CmdletError, LabsimError
from labsim.model.enums import QueueStatus
from labsim.scenario.model import (
    AdvanceStep,
    EmsStep,
    ExpectDelivered,
    ExpectError,
    ExpectLog,
    ExpectNdr,
    ExpectNotDelivered,
    ExpectOutput,
    ExpectQueued,
    Scenario,
    SendStep,
    Step,
)
from labsim.scenario.runner import ScenarioResult, run_scenario

BEN = "ben@treyresearch.net"
APRIL = "april@adatum.com"


def run(lab: FakeLab, *steps: Step, explain: bool = False) -> ScenarioResult:
    return run_scenario(scenario_of(*steps), lab_factory=lambda s: lab, explain=explain)


def outcomes(result: ScenarioResult) -> list[bool]:
    return [s.passed for s in result.steps]


def send(subject: str = "Hello Trey", number: int = 1) -> SendStep:
    return SendStep(number=number, from_=APRIL, to=(BEN,), subject=subject)


def deliver_secured(lab: FakeLab, mail_from: str, to: Sequence[str], subject: str) -> None:
    for address in to:
        lab.deliver(mail(address, subject, mail_from=mail_from, headers=SECURED))


def ems(text: str, number: int = 1) -> EmsStep:
    return EmsStep(number=number, org="Adatum", server=None, ems=text)


# -- shell -------------------------------------------------------------------------------------


def test_ems_output_expectations() -> None:
    lab = FakeLab(shell={"Get-TransportConfig": FakeShellResult("TLSSendDomainSecureList : {}")})
    result = run(
        lab,
        ems("Get-TransportConfig"),
        ExpectOutput(number=2, text="TLSSendDomainSecureList"),
        ExpectOutput(number=3, text="treyresearch.net"),
    )
    assert outcomes(result) == [True, True, False]
    assert result.steps[2].details == (
        "expected the output of step 1 (ems) to contain 'treyresearch.net', found:",
        "  TLSSendDomainSecureList : {}",
    )
    assert lab.events[0] == "shell Adatum None Get-TransportConfig"
    assert lab.stopped


def test_failing_ems_step_fails_without_expect_error() -> None:
    error = CmdletError("A parameter cannot be found that matches parameter name 'Foo'.")
    lab = FakeLab(shell={"Set-TransportConfig -Foo 1": FakeShellResult("", error)})
    result = run(lab, ems("Set-TransportConfig -Foo 1"), send(number=2))
    assert outcomes(result) == [False, True]
    assert result.steps[0].details[0] == (
        "the shell reported an error: A parameter cannot be found that matches parameter name "
        "'Foo'."
    )
    assert not result.passed


def test_failing_ems_step_passes_when_expect_error_follows() -> None:
    error = CmdletError("A parameter cannot be found that matches parameter name 'Foo'.")
    lab = FakeLab(shell={"Set-TransportConfig -Foo 1": FakeShellResult("", error)})
    result = run(
        lab,
        ems("Set-TransportConfig -Foo 1"),
        ExpectOutput(number=2, text=""),
        ExpectError(number=3, text="A parameter cannot be found"),
        ExpectError(number=4, text="something else"),
    )
    assert outcomes(result) == [True, True, True, False]
    assert result.steps[3].details == (
        "expected step 1 (ems) to fail with 'something else', found: A parameter cannot be "
        "found that matches parameter name 'Foo'.",
    )


def test_expect_error_checks_the_most_recent_ems_step() -> None:
    error = CmdletError("boom")
    lab = FakeLab(shell={"Bad": FakeShellResult("", error), "Good": FakeShellResult("ok")})
    result = run(
        lab,
        ems("Bad"),
        ExpectError(number=2, text="boom"),
        ems("Good", number=3),
        ExpectError(number=4, text="boom"),
    )
    assert outcomes(result) == [True, True, True, False]
    assert result.steps[3].details == (
        "expected step 3 (ems) to fail with 'boom', found no error",
        "its output:",
        "  ok",
    )


# -- delivery ----------------------------------------------------------------------------------


def test_lab_runs_until_idle_before_every_expectation() -> None:
    lab = FakeLab(on_send=deliver_secured)
    result = run(
        lab,
        send(),
        ExpectDelivered(number=2, to=BEN, subject="Hello Trey", domain_secured=True),
    )
    assert result.passed
    # Delivery happens only when the lab runs: the runner let it settle first.
    assert lab.events == ["send Hello Trey", "idle", "stop"]


def test_delivered_with_every_optional_key() -> None:
    lab = FakeLab(on_send=deliver_secured)
    expectation = ExpectDelivered(
        number=2,
        to=BEN,
        subject="Hello Trey",
        from_=APRIL,
        domain_secured=True,
        tls=True,
        auth_as="Partner",
        header={"X-MS-Exchange-Organization-AuthDomain": "adatum"},
    )
    assert run(lab, send(), expectation).passed


def test_delivered_mismatches_are_listed() -> None:
    def deliver_anonymous(lab: FakeLab, mail_from: str, to: Sequence[str], subject: str) -> None:
        headers = {
            "Received": "from mail.adatum.com by mail.treyresearch.net",
            "X-MS-Exchange-Organization-AuthAs": "Anonymous",
        }
        lab.deliver(mail(BEN, subject, mail_from=mail_from, headers=headers))

    lab = FakeLab(on_send=deliver_anonymous)
    result = run(
        lab,
        send(),
        ExpectDelivered(
            number=2,
            to=BEN,
            subject="Hello Trey",
            domain_secured=True,
            tls=True,
            auth_as="Partner",
            header={"X-Custom": "x"},
        ),
    )
    assert outcomes(result) == [True, False]
    assert result.steps[1].details == (
        "'Hello Trey' was delivered to ben@treyresearch.net, but:",
        "  expected domain_secured = true, found false (AuthAs: Anonymous, AuthDomain: None)",
        "  expected tls = true, found topmost Received: from mail.adatum.com by "
        "mail.treyresearch.net",
        "  expected AuthAs Partner, found Anonymous",
        "  expected header X-Custom containing 'x', found None",
    )


def test_not_delivered_explains_with_queue_rows_and_protocol_log() -> None:
    lab = FakeLab()
    lab.queue_rows["Adatum"] = [
        queue(last_error="454 4.7.5 Certificate validation failure"),
        queue(next_hop="contoso.com", status=QueueStatus.READY, identity="ADATUM-MBX1\\4"),
    ]
    lab.logs[("Adatum", "ADATUM-CAS1", "send")] = [
        "2024-03-01T09:00:00.000Z,Outbound Proxy Frontend,08D1,0,,127.0.20.1:25,*,,attempting",
        "2024-03-01T09:00:00.100Z,Outbound Proxy Frontend,08D1,1,,127.0.20.1:25,<,"
        '"220 mail.treyresearch.net Microsoft ESMTP MAIL Service ready",',
        "2024-03-01T09:00:00.200Z,Outbound Proxy Frontend,08D1,5,,127.0.20.1:25,<,"
        "454 4.7.5 Certificate validation failure,",
    ]
    result = run(
        lab,
        send(),
        ExpectDelivered(number=2, to=BEN, subject="Hello Trey"),
        ExpectNotDelivered(number=3, to=BEN, subject="Hello Trey"),
    )
    assert outcomes(result) == [True, False, True]
    assert result.steps[1].details == (
        "expected 'Hello Trey' in ben@treyresearch.net, found an empty inbox",
        "Adatum queue ADATUM-MBX1\\3: Retry, 1 message(s), NextHopDomain treyresearch.net, "
        "LastError: 454 4.7.5 Certificate validation failure",
        "ADATUM-CAS1 send protocol log:",
        "  2024-03-01T09:00:00.100Z,Outbound Proxy Frontend,08D1,1,,127.0.20.1:25,<,"
        '"220 mail.treyresearch.net Microsoft ESMTP MAIL Service ready",',
        "  2024-03-01T09:00:00.200Z,Outbound Proxy Frontend,08D1,5,,127.0.20.1:25,<,"
        "454 4.7.5 Certificate validation failure,",
    )


def test_not_delivered_fails_when_the_message_arrived() -> None:
    lab = FakeLab(on_send=deliver_secured)
    result = run(lab, send(), ExpectNotDelivered(number=2, to=BEN, subject="Hello Trey"))
    assert outcomes(result) == [True, False]
    assert result.steps[1].details == (
        "expected no 'Hello Trey' in ben@treyresearch.net, found one delivered at "
        "2024-03-01 09:00:00 from april@adatum.com (AuthAs: Partner, domain secured: true)",
    )


def test_subjects_compare_exactly() -> None:
    lab = FakeLab(on_send=deliver_secured)
    result = run(
        lab,
        send("Hello Trey again"),
        ExpectNotDelivered(number=2, to=BEN, subject="Hello Trey"),
    )
    assert result.passed


# -- queues ------------------------------------------------------------------------------------


def test_queued_matches_next_hop_status_error_and_subject() -> None:
    lab = FakeLab()
    lab.queue_rows["Adatum"] = [queue(last_error="454 4.7.5 Certificate validation failure")]
    lab.message_rows["Adatum"] = [message_row("Hello Trey")]
    ok = ExpectQueued(
        number=1,
        org="Adatum",
        next_hop="TreyResearch.net",
        status="retry",
        last_error="454 4.7.5",
        subject="Hello Trey",
    )
    wrong_status = ExpectQueued(number=2, org="Adatum", next_hop="treyresearch.net", status="Ready")
    wrong_subject = ExpectQueued(
        number=3, org="Adatum", next_hop="treyresearch.net", subject="Other"
    )
    result = run(lab, ok, wrong_status, wrong_subject)
    assert outcomes(result) == [True, False, False]
    assert result.steps[1].details == (
        "expected a queue in Adatum to treyresearch.net holding messages, Status Ready, found:",
        "  Adatum queue ADATUM-MBX1\\3: Retry, 1 message(s), NextHopDomain treyresearch.net, "
        "LastError: 454 4.7.5 Certificate validation failure",
    )
    assert result.steps[2].details[-2:] == (
        "messages:",
        "  message 'Hello Trey' in ADATUM-MBX1\\3: Retry",
    )


def test_queued_fails_on_an_empty_queue_or_no_queue() -> None:
    lab = FakeLab()
    lab.queue_rows["Adatum"] = [queue(count=0)]
    result = run(lab, ExpectQueued(number=1, org="Adatum", next_hop="treyresearch.net"))
    assert not result.passed
    lab = FakeLab()
    result = run(lab, ExpectQueued(number=1, org="Adatum", next_hop="treyresearch.net"))
    assert result.steps[0].details[-1] == "  no queues in Adatum"


# -- NDR ---------------------------------------------------------------------------------------


def test_ndr_matches_subject_and_status() -> None:
    lab = FakeLab()
    lab.deliver(ndr(APRIL, "Hello Trey", "4.4.7"))
    result = run(
        lab,
        ExpectNdr(number=1, to=APRIL, subject="Hello Trey", status="4.4.7"),
        ExpectNdr(number=2, to=APRIL, subject="Hello Trey"),
        ExpectNdr(number=3, to=APRIL, subject="Hello Trey", status="5.7.1"),
    )
    assert outcomes(result) == [True, True, False]
    assert result.steps[2].details == (
        "expected an NDR for 'Hello Trey' with Status: 5.7.1 in april@adatum.com, found:",
        "  'Undeliverable: Hello Trey' (Status: 4.4.7)",
    )


def test_no_ndr_shows_where_the_message_waits() -> None:
    lab = FakeLab()
    lab.queue_rows["Adatum"] = [queue(last_error="454 4.7.5 Certificate validation failure")]
    result = run(lab, send(), ExpectNdr(number=2, to=APRIL, subject="Hello Trey", status="4.4.7"))
    assert result.steps[1].details[:2] == (
        "expected an NDR for 'Hello Trey' with Status: 4.4.7 in april@adatum.com, found no NDR",
        "Adatum queue ADATUM-MBX1\\3: Retry, 1 message(s), NextHopDomain treyresearch.net, "
        "LastError: 454 4.7.5 Certificate validation failure",
    )


def test_absent_ndr_holds_until_a_matching_report_arrives() -> None:
    lab = FakeLab()
    no_ndr_yet = ExpectNdr(number=1, to=APRIL, subject="Hello Trey", action="failed", absent=True)
    assert run(lab, no_ndr_yet).passed
    # A report that does not match (another Action) does not break "no NDR".
    delayed = ndr(APRIL, "Hello Trey", "4.4.7")
    delayed = dataclasses.replace(
        delayed,
        subject="Delivery delayed: Hello Trey",
        content=delayed.content.replace(b"Action: failed", b"Action: delayed"),
    )
    lab.deliver(delayed)
    assert run(lab, no_ndr_yet).passed
    lab.deliver(ndr(APRIL, "Hello Trey", "4.4.7"))
    result = run(lab, no_ndr_yet)
    assert not result.passed
    assert result.steps[0].description == "no NDR for 'Hello Trey' in april@adatum.com"
    assert result.steps[0].details == (
        "expected no report for 'Hello Trey' and Action: failed in april@adatum.com, found:",
        "  'Undeliverable: Hello Trey' delivered 2024-03-01T09:00:00+00:00",
    )


def test_ndr_is_not_a_delivered_message() -> None:
    lab = FakeLab()
    lab.deliver(ndr(APRIL, "Hello Trey", "4.4.7"))
    result = run(lab, ExpectNotDelivered(number=1, to=APRIL, subject="Undeliverable: Hello Trey"))
    assert result.passed


# -- logs --------------------------------------------------------------------------------------


def test_log_expectations() -> None:
    lab = FakeLab()
    lab.logs[("TreyResearch", "TREY-CAS1", "receive")] = [
        "2024-03-01T09:00:00.000Z,TREY-CAS1\\Default Frontend TREY-CAS1,08D1,3,,,*,,"
        "Certificate thumbprint: 0123",
    ]
    lab.logs[("Adatum", "*", "tracking")] = ["2024-03-01T09:00:00.000Z,,,RECEIVE,SMTP"]
    result = run(
        lab,
        ExpectLog(
            number=1,
            org="TreyResearch",
            server="TREY-CAS1",
            log="receive",
            contains="Certificate thumbprint",
        ),
        ExpectLog(number=2, org="Adatum", server=None, log="tracking", contains="RECEIVE"),
        ExpectLog(number=3, org="Adatum", server=None, log="tracking", contains="DELIVER"),
        ExpectLog(number=4, org="Adatum", server="ADATUM-CAS1", log="send", contains="x"),
    )
    assert outcomes(result) == [True, True, False, False]
    assert result.steps[2].details == (
        "expected a line containing 'DELIVER' in the Adatum message tracking log, found none "
        "in 1 line(s); the last ones:",
        "  2024-03-01T09:00:00.000Z,,,RECEIVE,SMTP",
    )
    assert result.steps[3].details == (
        "expected a line containing 'x' in the ADATUM-CAS1 send protocol log, found it empty",
    )


def test_event_log_expectation_reads_the_application_event_log() -> None:
    lab = FakeLab()
    lab.logs[("TreyResearch", "*", "event")] = [
        "2024-03-01T09:00:00+00:00 mail.treyresearch.net MSExchangeFrontEndTransport Error 11015 "
        "TlsDomainClientCertificateSubjectMismatch (MessageSecurity): A message from …"
    ]
    result = run(
        lab,
        ExpectLog(number=1, org="TreyResearch", server=None, log="event", contains="Error 11015"),
        ExpectLog(number=2, org="TreyResearch", server=None, log="event", contains="Error 11017"),
    )
    assert outcomes(result) == [True, False]
    assert result.steps[1].details[0] == (
        "expected a line containing 'Error 11017' in the TreyResearch Application event log, "
        "found none in 1 line(s); the last ones:"
    )


# -- time, explain, errors ---------------------------------------------------------------------


def test_advance_moves_the_lab_clock() -> None:
    lab = FakeLab()
    result = run(lab, AdvanceStep(number=1, seconds=172800, text="2d"))
    assert lab.events[0] == "advance 172800"
    assert result.steps[0].description == "lab clock +2d (now 2024-03-03 09:00:00)"


def test_explain_attaches_only_new_notes_to_each_step() -> None:
    lab = FakeLab()
    result = run(lab, ems("Get-Queue"), ems("Get-Message", number=2), explain=True)
    assert [s.notes for s in result.steps] == [("ran Get-Queue",), ("ran Get-Message",)]
    quiet = run(FakeLab(), ems("Get-Queue"))
    assert quiet.steps[0].notes == ()


def test_a_lab_error_fails_the_step_and_stops_the_scenario() -> None:
    lab = FakeLab(send_error=LabsimError("april@nowhere.example is not a mailbox of this lab"))
    result = run(lab, send(), AdvanceStep(number=2, seconds=1, text="1s"))
    assert outcomes(result) == [False]
    assert result.steps[0].details == (
        "the lab refused it: april@nowhere.example is not a mailbox of this lab",
    )
    assert result.stopped == (
        "stopped at step 1 (send): april@nowhere.example is not a mailbox of this lab"
    )
    assert not result.passed
    assert lab.stopped


def test_descriptions() -> None:
    scenario: Scenario = scenario_of(
        EmsStep(number=1, org="Adatum", server="ADATUM-CAS1", ems="Get-Queue\n\nGet-Message\nX"),
        SendStep(number=2, from_=APRIL, to=(BEN,), subject="Hi", cc=("terry@treyresearch.net",)),
    )
    result = run_scenario(scenario, lab_factory=lambda s: FakeLab())
    assert [s.description for s in result.steps] == [
        "Adatum\\ADATUM-CAS1: Get-Queue (+2 more lines)",
        "april@adatum.com → ben@treyresearch.net, terry@treyresearch.net: 'Hi'",
    ]


def test_absent_log_line_and_missing_header() -> None:
    lab = FakeLab(on_send=deliver_secured)
    lab.logs[("TreyResearch", "TREY-CAS1", "receive")] = ["...,<,MAIL FROM:<april@adatum.com>,"]
    result = run(
        lab,
        send(),
        ExpectLog(
            number=2,
            org="TreyResearch",
            server="TREY-CAS1",
            log="receive",
            contains="evil@x.test",
            absent=True,
        ),
        ExpectLog(
            number=3,
            org="TreyResearch",
            server="TREY-CAS1",
            log="receive",
            contains="MAIL FROM",
            absent=True,
        ),
        ExpectDelivered(
            number=4, to=BEN, subject="Hello Trey", without_header=("X-Forged-Header",)
        ),
        ExpectDelivered(
            number=5,
            to=BEN,
            subject="Hello Trey",
            without_header=("X-MS-Exchange-Organization-AuthAs",),
        ),
    )
    assert outcomes(result) == [True, True, False, True, False]
    assert result.steps[2].details[0] == (
        "expected no line containing 'MAIL FROM' in the TREY-CAS1 receive protocol log, found:"
    )
    assert result.steps[4].details[1] == (
        "  expected no X-MS-Exchange-Organization-AuthAs header, "
        "found X-MS-Exchange-Organization-AuthAs: Partner"
    )


def test_an_engine_bug_during_a_step_fails_that_step() -> None:
    """Issue 10 item 3: a labsim bug is reported as an internal error, never a mail outcome."""

    @dataclasses.dataclass(frozen=True)
    class Bug:
        server: str
        where: str
        error: str

    def buggy_send(lab: FakeLab, mail_from: str, to: Sequence[str], subject: str) -> None:
        lab.engine_errors.append(Bug("TREY-CAS1", "answering MailFrom", "KeyError: 'x'"))

    lab = FakeLab(on_send=buggy_send)  # the bug happens when the lab runs: at the advance
    result = run(lab, send(), AdvanceStep(number=2, seconds=1, text="1s"))
    assert outcomes(result) == [True, False]
    assert result.steps[1].details == (
        "internal error (a labsim bug) on TREY-CAS1 in answering MailFrom: KeyError: 'x'",
    )
    assert not result.passed


def test_ems_output_matches_a_regular_expression() -> None:
    lab = FakeLab(
        shell={"Get-Queue": FakeShellResult("Identity    : ADATUM-MBX1\\3\nStatus : Retry")}
    )
    result = run(
        lab,
        ems("Get-Queue"),
        ExpectOutput(number=2, matches=r"(?m)^Identity\s+: ADATUM-MBX1\\\d+$"),
        ExpectOutput(number=3, matches=r"Status\s+: Ready"),
    )
    assert outcomes(result) == [True, True, False]
    assert result.steps[1].description == r"output matches /(?m)^Identity\s+: ADATUM-MBX1\\\d+$/"
    assert result.steps[2].details == (
        r"expected the output of step 1 (ems) to match /Status\s+: Ready/, found:",
        "  Identity    : ADATUM-MBX1\\3",
        "  Status : Retry",
    )


def test_log_expectations_read_the_header_lines() -> None:
    lab = FakeLab()
    lab.headers[("Adatum", "*", "tracking")] = [
        "#Software: Microsoft Exchange Server",
        "#Log-type: Message Tracking Log",
    ]
    lab.logs[("Adatum", "*", "tracking")] = ["2024-03-01T09:00:00.000Z,,,RECEIVE,SMTP"]
    tracking = ExpectLog(
        number=1, org="Adatum", server=None, log="tracking", contains="#Log-type: Message"
    )
    absent = dataclasses.replace(tracking, number=2, contains="#Software", absent=True)
    result = run(lab, tracking, absent)
    assert outcomes(result) == [True, False]
    assert result.steps[1].details == (
        "expected no line containing '#Software' in the Adatum message tracking log, found:",
        "  #Software: Microsoft Exchange Server",
    )
