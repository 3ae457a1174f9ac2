"""The deterministic map from a production organization's IPv4 addresses to 127.x lab addresses.

The rule (docs/import.md, "The address map"), chosen so that every range keeps its shape:

* every distinct real /16 block the exports mention (in a remote IP range, a binding, a smart
  host, InternalSMTPServers) gets one lab /16 block, ``127.100.0.0/16`` for the numerically
  lowest, ``127.101.0.0/16`` for the next, and so on; an address keeps its last two octets:
  ``10.20.30.40`` in the first block becomes ``127.100.30.40``. So a /24 (or any range within a
  /16) stays a range of the same size, in CIDR or ``a-b`` form as it was written;
* ``0.0.0.0`` (any), ``0.0.0.0/0``, ``0.0.0.0-255.255.255.255`` and addresses already in
  127.0.0.0/8 are kept as they are;
* a range wider than a /16 becomes the lab blocks of every real /16 inside it that the exports
  mention (at least its first one): the same hosts, not the same size; the report says so.

The same exports always give the same map, whatever the order of the files.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

FIRST_LAB_BLOCK = 100
"""The second octet of the first lab /16 block (127.100.0.0/16)."""
LAST_LAB_BLOCK = 199
"""The last one; 127.200.0.0/16 and above hold the simulated partners' own addresses."""

_ANY = ("0.0.0.0/0", "0.0.0.0-255.255.255.255", "0.0.0.0")
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


class AddressMapError(ValueError):
    """An address or range that is not IPv4 text; the caller adds the file and property."""


def _bounds(text: str) -> tuple[int, int]:
    body = text.strip()
    try:
        if "/" in body:
            net = ipaddress.IPv4Network(body, strict=False)
            return int(net.network_address), int(net.broadcast_address)
        if "-" in body:
            first, last = (int(ipaddress.IPv4Address(p.strip())) for p in body.split("-", 1))
            if first > last:
                raise ValueError
            return first, last
        value = int(ipaddress.IPv4Address(body))
    except ValueError:
        raise AddressMapError(
            f"'{text}' is not an IPv4 address, range (a-b) or CIDR block"
        ) from None
    return value, value


def is_ipv6(text: str) -> bool:
    """Whether ``text`` (an address or range, no port) is IPv6: the lab is IPv4 loopback only."""
    return ":" in text


def _kept(text: str) -> bool:
    body = text.strip()
    if body in _ANY:
        return True
    first, last = _bounds(body)
    return ipaddress.IPv4Address(first) in _LOOPBACK and ipaddress.IPv4Address(last) in _LOOPBACK


@dataclass(frozen=True)
class AddressMap:
    """Real /16 block (its first two octets as an int, ``a << 8 | b``) → lab second octet."""

    blocks: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, texts: Iterable[str]) -> AddressMap:
        """The map for every address and range in ``texts`` (IPv6 and "any" are ignored)."""
        found: set[int] = set()
        wide: list[tuple[int, int]] = []
        for text in texts:
            if is_ipv6(text) or _kept(text):
                continue
            first, last = _bounds(text)
            if first >> 16 != last >> 16:
                wide.append((first >> 16, last >> 16))
                continue
            found.add(first >> 16)
        for low, high in sorted(wide):
            # Wider than a /16: the blocks inside it found elsewhere stand for it, else its first.
            if not any(low <= block <= high for block in found):
                found.add(low)
        ordered = sorted(found)
        if len(ordered) > LAST_LAB_BLOCK - FIRST_LAB_BLOCK + 1:
            raise AddressMapError(
                f"the exports use {len(ordered)} distinct /16 blocks; labsim maps at most "
                f"{LAST_LAB_BLOCK - FIRST_LAB_BLOCK + 1}"
            )
        return cls(tuple((block, FIRST_LAB_BLOCK + i) for i, block in enumerate(ordered)))

    def _lab(self, value: int) -> int:
        for block, octet in self.blocks:
            if block == value >> 16:
                return (127 << 24) | (octet << 16) | (value & 0xFFFF)
        raise AddressMapError(f"{ipaddress.IPv4Address(value)} is not in the address map")

    def address(self, text: str) -> str:
        """One address, mapped."""
        if _kept(text):
            return text.strip()
        first, _ = _bounds(text)
        return str(ipaddress.IPv4Address(self._lab(first)))

    def ranges(self, text: str) -> tuple[tuple[str, ...], bool]:
        """One range, mapped in the form it was written, and whether it had to be widened or
        narrowed (wider than a /16)."""
        body = text.strip()
        if _kept(body):
            return (body,), False
        first, last = _bounds(body)
        if first >> 16 == last >> 16:
            if "/" in body:
                prefix = body.split("/", 1)[1].strip()
                network = ipaddress.IPv4Network(f"{ipaddress.IPv4Address(first)}/{prefix}")
                lab = ipaddress.IPv4Address(self._lab(int(network.network_address)))
                return (f"{lab}/{prefix}",), False
            if "-" in body:
                return (
                    f"{ipaddress.IPv4Address(self._lab(first))}-"
                    f"{ipaddress.IPv4Address(self._lab(last))}",
                ), False
            return (str(ipaddress.IPv4Address(self._lab(first))),), False
        inside = [octet for block, octet in self.blocks if first >> 16 <= block <= last >> 16]
        return tuple(f"127.{octet}.0.0/16" for octet in inside), True

    def lines(self) -> list[str]:
        """The map as the lab file's comment shows it, one block per line."""
        return [
            f"{block >> 8}.{block & 0xFF}.0.0/16 -> 127.{octet}.0.0/16"
            for block, octet in self.blocks
        ]


def range_bounds(text: str) -> tuple[int, int]:
    """First and last address (as ints) of an address, ``a-b`` range or CIDR block."""
    return _bounds(text)
