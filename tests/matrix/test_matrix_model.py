"""The partner matrix as data (labsim.matrix.model): pairs, verdict, table, JSON, JUnit."""

from __future__ import annotations

import json

from labsim.matrix.model import (
    INBOUND,
    OUTBOUND,
    Matrix,
    Outcome,
    Pair,
    Result,
    junit,
    plan_pairs,
    table,
    to_json,
)
from labsim.model.lab import OutsideOrganization
from labsim.model.organization import AcceptedDomain, Mailbox, Organization
from labsim.model.transport import TransportConfig

SUBJECT = Organization(
    name="Tailspin Toys",
    accepted_domains=(AcceptedDomain("tailspintoys.com", default=True),),
    servers=(),
    mailboxes=(Mailbox("april@tailspintoys.com", "April"),),
    transport_config=TransportConfig(
        tls_send_domain_secure_list=("fabrikam.com",),
        tls_receive_domain_secure_list=("fabrikam.com", "fabrikam.net"),
    ),
)
FABRIKAM = Organization(
    name="Fabrikam",
    accepted_domains=(AcceptedDomain("fabrikam.com", default=True), AcceptedDomain("fabrikam.net")),
    servers=(),
    mailboxes=(Mailbox("ben@fabrikam.com", "Ben"),),
)
OUTSIDE = OutsideOrganization(
    name="Contoso",
    domains=("contoso.com",),
    address="127.0.40.1",
    port=2525,
    mx_host="mail.contoso.com",
)


def test_pairs_both_directions_with_what_the_configuration_means() -> None:
    pairs = plan_pairs(SUBJECT, [FABRIKAM], [OUTSIDE])
    assert [(p.name, p.sender, p.recipient, p.expected) for p in pairs] == [
        ("fabrikam.com outbound", "april@tailspintoys.com", "ben@fabrikam.com", True),
        ("fabrikam.com inbound", "ben@fabrikam.com", "april@tailspintoys.com", True),
        ("fabrikam.net outbound", "april@tailspintoys.com", None, False),
        ("fabrikam.net inbound", None, "april@tailspintoys.com", True),
        ("contoso.com outbound", None, None, False),
        ("contoso.com inbound", None, None, False),
    ]
    assert pairs[2].why_not_tried == "Fabrikam has no mailbox in fabrikam.net"
    assert "outside organization" in pairs[4].why_not_tried


def outcomes() -> Matrix:
    secured = Pair("fabrikam.com", OUTBOUND, "a@x.com", "b@fabrikam.com", True)
    lost = Pair("fabrikam.com", INBOUND, "b@fabrikam.com", "a@x.com", True)
    plain = Pair("contoso.com", OUTBOUND, "a@x.com", "c@contoso.com", False)
    bounced = Pair("contoso.com", INBOUND, "c@contoso.com", "a@x.com", False)
    return Matrix(
        "imported",
        "Tailspin Toys",
        (
            Outcome(secured, Result.DOMAIN_SECURED),
            Outcome(lost, Result.QUEUED, "Retry [{LED=454 4.7.5 Certificate validation failure.}]"),
            Outcome(plain, Result.DELIVERED),
            Outcome(bounced, Result.NDR, "5.7.1 550 5.7.1 Unable to relay"),
        ),
    )


def test_verdict_and_table() -> None:
    matrix = outcomes()
    assert not matrix.passed
    assert [o.pair.name for o in matrix.failures] == ["fabrikam.com inbound"]
    assert table(matrix).splitlines() == [
        "Partner matrix of Tailspin Toys (lab imported)",
        "Partner domain  Direction  Meant    Outcome",
        "--------------  ---------  -------  -------",
        "fabrikam.com    outbound   secured  ✔ delivered, domain secured",
        "fabrikam.com    inbound    secured  queued: Retry [{LED=454 4.7.5 Certificate validation failure.}]  ✘",
        "contoso.com     outbound   -        delivered without the check",
        "contoso.com     inbound    -        NDR 5.7.1 550 5.7.1 Unable to relay",
        "4 pairs; 1 meant to be domain secured is not",
    ]


def test_json_and_junit() -> None:
    matrix = outcomes()
    document = json.loads(to_json(matrix))
    assert document["passed"] is False
    assert document["pairs"][1] == {
        "domain": "fabrikam.com",
        "direction": "inbound",
        "from": "b@fabrikam.com",
        "to": "a@x.com",
        "meant_domain_secured": True,
        "outcome": "queued",
        "detail": "Retry [{LED=454 4.7.5 Certificate validation failure.}]",
        "passed": False,
    }
    root = junit(matrix).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("4", "1")
    (failed,) = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert failed.get("name") == "fabrikam.com inbound"
