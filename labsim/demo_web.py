"""``labsim demo --web``: a demo chapter walked step by step in the live lab's web console.

Owns the web presenter of a :class:`~labsim.demo_story.Chapter`. The story, its words and its
expected outcomes are :mod:`labsim.demo_story`'s (or a scenario file's, :mod:`labsim.demo_file`):
one source. Running a beat and what it shows (each cmdlet at its prompt with its output, the
hops of each message, where it ended, each expected outcome as ✔ or ✘ with the runner's
explanation) are the terminal presenter's (:class:`labsim.demo.ChapterRun`), kept as the lines
the terminal prints with their colour codes, which the page turns into classes
(:mod:`labsim.web.demo_page`). What this module adds:

* :class:`WebDemo`, one per ``labsim demo --web``: the chapter on a live lab (``labsim up``'s,
  with its console). :meth:`WebDemo.run_next` runs the next step's beats through
  :class:`~labsim.scenario.runner.ScenarioStepper`, the runner ``labsim run`` uses, and keeps
  what they showed (:class:`ShownStep`) with the Message-IDs the step sent, whose paths the
  page draws.
* The pace. A step drives the reactor itself, so the console's Next button and the Auto timer
  never run it in a request's callback: they queue it on the live lab's main loop, where
  browser shell lines run too (``WebConsole.queue_action``). Each request names the step it
  means to run, so a double click or a projector's stale page never skips one.
* The terminal: one short line per step, and one at the end (the lab stays up until Ctrl-C).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from labsim.demo import ChapterRun, Echo, NarratedLab, Presenter
from labsim.demo_story import Chapter
from labsim.demo_story import chapter_scenario as _chapter_scenario
from labsim.scenario.model import EmsStep, SendStep
from labsim.scenario.runner import LabLike, ScenarioStepper
from labsim.terminal import Palette

if TYPE_CHECKING:
    from labsim.lab import Lab

__all__ = ["AUTO_DEFAULT_SECONDS", "ShownBeat", "ShownStep", "WebDemo"]

AUTO_DEFAULT_SECONDS = 15.0
"""The Auto interval the page's toggle uses when ``--auto`` did not give one: long enough to
read a step's narration aloud."""


@dataclass(frozen=True)
class ShownBeat:
    """One beat as it ran: its caption, the terminal's lines (colour codes included), and its
    result (an expected outcome is ✔ or ✘; an action passes unless the lab refused it)."""

    caption: tuple[str, ...]
    lines: tuple[str, ...]
    expectation: bool
    passed: bool
    description: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShownStep:
    """A step that ran: its number (from 1), title, narration, beats and the messages it sent."""

    number: int
    title: str
    narration: tuple[str, ...]
    beats: tuple[ShownBeat, ...]
    message_ids: tuple[str, ...]

    @property
    def outcomes(self) -> tuple[ShownBeat, ...]:
        """The beats that are checks (✔/✘) or actions the lab refused (✘)."""
        return tuple(b for b in self.beats if b.expectation or not b.passed)

    @property
    def passed(self) -> bool:
        """Every expected outcome held and no action was refused."""
        return all(b.passed for b in self.beats)


def step_line(step: ShownStep, total: int) -> str:
    """The terminal's one line for a step that ran."""
    checks = [b for b in step.beats if b.expectation]
    failed = [b for b in step.beats if not b.passed]
    if failed:
        verdict = f"✘ {len(failed)} of {len(checks)} outcome(s) differed from the story (see /demo)"
    elif checks:
        verdict = f"✔ {len(checks)} outcome{'s' if len(checks) != 1 else ''} held"
    else:
        verdict = "done"
    sent = len(step.message_ids)
    mail = f", {sent} message{'s' if sent != 1 else ''} sent" if sent else ""
    return f"step {step.number}/{total} · {step.title}: {verdict}{mail}"


class _RecordingLab(NarratedLab):
    """The narrated lab, also keeping the Message-ID of every message it sent."""

    def __init__(self, lab: Lab, run: ChapterRun) -> None:
        super().__init__(lab, run)
        self.sent: list[str] = []

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
        """Send as the terminal does, and remember the message."""
        message_id = super().send(
            mail_from=mail_from,
            to=to,
            subject=subject,
            body=body,
            cc=cc,
            headers=headers,
            size=size,
        )
        self.sent.append(message_id)
        return message_id


class WebDemo:
    """A chapter walked on a live lab, one step per :meth:`run_next`.

    ``queue`` puts a job on the live lab's main loop; ``call_later(seconds, f)`` arms a timer
    (the reactor's); ``changed`` tells open console pages to fetch their view again; ``echo``
    prints the terminal's line.
    """

    def __init__(
        self,
        chapter: Chapter,
        lab: Lab,
        *,
        echo: Echo,
        queue: Callable[[Callable[[], None]], None],
        call_later: Callable[[float, Callable[[], None]], Any],
        changed: Callable[[], None] = lambda: None,
        auto: float | None = None,
    ) -> None:
        self.chapter = chapter
        self.lab = lab
        self.echo = echo
        self._queue = queue
        self._call_later = call_later
        self._changed = changed
        self.interval = auto if auto is not None else AUTO_DEFAULT_SECONDS
        self.auto = auto is not None
        self.shown: list[ShownStep] = []
        #: The number of the step running now, if one is.
        self.running: int | None = None
        #: Why the chapter stopped early (the lab refused a step), if it did.
        self.stopped: str | None = None
        self._lines: list[str] = []
        self._timer: Any = None
        # The terminal presenter, writing into this demo's buffer with colour codes (the page
        # turns them into classes): the same words and the same ✔/✘ as the terminal.
        self.presenter = Presenter(self._lines.append, Palette(True))
        self.chapter_run = ChapterRun(self.presenter, chapter)
        self.chapter_run.lab = lab
        self.narrated = _RecordingLab(lab, self.chapter_run)
        self.stepper = ScenarioStepper(_chapter_scenario(chapter), cast(LabLike, self.narrated))

    # --- state --------------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """How many steps the chapter has."""
        return len(self.chapter.steps)

    @property
    def next_number(self) -> int:
        """The number of the step Next runs (``total + 1`` once the chapter is over)."""
        return len(self.shown) + 1

    @property
    def finished(self) -> bool:
        """Every step ran, or the lab refused one and the chapter stopped."""
        return self.stopped is not None or len(self.shown) >= self.total

    @property
    def passed(self) -> bool:
        """Every step that ran held."""
        return self.stopped is None and all(s.passed for s in self.shown)

    # --- the pace -----------------------------------------------------------------------------

    def run_next(self, number: int) -> str:
        """Run step ``number`` if it is the next one (on the main loop); what happened, in a
        sentence (the console's answer to a Next that came late says why nothing ran)."""
        if self.running is not None:
            return f"step {self.running} is running; Next waits for it"
        if self.finished:
            return "the demo is over; the lab stays up for the other views"
        if number != self.next_number:
            return (
                f"step {number} already ran (the next is step {self.next_number}); nothing "
                "was run twice"
            )
        shown = self._run_step()
        self.echo(step_line(shown, self.total))
        # Auto counts its interval from the step just run, whoever ran it.
        self._disarm()
        if self.finished:
            self._announce_end()
        else:
            self._arm()
        return step_line(shown, self.total)

    def set_auto(self, on: bool) -> None:
        """Turn Auto on (the next step runs after :attr:`interval` seconds) or off."""
        self.auto = on
        if not on:
            self._disarm()
        else:
            self._arm()

    def start(self) -> None:
        """The demo is shown: with ``--auto`` the first step runs after the interval."""
        self._arm()

    def stop(self) -> None:
        """The lab is stopping: no more timers."""
        self._disarm()

    def _arm(self) -> None:
        if self.auto and self._timer is None and not self.finished:
            self._timer = self._call_later(self.interval, self._auto_due)

    def _disarm(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _auto_due(self) -> None:
        self._timer = None
        if self.auto and not self.finished:
            number = self.next_number
            self._queue(lambda: self._auto_run(number))

    def _auto_run(self, number: int) -> None:
        if self.auto:
            self.run_next(number)

    # --- running a step -----------------------------------------------------------------------

    def _run_step(self) -> ShownStep:
        number = self.next_number
        demo_step = self.chapter.steps[number - 1]
        self.running = number
        self._changed()  # open pages show the step as running while it runs
        sent_before = len(self.narrated.sent)
        beats: list[ShownBeat] = []
        try:
            for beat in demo_step.beats:
                self.chapter_run.start_beat(beat.step.number - 1)
                self._lines.clear()
                result, stopped = self.stepper.run(beat.step)
                self.chapter_run.tell(result)
                is_action = isinstance(beat.step, EmsStep | SendStep) or beat.step.kind == "advance"
                beats.append(
                    ShownBeat(
                        caption=beat.caption,
                        lines=tuple(self._shown_lines()),
                        expectation=not is_action,
                        passed=result.passed,
                        description=result.description,
                        details=result.details,
                    )
                )
                if stopped is not None:
                    self.stopped = stopped
                    break
        finally:
            self.running = None
        shown = ShownStep(
            number,
            demo_step.title,
            demo_step.narration,
            tuple(beats),
            tuple(self.narrated.sent[sent_before:]),
        )
        self.shown.append(shown)
        return shown

    def _shown_lines(self) -> list[str]:
        # The terminal's lines, without the indent every beat line starts with (a web page
        # has its own margins).
        return [line[2:] if line.startswith("  ") else line for line in self._lines]

    def _announce_end(self) -> None:
        if self.stopped is not None:
            verdict = f"✘ the chapter {self.stopped}"
        elif self.passed:
            verdict = "✔ every outcome held"
        else:
            failed = sum(1 for s in self.shown for b in s.beats if not b.passed)
            verdict = f"✘ {failed} outcome(s) differed from the story (see /demo)"
        self.echo(
            f"labsim demo: {self.chapter.title}: {verdict}. The lab stays up: go on in the "
            "console's Shell, Mailboxes, Topology; Ctrl-C stops it."
        )
