"""Send-MailMessage, Get-Queue, Get-Message, Retry-, Suspend- and Resume-Queue
(docs/exchange-reference.md §9).

The shell only asks: the host submits messages and owns the queues (labsim.engine), so these
cmdlets convert parameters, filter by identity, and pass on the host's answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import identity_matches, identity_of, not_found
from labsim.ems.conversions import STRING, STRING_LIST, SWITCH
from labsim.ems.messages import cmdlet_error
from labsim.model.mail import MessageView, QueueView

_ADDRESS = re.compile(r"^(?:[^<>]*<)?\s*([^\s<>@]+@[^\s<>@]+)\s*>?$")


def _addresses(ctx: CmdletContext, args: Arguments, parameter: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in args.items(parameter):
        text = str(raw).strip()
        match = _ADDRESS.match(text)
        if match is None:
            raise cmdlet_error(
                ctx.cmdlet,
                f"Cannot validate argument on parameter '{parameter}'. The specified string "
                f"'{text}' is not in the form required for an e-mail address, e.g. "
                "ben@treyresearch.net.",
                "ParameterBindingValidationException",
            )
        out.append(match.group(1))
    return tuple(out)


def send_mail_message(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Send-MailMessage: submit a message from the shell's organization (prints nothing)."""
    sender = _addresses(ctx, args, "From")
    if len(sender) != 1:
        raise ctx.error("The -From parameter takes exactly one address.")
    to = _addresses(ctx, args, "To")
    if not to:
        raise ctx.error("The -To parameter needs at least one address.")
    subject = args.text("Subject") or ""
    if "\r" in subject or "\n" in subject:
        # .NET's MailMessage refuses it so (a line break would end the Subject header).
        raise ctx.error(
            "The specified string is not in the form required for a subject.", "ArgumentException"
        )
    ctx.host.submit_message(
        ctx.organization_name,
        mail_from=sender[0],
        to=to,
        cc=_addresses(ctx, args, "Cc"),
        bcc=_addresses(ctx, args, "Bcc"),
        subject=subject,
        body=args.text("Body") or "",
        smtp_server=args.text("SmtpServer"),
    )
    return []


def _local_part(identity: str) -> str:
    return identity.split("\\", 1)[1] if "\\" in identity else identity


def _queue_named(identity: str, queue: QueueView) -> bool:
    """Whether ``identity`` names ``queue``: ``SERVER\\<number>`` (the Identity Exchange 2013
    shows), ``SERVER\\NextHopDomain`` (also valid -Identity input in Exchange), or either
    without the server."""
    server = queue.identity.split("\\", 1)[0]
    names = (queue.identity, f"{server}\\{queue.next_hop_domain}")
    if "\\" not in identity:
        names = (_local_part(queue.identity), queue.next_hop_domain)
    return any(identity_matches(identity, name) for name in names)


def get_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Queue [[-Identity] SERVER\\queue] [-Server s]: queues of a server (or every one)."""
    identity = args.text("Identity")
    server = args.text("Server")
    if server is None and identity is not None and "\\" in identity:
        server = identity.split("\\", 1)[0]
    if server is None:
        server = ctx.server
    queues = list(ctx.host.queues(ctx.organization_name, server))
    if identity is None:
        return queues
    found = [q for q in queues if _queue_named(identity, q)]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-Queue to list the queues.")
    return found


def _message_named(identity: str, message: MessageView) -> bool:
    """Whether ``identity`` names ``message``: ``SERVER\\<n>\\<id>`` as Get-Message shows it,
    or with the queue given as ``SERVER\\NextHopDomain`` (as for the queue cmdlets)."""
    server, _, rest = message.identity.partition("\\")
    number = rest.rpartition("\\")[2]
    names = (message.identity, f"{server}\\{message.next_hop_domain}\\{number}")
    return any(identity_matches(identity, name) for name in names)


def get_message(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Message [[-Identity] SERVER\\queue\\id] [-Queue SERVER\\queue]: messages in queues."""
    messages = list(ctx.host.messages(ctx.organization_name, args.text("Queue")))
    identity = args.text("Identity")
    if identity is None:
        return messages
    found = [m for m in messages if _message_named(identity, m)]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-Message to list the messages.")
    return found


def retry_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Retry-Queue -Identity SERVER\\queue: connect now instead of at NextRetryTime."""
    ctx.host.retry_queue(ctx.organization_name, args.text("Identity") or "")
    return []


def suspend_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Suspend-Queue -Identity SERVER\\queue: stop delivery from the queue (Status Suspended)."""
    ctx.host.suspend_queue(ctx.organization_name, args.text("Identity") or "")
    return []


def resume_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Resume-Queue -Identity SERVER\\queue: take up delivery from a suspended queue again."""
    ctx.host.resume_queue(ctx.organization_name, args.text("Identity") or "")
    return []


SPECS = (
    CmdletSpec(
        "Send-MailMessage",
        (
            ParameterSpec("To", STRING_LIST, mandatory=True, position=0),
            ParameterSpec("Subject", STRING, mandatory=True, position=1, aliases=("sub",)),
            ParameterSpec("Body", STRING, position=2),
            ParameterSpec("SmtpServer", STRING, position=3, aliases=("ComputerName",)),
            ParameterSpec("From", STRING, mandatory=True),
            ParameterSpec("Cc", STRING_LIST),
            ParameterSpec("Bcc", STRING_LIST),
            ParameterSpec("BodyAsHtml", SWITCH, aliases=("BAH",)),
        ),
        send_mail_message,
        synopsis="Submit a message as a mailbox user would.",
        module="Microsoft.PowerShell.Utility",
    ),
    CmdletSpec(
        "Get-Queue",
        (ParameterSpec("Identity", STRING, position=0), ParameterSpec("Server", STRING)),
        get_queue,
        synopsis="List delivery queues (Identity, DeliveryType, Status, MessageCount, …).",
    ),
    CmdletSpec(
        "Get-Message",
        (
            ParameterSpec("Identity", STRING, position=0),
            ParameterSpec("Queue", STRING),
        ),
        get_message,
        synopsis="List messages in queues.",
    ),
    CmdletSpec(
        "Retry-Queue",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0),),
        retry_queue,
        pipeline=identity_of,
        synopsis="Retry a queue in Retry status now.",
    ),
    CmdletSpec(
        "Suspend-Queue",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0),),
        suspend_queue,
        pipeline=identity_of,
        synopsis="Suspend a queue: no delivery attempts until Resume-Queue.",
    ),
    CmdletSpec(
        "Resume-Queue",
        (ParameterSpec("Identity", STRING, mandatory=True, position=0),),
        resume_queue,
        pipeline=identity_of,
        synopsis="Resume a suspended queue.",
    ),
)
"""The mail and queue cmdlets."""
