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
from labsim.ems.cmdlets.certificates import (
    certificate_identity,
    checked_friendly_name,
    not_found,
    shown_certificate,
)
from labsim.ems.cmdlets.common import certificate_of, find_server
from labsim.ems.conversions import (
    BOOL,
    SECURE_STRING,
    STRING,
    SWITCH,
    ParamType,
    X500Name,
)
from labsim.ems.parser import SecureString
from labsim.errors import CmdletError, PkiError
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
    import dataclasses

    from labsim.pki.requests import PendingRequest, request_text

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
    # The key is made now: whether it may ever leave the server is decided now (Exchange's
    # default: it may not).
    exportable = args.get("PrivateKeyExportable") is True
    if pending.placeholder.private_key_exportable != exportable:
        pending = ctx.host.certificate_store(server.name).add_request(
            PendingRequest(
                pending.request,
                dataclasses.replace(pending.placeholder, private_key_exportable=exportable),
            )
        )
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

    if "FileData" in args:
        raise ctx.error(
            "-FileData isn't supported: labsim's shell reads files by name: give -FileName "
            "C:\\certificates\\mail.cer instead of -FileData ([Byte[]]$(Get-Content ...)).",
            "NotImplemented",
        )
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
    friendly = checked_friendly_name(ctx, args)
    password = args.get("Password")
    if password is not None or file_name.strip().strip("'\"").lower().endswith(PFX_SUFFIXES):
        return _import_pfx(ctx, args, server, file_name, password, friendly)
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
    candidates = (*found.certificates, *ctx.host.known_authorities())
    out: list[object] = []
    notes: list[str] = []
    for leaf in leaves:
        thumbprint = thumbprint_of(leaf)
        if store.find(thumbprint) is not None:
            raise _already_there(ctx, server, thumbprint)
        pending = store.request_for(leaf)
        if pending is not None:
            record = ExchangeCertificate(
                certificate=leaf,
                private_key=pending.private_key,
                chain=chain_for(leaf, candidates),
                friendly_name=friendly or pending.placeholder.friendly_name,
                private_key_exportable=pending.placeholder.private_key_exportable,
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


def _already_there(ctx: CmdletContext, server: Server, thumbprint: str) -> CmdletError:
    return ctx.error(
        f"A special Rpc error occurs on server {server.name}: Cannot import certificate. "
        f"A certificate with the thumbprint {thumbprint} already exists.",
        "InvalidOperationException",
    )


def resolve_cert_path_or_fail(ctx: CmdletContext, file_name: str) -> Path:
    """The file ``-FileName`` names, or the cmdlet's error naming it."""
    from labsim.pki.files import resolve_cert_path

    try:
        return resolve_cert_path(ctx.host.certificate_folder(), file_name)
    except PkiError as err:
        raise ctx.error(f"{err} (-FileName)", "ObjectNotFound") from None


def _import_pfx(
    ctx: CmdletContext,
    args: Arguments,
    server: Server,
    file_name: str,
    password: object,
    friendly: str | None,
) -> list[object]:
    """Import-ExchangeCertificate of a PKCS #12 file: the certificate with its private key and
    chain; the key may be exported again only with -PrivateKeyExportable $true (Exchange's
    default is $false)."""
    import dataclasses

    from labsim.pki.bundles import read_pfx

    if not isinstance(password, SecureString):
        raise ctx.error(
            f"{file_name} is a PKCS #12 (.pfx) file: give its password, -Password "
            "(ConvertTo-SecureString -String '<password>' -AsPlainText -Force).",
            "ParameterBindingException",
        )
    try:
        path = resolve_cert_path_or_fail(ctx, file_name)
        record = read_pfx(path.read_bytes(), password.text, file_name)
    except PkiError as err:
        raise ctx.error(str(err), "InvalidData") from None
    except OSError as err:
        raise ctx.error(f"Could not read {file_name}: {err.strerror or err}", "ReadError") from None
    store = ctx.host.certificate_store(server.name)
    if store.find(record.thumbprint) is not None:
        raise _already_there(ctx, server, record.thumbprint)
    record = dataclasses.replace(
        record,
        friendly_name=friendly if friendly is not None else record.friendly_name,
        private_key_exportable=args.get("PrivateKeyExportable") is True,
    )
    return [shown_certificate(ctx, server.name, store.add_personal(record))]


def export_exchange_certificate(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Export-ExchangeCertificate [-Thumbprint] t [-Server s] -FileName f [-BinaryEncoded]
    [-Password p].

    With -Password: the certificate, its private key and chain as a PKCS #12 file (DER with
    -BinaryEncoded, Base64 without), which Import-ExchangeCertificate -Password takes on another
    server; only a key made exportable (-PrivateKeyExportable $true) may leave. Without it: the
    certificate alone (.cer, Base64 or DER).
    """
    from labsim.pki.bundles import pfx_bytes, write_issued_certificate

    named, server_name = certificate_identity(args)
    thumbprint = "".join((named or "").split()).upper()
    if not thumbprint:
        raise ctx.error(
            "Give the certificate to export: -Thumbprint <40 hex digits> (Get-ExchangeCertificate "
            "lists them), or pipe Get-ExchangeCertificate into Export-ExchangeCertificate.",
            "ParameterBindingException",
        )
    explicit = server_name or ctx.server
    servers = (find_server(ctx, explicit),) if explicit else ctx.organization().servers
    holder = next((s for s in servers if ctx.host.certificate_store(s.name).find(thumbprint)), None)
    if holder is None:
        raise not_found(ctx, thumbprint, servers)
    record = ctx.host.certificate_store(holder.name).find(thumbprint)
    assert record is not None
    file_name = args.text("FileName")
    if not file_name:
        raise ctx.error(
            "Give the file to write: -FileName C:\\certificates\\mail.pfx (labsim writes the "
            "export to a file; it does not return the bytes).",
            "ParameterBindingException",
        )
    password = args.get("Password")
    binary = bool(args.flag("BinaryEncoded"))
    target = lab_path(ctx, file_name, "FileName")
    if isinstance(password, SecureString):
        if record.private_key is None or not record.private_key_exportable:
            # Exchange 2013's text when the key may not leave the server.
            raise ctx.error(
                f"A special Rpc error occurs on server {holder.name}: The private key couldn't "
                "be exported as PKCS-12. It either couldn't be accessed or isn't exportable.",
                "InvalidOperationException",
            )
        data = pfx_bytes(record, password.text)
        if not binary:
            import base64

            data = base64.encodebytes(data).replace(b"\n", b"\r\n")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as err:
            raise ctx.error(
                f"Could not write {file_name} ({target}): {err.strerror or err}.", "WriteError"
            ) from None
    else:
        try:
            write_issued_certificate(target, record.certificate, (), binary=binary)
        except OSError as err:
            raise ctx.error(
                f"Could not write {file_name} ({target}): {err.strerror or err}.", "WriteError"
            ) from None
    return [_where_note(file_name, target, "the exported file")]


SPECS = (
    CmdletSpec(
        "Export-ExchangeCertificate",
        (
            # Each is mandatory in its own parameter set: $null for either is refused.
            ParameterSpec("Thumbprint", STRING, position=0, mandatory_in_set=True),
            ParameterSpec("Identity", STRING, mandatory_in_set=True),
            ParameterSpec("Server", STRING),
            ParameterSpec("FileName", STRING),
            ParameterSpec("BinaryEncoded", SWITCH),
            ParameterSpec("Password", SECURE_STRING),
            *EXCHANGE_COMMON,
        ),
        export_exchange_certificate,
        pipeline=certificate_of,
        synopsis=(
            "Write a certificate with its private key to a .pfx (-Password), to import it on "
            "another server."
        ),
    ),
    CmdletSpec(
        "Import-ExchangeCertificate",
        (
            ParameterSpec("FileName", STRING),
            ParameterSpec("FileData", FILE_DATA),
            ParameterSpec("Password", SECURE_STRING),
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
