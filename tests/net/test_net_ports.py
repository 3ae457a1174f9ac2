"""Port offsets: auto, the environment override, and the ephemeral-range check (pure)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from labsim.errors import UsageError
from labsim.net.ports import (
    HIGHEST_LAB_PORT,
    LOWEST_LAB_PORT,
    PortOffset,
    auto_offsets,
    check_offset,
    ephemeral_range,
    offsets_to_try,
    overlaps_ephemeral,
    requested_offset,
)

LINUX = (32768, 60999)


def test_the_option_wins_over_the_environment_which_wins_over_auto() -> None:
    env = {"LABSIM_PORT_OFFSET": "21000"}
    assert requested_offset("15000", env) == PortOffset(15000, "--port-offset")
    assert requested_offset(None, env) == PortOffset(21000, "LABSIM_PORT_OFFSET")
    assert requested_offset(None, {}) == PortOffset(None, "auto")
    assert requested_offset("auto", env) == PortOffset(None, "--port-offset")


@pytest.mark.parametrize("text", ["lots", "-5", "1.5", "70000"])
def test_a_bad_value_names_its_source(text: str) -> None:
    with pytest.raises(UsageError, match="^LABSIM_PORT_OFFSET: "):
        requested_offset(None, {"LABSIM_PORT_OFFSET": text})


def test_overlap_covers_every_lab_port() -> None:
    low, high = LINUX
    assert not overlaps_ephemeral(low - 1 - HIGHEST_LAB_PORT, LINUX)
    assert overlaps_ephemeral(low - HIGHEST_LAB_PORT, LINUX)
    assert overlaps_ephemeral(high - LOWEST_LAB_PORT, LINUX)
    assert not overlaps_ephemeral(high + 1 - LOWEST_LAB_PORT, LINUX)


def test_an_explicit_offset_in_the_range_is_refused_with_the_way_out() -> None:
    with pytest.raises(UsageError) as err:
        check_offset(PortOffset(40000, "--port-offset"), LINUX)
    text = str(err.value)
    assert "ephemeral port range 32768–60999" in text
    assert f"at most {32768 - 1 - HIGHEST_LAB_PORT}" in text
    assert "or use auto" in text
    check_offset(PortOffset(10000, "--port-offset"), LINUX)  # clear of it: accepted


def test_auto_offsets_stay_clear_of_any_range() -> None:
    for ephemeral in (LINUX, (1024, 65535 - 4000), (20000, 30000), (49152, 65535)):
        try:
            offsets = auto_offsets(ephemeral, rng=random.Random(1))
        except UsageError:
            continue
        assert offsets and len(set(offsets)) == len(offsets)
        assert not any(overlaps_ephemeral(o, ephemeral) for o in offsets)
        assert all(o + HIGHEST_LAB_PORT <= 65535 for o in offsets)


def test_no_room_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="no automatic port offset is clear"):
        auto_offsets((1024, 65535))


def test_offsets_to_try() -> None:
    assert offsets_to_try(PortOffset(12000, "x"), LINUX) == [12000]
    assert len(offsets_to_try(PortOffset(None, "auto"), LINUX)) == 20


def test_the_kernel_setting_is_read(tmp_path: Path) -> None:
    (tmp_path / "range").write_text("40000\t50000\n")
    assert ephemeral_range(tmp_path / "range") == (40000, 50000)
    assert ephemeral_range(tmp_path / "missing") == LINUX
