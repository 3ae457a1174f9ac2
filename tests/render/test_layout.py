"""No two labels overlap, for the default lab's four servers and for a three-organization lab:
every ``<text>`` of a diagram gets its box (estimated width, the font's ascent and descent) and
no two boxes may intersect."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from labsim.lab import Lab
from labsim.render.paths import message_paths
from labsim.render.sequence import sequence_svg
from labsim.render.svg import CHAR_WIDTH
from labsim.render.topology import topology, topology_svg
from tests.render.conftest import ROOT, RunKept

SVG = "{http://www.w3.org/2000/svg}"
Box = tuple[float, float, float, float]


def _boxes(drawn: str) -> list[tuple[str, Box]]:
    boxes: list[tuple[str, Box]] = []
    for element in ET.fromstring(drawn).iter(f"{SVG}text"):
        content = "".join(element.itertext())
        size = float(element.get("font-size", "15"))
        bold = element.get("font-weight") == "bold"
        width = len(content) * size * CHAR_WIDTH * (1.12 if bold else 1.0)
        x = float(element.get("x", "0"))
        y = float(element.get("y", "0"))
        anchor = element.get("text-anchor", "start")
        left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        boxes.append((content, (left, y - 0.8 * size, left + width, y + 0.2 * size)))
    return boxes


def _overlaps(drawn: str) -> list[tuple[str, str]]:
    found = []
    for (a, (ax1, ay1, ax2, ay2)), (b, (bx1, by1, bx2, by2)) in itertools.combinations(
        _boxes(drawn), 2
    ):
        if ax1 < bx2 and bx1 < ax2 and ay1 < by2 and by1 < ay2:
            found.append((a, b))
    return found


def test_walkthrough_diagrams_have_no_overlapping_labels(walkthrough: Lab) -> None:
    for path in message_paths(walkthrough):
        assert _overlaps(sequence_svg(path)) == []
    assert _overlaps(topology_svg(topology(walkthrough))) == []


def test_three_organization_diagrams_have_no_overlapping_labels(run_kept: RunKept) -> None:
    lab, result = run_kept(ROOT / "scenarios" / "breakfix" / "19-three-organizations.toml")
    assert result.passed
    t = topology(lab)
    assert len(t.organizations) == 3 and len(t.pairs) == 6
    assert _overlaps(topology_svg(t)) == []
    paths = message_paths(lab)
    assert paths
    for path in paths:
        assert _overlaps(sequence_svg(path)) == []
