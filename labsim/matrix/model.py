"""The partner matrix as data: pairs, expectations, outcomes and their three renderings.

Rules kept:

* the organization under test is the lab's first organization (``--org`` names another); its
  partners are every other organization, simulated or outside, and each of their domains is a
  partner domain, tried in both directions;
* a pair is *meant* to be domain secured when the organization under test lists the partner
  domain in TLSSendDomainSecureList (outbound) or TLSReceiveDomainSecureList (inbound), as the
  configuration stands after the lab's setup blocks;
* the outcome is the first that holds: delivered (domain secured or not, Outlook's check:
  AuthAs Partner and an AuthDomain), an NDR to the sender (its status), queued (the queue
  status and LastError), else not delivered; a pair that cannot be tried (no mailbox in the
  domain, mail from an outside organization the lab does not send) is *not tried*;
* the matrix passes when every pair meant to be domain secured is.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from labsim.model.lab import OutsideOrganization
from labsim.model.organization import Organization

OUTBOUND = "outbound"
INBOUND = "inbound"


class Result(Enum):
    """What became of one message."""

    DOMAIN_SECURED = "domain-secured"
    DELIVERED = "delivered"
    QUEUED = "queued"
    NDR = "ndr"
    NOT_DELIVERED = "not-delivered"
    NOT_TRIED = "not-tried"


@dataclass(frozen=True)
class Pair:
    """One partner domain in one direction, and the addresses used to try it."""

    domain: str
    direction: str
    sender: str | None
    recipient: str | None
    expected: bool
    why_not_tried: str = ""

    @property
    def name(self) -> str:
        """``fabrikam.com outbound``."""
        return f"{self.domain} {self.direction}"


@dataclass(frozen=True)
class Outcome:
    """A pair and what happened to its message; ``detail`` holds LastError or the NDR status."""

    pair: Pair
    result: Result
    detail: str = ""

    @property
    def passed(self) -> bool:
        """False only when the pair is meant to be domain secured and is not."""
        return not self.pair.expected or self.result is Result.DOMAIN_SECURED

    def text(self) -> str:
        """The outcome as the table shows it."""
        match self.result:
            case Result.DOMAIN_SECURED:
                return "✔ delivered, domain secured"
            case Result.DELIVERED:
                return "delivered without the check"
            case Result.QUEUED:
                return f"queued: {self.detail}"
            case Result.NDR:
                return f"NDR {self.detail}"
            case Result.NOT_DELIVERED:
                return f"not delivered{': ' + self.detail if self.detail else ''}"
            case Result.NOT_TRIED:
                return f"not tried: {self.pair.why_not_tried}"


@dataclass(frozen=True)
class Matrix:
    """The whole matrix of one lab."""

    lab: str
    organization: str
    outcomes: tuple[Outcome, ...]

    @property
    def passed(self) -> bool:
        """Every pair meant to be domain secured is."""
        return all(o.passed for o in self.outcomes)

    @property
    def failures(self) -> tuple[Outcome, ...]:
        """The pairs meant to be domain secured that are not."""
        return tuple(o for o in self.outcomes if not o.passed)


def table(matrix: Matrix) -> str:
    """The terminal table: one line per pair, then the verdict."""
    rows = [("Partner domain", "Direction", "Meant", "Outcome")]
    for outcome in matrix.outcomes:
        pair = outcome.pair
        mark = "" if outcome.passed else "  ✘"
        rows.append(
            (
                pair.domain,
                pair.direction,
                "secured" if pair.expected else "-",
                outcome.text() + mark,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"Partner matrix of {matrix.organization} (lab {matrix.lab})"]
    for number, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]
        )
        if number == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    failed = len(matrix.failures)
    lines.append(
        f"{len(matrix.outcomes)} pairs; "
        + (
            "every pair meant to be domain secured is"
            if not failed
            else f"{failed} meant to be domain secured {'is' if failed == 1 else 'are'} not"
        )
    )
    return "\n".join(lines)


def to_json(matrix: Matrix) -> str:
    """The matrix for scripts."""
    return json.dumps(
        {
            "lab": matrix.lab,
            "organization": matrix.organization,
            "passed": matrix.passed,
            "pairs": [
                {
                    "domain": o.pair.domain,
                    "direction": o.pair.direction,
                    "from": o.pair.sender,
                    "to": o.pair.recipient,
                    "meant_domain_secured": o.pair.expected,
                    "outcome": o.result.value,
                    "detail": o.detail or o.pair.why_not_tried,
                    "passed": o.passed,
                }
                for o in matrix.outcomes
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def junit(matrix: Matrix) -> ET.ElementTree:
    """JUnit XML: one test case per pair; a failure for each pair that lost the check."""
    failures = len(matrix.failures)
    skipped = sum(1 for o in matrix.outcomes if o.result is Result.NOT_TRIED)
    root = ET.Element("testsuites", tests=str(len(matrix.outcomes)), failures=str(failures))
    suite = ET.SubElement(
        root,
        "testsuite",
        name=f"labsim matrix {matrix.lab}",
        tests=str(len(matrix.outcomes)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
    )
    for outcome in matrix.outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"matrix.{matrix.organization}",
            name=outcome.pair.name,
        )
        if not outcome.passed:
            failure = ET.SubElement(
                case, "failure", message=f"meant to be domain secured: {outcome.text()}"
            )
            failure.text = outcome.text()
        elif outcome.result is Result.NOT_TRIED:
            ET.SubElement(case, "skipped", message=outcome.pair.why_not_tried)
        ET.SubElement(case, "system-out").text = outcome.text()
    ET.indent(root)
    return ET.ElementTree(root)


class MatrixError(ValueError):
    """The lab cannot give a matrix (no organization of that name, no mailbox to send from)."""


def plan_pairs(
    subject: Organization, others: Sequence[Organization], outside: Sequence[OutsideOrganization]
) -> tuple[Pair, ...]:
    """Both directions for every domain of every other organization, in lab order."""
    if not subject.mailboxes:
        raise MatrixError(
            f"organization {subject.name} has no mailbox to send from; add one to its "
            'mailboxes in the lab file, e.g. mailboxes = ["administrator"]'
        )
    own = subject.mailboxes[0].primary_smtp_address
    config = subject.transport_config
    pairs: list[Pair] = []
    for org in others:
        for accepted in org.accepted_domains:
            domain = accepted.domain_name
            mailbox = next(
                (
                    m.primary_smtp_address
                    for m in org.mailboxes
                    if m.primary_smtp_address.lower().endswith("@" + domain)
                ),
                None,
            )
            why = "" if mailbox else f"{org.name} has no mailbox in {domain}"
            pairs.append(
                Pair(domain, OUTBOUND, own, mailbox, config.sends_domain_secured_to(domain), why)
            )
            pairs.append(
                Pair(
                    domain, INBOUND, mailbox, own, config.receives_domain_secured_from(domain), why
                )
            )
    for partner in outside:
        why = (
            f"{partner.name} is an outside organization: its mail server, not the lab, holds "
            "what arrives there and sends what comes from there (see its own logs)"
        )
        for domain in partner.domains:
            for direction, meant in (
                (OUTBOUND, config.sends_domain_secured_to(domain)),
                (INBOUND, config.receives_domain_secured_from(domain)),
            ):
                pairs.append(Pair(domain, direction, None, None, meant, why))
    return tuple(pairs)
