"""Parameter types: turning parsed values into model values, with PowerShell's conversion errors.

Owns :class:`ParamType` (the .NET type name Exchange shows in errors, plus a converter) and the
types the catalog uses: strings, booleans and switches, integers, enums and flag enums (through
:func:`labsim.model.enums.parse_enum`), sizes, time spans, and multivalued lists of SMTP domains,
address spaces, IP ranges and bindings. A multivalued parameter accepts a whole list (which
replaces the current one) or ``@{Add=...; Remove=...}`` (a :class:`ListEdit`).

Converters raise :class:`ConversionError` with the part of the message after
``Cannot process argument transformation on parameter 'X'.``; binding adds the cmdlet and
parameter name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from labsim.ems.expressions import ScriptBlock
from labsim.ems.parser import (
    ExpandableWord,
    HashTable,
    SecureString,
    SubPipeline,
    Value,
    VariableRef,
)
from labsim.limits import name_length_problem
from labsim.model.enums import parse_enum
from labsim.model.values import AddressSpace, Binding, ByteSize, IPRange, parse_timespan


class ConversionError(ValueError):
    """A value that cannot become the parameter's type; ``str()`` is PowerShell's detail text."""


@dataclass(frozen=True)
class ListEdit:
    """``@{Add=...; Remove=...}`` on a multivalued parameter, items already converted."""

    add: tuple[object, ...] = ()
    remove: tuple[object, ...] = ()


@dataclass(frozen=True)
class ParamType:
    """A parameter type: its .NET name (for messages) and how a parsed value converts to it."""

    type_name: str
    convert: Callable[[Value], object]
    switch: bool = False
    multivalued: bool = False
    choices: tuple[str, ...] = ()
    """The only words the type accepts, when there are few (an enum's values): Tab offers them."""


def show(value: Value) -> str:
    """A parsed value as PowerShell would quote it in an error message."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, tuple):
        return "System.Object[]"
    if isinstance(value, HashTable):
        return "System.Collections.Hashtable"
    if isinstance(value, ScriptBlock):
        return value.text
    if isinstance(value, VariableRef):
        return "$" + value.name
    if isinstance(value, SubPipeline):
        return value.pipeline.text
    if isinstance(value, SecureString):
        return str(value)
    if isinstance(value, ExpandableWord):
        return "$" + value.variable.name + value.rest
    return value


def _to_secure_string(value: Value) -> object:
    if value is None or isinstance(value, SecureString):
        return value
    raise ConversionError(
        f'Cannot convert the "{show(value)}" value of type "System.String" to type '
        '"System.Security.SecureString". Give -Password (ConvertTo-SecureString -String '
        "'<password>' -AsPlainText -Force)."
    )


SECURE_STRING = ParamType("System.Security.SecureString", _to_secure_string)
"""-Password: a SecureString from ConvertTo-SecureString (a plain string is refused, as in
PowerShell)."""


def _cannot(value: Value, type_name: str, error: str | None = None) -> ConversionError:
    text = f'Cannot convert value "{show(value)}" to type "{type_name}".'
    if error:
        text += f' Error: "{error}"'
    return ConversionError(text)


# -- scalars -------------------------------------------------------------------------------------


def _to_string(value: Value) -> object:
    if value is None:
        return None
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    raise ConversionError(
        f"Cannot convert '{show(value)}' to the type 'System.String' required by the parameter. "
        "Give one value; quote it if it contains a comma."
    )


def _to_bool(value: Value) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value) != 0
    raise ConversionError(
        f'Cannot convert value "{show(value)}" to type "System.Boolean". Boolean parameters '
        "accept only Boolean values and numbers, such as $True, $False, 1 or 0."
    )


def _to_int(value: Value) -> object:
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise _cannot(value, "System.Int32", "Input string was not in a correct format.")


def _to_size(value: Value) -> object:
    type_name = "Microsoft.Exchange.Data.Unlimited`1[Microsoft.Exchange.Data.ByteQuantifiedSize]"
    if not isinstance(value, str):
        raise _cannot(value, type_name, "Give a size such as 35MB, 512KB or unlimited.")
    try:
        return ByteSize.parse(value)
    except ValueError as err:
        raise _cannot(value, type_name, str(err)) from None


def _to_timespan(value: Value) -> object:
    if not isinstance(value, str):
        raise _cannot(value, "System.TimeSpan", "Give a time span such as 00:10:00.")
    try:
        return parse_timespan(value)
    except ValueError as err:
        raise _cannot(value, "System.TimeSpan", str(err)) from None


STRING = ParamType("System.String", _to_string)
"""A single string (``$null`` clears)."""

BOOL = ParamType("System.Boolean", _to_bool)
"""``$true`` / ``$false`` (or 1 / 0)."""

SWITCH = ParamType("System.Management.Automation.SwitchParameter", _to_bool, switch=True)
"""A switch: present means $true; ``-Switch:$false`` gives $false."""

INT = ParamType("System.Int32", _to_int)
"""A whole number."""

BYTE_SIZE = ParamType(
    "Microsoft.Exchange.Data.Unlimited`1[Microsoft.Exchange.Data.ByteQuantifiedSize]", _to_size
)
"""A size such as ``35MB`` or ``unlimited``."""

TIMESPAN = ParamType("System.TimeSpan", _to_timespan)
"""A time span such as ``00:10:00``."""

E = TypeVar("E", bound=Enum)


def _enum_item(kind: type[E], type_name: str, value: Value) -> E:
    text = value if isinstance(value, str) else show(value)
    try:
        return parse_enum(kind, text)
    except ValueError:
        names = ", ".join(str(m.value) for m in kind)
        raise _cannot(
            value,
            type_name,
            f"Unable to match the identifier name {text} to a valid enumerator name. Specify one "
            f"of the following enumerator names and try again: {names}",
        ) from None


def enum_type(kind: type[E], type_name: str, *, nullable: bool = False) -> ParamType:
    """A single enum value, e.g. ``Verbose`` for ProtocolLoggingLevel (``$null`` if nullable)."""

    def convert(value: Value) -> object:
        if value is None and nullable:
            return None
        return _enum_item(kind, type_name, value)

    return ParamType(type_name, convert, choices=tuple(str(m.value) for m in kind))


def _items(value: Value) -> tuple[Value, ...]:
    """A value as a flat tuple of items; a string with commas counts as a list (Exchange does)."""
    if value is None:
        return ()
    if isinstance(value, tuple):
        out: list[Value] = []
        for item in value:
            out.extend(_items(item))
        return tuple(out)
    if isinstance(value, str) and "," in value:
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return (value,)


def flags_type(kind: type[E], type_name: str) -> ParamType:
    """A flags enum such as AuthMechanism: ``Tls,BasicAuth`` → a frozenset of members."""

    def convert(value: Value) -> object:
        return frozenset(_enum_item(kind, type_name, item) for item in _items(value))

    return ParamType(type_name, convert, choices=tuple(str(m.value) for m in kind))


def list_type(item_type_name: str, item: Callable[[str], object]) -> ParamType:
    """A multivalued parameter: a list (replace), ``$null`` (clear) or ``@{Add=;Remove=}``.

    ``item`` converts one string and raises ValueError with the reason it is invalid.
    """
    type_name = f"Microsoft.Exchange.Data.MultiValuedProperty`1[{item_type_name}]"

    def one(raw: Value) -> object:
        if not isinstance(raw, str):
            raise _cannot(raw, item_type_name, "Give the value as text.")
        try:
            return item(raw.strip())
        except ValueError as err:
            raise _cannot(raw, item_type_name, str(err)) from None

    def convert(value: Value) -> object:
        if isinstance(value, HashTable):
            unknown = [k for k in value.names() if k.lower() not in ("add", "remove")]
            if unknown:
                raise ConversionError(
                    f"The hashtable key '{unknown[0]}' isn't supported; use "
                    '@{Add="value1","value2"; Remove="value3"}.'
                )
            return ListEdit(
                add=tuple(one(v) for v in _items(value.get("Add"))),
                remove=tuple(one(v) for v in _items(value.get("Remove"))),
            )
        return tuple(one(v) for v in _items(value))

    return ParamType(type_name, convert, multivalued=True)


# -- list items ----------------------------------------------------------------------------------

_LABEL = r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})*$", re.IGNORECASE)


def smtp_domain(text: str) -> str:
    """An SmtpDomain: an exact domain, no wildcard (the TLS lists); kept as typed."""
    body = text.strip().rstrip(".")
    if not _DOMAIN_RE.match(body):
        hint = (
            " Wildcards aren't allowed in this list; give exact domains such as contoso.com."
            if "*" in body
            else ""
        )
        raise ValueError(f"'{text}' isn't a valid SMTP domain.{hint}")
    return body


def smtp_domain_with_subdomains(text: str) -> str:
    """An SmtpDomainWithSubdomains: ``contoso.com`` or ``*.contoso.com`` (TlsDomain)."""
    body = text.strip()
    if body == "*" or (body.startswith("*.") and _DOMAIN_RE.match(body[2:])):
        return body
    if _DOMAIN_RE.match(body):
        return body
    raise ValueError(f"'{text}' isn't a valid SMTP domain; use contoso.com or *.contoso.com.")


def fqdn(text: str) -> str:
    """A host name such as mail.adatum.com (connector Fqdn, smart hosts)."""
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if not _DOMAIN_RE.match(body):
        raise ValueError(f"'{text}' isn't a valid FQDN; use a host name such as mail.contoso.com.")
    return text.strip()


def ip_range(text: str) -> str:
    """An IP address, range or CIDR, kept as its text (InternalSMTPServers)."""
    return str(IPRange.parse(text))


SMTP_DOMAIN_LIST = list_type("Microsoft.Exchange.Data.SmtpDomain", smtp_domain)
"""TLSSendDomainSecureList / TLSReceiveDomainSecureList."""

ADDRESS_SPACE_LIST = list_type("Microsoft.Exchange.Data.AddressSpace", AddressSpace.parse)
"""A send connector's AddressSpaces."""

IP_RANGE_LIST = list_type("Microsoft.Exchange.Data.IPRange", IPRange.parse)
"""A receive connector's RemoteIPRanges."""

IP_RANGE_TEXT_LIST = list_type("Microsoft.Exchange.Data.IPRange", ip_range)
"""InternalSMTPServers (kept as text in the record)."""

BINDING_LIST = list_type("Microsoft.Exchange.Data.IPBinding", Binding.parse)
"""A receive connector's Bindings."""

SERVER_LIST = list_type("Microsoft.Exchange.Configuration.Tasks.ServerIdParameter", str)
"""SourceTransportServers (names checked by the cmdlet against the organization)."""

FQDN_LIST = list_type("Microsoft.Exchange.Data.SmartHost", fqdn)
"""SmartHosts."""

STRING_LIST = list_type("System.String", str)
"""A list of plain strings (property names of Format-List, services, addresses)."""

SMTP_DOMAIN_WITH_SUBDOMAINS = ParamType(
    "Microsoft.Exchange.Data.SmtpDomainWithSubdomains",
    lambda value: _item_or_null(
        value, "Microsoft.Exchange.Data.SmtpDomainWithSubdomains", smtp_domain_with_subdomains
    ),
)
"""TlsDomain (``$null`` clears)."""

FQDN = ParamType(
    "Microsoft.Exchange.Data.Fqdn",
    lambda value: _item_or_null(value, "Microsoft.Exchange.Data.Fqdn", fqdn),
)
"""A connector's Fqdn (``$null`` clears)."""

SMTP_DOMAIN = ParamType(
    "Microsoft.Exchange.Data.SmtpDomain",
    lambda value: _item_or_null(value, "Microsoft.Exchange.Data.SmtpDomain", smtp_domain),
)
"""One SMTP domain (ExternalDsnReportingAuthority; ``$null`` clears)."""


def _item_or_null(value: Value, type_name: str, item: Callable[[str], object]) -> object:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _cannot(value, type_name, "Give one value.")
    try:
        return item(value)
    except ValueError as err:
        raise _cannot(value, type_name, str(err)) from None


def apply_list(current: Iterable[object], value: object) -> tuple[object, ...]:
    """The new contents of a multivalued property after ``value`` (list, ListEdit or None).

    Items compare case-insensitively by their text (Exchange's MultiValuedProperty does for
    domains and names); duplicates are dropped, first spelling wins, order is kept.
    """
    items: list[object]
    if isinstance(value, ListEdit):
        removed = {str(v).lower() for v in value.remove}
        items = [v for v in current if str(v).lower() not in removed]
        items.extend(value.add)
    elif value is None:
        items = []
    elif isinstance(value, tuple):
        items = list(value)
    else:
        items = [value]
    seen: set[str] = set()
    result: list[object] = []
    for v in items:
        key = str(v).lower()
        if key not in seen:
            seen.add(key)
            result.append(v)
    return tuple(result)


def tls_certificate_name(text: str) -> str:
    """``<I>issuer<S>subject`` (TlsCertificateName), kept as typed."""
    body = text.strip()
    upper = body.upper()
    if not upper.startswith("<I>") or "<S>" not in upper or upper.index("<S>") <= 3:
        raise ValueError(
            f"'{text}' isn't a valid certificate name; write \"<I>issuer<S>subject\", e.g. "
            '"<I>CN=Adatum Root CA, O=Adatum<S>CN=mail.adatum.com, O=Adatum" (Get-ExchangeCertificate '
            "shows Issuer and Subject)."
        )
    return body


TLS_CERTIFICATE_NAME = ParamType(
    "Microsoft.Exchange.Data.SmtpX509Identifier",
    lambda value: _item_or_null(
        value, "Microsoft.Exchange.Data.SmtpX509Identifier", tls_certificate_name
    ),
)
"""A connector's TlsCertificateName (``$null`` clears)."""


# -- certificates --------------------------------------------------------------------------------


def certificate_domain(text: str) -> str:
    """A name for a certificate's SAN: a host name or FQDN, or ``*.contoso.com``; kept as typed."""
    body = text.strip()
    host = body[2:] if body.startswith("*.") else body
    if not host or len(body) > 255 or not _DOMAIN_RE.match(host):
        raise ValueError(
            f"'{text}' isn't a valid domain name for a certificate; use host names such as "
            "mail.contoso.com or ADATUM-MBX1 (a wildcard only as *.contoso.com)."
        )
    return body


CERTIFICATE_DOMAIN_LIST = list_type(
    "Microsoft.Exchange.Data.SmtpDomainWithSubdomains", certificate_domain
)
"""-DomainName of New-ExchangeCertificate / New-LabCertificate (the SAN DNS names)."""

EKU_NAMES: tuple[str, ...] = ("serverAuth", "clientAuth", "emailProtection", "codeSigning")
"""Extended key usages a lab certificate can carry (OpenSSL spelling, as labsim.pki takes them)."""


def eku_name(text: str) -> str:
    """One extended key usage name, any case → its canonical spelling."""
    for name in EKU_NAMES:
        if name.lower() == text.strip().lower():
            return name
    raise ValueError(
        f"'{text}' isn't an extended key usage labsim knows; use {', '.join(EKU_NAMES)}."
    )


EKU_LIST = list_type("System.String", eku_name)
"""-Eku of New-LabCertificate (``$null``: no EKU extension, valid for any purpose)."""

_SUBJECT_EXAMPLE = 'e.g. "CN=mail.adatum.com, O=Adatum"'
_SUBJECT_NEEDS_QUOTES = re.compile(r'[,+=";<>#]|^\s|\s$')


@dataclass(frozen=True)
class SubjectName:
    """A certificate subject as labsim issues it: a CN and, optionally, an O.

    ``str()`` gives the Windows form ``CN=mail.adatum.com, O=Adatum`` (most specific first, values
    quoted when they hold a comma or another special character), which
    :func:`parse_subject_name` reads back.
    """

    common_name: str
    organization: str | None = None

    def __str__(self) -> str:
        def quote(value: str) -> str:
            if _SUBJECT_NEEDS_QUOTES.search(value):
                return '"' + value.replace('"', '""') + '"'
            return value

        text = f"CN={quote(self.common_name)}"
        if self.organization is not None:
            text += f", O={quote(self.organization)}"
        return text


def _subject_parts(text: str) -> list[str]:
    # Split at commas and semicolons outside double quotes ("" inside quotes is one quote).
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch in ",;" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quoted:
        raise ValueError(f"'{text}' has an unclosed quote; write {_SUBJECT_EXAMPLE}.")
    parts.append("".join(current))
    return parts


def parse_subject_name(text: str) -> SubjectName:
    """Read an X.500 subject (``cn=mail.adatum.com, o=Adatum``; any order and case).

    labsim's certificates carry only CN (required) and O (optional); any other attribute is
    refused with a message saying so, rather than dropped silently.
    """
    values: dict[str, str] = {}
    if not text.strip():
        raise ValueError(f"The subject name is empty; write {_SUBJECT_EXAMPLE}.")
    for part in _subject_parts(text):
        if "=" not in part:
            raise ValueError(
                f"'{part.strip()}' in '{text}' isn't of the form attribute=value; write "
                f"{_SUBJECT_EXAMPLE}."
            )
        key, value = (piece.strip() for piece in part.split("=", 1))
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1].replace('""', '"')
        attribute = key.upper()
        if attribute not in ("CN", "O"):
            raise ValueError(
                f"labsim's certificates carry only CN and O in the subject; '{key}=' isn't "
                f"supported. Write {_SUBJECT_EXAMPLE}."
            )
        if attribute in values:
            raise ValueError(f"'{text}' gives {attribute} twice; give it once.")
        if not value:
            raise ValueError(f"{attribute} in '{text}' has no value; write {_SUBJECT_EXAMPLE}.")
        values[attribute] = value
    if "CN" not in values:
        raise ValueError(
            f"'{text}' has no CN; a certificate subject needs one, {_SUBJECT_EXAMPLE}."
        )
    problem = name_length_problem(values["CN"], values.get("O"))
    if problem is not None:
        # Checked here, before a key is made: the certificate could not be encoded.
        raise ValueError(
            f"In '{text}', {problem}; put long host names in -DomainName, {_SUBJECT_EXAMPLE}."
        )
    return SubjectName(values["CN"], values.get("O"))


@dataclass(frozen=True)
class X500Name:
    """-SubjectName of New-ExchangeCertificate as typed (``C=US, O=Adatum, CN=mail.adatum.com``):
    a request carries every attribute; a self-signed certificate reads it as
    :class:`SubjectName`."""

    text: str

    def __str__(self) -> str:
        return self.text


def _x500_name(text: str) -> X500Name:
    for part in _subject_parts(text):
        if "=" not in part:
            raise ValueError(
                f"'{part.strip()}' in '{text}' isn't of the form attribute=value; write "
                f"{_SUBJECT_EXAMPLE}."
            )
    return X500Name(text.strip())


X500_NAME = ParamType(
    "System.Security.Cryptography.X509Certificates.X500DistinguishedName",
    lambda value: _item_or_null(
        value, "System.Security.Cryptography.X509Certificates.X500DistinguishedName", _x500_name
    ),
)
"""-SubjectName of New-ExchangeCertificate → :class:`X500Name` (checked further by the cmdlet)."""


SUBJECT_NAME = ParamType(
    "System.Security.Cryptography.X509Certificates.X500DistinguishedName",
    lambda value: _item_or_null(
        value,
        "System.Security.Cryptography.X509Certificates.X500DistinguishedName",
        parse_subject_name,
    ),
)
"""-SubjectName of New-ExchangeCertificate / New-LabCertificate → :class:`SubjectName`."""
