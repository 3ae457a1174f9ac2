"""The EHLO and HELO answers are memoized: one reply object per distinct answer.

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
