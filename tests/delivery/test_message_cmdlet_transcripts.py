"""Suspend-, Resume- and Remove-Message in the delivery core, as transcripts: one story per row
of TRANSITIONS (idle phases act at once; during an attempt the message whose transaction runs
is marked PendingSuspend / PendingRemove, any other is held or removed and skipped)."""

from __future__ import annotations

from datetime import timedelta

from labsim.delivery import TRANSITIONS, Phase
from labsim.delivery import commands as c
from labsim.delivery import events as e
from labsim.delivery.machine import DELAYED_DELETE_BY_ADMIN, DELETED_BY_ADMIN
from labsim.delivery.queue import QueuedMessage
from labsim.delivery.testing import DeliveryTranscript
from labsim.logs.tracking import TrackingSource
from labsim.model.enums import MessageStatus, QueueStatus
from labsim.smtp.reply import Reply
from tests.delivery.test_delivery_transcripts import (
    HOP,
    MAILBOX_FULL,
    QUEUED,
    T0,
    TARGETS,
    UNTRUSTED,
    enqueue,
    item,
)

BEN = "ben@treyresearch.net"


def _status(t: DeliveryTranscript, entry: int) -> MessageStatus:
    return next(m.status for m in t.queue().message_views() if m.identity.endswith(f"\\{entry}"))


def _in_retry(t: DeliveryTranscript, *entries: int) -> DeliveryTranscript:
    for n in entries:
        enqueue(t, n)
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionFailed(1, UNTRUSTED, connected=True))
    assert t.queue().status is QueueStatus.RETRY
    return t


def _removed(n: int, reply: Reply = DELETED_BY_ADMIN, *, ndr: bool = True) -> list[object]:
    return [
        c.CancelWake(e.MessageExpired(1, n)),
        c.CancelWake(e.DelayDsnDue(1, n)),
        c.Observe(f"'S{n}' removed from ADATUM-MBX1\\1" + ("" if ndr else " without NDR")),
        c.FailRecipients(
            item(n), f"nmid-{n}", ((BEN, reply, None, None),), TrackingSource.ADMIN, ndr
        ),
    ]


def test_the_table_has_a_row_for_every_message_cmdlet_in_every_phase() -> None:
    for kind in (e.MessageSuspended, e.MessageResumed, e.MessageRemoved):
        assert [p for p in Phase if (p, kind) not in TRANSITIONS] == [], kind


# --- idle phases: at once ------------------------------------------------------------------------


def test_suspend_in_scheduled_holds_it_and_the_due_attempt_finds_nothing_to_send() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t)
    assert t.queue().status is QueueStatus.ACTIVE  # Scheduled: the attempt is due
    t.event(e.MessageSuspended(1, 1)).expect(c.Observe("'S1' suspended in ADATUM-MBX1\\1"))
    assert _status(t, 1) is MessageStatus.SUSPENDED
    t.event(e.AttemptDue(1)).expect()  # no ResolveRoute: nothing it may send
    assert t.queue().status is QueueStatus.READY and len(t.queue().messages) == 1


def test_resume_in_ready_attempts_at_once() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.MessageSuspended(1, 1)).event(e.AttemptDue(1))
    t.after(timedelta(minutes=3)).event(e.MessageResumed(1, 1)).expect(
        c.Observe("'S1' resumed in ADATUM-MBX1\\1"),
        c.WakeAt(T0 + timedelta(minutes=3), e.AttemptDue(1)),
    )
    assert _status(t, 1) is MessageStatus.READY
    t.event(e.AttemptDue(1)).expect(c.ResolveRoute(1))


def test_suspend_in_retry_sends_only_the_others_at_the_next_retry() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1, 2)
    t.event(e.MessageSuspended(1, 1))
    assert _status(t, 1) is MessageStatus.SUSPENDED and _status(t, 2) is MessageStatus.RETRY
    t.after(timedelta(minutes=5)).event(e.RetryDue(1)).expect(c.ResolveRoute(1))
    t.event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionOpened(1))
    t.expect(c.Transmit(1, 2, reset_first=False))
    t.event(e.TransactionDone(1, 2, ((BEN, QUEUED),), True))
    # The held message was not part of the attempt: no Retry, no new attempt for it.
    assert t.commands[-2:] == [c.CloseSession(1), c.EndAttempt(1)]
    assert t.queue().status is QueueStatus.READY and t.queue().retry_count == 0
    assert [m.entry for m in t.queue().messages] == [1]


def test_resume_in_retry_waits_for_the_next_retry() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1)
    t.event(e.MessageSuspended(1, 1))
    t.event(e.MessageResumed(1, 1)).expect(c.Observe("'S1' resumed in ADATUM-MBX1\\1"))
    assert _status(t, 1) is MessageStatus.READY
    assert t.queue().status is QueueStatus.RETRY
    t.after(timedelta(minutes=5)).event(e.RetryDue(1)).expect(c.ResolveRoute(1))


def test_a_held_message_of_a_suspended_queue_stays_held_after_resume_queue() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1, 2)
    t.event(e.Suspended(1)).event(e.MessageSuspended(1, 1))
    t.event(e.Resumed(1)).expect(c.WakeAt(t.now, e.AttemptDue(1)))
    assert _status(t, 1) is MessageStatus.SUSPENDED and _status(t, 2) is MessageStatus.READY
    # Resume-Message in a suspended queue releases the message's own hold only.
    t.event(e.Suspended(1)).event(e.MessageResumed(1, 1))
    assert _status(t, 1) is MessageStatus.SUSPENDED
    assert not any(isinstance(command, c.WakeAt) for command in t.commands)
    t.event(e.Resumed(1))
    assert _status(t, 1) is MessageStatus.READY


def test_only_held_messages_left_do_not_keep_resuming_the_queue() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1)
    t.event(e.Suspended(1)).event(e.MessageSuspended(1, 1))
    t.event(e.Resumed(1)).expect()  # nothing it may send: no attempt
    assert t.queue().status is QueueStatus.READY


def test_remove_in_retry_fails_it_from_admin_and_the_empty_queue_is_ready() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1)
    t.event(e.MessageRemoved(1, 1)).expect(*_removed(1), c.CancelWake(e.RetryDue(1)))
    assert t.queue().status is QueueStatus.READY and t.queue().messages == []


def test_remove_without_ndr_says_so_in_the_command() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1, 2)
    t.event(e.MessageRemoved(1, 2, with_ndr=False)).expect(*_removed(2, ndr=False))
    assert t.queue().status is QueueStatus.RETRY  # the other message still waits


def test_remove_in_scheduled_and_in_a_suspended_queue() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t, 1)
    enqueue(t, 2)
    t.event(e.MessageRemoved(1, 1)).expect(*_removed(1))
    t.event(e.Suspended(1)).event(e.MessageRemoved(1, 2)).expect(*_removed(2))
    assert t.queue().status is QueueStatus.SUSPENDED and t.queue().messages == []


def test_a_held_message_still_expires() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1)
    t.event(e.MessageSuspended(1, 1))
    t.after(timedelta(days=2)).event(e.MessageExpired(1, 1))
    fail = next(command for command in t.commands if isinstance(command, c.FailRecipients))
    assert fail.source is TrackingSource.QUEUE and "QUEUE.Expired" in str(fail.failures[0][1])
    assert t.queue().messages == []


def test_commands_for_a_message_no_longer_there_do_nothing() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t)
    for event in (e.MessageSuspended(1, 9), e.MessageResumed(1, 9), e.MessageRemoved(1, 9)):
        t.event(event).expect()


# --- attempt phases: skip, or pending while the transaction runs ---------------------------------


def test_suspended_while_resolving_or_connecting_is_skipped() -> None:
    for stage in ("resolving", "connecting"):
        t = DeliveryTranscript(T0)
        enqueue(t, 1)
        enqueue(t, 2)
        t.event(e.AttemptDue(1))
        if stage == "connecting":
            t.event(e.RouteResolved(1, TARGETS[1:]))
        t.event(e.MessageSuspended(1, 1)).expect(c.Observe("'S1' suspended in ADATUM-MBX1\\1"))
        if stage == "resolving":
            t.event(e.RouteResolved(1, TARGETS[1:]))
        t.event(e.SessionOpened(1)).expect(c.Transmit(1, 2, reset_first=False))
        t.event(e.TransactionDone(1, 2, ((BEN, QUEUED),), True))
        assert t.commands[-2:] == [c.CloseSession(1), c.EndAttempt(1)], stage
        assert _status(t, 1) is MessageStatus.SUSPENDED


def test_the_next_message_of_the_batch_suspended_or_removed_is_skipped() -> None:
    t = DeliveryTranscript(T0)
    for n in (1, 2, 3):
        enqueue(t, n)
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionOpened(1))
    t.expect(c.Transmit(1, 1, reset_first=False))
    t.event(e.MessageSuspended(1, 2)).event(e.MessageRemoved(1, 3)).expect(*_removed(3))
    t.event(e.TransactionDone(1, 1, ((BEN, QUEUED),), True))
    assert not any(isinstance(command, c.Transmit) for command in t.commands)
    assert t.commands[-2:] == [c.CloseSession(1), c.EndAttempt(1)]
    assert [m.entry for m in t.queue().messages] == [2]


def test_resumed_during_the_attempt_goes_right_after_it() -> None:
    t = DeliveryTranscript(T0)
    for n in (1, 2, 3):
        enqueue(t, n)
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:])).event(e.SessionOpened(1))
    t.event(e.MessageSuspended(1, 2))  # in this session's batch: skipped when its turn comes
    t.event(e.TransactionDone(1, 1, ((BEN, QUEUED),), True))
    assert t.commands[-1] == c.Transmit(1, 3, reset_first=True)
    t.event(e.MessageResumed(1, 2))
    t.event(e.TransactionDone(1, 3, ((BEN, QUEUED),), True))
    # Skipped, it was not tried: no Retry for it, a new attempt at once.
    assert t.commands[-3:] == [c.CloseSession(1), c.EndAttempt(1), c.WakeAt(T0, e.AttemptDue(1))]
    assert t.queue().retry_count == 0


def test_a_failed_attempt_defers_only_what_it_tried() -> None:
    t = _in_retry(DeliveryTranscript(T0), 1, 2)
    t.event(e.MessageSuspended(1, 1))
    t.after(timedelta(minutes=5)).event(e.RetryDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionFailed(1, UNTRUSTED, connected=True))
    deferred = [command.item.subject for command in t.commands if isinstance(command, c.Track)]
    assert deferred == ["S2"]
    assert t.queue().messages[0].retry_count == 1  # the held one kept its count


def test_suspend_while_its_transaction_runs_is_pending_then_held_if_it_comes_back() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionOpened(1)).expect(c.Transmit(1, 1, reset_first=False))
    t.event(e.MessageSuspended(1, 1)).expect(c.Observe("'S1' in ADATUM-MBX1\\1: PendingSuspend"))
    assert _status(t, 1) is MessageStatus.PENDING_SUSPEND
    t.event(e.TransactionDone(1, 1, ((BEN, MAILBOX_FULL),), True))
    assert c.Observe("'S1' suspended in ADATUM-MBX1\\1") in t.commands
    assert _status(t, 1) is MessageStatus.SUSPENDED
    # Held: the queue goes Ready rather than retrying a message it may not send.
    assert t.queue().status is QueueStatus.READY


def test_suspend_pending_is_moot_when_the_transaction_delivers() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionOpened(1)).event(e.MessageSuspended(1, 1))
    t.event(e.MessageResumed(1, 1)).expect()  # cancels the pending suspend
    assert _status(t, 1) is not MessageStatus.PENDING_SUSPEND
    t.event(e.TransactionDone(1, 1, ((BEN, QUEUED),), True))
    assert t.queue().messages == []


def test_remove_while_its_transaction_runs_is_pending_and_delivery_is_not_interrupted() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionOpened(1)).event(e.MessageRemoved(1, 1))
    t.expect(c.Observe("'S1' in ADATUM-MBX1\\1: PendingRemove"))
    assert _status(t, 1) is MessageStatus.PENDING_REMOVE
    t.event(e.MessageRemoved(1, 1)).expect()  # already pending
    t.event(e.TransactionDone(1, 1, ((BEN, QUEUED),), True))
    assert not any(isinstance(command, c.FailRecipients) for command in t.commands)
    assert t.queue().messages == [] and t.queue().status is QueueStatus.READY


def test_pending_remove_removes_it_when_it_comes_back_with_the_ddadmin_reason() -> None:
    t = DeliveryTranscript(T0)
    enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
    t.event(e.SessionOpened(1)).event(e.MessageRemoved(1, 1, with_ndr=False))
    t.event(e.TransactionDone(1, 1, ((BEN, MAILBOX_FULL),), True))
    assert t.commands[:4] == _removed(1, DELAYED_DELETE_BY_ADMIN, ndr=False)
    assert t.commands[-2:] == [c.CloseSession(1), c.EndAttempt(1)]
    assert t.queue().messages == [] and t.queue().status is QueueStatus.READY


def test_pending_remove_when_the_session_drops_or_the_attempt_aborts() -> None:
    for end in ("dropped", "aborted"):
        t = DeliveryTranscript(T0)
        enqueue(t).event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS[1:]))
        t.event(e.SessionOpened(1)).event(e.MessageRemoved(1, 1))
        if end == "dropped":
            dropped = Reply(421, "Connection dropped due to SocketError", "4.4.2")
            t.event(e.TransactionDone(1, 1, ((BEN, dropped),), session_open=False))
        else:
            t.event(e.AttemptAborted(1, Reply(451, "Temporary server error", "4.3.2")))
        assert t.commands[:4] == _removed(1, DELAYED_DELETE_BY_ADMIN), end
        assert t.queue().messages == [], end


# --- a hold kept across a restart (--state) ------------------------------------------------------


class _Journal:
    """Records what the core tells the store, as (what, entry, held)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, bool]] = []

    def queued(self, queue: object, message: QueuedMessage) -> None:
        self.calls.append(("queued", message.entry, message.held))

    def recipients_changed(self, message: QueuedMessage) -> None:
        self.calls.append(("recipients", message.entry, message.held))

    def held_changed(self, message: QueuedMessage) -> None:
        self.calls.append(("held", message.entry, message.held))

    def left(self, message: QueuedMessage) -> None:
        self.calls.append(("left", message.entry, message.held))


def _restored_held(t: DeliveryTranscript, n: int = 1) -> DeliveryTranscript:
    message = item(n)
    return t.event(e.Enqueued(HOP, message, message.recipients, f"nmid-{n}", True, held=True))


def test_a_message_restored_held_enters_its_queue_suspended_and_no_attempt_starts() -> None:
    t = DeliveryTranscript(T0 + timedelta(hours=1))
    _restored_held(t).expect(
        # Expiry and the delay DSN keep the message's own dates (received at T0).
        c.WakeAt(T0 + timedelta(days=2), e.MessageExpired(1, 1)),
        c.WakeAt(T0 + timedelta(hours=4), e.DelayDsnDue(1, 1)),
    )
    assert _status(t, 1) is MessageStatus.SUSPENDED
    assert t.queue().status is QueueStatus.READY


def test_a_message_restored_held_is_sent_after_resume_message() -> None:
    t = DeliveryTranscript(T0 + timedelta(hours=1))
    _restored_held(t)
    t.event(e.MessageResumed(1, 1)).expect(
        c.Observe("'S1' resumed in ADATUM-MBX1\\1"),
        c.WakeAt(T0 + timedelta(hours=1), e.AttemptDue(1)),
    )
    assert _status(t, 1) is MessageStatus.READY
    t.event(e.AttemptDue(1)).expect(c.ResolveRoute(1))


def test_a_message_restored_held_still_expires_at_its_own_date() -> None:
    t = DeliveryTranscript(T0 + timedelta(hours=1))
    _restored_held(t)
    t.after(timedelta(days=2)).event(e.MessageExpired(1, 1))
    assert [type(command) for command in t.commands] == [
        c.CancelWake,
        c.CancelWake,
        c.Observe,
        c.FailRecipients,
    ]
    assert t.queue().messages == []


def test_the_store_hears_of_every_change_of_a_hold() -> None:
    journal = _Journal()
    t = DeliveryTranscript(T0, journal=journal)
    enqueue(t).event(e.MessageSuspended(1, 1)).event(e.MessageResumed(1, 1))
    _restored_held(t, 2)
    # A transaction running while Suspend-Message came: held when it comes back (a 4xx).
    t.event(e.AttemptDue(1)).event(e.RouteResolved(1, TARGETS)).event(e.SessionOpened(1))
    t.event(e.MessageSuspended(1, 1))
    t.event(e.TransactionDone(1, 1, ((BEN, MAILBOX_FULL),), True))
    assert journal.calls == [
        ("queued", 1, False),
        ("held", 1, True),
        ("held", 1, False),
        ("queued", 2, True),
        ("held", 1, True),
    ]
