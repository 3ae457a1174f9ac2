"""Get-ChildItem (``dir``, ``ls``) and Remove-Item (``del``, ``rm``) over PowerShell's
certificate provider: the trusted roots (``Cert:\\LocalMachine\\Root``) and personal
certificates (``Cert:\\LocalMachine\\My``) of one server's store.

Remove-Item takes the scope Import-Certificate writes to (the shell's machine, else every server
of the organization), so that removing a partner's root undoes importing it.

The store is the shell's machine when it has one, else the organization's first server: a real
admin's ``dir Cert:`` always reads the one computer the shell runs on. The rows are the ones
Import-Certificate writes (one source); other paths get PowerShell's not-found error.
"""

from __future__ import annotations

from collections.abc import Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.certificates import ROOT_STORE, _servers, root_row
from labsim.ems.cmdlets.common import find_server
from labsim.ems.cmdlets.log_files import INSTALL_PATH, child_items
from labsim.ems.conversions import STRING
from labsim.ems.outputs import PersonalCertificate, RootCertificate

PERSONAL_STORE = "Cert:\\LocalMachine\\My"
"""The server's personal store (its Exchange certificates)."""


def _store_key(path: str) -> str:
    # PowerShell accepts either slash, any case and a trailing separator.
    return path.strip().replace("/", "\\").rstrip("\\").lower()


def get_child_item(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-ChildItem [-Path] Cert:\\LocalMachine\\Root|My: the certificates of that store; a
    server's log folder: its files (labsim.ems.cmdlets.log_files)."""
    path = args.text("Path")
    if path is None:
        raise ctx.error(
            "labsim's shell has no current location: give the certificate store, "
            f"e.g. Get-ChildItem {ROOT_STORE} or Get-ChildItem {PERSONAL_STORE}, or a log "
            f"folder, e.g. Get-ChildItem 'C:\\{INSTALL_PATH}\\TransportRoles\\Logs'.",
            "ParameterBindingException",
        )
    if not path.strip().lower().startswith("cert:"):
        return child_items(ctx, path)
    key = _store_key(path)
    if key not in (_store_key(ROOT_STORE), _store_key(PERSONAL_STORE)):
        raise ctx.error(
            f"Cannot find path '{path}' because it does not exist. labsim lists only "
            f"{ROOT_STORE} and {PERSONAL_STORE}.",
            "ObjectNotFound",
        )
    org = ctx.organization()
    server = find_server(ctx, ctx.server) if ctx.server is not None else org.servers[0]
    store = ctx.host.certificate_store(server.name)
    if key == _store_key(ROOT_STORE):
        return [root_row(c) for c in store.trusted_roots()]
    return [root_row(c.certificate, PersonalCertificate) for c in store.personal()]


def remove_item(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Remove-Item [-Path] Cert:\\LocalMachine\\Root\\<THUMBPRINT> (or ...\\My\\<THUMBPRINT>), or
    the rows of Get-ChildItem piped in: the certificate leaves that store on every server of the
    scope that holds it. Prints nothing."""
    path = args.text("Path")
    if path is None:
        raise ctx.error(
            "Give the certificate to remove: Remove-Item "
            f"{ROOT_STORE}\\<THUMBPRINT>, or pipe Get-ChildItem {ROOT_STORE} into Remove-Item.",
            "ParameterBindingException",
        )
    key = _store_key(path)
    store_key, _, thumbprint = key.rpartition("\\")
    stores = {_store_key(ROOT_STORE): "root", _store_key(PERSONAL_STORE): "personal"}
    kind = stores.get(store_key)
    if kind is None or not thumbprint:
        raise ctx.error(
            f"Cannot find path '{path}' because it does not exist. labsim removes only "
            f"certificates: {ROOT_STORE}\\<THUMBPRINT> or {PERSONAL_STORE}\\<THUMBPRINT>.",
            "ObjectNotFound",
        )
    wanted = "".join(thumbprint.split()).upper()
    removed = False
    for server in _servers(ctx, None):
        store = ctx.host.certificate_store(server.name)
        if kind == "root":
            held = {root_row(c).thumbprint for c in store.trusted_roots()}
            if wanted in held:
                store.remove_root(wanted)
                removed = True
        elif store.find(wanted):
            store.remove_personal(wanted)
            removed = True
    if not removed:
        raise ctx.error(f"Cannot find path '{path}' because it does not exist.", "ObjectNotFound")
    return []


def _certificate_path(obj: object) -> dict[str, object] | None:
    """Pipeline input: a Get-ChildItem row stands for its path (PowerShell binds PSPath)."""
    if isinstance(obj, PersonalCertificate):
        return {"Path": f"{PERSONAL_STORE}\\{obj.thumbprint}"}
    if isinstance(obj, RootCertificate):
        return {"Path": f"{ROOT_STORE}\\{obj.thumbprint}"}
    return None


SPECS = (
    CmdletSpec(
        "Get-ChildItem",
        (ParameterSpec("Path", STRING, position=0),),
        get_child_item,
        aliases=("dir", "ls", "gci"),
        module="Microsoft.PowerShell.Management",
        synopsis=(
            f"List a server's certificates: {ROOT_STORE} (trusted roots) or {PERSONAL_STORE}."
        ),
    ),
    CmdletSpec(
        "Remove-Item",
        (ParameterSpec("Path", STRING, position=0),),
        remove_item,
        aliases=("del", "rm", "ri"),
        pipeline=_certificate_path,
        module="Microsoft.PowerShell.Management",
        synopsis=(
            f"Remove a certificate: {ROOT_STORE}\\<THUMBPRINT> (stop trusting a root) or "
            f"{PERSONAL_STORE}\\<THUMBPRINT>."
        ),
    ),
)
"""The certificate provider cmdlets."""
