"""Dot-stuffing round trip as a property (skipped when hypothesis is not installed)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from labsim.smtp import Unstuffer, stuff  # noqa: E402
from labsim.smtp.dotstuff import normalize_line_ends  # noqa: E402


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


_lines = st.lists(
    st.one_of(
        st.sampled_from([b"", b".", b"..", b".\r", b"\r", b"x.", b".x", b"\n.", b".\n"]),
        st.binary(max_size=12),
    ),
    max_size=12,
)


# No example database (nothing written into the repo) and no deadline (CI machines vary).
@settings(database=None, deadline=None)
@given(_lines, st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_round_trip_property(lines: list[bytes], cuts: list[int]) -> None:
    content = normalize_line_ends(b"\r\n".join(lines))
    if content and not content.endswith(b"\r\n"):
        content += b"\r\n"
    wire = stuff(content) + b"NEXT"
    cuts = [min(c, len(wire)) for c in cuts]
    assert unstuff_in_parts(wire, cuts) == (content, b"NEXT")
