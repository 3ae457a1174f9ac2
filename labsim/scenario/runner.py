"""Running a scenario: a fresh lab, the steps in order, one result per step.

This module is the one place that drives a :class:`labsim.lab.Lab` for scenarios. Rules kept:

* A fresh lab per scenario, made by the ``lab_factory`` given to :func:`run_scenario`, and
  stopped whatever happens. The CLI's factory calls the module-level
  :func:`default_lab_factory`; tests replace that name (``monkeypatch.setattr``) to run the CLI
  over a fake lab. That is the seam: nothing else here constructs a lab.
* Before every ``expect`` step the lab runs until idle (contract: nothing waits on wall time).
* Simulated mail failures are data: an expectation that does not hold is a failed step with
  "expected …, found …" and the queue and protocol-log lines that explain it.
* A failing ``ems`` step fails unless one of the ``expect`` steps directly after it is
  ``expect.error`` (the author said the failure is the point).
* A :class:`~labsim.errors.LabsimError` raised by the lab while running a step (a sender that is
  not a mailbox, a refused submission) fails that step and stops the scenario, since later
  steps would only report consequences of it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from labsim.errors import LabsimError
from labsim.model.lab import LabDefinition
from labsim.model.mail import DeliveredMessage, MessageView, QueueView
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

__all__ = [
    "LabLike",
    "LabOptions",
    "ScenarioResult",
    "ScenarioStepper",
    "ShellResultLike",
    "StepResult",
    "default_lab_factory",
    "run_scenario",
]

# How many lines of output / log / queue rows a failure shows: enough to explain, not a dump.
MAX_DETAIL_LINES = 12
MAX_LOG_LINES = 6
MAX_DECISION_LINES = 24

# A reply code in a protocol log line: the data field starts with "4xx " / "5xx-".
_REPLY_4XX_5XX = re.compile(r'(^|,)"?[45]\d\d[ -]')
_TLS_MARKS = ("Microsoft SMTP Server (TLS)", "(version=TLS")
"""How a Received header records a TLS hop: 2013's ``(TLS)``, 2016+'s ``(version=TLS…)``."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


class ShellResultLike(Protocol):
    """What :meth:`labsim.lab.Lab.run_shell` returns (``labsim.ems.shell.ShellResult``)."""

    @property
    def output(self) -> str:
        """The text the shell printed."""

    @property
    def error(self) -> LabsimError | None:
        """The error that stopped the block, if any (a ``CmdletError``)."""


class LabLike(Protocol):
    """The part of :class:`labsim.lab.Lab` the runner uses (fakes in tests implement it)."""

    def stop(self) -> None:
        """Close every socket of the lab."""

    def run_shell(self, organization: str, text: str, server: str | None = None) -> ShellResultLike:
        """Run shell lines on an organization (optionally one server); lab runs until idle."""

    def send(
        self,
        *,
        mail_from: str,
        to: Sequence[str],
        subject: str,
        body: str = "",
        cc: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        size: int | None = None,
    ) -> str:
        """Submit a message as from Outlook; returns its Message-Id."""

    def run_until_idle(self) -> object:
        """Run until no session is open and nothing is due."""

    def advance(self, seconds: float) -> None:
        """Move the lab clock forward; due work runs in order."""

    def now(self) -> datetime:
        """The lab time."""

    @property
    def engine_errors(self) -> Sequence[Any]:
        """Engine bugs recorded so far (labsim.engine.world.EngineError: server, where,
        error); a step during which one appears fails."""

    def inbox(self, address: str) -> Sequence[DeliveredMessage]:
        """The messages delivered to a mailbox."""

    def queues(self, organization: str, server: str | None = None) -> Sequence[QueueView]:
        """Get-Queue rows."""

    def messages(self, organization: str, queue: str | None = None) -> Sequence[MessageView]:
        """Get-Message rows."""

    def protocol_log(self, organization: str, server: str, direction: str) -> list[str]:
        """A server's receive or send protocol log, as CSV lines."""

    def tracking_log(self, organization: str, server: str | None = None) -> list[str]:
        """Message tracking lines."""

    def event_log(self, organization: str, server: str | None = None) -> list[str]:
        """Application event log entries as one line each (time, computer, source, entry type,
        event id, symbolic name, category, message), oldest first."""

    def log_headers(self, organization: str, server: str | None, log: str) -> list[str]:
        """The header lines (``#Software:`` … ``#Fields:``) of every file of a log, oldest
        first: ``log`` is ``receive``, ``send`` (one server) or ``tracking`` (one server, or
        every server of the organization when ``server`` is None)."""

    def explain(self) -> Sequence[str]:
        """Decision notes recorded so far."""


@dataclass(frozen=True)
class LabOptions:
    """How the CLI wants labs started (``labsim run`` options)."""

    #: Folder for the lab's certificates and keys; None → ``./certs/<lab name>``.
    cert_folder: Path | None = None
    #: Folder for Exchange-format log files; None → logs kept in memory only.
    log_folder: Path | None = None
    #: Added to every listening port, so that two labs can run on one machine.
    port_offset: int | None = None


LabFactory = Callable[[Scenario], LabLike]


def default_cert_folder(definition: LabDefinition) -> Path:
    """``./certs/<lab name>``, relative to the current directory (contract: ``certs/``)."""
    return Path("certs") / definition.name


def default_lab_factory(scenario: Scenario, options: LabOptions) -> LabLike:
    """Start the real lab of ``scenario`` (binds sockets).

    The test seam: the CLI looks this name up on this module at call time, so a test can
    ``monkeypatch.setattr(labsim.scenario.runner, "default_lab_factory", fake)``.
    """
    # Imported here: labsim.lab pulls in Twisted and OpenSSL, which loading or checking a
    # scenario file never needs.
    from labsim.lab import Lab

    cert_folder = options.cert_folder or default_cert_folder(scenario.definition)
    lab: LabLike = Lab.start(
        scenario.definition,
        cert_folder=cert_folder,
        log_folder=options.log_folder,
        port_offset=options.port_offset,
    )
    return lab


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step.

    ``details`` explains a failure ("expected …, found …" and the lines behind it); ``notes``
    are the lab's decision notes recorded during the step (shown with ``--explain``).
    """

    step: Step
    passed: bool
    description: str
    details: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScenarioResult:
    """The outcome of one scenario: its step results in order, and how long it took."""

    scenario: Scenario
    steps: tuple[StepResult, ...]
    seconds: float = 0.0
    #: Set when the scenario stopped early (the lab raised an error); names why.
    stopped: str | None = None

    @property
    def passed(self) -> bool:
        """True when every step passed and the scenario ran to its end."""
        return self.stopped is None and all(s.passed for s in self.steps)

    @property
    def failures(self) -> tuple[StepResult, ...]:
        """The failed steps."""
        return tuple(s for s in self.steps if not s.passed)


def run_scenario(
    scenario: Scenario,
    *,
    lab_factory: LabFactory,
    explain: bool = False,
    on_step: Callable[[StepResult], None] | None = None,
) -> ScenarioResult:
    """Run ``scenario`` in a fresh lab from ``lab_factory``; the lab is stopped afterwards.

    With ``explain``, each step result carries the lab's decision notes recorded while it ran.
    ``on_step`` is called with each result as soon as it is known (the CLI prints it then).
    """
    started = time.monotonic()
    lab = lab_factory(scenario)
    try:
        stepper = ScenarioStepper(scenario, lab, explain)
        results: list[StepResult] = []
        stopped: str | None = None
        for step in scenario.steps:
            result, stopped = stepper.run(step)
            results.append(result)
            if on_step is not None:
                on_step(result)
            if stopped is not None:
                break
    finally:
        lab.stop()
    return ScenarioResult(scenario, tuple(results), time.monotonic() - started, stopped)


class ScenarioStepper:
    """A scenario run one step at a time on a lab the caller owns (and stops).

    :func:`run_scenario` runs every step in one go; a presenter that waits for a trainer
    between steps (``labsim demo --web``'s Next button) runs them one by one with the same
    checks and the same results.
    """

    def __init__(self, scenario: Scenario, lab: LabLike, explain: bool = False) -> None:
        self.lab = lab
        self._run = _Run(scenario, lab, explain)

    def run(self, step: Step) -> tuple[StepResult, str | None]:
        """Run ``step``; its result, and why the scenario must stop (the lab refused the
        step) or None."""
        lab = self.lab
        stopped: str | None = None
        bugs_before = len(lab.engine_errors)
        try:
            result = self._run.step(step)
        except LabsimError as err:
            result = StepResult(step, False, _describe(step), (f"the lab refused it: {err}",))
            stopped = f"stopped at {step.label}: {err}"
        bugs = lab.engine_errors[bugs_before:]
        if bugs:
            # A labsim bug is never a mail outcome: the step fails, whatever it expected.
            result = StepResult(
                step,
                False,
                result.description,
                (
                    *result.details,
                    *(
                        f"internal error (a labsim bug) on {bug.server} in {bug.where}: {bug.error}"
                        for bug in bugs
                    ),
                ),
            )
        return self._run.with_notes(result), stopped


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _describe(step: Step) -> str:
    """The one-line description of a step, as the report shows it."""
    if isinstance(step, EmsStep):
        where = f"{step.org}\\{step.server}" if step.server else step.org
        lines = step.lines
        first = lines[0] if lines else ""
        more = f" (+{len(lines) - 1} more line{'s' if len(lines) > 2 else ''})"
        return f"{where}: {first}{more if len(lines) > 1 else ''}"
    if isinstance(step, SendStep):
        to = ", ".join(step.to + step.cc)
        return f"{step.from_} → {to}: '{step.subject}'"
    if isinstance(step, AdvanceStep):
        return f"lab clock +{step.text}"
    if isinstance(step, ExpectOutput):
        if step.matches is not None:
            return f"output matches /{_one_line(step.matches)}/"
        # One report line per step: a multi-line expectation shows its line breaks as \n.
        return f"output contains '{_one_line(step.text)}'"
    if isinstance(step, ExpectError):
        return f"error contains '{_one_line(step.text)}'"
    if isinstance(step, ExpectDelivered):
        extra = []
        if step.from_ is not None:
            extra.append(f"from {step.from_}")
        if step.domain_secured is not None:
            extra.append("domain secured" if step.domain_secured else "not domain secured")
        if step.tls is not None:
            extra.append("over TLS" if step.tls else "without TLS")
        if step.auth_as is not None:
            extra.append(f"AuthAs {step.auth_as}")
        extra.extend(f"{name} ~ '{value}'" for name, value in step.header.items())
        extra.extend(f"no {name}" for name in step.without_header)
        tail = f" ({', '.join(extra)})" if extra else ""
        return f"'{step.subject}' delivered to {step.to}{tail}"
    if isinstance(step, ExpectNotDelivered):
        return f"'{step.subject}' not delivered to {step.to}"
    if isinstance(step, ExpectQueued):
        extra = [f"Status {step.status}"] if step.status else []
        if step.last_error:
            extra.append(f"LastError ~ '{step.last_error}'")
        if step.subject:
            extra.append(f"holding '{step.subject}'")
        tail = f" ({', '.join(extra)})" if extra else ""
        return f"{step.org} queue to {step.next_hop}{tail}"
    if isinstance(step, ExpectNdr):
        status = f" with Status {step.status}" if step.status else ""
        kind = {"failed": "NDR", "delayed": "delay DSN"}.get(step.action or "", "NDR")
        if step.absent:
            return f"no {kind} for '{step.subject}'{status} in {step.to}"
        return f"{kind} for '{step.subject}'{status} in {step.to}"
    where = f"{step.server} {step.log}" if step.server else f"{step.org} {step.log}"
    verb = "has no line containing" if step.absent else "contains"
    return f"{where} log {verb} '{step.contains}'"


def _subject_is(message: DeliveredMessage | MessageView, subject: str) -> bool:
    """Subjects compare exactly, after trimming (``Hello`` must not match ``Hello Trey``)."""
    return message.subject.strip() == subject.strip()


def _text(content: bytes) -> str:
    """Message bytes as text for substring checks (headers are ASCII; bodies may not be)."""
    return content.decode("utf-8", errors="replace")


def _received_tls(message: DeliveredMessage) -> bool:
    """True when the topmost Received header records a TLS hop, whatever the header form
    (2013's ``with Microsoft SMTP Server (TLS)``, 2016's ``(version=TLS1_2, cipher=…)``)."""
    received = message.headers.get_all("Received") or []
    topmost = " ".join(str(received[0]).split()) if received else ""
    return any(mark in topmost for mark in _TLS_MARKS)


def _queue_row(org: str, queue: QueueView) -> str:
    """A Get-Queue row, compact: identity, status, count, next hop, last error."""
    error = f", LastError: {queue.last_error}" if queue.last_error else ""
    return (
        f"{org} queue {queue.identity}: {queue.status.value}, {queue.message_count} message(s), "
        f"NextHopDomain {queue.next_hop_domain}{error}"
    )


def _clip(lines: Sequence[str], limit: int = MAX_DETAIL_LINES) -> list[str]:
    """The last ``limit`` lines, with a marker when some were left out."""
    if len(lines) <= limit:
        return list(lines)
    return [f"… {len(lines) - limit} earlier line(s) left out"] + list(lines[-limit:])


class _Run:
    """The state of one scenario run: the lab, the last shell result, the explain cursor."""

    def __init__(self, scenario: Scenario, lab: LabLike, explain: bool) -> None:
        self.scenario = scenario
        self.lab = lab
        self.explain = explain
        self.notes_seen = 0
        self.last_shell: ShellResultLike | None = None
        self.last_ems: EmsStep | None = None
        self.sends: list[SendStep] = []
        self.send_notes: dict[int, tuple[int, int]] = {}
        self.index = {step.number: i for i, step in enumerate(scenario.steps)}

    def with_notes(self, result: StepResult) -> StepResult:
        """``result`` with the decision notes the lab recorded since the previous step."""
        if not self.explain:
            return result
        notes = self.lab.explain()
        fresh = tuple(notes[self.notes_seen :])
        self.notes_seen = len(notes)
        return StepResult(result.step, result.passed, result.description, result.details, fresh)

    # -- dispatch --------------------------------------------------------------------------

    def step(self, step: Step) -> StepResult:
        """Run one step."""
        if isinstance(step, EmsStep):
            return self.ems(step)
        if isinstance(step, SendStep):
            notes_before = len(self.safe(self.lab.explain) or [])
            self.lab.send(
                mail_from=step.from_,
                to=step.to,
                subject=step.subject,
                body=step.body,
                cc=step.cc,
                headers=step.headers,
                size=step.size,
            )
            self.sends.append(step)
            # Remember which decision notes this message's journey produced (explain on failure).
            self.send_notes[step.number] = (notes_before, len(self.safe(self.lab.explain) or []))
            return StepResult(step, True, _describe(step))
        if isinstance(step, AdvanceStep):
            self.lab.advance(step.seconds)
            now = self.lab.now()
            return StepResult(step, True, f"{_describe(step)} (now {now:%Y-%m-%d %H:%M:%S})")
        # The contract: the lab settles before every expectation.
        self.lab.run_until_idle()
        found = self.check(step)
        return StepResult(step, not found, _describe(step), tuple(found))

    def check(self, step: Step) -> list[str]:
        """Check an expectation; returns the failure explanation, empty when it holds."""
        if isinstance(step, ExpectOutput):
            return self.expect_output(step)
        if isinstance(step, ExpectError):
            return self.expect_error(step)
        if isinstance(step, ExpectDelivered):
            return self.expect_delivered(step)
        if isinstance(step, ExpectNotDelivered):
            return self.expect_not_delivered(step)
        if isinstance(step, ExpectQueued):
            return self.expect_queued(step)
        if isinstance(step, ExpectNdr):
            return self.expect_ndr(step)
        if isinstance(step, ExpectLog):
            return self.expect_log(step)
        raise AssertionError(f"not an expectation: {step!r}")  # pragma: no cover

    # -- actions ---------------------------------------------------------------------------

    def ems(self, step: EmsStep) -> StepResult:
        """Run shell lines; an error fails the step unless an expect.error follows."""
        result = self.lab.run_shell(step.org, step.ems, step.server)
        self.last_shell, self.last_ems = result, step
        if result.error is None or self.error_expected(step):
            return StepResult(step, True, _describe(step))
        details = [f"the shell reported an error: {result.error}"]
        details += _clip(result.output.splitlines())
        details.append("(add an expect.error step right after it if the error is intended)")
        return StepResult(step, False, _describe(step), tuple(details))

    def error_expected(self, step: EmsStep) -> bool:
        """Whether one of the expect steps directly after ``step`` is expect.error."""
        for later in self.scenario.steps[self.index[step.number] + 1 :]:
            if isinstance(later, ExpectError):
                return True
            if isinstance(later, EmsStep | SendStep | AdvanceStep):
                return False
        return False

    # -- shell expectations ----------------------------------------------------------------

    def shell_source(self) -> str:
        """How failures name the shell step they looked at."""
        return self.last_ems.label if self.last_ems else "no ems step"

    def expect_output(self, step: ExpectOutput) -> list[str]:
        """The last ems step printed the text."""
        shell = self.last_shell
        if shell is not None and step.found_in(shell.output):
            return []
        found = ["" if shell is None else shell.output]
        lines = found[0].splitlines()
        wanted = (
            f"to match /{step.matches}/"
            if step.matches is not None
            else f"to contain '{step.text}'"
        )
        out = [f"expected the output of {self.shell_source()} {wanted}, found:"]
        out += [f"  {line}" for line in _clip(lines)] if lines else ["  (no output)"]
        if shell is not None and shell.error is not None:
            out.append(f"and the error: {shell.error}")
        return out

    def expect_error(self, step: ExpectError) -> list[str]:
        """The last ems step failed with the text."""
        shell = self.last_shell
        error = None if shell is None else shell.error
        if error is not None and step.text in str(error):
            return []
        if error is None:
            out = [f"expected {self.shell_source()} to fail with '{step.text}', found no error"]
            if shell is not None and shell.output.strip():
                out.append("its output:")
                out += [f"  {line}" for line in _clip(shell.output.splitlines())]
            return out
        return [f"expected {self.shell_source()} to fail with '{step.text}', found: {error}"]

    # -- mail expectations -----------------------------------------------------------------

    def org_of(self, address: str) -> str | None:
        """The organization whose accepted domain holds ``address``."""
        domain = address.rpartition("@")[2].lower()
        for org in self.scenario.definition.organizations:
            for accepted in org.organization.accepted_domains:
                if accepted.domain_name.lower() == domain:
                    return org.organization.name
        return None

    def servers_of(self, org: str) -> tuple[str, ...]:
        """The server names of an organization of the lab."""
        found = self.scenario.definition.organization(org)
        return () if found is None else tuple(s.name for s in found.organization.servers)

    def sender_of(self, to: str, subject: str) -> str | None:
        """The sender of the latest ``send`` step with this subject to ``to``."""
        for send in reversed(self.sends):
            recipients = {a.lower() for a in send.to + send.cc}
            if _subject_matches(send.subject, subject) and to.lower() in recipients:
                return send.from_
        return None

    def recipient_of(self, sender: str, subject: str) -> str | None:
        """The first recipient of the latest ``send`` step from ``sender`` with this subject."""
        for send in reversed(self.sends):
            if send.from_.lower() == sender.lower() and _subject_matches(send.subject, subject):
                return send.to[0]
        return None

    def why_not_delivered(self, to: str, subject: str, sender: str | None = None) -> list[str]:
        """Queue rows with LastError of the sender's organization, and telling log lines."""
        sender = sender or self.sender_of(to, subject)
        sender_org = self.org_of(sender) if sender else None
        recipient_org = self.org_of(to)
        out: list[str] = []
        if sender_org is not None:
            rows = [_queue_row(sender_org, q) for q in self.safe(self.lab.queues, sender_org) or []]
            with_error = [r for r in rows if "LastError" in r]
            out += with_error or [f"{sender_org} has no queue with a LastError"]
        domain = to.rpartition("@")[2].lower()
        logs: list[tuple[str, str, str]] = []
        if sender_org is not None:
            logs += [(sender_org, s, "send") for s in self.servers_of(sender_org)]
        if recipient_org is not None:
            logs += [(recipient_org, s, "receive") for s in self.servers_of(recipient_org)]
        for org, server, direction in logs:
            lines = self.safe(self.lab.protocol_log, org, server, direction) or []
            telling = [
                line
                for line in lines
                if domain in line.lower() or _REPLY_4XX_5XX.search(line) is not None
            ]
            if telling:
                out.append(f"{server} {direction} protocol log:")
                out += [f"  {line}" for line in _clip(telling, MAX_LOG_LINES)]
        return out + self.decisions_about(to, subject, sender)

    def decisions_about(
        self, to: str, subject: str, sender: str | None, *, later: bool = True
    ) -> list[str]:
        """The lab's decision notes behind a message's fate (connector chosen, certificate
        checked, rule applied): those recorded while its ``send`` step ran and, with ``later``,
        the later ones (retries after ``advance``) that name the recipient's domain."""
        notes = self.safe(self.lab.explain) or []
        domain = to.rpartition("@")[2].lower()
        for send in reversed(self.sends):
            recipients = {a.lower() for a in send.to + send.cc}
            if (
                _subject_matches(send.subject, subject)
                and to.lower() in recipients
                and (sender is None or send.from_.lower() == sender.lower())
            ):
                start, end = self.send_notes.get(send.number, (0, 0))
                chosen = list(notes[start:end])
                if later:
                    chosen += [n for n in notes[end:] if domain in n.lower()]
                if chosen:
                    lines = _clip(chosen, MAX_DECISION_LINES)
                    return ["decisions:"] + [f"  · {note}" for note in lines]
                break
        return []

    def safe(self, call: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        """``call(...)``, or None when the lab refuses it (a log that is not kept, …).

        Explanations are best effort: gathering them must not turn a failed expectation into
        a stopped scenario.
        """
        try:
            return call(*args, **kwargs)
        except LabsimError:
            return None

    def expect_delivered(self, step: ExpectDelivered) -> list[str]:
        """A message with the subject is in the inbox, with every optional property asked."""
        inbox = self.lab.inbox(step.to)
        candidates = [m for m in inbox if not m.is_ndr and _subject_is(m, step.subject)]
        if not candidates:
            listed = ", ".join(f"'{m.subject}'" for m in inbox) or "an empty inbox"
            out = [f"expected '{step.subject}' in {step.to}, found {listed}"]
            return out + self.why_not_delivered(step.to, step.subject, step.from_)
        mismatches: list[list[str]] = []
        for message in candidates:
            problems = self.delivered_mismatches(step, message)
            if not problems:
                return []
            mismatches.append(problems)
        # Report the candidate closest to the expectation (fewest mismatches).
        best = min(mismatches, key=len)
        sender = step.from_ or self.sender_of(step.to, step.subject)
        return (
            [f"'{step.subject}' was delivered to {step.to}, but:"]
            + [f"  {p}" for p in best]
            + self.decisions_about(step.to, step.subject, sender, later=False)
        )

    def delivered_mismatches(self, step: ExpectDelivered, message: DeliveredMessage) -> list[str]:
        """What differs between the expectation and one delivered message."""
        out: list[str] = []
        if step.from_ is not None and message.mail_from.lower() != step.from_.lower():
            out.append(f"expected from {step.from_}, found from {message.mail_from or '<>'}")
        if step.domain_secured is not None and message.domain_secured != step.domain_secured:
            out.append(
                f"expected domain_secured = {str(step.domain_secured).lower()}, found "
                f"{str(message.domain_secured).lower()} (AuthAs: {message.auth_as}, "
                f"AuthDomain: {message.header('X-MS-Exchange-Organization-AuthDomain')})"
            )
        if step.tls is not None and _received_tls(message) != step.tls:
            received = message.headers.get_all("Received") or ["(none)"]
            out.append(
                f"expected tls = {str(step.tls).lower()}, found topmost Received: "
                f"{' '.join(str(received[0]).split())}"
            )
        if step.auth_as is not None and (message.auth_as or "").lower() != step.auth_as.lower():
            out.append(f"expected AuthAs {step.auth_as}, found {message.auth_as or '(none)'}")
        for name, value in step.header.items():
            found = message.header(name)
            if found is None or value not in found:
                out.append(f"expected header {name} containing '{value}', found {found!r}")
        for name in step.without_header:
            found = message.header(name)
            if found is not None:
                out.append(f"expected no {name} header, found {name}: {found}")
        return out

    def expect_not_delivered(self, step: ExpectNotDelivered) -> list[str]:
        """No message with the subject is in the inbox."""
        delivered = [
            m for m in self.lab.inbox(step.to) if not m.is_ndr and _subject_is(m, step.subject)
        ]
        if not delivered:
            return []
        message = delivered[0]
        return [
            f"expected no '{step.subject}' in {step.to}, found one delivered at "
            f"{message.delivered_at:%Y-%m-%d %H:%M:%S} from {message.mail_from} "
            f"(AuthAs: {message.auth_as}, domain secured: {str(message.domain_secured).lower()})"
        ]

    def expect_queued(self, step: ExpectQueued) -> list[str]:
        """A queue towards next_hop holds messages in the asked state."""
        queues = list(self.lab.queues(step.org))
        for queue in queues:
            if self.queue_matches(step, queue):
                return []
        wanted = [f"a queue in {step.org} to {step.next_hop} holding messages"]
        if step.status:
            wanted.append(f"Status {step.status}")
        if step.last_error:
            wanted.append(f"LastError containing '{step.last_error}'")
        if step.subject:
            wanted.append(f"the message '{step.subject}'")
        out = [f"expected {', '.join(wanted)}, found:"]
        out += [f"  {_queue_row(step.org, q)}" for q in queues] or [f"  no queues in {step.org}"]
        if step.subject:
            rows = [
                f"  message '{m.subject}' in {m.queue}: {m.status.value}"
                + (f", LastError: {m.last_error}" if m.last_error else "")
                for m in self.lab.messages(step.org)
            ]
            out += ["messages:"] + _clip(rows) if rows else []
        return out

    def queue_matches(self, step: ExpectQueued, queue: QueueView) -> bool:
        """One Get-Queue row against the expectation."""
        if queue.next_hop_domain.lower() != step.next_hop.lower() or queue.message_count < 1:
            return False
        if step.status is not None and queue.status.value.lower() != step.status.lower():
            return False
        if step.last_error is not None and step.last_error not in queue.last_error:
            return False
        if step.subject is None:
            return True
        return any(
            _subject_is(m, step.subject) for m in self.lab.messages(step.org, queue.identity)
        )

    def expect_ndr(self, step: ExpectNdr) -> list[str]:
        """An NDR about the subject, with the status and action if asked, is in the inbox (or,
        with ``absent``, is not)."""
        ndrs = [m for m in self.lab.inbox(step.to) if m.is_ndr]
        status = f" with Status: {step.status}" if step.status else ""
        if step.action:
            status += f" and Action: {step.action}"
        wanted = [f"Status: {step.status}"] if step.status else []
        wanted += [f"Action: {step.action}"] if step.action else []

        def matches(ndr: DeliveredMessage) -> bool:
            text = _text(ndr.content)
            return step.subject in ndr.subject and all(part in text for part in wanted)

        matching = [ndr for ndr in ndrs if matches(ndr)]
        if step.absent:
            if not matching:
                return []
            out = [f"expected no report for '{step.subject}'{status} in {step.to}, found:"]
            for ndr in matching:
                out.append(f"  '{ndr.subject}' delivered {ndr.delivered_at.isoformat()}")
            return out
        if matching:
            return []
        if not ndrs:
            out = [f"expected an NDR for '{step.subject}'{status} in {step.to}, found no NDR"]
            # No NDR yet usually means the message still waits in a queue: show where.
            recipient = self.recipient_of(step.to, step.subject)
            if recipient is None:
                return out
            return out + self.why_not_delivered(recipient, step.subject, step.to)
        out = [f"expected an NDR for '{step.subject}'{status} in {step.to}, found:"]
        for ndr in ndrs:
            statuses = sorted(set(re.findall(r"^Status:\s*(\S+)", _text(ndr.content), re.M)))
            out.append(f"  '{ndr.subject}' (Status: {', '.join(statuses) or 'none'})")
        return out

    def expect_log(self, step: ExpectLog) -> list[str]:
        """A line of the named log contains the text."""
        if step.log == "tracking":
            records = self.lab.tracking_log(step.org, step.server)
            name = f"{step.server or step.org} message tracking log"
        elif step.log == "event":
            records = self.lab.event_log(step.org, step.server)
            name = f"{step.server or step.org} Application event log"
        else:
            assert step.server is not None  # the loader requires it for protocol logs
            records = self.lab.protocol_log(step.org, step.server, step.log)
            name = f"{step.server} {step.log} protocol log"
        # Header lines first, as in the files: header forms (#Log-type, #Fields …) can be pinned.
        lines = self.lab.log_headers(step.org, step.server, step.log) + records
        matching = [line for line in lines if step.contains in line]
        if step.absent:
            if not matching:
                return []
            out = [f"expected no line containing '{step.contains}' in the {name}, found:"]
            return out + [f"  {line}" for line in _clip(matching, MAX_LOG_LINES)]
        if matching:
            return []
        if not lines:
            return [f"expected a line containing '{step.contains}' in the {name}, found it empty"]
        out = [
            f"expected a line containing '{step.contains}' in the {name}, "
            f"found none in {len(lines)} line(s); the last ones:"
        ]
        return out + [f"  {line}" for line in _clip(lines, MAX_LOG_LINES)]


def _subject_matches(sent: str, expected: str) -> bool:
    """A sent subject against the one an expectation names (exact, trimmed)."""
    return sent.strip() == expected.strip()
