"""The address map (labsim.importer.addresses): real /16 blocks onto 127.x blocks, shapes kept."""

from __future__ import annotations

from labsim.importer.addresses import AddressMap

TEXTS = ["203.0.113.0/24", "10.20.5.0/24", "10.20.7.1-10.20.7.40", "10.20.6.15", "::1"]


def test_blocks_in_numeric_order_whatever_the_input_order() -> None:
    forward = AddressMap.of(TEXTS)
    assert forward == AddressMap.of(list(reversed(TEXTS)))
    assert forward.lines() == ["10.20.0.0/16 -> 127.100.0.0/16", "203.0.0.0/16 -> 127.101.0.0/16"]


def test_ranges_keep_their_shape_and_form() -> None:
    mapping = AddressMap.of(TEXTS)
    assert mapping.ranges("203.0.113.0/24") == (("127.101.113.0/24",), False)
    assert mapping.ranges("10.20.7.1-10.20.7.40") == (("127.100.7.1-127.100.7.40",), False)
    assert mapping.ranges("10.20.6.15") == (("127.100.6.15",), False)
    assert mapping.address("10.20.5.77") == "127.100.5.77"  # inside the mapped /24 too


def test_any_and_loopback_are_kept_and_wide_ranges_are_approximated() -> None:
    mapping = AddressMap.of([*TEXTS, "10.0.0.0/8", "0.0.0.0-255.255.255.255", "127.0.0.1"])
    assert mapping.ranges("0.0.0.0-255.255.255.255") == (("0.0.0.0-255.255.255.255",), False)
    assert mapping.ranges("127.0.0.1") == (("127.0.0.1",), False)
    # A /8 is wider than a lab block: the blocks of it the exports use stand for it.
    assert mapping.ranges("10.0.0.0/8") == (("127.100.0.0/16",), True)
