"""Objects cmdlets write to the pipeline when a model record alone can't show what Exchange shows.

Owns small frozen wrappers: a receive connector with its server's FQDN (Exchange shows the FQDN
even when none was set), a send connector and the transport settings with their organization's
names (their Active Directory names are built from them), a mailbox with its organization and
database server, a certificate as seen on one server (identity ``SERVER\\THUMBPRINT``,
date status at lab time), a certificate imported into a root store, a server's transport service
settings (Get-TransportService), the rows of the lab actions (Get-LabServer, Get-LabCrl,
Revoke-LabCertificate), a server's Windows services (Get-Service), and formatted text (what
Format-List / Format-Table write, which nothing can consume but the screen).
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from labsim.model.connectors import ReceiveConnector, SendConnector
from labsim.model.enums import ServerRole
from labsim.model.organization import Mailbox, Server
from labsim.model.transport import TransportConfig

if TYPE_CHECKING:
    from labsim.pki.certificate import ExchangeCertificate


@dataclass(frozen=True)
class ReceiveConnectorOutput:
    """A receive connector as Get-ReceiveConnector writes it, with its server's FQDN and its
    organization's name and domain (its Active Directory names are built from them)."""

    connector: ReceiveConnector
    server_fqdn: str
    organization: str = ""
    domain: str = ""

    @property
    def identity(self) -> str:
        """``SERVER\\Name``."""
        return self.connector.identity


@dataclass(frozen=True)
class SendConnectorOutput:
    """A send connector as Get-SendConnector writes it, with its organization's name and domain."""

    connector: SendConnector
    organization: str = ""
    domain: str = ""

    @property
    def identity(self) -> str:
        """The connector's name (send connectors are organization objects)."""
        return self.connector.identity


@dataclass(frozen=True)
class MailboxOutput:
    """A mailbox as Get-Mailbox writes it, with what its Active Directory names are built from:
    the organization's name and domain and the Mailbox server that holds its database."""

    mailbox: Mailbox
    organization: str = ""
    domain: str = ""
    server: str = ""

    @property
    def identity(self) -> str:
        """``domain/Users/Display Name``, as Exchange names a user's mailbox."""
        return f"{self.domain}/Users/{self.mailbox.display_name}"

    @property
    def guid(self) -> str:
        """A GUID stable for the mailbox (the record has none; Exchange shows one)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailbox:{self.mailbox.primary_smtp_address}"))

    @property
    def exchange_guid(self) -> str:
        """The mailbox's ExchangeGuid (stable, distinct from the user's Guid)."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"store:{self.mailbox.primary_smtp_address}"))


@dataclass(frozen=True)
class TransportConfigOutput:
    """The organization's transport settings as Get-TransportConfig writes them."""

    config: TransportConfig
    organization: str = ""
    domain: str = ""

    @property
    def identity(self) -> str:
        """Exchange's fixed name of the object."""
        return "Transport Settings"

    @property
    def guid(self) -> str:
        """A GUID stable for the organization (the record has none; Exchange shows one)."""
        return str(uuid.uuid5(uuid.NAMESPACE_DNS, f"transport-settings.{self.domain}"))


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate in one server's personal store, as Get-ExchangeCertificate writes it."""

    server: str
    certificate: ExchangeCertificate
    status: str

    @property
    def identity(self) -> str:
        """``SERVER\\THUMBPRINT``."""
        return f"{self.server}\\{self.certificate.thumbprint}"


@dataclass(frozen=True)
class RootCertificate:
    """A certificate in ``Cert:\\LocalMachine\\Root``, as Import-Certificate writes it."""

    thumbprint: str
    subject: str
    issuer: str
    serial_number: str
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class PersonalCertificate(RootCertificate):
    """A certificate in ``Cert:\\LocalMachine\\My``, as Get-ChildItem lists it (the root row's
    properties; its own view carries the My store's PSParentPath)."""


@dataclass(frozen=True)
class TransportServiceOutput:
    """A server's transport service settings, as Get-TransportService writes them."""

    server: Server

    @property
    def identity(self) -> str:
        """The server name (what Set-TransportService -Identity takes)."""
        return self.server.name


@dataclass(frozen=True)
class FrontendTransportServiceOutput:
    """A Client Access server's Front End Transport settings, as Get-FrontendTransportService
    writes them."""

    server: Server

    @property
    def identity(self) -> str:
        """The server name (what Set-FrontendTransportService -Identity takes)."""
        return self.server.name


@dataclass(frozen=True)
class ExchangeServerOutput:
    """A server as Get-ExchangeServer writes it: the record and its organization's names
    (the Active Directory site and legacy DN are built from them)."""

    server: Server
    organization: str
    domain: str

    @property
    def identity(self) -> str:
        """The server name."""
        return self.server.name


@dataclass(frozen=True)
class LabServer:
    """A server of the lab and whether it runs, as Get-LabServer writes it."""

    name: str
    organization: str
    role: ServerRole
    fqdn: str
    address: str
    running: bool
    ports: tuple[str, ...] = ()
    """Each listening port as ``<Exchange port>-><port in use>``, e.g. ``25->11425``."""

    @property
    def identity(self) -> str:
        """The server name (what Stop-/Start-LabServer -Identity take)."""
        return self.name


@dataclass(frozen=True)
class LabCrl:
    """One CA's revocation list and whether it can be fetched, as Get-LabCrl writes it."""

    organization: str
    certification_authority: str
    reachable: bool


@dataclass(frozen=True)
class RevokedCertificate:
    """A certificate just revoked by its CA, as Revoke-LabCertificate writes it."""

    server: str
    thumbprint: str
    subject: str
    serial_number: str
    certification_authority: str
    revocation_date: datetime


@dataclass(frozen=True)
class FormattedText:
    """Output of Format-List / Format-Table: text for the screen, not an object to pipe on."""

    text: str


@dataclass(frozen=True)
class FileItem:
    """A file or folder as Get-ChildItem writes it (PowerShell's FileInfo/DirectoryInfo): a log
    file of a server, or one of its log folders."""

    directory: str
    """The full path of the folder it is in (``\\\\SERVER\\C$\\…`` or ``C:\\…``, as typed)."""
    name: str
    length: int | None
    """Bytes; None for a folder."""
    last_write_time: datetime | None
    server: str

    @property
    def full_name(self) -> str:
        """The full path."""
        return f"{self.directory}\\{self.name}"

    @property
    def mode(self) -> str:
        """PowerShell's Mode column: ``d-----`` for a folder, ``-a----`` for a file."""
        return "d-----" if self.length is None else "-a----"


@dataclass(frozen=True)
class MatchInfo:
    """A line Select-String found (PowerShell's MatchInfo): in a file (``path`` set), or in text
    piped in (``path`` empty, it prints as the line alone)."""

    path: str
    line_number: int
    line: str
    pattern: str
    ignore_case: bool

    @property
    def filename(self) -> str:
        """The file's name, or ``InputStream`` for piped text."""
        return self.path.rpartition("\\")[2] if self.path else "InputStream"


@dataclass(frozen=True)
class GroupInfo:
    """One group Group-Object writes (PowerShell's ``GroupInfo``): the objects that share the
    grouped properties' values; with -NoElement (``GroupInfoNoElement``) without them."""

    count: int
    name: str
    """The values as text, joined with ``, `` when several properties are grouped on."""
    values: tuple[object, ...]
    group: tuple[object, ...]
    no_element: bool = False


@dataclass(frozen=True)
class SelectedObject:
    """What Select-Object writes for a property list: the chosen properties, in order, with
    their values (PowerShell's ``Selected.<Type>`` PSCustomObject)."""

    properties: tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class CommandInfo:
    """A command as Get-Command writes it: a cmdlet, or an alias (``FL -> Format-List``)."""

    command_type: str
    name: str
    version: str
    source: str
    definition: str = ""


class ServiceStatus(enum.Enum):
    """A Windows service's Status (.NET's ServiceControllerStatus), as Get-Service shows it."""

    RUNNING = "Running"
    STOPPED = "Stopped"


@dataclass(frozen=True)
class WindowsService:
    """A Windows service of a server, as Get-Service writes it (.NET's ServiceController)."""

    name: str
    display_name: str
    status: ServiceStatus
    server: str
    """The lab server the service runs on (what Stop-Service acts on when it is piped in)."""
    machine_name: str
    """MachineName as PowerShell shows it: ``.`` for the local computer, else as typed with
    -ComputerName."""
    dependent_services: tuple[str, ...] = ()
    services_depended_on: tuple[str, ...] = ()

    @property
    def can_stop(self) -> bool:
        """Windows accepts a stop request only from a running service."""
        return self.status is ServiceStatus.RUNNING
