"""Lab actions: the trainer's hand on the lab, in the shell (issue 3, "What to build" item 2).

These are not Exchange cmdlets, and their noun prefix ``Lab`` says so, so that no one mistakes
them for Exchange's: stop and start a server (Stop-/Start-/Get-LabServer), make a CA's CRL
unreachable (Set-/Get-LabCrl), revoke a certificate (Revoke-LabCertificate), issue one
(New-LabCertificate), and play an enterprise CA answering a certificate request
(Submit-LabCertificateRequest). They act lab-wide: a server or organization of any organization may be
named, whatever organization the shell runs on. The shell checks names and values (with the same
error texts as the Exchange cmdlets) and the host carries the action out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.certificates import (
    SERVICES_TYPE,
    list_values,
    service_names,
    shown_certificate,
    unique,
)
from labsim.ems.cmdlets.common import (
    certificate_of,
    find_lab_organization,
    find_lab_server,
    identity_matches,
    identity_of,
    lab_servers,
    not_found,
)
from labsim.ems.conversions import (
    BOOL,
    CERTIFICATE_DOMAIN_LIST,
    EKU_LIST,
    INT,
    STRING,
    SUBJECT_NAME,
    SubjectName,
    enum_type,
)
from labsim.ems.host import PUBLIC_CA
from labsim.ems.messages import out_of_range
from labsim.ems.outputs import LabCrl, LabServer, RevokedCertificate
from labsim.errors import PkiError
from labsim.limits import NOT_BEFORE_DAYS_RANGE, VALID_DAYS_RANGE
from labsim.model.organization import Server

ISSUER_KEYWORDS = ("own", "public", "self")
"""-Issuer values besides an organization's name."""


class CertificateTemplate(enum.Enum):
    """Certificate templates the lab's enterprise CAs publish (labsim.pki.requests.TEMPLATES)."""

    COMPUTER = "Computer"
    WEB_SERVER = "WebServer"


TEMPLATE_TYPE = enum_type(CertificateTemplate, "System.String")
"""-Template of Submit-LabCertificateRequest (Tab offers the values)."""

DEFAULT_EKU = ("serverAuth", "clientAuth")
"""-Eku of New-LabCertificate when not given: what a Domain Security certificate needs."""


# -- servers ---------------------------------------------------------------------------------------


def _lab_server(ctx: CmdletContext, organization: str, server: Server) -> LabServer:
    return LabServer(
        name=server.name,
        organization=organization,
        role=server.role,
        fqdn=server.fqdn,
        address=server.address,
        running=ctx.host.server_running(server.name),
        ports=tuple(f"{port}->{real}" for port, real in ctx.host.listening_ports(server.name)),
    )


def get_lab_server(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-LabServer [[-Identity] name]: every server of the lab, or those matching (wildcards)."""
    servers = lab_servers(ctx)
    identity = args.text("Identity")
    if identity is not None:
        servers = [
            (org, s)
            for org, s in servers
            if identity_matches(identity, s.name) or identity_matches(identity, s.fqdn)
        ]
        if not servers and "*" not in identity:
            names = ", ".join(s.name for _, s in lab_servers(ctx))
            raise not_found(ctx, identity, f"The servers of this lab are {names}.")
    return [_lab_server(ctx, org, s) for org, s in servers]


def stop_lab_server(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Stop-LabServer [-Identity] name: its listeners close and its queues stop. Prints nothing."""
    _, server = find_lab_server(ctx, args.text("Identity") or "")
    if not ctx.host.server_running(server.name):
        ctx.warn(f"The server '{server.name}' is already stopped; nothing was changed.")
        return []
    ctx.host.stop_server(server.name)
    return []


def start_lab_server(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Start-LabServer [-Identity] name: listeners open and queues resume. Prints nothing."""
    _, server = find_lab_server(ctx, args.text("Identity") or "")
    if ctx.host.server_running(server.name):
        ctx.warn(f"The server '{server.name}' is already running; nothing was changed.")
        return []
    ctx.host.start_server(server.name)
    return []


# -- CRLs ------------------------------------------------------------------------------------------


def _crl_row(ctx: CmdletContext, organization: str) -> LabCrl:
    return LabCrl(
        organization=organization,
        certification_authority=ctx.host.certification_authority(organization),
        reachable=ctx.host.crl_reachable(organization),
    )


def get_lab_crl(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-LabCrl [[-Organization] name]: each CA's CRL and whether it can be fetched."""
    names = [*ctx.host.organization_names(), PUBLIC_CA]
    wanted = args.text("Organization")
    if wanted is not None:
        if "*" in wanted or "?" in wanted:
            names = [n for n in names if identity_matches(wanted, n)]
        else:
            names = [find_lab_organization(ctx, wanted, "Organization", public=True)]
    return [_crl_row(ctx, n) for n in names]


def set_lab_crl(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Set-LabCrl [-Organization] name|Public -Reachable $true|$false. Prints nothing."""
    organization = find_lab_organization(
        ctx, args.text("Organization") or "", "Organization", public=True
    )
    reachable = args.flag("Reachable")
    if reachable is None:
        raise ctx.error("The parameter -Reachable can't be $null; give $true or $false.")
    if ctx.host.crl_reachable(organization) == reachable:
        state = "reachable" if reachable else "unreachable"
        ctx.warn(
            f"The CRL of {ctx.host.certification_authority(organization)} is already {state}; "
            "nothing was changed."
        )
        return []
    ctx.host.set_crl_reachable(organization, reachable)
    return []


# -- certificates ----------------------------------------------------------------------------------


def _thumbprint(text: str) -> str:
    return "".join(text.split()).upper()


def revoke_lab_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Revoke-LabCertificate [-Thumbprint] t [-Server s]: the issuing CA revokes it at lab time.

    Without -Server the certificate is looked for on the shell's machine, or else on every server
    of the lab. Prints the revocation (Thumbprint, Subject, CertificationAuthority).
    """
    thumbprint = _thumbprint(args.text("Thumbprint") or "")
    explicit = args.text("Server") or ctx.server
    if explicit is not None:
        candidates = [find_lab_server(ctx, explicit)[1]]
    else:
        candidates = [s for _, s in lab_servers(ctx)]
    holders = [
        (s, found)
        for s in candidates
        if (found := ctx.host.certificate_store(s.name).find(thumbprint)) is not None
    ]
    if not holders:
        where = candidates[0].name if len(candidates) == 1 else "any server of the lab"
        raise ctx.error(
            f"The certificate with thumbprint {thumbprint} isn't on {where}. Run "
            "Get-ExchangeCertificate -Server <server> to list the certificates and their full "
            "40-digit thumbprints.",
            "ObjectNotFound",
        )
    server, certificate = holders[0]
    if certificate.is_self_signed:
        raise ctx.error(
            f"The certificate {thumbprint} ({certificate.subject}) on {server.name} is "
            "self-signed: no certification authority issued it, so none can revoke it. Remove it "
            "with Remove-ExchangeCertificate instead.",
            "InvalidOperation",
        )
    authority = ctx.host.revoke_certificate(server.name, thumbprint)
    return [
        RevokedCertificate(
            server=server.name,
            thumbprint=certificate.thumbprint,
            subject=certificate.subject,
            serial_number=certificate.serial_number,
            certification_authority=authority,
            revocation_date=ctx.host.lab_time(),
        )
    ]


def _issuer(ctx: CmdletContext, text: str) -> str:
    key = text.strip().lower()
    if key in ISSUER_KEYWORDS:
        return key
    for name in ctx.host.organization_names():
        if name.lower() == key:
            return name
    choices = ", ".join((*ISSUER_KEYWORDS, *ctx.host.organization_names()))
    raise ctx.error(
        f"The issuer '{text}' (-Issuer) isn't known. Give own (the server's organization's CA), "
        "public (the lab's public CA), self (self-signed) or an organization's name: "
        f"{choices}.",
        "ObjectNotFound",
    )


def _days(ctx: CmdletContext, args: Arguments, parameter: str, default: int) -> int:
    value = args.get(parameter, default)
    if not isinstance(value, int):
        raise ctx.error(f"The parameter -{parameter} can't be $null; give a number of days.")
    low, high = VALID_DAYS_RANGE if parameter == "ValidDays" else NOT_BEFORE_DAYS_RANGE
    if not low <= value <= high:
        raise out_of_range(
            ctx.cmdlet,
            parameter,
            str(value),
            str(high if value > high else low),
            too_large=value > high,
        )
    return value


def new_lab_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """New-LabCertificate -Server s -Issuer own|public|<Org>|self -SubjectName "CN=…" [-DomainName
    a,b] [-ValidDays 730] [-NotBeforeDays 0] [-Services SMTP] [-Eku serverAuth,clientAuth].

    Issues a certificate with a new key into the server's personal store and prints it.
    NotBefore is lab time plus -NotBeforeDays days (negative: in the past) and NotAfter is
    NotBefore plus -ValidDays days, so ``-NotBeforeDays -800 -ValidDays 30`` makes an expired
    certificate. The SAN holds exactly the -DomainName names (none: a CN-only certificate).
    """
    _, server = find_lab_server(ctx, args.text("Server") or "")
    issuer = _issuer(ctx, args.text("Issuer") or "")
    subject = args.get("SubjectName")
    if not isinstance(subject, SubjectName):
        raise ctx.error(
            'The parameter -SubjectName can\'t be $null; give e.g. "CN=mail.adatum.com".'
        )
    # -Eku $null: no EKU extension (any purpose); not given: serverAuth and clientAuth.
    eku = list_values(ctx, args, "Eku") if "Eku" in args else DEFAULT_EKU
    certificate = ctx.host.issue_certificate(
        server.name,
        issuer=issuer,
        subject_name=str(subject),
        domain_names=unique(list_values(ctx, args, "DomainName")),
        valid_days=_days(ctx, args, "ValidDays", 730),
        not_before_days=_days(ctx, args, "NotBeforeDays", 0),
        services=service_names(args, ("SMTP",)),
        eku=unique(eku),
    )
    return [shown_certificate(ctx, server.name, certificate)]


def submit_lab_certificate_request(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Submit-LabCertificateRequest -RequestFile r -CertificateFile c [-Issuer own|public|<Org>]
    [-Template Computer|WebServer] [-ValidDays 730].

    The organization's enterprise CA (``own``: the shell's organization) signs the request
    New-ExchangeCertificate -GenerateRequest wrote, as ``certreq -submit`` would: the subject
    and DNS names of the request, the template's EKU (Computer: client and server
    authentication; WebServer: server authentication only), the CA's CRL distribution point.
    Writes the certificate to -CertificateFile: Base64 (.cer, .crt, .pem), DER (.der) or
    PKCS #7 with the CA's chain (.p7b).
    """
    from labsim.ems.cmdlets.certificate_requests import lab_path
    from labsim.pki.bundles import write_issued_certificate
    from labsim.pki.files import resolve_cert_path
    from labsim.pki.requests import read_request

    request_text = args.text("RequestFile") or ""
    certificate_text = args.text("CertificateFile") or ""
    issuer_text = args.text("Issuer") or "own"
    issuer = _issuer(ctx, issuer_text)
    if issuer == "self":
        raise ctx.error(
            "A certificate request goes to a CA: give -Issuer own (your organization's CA), "
            "public (the lab's public CA) or an organization's name; New-ExchangeCertificate "
            "without -GenerateRequest makes a self-signed certificate.",
            "InvalidArgument",
        )
    if issuer == "own":
        issuer = ctx.organization().name
    chosen = args.get("Template") or CertificateTemplate.COMPUTER
    assert isinstance(chosen, CertificateTemplate)
    template = chosen.value
    valid_days = _days(ctx, args, "ValidDays", 730)
    folder = ctx.host.certificate_folder()
    try:
        request_path = resolve_cert_path(folder, request_text)
        request = read_request(request_path.read_bytes(), request_text)
    except PkiError as err:
        raise ctx.error(f"{err} (-RequestFile)", "InvalidData") from None
    except OSError as err:
        raise ctx.error(
            f"Could not read {request_text} ({err.strerror or err}) (-RequestFile).", "ReadError"
        ) from None
    certificate = ctx.host.sign_certificate_request(
        request, issuer=issuer, template=template, valid_days=valid_days
    )
    target = lab_path(ctx, certificate_text, "CertificateFile")
    try:
        write_issued_certificate(target, certificate.certificate, certificate.chain)
    except OSError as err:
        raise ctx.error(
            f"Could not write {certificate_text} ({target}): {err.strerror or err}. Give a "
            "-CertificateFile in a folder you can write.",
            "WriteError",
        ) from None
    return [
        f"Issued by {certificate.issuer} ({template} template): {certificate.subject}, "
        f"thumbprint {certificate.thumbprint}, valid until "
        f"{certificate.not_after:%Y-%m-%d}.",
        f"labsim note: the certificate file {certificate_text} is {target}; complete the "
        "request with Import-ExchangeCertificate -Server <the server that made it> -FileName "
        f"{certificate_text}",
    ]


SPECS = (
    CmdletSpec(
        "Get-LabServer",
        (ParameterSpec("Identity", STRING, position=0),),
        get_lab_server,
        synopsis="Lab action: list the lab's servers and whether each is running.",
    ),
    CmdletSpec(
        "Stop-LabServer",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0),),
        stop_lab_server,
        pipeline=identity_of,
        synopsis="Lab action: stop a server (listeners close, queues stop).",
    ),
    CmdletSpec(
        "Start-LabServer",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0),),
        start_lab_server,
        pipeline=identity_of,
        synopsis="Lab action: start a stopped server.",
    ),
    CmdletSpec(
        "Get-LabCrl",
        (ParameterSpec("Organization", STRING, position=0),),
        get_lab_crl,
        synopsis="Lab action: list each CA's CRL and whether it can be fetched.",
    ),
    CmdletSpec(
        "Set-LabCrl",
        (
            ParameterSpec("Organization", STRING, mandatory=True, position=0),
            ParameterSpec("Reachable", BOOL, mandatory=True),
        ),
        set_lab_crl,
        synopsis="Lab action: make an organization's (or the public CA's) CRL (un)reachable.",
    ),
    CmdletSpec(
        "Revoke-LabCertificate",
        (
            ParameterSpec("Thumbprint", STRING, mandatory=True, position=0),
            ParameterSpec("Server", STRING),
        ),
        revoke_lab_certificate,
        pipeline=certificate_of,
        synopsis="Lab action: the issuing CA revokes a server's certificate.",
    ),
    CmdletSpec(
        "New-LabCertificate",
        (
            ParameterSpec("Server", STRING, mandatory=True),
            ParameterSpec("Issuer", STRING, mandatory=True),
            ParameterSpec("SubjectName", SUBJECT_NAME, mandatory=True),
            ParameterSpec("DomainName", CERTIFICATE_DOMAIN_LIST),
            ParameterSpec("ValidDays", INT),
            ParameterSpec("NotBeforeDays", INT),
            ParameterSpec("Services", SERVICES_TYPE),
            ParameterSpec("Eku", EKU_LIST),
        ),
        new_lab_certificate,
        synopsis="Lab action: issue a certificate (own/public/another org's CA, or self-signed).",
    ),
    CmdletSpec(
        "Submit-LabCertificateRequest",
        (
            ParameterSpec("RequestFile", STRING, mandatory=True),
            ParameterSpec("CertificateFile", STRING, mandatory=True),
            ParameterSpec("Issuer", STRING),
            ParameterSpec("Template", TEMPLATE_TYPE),
            ParameterSpec("ValidDays", INT),
        ),
        submit_lab_certificate_request,
        synopsis="Lab action: an organization's CA signs a certificate request file.",
    ),
)
"""The lab action cmdlets."""
