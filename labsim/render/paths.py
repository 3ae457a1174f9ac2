"""Each message's path through the lab, hop by hop, as plain records (:class:`MessagePath`,
:class:`Hop`, :class:`CertView`), built from what the lab recorded.

Sources: message tracking (which messages exist, who sent them, when), the engine's session
records (labsim.engine.world.SessionRecord: each SMTP session between lab servers as both ends
saw it, with the decisions each end made), mailboxes (delivered, with or without the
domain-secured check; NDRs) and the delivery queues (still queued, LastError). Nothing here
decides anything: the records only say what happened.

A message is named by its Internet Message-ID (as in the tracking logs, ``<id@host>``). Its
URL-safe form (:func:`message_key`) drops the angle brackets and percent-encodes the rest
(RFC 3986 unreserved characters and ``@`` stay as they are): ``<abc@adatum-mbx1.adatum.com>``
is ``abc@adatum-mbx1.adatum.com``. :func:`message_path` accepts either form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from labsim.errors import LabsimError

if TYPE_CHECKING:
    from labsim.lab import Lab

OUTCOMES = ("delivered-secured", "delivered", "queued", "ndr", "in-flight")
"""The values of :attr:`MessagePath.outcome`."""


@dataclass(frozen=True)
class CertView:
    """A certificate one side presented: subject and issuer as Windows shows them, and the
    validation status the other side found (``Valid``, ``UntrustedRoot``, ``SubjectMismatch``…;
    ``… (not enforced)`` when the verdict decided nothing; ``not checked``)."""

    subject: str
    issuer: str
    status: str


@dataclass(frozen=True)
class Hop:
    """One SMTP session of a message's path, as both ends saw it.

    ``client_server``/``server_server`` are server names (an outside client or server is shown
    by its address or host name); ``address``/``port`` the server's endpoint (the simulated
    port: 25, 717, 2525); ``connector`` the receive connector that took the session (or the
    send connector when the session never reached a lab server); ``decision`` one sentence
    naming the rule that decided the hop, in ``--explain``'s words; ``reply`` the reply that
    ended it for this message (the final reply to the data, or the refusal); ``secured`` is
    True when the receiving side made the session Partner (Domain Security held);
    ``session_id`` the protocol-log session id (receive side, else send side; "" when neither
    end logs); ``log_refs`` each logged end as ``SERVER:receive:SESSIONID`` or
    ``SERVER:send:SESSIONID``.
    """

    index: int
    client_server: str
    client_fqdn: str
    server_server: str
    server_fqdn: str
    address: str
    port: int
    connector: str
    ehlo: str
    starttls: bool
    client_certificate: CertView | None
    server_certificate: CertView | None
    decision: str
    reply: str
    secured: bool
    session_id: str
    log_refs: tuple[str, ...]
    send_connector: str = ""
    """The send connector the client used (``Intra-Organization SMTP Send Connector`` inside
    an organization)."""
    decisions: tuple[str, ...] = ()
    """Every decision note of the hop, sending side first (``decision`` is one of them)."""
    at: datetime | None = None
    """When the session opened (lab time)."""
    failed: bool = False
    """The hop ended with a refusal or a failed session (the message did not pass here)."""
    internal: bool = False
    """Both servers belong to one organization (Exchange Server authentication, no Domain
    Security check)."""


@dataclass(frozen=True)
class MessagePath:
    """A message and its path: ``outcome`` is one of :data:`OUTCOMES`; ``outcome_text`` says
    it in a sentence (where it was delivered, or the queue and its LastError, or the NDR)."""

    message_id: str
    subject: str
    sender: str
    recipients: tuple[str, ...]
    submitted: datetime
    hops: tuple[Hop, ...]
    outcome: str
    outcome_text: str

    @property
    def key(self) -> str:
        """The URL-safe form of the Message-ID (:func:`message_key`)."""
        return message_key(self.message_id)


def message_key(message_id: str) -> str:
    """The URL-safe form of a Message-ID: no angle brackets, percent-encoded."""
    return quote(message_id.strip().removeprefix("<").removesuffix(">"), safe="@.-_~")


def _same_message(message_id: str, wanted: str) -> bool:
    return message_key(message_id) == message_key(unquote(wanted))


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def message_paths(lab: Lab) -> tuple[MessagePath, ...]:
    """Every message the lab's tracking logs know, oldest first, with its path."""
    first_seen: dict[str, Any] = {}
    for record in _tracking(lab):
        if record.message_id and record.message_id not in first_seen:
            first_seen[record.message_id] = record
    ordered = sorted(first_seen.values(), key=lambda r: r.date_time)
    context = _Context(lab, _tracking(lab))
    return tuple(context.path(r.message_id) for r in ordered)


def message_path(lab: Lab, message_id: str) -> MessagePath | None:
    """The path of one message (Message-ID with or without brackets, or its URL-safe form);
    None when the lab has never seen it."""
    for record in _tracking(lab):
        if record.message_id and _same_message(record.message_id, message_id):
            return _Context(lab, _tracking(lab)).path(record.message_id)
    return None


def _tracking(lab: Lab) -> list[Any]:
    records: list[Any] = []
    for org in lab.world.organizations.values():
        for server in org.servers:
            if server.name in lab.world.tracking_logs:
                records.extend(lab.tracking_records(server.name))
    records.sort(key=lambda r: r.date_time)
    return records


class _Context:
    """One read of the lab's state, shared by the paths built from it."""

    def __init__(self, lab: Lab, tracking: list[Any]) -> None:
        self.lab = lab
        self.world = lab.world
        self.records = list(self.world.session_records)
        self.by_number = {r.number: r for r in self.records}
        self.tracking = tracking
        self.queued: list[Any] = []
        for name in self.world.organizations:
            self.queued.extend(lab.messages(name))

    def path(self, message_id: str) -> MessagePath:
        mine = [r for r in self.tracking if r.message_id == message_id]
        first = mine[0]
        recipients: list[str] = []
        for record in mine:
            for address in record.recipient_address:
                if address and address.lower() not in (a.lower() for a in recipients):
                    recipients.append(address)
        subject = next((r.message_subject for r in mine if r.message_subject), "")
        sender = next((r.sender_address for r in mine if r.sender_address), "")
        hops = tuple(self._hop(i, r, message_id) for i, r in enumerate(self._sessions(message_id)))
        outcome, text = self._outcome(message_id, tuple(recipients), mine, hops)
        return MessagePath(
            message_id=message_id,
            subject=subject,
            sender=sender,
            recipients=tuple(recipients),
            submitted=first.date_time,
            hops=hops,
            outcome=outcome,
            outcome_text=text,
        )

    def _sessions(self, message_id: str) -> list[Any]:
        """The sessions that carried (or tried to carry) the message, and those a proxying
        server opened for them, in the order they were opened."""
        found: dict[int, Any] = {}
        todo = [r for r in self.records if message_id in r.message_ids]
        while todo:
            record = todo.pop()
            if record.number in found:
                continue
            found[record.number] = record
            todo.extend(self.by_number[n] for n in record.downstream if n in self.by_number)
        return [found[n] for n in sorted(found)]

    def _server_fqdn(self, name: str, fallback: str) -> str:
        try:
            return str(self.world.server(name).fqdn) if name else fallback
        except KeyError:
            return fallback

    def _hop(self, index: int, record: Any, message_id: str) -> Hop:
        client = record.client_server or record.client_address
        server = record.server_server or record.server_host or record.server_address
        decisions = tuple(record.client_decisions) + tuple(record.server_decisions)
        reply, failed = _hop_reply(record, message_id)
        log_refs = []
        if record.send_log_session:
            log_refs.append(f"{record.client_server}:send:{record.send_log_session}")
        if record.receive_log_session:
            log_refs.append(f"{record.server_server}:receive:{record.receive_log_session}")
        return Hop(
            index=index,
            client_server=client,
            client_fqdn=self._server_fqdn(record.client_server, record.ehlo or client),
            server_server=server,
            server_fqdn=self._server_fqdn(record.server_server, record.server_host or server),
            address=record.server_address,
            port=record.server_port,
            connector=record.receive_connector or record.send_connector,
            ehlo=record.ehlo,
            starttls=record.starttls,
            client_certificate=_cert(record.client_certificate),
            server_certificate=_cert(record.server_certificate),
            decision=_decision(record),
            reply=reply,
            secured=bool(record.partner),
            session_id=record.receive_log_session or record.send_log_session,
            log_refs=tuple(log_refs),
            send_connector=record.send_connector,
            decisions=decisions,
            at=record.opened,
            failed=failed,
            internal=self._organization(record.client_server) is not None
            and self._organization(record.client_server)
            == self._organization(record.server_server),
        )

    def _organization(self, server: str) -> str | None:
        try:
            return str(self.world.organization_of(server).name) if server else None
        except KeyError:
            return None

    def _outcome(
        self,
        message_id: str,
        recipients: tuple[str, ...],
        tracking: Sequence[Any],
        hops: tuple[Hop, ...] = (),
    ) -> tuple[str, str]:
        delivered: list[Any] = []
        missing: list[str] = []
        # An outside organization's server took the message with 2xx: it left the lab (whose
        # mailboxes it does not hold), which is delivery as far as the lab can tell.
        handed = [h for h in hops if not h.failed and h.reply.startswith("2") and self._outside(h)]
        outside = [a for a in recipients if self.lab.definition.outside_organization_of(a)]
        if handed:
            recipients = tuple(a for a in recipients if a not in outside)
        for address in recipients:
            found = [m for m in self._inbox(address) if m.message_id == message_id]
            if found:
                delivered.append(found[0])
            else:
                missing.append(address)
        queued = [m for m in self.queued if m.message_id == message_id]
        if handed and not missing and not queued:
            hop = handed[-1]
            where = ", ".join(outside)
            if delivered:
                where = ", ".join([*(m.mailbox for m in delivered), where])
            return (
                "delivered",
                f"Handed to {hop.server_fqdn} ({hop.address}), the server of an outside "
                f"organization, for {where}: {hop.reply} (labsim does not hold its mailboxes)",
            )
        if delivered and not missing and not queued:
            secured = all(m.domain_secured for m in delivered)
            where = ", ".join(m.mailbox for m in delivered)
            if secured:
                domains = sorted(
                    {str(m.header("X-MS-Exchange-Organization-AuthDomain")) for m in delivered}
                )
                return (
                    "delivered-secured",
                    f"Delivered to {where} with the domain-secured check (AuthAs Partner, "
                    f"AuthDomain {', '.join(domains)})",
                )
            auth = sorted({m.auth_as or "none" for m in delivered})
            return (
                "delivered",
                f"Delivered to {where}, not domain-secured (AuthAs {', '.join(auth)})",
            )
        if queued:
            view = queued[0]
            error = f"; LastError: {view.last_error}" if view.last_error else ""
            return "queued", f"Queued in {view.queue} ({view.status.value}){error}"
        failed = [r for r in tracking if r.event_id.value == "FAIL"]
        if failed:
            statuses = sorted({s for r in failed for s in r.recipient_status if s})
            return "ndr", "Not delivered: NDR to the sender" + (
                f" ({'; '.join(statuses)})" if statuses else ""
            )
        if delivered:
            return "delivered", "Delivered to " + ", ".join(m.mailbox for m in delivered) + (
                "; not (yet) to " + ", ".join(missing)
            )
        return "in-flight", "In flight: not delivered, queued or refused yet"

    def _outside(self, hop: Hop) -> bool:
        """The hop's server is not a lab server (an outside organization's)."""
        try:
            self.world.server(hop.server_server)
        except KeyError:
            return True
        return False

    def _inbox(self, address: str) -> Iterable[Any]:
        try:
            return tuple(self.lab.inbox(address))
        except LabsimError:  # an outside organization's mailbox: the lab holds none of its mail
            return ()


def _cert(seen: Any) -> CertView | None:
    return None if seen is None else CertView(seen.subject, seen.issuer, seen.status)


def _is_refusal(reply: str) -> bool:
    return reply[:1] in ("4", "5")


def _hop_reply(record: Any, message_id: str) -> tuple[str, bool]:
    """The reply that ended the hop for this message and whether it was a failure (Exchange's
    ``250 2.6.0 <message-id> …`` names the message when a session carried several)."""
    if record.failure:
        return record.failure, True
    own = [r for r in record.replies if message_id and message_id in r]
    if own:
        return own[-1], False
    refusals = [r for r in record.replies if _is_refusal(r)]
    if refusals:
        return refusals[0], True
    if record.replies:
        return record.replies[-1], False
    return "", False


def _decision(record: Any) -> str:
    """The one decision that settled the hop: a sending-side failure, else the receiving
    side's MAIL FROM verdict (the Domain Security check), else the sending side's last."""
    if record.failure and record.client_decisions:
        return str(record.client_decisions[-1])
    if record.server_decisions:
        return str(record.server_decisions[-1])
    if record.client_decisions:
        return str(record.client_decisions[-1])
    return ""
