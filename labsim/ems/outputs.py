"""Objects cmdlets write to the pipeline when a model record alone can't show what Exchange shows.

Owns small frozen wrappers: a receive connector with its server's FQDN (Exchange shows the FQDN
even when none was set), a certificate as seen on one server (identity ``SERVER\\THUMBPRINT``,
date status at lab time), a certificate imported into a root store, and formatted text (what
Format-List / Format-Table write, which nothing can consume but the screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from labsim.model.connectors import ReceiveConnector

if TYPE_CHECKING:
    from labsim.pki.certificate import ExchangeCertificate


@dataclass(frozen=True)
class ReceiveConnectorOutput:
    """A receive connector as Get-ReceiveConnector writes it."""

    connector: ReceiveConnector
    server_fqdn: str

    @property
    def identity(self) -> str:
        """``SERVER\\Name``."""
        return self.connector.identity


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
class FormattedText:
    """Output of Format-List / Format-Table: text for the screen, not an object to pipe on."""

    text: str
