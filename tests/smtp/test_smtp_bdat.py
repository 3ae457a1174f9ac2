"""BDAT (RFC 3030 CHUNKING) and BODY=BINARYMIME in the server session, as transcripts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.smtp import (
    NEED_DATA,
    Bdat,
    ChunkReceived,
    ClientSession,
    CommandRejected,
    ConnectionClosed,
    Data,
    LocalProtocolError,
    MailFrom,
    MessageReceived,
    Noop,
    Quit,
    RcptTo,
    Reply,
    ReplyReceived,
    Rset,
    ServerState,
    replies,
)
from labsim.smtp.testing import ServerTranscript

FQDN = "TREY-CAS1.treyresearch.net"
CLIENT_IP = "127.0.10.1"
BANNER = replies.banner(FQDN, datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC))
EHLO_CHUNKING = replies.ehlo(
    FQDN, CLIENT_IP, max_size=37748736, starttls=False, binary_mime=True, chunking=True
)
QUEUED = replies.queued_mail("abc@adatum.com", 42, FQDN)
QUEUED_BYTES = (
    b"250 2.6.0 <abc@adatum.com> [InternalId=42, Hostname=TREY-CAS1.treyresearch.net] "
    b"Queued mail for delivery\r\n"
)
MESSAGE = b"Subject: hi\r\n\r\n.leading dot stays\r\n.\r\nHello Bob\r\n"


def greeted(reply: Reply = EHLO_CHUNKING) -> ServerTranscript:
    """Past the banner and an accepted EHLO."""
    t = ServerTranscript().greet(BANNER).server(BANNER.to_bytes())
    t.client(b"EHLO ADATUM-CAS1.adatum.com\r\n").session.next_event()
    return t.respond(reply).server(reply.to_bytes())


def transaction(reply: Reply = EHLO_CHUNKING, body: str = "") -> ServerTranscript:
    """Past EHLO (with CHUNKING unless told), MAIL and one RCPT."""
    params = f" BODY={body}" if body else ""
    mail_line = f"MAIL FROM:<alice@adatum.com>{params}"
    return (
        greeted(reply)
        .client(mail_line.encode() + b"\r\n")
        .event(MailFrom("alice@adatum.com", {"BODY": body} if body else {}, mail_line))
        .respond(replies.SENDER_OK)
        .server(b"250 2.1.0 Sender OK\r\n")
        .client(b"RCPT TO:<bob@treyresearch.net>\r\n")
        .event(RcptTo("bob@treyresearch.net", {}, "RCPT TO:<bob@treyresearch.net>"))
        .respond(replies.RECIPIENT_OK)
        .server(b"250 2.1.5 Recipient OK\r\n")
    )


def test_ehlo_offers_binarymime_and_chunking_after_8bitmime() -> None:
    assert EHLO_CHUNKING.to_bytes().endswith(
        b"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-BINARYMIME\r\n250 CHUNKING\r\n"
    )
    only_chunking = replies.ehlo(FQDN, CLIENT_IP, max_size=1, starttls=True, chunking=True)
    assert only_chunking.lines[-2:] == ("8BITMIME", "CHUNKING")


def test_one_bdat_last_chunk_is_the_message_exactly_as_sent() -> None:
    line = f"BDAT {len(MESSAGE)} LAST"
    t = (
        transaction()
        # The octets follow the command line in the same segment: none is read as a command,
        # the dot lines included (no dot-stuffing with BDAT).
        .client(line.encode() + b"\r\n" + MESSAGE + b"QUIT\r\n")
        .event(Bdat(len(MESSAGE), True, line))
        .server(b"")
        .accept_chunk()
        .server(b"")
        .event(MessageReceived(MESSAGE))
        .respond(QUEUED)
        .server(QUEUED_BYTES)
    )
    assert t.session.state is ServerState.GREETED
    assert t.session.bytes_received == len(MESSAGE)
    t.event(Quit("QUIT"))


def test_chunks_arrive_in_any_segmentation_and_last_may_be_empty() -> None:
    t = transaction().client(b"BDAT 10\r\nSubject: ").event(Bdat(10, False, "BDAT 10"))
    t.accept_chunk().event(NEED_DATA).client(b"h").event(ChunkReceived(10))
    t.respond(replies.chunk_received(10)).server(b"250 2.6.0 CHUNK received OK, 10 octets\r\n")
    assert t.session.state is ServerState.BDAT
    t.client(b"bdat 5 last\r\nx\r\n\r\n").event(Bdat(5, True, "bdat 5 last")).accept_chunk()
    t.event(MessageReceived(b"Subject: hx\r\n\r\n")).respond(QUEUED).server(QUEUED_BYTES)
    zero = transaction().client(b"BDAT 3\r\nabcBDAT 0 LAST\r\n")
    zero.event(Bdat(3, False, "BDAT 3")).accept_chunk().event(ChunkReceived(3))
    zero.respond(replies.chunk_received(3)).server(b"250 2.6.0 CHUNK received OK, 3 octets\r\n")
    zero.event(Bdat(0, True, "BDAT 0 LAST")).accept_chunk().event(MessageReceived(b"abc"))


@pytest.mark.parametrize(
    ("before", "reply"),
    [
        (b"", replies.NEED_MAIL_COMMAND),
        (b"MAIL FROM:<a@adatum.com>\r\n", replies.NEED_RCPT_COMMAND),
    ],
)
def test_bdat_before_mail_or_rcpt_is_refused_and_its_octets_skipped(
    before: bytes, reply: Reply
) -> None:
    t = greeted()
    if before:
        t.client(before).event(MailFrom("a@adatum.com", {}, before.decode().strip()))
        t.respond(replies.SENDER_OK).server(b"250 2.1.0 Sender OK\r\n")
    t.client(b"BDAT 6 LAST\r\nNOOP\r\nRSET\r\n")
    t.event(CommandRejected("BDAT 6 LAST", reply)).server(reply.to_bytes())
    # "NOOP\r\n" was the chunk's six octets: the next command is RSET.
    t.event(Rset("RSET"))


def test_bdat_not_offered_is_an_unrecognized_command() -> None:
    plain = replies.ehlo(FQDN, CLIENT_IP, max_size=37748736, starttls=False)
    t = transaction(reply=plain).client(b"BDAT 4 LAST\r\n")
    t.event(CommandRejected("BDAT 4 LAST", replies.UNRECOGNIZED_COMMAND))
    t.server(b"500 5.3.3 Unrecognized command\r\n")


@pytest.mark.parametrize("argument", ["", "LAST", "-1", "12 FIRST", "1x"])
def test_bdat_without_a_valid_size_is_501(argument: str) -> None:
    line = f"BDAT {argument}".rstrip()
    t = transaction().client(line.encode() + b"\r\n")
    t.event(CommandRejected(line, replies.INVALID_ARGUMENTS)).server(
        b"501 5.5.4 Invalid arguments\r\n"
    )


def test_data_after_bdat_is_a_bad_sequence_and_rset_discards_the_chunks() -> None:
    t = transaction().client(b"BDAT 5\r\nHello").event(Bdat(5, False, "BDAT 5"))
    t.accept_chunk().event(ChunkReceived(5)).respond(replies.chunk_received(5)).server(
        b"250 2.6.0 CHUNK received OK, 5 octets\r\n"
    )
    t.client(b"DATA\r\n").event(CommandRejected("DATA", replies.BAD_SEQUENCE_OF_COMMANDS))
    t.server(b"503 5.5.1 Bad sequence of commands\r\n")
    t.client(b"RSET\r\n").event(Rset("RSET")).respond(replies.RESETTING)
    t.server(b"250 2.0.0 Resetting\r\n")
    assert t.session.state is ServerState.GREETED
    assert t.session.message_octets_held == 0
    t.client(b"BDAT 2 LAST\r\nhi").event(CommandRejected("BDAT 2 LAST", replies.NEED_MAIL_COMMAND))


def test_a_chunk_over_the_limit_is_read_discarded_and_flagged() -> None:
    t = transaction()
    t.session.message_size_limit = 8
    t.client(b"BDAT 6\r\n123456").event(Bdat(6, False, "BDAT 6")).accept_chunk()
    t.event(ChunkReceived(6)).respond(replies.chunk_received(6)).server(
        b"250 2.6.0 CHUNK received OK, 6 octets\r\n"
    )
    t.client(b"BDAT 6 LAST\r\n789012").event(Bdat(6, True, "BDAT 6 LAST")).accept_chunk()
    t.event(MessageReceived(b"", oversized=12))
    assert t.session.message_octets_held == 0
    t.respond(replies.MESSAGE_TOO_BIG).server(
        b"552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    )
    assert t.session.state is ServerState.GREETED


def test_a_refused_intermediate_chunk_ends_the_transaction() -> None:
    t = transaction()
    t.session.message_size_limit = 4
    t.client(b"BDAT 6\r\n123456").event(Bdat(6, False, "BDAT 6")).accept_chunk()
    t.event(ChunkReceived(6, oversized=6)).respond(replies.MESSAGE_TOO_BIG)
    t.server(b"552 5.3.4 Message size exceeds fixed maximum message size\r\n")
    assert t.session.state is ServerState.GREETED
    # A chunk pipelined behind it is out of sequence now, and its octets are skipped.
    t.client(b"BDAT 3 LAST\r\nabcNOOP\r\n")
    t.event(CommandRejected("BDAT 3 LAST", replies.NEED_MAIL_COMMAND))
    t.server(b"503 5.5.2 Need mail command\r\n")


def test_an_owner_refusal_of_bdat_skips_the_octets() -> None:
    t = transaction().client(b"BDAT 4 LAST\r\nRSETNOOP\r\n").event(Bdat(4, True, "BDAT 4 LAST"))
    t.respond(replies.NEED_RCPT_COMMAND).server(b"503 5.5.2 Need rcpt command\r\n")
    t.event(Noop("NOOP"))


def test_bdat_is_not_answered_with_a_positive_reply() -> None:
    t = transaction().client(b"BDAT 1 LAST\r\nx").event(Bdat(1, True, "BDAT 1 LAST"))
    with pytest.raises(LocalProtocolError, match="accept_chunk"):
        t.session.respond(replies.RECIPIENT_OK)
    fresh = transaction().client(b"DATA\r\n").event(Data("DATA"))
    with pytest.raises(LocalProtocolError, match="BDAT event"):
        fresh.session.accept_chunk()


def test_binarymime_is_accepted_only_when_offered_and_then_data_is_refused() -> None:
    t = transaction(body="BINARYMIME")
    t.client(b"DATA\r\n").event(CommandRejected("DATA", replies.BAD_SEQUENCE_OF_COMMANDS))
    t.server(b"503 5.5.1 Bad sequence of commands\r\n")
    t.client(b"BDAT 2 LAST\r\n\x00\xff").event(Bdat(2, True, "BDAT 2 LAST")).accept_chunk()
    t.event(MessageReceived(b"\x00\xff"))
    plain = replies.ehlo(FQDN, CLIENT_IP, max_size=37748736, starttls=False)
    line = "MAIL FROM:<alice@adatum.com> BODY=BINARYMIME"
    refused = greeted(plain).client(line.encode() + b"\r\n")
    refused.event(CommandRejected(line, replies.INVALID_ARGUMENTS))
    eight = greeted().client(b"MAIL FROM:<a@adatum.com> BODY=8BITMIME\r\n")
    assert isinstance(eight.session.next_event(), MailFrom)


def test_peer_closing_mid_chunk_drops_the_message() -> None:
    t = transaction().client(b"BDAT 10 LAST\r\nabc").event(Bdat(10, True, "BDAT 10 LAST"))
    t.accept_chunk().event(NEED_DATA).close().event(ConnectionClosed())
    assert t.session.state is ServerState.CLOSED


def _client_in_transaction(ehlo: Reply) -> ClientSession:
    client = ClientSession()
    client.receive_data(BANNER.to_bytes())
    client.next_event()
    client.send_ehlo("ADATUM-MBX1.adatum.com")
    client.receive_data(ehlo.to_bytes())
    client.next_event()
    client.send_mail("alice@adatum.com")
    client.receive_data(b"250 2.1.0 Sender OK\r\n")
    client.next_event()
    client.send_rcpt("bob@treyresearch.net")
    client.receive_data(b"250 2.1.5 Recipient OK\r\n")
    client.next_event()
    return client


def test_client_sends_the_message_as_one_bdat_last_chunk_undotstuffed() -> None:
    client = _client_in_transaction(EHLO_CHUNKING)
    wire = client.send_bdat(b"Subject: x\n\n.dot\nend")
    body = b"Subject: x\r\n\r\n.dot\r\nend\r\n"
    assert wire == f"BDAT {len(body)} LAST\r\n".encode() + body
    assert client.outstanding == ("BDAT",)
    with pytest.raises(LocalProtocolError, match="awaits its reply"):
        client.send_noop()
    client.receive_data(QUEUED_BYTES)
    assert client.next_event() == ReplyReceived("BDAT", "", QUEUED)
    with pytest.raises(LocalProtocolError, match="before MAIL"):
        client.send_bdat(b"again")


def test_client_refuses_bdat_to_a_server_without_chunking() -> None:
    plain = replies.ehlo(FQDN, CLIENT_IP, max_size=37748736, starttls=False)
    client = _client_in_transaction(plain)
    with pytest.raises(LocalProtocolError, match="CHUNKING"):
        client.send_bdat(b"Subject: x\r\n\r\n")


def test_client_bdat_reaches_the_server_as_the_same_message() -> None:
    client = _client_in_transaction(EHLO_CHUNKING)
    t = transaction().client(client.send_bdat(MESSAGE))
    t.event(Bdat(len(MESSAGE), True, f"BDAT {len(MESSAGE)} LAST")).accept_chunk()
    t.event(MessageReceived(MESSAGE))


def test_bdat_before_ehlo_or_after_helo_is_unknown() -> None:
    t = ServerTranscript().greet(BANNER).server(BANNER.to_bytes())
    t.client(b"BDAT 2 LAST\r\n").event(CommandRejected("BDAT 2 LAST", replies.UNRECOGNIZED_COMMAND))
    t.client(b"HELO x\r\n").session.next_event()
    t.respond(replies.helo(FQDN, CLIENT_IP))
    t.client(b"BDAT 2 LAST\r\n").event(CommandRejected("BDAT 2 LAST", replies.UNRECOGNIZED_COMMAND))
