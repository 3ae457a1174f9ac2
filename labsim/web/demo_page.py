"""The console's ``/demo`` view: a demo chapter walked step by step (pure: no Twisted).

``labsim demo --web`` keeps what each step showed (:mod:`labsim.demo_web`); this module writes
it as HTML for a projector: the step's title and narration, each beat's caption and the lines
the terminal printed for it (cmdlets at their prompt with their output, hops, where each
message ended, ✔ and ✘), the step's expected outcomes, and each message the step sent with its
outcome and its sequence diagram (:mod:`labsim.render.sequence`), linked to ``/messages/<id>``.

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

__all__ = ["DemoScreen", "demo_view", "terminal_line"]

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
class DemoScreen:
    """What ``/demo`` shows: the chapter, the step on screen, the controls' state."""

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

    @property
    def next_number(self) -> int:
        """The step Next runs."""
        return len(self.shown) + 1


def demo_view(screen: DemoScreen) -> str:
    """The whole ``/demo`` main."""
    return (
        '<div class="demo">'
        + _controls(screen)
        + _step_list(screen)
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
    if screen.running is not None:
        state = f"step {screen.running} is running…"
    elif screen.finished:
        state = "the demo is over; the lab stays up"
    elif done == 0:
        state = "ready"
    else:
        state = f"step {done} of {total} done"
    disabled = " disabled" if screen.finished or screen.running is not None else ""
    if screen.finished:
        label = "Next ▶ (the demo is over)"
    else:
        label = f"Next ▶ step {screen.next_number}: {screen.step_titles[screen.next_number - 1]}"
    auto_label = (
        f"Auto: on, every {_seconds(screen.interval)} (turn off)"
        if screen.auto
        else f"Auto: off (turn on, every {_seconds(screen.interval)})"
    )
    return (
        '<section class="card demo-bar" id="demo-bar">'
        f'<span class="demo-progress" id="demo-progress">Step {done} of {total}</span>'
        '<form method="post" action="/demo/next" class="inline" id="demo-next-form">'
        f'{csrf}<input type="hidden" name="step" value="{screen.next_number}">'
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
            f'<a href="/demo?step={number}">{number}. {e(title)}</a></li>'
        )
    return f'<nav class="card demo-steps" aria-label="Steps"><ol>{"".join(items)}</ol></nav>'


def _paragraphs(texts: Sequence[str], cls: str) -> str:
    return "".join(f'<p class="{cls}">{e(text)}</p>' for text in texts)


def _introduction(screen: DemoScreen) -> str:
    lab = "".join(f"<li>{e(line)}</li>" for line in screen.lab_lines)
    first = screen.step_titles[0] if screen.step_titles else ""
    return (
        '<article class="card demo-step" id="demo-step" data-step="0">'
        f"<h1>{e(screen.title)}</h1>"
        + _paragraphs(screen.intro, "narration")
        + "<h2>The lab</h2><p>Exchange 2013, real SMTP and TLS on loopback:</p>"
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
        f'<article class="card demo-step" id="demo-step" data-step="{step.number}">'
        f"<h1>{_held(step.passed)} Step {step.number} of {total} · {e(step.title)}</h1>"
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


def _end(screen: DemoScreen) -> str:
    if screen.stopped is not None:
        verdict = f"{_held(False)} The chapter {e(screen.stopped)}."
    elif screen.passed:
        verdict = f"{_held(True)} Every outcome held."
    else:
        verdict = f"{_held(False)} Some outcomes differed from the story: see the ✘ steps."
    return (
        '<section class="card demo-end" id="demo-end"><h2>The demo is over</h2>'
        f"<p>{verdict}</p><p>The lab stays up until Ctrl-C in the terminal where "
        "<code>labsim demo --web</code> runs: go on in the "
        '<a href="/shell">Shell</a>, <a href="/mailboxes">Mailboxes</a>, '
        '<a href="/topology">Topology</a>, <a href="/messages">Messages</a>, '
        '<a href="/queues">Queues</a>.</p></section>'
    )
