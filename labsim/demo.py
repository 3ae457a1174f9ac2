"""``labsim demo``: the demo's chapters told on a terminal, step by step.

Owns the terminal presentation of a :class:`~labsim.demo_story.Chapter` (the stories
themselves are data in :mod:`labsim.demo_story`; a scenario file becomes a chapter in
:mod:`labsim.demo_file`). Each chapter runs on a fresh lab through the same runner as
``labsim run`` (``labsim.scenario.runner.run_scenario``), so every outcome the demo shows is
the engine's and every expected outcome is checked (✔ or ✘). What it prints, per step:

* the step's title and the trainer's narration; with ``--step`` it first waits for Enter
  (``q`` and Enter quits cleanly, the lab stopped; at the end of piped input it goes on);
* each cmdlet at an EMS prompt and the shell's output (labsim's own ``labsim note:`` lines in
  their own colour: they are labsim's, not Exchange's, docs/exchange-reference.md §17 C13);
* each message: one line per SMTP hop naming the rule that decided it (the engine's decision
  note, :mod:`labsim.demo_hops`), then where it ended: delivered with or without the
  domain-secured check, or queued with its LastError;
* each expected outcome as ✔ or ✘ (with the runner's explanation under a ✘), and at the end
  the inboxes as Outlook lists them.

Lines fit 100 columns and are coloured by meaning (:mod:`labsim.terminal`). The exit status is
0 when every expected outcome held, 1 otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from labsim.demo_file import chapter_from_file
from labsim.demo_hops import hops, unrouted
from labsim.demo_story import CHAPTERS, Beat, Chapter, DemoStep, chapter_scenario
from labsim.demo_story import chapters as story_chapters
from labsim.ems.shell import ShellResult
from labsim.errors import LabsimError, UsageError
from labsim.lab import Lab
from labsim.model.lab import LabDefinition
from labsim.scenario.model import EmsStep, ExpectLog, SendStep
from labsim.scenario.runner import LabLike, StepResult, run_scenario
from labsim.terminal import Palette, wrap

__all__ = [
    "ChapterRun",
    "DemoQuit",
    "Echo",
    "NarratedLab",
    "Presenter",
    "ReadKey",
    "chapter_cert_folder",
    "chapter_list",
    "describe_lab",
    "run_chapters",
    "run_demo",
    "select_chapters",
]

Echo = Callable[[str], None]
#: Reads one line of the trainer's input ("" for Enter); None when input has ended.
ReadKey = Callable[[], str | None]

_LED = re.compile(r"\{LED=(.*?)\};\{FQDN=")
_PAUSE = "── Enter: next step · q then Enter: quit ──"


class DemoQuit(Exception):
    """The trainer typed q at a pause."""


def describe_lab(definition: LabDefinition) -> list[str]:
    """Each organization of the lab on a line: its domain and servers (name, FQDN, address)."""
    lines = []
    for org_def in definition.organizations:
        org = org_def.organization
        servers = ", ".join(f"{s.name} {s.fqdn} {s.address}" for s in org.servers)
        lines.append(f"{org.name} ({org.default_domain}): {servers}")
    return lines


@dataclass
class Presenter:
    """Tells chapters on a terminal through ``echo``: one instance per ``labsim demo`` run."""

    echo: Echo
    palette: Palette = field(default_factory=Palette)
    read_key: ReadKey | None = None
    #: ``--step``: pause before every step.
    step_mode: bool = False

    # -- output helpers ----------------------------------------------------------------------

    def say(
        self,
        text: str,
        *,
        indent: str = "  ",
        hanging: str = "",
        paint: Any = None,
        mark: bool = False,
    ) -> None:
        """Wrap ``text`` to the screen and print it, each line painted by ``paint`` (the
        indentation left unpainted); with ``mark``, the leading ✔ or ✘ in its own colour."""
        for n, line in enumerate(wrap(text, indent=indent, hanging=hanging)):
            body = line.lstrip(" ")
            lead = line[: len(line) - len(body)]
            if mark and n == 0 and body[:1] in ("✔", "✘"):
                sign = self.palette.ok if body[0] == "✔" else self.palette.fail
                rest = body[1:]
                self.echo(lead + sign(body[0]) + (paint(rest) if paint else rest))
                continue
            self.echo(lead + (paint(body) if paint and body else body))

    def blank(self) -> None:
        """An empty line."""
        self.echo("")

    def pause(self) -> None:
        """With --step, wait for Enter; ``q`` quits. End of input: go on without pausing."""
        if not self.step_mode or self.read_key is None:
            return
        self.echo(self.palette.quiet(_PAUSE))
        key = self.read_key()
        if key is None:
            self.step_mode = False
            return
        if key.strip().lower() in ("q", "quit"):
            raise DemoQuit

    # -- a chapter ---------------------------------------------------------------------------

    def chapter(self, chapter: Chapter, *, cert_folder: Path, port_offset: int | None) -> bool:
        """Run and tell one chapter; True when every expected outcome held."""
        p = self.palette
        self.say(f"━━ {chapter.title} ━━", indent="", hanging="   ", paint=p.heading)
        for paragraph in chapter.intro:
            self.say(paragraph, indent="")
        self.blank()
        self.echo("The lab (Exchange 2013, real SMTP and TLS on loopback):")
        for line in describe_lab(chapter.lab):
            self.say(line, hanging="    ")
        self.say(f"certificates and keys: {cert_folder}/")
        scenario = chapter_scenario(chapter)
        run = ChapterRun(self, chapter)

        def factory(_: Any) -> LabLike:
            lab = Lab.start(chapter.lab, cert_folder=cert_folder, port_offset=port_offset)
            offset = lab.world.network.port_offset
            self.say(
                f"ports: each server listens on Exchange's port + {offset} "
                f"(SMTP 25 on {25 + offset}, 2525 on {2525 + offset})"
            )
            run.lab = lab
            run.before(0)
            return cast(LabLike, NarratedLab(lab, run))

        result = run_scenario(scenario, lab_factory=factory, on_step=run.after)
        if result.stopped:
            self.say(f"✘ the chapter {result.stopped}", indent="", paint=p.fail)
        self.blank()
        if chapter.inboxes and run.inboxes:
            self.echo("Inboxes, as Outlook shows them:")
            for address in chapter.inboxes:
                self.say(address)
                for line in run.inboxes.get(address, []) or ["(empty)"]:
                    self.say(line, indent="    ", hanging="    ")
            self.blank()
        failures = len(result.failures)
        if result.passed:
            self.say(f"✔ {chapter.title}: every outcome held.", indent="", paint=p.ok)
        else:
            self.say(
                f"✘ {chapter.title}: {failures} outcome(s) differed from the story; see the ✘ "
                "lines above.",
                indent="",
                paint=p.fail,
            )
        self.blank()
        return result.passed


class ChapterRun:
    """The state of one chapter while the runner drives it: which beat runs, what was seen.

    The terminal drives it through :meth:`before` and :meth:`after`; a presenter that shows
    titles and narration itself (the web demo) calls :meth:`start_beat` and :meth:`tell`.
    """

    def __init__(self, presenter: Presenter, chapter: Chapter) -> None:
        self.presenter = presenter
        self.chapter = chapter
        self.beats: tuple[Beat, ...] = chapter.beats
        self.first_beat = {step.beats[0].step.number: step for step in chapter.steps if step.beats}
        self.lab: Lab | None = None
        self.current: Beat | None = None
        self.notes_seen = 0
        self.delivered_seen: dict[str, int] = {}
        self.inboxes: dict[str, list[str]] = {}
        self.step_count = len(chapter.steps)
        self.step_index = 0

    # -- before a beat ---------------------------------------------------------------------

    def before(self, index: int) -> None:
        """Say what comes before beat ``index`` (0-based): a step's title and narration and
        the --step pause, the beat's caption."""
        beat = self.beats[index]
        self.current = beat
        demo_step = self.first_beat.get(beat.step.number)
        p = self.presenter
        if demo_step is not None:
            self.step_index += 1
            self._step_heading(demo_step)
            p.pause()
        for line in beat.caption:
            p.say(line, indent="  ", hanging="  ")
        self._mark_seen()

    def _step_heading(self, demo_step: DemoStep) -> None:
        p = self.presenter
        p.blank()
        heading = f"Step {self.step_index} of {self.step_count} · {demo_step.title}"
        p.say(heading, indent="", hanging="  ", paint=p.palette.heading)
        for paragraph in demo_step.narration:
            p.say(paragraph, indent="  ", hanging="")

    def _mark_seen(self) -> None:
        assert self.lab is not None
        self.notes_seen = len(self.lab.world.explanations)
        for address in self._mailboxes():
            self.delivered_seen[address] = len(self.lab.inbox(address))

    def _mailboxes(self) -> list[str]:
        definition = self.chapter.lab
        return [
            m.primary_smtp_address
            for org in definition.organizations
            for m in org.organization.mailboxes
        ]

    # -- after a beat ----------------------------------------------------------------------

    def start_beat(self, index: int) -> None:
        """Beat ``index`` (0-based) runs next: what it shows is counted from now (nothing is
        said; :meth:`before` says the title, narration and caption too)."""
        self.current = self.beats[index]
        self._mark_seen()

    def after(self, result: StepResult) -> None:
        """Tell a step's outcome, then prepare the next beat (the runner's on_step)."""
        self.tell(result)
        step = result.step
        if step.number == len(self.beats):
            self._collect_inboxes()
            return
        self.before(step.number)

    def tell(self, result: StepResult) -> None:
        """Tell a step's outcome: the mail it made move, or its ✔ or ✘."""
        step = result.step
        p = self.presenter
        pal = p.palette
        if isinstance(step, EmsStep | SendStep) or step.kind == "advance":
            if not result.passed:
                p.say(f"✘ {result.description}", indent="  ", hanging="    ", paint=pal.fail)
                for line in result.details:
                    p.say(line, indent="    ", hanging="    ")
            self._tell_mail(step)
        else:
            sign = "✔" if result.passed else "✘"
            p.say(
                f"{sign} expected: {result.description}",
                indent="  ",
                hanging="    ",
                paint=pal.quiet,
                mark=True,
            )
            if not result.passed:
                for line in result.details:
                    p.say(line, indent="    ", hanging="    ")
            elif isinstance(step, ExpectLog):
                self._show_log_line(step)

    def _tell_mail(self, step: Any) -> None:
        """The hops made since the beat started and where each message ended."""
        assert self.lab is not None
        p = self.presenter
        pal = p.palette
        notes = [(e.server, e.text) for e in self.lab.world.explanations[self.notes_seen :]]
        made = hops(notes, self._server_at)
        for hop in made:
            paint = pal.fail if hop.refused else pal.quiet
            text = f"{hop.sender} → {hop.receiver} ({hop.connector}): {hop.rule or 'no rule noted'}"
            p.say(text, indent="      ", hanging="    ", paint=paint)
        for server, rule in unrouted(notes):
            p.say(f"{server}: {rule}", indent="      ", hanging="    ", paint=pal.fail)
        for address in self._mailboxes():
            inbox = self.lab.inbox(address)
            for message in inbox[self.delivered_seen.get(address, 0) :]:
                if message.is_ndr:
                    text = f"→ NDR to {address}: '{message.subject}'"
                    p.say(text, indent="    ", hanging="    ", paint=pal.fail)
                elif message.domain_secured:
                    text = (
                        f"→ delivered to {address}: '{message.subject}' domain secured ✔ "
                        f"(AuthAs {message.auth_as})"
                    )
                    p.say(text, indent="    ", hanging="    ", paint=pal.ok)
                else:
                    text = (
                        f"→ delivered to {address}: '{message.subject}' not domain secured, "
                        f"no check mark (AuthAs {message.auth_as or '-'})"
                    )
                    p.say(text, indent="    ", hanging="    ")
        if isinstance(step, SendStep):
            delivered = {
                a
                for a in step.to + step.cc
                if any(m.subject == step.subject for m in self._inbox_or_empty(a))
            }
            for address in step.to + step.cc:
                if address not in delivered:
                    p.say(
                        self._where_is(step, address), indent="    ", hanging="    ", paint=pal.fail
                    )
        self._mark_seen()

    def _inbox_or_empty(self, address: str) -> Sequence[Any]:
        assert self.lab is not None
        if self.chapter.lab.outside_organization_of(address) is not None:
            return ()
        return self.lab.inbox(address)

    def _where_is(self, step: SendStep, address: str) -> str:
        """Where a message that was not delivered is: its queue and LastError."""
        assert self.lab is not None
        org_name = self._org_of(step.from_)
        if self.chapter.lab.outside_organization_of(address) is not None:
            return f"→ {address} is outside the lab (its mail is not held here)"
        if org_name is None:
            return f"→ not delivered to {address}"
        for message in self.lab.messages(org_name):
            if message.subject == step.subject:
                queue = message.queue
                status = next(
                    (q.status.value for q in self.lab.queues(org_name) if q.identity == queue), ""
                )
                led = _LED.search(message.last_error)
                error = led.group(1) if led else message.last_error
                tail = f", LastError: {error}" if error else ""
                return f"→ not delivered: in queue {queue} (Status {status}){tail}"
        sender_inbox = self._inbox_or_empty(step.from_)
        if any(m.is_ndr and step.subject in m.subject for m in sender_inbox):
            return f"→ not delivered to {address}: returned to the sender with an NDR"
        return f"→ not delivered to {address}"

    def _org_of(self, address: str) -> str | None:
        domain = address.rpartition("@")[2].lower()
        for org in self.chapter.lab.organizations:
            if org.organization.is_accepted_domain(domain):
                return org.organization.name
        return None

    def _server_at(self, address: str) -> str | None:
        for org in self.chapter.lab.organizations:
            server = org.organization.server_at(address)
            if server is not None:
                return server.name
        return None

    def _show_log_line(self, step: ExpectLog) -> None:
        """The log line an expect.log found, as an admin would read it."""
        assert self.lab is not None
        if step.server is None or step.log == "tracking":
            return
        try:
            if step.log == "event":
                lines = self.lab.event_log(step.org, step.server)
            else:
                lines = self.lab.protocol_log(step.org, step.server, step.log)
        except LabsimError:  # a log the lab does not keep: the ✔ line says enough
            return
        found = next((line for line in lines if step.contains in line), None)
        if found is not None:
            self.presenter.say(found, indent="      ", hanging="    ")

    def _collect_inboxes(self) -> None:
        """The inboxes, read before the runner stops the lab."""
        assert self.lab is not None
        for address in self.chapter.inboxes:
            self.inboxes[address] = [
                (
                    f"{'✔' if m.domain_secured else '·'} '{m.subject}' from {m.mail_from} "
                    f"({'domain secured' if m.domain_secured else 'not domain secured'}, "
                    f"AuthAs {m.auth_as or '-'})"
                )
                for m in self.lab.inbox(address)
            ]


class NarratedLab:
    """A :class:`Lab` that shows each cmdlet and its output, and announces each message."""

    def __init__(self, lab: Lab, run: ChapterRun) -> None:
        self.lab = lab
        self.run = run

    def run_shell(self, organization: str, text: str, server: str | None = None) -> Any:
        """Show each cmdlet at an EMS prompt followed by its own output, as a console would."""
        p = self.run.presenter
        pal = p.palette
        quiet = self.run.current is not None and self.run.current.quiet
        prompt = f"[PS] {organization}{'/' + server if server else ''}>"
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if any(line.endswith("`") for line in lines):
            # Continued lines form one statement: run the block as a whole.
            lines = [text]
        outputs: list[str] = []
        commands: list[str] = []
        for line in lines:
            for shown in line.splitlines():
                wrapped = wrap(f"{prompt} {shown.strip()}", indent="  ", hanging="      ")
                first = wrapped[0]
                head = f"  {prompt} "
                self.run.presenter.echo(
                    pal.prompt(head) + pal.cmdlet(first[len(head) :])
                    if first.startswith(head)
                    else pal.cmdlet(first)
                )
                for more in wrapped[1:]:
                    p.echo(pal.cmdlet(more))
            result = self.lab.run_shell(organization, line, server)
            commands.extend(result.commands)
            if not quiet:
                for out in result.output.rstrip().splitlines():
                    if out.lstrip().startswith("labsim note:"):
                        p.say(out.strip(), indent="    ", hanging="  ", paint=pal.note)
                    else:
                        p.say(out, indent="    ", hanging="    ", paint=pal.output)
            if result.output.strip():
                outputs.append(result.output.rstrip())
            if result.error is not None:
                p.say(str(result.error), indent="    ", hanging="    ", paint=pal.fail)
                return ShellResult("\n\n".join(outputs), result.error, tuple(commands))
        return ShellResult("\n\n".join(outputs), None, tuple(commands))

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
        """Announce the message; the hops are told once the lab has settled."""
        p = self.run.presenter
        p.say(
            f"✉  {mail_from} → {', '.join(to)}: '{subject}'",
            indent="  ",
            hanging="    ",
            paint=p.palette.heading,
        )
        return self.lab.send(
            mail_from=mail_from,
            to=to,
            subject=subject,
            body=body,
            cc=cc,
            headers=headers,
            size=size,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lab, name)


def run_chapters(
    presenter: Presenter,
    chapters: Sequence[Chapter],
    *,
    cert_folder: Path,
    port_offset: int | None = None,
) -> int:
    """Tell ``chapters`` in order; 0 when every expected outcome held, else 1. A ``q`` at a
    pause stops the demo cleanly (the running lab is stopped) with status 0."""
    passed = True
    try:
        for chapter in chapters:
            folder = chapter_cert_folder(chapters, chapter, cert_folder)
            passed = (
                presenter.chapter(chapter, cert_folder=folder, port_offset=port_offset) and passed
            )
    except DemoQuit:
        presenter.blank()
        presenter.say(
            "labsim: demo stopped (q); the lab is stopped.", indent="", paint=presenter.palette.note
        )
        return 0
    return 0 if passed else 1


def chapter_cert_folder(chapters: Sequence[Chapter], chapter: Chapter, cert_folder: Path) -> Path:
    """Where ``chapter`` keeps its certificates when ``chapters`` run with ``cert_folder``.

    One folder per lab: a chapter on another lab than the first chapter's (the
    hosted-filtering trap) keeps its certificates beside, in DIR/<lab name>.
    """
    first_lab = chapters[0].lab.name if chapters else ""
    return cert_folder if chapter.lab.name == first_lab else cert_folder / chapter.lab.name


def select_chapters(
    *, chapter: str | None = None, lab_file: Path | None = None, scenario_file: Path | None = None
) -> tuple[Chapter, ...]:
    """The chapters a ``labsim demo`` command line asks for (a LabsimError, exit 2, when the
    request is invalid: an unknown chapter, a lab or scenario file with a mistake, a lab
    without two organizations for the story, or a scenario file with --chapter or --lab)."""
    if scenario_file is not None:
        for given, option in ((chapter, "--chapter"), (lab_file, "--lab")):
            if given is not None:
                raise UsageError(
                    f"{option} with a scenario file: {scenario_file} brings its own lab and "
                    f"steps; leave out {option}, or leave out the file to run the built-in story"
                )
        return (chapter_from_file(scenario_file),)
    lab = None
    shown = "the lab"
    if lab_file is not None:
        from labsim.labfile import load_lab_file

        lab = load_lab_file(lab_file)
        shown = f"--lab {lab_file}"
    return story_chapters(chapter or "story", lab, shown)


def chapter_list() -> list[str]:
    """``labsim demo --chapters``: each chapter's name and what it shows."""
    width = max(len(name) for name, _ in CHAPTERS)
    lines = ["Chapters (labsim demo --chapter NAME; the default is story):"]
    for name, summary in CHAPTERS:
        lines.extend(wrap(f"{name:<{width}}  {summary}", indent="  ", hanging=" " * (width + 2)))
    lines.append("Any scenario file is a chapter too: labsim demo scenarios/breakfix/03-*.toml")
    return lines


def run_demo(
    echo: Echo,
    *,
    cert_folder: Path,
    port_offset: int | None = None,
    chapters: Sequence[Chapter] | None = None,
    step: bool = False,
    read_key: ReadKey | None = None,
    palette: Palette | None = None,
) -> int:
    """Tell ``chapters`` (default: the article's story) on ``echo``; the exit status."""
    presenter = Presenter(echo, palette or Palette(), read_key, step)
    chosen = tuple(chapters) if chapters is not None else select_chapters()
    return run_chapters(presenter, chosen, cert_folder=cert_folder, port_offset=port_offset)
