"""Get-ChildItem (``dir``, ``ls``) over PowerShell's certificate provider: the trusted roots
(``Cert:\\LocalMachine\\Root``) and personal certificates (``Cert:\\LocalMachine\\My``) of one
server's store.

The store is the shell's machine when it has one, else the organization's first server: a real
admin's ``dir Cert:`` always reads the one computer the shell runs on. The rows are the ones
Import-Certificate writes (one source); other paths get PowerShell's not-found error.
"""

from __future__ import annotations

from collections.abc import Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.certificates import ROOT_STORE, root_row
from labsim.ems.cmdlets.common import find_server
from labsim.ems.conversions import STRING
from labsim.ems.outputs import PersonalCertificate

PERSONAL_STORE = "Cert:\\LocalMachine\\My"
"""The server's personal store (its Exchange certificates)."""


def _store_key(path: str) -> str:
    # PowerShell accepts either slash, any case and a trailing separator.
    return path.strip().replace("/", "\\").rstrip("\\").lower()


def get_child_item(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-ChildItem [-Path] Cert:\\LocalMachine\\Root|My: the certificates of that store."""
    path = args.text("Path")
    if path is None:
        raise ctx.error(
            "labsim's shell has no current location: give the certificate store, "
            f"e.g. Get-ChildItem {ROOT_STORE} or Get-ChildItem {PERSONAL_STORE}.",
            "ParameterBindingException",
        )
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
)
"""The certificate provider cmdlet."""
