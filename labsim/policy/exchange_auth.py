"""Exchange Server authentication (``X-EXPS``) between servers of one organization.

Exchange servers prove to each other that they belong to the organization with Kerberos over
``X-EXPS GSSAPI``, after STARTTLS or X-ANONYMOUSTLS (docs/exchange-reference.md §17 C5, KB 979175);
a receive connector grants the ExchangeServer identity (and with it AcceptRoutingHeaders and the
right to carry X-MS-Exchange-Organization-* stamps) only to a session that did so, never by address.

labsim stands in for Kerberos with a secret per organization, held by the lab's servers and
nobody else (docs/fidelity.md, "Exchange Server authentication"): the receiving server sends a
random challenge in its 334 reply; the sending server answers with its name and an HMAC-SHA256
over the challenge, its name and the TLS session's exported keying material, so a response is
good for one challenge on one TLS session only, and a process that is not a lab server cannot
produce one whatever address it binds.

Pure functions over bytes and names; the engine keeps the secrets and moves the lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from labsim.smtp import replies
from labsim.smtp.reply import Reply

MECHANISM = "GSSAPI"
"""The mechanism a sending server uses (Kerberos, in Exchange)."""

ADVERTISED = "X-EXPS GSSAPI NTLM"
"""The EHLO line of a receive connector whose AuthMechanism includes ExchangeServer [O 2016]."""

CHANNEL_BINDING_LABEL = b"EXPORTER-labsim-X-EXPS"
"""RFC 5705 exporter label: binds a response to the TLS session it was made on."""

CHALLENGE_OCTETS = 16

# Reply texts live in the one catalog (labsim.smtp.replies); these are the names used here.
AUTHENTICATED = replies.AUTHENTICATION_SUCCESSFUL
UNSUCCESSFUL = replies.AUTHENTICATION_UNSUCCESSFUL
UNRECOGNIZED_TYPE = replies.UNRECOGNIZED_AUTHENTICATION_TYPE
ALREADY_AUTHENTICATED = replies.ALREADY_AUTHENTICATED
CANCELLED = replies.AUTHENTICATION_CANCELLED
CANNOT_ACHIEVE = replies.CANNOT_ACHIEVE_EXCHANGE_SERVER_AUTHENTICATION

LOG_CHALLENGE = "334 <authentication response>"
"""How the receive log shows the 334: Exchange never logs authentication blobs."""


def challenge_line(challenge: bytes) -> str:
    """The text of the 334 reply: the challenge in base64."""
    return base64.b64encode(challenge).decode("ascii")


def _mac(secret: bytes, challenge: bytes, channel_binding: bytes, server_name: str) -> str:
    message = b"\0".join((challenge, channel_binding, server_name.upper().encode("utf-8")))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def response_line(
    secret: bytes, challenge_text: str, channel_binding: bytes, server_name: str
) -> str | None:
    """The sending server's answer to a 334 challenge; None when the challenge is not base64."""
    try:
        challenge = base64.b64decode(challenge_text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    proof = f"{server_name} {_mac(secret, challenge, channel_binding, server_name)}"
    return base64.b64encode(proof.encode("utf-8")).decode("ascii")


@dataclass(frozen=True)
class Verdict:
    """What the receiving server concluded from a response."""

    server_name: str | None
    """The organization's server that authenticated, or None."""
    reply: Reply


def verify_response(
    secret: bytes,
    challenge: bytes,
    channel_binding: bytes,
    response: str,
    server_names: frozenset[str],
) -> Verdict:
    """Check a response against the challenge sent on this TLS session.

    ``server_names`` are the organization's servers (upper case): a good MAC for a name that is
    not one of them still fails (Exchange checks the account is an Exchange server's).
    """
    if response.strip() == "*":
        return Verdict(None, CANCELLED)
    try:
        decoded = base64.b64decode(response.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return Verdict(None, UNSUCCESSFUL)
    name, _, mac = decoded.partition(" ")
    if name.upper() not in server_names:
        return Verdict(None, UNSUCCESSFUL)
    expected = _mac(secret, challenge, channel_binding, name)
    if not hmac.compare_digest(expected, mac):
        return Verdict(None, UNSUCCESSFUL)
    return Verdict(name.upper(), AUTHENTICATED)


def account_name(organization_domain: str, server_name: str) -> str:
    """The computer account the receive log shows as authenticated: ``ADATUM\\ADATUM-MBX1$``.

    The NetBIOS domain name is the first label of the organization's primary domain, upper case
    (labsim's organizations have no separate Active Directory domain name).
    """
    netbios = organization_domain.split(".", 1)[0].upper()
    return f"{netbios}\\{server_name.upper()}$"
