"""The inbound header firewall against every spelling of a forged org or forest header.

Whatever the case of the name, white space before the colon, folding of the value or line
ending, no ``X-MS-Exchange-Organization-*`` or ``X-MS-Exchange-Forest-*`` header that an
anonymous or partner sender wrote may survive — neither as the ``email`` package reads the
result nor as a lenient reader does that, like Exchange's, accepts RFC 5322's obsolete
``name WSP ":"`` form (issue 10 item 11: ``AuthAs\\t: Partner`` used to travel onward).
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from labsim.model.enums import PermissionGroup  # noqa: E402
from labsim.model.mail import parse_message  # noqa: E402
from labsim.policy.headers import apply_receive_firewall  # noqa: E402
from labsim.policy.permissions import GROUP_PERMISSIONS  # noqa: E402

FORGED = (
    "X-MS-Exchange-Organization-AuthAs",
    "X-MS-Exchange-Organization-AuthDomain",
    "X-MS-Exchange-Organization-AuthSource",
    "X-MS-Exchange-Organization-AuthMechanism",
    "X-MS-Exchange-Organization-SCL",
    "X-MS-Exchange-Forest-RulesExecuted",
)
PROTECTED = ("x-ms-exchange-organization-", "x-ms-exchange-forest-")
SENDERS = {
    "anonymous": GROUP_PERMISSIONS[PermissionGroup.ANONYMOUS_USERS],
    "partner": GROUP_PERMISSIONS[PermissionGroup.PARTNERS],
}

_case = st.lists(st.booleans(), min_size=64, max_size=64)
_wsp = st.sampled_from(["", " ", "\t", " \t", "\t\t", "  "])
_newline = st.sampled_from(["\r\n", "\n", "\r"])


@st.composite
def forged_field(draw: st.DrawFn) -> str:
    """One forged header, spelled as an attacker might."""
    name = draw(st.sampled_from(FORGED))
    upper = draw(_case)
    name = "".join(c.upper() if u else c.lower() for c, u in zip(name, upper, strict=False))
    value = draw(st.sampled_from(["Partner", "Internal", " Partner", "adatum.com", ""]))
    text = name + draw(_wsp) + ":" + value
    if draw(st.booleans()):  # a folded value
        text += draw(_newline) + draw(st.sampled_from([" ", "\t"])) + "Partner"
    return text


_ordinary = st.sampled_from(
    [
        "From: eve@fabrikam.test",
        "To: ben@treyresearch.net",
        "Subject: hello",
        "Received: from a (127.0.0.9) by b (127.0.0.8)",
        "X-Other : kept",
    ]
)


def lenient_names(content: bytes) -> list[str]:
    """Header names as a lenient reader sees them: ``name *WSP ":"``, any line ending,
    continuation lines joined to their field, the block ending at the first empty line."""
    names = []
    for line in re.split(rb"\r\n|\r|\n", content):
        if not line.strip(b" \t"):
            break
        if line[:1] in (b" ", b"\t"):
            continue
        match = re.match(rb"([!-9;-~]+)[ \t]*:", line)
        if match:
            names.append(match.group(1).decode().lower())
    return names


@settings(database=None, deadline=None, max_examples=300)
@given(
    sender=st.sampled_from(sorted(SENDERS)),
    fields=st.lists(st.one_of(forged_field(), _ordinary), min_size=1, max_size=8),
    forged=forged_field(),
    newline=_newline,
)
def test_no_org_or_forest_header_from_outside_survives(
    sender: str, fields: list[str], forged: str, newline: str
) -> None:
    fields = [*fields, forged]
    content = (newline.join(fields) + newline + newline + "body" + newline).encode()

    result = apply_receive_firewall(content, SENDERS[sender])

    assert not [n for n in lenient_names(result) if n.startswith(PROTECTED)], result
    parsed = parse_message(result)
    assert not [k for k in parsed if k.lower().startswith(PROTECTED)], result


def test_white_space_before_the_colon_is_still_the_org_header() -> None:
    content = (
        b"X-MS-Exchange-Organization-AuthAs\t: Partner\r\n"
        b"X-MS-Exchange-Organization-AuthDomain : adatum.com\r\n"
        b"Subject: hi\r\n\r\nbody\r\n"
    )
    result = apply_receive_firewall(content, SENDERS["partner"])
    assert result == b"Subject: hi\r\n\r\nbody\r\n"
