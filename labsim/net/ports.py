"""Which port offset a lab uses: ``auto`` (the default), an environment override, or a number.

A lab listens on Exchange's ports (25, 465, 475, 587, 717, 2525, DNS 53, HTTP 80) plus one
lab-wide offset (docs/exchange-reference.md §16 D12). Two things can take a port the lab wants:
another program listening (another lab, a second terminal, a CI job), and the kernel handing the
port to some outgoing connection as its local port. The second is avoided by keeping every lab port
out of the machine's ephemeral port range (``/proc/sys/net/ipv4/ip_local_port_range``); the first by
trying several automatic offsets until one binds. Everything here is pure except
:func:`ephemeral_range`, which reads the kernel's setting.
"""

from __future__ import annotations

import functools
import os
import random
from dataclasses import dataclass
from pathlib import Path

from labsim.errors import UsageError

ENVIRONMENT_VARIABLE = "LABSIM_PORT_OFFSET"
"""Overrides ``--port-offset``'s default (``auto``) for every command."""

LOWEST_LAB_PORT = 25
"""The lowest Exchange-side port a lab binds (SMTP 25; DNS 53 and HTTP 80 are above it)."""

HIGHEST_LAB_PORT = 2525
"""Exchange's highest port (the Mailbox server's Default connector). A receive connector an
admin binds above it is not checked against the ephemeral range (docs/fidelity.md)."""

FIRST_AUTO_OFFSET = 11000
AUTO_STEP = 100
MAX_OFFSET = 65535 - HIGHEST_LAB_PORT

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_DEFAULT = (32768, 60999)


@dataclass(frozen=True)
class PortOffset:
    """A requested offset: ``value`` None means automatic; ``source`` names where it came from."""

    value: int | None
    source: str


@functools.cache
def ephemeral_range(path: Path = _RANGE_FILE) -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default where the file is missing); read
    once per process (the command line checks it, then the lab picks its offset)."""
    try:
        low, high = (int(v) for v in path.read_text().split())
    except (OSError, ValueError):
        return _LINUX_DEFAULT
    return low, high


def parse_offset(text: str, source: str) -> PortOffset:
    """``auto`` or a number; anything else is refused naming ``source`` (option or variable)."""
    cleaned = text.strip().lower()
    if cleaned in ("", "auto"):
        return PortOffset(None, source)
    try:
        value = int(cleaned, 10)
    except ValueError:
        raise UsageError(
            f"{source}: '{text}' is not a port offset; give auto or a number from 0 to {MAX_OFFSET}"
        ) from None
    if not 0 <= value <= MAX_OFFSET:
        raise UsageError(
            f"{source}: {value} is out of range; give auto or a number from 0 to {MAX_OFFSET} "
            f"(the lab's ports {LOWEST_LAB_PORT}–{HIGHEST_LAB_PORT} plus the offset must stay "
            "below 65536)"
        )
    return PortOffset(value, source)


def requested_offset(option: str | None, environ: dict[str, str] | None = None) -> PortOffset:
    """The offset asked for: the command-line option, else LABSIM_PORT_OFFSET, else auto."""
    env = os.environ if environ is None else environ
    if option is not None:
        return parse_offset(option, "--port-offset")
    if env.get(ENVIRONMENT_VARIABLE):
        return parse_offset(env[ENVIRONMENT_VARIABLE], ENVIRONMENT_VARIABLE)
    return PortOffset(None, "auto")


def overlaps_ephemeral(offset: int, ephemeral: tuple[int, int]) -> bool:
    """Whether any lab port plus ``offset`` falls in the ephemeral range."""
    low, high = ephemeral
    return offset + LOWEST_LAB_PORT <= high and offset + HIGHEST_LAB_PORT >= low


def check_offset(requested: PortOffset, ephemeral: tuple[int, int]) -> None:
    """Refuse an explicit offset whose ports lie in the ephemeral range, saying why."""
    if requested.value is None or not overlaps_ephemeral(requested.value, ephemeral):
        return
    low, high = ephemeral
    below = low - 1 - HIGHEST_LAB_PORT
    raise UsageError(
        f"{requested.source}: offset {requested.value} puts the lab's ports "
        f"{requested.value + LOWEST_LAB_PORT}–{requested.value + HIGHEST_LAB_PORT} inside this "
        f"machine's ephemeral port range {low}–{high} ({_RANGE_FILE}), from which the kernel "
        "gives outgoing connections their local ports, so a listener could find its port taken "
        f"at random; choose an offset of at most {below}"
        + (f" or at least {high + 1 - LOWEST_LAB_PORT}" if high + 1 <= MAX_OFFSET else "")
        + ", or use auto"
    )


def auto_offsets(
    ephemeral: tuple[int, int], count: int = 20, rng: random.Random | None = None
) -> list[int]:
    """``count`` distinct automatic offsets, in random order, all clear of the ephemeral range."""
    candidates = [
        offset
        for offset in range(FIRST_AUTO_OFFSET, MAX_OFFSET + 1, AUTO_STEP)
        if not overlaps_ephemeral(offset, ephemeral)
    ]
    if not candidates:
        raise UsageError(
            f"no automatic port offset is clear of this machine's ephemeral port range "
            f"{ephemeral[0]}–{ephemeral[1]} ({_RANGE_FILE}); give --port-offset N"
        )
    chooser = rng or random.Random()
    return chooser.sample(candidates, min(count, len(candidates)))


def offsets_to_try(requested: PortOffset, ephemeral: tuple[int, int] | None = None) -> list[int]:
    """The offsets :meth:`labsim.lab.Lab.start` tries, in order (checked first)."""
    ranges = ephemeral or ephemeral_range()
    check_offset(requested, ranges)
    if requested.value is not None:
        return [requested.value]
    return auto_offsets(ranges)
