"""Get-, New-, Enable- and Remove-ExchangeCertificate and Import-Certificate
(docs/exchange-reference.md §4.4, §13).

These cmdlets are machine-local: with ``-Server`` (or a ``SERVER\\THUMBPRINT`` identity) they act
on that server; otherwise on the shell's machine when the step names one, and on every server of
the organization when it doesn't (scenario contract); New-ExchangeCertificate, which creates one
certificate, needs one server. Import-Certificate supports only ``Cert:\\LocalMachine\\Root``
(trusting a partner's root CA is the step Domain Security needs). New-ExchangeCertificate creates
a self-signed certificate, as Exchange does, or with -GenerateRequest a certificate request
(:mod:`labsim.ems.cmdlets.certificate_requests` owns the request workflow). A pending request
is listed with Status ``PendingRequest`` and can be removed, not enabled.

``labsim.pki`` is imported inside the functions that need it: it loads service_identity, which
loads pyOpenSSL, and ``import labsim.ems`` must stay light and free of OpenSSL.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import certificate_of, find_server
from labsim.ems.conversions import (
    BOOL,
    CERTIFICATE_DOMAIN_LIST,
    INT,
    STRING,
    STRING_LIST,
    SUBJECT_NAME,
    SWITCH,
    X500_NAME,
    ConversionError,
    ListEdit,
    SubjectName,
    X500Name,
    flags_type,
)
from labsim.ems.messages import transformation
from labsim.ems.outputs import RootCertificate, ServerCertificate
from labsim.errors import CmdletError, PkiError
from labsim.limits import UB_COMMON_NAME
from labsim.model.organization import Server

if TYPE_CHECKING:
    from labsim.pki.certificate import ExchangeCertificate
    from labsim.pki.store import CertificateStore

ROOT_STORE = "Cert:\\LocalMachine\\Root"
"""The only certificate store location Import-Certificate accepts in labsim."""


class AllowedServices(enum.Enum):
    """Enable-ExchangeCertificate -Services values, as Exchange spells them."""

    NONE = "None"
    IMAP = "IMAP"
    POP = "POP"
    UM = "UM"
    IIS = "IIS"
    SMTP = "SMTP"
    FEDERATION = "Federation"
    UM_CALL_ROUTER = "UMCallRouter"


SERVICES_TYPE = flags_type(
    AllowedServices, "Microsoft.Exchange.Management.SystemConfigurationTasks.AllowedServices"
)
"""-Services: ``SMTP``, ``IIS,SMTP``, ``None``."""

DEFAULT_FRIENDLY_NAME = "Microsoft Exchange"
"""New-ExchangeCertificate's default FriendlyName."""

SELF_SIGNED_SERVICES = ("IMAP", "POP", "SMTP")
"""The Services of a new self-signed certificate when -Services is not given (Exchange's)."""

PENDING_REQUEST = "PendingRequest"
"""The Status of a certificate request that has not been completed yet."""

SELF_SIGNED_YEARS = 5
"""How long a self-signed certificate from New-ExchangeCertificate is valid."""


def service_names(args: Arguments, default: Iterable[str]) -> tuple[str, ...]:
    """The -Services given (Exchange's spelling, "None" dropped), or ``default``."""
    value = args.get("Services")
    if value is None:
        return tuple(default)
    assert isinstance(value, frozenset)
    return tuple(s.value for s in AllowedServices if s in value and s is not AllowedServices.NONE)


def list_values(ctx: CmdletContext, args: Arguments, parameter: str) -> tuple[str, ...]:
    """A list parameter of a New- cmdlet as strings; ``@{Add=…}`` is refused (nothing to edit)."""
    value = args.get(parameter)
    if isinstance(value, ListEdit):
        raise ctx.error(
            f"The -{parameter} parameter of {ctx.cmdlet} takes a list, not @{{Add=...; "
            "Remove=...}}; give e.g. -DomainName mail.adatum.com,adatum.com."
        )
    return tuple(str(v) for v in args.items(parameter))


def unique(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` without repeats (compared case-insensitively; the first spelling wins)."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return tuple(out)


def shown_certificate(
    ctx: CmdletContext, server: str, certificate: ExchangeCertificate
) -> ServerCertificate:
    """A certificate of ``server`` as Get-ExchangeCertificate writes it (status at lab time)."""
    return ServerCertificate(server, certificate, certificate.status_at(ctx.host.now()).value)


def _normalize_thumbprint(text: str) -> str:
    return "".join(text.split()).upper()


def _servers(ctx: CmdletContext, explicit: str | None) -> tuple[Server, ...]:
    if explicit is not None:
        return (find_server(ctx, explicit),)
    if ctx.server is not None:
        return (find_server(ctx, ctx.server),)
    return ctx.organization().servers


def certificate_identity(args: Arguments) -> tuple[str | None, str | None]:
    """(thumbprint, server) the cmdlet names: ``-Thumbprint``, or ``[SERVER\\]THUMBPRINT`` of
    ``-Identity`` (whose server counts when ``-Server`` is not given), and ``-Server``."""
    identity = args.text("Identity")
    server_name = args.text("Server")
    thumbprint = args.text("Thumbprint")
    if identity is not None:
        if "\\" in identity:
            prefix, identity = identity.split("\\", 1)
            server_name = server_name or prefix
        thumbprint = thumbprint or identity
    return thumbprint, server_name


def checked_friendly_name(ctx: CmdletContext, args: Arguments) -> str | None:
    """-FriendlyName, if given, checked (1 to 63 characters, as Exchange requires)."""
    name = args.text("FriendlyName")
    if name is not None and (not name.strip() or len(name) >= 64):
        raise ctx.error(
            'The -FriendlyName parameter must hold 1 to 63 characters; give e.g. "Adatum SMTP".'
        )
    return name


def not_found(ctx: CmdletContext, thumbprint: str, servers: Iterable[Server]) -> CmdletError:
    where = ", ".join(s.name for s in servers)
    return ctx.error(
        f"A special Rpc error occurs on server {where}: The certificate with thumbprint "
        f"{thumbprint} was not found. Run Get-ExchangeCertificate to list the certificates and "
        "their full 40-digit thumbprints.",
        "ManagementObjectNotFoundException",
    )


def _not_valid(ctx: CmdletContext, server: Server, thumbprint: str, reason: str) -> CmdletError:
    # Exchange 2013's text when the certificate exists but cannot serve (a real sample names
    # PrivateKeyMissing; PendingRequest follows its pattern, docs/fidelity.md).
    return ctx.error(
        f"A special Rpc error occurs on server {server.name}: The certificate with thumbprint "
        f"{thumbprint} was found but is not valid for use with Exchange Server (reason: "
        f"{reason}).",
        "InvalidOperationException",
    )


def _shown(ctx: CmdletContext, server: Server, store: CertificateStore) -> list[ServerCertificate]:
    # Windows' REQUEST store is listed after the personal store (Get-ExchangeCertificate shows
    # both, a request with Status PendingRequest).
    return [shown_certificate(ctx, server.name, cert) for cert in store.personal()] + [
        ServerCertificate(server.name, pending.placeholder, PENDING_REQUEST)
        for pending in store.requests()
    ]


def get_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-ExchangeCertificate [[-Identity] [SERVER\\]THUMB] [-Thumbprint t] [-Server s] [-DomainName d]."""
    thumbprint, server_name = certificate_identity(args)
    servers = _servers(ctx, server_name)
    domains = [str(d) for d in args.items("DomainName")]
    result: list[object] = []
    for server in servers:
        store = ctx.host.certificate_store(server.name)
        shown = _shown(ctx, server, store)
        if thumbprint is not None:
            wanted = _normalize_thumbprint(thumbprint)
            shown = [c for c in shown if c.certificate.thumbprint == wanted]
        if domains:
            matching = {cert.thumbprint for d in domains for cert in store.domain_names_matching(d)}
            shown = [c for c in shown if c.certificate.thumbprint in matching]
        result.extend(shown)
    if thumbprint is not None and not result:
        raise not_found(ctx, thumbprint, servers)
    return result


def enable_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Enable-ExchangeCertificate -Thumbprint t -Services SMTP[,IIS…] [-Server s] [-Force].

    Services are added to those already enabled. labsim never prompts (EMS asks whether to
    replace the default SMTP certificate unless -Force is given); it proceeds as if answered Yes.
    """
    thumbprint = _normalize_thumbprint(args.text("Thumbprint") or "")
    services = args.get("Services")
    assert isinstance(services, frozenset)
    names = [s.value for s in services if s is not AllowedServices.NONE]
    explicit = args.text("Server")
    candidates = _servers(ctx, explicit)
    holders = [s for s in candidates if ctx.host.certificate_store(s.name).find(thumbprint)]
    if not holders:
        pending = [
            s for s in candidates if ctx.host.certificate_store(s.name).find_request(thumbprint)
        ]
        if pending:
            raise _not_valid(ctx, pending[0], thumbprint, PENDING_REQUEST)
        raise not_found(ctx, thumbprint, candidates)
    for server in holders:
        found = ctx.host.certificate_store(server.name).find(thumbprint)
        if found is not None and found.private_key is None:
            raise _not_valid(ctx, server, thumbprint, "PrivateKeyMissing")
    for server in holders:
        try:
            ctx.host.certificate_store(server.name).enable_services(thumbprint, names)
        except PkiError as err:
            raise ctx.error(str(err)) from None
    return []


def _years_in_days(ctx: CmdletContext, years: int) -> int:
    now = ctx.host.lab_time()
    try:
        end = now.replace(year=now.year + years)
    except ValueError:  # 29 February → 28 February, as .NET's AddYears does
        end = now.replace(year=now.year + years, day=28)
    return (end - now).days


def new_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """New-ExchangeCertificate [-Server s] [-DomainName a,b] [-SubjectName "CN=…"] [-Services …]
    [-FriendlyName f] [-IncludeAcceptedDomains] [-IncludeAutoDiscover] [-IncludeServerFQDN]
    [-IncludeServerNetBIOSName]: a new self-signed certificate, valid five years; with
    -GenerateRequest [-RequestFile f] [-BinaryEncoded] a certificate request instead
    (labsim.ems.cmdlets.certificate_requests).

    Exchange's defaults: without -DomainName (and the Include switches) the names are the server's
    name and FQDN; the subject is ``CN=`` the first name; Services IMAP, POP, SMTP (SMTP alone
    with -IncludeAcceptedDomains or -IncludeAutoDiscover); FriendlyName "Microsoft Exchange".
    labsim never prompts to replace the default SMTP certificate (as with -Force).
    """
    explicit = args.text("Server") or ctx.server
    if explicit is None:
        listed = ", ".join(s.name for s in ctx.organization().servers)
        raise ctx.error(
            "New-ExchangeCertificate creates the certificate on one server and this shell has no "
            f"machine: give -Server (the servers of {ctx.organization().name} are {listed}).",
            "ParameterBindingException",
        )
    server = find_server(ctx, explicit)
    key_size = args.get("KeySize")
    if key_size is not None and key_size not in (1024, 2048, 4096):
        raise ctx.error(
            f"Cannot validate argument on parameter 'KeySize'. The argument \"{key_size}\" does "
            'not belong to the set "1024,2048,4096". Supply an argument that is in the set '
            "and then try the command again.",
            "ParameterBindingValidationException",
        )
    friendly_name = checked_friendly_name(ctx, args)
    if friendly_name is None:
        friendly_name = DEFAULT_FRIENDLY_NAME
    domains = list(list_values(ctx, args, "DomainName"))
    accepted = [d.domain_name for d in ctx.organization().accepted_domains]
    if args.flag("IncludeServerNetBIOSName"):
        domains.append(server.name)
    if args.flag("IncludeServerFQDN"):
        domains.append(server.fqdn)
    if args.flag("IncludeAcceptedDomains"):
        domains.extend(accepted)
    if args.flag("IncludeAutoDiscover"):
        domains.extend(f"autodiscover.{d}" for d in accepted)
    if not domains:
        domains = [server.name, server.fqdn]
    names = unique(domains)
    if args.flag("GenerateRequest"):
        from labsim.ems.cmdlets.certificate_requests import generate_request

        return generate_request(ctx, args, server, names, friendly_name)
    for parameter in ("RequestFile", "BinaryEncoded"):
        if parameter in args:
            raise ctx.error(
                f"The -{parameter} parameter belongs to a certificate request: add "
                "-GenerateRequest, or leave it out for a self-signed certificate.",
                "ParameterBindingException",
            )
    subject = _self_signed_subject(args.get("SubjectName"))
    if subject is None:
        if len(names[0]) > UB_COMMON_NAME:
            raise ctx.error(
                f"The subject would be CN={names[0]}, the first -DomainName, which holds "
                f"{len(names[0])} characters; a certificate's CN holds at most {UB_COMMON_NAME} "
                "characters. Give -SubjectName with a shorter CN, e.g. -SubjectName "
                '"CN=mail.adatum.com", and keep the long name in -DomainName.'
            )
        subject = SubjectName(names[0])
    assert isinstance(subject, SubjectName)
    smtp_only = args.flag("IncludeAcceptedDomains") or args.flag("IncludeAutoDiscover")
    certificate = ctx.host.issue_certificate(
        server.name,
        issuer="self",
        subject_name=str(subject),
        domain_names=names,
        valid_days=_years_in_days(ctx, SELF_SIGNED_YEARS),
        not_before_days=0,
        services=service_names(args, ("SMTP",) if smtp_only else SELF_SIGNED_SERVICES),
        eku=("serverAuth",),
    )
    # Exchange makes the key non-exportable unless -PrivateKeyExportable $true.
    exportable = args.get("PrivateKeyExportable") is True
    if (
        certificate.friendly_name != friendly_name
        or certificate.private_key_exportable != exportable
    ):
        certificate = ctx.host.certificate_store(server.name).add_personal(
            dataclasses.replace(
                certificate, friendly_name=friendly_name, private_key_exportable=exportable
            )
        )
    return [shown_certificate(ctx, server.name, certificate)]


def _self_signed_subject(value: object) -> SubjectName | None:
    # -SubjectName binds as an X.500 name of any attributes (a request carries them all); a
    # self-signed certificate of the lab carries CN and O, with the binding's message otherwise.
    if value is None:
        return None
    assert isinstance(value, X500Name)
    try:
        subject = SUBJECT_NAME.convert(value.text)
    except ConversionError as err:
        raise transformation("New-ExchangeCertificate", "SubjectName", str(err)) from None
    assert isinstance(subject, SubjectName)
    return subject


def remove_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Remove-ExchangeCertificate [[-Identity] [SERVER\\]THUMB] [-Thumbprint t] [-Server s].

    Removes the certificate from the personal store of every server (of the scope) that holds it;
    labsim never asks for confirmation. Prints nothing.
    """
    thumbprint, server_name = certificate_identity(args)
    if not thumbprint:
        raise ctx.error(
            "Give the certificate to remove: -Thumbprint <40 hex digits> (Get-ExchangeCertificate "
            "lists them), or pipe Get-ExchangeCertificate into Remove-ExchangeCertificate.",
            "ParameterBindingException",
        )
    wanted = _normalize_thumbprint(thumbprint)
    candidates = _servers(ctx, server_name)
    stores = [(s, ctx.host.certificate_store(s.name)) for s in candidates]
    holders = [store for _, store in stores if store.find(wanted)]
    requests = [store for _, store in stores if store.find_request(wanted)]
    if not holders and not requests:
        raise not_found(ctx, thumbprint, candidates)
    for store in holders:
        store.remove_personal(wanted)
    for store in requests:
        store.remove_request(wanted)
    return []


def root_row(certificate: Any, kind: type[RootCertificate] = RootCertificate) -> RootCertificate:
    """``certificate`` as a row of the certificate provider (Import-Certificate, Get-ChildItem)."""
    # ``certificate`` is a cryptography x509.Certificate, typed Any because labsim.ems must not
    # import cryptography (tests/ems/test_purity.py), even for type checking.
    from labsim.pki.certificate import serial_hex, thumbprint_of, windows_name

    return kind(
        thumbprint=thumbprint_of(certificate),
        subject=windows_name(certificate.subject),
        issuer=windows_name(certificate.issuer),
        serial_number=serial_hex(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )


def import_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Import-Certificate -FilePath f -CertStoreLocation Cert:\\LocalMachine\\Root.

    Every certificate of the file is imported and listed, one row each (a PKCS #7 file or a
    PEM file with several certificates, such as an outside organization's roots). Windows
    imports only the first certificate of a PEM file; labsim imports them all and says so in a
    ``labsim note:`` line after the table (docs/fidelity.md), so that a rehearsal which works
    here does not fail on the real server for a root that was never imported.
    """
    from labsim.pki.bundles import read_certificate_file
    from labsim.pki.files import resolve_cert_path

    location = args.text("CertStoreLocation")
    if location is None:
        raise ctx.error(
            "The -CertStoreLocation parameter is needed: labsim's shell has no current "
            f"certificate location. Give -CertStoreLocation {ROOT_STORE}.",
            "ParameterBindingException",
        )
    if location.strip().rstrip("\\/").replace("/", "\\").lower() != ROOT_STORE.lower():
        raise ctx.error(
            f"The certificate store '{location}' (-CertStoreLocation) isn't supported: labsim's "
            f"Import-Certificate imports only into {ROOT_STORE} (trusted root certification "
            "authorities). Server certificates are defined in the lab file.",
            "NotSpecified",
        )
    path_text = args.text("FilePath") or ""
    folder = ctx.host.certificate_folder()
    try:
        path = resolve_cert_path(folder, path_text)
    except PkiError:
        # PowerShell's wording, plus where labsim looks (the pki text quotes the path with repr).
        raise ctx.error(
            f"Cannot find path '{path_text}' because it does not exist (-FilePath). A relative "
            f"path starts at the lab's certificate folder {folder}, e.g. "
            "TreyResearch\\root-ca.cer; / and \\ both work.",
            "ObjectNotFound",
        ) from None
    try:
        found = read_certificate_file(path)
    except PkiError as err:
        raise ctx.error(f"{err} (-FilePath)", "InvalidData") from None
    for server in _servers(ctx, None):
        store = ctx.host.certificate_store(server.name)
        for certificate in found.certificates:
            store.import_root(certificate)
    rows: list[object] = [root_row(certificate) for certificate in found.certificates]
    if not found.windows_imports_all:
        # A labsim note, not Exchange output (docs/exchange-reference.md §17 C13): printed after the
        # table.
        rows.append(
            f"labsim note: {path_text} holds {len(found.certificates)} certificates in PEM "
            "form; labsim imported each of them, but Windows' Import-Certificate imports only "
            "the first certificate of a PEM file. On the real server import each root from a "
            "file of its own, or all of them from one PKCS #7 (.p7b) file."
        )
    return rows


SPECS = (
    CmdletSpec(
        "Get-ExchangeCertificate",
        (
            ParameterSpec("Identity", STRING, position=0),
            ParameterSpec("Thumbprint", STRING),
            ParameterSpec("Server", STRING),
            ParameterSpec("DomainName", STRING_LIST),
            *EXCHANGE_COMMON,
        ),
        get_exchange_certificate,
        synopsis="List certificates of a server (default view: Thumbprint, Services, Subject).",
    ),
    CmdletSpec(
        "Enable-ExchangeCertificate",
        (
            ParameterSpec("Thumbprint", STRING, mandatory=True, position=0),
            ParameterSpec("Server", STRING),
            ParameterSpec("Services", SERVICES_TYPE, mandatory=True),
            ParameterSpec("Force", SWITCH),
            ParameterSpec("DoNotRequireSsl", SWITCH),
            *EXCHANGE_COMMON,
        ),
        enable_exchange_certificate,
        pipeline=certificate_of,
        synopsis="Enable services (SMTP, IIS, …) on a certificate.",
    ),
    CmdletSpec(
        "New-ExchangeCertificate",
        (
            ParameterSpec("Server", STRING),
            ParameterSpec("DomainName", CERTIFICATE_DOMAIN_LIST),
            ParameterSpec("SubjectName", X500_NAME),
            ParameterSpec("Services", SERVICES_TYPE),
            ParameterSpec("FriendlyName", STRING),
            ParameterSpec("IncludeAcceptedDomains", SWITCH),
            ParameterSpec("IncludeAutoDiscover", SWITCH),
            ParameterSpec("IncludeServerFQDN", SWITCH),
            ParameterSpec("IncludeServerNetBIOSName", SWITCH),
            ParameterSpec("KeySize", INT),
            ParameterSpec("PrivateKeyExportable", BOOL),
            ParameterSpec("Force", SWITCH),
            ParameterSpec("GenerateRequest", SWITCH),
            ParameterSpec("RequestFile", STRING),
            ParameterSpec("BinaryEncoded", SWITCH),
            *EXCHANGE_COMMON,
        ),
        new_exchange_certificate,
        synopsis=(
            "Create a self-signed certificate on a server (valid five years), or with "
            "-GenerateRequest a certificate request for a CA."
        ),
    ),
    CmdletSpec(
        "Remove-ExchangeCertificate",
        (
            # Each is mandatory in its own parameter set: $null for either is refused.
            ParameterSpec("Identity", STRING, position=0, mandatory_in_set=True),
            ParameterSpec("Thumbprint", STRING, mandatory_in_set=True),
            ParameterSpec("Server", STRING),
            *EXCHANGE_COMMON,
        ),
        remove_exchange_certificate,
        pipeline=certificate_of,
        synopsis="Delete a certificate from a server's personal store.",
    ),
    CmdletSpec(
        "Import-Certificate",
        (
            ParameterSpec("FilePath", STRING, mandatory=True, position=0),
            ParameterSpec("CertStoreLocation", STRING),
            ParameterSpec("Exportable", SWITCH),
        ),
        import_certificate,
        module="PKI",
        synopsis=(
            "Trust root CAs: import each certificate of a file into Cert:\\LocalMachine\\Root."
        ),
    ),
)
"""The certificate cmdlets."""
