"""Retry schedule, delay DSN, expiry and queue error texts (docs/exchange-reference.md §4.5, D7,
D8).

Rules kept here:

* After the n-th failed connection attempt (n counted from 1, the first delivery attempt
  included) the next attempt is TransientFailureRetryInterval later while n is at most
  TransientFailureRetryCount, and OutboundConnectionFailureRetryInterval later after that
  (defaults 6 × 5 min, then 10 min: D7). MessageRetryInterval (per-message failures on a
  working connection) is not used by the domain-security failures, which are session-level.
* A delay DSN is due once, DelayNotificationTimeOut after the message was received; the message
  expires MessageExpirationTimeOut after it was received and its recipients then fail with
  ``550 4.4.7 QUEUE.Expired; <last error>`` (D7).
* Times are parameters; nothing here reads a clock. Every datetime must be timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime

from labsim.model.transport import TransportService
from labsim.smtp.reply import Reply


def _aware(when: datetime, what: str) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} {when.isoformat()} has no time zone; pass the lab clock's time")


def next_retry_time(
    *, attempts: int, last_attempt: datetime, service: TransportService
) -> datetime:
    """When the queue tries again after ``attempts`` failed attempts, the last at ``last_attempt``."""
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1 (a retry follows a failure), not {attempts}")
    _aware(last_attempt, "last_attempt")
    if attempts <= service.transient_failure_retry_count:
        return last_attempt + service.transient_failure_retry_interval
    return last_attempt + service.outbound_connection_failure_retry_interval


def retry_schedule(
    *, first_attempt: datetime, service: TransportService, count: int
) -> tuple[datetime, ...]:
    """The first ``count`` retry times after a first attempt that keeps failing at once."""
    times: list[datetime] = []
    last = first_attempt
    for attempt in range(1, count + 1):
        last = next_retry_time(attempts=attempt, last_attempt=last, service=service)
        times.append(last)
    return tuple(times)


def delay_dsn_due(
    received_at: datetime,
    service: TransportService,
    already_sent: bool,
    *,
    enabled: bool = True,
) -> datetime | None:
    """When the delay DSN is due, or None if it was already sent or delay DSNs are off.

    ``enabled`` is the organization's Internal/ExternalDelayDsnEnabled for the recipient.
    """
    _aware(received_at, "received_at")
    if already_sent or not enabled:
        return None
    return received_at + service.delay_notification_timeout


def expires_at(received_at: datetime, service: TransportService) -> datetime:
    """When a message received at ``received_at`` expires (MessageExpirationTimeOut)."""
    _aware(received_at, "received_at")
    return received_at + service.message_expiration_timeout


def format_lrt(when: datetime) -> str:
    """``M/D/YYYY h:mm:ss AM/PM`` as Exchange prints LastRetryTime in LastError.

    Exchange uses the server's local time and regional format; labsim prints UTC in the en-US
    format so that a lab's output does not depend on the host's settings.
    """
    _aware(when, "when")
    utc = when.astimezone(UTC)
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"
    return f"{utc.month}/{utc.day}/{utc.year} {hour}:{utc.minute:02d}:{utc.second:02d} {half}"


def format_last_error(*, when: datetime, response: Reply | str, fqdn: str, ip: str) -> str:
    """The 2013-style queue LastError (D8):
    ``[{LRT=11/30/2026 6:48:13 AM};{LED=454 4.7.5 Certificate validation failure};{FQDN=…};{IP=…}]``.
    """
    return f"[{{LRT={format_lrt(when)}}};{{LED={response}}};{{FQDN={fqdn}}};{{IP={ip}}}]"


EXPIRED_CODE = 550
EXPIRED_ENHANCED = "4.4.7"


def expired_reply(last_error_response: Reply | str | None) -> Reply:
    """The recipient status at expiry as a reply: ``550 4.4.7 QUEUE.Expired; <last error>``.

    The 5xx code with a 4.4.7 enhanced code is Exchange's own (the DSN reports 4.4.7).
    Without a recorded error the text is ``QUEUE.Expired; message expired``.
    """
    detail = str(last_error_response) if last_error_response else "message expired"
    return Reply(EXPIRED_CODE, f"QUEUE.Expired; {detail}", EXPIRED_ENHANCED)


def expired_status(last_error_response: Reply | str | None) -> str:
    """``550 4.4.7 QUEUE.Expired; <last error text>`` (D7; tracking log recipient-status)."""
    return str(expired_reply(last_error_response))


def is_permanent(reply: Reply) -> bool:
    """True for 5xx replies: the recipient fails at once with an NDR, no retry (§5.3 notes)."""
    return reply.code >= 500
