"""A live lab's decision notes are bounded (RecentItems): the oldest go, the numbers readers
remember stay valid, and a slice from a remembered mark gives what came after it."""

from __future__ import annotations

import pytest

from labsim.engine import world as world_module
from labsim.engine.world import EXPLANATIONS_KEPT, RecentItems


def test_only_the_last_items_are_kept_and_numbered_as_if_all_were() -> None:
    items: RecentItems[int] = RecentItems(keep=5)
    for n in range(12):
        items.append(n)

    assert len(items) == 12
    assert list(items) == [7, 8, 9, 10, 11]
    assert items[9] == 9 and items[-1] == 11
    assert items[10:] == [10, 11]
    assert items[0:9] == [7, 8]  # what is left of a slice reaching back past the kept items
    assert items[7:12:2] == [7, 9, 11]
    with pytest.raises(IndexError, match="items 7-11 are"):
        items[3]


def test_a_mark_taken_before_a_burst_still_reads_the_burst() -> None:
    items: RecentItems[str] = RecentItems(keep=3)
    items.append("old")
    mark = len(items)
    for word in ("a", "b"):
        items.append(word)

    assert items[mark:] == ["a", "b"]


def test_the_world_keeps_a_bounded_number_of_notes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert EXPLANATIONS_KEPT == 100_000
    field = world_module.World.__dataclass_fields__["explanations"]
    notes = field.default_factory()  # type: ignore[misc]
    assert isinstance(notes, RecentItems)
    for n in range(EXPLANATIONS_KEPT + 10):
        notes.append(n)
    assert len(list(notes)) == EXPLANATIONS_KEPT
    assert len(notes) == EXPLANATIONS_KEPT + 10


def test_note_lines_keep_the_numbering_of_the_notes_behind_them() -> None:
    from datetime import UTC, datetime

    from labsim.engine.world import Explanation, NoteLines

    notes: RecentItems[Explanation] = RecentItems(keep=3)
    at = datetime(2026, 12, 5, tzinfo=UTC)
    for n in range(5):
        notes.append(Explanation(at, "ADATUM-MBX1", f"note {n}"))
    lines = NoteLines(notes)
    mark = len(lines)
    notes.append(Explanation(at, "TREY-CAS1", "after the mark"))

    assert mark == 5 and len(lines) == 6
    assert lines[mark:] == ["TREY-CAS1: after the mark"]
    assert list(lines) == [
        "ADATUM-MBX1: note 3",
        "ADATUM-MBX1: note 4",
        "TREY-CAS1: after the mark",
    ]
    assert lines[-1] == "TREY-CAS1: after the mark"
