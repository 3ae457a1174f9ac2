"""Dot-stuffing both ways, checked at every segmentation (and with hypothesis when installed)."""

from __future__ import annotations

import pytest

from labsim.smtp import Unstuffer, stuff
from labsim.smtp.dotstuff import normalize_line_ends


def unstuff_in_parts(wire: bytes, cuts: list[int]) -> tuple[bytes, bytes]:
    """Feed ``wire`` split at ``cuts``; return (content, everything after the terminator)."""
    unstuffer = Unstuffer()
    content = []
    rest = []
    bounds = [0, *sorted(cuts), len(wire)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        if unstuffer.done:
            rest.append(wire[start:end])
        else:
            content.append(unstuffer.feed(wire[start:end]))
    assert unstuffer.done
    return b"".join(content), unstuffer.leftover + b"".join(rest)


def test_stuff() -> None:
    assert stuff(b"") == b".\r\n"
    assert stuff(b"a\r\n") == b"a\r\n.\r\n"
    assert stuff(b"a") == b"a\r\n.\r\n"
    assert stuff(b".a\n..b\nc.\n.") == b"..a\r\n...b\r\nc.\r\n..\r\n.\r\n"
    assert stuff(b"x\r\n.\r\n") == b"x\r\n..\r\n.\r\n"


def test_normalize_line_ends() -> None:
    assert normalize_line_ends(b"a\nb\r\nc\rd") == b"a\r\nb\r\nc\rd"


SAMPLE_WIRE = b"..top\r\nplain\r\n...\r\n.\r\r\n\r\n..\r\nlast\r\n.\r\nQUIT\r\n"
SAMPLE_CONTENT = b".top\r\nplain\r\n..\r\n\r\r\n\r\n.\r\nlast\r\n"


def test_unstuff_every_single_split() -> None:
    for cut in range(len(SAMPLE_WIRE) + 1):
        assert unstuff_in_parts(SAMPLE_WIRE, [cut]) == (SAMPLE_CONTENT, b"QUIT\r\n"), cut


def test_unstuff_every_pair_of_splits() -> None:
    for a in range(len(SAMPLE_WIRE) + 1):
        for b in range(a, len(SAMPLE_WIRE) + 1):
            assert unstuff_in_parts(SAMPLE_WIRE, [a, b]) == (SAMPLE_CONTENT, b"QUIT\r\n"), (a, b)


def test_unstuff_byte_by_byte() -> None:
    cuts = list(range(1, len(SAMPLE_WIRE)))
    assert unstuff_in_parts(SAMPLE_WIRE, cuts) == (SAMPLE_CONTENT, b"QUIT\r\n")


def test_immediate_end() -> None:
    assert unstuff_in_parts(b".\r\nNOOP\r\n", []) == (b"", b"NOOP\r\n")


def test_bare_lf_dot_is_content() -> None:
    wire = b"a\n.\nb\r\n.\n\r\n.\r\n"
    assert unstuff_in_parts(wire, []) == (b"a\n.\nb\r\n\n\r\n", b"")


def test_feed_after_done_is_a_bug() -> None:
    unstuffer = Unstuffer()
    unstuffer.feed(b".\r\n")
    with pytest.raises(ValueError):
        unstuffer.feed(b"x")


def test_round_trip_examples() -> None:
    for content in [b"", b"a\r\n", b".\r\n", b"..\r\n", b".a\r\n.\r\n..\r\nx\r\n", b"\r\n\r\n"]:
        wire = stuff(content)
        for cut in range(len(wire) + 1):
            assert unstuff_in_parts(wire, [cut]) == (content, b"")
