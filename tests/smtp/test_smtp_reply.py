"""Reply values, the Exchange reply catalog, and the incremental reply parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from labsim.smtp import Reply, ReplyParser, ehlo_extensions, parse_reply_lines, replies


def test_single_line_reply() -> None:
    reply = Reply(454, "Certificate validation failure", "4.7.5")
    assert reply.lines == ("Certificate validation failure",)
    assert reply.to_bytes() == b"454 4.7.5 Certificate validation failure\r\n"
    assert str(reply) == "454 4.7.5 Certificate validation failure"
    assert reply.is_transient and not reply.is_permanent and not reply.is_positive


def test_multi_line_reply() -> None:
    reply = Reply(250, ("mx.example Hello [127.0.10.1]", "SIZE 10", "8BITMIME"))
    assert (
        reply.to_bytes() == b"250-mx.example Hello [127.0.10.1]\r\n250-SIZE 10\r\n250 8BITMIME\r\n"
    )
    assert str(reply) == "250 mx.example Hello [127.0.10.1] SIZE 10 8BITMIME"
    assert reply.is_positive and reply.is_positive_completion


def test_multi_line_with_enhanced_code_repeats_it() -> None:
    reply = Reply(550, ("first", "second"), "5.7.1")
    assert reply.to_bytes() == b"550-5.7.1 first\r\n550 5.7.1 second\r\n"


def test_one_element_tuple_is_normalized() -> None:
    assert Reply(250, ("OK",), "2.0.0") == Reply(250, "OK", "2.0.0")
    assert Reply(250, ("OK",)).text == "OK"


def test_classes() -> None:
    assert Reply(354, "go").is_positive and not Reply(354, "go").is_positive_completion
    assert Reply(530, "x", "5.7.1").is_permanent
    assert Reply(250).to_bytes() == b"250\r\n"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"code": 199, "text": "x"},
        {"code": 600, "text": "x"},
        {"code": 250, "text": ()},
        {"code": 250, "text": "a\r\nb"},
        {"code": 250, "text": "x", "enhanced": "2.0"},
        {"code": 250, "text": "x", "enhanced": "3.0.0"},
    ],
)
def test_invalid_replies(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Reply(**kwargs)  # type: ignore[arg-type]


EXACT_CATALOG = {
    "STARTTLS_READY": "220 2.0.0 SMTP server ready",
    "SENDER_OK": "250 2.1.0 Sender OK",
    "RECIPIENT_OK": "250 2.1.5 Recipient OK",
    "START_MAIL_INPUT": "354 Start mail input; end with <CRLF>.<CRLF>",
    "RESETTING": "250 2.0.0 Resetting",
    "NOOP_OK": "250 2.0.0 OK",
    "CLOSING_CHANNEL": "221 2.0.0 Service closing transmission channel",
    "UNRECOGNIZED_COMMAND": "500 5.3.3 Unrecognized command",
    "INVALID_ARGUMENTS": "501 5.5.4 Invalid arguments",
    "SEND_HELLO_FIRST": "503 5.5.2 Send hello first",
    "NEED_MAIL_COMMAND": "503 5.5.2 Need mail command",
    "NEED_RCPT_COMMAND": "503 5.5.2 Need rcpt command",
    "SENDER_ALREADY_SPECIFIED": "503 5.5.2 Sender already specified",
    "MESSAGE_TOO_BIG": "552 5.3.4 Message size exceeds fixed maximum message size",
    "RELAY_DENIED": "550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
    "RECIPIENT_NOT_FOUND": ("550 5.1.1 RESOLVER.ADR.RecipNotFound; not found"),
    "TOO_MANY_RECIPIENTS": "452 4.5.3 Too many recipients",
    "TOO_MANY_ERRORS": (
        "421 4.7.0 Too many errors on this connection, closing transmission channel"
    ),
    "DOMAIN_SECURE_DISABLED": "451 4.7.3 The admin has temporarily disallowed this secure domain",
    "NOT_AUTHENTICATED": "530 5.7.1 Not authenticated",
    "TEMPORARY_AUTHENTICATION_FAILURE": "454 4.7.0 Temporary authentication failure",
    "CERTIFICATE_VALIDATION_FAILURE": "454 4.7.5 Certificate validation failure",
    "CLIENT_NO_SUBMIT_PERMISSION": (
        "550 5.7.1 Client does not have permissions to submit to this server"
    ),
    "CLIENT_NOT_AUTHENTICATED": "530 5.7.1 Client was not authenticated",
    "MUST_ISSUE_STARTTLS_FIRST": "530 5.7.0 Must issue a STARTTLS command first",
    "STARTTLS_REQUIRED_TO_SEND": "451 5.7.3 STARTTLS is required to send mail",
    "SEND_CONNECTOR_CERTIFICATE_NOT_FOUND": (
        "454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector "
        "could not be found."
    ),
    "BAD_SEQUENCE_OF_COMMANDS": "503 5.5.1 Bad sequence of commands",
    "LINE_TOO_LONG": "500 5.5.6 Line too long",
}


@pytest.mark.parametrize(("name", "text"), sorted(EXACT_CATALOG.items()))
def test_catalog_texts(name: str, text: str) -> None:
    reply = getattr(replies, name)
    assert str(reply) == text
    assert reply.to_bytes() == text.encode() + b"\r\n"


def test_banner() -> None:
    when = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
    assert str(replies.banner("mail.contoso.com", when)) == (
        "220 mail.contoso.com Microsoft ESMTP MAIL Service ready at Mon, 30 Nov 2026 06:48:13 +0000"
    )
    pacific = timezone(timedelta(hours=-8))
    assert replies.exchange_date(datetime(2023, 1, 11, 8, 0, 4, tzinfo=pacific)) == (
        "Wed, 11 Jan 2023 08:00:04 -0800"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        replies.banner("x", datetime(2026, 1, 1))


def test_ehlo_and_helo() -> None:
    with_tls = replies.ehlo("mail.contoso.com", "127.0.10.2", max_size=37748736, starttls=True)
    assert with_tls.lines == (
        "mail.contoso.com Hello [127.0.10.2]",
        "SIZE 37748736",
        "PIPELINING",
        "DSN",
        "ENHANCEDSTATUSCODES",
        "STARTTLS",
        "8BITMIME",
    )
    without = replies.ehlo("mail.contoso.com", "127.0.10.2", max_size=None, starttls=False)
    assert "STARTTLS" not in without.lines and "SIZE" in without.lines
    assert ehlo_extensions(with_tls) == {
        "SIZE": "37748736",
        "PIPELINING": "",
        "DSN": "",
        "ENHANCEDSTATUSCODES": "",
        "STARTTLS": "",
        "8BITMIME": "",
    }
    assert ehlo_extensions(Reply(554, "no", "5.7.1")) == {}
    assert replies.helo("mail.contoso.com", "127.0.10.2").to_bytes() == (
        b"250 mail.contoso.com Hello [127.0.10.2]\r\n"
    )


def test_queued_mail_accepts_bracketed_message_id() -> None:
    assert replies.queued_mail("<a@b>", 5, "h.example") == replies.queued_mail(
        "a@b", 5, "h.example"
    )


def test_queued_mail_on_the_2525_hop_reports_the_transfer() -> None:
    # §17 C9, as a 2013 hub answers: bytes, seconds with three decimals, KB (1024 bytes)/sec.
    reply = replies.queued_mail("m@adatum.com", 7, "trey-mbx1.treyresearch.net", (4596, 0.105))
    assert str(reply) == (
        "250 2.6.0 <m@adatum.com> [InternalId=7, Hostname=trey-mbx1.treyresearch.net] "
        "4596 bytes in 0.105, 42.746 KB/sec Queued mail for delivery"
    )
    # A transfer faster than a millisecond counts as one: the rate stays finite.
    assert "1024 bytes in 0.001, 1000.000 KB/sec Queued" in str(
        replies.queued_mail("m@adatum.com", 7, "h", (1024, 0.0))
    )


def test_parse_reply_lines_splits_enhanced_code() -> None:
    assert parse_reply_lines([b"454 4.7.5 Certificate validation failure"]) == (
        replies.CERTIFICATE_VALIDATION_FAILURE
    )
    assert parse_reply_lines([b"451 5.7.3 STARTTLS is required to send mail"]) == (
        replies.STARTTLS_REQUIRED_TO_SEND
    )
    # An EHLO reply's first line has no enhanced code, so none is split off.
    ehlo = replies.ehlo("m.example", "127.0.10.1", max_size=1, starttls=True)
    assert parse_reply_lines(ehlo.to_bytes().split(b"\r\n")[:-1]) == ehlo
    assert parse_reply_lines([b"250"]) == Reply(250, "")


@pytest.mark.parametrize(
    "lines",
    [
        [],
        [b"hello"],
        [b"250-a"],
        [b"250-a", b"251 b"],
        [b"250 a", b"250 b"],
        [b"250x"],
    ],
)
def test_parse_reply_lines_rejects(lines: list[bytes]) -> None:
    with pytest.raises(ValueError):
        parse_reply_lines(lines)


def test_parser_every_split() -> None:
    wire = replies.ehlo("m.example", "127.0.10.1", max_size=10, starttls=True).to_bytes()
    wire += replies.SENDER_OK.to_bytes()
    for cut in range(len(wire) + 1):
        parser = ReplyParser()
        got = []
        for part in (wire[:cut], wire[cut:]):
            parser.feed(part)
            while (reply := parser.next_reply()) is not None:
                got.append(reply)
        assert [r.to_bytes() for r in got] == [
            replies.ehlo("m.example", "127.0.10.1", max_size=10, starttls=True).to_bytes(),
            replies.SENDER_OK.to_bytes(),
        ]
        assert parser.error is None and not parser.has_partial


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello there\r\n", "not an SMTP reply line"),
        (b"250-a\r\n550 b\r\n", "reply code changed"),
        (b"2" * 3000, "longer than"),
        (b"250-x\r\n" * 101, "lines"),
    ],
)
def test_parser_errors_are_reported_not_raised(data: bytes, message: str) -> None:
    parser = ReplyParser()
    parser.feed(data)
    assert parser.error is not None and message in parser.error
    parser.feed(b"250 OK\r\n")  # ignored once broken
    assert parser.next_reply() is None
