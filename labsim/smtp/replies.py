"""The catalog of SMTP replies Exchange 2013 sends, with Exchange's exact codes and texts.

Every reply text a labsim server puts on the wire comes from here, so that protocol logs, queue
LastError fields and NDRs show what Exchange would show (docs/exchange-reference.md §5.3, §7.3,
§10.2, §10.3). Fixed replies are constants; replies that carry names, addresses or times are small
functions. Where Exchange's text is not known, the choice is labsim's and the comment says so.
"""

from __future__ import annotations

import functools
from datetime import datetime

from .reply import Reply

__all__ = [
    "ALREADY_AUTHENTICATED",
    "AUTHENTICATION_CANCELLED",
    "AUTHENTICATION_SUCCESSFUL",
    "AUTHENTICATION_UNSUCCESSFUL",
    "CANNOT_ACHIEVE_EXCHANGE_SERVER_AUTHENTICATION",
    "UNRECOGNIZED_AUTHENTICATION_TYPE",
    "BAD_SEQUENCE_OF_COMMANDS",
    "CERTIFICATE_VALIDATION_FAILURE",
    "CLIENT_NOT_AUTHENTICATED",
    "CLIENT_NO_SUBMIT_PERMISSION",
    "CLOSING_CHANNEL",
    "DOMAIN_SECURE_DISABLED",
    "INVALID_ARGUMENTS",
    "LINE_TOO_LONG",
    "MESSAGE_TOO_BIG",
    "MUST_ISSUE_STARTTLS_FIRST",
    "NEED_MAIL_COMMAND",
    "NEED_RCPT_COMMAND",
    "NOOP_OK",
    "NOT_AUTHENTICATED",
    "RECIPIENT_NOT_FOUND",
    "RECIPIENT_OK",
    "RELAY_DENIED",
    "RESETTING",
    "SEND_CONNECTOR_CERTIFICATE_NOT_FOUND",
    "SENDER_ALREADY_SPECIFIED",
    "SENDER_OK",
    "SEND_HELLO_FIRST",
    "START_MAIL_INPUT",
    "STARTTLS_READY",
    "STARTTLS_REQUIRED_TO_SEND",
    "TEMPORARY_AUTHENTICATION_FAILURE",
    "TOO_MANY_ERRORS",
    "TOO_MANY_RECIPIENTS",
    "UNRECOGNIZED_COMMAND",
    "banner",
    "chunk_received",
    "ehlo",
    "exchange_date",
    "helo",
    "queued_mail",
]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def exchange_date(when: datetime) -> str:
    """``when`` as Exchange prints it in the banner: ``Mon, 30 Nov 2026 06:48:13 +0000``.

    English names are spelled out here rather than taken from ``strftime``, which follows the
    process locale. ``when`` must be timezone-aware: the offset is part of the text, and guessing
    it for a naive value would silently print the wrong time.
    """
    offset = when.utcoffset()
    if offset is None:
        raise ValueError("exchange_date() needs a timezone-aware datetime (use the lab clock)")
    total_minutes = int(offset.total_seconds()) // 60
    sign = "-" if total_minutes < 0 else "+"
    hours, minutes = divmod(abs(total_minutes), 60)
    return (
        f"{_DAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} {sign}{hours:02d}{minutes:02d}"
    )


def banner(fqdn: str, when: datetime) -> Reply:
    """The connection greeting: ``220 {fqdn} Microsoft ESMTP MAIL Service ready at {date}``."""
    return _banner(fqdn, exchange_date(when))


@functools.lru_cache(maxsize=256)
def _banner(fqdn: str, date: str) -> Reply:
    # The date has whole seconds: the sessions of one second share one greeting object (and
    # its wire form and log line, kept per reply object).
    return Reply(220, f"{fqdn} Microsoft ESMTP MAIL Service ready at {date}")


# Memoized (replies are frozen): a server answers the same few EHLOs session after session, and
# one object per answer lets the wire form and the log lines kept per reply object be found.
@functools.lru_cache(maxsize=1024)
def ehlo(
    fqdn: str,
    client_ip: str,
    *,
    max_size: int | None,
    starttls: bool,
    exchange_auth: bool = False,
    binary_mime: bool = False,
    chunking: bool = False,
) -> Reply:
    """The EHLO reply, extensions in Exchange's order (STARTTLS only when it is offered).

    ``exchange_auth`` adds ``X-EXPS GSSAPI NTLM`` (the connector's AuthMechanism includes
    ExchangeServer), after STARTTLS as Exchange orders it [docs/exchange-reference.md §17 C4].
    ``binary_mime`` and ``chunking`` add ``BINARYMIME`` and ``CHUNKING`` after ``8BITMIME``
    (the connector's BinaryMimeEnabled and ChunkingEnabled, both True by default in Exchange).

    labsim advertises only verbs it answers. A 2013 Default Frontend connector also lists
    ``X-ANONYMOUSTLS``, ``AUTH NTLM`` (``AUTH NTLM LOGIN`` with BasicAuth) and ``XRDST`` in the
    places ``SIZE, PIPELINING, DSN, ENHANCEDSTATUSCODES, STARTTLS, X-ANONYMOUSTLS, AUTH NTLM,
    X-EXPS GSSAPI NTLM, 8BITMIME, BINARYMIME, CHUNKING, XRDST`` shows; the session refuses those
    verbs (AUTH, X-ANONYMOUSTLS, XRDST), so they are not offered (docs/fidelity.md, "TLS success
    line and EHLO").

    ``max_size`` is the receive connector's MaxMessageSize in bytes (``SIZE 37748736`` for 36 MB);
    None advertises ``SIZE`` without a limit (RFC 1870 allows it). The ``ServerSession`` reads
    this reply back to learn whether STARTTLS was offered.
    """
    lines = [f"{fqdn} Hello [{client_ip}]"]
    lines.append("SIZE" if max_size is None else f"SIZE {max_size}")
    lines += ["PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
    if starttls:
        lines.append("STARTTLS")
    if exchange_auth:
        lines.append("X-EXPS GSSAPI NTLM")
    lines.append("8BITMIME")
    if binary_mime:
        lines.append("BINARYMIME")
    if chunking:
        lines.append("CHUNKING")
    return Reply(250, tuple(lines))


@functools.lru_cache(maxsize=1024)
def helo(fqdn: str, client_ip: str) -> Reply:
    """The HELO reply: ``250 {fqdn} Hello [{client_ip}]``."""
    return Reply(250, f"{fqdn} Hello [{client_ip}]")


def queued_mail(
    message_id: str,
    internal_id: int,
    fqdn: str,
    transfer: tuple[int, float] | None = None,
) -> Reply:
    """The reply to the end of message data once the message is safely queued.

    ``message_id`` is the Message-ID without angle brackets (they are added here, as Exchange
    shows them); ``internal_id`` is the queue's InternalMessageId. ``transfer`` is (bytes
    received, seconds the data took): the Transport service on 2525 reports it before
    ``Queued mail for delivery`` (docs/exchange-reference.md §17 C9), as in
    ``250 2.6.0 <id> [InternalId=…, Hostname=…] 4596 bytes in 0.105, 42.745 KB/sec Queued mail
    for delivery``: seconds with three decimals, the rate in KB (1024 bytes) per second.
    """
    bare = message_id.strip("<>")
    throughput = ""
    if transfer is not None:
        size, seconds = transfer
        # Three decimals as Exchange prints them; a transfer faster than a millisecond counts
        # as one, so the rate stays finite.
        elapsed = max(seconds, 0.001)
        throughput = f"{size} bytes in {elapsed:.3f}, {size / 1024 / elapsed:.3f} KB/sec "
    return Reply(
        250,
        f"<{bare}> [InternalId={internal_id}, Hostname={fqdn}] {throughput}"
        "Queued mail for delivery",
        "2.6.0",
    )


@functools.lru_cache(maxsize=64)
def chunk_received(size: int) -> Reply:
    """The reply to a BDAT chunk that is not the LAST one:
    ``250 2.6.0 CHUNK received OK, <n> octets``, ``<n>`` the size of that chunk.

    Exchange 15's own text (its ``SmtpResponse.OctetsReceived(chunkSize)``, which the inbound
    BDAT command answers a chunk that is not the last with) [C, code; no real log sample was
    found, Exchange servers sending a message as one ``BDAT <n> LAST``]. The LAST chunk is
    answered as the end of DATA is (:func:`queued_mail`). docs/fidelity.md, "CHUNKING and
    BDAT".
    """
    return Reply(250, f"CHUNK received OK, {size} octets", "2.6.0")


# --- session flow -------------------------------------------------------------------------

STARTTLS_READY = Reply(220, "SMTP server ready", "2.0.0")
"""Positive reply to STARTTLS; the TLS handshake starts right after it."""

SENDER_OK = Reply(250, "Sender OK", "2.1.0")
"""MAIL FROM accepted."""

RECIPIENT_OK = Reply(250, "Recipient OK", "2.1.5")
"""RCPT TO accepted."""

START_MAIL_INPUT = Reply(354, "Start mail input; end with <CRLF>.<CRLF>")
"""Positive intermediate reply to DATA."""

RESETTING = Reply(250, "Resetting", "2.0.0")
"""Reply to RSET."""

NOOP_OK = Reply(250, "OK", "2.0.0")
"""Reply to NOOP."""

CLOSING_CHANNEL = Reply(221, "Service closing transmission channel", "2.0.0")
"""Reply to QUIT."""

# --- Exchange Server authentication (X-EXPS, labsim.policy.exchange_auth) -----------------

AUTHENTICATION_SUCCESSFUL = Reply(235, "Authentication successful", "2.7.0")
"""X-EXPS (as AUTH) accepted: the session is an Exchange server's."""

AUTHENTICATION_UNSUCCESSFUL = Reply(535, "Authentication unsuccessful", "5.7.3")
"""An X-EXPS response no server of the organization could have made."""

UNRECOGNIZED_AUTHENTICATION_TYPE = Reply(504, "Unrecognized authentication type", "5.7.4")
"""A mechanism labsim does not implement (NTLM), or X-EXPS before TLS."""

ALREADY_AUTHENTICATED = Reply(503, "Already authenticated", "5.5.1")
"""X-EXPS on a session that is already authenticated."""

AUTHENTICATION_CANCELLED = Reply(501, "Authentication cancelled", "5.0.0")
"""The client answered a 334 challenge with ``*`` (RFC 4954)."""

CANNOT_ACHIEVE_EXCHANGE_SERVER_AUTHENTICATION = Reply(
    451, "Cannot achieve Exchange Server authentication", "5.7.3"
)
"""The sending server's verdict when a target of its organization does not authenticate it
(KB 979175)."""

# --- protocol errors (answered by the session itself) ------------------------------------

UNRECOGNIZED_COMMAND = Reply(500, "Unrecognized command", "5.3.3")
"""Unknown (or unimplemented) verb."""

INVALID_ARGUMENTS = Reply(501, "Invalid arguments", "5.5.4")
"""Known verb with malformed arguments (bad address, bad ESMTP parameter, missing domain, a
BDAT without a size, ``BODY=BINARYMIME`` when BINARYMIME is not offered)."""

SEND_HELLO_FIRST = Reply(503, "Send hello first", "5.5.2")
"""MAIL/RCPT/DATA before EHLO or HELO."""

NEED_MAIL_COMMAND = Reply(503, "Need mail command", "5.5.2")
"""RCPT or DATA outside a mail transaction."""

NEED_RCPT_COMMAND = Reply(503, "Need rcpt command", "5.5.2")
"""DATA without an accepted recipient."""

SENDER_ALREADY_SPECIFIED = Reply(503, "Sender already specified", "5.5.2")
"""A second MAIL inside one transaction."""

BAD_SEQUENCE_OF_COMMANDS = Reply(503, "Bad sequence of commands", "5.5.1")
"""STARTTLS when it was not offered, TLS is already active, or a transaction is open; DATA
after BDAT, or after ``MAIL FROM … BODY=BINARYMIME`` (RFC 3030 §2, §3).

labsim's choice: Exchange's exact text for these cases is not in the reference; this is the
RFC 5321 §4.2.2 wording with the RFC 3463 "invalid command" enhanced code.
"""

LINE_TOO_LONG = Reply(500, "Line too long", "5.5.6")
"""A command line longer than the session accepts.

labsim's choice: the text is RFC 5321 §4.5.3.1.4's ("500 Line too long"); the enhanced code
5.5.6 is the one RFC 4954 registers for over-long lines. Exchange's own text is not known.
"""

TOO_MANY_ERRORS = Reply(
    421, "Too many errors on this connection, closing transmission channel", "4.7.0"
)
"""Sent before closing once the receive connector's MaxProtocolErrors is reached."""

CONNECTION_TIMED_OUT = Reply(421, "Connection timed out", "4.4.1")
"""Sent before closing a session that outlived the receive connector's ConnectionTimeout or
stayed silent past its ConnectionInactivityTimeout (Exchange's text, as senders report it;
docs/fidelity.md)."""

# --- policy replies (the owner decides; docs/exchange-reference.md §5.3, §10.2, §10.3) ------------

MESSAGE_TOO_BIG = Reply(552, "Message size exceeds fixed maximum message size", "5.3.4")
"""SIZE parameter, received data or a BDAT chunk that takes the message above the connector's
MaxMessageSize."""

RELAY_DENIED = Reply(550, "SMTP; Unable to relay recipient in non-accepted domain", "5.7.54")
"""RCPT to a domain that is not accepted, without Accept-Any-Recipient (decision D6)."""

RECIPIENT_NOT_FOUND = Reply(550, "RESOLVER.ADR.RecipNotFound; not found", "5.1.1")
"""RCPT to an accepted (authoritative) domain address that has no mailbox: Exchange 2013's
AckReason (docs/exchange-reference.md §17 C12); the ``5.1.10 … by SMTP address lookup`` form
belongs to Exchange Online and newer builds."""

TOO_MANY_RECIPIENTS = Reply(452, "Too many recipients", "4.5.3")
"""RCPT beyond the connector's MaxRecipientsPerMessage."""

DOMAIN_SECURE_DISABLED = Reply(
    451, "The admin has temporarily disallowed this secure domain", "4.7.3"
)
"""MAIL from a TLSReceiveDomainSecureList domain on a connector without DomainSecureEnabled."""

NOT_AUTHENTICATED = Reply(530, "Not authenticated", "5.7.1")
"""Domain-secure sender without TLS (STARTTLS was offered) or without a client certificate."""

TEMPORARY_AUTHENTICATION_FAILURE = Reply(454, "Temporary authentication failure", "4.7.0")
"""Domain-secure sender without TLS on a connector that does not offer STARTTLS."""

CERTIFICATE_VALIDATION_FAILURE = Reply(454, "Certificate validation failure", "4.7.5")
"""Domain-secure sender whose client certificate failed name or chain validation."""

CLIENT_NO_SUBMIT_PERMISSION = Reply(
    550, "Client does not have permissions to submit to this server", "5.7.1"
)
"""An authenticated (e.g. Partner) session lacking ms-Exch-SMTP-Submit (decision D11)."""

CLIENT_NOT_AUTHENTICATED = Reply(530, "Client was not authenticated", "5.7.1")
"""An anonymous session lacking ms-Exch-SMTP-Submit."""

MUST_ISSUE_STARTTLS_FIRST = Reply(530, "Must issue a STARTTLS command first", "5.7.0")
"""Receive connector RequireTLS and the client did not start TLS."""

STARTTLS_REQUIRED_TO_SEND = Reply(451, "STARTTLS is required to send mail", "5.7.3")
"""Send side: the connector requires TLS and the remote server did not offer STARTTLS.

The 451 code with a 5.x enhanced code is Exchange's own inconsistency, kept for fidelity.
"""

SEND_CONNECTOR_CERTIFICATE_NOT_FOUND = Reply(
    454,
    "The certificate specified in TlsCertificateName of the SendConnector could not be found.",
    "4.7.5",
)
"""Send side: the connector's TlsCertificateName matches no certificate in the local store."""
