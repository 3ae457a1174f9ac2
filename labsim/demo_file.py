"""Any scenario file as a demo chapter: ``labsim demo FILE``.

Owns reading a scenario file's comments as the trainer's narration, so the break-fix catalog
(whose files open with BREAKS / HOW AN ADMIN FINDS IT / FIX paragraphs) can be taught from
directly, with the same presentation as the built-in story:

* The comment block before the first key is the chapter's introduction; a line such as
  ``# BREAKS: …`` or ``# HOW AN ADMIN FINDS IT: …`` starts a paragraph, as does a bare ``#``.
* A section comment (``# --- the fix ------``) titles the steps after it.
* Comments right before a ``[[step]]`` table, and one on the ``[[step]]`` line itself (with the
  indented comment lines under it), are that step's caption.
* Each action (``ems``, ``send``, ``advance``) that follows an expectation, or a section
  comment, starts a new demo step (a ``--step`` pause); expectations stay with the actions
  they check.

The scenario itself is loaded by ``labsim.scenario.loader`` (same checks, same messages as
``labsim run``). Pure: no Twisted, no lab.
"""

from __future__ import annotations

import re
from pathlib import Path

from labsim.demo_story import Beat, Chapter, DemoStep
from labsim.scenario.loader import load_scenario
from labsim.scenario.model import AdvanceStep, EmsStep, SendStep

__all__ = ["chapter_from_file"]

_SECTION = re.compile(r"^#\s*-{2,}\s*(?P<title>.*?)\s*-*\s*$")
_LABEL = re.compile(r"^[A-Z][A-Z ,'\"-]+:")
_STEP_TABLE = re.compile(r"^\[\[step\]\]\s*(?:#\s?(?P<comment>.*))?$")


def _paragraphs(lines: list[str]) -> tuple[str, ...]:
    """Comment lines (without '#') joined into paragraphs."""
    paragraphs: list[list[str]] = []
    for line in lines:
        if not line.strip():
            paragraphs.append([])
            continue
        if not paragraphs or _LABEL.match(line.strip()):
            paragraphs.append([])
        paragraphs[-1].append(line.strip())
    return tuple(" ".join(p) for p in paragraphs if p)


def _comment(line: str) -> str:
    return line.strip()[1:].removeprefix(" ")


def _read_comments(text: str) -> tuple[tuple[str, ...], dict[int, str], dict[int, tuple[str, ...]]]:
    """The introduction, the section title before step N, and the caption of step N."""
    intro: list[str] = []
    sections: dict[int, str] = {}
    captions: dict[int, tuple[str, ...]] = {}
    pending: list[str] = []
    section: str | None = None
    number = 0
    seen_key = False
    in_string = False
    inline_open = False
    for raw in text.splitlines():
        line = raw.strip()
        if in_string:
            if line.count("'''") % 2 or line.count('"""') % 2:
                in_string = False
            continue
        if line.startswith("#"):
            if inline_open and raw[:1].isspace():
                # An indented comment under ``[[step]]  # …`` continues that step's caption.
                captions[number] = (*captions[number], _comment(line))
                continue
            inline_open = False
            heading = _SECTION.match(line)
            if heading is not None:
                section, pending = heading.group("title") or "", []
            elif not seen_key:
                intro.append(_comment(line))
            else:
                pending.append(_comment(line))
            continue
        inline_open = False
        if not line:
            if not seen_key:
                intro.append("")
            continue
        seen_key = True
        table = _STEP_TABLE.match(line)
        if table is not None:
            number += 1
            caption = [p for p in pending if p.strip()]
            if table.group("comment"):
                caption.append(table.group("comment"))
                inline_open = True
            captions[number] = tuple(caption)
            if section is not None:
                sections[number] = section
                section = None
            pending = []
            continue
        if line.count("'''") % 2 or line.count('"""') % 2:
            in_string = True
    return _paragraphs(intro), sections, captions


def chapter_from_file(path: Path | str) -> Chapter:
    """The scenario file at ``path`` as a chapter (a ScenarioError when the file is invalid)."""
    scenario = load_scenario(path)
    text = Path(path).read_text(encoding="utf-8")
    intro, sections, captions = _read_comments(text)
    steps: list[DemoStep] = []
    beats: list[Beat] = []
    title = "Start"
    last_was_expect = False
    for step in scenario.steps:
        is_action = isinstance(step, EmsStep | SendStep | AdvanceStep)
        starts = step.number in sections or (is_action and last_was_expect)
        if starts and beats:
            steps.append(DemoStep(title, (), tuple(beats)))
            beats = []
            title = f"Step {step.number}"
        if step.number in sections:
            heading = sections[step.number]
            title = heading[:1].upper() + heading[1:] if heading else title
        caption = tuple(" ".join(captions.get(step.number, ())).split("\n"))
        beats.append(Beat(step, caption if caption != ("",) else ()))
        last_was_expect = not is_action
    if beats:
        steps.append(DemoStep(title, (), tuple(beats)))
    definition = scenario.definition
    inboxes: list[str] = []
    for step in scenario.steps:
        if isinstance(step, SendStep):
            for address in step.to + step.cc:
                if definition.outside_organization_of(address) is None and address not in inboxes:
                    inboxes.append(address)
    name = Path(path).stem
    return Chapter(
        name, scenario.title, intro, definition, tuple(steps), tuple(inboxes), scenario.path
    )
