"""The seed walkthrough end to end, in both directions, and what each side then shows.

Both organizations import the partner's root, list the partner's domain in both TLS lists,
create a Partner send connector (proxied through the CAS, D2) and a Partner receive connector
for the partner CAS's address. A message each way must then arrive domain-secured, stamped by
the receiving CAS (D3, D10), with the protocol and tracking logs an admin would check.
"""

from __future__ import annotations

from dataclasses import dataclass

from integration_helpers import (
    configure_walkthrough,
    protocol_records,
    tracking_records,
)

from labsim.lab import Lab


@dataclass(frozen=True)
class Direction:
    """One direction of the walkthrough."""

    sender_org: str
    sender: str
    sender_mbx: str
    receiver_org: str
    receiver: str
    receiver_cas: str
    receiver_cas_fqdn: str
    receiver_mbx: str
    subject: str

    @property
    def sender_domain(self) -> str:
        return self.sender.split("@")[1]


DIRECTIONS = (
    Direction(
        "Adatum",
        "april@adatum.com",
        "ADATUM-MBX1",
        "TreyResearch",
        "ben@treyresearch.net",
        "TREY-CAS1",
        "mail.treyresearch.net",
        "TREY-MBX1",
        "Hello Trey",
    ),
    Direction(
        "TreyResearch",
        "ben@treyresearch.net",
        "TREY-MBX1",
        "Adatum",
        "april@adatum.com",
        "ADATUM-CAS1",
        "mail.adatum.com",
        "ADATUM-MBX1",
        "Hello Adatum",
    ),
)


def test_walkthrough_delivers_domain_secured_mail_both_ways(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")

    for d in DIRECTIONS:
        lab.send(mail_from=d.sender, to=[d.receiver], subject=d.subject)

    for d in DIRECTIONS:
        sender_org, receiver_org, cas = d.sender_org, d.receiver_org, d.receiver_cas
        sender_mbx, receiver_mbx, receiver = d.sender_mbx, d.receiver_mbx, d.receiver
        inbox = lab.inbox(receiver)
        assert [m.subject for m in inbox] == [d.subject]
        message = inbox[0]
        assert message.mail_from == d.sender
        assert message.domain_secured
        assert message.auth_as == "Partner"
        assert message.header("X-MS-Exchange-Organization-AuthDomain") == d.sender_domain
        assert message.header("X-MS-Exchange-Organization-AuthSource") == d.receiver_cas_fqdn
        assert message.header("X-MS-Exchange-Organization-AuthMechanism") == "02"
        # Exactly one AuthAs: the sender's own Internal stamp was not carried across (§10.1).
        assert message.headers.get_all("X-MS-Exchange-Organization-AuthAs") == ["Partner"]

        # Nothing is left queued on the sending side.
        queues = lab.queues(sender_org)
        assert all(q.message_count == 0 for q in queues), queues

        # The receiving CAS's protocol log: the Partner connector took the session, the client
        # certificate arrived, and MAIL FROM switched the session to Partner permissions.
        partner = sender_org  # the receive connector is named "From <sender org>"
        records = protocol_records(lab.protocol_log(receiver_org, cas, "receive"))
        session = [r for r in records if r["connector-id"] == f"{cas}\\From {partner}"]
        assert session, "no session on the Partner receive connector"
        contexts = [r["context"] for r in session]
        assert "Received certificate" in contexts
        assert any(
            r["data"] == "SMTPSubmit AcceptRoutingHeaders"
            and r["context"] == "Set Session Permissions"
            for r in session
        )
        lines = lab.protocol_log(receiver_org, cas, "receive")
        assert any(
            "SMTPSubmit AcceptRoutingHeaders,Set Session Permissions" in line for line in lines
        )
        # The permission switch happens at MAIL FROM (§5.3), after the certificate arrived.
        order = [
            r["data"] if r["event"] == "<" else r["context"]
            for r in session
            if r["event"] == "<"
            or r["context"] in ("Received certificate", "Set Session Permissions")
        ]
        assert order.index("Received certificate") < order.index(
            next(x for x in order if x.startswith("MAIL FROM:"))
        )

        # Tracking: SUBMIT and SEND on the sender's Mailbox server, RECEIVE and DELIVER on the
        # receiver's, all for the same Message-ID.
        subject = message.subject
        sent = [
            r
            for r in tracking_records(lab.tracking_log(sender_org, sender_mbx))
            if r["message-subject"] == subject
        ]
        received = [
            r
            for r in tracking_records(lab.tracking_log(receiver_org, receiver_mbx))
            if r["message-subject"] == subject
        ]
        sent_events = [r["event-id"] for r in sent]
        received_events = [r["event-id"] for r in received]
        assert "SUBMIT" in sent_events and "SEND" in sent_events
        assert sent_events.index("SUBMIT") < sent_events.index("SEND")
        assert "RECEIVE" in received_events and "DELIVER" in received_events
        assert received_events.index("RECEIVE") < received_events.index("DELIVER")
        assert {r["message-id"] for r in sent + received} == {message.message_id}
        send = next(r for r in sent if r["event-id"] == "SEND")
        assert send["recipient-address"] == receiver
        assert send["recipient-status"].startswith("250 ")
        deliver = next(r for r in received if r["event-id"] == "DELIVER")
        assert deliver["recipient-address"] == receiver


def test_message_body_survives_four_smtp_hops_byte_for_byte(lab: Lab) -> None:
    # MBX -> CAS proxy (717) -> partner CAS (25) -> partner MBX (2525): each hop dot-stuffs and
    # un-stuffs; lines that start with dots and a lone dot must come out unchanged.
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    body = "first\r\n.\r\n..two dots\r\n.one dot\r\n. \r\nlast line"

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Dots", body=body)

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.domain_secured
    assert message.content.endswith(b"\r\n\r\n" + body.encode() + b"\r\n")
    assert message.headers.get_content().replace("\r\n", "\n") == body.replace("\r\n", "\n") + "\n"


def test_one_message_to_a_local_and_two_partner_recipients(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")

    lab.send(
        mail_from="april@adatum.com",
        to=["ben@treyresearch.net", "ed@adatum.com"],
        cc=["terry@treyresearch.net"],
        subject="Mixed",
    )

    (local,) = lab.inbox("ed@adatum.com")
    assert local.auth_as == "Internal"  # never left the organization
    assert not local.domain_secured
    for address in ("ben@treyresearch.net", "terry@treyresearch.net"):
        (remote,) = lab.inbox(address)
        assert remote.domain_secured, address
    # Both partner recipients went in one transaction (one SEND per recipient, one session).
    sends = [
        r
        for r in tracking_records(lab.tracking_log("Adatum", "ADATUM-MBX1"))
        if r["event-id"] == "SEND"
    ]
    assert sorted(r["recipient-address"] for r in sends) == [
        "ben@treyresearch.net",
        "terry@treyresearch.net",
    ]
    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    mail_froms = [r for r in records if r["event"] == "<" and r["data"].startswith("MAIL FROM:")]
    assert len(mail_froms) == 1
