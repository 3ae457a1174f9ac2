"""``send`` values that passed the loader and then crashed the run (issue 10 item 9): line
breaks in the subject or a header (the email package raised; over SMTP they would have forged
header lines), header names that are not header names or that labsim writes itself, addresses
with line breaks, and a ``size`` so large that padding the body exhausted memory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labsim.errors import ScenarioError
from labsim.scenario.loader import load_scenario
from labsim.scenario.model import SendStep

Write = Callable[..., Path]
FROM_TO = 'from = "april@adatum.com", to = "ben@treyresearch.net"'


def send(extra: str) -> str:
    return f"[[step]]\nsend = {{ {FROM_TO}, {extra} }}\n"


CASES: list[tuple[str, str, str]] = [
    (
        "subject-crlf",
        'subject = "Hi\\r\\nBcc: eve@fabrikam.com"',
        "key 'subject' holds a line break ('Hi\\r\\nBcc: eve@fabrikam.com'); a header value is "
        "one line: remove it",
    ),
    (
        "subject-trailing-lf",
        'subject = "Hi\\n"',
        "key 'subject' holds a line break ('Hi\\n'); a header value is one line: remove it",
    ),
    (
        "subject-nul",
        'subject = "Hi\\u0000"',
        "key 'subject' holds the control character '\\x00' ('Hi\\x00'); a header value is one "
        "line: remove it",
    ),
    (
        "header-value-crlf",
        'subject = "Hi", headers = { "X-A" = "1\\r\\nX-MS-Exchange-Organization-AuthAs: Internal" }',
        "key 'headers.X-A' holds a line break ('1\\r\\nX-MS-Exchange-Organization-AuthAs: "
        "Internal'); a header value is one line: remove it",
    ),
    (
        "header-name-with-colon",
        'subject = "Hi", headers = { "X-A: b" = "1" }',
        "key 'headers': 'X-A: b' is not a header name; a name is printable ASCII without spaces "
        'or ":", e.g. "X-Lab-Note"',
    ),
    (
        "header-name-with-line-break",
        'subject = "Hi", headers = { "X-A\\r\\nBcc" = "1" }',
        "key 'headers': 'X-A\\r\\nBcc' is not a header name; a name is printable ASCII without "
        'spaces or ":", e.g. "X-Lab-Note"',
    ),
    (
        "header-written-by-labsim",
        'subject = "Hi", headers = { "subject" = "again" }',
        "key 'headers': labsim writes the Subject header itself; give it with the send key "
        "'subject'",
    ),
    (
        "mime-header-written-by-labsim",
        'subject = "Hi", headers = { "Content-Type" = "text/html" }',
        "key 'headers': labsim writes the Content-Type header itself; leave it out",
    ),
    (
        "header-twice",
        'subject = "Hi", headers = { "Reply-To" = "a@adatum.com", "reply-to" = "b@adatum.com" }',
        "key 'headers': 'reply-to' and 'Reply-To' are the same header (names are "
        "case-insensitive); give it once",
    ),
    (
        "size-huge",
        'subject = "Hi", size = "999999999999MB"',
        "key 'size': '999999999999MB' is larger than labsim's limit of 100MB for one message; "
        'give a smaller size, e.g. "40MB" to exceed a 35MB limit',
    ),
]


@pytest.mark.parametrize(("extra", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_send_values_beyond_what_a_message_can_carry(
    write_toml: Write, extra: str, message: str
) -> None:
    path = write_toml(send(extra))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: step 1 (send): {message}"
    assert "\n" not in str(caught.value)  # one line, whatever the value holds


def test_an_address_with_a_line_break(write_toml: Write) -> None:
    path = write_toml(
        '[[step]]\nsend = { from = "april@adatum.com", to = "ben@treyresearch.net\\r\\n'
        'x@treyresearch.net", subject = "Hi" }\n'
    )
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == (
        f"{path}: step 1 (send): key 'to': 'ben@treyresearch.net\\r\\nx@treyresearch.net' is not "
        "an email address; write it as user@domain"
    )


def test_the_largest_size_and_ordinary_headers_load(write_toml: Write) -> None:
    path = write_toml(
        send('subject = "Hi\\tthere", size = "100MB", headers = { "X-Lab-Note" = "tab\\tok" }')
    )
    (step,) = load_scenario(path).steps
    assert isinstance(step, SendStep)
    assert step.size == 100 * 1024 * 1024
    assert step.headers == (("X-Lab-Note", "tab\tok"),)
