"""Retry schedule, expiry and queue LastError text (docs/exchange-reference.md §4.5, D7, D8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from labsim.model.transport import TransportService
from labsim.policy.retry import (
    delay_dsn_due,
    expired_reply,
    expired_status,
    expires_at,
    format_last_error,
    format_lrt,
    is_permanent,
    next_retry_time,
    retry_schedule,
)
from labsim.smtp.reply import Reply

T0 = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
SERVICE = TransportService()
CERT_FAILURE = Reply(454, "Certificate validation failure", "4.7.5")


def test_first_eight_retry_times() -> None:
    times = retry_schedule(first_attempt=T0, service=SERVICE, count=8)
    assert [int((t - T0).total_seconds() // 60) for t in times] == [5, 10, 15, 20, 25, 30, 40, 50]
    # The same, step by step through next_retry_time.
    last = T0
    for attempt, expected in enumerate(times, start=1):
        last = next_retry_time(attempts=attempt, last_attempt=last, service=SERVICE)
        assert last == expected


def test_retry_intervals_follow_the_service_settings() -> None:
    service = TransportService(
        transient_failure_retry_count=2,
        transient_failure_retry_interval=timedelta(minutes=1),
        outbound_connection_failure_retry_interval=timedelta(minutes=30),
    )
    times = retry_schedule(first_attempt=T0, service=service, count=4)
    assert [int((t - T0).total_seconds() // 60) for t in times] == [1, 2, 32, 62]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next_retry_time(attempts=0, last_attempt=T0, service=SERVICE)
    with pytest.raises(ValueError, match="no time zone"):
        next_retry_time(attempts=1, last_attempt=datetime(2026, 1, 1), service=SERVICE)


def test_delay_dsn_and_expiry() -> None:
    assert delay_dsn_due(T0, SERVICE, False) == T0 + timedelta(hours=4)
    assert delay_dsn_due(T0, SERVICE, True) is None
    assert delay_dsn_due(T0, SERVICE, False, enabled=False) is None
    assert expires_at(T0, SERVICE) == T0 + timedelta(days=2)


def test_last_error_format() -> None:
    assert format_last_error(
        when=T0, response=CERT_FAILURE, fqdn="mail.treyresearch.net", ip="127.0.20.1"
    ) == (
        "[{LRT=11/30/2026 6:48:13 AM};{LED=454 4.7.5 Certificate validation failure};"
        "{FQDN=mail.treyresearch.net};{IP=127.0.20.1}]"
    )


@pytest.mark.parametrize(
    ("when", "text"),
    [
        (datetime(2026, 1, 5, 0, 5, 9, tzinfo=UTC), "1/5/2026 12:05:09 AM"),
        (datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC), "1/5/2026 12:00:00 PM"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC), "12/31/2026 11:59:59 PM"),
        # Printed in UTC whatever the offset of the value passed in.
        (
            datetime(2026, 11, 30, 8, 48, 13, tzinfo=timezone(timedelta(hours=2))),
            "11/30/2026 6:48:13 AM",
        ),
    ],
)
def test_lrt_format(when: datetime, text: str) -> None:
    assert format_lrt(when) == text


def test_expired_status_and_permanence() -> None:
    assert expired_status(CERT_FAILURE) == (
        "550 4.4.7 QUEUE.Expired; 454 4.7.5 Certificate validation failure"
    )
    assert expired_status(None) == "550 4.4.7 QUEUE.Expired; message expired"
    assert expired_reply("451 5.7.3 STARTTLS is required to send mail").enhanced == "4.4.7"
    assert not is_permanent(CERT_FAILURE)
    assert is_permanent(
        Reply(550, "Client does not have permissions to submit to this server", "5.7.1")
    )
    assert is_permanent(Reply(530, "Not authenticated", "5.7.1"))
    assert not is_permanent(Reply(451, "STARTTLS is required to send mail", "5.7.3"))
