"""Which receive connector takes an incoming connection (docs/exchange-reference.md §5.1).

Rules kept here: only enabled connectors whose bindings cover the local IP:port are considered;
among those, the one whose RemoteIPRanges contain the client address *most specifically* (the
smallest containing range) wins, so /32 beats /24 beats 0.0.0.0-255.255.255.255. Exchange does
not allow two connectors with the same binding and the same range; if a lab has them anyway,
a connector bound to the specific local address beats one bound to 0.0.0.0, then the name
decides, so the result never depends on definition order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labsim.model.connectors import ReceiveConnector
from labsim.model.values import Binding, IPRange


@dataclass(frozen=True)
class ReceiveSelection:
    """The chosen connector (or None) and why."""

    connector: ReceiveConnector | None
    remote_ip_range: IPRange | None
    explanation: str


def _best_range(connector: ReceiveConnector, address: str) -> IPRange | None:
    ranges = [r for r in connector.remote_ip_ranges if r.contains(address)]
    return min(ranges, key=lambda r: r.size) if ranges else None


def _binding_for(connector: ReceiveConnector, address: str, port: int) -> Binding | None:
    for binding in connector.bindings:
        if binding.covers(address, port):
            return binding
    return None


def choose_receive_connector(
    connectors: Iterable[ReceiveConnector],
    *,
    local_address: str,
    local_port: int,
    remote_address: str,
) -> ReceiveSelection:
    """Select the receive connector for a connection and explain the choice (§5.1)."""
    scored: list[tuple[int, int, str, ReceiveConnector, IPRange]] = []
    for connector in connectors:
        if not connector.enabled:
            continue
        binding = _binding_for(connector, local_address, local_port)
        if binding is None:
            continue
        found = _best_range(connector, remote_address)
        if found is None:
            continue
        specific_binding = 0 if binding.address == local_address else 1
        scored.append((found.size, specific_binding, connector.name.lower(), connector, found))
    if not scored:
        return ReceiveSelection(
            None,
            None,
            "docs/exchange-reference.md §5.1: no enabled receive connector is bound to "
            f"{local_address}:"
            f"{local_port} with RemoteIPRanges containing {remote_address}; the connection is "
            "refused",
        )
    scored.sort(key=lambda item: item[:3])
    size, _, _, chosen, found = scored[0]
    others = ", ".join(f"{c.identity} ({r})" for _, _, _, c, r in scored[1:])
    return ReceiveSelection(
        chosen,
        found,
        f"docs/exchange-reference.md §5.1: {chosen.identity} is bound to "
        f"{local_address}:{local_port} and its "
        f"RemoteIPRanges entry {found} ({size} address{'es' if size != 1 else ''}) is the most "
        f"specific match for {remote_address}" + (f"; also matching: {others}" if others else ""),
    )


def select_receive_connector(
    connectors: Iterable[ReceiveConnector],
    *,
    local_address: str,
    local_port: int,
    remote_address: str,
) -> ReceiveConnector | None:
    """The receive connector that takes a connection to ``local_address:local_port`` from
    ``remote_address``, or None when no connector accepts it (§5.1)."""
    return choose_receive_connector(
        connectors,
        local_address=local_address,
        local_port=local_port,
        remote_address=remote_address,
    ).connector
