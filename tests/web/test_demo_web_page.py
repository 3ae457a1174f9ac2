"""The ``/demo`` view's HTML and the terminal's step line (pure: no lab, no browser)."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace

from labsim.demo_web import ShownBeat, ShownStep, step_line
from labsim.terminal import Palette
from labsim.web.demo_page import ChapterEntry, DemoScreen, demo_view, terminal_line

HOSTILE = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2">'
ANSI = Palette(True)


def screen(
    shown: tuple[ShownStep, ...],
    *,
    finished: bool = False,
    chapters: tuple[ChapterEntry, ...] = (),
    chapter_number: int = 1,
) -> DemoScreen:
    return DemoScreen(
        title=f"Chapter {HOSTILE}",
        intro=(f"intro {HOSTILE}",),
        lab_lines=(f"Adatum {HOSTILE}",),
        step_titles=(f"one {HOSTILE}", "two"),
        shown=shown,
        selected=shown[-1] if shown else None,
        messages=(),
        running=None,
        finished=finished,
        passed=all(s.passed for s in shown),
        stopped=None,
        auto=False,
        interval=15.0,
        csrf="token-123",
        chapters=chapters,
        chapter_number=chapter_number,
    )


def step(passed: bool = True) -> ShownStep:
    return ShownStep(
        1,
        f"one {HOSTILE}",
        (f"narration {HOSTILE}",),
        (
            ShownBeat(
                (f"caption {HOSTILE}",), (ANSI.cmdlet(f"Get-X {HOSTILE}"),), False, True, "x"
            ),
            ShownBeat(
                (),
                (ANSI.fail(f"✘ expected: {HOSTILE}"),),
                True,
                passed,
                f"'{HOSTILE}' delivered",
                (f"found {HOSTILE}",),
            ),
        ),
        (),
    )


def test_terminal_colours_become_classes_by_meaning_and_text_stays_text() -> None:
    line = "  " + ANSI.prompt("[PS] Adatum> ") + ANSI.cmdlet("Get-Queue") + " " + ANSI.ok("✔")
    html = terminal_line(line)
    assert '<span class="t-cmdlet">Get-Queue</span>' in html
    assert '<span class="t-quiet">[PS] Adatum&gt; </span>' in html
    assert 'aria-label="check mark"' in html and "t-ok" in html
    assert "\x1b" not in html
    hostile = terminal_line(f"\x1b[1;31m{HOSTILE}\x1b[0m \x1b[99mrest")
    assert "<script" not in hostile and "<img" not in hostile
    assert "&lt;script&gt;" in hostile and '<span class="t-fail">' in hostile
    assert "rest" in hostile and "99m" not in hostile


def test_the_view_escapes_everything_and_shows_the_failed_outcome_with_its_explanation() -> None:
    html = demo_view(screen((step(passed=False),)))
    assert "<script" not in html and "<img" not in html and 'onerror="' not in html
    assert html.count("&lt;script&gt;") >= 5
    assert 'aria-label="did not hold"' in html
    assert "found &lt;script&gt;" in html  # the runner's explanation under the ✘
    # One terminal block per caption, the caption said before it.
    assert html.index('class="caption"') < html.index('class="terminal"')


def test_next_names_the_step_it_runs_and_is_off_at_the_end() -> None:
    first = demo_view(screen(()))
    assert 'name="step" value="1"' in first and 'value="token-123"' in first
    assert 'data-step="0"' in first and "Press <strong>Next</strong>" in first
    assert 'id="demo-next" class="primary">' in first  # enabled
    done = demo_view(screen((step(), step()), finished=True))
    assert 'id="demo-next" class="primary" disabled' in done
    assert 'id="demo-end"' in done and "stays up until Ctrl-C" in done


def test_the_terminal_line_of_a_step_says_what_held() -> None:
    assert step_line(step(), 6).startswith("step 1/6 · one ")
    assert "✔ 1 outcome held" in step_line(step(), 6)
    assert "✘ 1 of 1 outcome(s) differed" in step_line(step(passed=False), 6)


def test_the_demo_page_module_is_pure() -> None:
    code = (
        "import sys, labsim.web.demo_page; "
        "print('twisted' in sys.modules or any(m.startswith('twisted.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def contents(current: int, *, current_done: bool = False) -> tuple[ChapterEntry, ...]:
    def state(n: int) -> str:
        if n < current or (n == current and current_done):
            return "done"
        return "current" if n == current else "to come"

    return tuple(
        ChapterEntry(
            n,
            f"Trap {n} {HOSTILE}",
            f"summary {n} {HOSTILE}",
            state(n),
            (n != 1) if state(n) == "done" else None,
        )
        for n in (1, 2, 3)
    )


def test_the_chapter_list_says_where_each_chapter_stands_and_escapes_its_words() -> None:
    html = demo_view(screen((step(),), chapters=contents(2), chapter_number=2))
    assert 'id="demo-chapters"' in html
    states = re.findall(r'<li class="chapter [a-z-]+" data-state="([a-z ]+)"', html)
    assert states == ["done", "current", "to come"]
    assert 'aria-current="true"' in html.split('data-state="current"', 1)[1].split(">", 1)[0]
    assert 'aria-label="did not hold"' in html.split('id="demo-chapters"', 1)[1].split("</nav>")[0]
    assert "summary 3 &lt;script&gt;" in html and "<script" not in html
    assert "Chapter 2 of 3 · Step 1 of 2" in html
    assert 'data-step="1" data-chapter="2"' in html
    # The step links name their chapter: after a chapter change they show the newest step.
    assert 'href="/demo?chapter=2&amp;step=1"' in html
    assert 'name="chapter" value="2"><input type="hidden" name="step" value="2"' in html


def test_at_a_chapter_end_next_opens_the_next_chapter_and_at_the_last_the_demo_ends() -> None:
    over = demo_view(
        screen((step(), step()), finished=True, chapters=contents(1, current_done=True))
    )
    assert 'name="chapter" value="2"><input type="hidden" name="step" value="0"' in over
    assert 'id="demo-next" class="primary">Next ▶ chapter 2 of 3: Trap 2 &lt;script' in over
    assert "Chapter 1 of 3 is over" in over and "opens chapter 2" in over
    assert "The demo is over" not in over
    last = demo_view(
        screen(
            (step(), step()),
            finished=True,
            chapters=contents(3, current_done=True),
            chapter_number=3,
        )
    )
    assert 'id="demo-next" class="primary" disabled' in last
    assert "The demo is over" in last and "1 of 3 chapters differed" in last
    one = demo_view(screen(()))
    assert 'id="demo-chapters"' not in one and "Chapter 1 of" not in one


def test_a_next_chapter_whose_lab_did_not_start_ends_the_demo_with_its_reason() -> None:
    over = screen((step(), step()), finished=True, chapters=contents(1, current_done=True))
    failed = demo_view(replace(over, open_failed=f"chapter 2's lab did not start: {HOSTILE}."))
    assert "The demo stopped" in failed and "did not start: &lt;script" in failed
    assert "</span> Chapter 2" in failed  # the reason, as a sentence
    assert "<script" not in failed and "stays up" not in failed
    assert 'id="demo-next" class="primary" disabled' in failed


def test_a_chapters_summary_is_the_opening_of_its_introduction() -> None:
    from labsim.demo_story import chapters
    from labsim.demo_web import SUMMARY_WIDTH, chapter_summary

    summaries = {c.name: chapter_summary(c) for c in chapters("traps")}
    # The question the trap opens with, not --chapters' line (which repeats the title).
    assert summaries["self-signed"] == (
        "The article installs the certificates on the Client Access servers. What happens when "
        "the Mailbox server sends by itself?"
    )
    # A sentence announcing a list ("It must:") does not end a summary.
    assert summaries["san"] == (
        "A reader asks under the article whether the domain must be in the certificate's names."
    )
    assert all(0 < len(s) <= SUMMARY_WIDTH for s in summaries.values()), summaries
