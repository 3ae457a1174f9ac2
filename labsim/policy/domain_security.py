"""Domain Security decisions: the sending side (docs/exchange-reference.md §4.1–§4.4) and the
receiving side (§5.3), plus the recipient and size rules applied in the same SMTP session (§10.2,
§10.3).

Rules kept here, each cited in the ``explanation`` of the record it produces:

* Outbound enforcement keys on the *next hop domain* of the queue being in
  TLSSendDomainSecureList with DNS routing (§4.1.3); the server certificate must name that
  domain, never the MX host (§4.3, D4); any chain status but ``Valid`` fails with
  ``454 4.7.5 Certificate validation failure`` and the message stays queued (§4.5).
* The Domain Security branch takes precedence; RequireTLS / TlsAuthLevel / TlsDomain only apply
  when the next hop domain is not listed (§4.2 notes).
* A message sent by the CAS on behalf of a FrontendProxyEnabled connector is not enforced on the
  sending side (D2); the CAS still does opportunistic STARTTLS with its own certificate.
* Inbound, the check runs at every MAIL FROM, for anonymous sessions only, on the envelope
  sender's domain (§5.3). A Partner identity never carries over to the next message.
* An unreachable CRL is tolerated and noted under profile exchange2013 and fails under
  exchange2010; a revoked certificate always fails (D5).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from labsim.model.connectors import ReceiveConnector, SendConnector
from labsim.model.enums import FidelityProfile, Permission, TlsAuthLevel
from labsim.model.organization import Organization
from labsim.model.transport import TransportConfig
from labsim.model.values import ByteSize
from labsim.pki.names import matches_domain
from labsim.pki.validation import CertificateValidationStatus, PeerCertificate
from labsim.policy import events, texts
from labsim.policy.events import LogNote, TransportEvent
from labsim.policy.permissions import SessionIdentity, format_permissions, permissions_for
from labsim.policy.routing import NextHop, recipient_domain
from labsim.smtp.reply import Reply

# The labsim decisions explanations cite, in a form a user can look up.
_D2 = "labsim decision D2 (docs/exchange-reference.md)"
_D4 = "labsim decision D4 (docs/exchange-reference.md)"
_D5 = "labsim decision D5 (docs/exchange-reference.md)"
_D11 = "labsim decision D11 (docs/exchange-reference.md)"

Status = CertificateValidationStatus


# ---------------------------------------------------------------------------------------------
# Shared: the D5 revocation-offline rule
# ---------------------------------------------------------------------------------------------


def effective_status(
    status: CertificateValidationStatus, profile: FidelityProfile
) -> tuple[CertificateValidationStatus, LogNote | None]:
    """The chain status a decision acts on, and the log note when D5 tolerated a CRL failure.

    Profile exchange2013 treats ``RevocationOffline`` (CRYPT_E_REVOCATION_OFFLINE) as ``Valid``
    and says so in the protocol log; exchange2010 fails it. ``Revoked`` always fails.
    """
    if status is Status.REVOCATION_OFFLINE and profile is FidelityProfile.EXCHANGE2013:
        return Status.VALID, LogNote("", texts.crl_tolerated_line(status.value))
    return status, None


def _d5_suffix(status: CertificateValidationStatus, profile: FidelityProfile) -> str:
    if status is Status.REVOCATION_OFFLINE:
        if profile is FidelityProfile.EXCHANGE2013:
            return (
                " (CRL unreachable: tolerated under profile exchange2013 and treated as Valid, "
                f"{_D5})"
            )
        return f" (CRL unreachable: fails under profile exchange2010, {_D5})"
    return ""


# ---------------------------------------------------------------------------------------------
# Outbound
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundPolicy:
    """What the sending side will enforce for one queue (one next hop) on one connector."""

    next_hop_domain: str
    connector_name: str
    domain_secure: bool
    """Mutual TLS is enforced: the next hop domain is in TLSSendDomainSecureList, the queue is
    DNS-routed and the session is not a D2 proxied one."""
    connector_domain_secure_enabled: bool
    require_tls: bool
    tls_auth_level: TlsAuthLevel | None
    tls_domain: str | None
    """The connector's TlsDomain (used only with DomainValidation)."""
    ignore_starttls: bool
    force_helo: bool
    via_frontend_proxy: bool
    explanation: str


def outbound_policy(
    config: TransportConfig,
    connector: SendConnector,
    next_hop: NextHop,
    *,
    via_frontend_proxy: bool,
) -> OutboundPolicy:
    """Decide how the session to ``next_hop`` is secured (§4.1, §4.2, D2).

    ``via_frontend_proxy`` is True when the CAS opens the Internet session on behalf of a
    FrontendProxyEnabled connector (the Mailbox → CAS 717 hop is internal and not judged here).
    """
    domain = next_hop.next_hop_domain
    listed = config.sends_domain_secured_to(domain)
    domain_secure = False
    if listed and via_frontend_proxy:
        why = (
            f"{_D2}: {domain} is in TLSSendDomainSecureList but send connector "
            f"'{connector.name}' has FrontendProxyEnabled; the CAS sends with opportunistic "
            "STARTTLS and its own certificate and the sending side does NOT enforce Domain "
            "Security (Microsoft: unsupported combination, docs/exchange-reference.md §4.6)"
        )
    elif listed and next_hop.is_dns_routed:
        domain_secure = True
        state = "has" if connector.domain_secure_enabled else "LACKS"
        why = (
            f"docs/exchange-reference.md §4.1: next hop domain {domain} is in "
            "TLSSendDomainSecureList and send "
            f"connector '{connector.name}' uses DNS routing: mutual TLS is enforced (connector "
            f"{state} DomainSecureEnabled)"
        )
    else:
        if not next_hop.is_dns_routed:
            why = (
                f"docs/exchange-reference.md §4.1.3: send connector '{connector.name}' routes to "
                "smart hosts "
                f"{domain}; the TLSSendDomainSecureList lookup uses that next hop, so Domain "
                "Security is not enforced"
            )
        else:
            why = f"docs/exchange-reference.md §4.1: {domain} is not in TLSSendDomainSecureList"
        if connector.require_tls:
            level = connector.tls_auth_level.value if connector.tls_auth_level else "EncryptionOnly"
            why += f"; connector RequireTLS with TlsAuthLevel {level}"
        else:
            why += "; opportunistic TLS"
    return OutboundPolicy(
        next_hop_domain=domain,
        connector_name=connector.name,
        domain_secure=domain_secure,
        connector_domain_secure_enabled=connector.domain_secure_enabled,
        require_tls=connector.require_tls,
        tls_auth_level=connector.tls_auth_level,
        tls_domain=connector.tls_domain,
        ignore_starttls=connector.ignore_starttls,
        force_helo=connector.force_helo,
        via_frontend_proxy=via_frontend_proxy,
        explanation=why,
    )


class OutboundAction(Enum):
    """What the sending side does after the remote's EHLO reply."""

    START_TLS = "StartTls"
    CONTINUE_WITHOUT_TLS = "ContinueWithoutTls"
    FAIL = "Fail"


@dataclass(frozen=True)
class OutboundStep:
    """The decision after EHLO (or a session-level failure before it)."""

    action: OutboundAction
    reply: Reply | None
    event: TransportEvent | None
    log_notes: tuple[LogNote, ...]
    explanation: str

    @property
    def failed(self) -> bool:
        """True when the session fails with ``reply`` (failover, then queue Retry)."""
        return self.action is OutboundAction.FAIL


def after_ehlo(
    policy: OutboundPolicy, *, starttls_offered: bool, connector_name: str, domain: str
) -> OutboundStep:
    """STARTTLS or not, or fail, after the remote's EHLO reply (§4.2).

    With ForceHELO the extensions are never seen and with IgnoreSTARTTLS they are not used, so
    both count as "not offered".
    """
    usable = starttls_offered and not policy.force_helo and not policy.ignore_starttls
    if usable:
        if policy.domain_secure:
            why = f"docs/exchange-reference.md §4.2: STARTTLS offered; {domain} is domain-secured, start TLS"
        elif policy.require_tls:
            why = (
                "docs/exchange-reference.md §4.2: STARTTLS offered; connector RequireTLS, start TLS"
            )
        else:
            why = "docs/exchange-reference.md §4.2: STARTTLS offered; opportunistic TLS"
        return OutboundStep(OutboundAction.START_TLS, None, None, (), why)
    if not starttls_offered:
        cause = "the remote server did not offer STARTTLS"
    elif policy.force_helo:
        cause = "the connector has ForceHELO, so STARTTLS cannot be used"
    else:
        cause = "the connector has IgnoreSTARTTLS"
    if policy.domain_secure:
        note = LogNote("", texts.tls_not_offered_line(domain, connector_name))
        if not policy.connector_domain_secure_enabled:
            return OutboundStep(
                OutboundAction.FAIL,
                texts.DOMAIN_SECURE_DISABLED,
                events.TLS_DOMAIN_SECURE_DISABLED,
                (note,),
                f"docs/exchange-reference.md §4.2: {domain} is in TLSSendDomainSecureList but send "
                "connector "
                f"'{connector_name}' lacks DomainSecureEnabled ({cause}); "
                f"{texts.DOMAIN_SECURE_DISABLED}",
            )
        return OutboundStep(
            OutboundAction.FAIL,
            texts.STARTTLS_REQUIRED_TO_SEND,
            events.MESSAGE_TO_SECURE_DOMAIN_FAILED_BECAUSE_TLS_NOT_OFFERED,
            (note,),
            f"docs/exchange-reference.md §4.2: {domain} is in TLSSendDomainSecureList and {cause}; "
            "no downgrade: "
            f"{texts.STARTTLS_REQUIRED_TO_SEND}",
        )
    if policy.require_tls:
        return OutboundStep(
            OutboundAction.FAIL,
            texts.STARTTLS_REQUIRED_TO_SEND,
            events.SMTP_SEND_TLS_REQUIRED_FAILED,
            (),
            f"docs/exchange-reference.md §4.2: send connector '{connector_name}' has RequireTLS "
            "and "
            ""
            f"{cause}; "
            f"{texts.STARTTLS_REQUIRED_TO_SEND}",
        )
    return OutboundStep(
        OutboundAction.CONTINUE_WITHOUT_TLS,
        None,
        None,
        (),
        f"docs/exchange-reference.md §4.2: {cause}; opportunistic TLS, continue without TLS",
    )


def client_certificate_missing(tls_certificate_name: str) -> OutboundStep:
    """The send connector's TlsCertificateName names no certificate in the store (§4.4.1)."""
    return OutboundStep(
        OutboundAction.FAIL,
        texts.SEND_CONNECTOR_CERTIFICATE_NOT_FOUND,
        events.CANNOT_LOAD_STARTTLS_CERTIFICATE_FROM_STORE,
        (),
        f"docs/exchange-reference.md §4.4.1: TlsCertificateName '{tls_certificate_name}' matches "
        "no "
        ""
        "certificate "
        f"in the local computer store (event 12014); {texts.SEND_CONNECTOR_CERTIFICATE_NOT_FOUND}",
    )


@dataclass(frozen=True)
class OutboundCheck:
    """The verdict on the server certificate after the TLS handshake (§4.2, §4.3)."""

    ok: bool
    reply: Reply | None
    status: CertificateValidationStatus | None
    """The status the verdict rests on (SubjectMismatch for a name failure); None when the
    certificate was not checked (opportunistic TLS)."""
    event: TransportEvent | None
    remote_identity: SessionIdentity
    log_notes: tuple[LogNote, ...]
    explanation: str


def _names_text(peer: PeerCertificate) -> str:
    return ";".join(peer.names) if peer.names else "(none)"


def matches_tls_domain(names: tuple[str, ...], tls_domain: str) -> bool:
    """Whether certificate ``names`` satisfy a send connector's TlsDomain (§3.2, §12).

    ``*.contoso.com`` accepts ``contoso.com`` and any name under it (including wildcard names
    such as ``*.mail.contoso.com``); a plain domain uses the Domain Security name rule (D4).
    """
    wanted = tls_domain.strip().rstrip(".").lower()
    if not wanted.startswith("*."):
        return matches_domain(names, wanted)
    base = wanted[2:]
    for raw in names:
        name = raw.strip().rstrip(".").lower()
        name = name[2:] if name.startswith("*.") else name
        if name == base or name.endswith("." + base):
            return True
    return False


def after_handshake(
    policy: OutboundPolicy,
    peer: PeerCertificate,
    *,
    domain: str,
    profile: FidelityProfile,
) -> OutboundCheck:
    """Judge the receiving server's certificate (§4.2, §4.3, D4, D5).

    ``domain`` is the next hop (recipient) domain; the MX host name plays no part.
    """
    if policy.domain_secure:
        return _domain_secure_check(policy, peer, domain, profile)
    level = policy.tls_auth_level
    if policy.require_tls and level in (
        TlsAuthLevel.CERTIFICATE_VALIDATION,
        TlsAuthLevel.DOMAIN_VALIDATION,
    ):
        assert level is not None
        return _forced_tls_check(policy, level, peer, domain, profile)
    return OutboundCheck(
        True,
        None,
        None,
        None,
        SessionIdentity.ANONYMOUS,
        (),
        "docs/exchange-reference.md §4.2: not domain-secured and no TlsAuthLevel requiring "
        "validation; "
        "the server certificate is not checked",
    )


def _domain_secure_check(
    policy: OutboundPolicy, peer: PeerCertificate, domain: str, profile: FidelityProfile
) -> OutboundCheck:
    if not policy.connector_domain_secure_enabled:
        return OutboundCheck(
            False,
            texts.DOMAIN_SECURE_DISABLED,
            None,
            events.TLS_DOMAIN_SECURE_DISABLED,
            SessionIdentity.ANONYMOUS,
            (),
            f"docs/exchange-reference.md §4.2: {domain} is in TLSSendDomainSecureList but send "
            "connector "
            f"'{policy.connector_name}' lacks DomainSecureEnabled; {texts.DOMAIN_SECURE_DISABLED}",
        )
    notes: list[LogNote] = []
    event: TransportEvent | None
    if not peer.chain:
        status = Status.EMPTY_CERTIFICATE
        event = events.TLS_DOMAIN_SERVER_CERTIFICATE_VALIDATION_FAILURE
        why = f"docs/exchange-reference.md §4.3: the server presented no certificate for {domain}"
    elif not matches_domain(peer.names, domain):
        status = Status.SUBJECT_MISMATCH
        event = events.TLS_DOMAIN_SERVER_CERTIFICATE_SUBJECT_MISMATCH
        why = (
            f"docs/exchange-reference.md §4.3: server certificate names {_names_text(peer)} do not "
            "match the "
            f"next hop domain {domain} (the MX host name does not count; {_D4})"
        )
    else:
        status, note = effective_status(peer.status, profile)
        event = None
        if note is not None:
            notes.append(note)
            event = events.CRL_TRANSIENT_FAILURE_TREATED_AS_SUCCESS
        elif status is not Status.VALID:
            event = events.TLS_DOMAIN_SERVER_CERTIFICATE_VALIDATION_FAILURE
        why = (
            f"docs/exchange-reference.md §4.3: server certificate names match {domain}; chain "
            "status "
            f"{peer.status.value}{_d5_suffix(peer.status, profile)}"
        )
    if status is not Status.VALID:
        return OutboundCheck(
            False,
            texts.CERTIFICATE_VALIDATION_FAILURE,
            status,
            event,
            SessionIdentity.ANONYMOUS,
            tuple(notes),
            f"{why}; status {status.value} is not Valid: {texts.CERTIFICATE_VALIDATION_FAILURE} "
            "(session fails over, then the queue goes to Retry)",
        )
    notes.append(LogNote("", texts.SECURE_DOMAIN_CERTIFICATE))
    return OutboundCheck(
        True,
        None,
        status,
        event,
        SessionIdentity.PARTNER,
        tuple(notes),
        f"{why}; mutual TLS established, remote identity Partner",
    )


def _forced_tls_check(
    policy: OutboundPolicy,
    level: TlsAuthLevel,
    peer: PeerCertificate,
    domain: str,
    profile: FidelityProfile,
) -> OutboundCheck:
    notes: list[LogNote] = []
    # Chain first, then the name: the brief's order; the recorded status is the first failure.
    if not peer.chain:
        status = Status.EMPTY_CERTIFICATE
        why = "docs/exchange-reference.md §4.2: the server presented no certificate"
    else:
        status, note = effective_status(peer.status, profile)
        if note is not None:
            notes.append(note)
        why = (
            f"docs/exchange-reference.md §4.2: RequireTLS with TlsAuthLevel {level.value}; chain "
            "status "
            f"{peer.status.value}{_d5_suffix(peer.status, profile)}"
        )
        if status is Status.VALID and level is TlsAuthLevel.DOMAIN_VALIDATION:
            target = policy.tls_domain or domain
            source = "TlsDomain" if policy.tls_domain else "the recipient domain"
            if matches_tls_domain(peer.names, target):
                why += f"; certificate names {_names_text(peer)} match {source} {target}"
            else:
                status = Status.SUBJECT_MISMATCH
                why += f"; certificate names {_names_text(peer)} do not match {source} {target}"
    if status is not Status.VALID:
        notes.append(LogNote("", texts.outbound_tls_auth_failed_line(level.value, status.value)))
        return OutboundCheck(
            False,
            texts.CERTIFICATE_VALIDATION_FAILURE,
            status,
            None,
            SessionIdentity.ANONYMOUS,
            tuple(notes),
            f"{why}: {texts.CERTIFICATE_VALIDATION_FAILURE}",
        )
    return OutboundCheck(
        True,
        None,
        status,
        events.CRL_TRANSIENT_FAILURE_TREATED_AS_SUCCESS if notes else None,
        SessionIdentity.ANONYMOUS,
        tuple(notes),
        f"{why}; server authenticated (forced TLS, not domain-secured)",
    )


# ---------------------------------------------------------------------------------------------
# Inbound: MAIL FROM (§5.3)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboundDecision:
    """The verdict on MAIL FROM: the reply (None = continue) and the session state after it."""

    reply: Reply | None
    identity: SessionIdentity
    permissions: frozenset[Permission]
    event: TransportEvent | None
    status: CertificateValidationStatus | None
    explanation: str
    auth_domain: str | None = None
    """The authenticated sender domain when the identity became Partner (AuthDomain stamp)."""
    log_notes: tuple[LogNote, ...] = ()

    @property
    def accepted(self) -> bool:
        """True when the MAIL command may proceed."""
        return self.reply is None


def check_mail_from(
    *,
    config: TransportConfig,
    connector: ReceiveConnector,
    sender_domain: str,
    tls_active: bool,
    starttls_offered: bool,
    peer: PeerCertificate | None,
    identity: SessionIdentity,
    profile: FidelityProfile,
) -> InboundDecision:
    """The Domain Security check at MAIL FROM, then the submit permission check (§5.3).

    ``sender_domain`` is the envelope sender's domain ("" for the null reverse path);
    ``starttls_offered`` whether this connector advertises STARTTLS; ``peer`` the client
    certificate record (None or empty when none was presented); ``identity`` the session identity
    before this command.
    """
    domain = sender_domain.lower()
    steps: list[str] = []
    if identity is SessionIdentity.PARTNER:
        identity = SessionIdentity.ANONYMOUS
        steps.append("the Partner identity of the previous message is reset to Anonymous")

    def refuse(
        reply: Reply,
        event: TransportEvent | None,
        status: CertificateValidationStatus | None,
        why: str,
    ) -> InboundDecision:
        steps.append(why)
        return InboundDecision(
            reply,
            identity,
            permissions_for(connector, identity),
            event,
            status,
            "docs/exchange-reference.md §5.3: " + "; ".join(steps) + f": {reply}",
        )

    event: TransportEvent | None = None
    status: CertificateValidationStatus | None = None
    notes: list[LogNote] = []
    auth_domain: str | None = None
    listed = bool(domain) and config.receives_domain_secured_from(domain)
    if identity is not SessionIdentity.ANONYMOUS:
        steps.append(f"the session is authenticated as {identity.value}; no domain check")
    elif not listed:
        steps.append(
            f"sender domain {domain or '(null sender)'} is not in TLSReceiveDomainSecureList; "
            "the session stays anonymous"
            + (" whatever client certificate it presented" if peer and peer.chain else "")
        )
    else:
        steps.append(f"sender domain {domain} is in TLSReceiveDomainSecureList")
        if not connector.domain_secure_enabled:
            return refuse(
                texts.DOMAIN_SECURE_DISABLED,
                events.TLS_DOMAIN_SECURE_DISABLED,
                None,
                f"receive connector {connector.identity} lacks DomainSecureEnabled",
            )
        if not tls_active:
            if starttls_offered:
                return refuse(
                    texts.NOT_AUTHENTICATED,
                    events.MESSAGE_NOT_AUTHENTICATED_TLS_NOT_STARTED,
                    None,
                    "STARTTLS was offered but TLS was not started",
                )
            return refuse(
                texts.TEMPORARY_AUTHENTICATION_FAILURE,
                events.MESSAGE_NOT_AUTHENTICATED_TLS_NOT_ADVERTISED,
                None,
                f"receive connector {connector.identity} does not offer STARTTLS",
            )
        if peer is None or not peer.chain:
            return refuse(
                texts.NOT_AUTHENTICATED,
                events.MESSAGE_NOT_AUTHENTICATED_NO_CLIENT_CERTIFICATE,
                Status.EMPTY_CERTIFICATE,
                "no client certificate was presented (EmptyCertificate)",
            )
        if not matches_domain(peer.names, domain):
            return refuse(
                texts.CERTIFICATE_VALIDATION_FAILURE,
                events.TLS_DOMAIN_CLIENT_CERTIFICATE_SUBJECT_MISMATCH,
                Status.SUBJECT_MISMATCH,
                f"client certificate names {_names_text(peer)} do not match {domain} "
                f"(SubjectMismatch, {_D4})",
            )
        status, note = effective_status(peer.status, profile)
        if status is not Status.VALID:
            return refuse(
                texts.CERTIFICATE_VALIDATION_FAILURE,
                events.TLS_DOMAIN_CERTIFICATE_VALIDATION_FAILURE,
                status,
                f"client certificate chain status {peer.status.value}"
                f"{_d5_suffix(peer.status, profile)}",
            )
        if note is not None:
            notes.append(note)
            event = events.CRL_TRANSIENT_FAILURE_TREATED_AS_SUCCESS
        identity = SessionIdentity.PARTNER
        auth_domain = domain
        steps.append(
            f"client certificate {peer.subject or _names_text(peer)} matches {domain} and its "
            f"chain status is {peer.status.value}{_d5_suffix(peer.status, profile)}; session "
            "identity Partner (MS Exchange\\Partner Servers)"
        )
    permissions = permissions_for(connector, identity)
    if identity is SessionIdentity.PARTNER:
        notes.append(LogNote(format_permissions(permissions), texts.SET_SESSION_PERMISSIONS))
    if Permission.SMTP_SUBMIT not in permissions:
        reply = (
            texts.CLIENT_NOT_AUTHENTICATED
            if identity is SessionIdentity.ANONYMOUS
            else texts.CLIENT_NO_SUBMIT_PERMISSION
        )
        groups = ", ".join(sorted(g.value for g in connector.permission_groups)) or "None"
        extra = ""
        if identity is SessionIdentity.PARTNER:
            extra = f" (no union with anonymous rights, {_D11})"
        steps.append(
            f"identity {identity.value} lacks SMTPSubmit on {connector.identity} "
            f"(PermissionGroups {groups}){extra}"
        )
        return InboundDecision(
            reply,
            identity,
            permissions,
            event,
            status,
            "docs/exchange-reference.md §5.3: " + "; ".join(steps) + f": {reply}",
            auth_domain,
            tuple(notes),
        )
    return InboundDecision(
        None,
        identity,
        permissions,
        event,
        status,
        "docs/exchange-reference.md §5.3: "
        + "; ".join(steps)
        + f"; permissions: {format_permissions(permissions)}",
        auth_domain,
        tuple(notes),
    )


# ---------------------------------------------------------------------------------------------
# Inbound: RCPT TO and size (§10.2, §10.3)
# ---------------------------------------------------------------------------------------------


def check_recipient(
    org: Organization,
    *,
    recipient: str,
    permissions: frozenset[Permission],
    resolve_recipients: bool = True,
) -> Reply | None:
    """RCPT TO: accepted domain or SMTPAcceptAnyRecipient, else the relay denial (D6).

    ``resolve_recipients`` is whether this server looks recipients up (a Mailbox server's
    Transport service does); then an accepted-domain address without a mailbox gets
    ``550 5.1.1 RESOLVER.ADR.RecipNotFound``. None means the recipient is accepted.
    """
    domain = recipient_domain(recipient)
    if org.is_accepted_domain(domain):
        # Only an authoritative domain's recipients are looked up; a relay domain's are
        # accepted and routed onwards (hosted filtering, §12).
        if (
            resolve_recipients
            and org.is_authoritative_domain(domain)
            and org.mailbox(recipient.strip().strip("<>")) is None
        ):
            return texts.RECIPIENT_NOT_FOUND
        return None
    if Permission.SMTP_ACCEPT_ANY_RECIPIENT in permissions:
        return None
    return texts.RELAY_DENIED


def check_size(size: int, *limits: ByteSize, bypass: bool = False) -> Reply | None:
    """``552 5.3.4`` when ``size`` exceeds any of ``limits`` (§10.3), else None.

    Use it twice: with the SIZE= value at MAIL FROM (pre-check) and with the received byte count
    after DATA. Pass the receive connector's MaxMessageSize and the org's MaxReceiveSize;
    ``bypass`` is True for sessions holding BypassMessageSizeLimit.
    """
    if bypass:
        return None
    for limit in limits:
        if not limit.allows(size):
            return texts.MESSAGE_TOO_BIG
    return None


def size_explanation(size: int, *limits: ByteSize) -> str:
    """Why :func:`check_size` decided as it did, naming the smallest limit (§10.3)."""
    finite = [limit for limit in limits if limit.value is not None]
    if not finite:
        return f"docs/exchange-reference.md §10.3: {size} bytes; no size limit applies"
    smallest = min(finite, key=lambda limit: limit.value or 0)
    verdict = "exceeds" if not smallest.allows(size) else "is within"
    return f"docs/exchange-reference.md §10.3: {size} bytes {verdict} the smallest limit {smallest}"
