"""The web console's Twisted edge: one HTTP server on the live lab's reactor.

It binds 127.0.0.1 on a port the system picks and answers every request through one
resource: :func:`labsim.web.security.check_request` decides, :mod:`labsim.web.views` chooses
the data, :mod:`labsim.web.pages` writes the HTML. Reading views are rendered inside the
reactor's callback (they only read the lab). What changes the lab (a shell line, Retry-Queue,
Resume-Queue) runs the way an attached shell's line does: queued here and run by the live
lab's main loop between reactor turns (:meth:`WebConsole.process_pending`), because running a
line drives the reactor itself; the browser's request waits for it.

Views follow the lab through Server-Sent Events (``/events``): the main loop calls
:meth:`WebConsole.tick`, which notices a change in the lab (a delivered message, a log line, a
queue, the configuration) and tells every open page, whose script fetches its view again.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from labsim.errors import LabsimError
from labsim.interactive import InteractiveShell
from labsim.web import pages, views
from labsim.web.security import (
    MAX_BODY_BYTES,
    SECRET_PARAMETER,
    SECURITY_HEADERS,
    HttpRequest,
    check_request,
    cookie_name,
    csrf_token,
    new_secret,
)

if TYPE_CHECKING:
    from labsim.demo_web import WebDemo
    from labsim.lab import Lab
    from labsim.live import LiveLab

TICK_SECONDS = 0.3
"""How often the main loop's call to :meth:`WebConsole.tick` looks for changes at most."""
HEARTBEAT_SECONDS = 5.0
"""Open pages get the lab time this often even when nothing changes (their clock moves)."""
MAX_EVENT_CLIENTS = 64
MAX_SHELLS = 16
"""Browser prompts kept (each with its variables and transcript); the oldest is forgotten."""

_log = Logger()

WebRequest = Any
"""twisted.web's Request, whose methods carry no type annotations (strict mypy would refuse
every call on it)."""

_STATIC = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}


class ConsoleRequest(Request):  # type: ignore[misc]
    """A request whose body is counted: past :data:`MAX_BODY_BYTES` it is dropped and the
    request refused with 413, so a huge upload costs the lab no memory."""

    body_too_large = False
    _body_bytes = 0

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        """Keep the body while it is small."""
        self._body_bytes += len(data)
        if self._body_bytes > MAX_BODY_BYTES:
            self.body_too_large = True
            return
        super().handleContentChunk(data)  # type: ignore[no-untyped-call]


@dataclass
class BrowserShell:
    """One prompt in a browser: the shell (organization, machine, variables) and what it ran."""

    shell: InteractiveShell
    output: list[str]
    transcript: list[pages.TranscriptEntry] = field(default_factory=list)


class WebConsole:
    """The console of one live lab: its port, secret, pending actions and event streams."""

    def __init__(self, live: LiveLab) -> None:
        self.live = live
        self.lab: Lab = live.lab
        self.reactor = live.reactor
        self.secret = new_secret()
        self.csrf = csrf_token(self.secret)
        self.pending: deque[Callable[[], None]] = deque()
        self.event_clients: set[WebRequest] = set()
        self.shells: OrderedDict[str, BrowserShell] = OrderedDict()
        self.action_results: OrderedDict[str, pages.ActionResult] = OrderedDict()
        self.version = 0
        self._fingerprint: object = None
        self._last_tick = 0.0
        self._last_heartbeat = 0.0
        self._port: Any = None  # an IListeningPort once started
        #: The demo ``labsim demo --web`` walks in this console (``/demo``), if any.
        self.demo: WebDemo | None = None

    # --- lifetime -----------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on 127.0.0.1, on a port the system chooses."""
        site = Site(ConsoleResource(self))  # type: ignore[no-untyped-call]
        site.requestFactory = ConsoleRequest
        site.displayTracebacks = False
        site.noisy = False
        self._port = self.reactor.listenTCP(0, site, interface="127.0.0.1")
        self._fingerprint = self._lab_fingerprint()

    @property
    def port(self) -> int:
        """The port in use."""
        assert self._port is not None, "start() first"
        return int(self._port.getHost().port)

    @property
    def url(self) -> str:
        """The console's URL with the run's secret (what ``labsim up`` prints)."""
        return f"http://127.0.0.1:{self.port}/?{SECRET_PARAMETER}={self.secret}"

    def stop(self) -> None:
        """Close the event streams and stop listening."""
        for client in list(self.event_clients):
            self._finish(client)
        self.event_clients.clear()
        # Actions not yet run are dropped: their browsers see the connection close.
        self.pending.clear()
        if self.demo is not None:
            self.demo.stop()
        if self._port is not None:
            self._port.stopListening()
            self._port = None

    def lab_replaced(self) -> None:
        """The live lab now serves another lab (the web demo's next chapter): every view shows
        it from now on. Browser prompts and queue-button results belonged to the old lab and
        are forgotten (a prompt opens again on the new lab's first organization)."""
        self.lab = self.live.lab
        self.shells.clear()
        self.action_results.clear()
        self.changed()

    # --- the main loop's calls ----------------------------------------------------------------

    def process_pending(self) -> int:
        """Run the queued actions (shell lines, queue buttons) in arrival order."""
        done = 0
        while self.pending:
            self.pending.popleft()()
            done += 1
        if done:
            self.changed()
        return done

    def tick(self) -> None:
        """Tell open pages about changes in the lab (at most every :data:`TICK_SECONDS`)."""
        now = time.monotonic()
        if now - self._last_tick < TICK_SECONDS:
            return
        self._last_tick = now
        fingerprint = self._lab_fingerprint()
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self.changed()
        elif now - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._send_event("clock")

    def changed(self) -> None:
        """Something in the lab changed: every open page fetches its view again."""
        self.version += 1
        self._fingerprint = self._lab_fingerprint()
        self._send_event("change")

    def _send_event(self, name: str) -> None:
        self._last_heartbeat = time.monotonic()
        data = json.dumps({"version": self.version, "time": pages.when(self.lab.now())})
        payload = f"event: {name}\ndata: {data}\n\n".encode()
        for client in list(self.event_clients):
            if getattr(client, "_disconnected", False):
                self.event_clients.discard(client)
            else:
                client.write(payload)

    def _lab_fingerprint(self) -> object:
        # Cheap counts that move whenever mail moves or the configuration changes.
        world = self.lab.world
        queues = tuple(
            (q.identity, q.status, q.message_count, q.last_error, q.retry_count)
            for org in world.organizations
            for q in self.lab.queues(org)
        )
        return (
            len(world.mailboxes.all()),
            sum(log.count() for log in world.protocol_logs.logs()),
            sum(log.count() for log in world.tracking_logs.values()),
            world.event_logs.written(),
            queues,
            tuple(id(org) for org in world.organizations.values()),
            frozenset(world.stopped_servers),
        )

    # --- event streams ------------------------------------------------------------------------

    def open_events(self, request: WebRequest) -> object:
        """``/events``: a Server-Sent Events stream of ``change`` and ``clock`` events."""
        if len(self.event_clients) >= MAX_EVENT_CLIENTS:
            request.setResponseCode(503)
            return b"too many open console pages; close some tabs\n"
        request.setHeader("Content-Type", "text/event-stream; charset=utf-8")
        request.setHeader("Cache-Control", "no-store")
        request.write(b"retry: 2000\n\n")
        data = json.dumps({"version": self.version, "time": pages.when(self.lab.now())})
        request.write(f"event: hello\ndata: {data}\n\n".encode())
        self.event_clients.add(request)
        request.notifyFinish().addBoth(lambda _: self.event_clients.discard(request))
        return NOT_DONE_YET

    def _finish(self, request: WebRequest) -> None:
        if not getattr(request, "_disconnected", False) and not request.finished:
            request.finish()

    # --- actions (run by the main loop) -------------------------------------------------------

    def queue_action(
        self,
        request: WebRequest,
        respond: Callable[[WebRequest, str, bool], None],
        run: Callable[[], str],
    ) -> object:
        """Run ``run`` in the main loop, then answer ``request`` with ``respond``."""

        def job() -> None:
            try:
                text = run()
                failed = False
            except LabsimError as err:
                text, failed = str(err), True
            except Exception as err:
                # A labsim bug: recorded as a Twisted failure (the lab's output shows the
                # traceback; the suite fails on it), one line to the browser, and the lab goes
                # on serving, as the control channel does.
                _log.failure("labsim bug while running a web console action")
                text, failed = (
                    f"internal error (a labsim bug) while running this action: {err!r}; the "
                    "lab's output shows the traceback, please report it. The lab goes on serving.",
                    True,
                )
            if not getattr(request, "_disconnected", False):
                respond(request, text, failed)

        self.pending.append(job)
        return NOT_DONE_YET

    def keep_result(self, result: pages.ActionResult) -> str:
        """Keep what a queue button ran and printed (the newest :data:`MAX_SHELLS`) under a
        new token for the Queues view to show."""
        token = secrets.token_urlsafe(9)
        self.action_results[token] = result
        while len(self.action_results) > MAX_SHELLS:
            self.action_results.popitem(last=False)
        return token

    def shell_for(self, shell_id: str) -> tuple[str, BrowserShell]:
        """The browser prompt ``shell_id`` names, or a new one (in the lab's first
        organization) when it is unknown or forgotten."""
        found = self.shells.get(shell_id)
        if found is not None:
            self.shells.move_to_end(shell_id)
            return shell_id, found
        output: list[str] = []
        first = self.lab.organization_names()[0]
        created = BrowserShell(InteractiveShell(self.lab, output.append, first), output)
        new_id = secrets.token_urlsafe(12)
        self.shells[new_id] = created
        while len(self.shells) > MAX_SHELLS:
            self.shells.popitem(last=False)
        return new_id, created

    def run_shell_line(self, browser: BrowserShell, line: str) -> str:
        """One line at a browser prompt, run as an attached shell's line is."""
        prompt = pages.prompt_text(browser.shell.organization, browser.shell.server)
        browser.output.clear()
        keep = self.live.run_line(browser.shell, line, browser.output)
        if not keep:
            browser.output.append(
                "labsim: this prompt stays open in the console (close the tab to leave it); "
                "the lab goes on"
            )
        text = "\n".join(browser.output)
        browser.transcript.append(pages.TranscriptEntry(prompt, line, text))
        return text


def not_found_reason(path: str) -> str:
    """Why there is no page at ``path``, and where to look instead."""
    if path.startswith("/mailboxes/"):
        return (
            f"no mailbox {path.removeprefix('/mailboxes/')} in this lab; /mailboxes lists them "
            "(an outside organization's mail is held by its own server, not by the lab)"
        )
    if path.startswith("/messages/"):
        return (
            f"no message {path.removeprefix('/messages/')} in this lab's message tracking; "
            "/messages lists every message"
        )
    if path == "/demo":
        return (
            "no demo runs in this lab; start one with labsim demo --web (it starts its own lab "
            "and console)"
        )
    views = ", ".join(href for href, _ in pages.NAVIGATION)
    return f"no page at {path}; the console's views are {views}"


_DEMO_ACTIONS = ("/demo/next", "/demo/auto")
_POST_ONLY = ("/queues/retry", "/queues/resume", *_DEMO_ACTIONS)


class ConsoleResource(Resource):
    """Every path of the console (one leaf: routing is a small table, not a resource tree)."""

    isLeaf = True

    def __init__(self, console: WebConsole) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.console = console

    def render(self, request: WebRequest) -> Any:  # type: ignore[override]
        """Check, route and answer one request."""
        console = self.console
        for name, value in SECURITY_HEADERS:
            request.setHeader(name, value)
        method = (request.method or b"").decode("ascii", "replace")
        split = urlsplit((request.uri or b"/").decode("utf-8", "replace"))
        path = unquote(split.path) or "/"
        form: dict[str, str] = {}
        if method == "POST":
            form = {
                k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace")
                for k, v in (request.args or {}).items()
                if v
            }
        checked = HttpRequest(
            method=method,
            path=path,
            host=(request.getHeader("host") or ""),
            query=dict(parse_qsl(split.query)),
            cookies={
                k.decode("utf-8", "replace"): v.decode("utf-8", "replace")
                for k, v in request.received_cookies.items()
            },
            headers={
                k.decode("latin-1").lower(): v[0].decode("latin-1")
                for k, v in request.requestHeaders.getAllRawHeaders()
            },
            form=form,
            body_too_large=bool(getattr(request, "body_too_large", False)),
        )
        decision = check_request(checked, console.secret, console.port)
        if decision.status == 303:
            request.addCookie(
                cookie_name(console.port),
                console.secret,
                path="/",
                httpOnly=True,
                sameSite="strict",
            )
            request.setResponseCode(303)
            request.setHeader("Location", decision.location)
            return b""
        if decision.status != 200:
            return self.error(request, decision.status, decision.reason)
        try:
            return self.route(request, checked)
        except LabsimError as err:
            return self.error(request, 404, str(err))

    def route(self, request: WebRequest, checked: HttpRequest) -> Any:
        """Answer an authorized request by its path and method."""
        path, method = checked.path, checked.method
        if path.startswith("/static/"):
            return self.static(request, path[len("/static/") :], method)
        if method == "POST":
            if path == "/shell":
                return self.post_shell(request, checked)
            if path in ("/queues/retry", "/queues/resume"):
                return self.post_queue(request, checked, path.rsplit("/", 1)[1])
            if path in _DEMO_ACTIONS:
                return self.post_demo(request, checked, path)
            return self.not_allowed(request, path, "GET")
        if method not in ("GET", "HEAD"):
            allowed = "GET, POST" if path in ("/shell", *_POST_ONLY) else "GET"
            return self.not_allowed(request, path, allowed)
        if path in _POST_ONLY:
            return self.not_allowed(request, path, "POST")
        if path == "/events":
            return self.console.open_events(request)
        fragment = checked.headers.get("x-labsim-fragment") == "1"
        shown = self.view(path, checked.query)
        if shown is None:
            return self.error(request, 404, not_found_reason(path))
        active, title, main, live = shown
        if fragment:
            return self.html(request, main)
        return self.html(request, pages.page(self.frame(), active, title, main, live=live))

    # --- views --------------------------------------------------------------------------------

    def frame(self) -> pages.Frame:
        """The title bar's data."""
        lab = self.console.lab
        return pages.Frame(
            lab.definition.name, lab.now(), self.console.csrf, self.console.demo is not None
        )

    def view(self, path: str, query: dict[str, str]) -> tuple[str, str, str, bool] | None:
        """(active navigation entry, title, main HTML, live) of a GET path, or None."""
        lab = self.console.lab
        organizations = [lab.organization(name) for name in lab.organization_names()]
        if path == "/":
            return "/", "Home", pages.home(organizations, self._counts()), True
        if path in ("/mailboxes", "/mailboxes/"):
            return (
                "/mailboxes",
                "Mailboxes",
                pages.mailbox_index(organizations, self._counts()),
                True,
            )
        if path.startswith("/mailboxes/"):
            return self.mailbox_view(path[len("/mailboxes/") :], query)
        if path == "/topology":
            from labsim.render.topology import topology, topology_svg

            drawn = topology(lab)
            return "/topology", "Topology", pages.topology(drawn, topology_svg(drawn)), True
        if path in ("/messages", "/messages/"):
            from labsim.render.paths import message_paths

            return "/messages", "Messages", pages.messages(message_paths(lab)), True
        if path.startswith("/messages/"):
            from labsim.render.paths import message_path
            from labsim.render.sequence import sequence_svg

            # The path was decoded once already; message_path decodes what it is given, so it
            # gets the id encoded again (a Message-ID may hold a literal '%').
            found = message_path(lab, quote(path[len("/messages/") :], safe="@<>"))
            if found is None:
                return None
            main = pages.message_page(found, sequence_svg(found))
            return "/messages", found.subject or "Message", main, True
        if path == "/queues":
            shown = self.console.action_results.get(query.get("result", ""))
            return "/queues", "Queues", self.queues_main(shown), True
        if path == "/logs":
            return "/logs", "Logs", self.logs_main(query), True
        if path == "/shell":
            return "/shell", "Shell", self.shell_main(query.get("shell", "")), False
        if path == "/demo" and self.console.demo is not None:
            return "/demo", "Demo", self.demo_main(self.console.demo, query), True
        return None

    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.console.lab.world.mailboxes.all():
            key = message.mailbox.lower()
            counts[key] = counts.get(key, 0) + 1
        return counts

    def mailbox_view(
        self, address: str, query: dict[str, str]
    ) -> tuple[str, str, str, bool] | None:
        """``/mailboxes/<address>``: the list, and ``?m=N`` opened in the reading pane."""
        lab = self.console.lab
        owner = None
        for name in lab.organization_names():
            owner = lab.organization(name).mailbox(address)
            if owner is not None:
                break
        if owner is None:
            return None
        messages = lab.inbox(owner.primary_smtp_address)
        rows = views.mailbox_rows(messages)
        selected = None
        headers: list[views.HeaderLine] = []
        body = ""
        number = query.get("m", "")
        if number.isdigit() and 1 <= int(number) <= len(messages):
            chosen = messages[int(number) - 1]
            selected = next(r for r in rows if r.number == int(number))
            headers = views.header_lines(chosen.content)
            body = views.message_body(chosen.content)
        main = pages.mailbox(
            owner.primary_smtp_address, owner.display_name, rows, selected, headers, body
        )
        return "/mailboxes", owner.display_name, main, True

    def queues_main(self, result: pages.ActionResult | None = None) -> str:
        """The Queues view's main part."""
        lab = self.console.lab
        per_org = []
        for org in lab.organization_names():
            rows = [(q, list(lab.messages(org, q.identity))) for q in lab.queues(org)]
            per_org.append((org, rows))
        return pages.queues(per_org, self.console.csrf, result)

    def logs_main(self, query: dict[str, str]) -> str:
        """The Logs view's main part."""
        world = self.console.lab.world
        servers = [s.name for org in world.organizations.values() for s in org.servers]
        wanted = views.log_filter(query, servers)
        if not wanted.server:
            return pages.logs(wanted, servers)
        if wanted.kind == "tracking":
            tracked = views.filter_tracking_log(
                self.console.lab.tracking_records(wanted.server), wanted
            )
            return pages.logs(wanted, servers, tracking=tracked)
        if wanted.kind == "event":
            entries = views.filter_event_log(
                self.console.lab.event_log_entries(wanted.server), wanted
            )
            return pages.logs(wanted, servers, events=entries)
        records = world.protocol_logs.records(wanted.server, wanted.kind)
        return pages.logs(wanted, servers, protocol=views.filter_protocol_log(records, wanted))

    def shell_main(self, shell_id: str) -> str:
        """The Shell view's main part (a known prompt keeps its transcript)."""
        shell_id, browser = self.console.shell_for(shell_id)
        return pages.shell(
            shell_id,
            self.console.lab.organization_names(),
            browser.shell.organization,
            browser.shell.server,
            browser.transcript,
            self.console.csrf,
        )

    def demo_main(self, demo: WebDemo, query: dict[str, str]) -> str:
        """The Demo view's main part: the current chapter's newest step, or ``?step=N``
        (``?chapter=K&step=N``: a link from chapter K, which shows the newest step once the
        demo has gone on to another chapter)."""
        from labsim.demo import describe_lab
        from labsim.render.paths import message_path
        from labsim.render.sequence import sequence_svg
        from labsim.web.demo_page import DemoScreen, demo_view

        shown = tuple(demo.shown)
        selected = shown[-1] if shown else None
        wanted = query.get("step", "")
        chapter_wanted = query.get("chapter", str(demo.chapter_number))
        if chapter_wanted != str(demo.chapter_number):
            wanted = ""
        if wanted.isdigit() and 1 <= int(wanted) <= len(shown):
            selected = shown[int(wanted) - 1]
        messages = []
        for message_id in selected.message_ids if selected else ():
            found = message_path(self.console.lab, message_id)
            messages.append((message_id, found, "" if found is None else sequence_svg(found)))
        chapter = demo.chapter
        screen = DemoScreen(
            title=chapter.title,
            intro=chapter.intro,
            lab_lines=tuple(describe_lab(chapter.lab)),
            step_titles=tuple(step.title for step in chapter.steps),
            shown=shown,
            selected=selected,
            messages=tuple(messages),
            running=demo.running,
            finished=demo.chapter_finished,
            passed=demo.walk.passed,
            stopped=demo.stopped,
            auto=demo.auto,
            interval=demo.interval,
            csrf=self.console.csrf,
            chapters=demo.contents(),
            chapter_number=demo.chapter_number,
            opening=demo.opening,
            open_failed=demo.open_failed,
        )
        return demo_view(screen)

    # --- actions ------------------------------------------------------------------------------

    def post_shell(self, request: WebRequest, checked: HttpRequest) -> Any:
        """A line typed at the prompt: JSON for the page's script, the page without it."""
        line = checked.form.get("line", "").replace("\r\n", "\n")
        shell_id, browser = self.console.shell_for(checked.form.get("shell", ""))
        wants_json = "application/json" in checked.headers.get("accept", "")

        def respond(req: WebRequest, text: str, failed: bool) -> None:
            if wants_json:
                reply = {
                    "output": text,
                    "failed": failed,
                    "prompt": pages.prompt_text(browser.shell.organization, browser.shell.server),
                    "shell": shell_id,
                }
                req.setHeader("Content-Type", "application/json; charset=utf-8")
                req.write(json.dumps(reply).encode())
            else:
                main = self.shell_main(shell_id)
                req.setHeader("Content-Type", "text/html; charset=utf-8")
                req.write(pages.page(self.frame(), "/shell", "Shell", main, live=False).encode())
            req.finish()

        return self.console.queue_action(
            request, respond, lambda: self.console.run_shell_line(browser, line)
        )

    def post_queue(self, request: WebRequest, checked: HttpRequest, action: str) -> Any:
        """A Retry-Queue / Resume-Queue button: the cmdlet run on the queue's organization."""
        organization = checked.form.get("organization", "")
        identity = checked.form.get("identity", "")
        line = views.queue_action_line(action, identity)
        names = {n.lower(): n for n in self.console.lab.organization_names()}
        if line is None or organization.lower() not in names:
            return self.error(
                request,
                400,
                f"queue button: organization '{organization}' / identity '{identity}' is not a "
                "queue of this lab; use the buttons of the Queues view",
            )
        org = names[organization.lower()]

        def run() -> str:
            output: list[str] = []
            shell = InteractiveShell(self.console.lab, output.append, org)
            self.console.live.run_line(shell, line, output)
            return "\n".join(output)

        def respond(req: WebRequest, text: str, failed: bool) -> None:
            # Post/Redirect/Get: the Queues view shows the result and stays live (its script
            # fetches /queues?result=… again), and a reload does not run the cmdlet twice.
            token = self.console.keep_result(pages.ActionResult(f"{line}   # on {org}", text))
            req.setResponseCode(303)
            req.setHeader("Location", f"/queues?result={token}")
            req.finish()

        return self.console.queue_action(request, respond, run)

    def post_demo(self, request: WebRequest, checked: HttpRequest, path: str) -> Any:
        """Next (run the step the page names, or open the chapter it names, on the main
        loop) or the Auto toggle; both answer with the Demo view (Post/Redirect/Get: a reload
        runs nothing twice)."""
        demo = self.console.demo
        if demo is None:
            return self.error(request, 404, not_found_reason("/demo"))

        def respond(req: WebRequest, text: str, failed: bool) -> None:
            req.setResponseCode(303)
            req.setHeader("Location", "/demo")
            req.finish()

        if path == "/demo/auto":
            wanted = checked.form.get("auto", "")
            if wanted not in ("on", "off"):
                return self.error(
                    request,
                    400,
                    f"Auto: '{wanted}' is neither on nor off; use the Demo view's button",
                )
            demo.set_auto(wanted == "on")
            self.console.changed()  # the projector's page shows the toggle too
            request.setResponseCode(303)
            request.setHeader("Location", "/demo")
            return b""
        chapter = checked.form.get("chapter", "")
        number = checked.form.get("step", "")
        for given, what in ((chapter, "chapter"), (number, "step")):
            if not (given.isdigit() and len(given) <= 6):
                return self.error(
                    request,
                    400,
                    f"Next: {what} '{given}' is not a {what} number; use the Demo view's button",
                )
        return self.console.queue_action(
            request, respond, lambda: demo.run_next(int(chapter), int(number))
        )

    # --- plumbing -----------------------------------------------------------------------------

    def static(self, request: WebRequest, name: str, method: str) -> Any:
        """The console's own script and style sheet."""
        if method not in ("GET", "HEAD"):
            return self.not_allowed(request, f"/static/{name}", "GET")
        content_type = _STATIC.get(name)
        if content_type is None:
            return self.error(request, 404, f"no file /static/{name}")
        request.setHeader("Content-Type", content_type)
        request.setHeader("Cache-Control", "no-cache")
        return resources.files("labsim.web").joinpath("static", name).read_bytes()

    def html(self, request: WebRequest, text: str) -> bytes:
        """An HTML answer."""
        request.setHeader("Content-Type", "text/html; charset=utf-8")
        return text.encode("utf-8")

    def error(self, request: WebRequest, status: int, reason: str) -> bytes:
        """A refused request: its status and a page saying why and what to do."""
        request.setResponseCode(status)
        return self.html(request, pages.error_page(status, reason))

    def not_allowed(self, request: WebRequest, path: str, allowed: str) -> bytes:
        """405 with the methods the path takes."""
        request.setHeader("Allow", allowed)
        method = (request.method or b"").decode("ascii", "replace")
        return self.error(request, 405, f"{path} does not take {method}; it takes {allowed}")
