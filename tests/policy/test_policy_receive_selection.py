"""Receive connector selection (docs/exchange-reference.md §5.1)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from policy_helpers import default_frontend, partner_connector

from labsim.model.values import Binding, IPRange
from labsim.policy.receive_selection import choose_receive_connector, select_receive_connector

CONNECTORS = (
    default_frontend(),
    partner_connector(name="Adatum /24", remote_ip_ranges=(IPRange.parse("127.0.10.0/24"),)),
    partner_connector(name="Adatum /32", remote_ip_ranges=(IPRange.parse("127.0.10.1"),)),
    partner_connector(
        name="Adatum range",
        remote_ip_ranges=(IPRange.parse("127.0.10.0-127.0.10.15"),),
    ),
    partner_connector(
        name="Disabled /32", enabled=False, remote_ip_ranges=(IPRange.parse("127.0.10.2"),)
    ),
    partner_connector(
        name="Other address",
        bindings=(Binding("127.0.20.9", 25),),
        remote_ip_ranges=(IPRange.parse("127.0.10.3"),),
    ),
    replace(
        default_frontend(name="Client Frontend TREY-CAS1"), bindings=(Binding("0.0.0.0", 587),)
    ),
)


@pytest.mark.parametrize(
    ("remote", "port", "expected"),
    [
        ("127.0.10.1", 25, "Adatum /32"),  # /32 beats the 16-address range, /24 and all
        ("127.0.10.2", 25, "Adatum range"),  # disabled /32 skipped; 16 addresses beat /24
        ("127.0.10.3", 25, "Adatum range"),  # /32 bound to another local address: no match
        ("127.0.10.99", 25, "Adatum /24"),
        ("127.0.30.1", 25, "Default Frontend TREY-CAS1"),
        ("127.0.10.1", 587, "Client Frontend TREY-CAS1"),
        ("127.0.10.1", 26, None),  # no binding on that port
    ],
)
def test_most_specific_remote_range_wins(remote: str, port: int, expected: str | None) -> None:
    chosen = select_receive_connector(
        CONNECTORS, local_address="127.0.20.1", local_port=port, remote_address=remote
    )
    assert (chosen.name if chosen else None) == expected


def test_specific_binding_covers_its_address() -> None:
    chosen = select_receive_connector(
        CONNECTORS, local_address="127.0.20.9", local_port=25, remote_address="127.0.10.3"
    )
    assert chosen is not None and chosen.name == "Other address"


def test_explanation_names_range_and_alternatives() -> None:
    selection = choose_receive_connector(
        CONNECTORS, local_address="127.0.20.1", local_port=25, remote_address="127.0.10.1"
    )
    assert selection.explanation.startswith(
        "docs/exchange-reference.md §5.1: TREY-CAS1\\Adatum /32"
    )
    assert "127.0.10.1 (1 address)" in selection.explanation
    assert "Default Frontend TREY-CAS1 (0.0.0.0-255.255.255.255)" in selection.explanation
    none = choose_receive_connector(
        CONNECTORS, local_address="127.0.20.1", local_port=26, remote_address="127.0.10.1"
    )
    assert none.connector is None and "refused" in none.explanation
