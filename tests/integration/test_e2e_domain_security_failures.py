"""Domain Security when something is missing: the sender does not trust the partner's root
(the message waits in Retry, §4.5, D8), and the receiver does not list the sender's domain
(the message arrives, but not domain-secured, §5.3)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from integration_helpers import (
    configure_walkthrough,
    import_partner_root,
    lab_with_mailbox_certificate,
    new_partner_receive_connector,
    new_partner_send_connector,
    protocol_records,
    set_lists,
    sh,
    tracking_records,
    verbose_default_frontend,
)

from labsim.lab import Lab
from labsim.model.enums import QueueStatus

LAST_ERROR = re.compile(
    r"\[\{LRT=(?P<lrt>[^}]+)\};\{LED=(?P<led>[^}]+)\};\{FQDN=(?P<fqdn>[^}]+)\};\{IP=(?P<ip>[^}]+)\}\]\Z"
)


def test_untrusted_partner_root_keeps_the_message_in_retry_until_the_root_is_imported(
    start_lab: Callable[..., Lab],
) -> None:
    # D13: without the proxy the Mailbox server connects from 127.0.10.2 with its own
    # certificate (the lab gives it one from Adatum's CA that names adatum.com).
    lab = start_lab(lab_with_mailbox_certificate())
    _untrusted_root_without_proxy(lab)  # Adatum has NOT imported TreyResearch's root

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Untrusted")

    assert lab.inbox("ben@treyresearch.net") == ()
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    assert queue.identity == "ADATUM-MBX1\\1"
    assert queue.status is QueueStatus.RETRY
    assert queue.message_count == 1
    assert queue.tls_domain == "treyresearch.net"
    match = LAST_ERROR.match(queue.last_error)
    assert match, queue.last_error
    assert match["led"] == (
        '451 4.4.0 Primary target IP address responded with: "454 4.7.5 Certificate validation '
        'failure." Attempted failover to alternate host, but that did not succeed. Either there '
        "are no alternate hosts, or delivery failed to all alternate hosts. The last endpoint "
        "attempted was 127.0.20.1:25"
    )
    assert match["fqdn"] == "mail.treyresearch.net"
    assert match["ip"] == "127.0.20.1"
    first_retry_count = queue.retry_count
    assert first_retry_count >= 1
    (message,) = lab.messages("Adatum", "ADATUM-MBX1\\treyresearch.net")
    assert message.subject == "Untrusted"

    # The sender refused the session before MAIL FROM: the receiver never saw a transaction.
    trey_log = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    assert trey_log, "the Mailbox server did connect to TREY-CAS1"
    assert all(r["remote-endpoint"].startswith("127.0.10.2:") for r in trey_log)
    assert not any(r["data"].startswith("MAIL FROM:") for r in trey_log)

    # Five minutes later (TransientFailureRetryInterval, D7) the queue tries again and fails,
    # over a resumed TLS session: its cached certificates are verified again, not trusted.
    tls = lab.world.tls_sessions
    resumed_before = tls.resumed_handshakes
    lab.advance(5 * 60)
    assert tls.resumed_handshakes > resumed_before
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    assert queue.status is QueueStatus.RETRY
    assert queue.retry_count > first_retry_count
    assert (
        '{LED=451 4.4.0 Primary target IP address responded with: "454 4.7.5 Certificate validation failure." Attempted failover'
        in queue.last_error
    )
    assert lab.inbox("ben@treyresearch.net") == ()

    # The admin imports the root and forces a retry: the message goes out domain-secured.
    import_partner_root(lab, "Adatum")
    resumed_before = tls.resumed_handshakes
    sh(lab, "Adatum", "Retry-Queue -Identity ADATUM-MBX1\\treyresearch.net")
    assert tls.resumed_handshakes > resumed_before  # the same session, now trusted

    (delivered,) = lab.inbox("ben@treyresearch.net")
    assert delivered.subject == "Untrusted"
    assert delivered.domain_secured
    assert delivered.auth_as == "Partner"
    assert delivered.header("X-MS-Exchange-Organization-AuthDomain") == "adatum.com"
    assert delivered.header("X-MS-Exchange-Organization-AuthSource") == "mail.treyresearch.net"
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    assert queue.message_count == 0
    assert queue.status is not QueueStatus.RETRY
    # It came straight from the Mailbox server, not through ADATUM-CAS1's proxy (D13).
    received = delivered.headers.get_all("Received")
    assert any(
        "from adatum-mbx1.adatum.com (127.0.10.2) by mail.treyresearch.net" in h for h in received
    )
    assert not any("by mail.adatum.com" in h for h in received)


def _untrusted_root_without_proxy(lab: Lab) -> None:
    set_lists(lab, "Adatum", send="treyresearch.net", receive="treyresearch.net")
    new_partner_send_connector(lab, "Adatum", proxy=False)
    import_partner_root(lab, "TreyResearch")
    set_lists(lab, "TreyResearch", send="adatum.com", receive="adatum.com")
    new_partner_receive_connector(lab, "TreyResearch", remote="127.0.10.2")


def test_a_message_that_never_gets_through_expires_with_an_ndr(
    start_lab: Callable[..., Lab],
) -> None:
    lab = start_lab(lab_with_mailbox_certificate(message_expiration_timeout=timedelta(minutes=30)))
    _untrusted_root_without_proxy(lab)

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Doomed")
    lab.advance(29 * 60)
    assert lab.inbox("april@adatum.com") == ()  # still retrying: no NDR before expiry
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    assert queue.message_count == 1
    lab.advance(2 * 60)

    assert lab.inbox("ben@treyresearch.net") == ()
    (queue,) = [q for q in lab.queues("Adatum") if q.next_hop_domain == "treyresearch.net"]
    assert queue.message_count == 0
    (ndr,) = lab.inbox("april@adatum.com")
    assert ndr.subject == "Undeliverable: Doomed"
    assert ndr.headers.get_content_type() == "multipart/report"
    assert ndr.headers.get_param("report-type") == "delivery-status"
    text = ndr.content.decode()
    assert "Status: 4.4.7" in text
    assert (
        "Diagnostic-Code: smtp;550 4.4.7 QUEUE.Expired; 451 4.4.0 Primary target IP address "
        'responded with: "454 4.7.5 Certificate validation failure." Attempted failover'
    ) in text
    fail = [
        r
        for r in tracking_records(lab.tracking_log("Adatum", "ADATUM-MBX1"))
        if r["event-id"] == "FAIL" and r["message-subject"] == "Doomed"
    ]
    assert [r["recipient-address"] for r in fail] == ["ben@treyresearch.net"]
    assert fail[0]["recipient-status"].startswith("550 4.4.7 QUEUE.Expired")


def test_sender_domain_missing_from_receive_list_arrives_anonymous(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    # TreyResearch trusts Adatum's root (so the client certificate would validate) but lists
    # adatum.com only for sending and has no Partner receive connector: no Partner check.
    import_partner_root(lab, "TreyResearch")
    set_lists(lab, "TreyResearch", send="adatum.com", receive=None)
    verbose_default_frontend(lab, "TreyResearch", "TREY-CAS1")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Not listed")

    (message,) = lab.inbox("ben@treyresearch.net")
    assert message.subject == "Not listed"
    assert not message.domain_secured
    assert message.auth_as == "Anonymous"
    assert message.header("X-MS-Exchange-Organization-AuthDomain") is None
    # The session did use TLS with Adatum's certificate; only the list decides (§5.3).
    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    session = [r for r in records if r["remote-endpoint"].startswith("127.0.10.1:")]
    assert any(r["context"] == "Received certificate" for r in session)
    assert not any(r["data"] == "SMTPSubmit AcceptRoutingHeaders" for r in session)


def test_partner_connector_without_the_list_entry_refuses_and_the_sender_gets_an_ndr(
    lab: Lab,
) -> None:
    # The session lands on TREY-CAS1\From Adatum (PermissionGroups Partners) but adatum.com is
    # not in TLSReceiveDomainSecureList: no Partner identity, and an anonymous session has no
    # SMTPSubmit there (§5.3, D11) -> a permanent 530 at MAIL FROM -> NDR on Adatum.
    configure_walkthrough(lab, "Adatum")
    import_partner_root(lab, "TreyResearch")
    set_lists(lab, "TreyResearch", send="adatum.com", receive=None)
    new_partner_receive_connector(lab, "TreyResearch")

    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Refused")

    assert lab.inbox("ben@treyresearch.net") == ()
    (ndr,) = lab.inbox("april@adatum.com")
    assert ndr.subject == "Undeliverable: Refused"
    assert ndr.headers.get_content_type() == "multipart/report"
    assert "530 5.7.1 Client was not authenticated" in ndr.content.decode()
    assert all(q.message_count == 0 for q in lab.queues("Adatum"))
    records = protocol_records(lab.protocol_log("TreyResearch", "TREY-CAS1", "receive"))
    replies = [r["data"] for r in records if r["connector-id"] == "TREY-CAS1\\From Adatum"]
    assert "530 5.7.1 Client was not authenticated" in replies
