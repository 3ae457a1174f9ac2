"""Transport's fast read of Subject and Message-ID agrees with the ``email`` package.

``subject_and_message_id`` reads plain one-line values straight from the header block and hands
anything else to the parser; whatever the line endings (CRLF, bare LF, bare CR), folding,
repeated or malformed lines, both must give the same answer (issue 10 item 11: a bare CR used
to hide a Subject from the fast path).
"""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from labsim.model.mail import parse_headers, subject_and_message_id  # noqa: E402


def by_the_parser(content: bytes) -> tuple[str, str | None]:
    parsed = parse_headers(content)
    message_id = parsed.get("Message-ID")
    # Less the space of a value folded right after the colon, which no mail client shows.
    subject = str(parsed.get("Subject") or "").lstrip(" \t")
    return subject, (None if message_id is None else str(message_id))


_name = st.sampled_from(
    [b"Subject", b"subject", b"SUBJECT", b"Message-ID", b"message-id", b"X-A", b"From", b"To"]
)
_value = st.sampled_from(
    [b" hello", b" hello world", b" <a1@adatum.com>", b"", b" ", b"hi", b" =?utf-8?q?caf=C3=A9?="]
    + [b" caf\xc3\xa9", b" two  spaces", b" tab\there"]
)
_newline = st.sampled_from([b"\r\n", b"\n", b"\r"])
_odd_line = st.sampled_from([b"no colon here", b" folded part", b"\tfolded", b"From x", b""])


@st.composite
def header_block(draw: st.DrawFn) -> bytes:
    """A header block of plausible and odd lines joined by mixed line endings, then a body."""
    lines = draw(
        st.lists(
            st.one_of(st.tuples(_name, _value).map(lambda nv: nv[0] + b":" + nv[1]), _odd_line),
            max_size=8,
        )
    )
    out = b""
    for line in lines:
        out += line + draw(_newline)
    return out + draw(_newline) + b"Subject: in the body\r\n"


@settings(database=None, deadline=None, max_examples=500)
@given(header_block())
def test_fast_path_agrees_with_the_email_parser(content: bytes) -> None:
    assert subject_and_message_id(content) == by_the_parser(content), content


@pytest.mark.parametrize(
    "content",
    [
        b"X-A: 1\rSubject: sneaky\r\n\r\n",
        b"X-A: 1\rMessage-ID: <a@b>\r\nSubject: s\r\n\r\n",
        b"Subject: a\rb\r\n\r\n",
    ],
)
def test_bare_cr_splits_lines_as_the_parser_does(content: bytes) -> None:
    assert subject_and_message_id(content) == by_the_parser(content)
