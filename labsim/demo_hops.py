"""The demo's hop lines: which SMTP hops a message took and which rule decided each one.

Owns turning the engine's decision notes (``labsim.engine.world.Explanation``: the server
that decided and the text it recorded, the same notes ``labsim run --explain`` prints) into one
:class:`Hop` per SMTP session, with the one note that decided it. Nothing here writes a text of
its own: a hop's rule is an engine note, shortened only by moving its citation to the end and
leaving out the session's permission list.

Citations are to docs/exchange-reference.md. How a hop is found: every inbound session starts
with the receiving server's receive connector selection note (§5.1, "… is the most specific match for <client address>"); the
notes up to the next such note belong to that hop. The rule that decided it is, in order: the
first note of either end that carries a refusal (a 4xx/5xx reply), else the receiving server's
domain-security check (§5.3), else the sender's last TLS decision (§4.2/§4.3). A message that
never reached a hop (no route) is told by its refusal note alone (:func:`unrouted`).

Pure: no Twisted, no lab.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Hop", "hops", "rule_text", "unrouted"]

_SELECTION = re.compile(
    r"docs/exchange-reference.md §5\.1: (?P<connector>.+?) is bound to (?P<binding>\S+) and its RemoteIPRanges entry .*? "
    r"is the most specific match for (?P<client>[0-9.]+)"
)
_REFUSAL = re.compile(r"\b[45]\d\d [45]\.\d{1,3}\.\d{1,3}\b")
_CITED = re.compile(
    r"^(?P<head>.*?)docs/exchange-reference\.md (?P<section>§[0-9.]+): (?P<rest>.*)$"
)
_PERMISSIONS = re.compile(r"; permissions: .*$")


@dataclass(frozen=True)
class Hop:
    """One SMTP session of a message's path and the note that decided it."""

    sender: str
    receiver: str
    connector: str
    rule: str
    refused: bool


def rule_text(text: str) -> str:
    """An engine note as a hop's rule: ``docs/exchange-reference.md §5.3: X`` → ``X (§5.3)``,
    without the permission list that follows a session identity."""
    text = _PERMISSIONS.sub("", text)
    cited = _CITED.match(text)
    if cited is None:
        return text
    head = cited.group("head").strip()
    rest = cited.group("rest")
    return f"{head + ' ' if head else ''}{rest} ({cited.group('section')})"


def _outbound_note(text: str) -> bool:
    """Notes a CAS records for the session it will open next (routing, the D2 plan)."""
    return text.startswith("outbound proxy:") or (
        "labsim decision D2 (docs/exchange-reference.md)" in text
    )


def hops(notes: Sequence[tuple[str, str]], server_at: Callable[[str], str | None]) -> list[Hop]:
    """The hops told by ``notes`` (server, text) in the order recorded; ``server_at`` names
    the lab server at a client address (None: an address outside the lab)."""
    starts = [i for i, (_, text) in enumerate(notes) if _SELECTION.search(text)]
    found: list[Hop] = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(notes)
        receiver, text = notes[start]
        match = _SELECTION.search(text)
        assert match is not None
        client = match.group("client")
        sender = server_at(client) or client
        window = [
            (server, note)
            for server, note in notes[start + 1 : end]
            if server in (sender, receiver) and not _outbound_note(note)
        ]
        refusal = next((n for s, n in window if _REFUSAL.search(n)), None)
        check = next(
            (n for s, n in window if s == receiver and "docs/exchange-reference.md §5.3:" in n),
            None,
        )
        tls = [
            n
            for s, n in window
            if s == sender
            and ("docs/exchange-reference.md §4.2:" in n or "docs/exchange-reference.md §4.3:" in n)
        ]
        rule = refusal or check or (tls[-1] if tls else None)
        connector = match.group("connector")
        found.append(
            Hop(sender, receiver, connector, rule_text(rule) if rule else "", refusal is not None)
        )
    return found


def unrouted(notes: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """When no hop was made: the notes that carry a refusal (server, rule text), e.g. a
    recipient no send connector covers (§4.1.7)."""
    if any(_SELECTION.search(text) for _, text in notes):
        return []
    return [(server, rule_text(text)) for server, text in notes if _REFUSAL.search(text)]
