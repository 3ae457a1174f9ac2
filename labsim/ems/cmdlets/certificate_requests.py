"""A certificate from a certification authority, as an admin gets one for Exchange 2013:
``New-ExchangeCertificate -GenerateRequest`` on the server, the CA signs the request, and
``Import-ExchangeCertificate`` on the same server completes it (docs/certificates.md).

Owns the request branch of New-ExchangeCertificate, Import-ExchangeCertificate, and the lab's
stand-in for the CA's side, Submit-LabCertificateRequest (``certreq -submit`` against the
organization's enterprise CA). The CA's key is also in the certificate folder
(``<Org>/root-ca.key``), so ``openssl x509 -req`` can sign a request as well.

What an admin meets here as on a real server: the private key stays on the server that made
the request, so completing the request on another server imports the certificate without its
key (HasPrivateKey False), and Enable-ExchangeCertificate then refuses it with Exchange's
``reason: PrivateKeyMissing``; the pending request is listed with Status ``PendingRequest`` and
has a thumbprint of its own, which the issued certificate does not keep.

``labsim.pki`` is imported inside the functions (see :mod:`labsim.ems.cmdlets.certificates`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from labsim.ems.catalog import EXCHANGE_COMMON, Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.certificates import shown_certificate
from labsim.ems.cmdlets.common import find_server
from labsim.ems.conversions import BOOL, STRING, ParamType, X500Name
from labsim.errors import PkiError
from labsim.model.organization import Server

PFX_SUFFIXES = (".pfx", ".p12")

FILE_DATA = ParamType("System.Byte[]", lambda value: value)
"""-FileData binds whatever was given, so that the cmdlet's own message (use -FileName) shows
instead of a conversion error about an array."""


def lab_path(ctx: CmdletContext, text: str, parameter: str) -> Path:
    """The file a typed path names (``labsim.pki.files.lab_file_path``); a clear error if empty."""
    from labsim.pki.files import lab_file_path

    try:
        return lab_file_path(ctx.host.certificate_folder(), text)
    except PkiError as err:
        raise ctx.error(f"{err} (-{parameter})", "InvalidArgument") from None


def _where_note(text: str, path: Path, what: str) -> str:
    # A labsim note, not Exchange output: where a Windows path of the shell is on this machine.
    return f"labsim note: {what} {text} is {path}"


def generate_request(
    ctx: CmdletContext, args: Arguments, server: Server, names: Sequence[str], friendly_name: str
) -> Iterable[object]:
    """New-ExchangeCertificate -GenerateRequest: a new key and a PKCS #10 request on ``server``.

    Writes the request (Base64 in CertEnroll's armour, or DER with -BinaryEncoded) to
    -RequestFile and to the pipeline, as Exchange 2013 does; the request waits in the server's
    REQUEST store (Get-ExchangeCertificate: Status PendingRequest).
    """
    from labsim.pki.requests import request_text

    binary = bool(args.flag("BinaryEncoded"))
    request_file = args.text("RequestFile")
    if binary and not request_file:
        raise ctx.error(
            "-BinaryEncoded writes the request in DER form to a file: give -RequestFile too, "
            "e.g. -RequestFile C:\\certreq\\mail.req.",
            "ParameterBindingException",
        )
    subject = args.get("SubjectName")
    if subject is None:
        subject_text = f"CN={names[0]}"
    else:
        assert isinstance(subject, X500Name)
        subject_text = subject.text
    try:
        pending = ctx.host.request_certificate(
            server.name, subject_name=subject_text, domain_names=names, friendly_name=friendly_name
        )
    except PkiError as err:
        raise ctx.error(f"{err} (-SubjectName)", "InvalidArgument") from None
    text = request_text(pending.request)
    out: list[object] = [text.decode("ascii").replace("\r\n", "\n").rstrip("\n")]
    if request_file:
        path = lab_path(ctx, request_file, "RequestFile")
        data = request_text(pending.request, binary=binary)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as err:
            raise ctx.error(
                f"Could not write the request to {request_file} ({path}): "
                f"{err.strerror or err}. Give a -RequestFile in a folder you can write.",
                "WriteError",
            ) from None
        out.append(_where_note(request_file, path, "the request file"))
    return out


def import_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Import-ExchangeCertificate -FileName f [-Server s] [-FriendlyName n].

    The file (.cer in Base64 or DER, or a .p7b with the chain) holds the certificate a CA issued
    for a request of this server: the pending request is completed (the certificate gets the
    request's private key, Services None) and leaves the REQUEST store. A certificate for which
    this server made no request is imported without a private key, as Windows does.
    """
    from labsim.pki.bundles import read_certificate_file
    from labsim.pki.certificate import ExchangeCertificate, thumbprint_of
    from labsim.pki.files import resolve_cert_path
    from labsim.pki.requests import chain_for, end_entities

    for refused, fix in (
        (
            "FileData",
            "labsim's shell reads files by name: give -FileName C:\\certificates\\mail.cer "
            "instead of -FileData ([Byte[]]$(Get-Content ...)).",
        ),
        (
            "Password",
            "labsim imports a CA's answer to a request made on the server (.cer or .p7b), not "
            "PKCS #12 (.pfx) files with a private key; make the request on this server with "
            "New-ExchangeCertificate -GenerateRequest.",
        ),
    ):
        if refused in args:
            raise ctx.error(f"-{refused} isn't supported: {fix}", "NotImplemented")
    file_name = args.text("FileName")
    if not file_name:
        raise ctx.error(
            "Give the certificate file the CA issued: -FileName C:\\certificates\\mail.cer "
            "(a .cer in Base64 or DER, or a .p7b).",
            "ParameterBindingException",
        )
    explicit = args.text("Server") or ctx.server
    if explicit is None:
        listed = ", ".join(s.name for s in ctx.organization().servers)
        raise ctx.error(
            "Import-ExchangeCertificate imports into one server's store and this shell has no "
            f"machine: give -Server, the server that made the request (the servers of "
            f"{ctx.organization().name} are {listed}).",
            "ParameterBindingException",
        )
    server = find_server(ctx, explicit)
    if file_name.strip().strip("'\"").lower().endswith(PFX_SUFFIXES):
        raise ctx.error(
            f"{file_name} is a PKCS #12 file: labsim imports a CA's answer to a request made on "
            "the server (.cer or .p7b), not .pfx files; make the request with "
            "New-ExchangeCertificate -GenerateRequest -Server " + server.name + ".",
            "NotImplemented",
        )
    try:
        path = resolve_cert_path(ctx.host.certificate_folder(), file_name)
        found = read_certificate_file(path)
    except PkiError as err:
        raise ctx.error(f"{err} (-FileName)", "InvalidData") from None
    leaves = end_entities(found.certificates)
    if not leaves:
        raise ctx.error(
            f"{file_name} holds only CA certificates; to trust a root CA use Import-Certificate "
            "-CertStoreLocation Cert:\\LocalMachine\\Root, and give Import-ExchangeCertificate "
            "the certificate the CA issued for this server's request.",
            "InvalidData",
        )
    store = ctx.host.certificate_store(server.name)
    friendly = args.text("FriendlyName")
    if friendly is not None and (not friendly.strip() or len(friendly) >= 64):
        raise ctx.error(
            'The -FriendlyName parameter must hold 1 to 63 characters; give e.g. "Adatum SMTP".'
        )
    candidates = (*found.certificates, *ctx.host.known_authorities())
    out: list[object] = []
    notes: list[str] = []
    for leaf in leaves:
        thumbprint = thumbprint_of(leaf)
        if store.find(thumbprint) is not None:
            raise ctx.error(
                f"A special Rpc error occurs on server {server.name}: Cannot import certificate. "
                f"A certificate with the thumbprint {thumbprint} already exists.",
                "InvalidOperationException",
            )
        pending = store.request_for(leaf)
        if pending is not None:
            record = ExchangeCertificate(
                certificate=leaf,
                private_key=pending.private_key,
                chain=chain_for(leaf, candidates),
                friendly_name=friendly or pending.placeholder.friendly_name,
            )
            store.remove_request(pending.thumbprint)
        else:
            record = ExchangeCertificate(
                certificate=leaf,
                chain=chain_for(leaf, candidates),
                friendly_name=friendly or "",
            )
            others = [
                s.name
                for s in ctx.organization().servers
                if s.name != server.name and ctx.host.certificate_store(s.name).request_for(leaf)
            ]
            where = (
                f" The request was made on {', '.join(others)}: complete it there."
                if others
                else ""
            )
            notes.append(
                f"labsim note: no pending request on {server.name} has this certificate's key, "
                "so it was imported without its private key (HasPrivateKey False), as Windows "
                "does; Exchange cannot use it for SMTP." + where
            )
        record = store.add_personal(record)
        out.append(shown_certificate(ctx, server.name, record))
    return [*out, *notes]


SPECS = (
    CmdletSpec(
        "Import-ExchangeCertificate",
        (
            ParameterSpec("FileName", STRING),
            ParameterSpec("FileData", FILE_DATA),
            ParameterSpec("Password", STRING),
            ParameterSpec("Server", STRING),
            ParameterSpec("FriendlyName", STRING),
            ParameterSpec("PrivateKeyExportable", BOOL),
            *EXCHANGE_COMMON,
        ),
        import_exchange_certificate,
        synopsis=(
            "Complete a certificate request made on the server with the certificate the CA "
            "issued (.cer or .p7b)."
        ),
    ),
)
"""The request workflow's Exchange cmdlet (New-ExchangeCertificate lives with the others)."""
