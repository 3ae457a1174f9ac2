"""The raw header block as the firewall, the stamps and the hop count read it.

``labsim.policy.headers`` splits only the header block into lines (up to the first empty line,
found with one scan) and remembers the last content it split, by identity. These tests hold
both to what splitting the whole message line by line gave: the same fields and the same rest
for any mix of CRLF, bare LF and bare CR, and a fresh answer whenever the content changes.
"""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from labsim.model.enums import AuthAs  # noqa: E402
from labsim.policy import headers  # noqa: E402
from labsim.policy.headers import header_names, header_values, stamp_authentication  # noqa: E402


def _reference_split(content: bytes) -> tuple[list[tuple[str, bytes]], bytes]:
    """Every line of the message, one by one, until the first empty one (the former code)."""
    fields: list[tuple[str, bytes]] = []
    offset = 0
    for line in content.splitlines(keepends=True):
        if line.strip(b"\r\n") == b"":
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
        else:
            name, colon, _ = line.partition(b":")
            name = name.strip(b" \t")
            good = colon and name and b" " not in name and b"\t" not in name
            fields.append((name.decode("ascii", "replace") if good else "", line))
        offset += len(line)
    return fields, content[offset:]


_PIECES = st.sampled_from(
    [b"\r\n", b"\n", b"\r", b"\r\r", b"\n\n", b"\r\n\r\n", b"Subject", b":", b" x", b"\t", b"A"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=24).map(b"".join))
def test_the_header_block_splits_as_line_by_line_reading_did(content: bytes) -> None:
    fields, rest = headers._split(content)
    assert ([(f.name, f.raw) for f in fields], rest) == _reference_split(content)


def test_each_new_content_is_split_afresh() -> None:
    first = b"Subject: one\r\nReceived: a\r\n\r\nbody\r\n"
    second = b"Subject: two\r\n\r\nbody\r\n"
    assert header_values(first, "Subject") == ("one",)
    assert header_values(second, "Subject") == ("two",)
    # The same object again, and equal bytes in another object, after something else.
    assert header_values(first, "Subject") == ("one",)
    assert header_values(bytes(bytearray(second)), "Subject") == ("two",)
    # A content derived from the remembered one (the stamps) is read as itself.
    stamped = stamp_authentication(
        first,
        auth_as=AuthAs.ANONYMOUS,
        mechanism=headers.AuthMechanismCode.NONE,
        source_fqdn="mail.adatum.com",
        domain=None,
    )
    assert header_names(stamped)[:3] == (
        "X-MS-Exchange-Organization-AuthSource",
        "X-MS-Exchange-Organization-AuthAs",
        "X-MS-Exchange-Organization-AuthMechanism",
    )
    assert header_names(first) == ("Subject", "Received")


def test_a_message_without_an_empty_line_is_all_header() -> None:
    content = b"Subject: x\r\nFrom: a@adatum.com"
    fields, rest = headers._split(content)
    assert [f.name for f in fields] == ["Subject", "From"] and rest == b""
