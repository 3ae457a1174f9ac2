"""Header firewall, authentication stamps and the Received header, edited on raw bytes.

Rules kept here:

* The body is never touched: edits happen on the raw header block (everything before the first
  empty line), and a folded header is removed or kept together with its continuation lines.
  The message's own line ending (CRLF or LF) is used for added lines.
* Inbound (§10.1): ``X-MS-Exchange-Organization-*`` survives only with AcceptOrganizationHeaders,
  ``X-MS-Exchange-Forest-*`` only with AcceptForestHeaders, ``Received:`` and ``Resent-*:`` only
  with AcceptRoutingHeaders, so no sender outside the organization can forge ``AuthAs: Partner``.
  A field name is read as Exchange reads it: case-insensitive, white space before the colon
  allowed (RFC 5322 obs-optional), lines split at CRLF, bare LF and bare CR alike.
* Outbound (§10.1, §3.2): Internal connectors send everything; Partner and Internet connectors
  send routing headers only; Custom connectors send none of the three classes.
* Stamps (§5.4): existing authentication headers are removed before the receiving server writes
  its own at the top; a Partner session also gets the ExPartnerMail classification.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from labsim.model.enums import AuthAs, Permission, SendConnectorUsage
from labsim.model.mail import (
    AUTH_AS,
    AUTH_DOMAIN,
    AUTH_MECHANISM,
    AUTH_SOURCE,
    CLASSIFICATION,
    PARTNER_MAIL_CLASSIFICATION,
)
from labsim.smtp.replies import exchange_date

EXCHANGE_BUILD = "15.0.1497.2"
"""Exchange 2013 CU23, the build the reference's behaviour was observed in (S21)."""

ORGANIZATION_PREFIX = "x-ms-exchange-organization-"
FOREST_PREFIX = "x-ms-exchange-forest-"
AUTH_CERTIFICATE_PREFIX = "x-ms-exchange-organization-authcertificate"


class HeaderClass(Enum):
    """The three header classes the header firewall knows (§10.1)."""

    ORGANIZATION = "Organization"
    FOREST = "Forest"
    ROUTING = "Routing"


class AuthMechanismCode(Enum):
    """``X-MS-Exchange-Organization-AuthMechanism`` values: two lower-case hex digits (§5.4)."""

    NONE = "00"
    SENDER_ID = "01"
    MUTUAL_TLS = "02"
    MAPI_SUBMIT = "03"
    SECURE_MAPI_SUBMIT = "04"
    SECURE_INTERNAL_SUBMIT = "05"
    TLS_AUTH_LOGIN = "06"
    LOGIN = "07"
    PICKUP = "08"
    NTLM = "0a"
    GSSAPI = "0b"
    MUTUAL_GSSAPI = "0c"
    CUSTOM = "0d"
    SECURE_EXTERNAL_SUBMIT = "10"
    DIRECT_TRUST_TLS = "11"
    REPLAY = "12"


def header_class(name: str) -> HeaderClass | None:
    """The firewall class of a header name, or None for ordinary headers."""
    key = name.strip().lower()
    if key.startswith(ORGANIZATION_PREFIX):
        return HeaderClass.ORGANIZATION
    if key.startswith(FOREST_PREFIX):
        return HeaderClass.FOREST
    if key == "received" or key.startswith("resent-"):
        return HeaderClass.ROUTING
    return None


# --- raw header block ------------------------------------------------------------------------


class _Field(NamedTuple):
    # A tuple, not a frozen dataclass: a message's header block is split several times per
    # hop (hop count, firewall, stamps), and a tuple is built in one step.
    name: str  # "" for a line that is not a header (kept as is)
    raw: bytes  # the start line and its continuation lines, with their line endings


# The first empty line: two line breaks in a row, a break being CRLF, a bare LF or a bare CR as
# bytes.splitlines reads them (atomic groups: a CRLF is never taken apart into two breaks).
_BLANK_LINE = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")

_Split = tuple[tuple[_Field, ...], bytes]

# The last content split, by identity (bytes are immutable; holding the object keeps its id
# from being reused): the hop count, the firewall and the stamps of one hop read the same
# content one after the other.
_last_split: tuple[bytes, _Split] | None = None


def _split(content: bytes) -> _Split:
    """Header fields and the rest (the empty separator line and the body, byte-exact)."""
    global _last_split
    last = _last_split
    if last is not None and last[0] is content:
        return last[1]
    fields: list[_Field] = []
    # Only the header block is split into lines (the body may be large): up to the first line
    # break of the first empty line, or all of it when the block has no end.
    if content[:1] in (b"\r", b"\n"):
        head = b""  # the first line is empty: no header at all
    else:
        blank = _BLANK_LINE.search(content)
        if blank is None:
            head = content
        else:
            end = blank.start()
            head = content[: end + (2 if content.startswith(b"\r\n", end) else 1)]
    offset = 0
    for line in head.splitlines(keepends=True):
        if not line.rstrip(b"\r\n"):
            break  # pragma: no cover - head ends before the first empty line
        if line[:1] in (b" ", b"\t") and fields:
            previous = fields[-1]
            fields[-1] = _Field(previous.name, previous.raw + line)
        else:
            name, colon, _ = line.partition(b":")
            # RFC 5322's obsolete syntax (obs-optional) allows white space between the field
            # name and the colon, and Exchange's lenient MIME reader takes
            # "X-MS-Exchange-Organization-AuthAs\t: Partner" as AuthAs: the name is what comes
            # before that white space. White space inside a name makes the line no header.
            name = name.strip(b" \t")
            good = colon and name and b" " not in name and b"\t" not in name
            fields.append(_Field(name.decode("ascii", "replace") if good else "", line))
        offset += len(line)
    result = (tuple(fields), content[offset:])
    _last_split = (content, result)
    return result


def _join(fields: Iterable[_Field], rest: bytes) -> bytes:
    return b"".join(f.raw for f in fields) + rest


def _newline(content: bytes) -> bytes:
    end = content.find(b"\n")
    return (
        b"\r\n" if end > 0 and content[end - 1 : end] == b"\r" else (b"\n" if end >= 0 else b"\r\n")
    )


def _header_line(name: str, value: str, newline: bytes) -> bytes:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError(f"header {name!r} value {value!r} would break the header block")
    return f"{name}: {value}".encode() + newline


def header_values(content: bytes, name: str) -> tuple[str, ...]:
    """The values of every field called ``name`` (case-insensitive), unfolded, in order; field
    names are read as the firewall reads them."""
    fields, _ = _split(content)
    key = name.lower()
    values = []
    for f in fields:
        if f.name.lower() == key:
            _, _, value = f.raw.partition(b":")
            text = value.decode("ascii", "replace")
            values.append(" ".join(text.split()))
    return tuple(values)


def header_names(content: bytes) -> tuple[str, ...]:
    """Names of the header fields in order (a folded header counts once)."""
    fields, _ = _split(content)
    return tuple(f.name for f in fields if f.name)


@dataclass(frozen=True)
class FirewallResult:
    """Content after the header firewall and the header names it removed (for ``--explain``)."""

    content: bytes
    removed: tuple[str, ...]


def _filter(content: bytes, allowed: frozenset[HeaderClass]) -> FirewallResult:
    fields, rest = _split(content)
    kept: list[_Field] = []
    removed: list[str] = []
    for f in fields:
        cls = header_class(f.name) if f.name else None
        if cls is not None and cls not in allowed:
            removed.append(f.name)
        else:
            kept.append(f)
    if not removed:
        # The fields and the rest are the content, byte for byte: nothing to rebuild.
        return FirewallResult(content, ())
    return FirewallResult(_join(kept, rest), tuple(removed))


_CLASS_RIGHTS = {
    HeaderClass.ORGANIZATION: Permission.ACCEPT_ORG_HEADERS,
    HeaderClass.FOREST: Permission.ACCEPT_FOREST_HEADERS,
    HeaderClass.ROUTING: Permission.ACCEPT_ROUTING_HEADERS,
}


def receive_firewall(content: bytes, permissions: Iterable[Permission]) -> FirewallResult:
    """Apply the inbound header firewall (§10.1) and report what was removed."""
    held = frozenset(permissions)
    allowed = frozenset(cls for cls, right in _CLASS_RIGHTS.items() if right in held)
    return _filter(content, allowed)


def apply_receive_firewall(content: bytes, permissions: Iterable[Permission]) -> bytes:
    """The content with the header classes the session may not send removed (§10.1)."""
    return receive_firewall(content, permissions).content


_SEND_CLASSES: dict[SendConnectorUsage, frozenset[HeaderClass]] = {
    SendConnectorUsage.INTERNAL: frozenset(HeaderClass),
    SendConnectorUsage.PARTNER: frozenset({HeaderClass.ROUTING}),
    SendConnectorUsage.INTERNET: frozenset({HeaderClass.ROUTING}),
    SendConnectorUsage.CUSTOM: frozenset(),
}


def send_firewall(content: bytes, connector_usage: SendConnectorUsage) -> FirewallResult:
    """Apply the outbound header firewall of a send connector (§10.1) and report removals."""
    return _filter(content, _SEND_CLASSES[connector_usage])


def apply_send_firewall(content: bytes, connector_usage: SendConnectorUsage) -> bytes:
    """The content as a send connector of ``connector_usage`` may send it (§10.1)."""
    return send_firewall(content, connector_usage).content


# --- adding headers --------------------------------------------------------------------------


def prepend_header(content: bytes, name: str, value: str) -> bytes:
    """``name: value`` added above every existing header (where trace headers go)."""
    return _header_line(name, value, _newline(content)) + content


def prepend_raw_header(content: bytes, line: bytes) -> bytes:
    """A complete header line (e.g. from :func:`received_header`) added at the top, re-ended
    with the message's own line ending."""
    return line.rstrip(b"\r\n") + _newline(content) + content


_AUTH_NAMES = {n.lower() for n in (AUTH_AS, AUTH_DOMAIN, AUTH_MECHANISM, AUTH_SOURCE)}


def _is_old_stamp(f: _Field) -> bool:
    key = f.name.lower()
    if key in _AUTH_NAMES or key.startswith(AUTH_CERTIFICATE_PREFIX):
        return True
    if key == CLASSIFICATION.lower():
        _, _, value = f.raw.partition(b":")
        return value.strip().decode("ascii", "replace").lower() == PARTNER_MAIL_CLASSIFICATION
    return False


def stamp_authentication(
    content: bytes,
    *,
    auth_as: AuthAs,
    mechanism: AuthMechanismCode,
    source_fqdn: str,
    domain: str | None,
) -> bytes:
    """Write the receiving server's authentication stamps at the top (§5.4, D3, D10).

    Existing AuthAs/AuthDomain/AuthMechanism/AuthSource/AuthCertificate* headers (and a previous
    ExPartnerMail classification) are removed first. ``domain`` is the authenticated sender
    domain (AuthDomain; Exchange writes it for MutualTLS), None to omit it.
    """
    fields, rest = _split(content)
    newline = _newline(content)
    kept = [f for f in fields if not (f.name and _is_old_stamp(f))]
    stamps = [
        _header_line(AUTH_SOURCE, source_fqdn, newline),
        _header_line(AUTH_AS, auth_as.value, newline),
        _header_line(AUTH_MECHANISM, mechanism.value, newline),
    ]
    if domain:
        stamps.append(_header_line(AUTH_DOMAIN, domain.lower(), newline))
    if auth_as is AuthAs.PARTNER:
        stamps.append(_header_line(CLASSIFICATION, PARTNER_MAIL_CLASSIFICATION, newline))
    return b"".join(stamps) + _join(kept, rest)


def received_header(
    *,
    helo: str,
    client_ip: str,
    by_fqdn: str,
    server_ip: str,
    tls_description: str | None,
    when: datetime,
    via: str | None = None,
) -> bytes:
    """Exchange 2013's Received header for an SMTP hop, one line with CRLF.

    ``Received: from mail.adatum.com (127.0.10.1) by mail.treyresearch.net (127.0.20.1) with
    Microsoft SMTP Server (TLS) id 15.0.1497.2; Mon, 30 Nov 2026 06:48:13 +0000``. A hop over
    TLS is marked ``(TLS)`` only: the ``(version=TLS1_2, cipher=…)`` form belongs to Exchange
    2016 and later (docs/exchange-reference.md §17 C9). ``tls_description`` is the session's
    TLS description (None without TLS); ``via`` adds e.g. ``via Frontend Transport`` as the CAS
    writes it. ``when`` must be aware.
    """
    tls = " (TLS)" if tls_description else ""
    hop = f" via {via}" if via else ""
    value = (
        f"from {helo} ({client_ip}) by {by_fqdn} ({server_ip}) with Microsoft SMTP Server{tls} "
        f"id {EXCHANGE_BUILD}{hop}; {exchange_date(when)}"
    )
    return _header_line("Received", value, b"\r\n")


MAPI_BUILD = "15.00.1497.002"
"""The store's version as the first Received header of a message sent from a mailbox shows it:
zero-padded, unlike the transport's ``15.0.1497.2`` (published 2013 CU23 headers read ``with
mapi id 15.00.1497.0nn``, the last part following the security update installed)."""


def mapi_received_header(*, server_fqdn: str, server_ip: str, when: datetime) -> bytes:
    """The first Received header of a message submitted from a mailbox on ``server_fqdn``:
    ``Received: from EX1.contoso.com ([10.0.0.1]) by EX1.contoso.com ([10.0.0.1]) with mapi
    id 15.00.1497.002; <date>`` (§17 C9; addresses in brackets as Exchange writes them)."""
    value = (
        f"from {server_fqdn} ([{server_ip}]) by {server_fqdn} ([{server_ip}]) "
        f"with mapi id {MAPI_BUILD}; {exchange_date(when)}"
    )
    return _header_line("Received", value, b"\r\n")
