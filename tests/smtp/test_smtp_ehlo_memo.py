"""The EHLO and HELO answers and the greeting are memoized: one reply object per distinct answer.

A server answers the same few EHLOs session after session; one object per answer lets the
reply's wire form and its protocol-log lines (kept per reply object) be found again. Any change
of what the answer depends on (the connector's FQDN, the client, MaxMessageSize, whether
STARTTLS and X-EXPS are offered) must still give its own answer.
"""

from __future__ import annotations

from labsim.smtp import replies


def test_the_same_answer_is_the_same_reply_object() -> None:
    first = replies.ehlo("mail.adatum.com", "127.0.20.1", max_size=37748736, starttls=True)
    again = replies.ehlo("mail.adatum.com", "127.0.20.1", max_size=37748736, starttls=True)
    assert again is first
    assert replies.helo("mail.adatum.com", "127.0.20.1") is replies.helo(
        "mail.adatum.com", "127.0.20.1"
    )


def test_each_change_gets_its_own_answer() -> None:
    seen = replies.ehlo("mail.adatum.com", "127.0.20.1", max_size=37748736, starttls=True)
    assert seen.lines[0] == "mail.adatum.com Hello [127.0.20.1]"
    other_client = replies.ehlo("mail.adatum.com", "127.0.20.2", max_size=37748736, starttls=True)
    assert other_client.lines[0] == "mail.adatum.com Hello [127.0.20.2]"
    after_tls = replies.ehlo(
        "mail.adatum.com", "127.0.20.1", max_size=37748736, starttls=False, exchange_auth=True
    )
    assert "STARTTLS" not in after_tls.lines and "X-EXPS GSSAPI NTLM" in after_tls.lines
    smaller = replies.ehlo("mail.adatum.com", "127.0.20.1", max_size=1024, starttls=True)
    assert "SIZE 1024" in smaller.lines and "SIZE 37748736" in seen.lines
    unlimited = replies.ehlo("mail.adatum.com", "127.0.20.1", max_size=None, starttls=True)
    assert "SIZE" in unlimited.lines
    assert replies.helo("mail.treyresearch.net", "127.0.10.1").text == (
        "mail.treyresearch.net Hello [127.0.10.1]"
    )


def test_greetings_of_one_second_are_one_object_and_each_second_has_its_own() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    at = datetime(2026, 12, 5, 3, 40, 7, 120000, tzinfo=UTC)
    first = replies.banner("mail.adatum.com", at)
    assert replies.banner("mail.adatum.com", at + timedelta(milliseconds=800)) is first
    assert first.text == (
        "mail.adatum.com Microsoft ESMTP MAIL Service ready at Sat, 05 Dec 2026 03:40:07 +0000"
    )
    later = replies.banner("mail.adatum.com", at + timedelta(seconds=1))
    assert later.text.endswith("03:40:08 +0000")
    other = replies.banner("mail.treyresearch.net", at)
    assert other.text.startswith("mail.treyresearch.net ")
    # The same instant in another zone is shown in that zone, as before.
    east = replies.banner("mail.adatum.com", at.astimezone(timezone(timedelta(hours=1))))
    assert east.text.endswith("04:40:07 +0100")
