"""Organization transport configuration (Get-TransportConfig), per-server transport
service settings (Get-TransportService) and a Client Access server's Front End Transport settings
(Get-FrontendTransportService), with Exchange's defaults (docs/exchange-reference.md §3.1,
§4.5, §16 D7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from labsim.model.enums import ProtocolLoggingLevel
from labsim.model.values import ByteSize


@dataclass(frozen=True)
class TransportConfig:
    """Organization-wide transport settings; the two TLS lists drive Domain Security."""

    tls_send_domain_secure_list: tuple[str, ...] = ()
    tls_receive_domain_secure_list: tuple[str, ...] = ()
    internal_smtp_servers: tuple[str, ...] = ()
    max_receive_size: ByteSize = field(default_factory=lambda: ByteSize.mb(10))
    max_send_size: ByteSize = field(default_factory=lambda: ByteSize.mb(10))
    max_recipient_envelope_limit: int = 500
    external_delay_dsn_enabled: bool = True
    internal_delay_dsn_enabled: bool = True
    external_dsn_reporting_authority: str | None = None
    generate_copy_of_dsn_for: tuple[str, ...] = (
        "5.4.8",
        "5.4.6",
        "5.4.4",
        "5.2.4",
        "5.2.0",
        "5.1.4",
    )

    def sends_domain_secured_to(self, domain: str) -> bool:
        """Exact, case-insensitive membership in TLSSendDomainSecureList
        (docs/exchange-reference.md §3.1)."""
        return domain.lower() in (d.lower() for d in self.tls_send_domain_secure_list)

    def receives_domain_secured_from(self, domain: str) -> bool:
        """Exact, case-insensitive membership in TLSReceiveDomainSecureList
        (docs/exchange-reference.md §3.1)."""
        return domain.lower() in (d.lower() for d in self.tls_receive_domain_secure_list)


HUB_LOGS = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\Hub"
"""Where Exchange 2013 keeps a Mailbox server's Transport service logs by default."""

FRONTEND_LOGS = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\FrontEnd"
"""Where Exchange 2013 keeps a Client Access server's Front End Transport logs by default."""


@dataclass(frozen=True)
class LogSettings:
    """The protocol and connectivity log settings a Transport and a Front End Transport service
    share, with Exchange 2013's defaults (the folders are each service's own: ``logs``).
    labsim stores and shows them; it acts only on the Front End's
    IntraOrgConnectorProtocolLoggingLevel and writes its logs to its own folder, unbounded."""

    logs: str = HUB_LOGS
    """The service's log folder, which the default paths are under (not a property)."""
    intra_org_connector_protocol_logging_level: ProtocolLoggingLevel = ProtocolLoggingLevel.NONE
    connectivity_log_enabled: bool = True
    connectivity_log_max_age: timedelta = timedelta(days=30)
    connectivity_log_max_directory_size: ByteSize = field(default_factory=lambda: ByteSize.mb(1000))
    connectivity_log_max_file_size: ByteSize = field(default_factory=lambda: ByteSize.mb(10))
    connectivity_log_path: str = ""
    receive_protocol_log_max_age: timedelta = timedelta(days=30)
    receive_protocol_log_max_directory_size: ByteSize = field(
        default_factory=lambda: ByteSize.mb(250)
    )
    receive_protocol_log_max_file_size: ByteSize = field(default_factory=lambda: ByteSize.mb(10))
    receive_protocol_log_path: str = ""
    send_protocol_log_max_age: timedelta = timedelta(days=30)
    send_protocol_log_max_directory_size: ByteSize = field(default_factory=lambda: ByteSize.mb(250))
    send_protocol_log_max_file_size: ByteSize = field(default_factory=lambda: ByteSize.mb(10))
    send_protocol_log_path: str = ""

    def __post_init__(self) -> None:
        # A path left empty is the service's default one, under its own log folder.
        for name, below in (
            ("connectivity_log_path", "Connectivity"),
            ("receive_protocol_log_path", "ProtocolLog\\SmtpReceive"),
            ("send_protocol_log_path", "ProtocolLog\\SmtpSend"),
        ):
            if not getattr(self, name):
                object.__setattr__(self, name, f"{self.logs}\\{below}")


@dataclass(frozen=True)
class TransportService(LogSettings):
    """Per-server Transport service settings (Set-TransportService): the retry and expiry timers,
    defaults per docs/exchange-reference.md §16 D7, which labsim acts on, and the log settings
    (:class:`LogSettings`, under the Hub folder)."""

    transient_failure_retry_count: int = 6
    transient_failure_retry_interval: timedelta = timedelta(minutes=5)
    outbound_connection_failure_retry_interval: timedelta = timedelta(minutes=10)
    message_retry_interval: timedelta = timedelta(minutes=15)
    delay_notification_timeout: timedelta = timedelta(hours=4)
    message_expiration_timeout: timedelta = timedelta(days=2)
    queue_max_idle_time: timedelta = timedelta(minutes=3)


TRANSPORT_SERVICE_LOG_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("ConnectivityLogEnabled", "connectivity_log_enabled"),
    ("ConnectivityLogMaxAge", "connectivity_log_max_age"),
    ("ConnectivityLogMaxDirectorySize", "connectivity_log_max_directory_size"),
    ("ConnectivityLogMaxFileSize", "connectivity_log_max_file_size"),
    ("ConnectivityLogPath", "connectivity_log_path"),
    ("IntraOrgConnectorProtocolLoggingLevel", "intra_org_connector_protocol_logging_level"),
    ("ReceiveProtocolLogMaxAge", "receive_protocol_log_max_age"),
    ("ReceiveProtocolLogMaxDirectorySize", "receive_protocol_log_max_directory_size"),
    ("ReceiveProtocolLogMaxFileSize", "receive_protocol_log_max_file_size"),
    ("ReceiveProtocolLogPath", "receive_protocol_log_path"),
    ("SendProtocolLogMaxAge", "send_protocol_log_max_age"),
    ("SendProtocolLogMaxDirectorySize", "send_protocol_log_max_directory_size"),
    ("SendProtocolLogMaxFileSize", "send_protocol_log_max_file_size"),
    ("SendProtocolLogPath", "send_protocol_log_path"),
)
"""Get-/Set-TransportService's log settings (Exchange's names) and the record's fields, in the
order Get-TransportService shows them after the timers."""


@dataclass(frozen=True)
class FrontendTransportService(LogSettings):
    """A Client Access server's Front End Transport settings (Set-FrontendTransportService),
    with Exchange 2013's defaults. labsim acts on one of them: whether the CAS's
    intra-organization sends (the proxy hop to a Mailbox server) are protocol-logged; the log
    paths, ages, sizes and the connection rate are stored and shown as set (labsim writes its
    logs to its own log folder, unbounded, and accepts every connection)."""

    logs: str = FRONTEND_LOGS
    max_connection_rate_per_minute: int = 1200


FRONTEND_TRANSPORT_PROPERTIES: tuple[tuple[str, str], ...] = (
    *TRANSPORT_SERVICE_LOG_PROPERTIES[:6],
    ("MaxConnectionRatePerMinute", "max_connection_rate_per_minute"),
    *TRANSPORT_SERVICE_LOG_PROPERTIES[6:],
)
"""Get-/Set-FrontendTransportService's property names (Exchange's) and the record's fields, in
the order Get-FrontendTransportService shows them: one table for the view and the cmdlet."""
