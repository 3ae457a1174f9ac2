"""Send-MailMessage, Get-Queue, Get-Message, Retry-, Suspend- and Resume-Queue, Suspend-,
Resume- and Remove-Message (docs/exchange-reference.md §9).

The shell only asks: the host submits messages and owns the queues (labsim.engine), so these
cmdlets convert parameters, find the queues or messages an identity or an OPATH filter names
(:mod:`labsim.ems.opath`), and pass on the host's answers. A message cmdlet acts on exactly the
Get-Message identities it found, a queue cmdlet given -Filter on exactly the Get-Queue
identities it selected; the host never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from labsim.ems.catalog import Arguments, CmdletContext, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets.common import find_server, identity_matches, identity_of, not_found
from labsim.ems.conversions import BOOL, STRING, STRING_LIST, SWITCH
from labsim.ems.messages import ambiguous_identity, cmdlet_error, missing_mandatory
from labsim.ems.opath import FILTER, message_filter, queue_filter
from labsim.errors import CmdletError
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


def _other_set(ctx: CmdletContext, args: Arguments, *names: str) -> None:
    """Refuse -Filter beside a parameter of the Identity parameter set, as PowerShell does."""
    other = next((name for name in names if args.get(name) is not None), None)
    if other is not None:
        raise ctx.error(
            f"Parameter set cannot be resolved using the specified named parameters. -Filter "
            f"and -{other} belong to different parameter sets: give one of them.",
            "AmbiguousParameterSet",
        )


def _filtered_queues(ctx: CmdletContext, args: Arguments) -> list[QueueView]:
    """The queues -Filter selects on -Server (else the shell's server, else every Mailbox
    server of the organization, the rule the message cmdlets keep)."""
    _other_set(ctx, args, "Identity")
    selected = queue_filter(ctx.cmdlet, args.text("Filter") or "")
    server = args.text("Server") or ctx.server
    name = find_server(ctx, server).name if server else None
    return [q for q in ctx.host.queues(ctx.organization_name, name) if selected.matches(q)]


def get_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Get-Queue [[-Identity] SERVER\\queue] [-Server s] [-Filter "..."]: queues of a server
    (or every one)."""
    if args.get("Filter") is not None:
        return _filtered_queues(ctx, args)
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
    """Get-Message [[-Identity] SERVER\\queue\\id] [-Queue SERVER\\queue] [-Filter "..."
    [-Server s]]: messages in queues."""
    if args.get("Filter") is not None:
        return _filtered(ctx, args)
    messages = list(ctx.host.messages(ctx.organization_name, args.text("Queue")))
    server = args.text("Server")
    if server is not None:
        prefix = find_server(ctx, server).name.lower() + "\\"
        messages = [m for m in messages if m.identity.lower().startswith(prefix)]
    identity = args.text("Identity")
    if identity is None:
        return messages
    found = [m for m in messages if _message_named(identity, m)]
    if not found and "*" not in identity:
        raise not_found(ctx, identity, "Run Get-Message to list the messages.")
    return found


def _filtered(ctx: CmdletContext, args: Arguments) -> list[MessageView]:
    """The messages -Filter selects on -Server (else the shell's server, else every Mailbox
    server of the organization)."""
    text = args.text("Filter") or ""
    if args.get("Identity") is not None or args.get("Queue") is not None:
        other = "Identity" if args.get("Identity") is not None else "Queue"
        raise ctx.error(
            f"Parameter set cannot be resolved using the specified named parameters. -Filter "
            f"and -{other} belong to different parameter sets: give one of them.",
            "AmbiguousParameterSet",
        )
    selected = message_filter(ctx.cmdlet, text)
    server = args.text("Server") or ctx.server
    prefix = find_server(ctx, server).name.lower() + "\\" if server else ""
    return [
        m
        for m in ctx.host.messages(ctx.organization_name, None)
        if m.identity.lower().startswith(prefix) and selected.matches(m)
    ]


def _targets(ctx: CmdletContext, args: Arguments) -> list[MessageView]:
    """The messages a Suspend-/Resume-/Remove-Message names: one by -Identity (or pipeline
    input from Get-Message), or every one -Filter selects."""
    identity = args.text("Identity")
    if args.get("Filter") is not None:
        return _filtered(ctx, args)
    if identity is None:
        raise ctx.error(
            "Give the message as -Identity SERVER\\queue\\id (as Get-Message shows it), pipe "
            'Get-Message into it, or select messages with -Filter "..." (and -Server).',
            "InvalidArgument",
        )
    if args.get("Server") is not None:
        raise ctx.error(
            "Parameter set cannot be resolved using the specified named parameters. -Server "
            "goes with -Filter; -Identity names its server itself (SERVER\\queue\\id).",
            "AmbiguousParameterSet",
        )
    parts = identity.split("\\")
    if len(parts) == 3 and parts[1].lower() == "submission":
        raise ctx.error(
            f"The message '{identity}' is in the Submission queue, which labsim never holds "
            "messages in (its categorizer routes each message as it arrives). Run Get-Message "
            "to list the messages of the delivery queues.",
            "InvalidOperation",
        )
    found = [
        m for m in ctx.host.messages(ctx.organization_name, None) if _message_named(identity, m)
    ]
    if not found:
        raise not_found(ctx, identity, "Run Get-Message to list the messages.")
    if len(found) > 1:
        raise ambiguous_identity(
            ctx.cmdlet,
            identity,
            (m.identity for m in found),
            'Give one message\'s Identity, or select several with -Filter "...".',
        )
    return found


def suspend_message(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Suspend-Message: the message stays in its queue (Status Suspended), no attempt sends it."""
    for message in _targets(ctx, args):
        ctx.host.suspend_message(ctx.organization_name, message.identity)
    return []


def resume_message(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Resume-Message: a suspended message may be sent again."""
    for message in _targets(ctx, args):
        ctx.host.resume_message(ctx.organization_name, message.identity)
    return []


def remove_message(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Remove-Message [-WithNDR $true|$false]: the message leaves its queue; its sender gets
    an NDR unless -WithNDR $false."""
    with_ndr = args.flag("WithNDR")
    for message in _targets(ctx, args):
        ctx.host.remove_message(
            ctx.organization_name, message.identity, True if with_ndr is None else with_ndr
        )
    return []


def message_identity_of(obj: object) -> dict[str, object] | None:
    """Pipeline input → ``Identity``: Get-Message's rows."""
    if isinstance(obj, MessageView):
        return {"Identity": obj.identity}
    return None


def _queue_targets(ctx: CmdletContext, args: Arguments) -> list[str]:
    """The queues a Retry-/Suspend-/Resume-Queue names: one by -Identity (or pipeline input
    from Get-Queue), or every one -Filter selects (none: nothing to do)."""
    if args.get("Filter") is not None:
        return [q.identity for q in _filtered_queues(ctx, args)]
    identity = args.text("Identity")
    if identity is None:
        raise missing_mandatory(ctx.cmdlet, ["Identity"])
    if args.get("Server") is not None:
        raise ctx.error(
            "Parameter set cannot be resolved using the specified named parameters. -Server "
            "goes with -Filter; -Identity names its server itself (SERVER\\queue).",
            "AmbiguousParameterSet",
        )
    return [identity]


def _each_queue(
    ctx: CmdletContext,
    args: Arguments,
    act: Callable[[str, str], None],
    *,
    skip_submission: bool = False,
) -> None:
    """Act on every queue named; with -Filter, a queue that refuses (not in Retry) does not
    stop the others: the first refusal is reported once all were tried."""
    by_filter = args.get("Filter") is not None
    refusals: list[CmdletError] = []
    for identity in _queue_targets(ctx, args):
        if by_filter and skip_submission and identity.lower().endswith("\\submission"):
            # labsim's Submission queue is always empty and refuses Suspend-Queue by name; a
            # filter that happens to select it suspends the delivery queues it selected.
            continue
        try:
            act(ctx.organization_name, identity)
        except CmdletError as err:
            if not by_filter:
                raise
            refusals.append(err)
    if refusals:
        raise refusals[0]


def retry_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Retry-Queue -Identity SERVER\\queue | -Filter "..." [-Server s]: connect now instead of
    at NextRetryTime."""
    _each_queue(ctx, args, ctx.host.retry_queue)
    return []


def suspend_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Suspend-Queue -Identity SERVER\\queue | -Filter "..." [-Server s]: stop delivery from
    the queue (Status Suspended)."""
    _each_queue(ctx, args, ctx.host.suspend_queue, skip_submission=True)
    return []


def resume_queue(ctx: CmdletContext, args: Arguments) -> Iterable[object]:
    """Resume-Queue -Identity SERVER\\queue | -Filter "..." [-Server s]: take up delivery from
    a suspended queue again."""
    _each_queue(ctx, args, ctx.host.resume_queue)
    return []


_BY_IDENTITY_OR_FILTER = (
    # Exchange's two parameter sets, each with its mandatory parameter.
    ParameterSpec("Identity", STRING, position=0, mandatory_in_set=True),
    ParameterSpec("Filter", FILTER, mandatory_in_set=True),
    ParameterSpec("Server", STRING),
)
"""The queue and message cmdlets' parameters: one object by -Identity, or -Filter (and
-Server) for several."""


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
        (
            ParameterSpec("Identity", STRING, position=0),
            ParameterSpec("Server", STRING),
            ParameterSpec("Filter", FILTER),
        ),
        get_queue,
        synopsis="List delivery queues (Identity, DeliveryType, Status, MessageCount, …), by "
        "-Identity or an OPATH -Filter.",
    ),
    CmdletSpec(
        "Get-Message",
        (
            ParameterSpec("Identity", STRING, position=0),
            ParameterSpec("Queue", STRING),
            ParameterSpec("Filter", FILTER),
            ParameterSpec("Server", STRING),
        ),
        get_message,
        synopsis="List messages in queues (by -Identity, -Queue, or an OPATH -Filter).",
    ),
    *(
        CmdletSpec(
            name,
            _BY_IDENTITY_OR_FILTER,
            run,
            pipeline=identity_of,
            synopsis=synopsis,
        )
        for name, run, synopsis in (
            (
                "Retry-Queue",
                retry_queue,
                "Retry a queue in Retry status now (by -Identity, or every queue -Filter selects).",
            ),
            (
                "Suspend-Queue",
                suspend_queue,
                "Suspend a queue: no delivery attempts until Resume-Queue (by -Identity, or "
                "-Filter).",
            ),
            (
                "Resume-Queue",
                resume_queue,
                "Resume a suspended queue (by -Identity, or every queue -Filter selects).",
            ),
        )
    ),
    *(
        CmdletSpec(
            name,
            (*_BY_IDENTITY_OR_FILTER, *extra),
            run,
            pipeline=message_identity_of,
            synopsis=synopsis,
        )
        for name, run, extra, synopsis in (
            (
                "Suspend-Message",
                suspend_message,
                (),
                "Hold a queued message: it stays in its queue and is not sent until "
                "Resume-Message.",
            ),
            (
                "Resume-Message",
                resume_message,
                (),
                "Release a suspended message: its queue sends it again.",
            ),
            (
                "Remove-Message",
                remove_message,
                (ParameterSpec("WithNDR", BOOL),),
                "Delete a queued message, with an NDR to its sender unless -WithNDR $false.",
            ),
        )
    ),
)
"""The mail and queue cmdlets."""
