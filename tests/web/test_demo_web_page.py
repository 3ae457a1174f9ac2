"""The ``/demo`` view's HTML and the terminal's step line (pure: no lab, no browser)."""

from __future__ import annotations

import subprocess
import sys

from labsim.demo_web import ShownBeat, ShownStep, step_line
from labsim.terminal import Palette
from labsim.web.demo_page import DemoScreen, demo_view, terminal_line

HOSTILE = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2">'
ANSI = Palette(True)


def screen(shown: tuple[ShownStep, ...], *, finished: bool = False) -> DemoScreen:
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
