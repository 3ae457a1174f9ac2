"""Value types of Exchange configuration: address spaces, IP ranges, bindings, sizes, time spans.

Each type parses the text an admin types and prints the text Exchange prints. Parse errors are
ValueError with a message naming the expected form; the shell turns them into cmdlet errors.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta

_DOMAIN = re.compile(r"^(\*|\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class AddressSpace:
    """One entry of a send connector's `AddressSpaces`: ``[Type:]AddressSpace[;Cost]``."""

    address: str
    cost: int = 1
    type: str = "SMTP"

    @classmethod
    def parse(cls, text: str) -> AddressSpace:
        """Parse ``SMTP:contoso.com;1``, ``contoso.com``, ``*`` or ``*.contoso.com;10``."""
        body = text.strip()
        kind = "SMTP"
        if ":" in body:
            kind, body = body.split(":", 1)
            if kind.upper() != "SMTP":
                raise ValueError(f"address space type '{kind}' is not supported; use SMTP")
        cost = 1
        if ";" in body:
            body, cost_text = body.split(";", 1)
            if not cost_text.strip().isdigit() or not 1 <= int(cost_text) <= 100:
                raise ValueError(f"cost '{cost_text}' must be a whole number from 1 to 100")
            cost = int(cost_text)
        body = body.strip().lower()
        if (
            not body
            or not _DOMAIN.match(body)
            or (body.startswith("*") and body not in ("*",) and not body.startswith("*."))
        ):
            raise ValueError(
                f"'{text}' is not a valid SMTP address space; use a domain such as contoso.com, "
                "*.contoso.com or *"
            )
        return cls(address=body, cost=cost, type="SMTP")

    def matches(self, domain: str) -> bool:
        """Whether a recipient domain falls inside this address space."""
        domain = domain.lower()
        if self.address == "*":
            return True
        if self.address.startswith("*."):
            suffix = self.address[1:]
            return domain.endswith(suffix) or domain == self.address[2:]
        return domain == self.address

    def __str__(self) -> str:
        return f"{self.type}:{self.address};{self.cost}"


def is_ip_literal(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address rather than a host name."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _ipv4_value(address: str) -> int | None:
    # Receive connector selection tests every session's address against every range.
    try:
        return int(ipaddress.IPv4Address(address))
    except ValueError:
        return None


@dataclass(frozen=True)
class IPRange:
    """One entry of `RemoteIPRanges`: a single address, ``a-b``, or CIDR."""

    first: int
    last: int
    text: str

    @classmethod
    def parse(cls, text: str) -> IPRange:
        """Parse ``127.0.20.5``, ``127.0.20.1-127.0.20.9`` or ``127.0.20.0/24`` (IPv4)."""
        body = text.strip()
        try:
            if "/" in body:
                net = ipaddress.IPv4Network(body, strict=False)
                return cls(int(net.network_address), int(net.broadcast_address), body)
            if "-" in body:
                a, b = (ipaddress.IPv4Address(p.strip()) for p in body.split("-", 1))
                if int(a) > int(b):
                    raise ValueError
                return cls(int(a), int(b), body)
            addr = ipaddress.IPv4Address(body)
        except ValueError:
            raise ValueError(
                f"'{text}' is not a valid IP range; use an address (127.0.20.5), a range "
                "(127.0.20.1-127.0.20.9) or CIDR (127.0.20.0/24)"
            ) from None
        return cls(int(addr), int(addr), body)

    def contains(self, address: str) -> bool:
        """Whether an IPv4 address (text) falls in this range."""
        value = _ipv4_value(address)
        if value is None:
            return False
        return self.first <= value <= self.last

    @property
    def size(self) -> int:
        """Number of addresses; smaller is more specific (docs/exchange-reference.md §5.1)."""
        return self.last - self.first + 1

    def __str__(self) -> str:
        return self.text


ALL_IPV4 = IPRange(0, 2**32 - 1, "0.0.0.0-255.255.255.255")


@dataclass(frozen=True)
class Binding:
    """One receive connector binding ``IP:port``; ``0.0.0.0`` means every local address."""

    address: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Binding:
        """Parse ``0.0.0.0:25`` or ``127.0.10.1:2525``."""
        body = text.strip()
        if ":" not in body:
            raise ValueError(f"'{text}' is not a valid binding; use IP:port such as 0.0.0.0:25")
        addr, port_text = body.rsplit(":", 1)
        try:
            ipaddress.IPv4Address(addr)
            port = int(port_text)
        except ValueError:
            raise ValueError(
                f"'{text}' is not a valid binding; use IP:port such as 0.0.0.0:25"
            ) from None
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} in binding '{text}' must be from 1 to 65535")
        return cls(addr, port)

    def covers(self, address: str, port: int) -> bool:
        """Whether a connection to ``address:port`` arrives on this binding."""
        return self.port == port and self.address in ("0.0.0.0", address)

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


@dataclass(frozen=True)
class ByteSize:
    """An Exchange ByteQuantifiedSize, or unlimited (``value`` None)."""

    value: int | None

    @classmethod
    def parse(cls, text: str) -> ByteSize:
        """Parse ``35MB``, ``10 MB``, ``36700160``, ``512KB``, ``1GB`` or ``unlimited``."""
        body = text.strip().replace(",", "")
        if body.lower() == "unlimited":
            return cls(None)
        m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?", body, re.IGNORECASE)
        if not m:
            raise ValueError(
                f"'{text}' is not a size; use a value such as 35MB, 512KB or unlimited"
            )
        unit = (m.group(2) or "B").upper()
        factor = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}[unit]
        return cls(int(float(m.group(1)) * factor))

    @classmethod
    def mb(cls, megabytes: int) -> ByteSize:
        """A size given in MB."""
        return cls(megabytes * 1024 * 1024)

    def __str__(self) -> str:
        if self.value is None:
            return "Unlimited"
        v = self.value
        for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
            if v >= factor:
                amount = v / factor
                shown = f"{amount:.0f}" if amount == int(amount) else f"{amount:.3g}"
                return f"{shown} {unit} ({v:,} bytes)"
        return f"{v} B ({v:,} bytes)"

    def allows(self, size: int) -> bool:
        """Whether a message of ``size`` bytes fits."""
        return self.value is None or size <= self.value


# .NET's TimeSpan.MaxValue (10675199.02:48:05.4775807), whole seconds: what EMS can hold.
_TIMESPAN_MAX_SECONDS = 922337203685


def _within_timespan(value: timedelta) -> timedelta:
    if value.total_seconds() > _TIMESPAN_MAX_SECONDS:
        # .NET's TimeSpan.Parse text for a value past TimeSpan.MaxValue.
        raise ValueError(
            "The TimeSpan could not be parsed because at least one of the numeric components "
            "is out of range or contains too many digits."
        )
    return value


def parse_timespan(text: str) -> timedelta:
    """Parse an Exchange TimeSpan ``d.hh:mm:ss`` / ``hh:mm:ss`` or a lab duration ``90s``/``4h``/``2d``."""
    body = text.strip()
    m = re.fullmatch(r"(\d+)\s*([smhd])", body, re.IGNORECASE)
    if m:
        n = int(m.group(1))
        unit = m.group(2).lower()
        seconds = n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        return _within_timespan(timedelta(seconds=min(seconds, _TIMESPAN_MAX_SECONDS + 1)))
    m = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})", body)
    if m:
        days = min(int(m.group(1) or 0), _TIMESPAN_MAX_SECONDS // 86400 + 1)
        return _within_timespan(
            timedelta(
                days=days, hours=int(m.group(2)), minutes=int(m.group(3)), seconds=int(m.group(4))
            )
        )
    raise ValueError(
        f"'{text}' is not a time span; use d.hh:mm:ss (e.g. 2.00:00:00) or 90s, 15m, 4h, 2d"
    )


def format_timespan(value: timedelta) -> str:
    """Print a TimeSpan as Exchange does: ``2.00:00:00`` or ``00:05:00``."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    core = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days}.{core}" if days else core
