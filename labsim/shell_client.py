"""The prompt side of ``labsim shell``: reads lines, sends them to a live lab, prints replies.

It holds no lab and imports no Twisted: it talks to a lab through its control channel
(:class:`labsim.control.ControlClient`), so the same loop serves ``labsim shell`` (a lab in
the same process, this loop in a thread) and ``labsim shell --attach`` (a lab in another
process, this loop in the main thread). Lines ending with a backtick continue on the next line,
as in PowerShell; the whole statement goes to the lab at once. The organization and machine
the prompt shows are this client's own, so two shells on one lab do not change each other's.
"""

from __future__ import annotations

from collections.abc import Callable

from labsim.control import ControlClient, RequestRefused
from labsim.errors import UsageError

ReadLine = Callable[[str], "str | None"]
"""Shows a prompt and returns the line typed, "" for a cancelled line, None at the end."""


def prompt_text(organization: str, server: str | None, continuing: bool) -> str:
    """EMS's prompt, with the machine when one is chosen; ``>> `` inside a continued line."""
    if continuing:
        return ">> "
    return f"[PS] {organization}{'/' + server if server else ''}> "


def run_client(
    client: ControlClient,
    *,
    read: ReadLine,
    echo: Callable[[str], None],
    organization: str | None = None,
    on_context: Callable[[str, str | None], None] = lambda _org, _server: None,
) -> None:
    """Read and run lines until ``:quit``/``exit``, Ctrl-D or the end of input.

    ``on_context`` hears the organization and machine before each prompt (completion offers
    that organization's connectors and mailboxes).
    """
    hello = client.request("hello")
    names: list[str] = hello["organizations"]
    current = hello["organization"]
    if organization is not None:
        matches = [n for n in names if n.lower() == organization.lower()]
        if not matches:
            raise UsageError(
                f"--org {organization}: not an organization of lab '{hello['lab']}'; "
                f"use one of {', '.join(names)}"
            )
        current = matches[0]
    server: str | None = None
    pending: list[str] = []
    while True:
        on_context(current, server)
        line = read(prompt_text(current, server, bool(pending)))
        if line is None:
            return
        if not pending and line.strip().lower() == "exit":
            return
        if line.rstrip().endswith("`") and not line.strip().startswith(":"):
            pending.append(line)
            continue
        text = "\n".join([*pending, line])
        pending = []
        if not text.strip():
            continue
        try:
            reply = client.request("line", organization=current, server=server, text=text)
        except RequestRefused as err:
            # The lab could not answer this line (it says why, and keeps serving): so does the
            # shell. Only a lost connection ends it.
            echo(f"labsim: {err}")
            continue
        if reply["output"]:
            echo(reply["output"])
        current, server = reply["organization"], reply["server"]
        if reply["quit"]:
            return
