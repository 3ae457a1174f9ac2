"""A message's path as a sequence diagram (SVG): one lifeline per server in the order the
message met them (the sender's Mailbox server, its Client Access server, the partner's Client
Access server, the partner's Mailbox server…), one arrow per SMTP session, and under each arrow
what an admin asks about it: EHLO name, STARTTLS, the certificate each side presented (subject,
issuer, validation status), the Domain Security decision, the reply, the connectors.

Colours: green for a domain-secured hop (Partner), red for a failed one, grey for a plain one;
each ✔/✘ carries its meaning as a ``<title>``. Consecutive identical attempts (a queue retrying
for two days) are drawn once with their count and time span. Every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.render import svg
from labsim.render.html import GREEN, GREY, INK, LINE, PANEL, PAPER, RED
from labsim.render.paths import CertView, Hop, MessagePath

WIDTH_MIN = 1100
MARGIN = 30
COLUMN = 330
"""Distance between lifelines (px)."""
HEAD_W = 290
HEAD_H = 62
BODY = 15
"""Detail text size (px); the diagram is drawn at 1:1 for a 1400 px wide screen."""
LINE_H = 21

_OUTCOME_COLOUR = {
    "delivered-secured": GREEN,
    "delivered": GREY,
    "queued": RED,
    "ndr": RED,
    "in-flight": GREY,
}


@dataclass(frozen=True)
class _Group:
    first: Hop
    count: int
    last: Hop


def _same_attempt(a: Hop, b: Hop) -> bool:
    return (
        a.client_server == b.client_server
        and a.server_server == b.server_server
        and a.reply.split("<")[0] == b.reply.split("<")[0]
        and a.decision == b.decision
        and a.connector == b.connector
        and a.secured == b.secured
    )


def _groups(hops: tuple[Hop, ...]) -> list[_Group]:
    groups: list[_Group] = []
    for hop in hops:
        if groups and hop.failed and _same_attempt(groups[-1].last, hop):
            g = groups[-1]
            groups[-1] = _Group(g.first, g.count + 1, hop)
        else:
            groups.append(_Group(hop, 1, hop))
    return groups


def _lifelines(path: MessagePath) -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    seen: set[str] = set()
    for hop in path.hops:
        for name, fqdn in (
            (hop.client_server, hop.client_fqdn),
            (hop.server_server, hop.server_fqdn),
        ):
            if name.lower() not in seen:
                seen.add(name.lower())
                names.append((name, fqdn))
    return names


def _cert_line(who: str, cert: CertView | None) -> str:
    if cert is None:
        return f"{who} certificate: none presented"
    return f"{who} certificate: {cert.subject} — issued by {cert.issuer} — {cert.status}"


def _cert_colour(cert: CertView | None) -> str:
    if cert is None:
        return GREY
    status = cert.status
    if status.startswith("Valid") and "not enforced" not in status:
        return GREEN
    if status.startswith("Valid") or status == "not checked" or "not enforced" in status:
        return GREY
    return RED


def _hop_colour(hop: Hop) -> str:
    if hop.failed:
        return RED
    return GREEN if hop.secured else GREY


def sequence_svg(path: MessagePath) -> str:
    """The sequence diagram of one message as an inline ``<svg>`` element."""
    lifelines = _lifelines(path)
    columns = max(1, len(lifelines))
    width = max(WIDTH_MIN, 2 * MARGIN + HEAD_W + (columns - 1) * COLUMN)
    x_of = {name.lower(): MARGIN + HEAD_W / 2 + i * COLUMN for i, (name, _) in enumerate(lifelines)}
    inner = width - 2 * MARGIN
    parts: list[str] = []
    y = 30.0
    # Title: subject, sender → recipients, outcome.
    parts.append(
        svg.text(
            MARGIN,
            y,
            svg.fits(path.subject or "(no subject)", inner, 22, bold=True),
            size=22,
            weight="bold",
        )
    )
    y += 26
    route = f"{path.sender or '(null sender)'} \u2192 {', '.join(path.recipients)}"
    parts.append(svg.text(MARGIN, y, svg.fits(route, inner, BODY), size=BODY, fill=GREY))
    y += 26
    outcome_ok = {"delivered-secured": True, "queued": False, "ndr": False}.get(path.outcome)
    parts.append(svg.mark(MARGIN, y + 2, outcome_ok, path.outcome.replace("-", " ")))
    for text_line in svg.wrap(path.outcome_text, inner - 30, 17, max_lines=3):
        parts.append(
            svg.text(
                MARGIN + 28,
                y,
                text_line,
                size=17,
                weight="bold",
                fill=_OUTCOME_COLOUR.get(path.outcome, INK),
            )
        )
        y += 22
    y += 12
    head_top = y
    body: list[str] = []
    groups = _groups(path.hops)
    y = head_top + HEAD_H + 30 if groups else head_top + 10
    if not groups:
        body.append(
            svg.text(
                MARGIN,
                y,
                "No SMTP session between servers: the message stayed inside its "
                "Mailbox server (local delivery) or has not left it yet.",
                size=BODY,
                fill=GREY,
            )
        )
        y += LINE_H + 10
    for number, group in enumerate(groups, start=1):
        hop = group.first
        colour = _hop_colour(group.last)
        x1 = x_of[hop.client_server.lower()]
        x2 = x_of[hop.server_server.lower()]
        # The arrow, its number and its one-line label above it.
        label = f"{number}. SMTP :{hop.port}" + (" + STARTTLS" if hop.starttls else " (no TLS)")
        if group.count > 1:
            label += f"  \u00d7{group.count}"
        mid = (x1 + x2) / 2
        span = abs(x2 - x1) - 20
        parts_label = svg.fits(label, max(span, 160), BODY, bold=True)
        body.append(
            svg.text(
                mid, y - 8, parts_label, size=BODY, weight="bold", fill=colour, anchor="middle"
            )
        )
        body.append(svg.arrow(x1, x2, y, stroke=colour))
        y += 14
        # The detail block under it, across the diagram (lifelines pass behind it).
        lines: list[tuple[str, str, str]] = []  # (text, colour, weight)
        if hop.secured:
            verdict = "Domain secured: the receiving server made the session Partner"
        elif group.last.failed:
            verdict = "Failed: " + group.last.reply
        elif hop.internal:
            verdict = (
                "Inside the organization: Exchange Server authentication, no Domain Security check"
            )
        else:
            verdict = "Not domain-secured: the receiving server kept the session anonymous"
        lines.append((verdict, colour, "bold"))
        if group.count > 1:
            first_at = hop.at.strftime("%Y-%m-%d %H:%M:%S") if hop.at else "?"
            last_at = group.last.at.strftime("%Y-%m-%d %H:%M:%S") if group.last.at else "?"
            lines.append(
                (
                    f"{group.count} identical attempts, {first_at} … {last_at} (lab time)",
                    GREY,
                    "normal",
                )
            )
        lines.append(
            (
                f"{hop.client_server} \u2192 {hop.server_server} ({hop.address}:{hop.port})"
                f"  \u00b7  EHLO {hop.ehlo or '(none)'}"
                f"  \u00b7  STARTTLS {'yes' if hop.starttls else 'no'}",
                INK,
                "normal",
            )
        )
        connectors = f"Receive connector: {hop.connector or '(none)'}"
        if hop.send_connector:
            connectors += f"  \u00b7  Send connector: {hop.send_connector}"
        lines.append((connectors, INK, "normal"))
        lines.append(
            (
                _cert_line("Client", hop.client_certificate),
                _cert_colour(hop.client_certificate),
                "normal",
            )
        )
        lines.append(
            (
                _cert_line("Server", hop.server_certificate),
                _cert_colour(hop.server_certificate),
                "normal",
            )
        )
        lines.append(("Decision: " + (hop.decision or "(none recorded)"), INK, "normal"))
        if group.last.reply:
            lines.append(
                ("Reply: " + group.last.reply, colour if group.last.failed else INK, "normal")
            )
        if hop.log_refs:
            lines.append(("Protocol log: " + ", ".join(hop.log_refs), GREY, "normal"))
        wrapped: list[tuple[str, str, str]] = []
        for content, fill, weight in lines:
            max_lines = 6 if content.startswith("Decision") else 2
            for piece in svg.wrap(
                content, inner - 60, BODY, max_lines=max_lines, bold=weight == "bold"
            ):
                wrapped.append((piece, fill, weight))
        block_h = len(wrapped) * LINE_H + 16
        body.append(svg.rect(MARGIN, y, inner, block_h, fill=PANEL, stroke=LINE, radius=6, width=1))
        body.append(svg.rect(MARGIN, y, 6, block_h, fill=colour, radius=2))
        ty = y + 8 + BODY
        if hop.secured:
            ok: bool | None = True
            meaning = "domain secured"
        elif group.last.failed:
            ok, meaning = False, f"failed: {group.last.reply}"
        else:
            ok, meaning = None, "internal hop" if hop.internal else "not domain secured"
        body.append(svg.mark(MARGIN + 16, ty + 1, ok, meaning, size=17))
        for piece, fill, weight in wrapped:
            body.append(svg.text(MARGIN + 40, ty, piece, size=BODY, fill=fill, weight=weight))
            ty += LINE_H
        y += block_h + 44
    bottom = y - 20
    # Lifelines and their heads go first so that arrows and blocks are drawn over them.
    for name, fqdn in lifelines:
        x = x_of[name.lower()]
        parts.append(svg.line(x, head_top + HEAD_H, x, bottom, stroke=LINE, width=2, dash="6 6"))
        parts.append(
            svg.rect(
                x - HEAD_W / 2, head_top, HEAD_W, HEAD_H, fill=PAPER, stroke=INK, radius=8, width=2
            )
        )
        parts.append(
            svg.text(
                x,
                head_top + 26,
                svg.fits(name, HEAD_W - 16, 18, bold=True),
                size=18,
                weight="bold",
                anchor="middle",
            )
        )
        parts.append(
            svg.text(
                x,
                head_top + 48,
                svg.fits(fqdn, HEAD_W - 16, 14),
                size=14,
                fill=GREY,
                anchor="middle",
            )
        )
    parts.extend(body)
    height = bottom + 20
    title = f"Path of '{path.subject}' ({path.message_id}): {path.outcome}"
    return svg.document(width, height, title, parts, label=f"Sequence diagram: {path.outcome_text}")
