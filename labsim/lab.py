"""A running lab: builds the world from a lab definition and is the one object that scenarios,
the demo, the shell and tests drive.

The lab owns a private reactor (see :mod:`labsim.reactor`) and exposes a synchronous API: every
call that makes the lab do something returns once the lab is idle again (no SMTP session open,
no timer due). :class:`Lab` also implements :class:`labsim.ems.host.ShellHost`, so cmdlets act on
the same state the engine reads.
"""

from __future__ import annotations

import functools
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from twisted.internet.error import CannotListenError

from labsim.clock import LabClock
from labsim.ems.host import LogFile
from labsim.engine.frontend import FrontendTransport
from labsim.engine.listeners import Listeners
from labsim.engine.transport_service import TransportService
from labsim.engine.world import EngineError, NoteLines, World
from labsim.errors import CmdletError, ConfigError, LabsimError
from labsim.logs.event_log import EventLogEntry
from labsim.logs.protocol_log import ProtocolLogStore
from labsim.logs.tracking import TrackingLog, TrackingRecord
from labsim.model.lab import (
    ISSUER_INTERMEDIATE,
    ISSUER_OWN,
    ISSUER_SELF,
    PUBLIC_CA_NAME,
    CertificateSpec,
    LabDefinition,
)
from labsim.model.mail import DeliveredMessage, MessageView, QueueView
from labsim.model.organization import Organization
from labsim.model.pki_urls import CRL_ADDRESS, crl_host, crl_hosts, crl_url
from labsim.net.dns import LabDns, build_zones
from labsim.net.loopback import Network
from labsim.net.ports import PortOffset, offsets_to_try
from labsim.pki import files as pki_files
from labsim.pki.ca import CertificateAuthority
from labsim.pki.certificate import ExchangeCertificate, parse_windows_name
from labsim.pki.keys import generate_private_key
from labsim.pki.requests import (
    PendingRequest,
    new_request,
    pending_request,
    request_subject,
    sign_request,
)
from labsim.pki.self_signed import exchange_default_certificate, self_signed_certificate
from labsim.pki.store import CertificateStore
from labsim.reactor import default_reactor, drive
from labsim.store.database import LabState
from labsim.store.records import statements_to_journal


class Lab:
    """A running lab."""

    def __init__(self, definition: LabDefinition, world: World, cert_folder: Path) -> None:
        self.definition = definition
        self.world = world
        self.cert_folder = cert_folder
        self.authorities: dict[str, CertificateAuthority] = {}
        self.transport_services: dict[str, TransportService] = {}
        self.frontends: dict[str, FrontendTransport] = {}
        self.listeners: Listeners | None = None
        self.crl_reachable_by_ca: dict[str, bool] = {}
        self._certificate_files: tuple[Any, pki_files.CertificateIndex] | None = None
        """What the certificate folder was last written from (signature, index)."""
        self.live = False
        """A live lab (``labsim up``, ``labsim shell``) serves outside clients in real time."""
        self.settle_bound = 30.0
        """How long a live lab's shell line waits for the work it caused (seconds)."""
        self._journaling = False
        """Shell blocks go to the --state journal (not setup blocks, not replayed lines)."""
        self.restore_warnings: list[str] = []
        """What could not be brought back from --state (a replayed line that failed now)."""

    # --- building ----------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        definition: LabDefinition,
        *,
        cert_folder: Path,
        log_folder: Path | None = None,
        port_offset: int | None = None,
        reactor: Any = None,
        start_time: datetime | None = None,
        state: LabState | None = None,
    ) -> Lab:
        """Build the PKI, the DNS zone and every server, and bind their sockets.

        With ``state`` (``--state``), the lab keeps its state there and first brings back what
        it held when it last stopped: certificates, configuration (the journal replayed),
        mailboxes, tracking and queued messages (labsim.store). The lab closes ``state`` when
        it stops; the caller closes it if this raises.
        """
        reactor = reactor if reactor is not None else default_reactor()
        if state is not None and start_time is None:
            kept_offset = state.meta("clock_offset")
            if kept_offset is not None:
                # Lab time went on from where :advance had left it.
                start_time = datetime.now(UTC) + timedelta(seconds=float(kept_offset))
        offsets = offsets_to_try(PortOffset(port_offset, "port offset"))
        last_error: Exception | None = None
        for offset in offsets:
            try:
                lab = cls._start_at(
                    definition, reactor, offset, cert_folder, log_folder, start_time, state
                )
            except CannotListenError as err:
                last_error = err
                continue
            lab._run_setup_blocks()
            if state is not None:
                lab._restore_state(state)
            return lab
        raise ConfigError(
            f"cannot bind the lab's sockets ({last_error}); another lab or program uses port "
            f"offset {offsets[-1]}: choose another with --port-offset"
            if len(offsets) == 1
            else f"cannot bind the lab's sockets at any of {len(offsets)} automatic port offsets "
            f"({last_error}); give a free one with --port-offset N"
        )

    @classmethod
    def _start_at(
        cls,
        definition: LabDefinition,
        reactor: Any,
        offset: int,
        cert_folder: Path,
        log_folder: Path | None,
        start_time: datetime | None,
        state: LabState | None = None,
    ) -> Lab:
        clock = LabClock(reactor, start_time)
        # Outside organizations' SMTP servers listen on real ports: the network adds no offset
        # there (labsim.net.loopback); the DNS gives their MX and A records like any partner's.
        network = Network(reactor, offset, definition.outside_smtp_ports())
        a_records = (
            [(s.fqdn, s.address) for o in definition.organizations for s in o.organization.servers]
            + [(host, CRL_ADDRESS) for host in crl_hosts(definition)]
            + list(definition.dns_a_records())
        )
        dns_service = LabDns(
            network, build_zones(definition.dns_mx_records(), a_records), now=clock.seconds
        )
        organizations = {o.organization.name: o.organization for o in definition.organizations}
        world = World(
            reactor=reactor,
            clock=clock,
            network=network,
            dns=dns_service,
            profile=definition.profile,
            organizations=organizations,
            stores={},
            protocol_logs=ProtocolLogStore(log_folder),
            tracking_logs={},
        )
        if state is not None:
            world.state = state
            state.enter("start")  # certificates made while building are recalled by order
        lab = cls(definition, world, cert_folder)
        try:
            lab._build_pki()
            # Revocation (docs/exchange-reference.md §4.3, D5): the CRL web server answers for every
            # CA of the lab, looked up per request; Set-LabCrl blocks a CA, and with it its
            # organization's CRL host (labsim.net.crl).
            from labsim.model.pki_urls import PUBLIC_CRL_HOST
            from labsim.net.crl import CrlFetcher, CrlWebServer

            def crl_blocked_hosts() -> set[str]:
                hosts: set[str] = set()
                for key, reachable in lab.crl_reachable_by_ca.items():
                    if reachable:
                        continue
                    if key == "public":
                        hosts.add(PUBLIC_CRL_HOST)
                    elif key in {name.lower() for name in world.organizations}:
                        hosts.add(crl_host(world.organization(key).default_domain))
                return hosts

            world.crl_server = CrlWebServer(
                network,
                authorities=lambda: list(lab.authorities.items()),
                now=world.now,
                reachable=lambda key, _ca, host: (
                    lab.crl_reachable_by_ca.get(key, True)
                    and host.lower() not in crl_blocked_hosts()
                ),
            )
            world.crl_server.start()
            world.crl_fetcher = CrlFetcher(
                reactor,
                network,
                dns_service.resolve_a,
                busy=world.activity.begin,
                done=world.activity.end,
            )
            for org in organizations.values():
                for server in org.servers:
                    world.tracking_logs[server.name] = TrackingLog(server.name, log_folder)
                    if server.is_mailbox:
                        lab.transport_services[server.name] = TransportService(world, server.name)
                    else:
                        lab.frontends[server.name] = FrontendTransport(world, server.name)
            lab.listeners = Listeners(world, lab._handler_for)
            lab.listeners.reconcile_all(strict=True)
            world.on_config_change.append(
                lambda _org: lab.listeners.reconcile_all() if lab.listeners else None
            )
        except BaseException:
            lab._teardown()
            raise
        return lab

    def _handler_for(self, server_name: str) -> Any:
        if server_name in self.transport_services:
            return self.transport_services[server_name]
        return self.frontends[server_name]

    def _build_pki(self) -> None:
        at = self.world.now()
        folder = self.cert_folder
        # With --state every certificate and authority made here is recalled from the state
        # (same keys, same thumbprints), so thumbprints typed before a restart still resolve.
        recall = self.world.state.recall
        public = recall(
            "authority",
            f"root|Public|{PUBLIC_CA_NAME}",
            lambda: pki_files.load_or_create_root_ca(
                folder, "Public", PUBLIC_CA_NAME, at=at, organization="Lab Public CA"
            ),
        )
        self.authorities["public"] = public
        roots_by_folder = [("Public", public)]
        for org_def in self.definition.organizations:
            name = org_def.organization.name
            subject = (
                parse_windows_name(org_def.root_ca_subject) if org_def.root_ca_subject else None
            )
            org_root = recall(
                "authority",
                f"root|{name}|{org_def.root_ca_name}"
                + (f"|{org_def.root_ca_subject}" if org_def.root_ca_subject else ""),
                functools.partial(
                    pki_files.load_or_create_root_ca,
                    folder,
                    name,
                    org_def.root_ca_name,
                    at=at,
                    organization=name,
                    crl_url=crl_url(
                        crl_host(org_def.organization.default_domain), org_def.root_ca_name
                    ),
                    subject=subject,
                ),
            )
            self.authorities[name.lower()] = org_root
            roots_by_folder.append((name, org_root))
        if self.world.state.persistent:
            for name, org_root in roots_by_folder:
                pki_files.write_root(folder, name, org_root)  # a root recalled into a new folder
        for org_def in self.definition.organizations:
            org = org_def.organization
            own = self.authorities[org.name.lower()]
            if org_def.needs_intermediate:
                self.authorities[_intermediate_key(org.name)] = recall(
                    "authority",
                    f"intermediate|{org.name}|{org_def.issuing_ca_name}",
                    functools.partial(
                        own.issue_intermediate,
                        org_def.issuing_ca_name,
                        at=at,
                        crl_url=crl_url(crl_host(org.default_domain), org_def.issuing_ca_name),
                    ),
                )
            for server in org.servers:
                store = CertificateStore(server.name)
                store.add_personal(
                    recall(
                        "certificate",
                        f"default|{server.name}|{server.fqdn}",
                        functools.partial(
                            exchange_default_certificate, server.name, server.fqdn, at=at
                        ),
                    )
                )
                for root in org_def.roots_trusted_by(server.name):
                    trusted = org.name if root == ISSUER_OWN else root
                    store.import_root(
                        self._authority(trusted, where=f"{org.name} trusted roots").certificate
                    )
                self.world.stores[server.name] = store
            for spec in org_def.certificates:
                holder = self.world.stores.get(spec.server)
                if holder is None or org.server(spec.server) is None:
                    raise ConfigError(
                        f"organization {org.name}: certificate for server '{spec.server}', which is not "
                        f"a server of {org.name}; use one of {', '.join(s.name for s in org.servers)}"
                    )
                holder.add_personal(
                    recall(
                        "certificate",
                        f"spec|{org.name}|{spec!r}",
                        functools.partial(self._issue_spec, org.name, spec, at),
                    )
                )
        self._write_certificate_files()
        # An outside organization's roots go where Import-Certificate looks for a simulated
        # organization's root (<Org>\root-ca.cer, then root-ca-2.cer, …), copied byte for byte;
        # root files of an earlier run that the lab file no longer lists are removed.
        for outside in self.definition.outside_organizations:
            target = folder / outside.name
            target.mkdir(parents=True, exist_ok=True)
            names = outside.root_file_names()
            for stale in target.glob("root-ca*.cer"):
                if stale.name not in names:
                    stale.unlink()
            for file_name, root_file in zip(names, outside.roots, strict=True):
                (target / file_name).write_bytes(root_file.data)

    def _run_setup_blocks(self) -> None:
        """Run each organization's setup blocks (lab files), in order, once the lab is up.

        A block that fails stops the lab and raises one ConfigError naming the place.
        """
        source = self.definition.source or f"lab '{self.definition.name}'"
        for index, org_def in enumerate(self.definition.organizations):
            name = org_def.organization.name
            for number, block in enumerate(org_def.setup):
                result = self.run_shell(name, block)
                if result.error is not None:
                    self.stop()
                    raise ConfigError(
                        f"{source}: organizations[{index}] ({name}).setup[{number}]: "
                        f"{result.error}; fix this setup block"
                    )

    def _issue_spec(
        self, org_name: str, spec: CertificateSpec, at: datetime
    ) -> ExchangeCertificate:
        """The certificate a lab definition's spec describes, issued at lab start ``at``."""
        not_before, not_after = spec.validity(at)
        if spec.issuer == ISSUER_SELF:
            return self_signed_certificate(
                spec.common_name,
                spec.dns_names,
                not_before=not_before,
                not_after=not_after,
                eku=spec.eku,
                services=spec.services,
                friendly_name=spec.friendly_name or spec.common_name,
            )
        if spec.issuer == ISSUER_INTERMEDIATE:
            issuer = self.authorities[_intermediate_key(org_name)]
        else:
            name = org_name if spec.issuer == ISSUER_OWN else spec.issuer
            issuer = self._authority(name, where=f"{org_name} certificate")
        return issuer.issue(
            spec.common_name,
            at=at,
            dns_names=spec.dns_names,
            eku=spec.eku,
            not_before=not_before,
            not_after=not_after,
            services=spec.services,
            friendly_name=spec.friendly_name,
            crl=spec.crl,
            subject=parse_windows_name(spec.subject) if spec.subject else None,
        )

    def _authority(self, name: str, *, where: str) -> CertificateAuthority:
        found = self.authorities.get(name.lower())
        if found is None:
            raise ConfigError(
                f"{where}: unknown issuer '{name}'; use own, public, self or an organization name "
                f"({', '.join(o.organization.name for o in self.definition.organizations)})"
            )
        return found

    # --- running -----------------------------------------------------------------------------

    @property
    def engine_errors(self) -> Sequence[EngineError]:
        """Unexpected exceptions the engine caught so far (labsim bugs; World.engine_errors)."""
        return self.world.engine_errors

    def run_until_idle(self) -> bool:
        """Drive the lab until no session is open and no timer is due.

        In a live lab (:attr:`live`) sessions from outside clients are not waited for, and the
        wait ends after :attr:`settle_bound` seconds (returning False) rather than failing:
        the lab goes on serving whatever is still open.
        """
        world = self.world
        live = self.live

        def idle() -> bool:
            world.state.commit()  # --state: what the last turn staged (a no-op without)
            world.clock.run_due()
            quiet = world.activity.lab_idle if live else world.activity.idle
            return quiet and not world.clock.has_due()

        settled = drive(
            world.reactor,
            idle,
            world.activity.describe,
            bound=self.settle_bound if live else None,
        )
        self.flush_logs()
        return settled

    def flush_logs(self) -> None:
        """Write buffered log lines to the log folder (the lab does it whenever it is idle)."""
        if self.world.protocol_logs.root is None:
            return  # logs live in memory only (no --logs): nothing is buffered for disk
        self.world.protocol_logs.flush()
        for log in self.world.tracking_logs.values():
            log.flush()

    def advance(self, seconds: float) -> None:
        """Move lab time forward; timers falling due run in order, each at its own time.

        A jump longer than 100 years, or one past the year 9000, is refused before anything
        moves (times up to the year 9999 must stay representable), so the lab goes on.
        """
        from labsim.scenario.model import MAX_ADVANCE_SECONDS, format_duration

        if not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise ConfigError(
                f"cannot advance the lab clock by {format_duration(seconds)}: give a duration "
                "from 0s to 36500d (100 years)"
            )
        if self.world.clock.seconds() + seconds >= _LAST_LAB_TIME:
            raise ConfigError(
                f"cannot advance the lab clock by {format_duration(seconds)}: lab time would pass "
                "the year 9000, where labsim stops; start a new lab"
            )
        self.run_until_idle()
        target = self.world.clock.seconds() + seconds
        while True:
            due = self.world.clock.next_due()
            if due is None or due > target:
                break
            self.world.clock.jump_to(due)
            self.run_until_idle()
        self.world.clock.jump_to(target)
        self.run_until_idle()
        state = self.world.state
        if isinstance(state, LabState):
            # Lab time after a restart goes on from here (labsim.store).
            state.set_meta("clock_offset", repr(self.world.clock.seconds() - time.time()))
            state.commit()

    def now(self) -> datetime:
        """Lab time."""
        return self.world.now()

    def stop(self) -> None:
        """Close every socket (and the private reactor, when the lab made it); close the
        --state database."""
        self._teardown()
        state = self.world.state
        if isinstance(state, LabState):
            state.close()

    def _teardown(self) -> None:
        # A stopped lab never acts again: its queues' retries and expiries are dropped.
        self.world.clock.stop()
        self.flush_logs()
        if self.listeners is not None:
            self.listeners.stop_all()
        if self.world.crl_server is not None:
            self.world.crl_server.stop()
        self.world.dns.stop()
        reactor = self.world.reactor
        # Let closing sockets finish their connectionLost before the next lab binds the ports.
        for _ in range(3):
            reactor.iterate(0)

    # --- the shell and the scenario API -----------------------------------------------------

    def shell(self, organization: str, server: str | None = None, session: Any = None) -> Any:
        """An Exchange Management Shell bound to an organization (and optionally a machine);
        ``session`` (a labsim.ems.shell.ShellSession) carries variables from block to block."""
        from labsim.ems.shell import Shell

        self._check_org(organization)
        return Shell(self, self.organization(organization).name, server, session=session)

    def run_shell(
        self, organization: str, text: str, server: str | None = None, session: Any = None
    ) -> Any:
        """Run shell lines, then let the lab settle.

        Variables set in the block live for the block only, unless ``session`` is given (an
        interactive shell passes its own, so they live as long as it does).

        With --state, the statements that changed configuration are journaled (with the
        certificates they issued) once the block has run, to be replayed after a restart.
        """
        state = self.world.state
        journal = self._journaling and isinstance(state, LabState)
        shell = self.shell(organization, server, session)
        if not journal:
            result = shell.run(text)
        else:
            assert isinstance(state, LabState)
            state.begin_block()
            kept: list[str] = []
            try:
                result = shell.run(text)
                kept = statements_to_journal(result.commands, result.error is not None)
            finally:
                state.end_block(shell.organization, server, kept)
        self._write_certificate_files()
        self.run_until_idle()
        return result

    def _restore_state(self, state: LabState) -> None:
        """Bring back what a kept lab held when it stopped, then keep journaling.

        Mailboxes and tracking first (so that duplicate detection knows every delivered
        Message-ID) with each server's Application event log, then the configuration journal replayed in order, then the messages that
        were in delivery queues, queued again through the categorizer with their original
        arrival time (so expiry keeps its date). Replayed lines that fail now are reported in
        :attr:`restore_warnings`; the lab goes on without them.
        """
        world = self.world
        world.mailboxes.restore(state.mailbox_messages())
        restored: dict[str, list[Any]] = {}
        last_internal_id = 0
        for server, record in state.tracking_records():
            restored.setdefault(server, []).append(record)
            last_internal_id = max(last_internal_id, record.internal_message_id or 0)
        # InternalIds go on from the last one logged, so tracking never shows one id for two
        # messages across the restart.
        world._internal_ids = itertools.count(last_internal_id + 1)
        for server, records in restored.items():
            log = world.tracking_logs.get(server)
            if log is not None:
                log.restore(records)
        world.mailboxes.keep(state.delivered)
        for name, log in world.tracking_logs.items():
            log.keep(functools.partial(state.tracked, name))
        # The Application logs as Get-EventLog showed them (a Windows event log is on disk).
        # The folder's lab identity names the same servers, so each one is still in the lab.
        saved: dict[str, list[EventLogEntry]] = {}
        for server_name, event in state.event_log_entries():
            saved.setdefault(server_name, []).append(event)
        for server_name, events in saved.items():
            owner = world.server(server_name)
            world.event_logs.restore(owner.name, owner.fqdn, events)
        world.event_logs.keep(state.event_written)
        state.replaying = True
        try:
            block = None
            for entry in state.journal():
                if entry.block != block:
                    block = entry.block
                    state.enter(f"block:{block}")
                try:
                    result = self.run_shell(entry.organization, entry.statement, entry.server)
                    error = None if result.error is None else str(result.error)
                except LabsimError as err:
                    error = str(err)
                if error is not None:
                    self.restore_warnings.append(
                        f"--state {state.folder}: replaying '{entry.statement}' on "
                        f"{entry.organization} failed now ({error}); the lab goes on without it"
                    )
        finally:
            state.replaying = False
        queued = state.queued_messages()
        state.forget_queued()
        for row in queued:
            service = self.transport_services.get(row.server)
            if service is None:
                self.restore_warnings.append(
                    f"--state {state.folder}: server {row.server} is no longer in the lab; "
                    f"{row.item.message_id} from its queue {row.queue} is dropped"
                )
                continue
            item = replace(row.item, internal_id=world.new_internal_id())
            service.requeue(item, row.network_message_id, held=row.held)
        state.commit()
        state.enter("live")
        self._journaling = True
        # The queued messages' attempts run when the lab is next driven (the live loop).

    def send(
        self,
        *,
        mail_from: str,
        to: Sequence[str],
        subject: str,
        body: str = "",
        cc: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        size: int | None = None,
    ) -> str:
        """Submit a message as its sender's Outlook would (store submission), then settle.

        ``headers`` are extra header lines as the author wrote them (e.g. a forged
        ``X-MS-Exchange-Organization-AuthAs``); ``size`` pads the body to about that many bytes.
        """
        org = self._org_of_address(mail_from)
        service = self._mailbox_service(org)
        self._check_running(service, org)
        if size is not None and len(body) < size:
            line = "labsim padding " * 4 + "\n"
            body = body + (line * (size // len(line) + 1))[: size - len(body)]
        message_id = service.submit_new(
            mail_from=mail_from,
            to=list(to),
            cc=list(cc),
            bcc=[],
            subject=subject,
            body=body,
            headers=headers,
        )
        self.run_until_idle()
        return message_id

    def inbox(self, address: str) -> tuple[DeliveredMessage, ...]:
        """A mailbox's messages; refused for an outside organization, whose mail the lab never
        holds (an empty inbox would pretend it knows)."""
        outside = self.definition.outside_organization_of(address)
        if outside is not None:
            raise ConfigError(
                f"{address} is a mailbox of the outside organization {outside.name}, whose mail "
                f"labsim does not hold (its own SMTP server at {outside.address}:{outside.port} "
                "does): look there, and at the lab's send protocol log and Get-Queue for what "
                "left the lab"
            )
        return self.world.mailboxes.inbox(address)

    def protocol_log(self, organization: str, server: str, direction: str) -> list[str]:
        """CSV lines of a server's receive or send protocol log."""
        self._check_org(organization)
        lines: list[str] = self.world.protocol_logs.lines(self.world.server(server).name, direction)
        return lines

    def tracking_log(self, organization: str, server: str | None = None) -> list[str]:
        """CSV lines of the message tracking logs of one server or every server of the org."""
        org = self.organization(organization)
        names = [server] if server else [s.name for s in org.servers]
        lines: list[str] = []
        for name in names:
            lines.extend(self.world.tracking_logs[self.world.server(name).name].lines())
        return lines

    def event_log(self, organization: str, server: str | None = None) -> list[str]:
        """The Application event log entries of one server or every server of the org, one
        line each (:meth:`labsim.logs.event_log.EventLogEntry.line`), oldest first."""
        org = self.organization(organization)
        names = [server] if server else [s.name for s in org.servers]
        entries = [e for name in names for e in self.event_log_entries(name)]
        entries.sort(key=lambda e: (e.time_generated, e.index))
        return [entry.line() for entry in entries]

    def log_headers(self, organization: str, server: str | None, log: str) -> list[str]:
        """Header lines (``#Software:`` … ``#Fields:``) of every file of a protocol log
        (``receive``/``send``, one server) or of the tracking logs (one server or the org's)."""
        if log == "event":
            return []  # an event log has no file header
        if log == "tracking":
            org = self.organization(organization)
            names = [server] if server else [s.name for s in org.servers]
            text = "".join(
                self.world.tracking_logs[self.world.server(n).name].text() for n in names
            )
        else:
            self._check_org(organization)
            assert server is not None, "a protocol log belongs to one server"
            text = self.world.protocol_logs.text(self.world.server(server).name, log)
        # Records start with their date-time; only header lines start with '#'.
        return [line for line in text.splitlines() if line.startswith("#")]

    def explain(self) -> Sequence[str]:
        """Decision notes recorded so far (the last 100,000 kept), as ``SERVER: text`` lines.

        Numbered from the lab's first note: a reader that took ``len()`` before some work reads
        that work's notes with ``explain()[mark:]``, also once old notes have gone."""
        return NoteLines(self.world.explanations)

    # --- ShellHost ---------------------------------------------------------------------------

    def organization(self, name: str) -> Organization:
        """Current configuration of an organization."""
        try:
            return self.world.organization(name)
        except KeyError:
            raise CmdletError(
                f"organization '{name}' is not in this lab; use one of {', '.join(self.world.organizations)}"
            ) from None

    def replace_organization(self, organization: Organization) -> None:
        """Install new configuration (after a Set-/New-/Remove- cmdlet)."""
        self.world.replace_organization(organization)

    def certificate_store(self, server: str) -> CertificateStore:
        """A server's certificate stores."""
        return self.world.stores[self.world.server(server).name]

    def certificate_folder(self) -> Path:
        """Where the lab writes certificates; relative -FilePath values resolve against it."""
        return self.cert_folder

    def submit_message(
        self,
        organization: str,
        *,
        mail_from: str,
        to: Sequence[str],
        cc: Sequence[str],
        bcc: Sequence[str],
        subject: str,
        body: str,
        smtp_server: str | None,
    ) -> str:
        """Send-MailMessage / the scenario ``send`` step: store submission on a Mailbox server.

        ``-SmtpServer`` may name a server of the organization (the message enters that
        organization's transport either way); any other host is refused rather than ignored.
        """
        org = self.organization(organization)
        if smtp_server is not None and org.server(smtp_server) is None:
            servers = ", ".join(s.fqdn for s in org.servers)
            raise CmdletError(
                f"Send-MailMessage: -SmtpServer '{smtp_server}' is not a server of {org.name}; "
                f"labsim submits as a mailbox user of {org.name}: name one of its servers "
                f"({servers}) or omit -SmtpServer",
                cmdlet="Send-MailMessage",
            )
        service = self._mailbox_service(org)
        if self.world.state.replaying:
            return ""  # a replayed block: the mail it sent is in the queues and mailboxes already
        self._check_running(service, org)
        return service.submit_new(
            mail_from=mail_from, to=list(to), cc=list(cc), bcc=list(bcc), subject=subject, body=body
        )

    def queues(self, organization: str, server: str | None = None) -> Sequence[QueueView]:
        """Get-Queue rows of an organization's Mailbox servers."""
        org = self.organization(organization)
        rows: list[QueueView] = []
        for s in org.servers:
            if s.name in self.transport_services and (
                server is None or s.name.lower() == server.lower()
            ):
                rows.extend(self.transport_services[s.name].queue_views())
        return rows

    def messages(self, organization: str, queue: str | None = None) -> Sequence[MessageView]:
        """Get-Message rows."""
        org = self.organization(organization)
        rows: list[MessageView] = []
        for s in org.servers:
            if s.name in self.transport_services:
                rows.extend(self.transport_services[s.name].message_views(queue))
        return rows

    def retry_queue(self, organization: str, identity: str) -> None:
        """Retry-Queue: an immediate attempt for a queue in Retry."""
        org = self.organization(organization)
        for s in org.servers:
            service = self.transport_services.get(s.name)
            if service is not None and service.has_queue(identity):
                service.retry_queue(identity)
                return
        raise CmdletError(
            f"Retry-Queue: The operation couldn't be performed because object '{identity}' "
            "couldn't be found. Run Get-Queue to list the queue identities (SERVER\\<number>, "
            "or SERVER\\NextHopDomain).",
            cmdlet="Retry-Queue",
            category="ManagementObjectNotFoundException",
        )

    def organization_names(self) -> Sequence[str]:
        """Organization names in lab order."""
        return list(self.world.organizations)

    def certification_authority(self, organization: str) -> str:
        """The root CA name of an organization, or of the public CA for "Public"."""
        return self._authority_for(organization).name

    def suspend_queue(self, organization: str, identity: str) -> None:
        """Suspend-Queue."""
        self._queue_service(organization, identity, "Suspend-Queue").suspend_queue(identity)

    def resume_queue(self, organization: str, identity: str) -> None:
        """Resume-Queue."""
        self._queue_service(organization, identity, "Resume-Queue").resume_queue(identity)

    def suspend_message(self, organization: str, identity: str) -> None:
        """Suspend-Message."""
        self._message_service(organization, identity, "Suspend-Message").suspend_message(identity)

    def resume_message(self, organization: str, identity: str) -> None:
        """Resume-Message."""
        self._message_service(organization, identity, "Resume-Message").resume_message(identity)

    def remove_message(self, organization: str, identity: str, with_ndr: bool) -> None:
        """Remove-Message."""
        service = self._message_service(organization, identity, "Remove-Message")
        service.remove_message(identity, with_ndr)

    def stop_server(self, server: str, cause: str = "Stop-LabServer") -> None:
        """Stop-LabServer: close the server's sockets; its queues make no attempts."""
        name = self.world.server(server).name
        self.world.stopped_servers.add(name)
        if self.listeners is not None:
            self.listeners.reconcile_all()
        self.world.observe(name, f"stopped ({cause})")

    def start_server(self, server: str, cause: str = "Start-LabServer") -> None:
        """Start-LabServer: listen again and retry the queues that wait."""
        name = self.world.server(server).name
        self.world.stopped_servers.discard(name)
        if self.listeners is not None:
            self.listeners.reconcile_all()
        if name in self.transport_services:
            self.transport_services[name].service_started()
        self.world.observe(name, f"started ({cause})")

    def server_running(self, server: str) -> bool:
        """Whether a server runs."""
        return self.world.server(server).name not in self.world.stopped_servers

    def listening_ports(self, server: str) -> Sequence[tuple[int, int]]:
        """(Exchange port, real port) of each listening socket of a server."""
        name = self.world.server(server).name
        if self.listeners is None:
            return []
        network = self.world.network
        return sorted(
            {(port, network.real_port(port)) for s, _a, port in self.listeners.bound() if s == name}
        )

    def set_crl_reachable(self, organization: str, reachable: bool) -> None:
        """Set-LabCrl: make a CA's CRL distribution point reachable or not."""
        from labsim.model.pki_urls import PUBLIC_CRL_HOST

        key = self._authority_key(organization)
        self.crl_reachable_by_ca[key] = reachable
        # labsim drops the cached CRL at once (Windows would keep it until its NextUpdate), so a
        # break-fix exercise shows the change on the next session (docs/fidelity.md).
        ca = self.authorities[key]
        if ca.crl_distribution_point:
            self.world.crl_cache.invalidate(ca.crl_distribution_point)
        self.world.crl_cache.invalidate_host(
            PUBLIC_CRL_HOST
            if key == "public"
            else crl_host(self.world.organization(key).default_domain)
        )

    def crl_reachable(self, organization: str) -> bool:
        """Whether a CA's CRL can be fetched."""
        return self.crl_reachable_by_ca.get(self._authority_key(organization), True)

    def revoke_certificate(self, server: str, thumbprint: str) -> str:
        """Revoke-LabCertificate: the issuing lab CA revokes the certificate (its CRL lists it)."""
        store = self.certificate_store(server)
        cert = store.get(thumbprint)
        for ca in self.authorities.values():
            if ca.certificate.subject == cert.certificate.issuer:
                ca.revoke(cert.certificate.serial_number, self.now())
                # The next check fetches the new CRL (labsim's choice, docs/fidelity.md).
                if ca.crl_distribution_point:
                    self.world.crl_cache.invalidate(ca.crl_distribution_point)
                return ca.name
        raise CmdletError(
            f"Revoke-LabCertificate: certificate {cert.thumbprint} ({cert.subject}) was not issued by a "
            "lab certification authority; only certificates from an organization's CA or the public "
            "CA can be revoked",
            cmdlet="Revoke-LabCertificate",
        )

    def issue_certificate(
        self,
        server: str,
        *,
        issuer: str,
        subject_name: str,
        domain_names: Sequence[str],
        valid_days: int,
        not_before_days: int,
        services: Sequence[str],
        eku: Sequence[str],
    ) -> ExchangeCertificate:
        """New-LabCertificate: issue a certificate and install it in the server's personal store."""
        from labsim.ems.conversions import parse_subject_name

        subject = parse_subject_name(subject_name)
        store = self.certificate_store(server)
        now = self.now()
        not_before = now + timedelta(days=not_before_days)
        not_after = not_before + timedelta(days=valid_days)
        request = (
            f"issue|{self.world.server(server).name}|{issuer}|{subject_name}|{list(domain_names)}|"
            f"{valid_days}|{not_before_days}|{sorted(services)}|{list(eku)}"
        )
        cert = self.world.state.recall(
            "certificate",
            request,
            lambda: self._new_certificate(
                server, issuer, subject, domain_names, not_before, not_after, services, eku
            ),
        )
        store.add_personal(cert)
        self._write_certificate_files()
        return cert

    def request_certificate(
        self, server: str, *, subject_name: str, domain_names: Sequence[str], friendly_name: str
    ) -> PendingRequest:
        """New-ExchangeCertificate -GenerateRequest: a new key and a request for it, kept in the
        server's REQUEST store until Import-ExchangeCertificate completes it."""
        subject = request_subject(subject_name)
        name = self.world.server(server).name
        request = f"request|{name}|{subject_name}|{list(domain_names)}|{friendly_name}"
        placeholder = self.world.state.recall(
            "certificate",
            request,
            lambda: (
                new_request(
                    subject,
                    domain_names,
                    generate_private_key(),
                    at=self.now(),
                    friendly_name=friendly_name,
                ).placeholder
            ),
        )
        return self.certificate_store(name).add_request(pending_request(placeholder))

    def sign_certificate_request(
        self,
        request: x509.CertificateSigningRequest,
        *,
        issuer: str,
        template: str,
        valid_days: int,
    ) -> ExchangeCertificate:
        """Submit-LabCertificateRequest: the CA of the organization ``issuer`` (or the public CA,
        ``"public"``) issues a certificate for ``request`` under ``template``."""
        ca = self._authority_for("Public" if issuer == "public" else issuer)
        spki = request.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key = (
            f"sign|{issuer}|{template}|{valid_days}|{spki.hex()}|{request.subject.rfc4514_string()}"
        )
        return self.world.state.recall(
            "certificate",
            key,
            lambda: sign_request(
                ca, request, at=self.now(), valid_days=valid_days, template=template
            ),
        )

    def known_authorities(self) -> tuple[x509.Certificate, ...]:
        """The certificates of every CA of the lab (roots and intermediates): where Windows
        would find the issuers of an imported certificate (its Intermediate and Root stores)."""
        return tuple(ca.certificate for ca in self.authorities.values())

    def _new_certificate(
        self,
        server: str,
        issuer: str,
        subject: Any,
        domain_names: Sequence[str],
        not_before: datetime,
        not_after: datetime,
        services: Sequence[str],
        eku: Sequence[str],
    ) -> ExchangeCertificate:
        now = self.now()
        if issuer == "self":
            cert = self_signed_certificate(
                subject.common_name,
                tuple(domain_names),
                not_before=not_before,
                not_after=not_after,
                eku=tuple(eku),
            )
            cert = cert.with_services(services)
        else:
            ca = self._authority_for(
                "Public"
                if issuer == "public"
                else (self.world.organization_of(server).name if issuer == "own" else issuer)
            )
            cert = ca.issue(
                subject.common_name,
                at=now,
                dns_names=tuple(domain_names),
                eku=tuple(eku),
                not_before=not_before,
                not_after=not_after,
                organization=subject.organization,
                services=frozenset(services),
            )
        return cert

    def _write_certificate_files(self) -> None:
        """Bring the certificate folder (stable names, index, pruning: labsim.pki.files) in step
        with every server's store as it is now.

        Called once the PKI is built, by New-LabCertificate/New-ExchangeCertificate, and after
        every shell block: Enable-/Remove-ExchangeCertificate change a store in place and tell
        the lab nothing, and a changed store may change the SMTP certificate. A block that
        changed no certificate costs a comparison in memory (about 0.1 ms).
        """
        servers = [
            pki_files.ServerCertificates(org.name, s.name, s.fqdn, store.personal())
            for org in self.world.organizations.values()
            for s in org.servers
            if (store := self.world.stores.get(s.name)) is not None
        ]
        at = self.now()
        authorities = list(self.known_authorities())
        roots = [*(o.organization.name for o in self.definition.organizations), "Public"]
        signature = pki_files.certificate_files_signature(
            servers, at=at, roots=roots, authorities=authorities
        )
        last = self._certificate_files
        # Most shell blocks change no certificate: then nothing is read or written, as long as
        # every file is still there.
        if (
            last is not None
            and last[0] == signature
            and all(map(os.path.lexists, pki_files.certificate_files(last[1])))
        ):
            return
        index = pki_files.write_certificate_files(
            self.cert_folder, servers, at=at, authorities=authorities, roots=roots
        )
        self._certificate_files = (signature, index)

    def lab_time(self) -> datetime:
        """Lab time."""
        return self.now()

    def tracking_records(self, server: str) -> list[TrackingRecord]:
        """A server's message tracking records, in log order."""
        log: TrackingLog = self.world.tracking_logs[self.world.server(server).name]
        return log.records()

    def log_files(self, server: str) -> list[LogFile]:
        """A server's protocol and message tracking log files, in Exchange's folders."""
        name = self.world.server(server).name
        files: list[LogFile] = []
        for log in self.world.protocol_logs.logs_of(name):
            folder = (
                f"TransportRoles\\Logs\\{log.service.value}\\ProtocolLog\\{log.direction.folder}"
            )
            files.extend(LogFile(folder, *file) for file in log.files())
        tracking: TrackingLog | None = self.world.tracking_logs.get(name)
        if tracking is not None:
            folder = "TransportRoles\\Logs\\MessageTracking"
            files.extend(LogFile(folder, *file) for file in tracking.files())
        return files

    def event_log_entries(self, server: str) -> list[EventLogEntry]:
        """A server's Application event log entries, oldest first."""
        return list(self.world.event_logs.entries(self.world.server(server).name))

    # --- helpers -----------------------------------------------------------------------------

    def _authority_key(self, organization: str) -> str:
        key = "public" if organization.lower() == "public" else organization.lower()
        if key not in self.authorities:
            raise CmdletError(
                f"organization '{organization}' has no certification authority in this lab; use one of "
                f"{', '.join([*self.world.organizations, 'Public'])}"
            )
        return key

    def _authority_for(self, organization: str) -> CertificateAuthority:
        return self.authorities[self._authority_key(organization)]

    def _queue_service(self, organization: str, identity: str, cmdlet: str) -> TransportService:
        org = self.organization(organization)
        for s in org.servers:
            service = self.transport_services.get(s.name)
            if service is not None and service.has_queue(identity):
                return service
        raise CmdletError(
            f"{cmdlet}: The operation couldn't be performed because object '{identity}' couldn't be found. "
            "Run Get-Queue to list the queue identities (SERVER\\<number>, or SERVER\\NextHopDomain).",
            cmdlet=cmdlet,
            category="ManagementObjectNotFoundException",
        )

    def _message_service(self, organization: str, identity: str, cmdlet: str) -> TransportService:
        """The Transport service of the organization's server a message identity names."""
        server = identity.split("\\", 1)[0].lower()
        org = self.organization(organization)
        for s in org.servers:
            service = self.transport_services.get(s.name)
            if service is not None and s.name.lower() == server:
                return service
        raise CmdletError(
            f"{cmdlet}: The operation couldn't be performed because object '{identity}' "
            "couldn't be found. Run Get-Message to list the messages.",
            cmdlet=cmdlet,
            category="ManagementObjectNotFoundException",
        )

    def _check_org(self, name: str) -> None:
        self.organization(name)

    def _org_of_address(self, address: str) -> Organization:
        domain = address.rsplit("@", 1)[-1]
        for org in self.world.organizations.values():
            if org.is_accepted_domain(domain):
                return org
        raise ConfigError(
            f"sender '{address}' is not in an accepted domain of any organization of this lab; "
            "send from a mailbox such as april@adatum.com"
        )

    def _check_running(self, service: TransportService, org: Organization) -> None:
        if service.server_name in self.world.stopped_servers:
            raise CmdletError(
                f"Send-MailMessage: the Mailbox server {service.server_name} of {org.name} is "
                f"stopped; start it with Start-LabServer {service.server_name} (or "
                f"Get-Service -ComputerName {service.server_name} MSExchangeTransport | "
                "Start-Service)",
                cmdlet="Send-MailMessage",
                category="InvalidOperation",
            )

    def _mailbox_service(self, org: Organization) -> TransportService:
        for s in org.servers:
            if s.name in self.transport_services:
                return self.transport_services[s.name]
        raise ConfigError(
            f"organization {org.name} has no Mailbox server to submit from; add one to the lab"
        )


_LAST_LAB_TIME = datetime(9000, 1, 1, tzinfo=UTC).timestamp()
"""Lab time stops here: timers and NotAfter dates past it must still fit in a datetime."""


def _intermediate_key(org_name: str) -> str:
    """Key of an organization's intermediate CA in ``Lab.authorities`` ("/" is never in a name)."""
    return f"{org_name.lower()}/intermediate"
