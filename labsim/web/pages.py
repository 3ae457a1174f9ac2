"""The console's HTML, built from view data (pure: no Twisted).

Everything that comes from the lab (subjects, headers, addresses, log lines, cmdlet output) is
attacker-controlled: a mail sender writes it. Every such value goes through :func:`e` (HTML
escaping, quotes included) and nothing from mail ever becomes a link target, a script or a
style. Pages carry no inline script (the Content-Security-Policy forbids it): behaviour lives in
``/static/console.js``, which reads ``data-`` attributes.

Each page is a shell (title bar, navigation) around a ``<main>``; a ``<main data-live>`` is
fetched again by the script when the lab changes (a fragment request returns the main's
content only), so the view follows the mail without a reload.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from labsim.logs.event_log import EventLogEntry
from labsim.logs.protocol_log import ProtocolLogRecord
from labsim.logs.tracking import TrackingRecord
from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import Organization
from labsim.render.html import escape
from labsim.render.paths import CertView, Hop, MessagePath, message_key
from labsim.render.topology import Topology
from labsim.terminal import output_line_kind
from labsim.web.security import CSRF_FIELD
from labsim.web.views import HeaderLine, LogFilter, MailboxRow

NAVIGATION = (
    ("/", "Home"),
    ("/topology", "Topology"),
    ("/messages", "Messages"),
    ("/mailboxes", "Mailboxes"),
    ("/queues", "Queues"),
    ("/logs", "Logs"),
    ("/shell", "Shell"),
)


VIEW_PURPOSES = {
    "/topology": "who trusts whom, both TLS lists, connectors; would mail be domain-secured now?",
    "/messages": "every message and its path hop by hop (sequence diagrams)",
    "/mailboxes": "each mailbox as Outlook lists it, with the domain-secured check",
    "/queues": "Get-Queue with LastError; Retry-Queue and Resume-Queue",
    "/logs": "protocol logs, message tracking and the Application event log per server, filtered",
    "/shell": "an Exchange Management Shell prompt on the lab",
}


def e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute (labsim.render's escaping, which
    also replaces characters XML cannot carry, so a page with inline SVG stays well formed)."""
    return escape(value)


def when(value: datetime | None) -> str:
    """Lab times as Exchange's cmdlets print them (UTC)."""
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}Z"


def mailbox_href(address: str, number: int | None = None) -> str:
    """The stable path of a mailbox (and of one of its messages)."""
    path = "/mailboxes/" + quote(address, safe="@")
    return path if number is None else f"{path}?{urlencode({'m': number})}"


def log_href(**query: str) -> str:
    """A Logs view link with its filter."""
    return "/logs?" + urlencode({k: v for k, v in query.items() if v})


SECURED_ICON = (
    '<svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">'
    '<circle cx="8" cy="8" r="8" class="icon-disc"/>'
    '<path d="M4 8.5l2.6 2.6L12 5.6" class="icon-tick"/></svg>'
)


def secured_mark(secured: bool) -> str:
    """Outlook's domain-secured check, with its text alternative (shown to screen readers and
    as a tooltip)."""
    if secured:
        return (
            '<span class="secured" role="img" aria-label="Domain secured" '
            'title="Domain secured (AuthAs Partner)">' + SECURED_ICON + "</span>"
        )
    return (
        '<span class="not-secured" role="img" aria-label="Not domain secured" '
        'title="Not domain secured">–</span>'
    )


@dataclass(frozen=True)
class Frame:
    """What every page shows around its view."""

    lab: str
    lab_time: datetime
    csrf: str
    #: A demo runs (``labsim demo --web``): the navigation leads to it.
    demo: bool = False


def page(frame: Frame, active: str, title: str, main: str, *, live: bool = True) -> str:
    """A whole page: the title bar, the navigation and ``main``."""
    entries = NAVIGATION + ((("/demo", "Demo"),) if frame.demo else ())
    links = "".join(
        f'<a href="{href}"{" class=active" if href == active else ""}>{e(label)}</a>'
        for href, label in entries
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{e(frame.csrf)}">'
        f"<title>{e(title)} · labsim</title>"
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head>'
        "<body>"
        f'<header><span class="brand">labsim</span><span class="lab">lab {e(frame.lab)}</span>'
        f'<nav aria-label="Views">{links}</nav>'
        f'<span class="clock" title="lab time">lab time <time id="lab-time">'
        f"{e(when(frame.lab_time))}</time></span>"
        '<span id="live-state" class="live-state" aria-live="polite"></span></header>'
        f'<main id="main"{" data-live" if live else ""}>{main}</main>'
        "</body></html>\n"
    )


def error_page(status: int, reason: str) -> str:
    """A refused or unknown request: the status, the reason, and the way back."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{status} · labsim</title>"
        '<link rel="stylesheet" href="/static/console.css"></head>'
        f'<body><main class="error"><h1>{status}</h1><p id="reason">{e(reason)}</p>'
        '<p><a href="/">labsim console home</a></p></main></body></html>\n'
    )


# --- Home --------------------------------------------------------------------------------------


def home(organizations: Sequence[Organization], counts: dict[str, int]) -> str:
    """The lab at a glance: each organization, its servers and mailboxes, links to the views."""
    cards = []
    for org in organizations:
        servers = "".join(
            f"<tr><td>{e(s.name)}</td><td>{e(s.fqdn)}</td><td>{e(s.address)}</td>"
            f"<td>{e(s.role.value)}</td></tr>"
            for s in org.servers
        )
        boxes = "".join(
            f'<li><a href="{e(mailbox_href(m.primary_smtp_address))}">'
            f"{e(m.display_name)} &lt;{e(m.primary_smtp_address)}&gt;</a>"
            f' <span class="count">{counts.get(m.primary_smtp_address.lower(), 0)}</span></li>'
            for m in org.mailboxes
        )
        domains = ", ".join(d.domain_name for d in org.accepted_domains)
        cards.append(
            f'<section class="card org"><h2>{e(org.name)}</h2><p class="muted">{e(domains)}</p>'
            "<table><thead><tr><th>Server</th><th>FQDN</th><th>Address</th><th>Role</th></tr>"
            f"</thead><tbody>{servers}</tbody></table>"
            f'<h3>Mailboxes</h3><ul class="plain">{boxes}</ul></section>'
        )
    views = "".join(
        f'<li><a href="{href}">{e(label)}</a> <span class="muted">{e(VIEW_PURPOSES[href])}</span>'
        "</li>"
        for href, label in NAVIGATION[1:]
    )
    return (
        '<h1>Exchange Domain Security lab</h1><div class="cards">'
        + "".join(cards)
        + f'</div><section class="card"><h2>Views</h2><ul class="plain">{views}</ul></section>'
    )


def mailbox_index(organizations: Sequence[Organization], counts: dict[str, int]) -> str:
    """Every mailbox of the lab, by organization."""
    parts = ["<h1>Mailboxes</h1>", '<div class="cards">']
    for org in organizations:
        items = "".join(
            f'<li><a href="{e(mailbox_href(m.primary_smtp_address))}">{e(m.display_name)} '
            f"&lt;{e(m.primary_smtp_address)}&gt;</a> "
            f'<span class="count">{counts.get(m.primary_smtp_address.lower(), 0)}</span></li>'
            for m in org.mailboxes
        )
        parts.append(f'<section class="card"><h2>{e(org.name)}</h2><ul class="plain">{items}</ul>')
        parts.append("</section>")
    parts.append("</div>")
    return "".join(parts)


# --- Mailboxes ---------------------------------------------------------------------------------


def mailbox(
    address: str,
    display_name: str,
    rows: Sequence[MailboxRow],
    selected: MailboxRow | None,
    headers: Sequence[HeaderLine],
    body: str,
) -> str:
    """An Outlook-like mailbox: the message list, and the selected message's headers."""
    if rows:
        items = "".join(_mailbox_item(address, row, row == selected) for row in rows)
        listing = (
            '<table class="inbox" id="inbox"><thead><tr><th class="mark">'
            '<span class="sr-only">Domain secured</span></th><th>From</th><th>Subject</th>'
            f"<th>Received</th></tr></thead><tbody>{items}</tbody></table>"
        )
    else:
        listing = '<p class="empty" id="inbox-empty">No messages yet.</p>'
    reading = '<p class="muted">Select a message to read its headers.</p>'
    if selected is not None:
        lines = "".join(
            f'<tr{" class=stamp" if h.stamp else ""}><th scope="row">{e(h.name)}</th>'
            f"<td>{e(h.value)}</td></tr>"
            for h in headers
        )
        verdict = (
            "Domain secured: the receiving organization stamped AuthAs Partner and an "
            "AuthDomain (Outlook shows the check mark)."
            if selected.domain_secured
            else "Not domain secured"
            + (f" (AuthAs {selected.auth_as})." if selected.auth_as else " (no AuthAs stamp).")
        )
        path_link = (
            f'<p><a id="message-path" href="/messages/{e(message_key(selected.message_id))}">'
            "Its path hop by hop: the sequence diagram</a></p>"
            if selected.message_id
            else ""
        )
        reading = (
            f'<article class="message" id="message"><h2>{e(selected.subject) or "(no subject)"}'
            f"</h2>"
            f'<p class="verdict">{secured_mark(selected.domain_secured)} {e(verdict)}</p>'
            f"{path_link}"
            f'<h3>Internet headers</h3><table class="headers" id="headers">{lines}</table>'
            f'<h3>Body</h3><pre class="body">{e(body)}</pre></article>'
        )
    return (
        f'<h1>{e(display_name)} <span class="muted">&lt;{e(address)}&gt;</span></h1>'
        f'<div class="mail"><section class="list">{listing}</section>'
        f'<section class="reading">{reading}</section></div>'
    )


def _mailbox_item(address: str, row: MailboxRow, selected: bool) -> str:
    subject = e(row.subject) or '<span class="muted">(no subject)</span>'
    kind = ' <span class="tag">NDR</span>' if row.is_ndr else ""
    classes = "selected" if selected else ""
    return (
        f'<tr class="{classes}" data-number="{row.number}">'
        f'<td class="mark">{secured_mark(row.domain_secured)}</td>'
        f'<td class="from">{e(row.sender)}</td>'
        f'<td class="subject"><a href="{e(mailbox_href(address, row.number))}">{subject}</a>'
        f"{kind}</td>"
        f'<td class="time">{e(when(row.received))}</td></tr>'
    )


# --- Queues ------------------------------------------------------------------------------------

QUEUE_COLUMNS = (
    "Identity",
    "DeliveryType",
    "Status",
    "MessageCount",
    "NextHopDomain",
    "LastError",
    "RetryCount",
    "NextRetryTime",
)


@dataclass(frozen=True)
class ActionResult:
    """What a Retry-Queue / Resume-Queue button ran, and what the shell answered."""

    line: str
    output: str


def queues(
    per_organization: Sequence[tuple[str, Sequence[tuple[QueueView, Sequence[MessageView]]]]],
    csrf: str,
    result: ActionResult | None = None,
) -> str:
    """Get-Queue's columns (with LastError) per organization, each queue's messages under it,
    and the Retry-Queue / Resume-Queue buttons."""
    parts = ["<h1>Queues</h1>"]
    if result is not None:
        parts.append(
            f'<section class="result" id="action-result"><pre class="ps">[PS] &gt; '
            f"{e(result.line)}\n{e(result.output) or '(no output)'}</pre></section>"
        )
    head = "".join(f"<th>{c}</th>" for c in QUEUE_COLUMNS) + "<th>Actions</th>"
    for org, rows in per_organization:
        body = []
        for queue, messages in rows:
            status = queue.status.value
            buttons = "".join(
                _queue_button(org, queue.identity, cmdlet, csrf)
                for cmdlet, wanted in (("Retry-Queue", "Retry"), ("Resume-Queue", "Suspended"))
                if status == wanted
            )
            body.append(
                f'<tr class="queue status-{e(status.lower())}">'
                f"<td>{e(queue.identity)}</td><td>{e(queue.delivery_type.value)}</td>"
                f'<td class="status">{e(status)}</td><td class="num">{queue.message_count}</td>'
                f"<td>{e(queue.next_hop_domain)}</td>"
                f'<td class="error-text">{e(queue.last_error)}</td>'
                f'<td class="num">{queue.retry_count}</td><td>{e(when(queue.next_retry_time))}</td>'
                f'<td class="actions">{buttons}</td></tr>'
            )
            if messages:
                body.append(
                    f'<tr class="queued-messages"><td colspan="{len(QUEUE_COLUMNS) + 1}">'
                    + _queue_messages(messages)
                    + "</td></tr>"
                )
        table = (
            f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
            "</table>"
            if body
            else '<p class="muted">No queues (nothing waiting).</p>'
        )
        parts.append(f'<section class="card"><h2>{e(org)}</h2>{table}</section>')
    return "".join(parts)


MESSAGE_COLUMNS = ("Identity", "FromAddress", "Status", "Size", "Subject", "LastError")


def _queue_messages(messages: Sequence[MessageView]) -> str:
    """A queue's messages with Get-Message's columns (and LastError)."""
    head = "".join(f"<th>{c}</th>" for c in MESSAGE_COLUMNS)
    rows = "".join(
        f'<tr class="queued-message"><td>{e(m.identity)}</td><td>{e(m.from_address)}</td>'
        f'<td>{e(m.status.value)}</td><td class="num">{m.size}</td><td>{e(m.subject)}</td>'
        f'<td class="error-text">{e(m.last_error)}</td></tr>'
        for m in messages
    )
    return f'<table class="messages"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _queue_button(org: str, identity: str, cmdlet: str, csrf: str) -> str:
    action = "/queues/retry" if cmdlet == "Retry-Queue" else "/queues/resume"
    return (
        f'<form method="post" action="{action}" class="inline">'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{e(csrf)}">'
        f'<input type="hidden" name="organization" value="{e(org)}">'
        f'<input type="hidden" name="identity" value="{e(identity)}">'
        f'<button type="submit">{cmdlet}</button></form>'
    )


# --- Logs --------------------------------------------------------------------------------------

PROTOCOL_COLUMNS = (
    "date-time",
    "connector-id",
    "session-id",
    "sequence-number",
    "local-endpoint",
    "remote-endpoint",
    "event",
    "data",
    "context",
)
TRACKING_COLUMNS = (
    "date-time",
    "server-hostname",
    "source",
    "event-id",
    "connector-id",
    "message-id",
    "recipient-address",
    "recipient-status",
    "message-subject",
    "sender-address",
    "source-context",
)


def logs(
    wanted: LogFilter,
    servers: Sequence[str],
    protocol: Sequence[ProtocolLogRecord] = (),
    tracking: Sequence[TrackingRecord] = (),
    events: Sequence[EventLogEntry] = (),
) -> str:
    """One server's log with the filter form; session ids and message ids link to filters."""
    server_options = "".join(
        f"<option{' selected' if s == wanted.server else ''}>{e(s)}</option>" for s in servers
    )
    kind_options = "".join(
        f'<option value="{k}"{" selected" if k == wanted.kind else ""}>{label}</option>'
        for k, label in (
            ("receive", "Protocol log: SmtpReceive"),
            ("send", "Protocol log: SmtpSend"),
            ("tracking", "Message tracking"),
            ("event", "Application event log"),
        )
    )
    form = (
        '<form method="get" action="/logs" class="filters" id="log-filter">'
        f'<label>Server <select name="server">{server_options}</select></label>'
        f'<label>Log <select name="kind">{kind_options}</select></label>'
        f'<label>Session <input name="session" value="{e(wanted.session)}" size="18"></label>'
        f'<label>Message id <input name="message_id" value="{e(wanted.message_id)}" size="28">'
        "</label>"
        f'<label>Text <input name="text" value="{e(wanted.text)}" size="16"></label>'
        '<button type="submit">Filter</button> <a href="/logs">Clear</a></form>'
    )
    if wanted.kind == "tracking":
        head = "".join(f"<th>{c}</th>" for c in TRACKING_COLUMNS)
        rows = "".join(_tracking_row(wanted, r) for r in tracking)
        count = len(tracking)
    elif wanted.kind == "event":
        head = "".join(f"<th>{c}</th>" for c in EVENT_COLUMNS)
        rows = "".join(_event_row(r) for r in events)
        count = len(events)
    else:
        head = "".join(f"<th>{c}</th>" for c in PROTOCOL_COLUMNS)
        rows = "".join(_protocol_row(wanted, r) for r in protocol)
        count = len(protocol)
    table = (
        f'<table class="grid log" id="log"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
        "</table>"
        if count
        else '<p class="muted" id="log-empty">No lines'
        + (" match this filter." if wanted.active else " yet.")
        + "</p>"
    )
    return f"<h1>Logs</h1>{form}<p class=muted>{count} line{'' if count == 1 else 's'}</p>{table}"


def _protocol_row(wanted: LogFilter, r: ProtocolLogRecord) -> str:
    session = log_href(server=wanted.server, kind=wanted.kind, session=r.session_id)
    return (
        f'<tr class="event-{e(r.event.value.strip() or "none")}">'
        f"<td>{e(r.date_time.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3])}Z</td>"
        f"<td>{e(r.connector_id)}</td>"
        f'<td><a href="{e(session)}">{e(r.session_id)}</a></td><td>{r.sequence_number}</td>'
        f"<td>{e(r.local_endpoint)}</td><td>{e(r.remote_endpoint)}</td>"
        f"<td>{e(r.event.value)}</td><td class=data>{e(r.data)}</td><td>{e(r.context)}</td></tr>"
    )


EVENT_COLUMNS = ("Index", "Time", "EntryType", "Source", "InstanceID", "Event", "Message")
"""The Application log's columns: Get-EventLog's, with the event id and Exchange's name."""


def _event_row(r: EventLogEntry) -> str:
    return (
        f'<tr class="entry-{e(r.entry_type.value.lower())}"><td>{r.index}</td>'
        f"<td>{e(when(r.time_generated))}</td><td>{e(r.entry_type.value)}</td>"
        f"<td>{e(r.source)}</td><td>{r.instance_id}</td>"
        f"<td>{r.event_id} {e(r.name)}</td><td class=message>{e(r.message)}</td></tr>"
    )


def _tracking_row(wanted: LogFilter, r: TrackingRecord) -> str:
    by_id = log_href(server=wanted.server, kind="tracking", message_id=r.message_id)
    return (
        f"<tr><td>{e(when(r.date_time))}</td><td>{e(r.server_hostname)}</td>"
        f"<td>{e(r.source.value)}</td><td>{e(r.event_id.value)}</td><td>{e(r.connector_id)}</td>"
        f'<td><a href="{e(by_id)}">{e(r.message_id)}</a></td>'
        f"<td>{e(';'.join(r.recipient_address))}</td><td>{e(';'.join(r.recipient_status))}</td>"
        f"<td>{e(r.message_subject)}</td><td>{e(r.sender_address)}</td>"
        f"<td>{e(r.source_context)}</td></tr>"
    )


# --- Shell -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptEntry:
    """One line typed at the prompt and what it printed."""

    prompt: str
    line: str
    output: str


def prompt_text(organization: str, server: str | None) -> str:
    """The prompt as ``labsim shell`` shows it."""
    return f"[PS] {organization}{'@' + server if server else ''}>"


def _output_html(output: str) -> str:
    """Shell output, each error or warning line in its own span (EMS's red and yellow)."""
    return "\n".join(
        e(line)
        if (kind := output_line_kind(line)) == "text"
        else f'<span class="{kind}">{e(line)}</span>'
        for line in output.split("\n")
    )


def shell(
    shell_id: str,
    organizations: Iterable[str],
    organization: str,
    server: str | None,
    transcript: Sequence[TranscriptEntry],
    csrf: str,
) -> str:
    """An EMS prompt: the transcript so far and a line to type (``:help`` for lab commands)."""
    lines = "".join(
        f'<div class="entry"><span class="prompt">{e(t.prompt)}</span> '
        f'<span class="typed">{e(t.line)}</span>'
        + (f'\n<span class="output">{_output_html(t.output)}</span>' if t.output else "")
        + "</div>"
        for t in transcript
    )
    orgs = ", ".join(organizations)
    return (
        "<h1>Exchange Management Shell</h1>"
        f'<p class="muted">Cmdlets run on the lab as in <code>labsim shell</code> (organizations: '
        f"{e(orgs)}; <code>:org NAME</code> switches, <code>:help</code> lists the lab "
        "commands).</p>"
        f'<pre class="console" id="transcript" aria-live="polite">{lines}</pre>'
        '<form method="post" action="/shell" id="shell-form" class="shell-form">'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{e(csrf)}">'
        f'<input type="hidden" name="shell" value="{e(shell_id)}">'
        f'<label for="line" class="prompt" id="prompt">{e(prompt_text(organization, server))}'
        "</label>"
        '<input id="line" name="line" autocomplete="off" spellcheck="false" autofocus '
        'aria-label="Cmdlet">'
        '<button type="submit">Run</button></form>'
    )


# --- Topology and messages (drawn by labsim.render) ---------------------------------------------


def topology(t: Topology, svg: str) -> str:
    """The organizations as labsim.render draws them, and each ordered pair's verdict as text
    (the same words as the picture, for screen readers and scripts)."""
    verdicts = "".join(
        f'<li class="pair {"secured" if p.secured else "not-secured-pair"}" '
        f'data-sender="{e(p.sender_org)}" data-receiver="{e(p.receiver_org)}" '
        f'data-secured="{"true" if p.secured else "false"}">'
        f"{secured_mark(p.secured)} <strong>{e(p.sender_org)} → {e(p.receiver_org)}</strong>: "
        f"{'domain secured' if p.secured else 'not domain secured'}"
        f'<div class="reason">{e(p.reason)}</div></li>'
        for p in t.pairs
    )
    return (
        "<h1>Topology</h1>"
        f'<section class="card figure" id="topology">{svg}</section>'
        '<details class="card"><summary>The same forecast as text</summary>'
        f'<ul class="plain pairs" id="pairs">{verdicts}</ul></details>'
    )


OUTCOME_LABELS = {
    "delivered-secured": "Delivered, domain secured",
    "delivered": "Delivered, not domain secured",
    "queued": "Queued",
    "ndr": "NDR",
    "in-flight": "In flight",
}


def message_href(path: MessagePath) -> str:
    """The stable path of one message's page."""
    return f"/messages/{path.key}"


def messages(paths: Sequence[MessagePath]) -> str:
    """Every message the lab has seen, newest first, each linking to its path."""
    if not paths:
        return '<h1>Messages</h1><p class="muted" id="messages-empty">No messages yet.</p>'
    rows = "".join(
        f'<tr class="outcome-{e(p.outcome)}">'
        f'<td class="mark">{secured_mark(p.outcome == "delivered-secured")}</td>'
        f'<td class="subject"><a href="{e(message_href(p))}">{e(p.subject) or "(no subject)"}'
        f"</a></td><td>{e(p.sender)}</td><td>{e(', '.join(p.recipients))}</td>"
        f"<td>{len(p.hops)}</td><td>{e(OUTCOME_LABELS.get(p.outcome, p.outcome))}</td>"
        f'<td class="time">{e(when(p.submitted))}</td></tr>'
        for p in reversed(paths)
    )
    return (
        '<h1>Messages</h1><table class="grid inbox" id="messages"><thead><tr>'
        '<th class="mark"><span class="sr-only">Domain secured</span></th><th>Subject</th>'
        "<th>From</th><th>To</th><th>Hops</th><th>Outcome</th><th>Submitted</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _cert_cell(cert: CertView | None) -> str:
    if cert is None:
        return '<span class="muted">none</span>'
    if cert.status.startswith("Valid"):
        tone = "ok-text"
    elif cert.status.startswith("not checked"):
        tone = "muted"
    else:
        tone = "cert-bad"
    return (
        f'<div class="cert-subject">{e(cert.subject)}</div>'
        f'<div class="muted">issued by {e(cert.issuer)}</div>'
        f'<div class="{tone}">{e(cert.status)}</div>'
    )


def _log_links(hop: Hop) -> str:
    links = []
    for ref in hop.log_refs:
        server, _, rest = ref.partition(":")
        kind, _, session = rest.partition(":")
        href = log_href(server=server, kind=kind, session=session)
        links.append(f'<a href="{e(href)}">{e(server)} {e(kind)}</a>')
    return "<br>".join(links)


def message_page(path: MessagePath, svg: str) -> str:
    """One message: its sequence diagram (labsim.render: EHLO, STARTTLS, both certificates,
    the decision and the reply of each hop), then the hops as a table with links to the
    protocol-log lines of each."""
    rows = "".join(
        f'<tr class="{"secured-hop" if h.secured else ""}{" failed" if h.failed else ""}">'
        f"<td>{number}</td>"
        f"<td>{e(h.client_server)} → {e(h.server_server)}"
        f"<div class=muted>{e(h.address)}:{h.port} · EHLO {e(h.ehlo)}"
        f"{' · STARTTLS' if h.starttls else ''}</div></td>"
        f"<td>{_cert_cell(h.client_certificate)}</td><td>{_cert_cell(h.server_certificate)}</td>"
        f"<td>{e(h.connector)}</td>"
        f"<td>{secured_mark(h.secured)} {'Partner' if h.secured else ''}</td>"
        f"<td>{_log_links(h)}</td></tr>"
        for number, h in enumerate(path.hops, start=1)
    )
    return (
        f"<h1>{e(path.subject) or '(no subject)'}</h1>"
        f'<p class="meta">{e(path.sender)} → {e(", ".join(path.recipients))} · submitted '
        f"{e(when(path.submitted))} · <code>{e(path.message_id)}</code></p>"
        f'<section class="card figure" id="sequence">{svg}</section>'
        '<section class="card wide"><h2>Hops and their protocol logs</h2>'
        '<table class="grid hops" id="hops"><thead><tr>'
        "<th>#</th><th>Session</th><th>Client certificate</th><th>Server certificate</th>"
        "<th>Receive connector</th><th>Domain secured</th><th>Protocol log</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )
