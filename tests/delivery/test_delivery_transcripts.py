"""The delivery core as transcripts: at this lab time this happened, the core answered exactly
these commands. No reactor, no socket, no clock: time is the transcript's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labsim.delivery import MAX_MESSAGES_PER_CONNECTION, TRANSITIONS, InvalidTransition, Phase
from labsim.delivery import commands as c
from labsim.delivery import events as e
from labsim.delivery.testing import DeliveryTranscript
from labsim.logs.tracking import TrackingEventId, TrackingSource
from labsim.model.enums import DeliveryType, MessageStatus, QueueStatus
from labsim.model.mail import MailItem
from labsim.policy.routing import NextHop
from labsim.smtp.reply import Reply

T0 = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
HOP = NextHop(
    "treyresearch.net", DeliveryType.DNS_CONNECTOR_DELIVERY, "To TreyResearch", "treyresearch.net"
)
TARGETS = (("mx0.treyresearch.net", "127.0.20.9"), ("mail.treyresearch.net", "127.0.20.1"))
REFUSED = Reply(
    441, "Error encountered while communicating with primary target IP address", "4.4.1"
)
UNTRUSTED = Reply(454, "Certificate validation failure", "4.7.5")
UNTRUSTED_AFTER_FAILOVER = Reply(
    451,
    'Primary target IP address responded with: "454 4.7.5 Certificate validation failure." '
    "Attempted failover to alternate host, but that did not succeed. Either there are no "
    "alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted "
    "was 127.0.20.1:25",
    "4.4.0",
)
"""What LastError shows when the last target answered 454 4.7.5 (§17 C1)."""
QUEUED = Reply(250, "Queued mail for delivery", "2.6.0")
MAILBOX_FULL = Reply(452, "Mailbox full", "4.2.2")
NO_SUCH_USER = Reply(550, "RESOLVER.ADR.RecipNotFound; not found", "5.1.1")
LAST_ERROR = "[{{LRT=11/30/2026 6:48:13 AM}};{{LED={led}}};{{FQDN={fqdn}}};{{IP={ip}}}]"


def item(n: int = 1, recipients: tuple[str, ...] = ("ben@treyresearch.net",)) -> MailItem:
    return MailItem(n, f"<m{n}@adatum.com>", "april@adatum.com", recipients, b"x", T0, f"S{n}")


def enqueue(t: DeliveryTranscript, n: int = 1, **kw: object) -> DeliveryTranscript:
    message = item(n, **kw)  # type: ignore[arg-type]
    return t.event(e.Enqueued(HOP, message, message.recipients, f"nmid-{n}", True))


def attempt_to_first_target(t: DeliveryTranscript) -> DeliveryTranscript:
    return (
        t.event(e.AttemptDue(1))
        .expect(c.ResolveRoute(1))
        .event(e.RouteResolved(1, TARGETS))
        .expect(c.OpenSession(1, 0))
    )


def test_a_message_fails_over_to_the_second_target_and_is_sent() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).expect(
        c.WakeAt(T0 + timedelta(days=2), e.MessageExpired(1, 1)),
        c.WakeAt(T0 + timedelta(hours=4), e.DelayDsnDue(1, 1)),
        c.WakeAt(T0, e.AttemptDue(1)),
    )
    assert t.queue().status is QueueStatus.ACTIVE
    attempt_to_first_target(t)
    assert t.queue().status is QueueStatus.ACTIVE
    t.event(e.SessionFailed(1, REFUSED, connected=False)).expect(
        c.Observe(f"ADATUM-MBX1\\1: mx0.treyresearch.net failed: {REFUSED}"),
        c.OpenSession(1, 1),
    )
    t.event(e.SessionOpened(1)).expect(c.Transmit(1, 1, reset_first=False))
    t.event(e.TransactionDone(1, 1, (("ben@treyresearch.net", QUEUED),), True)).expect(
        c.Track(
            TrackingEventId.SEND,
            item(),
            "nmid-1",
            ("ben@treyresearch.net",),
            (str(QUEUED),),
            server_ip="127.0.20.1",
            server_hostname="mail.treyresearch.net",
            connector_id="To TreyResearch",
        ),
        c.Observe(f"sent 'S1' for ben@treyresearch.net to mail.treyresearch.net: {QUEUED}"),
        c.CancelWake(e.MessageExpired(1, 1)),
        c.CancelWake(e.DelayDsnDue(1, 1)),
        c.CloseSession(1),
        c.EndAttempt(1),
    )
    queue = t.queue()
    assert queue.status is QueueStatus.READY and queue.messages == []
    assert queue.last_error == "" and queue.retry_count == 0


def test_every_target_failing_puts_the_queue_in_retry_on_the_d7_schedule() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t)
    attempt_to_first_target(t)
    t.event(e.SessionFailed(1, REFUSED, connected=False)).expect_kinds(c.Observe, c.OpenSession)
    t.event(e.SessionFailed(1, UNTRUSTED, connected=True)).expect(
        c.Observe(f"ADATUM-MBX1\\1: mail.treyresearch.net failed: {UNTRUSTED}"),
        c.EndAttempt(1),
        c.Track(
            TrackingEventId.DEFER,
            item(),
            "nmid-1",
            ("ben@treyresearch.net",),
            (str(UNTRUSTED_AFTER_FAILOVER),),
            connector_id="To TreyResearch",
        ),
        c.Explain(
            "ADATUM-MBX1\\1 in Retry: LastError "
            + LAST_ERROR.format(
                led=UNTRUSTED_AFTER_FAILOVER, fqdn="mail.treyresearch.net", ip="127.0.20.1"
            )
        ),
        c.Observe(f"ADATUM-MBX1\\1 → Retry: {UNTRUSTED_AFTER_FAILOVER}"),
        c.WakeAt(T0 + timedelta(minutes=5), e.RetryDue(1)),
    )
    queue = t.queue()
    assert queue.status is QueueStatus.RETRY and queue.retry_count == 1
    assert queue.messages[0].status is MessageStatus.RETRY
    assert queue.next_retry_time == T0 + timedelta(minutes=5)
    # Six retries 5 minutes apart, then every 10 minutes (D7).
    for n in range(2, 9):
        t.after(queue.next_retry_time - t.now).event(e.RetryDue(1)).expect(c.ResolveRoute(1))
        t.event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionFailed(1, UNTRUSTED, True))
        assert queue.retry_count == n
    assert queue.next_retry_time - t.now == timedelta(minutes=10)


def test_last_error_names_the_endpoint_attempted_and_keeps_the_441_of_an_unreachable_one() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    own_verdict = Reply(451, "STARTTLS is required to send mail", "5.7.3")
    t.event(e.SessionFailed(1, own_verdict, connected=True, port=2525))
    assert (
        '{LED=451 4.4.0 Primary target IP address responded with: "451 5.7.3 STARTTLS is '
        'required to send mail." Attempted failover to alternate host, but that did not '
        "succeed. Either there are no alternate hosts, or delivery failed to all alternate "
        "hosts. The last endpoint attempted was 127.0.20.1:2525};"
    ) in t.queue().last_error
    t.after(timedelta(minutes=5)).event(e.RetryDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionFailed(1, REFUSED, connected=False))
    assert f"{{LED={REFUSED}}}" in t.queue().last_error


def test_no_target_at_all_is_the_dns_failure() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, ()))
    t.expect_kinds(c.EndAttempt, c.Track, c.Explain, c.Observe, c.WakeAt)
    assert "{LED=451 4.4.0 DNS query failed." in t.queue().last_error
    assert "{FQDN=treyresearch.net};{IP=}" in t.queue().last_error


def test_a_permanent_refusal_of_the_session_fails_every_message_at_once() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t, 1)
    enqueue(t, 2).expect_kinds(c.WakeAt, c.WakeAt)  # already Active: no second attempt
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    refusal = Reply(554, "Transaction failed", "5.7.1")
    t.event(e.SessionFailed(1, refusal, connected=True)).expect(
        c.Observe(f"ADATUM-MBX1\\1: mail.treyresearch.net failed: {refusal}"),
        c.EndAttempt(1),
        c.CancelWake(e.MessageExpired(1, 1)),
        c.CancelWake(e.DelayDsnDue(1, 1)),
        c.FailRecipients(
            item(1),
            "nmid-1",
            (("ben@treyresearch.net", refusal, "mail.treyresearch.net", "127.0.20.1"),),
        ),
        c.CancelWake(e.MessageExpired(1, 2)),
        c.CancelWake(e.DelayDsnDue(1, 2)),
        c.FailRecipients(
            item(2),
            "nmid-2",
            (("ben@treyresearch.net", refusal, "mail.treyresearch.net", "127.0.20.1"),),
        ),
    )
    assert t.queue().status is QueueStatus.READY and not t.queue().messages


def test_per_recipient_outcomes_send_fail_and_keep() -> None:
    t = DeliveryTranscript(T0)
    recipients = ("a@treyresearch.net", "b@treyresearch.net", "c@treyresearch.net")
    enqueue(t, recipients=recipients).event(e.AttemptDue(1))
    t.event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionOpened(1))
    outcomes = (
        ("a@treyresearch.net", QUEUED),
        ("b@treyresearch.net", NO_SUCH_USER),
        ("c@treyresearch.net", MAILBOX_FULL),
    )
    t.event(e.TransactionDone(1, 1, outcomes, True)).expect_kinds(
        c.Track, c.Observe, c.FailRecipients, c.CloseSession, c.EndAttempt, c.Track, c.Explain,
        c.Observe, c.WakeAt,
    )  # fmt: skip
    fail = t.commands[2]
    assert isinstance(fail, c.FailRecipients)
    assert fail.failures == (
        ("b@treyresearch.net", NO_SUCH_USER, "mail.treyresearch.net", "127.0.20.1"),
    )
    (waiting,) = t.queue().messages
    assert waiting.recipients == ["c@treyresearch.net"]
    assert f"{{LED={MAILBOX_FULL}}}" in t.queue().last_error


def test_a_refused_mail_from_is_a_refusal_of_the_target_in_the_failover_form() -> None:
    # A per-recipient 4xx (above) stays as it is; a 4xx to MAIL FROM refuses the whole session
    # to this target, so LastError and the delay notice show it wrapped (§17 C1).
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1))
    t.event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionOpened(1))
    outcomes = (("ben@treyresearch.net", UNTRUSTED),)
    t.event(e.TransactionDone(1, 1, outcomes, True, refused_before_recipient=True, port=25))
    assert f"{{LED={UNTRUSTED_AFTER_FAILOVER}}}" in t.queue().last_error
    assert t.queue().messages[0].last_response == UNTRUSTED_AFTER_FAILOVER


def test_waiting_messages_go_twenty_per_session_with_rset_between() -> None:
    t = DeliveryTranscript(T0)
    for n in range(1, 46):
        enqueue(t, n)
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    sessions: list[list[tuple[int, bool]]] = []
    t.event(e.SessionOpened(1))
    while True:
        sent: list[tuple[int, bool]] = []
        while isinstance(t.commands[-1], c.Transmit):
            transmit = t.commands[-1]
            sent.append((transmit.entry, transmit.reset_first))
            t.event(e.TransactionDone(1, transmit.entry, (("ben@treyresearch.net", QUEUED),), True))
        sessions.append(sent)
        if isinstance(t.commands[-1], c.OpenSession):
            assert t.commands[-1] == c.OpenSession(1, 0)  # again the target that worked
            assert c.CloseSession(1) in t.commands
            t.event(e.SessionOpened(1))
            continue
        assert t.commands[-2:] == [c.CloseSession(1), c.EndAttempt(1)]
        break
    assert [len(s) for s in sessions] == [MAX_MESSAGES_PER_CONNECTION, 20, 5]
    assert all(reset == (i > 0) for s in sessions for i, (_, reset) in enumerate(s))
    assert [entry for s in sessions for entry, _ in s] == list(range(1, 46))
    assert t.queue().status is QueueStatus.READY


def test_a_message_that_arrives_during_an_attempt_gets_its_own_attempt_at_once() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t, 1).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionOpened(1))
    enqueue(t, 2).expect_kinds(c.WakeAt, c.WakeAt)
    t.event(e.TransactionDone(1, 1, (("ben@treyresearch.net", QUEUED),), True))
    assert t.commands[-3:] == [c.CloseSession(1), c.EndAttempt(1), c.WakeAt(T0, e.AttemptDue(1))]


def test_a_session_dropped_mid_batch_leaves_the_rest_for_the_retry() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t, 1)
    enqueue(t, 2)
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionOpened(1))
    dropped = Reply(421, "Connection dropped due to SocketError", "4.4.2")
    t.event(e.TransactionDone(1, 1, (("ben@treyresearch.net", dropped),), False))
    assert c.Transmit(1, 2, True) not in t.commands
    assert t.queue().status is QueueStatus.RETRY
    assert f"{{LED={dropped}}}" in t.queue().last_error


def test_suspend_holds_the_queue_and_resume_attempts_it_now() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, ()))
    t.after(timedelta(minutes=1)).event(e.Suspended(1)).expect(
        c.CancelWake(e.RetryDue(1)), c.CancelWake(e.AttemptDue(1))
    )
    assert t.queue().status is QueueStatus.SUSPENDED
    assert t.queue().messages[0].status is MessageStatus.SUSPENDED
    t.event(e.AttemptDue(1)).expect()  # a stale wake-up does nothing
    with pytest.raises(InvalidTransition, match="RetryForced does not apply"):
        t.event(e.RetryForced(1))
    t.event(e.Resumed(1)).expect(c.WakeAt(t.now, e.AttemptDue(1)))
    assert t.queue().status is QueueStatus.ACTIVE
    assert t.queue().messages[0].status is MessageStatus.READY


def test_suspended_during_an_attempt_stays_suspended() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.Suspended(1))
    t.event(e.SessionFailed(1, UNTRUSTED, connected=True))
    assert t.queue().status is QueueStatus.SUSPENDED
    assert not any(isinstance(command, c.WakeAt) for command in t.commands)
    assert f"{{LED={UNTRUSTED_AFTER_FAILOVER}}}" in t.queue().last_error


def test_retry_queue_only_for_a_queue_in_retry() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t)
    with pytest.raises(InvalidTransition):
        t.event(e.RetryForced(1))
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, ()))
    t.after(timedelta(seconds=30)).event(e.RetryForced(1)).expect(
        c.CancelWake(e.RetryDue(1)), c.WakeAt(T0 + timedelta(seconds=30), e.AttemptDue(1))
    )


def test_a_stopped_service_makes_no_attempt_until_it_starts() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).stopped().event(e.AttemptDue(1)).expect()
    t.stopped(False).event(e.ServiceStarted()).expect(
        c.CancelWake(e.RetryDue(1)), c.WakeAt(T0, e.AttemptDue(1))
    )


def test_expiry_fails_the_message_with_queue_expired_and_the_last_error() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionFailed(1, UNTRUSTED, connected=True))
    expired = Reply(550, f"QUEUE.Expired; {UNTRUSTED_AFTER_FAILOVER}", "4.4.7")
    t.after(timedelta(days=2)).event(e.MessageExpired(1, 1)).expect(
        c.CancelWake(e.MessageExpired(1, 1)),
        c.CancelWake(e.DelayDsnDue(1, 1)),
        c.Observe(f"'S1' expired in ADATUM-MBX1\\1: {expired}"),
        c.FailRecipients(
            item(), "nmid-1", (("ben@treyresearch.net", expired, None, None),), TrackingSource.QUEUE
        ),
        c.CancelWake(e.RetryDue(1)),
    )
    assert t.queue().status is QueueStatus.READY
    t.event(e.MessageExpired(1, 1)).expect()  # already gone


def test_the_delay_dsn_goes_once_with_the_last_error() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionFailed(1, UNTRUSTED, connected=True))
    t.after(timedelta(hours=4)).event(e.DelayDsnDue(1, 1)).expect(
        c.SendDelayDsn(
            item(),
            "nmid-1",
            ("ben@treyresearch.net",),
            UNTRUSTED_AFTER_FAILOVER,
            T0,
            T0 + timedelta(days=2),
            "mail.treyresearch.net",
            "127.0.20.1",
        )
    )
    t.event(e.DelayDsnDue(1, 1)).expect()


def test_no_delay_dsn_for_a_dsn_or_when_disabled() -> None:
    t = DeliveryTranscript(T0)
    t.event(e.Enqueued(HOP, item(), item().recipients, "nmid-1", False))
    t.expect(
        c.WakeAt(T0 + timedelta(days=2), e.MessageExpired(1, 1)), c.WakeAt(T0, e.AttemptDue(1))
    )


def test_a_removed_connector_hands_the_messages_back_to_the_categorizer() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t, recipients=("a@treyresearch.net", "b@treyresearch.net")).event(e.AttemptDue(1))
    t.event(e.ConnectorRemoved(1)).expect(
        c.EndAttempt(1),
        c.CancelWake(e.MessageExpired(1, 1)),
        c.CancelWake(e.DelayDsnDue(1, 1)),
        c.Resubmit(item(recipients=("a@treyresearch.net", "b@treyresearch.net")), "nmid-1"),
    )
    assert t.queue().status is QueueStatus.READY and not t.queue().messages


def test_no_connector_waits_in_unreachable() -> None:
    t = DeliveryTranscript(T0)
    t.event(e.Enqueued(None, item(), item().recipients, "nmid-1", True))
    t.expect_kinds(c.WakeAt, c.WakeAt)
    queue = t.queue()
    assert queue.identity == "ADATUM-MBX1\\1" and queue.next_hop_domain == "Unreachable"
    assert queue.status is QueueStatus.READY
    assert queue.last_error == "550 5.4.4 ROUTING.NoConnectorForAddressType"


def test_a_labsim_bug_during_an_attempt_ends_it_in_retry() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    bug = Reply(451, "Temporary server error. Please try again later", "4.3.2")
    t.event(e.AttemptAborted(1, bug))
    assert t.commands[0] == c.EndAttempt(1)
    assert t.queue().status is QueueStatus.RETRY
    assert f"{{LED={bug}}}" in t.queue().last_error


def test_session_events_outside_an_attempt_are_misuse() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t)
    with pytest.raises(InvalidTransition, match="SessionOpened does not apply"):
        t.event(e.SessionOpened(1))


def test_the_table_covers_timers_and_cmdlets_in_every_phase() -> None:
    always = (e.MessageExpired, e.DelayDsnDue, e.Suspended, e.Resumed, e.Enqueued, e.AttemptDue)
    for phase in Phase:
        for kind in always:
            assert (phase, kind) in TRANSITIONS, (phase, kind)
    attempt_events = (e.RouteResolved, e.SessionOpened, e.SessionFailed, e.TransactionDone)
    for kind in attempt_events:
        assert [p for p in Phase if (p, kind) in TRANSITIONS] == [
            p for p in (Phase.RESOLVING, Phase.CONNECTING, Phase.TRANSMITTING)
            if (p, kind) in TRANSITIONS
        ]  # fmt: skip
