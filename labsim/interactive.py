"""The lab side of ``labsim shell``: one statement or ``:`` command at a time, on a live lab.

A trainer or an admin types cmdlets at a ``[PS] Adatum>`` prompt as in EMS (labsim.shell_client
reads them and sends each whole statement through the control channel); the lab runs the line
and waits for the work it caused, so mail sent with Send-MailMessage has travelled (or is
queued) by the next prompt. Lines starting with ``:`` drive the lab itself (switch
organization or machine, move the lab clock, read a mailbox or a log); ``:help`` lists them.
Errors are printed and the session goes on, as in a console.
"""

from __future__ import annotations

from collections.abc import Callable

from labsim.ems.shell import ShellSession
from labsim.errors import LabsimError
from labsim.lab import Lab
from labsim.scenario.model import parse_duration

HELP = """Type Exchange Management Shell lines (a line ending with ` continues on the next).
Lab commands:
  :org NAME          use another organization (e.g. :org TreyResearch)
  :server NAME|-     run machine-local cmdlets on one server (- for every server of the org)
  :advance 2d        move the lab clock forward (s, m, h, d); due retries and expiries run
  :inbox ADDRESS     list a mailbox as Outlook would, with the domain-secured mark
  :explain [N]       the last N decision notes of the lab (default 20)
  :headers ADDRESS [N]  the headers of message N of a mailbox (default: the newest)
  :log SERVER receive|send|tracking|event [N]  the last N lines of a server's log (default 20;
                     event: its Application event log, also Get-EventLog Application)
  :help              this text
  :quit              leave this shell (also exit, Ctrl-D or the end of input); a lab this
                     shell started stops with it, a lab started by labsim up goes on"""


class InteractiveShell:
    """Runs one shell's lines on a lab; ``echo`` receives what the line prints.

    The organization and machine are this shell's own; the prompt, line editing and
    continued lines live on the client side (labsim.shell_client).
    """

    def __init__(self, lab: Lab, echo: Callable[[str], None], organization: str) -> None:
        self.lab = lab
        self.echo = echo
        self.organization = lab.organization(organization).name
        self.server: str | None = None
        # Variables ($c = Get-SendConnector "x") live as long as this shell, as in an EMS
        # window; switching organization starts afresh (they hold the other org's objects).
        self.session = ShellSession()

    def execute(self, text: str) -> bool:
        """One complete statement or ``:`` command; False means leave (live labs' shells)."""
        stripped = text.strip()
        if stripped.startswith(":"):
            return self.lab_command(stripped[1:].split())
        if stripped:
            self.run_cmdlets(text)
        return True

    def run_cmdlets(self, text: str) -> None:
        """One statement (or block): its output, then its error if any."""
        result = self.lab.run_shell(self.organization, text, self.server, self.session)
        if result.output.strip():
            self.echo(result.output.rstrip())
        if result.error is not None:
            self.echo(str(result.error))

    def lab_command(self, words: list[str]) -> bool:
        """Run a ``:`` command; False means leave."""
        if not words:
            return True
        name, args = words[0].lower(), words[1:]
        try:
            if name in ("quit", "exit"):
                return False
            if name == "help":
                self.echo(HELP)
            elif name == "org" and len(args) == 1:
                self.organization = self.lab.organization(args[0]).name
                self.server = None
                self.session = ShellSession()
            elif name == "server" and len(args) == 1:
                self.server = None if args[0] == "-" else self.lab.world.server(args[0]).name
            elif name == "advance" and len(args) == 1:
                seconds = parse_duration(args[0])
                if seconds is None:
                    self.echo(f"'{args[0]}' is not a duration; write e.g. 90s, 15m, 4h or 2d")
                else:
                    self.lab.advance(seconds)
                    self.echo(f"lab time is now {self.lab.now():%Y-%m-%d %H:%M:%S}Z")
            elif name == "inbox" and len(args) == 1:
                self.show_inbox(args[0])
            elif name == "headers" and len(args) in (1, 2):
                self.show_headers(args[0], args[1] if len(args) == 2 else None)
            elif name == "log" and len(args) in (2, 3):
                self.show_log(args[0], args[1], args[2] if len(args) == 3 else "20")
            elif name == "explain" and len(args) <= 1:
                count = int(args[0]) if args and args[0].isdigit() else 20
                for note in self.lab.explain()[-count:]:
                    self.echo(f"· {note}")
            else:
                self.echo(f"unknown lab command ':{' '.join(words)}'; type :help")
        except KeyError as err:
            self.echo(f"no server {err} in this lab; type :help")
        except LabsimError as err:
            self.echo(str(err))
        return True

    def show_headers(self, address: str, number: str | None) -> None:
        """The header block of one delivered message (1 = oldest; default the newest)."""
        messages = self.lab.inbox(address)
        if not messages:
            self.echo(f"{address}: empty")
            return
        if number is None:
            index = len(messages)
        elif number.isdigit() and 1 <= int(number) <= len(messages):
            index = int(number)
        else:
            self.echo(f"{address} holds messages 1 to {len(messages)}; ':headers {address} N'")
            return
        content = messages[index - 1].content
        head = content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        self.echo(f"{address}, message {index} of {len(messages)}:")
        self.echo(head.decode("utf-8", "replace").replace("\r\n", "\n"))

    def show_log(self, server: str, kind: str, count: str) -> None:
        """The last lines of a server's protocol (receive/send), message tracking or
        Application event log."""
        if not count.isdigit():
            self.echo(f"'{count}' is not a number of lines; e.g. :log {server} {kind} 50")
            return
        found = self.lab.world.server(server)  # KeyError: reported as "no server"
        org = self.lab.world.organization_of(found.name).name
        kind = kind.lower()
        if kind in ("receive", "send"):
            lines = self.lab.protocol_log(org, found.name, kind)
        elif kind == "tracking":
            lines = self.lab.tracking_log(org, found.name)
        elif kind == "event":
            lines = self.lab.event_log(org, found.name)
        else:
            self.echo(f"'{kind}' is not a log; use receive, send, tracking or event")
            return
        shown = lines[-int(count) :] if int(count) else []
        if not shown:
            self.echo(f"{found.name} {kind} log: no lines yet")
        for line in shown:
            self.echo(line.rstrip("\r\n"))

    def show_inbox(self, address: str) -> None:
        """A mailbox, newest last, with Outlook's domain-secured mark."""
        messages = self.lab.inbox(address)
        if not messages:
            self.echo(f"{address}: empty")
            return
        self.echo(f"{address}:")
        for m in messages:
            mark = "✔ domain secured" if m.domain_secured else "  not domain secured"
            kind = " (NDR)" if m.is_ndr else ""
            self.echo(
                f"  {mark:<20} '{m.subject}'{kind} from {m.mail_from or '<>'} "
                f"(AuthAs {m.auth_as or '-'}) at {m.delivered_at:%Y-%m-%d %H:%M:%S}Z"
            )
