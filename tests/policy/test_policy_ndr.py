"""DSNs built as RFC 3464 reports and parsed back with the email package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message

from labsim.model.mail import parse_message
from labsim.policy.loops import HOP_COUNT_EXCEEDED
from labsim.policy.ndr import (
    DsnRecipient,
    build_delay_dsn,
    build_ndr,
    is_dsn_content,
    should_generate_dsn,
)
from labsim.policy.retry import expired_reply
from labsim.smtp.reply import Reply

T0 = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
ORIGINAL = (
    b"From: Ed <ed@adatum.com>\r\n"
    b"To: Ben <ben@treyresearch.net>\r\n"
    b"Subject: Quarterly numbers\r\n"
    b"Message-ID: <abc123@adatum.com>\r\n"
    b"\r\n"
    b"SECRET BODY TEXT\r\n"
)
CERT_FAILURE = Reply(454, "Certificate validation failure", "4.7.5")


def parts(raw: bytes) -> tuple[EmailMessage, list[EmailMessage]]:
    msg = parse_message(raw)
    return msg, list(msg.iter_parts())  # type: ignore[arg-type]


def status_blocks(part: EmailMessage) -> list[Message]:
    payload = part.get_payload()
    assert isinstance(payload, list)
    return [block for block in payload if isinstance(block, Message)]


def ndr() -> bytes:
    return build_ndr(
        original=ORIGINAL,
        recipients=[
            DsnRecipient(
                "ben@treyresearch.net",
                expired_reply(CERT_FAILURE),
                remote_server="mail.treyresearch.net",
                last_attempt=T0,
            )
        ],
        reporting_mta="adatum-mbx1.adatum.com",
        org_domain="adatum.com",
        sender="ed@adatum.com",
        when=T0 + timedelta(days=2),
        received_at=T0,
    )


def test_ndr_structure() -> None:
    raw = ndr()
    msg, (human, status, headers) = parts(raw)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg["From"] == (
        "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@adatum.com>"
    )
    assert msg["To"] == "ed@adatum.com"
    assert msg["Subject"] == "Undeliverable: Quarterly numbers"
    assert msg["In-Reply-To"] == "<abc123@adatum.com>"
    assert msg["Auto-Submitted"] == "auto-replied"

    assert human.get_content_type() == "text/plain"
    text = human.get_content().replace("\r\n", "\n")
    assert text.startswith(
        "Delivery has failed to these recipients or groups:\n\nben@treyresearch.net\n"
    )
    assert "Diagnostic information for administrators:" in text
    assert "Generating server: adatum-mbx1.adatum.com" in text
    # Exchange 2013's diagnostic line for an expired recipient (§17 C8); the last error stays
    # in Diagnostic-Code.
    assert "ben@treyresearch.net\n#550 4.4.7 QUEUE.Expired; message expired ##\n" in text
    assert "Remote Server returned" not in text

    assert status.get_content_type() == "message/delivery-status"
    per_message, per_recipient = status_blocks(status)
    assert per_message["Reporting-MTA"] == "dns;adatum-mbx1.adatum.com"
    assert per_message["Arrival-Date"] == "Mon, 30 Nov 2026 06:48:13 +0000"
    assert per_recipient["Final-Recipient"] == "rfc822;ben@treyresearch.net"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "4.4.7"
    assert per_recipient["Remote-MTA"] == "dns;mail.treyresearch.net"
    assert per_recipient["Diagnostic-Code"] == (
        "smtp;550 4.4.7 QUEUE.Expired; 454 4.7.5 Certificate validation failure"
    )

    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Subject: Quarterly numbers" in headers.get_content()
    assert b"SECRET BODY TEXT" not in raw


def test_ndr_is_deterministic_and_recognized() -> None:
    assert ndr() == ndr()
    assert is_dsn_content(ndr())
    # Exchange writes the report-type parameter unquoted.
    assert b"report-type=delivery-status;" in ndr().split(b"\r\n\r\n", 1)[0]
    assert not is_dsn_content(ORIGINAL)


def test_ndr_several_recipients_and_permanent_reply() -> None:
    raw = build_ndr(
        original=ORIGINAL,
        recipients=[
            DsnRecipient(
                "ben@treyresearch.net",
                Reply(550, "Client does not have permissions to submit to this server", "5.7.1"),
            ),
            DsnRecipient("terry@treyresearch.net", "550 5.7.54 SMTP; Unable to relay"),
        ],
        reporting_mta="adatum-mbx1.adatum.com",
        org_domain="adatum.com",
        sender="<ed@adatum.com>",
        when=T0,
    )
    _, (_, status, _) = parts(raw)
    _, first, second = status_blocks(status)
    assert (first["Status"], second["Status"]) == ("5.7.1", "5.7.54")
    assert first["Diagnostic-Code"] == (
        "smtp;550 5.7.1 Client does not have permissions to submit to this server"
    )


def test_delay_dsn() -> None:
    raw = build_delay_dsn(
        original=ORIGINAL,
        recipients=[
            DsnRecipient(
                "ben@treyresearch.net",
                CERT_FAILURE,
                remote_server="mail.treyresearch.net",
                remote_ip="127.0.20.1",
                last_attempt=T0 + timedelta(hours=3, minutes=55),
            )
        ],
        reporting_mta="adatum-mbx1.adatum.com",
        org_domain="adatum.com",
        sender="ed@adatum.com",
        when=T0 + timedelta(hours=4),
        expires=T0 + timedelta(days=2),
    )
    msg, (human, status, _) = parts(raw)
    assert msg["Subject"] == "Delivery delayed: Quarterly numbers"
    text = human.get_content().replace("\r\n", "\n")
    assert text.startswith("Delivery is delayed to these recipients or groups:")
    assert "for the next 1 days, 20 hours and 0 minutes" in text
    # §17 C8: the receiving server is named, "Remote Server at … returned", dates in the
    # server's short format.
    assert (
        "Generating server: adatum-mbx1.adatum.com\n"
        "Receiving server: mail.treyresearch.net (127.0.20.1)\n"
        "\n"
        "ben@treyresearch.net\n"
        "Remote Server at mail.treyresearch.net (127.0.20.1) returned "
        "'400 4.4.7 Message delayed'\n"
        "11/30/2026 10:43:13 AM - Remote Server at mail.treyresearch.net (127.0.20.1) returned "
        "'454 4.7.5 Certificate validation failure'\n"
    ) in text
    _, per_recipient = status_blocks(status)
    assert per_recipient["Action"] == "delayed"
    assert per_recipient["Status"] == "4.4.7"
    assert per_recipient["Will-Retry-Until"] == "Wed, 02 Dec 2026 06:48:13 +0000"


def test_never_a_dsn_about_a_dsn() -> None:
    assert should_generate_dsn(mail_from="ed@adatum.com").send
    assert not should_generate_dsn(mail_from="").send
    assert not should_generate_dsn(mail_from="<>").send
    assert not should_generate_dsn(mail_from="x@y.com", is_dsn=True).send
    decision = should_generate_dsn(mail_from="x@y.com", content=ndr())
    assert not decision.send and "no DSN about a DSN" in decision.explanation


def test_hop_count_ndr_tells_the_sender_about_the_loop() -> None:
    ndr = build_ndr(
        original=b"Subject: loop\r\nMessage-ID: <m1@adatum.com>\r\n\r\nbody\r\n",
        recipients=[DsnRecipient("x@relay.adatum.com", HOP_COUNT_EXCEEDED, "mail.adatum.com")],
        reporting_mta="adatum-mbx1.adatum.com",
        org_domain="adatum.com",
        sender="administrator@adatum.com",
        when=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    )
    text = ndr.decode()
    assert "mail loop" in text.split("Diagnostic information")[0]
    assert "Remote Server returned '554 5.4.6 Hop count exceeded - possible mail loop'" in text
    assert "Status: 5.4.6" in text
