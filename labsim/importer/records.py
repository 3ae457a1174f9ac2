"""The records every reader produces: one exported object, its properties, and where each came from.

Both formats end in the same shape, so the builder never knows which one the admin used: a
property's value is its text (``None`` for an empty or ``$null`` value) or, for a multi-valued
property read from Export-Clixml, a tuple of item texts. Format-List keeps lists as their
``{a, b}`` text; :func:`items` reads both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from labsim.errors import ConfigError

Value = str | tuple[str, ...] | None


class ImportInputError(ConfigError):
    """An export file cannot be read; the text names the file, the line and the property."""


class ExportKind(Enum):
    """What an exported object is, by the cmdlet that printed it."""

    TRANSPORT_CONFIG = "Get-TransportConfig"
    ACCEPTED_DOMAIN = "Get-AcceptedDomain"
    EXCHANGE_SERVER = "Get-ExchangeServer"
    SEND_CONNECTOR = "Get-SendConnector"
    RECEIVE_CONNECTOR = "Get-ReceiveConnector"
    EXCHANGE_CERTIFICATE = "Get-ExchangeCertificate"
    MAILBOX = "Get-Mailbox"


# Properties that only one cmdlet's objects carry (all must be present), in the order tried.
_SIGNATURES: tuple[tuple[ExportKind, tuple[str, ...]], ...] = (
    (ExportKind.TRANSPORT_CONFIG, ("tlssenddomainsecurelist", "tlsreceivedomainsecurelist")),
    (ExportKind.RECEIVE_CONNECTOR, ("bindings", "remoteipranges", "permissiongroups")),
    (ExportKind.SEND_CONNECTOR, ("addressspaces", "sourcetransportservers")),
    (ExportKind.EXCHANGE_CERTIFICATE, ("thumbprint", "certificatedomains")),
    (ExportKind.ACCEPTED_DOMAIN, ("domainname", "domaintype")),
    (ExportKind.MAILBOX, ("primarysmtpaddress", "recipienttypedetails")),
    (ExportKind.EXCHANGE_SERVER, ("serverrole", "fqdn", "admindisplayversion")),
)


def kind_of(names: set[str]) -> ExportKind | None:
    """The cmdlet whose objects have these (lower-case) property names, or None."""
    for kind, required in _SIGNATURES:
        if all(name in names for name in required):
            return kind
    return None


@dataclass(frozen=True)
class ExportProperty:
    """One property of an exported object: its name as printed, its value, its line."""

    name: str
    value: Value
    line: int


@dataclass(frozen=True)
class ExportObject:
    """One object of an export file (one ``Format-List`` block or one Clixml ``<Obj>``)."""

    kind: ExportKind
    source: str
    line: int
    properties: tuple[ExportProperty, ...]

    def get(self, name: str) -> ExportProperty | None:
        """The property ``name`` (case-insensitive), or None when the export lacks it."""
        wanted = name.lower()
        return next((p for p in self.properties if p.name.lower() == wanted), None)

    def text(self, name: str, default: str = "") -> str:
        """The property's text (a list is joined with ", "); ``default`` when absent or empty."""
        prop = self.get(name)
        if prop is None or prop.value is None:
            return default
        if isinstance(prop.value, tuple):
            return ", ".join(prop.value)
        return prop.value.strip() or default

    def place(self, name: str | None = None) -> str:
        """``file:line`` of the property (or of the object), for messages and the report."""
        prop = self.get(name) if name else None
        return f"{self.source}:{prop.line if prop else self.line}"

    def fail(self, name: str, problem: str) -> ImportInputError:
        """The error for a property whose value cannot be read."""
        return ImportInputError(f"{self.place(name)}: {self.kind.value} property {name}: {problem}")


_LIST = re.compile(r"\A\{(?P<body>.*)\}\Z", re.DOTALL)


def items(obj: ExportObject, name: str) -> tuple[tuple[str, ...], bool]:
    """A multi-valued property's items, and whether Format-List cut the list (``...}``).

    Format-List prints ``{a, b, c}``; beyond ``$FormatEnumerationLimit`` items it ends the list
    with ``...}``. An item that itself holds ", " (a certificate name) cannot be told apart in
    that text, so such properties are read with :func:`ExportObject.text` instead.
    """
    prop = obj.get(name)
    if prop is None or prop.value is None:
        return (), False
    if isinstance(prop.value, tuple):
        return tuple(v.strip() for v in prop.value if v.strip()), False
    text = prop.value.strip()
    match = _LIST.match(text)
    body = match["body"] if match else text
    truncated = body.rstrip().endswith("...")
    if truncated:
        body = body.rstrip()[:-3]
    return tuple(part.strip() for part in body.split(",") if part.strip()), truncated
