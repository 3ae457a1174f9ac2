"""Every citation of the project's Exchange reference resolves in docs/exchange-reference.md.

The code, the docs and the scenarios cite the reference by section (``§4.1.7``: item 7 of the
numbered list in §4.1), by labsim decision (``D2``, the table of §16) and by correction
(``§17 C1``). These tests are the lasting guard that each cited number exists in the document, that
nothing cites a document outside the repository, and that every citation a user can see in
output names the document, so that a reader can follow it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "exchange-reference.md"
REFERENCE_NAME = "docs/exchange-reference.md"

_HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ")
_NUMBERED_ITEM = re.compile(r"^(\d+)\. ")
_DECISION_ROW = re.compile(r"^\| D(\d+) \|")
_CORRECTION = re.compile(r"^\* \*\*C(\d+) ")

# A section sign with its number, and what stands before it (to tell RFC sections apart).
_SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
# A section sign belongs to the last document named before it on its line: RFC sections, and
# DESIGN.md's (the design brief docs/design-notes.md answers), are not the reference's.
_DOCUMENT_NAMED = re.compile(r"RFC ?\d+|DESIGN\.md|exchange-reference\.md|\breference\b", re.I)
# The reference once lived outside the repository, in a shared folder.
_OUTSIDE_DOCUMENT = re.compile(r"\bshared/|\.\./shared|shared/reference")
_DECISION = re.compile(r"\bD(\d{1,2})\b")
_CORRECTION_CITED = re.compile(r"\bC(\d{1,2})\b")


class _ForeignSection:
    """``search(prefix)`` is true when the § after ``prefix`` cites an RFC or DESIGN.md."""

    @staticmethod
    def search(prefix: str) -> bool:
        named = _DOCUMENT_NAMED.findall(prefix)
        return bool(named) and (named[-1].upper().startswith("RFC") or named[-1] == "DESIGN.md")


_FOREIGN_SECTION = _ForeignSection()


@dataclass(frozen=True)
class ReferenceIndex:
    """What docs/exchange-reference.md has: sections, numbered items, decisions, corrections."""

    sections: frozenset[str]
    decisions: frozenset[int]
    corrections: frozenset[int]


def reference_index(text: str) -> ReferenceIndex:
    sections: set[str] = set()
    decisions: set[int] = set()
    corrections: set[int] = set()
    current = ""
    for line in text.splitlines():
        if heading := _HEADING.match(line):
            current = heading.group(1)
            sections.add(current)
            sections.add(current.split(".")[0])
        elif (item := _NUMBERED_ITEM.match(line)) and current:
            sections.add(f"{current}.{item.group(1)}")
        if row := _DECISION_ROW.match(line):
            decisions.add(int(row.group(1)))
        if correction := _CORRECTION.match(line):
            corrections.add(int(correction.group(1)))
    return ReferenceIndex(frozenset(sections), frozenset(decisions), frozenset(corrections))


def _cited_files() -> list[Path]:
    files = [ROOT / "README.md"]
    for folder, patterns in (
        ("labsim", ("*.py",)),
        ("docs", ("*.md",)),
        ("scenarios", ("*.toml", "*.md")),
        ("labs", ("*.toml",)),
    ):
        for pattern in patterns:
            files.extend(sorted((ROOT / folder).rglob(pattern)))
    return files


def dangling_citations(text: str, index: ReferenceIndex) -> list[str]:
    """The citations in ``text`` that the reference does not have, as ``line: citation``."""
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _OUTSIDE_DOCUMENT.search(line):
            problems.append(f"{number}: cites a document outside the repository: {line.strip()}")
        for match in _SECTION.finditer(line):
            if _FOREIGN_SECTION.search(line[: match.start()]):
                continue
            if match.group(1) not in index.sections:
                problems.append(f"{number}: §{match.group(1)}")
        for match in _DECISION.finditer(line):
            if int(match.group(1)) not in index.decisions:
                problems.append(f"{number}: D{match.group(1)}")
        for match in _CORRECTION_CITED.finditer(line):
            if "§17" in line and int(match.group(1)) not in index.corrections:
                problems.append(f"{number}: §17 C{match.group(1)}")
    return problems


INDEX = reference_index(REFERENCE.read_text(encoding="utf-8"))


def test_the_index_reads_sections_items_decisions_and_corrections() -> None:
    assert {"4", "4.1", "4.1.7", "4.4.1", "5.2.5", "16", "17"} <= INDEX.sections
    assert "4.1.9" not in INDEX.sections
    assert INDEX.decisions == frozenset(range(1, 14))
    assert set(range(1, 14)) <= INDEX.corrections


def test_a_citation_the_reference_lacks_is_reported() -> None:
    text = "x (reference §4.9, decision D42, §17 C99) and RFC 5321 §4.5.5, see shared/x.md\n"
    assert dangling_citations(text, INDEX) == [
        "1: cites a document outside the repository: " + text.strip(),
        "1: §4.9",
        "1: D42",
        "1: §17 C99",
    ]


@pytest.mark.parametrize("path", _cited_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_citation_exists_in_the_reference(path: Path) -> None:
    assert dangling_citations(path.read_text(encoding="utf-8"), INDEX) == []


def _output_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals that are not docstrings, with implicit concatenations joined."""
    # A string standing alone as a statement is a docstring (of a module, class, function or
    # attribute), never output.
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    strings: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            strings.append((node.lineno, "".join(str(p) for p in parts)))
            for value in node.values:
                docstrings.add(id(value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            strings.append((node.lineno, node.value))
    return strings


def test_every_citation_in_output_names_the_document() -> None:
    """A user reading --explain, a warning or an error can open the document it cites."""
    unnamed: list[str] = []
    for path in sorted((ROOT / "labsim").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _output_strings(tree):
            cites = _DECISION.search(text) or any(
                not _FOREIGN_SECTION.search(text[: m.start()]) for m in _SECTION.finditer(text)
            )
            if cites and REFERENCE_NAME not in text:
                unnamed.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert unnamed == []


def test_the_reference_says_what_it_is_and_stays_inside_the_repository() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    opening = text[:3000]
    assert "labsim" in opening and "§17" in opening and "§16" in opening
    assert _OUTSIDE_DOCUMENT.search(text) is None
    assert re.search(r"\]\((?!https?://|#)[^)]*\)", text) is None, "links only to the web"


@pytest.mark.parametrize("path", _cited_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_file_that_cites_the_reference_names_it(path: Path) -> None:
    """A reader of any file with a § or D citation learns which document it points to."""
    text = path.read_text(encoding="utf-8")
    cites = any(
        not _FOREIGN_SECTION.search(line[: m.start()])
        for line in text.splitlines()
        for m in _SECTION.finditer(line)
    ) or bool(_DECISION.search(text))
    if cites and path != REFERENCE:
        assert "exchange-reference.md" in text
