"""The console's ``/demo`` view: the demo's chapters walked step by step (pure: no Twisted).

``labsim demo --web`` keeps what each step showed (:mod:`labsim.demo_web`); this module writes
it as HTML for a projector: with several chapters, their table of contents (each chapter's
title, its one-line summary and where it stands: done with its ✔ or ✘, current, to come); the
current chapter's steps; the step's title and narration, each beat's caption and the lines
the terminal printed for it (cmdlets at their prompt with their output, hops, where each
message ended, ✔ and ✘), the step's expected outcomes, and each message the step sent with its
outcome and its sequence diagram (:mod:`labsim.render.sequence`), linked to ``/messages/<id>``.
Next names the chapter and step it runs; once a chapter is over it opens the next chapter.

The terminal's colours become classes by meaning (:func:`terminal_line`), from a fixed table:
nothing in a line ever becomes markup. Everything else from the lab goes through
:func:`labsim.web.pages.e`, as on every other view; ✔ and ✘ carry a text alternative.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labsim.render.paths import MessagePath
from labsim.web.pages import e, secured_mark
from labsim.web.security import CSRF_FIELD

if TYPE_CHECKING:
    from labsim.demo_web import ShownBeat, ShownStep

__all__ = ["ChapterEntry", "DemoScreen", "demo_view", "terminal_line"]

_SGR = re.compile(r"\x1b\[([0-9;]*)m")
# labsim.terminal.Palette's codes, one meaning each.
_CLASSES = {
    "1;36": "t-heading",
    "1;33": "t-cmdlet",
    "2": "t-quiet",
    "1;32": "t-ok",
    "1;31": "t-fail",
    "35": "t-note",
}
_CHECK = '<span class="mark" role="img" aria-label="check mark" title="check mark">✔</span>'
_CROSS = '<span class="mark" role="img" aria-label="cross" title="cross">✘</span>'


def terminal_line(line: str) -> str:
    """One line as the terminal printed it, as HTML: each coloured run a span whose class
    says its meaning (cmdlet, output, ✔, ✘, labsim's note…), the text escaped."""
    parts: list[str] = []
    kind: str | None = None
    position = 0
    for match in _SGR.finditer(line):
        parts.append(_run(line[position : match.start()], kind))
        code = match.group(1)
        kind = None if code in ("", "0") else _CLASSES.get(code)
        position = match.end()
    parts.append(_run(line[position:], kind))
    return "".join(parts)


def _run(text: str, kind: str | None) -> str:
    if not text:
        return ""
    body = e(text).replace("✔", _CHECK).replace("✘", _CROSS)
    return f'<span class="{kind}">{body}</span>' if kind else body


def _held(passed: bool) -> str:
    if passed:
        return '<span class="mark ok" role="img" aria-label="held" title="held">✔</span>'
    return (
        '<span class="mark fail" role="img" aria-label="did not hold" title="did not hold">✘</span>'
    )


@dataclass(frozen=True)
class ChapterEntry:
    """A chapter in the table of contents."""

    number: int
    title: str
    summary: str
    #: "done", "current" or "to come".
    state: str
    #: Whether every outcome held (None for a chapter not opened yet).
    passed: bool | None


@dataclass(frozen=True)
class DemoScreen:
    """What ``/demo`` shows: the chapters, the current one, the step on screen, the controls'
    state (``finished``: the current chapter is over)."""

    title: str
    intro: tuple[str, ...]
    lab_lines: tuple[str, ...]
    step_titles: tuple[str, ...]
    shown: tuple[ShownStep, ...]
    #: The step on screen (None: none ran yet, the chapter's introduction is shown).
    selected: ShownStep | None
    #: The selected step's messages: each one's path (None when the lab has not tracked it)
    #: and its sequence diagram (SVG).
    messages: tuple[tuple[str, MessagePath | None, str], ...]
    running: int | None
    finished: bool
    passed: bool
    stopped: str | None
    auto: bool
    interval: float
    csrf: str
    #: Every chapter of the demo (none given: a demo of this one chapter).
    chapters: tuple[ChapterEntry, ...] = ()
    chapter_number: int = 1
    #: The number of the chapter whose lab is starting now, if one is.
    opening: int | None = None
    #: Why the next chapter's lab did not start, if it did not (the demo is over).
    open_failed: str | None = None

    @property
    def next_number(self) -> int:
        """The step Next runs."""
        return len(self.shown) + 1

    @property
    def chapter_count(self) -> int:
        """How many chapters the demo has."""
        return max(len(self.chapters), 1)

    @property
    def next_chapter(self) -> ChapterEntry | None:
        """The chapter after this one, if there is one."""
        if self.chapter_number < len(self.chapters):
            return self.chapters[self.chapter_number]
        return None

    @property
    def demo_over(self) -> bool:
        """The whole demo is over (the last chapter is, or the next one could not start)."""
        return self.open_failed is not None or (self.finished and self.next_chapter is None)


def demo_view(screen: DemoScreen) -> str:
    """The whole ``/demo`` main."""
    return (
        '<div class="demo">'
        + _controls(screen)
        + '<div class="demo-side">'
        + _contents(screen)
        + _step_list(screen)
        + "</div>"
        + (_step(screen, screen.selected) if screen.selected else _introduction(screen))
        + (_end(screen) if screen.finished else "")
        + "</div>"
    )


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _controls(screen: DemoScreen) -> str:
    total = len(screen.step_titles)
    done = len(screen.shown)
    csrf = f'<input type="hidden" name="{CSRF_FIELD}" value="{e(screen.csrf)}">'
    following = screen.next_chapter
    chapter, number = screen.chapter_number, screen.next_number
    if screen.running is not None:
        state = f"step {screen.running} is running…"
    elif screen.opening is not None:
        state = f"chapter {screen.opening}'s lab is starting…"
    elif screen.open_failed is not None:
        state = "the demo stopped: the next chapter's lab did not start"
    elif screen.demo_over:
        state = "the demo is over; the lab stays up"
    elif screen.finished:
        state = f"chapter {screen.chapter_number} is over"
    elif done == 0:
        state = "ready"
    else:
        state = f"step {done} of {total} done"
    busy = screen.running is not None or screen.opening is not None
    disabled = " disabled" if screen.demo_over or busy else ""
    if screen.demo_over:
        label = "Next ▶ (the demo is over)"
    elif screen.finished and following is not None:
        # Step 0 of the next chapter: its introduction, on its own fresh lab.
        chapter, number = following.number, 0
        label = f"Next ▶ chapter {following.number} of {screen.chapter_count}: {following.title}"
    else:
        label = f"Next ▶ step {screen.next_number}: {screen.step_titles[screen.next_number - 1]}"
    progress = f"Step {done} of {total}"
    if screen.chapter_count > 1:
        progress = f"Chapter {screen.chapter_number} of {screen.chapter_count} · {progress}"
    auto_label = (
        f"Auto: on, every {_seconds(screen.interval)} (turn off)"
        if screen.auto
        else f"Auto: off (turn on, every {_seconds(screen.interval)})"
    )
    return (
        '<section class="card demo-bar" id="demo-bar">'
        f'<span class="demo-progress" id="demo-progress">{e(progress)}</span>'
        '<form method="post" action="/demo/next" class="inline" id="demo-next-form">'
        f'{csrf}<input type="hidden" name="chapter" value="{chapter}">'
        f'<input type="hidden" name="step" value="{number}">'
        f'<button type="submit" id="demo-next" class="primary"{disabled}>{e(label)}</button>'
        "</form>"
        '<form method="post" action="/demo/auto" class="inline" id="demo-auto-form">'
        f'{csrf}<input type="hidden" name="auto" value="{"off" if screen.auto else "on"}">'
        f'<button type="submit" id="demo-auto" aria-pressed="{"true" if screen.auto else "false"}"'
        f">{e(auto_label)}</button></form>"
        f'<span class="demo-state" id="demo-state">{e(state)}</span>'
        "</section>"
    )


def _step_list(screen: DemoScreen) -> str:
    items = []
    selected = screen.selected.number if screen.selected else 0
    for number, title in enumerate(screen.step_titles, start=1):
        ran = screen.shown[number - 1] if number <= len(screen.shown) else None
        if ran is None:
            mark = '<span class="mark todo" role="img" aria-label="not run yet">·</span>'
            items.append(f'<li class="todo">{mark} {number}. {e(title)}</li>')
            continue
        current = ' aria-current="step" class="current"' if number == selected else ""
        items.append(
            f"<li{current}>{_held(ran.passed)} "
            f'<a href="/demo?chapter={screen.chapter_number}&amp;step={number}">'
            f"{number}. {e(title)}</a></li>"
        )
    heading = (
        f"<h2>Chapter {screen.chapter_number}: its steps</h2>" if screen.chapter_count > 1 else ""
    )
    return (
        f'<nav class="card demo-steps" aria-label="Steps">{heading}<ol>{"".join(items)}</ol></nav>'
    )


_STATE_MARKS = {
    "current": '<span class="mark now" role="img" aria-label="current chapter">▶</span>',
    "to come": '<span class="mark todo" role="img" aria-label="to come">·</span>',
}


def _contents(screen: DemoScreen) -> str:
    """The table of contents of a demo of several chapters (one chapter needs none)."""
    if screen.chapter_count < 2:
        return ""
    items = []
    for entry in screen.chapters:
        if entry.state == "done":
            mark = _held(bool(entry.passed))
        else:
            mark = _STATE_MARKS.get(entry.state, _STATE_MARKS["to come"])
        current = ' aria-current="true"' if entry.number == screen.chapter_number else ""
        css = entry.state.replace(" ", "-")
        items.append(
            f'<li class="chapter {css}" data-state="{e(entry.state)}"{current}>'
            f'<span class="chapter-head">{mark} <span class="chapter-title">{entry.number}. '
            f'{e(entry.title)}</span> <span class="chapter-state">{e(entry.state)}</span></span>'
            f'<span class="chapter-summary">{e(entry.summary)}</span></li>'
        )
    return (
        '<nav class="card demo-chapters" id="demo-chapters" aria-label="Chapters">'
        f"<h2>Chapters</h2><ol>{''.join(items)}</ol></nav>"
    )


def _paragraphs(texts: Sequence[str], cls: str) -> str:
    return "".join(f'<p class="{cls}">{e(text)}</p>' for text in texts)


def _introduction(screen: DemoScreen) -> str:
    lab = "".join(f"<li>{e(line)}</li>" for line in screen.lab_lines)
    first = screen.step_titles[0] if screen.step_titles else ""
    return (
        '<article class="card demo-step" id="demo-step" data-step="0" '
        f'data-chapter="{screen.chapter_number}">'
        + _chapter_of(screen)
        + f"<h1>{e(screen.title)}</h1>"
        + _paragraphs(screen.intro, "narration")
        + "<h2>The lab</h2><p>"
        + ("A fresh lab of its own: " if screen.chapter_number > 1 else "")
        + "Exchange 2013, real SMTP and TLS on loopback:</p>"
        f'<ul class="plain">{lab}</ul>'
        f'<p class="demo-hint">Press <strong>Next</strong> to run step 1: {e(first)}.</p>'
        "</article>"
    )


def _beats(beats: Sequence[ShownBeat]) -> str:
    """The beats as the terminal showed them: one terminal block from caption to caption (a
    caption is the trainer speaking between them)."""
    parts: list[str] = []
    block: list[str] = []

    def close() -> None:
        if block:
            parts.append(f'<pre class="terminal">{chr(10).join(block)}</pre>')
            block.clear()

    for beat in beats:
        if beat.caption:
            close()
            parts.append(_paragraphs(beat.caption, "caption"))
        block.extend(terminal_line(line) for line in beat.lines)
    close()
    return "".join(parts)


def _outcomes(step: ShownStep) -> str:
    rows = []
    for beat in step.outcomes:
        details = "".join(f"<li>{e(line)}</li>" for line in beat.details)
        rows.append(
            f'<li class="outcome {"ok" if beat.passed else "fail"}">{_held(beat.passed)} '
            f"{e(beat.description)}"
            + (f'<ul class="details">{details}</ul>' if details and not beat.passed else "")
            + "</li>"
        )
    if not rows:
        return ""
    return (
        '<section class="demo-outcomes" id="demo-outcomes"><h2>Expected outcomes</h2>'
        f'<ul class="plain">{"".join(rows)}</ul></section>'
    )


def _message(message_id: str, path: MessagePath | None, svg: str) -> str:
    if path is None:
        return (
            f'<div class="card demo-message"><p><code>{e(message_id)}</code>: not in message '
            "tracking yet</p></div>"
        )
    secured = path.outcome == "delivered-secured"
    failed = path.outcome in ("queued", "ndr")
    return (
        f'<div class="card demo-message{" failed" if failed else ""}" data-outcome="{e(path.outcome)}">'
        f"<h3>{secured_mark(secured)} {e(path.subject) or '(no subject)'}</h3>"
        f'<p class="meta">{e(path.sender)} → {e(", ".join(path.recipients))} · '
        f"{e(path.outcome_text)} · "
        f'<a href="/messages/{e(path.key)}">open the message: every hop and its protocol log</a>'
        f'</p><div class="figure">{svg}</div></div>'
    )


def _step(screen: DemoScreen, step: ShownStep) -> str:
    total = len(screen.step_titles)
    mail = "".join(_message(mid, path, svg) for mid, path, svg in screen.messages)
    return (
        f'<article class="card demo-step" id="demo-step" data-step="{step.number}" '
        f'data-chapter="{screen.chapter_number}">'
        + _chapter_of(screen)
        + f"<h1>{_held(step.passed)} Step {step.number} of {total} · {e(step.title)}</h1>"
        + _paragraphs(step.narration, "narration")
        + _beats(step.beats)
        + _outcomes(step)
        + (
            f'<section class="demo-mail" id="demo-mail"><h2>The mail, hop by hop</h2>{mail}'
            "</section>"
            if mail
            else ""
        )
        + "</article>"
    )


def _chapter_of(screen: DemoScreen) -> str:
    if screen.chapter_count < 2:
        return ""
    return (
        f'<p class="demo-chapter-of">Chapter {screen.chapter_number} of {screen.chapter_count}</p>'
    )


def _end(screen: DemoScreen) -> str:
    # With several chapters the verdict names its chapter (the overall one follows at the end).
    who = f"Chapter {screen.chapter_number}: " if screen.chapter_count > 1 else ""
    if screen.stopped is not None:
        said = f"the chapter {e(screen.stopped)}."
    elif screen.passed:
        said = "every outcome held."
    else:
        said = "some outcomes differed from the story: see the ✘ steps."
    sentence = who + said
    held = screen.passed and screen.stopped is None
    verdict = f"{_held(held)} {sentence[:1].upper()}{sentence[1:]}"
    following = screen.next_chapter
    if screen.open_failed is not None:
        why = screen.open_failed.rstrip(".")
        return (
            '<section class="card demo-end failed" id="demo-end"><h2>The demo stopped</h2>'
            f"<p>{verdict}</p><p>{_held(False)} {e(why[:1].upper() + why[1:])}. The console "
            f"shows chapter {screen.chapter_number}'s lab, stopped; Ctrl-C in the terminal ends "
            "the demo.</p></section>"
        )
    if not screen.demo_over and following is not None:
        return (
            f'<section class="card demo-end" id="demo-end"><h2>Chapter {screen.chapter_number} '
            f"of {screen.chapter_count} is over</h2><p>{verdict}</p>"
            f"<p><strong>Next</strong> opens chapter {following.number}: "
            f"{e(following.title)}, on a fresh lab of its own; the console's views (Topology, "
            "Messages, Logs, Shell) follow it.</p></section>"
        )
    overall = ""
    if screen.chapter_count > 1:
        differed = sum(1 for c in screen.chapters if c.passed is False)
        overall = (
            f"<p>{_held(True)} Every outcome held in all {screen.chapter_count} chapters.</p>"
            if not differed
            else f"<p>{_held(False)} {differed} of {screen.chapter_count} chapters differed "
            "from the story: see the ✘ chapters.</p>"
        )
    return (
        '<section class="card demo-end" id="demo-end"><h2>The demo is over</h2>'
        f"<p>{verdict}</p>{overall}<p>The lab stays up until Ctrl-C in the terminal where "
        "<code>labsim demo --web</code> runs: go on in the "
        '<a href="/shell">Shell</a>, <a href="/mailboxes">Mailboxes</a>, '
        '<a href="/topology">Topology</a>, <a href="/messages">Messages</a>, '
        '<a href="/queues">Queues</a>.</p></section>'
    )
