"""Get-ExchangeCertificate, Enable-ExchangeCertificate and Import-Certificate (reference §4.4, §13).

These cmdlets are machine-local: with ``-Server`` (or a ``SERVER\\THUMBPRINT`` identity) they act
on that server; otherwise on the shell's machine when the step names one, and on every server of
the organization when it doesn't (scenario contract). Import-Certificate supports only
``Cert:\\LocalMachine\\Root`` (trusting a partner's root CA is the step Domain Security needs).

``labsim.pki`` is imported inside the functions that need it: it loads service_identity, which
loads pyOpenSSL, and ``import labsim.ems`` must stay light and free of OpenSSL.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import certificate_of, find_server
from labsim.ems.conversions import STRING, STRING_LIST, SWITCH, flags_type
from labsim.ems.outputs import RootCertificate, ServerCertificate
from labsim.errors import CmdletError, PkiError
from labsim.model.organization import Server

if TYPE_CHECKING:
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


def _normalize_thumbprint(text: str) -> str:
    return "".join(text.split()).upper()


def _servers(ctx: CmdletContext, explicit: str | None) -> tuple[Server, ...]:
    if explicit is not None:
        return (find_server(ctx, explicit),)
    if ctx.server is not None:
        return (find_server(ctx, ctx.server),)
    return ctx.organization().servers


def _not_found(ctx: CmdletContext, thumbprint: str, servers: Iterable[Server]) -> CmdletError:
    where = ", ".join(s.name for s in servers)
    return ctx.error(
        f"A special Rpc error occurs on server {where}: The certificate with thumbprint "
        f"{thumbprint} was not found. Run Get-ExchangeCertificate to list the certificates and "
        "their full 40-digit thumbprints.",
        "ManagementObjectNotFoundException",
    )


def _shown(ctx: CmdletContext, server: Server, store: CertificateStore) -> list[ServerCertificate]:
    now = ctx.host.now()
    return [
        ServerCertificate(server.name, cert, cert.status_at(now).value) for cert in store.personal()
    ]


def get_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-ExchangeCertificate [[-Identity] [SERVER\\]THUMB] [-Thumbprint t] [-Server s] [-DomainName d]."""
    identity = args.text("Identity")
    server_name = args.text("Server")
    thumbprint = args.text("Thumbprint")
    if identity is not None:
        if "\\" in identity:
            prefix, identity = identity.split("\\", 1)
            server_name = server_name or prefix
        thumbprint = thumbprint or identity
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
        raise _not_found(ctx, thumbprint, servers)
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
        raise _not_found(ctx, thumbprint, candidates)
    for server in holders:
        try:
            ctx.host.certificate_store(server.name).enable_services(thumbprint, names)
        except PkiError as err:
            raise ctx.error(str(err)) from None
    return []


def import_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Import-Certificate -FilePath f -CertStoreLocation Cert:\\LocalMachine\\Root."""
    from labsim.pki.certificate import serial_hex, thumbprint_of, windows_name
    from labsim.pki.files import load_certificate_file, resolve_cert_path

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
        certificate = load_certificate_file(path)
    except PkiError as err:
        raise ctx.error(f"{err} (-FilePath)", "InvalidData") from None
    for server in _servers(ctx, None):
        ctx.host.certificate_store(server.name).import_root(certificate)
    return [
        RootCertificate(
            thumbprint=thumbprint_of(certificate),
            subject=windows_name(certificate.subject),
            issuer=windows_name(certificate.issuer),
            serial_number=serial_hex(certificate),
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )
    ]


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
            ParameterSpec(
                "Services",
                flags_type(
                    AllowedServices,
                    "Microsoft.Exchange.Management.SystemConfigurationTasks.AllowedServices",
                ),
                mandatory=True,
            ),
            ParameterSpec("Force", SWITCH),
            ParameterSpec("DoNotRequireSsl", SWITCH),
            *EXCHANGE_COMMON,
        ),
        enable_exchange_certificate,
        pipeline=certificate_of,
        synopsis="Enable services (SMTP, IIS, …) on a certificate.",
    ),
    CmdletSpec(
        "Import-Certificate",
        (
            ParameterSpec("FilePath", STRING, mandatory=True, position=0),
            ParameterSpec("CertStoreLocation", STRING),
            ParameterSpec("Exportable", SWITCH),
        ),
        import_certificate,
        synopsis="Trust a root CA: import a .cer into Cert:\\LocalMachine\\Root.",
    ),
)
"""The certificate cmdlets."""
