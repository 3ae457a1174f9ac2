"""Every reply and log text the policy layer produces, in one place.

Replies come from the SMTP catalog (:mod:`labsim.smtp.replies`) where it has them, so that the
wire, the protocol log, the queue's LastError and NDRs all show the same text. Texts the catalog
does not hold (routing results, send-side log lines) are defined here with their source. If the
catalog's names change, only this module needs re-pointing.
"""

from __future__ import annotations

from labsim.smtp import replies
from labsim.smtp.reply import Reply

# --- inbound, MAIL FROM domain security check (docs/exchange-reference.md §5.3) -------------------
DOMAIN_SECURE_DISABLED: Reply = replies.DOMAIN_SECURE_DISABLED
"""``451 4.7.3 The admin has temporarily disallowed this secure domain`` (both sides, §4.1, §5.3)."""
NOT_AUTHENTICATED: Reply = replies.NOT_AUTHENTICATED
"""``530 5.7.1 Not authenticated`` (§5.3: TLS offered but not started, or no client cert)."""
TEMPORARY_AUTHENTICATION_FAILURE: Reply = replies.TEMPORARY_AUTHENTICATION_FAILURE
"""``454 4.7.0 Temporary authentication failure`` (§5.3: STARTTLS not advertised)."""
CERTIFICATE_VALIDATION_FAILURE: Reply = replies.CERTIFICATE_VALIDATION_FAILURE
"""``454 4.7.5 Certificate validation failure`` (both sides, §4.2, §5.3)."""
CLIENT_NOT_AUTHENTICATED: Reply = replies.CLIENT_NOT_AUTHENTICATED
"""``530 5.7.1 Client was not authenticated`` (§5.3: anonymous session without SMTP-Submit)."""
CLIENT_NO_SUBMIT_PERMISSION: Reply = replies.CLIENT_NO_SUBMIT_PERMISSION
"""``550 5.7.1 Client does not have permissions to submit to this server`` (§5.3, D11)."""

# --- recipients and size (docs/exchange-reference.md §10.2, §10.3, D6) ----------------------------
RELAY_DENIED: Reply = replies.RELAY_DENIED
"""``550 5.7.54 SMTP; Unable to relay recipient in non-accepted domain`` (D6)."""
RECIPIENT_NOT_FOUND: Reply = replies.RECIPIENT_NOT_FOUND
"""``550 5.1.1 RESOLVER.ADR.RecipNotFound; not found``."""
MESSAGE_TOO_BIG: Reply = replies.MESSAGE_TOO_BIG
"""``552 5.3.4 Message size exceeds fixed maximum message size`` (§10.3)."""

# --- outbound (docs/exchange-reference.md §4.2, §4.4, §4.5) ---------------------------------------
STARTTLS_REQUIRED_TO_SEND: Reply = replies.STARTTLS_REQUIRED_TO_SEND
"""``451 5.7.3 STARTTLS is required to send mail`` (Exchange's own 4xx/5.x mismatch)."""
SEND_CONNECTOR_CERTIFICATE_NOT_FOUND: Reply = replies.SEND_CONNECTOR_CERTIFICATE_NOT_FOUND
"""``454 4.7.5 The certificate specified in TlsCertificateName of the SendConnector could not
be found.`` (§4.4.1)."""


def failover_reason(reply: Reply, address: str, port: int) -> Reply:
    """What a server reports when every target of a next hop failed after the last one answered
    (docs/exchange-reference.md §17 C1): the answer, wrapped in Exchange's failover sentence.

    ``451 4.4.0 Primary target IP address responded with: "<reply>." Attempted failover to
    alternate host, but that did not succeed. Either there are no alternate hosts, or delivery
    failed to all alternate hosts. The last endpoint attempted was <ip>:<port>``. The same
    wrapper holds for a remote server's reply and for the sender's own verdict (454 4.7.5,
    451 5.7.3, 451 4.7.3); a target that could not be reached keeps its own ``441 4.4.1`` text.
    The queue's LastError, the Client Access server's proxy reason and the delay notice all
    show this one text.
    """
    return Reply(
        451,
        f'Primary target IP address responded with: "{reply}." Attempted failover to '
        "alternate host, but that did not succeed. Either there are no alternate hosts, or "
        "delivery failed to all alternate hosts. The last endpoint attempted was "
        f"{address}:{port}",
        "4.4.0",
    )


def proxy_setup_failed(reason: Reply) -> Reply:
    """The Client Access server's answer when it cannot open the proxied session to the
    Internet for a Mailbox server (§17 C2): ``450 4.7.0 Proxy session setup failed on Frontend
    with '<reason>'``, the reason being the :func:`failover_reason` text."""
    return Reply(450, f"Proxy session setup failed on Frontend with '{reason}'", "4.7.0")


# --- routing -----------------------------------------------------------------------------
NO_CONNECTOR_FOR_ADDRESS_TYPE = Reply(
    550, "ROUTING.NoConnectorForAddressType; unable to route for address type", "5.4.4"
)
"""Recipient status when no send connector covers the domain.

Source: the Exchange 15.0 ``AckReason.NoConnectorForAddressType`` response (reference S21
material). The 2007/2010 documentation of the Unreachable queue describes the same situation
("A matching connector cannot be found to route the external recipient"); Exchange keeps such
messages in the Unreachable queue until they expire or are resubmitted, so this is a recipient
status, not an immediate NDR reason.
"""


# --- protocol-log information lines (docs/exchange-reference.md §7.3, S21 format) -----------------
def tls_not_offered_line(domain: str, connector_name: str) -> str:
    """``Message to secure domain '<dom>' on send connector '<name>' failed because TLS was not
    offered .`` — the space before the final dot is Exchange's."""
    return (
        f"Message to secure domain '{domain}' on send connector '{connector_name}' "
        "failed because TLS was not offered ."
    )


def outbound_tls_auth_failed_line(auth_level: str, status: str) -> str:
    """``Outbound TLS authentication failed for auth level <level> with error <status>``."""
    return f"Outbound TLS authentication failed for auth level {auth_level} with error {status}"


def crl_tolerated_line(status: str) -> str:
    """The D5 note: an unreachable CRL treated as success (docs/exchange-reference.md §4.3, event 11026).

    Exchange prints the chain status it got; labsim prints the status's Exchange-style name.
    """
    return f"CRL validation failed with status {status}. Treating the failure as success."


SECURE_DOMAIN_CERTIFICATE = "Secure domain certificate"
"""Send-side context line written when the server certificate passed the Domain Security check."""
SET_SESSION_PERMISSIONS = "Set Session Permissions"
"""Context of the protocol-log line that lists a session's permissions (§3.5)."""
