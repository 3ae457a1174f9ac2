"""Helpers the cmdlet modules share: identities, servers, pipeline input, the no-change warning.

Identity rules (Exchange's, as labsim keeps them): names compare case-insensitively; Get-
cmdlets accept ``*`` wildcards; a receive connector is ``SERVER\\Name`` or a ``Name`` that is
unique in the organization. Exchange cmdlets see the shell's organization only; the lab actions
(``*-Lab*``) see every server and organization of the lab (:func:`find_lab_server`).
"""

from __future__ import annotations

import fnmatch

from labsim.ems.catalog import CmdletContext
from labsim.ems.host import PUBLIC_CA
from labsim.ems.messages import ambiguous_identity, object_not_found
from labsim.ems.outputs import (
    LabServer,
    ReceiveConnectorOutput,
    SendConnectorOutput,
    ServerCertificate,
    TransportServiceOutput,
)
from labsim.errors import CmdletError
from labsim.model.connectors import ReceiveConnector, SendConnector
from labsim.model.mail import QueueView
from labsim.model.organization import Organization, Server


def identity_matches(pattern: str, value: str) -> bool:
    """Case-insensitive equality, or a wildcard match when ``pattern`` holds ``*`` or ``?``."""
    if "*" in pattern or "?" in pattern:
        return fnmatch.fnmatchcase(value.lower(), pattern.lower())
    return pattern.lower() == value.lower()


def not_found(ctx: CmdletContext, identity: str, hint: str) -> CmdletError:
    """Exchange's ManagementObjectNotFoundException text for ``identity``."""
    return object_not_found(ctx.cmdlet, identity, ctx.domain_controller(), hint)


def find_send_connector(ctx: CmdletContext, identity: str) -> SendConnector:
    """The send connector named ``identity`` (exactly one; no wildcards for Set/Remove)."""
    found = ctx.organization().send_connector(identity)
    if found is None:
        raise not_found(ctx, identity, "Run Get-SendConnector to list the send connectors.")
    return found


def find_receive_connector(ctx: CmdletContext, identity: str) -> ReceiveConnector:
    """The receive connector ``SERVER\\Name``, or ``Name`` when only one server has it."""
    org = ctx.organization()
    matches = receive_connectors_matching(org, identity)
    if not matches:
        raise not_found(ctx, identity, "Run Get-ReceiveConnector to list the receive connectors.")
    if len(matches) > 1:
        raise ambiguous_identity(
            ctx.cmdlet,
            identity,
            (c.identity for c in matches),
            'Give the identity as SERVER\\Name, e.g. -Identity "' + matches[0].identity + '".',
        )
    return matches[0]


def receive_connectors_matching(org: Organization, identity: str) -> list[ReceiveConnector]:
    """Receive connectors whose ``SERVER\\Name`` or ``Name`` matches (wildcards allowed)."""
    if "\\" in identity:
        return [c for c in org.receive_connectors if identity_matches(identity, c.identity)]
    return [c for c in org.receive_connectors if identity_matches(identity, c.name)]


def find_server(ctx: CmdletContext, name: str) -> Server:
    """The server ``name`` (name or FQDN) of the shell's organization."""
    org = ctx.organization()
    server = org.server(name)
    if server is None:
        names = ", ".join(s.name for s in org.servers)
        raise not_found(ctx, name, f"The servers of {org.name} are {names}.")
    return server


def lab_servers(ctx: CmdletContext) -> list[tuple[str, Server]]:
    """Every server of the lab with its organization's name, in definition order."""
    return [
        (name, server)
        for name in ctx.host.organization_names()
        for server in ctx.host.organization(name).servers
    ]


def find_lab_server(ctx: CmdletContext, name: str) -> tuple[str, Server]:
    """The lab server ``name`` (name or FQDN, any organization) and its organization's name."""
    servers = lab_servers(ctx)
    key = name.lower()
    for organization, server in servers:
        if key in (server.name.lower(), server.fqdn.lower()):
            return organization, server
    names = ", ".join(server.name for _, server in servers)
    raise not_found(ctx, name, f"The servers of this lab are {names}.")


def find_lab_organization(ctx: CmdletContext, name: str, parameter: str, *, public: bool) -> str:
    """The lab's spelling of organization ``name`` (``Public``, the public CA, if allowed)."""
    names: list[str] = [*ctx.host.organization_names(), *((PUBLIC_CA,) if public else ())]
    for candidate in names:
        if candidate.lower() == name.strip().lower():
            return candidate
    raise ctx.error(
        f"The organization '{name}' (-{parameter}) isn't in this lab. Give one of: "
        f"{', '.join(names)}.",
        "ObjectNotFound",
    )


def no_change_warning(ctx: CmdletContext, identity: str) -> None:
    """Exchange's warning when a Set- cmdlet changed nothing."""
    ctx.warn(
        f"The command completed successfully but no settings of '{identity}' have been modified."
    )


def identity_of(obj: object) -> dict[str, object] | None:
    """Pipeline input → ``Identity`` for Set-/Remove-/Retry-/Stop- cmdlets (by property name)."""
    if isinstance(
        obj,
        (
            SendConnector,
            ReceiveConnector,
            ReceiveConnectorOutput,
            SendConnectorOutput,
            QueueView,
            TransportServiceOutput,
            LabServer,
        ),
    ):
        return {"Identity": obj.identity}
    return None


def certificate_of(obj: object) -> dict[str, object] | None:
    """Pipeline input → ``Thumbprint`` and ``Server`` (Enable-/Remove-ExchangeCertificate,
    Revoke-LabCertificate)."""
    if isinstance(obj, ServerCertificate):
        return {"Thumbprint": obj.certificate.thumbprint, "Server": obj.server}
    return None
