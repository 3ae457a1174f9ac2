"""The ``labsim`` command line: ``labsim run`` (scenario files), ``labsim demo`` and
``labsim shell`` (an interactive Exchange Management Shell over a running lab).

This is the one place that turns errors into exit codes (DESIGN.md §1.6, contract):

* 0: every expectation held; 1: some expectation failed;
* 2: bad input: an invalid scenario file, a bad option or argument (Click's own usage errors
  also exit 2), or any other :class:`~labsim.errors.LabsimError`, shown as the one line
  ``labsim: error: <message>`` on stderr, never a traceback.

Labs are started through ``labsim.scenario.runner.default_lab_factory``, looked up at call
time, so tests can replace it with a fake lab (the documented test seam).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from labsim import __version__
from labsim.errors import LabsimError, UsageError
from labsim.scenario import runner
from labsim.scenario.junit import write_junit
from labsim.scenario.loader import discover, load_scenario
from labsim.scenario.model import Scenario
from labsim.scenario.report import scenario_header, step_lines, stopped_lines, summary_line
from labsim.scenario.runner import LabLike, LabOptions, ScenarioResult, StepResult

__all__ = ["EXIT_FAILED", "EXIT_INVALID", "EXIT_PASSED", "cli", "main"]

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_INVALID = 2

# Ports the lab listens on (25, 587, 717, 2525, …) plus the offset must stay below 65536.
_MAX_PORT_OFFSET = 60000


def _fail(ctx: click.Context, err: Exception) -> NoReturn:
    """Print the one-line user error and exit with status 2."""
    click.echo(f"labsim: error: {err}", err=True)
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


DEFAULT_PORT_OFFSET = 10000
_PORT_OFFSET_HELP = (
    "Add N to every port the lab listens on (Exchange's 25, 465, 587, 717, 2525 and DNS 53), "
    "so that no root privilege is needed and it does not "
    "collide with a mail server on this machine (decision D12). Default: 10000, so port 25 "
    "listens on 10025; give another offset to run two labs side by side."
)
_CERTS_HELP = (
    "Folder where the lab writes its certificates and keys (PEM, and <Org>/root-ca.cer for "
    "each organization's root CA); a relative -FilePath in a cmdlet is resolved against it. "
    "Default: ./certs/<lab name>, e.g. ./certs/default."
)


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
        metavar="N",
        type=click.IntRange(0, _MAX_PORT_OFFSET),
        default=DEFAULT_PORT_OFFSET,
        show_default=True,
        help=_PORT_OFFSET_HELP,
    )(command)


@click.group(cls=_LabsimGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="labsim")
def cli() -> None:
    """Simulate Exchange 2013 organizations exchanging mail with Domain Security (mutual TLS).

    Each run starts a fresh lab on loopback addresses (by default Adatum, adatum.com, and
    TreyResearch, treyresearch.net) with real SMTP, real TLS and real certificates.
    """


@cli.command(name="run")
@click.argument(
    "paths",
    metavar="FILE_OR_DIR...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path),
)
@click.option(
    "--junit",
    "junit_path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write JUnit XML to PATH (one testcase per scenario), for CI systems.",
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
    paths: Sequence[Path],
    junit_path: Path | None,
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
    argument is invalid (one message, no traceback). The file format is in docs/scenarios.md.
    """
    scenarios = [load_scenario(path) for path in discover(paths)]
    if junit_path is not None and junit_path.exists() and junit_path.is_dir():
        raise UsageError(f"--junit {junit_path}: is a directory; give a file name")
    _ensure_marks_printable()
    log_folders = _log_folders(scenarios, log_folder)
    results: list[ScenarioResult] = []
    for scenario in scenarios:
        options = LabOptions(
            cert_folder=cert_folder,
            log_folder=log_folders.get(scenario.path),
            port_offset=port_offset,
        )

        # Looked up on the module at each call: the seam tests replace with a fake lab.
        def factory(s: Scenario, options: LabOptions = options) -> LabLike:
            return runner.default_lab_factory(s, options)

        def show(step: StepResult) -> None:
            for line in step_lines(step, explain=explain):
                click.echo(line)

        click.echo(scenario_header(scenario))
        result = runner.run_scenario(scenario, lab_factory=factory, explain=explain, on_step=show)
        for line in stopped_lines(result):
            click.echo(line)
        click.echo("")
        results.append(result)
    click.echo(summary_line(results))
    if junit_path is not None:
        try:
            write_junit(results, junit_path)
        except OSError as err:
            raise UsageError(f"--junit {junit_path}: cannot write: {err.strerror or err}") from None
    ctx.exit(EXIT_PASSED if all(r.passed for r in results) else EXIT_FAILED)


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
    status = run_demo(click.echo, cert_folder=folder, port_offset=port_offset)
    ctx.exit(int(status))


@cli.command(name="shell")
@click.option(
    "--lab",
    "lab_ref",
    metavar="NAME_OR_FILE",
    default="default",
    show_default=True,
    help='The built-in lab ("default") or a lab file (docs/lab-files.md), e.g. labs/partners.toml.',
)
@click.option(
    "--org",
    "organization",
    metavar="NAME",
    help="The organization the prompt starts in (default: the lab's first); switch with :org.",
)
@lab_options
def shell_command(
    lab_ref: str, organization: str | None, port_offset: int, cert_folder: Path | None
) -> None:
    """Type Exchange Management Shell cmdlets against a running lab.

    Starts the lab and shows EMS's prompt. Each line runs at once and the lab settles before
    the next prompt, so a Send-MailMessage has been delivered, refused or queued by then.
    Lines starting with ':' drive the lab (:org, :server, :advance 2d, :inbox ADDRESS,
    :explain, :help, :quit). End of input also leaves.
    """
    from labsim.interactive import InteractiveShell
    from labsim.lab import Lab
    from labsim.model.lab import default_lab

    if lab_ref in ("default", ""):
        definition = default_lab()
    else:
        from labsim.labfile import load_lab_file

        definition = load_lab_file(Path(lab_ref))
    folder = cert_folder or runner.default_cert_folder(definition)
    first = definition.organizations[0].organization.name
    lab = Lab.start(definition, cert_folder=folder, port_offset=port_offset)
    try:
        shell = InteractiveShell(lab, click.echo, organization or first)
        click.echo(
            f"labsim shell: lab '{definition.name}', certificates in {folder}/; :help for help"
        )
        stdin = sys.stdin
        # Piped input (a prepared demo, a test) is echoed after the prompt, like a transcript.
        transcript = not stdin.isatty()

        def lines() -> Any:
            while True:
                click.echo(shell.prompt, nl=False)
                line = stdin.readline()
                if not line:
                    click.echo("")
                    return
                if transcript:
                    click.echo(line.rstrip("\r\n"))
                yield line

        shell.run(lines())
    finally:
        lab.stop()


def main() -> None:
    """Console-script entry point (``labsim = labsim.cli:main``)."""
    cli(prog_name="labsim")


if __name__ == "__main__":  # pragma: no cover
    main()
