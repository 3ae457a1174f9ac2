"""A fake lab with the runner's Lab API, and helpers to build mail records for it.

Imported by the scenario tests as ``scenario_fakes`` (pytest puts this folder on sys.path).

The fake keeps submitted mail "in flight" until ``run_until_idle`` or ``advance`` runs, so that
tests can see the runner let the lab settle before every expectation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from labsim.errors import LabsimError
from labsim.model.enums import DeliveryType, MessageStatus, QueueStatus
from labsim.model.mail import DeliveredMessage, MessageView, QueueView
from labsim.scenario.model import Scenario, Step

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeShellResult:
    output: str = ""
    error: LabsimError | None = None


@dataclass
class FakeLab:
    """Records calls in ``events``; the test scripts what the lab answers."""

    shell: dict[str, FakeShellResult] = field(default_factory=dict)
    inboxes: dict[str, list[DeliveredMessage]] = field(default_factory=dict)
    queue_rows: dict[str, list[QueueView]] = field(default_factory=dict)
    message_rows: dict[str, list[MessageView]] = field(default_factory=dict)
    logs: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    #: Header lines of the logs, by the same keys as ``logs``.
    headers: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Called on send; its effect (e.g. a delivery) is held until the lab runs.
    on_send: Callable[[FakeLab, str, Sequence[str], str], None] | None = None
    send_error: LabsimError | None = None
    events: list[str] = field(default_factory=list)
    pending: list[Callable[[], None]] = field(default_factory=list)
    clock: datetime = T0
    stopped: bool = False
    engine_errors: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        self.stopped = True
        self.events.append("stop")

    def run_shell(self, organization: str, text: str, server: str | None = None) -> FakeShellResult:
        self.events.append(f"shell {organization} {server} {text.strip()}")
        self.notes.append(f"ran {text.strip()}")
        return self.shell.get(text.strip(), FakeShellResult())

    def send(
        self,
        *,
        mail_from: str,
        to: Sequence[str],
        subject: str,
        body: str = "",
        cc: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        size: int | None = None,
    ) -> str:
        self.events.append(f"send {subject}")
        if self.send_error is not None:
            raise self.send_error
        if self.on_send is not None:
            hook = self.on_send
            self.pending.append(lambda: hook(self, mail_from, tuple(to), subject))
        return "<1@adatum.com>"

    def run_until_idle(self) -> None:
        self.events.append("idle")
        work, self.pending = self.pending, []
        for item in work:
            item()

    def advance(self, seconds: float) -> None:
        self.events.append(f"advance {seconds:g}")
        self.clock += timedelta(seconds=seconds)
        self.run_until_idle()

    def now(self) -> datetime:
        return self.clock

    def inbox(self, address: str) -> tuple[DeliveredMessage, ...]:
        return tuple(self.inboxes.get(address.lower(), []))

    def queues(self, organization: str, server: str | None = None) -> list[QueueView]:
        return self.queue_rows.get(organization, [])

    def messages(self, organization: str, queue: str | None = None) -> list[MessageView]:
        rows = self.message_rows.get(organization, [])
        return [m for m in rows if queue is None or m.queue == queue]

    def protocol_log(self, organization: str, server: str, direction: str) -> list[str]:
        return self.logs.get((organization, server, direction), [])

    def tracking_log(self, organization: str, server: str | None = None) -> list[str]:
        return self.logs.get((organization, server or "*", "tracking"), [])

    def event_log(self, organization: str, server: str | None = None) -> list[str]:
        return self.logs.get((organization, server or "*", "event"), [])

    def log_headers(self, organization: str, server: str | None, log: str) -> list[str]:
        return self.headers.get((organization, server or "*", log), [])

    def explain(self) -> list[str]:
        return list(self.notes)

    def deliver(self, message: DeliveredMessage) -> None:
        self.inboxes.setdefault(message.mailbox.lower(), []).append(message)


def mail(
    to: str,
    subject: str,
    *,
    mail_from: str = "april@adatum.com",
    headers: dict[str, str] | None = None,
) -> DeliveredMessage:
    """A delivered message with the given headers."""
    msg = EmailMessage()
    for name, value in (headers or {}).items():
        msg[name] = value
    msg["From"] = mail_from
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("hello")
    return DeliveredMessage(
        mailbox=to,
        mail_from=mail_from,
        subject=subject,
        content=msg.as_bytes(),
        delivered_at=T0,
        message_id="<1@adatum.com>",
    )


SECURED = {
    "Received": "from mail.adatum.com (127.0.10.1) by mail.treyresearch.net (127.0.20.1) "
    "with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)",
    "X-MS-Exchange-Organization-AuthAs": "Partner",
    "X-MS-Exchange-Organization-AuthDomain": "adatum.com",
    "X-MS-Exchange-Organization-AuthMechanism": "06",
}


def ndr(to: str, subject: str, status: str) -> DeliveredMessage:
    """A non-delivery report about ``subject`` with a DSN status."""
    content = (
        "From: postmaster@adatum.com\r\n"
        f"To: {to}\r\n"
        f"Subject: Undeliverable: {subject}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n'
        "\r\n--b\r\nContent-Type: text/plain\r\n\r\nDelivery has failed.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns;adatum-mbx1.adatum.com\r\n\r\n"
        "Final-Recipient: rfc822;ben@treyresearch.net\r\n"
        f"Action: failed\r\nStatus: {status}\r\n"
        "--b--\r\n"
    ).encode()
    return DeliveredMessage(
        mailbox=to,
        mail_from="",
        subject=f"Undeliverable: {subject}",
        content=content,
        delivered_at=T0,
        message_id="<ndr@adatum.com>",
    )


def queue(
    next_hop: str = "treyresearch.net",
    status: QueueStatus = QueueStatus.RETRY,
    last_error: str = "",
    count: int = 1,
    identity: str = "ADATUM-MBX1\\3",
) -> QueueView:
    """A Get-Queue row."""
    return QueueView(
        identity=identity,
        delivery_type=DeliveryType.DNS_CONNECTOR_DELIVERY,
        next_hop_domain=next_hop,
        status=status,
        message_count=count,
        last_error=last_error,
    )


def message_row(subject: str, queue_identity: str = "ADATUM-MBX1\\3") -> MessageView:
    """A Get-Message row."""
    return MessageView(
        identity=f"{queue_identity}\\1",
        queue=queue_identity,
        from_address="april@adatum.com",
        status=MessageStatus.RETRY,
        subject=subject,
        size=100,
        recipients=("ben@treyresearch.net",),
        date_received=T0,
        expiration_time=T0 + timedelta(days=2),
    )


def scenario_of(*steps: Step, title: str = "t") -> Scenario:
    """A scenario over the default lab."""
    return Scenario(path=Path("scenarios/t.toml"), title=title, lab="default", steps=steps)
