"""``labsim demo --web``: the demo's chapters walked step by step in the live lab's web console.

Owns the web presenter of the chapters (:class:`~labsim.demo_story.Chapter`) a ``labsim demo``
command line selects (the story, ``--chapter traps``' five traps, one trap, a scenario file). The story,
its words and its expected outcomes are :mod:`labsim.demo_story`'s (or a scenario file's,
:mod:`labsim.demo_file`): one source. Running a beat and what it shows (each cmdlet at its
prompt with its output, the hops of each message, where it ended, each expected outcome as ✔ or
✘ with the runner's explanation) are the terminal presenter's (:class:`labsim.demo.ChapterRun`),
kept as the lines the terminal prints with their colour codes, which the page turns into
classes (:mod:`labsim.web.demo_page`). What this module adds:

* :class:`ChapterWalk`: one chapter on its lab; :meth:`ChapterWalk.run_step` runs the next
  step's beats through :class:`~labsim.scenario.runner.ScenarioStepper`, the runner
  ``labsim run`` uses, and keeps what they showed (:class:`ShownStep`) with the Message-IDs the
  step sent, whose paths the page draws.
* :class:`WebDemo`, one per ``labsim demo --web``: the chapters in order on one live lab
  (``labsim up``'s, with its console). As on the terminal each chapter has a fresh lab of its
  own: when a chapter is over, Next opens the next one, and ``open_lab`` (the command line's)
  stops the finished chapter's lab and starts the next chapter's on the same reactor, with the
  same console (every view follows; docs/teaching.md).
* The pace. A step (and a chapter's lab starting) drives the reactor itself, so the console's
  Next button and the Auto timer never run it in a request's callback: they queue it on the
  live lab's main loop, where browser shell lines run too (``WebConsole.queue_action``). Each
  request names the chapter and step it means to run, so a double click or a projector's stale
  page never skips one or runs one twice. Auto goes on across chapters.
* The terminal: a line per chapter opened, one short line per step, one per chapter ended, and
  one at the end (the last chapter's lab stays up until Ctrl-C).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from labsim.demo import ChapterRun, Echo, NarratedLab, Presenter
from labsim.demo_story import CHAPTERS, Chapter
from labsim.demo_story import chapter_scenario as _chapter_scenario
from labsim.errors import LabsimError
from labsim.scenario.model import EmsStep, SendStep
from labsim.scenario.runner import LabLike, ScenarioStepper
from labsim.terminal import Palette
from labsim.web.demo_page import ChapterEntry

if TYPE_CHECKING:
    from labsim.lab import Lab

__all__ = [
    "AUTO_DEFAULT_SECONDS",
    "ChapterWalk",
    "ShownBeat",
    "ShownStep",
    "WebDemo",
    "chapter_summary",
    "step_line",
]

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


class ChapterWalk:
    """One chapter on its lab, one step per :meth:`run_step` (the pace is :class:`WebDemo`'s)."""

    def __init__(self, number: int, chapter: Chapter, lab: Lab) -> None:
        #: The chapter's number in the demo (from 1).
        self.number = number
        self.chapter = chapter
        self.lab = lab
        self.shown: list[ShownStep] = []
        #: The number of the step running now, if one is.
        self.running: int | None = None
        #: Why the chapter stopped early (the lab refused a step), if it did.
        self.stopped: str | None = None
        self._lines: list[str] = []
        # The terminal presenter, writing into this chapter's buffer with colour codes (the
        # page turns them into classes): the same words and the same ✔/✘ as the terminal.
        self.presenter = Presenter(self._lines.append, Palette(True))
        self.chapter_run = ChapterRun(self.presenter, chapter)
        self.chapter_run.lab = lab
        self.narrated = _RecordingLab(lab, self.chapter_run)
        self.stepper = ScenarioStepper(_chapter_scenario(chapter), cast(LabLike, self.narrated))

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

    def verdict(self) -> str:
        """The chapter's result in a few words, for the terminal."""
        if self.stopped is not None:
            return f"✘ the chapter {self.stopped}"
        if self.passed:
            return "✔ every outcome held"
        failed = sum(1 for s in self.shown for b in s.beats if not b.passed)
        return f"✘ {failed} outcome(s) differed from the story (see /demo)"

    def run_step(self, changed: Callable[[], None]) -> ShownStep:
        """Run the next step's beats; ``changed`` is told when it starts (open pages show the
        step as running while it runs)."""
        number = self.next_number
        demo_step = self.chapter.steps[number - 1]
        self.running = number
        changed()
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


def chapter_summary(chapter: Chapter) -> str:
    """The chapter's line in the table of contents: the opening of its introduction (the
    question the chapter answers; a scenario file's first comment), whole sentences up to
    :data:`SUMMARY_WIDTH` characters; else ``labsim demo --chapters``' summary, else its name.

    The opening, not ``--chapters``' summary: the list shows each title already, and a trap's
    summary mostly repeats its title.
    """
    text = " ".join(paragraph.strip() for paragraph in chapter.intro).strip()
    if text:
        kept: list[str] = []
        for sentence in _SENTENCE_END.split(text):
            if len(" ".join([*kept, sentence])) > SUMMARY_WIDTH:
                break
            kept.append(sentence)
        # A sentence that announces a list ("It must:") does not end a summary.
        while kept and kept[-1].endswith(":"):
            kept.pop()
        if kept:
            return " ".join(kept)
        return text[:SUMMARY_WIDTH].rsplit(" ", 1)[0] + " …"
    if chapter.source is None:
        known = dict(CHAPTERS).get(chapter.name)
        if known is not None:
            return known
    return chapter.source.name if chapter.source is not None else chapter.name


SUMMARY_WIDTH = 160
"""The longest summary the table of contents shows (about two lines of its column)."""
_SENTENCE_END = re.compile(r"(?<=[.?!:])\s+")


class WebDemo:
    """The chapters a ``labsim demo --web`` walks, one live lab at a time, one step per
    :meth:`run_next`.

    ``lab`` is the first chapter's lab (started); ``open_lab(chapter)`` replaces the live lab
    with a fresh one for ``chapter`` and returns it. ``queue`` puts a job on the live lab's
    main loop; ``call_later(seconds, f)`` arms a timer (the reactor's); ``changed`` tells open
    console pages to fetch their view again; ``echo`` prints the terminal's line.
    """

    def __init__(
        self,
        chapters: Sequence[Chapter],
        lab: Lab,
        *,
        echo: Echo,
        queue: Callable[[Callable[[], None]], None],
        call_later: Callable[[float, Callable[[], None]], Any],
        open_lab: Callable[[Chapter], Lab] | None = None,
        changed: Callable[[], None] = lambda: None,
        auto: float | None = None,
    ) -> None:
        if not chapters:
            raise ValueError("a web demo needs at least one chapter")
        if len(chapters) > 1 and open_lab is None:
            raise ValueError("a web demo of several chapters needs open_lab")
        self.chapters = tuple(chapters)
        self.echo = echo
        self._queue = queue
        self._call_later = call_later
        self._open_lab = open_lab
        self._changed = changed
        self.interval = auto if auto is not None else AUTO_DEFAULT_SECONDS
        self.auto = auto is not None
        #: The chapters opened so far, the current one last (each keeps what it showed).
        self.walks: list[ChapterWalk] = [ChapterWalk(1, self.chapters[0], lab)]
        #: The number of the chapter whose lab is starting now, if one is.
        self.opening: int | None = None
        #: Why the next chapter could not be opened (its lab did not start), if so.
        self.open_failed: str | None = None
        self._timer: Any = None

    # --- state --------------------------------------------------------------------------------

    @property
    def walk(self) -> ChapterWalk:
        """The current chapter's walk."""
        return self.walks[-1]

    @property
    def chapter(self) -> Chapter:
        """The current chapter."""
        return self.walk.chapter

    @property
    def lab(self) -> Lab:
        """The current chapter's lab (the one the console shows)."""
        return self.walk.lab

    @property
    def chapter_number(self) -> int:
        """The current chapter's number (from 1)."""
        return self.walk.number

    @property
    def shown(self) -> list[ShownStep]:
        """The current chapter's steps that ran."""
        return self.walk.shown

    @property
    def running(self) -> int | None:
        """The number of the current chapter's step running now, if one is."""
        return self.walk.running

    @property
    def stopped(self) -> str | None:
        """Why the current chapter stopped early, if it did."""
        return self.walk.stopped

    @property
    def total(self) -> int:
        """How many steps the current chapter has."""
        return self.walk.total

    @property
    def next_number(self) -> int:
        """The current chapter's step Next runs (``total + 1`` once the chapter is over)."""
        return self.walk.next_number

    @property
    def chapter_finished(self) -> bool:
        """The current chapter is over (Next opens the next one, if there is one)."""
        return self.walk.finished

    @property
    def finished(self) -> bool:
        """The demo is over: the last chapter is, or the next one's lab could not start."""
        return self.open_failed is not None or (
            self.walk.finished and self.chapter_number == len(self.chapters)
        )

    @property
    def passed(self) -> bool:
        """Every step that ran held, in every chapter opened, and every chapter opened."""
        return self.open_failed is None and all(w.passed for w in self.walks)

    def contents(self) -> tuple[ChapterEntry, ...]:
        """The table of contents: every chapter with its summary and where it stands."""
        entries = []
        current = self.chapter_number
        for number, chapter in enumerate(self.chapters, start=1):
            if number < current or (number == current and self.walk.finished):
                state = "done"
            elif number == current:
                state = "current"
            else:
                state = "to come"
            passed = self.walks[number - 1].passed if number <= len(self.walks) else None
            entries.append(
                ChapterEntry(number, chapter.title, chapter_summary(chapter), state, passed)
            )
        return tuple(entries)

    # --- the pace -----------------------------------------------------------------------------

    def run_next(self, chapter: int, number: int) -> str:
        """Run what Next offered, named by its chapter and step (step 0 of the next chapter:
        open that chapter on its own lab), if it is still what comes next; on the main loop.
        Returns what happened, in a sentence (the console's answer to a Next that came late
        says why nothing ran)."""
        if self.running is not None:
            return f"step {self.running} is running; Next waits for it"
        if self.opening is not None:
            return f"chapter {self.opening}'s lab is starting; Next waits for it"
        if self.finished:
            return "the demo is over; the lab stays up for the other views"
        current = self.chapter_number
        if self.chapter_finished:
            if (chapter, number) != (current + 1, 0):
                return (
                    f"chapter {chapter}, step {number} is not next (Next opens chapter "
                    f"{current + 1}); nothing was run twice"
                )
            self._disarm()
            said = self._open_next()
            self._arm()
            return said
        if (chapter, number) != (current, self.next_number):
            return (
                f"chapter {chapter}, step {number} is not next (the next is step "
                f"{self.next_number} of chapter {current}); nothing was run twice"
            )
        shown = self.walk.run_step(self._changed)
        said = step_line(shown, self.total)
        self.echo(said)
        # Auto counts its interval from the step just run, whoever ran it.
        self._disarm()
        if self.chapter_finished:
            self._announce_end()
        self._arm()
        return said

    def set_auto(self, on: bool) -> None:
        """Turn Auto on (the next step runs after :attr:`interval` seconds) or off."""
        self.auto = on
        if not on:
            self._disarm()
        else:
            self._arm()

    def start(self) -> None:
        """The demo is shown: with ``--auto`` the first step runs after the interval."""
        if len(self.chapters) > 1:
            self.echo(self._chapter_line())
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
            # What Next offers now: the next step, or the next chapter (its step 0).
            if self.chapter_finished:
                chapter, number = self.chapter_number + 1, 0
            else:
                chapter, number = self.chapter_number, self.next_number
            self._queue(lambda: self._auto_run(chapter, number))

    def _auto_run(self, chapter: int, number: int) -> None:
        if self.auto:
            self.run_next(chapter, number)

    # --- chapters -----------------------------------------------------------------------------

    def _open_next(self) -> str:
        number = self.chapter_number + 1
        chapter = self.chapters[number - 1]
        assert self._open_lab is not None  # several chapters always come with open_lab
        self.opening = number
        self._changed()  # open pages show the chapter's lab starting
        try:
            lab = self._open_lab(chapter)
        except LabsimError as err:
            self.open_failed = f"chapter {number}'s lab did not start: {err}"
            self.echo(
                f"labsim demo: ✘ {self.open_failed}. The console shows the last chapter's lab, "
                "stopped; Ctrl-C ends the demo."
            )
            return self.open_failed
        finally:
            self.opening = None
        self.walks.append(ChapterWalk(number, chapter, lab))
        said = self._chapter_line()
        self.echo(said)
        self._changed()
        return said

    def _chapter_line(self) -> str:
        offset = self.lab.world.network.port_offset
        return (
            f"chapter {self.chapter_number}/{len(self.chapters)} · {self.chapter.title} "
            f"({self.total} steps; lab {self.chapter.lab.name}, SMTP 25 on {25 + offset})"
        )

    def _announce_end(self) -> None:
        walk = self.walk
        if not self.finished:
            following = self.chapters[walk.number]
            self.echo(
                f"labsim demo: {walk.chapter.title}: {walk.verdict()}. Next opens chapter "
                f"{walk.number + 1}/{len(self.chapters)}: {following.title}."
            )
            return
        if len(self.chapters) == 1:
            head = f"labsim demo: {walk.chapter.title}: {walk.verdict()}."
        else:
            differed = sum(1 for w in self.walks if not w.passed)
            overall = (
                f"✔ every outcome held in all {len(self.chapters)} chapters"
                if not differed
                else f"✘ {differed} of {len(self.chapters)} chapters differed from the story"
            )
            self.echo(f"labsim demo: {walk.chapter.title}: {walk.verdict()}.")
            head = f"labsim demo: {overall}."
        self.echo(
            f"{head} The lab stays up: go on in the console's Shell, Mailboxes, Topology; "
            "Ctrl-C stops it."
        )
