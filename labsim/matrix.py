"""The partner matrix: one message per partner domain and direction, and what became of it.

``labsim matrix`` and ``labsim diff`` (issue 13) answer the question an admin asks before and
after a change: "for each partner, does mail still arrive domain-secured, both ways?". This
module owns:

* which probes a configuration calls for (:func:`probes`): one organization of the lab is
  *ours* (the first one, or ``--org``); for every authoritative domain of every other
  organization the lab simulates, one message **outbound** (our first mailbox to that domain's
  first mailbox) and one **inbound** (back);
* whether the configuration *means* a probe to be domain-secured (:func:`meant_secured`): our
  organization lists the partner domain in ``TLSSendDomainSecureList`` (outbound) or
  ``TLSReceiveDomainSecureList`` (inbound) — the lists are where our admin states the intent;
* how a probe ended (:func:`classify`), from what the lab shows an admin: the recipient's
  inbox (with or without Outlook's check mark), Get-Message's rows, the sender's NDR;
* the comparison of two matrices (:func:`compare`), ranking outcomes so that "worse" is
  defined once;
* running the probes on a started lab (:func:`run_matrix`), one message at a time, each
  followed by the lab's decision notes for it.

Everything but :func:`run_matrix` is a function over plain records. Outside organizations
(real mail software the lab only routes to), and domains without a mailbox, are listed as *not
tried*: the lab can neither send from real mail software nor see what it received.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from labsim.model.lab import LabDefinition
from labsim.model.mail import DeliveredMessage, MessageView
from labsim.model.organization import Organization

__all__ = [
    "Change",
    "Outcome",
    "Probe",
    "ProbeResult",
    "classify",
    "compare",
    "matrix_json",
    "matrix_junit",
    "matrix_lines",
    "meant_secured",
    "probes",
    "lab_matrix",
    "run_matrix",
]

SUBJECT_PREFIX = "labsim matrix"


class Outcome(StrEnum):
    """How a probe ended, best first."""

    SECURED = "domain secured"
    DELIVERED = "delivered without the check"
    QUEUED = "queued"
    NDR = "NDR"
    NOT_TRIED = "not tried"


#: Higher is better; ``compare`` calls a change to a lower rank "worse".
RANK: dict[Outcome, int] = {
    Outcome.SECURED: 3,
    Outcome.DELIVERED: 2,
    Outcome.QUEUED: 1,
    Outcome.NDR: 0,
    Outcome.NOT_TRIED: -1,
}

MARK: dict[Outcome, str] = {
    Outcome.SECURED: "✔",
    Outcome.DELIVERED: "·",
    Outcome.QUEUED: "✘",
    Outcome.NDR: "✘",
    Outcome.NOT_TRIED: "-",
}


@dataclass(frozen=True)
class Probe:
    """One message the matrix sends."""

    partner: str
    """The other organization."""
    domain: str
    """The partner's domain this row is about."""
    direction: str
    """``outbound`` (ours → partner) or ``inbound`` (partner → ours)."""
    sender: str
    recipient: str
    meant: bool
    """The configuration means this mail to be domain-secured (:func:`meant_secured`)."""
    not_tried: str = ""
    """Why the lab cannot try this row (an outside organization, no mailbox); empty otherwise."""

    @property
    def subject(self) -> str:
        return f"{SUBJECT_PREFIX}: {self.direction} {self.domain}"

    @property
    def key(self) -> str:
        """What identifies the row across two matrices."""
        return f"{self.domain} {self.direction}"


@dataclass(frozen=True)
class ProbeResult:
    """A probe and how it ended."""

    probe: Probe
    outcome: Outcome
    detail: str = ""
    """The status that explains a failure: the LastError's reply, the NDR's status."""
    reason: str = ""
    """The lab's decision note that decided, in one sentence (empty when secured)."""
    notes: tuple[str, ...] = ()
    """Every decision note the lab recorded for this message."""

    @property
    def ok(self) -> bool:
        """False for a probe meant to be domain-secured that is not (a row the lab cannot try
        says nothing either way)."""
        return self.outcome in (Outcome.SECURED, Outcome.NOT_TRIED) or not self.probe.meant

    def summary(self) -> str:
        """``✔ domain secured`` / ``queued 454 4.7.5 Certificate validation failure`` …"""
        text = self.outcome.value if self.outcome is not Outcome.SECURED else "✔ domain secured"
        return f"{text} {self.detail}".strip()


@dataclass(frozen=True)
class Change:
    """A row whose outcome differs between two matrices."""

    key: str
    before: ProbeResult | None
    after: ProbeResult | None

    @property
    def worse(self) -> bool:
        if self.before is None or self.after is None:
            return self.after is None  # a row that disappeared lost its mail flow
        if Outcome.NOT_TRIED in (self.before.outcome, self.after.outcome):
            return False  # nothing known on one side
        return RANK[self.after.outcome] < RANK[self.before.outcome]

    def line(self) -> str:
        before = "(no such row)" if self.before is None else self.before.summary()
        after = "(no such row)" if self.after is None else self.after.summary()
        why = ""
        if self.after is not None and self.after.reason and self.worse:
            why = f" ({self.after.reason})"
        return f"{self.key}: {before} → {after}{why}"


# --- which probes --------------------------------------------------------------------------


def _authoritative(org: Organization) -> list[str]:
    return [d.domain_name for d in org.accepted_domains if d.domain_type.value == "Authoritative"]


def _mailbox_in(org: Organization, domain: str) -> str | None:
    for mailbox in org.mailboxes:
        if mailbox.primary_smtp_address.lower().endswith("@" + domain.lower()):
            return mailbox.primary_smtp_address
    return None


def meant_secured(ours: Organization, partner_domain: str, direction: str) -> bool:
    """Our admin listed the partner domain for this direction: TLSSendDomainSecureList for
    outbound mail, TLSReceiveDomainSecureList for inbound."""
    config = ours.transport_config
    if direction == "outbound":
        return config.sends_domain_secured_to(partner_domain)
    return config.receives_domain_secured_from(partner_domain)


def probes(
    organizations: Sequence[Organization],
    ours: str,
    outside: Sequence[tuple[str, Sequence[str]]] = (),
) -> tuple[Probe, ...]:
    """The probes for ``ours`` against every other organization, in the lab's order, then the
    ``outside`` organizations' (name, domains), which are listed as not tried."""
    by_name = {org.name.lower(): org for org in organizations}
    own = by_name[ours.lower()]
    own_domain = _authoritative(own)[0]
    own_mailbox = _mailbox_in(own, own_domain) or own.mailboxes[0].primary_smtp_address
    found: list[Probe] = []

    def both_ways(partner: str, domain: str, mailbox: str | None, why_not: str) -> None:
        for direction in ("outbound", "inbound"):
            sender, recipient = (
                (own_mailbox, mailbox)
                if direction == "outbound"
                else (
                    mailbox,
                    own_mailbox,
                )
            )
            found.append(
                Probe(
                    partner,
                    domain,
                    direction,
                    sender or "",
                    recipient or "",
                    meant_secured(own, domain, direction),
                    why_not,
                )
            )

    for partner in organizations:
        if partner is own:
            continue
        for domain in _authoritative(partner):
            mailbox = _mailbox_in(partner, domain)
            both_ways(partner.name, domain, mailbox, "" if mailbox else "no mailbox in the domain")
    for name, domains in outside:
        for domain in domains:
            both_ways(name, domain, None, f"{name} is an outside organization (its own server)")
    return tuple(found)


# --- how a probe ended ---------------------------------------------------------------------

_LED = re.compile(r"LED=(.*?)\};\{")
_INNER = re.compile(r'responded with: "(.*?)\.?"')
_STATUS = re.compile(r"^Status:\s*(\S+)", re.M)
_CITATION = re.compile(r"^docs/exchange-reference\.md §[\d.]+: ")


def _reply_of(last_error: str) -> str:
    """The SMTP reply inside a LastError (the C1 wrapper and LRT/LED brackets removed)."""
    led = _LED.search(last_error + "};{")
    text = led.group(1) if led else last_error
    inner = _INNER.search(text)
    return (inner.group(1) if inner else text).strip()


def _reason(notes: Sequence[str], detail: str) -> str:
    """The note that decided: the last one naming the failing status, else the last one that
    is not the queue's own state line."""
    sentences = []
    for note in notes:
        server, _, text = note.partition(": ")
        text = _CITATION.sub("", text)
        if " in Retry: LastError" in text or text.startswith("categorizer:"):
            continue
        sentences.append(f"{server}: {text}")
    code = " ".join(detail.split()[:2])
    for text in reversed(sentences):
        if code and code in text:
            # The reply itself is already in the row: keep the rule that led to it.
            cut = text.find(": " + code)
            return text[:cut] if cut > len(text.partition(": ")[0]) else text
    return sentences[-1] if sentences else ""


def classify(
    probe: Probe,
    inbox: Sequence[DeliveredMessage],
    sender_inbox: Sequence[DeliveredMessage],
    queued: Sequence[MessageView],
    notes: Sequence[str] = (),
) -> ProbeResult:
    """How ``probe`` ended, from the recipient's inbox, the sender's and the queues."""
    if probe.not_tried:
        return ProbeResult(probe, Outcome.NOT_TRIED, f"({probe.not_tried})")
    for message in inbox:
        if not message.is_ndr and message.subject == probe.subject:
            if message.domain_secured:
                return ProbeResult(probe, Outcome.SECURED, notes=tuple(notes))
            auth_as = message.auth_as or "none"
            detail = f"(AuthAs {auth_as})"
            return ProbeResult(probe, Outcome.DELIVERED, detail, _reason(notes, ""), tuple(notes))
    for message in sender_inbox:
        if message.is_ndr and probe.subject in message.subject:
            body = message.content.decode("utf-8", "replace")
            status = ", ".join(sorted(set(_STATUS.findall(body)))) or "no status"
            return ProbeResult(probe, Outcome.NDR, status, _reason(notes, status), tuple(notes))
    for row in queued:
        if row.subject == probe.subject:
            detail = _reply_of(row.last_error) if row.last_error else f"in {row.queue}"
            return ProbeResult(probe, Outcome.QUEUED, detail, _reason(notes, detail), tuple(notes))
    # Accepted nowhere the lab can see: neither delivered, queued nor returned.
    return ProbeResult(probe, Outcome.QUEUED, "(not found in any queue)", "", tuple(notes))


def compare(before: Sequence[ProbeResult], after: Sequence[ProbeResult]) -> tuple[Change, ...]:
    """The rows whose outcome (or failure status) differs, in ``before``'s order."""
    old = {r.probe.key: r for r in before}
    new = {r.probe.key: r for r in after}
    keys = list(old) + [k for k in new if k not in old]
    changes = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and (a.outcome, a.detail) == (b.outcome, b.detail):
            continue
        changes.append(Change(key, a, b))
    return tuple(changes)


# --- presentation --------------------------------------------------------------------------


def matrix_lines(ours: str, results: Sequence[ProbeResult]) -> list[str]:
    """The table ``labsim matrix`` prints, then one line per probe that is not as meant."""
    rows = [("PARTNER DOMAIN", "DIRECTION", "MEANT", "OUTCOME")]
    for r in results:
        meant = "secured" if r.probe.meant else "-"
        outcome = f"{MARK[r.outcome]} {r.outcome.value} {r.detail}".strip()
        rows.append((r.probe.domain, r.probe.direction, meant, outcome))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"Partner matrix of {ours}:"]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
        )
    failing = [r for r in results if not r.ok]
    if failing:
        lines.append("")
        for r in failing:
            lines.append(
                f"✘ {r.probe.key} is meant to be domain-secured: {r.reason or r.summary()}"
            )
    lines.append("")
    good = sum(1 for r in results if r.ok)
    lines.append(f"{good} of {len(results)} as meant")
    return lines


def result_json(result: ProbeResult) -> dict[str, Any]:
    return {
        "partner": result.probe.partner,
        "domain": result.probe.domain,
        "direction": result.probe.direction,
        "from": result.probe.sender,
        "to": result.probe.recipient,
        "meant_secured": result.probe.meant,
        "outcome": result.outcome.name.lower(),
        "detail": result.detail,
        "reason": result.reason,
        "ok": result.ok,
        "decisions": list(result.notes),
    }


def matrix_json(ours: str, results: Sequence[ProbeResult]) -> str:
    return json.dumps(
        {"organization": ours, "results": [result_json(r) for r in results]},
        indent=2,
        ensure_ascii=False,
    )


def matrix_junit(ours: str, results: Sequence[ProbeResult]) -> ET.ElementTree[ET.Element]:
    """One test case per probe; a failure for each probe not domain-secured as meant."""
    suite = ET.Element(
        "testsuite",
        name=f"labsim matrix {ours}",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if not r.ok)),
    )
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"matrix.{ours}", name=r.probe.key)
        if not r.ok:
            failure = ET.SubElement(case, "failure", message=r.summary())
            failure.text = "\n".join([r.reason, *r.notes])
    return ET.ElementTree(suite)


# --- running -------------------------------------------------------------------------------


class MatrixLab(Protocol):
    """What :func:`lab_matrix` needs of a lab (labsim.lab.Lab has it)."""

    @property
    def definition(self) -> LabDefinition: ...

    def organization_names(self) -> Sequence[str]: ...

    def organization(self, name: str) -> Organization: ...

    def send(self, *, mail_from: str, to: Sequence[str], subject: str, body: str = "") -> str: ...

    def inbox(self, address: str) -> tuple[DeliveredMessage, ...]: ...

    def messages(self, organization: str, queue: str | None = None) -> Sequence[MessageView]: ...

    def explain(self) -> Sequence[str]: ...


def lab_matrix(lab: MatrixLab, ours: str) -> tuple[ProbeResult, ...]:
    """The matrix of ``ours`` on a started lab, as its configuration stands now."""
    organizations = [lab.organization(name) for name in lab.organization_names()]
    outside = [(o.name, o.domains) for o in lab.definition.outside_organizations]
    return run_matrix(lab, ours, probes(organizations, ours, outside))


def run_matrix(lab: MatrixLab, ours: str, found: Sequence[Probe]) -> tuple[ProbeResult, ...]:
    """Send every probe (one at a time, the lab idle after each) and classify them all.

    Get-Message is asked of the sending organization: ``ours`` outbound, the partner inbound.
    """
    notes: dict[Probe, tuple[str, ...]] = {}
    for probe in found:
        if probe.not_tried:
            continue
        before = len(lab.explain())
        lab.send(
            mail_from=probe.sender,
            to=[probe.recipient],
            subject=probe.subject,
            body=f"Sent by labsim matrix to check {probe.key}.",
        )
        notes[probe] = tuple(lab.explain()[before:])
    results = []
    for probe in found:
        if probe.not_tried:
            results.append(classify(probe, (), (), ()))
            continue
        sender_org = ours if probe.direction == "outbound" else probe.partner
        results.append(
            classify(
                probe,
                lab.inbox(probe.recipient),
                lab.inbox(probe.sender),
                lab.messages(sender_org),
                notes.get(probe, ()),
            )
        )
    return tuple(results)
