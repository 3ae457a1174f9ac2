"""Submitted messages: the direct writer must produce exactly the bytes the ``email`` package
would, wherever it applies, and fall back to ``email`` everywhere else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from labsim.model.mail import _parsed_subject_and_id, parse_message, subject_and_message_id
from labsim.policy import compose
from labsim.policy.compose import Draft, compose_message, compose_with_email

DATE = "Mon, 30 Nov 2026 06:48:13 +0000"
MID = "<0123456789abcdef0123456789abcdef@adatum-mbx1.adatum.com>"

atom = st.text(alphabet="abcXYZ0189+_-", min_size=1, max_size=8)
local = st.lists(atom, min_size=1, max_size=3).map(".".join)
domain = st.sampled_from(["adatum.com", "treyresearch.net", "mail.fabrikam-x.example", "b.co"])
address = st.builds(lambda a, b: f"{a}@{b}", local, domain)
# Mostly printable ASCII, sometimes spaces in odd places, sometimes other characters (no line
# breaks or other control characters: the shell refuses those before a message is built).
subject = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=90) | (
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
)
body = st.text(
    alphabet=st.sampled_from(list("abc XYZ.,=-\t\r\n") + ["é", "\x0b"]), max_size=200
) | st.text(alphabet="x \n", max_size=300)


@settings(max_examples=200, deadline=None)
@given(
    mail_from=address,
    to=st.lists(address, max_size=3),
    cc=st.lists(address, max_size=2),
    subject=subject,
    body=body,
)
def test_direct_writer_matches_email_byte_for_byte(mail_from, to, cc, subject, body) -> None:
    draft = Draft(
        mail_from=mail_from,
        to=tuple(to),
        cc=tuple(cc),
        subject=subject,
        date=DATE,
        message_id=MID,
        body=body,
    )
    assert compose_message(draft) == compose_with_email(draft)


def test_the_common_case_takes_the_direct_path(monkeypatch) -> None:
    def refuse(draft: Draft) -> bytes:
        raise AssertionError("the email package was used for a plain message")

    monkeypatch.setattr(compose, "compose_with_email", refuse)
    content = compose_message(
        Draft(
            mail_from="april@adatum.com",
            to=("ben@treyresearch.net", "terry@treyresearch.net"),
            cc=(),
            subject="Hello Trey",
            date=DATE,
            message_id=MID,
            body="Hi Ben,\n\nDomain Security works.\n",
        )
    )
    parsed = parse_message(content)
    assert parsed["Subject"] == "Hello Trey"
    assert parsed["To"] == "ben@treyresearch.net, terry@treyresearch.net"
    assert parsed.get_content().replace("\r\n", "\n") == "Hi Ben,\n\nDomain Security works.\n"


def test_non_ascii_subject_is_encoded_by_email() -> None:
    content = compose_message(
        Draft(
            mail_from="april@adatum.com",
            to=("ben@treyresearch.net",),
            cc=(),
            subject="Grüße",
            date=DATE,
            message_id=MID,
            body="x",
        )
    )
    assert b"Subject: =?utf-8?" in content
    assert parse_message(content)["Subject"] == "Grüße"


header_line = st.sampled_from(
    [
        b"Subject: Hello Trey",
        b"Subject:  two spaces",
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
        b"Subject: folded",
        b" continuation",
        b"\tcontinuation",
        b"Subject:",
        b"subject: lower case",
        b"Message-ID: <abc@adatum.com>",
        b"Message-Id: <def@adatum.com>",
        b"Message-ID:<nospace@adatum.com>",
        b"Received: from a by b",
        b"X-Other: \xc3\xa9",
        b"Subject: caf\xc3\xa9",
        b"Subject: trailing ",
        b"From: april@adatum.com",
        b"Not a header line",
        b"Subject : spaced name",
        b"From april@adatum.com Mon Nov 30 06:48:13 2026",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(header_line, max_size=8),
    newline=st.sampled_from([b"\r\n", b"\n"]),
    body=st.sampled_from([b"", b"Subject: in the body\r\n", b"x"]),
)
def test_subject_and_message_id_equal_what_email_reads(lines, newline, body) -> None:
    content = newline.join(lines) + newline + newline + body
    assert subject_and_message_id(content) == _parsed_subject_and_id(content)


def test_a_subject_folded_right_after_the_colon_has_no_leading_space() -> None:
    """A long first word makes the writer fold at the colon; the subject is the word, as Outlook
    shows it (the email package alone would keep the folding space)."""
    content = (
        b'Subject:\r\n <script>window.x="demo"</script>"><img src=x>\r\nFrom: a@b\r\n\r\nHi\r\n'
    )

    assert subject_and_message_id(content) == (
        '<script>window.x="demo"</script>"><img src=x>',
        None,
    )
