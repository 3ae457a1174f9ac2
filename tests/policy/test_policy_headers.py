"""Header firewall, stamps and the Received header on raw bytes (docs/exchange-reference.md §5.4, §10.1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labsim.model.enums import AuthAs, Permission, PermissionGroup, SendConnectorUsage
from labsim.model.mail import parse_message
from labsim.policy.headers import (
    AuthMechanismCode,
    apply_receive_firewall,
    apply_send_firewall,
    header_names,
    mapi_received_header,
    prepend_header,
    receive_firewall,
    received_header,
    stamp_authentication,
)
from labsim.policy.permissions import GROUP_PERMISSIONS

BODY = (
    b"X-MS-Exchange-Organization-AuthAs: Partner\r\n"  # looks like a header, is body
    b"\r\n"
    b"  indented line\r\n"
    b"caf\xc3\xa9 \xff raw bytes\r\n"
    b"no final newline"
)
HEAD = (
    b"Received: from mail.adatum.com (127.0.10.1) by mail.treyresearch.net (127.0.20.1)\r\n"
    b"\twith Microsoft SMTP Server id 15.0.1497.2; Mon, 30 Nov 2026 06:48:13 +0000\r\n"
    b"X-MS-Exchange-Organization-AuthAs: Partner\r\n"
    b"From: Ed <ed@adatum.com>\r\n"
    b"X-MS-Exchange-Organization-AuthDomain: adatum.com\r\n"
    b"X-MS-Exchange-Forest-RulesExecuted: ADATUM-MBX1\r\n"
    b"X-MS-Exchange-Organization-Folded: first part\r\n"
    b" second part\r\n"
    b"\tthird part\r\n"
    b"Subject: Quarterly\r\n"
    b"Resent-From: someone@adatum.com\r\n"
    b"To: ben@treyresearch.net\r\n"
)
MESSAGE = HEAD + b"\r\n" + BODY

ANONYMOUS = GROUP_PERMISSIONS[PermissionGroup.ANONYMOUS_USERS]
SERVERS = GROUP_PERMISSIONS[PermissionGroup.EXCHANGE_SERVERS]


def body_of(content: bytes) -> bytes:
    return content.split(b"\r\n\r\n", 1)[1]


def test_anonymous_cannot_forge_org_headers() -> None:
    result = receive_firewall(MESSAGE, ANONYMOUS)
    assert header_names(result.content) == (
        "Received",
        "From",
        "Subject",
        "Resent-From",
        "To",
    )
    assert result.removed == (
        "X-MS-Exchange-Organization-AuthAs",
        "X-MS-Exchange-Organization-AuthDomain",
        "X-MS-Exchange-Forest-RulesExecuted",
        "X-MS-Exchange-Organization-Folded",
    )
    # The folded header went with its continuation lines; the body is byte-exact.
    assert b"second part" not in result.content and b"third part" not in result.content
    assert body_of(result.content) == BODY
    # The folded Received header stayed whole.
    assert b"\r\n\twith Microsoft SMTP Server" in result.content
    assert parse_message(result.content)["X-MS-Exchange-Organization-AuthAs"] is None


def test_without_routing_rights_received_and_resent_go() -> None:
    out = apply_receive_firewall(MESSAGE, {Permission.SMTP_SUBMIT})
    assert header_names(out) == ("From", "Subject", "To")
    assert body_of(out) == BODY


def test_exchange_servers_keep_everything() -> None:
    assert apply_receive_firewall(MESSAGE, SERVERS) == MESSAGE


def test_lf_only_message_and_no_body() -> None:
    lf = b"X-MS-Exchange-Organization-AuthAs: Partner\nSubject: x\n\nbody\n"
    assert apply_receive_firewall(lf, ANONYMOUS) == b"Subject: x\n\nbody\n"
    headers_only = b"Subject: x\r\nX-MS-Exchange-Organization-SCL: 5\r\n"
    assert apply_receive_firewall(headers_only, ANONYMOUS) == b"Subject: x\r\n"


@pytest.mark.parametrize(
    ("usage", "names"),
    [
        (
            SendConnectorUsage.INTERNAL,
            (
                "Received",
                "X-MS-Exchange-Organization-AuthAs",
                "From",
                "X-MS-Exchange-Organization-AuthDomain",
                "X-MS-Exchange-Forest-RulesExecuted",
                "X-MS-Exchange-Organization-Folded",
                "Subject",
                "Resent-From",
                "To",
            ),
        ),
        (SendConnectorUsage.PARTNER, ("Received", "From", "Subject", "Resent-From", "To")),
        (SendConnectorUsage.INTERNET, ("Received", "From", "Subject", "Resent-From", "To")),
        (SendConnectorUsage.CUSTOM, ("From", "Subject", "To")),
    ],
)
def test_send_firewall(usage: SendConnectorUsage, names: tuple[str, ...]) -> None:
    out = apply_send_firewall(MESSAGE, usage)
    assert header_names(out) == names
    assert body_of(out) == BODY


def test_stamp_partner_replaces_old_stamps() -> None:
    forged = (
        b"X-MS-Exchange-Organization-AuthAs: Internal\r\n"
        b"X-MS-Exchange-Organization-AuthCertificateSubject: CN=evil\r\n"
        b"X-MS-Exchange-Organization-AuthSource: evil.example\r\n"
        b"Subject: hi\r\n\r\n" + BODY
    )
    out = stamp_authentication(
        forged,
        auth_as=AuthAs.PARTNER,
        mechanism=AuthMechanismCode.MUTUAL_TLS,
        source_fqdn="mail.treyresearch.net",
        domain="Adatum.com",
    )
    assert out.startswith(
        b"X-MS-Exchange-Organization-AuthSource: mail.treyresearch.net\r\n"
        b"X-MS-Exchange-Organization-AuthAs: Partner\r\n"
        b"X-MS-Exchange-Organization-AuthMechanism: 02\r\n"
        b"X-MS-Exchange-Organization-AuthDomain: adatum.com\r\n"
        b"X-MS-Exchange-Organization-Classification: 030e9e2f-134b-4020-861c-5bfc616f113d\r\n"
        b"Subject: hi\r\n\r\n"
    )
    assert body_of(out) == BODY
    msg = parse_message(out)
    assert msg.get_all("X-MS-Exchange-Organization-AuthAs") == ["Partner"]
    assert msg["X-MS-Exchange-Organization-AuthCertificateSubject"] is None
    # Stamping twice does not duplicate anything.
    again = stamp_authentication(
        out,
        auth_as=AuthAs.PARTNER,
        mechanism=AuthMechanismCode.MUTUAL_TLS,
        source_fqdn="mail.treyresearch.net",
        domain="adatum.com",
    )
    assert again == out


def test_stamp_anonymous_has_no_domain_or_classification() -> None:
    out = stamp_authentication(
        b"Subject: hi\r\n\r\nbody",
        auth_as=AuthAs.ANONYMOUS,
        mechanism=AuthMechanismCode.NONE,
        source_fqdn="mail.treyresearch.net",
        domain=None,
    )
    assert out == (
        b"X-MS-Exchange-Organization-AuthSource: mail.treyresearch.net\r\n"
        b"X-MS-Exchange-Organization-AuthAs: Anonymous\r\n"
        b"X-MS-Exchange-Organization-AuthMechanism: 00\r\n"
        b"Subject: hi\r\n\r\nbody"
    )


def test_mechanism_codes() -> None:
    assert AuthMechanismCode.SECURE_MAPI_SUBMIT.value == "04"
    assert AuthMechanismCode.SECURE_INTERNAL_SUBMIT.value == "05"
    assert AuthMechanismCode.NTLM.value == "0a"
    assert AuthMechanismCode.SECURE_EXTERNAL_SUBMIT.value == "10"


def test_received_header_format() -> None:
    when = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
    line = received_header(
        helo="mail.adatum.com",
        client_ip="127.0.10.1",
        by_fqdn="mail.treyresearch.net",
        server_ip="127.0.20.1",
        tls_description="version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        when=when,
    )
    # Exchange 2013 CU23 marks a TLS hop "(TLS)" only (§17 C9; the cipher form is 2016+).
    assert line == (
        b"Received: from mail.adatum.com (127.0.10.1) by mail.treyresearch.net (127.0.20.1) "
        b"with Microsoft SMTP Server (TLS) id 15.0.1497.2; Mon, 30 Nov 2026 06:48:13 +0000\r\n"
    )
    plain = received_header(
        helo="TREY-CAS1",
        client_ip="127.0.20.1",
        by_fqdn="trey-mbx1.treyresearch.net",
        server_ip="127.0.20.2",
        tls_description=None,
        when=when,
        via="Frontend Transport",
    )
    assert plain == (
        b"Received: from TREY-CAS1 (127.0.20.1) by trey-mbx1.treyresearch.net (127.0.20.2) "
        b"with Microsoft SMTP Server id 15.0.1497.2 via Frontend Transport; "
        b"Mon, 30 Nov 2026 06:48:13 +0000\r\n"
    )


def test_the_first_hop_from_a_mailbox_is_the_mapi_hop() -> None:
    when = datetime(2026, 11, 30, 6, 48, 13, tzinfo=UTC)
    assert mapi_received_header(
        server_fqdn="adatum-mbx1.adatum.com", server_ip="127.0.10.2", when=when
    ) == (
        b"Received: from adatum-mbx1.adatum.com ([127.0.10.2]) by adatum-mbx1.adatum.com "
        b"([127.0.10.2]) with mapi id 15.00.1497.002; Mon, 30 Nov 2026 06:48:13 +0000\r\n"
    )


def test_prepend_header_keeps_line_endings_and_refuses_injection() -> None:
    assert prepend_header(b"Subject: a\n\nb", "X-Test", "1") == b"X-Test: 1\nSubject: a\n\nb"
    assert prepend_header(MESSAGE, "X-Test", "1") == b"X-Test: 1\r\n" + MESSAGE
    with pytest.raises(ValueError, match="break the header block"):
        prepend_header(MESSAGE, "X-Test", "1\r\nX-MS-Exchange-Organization-AuthAs: Partner")
