"""Event log entries and protocol-log notes that policy decisions ask the engine to write.

Decisions never write logs themselves (they are pure); they return these records and the
engine turns them into Windows-event-style records and protocol-log ``*`` lines. The ids and
symbolic names are Exchange's MSExchangeTransport ones (docs/exchange-reference.md §11).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransportEvent:
    """One MSExchangeTransport event: numeric id and Exchange's symbolic name."""

    event_id: int
    name: str

    def __str__(self) -> str:
        return f"{self.event_id} {self.name}"


@dataclass(frozen=True)
class LogNote:
    """A protocol-log information line (event ``*``): ``data`` and ``context`` fields (§7.2)."""

    data: str
    context: str = ""

    def __str__(self) -> str:
        return f"*,{self.data},{self.context}"


# MessageSecurity category (docs/exchange-reference.md §11).
TLS_DOMAIN_CERTIFICATE_VALIDATION_FAILURE = TransportEvent(
    11011, "TlsDomainCertificateValidationFailure"
)
"""Receive: a domain-secured sender's client certificate failed chain validation."""
MESSAGE_NOT_AUTHENTICATED_TLS_NOT_STARTED = TransportEvent(
    11012, "MessageNotAuthenticatedTlsNotStarted"
)
"""Receive: a listed sender domain without STARTTLS although it was offered."""
MESSAGE_TO_SECURE_DOMAIN_FAILED_DUE_TO_TLS_NEGOTIATION_FAILURE = TransportEvent(
    11013, "MessageToSecureDomainFailedDueToTlsNegotiationFailure"
)
"""Send: the TLS handshake to a listed domain failed."""
MESSAGE_TO_SECURE_DOMAIN_FAILED_BECAUSE_TLS_NOT_OFFERED = TransportEvent(
    11014, "MessageToSecureDomainFailedBecauseTlsNotOffered"
)
"""Send: the remote server of a listed domain did not offer STARTTLS."""
TLS_DOMAIN_CLIENT_CERTIFICATE_SUBJECT_MISMATCH = TransportEvent(
    11015, "TlsDomainClientCertificateSubjectMismatch"
)
"""Receive: the client certificate does not name the MAIL FROM domain."""
TLS_DOMAIN_SERVER_CERTIFICATE_SUBJECT_MISMATCH = TransportEvent(
    11016, "TlsDomainServerCertificateSubjectMismatch"
)
"""Send: the server certificate does not name the next hop (recipient) domain."""
MESSAGE_NOT_AUTHENTICATED_NO_CLIENT_CERTIFICATE = TransportEvent(
    11017, "MessageNotAuthenticatedNoClientCertificate"
)
"""Receive: TLS without a client certificate from a listed sender domain."""
MESSAGE_NOT_AUTHENTICATED_TLS_NOT_ADVERTISED = TransportEvent(
    11018, "MessageNotAuthenticatedTlsNotAdvertised"
)
"""Receive: a listed sender domain on a connector that does not offer STARTTLS."""
MESSAGE_TO_SECURE_DOMAIN_FAILED_BECAUSE_TLS_NEGOTIATION_FAILED = TransportEvent(
    11019, "MessageToSecureDomainFailedBecauseTlsNegotiationFailed"
)
"""Send: TLS negotiation to a listed domain failed."""
TLS_DOMAIN_SERVER_CERTIFICATE_VALIDATION_FAILURE = TransportEvent(
    11020, "TlsDomainServerCertificateValidationFailure"
)
"""Send: the server certificate's chain status is not Valid."""
TLS_DOMAIN_SECURE_DISABLED = TransportEvent(11021, "TlsDomainSecureDisabled")
"""Both sides: the domain is listed but the connector lacks DomainSecureEnabled."""
CRL_TRANSIENT_FAILURE_TREATED_AS_SUCCESS = TransportEvent(
    # Exchange's own misspelling ("Trasient") is kept: it is the symbolic name admins search for.
    11026,
    "CertificateRevocationListCheckTrasientFailureTreatedAsSuccess",
)
"""Both sides: an unreachable CRL was tolerated (decision D5, profile exchange2013)."""

# TransportService category and others (docs/exchange-reference.md §11).
CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE = TransportEvent(
    12014, "CannotLoadSTARTTLSCertificateFromStore"
)
"""No certificate for the connector's TlsCertificateName / FQDN in the local store."""
STARTTLS_CERTIFICATE_EXPIRED = TransportEvent(12016, "STARTTLSCertificateExpired")
"""The only certificate for the connector's FQDN has expired; it is used anyway."""
STARTTLS_CERTIFICATE_EXPIRES_SOON = TransportEvent(12018, "STARTTLSCertificateExpiresSoon")
"""The certificate selected for STARTTLS expires within the warning window."""
SMTP_SEND_TLS_REQUIRED_FAILED = TransportEvent(2015, "SmtpSendTLSRequiredFailed")
"""Send: a RequireTLS connector met a server that did not offer STARTTLS."""


_BY_ID = {
    event.event_id: event
    for event in (
        TLS_DOMAIN_CERTIFICATE_VALIDATION_FAILURE,
        MESSAGE_NOT_AUTHENTICATED_TLS_NOT_STARTED,
        MESSAGE_TO_SECURE_DOMAIN_FAILED_DUE_TO_TLS_NEGOTIATION_FAILURE,
        MESSAGE_TO_SECURE_DOMAIN_FAILED_BECAUSE_TLS_NOT_OFFERED,
        TLS_DOMAIN_CLIENT_CERTIFICATE_SUBJECT_MISMATCH,
        TLS_DOMAIN_SERVER_CERTIFICATE_SUBJECT_MISMATCH,
        MESSAGE_NOT_AUTHENTICATED_NO_CLIENT_CERTIFICATE,
        MESSAGE_NOT_AUTHENTICATED_TLS_NOT_ADVERTISED,
        MESSAGE_TO_SECURE_DOMAIN_FAILED_BECAUSE_TLS_NEGOTIATION_FAILED,
        TLS_DOMAIN_SERVER_CERTIFICATE_VALIDATION_FAILURE,
        TLS_DOMAIN_SECURE_DISABLED,
        CRL_TRANSIENT_FAILURE_TREATED_AS_SUCCESS,
        CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
        STARTTLS_CERTIFICATE_EXPIRED,
        STARTTLS_CERTIFICATE_EXPIRES_SOON,
        SMTP_SEND_TLS_REQUIRED_FAILED,
    )
}


def event_by_id(event_id: int) -> TransportEvent:
    """The event with this numeric id (certificate selection reports ids; KeyError if unknown)."""
    return _BY_ID[event_id]
