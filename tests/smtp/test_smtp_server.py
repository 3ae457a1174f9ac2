"""Server session transcripts: what the client sends, what the session surfaces, what goes back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.smtp import (
    NEED_DATA,
    PAUSED,
    AuthResponse,
    CommandRejected,
    ConnectionClosed,
    Data,
    Ehlo,
    ExchangeAuth,
    Helo,
    LineTooLong,
    LocalProtocolError,
    MailFrom,
    MessageReceived,
    Noop,
    Quit,
    RcptTo,
    Reply,
    Rset,
    ServerSession,
    ServerState,
    StartTls,
    TooManyProtocolErrors,
    replies,
)
from labsim.smtp.testing import ServerTranscript, TranscriptMismatch, run_transcript

FQDN = "TREY-CAS1.treyresearch.net"
CLIENT_IP = "127.0.10.1"
WHEN = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
BANNER = replies.banner(FQDN, WHEN)
BANNER_BYTES = (
    b"220 TREY-CAS1.treyresearch.net Microsoft ESMTP MAIL Service ready at "
    b"Mon, 30 Nov 2026 06:48:13 +0000\r\n"
)
EHLO_REPLY = replies.ehlo(FQDN, CLIENT_IP, max_size=37748736, starttls=True)
EHLO_REPLY_BYTES = (
    b"250-TREY-CAS1.treyresearch.net Hello [127.0.10.1]\r\n"
    b"250-SIZE 37748736\r\n"
    b"250-PIPELINING\r\n"
    b"250-DSN\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250-STARTTLS\r\n"
    b"250 8BITMIME\r\n"
)
EHLO_REPLY_NO_TLS = replies.ehlo(FQDN, CLIENT_IP, max_size=37748736, starttls=False)


def greeted(session: ServerSession | None = None, *, reply: Reply = EHLO_REPLY) -> ServerTranscript:
    """A transcript past the banner and an accepted EHLO."""
    return (
        ServerTranscript(session)
        .greet(BANNER)
        .server(BANNER_BYTES)
        .client(b"EHLO ADATUM-CAS1.adatum.com\r\n")
        .event(Ehlo("ADATUM-CAS1.adatum.com", "EHLO ADATUM-CAS1.adatum.com"))
        .respond(reply)
        .server(reply.to_bytes())
    )


def in_transaction() -> ServerTranscript:
    """A transcript with MAIL and one RCPT accepted."""
    return (
        greeted()
        .client(b"MAIL FROM:<alice@adatum.com>\r\n")
        .event(MailFrom("alice@adatum.com", {}, "MAIL FROM:<alice@adatum.com>"))
        .respond(replies.SENDER_OK)
        .server(b"250 2.1.0 Sender OK\r\n")
        .client(b"RCPT TO:<bob@treyresearch.net>\r\n")
        .event(RcptTo("bob@treyresearch.net", {}, "RCPT TO:<bob@treyresearch.net>"))
        .respond(replies.RECIPIENT_OK)
        .server(b"250 2.1.5 Recipient OK\r\n")
    )


def test_happy_path_exact_bytes() -> None:
    t = (
        greeted()
        .client(b"MAIL FROM:<alice@adatum.com> SIZE=1234 BODY=8BITMIME\r\n")
        .event(
            MailFrom(
                "alice@adatum.com",
                {"SIZE": "1234", "BODY": "8BITMIME"},
                "MAIL FROM:<alice@adatum.com> SIZE=1234 BODY=8BITMIME",
            )
        )
        .respond(replies.SENDER_OK)
        .server(b"250 2.1.0 Sender OK\r\n")
        .client(b"RCPT TO:<bob@treyresearch.net>\r\n")
        .event(RcptTo("bob@treyresearch.net", {}, "RCPT TO:<bob@treyresearch.net>"))
        .respond(replies.RECIPIENT_OK)
        .server(b"250 2.1.5 Recipient OK\r\n")
        .client(b"DATA\r\n")
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .server(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n")
        .client(b"Subject: hi\r\n\r\nHello Bob\r\n.\r\n")
        .event(MessageReceived(b"Subject: hi\r\n\r\nHello Bob\r\n"))
        .respond(replies.queued_mail("abc@adatum.com", 42, FQDN))
        .server(
            b"250 2.6.0 <abc@adatum.com> [InternalId=42, Hostname=TREY-CAS1.treyresearch.net] "
            b"Queued mail for delivery\r\n"
        )
        .client(b"QUIT\r\n")
        .event(Quit("QUIT"))
        .respond(replies.CLOSING_CHANNEL)
        .server(b"221 2.0.0 Service closing transmission channel\r\n")
        .quiet()
    )
    assert t.session.state is ServerState.CLOSED
    assert t.session.helo_name == "ADATUM-CAS1.adatum.com"


def test_mail_from_properties_and_frozen_parameters() -> None:
    event = MailFrom("a@b.example", {"SIZE": "10", "BODY": "8bitmime"}, "MAIL FROM:<a@b.example>")
    assert event.size == 10
    assert event.body == "8BITMIME"
    with pytest.raises(TypeError):
        event.parameters["SIZE"] = "11"  # type: ignore[index]
    assert hash(event) == hash(MailFrom("a@b.example", {}, "MAIL FROM:<a@b.example>"))


def test_pipelined_commands_surface_one_at_a_time() -> None:
    (
        greeted()
        .client(
            b"MAIL FROM:<alice@adatum.com>\r\n"
            b"RCPT TO:<bob@treyresearch.net>\r\n"
            b"RCPT TO:<carol@treyresearch.net>\r\n"
            b"DATA\r\n"
            b"Hi\r\n.\r\nQUIT\r\n"
        )
        .event(MailFrom("alice@adatum.com", {}, "MAIL FROM:<alice@adatum.com>"))
        .event(PAUSED)
        .event(PAUSED)
        .respond(replies.SENDER_OK)
        .event(RcptTo("bob@treyresearch.net", {}, "RCPT TO:<bob@treyresearch.net>"))
        .event(PAUSED)
        .respond(replies.RECIPIENT_OK)
        .event(RcptTo("carol@treyresearch.net", {}, "RCPT TO:<carol@treyresearch.net>"))
        .respond(replies.RELAY_DENIED)
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .event(MessageReceived(b"Hi\r\n"))
        .respond(replies.queued_mail("m1@adatum.com", 1, FQDN))
        .event(Quit("QUIT"))
        .respond(replies.CLOSING_CHANNEL)
        .server(
            b"250 2.1.0 Sender OK\r\n"
            b"250 2.1.5 Recipient OK\r\n"
            b"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n"
            b"354 Start mail input; end with <CRLF>.<CRLF>\r\n"
            b"250 2.6.0 <m1@adatum.com> [InternalId=1, Hostname=TREY-CAS1.treyresearch.net] "
            b"Queued mail for delivery\r\n"
            b"221 2.0.0 Service closing transmission channel\r\n"
        )
    )


def test_pipelined_data_after_rejected_data_is_read_as_commands() -> None:
    # If DATA is refused, the lines after it are commands, not message content.
    (
        in_transaction()
        .client(b"DATA\r\nNOOP\r\n")
        .event(Data("DATA"))
        .respond(Reply(554, "No valid recipients", "5.5.1"))
        .server(b"554 5.5.1 No valid recipients\r\n")
        .event(Noop("NOOP"))
    )


def test_rejected_mail_does_not_open_a_transaction() -> None:
    (
        greeted()
        .client(b"MAIL FROM:<partner@adatum.com>\r\nRCPT TO:<bob@treyresearch.net>\r\n")
        .event(MailFrom("partner@adatum.com", {}, "MAIL FROM:<partner@adatum.com>"))
        .respond(replies.CERTIFICATE_VALIDATION_FAILURE)
        .event(CommandRejected("RCPT TO:<bob@treyresearch.net>", replies.NEED_MAIL_COMMAND))
        .server(b"454 4.7.5 Certificate validation failure\r\n503 5.5.2 Need mail command\r\n")
        .quiet()
    )


@pytest.mark.parametrize(
    ("line", "reply_bytes"),
    [
        (b"MAIL FROM:<a@adatum.com>", b"503 5.5.2 Send hello first\r\n"),
        (b"RCPT TO:<a@adatum.com>", b"503 5.5.2 Send hello first\r\n"),
        (b"DATA", b"503 5.5.2 Send hello first\r\n"),
        (b"STARTTLS", b"503 5.5.1 Bad sequence of commands\r\n"),
        (b"VRFY bob", b"500 5.3.3 Unrecognized command\r\n"),
        (b"XYZZY", b"500 5.3.3 Unrecognized command\r\n"),
        (b"", b"500 5.3.3 Unrecognized command\r\n"),
        (b"EHLO", b"501 5.5.4 Invalid arguments\r\n"),
        (b"HELO bad name", b"501 5.5.4 Invalid arguments\r\n"),
    ],
)
def test_before_hello(line: bytes, reply_bytes: bytes) -> None:
    reply = {r.to_bytes(): r for r in vars(replies).values() if isinstance(r, Reply)}[reply_bytes]
    (
        ServerTranscript()
        .greet(BANNER)
        .server(BANNER_BYTES)
        .client(line + b"\r\n")
        .event(CommandRejected(line.decode(), reply))
        .server(reply_bytes)
        .quiet()
    )


@pytest.mark.parametrize(
    ("setup", "line", "reply"),
    [
        ("greeted", "RCPT TO:<bob@treyresearch.net>", replies.NEED_MAIL_COMMAND),
        ("greeted", "DATA", replies.NEED_MAIL_COMMAND),
        ("mail", "DATA", replies.NEED_RCPT_COMMAND),
        ("mail", "MAIL FROM:<other@adatum.com>", replies.SENDER_ALREADY_SPECIFIED),
        ("rcpt", "MAIL FROM:<other@adatum.com>", replies.SENDER_ALREADY_SPECIFIED),
        ("rcpt", "STARTTLS", replies.BAD_SEQUENCE_OF_COMMANDS),
        ("greeted", "MAIL FROM:alice@adatum.com>", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<alice@adatum.com", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<alice>", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<alice@>", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL TO:<alice@adatum.com>", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL <alice@adatum.com>", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<alice@adatum.com> SIZE=big", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<alice@adatum.com> BODY=BINARYMIME", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<a@adatum.com> SIZE=1 SIZE=2", replies.INVALID_ARGUMENTS),
        ("greeted", "MAIL FROM:<a@adatum.com>SIZE=1", replies.INVALID_ARGUMENTS),
        ("mail", "RCPT TO:<>", replies.INVALID_ARGUMENTS),
        ("mail", "RCPT TO:<bob@trey research.net>", replies.INVALID_ARGUMENTS),
        ("rcpt", "DATA now", replies.INVALID_ARGUMENTS),
        ("greeted", "RSET please", replies.INVALID_ARGUMENTS),
        ("greeted", "QUIT now", replies.INVALID_ARGUMENTS),
    ],
)
def test_sequence_and_syntax_errors(setup: str, line: str, reply: Reply) -> None:
    t = greeted()
    if setup in ("mail", "rcpt"):
        t.client(b"MAIL FROM:<alice@adatum.com>\r\n").event(
            MailFrom("alice@adatum.com", {}, "MAIL FROM:<alice@adatum.com>")
        ).respond(replies.SENDER_OK).server(b"250 2.1.0 Sender OK\r\n")
    if setup == "rcpt":
        t.client(b"RCPT TO:<bob@treyresearch.net>\r\n").event(
            RcptTo("bob@treyresearch.net", {}, "RCPT TO:<bob@treyresearch.net>")
        ).respond(replies.RECIPIENT_OK).server(b"250 2.1.5 Recipient OK\r\n")
    state = t.session.state
    t.client(line.encode() + b"\r\n").event(CommandRejected(line, reply)).server(reply.to_bytes())
    t.quiet()
    assert t.session.state is state
    assert t.session.protocol_errors == 1


@pytest.mark.parametrize(
    ("line", "address", "parameters"),
    [
        ("MAIL FROM:<alice@adatum.com>", "alice@adatum.com", {}),
        ("mail from:<alice@adatum.com>", "alice@adatum.com", {}),
        ("MAIL FROM: <alice@adatum.com>", "alice@adatum.com", {}),
        ("Mail From:alice@adatum.com", "alice@adatum.com", {}),
        ("MAIL FROM:<>", "", {}),
        ("MAIL FROM:<> BODY=7bit", "", {"BODY": "7bit"}),
        ("MAIL FROM:<@relay.example:alice@adatum.com>", "alice@adatum.com", {}),
        (
            "MAIL FROM:<a@[127.0.10.1]> RET=HDRS ENVID=x+2B1",
            "a@[127.0.10.1]",
            {"RET": "HDRS", "ENVID": "x+2B1"},
        ),
        ('MAIL FROM:<"john doe"@adatum.com> smtputf8', '"john doe"@adatum.com', {"SMTPUTF8": None}),
    ],
)
def test_mail_from_accepted_forms(
    line: str, address: str, parameters: dict[str, str | None]
) -> None:
    greeted().client(line.encode() + b"\r\n").event(MailFrom(address, parameters, line))


def test_rcpt_parameters_and_postmaster() -> None:
    (
        in_transaction()
        .client(
            b"RCPT TO:<carol@treyresearch.net> NOTIFY=SUCCESS,FAILURE\r\nrcpt to:<Postmaster>\r\n"
        )
        .event(
            RcptTo(
                "carol@treyresearch.net",
                {"NOTIFY": "SUCCESS,FAILURE"},
                "RCPT TO:<carol@treyresearch.net> NOTIFY=SUCCESS,FAILURE",
            )
        )
        .respond(replies.RECIPIENT_OK)
        .event(RcptTo("Postmaster", {}, "rcpt to:<Postmaster>"))
    )


def test_lower_case_verbs_and_bare_lf() -> None:
    (
        ServerTranscript()
        .greet(BANNER)
        .client(b"ehlo client.example\nnoop hello\r\n")
        .event(Ehlo("client.example", "ehlo client.example"))
        .respond(EHLO_REPLY)
        .event(Noop("noop hello"))
    )


def test_helo_greets_without_extensions() -> None:
    t = (
        ServerTranscript()
        .greet(BANNER)
        .server(BANNER_BYTES)
        .client(b"HELO ADATUM-CAS1.adatum.com\r\n")
        .event(Helo("ADATUM-CAS1.adatum.com", "HELO ADATUM-CAS1.adatum.com"))
        .respond(replies.helo(FQDN, CLIENT_IP))
        .server(b"250 TREY-CAS1.treyresearch.net Hello [127.0.10.1]\r\n")
    )
    assert t.session.state is ServerState.GREETED
    assert dict(t.session.extensions) == {}
    # STARTTLS is not available after HELO: nothing advertised it.
    (
        t.client(b"STARTTLS\r\nMAIL FROM:<a@adatum.com>\r\n")
        .event(CommandRejected("STARTTLS", replies.BAD_SEQUENCE_OF_COMMANDS))
        .server(b"503 5.5.1 Bad sequence of commands\r\n")
        .event(MailFrom("a@adatum.com", {}, "MAIL FROM:<a@adatum.com>"))
    )


def test_rejected_ehlo_leaves_session_ungreeted() -> None:
    t = (
        ServerTranscript()
        .greet(BANNER)
        .client(b"EHLO x.example\r\nMAIL FROM:<a@adatum.com>\r\n")
        .event(Ehlo("x.example", "EHLO x.example"))
        .respond(Reply(550, "Access denied", "5.7.1"))
        .event(CommandRejected("MAIL FROM:<a@adatum.com>", replies.SEND_HELLO_FIRST))
    )
    assert t.session.helo_name is None


def test_rset_resets_the_transaction() -> None:
    t = (
        in_transaction()
        .client(b"RSET\r\n")
        .event(Rset("RSET"))
        .respond(replies.RESETTING)
        .server(b"250 2.0.0 Resetting\r\n")
    )
    assert t.session.state is ServerState.GREETED
    assert t.session.recipient_count == 0
    (
        t.client(b"DATA\r\n")
        .event(CommandRejected("DATA", replies.NEED_MAIL_COMMAND))
        .server(b"503 5.5.2 Need mail command\r\n")
        .client(b"MAIL FROM:<alice@adatum.com>\r\n")
        .event(MailFrom("alice@adatum.com", {}, "MAIL FROM:<alice@adatum.com>"))
    )


def test_rset_before_hello_keeps_session_ungreeted() -> None:
    t = (
        ServerTranscript()
        .greet(BANNER)
        .client(b"RSET\r\n")
        .event(Rset("RSET"))
        .respond(replies.RESETTING)
    )
    assert t.session.state is ServerState.AWAITING_HELLO


def test_ehlo_in_a_transaction_resets_it() -> None:
    t = (
        in_transaction()
        .client(b"EHLO again.example\r\n")
        .event(Ehlo("again.example", "EHLO again.example"))
        .respond(EHLO_REPLY)
    )
    assert t.session.state is ServerState.GREETED
    assert t.session.recipient_count == 0


def test_recipient_count() -> None:
    t = in_transaction()
    assert t.session.recipient_count == 1
    (
        t.client(b"RCPT TO:<c@treyresearch.net>\r\nRCPT TO:<d@treyresearch.net>\r\n")
        .event(RcptTo("c@treyresearch.net", {}, "RCPT TO:<c@treyresearch.net>"))
        .respond(replies.RECIPIENT_OK)
        .event(RcptTo("d@treyresearch.net", {}, "RCPT TO:<d@treyresearch.net>"))
        .respond(replies.TOO_MANY_RECIPIENTS)
        .server(b"250 2.1.5 Recipient OK\r\n452 4.5.3 Too many recipients\r\n")
    )
    assert t.session.recipient_count == 2


def test_starttls_discards_pipelined_plaintext_and_requires_ehlo_again() -> None:
    t = (
        greeted()
        .client(b"STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n")
        .event(StartTls("STARTTLS"))
        .event(PAUSED)
        .client(b"RCPT TO:<victim@treyresearch.net>\r\n")
        .respond(replies.STARTTLS_READY)
        .server(b"220 2.0.0 SMTP server ready\r\n")
        .quiet()
    )
    session = t.session
    assert session.tls_active
    assert session.helo_name is None
    assert session.state is ServerState.AWAITING_HELLO
    assert session.discarded_after_starttls == len(
        b"MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@treyresearch.net>\r\n"
    )
    # Now over TLS: the client must say hello again, and STARTTLS is not offered twice.
    (
        t.client(b"MAIL FROM:<alice@adatum.com>\r\n")
        .event(CommandRejected("MAIL FROM:<alice@adatum.com>", replies.SEND_HELLO_FIRST))
        .server(b"503 5.5.2 Send hello first\r\n")
        .client(b"EHLO ADATUM-CAS1.adatum.com\r\n")
        .event(Ehlo("ADATUM-CAS1.adatum.com", "EHLO ADATUM-CAS1.adatum.com"))
        .respond(EHLO_REPLY_NO_TLS)
        .server(EHLO_REPLY_NO_TLS.to_bytes())
        .client(b"STARTTLS\r\n")
        .event(CommandRejected("STARTTLS", replies.BAD_SEQUENCE_OF_COMMANDS))
        .server(b"503 5.5.1 Bad sequence of commands\r\n")
    )


def test_starttls_not_offered_is_rejected() -> None:
    (
        greeted(reply=EHLO_REPLY_NO_TLS)
        .client(b"STARTTLS\r\n")
        .event(CommandRejected("STARTTLS", replies.BAD_SEQUENCE_OF_COMMANDS))
        .server(b"503 5.5.1 Bad sequence of commands\r\n")
    )


def test_starttls_refused_keeps_plaintext_session() -> None:
    t = (
        greeted()
        .client(b"STARTTLS\r\nNOOP\r\n")
        .event(StartTls("STARTTLS"))
        .respond(Reply(454, "TLS not available due to temporary reason", "4.7.0"))
        .event(Noop("NOOP"))
    )
    assert not t.session.tls_active
    assert t.session.state is ServerState.GREETED


def test_starttls_on_a_session_that_started_under_tls() -> None:
    session = ServerSession(tls_active=True)
    (
        greeted(session)  # even if the owner (wrongly) advertises STARTTLS
        .client(b"STARTTLS\r\n")
        .event(CommandRejected("STARTTLS", replies.BAD_SEQUENCE_OF_COMMANDS))
    )


def test_dot_stuffed_message_and_following_commands_in_one_segment() -> None:
    (
        in_transaction()
        .client(b"DATA\r\n")
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .server(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n")
        .client(b"..leading dot\r\n...\r\n.x\r\n\r\n.\r\nMAIL FROM:<n@adatum.com>\r\n")
        .event(MessageReceived(b".leading dot\r\n..\r\nx\r\n\r\n"))
        .respond(replies.queued_mail("m@adatum.com", 7, FQDN))
        .event(MailFrom("n@adatum.com", {}, "MAIL FROM:<n@adatum.com>"))
    )


def test_empty_message() -> None:
    (
        in_transaction()
        .client(b"DATA\r\n.\r\n")
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .event(MessageReceived(b""))
    )


def test_bare_lf_dot_is_not_end_of_data() -> None:
    # SMTP smuggling: only CRLF.CRLF ends the data.
    (
        in_transaction()
        .client(b"DATA\r\n")
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .client(b"a\n.\nMAIL FROM:<evil@x.example>\r\n\r\n.\r\n")
        .event(MessageReceived(b"a\n.\nMAIL FROM:<evil@x.example>\r\n\r\n"))
    )


def test_message_split_at_every_point() -> None:
    wire = b"Subject: x\r\n\r\n..one\r\n.\r\r\n..\r\nend\r\n.\r\nNOOP\r\n"
    expected = b"Subject: x\r\n\r\n.one\r\n\r\r\n.\r\nend\r\n"
    for cut in range(len(wire) + 1):
        for cut2 in range(cut, len(wire) + 1):
            t = (
                in_transaction()
                .client(b"DATA\r\n")
                .event(Data("DATA"))
                .respond(replies.START_MAIL_INPUT)
                .server(replies.START_MAIL_INPUT.to_bytes())
            )
            session = t.session
            seen: list[object] = []
            for part in (wire[:cut], wire[cut:cut2], wire[cut2:]):
                if part:
                    session.receive_data(part)
                while (event := session.next_event()) not in (NEED_DATA, PAUSED):
                    seen.append(event)
                    if isinstance(event, MessageReceived):
                        session.respond(replies.queued_mail("m@x", 1, FQDN))
            assert seen == [MessageReceived(expected), Noop("NOOP")], (cut, cut2)


def test_bytes_received_tracks_the_message() -> None:
    t = (
        in_transaction()
        .client(b"DATA\r\n")
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .server(replies.START_MAIL_INPUT.to_bytes())
        .client(b"12345\r\n")
        .event(NEED_DATA)
    )
    assert t.session.bytes_received == 7
    t.client(b"6789\r\n").event(NEED_DATA)
    assert t.session.bytes_received == 13
    # The owner decides the limit: 552 to the complete message ends the transaction.
    t.client(b".\r\n").event(MessageReceived(b"12345\r\n6789\r\n")).respond(replies.MESSAGE_TOO_BIG)
    t.server(b"552 5.3.4 Message size exceeds fixed maximum message size\r\n")
    assert t.session.state is ServerState.GREETED


def test_protocol_error_limit_sends_421_and_closes() -> None:
    t = greeted()
    for number in range(1, 5):
        t.client(b"BOGUS\r\n").event(CommandRejected("BOGUS", replies.UNRECOGNIZED_COMMAND))
        t.server(b"500 5.3.3 Unrecognized command\r\n")
        assert t.session.protocol_errors == number
    (
        t.client(b"DATA\r\nNOOP\r\n")
        .event(CommandRejected("DATA", replies.NEED_MAIL_COMMAND))
        .event(TooManyProtocolErrors(replies.TOO_MANY_ERRORS))
        .server(
            b"503 5.5.2 Need mail command\r\n"
            b"421 4.7.0 Too many errors on this connection, closing transmission channel\r\n"
        )
        .quiet()
        .client(b"NOOP\r\n")
        .quiet()
        .close()
        .event(ConnectionClosed())
    )
    assert t.session.state is ServerState.CLOSED


def test_owner_rejections_are_not_protocol_errors() -> None:
    t = greeted(ServerSession(max_protocol_errors=1))
    for _ in range(3):
        t.client(b"MAIL FROM:<a@adatum.com>\r\n").event(
            MailFrom("a@adatum.com", {}, "MAIL FROM:<a@adatum.com>")
        ).respond(replies.NOT_AUTHENTICATED).server(b"530 5.7.1 Not authenticated\r\n")
    assert t.session.protocol_errors == 0


def test_line_too_long() -> None:
    long_line = b"NOOP " + b"x" * 2100
    t = (
        greeted()
        .client(long_line[:1000])
        .event(NEED_DATA)
        .client(long_line[1000:2500])
        .event(LineTooLong(long_line[:2000].decode(), replies.LINE_TOO_LONG))
        .server(b"500 5.5.6 Line too long\r\n")
        .client(long_line[2500:] + b"\r\nNOOP\r\n")
        .event(Noop("NOOP"))
    )
    assert t.session.protocol_errors == 1


def test_line_too_long_complete_in_one_segment() -> None:
    line = b"MAIL FROM:<" + b"a" * 2000 + b"@adatum.com>"
    (
        greeted()
        .client(line + b"\r\nNOOP\r\n")
        .event(LineTooLong(line[:2000].decode(), replies.LINE_TOO_LONG))
        .server(b"500 5.5.6 Line too long\r\n")
        .event(Noop("NOOP"))
    )


def test_line_at_the_limit_is_accepted() -> None:
    session = ServerSession(max_line_length=20)
    line = b"NOOP " + b"y" * 15
    (
        ServerTranscript(session)
        .greet(BANNER)
        .client(line + b"\r")
        .event(NEED_DATA)
        .client(b"\n")
        .event(Noop(line.decode()))
    )


def test_quit_closes_and_ignores_the_rest() -> None:
    t = (
        greeted()
        .client(b"QUIT\r\nNOOP\r\n")
        .event(Quit("QUIT"))
        .respond(replies.CLOSING_CHANNEL)
        .server(b"221 2.0.0 Service closing transmission channel\r\n")
        .quiet()
    )
    assert t.session.state is ServerState.CLOSED


def test_quit_before_hello() -> None:
    (
        ServerTranscript()
        .greet(BANNER)
        .client(b"QUIT\r\n")
        .event(Quit("QUIT"))
        .respond(replies.CLOSING_CHANNEL)
        .server(BANNER_BYTES + b"221 2.0.0 Service closing transmission channel\r\n")
    )


def test_owner_421_closes_the_session() -> None:
    t = (
        greeted()
        .client(b"NOOP\r\nNOOP\r\n")
        .event(Noop("NOOP"))
        .respond(Reply(421, "Connection timed out", "4.4.1"))
    )
    t.server(b"421 4.4.1 Connection timed out\r\n").quiet()
    assert t.session.state is ServerState.CLOSED


def test_connection_closed_with_pending_commands_processed_first() -> None:
    (
        greeted()
        .client(b"NOOP\r\nMAIL FROM:<a@adatum")
        .close()
        .event(Noop("NOOP"))
        .event(PAUSED)
        .respond(replies.NOOP_OK)
        .event(ConnectionClosed())
        .event(ConnectionClosed())
    )


def test_connection_closed_during_data() -> None:
    t = (
        in_transaction()
        .client(b"DATA\r\n")
        .event(Data("DATA"))
        .respond(replies.START_MAIL_INPUT)
        .client(b"partial message\r\n")
        .close()
        .event(ConnectionClosed())
    )
    assert t.session.state is ServerState.CLOSED


def test_non_220_banner_closes() -> None:
    session = ServerSession()
    assert session.greeting(Reply(421, "Service not available", "4.3.2")) == (
        b"421 4.3.2 Service not available\r\n"
    )
    session.receive_data(b"EHLO x\r\n")
    assert session.next_event() is NEED_DATA
    assert session.state is ServerState.CLOSED


def test_local_protocol_errors() -> None:
    session = ServerSession()
    with pytest.raises(LocalProtocolError):
        session.next_event()
    session.greeting(BANNER)
    with pytest.raises(LocalProtocolError):
        session.greeting(BANNER)
    with pytest.raises(LocalProtocolError):
        session.respond(replies.SENDER_OK)
    session.receive_data(b"EHLO x.example\r\n")
    assert isinstance(session.next_event(), Ehlo)
    with pytest.raises(LocalProtocolError):
        session.respond(replies.START_MAIL_INPUT)  # 354 only answers DATA
    session.respond(EHLO_REPLY)
    session.receive_data(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    session.next_event()
    session.respond(replies.SENDER_OK)
    session.next_event()
    session.respond(replies.RECIPIENT_OK)
    assert session.next_event() == Data("DATA")
    with pytest.raises(LocalProtocolError):
        session.respond(replies.NOOP_OK)  # DATA takes 354 or a refusal
    session.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        session.receive_data(b"more")


def test_run_transcript_list_form_and_mismatch_message() -> None:
    session = ServerSession()
    run_transcript(
        session,
        [
            ("greet", BANNER),
            ("server", BANNER_BYTES),
            ("client", b"EHLO x.example\r\n"),
            ("event", Ehlo("x.example", "EHLO x.example")),
            ("respond", replies.helo(FQDN, CLIENT_IP)),
            ("server", b"250 TREY-CAS1.treyresearch.net Hello [127.0.10.1]\r\n"),
            ("event", NEED_DATA),
        ],
    )
    with pytest.raises(TranscriptMismatch, match="expected event"):
        run_transcript(
            ServerSession(),
            [("greet", BANNER), ("client", b"NOOP\r\n"), ("event", Quit("QUIT"))],
        )


# --- X-EXPS (Exchange Server authentication, docs/exchange-reference.md §17 C5) -------------------------------

EHLO_REPLY_EXPS = replies.ehlo(
    FQDN, CLIENT_IP, max_size=37748736, starttls=True, exchange_auth=True
)
CHALLENGE = Reply(334, "bm9uY2U=")


def test_x_exps_is_advertised_after_starttls_in_exchanges_order() -> None:
    assert EHLO_REPLY_EXPS.lines[-3:] == ("STARTTLS", "X-EXPS GSSAPI NTLM", "8BITMIME")


def test_x_exps_challenge_then_the_next_line_is_the_response_not_a_command() -> None:
    t = (
        greeted(reply=EHLO_REPLY_EXPS)
        .client(b"X-EXPS GSSAPI\r\nMAIL FROM:<x@y.z>\r\nNOOP\r\n")
        .event(ExchangeAuth("GSSAPI", "X-EXPS GSSAPI"))
        .respond(CHALLENGE)
        .server(b"334 bm9uY2U=\r\n")
        # Read as the response (base64 or not), never executed as MAIL.
        .event(AuthResponse("MAIL FROM:<x@y.z>"))
    )
    assert t.session.state is ServerState.AUTH_RESPONSE
    t.respond(Reply(235, "Authentication successful", "2.7.0")).server(
        b"235 2.7.0 Authentication successful\r\n"
    ).event(Noop("NOOP"))
    assert t.session.state is ServerState.GREETED


def test_x_exps_refused_response_returns_to_the_greeted_state() -> None:
    t = (
        greeted(reply=EHLO_REPLY_EXPS)
        .client(b"x-exps gssapi\r\n")
        .event(ExchangeAuth("GSSAPI", "x-exps gssapi"))
        .respond(CHALLENGE)
        .server(b"334 bm9uY2U=\r\n")
        .client(b"Zm9yZ2Vk\r\n")
        .event(AuthResponse("Zm9yZ2Vk"))
        .respond(Reply(535, "Authentication unsuccessful", "5.7.3"))
        .server(b"535 5.7.3 Authentication unsuccessful\r\n")
    )
    assert t.session.state is ServerState.GREETED


@pytest.mark.parametrize(
    ("reply", "line", "answer"),
    [
        # Not advertised (a Partner connector): unknown, like any verb labsim does not offer.
        (EHLO_REPLY, "X-EXPS GSSAPI", replies.UNRECOGNIZED_COMMAND),
        (EHLO_REPLY_EXPS, "X-EXPS", replies.INVALID_ARGUMENTS),
        (EHLO_REPLY_EXPS, "X-EXPS GSS API", replies.INVALID_ARGUMENTS),
    ],
)
def test_x_exps_refused_by_the_session(reply: Reply, line: str, answer: Reply) -> None:
    greeted(reply=reply).client(line.encode() + b"\r\n").event(CommandRejected(line, answer))


def test_x_exps_inside_a_transaction_is_a_bad_sequence() -> None:
    t = greeted(reply=EHLO_REPLY_EXPS).client(b"MAIL FROM:<a@b.c>\r\n")
    t.event(MailFrom("a@b.c", {}, "MAIL FROM:<a@b.c>")).respond(replies.SENDER_OK)
    t.server(b"250 2.1.0 Sender OK\r\n").client(b"X-EXPS GSSAPI\r\n").event(
        CommandRejected("X-EXPS GSSAPI", replies.BAD_SEQUENCE_OF_COMMANDS)
    )


def test_only_x_exps_may_be_answered_with_334() -> None:
    t = greeted(reply=EHLO_REPLY_EXPS).client(b"NOOP\r\n").event(Noop("NOOP"))
    with pytest.raises(LocalProtocolError):
        t.session.respond(CHALLENGE)


def test_data_over_the_owners_limit_is_read_to_its_end_but_not_held() -> None:
    """Issue 10 item 11: a 300 MB message used to be held whole before the 552."""
    t = greeted().client(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n")
    t.event(MailFrom("a@b.c", {}, "MAIL FROM:<a@b.c>")).respond(replies.SENDER_OK)
    t.event(RcptTo("d@e.f", {}, "RCPT TO:<d@e.f>")).respond(replies.RECIPIENT_OK)
    t.session.message_size_limit = 1000
    t.event(Data("DATA")).respond(replies.START_MAIL_INPUT)
    line = b"x" * 98 + b"\r\n"
    for _ in range(500):  # 50,000 octets, in 500 reads
        t.session.receive_data(line)
        assert t.session.next_event() is NEED_DATA
        assert t.session.message_octets_held <= 1000
    t.session.receive_data(b".\r\nNOOP\r\n")
    assert t.session.next_event() == MessageReceived(b"", oversized=50_000)
    assert t.session.respond(replies.MESSAGE_TOO_BIG).startswith(b"552 5.3.4")
    assert t.session.next_event() == Noop("NOOP")


def test_data_within_the_limit_is_kept() -> None:
    t = greeted().client(b"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n")
    t.event(MailFrom("a@b.c", {}, "MAIL FROM:<a@b.c>")).respond(replies.SENDER_OK)
    t.event(RcptTo("d@e.f", {}, "RCPT TO:<d@e.f>")).respond(replies.RECIPIENT_OK)
    t.session.message_size_limit = 12
    t.event(Data("DATA")).respond(replies.START_MAIL_INPUT)
    t.client(b"0123456789\r\n.\r\n").event(MessageReceived(b"0123456789\r\n"))
