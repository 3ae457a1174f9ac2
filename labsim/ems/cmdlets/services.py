"""Get-Service, Stop-Service, Start-Service and Restart-Service: a server's Windows services, as
an Exchange 2013 admin handles them in Windows PowerShell 5.1 on Windows Server 2012 R2
(docs/fidelity.md, "Windows services").

Owns the table of Exchange services each role runs (:data:`SERVICES`) and the rules of the four
cmdlets. One switch stands behind the transport service of a server: the lab's stopped servers
(the host's :meth:`~labsim.ems.host.ShellHost.server_running`), the same one Stop-LabServer and
Start-LabServer turn, so Get-LabServer's Running column and Get-Service's Status always agree.

* A Client Access server's MSExchangeFrontEndTransport and a Mailbox server's
  MSExchangeTransport are that switch: stopping one closes the server's SMTP listeners and its
  queues make no attempts; starting it listens again and retries the waiting queues at once.
* The other services are listed (an admin typing ``Get-Service *Exchange*`` expects the list),
  always Running, and refuse to stop with a labsim message: labsim does not model them.
* Which machine: the shell's ``:server``, or ``-ComputerName`` (Get-Service), or the machine of
  a service piped in (``Get-Service -ComputerName X -Name Y | Stop-Service``): Windows
  PowerShell 5.1's Stop-/Start-/Restart-Service have no -ComputerName.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import find_lab_server
from labsim.ems.cmdlets.event_log import STRINGS
from labsim.ems.conversions import SWITCH, ParamType
from labsim.ems.messages import missing_mandatory
from labsim.ems.outputs import ServiceStatus, WindowsService
from labsim.errors import CmdletError
from labsim.model.enums import ServerRole
from labsim.model.organization import Server

MODULE = "Microsoft.PowerShell.Management"
"""Where Get-Command says the service cmdlets come from."""

AD_TOPOLOGY = "MSExchangeADTopology"
"""The service nearly every other Exchange service depends on."""


@dataclass(frozen=True)
class ServiceDefinition:
    """One Exchange service a role installs: its service name, display name and dependencies;
    ``transport`` marks the one labsim models (the server's SMTP)."""

    name: str
    display_name: str
    depends_on: tuple[str, ...] = (AD_TOPOLOGY,)
    transport: bool = False


def _role_services(*definitions: ServiceDefinition) -> tuple[ServiceDefinition, ...]:
    # Get-Service lists services sorted by name (case-insensitive).
    return tuple(sorted(definitions, key=lambda d: d.name.lower()))


_AD = ServiceDefinition(
    AD_TOPOLOGY, "Microsoft Exchange Active Directory Topology", ("NetTcpPortSharing",)
)
_DIAGNOSTICS = ServiceDefinition("MSExchangeDiagnostics", "Microsoft Exchange Diagnostics", ())
_HEALTH = ServiceDefinition("MSExchangeHM", "Microsoft Exchange Health Manager", ())
_SERVICE_HOST = ServiceDefinition("MSExchangeServiceHost", "Microsoft Exchange Service Host")

SERVICES: dict[ServerRole, tuple[ServiceDefinition, ...]] = {
    ServerRole.CLIENT_ACCESS: _role_services(
        _AD,
        _DIAGNOSTICS,
        ServiceDefinition(
            "MSExchangeFrontEndTransport", "Microsoft Exchange Frontend Transport", transport=True
        ),
        _HEALTH,
        _SERVICE_HOST,
        ServiceDefinition("MSExchangeUMCR", "Microsoft Exchange Unified Messaging Call Router"),
    ),
    ServerRole.MAILBOX: _role_services(
        _AD,
        ServiceDefinition("MSExchangeAntispamUpdate", "Microsoft Exchange Anti-spam Update"),
        ServiceDefinition("MSExchangeDagMgmt", "Microsoft Exchange DAG Management"),
        ServiceDefinition("MSExchangeDelivery", "Microsoft Exchange Mailbox Transport Delivery"),
        _DIAGNOSTICS,
        ServiceDefinition("MSExchangeEdgeSync", "Microsoft Exchange EdgeSync"),
        ServiceDefinition("MSExchangeFastSearch", "Microsoft Exchange Search"),
        _HEALTH,
        ServiceDefinition("MSExchangeIS", "Microsoft Exchange Information Store"),
        ServiceDefinition("MSExchangeMailboxAssistants", "Microsoft Exchange Mailbox Assistants"),
        ServiceDefinition("MSExchangeMailboxReplication", "Microsoft Exchange Mailbox Replication"),
        ServiceDefinition("MSExchangeRepl", "Microsoft Exchange Replication"),
        ServiceDefinition("MSExchangeRPC", "Microsoft Exchange RPC Client Access"),
        _SERVICE_HOST,
        ServiceDefinition(
            "MSExchangeSubmission", "Microsoft Exchange Mailbox Transport Submission"
        ),
        ServiceDefinition("MSExchangeThrottling", "Microsoft Exchange Throttling"),
        ServiceDefinition("MSExchangeTransport", "Microsoft Exchange Transport", transport=True),
        ServiceDefinition(
            "MSExchangeTransportLogSearch", "Microsoft Exchange Transport Log Search"
        ),
    ),
}
"""The Exchange services of each 2013 role, sorted by name as Get-Service lists them."""

SERVICE_NAMES = ParamType(
    STRINGS.type_name,
    STRINGS.convert,
    choices=tuple(sorted({d.name for role in SERVICES.values() for d in role}, key=str.lower)),
)
"""-Name of the service cmdlets: service names, wildcards or display names (checked by the
cmdlet); Tab offers the Exchange services' names."""


def transport_service_name(server: Server) -> str:
    """The name of the service that carries ``server``'s SMTP (what stops its mail flow)."""
    return next(d.name for d in SERVICES[server.role] if d.transport)


def _dependents(role: ServerRole, name: str) -> tuple[str, ...]:
    return tuple(d.name for d in SERVICES[role] if name in d.depends_on)


def _service(
    ctx: CmdletContext, server: Server, definition: ServiceDefinition, machine: str
) -> WindowsService:
    running = not definition.transport or ctx.host.server_running(server.name)
    return WindowsService(
        name=definition.name,
        display_name=definition.display_name,
        status=ServiceStatus.RUNNING if running else ServiceStatus.STOPPED,
        server=server.name,
        machine_name=machine,
        dependent_services=_dependents(server.role, definition.name),
        services_depended_on=definition.depends_on,
    )


def _like(text: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


def _is_wildcard(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _example_server(ctx: CmdletContext) -> str:
    servers = ctx.organization().servers
    return next((s.name for s in servers if s.is_client_access), servers[0].name)


def _local_server(ctx: CmdletContext, name: str) -> Server:
    # The shell's :server is the machine the admin is logged on to, whichever organization
    # it belongs to (interactive :server takes any server of the lab).
    return find_lab_server(ctx, name)[1]


def _reachable(ctx: CmdletContext, name: str) -> Server | None:
    """The server ``name`` if this shell can manage its services: its own :server, or a server
    of the shell's organization."""
    if ctx.server is not None:
        local = _local_server(ctx, ctx.server)
        if name.lower() in (local.name.lower(), local.fqdn.lower()):
            return local
    return ctx.organization().server(name)


def _machine(ctx: CmdletContext, computer: str | None) -> tuple[Server, str]:
    """The server whose services a call reads, and MachineName as PowerShell shows it."""
    org = ctx.organization()
    if computer is None:
        if ctx.server is None:
            example = _example_server(ctx)
            raise ctx.error(
                "labsim's shell runs on no server, so there is no local computer to read "
                f"services from. Type :server {example} first, or name the server: "
                f"Get-Service -ComputerName {example}",
                "InvalidOperation",
            )
        return _local_server(ctx, ctx.server), "."
    server = _reachable(ctx, computer)
    if server is None:
        known = ", ".join(s.name for s in org.servers)
        elsewhere = next(
            (
                name
                for name in ctx.host.organization_names()
                if ctx.host.organization(name).server(computer) is not None
            ),
            None,
        )
        hint = (
            f"{computer} is a server of {elsewhere}, another forest: type :org {elsewhere} "
            f"to manage it, or stop it with the lab action Stop-LabServer {computer}."
            if elsewhere is not None
            else f"The servers of {org.name} are {known}."
        )
        raise ctx.error(
            f"Cannot open Service Control Manager on computer '{computer}'. This operation "
            f"might require other privileges. ({hint})",
            "InvalidOperation",
        )
    return server, computer


def _matching(
    ctx: CmdletContext,
    server: Server,
    machine: str,
    names: Iterable[str],
    display_names: Iterable[str],
) -> list[WindowsService]:
    """The services of ``server`` chosen by -Name and -DisplayName, in Get-Service's order.

    A name without wildcards that matches nothing is PowerShell's ``Cannot find any service``
    error; a wildcard that matches nothing gives nothing.
    """
    definitions = SERVICES[server.role]
    chosen: list[ServiceDefinition] = []

    def take(found: Iterable[ServiceDefinition]) -> None:
        chosen.extend(d for d in found if d not in chosen)

    for name in names:
        if _is_wildcard(name):
            take(d for d in definitions if _like(d.name, name))
            continue
        # Without wildcards Windows also finds a service by its display name.
        exact = [d for d in definitions if name.lower() in (d.name.lower(), d.display_name.lower())]
        if not exact:
            raise _not_found(ctx, server, "service name", name)
        take(exact)
    for display_name in display_names:
        found = [d for d in definitions if _like(d.display_name, display_name)]
        if not found and not _is_wildcard(display_name):
            raise _not_found(ctx, server, "display name", display_name)
        take(found)
    if not names and not display_names:
        chosen = list(definitions)
    chosen.sort(key=lambda d: d.name.lower())
    return [_service(ctx, server, d, machine) for d in chosen]


def _not_found(ctx: CmdletContext, server: Server, kind: str, name: str) -> CmdletError:
    transport = transport_service_name(server)
    return ctx.error(
        f"Cannot find any service with {kind} '{name}'. ({server.name} is a "
        f"{server.role.value} server; its mail flow runs in {transport}: Get-Service "
        "*Exchange* lists its Exchange services.)",
        "ObjectNotFound",
    )


def get_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Service [[-Name] pattern,…] [-DisplayName pattern,…] [-ComputerName server,…]."""
    computers: list[str | None] = [str(c) for c in args.items("ComputerName")] or [None]
    names = [str(n) for n in args.items("Name")]
    display_names = [str(n) for n in args.items("DisplayName")]
    found: list[object] = []
    for computer in computers:
        server, machine = _machine(ctx, computer)
        found.extend(_matching(ctx, server, machine, names, display_names))
    return found


def _targets(ctx: CmdletContext, args: Arguments) -> list[WindowsService]:
    """The services a Stop-/Start-/Restart-Service call names: the one piped in, or -Name on
    the shell's server."""
    piped = [o for o in ctx.input if isinstance(o, WindowsService)]
    if piped:
        server = _server_of(ctx, piped[0])
        return _matching(ctx, server, piped[0].machine_name, (piped[0].name,), ())
    names = [str(n) for n in args.items("Name")]
    display_names = [str(n) for n in args.items("DisplayName")]
    if not names and not display_names:
        # -Name is mandatory in its parameter set, -DisplayName in the other.
        raise missing_mandatory(ctx.cmdlet, ("Name",))
    if ctx.server is None:
        example = _example_server(ctx)
        raise ctx.error(
            "labsim's shell runs on no server, so there is no local service to control. Type "
            f":server {example} first, or pipe the service from another computer: Get-Service "
            f"-ComputerName {example} -Name MSExchangeFrontEndTransport | {ctx.cmdlet}",
            "InvalidOperation",
        )
    server, machine = _machine(ctx, None)
    return _matching(ctx, server, machine, names, display_names)


def _what_if_targets(ctx: CmdletContext, args: Arguments) -> list[str]:
    """Stop-/Start-/Restart-Service -WhatIf: each service as ShouldProcess names it."""
    return [f"{s.display_name} ({s.name})" for s in _targets(ctx, args)]


def _title(service: WindowsService) -> str:
    return f"'{service.display_name} ({service.name})'"


def _check_stoppable(ctx: CmdletContext, service: WindowsService, force: bool) -> None:
    if service.dependent_services and not force:
        raise ctx.error(
            f"Cannot stop service {_title(service)} because it has dependent services. It can "
            "only be stopped if the Force flag is set.",
            "InvalidOperation",
        )
    if not _is_transport(service):
        raise ctx.error(
            f"Service {_title(service)} cannot be stopped in labsim: labsim does not model it. "
            "The mail flow of a Client Access server runs in MSExchangeFrontEndTransport, of a "
            "Mailbox server in MSExchangeTransport; stop those.",
            "InvalidOperation",
        )


def _is_transport(service: WindowsService) -> bool:
    return any(d.transport and d.name == service.name for role in SERVICES.values() for d in role)


def stop_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Stop-Service [-Name] name,… [-Force] [-PassThru]: a stopped service stays stopped
    silently."""
    services = _targets(ctx, args)
    force = bool(args.flag("Force"))
    for service in services:
        if service.status is ServiceStatus.RUNNING:
            _check_stoppable(ctx, service, force)
    for service in services:
        if service.status is ServiceStatus.RUNNING and _is_transport(service):
            ctx.host.stop_server(service.server, cause=f"Stop-Service {service.name}")
    return _passed_through(ctx, args, services)


def start_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Start-Service [-Name] name,… [-PassThru]: a running service stays running silently."""
    services = _targets(ctx, args)
    for service in services:
        if service.status is ServiceStatus.STOPPED and _is_transport(service):
            ctx.host.start_server(service.server, cause=f"Start-Service {service.name}")
    return _passed_through(ctx, args, services)


def restart_service(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Restart-Service [-Name] name,… [-Force] [-PassThru]: stop (if running), then start; the
    waiting queues are retried as the service comes up. A stopped service is just started."""
    services = _targets(ctx, args)
    force = bool(args.flag("Force"))
    for service in services:
        if service.status is ServiceStatus.RUNNING:
            _check_stoppable(ctx, service, force)
    for service in services:
        if not _is_transport(service):
            continue  # running, and allowed through only when not running: nothing to do
        cause = f"Restart-Service {service.name}"
        if service.status is ServiceStatus.RUNNING:
            ctx.host.stop_server(service.server, cause=cause)
        ctx.host.start_server(service.server, cause=cause)
    return _passed_through(ctx, args, services)


def _passed_through(
    ctx: CmdletContext, args: Arguments, services: list[WindowsService]
) -> list[object]:
    # -PassThru writes each service as it is now; without it the cmdlets print nothing.
    if not args.flag("PassThru"):
        return []
    return [
        service
        for before in services
        for service in _matching(
            ctx,
            _server_of(ctx, before),
            before.machine_name,
            (before.name,),
            (),
        )
    ]


def _server_of(ctx: CmdletContext, service: WindowsService) -> Server:
    server = _reachable(ctx, service.server)
    if server is None:
        # A service kept in a variable while the shell was on another organization (:org).
        raise ctx.error(
            f"Cannot open Service Control Manager on computer '{service.server}'. This "
            f"operation might require other privileges. ({service.server} is not a server of "
            f"{ctx.organization().name}: type :org with its organization first.)",
            "InvalidOperation",
        )
    return server


def service_of(obj: object) -> dict[str, object] | None:
    """Pipeline input → ``Name``: a service from Get-Service (its machine comes with it, read
    from the context's input), or a service name as text."""
    if isinstance(obj, WindowsService):
        return {"Name": (obj.name,)}
    if isinstance(obj, str):
        return {"Name": (obj,)}
    return None


def _control_parameters(*, force: bool) -> tuple[ParameterSpec, ...]:
    return (
        ParameterSpec(
            "Name", SERVICE_NAMES, mandatory_in_set=True, position=0, aliases=("ServiceName",)
        ),
        ParameterSpec("DisplayName", STRINGS),
        *((ParameterSpec("Force", SWITCH),) if force else ()),
        ParameterSpec("PassThru", SWITCH),
    )


SPECS = (
    CmdletSpec(
        "Get-Service",
        (
            ParameterSpec("Name", SERVICE_NAMES, position=0, aliases=("ServiceName",)),
            ParameterSpec("DisplayName", STRINGS),
            ParameterSpec("ComputerName", STRINGS, aliases=("Cn",)),
        ),
        get_service,
        aliases=("gsv",),
        module=MODULE,
        synopsis="List a server's Windows services (Get-Service *Exchange*Transport*): the "
        "transport services' Status shows whether the server's mail flow runs.",
    ),
    *(
        CmdletSpec(
            name,
            _control_parameters(force=force),
            run,
            aliases=aliases,
            pipeline=service_of,
            what_if=_what_if_targets,
            module=MODULE,
            synopsis=synopsis,
        )
        for name, run, force, aliases, synopsis in (
            (
                "Stop-Service",
                stop_service,
                True,
                ("spsv",),
                "Stop a service: MSExchangeFrontEndTransport or MSExchangeTransport takes the "
                "server's SMTP off the network (as Stop-LabServer).",
            ),
            (
                "Start-Service",
                start_service,
                False,
                ("sasv",),
                "Start a stopped service: the server listens again and retries its waiting queues.",
            ),
            (
                "Restart-Service",
                restart_service,
                True,
                (),
                "Stop and start a service (after a certificate change): the waiting queues "
                "are retried at once.",
            ),
        )
    ),
)
"""The Windows service cmdlets."""
