"""MaxMessageSize is enforced while the data arrives (issue 10 item 11): a message without a
SIZE parameter that exceeds the receive connector's limit is read to its end, never held whole,
and refused with 552 5.3.4; the session goes on."""

from __future__ import annotations

from integration_helpers import raw_session, sh

from labsim.lab import Lab


def test_oversized_data_without_size_gets_552_and_the_session_goes_on(lab: Lab) -> None:
    sh(
        lab,
        "Adatum",
        'Set-ReceiveConnector "ADATUM-CAS1\\Default Frontend ADATUM-CAS1" -MaxMessageSize 1MB',
    )
    body = (b"x" * 998 + b"\r\n") * 2100  # about 2 MB
    wire = raw_session(
        lab,
        "127.0.10.1",
        25,
        b"EHLO client.example.test\r\nMAIL FROM:<someone@example.com>\r\n"
        b"RCPT TO:<ed@adatum.com>\r\nDATA\r\n"
        + b"Subject: big\r\n\r\n"
        + body
        + b".\r\nNOOP\r\nQUIT\r\n",
    )
    lines = wire.split(b"\r\n")
    assert b"552 5.3.4 Message size exceeds fixed maximum message size" in lines
    assert lines[-3:] == [b"250 2.0.0 OK", b"221 2.0.0 Service closing transmission channel", b""]
    assert lab.inbox("ed@adatum.com") == ()
    assert any("exceeds the smallest limit 1 MB" in e.text for e in lab.world.explanations)
