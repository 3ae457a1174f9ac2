"""The ``labsim`` command line: ``labsim run`` (scenario files), ``labsim demo``, ``labsim up``
(a live lab, labsim.live), ``labsim shell`` (Exchange Management Shell over a live lab of
its own, or attached to a running ``labsim up``), ``labsim import`` (a lab file from a
production organization's exports, labsim.importer), and ``labsim matrix`` / ``labsim diff`` (the
partner matrix of a configuration, and how a change moves it; labsim.matrix).

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

import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from labsim import __version__
from labsim.errors import ConfigError, LabsimError, UsageError
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
    from labsim.terminal import Palette, colour_wanted, mark_line

    # ✔ green and ✘ red on a terminal (never in a pipe, a file or with NO_COLOR).
    palette = Palette(colour_wanted(sys.stdout))
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
                click.echo(mark_line(line, palette))

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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@cli.command(name="import")
@click.argument(
    "paths",
    nargs=-1,
    required=True,
    metavar="PATH...",
    type=click.Path(path_type=Path),
)
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="LAB.toml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The lab file to write (overwritten if it exists).",
)
@click.option(
    "--partner",
    "partners",
    multiple=True,
    metavar='DOMAIN="SERVER\\Connector"',
    help="The Partner receive connector a partner domain sends to, when the exports leave it "
    "ambiguous (several Partner connectors, none named for the domain). Repeatable.",
)
@click.option(
    "--outside",
    "outside",
    multiple=True,
    metavar="DOMAIN=[ADDRESS:]PORT",
    help="Let real mail software play a partner (an outside organization, docs/lab-files.md) "
    "instead of a simulated one: its SMTP server's 127.x address and port. Without an address, "
    "labsim gives the one inside the partner's receive connector ranges. Repeatable.",
)
@click.option(
    "--as-of",
    metavar="YYYY-MM-DD",
    help="The date certificate validity is measured from (default: today, UTC); give it to "
    "get the same lab file on another day.",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    output: Path,
    partners: tuple[str, ...],
    outside: tuple[str, ...],
    as_of: str | None,
) -> None:
    """Write a lab file from exports of a production Exchange organization.

    PATH is a file or a folder of files: the Format-List text (`... | Format-List * > file.txt`)
    or Export-Clixml XML of Get-TransportConfig, Get-AcceptedDomain, Get-ExchangeServer,
    Get-SendConnector, Get-ReceiveConnector, Get-ExchangeCertificate -Server (each server),
    optionally Get-Mailbox, and partners' root CA certificates (.cer). Each file is recognized
    by its content. The lab file gets the organization with its connectors and stand-in
    certificates, a simulated partner for every partner domain (or an outside organization,
    --outside), an address map of the real addresses to 127.x, and a report of what is not
    modelled (also printed). See docs/import.md.
    """
    from datetime import UTC, datetime

    from labsim.importer import ImportOptions, build_import, read_exports
    from labsim.importer.writer import render_lab_file
    from labsim.labfile import load_lab_file

    chosen: list[tuple[str, str]] = []
    for item in partners:
        domain, sep, identity = item.partition("=")
        if not sep or not domain.strip() or "\\" not in identity:
            raise UsageError(
                f'--partner {item!r}: give DOMAIN="SERVER\\Connector", e.g. '
                '--partner contoso.com="FAB-EX01\\From Contoso"'
            )
        chosen.append((domain.strip().lower(), identity.strip().strip('"')))
    players: list[tuple[str, str | None, int]] = []
    for item in outside:
        domain, sep, where = item.partition("=")
        address, _, port = where.rpartition(":")
        if not sep or not domain.strip() or not port.strip().isdigit():
            raise UsageError(
                f"--outside {item!r}: give DOMAIN=ADDRESS:PORT or DOMAIN=PORT, e.g. "
                "--outside fabrikam.com=127.0.40.1:2525"
            )
        players.append((domain.strip().lower(), address.strip() or None, int(port)))
    if as_of is None:
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        try:
            day = datetime.strptime(as_of, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise UsageError(
                f"--as-of {as_of!r}: give a date as YYYY-MM-DD, e.g. 2026-12-01"
            ) from None
    name = re.sub(r"[^A-Za-z0-9._-]", "-", output.stem).strip("-.") or "imported"
    if not name[0].isalnum() or name == "default":
        name = f"imported-{name}".replace("--", "-")
    exports = read_exports(list(paths))
    result = build_import(
        exports,
        ImportOptions(
            as_of=day, partner_connectors=tuple(chosen), outside=tuple(players), lab_name=name
        ),
    )
    try:
        output.write_text(render_lab_file(result), encoding="utf-8")
    except OSError as err:
        raise UsageError(f"--output {output}: cannot write it ({err.strerror or err})") from None
    load_lab_file(output)  # the file must load as written
    organization = result.organizations[0]
    click.echo(
        f"Wrote {output}: {organization.name} ({', '.join(organization.domains)}), "
        f"{len(organization.servers)} servers, "
        + _count(len(result.organizations) - 1, "simulated partner")
        + (", " + _count(len(result.outside), "outside organization") if result.outside else "")
    )
    for line in result.partners:
        click.echo(f"  partner {line}")
    for address in result.test_mailboxes:
        click.echo(f"  test mailbox {address} (no Get-Mailbox export)")
    click.echo(
        f"Not modelled ({len(result.report)}):" if result.report else "Not modelled: nothing"
    )
    for finding in result.report:
        click.echo(f"  {finding.line()}")


@cli.command(name="demo")
@click.argument(
    "scenario_file",
    metavar="[SCENARIO]",
    required=False,
    type=click.Path(dir_okay=False, path_type=Path),
)
@click.option(
    "--chapter",
    metavar="NAME",
    help="Tell this chapter instead of the story: traps (all the article's traps) or one "
    "trap; --chapters lists them.",
)
@click.option("--chapters", "list_chapters", is_flag=True, help="List the chapters and exit.")
@click.option(
    "--lab",
    "lab_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Tell the story (or --chapter) on this lab file instead of the built-in lab; it needs "
    "two organizations, each with a Client Access server, a Mailbox server and a mailbox.",
)
@click.option(
    "--step",
    "step_mode",
    is_flag=True,
    help="Wait for Enter before each step (q then Enter quits cleanly); works with piped "
    "input too, and goes on without waiting when the input ends. Terminal only: with --web "
    "the browser's Next is the pause.",
)
@click.option(
    "--web",
    is_flag=True,
    help="Walk the chapters in the web console instead of the terminal: starts a live lab with "
    "its console (as labsim up does), prints the console's /demo URL with this run's secret, "
    "and runs one step per click on Next (or by itself with Auto). The same chapters as on the "
    "terminal (the story, --chapter traps or one trap, or SCENARIO); when a chapter is over, "
    "Next opens the next one on a fresh lab and the console's views follow it. The terminal "
    "prints one line per step. At the end the last lab stays up for the other views until "
    "Ctrl-C.",
)
@click.option(
    "--auto",
    "auto_seconds",
    metavar="SECONDS",
    type=float,
    help="With --web: start in Auto mode, running the next step every SECONDS seconds, on "
    "across chapters (the page's Auto button turns it off and on; without --auto it uses "
    "15 s).",
)
@lab_options
@click.pass_context
def demo_command(
    ctx: click.Context,
    scenario_file: Path | None,
    chapter: str | None,
    list_chapters: bool,
    lab_file: Path | None,
    step_mode: bool,
    web: bool,
    auto_seconds: float | None,
    port_offset: int | None,
    cert_folder: Path | None,
) -> None:
    """Teach Domain Security: the article's configuration, step by step, told by outcomes.

    Without SCENARIO: starts the built-in lab (Adatum and TreyResearch) and sends a message
    before anything is configured, then after each step of the article (root CAs, the two TLS
    lists, Partner connectors), showing what changed: one line per SMTP hop naming the rule
    that decided it, where each message ended (✔ domain secured, or queued with its
    LastError), and each expected outcome as ✔ or ✘. With SCENARIO (a scenario file, e.g. one
    of scenarios/breakfix/): narrates that file the same way, its comments as the narration.

    Lines fit 100 columns; colour on a terminal unless NO_COLOR is set. Exit status: 0 when
    every expected outcome held (or q stopped the demo), 1 otherwise, 2 for bad input.
    docs/teaching.md is a lesson plan built on it.

    With --web the same chapters and steps are shown in the web console's Demo view
    (docs/teaching.md); Ctrl-C stops the lab, and the exit status says whether every step
    shown held.
    """
    try:
        # Imported here: the demo pulls in the whole lab (Twisted, OpenSSL).
        import importlib

        # Looked up in sys.modules: tests replace the module with a fake.
        demo: Any = importlib.import_module("labsim.demo")
    except ModuleNotFoundError as err:
        if err.name != "labsim.demo":
            raise
        raise UsageError("the demo is not available in this build of labsim") from None
    if list_chapters:
        for line in demo.chapter_list():
            click.echo(line)
        ctx.exit(EXIT_PASSED)
    _check_demo_web_options(web, step_mode, auto_seconds)
    chosen = demo.select_chapters(chapter=chapter, lab_file=lab_file, scenario_file=scenario_file)
    folder = cert_folder or runner.default_cert_folder(chosen[0].lab)
    check_folder("--certs", folder, given=cert_folder is not None)
    _ensure_marks_printable()
    if web:
        ctx.exit(_demo_web(chosen, folder, port_offset, auto_seconds))
    from labsim.terminal import Palette, colour_wanted

    def read_key() -> str | None:
        line = sys.stdin.readline()
        return None if line == "" else line.rstrip("\r\n")

    status = demo.run_demo(
        click.echo,
        cert_folder=folder,
        port_offset=port_offset,
        chapters=chosen,
        step=step_mode,
        read_key=read_key,
        palette=Palette(colour_wanted(sys.stdout)),
    )
    ctx.exit(int(status))


def _check_demo_web_options(web: bool, step_mode: bool, auto_seconds: float | None) -> None:
    if web and step_mode:
        raise UsageError(
            "--step with --web: the web demo waits for its Next button, not for Enter; leave "
            "out --step (or --web to step on the terminal)"
        )
    if auto_seconds is not None and not web:
        raise UsageError(
            "--auto without --web: Auto mode is the web console's; add --web, or use --step to "
            "pause on the terminal"
        )
    if auto_seconds is not None and not 0 < auto_seconds <= 3600:
        raise UsageError(
            f"--auto {auto_seconds:g}: give the seconds between steps, more than 0 and at most "
            "3600 (e.g. --auto 20)"
        )


def _demo_web(
    chapters: Sequence[Any], folder: Path, port_offset: int | None, auto: float | None
) -> int:
    """``labsim demo --web``: the chapters walked from /demo, each on a lab of its own started
    in turn under one live lab and its console (the terminal demo's fresh lab per chapter)."""
    from labsim.demo import chapter_cert_folder
    from labsim.demo_web import WebDemo
    from labsim.lab import Lab

    first = chapters[0]
    live = _start_live(
        "default",
        port_offset,
        chapter_cert_folder(chapters, first, folder),
        None,
        ready_file=None,
        sigint_stops=True,
        web=True,
        definition=first.lab,
    )

    def open_lab(chapter: Any) -> Any:
        certs = chapter_cert_folder(chapters, chapter, folder)
        # The finished chapter's lab stops first, so the next one binds the same ports: a
        # trainer's swaks or openssl s_client keeps its port from chapter to chapter. An
        # automatic offset taken meanwhile by another program gives way to another one.
        kept = live.lab.world.network.port_offset

        def start() -> Any:
            try:
                return Lab.start(chapter.lab, cert_folder=certs, port_offset=kept)
            except ConfigError:
                if port_offset is not None:
                    raise
                return Lab.start(chapter.lab, cert_folder=certs)

        return live.replace_lab(start)

    try:
        console = live.web
        walk = WebDemo(
            chapters,
            live.lab,
            echo=click.echo,
            queue=console.pending.append,
            call_later=live.reactor.callLater,
            open_lab=open_lab,
            changed=console.changed,
            auto=auto,
        )
        console.demo = walk
        url = console.url.replace("/?", "/demo?", 1)
        if len(chapters) == 1:
            click.echo(f"labsim demo: {first.title}")
            steps = f"{walk.total} steps"
        else:
            click.echo(f"labsim demo: {len(chapters)} chapters, each on a fresh lab")
            steps = f"{len(chapters)} chapters, {sum(len(c.steps) for c in chapters)} steps"
        click.echo(f"web console  {url}")
        pace = f"Auto runs a step every {auto:g} s" if auto is not None else "Next runs each step"
        click.echo(f"Open it in a browser on this machine: {pace} ({steps}); Ctrl-C stops the lab.")
        walk.start()
        live.serve()
    finally:
        live.close()
    click.echo(live.stopped_line())
    return EXIT_PASSED if walk.passed else EXIT_FAILED


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
    definition: Any = None,
) -> Any:
    """Start a lab and open it as a live lab (control channel, ready files).

    With ``lab_state`` (``--state DIR``) the lab is kept in DIR (labsim.store) and its
    certificates default to DIR/certs. ``definition`` (a demo chapter's lab) stands for
    ``lab_ref``.
    """
    from labsim.control import state_folder
    from labsim.lab import Lab
    from labsim.live import LiveLab

    if definition is None:
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
    completion, errors red and warnings yellow as in EMS (not with NO_COLOR), Ctrl-C cancels
    the line, Ctrl-D or exit leaves. Piped input is echoed as a
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

        from labsim.terminal import Palette, colour_wanted, shell_output

        # At a terminal, EMS's colours: errors red, warnings (and labsim's notes) yellow.
        palette = Palette(colour_wanted(sys.stdout))

        def echo(text: str) -> None:
            click.echo(shell_output(text, palette))

        reader = LineReader(_history_path(), vocabulary)
        run_client(
            client,
            read=reader.read,
            echo=echo,
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


# --- the partner matrix (labsim matrix, labsim diff) ----------------------------------------

_ORG_HELP = (
    "The organization whose partners are checked (ours). Default: the lab's first organization."
)
_CHANGE_HELP = (
    "A change script: Exchange Management Shell lines (e.g. the change you are about to run in "
    "production) run as the --org organization's admin once the lab is up, before the probes."
)


def _read_change(path: Path) -> str:
    """The text of a change script, in whichever encoding PowerShell or an editor saved it."""
    from labsim.inputfiles import TOML_FILE_LIMIT, InputFileError, read_input_file

    try:
        data = read_input_file(path, TOML_FILE_LIMIT)
    except InputFileError as err:
        raise UsageError(f"--change {path}: {err}") from None
    except OSError as err:
        raise UsageError(
            f"--change {path}: cannot read: {err.strerror or err}; check the path"
        ) from None
    from labsim.importer.records import ImportInputError
    from labsim.importer.sources import decode

    # The importer's reading of PowerShell's encodings: UTF-16 with or without its BOM (Out-File),
    # UTF-8 with or without one, else Windows-1252 (a script saved as "ANSI").
    try:
        return decode(data, f"--change {path}")
    except ImportInputError:
        raise UsageError(
            f"--change {path}: not UTF-8, UTF-16 or Windows-1252 text; save the script as UTF-8"
        ) from None


def _own_organization(definition: Any, org: str | None) -> str:
    names = [o.organization.name for o in definition.organizations]
    if org is None:
        return str(names[0])
    for name in names:
        if name.lower() == org.lower():
            return str(name)
    raise UsageError(
        f"--org {org}: no organization of that name in the lab; use one of: {', '.join(names)}"
    )


def _run_matrix(
    lab_ref: str,
    org: str | None,
    change: Path | None,
    port_offset: int | None,
    cert_folder: Path | None,
) -> tuple[str, Any]:
    """Start the lab, run the change script, send the probes; (our org, results)."""
    from labsim import matrix
    from labsim.lab import Lab

    definition = _load_definition(lab_ref)
    ours = _own_organization(definition, org)
    change_text = _read_change(change) if change is not None else None
    folder = cert_folder or runner.default_cert_folder(definition)
    check_folder("--certs", folder, given=cert_folder is not None)
    lab = Lab.start(definition, cert_folder=folder, port_offset=port_offset)
    try:
        if change_text is not None:
            result = lab.run_shell(ours, change_text)
            if result.error is not None:
                raise UsageError(
                    f"--change {change}: on {ours}: {result.error}; fix the script (the lines "
                    "before it ran)"
                )
        results = matrix.lab_matrix(lab, ours)
    finally:
        lab.stop()
    return ours, results


@cli.command(name="matrix")
@click.argument("lab_ref", metavar="LAB")
@click.option("--org", metavar="NAME", help=_ORG_HELP)
@click.option("--change", metavar="FILE", type=click.Path(path_type=Path), help=_CHANGE_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--junit",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a JUnit XML report: one test case per partner domain and direction.",
)
@lab_options
def matrix_command(
    lab_ref: str,
    org: str | None,
    change: Path | None,
    as_json: bool,
    junit: Path | None,
    port_offset: int | None,
    cert_folder: Path | None,
) -> None:
    """Send one message per partner domain and direction, and say what became of it.

    LAB is "default" or a lab file. For every authoritative domain of every other organization
    of the lab: our first mailbox sends to that domain (outbound) and that domain's first
    mailbox sends back (inbound). Each row ends domain secured (✔), delivered without the
    check, queued (with the reply in LastError) or NDR (with its status); the MEANT column says
    whether the configuration asks for Domain Security there (the recipient's domain in the
    sender's TLSSendDomainSecureList, or the sender's domain in the receiver's
    TLSReceiveDomainSecureList).

    Exit status: 0 when every pair meant to be domain-secured is, 1 when one is not, 2 on bad
    input.
    """
    from labsim import matrix

    if junit is not None:
        check_folder("--junit", junit.parent, shown=f"--junit {junit}")
    _ensure_marks_printable()
    ours, results = _run_matrix(lab_ref, org, change, port_offset, cert_folder)
    if as_json:
        click.echo(matrix.matrix_json(ours, results))
    else:
        for line in matrix.matrix_lines(ours, results):
            click.echo(line)
    if junit is not None:
        try:
            junit.parent.mkdir(parents=True, exist_ok=True)
            matrix.matrix_junit(ours, results).write(junit, encoding="utf-8", xml_declaration=True)
        except OSError as err:
            raise UsageError(f"--junit {junit}: cannot write: {err.strerror or err}") from None
    sys.exit(EXIT_PASSED if all(r.ok for r in results) else EXIT_FAILED)


@cli.command(name="diff")
@click.argument("lab_ref", metavar="LAB")
@click.argument("other_ref", metavar="[LAB2]", required=False)
@click.option("--change", metavar="FILE", type=click.Path(path_type=Path), help=_CHANGE_HELP)
@click.option("--org", metavar="NAME", help=_ORG_HELP)
@click.option(
    "--json", "as_json", is_flag=True, help="Print both matrices and the changes as JSON."
)
@lab_options
def diff_command(
    lab_ref: str,
    other_ref: str | None,
    change: Path | None,
    org: str | None,
    as_json: bool,
    port_offset: int | None,
    cert_folder: Path | None,
) -> None:
    """Compare the partner matrix of two configurations.

    The first is LAB; the second is LAB2 (another lab file, e.g. another import) or LAB with
    the change script of --change applied (the change you are about to run in production).
    Prints each partner domain and direction whose outcome changed, e.g.
    "treyresearch.net inbound: ✔ domain secured → queued 454 4.7.5 …" with the rule that
    decided. Exit status: 0 when no outcome got worse, 1 when one did, 2 on bad input.
    """
    import json as json_module

    from labsim import matrix

    if (other_ref is None) == (change is None):
        raise UsageError(
            "give the second configuration: another lab file (labsim diff LAB LAB2) or a change "
            "script (labsim diff LAB --change FILE), not both and not neither"
        )
    _ensure_marks_printable()
    ours, before = _run_matrix(lab_ref, org, None, port_offset, cert_folder)
    after_lab = other_ref if other_ref is not None else lab_ref
    _, after = _run_matrix(after_lab, ours, change, port_offset, cert_folder)
    changes = matrix.compare(before, after)
    worse = [c for c in changes if c.worse]
    if as_json:
        click.echo(
            json_module.dumps(
                {
                    "organization": ours,
                    "before": [matrix.result_json(r) for r in before],
                    "after": [matrix.result_json(r) for r in after],
                    "changes": [
                        {"row": c.key, "line": c.line(), "worse": c.worse} for c in changes
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        second = f"{lab_ref} + {change}" if change is not None else after_lab
        click.echo(f"Partner matrix of {ours}: {lab_ref} → {second}")
        for c in changes:
            click.echo(("✘ " if c.worse else "  ") + c.line())
        rows = max(len(before), len(after))
        if changes:
            click.echo(f"{len(changes)} of {rows} rows changed, {len(worse)} worse")
        else:
            click.echo(f"no change: all {rows} rows have the same outcome")
    sys.exit(EXIT_FAILED if worse else EXIT_PASSED)


def _history_path() -> Path:
    import os

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "labsim" / "history"


def main() -> None:
    """Console-script entry point (``labsim = labsim.cli:main``)."""
    cli(prog_name="labsim")


if __name__ == "__main__":  # pragma: no cover
    main()
