"""Mail loop detection: a message's hop count as an Exchange receive connector counts it.

Rules kept here (Set-ReceiveConnector MaxHopCount / MaxLocalHopCount; docs/fidelity.md, "Mail
loops"):

* The hop count is the number of ``Received:`` fields in the header block of the message as it
  arrives, before the receiving server writes its own; a folded field counts once, names are
  read as the header firewall reads them (case-insensitive, white space before the colon).
* The local hop count is the number of those fields written by this server: their ``by``
  clause names the server's FQDN, the receive connector's Fqdn or the server's address.
* The receive connector refuses the message at the end of DATA when the hop count exceeds
  MaxHopCount, or the local hop count exceeds MaxLocalHopCount (0 turns that check off), with
  ``554 5.4.6 Hop count exceeded - possible mail loop``, the text on-premises Exchange writes
  (5.4.14 … ATTR34 is Exchange Online's). The sending server turns that into an NDR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from labsim.model.connectors import ReceiveConnector
from labsim.model.organization import Server
from labsim.policy.headers import header_values
from labsim.smtp.reply import Reply

HOP_COUNT_EXCEEDED = Reply(554, "Hop count exceeded - possible mail loop", "5.4.6")
"""Exchange's (on-premises) refusal of a message that went through too many hops."""

# "from X (ip) by Y (ip) with …": the host after "by" and an optional parenthesised comment
# whose first word is the address.
_BY = re.compile(r"(?:^|\s)by\s+([^\s;()]+)(?:\s*\(\s*([^\s;()]+)[^)]*\))?", re.IGNORECASE)


@dataclass(frozen=True)
class HopCount:
    """Received fields in a message (``total``) and how many of them this server wrote."""

    total: int
    local: int


def _by_names(value: str) -> tuple[str, ...]:
    match = _BY.search(value)
    if match is None:
        return ()
    host, address = match.group(1), match.group(2)
    names = [host.strip("[]").lower()]
    if address:
        names.append(address.strip("[]").lower())
    return tuple(names)


def count_hops(content: bytes, *, local_names: Iterable[str]) -> HopCount:
    """Count the Received fields of ``content`` and those whose ``by`` names a local name."""
    local = {n.lower() for n in local_names if n}
    values = header_values(content, "Received")
    mine = sum(1 for v in values if local.intersection(_by_names(v)))
    return HopCount(total=len(values), local=mine)


@dataclass(frozen=True)
class HopCheck:
    """The receive connector's verdict on a message's hop count."""

    hops: HopCount
    reply: Reply | None
    explanation: str

    @property
    def refused(self) -> bool:
        """Whether the message is refused as a possible mail loop."""
        return self.reply is not None


def check_hop_count(hops: HopCount, *, max_hop_count: int, max_local_hop_count: int) -> HopCheck:
    """Refuse a message whose hop count exceeds MaxHopCount or MaxLocalHopCount (0 = no limit)."""
    if hops.total > max_hop_count:
        return HopCheck(
            hops,
            HOP_COUNT_EXCEEDED,
            f"the message carries {hops.total} Received headers, more than the receive "
            f"connector's MaxHopCount {max_hop_count}: refused as a possible mail loop "
            f"({HOP_COUNT_EXCEEDED})",
        )
    if max_local_hop_count and hops.local > max_local_hop_count:
        return HopCheck(
            hops,
            HOP_COUNT_EXCEEDED,
            f"the message already passed this server {hops.local} times (Received headers it "
            f"wrote), more than the receive connector's MaxLocalHopCount {max_local_hop_count}: "
            f"refused as a possible mail loop ({HOP_COUNT_EXCEEDED})",
        )
    return HopCheck(
        hops,
        None,
        f"hop count {hops.total} (local {hops.local}) within MaxHopCount {max_hop_count} and "
        f"MaxLocalHopCount {max_local_hop_count}",
    )


def receive_hop_check(content: bytes, connector: ReceiveConnector, server: Server) -> HopCheck:
    """The hop-count check of ``connector`` on ``server`` for a message at the end of DATA."""
    hops = count_hops(content, local_names=(server.fqdn, connector.fqdn or "", server.address))
    return check_hop_count(
        hops,
        max_hop_count=connector.max_hop_count,
        max_local_hop_count=connector.max_local_hop_count,
    )
