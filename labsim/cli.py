"""The ``labsim`` command line: ``labsim run`` (scenario files), ``labsim demo``, ``labsim up``
(a live lab, labsim.live) and ``labsim shell`` (Exchange Management Shell over a live lab of
its own, or attached to a running ``labsim up``).

This is the one place that turns errors into exit codes (the contract below):

* 0: every expectation held (``up`` and ``shell``: a clean stop); 1: some expectation failed;
* 128 + signal number: ``run`` interrupted by SIGINT or SIGTERM (what ran is reported);
* 2: bad input: an invalid scenario file, a bad option or argument (Click's own usage errors
  also exit 2), or any other :class:`~labsim.errors.LabsimError`, shown as the one line
  ``labsim: error: <message>`` on stderr, never a traceback.

Labs are started through ``labsim.scenario.runner.default_lab_factory``, looked up at call
time, so tests can replace it with a fake lab (the documented test seam).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from labsim import __version__
from labsim.errors import LabsimError, UsageError
from labsim.scenario import runner
from labsim.scenario.junit import write_junit
from labsim.scenario.loader import discover, load_scenario
from labsim.scenario.model import Scenario, SendStep
from labsim.scenario.report import scenario_header, step_lines, stopped_lines, summary_line
from labsim.scenario.runner import LabLike, LabOptions, ScenarioResult, StepResult

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_PASSED", "cli", "main"]

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_INVALID = 2


def _fail(ctx: click.Context, err: Exception) -> NoReturn:
    """Print the one-line user error and exit with status 2.

    Control characters the message quotes from the user's input (a CR in a path, say) are
    shown escaped, so the message stays one line."""
    text = "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in str(err)
    )
    click.echo(f"labsim: error: {text}", err=True)
    ctx.exit(EXIT_INVALID)


class _LabsimGroup(click.Group):
    """A group that turns any LabsimError raised by a command into the one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a LabsimError becomes ``labsim: error: …`` and exit 2."""
        try:
            return super().invoke(ctx)
        except LabsimError as err:
            _fail(ctx, err)


def _ensure_marks_printable() -> None:
    """Make sure ✔/✘ can be printed (a Windows pipe defaults to a legacy code page)."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "✔✘·→".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")


_PORT_OFFSET_HELP = (
    "Add N to every port the lab listens on (Exchange's 25, 465, 475, 587, 717, 2525, DNS 53, "
    "HTTP 80), so that no root privilege is needed and labs do not collide. "
    "Default: auto, a free offset clear of this machine's ephemeral port range, tried until "
    "one binds; the LABSIM_PORT_OFFSET environment variable overrides the default. The ports "
    "in use are printed when the lab starts."
)
_CERTS_HELP = (
    "Folder where the lab writes its certificates and keys (PEM, and <Org>/root-ca.cer for "
    "each organization's root CA); a relative -FilePath in a cmdlet is resolved against it. "
    "Default: ./certs/<lab name>, e.g. ./certs/default."
)


class _PortOffsetType(click.ParamType):  # type: ignore[type-arg]
    """``auto`` or a number, as labsim.net.ports parses it (click reports a bad value)."""

    name = "auto|N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from labsim.net.ports import PortOffset, parse_offset

        if value is None or isinstance(value, PortOffset):
            return value
        try:
            return parse_offset(str(value), "--port-offset")
        except UsageError as err:
            self.fail(str(err).removeprefix("--port-offset: "), param, ctx)


def _resolve_port_offset(ctx: click.Context, param: click.Parameter, value: Any) -> int | None:
    """The offset to use: the option, else LABSIM_PORT_OFFSET, else None (automatic)."""
    from labsim.net.ports import check_offset, ephemeral_range, requested_offset

    requested = value if value is not None else requested_offset(None)
    check_offset(requested, ephemeral_range())
    value_: int | None = requested.value
    return value_


def lab_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--port-offset`` and ``--certs``, shared by every command that starts a lab."""
    command = click.option(
        "--certs",
        "cert_folder",
        metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path),
        help=_CERTS_HELP,
    )(command)
    return click.option(
        "--port-offset",
        metavar="auto|N",
        type=_PortOffsetType(),
        default=None,
        callback=_resolve_port_offset,
        help=_PORT_OFFSET_HELP,
    )(command)


@click.group(cls=_LabsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="labsim")
def cli() -> None:
    """Simulate Exchange 2013 organizations exchanging mail with Domain Security (mutual TLS).

    Each command starts a fresh lab on loopback addresses (by default Adatum, adatum.com, and
    TreyResearch, treyresearch.net) with real SMTP, real TLS and real certificates: `run` and
    `demo` drive it and stop it; `up` keeps it serving for real mail software and attached
    shells (`shell --attach`) until Ctrl-C; `shell` gives a prompt on a live lab of its own.
    """


@cli.command(name="run")
@click.argument(
    "paths",
    metavar="FILE_OR_DIR...",
    nargs=-1,
    required=True,
    # Kept as text: Path("") would be ".", and an empty argument must not mean "everything here".
    type=click.Path(),
)
@click.option(
    "--junit",
    "junit_path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML to PATH (one testcase per scenario), for CI systems.",
)
@click.option(
    "--html",
    "html_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a self-contained HTML report to FILE: each step passed or failed with its "
    "explanation and decision notes, the sequence diagram of each message, the topology (no "
    "script; for CI artifacts).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Under each step, print the lab's decision notes recorded while it ran "
    "(connector selection, domain-security checks, retries).",
)
@lab_options
@click.option(
    "--logs",
    "log_folder",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write Exchange-format protocol and message tracking log files under "
    "DIR/<scenario file name>/. Default: logs are kept in memory only (expect.log still works).",
)
@click.pass_context
def run_command(
    ctx: click.Context,
    paths: Sequence[str],
    junit_path: Path | None,
    html_path: Path | None,
    explain: bool,
    port_offset: int | None,
    cert_folder: Path | None,
    log_folder: Path | None,
) -> None:
    """Run scenario files, each in a fresh lab, and report every step.

    FILE_OR_DIR is a scenario file (TOML) or a directory, which stands for every *.toml file
    under it. All files are checked before any lab starts. Each step prints one line starting
    with ✔ or ✘; a ✘ is followed by what was expected, what was found, and the queue or
    protocol-log lines that explain it. The last line is "N passed, M failed" (scenarios).

    Exit status: 0 when every expectation holds, 1 when any fails, 2 when a file, option or
    argument is invalid (one message, no traceback). The file format is in docs/scenarios.md,
    the bounds on files and values in docs/limits.md.
    """
    scenarios = [load_scenario(path) for path in discover(paths)]
    if junit_path is not None and junit_path.exists() and junit_path.is_dir():
        raise UsageError(f"--junit {junit_path}: is a directory; give a file name")
    if junit_path is not None:
        # Its folder, checked now: the file is written after the whole run.
        check_folder("--junit", junit_path.parent, shown=f"--junit {junit_path}")
    if html_path is not None:
        check_folder("--html", html_path.parent, shown=f"--html {html_path}")
    if log_folder is not None:
        check_folder("--logs", log_folder)
    for folder in {cert_folder or runner.default_cert_folder(s.definition) for s in scenarios}:
        check_folder("--certs", folder, given=cert_folder is not None)
    _ensure_marks_printable()
    log_folders = _log_folders(scenarios, log_folder)
    results: list[ScenarioResult] = []
    # With --html, what each lab showed before it stopped (labsim.render.report).
    captured: list[Any] | None = [] if html_path is not None else None
    from labsim.reactor import LabInterrupted, default_reactor, install_stop_signals

    restore = install_stop_signals(default_reactor())
    try:
        _run_scenarios(scenarios, results, log_folders, explain, port_offset, cert_folder, captured)
    except LabInterrupted as interrupted:
        # The scenario that was running stopped its lab (runner's finally); report what ran.
        click.echo(
            f"labsim: {interrupted}: stopped after {len(results)} of {len(scenarios)} scenarios"
        )
        click.echo(summary_line(results))
        _write_junit(junit_path, results)
        _write_html(html_path, results, captured)
        ctx.exit(128 + interrupted.signum)
    finally:
        restore()
        from labsim.reactor import clear_stop

        clear_stop()
    click.echo(summary_line(results))
    _write_junit(junit_path, results)
    _write_html(html_path, results, captured)
    ctx.exit(EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED)


def check_folder(option: str, folder: Path, *, given: bool = True, shown: str = "") -> None:
    """``folder`` exists (created if need be) and a file can be written in it, else a UsageError
    naming ``option`` (``shown``: how the message names it; checked before a lab starts: a lab
    that cannot write its certificates or logs fails later, and --logs only after the run)."""
    named = shown or (f"{option} {folder}" if given else f"{folder} (the default of {option})")
    example = _FOLDER_EXAMPLE[option]
    if folder.exists() and not folder.is_dir():
        if shown:  # the folder of a file (--junit)
            raise UsageError(
                f"{named}: {folder} is not a folder; give a file in a folder you can write to, "
                f"e.g. {option} ./{example}"
            )
        raise UsageError(f"{named}: is not a folder; give a folder, e.g. {option} ./{example}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".labsim-write-test-"):
            pass
    except OSError as err:
        raise UsageError(
            f"{named}: cannot write there ({err.strerror or err}); give "
            f"{'a file in ' if shown else ''}a folder you can write to, e.g. {option} ./{example}"
        ) from None


_FOLDER_EXAMPLE = {
    "--logs": "logs",
    "--certs": "certs",
    "--junit": "junit.xml",
    "--html": "report.html",
}


def _write_junit(junit_path: Path | None, results: list[ScenarioResult]) -> None:
    if junit_path is not None:
        try:
            write_junit(results, junit_path)
        except OSError as err:
            raise UsageError(f"--junit {junit_path}: cannot write: {err.strerror or err}") from None


def _write_html(
    html_path: Path | None, results: list[ScenarioResult], captured: list[Any] | None
) -> None:
    if html_path is None or captured is None:
        return
    from datetime import UTC, datetime

    from labsim.render.report import ScenarioRun, html_report

    views = {id(c.scenario): c for c in captured}
    runs = []
    for result in results:
        seen = views.get(id(result.scenario))
        runs.append(
            ScenarioRun(result)
            if seen is None
            else ScenarioRun(result, seen.paths, tuple(seen.sent), seen.topology)
        )
    try:
        html_path.write_text(html_report(runs, generated=datetime.now(UTC)), encoding="utf-8")
    except OSError as err:
        raise UsageError(f"--html {html_path}: cannot write: {err.strerror or err}") from None


class _Capturing:
    """A lab as the runner drives it, keeping for ``--html`` the Message-ID of each ``send``
    step and, just before the lab stops, every message's path and the topology."""

    def __init__(self, scenario: Scenario, lab: LabLike) -> None:
        self.scenario = scenario
        self._lab = lab
        self.sent: list[tuple[int, str]] = []
        self.paths: tuple[Any, ...] = ()
        self.topology: Any = None
        # The runner calls send() once per send step, in order.
        self._steps = iter(s.number for s in scenario.steps if isinstance(s, SendStep))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)

    def send(self, **kwargs: Any) -> str:
        """Submit, and remember the Message-ID under its step number."""
        number = next(self._steps, 0)  # taken first: a refused send still used its step
        message_id = self._lab.send(**kwargs)
        self.sent.append((number, message_id))
        return message_id

    def stop(self) -> None:
        """Read the lab's paths and topology, then stop it (whatever the reading does)."""
        try:
            if hasattr(self._lab, "world"):
                from labsim.render.paths import message_paths
                from labsim.render.topology import topology

                lab: Any = self._lab
                self.paths = message_paths(lab)
                self.topology = topology(lab)
        finally:
            self._lab.stop()


def _run_scenarios(
    scenarios: Sequence[Scenario],
    results: list[ScenarioResult],
    log_folders: dict[Path, Path],
    explain: bool,
    port_offset: int | None,
    cert_folder: Path | None,
    captured: list[Any] | None = None,
) -> None:
    for scenario in scenarios:
        options = LabOptions(
            cert_folder=cert_folder,
            log_folder=log_folders.get(scenario.path),
            port_offset=port_offset,
        )

        # Looked up on the module at each call: the seam tests replace with a fake lab.
        def factory(s: Scenario, options: LabOptions = options) -> LabLike:
            lab = runner.default_lab_factory(s, options)
            if captured is None:
                return lab
            capturing = _Capturing(s, lab)
            captured.append(capturing)
            shown: LabLike = capturing  # type: ignore[assignment]  # forwards the rest
            return shown

        def show(step: StepResult) -> None:
            for line in step_lines(step, explain=explain):
                click.echo(line)

        click.echo(scenario_header(scenario))
        # The HTML report shows every step's decision notes; the terminal only with --explain.
        result = runner.run_scenario(
            scenario, lab_factory=factory, explain=explain or captured is not None, on_step=show
        )
        for line in stopped_lines(result):
            click.echo(line)
        click.echo("")
        results.append(result)


def _log_folders(scenarios: Sequence[Scenario], root: Path | None) -> dict[Path, Path]:
    """One log folder per scenario under ``root``, named after its file (made unique)."""
    if root is None:
        return {}
    folders: dict[Path, Path] = {}
    used: set[str] = set()
    for scenario in scenarios:
        name, n = scenario.path.stem, 1
        while name in used:
            n += 1
            name = f"{scenario.path.stem}-{n}"
        used.add(name)
        folders[scenario.path] = root / name
    return folders


@cli.command(name="demo")
@lab_options
@click.pass_context
def demo_command(ctx: click.Context, port_offset: int | None, cert_folder: Path | None) -> None:
    """Walk through configuring Domain Security between Adatum and TreyResearch.

    Starts the default lab and narrates each step of the walkthrough (trusting the partner's
    root CA, the TLS domain secure lists, Partner connectors) with the mail that flows, or
    fails to, after each one. The exit status is the one the demo reports (0 when it
    completed).
    """
    try:
        # Imported here: the demo pulls in the whole lab (Twisted, OpenSSL).
        from labsim.demo import run_demo  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError as err:
        if err.name != "labsim.demo":
            raise
        raise UsageError("the demo is not available in this build of labsim") from None
    from labsim.model.lab import default_lab

    folder = cert_folder or runner.default_cert_folder(default_lab())
    check_folder("--certs", folder, given=cert_folder is not None)
    status = run_demo(click.echo, cert_folder=folder, port_offset=port_offset)
    ctx.exit(int(status))


_LAB_HELP = (
    'The built-in lab ("default") or a lab file (docs/lab-files.md), e.g. labs/partners.toml.'
)
_LOGS_HELP = (
    "Write Exchange-format protocol and message tracking log files under DIR (brought up to "
    "date every second and at shutdown). Default: logs are kept in memory only."
)


def live_lab_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--lab``, ``--port-offset``, ``--certs`` and ``--logs``: the options of a live lab."""
    command = click.option(
        "--logs",
        "log_folder",
        metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path),
        help=_LOGS_HELP,
    )(command)
    command = lab_options(command)
    return click.option(
        "--lab",
        "lab_ref",
        metavar="NAME_OR_FILE",
        default="default",
        show_default=True,
        help=_LAB_HELP,
    )(command)


def _load_definition(lab_ref: str) -> Any:
    from labsim.model.lab import default_lab

    if lab_ref == "default":
        return default_lab()
    if not lab_ref.strip():
        raise UsageError('--lab: empty; give "default" (the built-in lab) or a lab file')
    from labsim.labfile import load_lab_file

    return load_lab_file(Path(lab_ref))


def _start_live(
    lab_ref: str,
    port_offset: int | None,
    cert_folder: Path | None,
    log_folder: Path | None,
    *,
    ready_file: Path | None,
    sigint_stops: bool,
    lab_state: Path | None = None,
    web: bool = False,
) -> Any:
    """Start a lab and open it as a live lab (control channel, ready files).

    With ``lab_state`` (``--state DIR``) the lab is kept in DIR (labsim.store) and its
    certificates default to DIR/certs.
    """
    from labsim.control import state_folder
    from labsim.lab import Lab
    from labsim.live import LiveLab

    definition = _load_definition(lab_ref)
    certs_given = cert_folder is not None
    kept = None
    if lab_state is not None:
        from labsim.store.database import LabState

        kept = LabState.open(lab_state, definition)
        cert_folder = cert_folder or lab_state / "certs"
    folder = cert_folder or runner.default_cert_folder(definition)
    try:
        if log_folder is not None:
            check_folder("--logs", log_folder)
        check_folder("--certs", folder, given=certs_given)
        lab = Lab.start(
            definition,
            cert_folder=folder,
            log_folder=log_folder,
            port_offset=port_offset,
            state=kept,
        )
    except BaseException:
        if kept is not None:
            kept.close()
        raise
    for warning in lab.restore_warnings:
        click.echo(f"labsim: {warning}", err=True)
    try:
        live = LiveLab(
            lab,
            state_folder=state_folder(),
            ready_file=ready_file,
            sigint_stops=sigint_stops,
            web=web,
        )
    except BaseException:
        lab.stop()
        raise
    try:
        live.open()
    except BaseException:
        live.close()
        raise
    return live


@cli.command(name="up")
@live_lab_options
@click.option(
    "--ready-file",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Once every listener is bound, write the lab's servers, ports, certificate files, DNS, "
    "control channel and web console URL to PATH as JSON (scripts and CI wait for it); removed "
    "at shutdown.",
)
@click.option(
    "--state",
    "lab_state",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Keep the lab in DIR (SQLite, created if missing) so that it survives a crash: the "
    "configuration as typed, issued certificates, mailboxes, queued messages and message "
    "tracking. Started again with the same --lab and --state, it comes back as it was and "
    "delivers what was queued. Certificates default to DIR/certs. Default: memory only.",
)
@click.option(
    "--web/--no-web",
    default=True,
    show_default=True,
    help="Serve the web console (topology, messages, mailboxes, queues, logs, a shell) on "
    "127.0.0.1, on a port the system picks; its URL, with this run's secret, is printed and "
    'written to the ready file under "web".',
)
@click.pass_context
def up_command(
    ctx: click.Context,
    lab_ref: str,
    port_offset: int | None,
    cert_folder: Path | None,
    log_folder: Path | None,
    ready_file: Path | None,
    lab_state: Path | None,
    web: bool,
) -> None:
    """Start a lab and keep it serving SMTP until Ctrl-C or SIGTERM.

    Prints every server with its address, each listening port (Exchange's port and the port
    in use after the offset) with the receive connectors bound to it, and its SMTP
    certificate, key and chain files; the lab DNS server; and the control channel that
    `labsim shell --attach` uses; and the web console's URL (open it in a browser on this
    machine; --no-web leaves it out). Real mail software (swaks, openssl s_client, smtplib, a
    Postfix) can talk to the servers while it runs. Lab time follows the wall clock.

    Exit status: 0 after a clean stop (SIGINT or SIGTERM: listeners closed, logs flushed),
    2 on bad input (lab file, option, a port already taken, a ready file that cannot be
    written, a --state folder that cannot be used or that another lab uses).
    """
    from labsim.live import banner_lines

    live = _start_live(
        lab_ref,
        port_offset,
        cert_folder,
        log_folder,
        ready_file=ready_file,
        sigint_stops=True,
        lab_state=lab_state,
        web=web,
    )
    try:
        for line in banner_lines(live.info()):
            click.echo(line)
        live.serve()
    finally:
        live.close()
    click.echo(live.stopped_line())
    ctx.exit(EXIT_PASSED)


@cli.command(name="shell")
@live_lab_options
@click.option(
    "--org",
    "organization",
    metavar="NAME",
    help="The organization the prompt starts in (default: the lab's first); switch with :org.",
)
@click.option(
    "--attach",
    metavar="CONTROL",
    is_flag=False,
    flag_value="",
    default=None,
    help="Attach to a running `labsim up` instead of starting a lab: CONTROL is its control "
    "socket or ready file as printed by labsim up; without it, the one lab this user runs.",
)
def shell_command(
    lab_ref: str,
    organization: str | None,
    attach: str | None,
    port_offset: int | None,
    cert_folder: Path | None,
    log_folder: Path | None,
) -> None:
    """Type Exchange Management Shell cmdlets against a live lab.

    Starts a lab (or, with --attach, joins a running `labsim up`) and shows EMS's prompt. The
    lab serves outside clients while the prompt waits. After each line the shell waits for
    the work that line caused (a Send-MailMessage delivered, refused or queued), never for
    outside sessions. Lines starting with ':' drive the lab (:org, :server, :advance 2d,
    :inbox, :headers, :log, :explain, :help, :quit). On a terminal: history (up arrow), Tab
    completion, Ctrl-C cancels the line, Ctrl-D or exit leaves. Piped input is echoed as a
    transcript. Other shells can attach to the lab while this one runs.
    """
    from labsim.control import ControlClient, find_control, state_folder
    from labsim.line_editor import is_interactive

    interactive = is_interactive(sys.stdin, sys.stdout)
    if attach is not None:
        given = [
            option
            for option, value in (
                ("--lab", lab_ref != "default"),
                ("--certs", cert_folder is not None),
                ("--logs", log_folder is not None),
            )
            if value
        ]
        if given:
            raise UsageError(
                f"--attach joins a running lab; {', '.join(given)} "
                f"{'belongs' if len(given) == 1 else 'belong'} to the labsim up "
                "that started it: leave them out, or start a lab of your own without --attach"
            )
        path = find_control(attach or None, state_folder())
        with ControlClient(path) as client:
            click.echo(f"labsim shell: attached to {path}; :help for help")
            _run_prompt(client, organization, interactive)
        return
    live = _start_live(
        lab_ref, port_offset, cert_folder, log_folder, ready_file=None, sigint_stops=not interactive
    )
    try:
        click.echo(
            f"labsim shell: lab '{live.lab.definition.name}' is up (port offset "
            f"{live.lab.world.network.port_offset}); certificates in {live.lab.cert_folder}/"
        )
        click.echo("Other shells attach with: labsim shell --attach. Type :help for help.")
        _serve_with_prompt(live, organization, interactive)
    finally:
        live.close()


def _serve_with_prompt(live: Any, organization: str | None, interactive: bool) -> None:
    """The lab's loop in this thread, the prompt in another, talking over the control channel."""
    import threading

    from labsim.control import ControlClient

    finished = threading.Event()
    failures: list[BaseException] = []
    reactor = live.reactor

    def prompt() -> None:
        try:
            with ControlClient(live.control_path) as client:
                _run_prompt(client, organization, interactive)
        except BaseException as err:  # handed to the main thread, which reports it
            failures.append(err)
        finally:
            finished.set()
            reactor.callFromThread(lambda: None)  # wake the loop to notice

    saved = _terminal_settings() if interactive else None
    thread = threading.Thread(target=prompt, name="labsim-prompt", daemon=True)
    thread.start()
    try:
        signum = live.serve(done=finished.is_set)
    finally:
        # SIGTERM can end the lab while the prompt holds the terminal in raw mode: give the
        # user their terminal back as it was.
        _restore_terminal(saved)
    if signum is not None:
        click.echo("\n" + live.stopped_line())
    if failures:
        raise failures[0]


def _terminal_settings() -> Any:
    import termios

    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except (termios.error, OSError, ValueError):
        return None


def _restore_terminal(saved: Any) -> None:
    if saved is None:
        return
    import contextlib
    import termios

    with contextlib.suppress(termios.error, OSError, ValueError):
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)


def _run_prompt(client: Any, organization: str | None, interactive: bool) -> None:
    from labsim.shell_client import run_client

    if interactive:
        from labsim.completion import Vocabulary
        from labsim.line_editor import LineReader

        context = {"organization": ""}

        def vocabulary() -> Vocabulary:
            reply = client.request("vocabulary", organization=context["organization"])
            return Vocabulary.from_json(reply["vocabulary"])

        def remember(org: str, _server: str | None) -> None:
            context["organization"] = org

        reader = LineReader(_history_path(), vocabulary)
        run_client(
            client,
            read=reader.read,
            echo=click.echo,
            organization=organization,
            on_context=remember,
        )
        return

    stdin = sys.stdin

    def read_piped(prompt: str) -> str | None:
        # Piped input (a prepared demo, a test) is echoed after the prompt, like a transcript.
        click.echo(prompt, nl=False)
        line = stdin.readline()
        if not line:
            click.echo("")
            return None
        line = line.rstrip("\r\n")
        click.echo(line)
        return line

    run_client(client, read=read_piped, echo=click.echo, organization=organization)


def _history_path() -> Path:
    import os

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "labsim" / "history"


def main() -> None:
    """Console-script entry point (``labsim = labsim.cli:main``)."""
    cli(prog_name="labsim")


if __name__ == "__main__":  # pragma: no cover
    main()
