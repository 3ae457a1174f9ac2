"""Drive a running lab through the partner matrix: send each pair's message, then read what the
lab holds (inboxes, NDRs, queues) into :class:`~labsim.matrix.model.Outcome` records.

Every message is sent and the lab settled before the next (``Lab.send`` drives the lab until it
is idle), so a pair's outcome is what Exchange would show once the first attempt is over: a
queue in Retry stays in Retry; the lab clock is not advanced to the expiry.
"""

from __future__ import annotations

import re

from labsim.lab import Lab
from labsim.matrix.model import (
    INBOUND,
    Matrix,
    MatrixError,
    Outcome,
    Pair,
    Result,
    plan_pairs,
)

SUBJECT = "labsim matrix: {name}"
"""The subject of each pair's message (unique per pair, so the outcome is found again)."""

_STATUS = re.compile(r"^Status:\s*([245]\.\d{1,3}\.\d{1,3})", re.MULTILINE | re.IGNORECASE)
_DIAGNOSTIC = re.compile(r"^Diagnostic-Code:\s*smtp;\s*(.+)$", re.MULTILINE | re.IGNORECASE)


def run_matrix(lab: Lab, organization: str | None = None) -> Matrix:
    """The matrix of ``organization`` (default: the lab's first) against every other one."""
    definition = lab.definition
    names = [o.organization.name for o in definition.organizations]
    chosen = organization or names[0]
    match = next((n for n in names if n.lower() == chosen.lower()), None)
    if match is None:
        raise MatrixError(
            f"--org {chosen}: not an organization of the lab; use one of {', '.join(names)}"
        )
    subject = lab.organization(match)
    others = [lab.organization(n) for n in names if n != match]
    pairs = plan_pairs(subject, others, definition.outside_organizations)
    sending = {}
    for pair in pairs:
        if pair.sender is None or pair.recipient is None:
            continue
        sender_org = (
            next(
                o.name
                for o in others
                if any(m.primary_smtp_address == pair.sender for m in o.mailboxes)
            )
            if pair.direction == INBOUND
            else match
        )
        sending[pair] = sender_org
        lab.send(
            mail_from=pair.sender,
            to=[pair.recipient],
            subject=SUBJECT.format(name=pair.name),
            body="One message of labsim matrix.",
        )
    outcomes = tuple(_outcome(lab, pair, sending.get(pair)) for pair in pairs)
    return Matrix(lab=definition.name, organization=match, outcomes=outcomes)


def _outcome(lab: Lab, pair: Pair, sender_org: str | None) -> Outcome:
    if pair.sender is None or pair.recipient is None or sender_org is None:
        return Outcome(pair, Result.NOT_TRIED)
    subject = SUBJECT.format(name=pair.name)
    for message in lab.inbox(pair.recipient):
        if message.subject == subject:
            result = Result.DOMAIN_SECURED if message.domain_secured else Result.DELIVERED
            return Outcome(pair, result)
    for message in lab.inbox(pair.sender):
        if message.is_ndr and subject in message.subject:
            text = message.content.decode("utf-8", "replace")
            status = _STATUS.search(text)
            diagnostic = _DIAGNOSTIC.search(text)
            detail = " ".join(
                part
                for part in (
                    status[1] if status else "",
                    diagnostic[1].strip() if diagnostic else "",
                )
                if part
            )
            return Outcome(pair, Result.NDR, detail or message.subject)
    for row in lab.messages(sender_org):
        if row.subject == subject:
            queue = next((q for q in lab.queues(sender_org) if q.identity == row.queue), None)
            last_error = (queue.last_error if queue else "") or row.last_error
            state = queue.status.value if queue else row.status.value
            return Outcome(pair, Result.QUEUED, f"{state} {last_error}".strip())
    return Outcome(pair, Result.NOT_DELIVERED)
