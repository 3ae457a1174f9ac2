"""How each kind of object looks in EMS: its properties in Exchange's order and its default view.

Owns :class:`View` and the registry :func:`view_for`. A view lists the properties Format-List
shows (Exchange's names, in the order labsim prints them), the columns of the default table,
and whether the object's default is a table (connectors, queues, certificates) or a list
(Get-TransportConfig). The views of the configurable objects come from their property tables
(:mod:`labsim.ems.tables`), which also declare their Set-/New- parameters. Properties labsim does
not model show Exchange's default value, so that a ``| FL`` looks complete. The functions that render a group of objects (default view, Format-List,
Format-Table with property patterns and wildcards) are here too.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from labsim.ems.format import display, format_datetime_long, format_list, format_table
from labsim.ems.outputs import (
    CommandInfo,
    ExchangeServerOutput,
    FileItem,
    FrontendTransportServiceOutput,
    GroupInfo,
    LabCrl,
    LabServer,
    MailboxOutput,
    MatchInfo,
    PersonalCertificate,
    ReceiveConnectorOutput,
    RevokedCertificate,
    RootCertificate,
    SelectedObject,
    SendConnectorOutput,
    ServerCertificate,
    TransportConfigOutput,
    TransportServiceOutput,
    WindowsService,
)
from labsim.ems.tables import RECEIVE_CONNECTOR, SEND_CONNECTOR, TRANSPORT_CONFIG
from labsim.logs.event_log import EventLogEntry
from labsim.logs.tracking import TrackingRecord
from labsim.model.lab import PUBLIC_CA_NAME
from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import AcceptedDomain
from labsim.model.transport import FRONTEND_TRANSPORT_PROPERTIES, TRANSPORT_SERVICE_LOG_PROPERTIES
from labsim.model.values import ByteSize
from labsim.policy.headers import EXCHANGE_BUILD

Getter = Callable[[Any], object]


@dataclass(frozen=True)
class View:
    """Properties (Format-List order), default table columns, default kind, optional header.

    ``list_view`` names the properties a bare Format-List shows when Exchange's formatting file
    defines a list view for the type (Get-ExchangeCertificate); ``FL *`` and explicit names reach
    every property. Without it a bare Format-List shows them all, as for Exchange's configuration
    objects."""

    properties: tuple[tuple[str, Getter], ...]
    table: tuple[str, ...]
    default: str = "table"
    right_aligned: frozenset[str] = frozenset()
    header: str | None = None
    list_view: tuple[str, ...] | None = None
    shown: tuple[tuple[str, Callable[[Any], str]], ...] = ()
    """Properties whose text is not their value's (GroupInfo's Group: the objects as their
    ToString() prints them); the getter still gives the value to pipe on."""
    header_of: Callable[[Any], str] | None = None
    """A header that depends on the objects (Get-ChildItem's ``Directory:``), from the first."""
    text_of: Callable[[Any], str] | None = None
    """Objects PowerShell prints as their ToString() at the end of a pipeline (MatchInfo)."""

    fixed_table: Callable[[Sequence[Any]], str] | None = None
    """The default table of a type whose formatting file fixes column widths and cuts values
    (Get-EventLog); None for the usual table sized to its cells."""

    def names(self) -> tuple[str, ...]:
        """Property names in order."""
        return tuple(name for name, _ in self.properties)

    def value(self, obj: object, name: str) -> str:
        """The display text of property ``name`` of ``obj``."""
        for prop, text in self.shown:
            if prop == name:
                return text(obj)
        for prop, getter in self.properties:
            if prop == name:
                return display(getter(obj))
        return ""

    def select(self, patterns: Sequence[str] | None, *, table: bool) -> tuple[str, ...]:
        """Property names matching ``patterns`` (wildcards, any case), pattern order first.

        Without patterns: all properties for a list, the default columns for a table. A name
        that matches nothing is left out, as PowerShell does.
        """
        if not patterns:
            if table:
                return self.table
            return self.list_view if self.list_view is not None else self.names()
        chosen: list[str] = []
        for pattern in patterns:
            for name in self.names():
                if fnmatch.fnmatchcase(name.lower(), pattern.lower()) and name not in chosen:
                    chosen.append(name)
        return tuple(chosen)


def _services_flags(services: frozenset[str]) -> str:
    # Exchange 2013 prints Services in the table as one character per AllowedServices flag, in
    # the enum's bit order (IMAP, POP, UM, IIS, SMTP, Federation, UMCallRouter), a dot when the
    # service is not enabled: seven characters, e.g. "IP.WS.." (docs/exchange-reference.md C10).
    letters = (
        ("IMAP", "I"),
        ("POP", "P"),
        ("UM", "U"),
        ("IIS", "W"),
        ("SMTP", "S"),
        ("Federation", "F"),
        ("UMCallRouter", "C"),
    )
    return "".join(letter if name in services else "." for name, letter in letters)


# The configurable objects: their Format-List view comes from their property table, which also
# declares their Set-/New- parameters (labsim.ems.tables).
_SEND_CONNECTOR = View(SEND_CONNECTOR.pairs(), table=("Identity", "AddressSpaces", "Enabled"))

_RECEIVE_CONNECTOR = View(RECEIVE_CONNECTOR.pairs(), table=("Identity", "Bindings", "Enabled"))

_TRANSPORT_CONFIG = View(TRANSPORT_CONFIG.pairs(), table=("Name",), default="list")


def _key_size(c: ServerCertificate) -> int:
    return int(getattr(c.certificate.certificate.public_key(), "key_size", 0))


def root_ca_type(c: ServerCertificate) -> str:
    """RootCAType: None for a self-signed certificate, ThirdParty under the lab's public CA,
    Registry under an organization's own CA (its root is in the servers' machine store)."""
    if c.certificate.is_self_signed:
        return "None"
    if PUBLIC_CA_NAME in c.certificate.issuer:
        return "ThirdParty"
    return "Registry"


# Exchange's formatting file gives ExchangeCertificate a list view of 14 properties
# (docs/exchange-reference.md §17 C10, §17.1); FriendlyName and Identity are reached by name or *.
_EXCHANGE_CERTIFICATE = View(
    properties=(
        (
            "AccessRules",
            lambda c: (
                (
                    "System.Security.AccessControl.CryptoKeyAccessRule",
                    "System.Security.AccessControl.CryptoKeyAccessRule",
                )
                if c.certificate.has_private_key
                else ()
            ),
        ),
        ("CertificateDomains", lambda c: c.certificate.certificate_domains),
        ("HasPrivateKey", lambda c: c.certificate.has_private_key),
        ("IsSelfSigned", lambda c: c.certificate.is_self_signed),
        ("Issuer", lambda c: c.certificate.issuer),
        ("NotAfter", lambda c: c.certificate.not_after),
        ("NotBefore", lambda c: c.certificate.not_before),
        ("PublicKeySize", _key_size),
        ("RootCAType", root_ca_type),
        ("SerialNumber", lambda c: c.certificate.serial_number),
        ("Services", lambda c: c.certificate.services_display),
        ("Status", lambda c: c.status),
        ("Subject", lambda c: c.certificate.subject),
        ("Thumbprint", lambda c: c.certificate.thumbprint),
        ("PrivateKeyExportable", lambda c: c.certificate.private_key_exportable),
        ("FriendlyName", lambda c: c.certificate.friendly_name),
        ("Identity", lambda c: c.identity),
    ),
    table=("Thumbprint", "Services", "Subject"),
    list_view=(
        "AccessRules",
        "CertificateDomains",
        "HasPrivateKey",
        "IsSelfSigned",
        "Issuer",
        "NotAfter",
        "NotBefore",
        "PublicKeySize",
        "RootCAType",
        "SerialNumber",
        "Services",
        "Status",
        "Subject",
        "Thumbprint",
    ),
)

# The table column shows the letter flags, the list shows the names.
_CERTIFICATE_TABLE = View(
    properties=(
        ("Thumbprint", lambda c: c.certificate.thumbprint),
        ("Services", lambda c: _services_flags(c.certificate.services)),
        ("Subject", lambda c: c.certificate.subject),
    ),
    table=("Thumbprint", "Services", "Subject"),
)

_ROOT_CERTIFICATE = View(
    properties=(
        ("Subject", lambda r: r.subject),
        ("Issuer", lambda r: r.issuer),
        ("Thumbprint", lambda r: r.thumbprint),
        ("FriendlyName", lambda r: None),
        ("NotBefore", lambda r: r.not_before),
        ("NotAfter", lambda r: r.not_after),
        ("SerialNumber", lambda r: r.serial_number),
    ),
    table=("Thumbprint", "Subject"),
    header="   PSParentPath: Microsoft.PowerShell.Security\\Certificate::LocalMachine\\Root",
)

# Get-ChildItem Cert:\LocalMachine\My: the same rows, under the My store's parent path.
_PERSONAL_CERTIFICATE = dataclasses.replace(
    _ROOT_CERTIFICATE,
    header="   PSParentPath: Microsoft.PowerShell.Security\\Certificate::LocalMachine\\My",
)

_QUEUE = View(
    # Exchange 2013's Get-Queue | Format-List, in the class's order (docs/exchange-reference.md §9,
    # §17 C7); RunspaceId, which belongs to the remote session rather than the queue, is left out.
    properties=(
        ("DeliveryType", lambda q: q.delivery_type),
        ("NextHopDomain", lambda q: q.next_hop_domain),
        ("TlsDomain", lambda q: q.tls_domain),
        ("NextHopConnector", lambda q: q.next_hop_connector),
        ("Status", lambda q: q.status),
        ("MessageCount", lambda q: q.message_count),
        ("LastError", lambda q: q.last_error),
        ("RetryCount", lambda q: q.retry_count),
        ("LastRetryTime", lambda q: q.last_retry_time),
        ("NextRetryTime", lambda q: q.next_retry_time),
        ("FirstRetryTime", lambda q: q.first_retry_time),
        ("DeferredMessageCount", lambda q: q.deferred_message_count),
        ("LockedMessageCount", lambda q: 0),
        ("MessageCountsPerPriority", lambda q: (0, q.message_count, 0, 0)),
        ("DeferredMessageCountsPerPriority", lambda q: (0, q.deferred_message_count, 0, 0)),
        ("RiskLevel", lambda q: "Normal"),
        ("OutboundIPPool", lambda q: 0),
        ("NextHopCategory", lambda q: q.next_hop_category),
        ("IncomingRate", lambda q: 0),
        ("OutgoingRate", lambda q: 0),
        ("Velocity", lambda q: 0),
        ("QueueIdentity", lambda q: q.identity),
        ("PriorityDescriptions", lambda q: ("High", "Normal", "Low", "None")),
        ("Identity", lambda q: q.identity),
        ("IsValid", lambda q: True),
        ("ObjectState", lambda q: "New"),
    ),
    table=(
        "Identity",
        "DeliveryType",
        "Status",
        "MessageCount",
        "Velocity",
        "RiskLevel",
        "OutboundIPPool",
        "NextHopDomain",
    ),
    right_aligned=frozenset({"MessageCount", "Velocity", "OutboundIPPool", "RetryCount"}),
)

NO_ORGANIZATION_ID = "00000000-0000-0000-0000-000000000000"
"""ExternalDirectoryOrganizationId of an on-premises message (no tenant)."""

# Exchange 2013's Get-Message | Format-List (docs/exchange-reference.md §17.1). What labsim does not
# track per message (the receiving connector and address, latencies, directionality) is shown
# empty; Exchange's constants for an on-premises message are shown as they are.
_MESSAGE = View(
    properties=(
        ("Subject", lambda m: m.subject),
        ("InternetMessageId", lambda m: m.message_id),
        ("FromAddress", lambda m: m.from_address),
        ("Status", lambda m: m.status),
        ("Size", lambda m: ByteSize(m.size)),
        ("MessageSourceName", lambda m: None),
        ("SourceIP", lambda m: None),
        ("SCL", lambda m: -1),
        ("DateReceived", lambda m: m.date_received),
        ("ExpirationTime", lambda m: m.expiration_time),
        ("LastError", lambda m: m.last_error),
        ("RetryCount", lambda m: m.retry_count),
        ("Recipients", lambda m: m.recipients),
        ("ComponentLatency", lambda m: ()),
        ("MessageLatency", lambda m: None),
        ("DeferReason", lambda m: None),
        ("LockReason", lambda m: None),
        ("IsProbeMessage", lambda m: False),
        ("Priority", lambda m: "Normal"),
        ("ExternalDirectoryOrganizationId", lambda m: NO_ORGANIZATION_ID),
        ("Directionality", lambda m: None),
        ("OriginalFromAddress", lambda m: m.from_address),
        ("AccountForest", lambda m: None),
        ("Queue", lambda m: m.queue),
        ("Identity", lambda m: m.identity),
        ("IsValid", lambda m: True),
        ("ObjectState", lambda m: "New"),
    ),
    table=("Identity", "FromAddress", "Status", "Queue", "Subject"),
    right_aligned=frozenset({"RetryCount"}),
)

_ACCEPTED_DOMAIN = View(
    properties=(
        ("DomainName", lambda d: d.domain_name),
        ("DomainType", lambda d: d.domain_type.value),
        ("Default", lambda d: d.default),
        ("Name", lambda d: d.domain_name),
        ("Identity", lambda d: d.domain_name),
    ),
    table=("Name", "DomainName", "DomainType", "Default"),
)


def mailbox_database(m: MailboxOutput) -> str:
    """Setup's mailbox database name: ``Mailbox Database`` and ten digits (stable per lab)."""
    digits = uuid.uuid5(uuid.NAMESPACE_DNS, f"database.{m.server}.{m.domain}").int % 10**10
    return f"Mailbox Database {digits:010d}"


def _legacy_dn(m: MailboxOutput) -> str:
    return (
        f"/o={m.organization}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
        f"/cn=Recipients/cn={m.mailbox.alias}"
    )


def _server_legacy_dn(m: MailboxOutput) -> str:
    return (
        f"/o={m.organization}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
        f"/cn=Configuration/cn=Servers/cn={m.server}"
    )


def _user_dn(m: MailboxOutput) -> str:
    dc = ",".join(f"DC={label}" for label in m.domain.split("."))
    return f"CN={m.mailbox.display_name},CN=Users,{dc}"


_UNLIMITED = "Unlimited"
_ZERO_GUID = "00000000-0000-0000-0000-000000000000"

# Exchange 2013 CU23's Get-Mailbox | Format-List for a user mailbox on the organization's Mailbox
# server (docs/exchange-reference.md §17.1): a mailbox is an address and a name in labsim, so every
# other property shows the value Setup and New-Mailbox give a new user mailbox.
_MAILBOX = View(
    properties=(
        ("Database", mailbox_database),
        ("MessageCopyForSentAsEnabled", lambda m: False),
        ("MessageCopyForSendOnBehalfEnabled", lambda m: False),
        ("UseDatabaseRetentionDefaults", lambda m: True),
        ("RetainDeletedItemsUntilBackup", lambda m: False),
        ("DeliverToMailboxAndForward", lambda m: False),
        ("IsExcludedFromServingHierarchy", lambda m: False),
        ("IsHierarchyReady", lambda m: True),
        ("LitigationHoldEnabled", lambda m: False),
        ("SingleItemRecoveryEnabled", lambda m: False),
        ("RetentionHoldEnabled", lambda m: False),
        ("EndDateForRetentionHold", lambda m: None),
        ("StartDateForRetentionHold", lambda m: None),
        ("RetentionComment", lambda m: None),
        ("RetentionUrl", lambda m: None),
        ("LitigationHoldDate", lambda m: None),
        ("LitigationHoldOwner", lambda m: None),
        ("LitigationHoldDuration", lambda m: _UNLIMITED),
        ("ManagedFolderMailboxPolicy", lambda m: None),
        ("RetentionPolicy", lambda m: None),
        ("AddressBookPolicy", lambda m: None),
        ("CalendarRepairDisabled", lambda m: False),
        ("ExchangeGuid", lambda m: m.exchange_guid),
        ("MailboxContainerGuid", lambda m: None),
        ("UnifiedMailbox", lambda m: None),
        ("AggregatedMailboxGuids", lambda m: ()),
        (
            "ExchangeSecurityDescriptor",
            lambda m: "System.Security.AccessControl.RawSecurityDescriptor",
        ),
        ("ExchangeUserAccountControl", lambda m: "None"),
        ("AdminDisplayVersion", lambda m: _admin_display_version()),
        ("MessageTrackingReadStatusEnabled", lambda m: True),
        ("ExternalOofOptions", lambda m: "External"),
        ("ForwardingAddress", lambda m: None),
        ("ForwardingSmtpAddress", lambda m: None),
        ("RetainDeletedItemsFor", lambda m: timedelta(days=14)),
        ("IsMailboxEnabled", lambda m: True),
        ("Languages", lambda m: ()),
        ("OfflineAddressBook", lambda m: None),
        ("ProhibitSendQuota", lambda m: _UNLIMITED),
        ("ProhibitSendReceiveQuota", lambda m: _UNLIMITED),
        ("RecoverableItemsQuota", lambda m: _UNLIMITED),
        ("RecoverableItemsWarningQuota", lambda m: _UNLIMITED),
        ("CalendarLoggingQuota", lambda m: _UNLIMITED),
        ("DowngradeHighPriorityMessagesEnabled", lambda m: False),
        ("ProtocolSettings", lambda m: ()),
        ("RecipientLimits", lambda m: _UNLIMITED),
        ("ImListMigrationCompleted", lambda m: False),
        ("IsResource", lambda m: False),
        ("IsLinked", lambda m: False),
        ("IsShared", lambda m: False),
        ("IsRootPublicFolderMailbox", lambda m: False),
        ("LinkedMasterAccount", lambda m: None),
        ("ResetPasswordOnNextLogon", lambda m: False),
        ("ResourceCapacity", lambda m: None),
        ("ResourceCustom", lambda m: ()),
        ("ResourceType", lambda m: None),
        ("RoomMailboxAccountEnabled", lambda m: None),
        ("SamAccountName", lambda m: m.mailbox.alias),
        ("SCLDeleteThreshold", lambda m: None),
        ("SCLDeleteEnabled", lambda m: None),
        ("SCLRejectThreshold", lambda m: None),
        ("SCLRejectEnabled", lambda m: None),
        ("SCLQuarantineThreshold", lambda m: None),
        ("SCLQuarantineEnabled", lambda m: None),
        ("SCLJunkThreshold", lambda m: None),
        ("SCLJunkEnabled", lambda m: None),
        ("AntispamBypassEnabled", lambda m: False),
        ("ServerLegacyDN", _server_legacy_dn),
        ("ServerName", lambda m: m.server.lower()),
        ("UseDatabaseQuotaDefaults", lambda m: True),
        ("IssueWarningQuota", lambda m: _UNLIMITED),
        ("RulesQuota", lambda m: ByteSize(64 * 1024)),
        ("Office", lambda m: None),
        ("UserPrincipalName", lambda m: f"{m.mailbox.alias}@{m.domain}"),
        ("UMEnabled", lambda m: False),
        ("MaxSafeSenders", lambda m: None),
        ("MaxBlockedSenders", lambda m: None),
        ("NetID", lambda m: None),
        ("ReconciliationId", lambda m: None),
        ("WindowsLiveID", lambda m: None),
        ("MicrosoftOnlineServicesID", lambda m: None),
        ("ThrottlingPolicy", lambda m: None),
        ("RoleAssignmentPolicy", lambda m: "Default Role Assignment Policy"),
        ("DefaultPublicFolderMailbox", lambda m: None),
        ("SharingPolicy", lambda m: "Default Sharing Policy"),
        ("RemoteAccountPolicy", lambda m: None),
        ("MailboxPlan", lambda m: None),
        ("ArchiveDatabase", lambda m: None),
        ("ArchiveGuid", lambda m: _ZERO_GUID),
        ("ArchiveName", lambda m: ()),
        ("JournalArchiveAddress", lambda m: None),
        ("ArchiveQuota", lambda m: ByteSize(100 * 1024**3)),
        ("ArchiveWarningQuota", lambda m: ByteSize(90 * 1024**3)),
        ("ArchiveDomain", lambda m: None),
        ("ArchiveStatus", lambda m: "None"),
        ("ArchiveState", lambda m: "None"),
        ("RemoteRecipientType", lambda m: "None"),
        ("DisabledArchiveDatabase", lambda m: None),
        ("DisabledArchiveGuid", lambda m: _ZERO_GUID),
        ("QueryBaseDN", lambda m: None),
        ("QueryBaseDNRestrictionEnabled", lambda m: False),
        ("MailboxMoveTargetMDB", lambda m: None),
        ("MailboxMoveSourceMDB", lambda m: None),
        ("MailboxMoveFlags", lambda m: "None"),
        ("MailboxMoveRemoteHostName", lambda m: None),
        ("MailboxMoveBatchName", lambda m: None),
        ("MailboxMoveStatus", lambda m: "None"),
        ("MailboxRelease", lambda m: None),
        ("ArchiveRelease", lambda m: None),
        ("IsPersonToPersonTextMessagingEnabled", lambda m: False),
        ("IsMachineToPersonTextMessagingEnabled", lambda m: False),
        ("UserSMimeCertificate", lambda m: ()),
        ("UserCertificate", lambda m: ()),
        ("CalendarVersionStoreDisabled", lambda m: False),
        ("ImmutableId", lambda m: None),
        ("PersistedCapabilities", lambda m: ()),
        ("SKUAssigned", lambda m: None),
        ("AuditEnabled", lambda m: False),
        ("AuditLogAgeLimit", lambda m: timedelta(days=90)),
        (
            "AuditAdmin",
            lambda m: (
                "Update",
                "Move",
                "MoveToDeletedItems",
                "SoftDelete",
                "HardDelete",
                "FolderBind",
                "SendAs",
                "SendOnBehalf",
                "Create",
            ),
        ),
        ("AuditDelegate", lambda m: ("Update", "SoftDelete", "HardDelete", "SendAs", "Create")),
        ("AuditOwner", lambda m: ()),
        ("WhenMailboxCreated", lambda m: None),
        ("SourceAnchor", lambda m: None),
        ("UsageLocation", lambda m: None),
        ("IsSoftDeletedByRemove", lambda m: False),
        ("IsSoftDeletedByDisable", lambda m: False),
        ("IsInactiveMailbox", lambda m: False),
        ("IncludeInGarbageCollection", lambda m: False),
        ("WhenSoftDeleted", lambda m: None),
        ("InPlaceHolds", lambda m: ()),
        ("AccountDisabled", lambda m: False),
        ("StsRefreshTokensValidFrom", lambda m: None),
        ("Extensions", lambda m: ()),
        ("HasPicture", lambda m: False),
        ("HasSpokenName", lambda m: False),
        ("IsDirSynced", lambda m: False),
        ("AcceptMessagesOnlyFrom", lambda m: ()),
        ("AcceptMessagesOnlyFromDLMembers", lambda m: ()),
        ("AcceptMessagesOnlyFromSendersOrMembers", lambda m: ()),
        (
            "AddressListMembership",
            lambda m: (
                "\\Mailboxes(VLV)",
                "\\All Mailboxes(VLV)",
                "\\All Recipients(VLV)",
                "\\Default Global Address List",
                "\\All Users",
            ),
        ),
        ("AdministrativeUnits", lambda m: ()),
        ("Alias", lambda m: m.mailbox.alias),
        ("ArbitrationMailbox", lambda m: None),
        ("BypassModerationFromSendersOrMembers", lambda m: ()),
        ("OrganizationalUnit", lambda m: f"{m.domain}/Users"),
        *((f"CustomAttribute{i}", lambda m: None) for i in range(1, 16)),
        *((f"ExtensionCustomAttribute{i}", lambda m: ()) for i in range(1, 6)),
        ("DisplayName", lambda m: m.mailbox.display_name),
        ("EmailAddresses", lambda m: (f"SMTP:{m.mailbox.primary_smtp_address}",)),
        ("GrantSendOnBehalfTo", lambda m: ()),
        ("ExternalDirectoryObjectId", lambda m: None),
        ("HiddenFromAddressListsEnabled", lambda m: False),
        ("LastExchangeChangedTime", lambda m: None),
        ("LegacyExchangeDN", _legacy_dn),
        ("MaxSendSize", lambda m: _UNLIMITED),
        ("MaxReceiveSize", lambda m: _UNLIMITED),
        ("ModeratedBy", lambda m: ()),
        ("ModerationEnabled", lambda m: False),
        ("PoliciesIncluded", lambda m: ()),
        ("PoliciesExcluded", lambda m: ()),
        ("EmailAddressPolicyEnabled", lambda m: True),
        ("PrimarySmtpAddress", lambda m: m.mailbox.primary_smtp_address),
        ("RecipientType", lambda m: "UserMailbox"),
        ("RecipientTypeDetails", lambda m: "UserMailbox"),
        ("RejectMessagesFrom", lambda m: ()),
        ("RejectMessagesFromDLMembers", lambda m: ()),
        ("RejectMessagesFromSendersOrMembers", lambda m: ()),
        ("RequireSenderAuthenticationEnabled", lambda m: False),
        ("SimpleDisplayName", lambda m: None),
        ("SendModerationNotifications", lambda m: "Always"),
        ("UMDtmfMap", lambda m: ()),
        ("WindowsEmailAddress", lambda m: m.mailbox.primary_smtp_address),
        ("MailTip", lambda m: None),
        ("MailTipTranslations", lambda m: ()),
        ("Identity", lambda m: m.identity),
        ("IsValid", lambda m: True),
        ("ExchangeVersion", lambda m: "0.20 (15.0.0.0)"),
        ("Name", lambda m: m.mailbox.display_name),
        ("DistinguishedName", _user_dn),
        ("Guid", lambda m: m.guid),
        ("ObjectCategory", lambda m: f"{m.domain}/Configuration/Schema/Person"),
        ("ObjectClass", lambda m: ("top", "person", "organizationalPerson", "user")),
        ("WhenChanged", lambda m: None),
        ("WhenCreated", lambda m: None),
        ("WhenChangedUTC", lambda m: None),
        ("WhenCreatedUTC", lambda m: None),
        ("OrganizationId", lambda m: None),
        ("Id", lambda m: m.identity),
        ("OriginatingServer", lambda m: f"DC1.{m.domain}"),
        ("ObjectState", lambda m: "Unchanged"),
    ),
    table=("Name", "Alias", "ServerName", "ProhibitSendQuota"),
)

_TRANSPORT_SERVICE = View(
    properties=(
        ("Name", lambda t: t.server.name),
        (
            "DelayNotificationTimeout",
            lambda t: t.server.transport_service.delay_notification_timeout,
        ),
        ("MaxConnectionRatePerMinute", lambda t: 1200),
        ("MaxOutboundConnections", lambda t: 1000),
        ("MaxPerDomainOutboundConnections", lambda t: 20),
        (
            "MessageExpirationTimeout",
            lambda t: t.server.transport_service.message_expiration_timeout,
        ),
        ("MessageRetryInterval", lambda t: t.server.transport_service.message_retry_interval),
        (
            "OutboundConnectionFailureRetryInterval",
            lambda t: t.server.transport_service.outbound_connection_failure_retry_interval,
        ),
        ("QueueMaxIdleTime", lambda t: t.server.transport_service.queue_max_idle_time),
        (
            "TransientFailureRetryCount",
            lambda t: t.server.transport_service.transient_failure_retry_count,
        ),
        (
            "TransientFailureRetryInterval",
            lambda t: t.server.transport_service.transient_failure_retry_interval,
        ),
        *(
            (name, (lambda t, a=attribute: getattr(t.server.transport_service, a)))
            for name, attribute in TRANSPORT_SERVICE_LOG_PROPERTIES
        ),
        ("Identity", lambda t: t.identity),
    ),
    table=("Name", "MessageRetryInterval", "MessageExpirationTimeout"),
    default="list",
)

# Get-FrontendTransportService: Exchange 2013's property names (Set-FrontendTransportService's
# parameters), from the record's one property table. Only IntraOrgConnectorProtocolLoggingLevel
# is acted on; the rest are stored and shown as set (docs/fidelity.md).
_FRONTEND_TRANSPORT_SERVICE = View(
    properties=(
        ("Name", lambda f: f.server.name),
        *(
            (name, (lambda f, a=attribute: getattr(f.server.frontend_transport, a)))
            for name, attribute in FRONTEND_TRANSPORT_PROPERTIES
        ),
        ("Identity", lambda f: f.identity),
    ),
    table=("Name", "IntraOrgConnectorProtocolLoggingLevel"),
    default="list",
)

# Lab actions: labsim's own objects, shown the way EMS shows Exchange's.
_LAB_SERVER = View(
    properties=(
        ("Name", lambda s: s.name),
        ("Organization", lambda s: s.organization),
        ("Role", lambda s: s.role),
        ("Fqdn", lambda s: s.fqdn),
        ("Address", lambda s: s.address),
        ("Running", lambda s: s.running),
        ("Ports", lambda s: s.ports),
    ),
    table=("Name", "Organization", "Role", "Fqdn", "Address", "Running", "Ports"),
)

_LAB_CRL = View(
    properties=(
        ("Organization", lambda c: c.organization),
        ("CertificationAuthority", lambda c: c.certification_authority),
        ("Reachable", lambda c: c.reachable),
    ),
    table=("Organization", "CertificationAuthority", "Reachable"),
)

_REVOKED_CERTIFICATE = View(
    properties=(
        ("Server", lambda r: r.server),
        ("Thumbprint", lambda r: r.thumbprint),
        ("Subject", lambda r: r.subject),
        ("SerialNumber", lambda r: r.serial_number),
        ("CertificationAuthority", lambda r: r.certification_authority),
        ("RevocationDate", lambda r: r.revocation_date),
    ),
    table=("Thumbprint", "Subject", "CertificationAuthority"),
)


def _event_data(custom_data: str) -> tuple[str, ...]:
    # custom-data holds "S:Key=Value;…" pairs; EMS shows them as {[Key, Value], …}.
    pairs = []
    for item in filter(None, custom_data.split(";")):
        key, _, value = item.partition("=")
        pairs.append(f"[{key.split(':', 1)[-1]}, {value}]")
    return tuple(pairs)


# Get-MessageTrackingLog: the log's fields under EMS's names (date-time → Timestamp,
# recipient-address → Recipients, sender-address → Sender, dashes removed), 2013's order.
_TRACKING_EVENT = View(
    properties=(
        ("Timestamp", lambda r: r.date_time),
        ("ClientIp", lambda r: r.client_ip),
        ("ClientHostname", lambda r: r.client_hostname),
        ("ServerIp", lambda r: r.server_ip),
        ("ServerHostname", lambda r: r.server_hostname),
        ("SourceContext", lambda r: r.source_context),
        ("ConnectorId", lambda r: r.connector_id),
        ("Source", lambda r: r.source),
        ("EventId", lambda r: r.event_id),
        ("InternalMessageId", lambda r: r.internal_message_id),
        ("MessageId", lambda r: r.message_id),
        ("NetworkMessageId", lambda r: r.network_message_id),
        ("Recipients", lambda r: r.recipient_address),
        ("RecipientStatus", lambda r: r.recipient_status),
        ("TotalBytes", lambda r: r.total_bytes),
        ("RecipientCount", lambda r: r.recipient_count),
        ("RelatedRecipientAddress", lambda r: r.related_recipient_address),
        ("Reference", lambda r: r.reference or None),
        ("MessageSubject", lambda r: r.message_subject),
        ("Sender", lambda r: r.sender_address),
        ("ReturnPath", lambda r: r.return_path),
        ("Directionality", lambda r: r.directionality),
        ("TenantId", lambda r: r.tenant_id),
        ("OriginalClientIp", lambda r: r.original_client_ip),
        ("OriginalServerIp", lambda r: r.original_server_ip),
        ("MessageInfo", lambda r: r.message_info),
        ("MessageLatency", lambda r: None),
        ("MessageLatencyType", lambda r: "None"),
        ("EventData", lambda r: _event_data(r.custom_data)),
    ),
    table=("EventId", "Source", "Sender", "Recipients", "MessageSubject"),
)


def _cut(text: str, width: int) -> str:
    # PowerShell 5.1 cuts a value wider than its fixed column and ends it with "...".
    return text if len(text) <= width else text[: width - 3] + "..."


EVENT_LOG_MESSAGE_WIDTH = 50
"""What is left of a 120-column console for Message after the fixed columns of Get-EventLog."""


def _event_log_table(entries: Sequence[EventLogEntry]) -> str:
    # DotNetTypes.format.ps1xml's table of System.Diagnostics.EventLogEntry: Index (8, right),
    # Time (13, TimeGenerated as 'MMM dd HH:mm'), EntryType (11), Source (20), InstanceID
    # (12, right), then Message in the rest of the line.
    def line(index: str, time: str, kind: str, source: str, instance: str, message: str) -> str:
        return " ".join(
            (
                index.rjust(8),
                time.ljust(13),
                kind.ljust(11),
                source.ljust(20),
                instance.rjust(12),
                message,
            )
        ).rstrip()

    rows = [
        line("Index", "Time", "EntryType", "Source", "InstanceID", "Message"),
        line("-----", "----", "---------", "------", "----------", "-------"),
    ]
    for entry in entries:
        rows.append(
            line(
                str(entry.index),
                entry.time_generated.strftime("%b %d %H:%M"),
                _cut(entry.entry_type.value, 11),
                _cut(entry.source, 20),
                str(entry.instance_id),
                _cut(entry.message, EVENT_LOG_MESSAGE_WIDTH),
            )
        )
    return "\n".join(rows)


# Get-EventLog's System.Diagnostics.EventLogEntry: every property in the order `| fl *` shows
# them; a bare Format-List shows the formatting file's list (Index … UserName).
_EVENT_LOG_ENTRY = View(
    properties=(
        ("EventID", lambda e: e.event_id),
        ("MachineName", lambda e: e.machine_name),
        ("Data", lambda e: ()),
        ("Index", lambda e: e.index),
        ("Category", lambda e: e.category),
        ("CategoryNumber", lambda e: e.category_number),
        ("EntryType", lambda e: e.entry_type),
        ("Message", lambda e: e.message),
        ("Source", lambda e: e.source),
        ("ReplacementStrings", lambda e: e.replacement_strings),
        ("InstanceId", lambda e: e.instance_id),
        ("TimeGenerated", lambda e: e.time_generated),
        ("TimeWritten", lambda e: e.time_written),
        ("UserName", lambda e: None),
        ("Site", lambda e: None),
        ("Container", lambda e: None),
    ),
    table=("Index", "TimeGenerated", "EntryType", "Source", "InstanceId", "Message"),
    right_aligned=frozenset({"Index", "InstanceId", "EventID", "CategoryNumber"}),
    list_view=(
        "Index",
        "EntryType",
        "InstanceId",
        "Message",
        "Category",
        "CategoryNumber",
        "ReplacementStrings",
        "Source",
        "TimeGenerated",
        "TimeWritten",
        "UserName",
    ),
    fixed_table=_event_log_table,
)


def _service_table(services: Sequence[WindowsService]) -> str:
    # DotNetTypes.format.ps1xml's table of System.ServiceProcess.ServiceController: Status (8),
    # Name (18), DisplayName (38), each value cut with "..." to its column.
    def line(status: str, name: str, display_name: str) -> str:
        return f"{status.ljust(8)} {name.ljust(18)} {display_name}".rstrip()

    rows = [line("Status", "Name", "DisplayName"), line("------", "----", "-----------")]
    for service in services:
        rows.append(
            line(
                _cut(service.status.value, 8),
                _cut(service.name, 18),
                _cut(service.display_name, 38),
            )
        )
    return "\n".join(rows)


# Get-Service's System.ServiceProcess.ServiceController: every property in the order `| fl *`
# shows them in Windows PowerShell 5.1; a bare Format-List shows the formatting file's list.
_WINDOWS_SERVICE = View(
    properties=(
        ("Name", lambda s: s.name),
        ("RequiredServices", lambda s: s.services_depended_on),
        ("CanPauseAndContinue", lambda s: False),
        ("CanShutdown", lambda s: s.can_stop),
        ("CanStop", lambda s: s.can_stop),
        ("DisplayName", lambda s: s.display_name),
        ("DependentServices", lambda s: s.dependent_services),
        ("MachineName", lambda s: s.machine_name),
        ("ServiceName", lambda s: s.name),
        ("ServicesDependedOn", lambda s: s.services_depended_on),
        ("ServiceHandle", lambda s: None),
        ("Status", lambda s: s.status),
        ("ServiceType", lambda s: "Win32OwnProcess"),
        ("StartType", lambda s: "Automatic"),
        ("Site", lambda s: None),
        ("Container", lambda s: None),
    ),
    table=("Status", "Name", "DisplayName"),
    list_view=(
        "Name",
        "DisplayName",
        "Status",
        "DependentServices",
        "ServicesDependedOn",
        "CanPauseAndContinue",
        "CanShutdown",
        "CanStop",
        "ServiceType",
    ),
    fixed_table=_service_table,
)


def _admin_display_version() -> str:
    # "15.0.1497.2" → "Version 15.0 (Build 1497.2)", as Get-ExchangeServer shows a 2013 CU23.
    major, minor, build, revision = EXCHANGE_BUILD.split(".")
    return f"Version {major}.{minor} (Build {build}.{revision})"


_EXCHANGE_SERVER = View(
    properties=(
        ("Name", lambda s: s.server.name),
        ("DataPath", lambda s: "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Mailbox"),
        ("Domain", lambda s: s.domain),
        ("Edition", lambda s: "Enterprise"),
        (
            "ExchangeLegacyDN",
            lambda s: (
                f"/o={s.organization}/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
                f"/cn=Configuration/cn=Servers/cn={s.server.name}"
            ),
        ),
        ("Fqdn", lambda s: s.server.fqdn),
        ("IsHubTransportServer", lambda s: s.server.is_mailbox),
        ("IsClientAccessServer", lambda s: s.server.is_client_access),
        ("IsEdgeServer", lambda s: False),
        ("IsMailboxServer", lambda s: s.server.is_mailbox),
        ("IsE15OrLater", lambda s: True),
        ("IsFrontendTransportServer", lambda s: s.server.is_client_access),
        ("OrganizationalUnit", lambda s: f"{s.domain}/{s.server.name}"),
        ("AdminDisplayVersion", lambda s: _admin_display_version()),
        ("Site", lambda s: f"{s.domain}/Configuration/Sites/Default-First-Site-Name"),
        ("ServerRole", lambda s: s.server.role),
        ("Identity", lambda s: s.server.name),
    ),
    table=("Name", "Site", "ServerRole", "Edition", "AdminDisplayVersion"),
)

_COMMAND_INFO = View(
    properties=(
        ("CommandType", lambda c: c.command_type),
        ("Name", lambda c: c.name),
        ("Version", lambda c: c.version),
        ("Source", lambda c: c.source),
        ("Definition", lambda c: c.definition),
    ),
    table=("CommandType", "Name", "Version", "Source"),
)

_VIEWS: dict[type, View] = {
    CommandInfo: _COMMAND_INFO,
    SendConnectorOutput: _SEND_CONNECTOR,
    ReceiveConnectorOutput: _RECEIVE_CONNECTOR,
    TransportConfigOutput: _TRANSPORT_CONFIG,
    ServerCertificate: _EXCHANGE_CERTIFICATE,
    RootCertificate: _ROOT_CERTIFICATE,
    PersonalCertificate: _PERSONAL_CERTIFICATE,
    QueueView: _QUEUE,
    MessageView: _MESSAGE,
    AcceptedDomain: _ACCEPTED_DOMAIN,
    MailboxOutput: _MAILBOX,
    TransportServiceOutput: _TRANSPORT_SERVICE,
    FrontendTransportServiceOutput: _FRONTEND_TRANSPORT_SERVICE,
    LabServer: _LAB_SERVER,
    LabCrl: _LAB_CRL,
    RevokedCertificate: _REVOKED_CERTIFICATE,
    TrackingRecord: _TRACKING_EVENT,
    EventLogEntry: _EVENT_LOG_ENTRY,
    WindowsService: _WINDOWS_SERVICE,
    ExchangeServerOutput: _EXCHANGE_SERVER,
}


TRACKING_EVENT_TYPE = "Microsoft.Exchange.Management.TransportLogSearchTasks.MessageTrackingEvent"
"""The .NET type of Get-MessageTrackingLog's objects, which is what their ToString() gives."""


def object_text(obj: object) -> str:
    """``obj`` as PowerShell prints it inside ``{...}`` (its ToString()): an Exchange object's
    Identity (else Name), a tracking event's type name, a Select-Object result as
    ``@{Name=Value; ...}``, a plain value as itself."""
    if isinstance(obj, TrackingRecord):
        return TRACKING_EVENT_TYPE
    if isinstance(obj, SelectedObject):
        return "@{" + "; ".join(f"{n}={display(v)}" for n, v in obj.properties) + "}"
    for name in ("Identity", "Name"):
        found, value = property_value(obj, name)
        if found and value is not None:
            return display(value)
    return display(obj)


def _group_text(group: GroupInfo) -> str:
    return display(tuple(object_text(o) for o in group.group))


_GROUP_INFO = View(
    (
        ("Count", lambda g: g.count),
        ("Name", lambda g: g.name),
        ("Group", lambda g: g.group),
        ("Values", lambda g: g.values),
    ),
    table=("Count", "Name", "Group"),
    right_aligned=frozenset({"Count"}),
    shown=(("Group", _group_text),),
)


def _write_time(value: datetime | None) -> str:
    # Get-ChildItem's LastWriteTime column: "12/5/2026   5:38 AM".
    if value is None:
        return ""
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour:>3}:{value.minute:02d} {suffix}"


_FILE_ITEM = View(
    (
        ("Mode", lambda f: f.mode),
        ("LastWriteTime", lambda f: f.last_write_time),
        ("Length", lambda f: f.length),
        ("Name", lambda f: f.name),
        ("FullName", lambda f: f.full_name),
        ("DirectoryName", lambda f: f.directory),
        ("PSComputerName", lambda f: f.server),
    ),
    table=("Mode", "LastWriteTime", "Length", "Name"),
    right_aligned=frozenset({"LastWriteTime", "Length"}),
    shown=(("LastWriteTime", lambda f: _write_time(f.last_write_time)),),
    header_of=lambda f: f"    Directory: {f.directory}",
)

_MATCH_INFO = View(
    (
        ("IgnoreCase", lambda m: m.ignore_case),
        ("LineNumber", lambda m: m.line_number),
        ("Line", lambda m: m.line),
        ("Filename", lambda m: m.filename),
        ("Path", lambda m: m.path or "InputStream"),
        ("Pattern", lambda m: m.pattern),
    ),
    table=("LineNumber", "Line"),
    text_of=lambda m: f"{m.path}:{m.line_number}:{m.line}" if m.path else m.line,
)

_GROUP_INFO_NO_ELEMENT = View(
    (
        ("Count", lambda g: g.count),
        ("Name", lambda g: g.name),
        ("Values", lambda g: g.values),
    ),
    table=("Count", "Name"),
    right_aligned=frozenset({"Count"}),
)


def _selected_view(obj: SelectedObject) -> View:
    # PowerShell shows a PSCustomObject as a table up to four properties, as a list beyond.
    names = tuple(name for name, _ in obj.properties)
    properties = tuple((name, (lambda o, n=name: dict(o.properties).get(n))) for name in names)
    return View(properties, table=names, default="table" if len(names) <= 4 else "list")


def view_for(obj: object) -> View | None:
    """The view of ``obj``'s type, or None (the object then prints as its text)."""
    if isinstance(obj, SelectedObject):
        return _selected_view(obj)
    if isinstance(obj, GroupInfo):
        return _GROUP_INFO_NO_ELEMENT if obj.no_element else _GROUP_INFO
    if isinstance(obj, FileItem):
        return _FILE_ITEM
    if isinstance(obj, MatchInfo):
        return _MATCH_INFO
    return _VIEWS.get(type(obj))


def property_value(obj: object, name: str) -> tuple[bool, object]:
    """``obj.name`` as the shell sees it (any case): (found, raw value) from the object's view."""
    view = view_for(obj)
    if view is None:
        return False, None
    for prop, getter in view.properties:
        if prop.lower() == name.lower():
            return True, getter(obj)
    return False, None


def property_names(obj: object) -> tuple[str, ...]:
    """The properties the shell shows for ``obj`` (Format-List order); none for plain values."""
    view = view_for(obj)
    return view.names() if view is not None else ()


def _groups(objects: Sequence[object]) -> list[list[object]]:
    # PowerShell starts a new table whenever the type of the object changes.
    groups: list[list[object]] = []
    for obj in objects:
        if groups and type(groups[-1][0]) is type(obj):
            groups[-1].append(obj)
        else:
            groups.append([obj])
    return groups


def render_list(objects: Sequence[object], patterns: Sequence[str] | None = None) -> str:
    """Format-List of ``objects`` (all properties, or those matching ``patterns``)."""
    parts: list[str] = []
    for group in _groups(objects):
        view = view_for(group[0])
        if view is None:
            parts.append(
                "\n".join(
                    format_datetime_long(o) if isinstance(o, datetime) else display(o)
                    for o in group
                )
            )
            continue
        names = view.select(patterns, table=False)
        body = format_list([[(n, view.value(o, n)) for n in names] for o in group])
        parts.append(f"{view.header}\n\n{body}" if view.header else body)
    return "\n\n".join(p for p in parts if p)


def render_table(objects: Sequence[object], patterns: Sequence[str] | None = None) -> str:
    """Format-Table of ``objects`` (default columns, or those matching ``patterns``)."""
    parts: list[str] = []
    for group in _groups(objects):
        view = view_for(group[0])
        if view is None:
            parts.append(
                "\n".join(
                    format_datetime_long(o) if isinstance(o, datetime) else display(o)
                    for o in group
                )
            )
            continue
        if view.fixed_table is not None and not patterns:
            parts.append(view.fixed_table(group))
            continue
        # Certificates show Services as letter flags in a table, by name in a list.
        source = _CERTIFICATE_TABLE if view is _EXCHANGE_CERTIFICATE else view
        names = view.select(patterns, table=True)
        rows = [
            [(source if n in source.names() else view).value(o, n) for n in names] for o in group
        ]
        body = format_table(names, rows, view.right_aligned)
        header = view.header_of(group[0]) if view.header_of is not None else view.header
        parts.append(f"{header}\n\n{body}" if header else body)
    return "\n\n".join(p for p in parts if p)


def render_default(objects: Sequence[object]) -> str:
    """Objects as EMS shows them at the end of a pipeline: each type in its default view."""
    parts: list[str] = []
    for group in _groups(objects):
        view = view_for(group[0])
        if view is not None and view.text_of is not None:
            parts.append("\n".join(view.text_of(o) for o in group))
        elif view is not None and view.default == "list":
            parts.append(render_list(group))
        else:
            parts.append(render_table(group))
    return "\n\n".join(p for p in parts if p)


def property_names_of(kind: type) -> tuple[str, ...]:
    """The properties the shell shows for objects of type ``kind`` (Format-List order); none
    for a type without a view. Tab completion inside ``{ }`` offers them."""
    view = _VIEWS.get(kind)
    return view.names() if view is not None else ()
