"""A message that arrives without a Message-ID gets one from the first Transport service that
accepts it, written into its header: the recipient sees it, and every hop's tracking names the
message by the same id (Exchange stamps the id it gives such a message)."""

from __future__ import annotations

import csv

from integration_helpers import raw_session

from labsim.lab import Lab


def _message_ids(lab: Lab, server: str) -> set[str]:
    lines = [line for line in lab.tracking_log("Adatum", server) if not line.startswith("#")]
    fields = next(
        line for line in lab.log_headers("Adatum", server, "tracking") if line.startswith("#Fields")
    )
    names = fields.removeprefix("#Fields: ").split(",")
    rows = [dict(zip(names, row, strict=False)) for row in csv.reader(lines)]
    return {row["message-id"] for row in rows if row.get("message-subject") == "No id"}


def test_a_message_without_message_id_keeps_the_one_exchange_gives_it(lab: Lab) -> None:
    payload = (
        b"EHLO client.example.test\r\nMAIL FROM:<someone@example.test>\r\n"
        b"RCPT TO:<ed@adatum.com>\r\nDATA\r\n"
        b"From: someone@example.test\r\nTo: ed@adatum.com\r\nSubject: No id\r\n\r\nHello\r\n.\r\n"
        b"QUIT\r\n"
    )
    received = raw_session(lab, "127.0.10.1", 25, payload)
    assert b"250 2.6.0" in received
    lab.run_until_idle()

    [message] = [m for m in lab.inbox("ed@adatum.com") if m.subject == "No id"]
    stamped = message.header("Message-ID")
    assert stamped is not None and stamped.endswith("@adatum-mbx1.adatum.com>")
    assert message.message_id == stamped
    assert _message_ids(lab, "ADATUM-MBX1") == {stamped}
