"""Get-ChildItem, Get-Content and Select-String over a server's Exchange log folders.

What an admin types on an Exchange server to read its protocol and message tracking logs:
``Get-ChildItem "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\Hub\\
ProtocolLog\\SmtpSend"``, ``Select-String -Path "<that folder>\\*.LOG" -Pattern "treyresearch"``,
``Get-Content <file> -Tail 20``. The files are the ones the lab writes (the same text as under
``--logs``, header lines included, whether or not ``--logs`` is given), in Exchange 2013's
default folders under ``C:\\Program Files\\Microsoft\\Exchange Server\\V15``: FrontEnd protocol
logs on a Client Access server, Hub protocol logs and message tracking on a Mailbox server.

A local path (``C:\\...``) is on the shell's server (``:server``); ``\\\\SERVER\\C$\\...`` names
the server, as an admin reads another server's logs over its admin share. Only those folders
exist: any other path is not found, with one message saying which folders there are.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import find_lab_server, find_server
from labsim.ems.conversions import INT, STRING, STRING_LIST, SWITCH
from labsim.ems.host import LogFile
from labsim.ems.outputs import FileItem, MatchInfo
from labsim.model.organization import Server

INSTALL_PATH = "Program Files\\Microsoft\\Exchange Server\\V15"
"""Exchange 2013's install folder on drive C: ($exinstall), where its logs are by default."""

_UNC = re.compile(r"\\\\([^\\]+)\\[Cc]\$(?:\\(.*))?\Z")
_LOCAL = re.compile(r"[Cc]:(?:\\(.*))?\Z")


def _standard_folders(server: Server) -> list[str]:
    # Exchange 2013's default log folders for the roles labsim runs (docs/fidelity.md).
    if server.is_client_access:
        base = "TransportRoles\\Logs\\FrontEnd\\ProtocolLog"
        return [f"{base}\\SmtpReceive", f"{base}\\SmtpSend"]
    base = "TransportRoles\\Logs\\Hub\\ProtocolLog"
    return [f"{base}\\SmtpReceive", f"{base}\\SmtpSend", "TransportRoles\\Logs\\MessageTracking"]


@dataclass(frozen=True)
class _Place:
    """A typed path, resolved: the server, how the path named the drive, and the part under
    the install folder (``\\``-separated, without leading or trailing ``\\``)."""

    server: Server
    drive: str
    """``C:`` or ``\\\\SERVER\\C$``, as typed."""
    relative: str
    files: tuple[LogFile, ...]
    """The server's log files (read from the host once per path; their text is rendered only
    when read)."""

    @property
    def folders(self) -> list[str]:
        """The server's log folders: Exchange's for its role, and any a file is in."""
        known = _standard_folders(self.server)
        known.extend(f for f in dict.fromkeys(f.folder for f in self.files) if f not in known)
        return known

    def full(self, relative: str) -> str:
        """The full path, in the typed form, of a path under the install folder."""
        return f"{self.drive}\\{INSTALL_PATH}" + (f"\\{relative}" if relative else "")


def _where_logs_are(server: Server) -> str:
    folders = ", ".join(f"C:\\{INSTALL_PATH}\\{f}" for f in _standard_folders(server))
    return f"{server.name} keeps its logs in {folders}"


def _resolve(ctx: CmdletContext, path: str) -> _Place:
    text = path.strip().rstrip("\\") if len(path.strip()) > 3 else path.strip()
    unc = _UNC.fullmatch(text)
    local = _LOCAL.fullmatch(text)
    rest = ""
    if unc is not None:
        rest = unc.group(2) or ""
    elif local is not None:
        rest = local.group(1) or ""
    parts = [p for p in rest.split("\\") if p]
    install = INSTALL_PATH.lower().split("\\")
    if (unc is None and local is None) or [p.lower() for p in parts[: len(install)]] != install:
        raise ctx.error(
            f"Cannot find path '{path}' because it does not exist. labsim's shell reads the "
            f"servers' log folders (C:\\{INSTALL_PATH}\\TransportRoles\\Logs\\... on the shell's "
            f"server, or \\\\SERVER\\C$\\{INSTALL_PATH}\\...) and the certificate stores "
            "(Cert:\\LocalMachine\\Root, Cert:\\LocalMachine\\My).",
            "ObjectNotFound",
        )
    if unc is not None:
        named = unc.group(1)
        if ctx.server is not None and named.lower() == ctx.server.lower():
            server = find_lab_server(ctx, named)[1]
        else:
            server = find_server(ctx, named)
        drive = f"\\\\{named}\\C$"
    else:
        if ctx.server is None:
            example = next(
                (s.name for s in ctx.organization().servers if not s.is_client_access),
                ctx.organization().servers[0].name,
            )
            raise ctx.error(
                f"Cannot find path '{path}': labsim's shell runs on no server. Type "
                f":server {example} first, or name the server: \\\\{example}\\C$\\{INSTALL_PATH}"
                "\\TransportRoles\\Logs\\...",
                "ObjectNotFound",
            )
        # The shell's :server is the machine the admin is on, whatever its organization.
        server = find_lab_server(ctx, ctx.server)[1]
        drive = text[:2]
    return _Place(
        server, drive, "\\".join(parts[len(install) :]), tuple(ctx.host.log_files(server.name))
    )


def _same(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _folder_matches(pattern: str, folder: str) -> bool:
    # Wildcards may stand in any folder of the path (...\ProtocolLog\*\*.LOG), one level each.
    parts, names = pattern.lower().split("\\"), folder.lower().split("\\")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p) for p, n in zip(parts, names, strict=True)
    )


def _matching_files(ctx: CmdletContext, place: _Place, path: str) -> list[LogFile]:
    """The files a path names: one file, or the files matching wildcards in the file name or
    in the folders."""
    folder, _, name = place.relative.rpartition("\\")
    folders = place.folders
    if any(_same(place.relative, f) for f in folders):
        raise ctx.error(
            f"Cannot read '{path}': it is a folder. Name its files, e.g. {path}\\*.LOG.",
            "ReadError",
        )
    if not any(_folder_matches(folder, f) for f in folders):
        raise ctx.error(
            f"Cannot find path '{path}' because it does not exist. "
            f"{_where_logs_are(place.server)}.",
            "ObjectNotFound",
        )
    found = [
        f
        for f in place.files
        if _folder_matches(folder, f.folder) and fnmatch.fnmatchcase(f.name.lower(), name.lower())
    ]
    if not found and not any(c in place.relative for c in "*?["):
        raise ctx.error(
            f"Cannot find path '{path}' because it does not exist. "
            f"The folder has {_listing(place, folder)}.",
            "ObjectNotFound",
        )
    return found


def _listing(place: _Place, folder: str) -> str:
    names = [f.name for f in place.files if _same(f.folder, folder)]
    return ", ".join(names) if names else "no files yet (nothing logged there)"


def child_items(ctx: CmdletContext, path: str) -> list[object]:
    """Get-ChildItem of a log folder (its files), a folder above them (its subfolders), or
    files by name or wildcard."""
    place = _resolve(ctx, path)
    folders = place.folders
    relative = place.relative
    if any(_same(relative, f) for f in folders):
        return [
            FileItem(
                place.full(relative),
                f.name,
                len(f.text.encode("utf-8")),
                f.last_write_time,
                place.server.name,
            )
            for f in place.files
            if _same(f.folder, relative)
        ]
    prefix = relative.lower() + "\\" if relative else ""
    below = sorted(
        {f[len(prefix) :].split("\\")[0] for f in folders if f.lower().startswith(prefix)},
        key=str.lower,
    )
    if below:
        return [FileItem(place.full(relative), d, None, None, place.server.name) for d in below]
    return [
        FileItem(
            place.full(f.folder),
            f.name,
            len(f.text.encode("utf-8")),
            f.last_write_time,
            place.server.name,
        )
        for f in _matching_files(ctx, place, path)
    ]


def _lines(file: LogFile) -> list[str]:
    return file.text.split("\r\n")[:-1] if file.text.endswith("\r\n") else file.text.split("\r\n")


def get_content(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Content [-Path] FILE [-Tail N] [-TotalCount N]: the lines of a log file."""
    tail, head = args.get("Tail"), args.get("TotalCount")
    for name, value in (("Tail", tail), ("TotalCount", head)):
        if isinstance(value, int) and value < 0:
            raise ctx.error(
                f"Cannot validate argument on parameter '{name}'. The {value} argument is less "
                "than the minimum allowed range of 0.",
                "ParameterArgumentValidationError",
            )
    path = args.text("Path") or ""
    place = _resolve(ctx, path)
    lines: list[str] = []
    for file in _matching_files(ctx, place, path):
        lines.extend(_lines(file))
    if isinstance(head, int):
        lines = lines[:head]
    if isinstance(tail, int):
        lines = lines[len(lines) - tail :] if tail else []
    return lines


def _matcher(ctx: CmdletContext, args: Arguments) -> tuple[str, bool, re.Pattern[str]]:
    patterns = [p for p in args.items("Pattern") if isinstance(p, str)]
    if not patterns:
        raise ctx.error(
            "Cannot bind argument to parameter 'Pattern' because it is an empty string.",
            "ParameterArgumentValidationError",
        )
    ignore_case = not args.flag("CaseSensitive")
    texts = [re.escape(p) for p in patterns] if args.flag("SimpleMatch") else patterns
    try:
        compiled = re.compile("|".join(f"(?:{t})" for t in texts), re.I if ignore_case else 0)
    except re.error as err:
        raise ctx.error(
            f"The string {patterns[0]} is not a valid regular expression: {err}. Use "
            "-SimpleMatch to search for the text as it is.",
            "InvalidArgument",
        ) from None
    return ", ".join(patterns), ignore_case, compiled


def select_string(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Select-String [-Pattern] P [-Path] FILES, or files / text piped in: the matching lines,
    as ``path:line number:line``."""
    pattern, ignore_case, compiled = _matcher(ctx, args)
    keep_matches = not args.flag("NotMatch")
    sources: list[tuple[str, list[str]]] = []
    for path in args.items("Path"):
        if not isinstance(path, str):
            continue
        place = _resolve(ctx, path)
        for file in _matching_files(ctx, place, path):
            sources.append((place.full(f"{file.folder}\\{file.name}"), _lines(file)))
    if not args.items("Path"):
        piped_text: list[str] = []
        for obj in ctx.input:
            if isinstance(obj, FileItem):
                if obj.length is None:
                    continue
                found = _matching_files(ctx, _resolve(ctx, obj.full_name), obj.full_name)
                sources.extend((obj.full_name, _lines(f)) for f in found)
            elif obj is not None:
                piped_text.append(str(obj))
        if piped_text:
            sources.append(("", piped_text))
        # Nothing piped in (an empty folder's Get-ChildItem, or no input at all) finds nothing.
    results: list[object] = []
    for path, lines in sources:
        for number, line in enumerate(lines, start=1):
            if bool(compiled.search(line)) == keep_matches:
                results.append(MatchInfo(path, number, line, pattern, ignore_case))
    return results


SPECS = (
    CmdletSpec(
        "Get-Content",
        (
            ParameterSpec("Path", STRING, mandatory=True, position=0),
            ParameterSpec("Tail", INT),
            ParameterSpec("TotalCount", INT, aliases=("First", "Head")),
        ),
        get_content,
        aliases=("gc", "cat", "type"),
        module="Microsoft.PowerShell.Management",
        synopsis="Read a server's log file (protocol or message tracking log), -Tail N for "
        "the last lines.",
    ),
    CmdletSpec(
        "Select-String",
        (
            ParameterSpec("Pattern", STRING_LIST, mandatory=True, position=0),
            ParameterSpec("Path", STRING_LIST, position=1),
            ParameterSpec("SimpleMatch", SWITCH),
            ParameterSpec("CaseSensitive", SWITCH),
            ParameterSpec("NotMatch", SWITCH),
        ),
        select_string,
        aliases=("sls",),
        collects_pipeline=True,
        module="Microsoft.PowerShell.Utility",
        synopsis="Find lines in a server's log files (-Path with wildcards, or Get-ChildItem "
        "piped in), as path:line:text.",
    ),
)
"""The file cmdlets over the servers' log folders."""
