"""Delivery status notifications (NDR and delay DSN) as RFC 3464 reports in Exchange's wording.

Rules kept here:

* A DSN is ``multipart/report; report-type=delivery-status`` with three parts: a human-readable
  text in Exchange 2013's layout ("Delivery has failed to these recipients or groups:",
  "Diagnostic information for administrators:", "Generating server: …", "Remote Server
  returned '…'", ``#550 4.4.7 QUEUE.Expired; message expired ##`` for an expired recipient;
  a delay notice adds "Receiving server: <host> (<ip>)" and "Remote Server at <host> (<ip>)
  returned '400 4.4.7 Message delayed'"), a ``message/delivery-status`` part, and the
  original headers as
  ``text/rfc822-headers`` (never the original body, docs/exchange-reference.md §10.1: DSN
  attachments are stripped anyway).
* It comes from the organization's Microsoft Exchange recipient and goes to the original
  envelope sender; the engine sends it with the null reverse path (``MAIL FROM:<>``).
* A DSN is never sent about a DSN or to a null sender (RFC 3461 §6.2, RFC 5321 §4.5.5):
  :func:`should_generate_dsn` decides.
* The output is deterministic for given inputs (boundary and Message-ID derive from a hash),
  so DSNs can be kept as test vectors. Times are parameters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import format_datetime

from labsim.policy.retry import format_lrt
from labsim.smtp.reply import Reply

MICROSOFT_EXCHANGE_LOCAL_PART = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"
"""Local part of the organization's system mailbox that signs DSNs."""
DSN_DISPLAY_NAME = "Microsoft Outlook"
"""Display name Exchange 2013 gives DSN senders."""
NULL_REVERSE_PATH = ""
"""The envelope sender a DSN is sent with (``MAIL FROM:<>``)."""

# Generated with long lines allowed (RFC 5322's hard limit, 998): a folded Diagnostic-Code or
# Final-Recipient reads back with leading white space through the email package's
# delivery-status parser, and DSN consumers compare these fields as text.
_DSN_POLICY = policy.SMTP.clone(max_line_length=998)

_STATUS_RE = re.compile(r"^\s*([2-5]\d\d)(?:[ -]+([245]\.\d{1,3}\.\d{1,3}))?")


@dataclass(frozen=True)
class DsnRecipient:
    """One recipient the DSN reports on.

    ``reply`` is the recipient status (``550 4.4.7 QUEUE.Expired; …`` for an NDR, the last error
    for a delay DSN); ``remote_server`` the host that answered (``mail.treyresearch.net``), if any.
    """

    address: str
    reply: Reply | str
    remote_server: str | None = None
    remote_ip: str | None = None
    last_attempt: datetime | None = None

    @property
    def status(self) -> str:
        """The RFC 3463 status for the ``Status:`` field (``5.7.1``, ``4.4.7``, …)."""
        return status_of(self.reply)


def status_of(reply: Reply | str) -> str:
    """The enhanced status of a reply, or ``<class>.0.0`` when it has none."""
    if isinstance(reply, Reply):
        return reply.enhanced or f"{reply.code // 100}.0.0"
    match = _STATUS_RE.match(reply)
    if match is None:
        return "5.0.0"
    return match.group(2) or f"{match.group(1)[0]}.0.0"


@dataclass(frozen=True)
class DsnDecision:
    """Whether a DSN may be generated for a message, and why."""

    send: bool
    explanation: str


def is_dsn_content(content: bytes) -> bool:
    """True when ``content`` is itself a delivery status report."""
    head = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    msg = message_from_bytes(head + b"\r\n\r\n", policy=policy.SMTP)
    return (
        msg.get_content_type() == "multipart/report"
        and str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )


def should_generate_dsn(
    *, mail_from: str, is_dsn: bool = False, content: bytes = b""
) -> DsnDecision:
    """Decide whether a failure or delay of this message may produce a DSN.

    Never for a null reverse path (the message is a DSN or must not cause one) and never about a
    message that is itself a DSN, so two servers cannot bounce reports at each other forever.
    """
    if not mail_from.strip().strip("<>"):
        return DsnDecision(
            False, "RFC 5321 §4.5.5: the message has a null reverse path; no DSN is sent"
        )
    if is_dsn or (content and is_dsn_content(content)):
        return DsnDecision(False, "RFC 3461 §6.2: the message is a DSN; no DSN about a DSN")
    return DsnDecision(True, f"a DSN goes to the original sender {mail_from}")


def dsn_from(org_domain: str) -> str:
    """``Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@<org domain>>``."""
    return f"{DSN_DISPLAY_NAME} <{MICROSOFT_EXCHANGE_LOCAL_PART}@{org_domain.lower()}>"


# labsim's short user-facing sentences per status; Exchange's own texts vary by status and
# build and are not in the reference, so these are labsim's wording in Exchange's tone.
_FRIENDLY: tuple[tuple[str, str], ...] = (
    (
        "4.4.7",
        "The message couldn't be delivered before it expired: the recipient's server could not "
        "be reached or kept refusing it.",
    ),
    ("5.1.", "The email address couldn't be found. Check the recipient's address and resend."),
    ("5.3.4", "The message is larger than the receiving system accepts."),
    ("5.4.4", "No route to the recipient's domain is configured."),
    (
        "5.4.6",
        "The message was passed between mail servers too many times (a mail loop), so it was "
        "stopped. Your email admin needs to correct how mail for this domain is routed.",
    ),
    (
        "5.7.",
        "The recipient's email system refused the message for security or permission reasons.",
    ),
)


def _friendly(status: str) -> str:
    for prefix, text in _FRIENDLY:
        if status.startswith(prefix):
            return text
    return "A problem occurred during the delivery of this message."


def _original_headers(original: bytes) -> tuple[str, str, str]:
    """(header block text, Subject, Message-ID) of the original message."""
    block = original
    for separator in (b"\r\n\r\n", b"\n\n"):
        index = original.find(separator)
        if index >= 0:
            block = original[:index]
            break
    text = block.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n") + "\n"
    parsed = message_from_bytes(block + b"\r\n\r\n", policy=policy.SMTP)
    subject = str(parsed.get("Subject", "") or "")
    message_id = str(parsed.get("Message-ID", "") or "").strip()
    return text, subject, message_id


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def _server_text(r: DsnRecipient) -> str:
    if r.remote_server and r.remote_ip:
        return f"{r.remote_server} ({r.remote_ip})"
    return r.remote_server or r.remote_ip or ""


def _status_block(fields: Sequence[tuple[str, str]]) -> Message:
    block = Message(policy=policy.SMTP)
    for name, value in fields:
        block[name] = value
    return block


def _build(
    *,
    kind: str,
    original: bytes,
    recipients: Sequence[DsnRecipient],
    reporting_mta: str,
    org_domain: str,
    sender: str,
    when: datetime,
    text: str,
    recipient_fields: Sequence[Sequence[tuple[str, str]]],
    received_at: datetime | None,
    message_id: str | None,
) -> bytes:
    if not should_generate_dsn(mail_from=sender).send:
        raise ValueError("a DSN needs the original sender; check should_generate_dsn() first")
    if not recipients:
        raise ValueError("a DSN needs at least one recipient")
    if when.tzinfo is None:
        raise ValueError("a DSN date needs a timezone-aware datetime (use the lab clock)")
    headers, subject, original_id = _original_headers(original)
    digest = _digest(kind, original, when.isoformat(), *(r.address for r in recipients))
    prefix = "Undeliverable" if kind == "failed" else "Delivery delayed"
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = dsn_from(org_domain)
    msg["To"] = sender.strip().strip("<>")
    msg["Date"] = format_datetime(when)
    msg["Subject"] = f"{prefix}: {subject}" if subject else prefix
    msg["Message-ID"] = message_id or f"<{digest[:32]}@{reporting_mta.lower()}>"
    if original_id:
        msg["In-Reply-To"] = original_id
        msg["References"] = original_id
    msg["Auto-Submitted"] = "auto-replied"
    msg["Content-Language"] = "en-US"
    msg.set_content(text)
    msg.make_mixed()
    boundary = f"_labsim_dsn_{digest[32:56]}_"
    msg.replace_header(
        "Content-Type",
        f'multipart/report; report-type=delivery-status; boundary="{boundary}"',
    )
    per_message: list[tuple[str, str]] = [("Reporting-MTA", f"dns;{reporting_mta}")]
    if received_at is not None:
        per_message.append(("Arrival-Date", format_datetime(received_at)))
    status = EmailMessage(policy=policy.SMTP)
    status["Content-Type"] = "message/delivery-status"
    status.set_payload([_status_block(per_message), *(_status_block(f) for f in recipient_fields)])
    msg.attach(status)
    head_part = EmailMessage(policy=policy.SMTP)
    head_part.set_content(headers, subtype="rfc822-headers")
    # set_content marks a top-level message; a body part carries no MIME-Version of its own.
    del head_part["MIME-Version"]
    msg.attach(head_part)
    raw = msg.as_bytes(policy=_DSN_POLICY)
    # The email package always quotes parameter values; Exchange writes report-type unquoted,
    # and simple "report-type=delivery-status" checks expect that. Only our own top-level
    # header block is edited.
    head, sep, rest = raw.partition(b"\r\n\r\n")
    head = head.replace(b'report-type="delivery-status"', b"report-type=delivery-status", 1)
    return head + sep + rest


def _recipient_fields(
    r: DsnRecipient, action: str, status: str, diagnostic: str
) -> list[tuple[str, str]]:
    fields = [
        ("Final-Recipient", f"rfc822;{r.address}"),
        ("Action", action),
        ("Status", status),
    ]
    if r.remote_server:
        fields.append(("Remote-MTA", f"dns;{r.remote_server}"))
    fields.append(("Diagnostic-Code", f"smtp;{diagnostic}"))
    if r.last_attempt is not None:
        fields.append(("Last-Attempt-Date", format_datetime(r.last_attempt)))
    return fields


EXPIRED_DIAGNOSTIC = "#550 4.4.7 QUEUE.Expired; message expired ##"
"""The diagnostic line of an expired recipient in Exchange 2013's NDR (docs/exchange-reference.md
§17 C8); the last error stays in the ``Diagnostic-Code`` field and the tracking log (D7)."""


def _ndr_diagnostic(r: DsnRecipient) -> str:
    """The line under a recipient's address in the NDR's diagnostic block."""
    if r.status == EXPIRED_STATUS:
        return EXPIRED_DIAGNOSTIC
    return f"Remote Server returned '{r.reply}'"


def build_ndr(
    *,
    original: bytes,
    recipients: Sequence[DsnRecipient],
    reporting_mta: str,
    org_domain: str,
    sender: str,
    when: datetime,
    received_at: datetime | None = None,
    message_id: str | None = None,
) -> bytes:
    """A non-delivery report (``Action: failed``) for ``recipients`` of ``original``.

    ``reporting_mta`` is the FQDN of the generating server, ``org_domain`` the organization's
    default accepted domain (DSN sender), ``sender`` the original envelope sender.
    """
    lines = ["Delivery has failed to these recipients or groups:", ""]
    for r in recipients:
        lines += [r.address, _friendly(r.status), ""]
    lines += [
        "",
        "Diagnostic information for administrators:",
        "",
        f"Generating server: {reporting_mta}",
        "",
    ]
    for r in recipients:
        lines += [r.address, _ndr_diagnostic(r), ""]
    headers, _, _ = _original_headers(original)
    lines += ["Original message headers:", "", headers]
    fields = [_recipient_fields(r, "failed", r.status, str(r.reply)) for r in recipients]
    return _build(
        kind="failed",
        original=original,
        recipients=recipients,
        reporting_mta=reporting_mta,
        org_domain=org_domain,
        sender=sender,
        when=when,
        text="\n".join(lines),
        recipient_fields=fields,
        received_at=received_at,
        message_id=message_id,
    )


EXPIRED_STATUS = "4.4.7"
DELAY_STATUS = "4.4.7"
DELAY_DIAGNOSTIC = "400 4.4.7 Message delayed"
"""What Exchange's delay DSN reports as the remote server's answer."""


def _remaining(delta_seconds: int) -> str:
    minutes = max(delta_seconds, 0) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    return f"{days} days, {hours} hours and {minutes} minutes"


def build_delay_dsn(
    *,
    original: bytes,
    recipients: Sequence[DsnRecipient],
    reporting_mta: str,
    org_domain: str,
    sender: str,
    when: datetime,
    expires: datetime,
    received_at: datetime | None = None,
    message_id: str | None = None,
) -> bytes:
    """A delay DSN (``Action: delayed``, ``Will-Retry-Until``) sent once at DelayNotificationTimeOut.

    Each recipient's ``reply`` is the queue's last error, shown with its time (the server's short
    date format, as in LastError) after the ``400 4.4.7 Message delayed`` line; the block names
    the receiving server and says "Remote Server at <host> (<ip>) returned"
    (docs/exchange-reference.md §17 C8).
    """
    _, subject, _ = _original_headers(original)
    lines = ["Delivery is delayed to these recipients or groups:", ""]
    lines += [r.address for r in recipients]
    lines += [
        "",
        f"Subject: {subject}",
        "",
        "This message hasn't been delivered yet. Delivery will continue to be attempted.",
        "",
        "The server will keep trying to deliver this message for the next "
        f"{_remaining(int((expires - when).total_seconds()))}. You'll be notified if the message "
        "can't be delivered by that time.",
        "",
        "Diagnostic information for administrators:",
        "",
        f"Generating server: {reporting_mta}",
    ]
    receiving = next((_server_text(r) for r in recipients if _server_text(r)), "")
    if receiving:
        lines.append(f"Receiving server: {receiving}")
    lines.append("")
    for r in recipients:
        server = _server_text(r)
        at = f"Remote Server at {server} returned" if server else "Remote Server returned"
        lines += [r.address, f"{at} '{DELAY_DIAGNOSTIC}'"]
        stamp = format_lrt(r.last_attempt) + " - " if r.last_attempt else ""
        lines += [f"{stamp}{at} '{r.reply}'", ""]
    fields = []
    for r in recipients:
        block = _recipient_fields(r, "delayed", DELAY_STATUS, DELAY_DIAGNOSTIC)
        block.append(("Will-Retry-Until", format_datetime(expires)))
        fields.append(block)
    return _build(
        kind="delayed",
        original=original,
        recipients=recipients,
        reporting_mta=reporting_mta,
        org_domain=org_domain,
        sender=sender,
        when=when,
        text="\n".join(lines),
        recipient_fields=fields,
        received_at=received_at,
        message_id=message_id,
    )
