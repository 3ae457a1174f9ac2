"""A live lab: one that stays up, serves SMTP in real time, and answers shells and scripts.

``labsim up`` and ``labsim shell`` start a lab and hand it to :class:`LiveLab`, whose main loop
turns the reactor until a stop signal (SIGINT, SIGTERM) or its owner says stop. Between reactor
turns it answers the requests queued on the control channel (:mod:`labsim.control`); answering
a shell line drives the lab through its synchronous API, which keeps turning the same reactor,
so outside clients are served while a line runs and while a prompt waits.

The lab's clock follows the wall clock (``labsim.clock``): a retry due in 5 minutes runs in 5
real minutes, and ``:advance`` still jumps time forward. What a ``labsim up`` prints and writes
as its ready file comes from :func:`ready_info`, one record for both.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labsim import control
from labsim.control import ControlServer, Reply, Request
from labsim.engine.tls import HandshakeThreads
from labsim.errors import UsageError
from labsim.interactive import HELP, InteractiveShell
from labsim.lab import Lab
from labsim.model.pki_urls import CRL_ADDRESS
from labsim.net.dns import DNS_ADDRESS, DNS_PORT
from labsim.pki import files as pki_files
from labsim.reactor import LabInterrupted, clear_stop, install_stop_signals, pending_stop
from labsim.store.database import LabState

if TYPE_CHECKING:
    from labsim.web.console import WebConsole

FLUSH_EVERY_SECONDS = 1.0
"""Log files of a live lab are brought up to date this often (and at shutdown)."""

SHUTDOWN_GRACE_SECONDS = 5.0
"""How long a stopping lab waits for open sessions to close before it aborts them."""

_MAX_WAIT = 1.0


def ready_info(lab: Lab, control_socket: Path | None, web: str | None = None) -> dict[str, Any]:
    """What a live lab tells scripts: servers, their ports and certificate files, DNS, control,
    and the web console's URL (with the run's secret) when it runs.

    Ports are keyed by Exchange's port number (as text, JSON keys being strings) and give the
    port really in use after the lab's offset.
    """
    world = lab.world
    network = world.network
    state = world.state
    servers: dict[str, Any] = {}
    certs = Path(lab.cert_folder).absolute()  # scripts read the file from any folder
    for org in world.organizations.values():
        for server in org.servers:
            # The sockets really open (as Get-LabServer shows them), each with the connectors
            # bound to its port.
            bound = lab.listening_ports(server.name)
            ports = {str(port): real for port, real in bound}
            roles = {
                str(port): [
                    c.name
                    for c in org.receive_connectors_on(server.name)
                    if c.enabled and any(b.port == port for b in c.bindings)
                ]
                for port, _real in bound
            }
            paths = pki_files.smtp_certificate_paths(certs, org.name, server.name)
            servers[server.name] = {
                "organization": org.name,
                "role": server.role.value,
                "fqdn": server.fqdn,
                "address": server.address,
                "ports": ports,
                "connectors": roles,
                "certificate": {
                    "cert": str(paths.cert),
                    "key": str(paths.key),
                    "chain": str(paths.chain),
                },
                "running": lab.server_running(server.name),
            }
    return {
        "lab": lab.definition.name,
        "pid": os.getpid(),
        "port_offset": network.port_offset,
        "servers": servers,
        "roots": {
            org.name: str(certs / org.name / pki_files.ROOT_CERTIFICATE_FILE)
            for org in world.organizations.values()
        },
        "outside_organizations": {
            outside.name: {
                "domains": list(outside.domains),
                "mx_host": outside.mx_host,
                "address": outside.address,
                "port": outside.port,
                "roots": [str(certs / outside.name / name) for name in outside.root_file_names()],
            }
            for outside in lab.definition.outside_organizations
        },
        "dns": f"{DNS_ADDRESS}:{network.real_port(DNS_PORT)}",
        "crl": f"http://{CRL_ADDRESS}:{network.real_port(80)}/",
        "control": None if control_socket is None else str(control_socket),
        "web": web,
        "certs": str(certs),
        "state": str(Path(state.folder).absolute()) if isinstance(state, LabState) else None,
    }


def banner_lines(info: dict[str, Any]) -> list[str]:
    """The table ``labsim up`` prints: every server, its ports and files; DNS; how to attach."""
    lines = [
        f"labsim: lab '{info['lab']}' is up (port offset {info['port_offset']}; "
        "Ctrl-C or SIGTERM stops it)",
        "",
    ]
    for name, server in info["servers"].items():
        lines.append(
            f"{name:<14} {server['fqdn']:<28} {server['address']:<13} "
            f"{server['organization']} {server['role']}"
            + ("" if server["running"] else " (stopped)")
        )
        for port, real in server["ports"].items():
            connectors = ", ".join(server["connectors"][port])
            lines.append(f"    port {port:>5} -> {real:<6} {connectors}")
        cert = server["certificate"]
        lines.append(f"    cert  {cert['cert']}")
        lines.append(f"    key   {cert['key']}")
        lines.append(f"    chain {cert['chain']}")
    for name, outside in info["outside_organizations"].items():
        lines.append(
            f"{name:<14} {outside['mx_host']:<28} {outside['address']:<13} outside organization "
            f"({', '.join(outside['domains'])}): SMTP on port {outside['port']} (no offset)"
        )
        for root in outside["roots"]:
            lines.append(f"    root  {root}")
    lines.append("")
    for org, root in info["roots"].items():
        lines.append(f"root CA of {org:<13} {root}")
    lines.append(f"lab DNS (UDP)            {info['dns']}")
    if info.get("web"):
        lines.append(f"web console              {info['web']}")
    if info["control"]:
        lines.append(f"control channel          {info['control']}")
        lines.append("attach a shell:          labsim shell --attach")
    return lines


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Write ``path`` so that a reader never sees half a file (scripts poll for it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class LiveLab:
    """A started lab kept serving, with its control channel and ready files."""

    def __init__(
        self,
        lab: Lab,
        *,
        state_folder: Path,
        ready_file: Path | None = None,
        sigint_stops: bool = True,
        web: bool = False,
    ) -> None:
        self.lab = lab
        self.reactor = lab.world.reactor
        self._shells: dict[object, InteractiveShell] = {}
        """The shell of each attached client: its variables live as long as its connection."""
        self.state_folder = control.prepare_state_folder(state_folder)
        self.control_path = control.control_path(state_folder, lab.definition.name, os.getpid())
        self.info_path = self.control_path.with_suffix(".json")
        self.ready_file = ready_file
        self.sigint_stops = sigint_stops
        self.control = ControlServer(
            self.reactor,
            self.control_path,
            self.handle,
            on_client_gone=self._forget_shell,
        )
        self.stop_signal: int | None = None
        self.stopping = False
        self._restore_signals: Callable[[], None] | None = None
        self._last_flush = 0.0
        self._engine_errors_reported = 0
        self.handshakes: HandshakeThreads | None = None
        self.web: WebConsole | None = None
        if web:
            from labsim.web.console import WebConsole

            self.web = WebConsole(self)
        lab.live = True

    # --- lifetime -----------------------------------------------------------------------------

    def open(self) -> dict[str, Any]:
        """Listen on the control channel, write the ready files; return the ready record."""
        if self.ready_file is not None:
            _check_writable(self.ready_file)
        self.control.start()
        # Full TLS handshakes of outside clients run their crypto beside the reactor.
        self.handshakes = HandshakeThreads(self.reactor, self.lab.world.activity)
        self.lab.world.network.handshake_offload = self.handshakes
        if self.web is not None:
            self.web.start()
        self._restore_signals = install_stop_signals(self.reactor)
        info = self.info()
        write_json_atomically(self.info_path, info)
        if self.ready_file is not None:
            try:
                write_json_atomically(self.ready_file, info)
            except OSError as err:
                raise UsageError(
                    f"--ready-file {self.ready_file}: cannot write it ({err.strerror or err}); "
                    "give a path in a folder you can write"
                ) from None
        return info

    def info(self) -> dict[str, Any]:
        """The ready record, as of now."""
        return ready_info(self.lab, self.control_path, None if self.web is None else self.web.url)

    def serve(self, done: Callable[[], bool] = lambda: False) -> int | None:
        """Turn the reactor until a stop signal or ``done()``; return the signal, if any."""
        while not self.stopping:
            self._take_signal()
            if self.stopping or done():
                break
            try:
                answered = self.control.process_pending()
                if self.web is not None:
                    # An attached shell's line may have changed what the console shows.
                    if answered:
                        self.web.changed()
                    self.web.process_pending()
            except LabInterrupted as interrupted:
                # Only reached between requests; a request's own interruption is answered.
                self._on_signal(interrupted.signum)
                continue
            self._flush_now_and_then()
            self._report_engine_errors()
            # Lab timers run from the reactor (the clock arms a wake-up for the earliest one).
            self.reactor.iterate(self._wait())
            # --state: what this turn staged (a message accepted by its next hop, a DSN) is
            # committed now; a 250 was committed before it was sent (labsim.store).
            self.lab.world.state.commit()
            if self.web is not None:
                self.web.tick()
        return self.stop_signal

    def stopped_line(self) -> str:
        """What ``up`` and ``shell`` print once the lab has stopped, naming the signal."""
        what = "stop" if self.stop_signal is None else signal.Signals(self.stop_signal).name
        return f"labsim: {what}: lab '{self.lab.definition.name}' stopped"

    def close(self) -> None:
        """Stop serving: control channel, ready files, open sessions, listeners, logs."""
        self.control.stop()
        if self.web is not None:
            self.web.stop()
        if self.handshakes is not None:
            self.lab.world.network.handshake_offload = None
            self.handshakes.stop()
        # A second Ctrl-C stops at once, without waiting for sessions to end.
        with contextlib.suppress(LabInterrupted):
            self._end_sessions()
        for path in (self.info_path, self.ready_file):
            if path is not None:
                with contextlib.suppress(OSError):
                    path.unlink()
        self.lab.stop()  # its last reactor turns also let Twisted remove the socket file
        with contextlib.suppress(OSError):
            self.control_path.unlink()
        if self._restore_signals is not None:
            self._restore_signals()
            self._restore_signals = None
        clear_stop()

    def replace_lab(self, start: Callable[[], Lab]) -> Lab:
        """Stop this lab and serve the one ``start`` builds in its place, on the same reactor,
        control channel and web console (``labsim demo --web`` opening its next chapter).

        The old lab stops first, as at shutdown (its sessions ended, its sockets closed), so
        the new one can bind the same port offset. When ``start`` raises, the old lab stays
        the one shown (stopped) and the error goes to the caller.
        """
        with contextlib.suppress(LabInterrupted):
            self._end_sessions()
        self.lab.stop()
        lab = start()
        lab.live = True
        self.lab = lab
        self._shells.clear()  # their sessions held the old lab's objects
        self._engine_errors_reported = 0
        # Attached shells and scripts read the ready record: it names the new lab's servers.
        write_json_atomically(self.info_path, self.info())
        if self.ready_file is not None:
            write_json_atomically(self.ready_file, self.info())
        if self.web is not None:
            self.web.lab_replaced()
        return lab

    def _end_sessions(self) -> None:
        # Sessions whose client already left are finished first (their last log line is the
        # client's disconnect); the ones still open are closed by the lab, as a stopping
        # transport service drops its connections, and aborted if the peer does not finish.
        from labsim.net.loopback import LoopbackClient, LoopbackServer
        from labsim.reactor import drive

        for _ in range(3):
            self.reactor.iterate(0)
        open_connections = [
            s
            for s in {*self.reactor.getReaders(), *self.reactor.getWriters()}
            if isinstance(s, LoopbackServer | LoopbackClient)
        ]
        for connection in open_connections:
            connection.loseConnection()
        activity = self.lab.world.activity
        if not drive(self.reactor, lambda: activity.idle, bound=SHUTDOWN_GRACE_SECONDS):
            for connection in open_connections:
                connection.abortConnection()
            for _ in range(3):
                self.reactor.iterate(0)

    # --- the loop's helpers -------------------------------------------------------------------

    def _take_signal(self) -> None:
        signum = pending_stop()
        if signum is not None:
            clear_stop()
            self._on_signal(signum)

    def _on_signal(self, signum: int) -> None:
        clear_stop()
        if signum == signal.SIGINT and not self.sigint_stops:
            return  # an interactive shell's Ctrl-C outside a prompt cancels, it does not stop
        self.stop_signal = signum
        self.stopping = True

    def _wait(self) -> float:
        # Until the reactor's next timed call, at most a second (a signal or a socket wakes it).
        timeout = self.reactor.timeout()
        return _MAX_WAIT if timeout is None else max(0.0, min(timeout, _MAX_WAIT))

    def _report_engine_errors(self) -> list[str]:
        """One line on stderr per engine bug recorded since the last call (a labsim bug: the
        lab goes on; the traceback goes to the log folder when there is one). Returns them."""
        errors = self.lab.engine_errors
        new = errors[self._engine_errors_reported :]
        self._engine_errors_reported = len(errors)
        lines = []
        for error in new:
            line = (
                f"labsim: internal error (a labsim bug) on {error.server} in {error.where}: "
                f"{error.error}; the lab goes on (please report it with the traceback)"
            )
            root = self.lab.world.protocol_logs.root
            if root is not None:
                saved = Path(root) / "labsim-internal-errors.log"
                try:
                    saved.parent.mkdir(parents=True, exist_ok=True)
                    with saved.open("a", encoding="utf-8") as log:
                        log.write(f"{error.at.isoformat()} {line}\n{error.traceback}\n")
                    line += f" (traceback in {saved})"
                except OSError:
                    pass  # the one line still goes out
            print(line, file=sys.stderr, flush=True)
            lines.append(line)
        return lines

    def _flush_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_EVERY_SECONDS:
            self._last_flush = now
            self.lab.flush_logs()

    # --- control requests ---------------------------------------------------------------------

    def _forget_shell(self, client: object) -> None:
        self._shells.pop(client, None)

    def handle(self, request: Request, client: object = None) -> Reply:
        """Answer one control request of ``client`` (one object per control connection)."""
        op = request["op"]
        if op == "hello":
            orgs = self.lab.organization_names()
            return {
                "ok": True,
                "lab": self.lab.definition.name,
                "organizations": list(orgs),
                "organization": orgs[0],
                "help": HELP,
                "info": self.info(),
            }
        if op == "info":
            return {"ok": True, "info": self.info()}
        if op == "line":
            return self._line(request, client)
        if op == "vocabulary":
            from labsim.completion import vocabulary_for

            organization = _text(request, "organization")
            return {"ok": True, "vocabulary": vocabulary_for(self.lab, organization).to_json()}
        raise control.ControlError(
            f"control request: unknown op '{op}'; use hello, info, line or vocabulary"
        )

    def _line(self, request: Request, client: object) -> Reply:
        output: list[str] = []
        organization = _text(request, "organization")
        shell = self._shells.get(client) if client is not None else None
        if shell is None or shell.organization.lower() != organization.lower():
            # A new client, or one that switched organization: a fresh session (variables
            # would hold the other organization's objects). replace_lab forgets them all.
            shell = InteractiveShell(self.lab, output.append, organization)
            if client is not None:
                self._shells[client] = shell
        shell.echo = output.append
        server = request.get("server")
        if server is not None and not isinstance(server, str):
            raise control.ControlError('control request: "server" must be a string or null')
        shell.server = server
        text = _text(request, "text")
        keep = self.run_line(shell, text, output)
        return {
            "ok": True,
            "output": "\n".join(output),
            "organization": shell.organization,
            "server": shell.server,
            "quit": not keep,
        }

    def run_line(self, shell: InteractiveShell, text: str, output: list[str]) -> bool:
        """Run one shell line whose ``echo`` appends to ``output``, then add the lab's own
        notes (an interruption, engine errors, work still going on); False means leave.

        Attached shells and the web console's prompt both run their lines here.
        """
        keep = True
        try:
            keep = shell.execute(text)
        except LabInterrupted as interrupted:
            if interrupted.signum != signal.SIGINT or self.sigint_stops:
                self._on_signal(interrupted.signum)
            output.append(
                "labsim: interrupted; the lab goes on serving (what this line started continues)"
            )
        output.extend(self._report_engine_errors())
        unsettled = self.lab.world.activity
        if not unsettled.lab_idle and text.strip():
            output.append(
                f"labsim: still working after {self.lab.settle_bound:.0f}s ({unsettled.describe()}); "
                "the lab goes on in the background"
            )
        return keep


def _text(request: Request, key: str) -> str:
    value = request.get(key)
    if not isinstance(value, str):
        raise control.ControlError(f'control request "{request["op"]}": "{key}" must be a string')
    return value


def _check_writable(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UsageError(
            f"--ready-file {path}: cannot be written ("
            + ("it is a folder" if path.is_dir() else f"folder {folder} is missing or not writable")
            + "); give a path in a folder you can write"
        )
