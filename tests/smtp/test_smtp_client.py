"""Client session: reply matching, extensions, STARTTLS, misuse; client and server back to back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.smtp import (
    NEED_DATA,
    PAUSED,
    ClientSession,
    ConnectionClosed,
    Data,
    Ehlo,
    LocalProtocolError,
    MailFrom,
    MessageReceived,
    ProtocolViolation,
    Quit,
    RcptTo,
    Reply,
    ReplyReceived,
    ServerSession,
    StartTls,
    UnsolicitedReply,
    replies,
    stuff,
)
from labsim.smtp.testing import collect_events

FQDN = "TREY-CAS1.treyresearch.net"
WHEN = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
BANNER = replies.banner(FQDN, WHEN)
EHLO_REPLY = replies.ehlo(FQDN, "127.0.10.1", max_size=37748736, starttls=True)


def client_after_ehlo(ehlo_reply: Reply = EHLO_REPLY) -> ClientSession:
    client = ClientSession()
    client.receive_data(BANNER.to_bytes())
    assert collect_events(client) == [ReplyReceived("GREETING", "", BANNER)]
    assert client.send_ehlo("ADATUM-CAS1.adatum.com") == b"EHLO ADATUM-CAS1.adatum.com\r\n"
    client.receive_data(ehlo_reply.to_bytes())
    assert collect_events(client) == [ReplyReceived("EHLO", "ADATUM-CAS1.adatum.com", ehlo_reply)]
    return client


def test_greeting_and_ehlo_split_at_every_byte() -> None:
    wire = BANNER.to_bytes() + EHLO_REPLY.to_bytes()
    expected_extensions = {
        "SIZE": "37748736",
        "PIPELINING": "",
        "DSN": "",
        "ENHANCEDSTATUSCODES": "",
        "STARTTLS": "",
        "8BITMIME": "",
    }
    # Until EHLO is sent its reply cannot have arrived complete (it would be unsolicited).
    for cut in range(len(BANNER.to_bytes()), len(wire)):
        for cut2 in range(cut, len(wire) + 1):
            client = ClientSession()
            events = []
            client.receive_data(wire[:cut])
            events += collect_events(client)
            client.send_ehlo("a.example")
            for part in (wire[cut:cut2], wire[cut2:]):
                if part:  # b"" would mean "connection closed"
                    client.receive_data(part)
                    events += collect_events(client)
            assert events == [
                ReplyReceived("GREETING", "", BANNER),
                ReplyReceived("EHLO", "a.example", EHLO_REPLY),
            ], (cut, cut2)
            assert dict(client.extensions) == expected_extensions


def test_greeting_split_at_every_byte() -> None:
    wire = BANNER.to_bytes()
    for cut in range(len(wire) + 1):
        client = ClientSession()
        events = []
        for part in (wire[:cut], wire[cut:]):
            if part:
                client.receive_data(part)
                events += collect_events(client)
        assert events == [ReplyReceived("GREETING", "", BANNER)]


def test_pipelined_replies_match_in_fifo_order() -> None:
    client = client_after_ehlo()
    out = client.send_mail("alice@adatum.com", {"SIZE": "1234"})
    out += client.send_rcpt("bob@treyresearch.net")
    out += client.send_rcpt("carol@contoso.com", {"NOTIFY": "NEVER"})
    out += client.send_data()
    assert out == (
        b"MAIL FROM:<alice@adatum.com> SIZE=1234\r\n"
        b"RCPT TO:<bob@treyresearch.net>\r\n"
        b"RCPT TO:<carol@contoso.com> NOTIFY=NEVER\r\n"
        b"DATA\r\n"
    )
    assert client.outstanding == ("MAIL", "RCPT", "RCPT", "DATA")
    client.receive_data(
        b"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"
        b"550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain\r\n"
        b"354 Start mail input; end with <CRLF>.<CRLF>\r\n"
    )
    assert collect_events(client) == [
        ReplyReceived("MAIL", "alice@adatum.com", replies.SENDER_OK),
        ReplyReceived("RCPT", "bob@treyresearch.net", replies.RECIPIENT_OK),
        ReplyReceived("RCPT", "carol@contoso.com", replies.RELAY_DENIED),
        ReplyReceived("DATA", "", replies.START_MAIL_INPUT),
    ]
    assert client.send_message(b".hidden\nline\n") == b"..hidden\r\nline\r\n.\r\n"
    # Message data may be followed by more commands in the same group.
    assert client.send_quit() == b"QUIT\r\n"
    client.receive_data(
        replies.queued_mail("m@adatum.com", 3, FQDN).to_bytes() + replies.CLOSING_CHANNEL.to_bytes()
    )
    client.receive_data(b"")
    assert collect_events(client) == [
        ReplyReceived("MESSAGE", "", replies.queued_mail("m@adatum.com", 3, FQDN)),
        ReplyReceived("QUIT", "", replies.CLOSING_CHANNEL),
        ConnectionClosed(),
    ]
    assert client.next_event() == ConnectionClosed()


def test_send_message_stuffs_and_terminates() -> None:
    client = client_after_ehlo()
    client.send_mail("")  # null sender
    client.send_rcpt("bob@treyresearch.net")
    client.send_data()
    client.receive_data(b"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n354 go\r\n")
    collect_events(client)
    assert client.send_message(b"a\r\n.b\r\nlast") == b"a\r\n..b\r\nlast\r\n.\r\n"


def test_null_sender_line() -> None:
    assert client_after_ehlo().send_mail("") == b"MAIL FROM:<>\r\n"


def test_starttls_drops_plaintext_and_extensions() -> None:
    client = client_after_ehlo()
    assert client.send_starttls() == b"STARTTLS\r\n"
    # An attacker appends a forged reply in plaintext after the 220 (response injection).
    client.receive_data(b"220 2.0.0 SMTP server ready\r\n250-forged\r\n250 STARTTLS\r\n")
    assert collect_events(client) == [ReplyReceived("STARTTLS", "", replies.STARTTLS_READY)]
    assert client.tls_active
    assert dict(client.extensions) == {}
    assert client.discarded_after_starttls > 0
    with pytest.raises(LocalProtocolError):
        client.send_mail("a@adatum.com")  # must EHLO again first
    with pytest.raises(LocalProtocolError):
        client.send_starttls()
    client.send_ehlo("ADATUM-CAS1.adatum.com")
    no_tls = replies.ehlo(FQDN, "127.0.10.1", max_size=37748736, starttls=False)
    client.receive_data(no_tls.to_bytes())
    assert collect_events(client) == [ReplyReceived("EHLO", "ADATUM-CAS1.adatum.com", no_tls)]
    assert "STARTTLS" not in client.extensions


def test_starttls_refused_keeps_plaintext() -> None:
    client = client_after_ehlo()
    client.send_starttls()
    refused = Reply(454, "TLS not available due to temporary reason", "4.7.0")
    client.receive_data(refused.to_bytes())
    assert collect_events(client) == [ReplyReceived("STARTTLS", "", refused)]
    assert not client.tls_active
    assert client.send_mail("a@adatum.com") == b"MAIL FROM:<a@adatum.com>\r\n"


def test_misuse_raises_local_protocol_error() -> None:
    client = ClientSession()
    with pytest.raises(LocalProtocolError, match="greeting"):
        client.send_ehlo("a.example")
    client.receive_data(BANNER.to_bytes())
    collect_events(client)
    with pytest.raises(LocalProtocolError, match="MAIL before"):
        client.send_mail("a@adatum.com")
    client.send_ehlo("a.example")
    with pytest.raises(LocalProtocolError, match="awaits its reply"):
        client.send_noop()  # EHLO ends a pipelined group
    client.receive_data(EHLO_REPLY.to_bytes())
    collect_events(client)
    with pytest.raises(LocalProtocolError, match="354"):
        client.send_message(b"x")
    with pytest.raises(LocalProtocolError, match="RCPT before MAIL"):
        client.send_rcpt("b@treyresearch.net")
    with pytest.raises(LocalProtocolError):
        client.send_mail("a b@adatum.com")
    with pytest.raises(LocalProtocolError):
        client.send_mail("a@adatum.com", {"SIZE": "1 2"})
    client.send_mail("a@adatum.com")
    client.send_rcpt("b@treyresearch.net")
    client.send_data()
    with pytest.raises(LocalProtocolError, match="awaits its reply"):
        client.send_rset()


def test_pipelining_needs_the_extension() -> None:
    client = client_after_ehlo(replies.helo(FQDN, "127.0.10.1"))  # a one-line EHLO reply
    client.send_mail("a@adatum.com")
    with pytest.raises(LocalProtocolError, match="PIPELINING"):
        client.send_rcpt("b@treyresearch.net")


def test_unsolicited_reply_and_garbage() -> None:
    client = client_after_ehlo()
    client.receive_data(b"421 4.3.2 Service not available\r\n")
    assert collect_events(client) == [
        UnsolicitedReply(Reply(421, "Service not available", "4.3.2"))
    ]
    client.receive_data(b"HTTP/1.1 400 Bad Request\r\n")
    events = collect_events(client)
    assert len(events) == 1 and isinstance(events[0], ProtocolViolation)
    assert client.next_event() is NEED_DATA
    with pytest.raises(LocalProtocolError, match="Broken"):
        client.send_noop()


def pump(client: ClientSession, server: ServerSession, data: bytes) -> list[object]:
    """Deliver client bytes to the server and answer like a permissive Exchange would."""
    server.receive_data(data)
    events: list[object] = []
    while True:
        event = server.next_event()
        if event is NEED_DATA or event is PAUSED or event == ConnectionClosed():
            break
        events.append(event)
        if isinstance(event, Ehlo):
            out = server.respond(EHLO_REPLY)
        elif isinstance(event, StartTls):
            out = server.respond(replies.STARTTLS_READY)
        elif isinstance(event, MailFrom):
            out = server.respond(replies.SENDER_OK)
        elif isinstance(event, RcptTo):
            out = server.respond(replies.RECIPIENT_OK)
        elif isinstance(event, Data):
            out = server.respond(replies.START_MAIL_INPUT)
        elif isinstance(event, MessageReceived):
            out = server.respond(replies.queued_mail("rt@adatum.com", 1, FQDN))
        elif isinstance(event, Quit):
            out = server.respond(replies.CLOSING_CHANNEL)
        else:
            out = server.data_to_send()
        client.receive_data(out)
    return events


CONTENT = (
    b"From: alice@adatum.com\r\n"
    b"Subject: dots\r\n"
    b"\r\n"
    b".starts with a dot\r\n"
    b"..two dots\r\n"
    b".\r\n"
    b"middle . dot\r\n"
    b"final line without CRLF"
)


def test_back_to_back_round_trip_is_byte_exact() -> None:
    client = ClientSession()
    server = ServerSession()
    client.receive_data(server.greeting(BANNER))
    assert collect_events(client) == [ReplyReceived("GREETING", "", BANNER)]

    pump(client, server, client.send_ehlo("ADATUM-CAS1.adatum.com"))
    assert collect_events(client)[0].reply == EHLO_REPLY  # type: ignore[union-attr]

    pump(client, server, client.send_starttls())
    assert [e.command for e in collect_events(client)] == ["STARTTLS"]  # type: ignore[union-attr]
    assert client.tls_active and server.tls_active

    pump(client, server, client.send_ehlo("ADATUM-CAS1.adatum.com"))
    collect_events(client)
    pipelined = (
        client.send_mail("alice@adatum.com", {"SIZE": str(len(CONTENT))})
        + client.send_rcpt("bob@treyresearch.net")
        + client.send_data()
    )
    pump(client, server, pipelined)
    assert [e.command for e in collect_events(client)] == ["MAIL", "RCPT", "DATA"]  # type: ignore[union-attr]

    server_events = pump(client, server, client.send_message(CONTENT) + client.send_quit())
    assert server_events[0] == MessageReceived(CONTENT + b"\r\n")
    assert [e.command for e in collect_events(client)] == ["MESSAGE", "QUIT"]  # type: ignore[union-attr]


def test_back_to_back_every_segmentation_of_the_message() -> None:
    for cut in range(1, len(stuff(CONTENT))):
        client = ClientSession()
        server = ServerSession()
        client.receive_data(server.greeting(BANNER))
        collect_events(client)
        pump(client, server, client.send_ehlo("a.example"))
        collect_events(client)
        pump(client, server, client.send_mail("a@adatum.com") + client.send_rcpt("b@x.example"))
        pump(client, server, client.send_data())
        collect_events(client)
        wire = client.send_message(CONTENT)
        events = pump(client, server, wire[:cut]) + pump(client, server, wire[cut:])
        assert events == [MessageReceived(CONTENT + b"\r\n")], cut


# --- X-EXPS ------------------------------------------------------------------------------------

EHLO_EXPS = replies.ehlo(FQDN, "127.0.10.1", max_size=None, starttls=False, exchange_auth=True)


def test_x_exps_challenge_and_response() -> None:
    client = client_after_ehlo(EHLO_EXPS)
    assert client.extensions["X-EXPS"] == "GSSAPI NTLM"
    with pytest.raises(LocalProtocolError):
        client.send_auth_response("cHJvb2Y=")  # no challenge yet
    assert client.send_exps("GSSAPI") == b"X-EXPS GSSAPI\r\n"
    with pytest.raises(LocalProtocolError):
        client.send_mail("a@b.c")  # X-EXPS ends a pipelined group
    client.receive_data(b"334 bm9uY2U=\r\n")
    assert collect_events(client) == [ReplyReceived("X-EXPS", "GSSAPI", Reply(334, "bm9uY2U="))]
    with pytest.raises(LocalProtocolError):
        client.send_mail("a@b.c")  # the server awaits the response, not a command
    assert client.send_auth_response("cHJvb2Y=") == b"cHJvb2Y=\r\n"
    client.receive_data(b"235 2.7.0 Authentication successful\r\n")
    (event,) = collect_events(client)
    assert isinstance(event, ReplyReceived) and event.reply.code == 235
    assert client.send_mail("a@b.c") == b"MAIL FROM:<a@b.c>\r\n"


def test_x_exps_needs_it_advertised() -> None:
    with pytest.raises(LocalProtocolError):
        client_after_ehlo().send_exps("GSSAPI")
