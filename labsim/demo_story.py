"""The demo's stories as data: chapters of steps (narration, cmdlets, sends, expected outcomes).

This module owns *what* ``labsim demo`` teaches, never how it is shown: the terminal presenter
(:mod:`labsim.demo`) and any other presenter (a web console walking the same steps) read the
same records. The API:

* :class:`Chapter`: a name (``story``, ``remote-ip`` …), a title, an introduction, the lab it
  runs on (a :class:`~labsim.model.lab.LabDefinition`) and its :class:`DemoStep` s.
* :class:`DemoStep`: a title, the trainer's narration (paragraphs), and its :class:`Beat` s.
* :class:`Beat`: one scenario step (``labsim.scenario.model``: ``EmsStep``, ``SendStep``,
  ``AdvanceStep`` or an ``Expect*`` step) with an optional caption said just before it, and
  ``quiet`` (run the cmdlets, show them, leave their output out: a recap).
* :func:`chapter_scenario` flattens a chapter into a :class:`~labsim.scenario.model.Scenario`
  that ``labsim.scenario.runner.run_scenario`` runs exactly as ``labsim run`` would; the step
  numbers are the flattened ones, so a presenter maps runner results back to beats by number.
* :func:`story` builds the article's story for a lab (``--lab FILE``: the same story on another
  lab with two organizations); :func:`trap_chapters` the article's traps; :data:`CHAPTERS`
  lists the chapter names a user can ask for, :func:`chapters` returns them.

The expected outcome of every step is an ``expect`` step, so the story cannot drift from the
engine: a presenter shows each one as ✔ or ✘, and the tests pin them all.

Pure: no Twisted, no lab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from labsim.errors import UsageError
from labsim.model.enums import ServerRole
from labsim.model.lab import LabDefinition, default_lab
from labsim.model.organization import Organization, Server
from labsim.scenario.model import (
    EmsStep,
    ExpectDelivered,
    ExpectLog,
    ExpectNotDelivered,
    ExpectOutput,
    ExpectQueued,
    Scenario,
    SendStep,
    Step,
)

__all__ = [
    "Beat",
    "CHAPTERS",
    "Chapter",
    "DemoStep",
    "Partners",
    "chapter_scenario",
    "chapters",
    "partners_of",
    "story",
    "trap_chapters",
]

#: The story's chapters and the traps, in the order ``--chapter traps`` runs them.
TRAPS: tuple[tuple[str, str], ...] = (
    ("remote-ip", "the Partner receive connector names the Mailbox server, not the CAS"),
    ("self-signed", "no proxy: the Mailbox server's self-signed certificate"),
    ("san", "a certificate without the domain (the reader's question)"),
    ("hosted-filtering", "a partner behind hosted filtering (the reader's EOP case)"),
    ("mutual-tls-light", 'RequireTLS, the reader\'s "MutualTLS light"'),
)
CHAPTERS: tuple[tuple[str, str], ...] = (
    ("story", "the article, step by step: from no check to ✔ domain secured both ways"),
    ("traps", "every trap below, one after the other"),
    *TRAPS,
)


@dataclass(frozen=True)
class Beat:
    """One scenario step, with what the trainer says just before it."""

    step: Step
    caption: tuple[str, ...] = ()
    #: Run and show the cmdlets but not their output (a recap of earlier configuration).
    quiet: bool = False


@dataclass(frozen=True)
class DemoStep:
    """A pause point: a title, the narration said before it, and its beats."""

    title: str
    narration: tuple[str, ...]
    beats: tuple[Beat, ...]


@dataclass(frozen=True)
class Chapter:
    """A demo chapter: its lab and its steps (numbers of the beats' steps run 1, 2, … across
    the chapter, the numbers :func:`chapter_scenario` gives the runner)."""

    name: str
    title: str
    intro: tuple[str, ...]
    lab: LabDefinition
    steps: tuple[DemoStep, ...]
    #: Mailboxes whose inboxes the presenter lists at the end ("as Outlook shows them").
    inboxes: tuple[str, ...] = ()
    #: Where the chapter came from, as ``Scenario.path``: a scenario file, or ``<demo:name>``.
    source: Path | None = None

    @property
    def beats(self) -> tuple[Beat, ...]:
        """Every beat, in order."""
        return tuple(beat for step in self.steps for beat in step.beats)


def chapter_scenario(chapter: Chapter) -> Scenario:
    """The chapter as a scenario the runner can run (steps in order, numbered from 1)."""
    path = chapter.source or Path(f"<demo:{chapter.name}>")
    steps = tuple(beat.step for beat in chapter.beats)
    return Scenario(path, chapter.title, chapter.lab.name, steps, chapter.lab)


def _numbered(
    name: str,
    title: str,
    intro: Sequence[str],
    lab: LabDefinition,
    steps: Sequence[DemoStep],
    inboxes: Sequence[str] = (),
) -> Chapter:
    """A chapter whose beats are numbered 1, 2, … in order (the runner reports by number)."""
    number = 0
    renumbered: list[DemoStep] = []
    for demo_step in steps:
        beats: list[Beat] = []
        for beat in demo_step.beats:
            number += 1
            beats.append(replace(beat, step=replace(beat.step, number=number)))
        renumbered.append(replace(demo_step, beats=tuple(beats)))
    return Chapter(name, title, tuple(intro), lab, tuple(renumbered), tuple(inboxes))


# --- the two organizations a story runs between ----------------------------------------------


@dataclass(frozen=True)
class Side:
    """One organization of the story, with the names its cmdlets use."""

    name: str
    domain: str
    cas: Server
    mailbox_server: Server
    user: str


@dataclass(frozen=True)
class Partners:
    """The two organizations of the story: ``a`` sends first, ``b`` answers."""

    a: Side
    b: Side


def _side(org: Organization) -> Side | None:
    cas = org.servers_with(ServerRole.CLIENT_ACCESS)
    mbx = org.servers_with(ServerRole.MAILBOX)
    users = [m.primary_smtp_address for m in org.mailboxes if m.alias.lower() != "administrator"]
    users = users or [m.primary_smtp_address for m in org.mailboxes]
    if not cas or not mbx or not users:
        return None
    return Side(org.name, org.default_domain, cas[0], mbx[0], users[0])


def partners_of(lab: LabDefinition, shown: str = "the lab") -> Partners:
    """The first two organizations of ``lab`` that have a Client Access server, a Mailbox
    server and a mailbox each; a :class:`UsageError` naming ``shown`` when there are not two."""
    sides = [s for s in (_side(o.organization) for o in lab.organizations) if s is not None]
    if len(sides) < 2:
        raise UsageError(
            f"{shown}: the demo's story needs two organizations, each with a Client Access "
            f"server, a Mailbox server and a mailbox; {shown} has {len(sides)}. Add one to the "
            "lab file (docs/lab-files.md), or narrate a scenario written for this lab with "
            "labsim demo SCENARIO.toml"
        )
    return Partners(sides[0], sides[1])


# --- step builders (numbers are given by _numbered) -------------------------------------------


def _ems(org: str, text: str, server: str | None = None) -> EmsStep:
    return EmsStep(number=0, org=org, server=server, ems=text.strip("\n"))


def _send(sender: str, to: str, subject: str) -> SendStep:
    return SendStep(number=0, from_=sender, to=(to,), subject=subject)


def _delivered(
    to: str, subject: str, *, secured: bool, auth_as: str | None = None
) -> ExpectDelivered:
    return ExpectDelivered(
        number=0, to=to, subject=subject, domain_secured=secured, tls=True, auth_as=auth_as
    )


def _queued(org: str, next_hop: str, subject: str, last_error: str) -> ExpectQueued:
    return ExpectQueued(
        number=0, org=org, next_hop=next_hop, status="Retry", subject=subject, last_error=last_error
    )


def _log(org: str, server: str, log: str, contains: str) -> ExpectLog:
    return ExpectLog(number=0, org=org, server=server, log=log, contains=contains)


def _output(text: str) -> ExpectOutput:
    return ExpectOutput(number=0, text=text)


def _beats(*items: Step | Beat) -> tuple[Beat, ...]:
    return tuple(item if isinstance(item, Beat) else Beat(item) for item in items)


def _import_root(side: Side, partner: Side) -> str:
    return (
        f"Import-Certificate -FilePath {partner.name}\\root-ca.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root"
    )


def _partner_send_connector(side: Side, partner: Side) -> str:
    return (
        f'New-SendConnector -Name "To {partner.name}" -Partner -AddressSpaces {partner.domain} '
        f"-SourceTransportServers {side.mailbox_server.name} -FrontendProxyEnabled $true "
        "-ProtocolLoggingLevel Verbose"
    )


def _partner_receive_connector(side: Side, partner: Side) -> str:
    return (
        f'New-ReceiveConnector -Name "From {partner.name}" -Server {side.cas.name} -Partner '
        f"-Bindings 0.0.0.0:25 -RemoteIPRanges {partner.cas.address} -ProtocolLoggingLevel Verbose"
    )


def _internet_connector(side: Side) -> str:
    return (
        f"New-SendConnector -Name Internet -Internet -AddressSpaces * "
        f"-SourceTransportServers {side.mailbox_server.name}"
    )


#: What a queue shows when the receiving side refuses a listed domain on a connector without
#: DomainSecureEnabled (docs/exchange-reference.md §5.3; event 11021).
DISALLOWED = "451 4.7.3 The admin has temporarily disallowed this secure domain"
CERTIFICATE_FAILURE = "454 4.7.5 Certificate validation failure"


# --- the article's story ----------------------------------------------------------------------


def story(lab: LabDefinition | None = None, shown: str = "the lab") -> Chapter:
    """The article "Configuring Domain Security on Exchange Server 2013", told by outcomes."""
    lab = lab or default_lab()
    p = partners_of(lab, shown)
    a, b = p.a, p.b
    qa = f"{a.mailbox_server.name}\\{b.domain}"
    steps = [
        DemoStep(
            "Before Domain Security",
            (
                f"{a.name} ({a.domain}) and {b.name} ({b.domain}) already exchange Internet "
                "mail, as every organization in the article does: each has a send connector "
                "named Internet (the article's step 4 turns on its protocol log) that sends to "
                "any domain by MX from the Mailbox server. Nothing about Domain Security is "
                "configured yet. One message each way:",
            ),
            _beats(
                _ems(a.name, _internet_connector(a)),
                _ems(b.name, _internet_connector(b)),
                _send(a.user, b.user, "1. Before Domain Security"),
                _send(b.user, a.user, "1. Before Domain Security (reply)"),
                Beat(
                    _delivered(
                        b.user, "1. Before Domain Security", secured=False, auth_as="Anonymous"
                    ),
                    ("Both arrive, encrypted by opportunistic TLS, but anonymous: no check mark.",),
                ),
                _delivered(
                    a.user, "1. Before Domain Security (reply)", secured=False, auth_as="Anonymous"
                ),
            ),
        ),
        DemoStep(
            "Article step 1: establish certificate trust",
            (
                "Domain Security rests on certificates: each side must trust the certificate "
                "the other side's Client Access server presents for SMTP. The two CAs are "
                "private, so each organization imports the other's root CA.",
            ),
            _beats(
                _ems(
                    a.name,
                    _import_root(a, b)
                    + "\n"
                    + f"Get-ExchangeCertificate -Server {a.cas.name} | FL Subject,CertificateDomains,Services",
                ),
                _ems(b.name, _import_root(b, a)),
                _send(a.user, b.user, "2. Roots imported"),
                Beat(
                    _delivered(b.user, "2. Roots imported", secured=False, auth_as="Anonymous"),
                    ("Trust alone changes nothing: no rule asks for a certificate yet.",),
                ),
            ),
        ),
        DemoStep(
            "Article step 2: the two TLS lists",
            (
                "TLSSendDomainSecureList names the domains this organization sends "
                "domain-secured mail to; TLSReceiveDomainSecureList the domains it accepts "
                "domain-secured mail from. Both organizations fill both lists with the partner's "
                "domain.",
                "Watch the dash before TLSReceiveDomainSecureList: the article prints an en dash "
                "(–), as word processors do; PowerShell (and labsim) take it at the prompt, but "
                "Windows PowerShell reads a script saved without a byte-order mark as 'â€“' and "
                "fails with a positional-parameter error, so type a plain hyphen.",
            ),
            _beats(
                _ems(
                    a.name,
                    f"""
Get-TransportConfig | FL TLS*
Set-TransportConfig -TLSSendDomainSecureList {b.domain}
Set-TransportConfig –TLSReceiveDomainSecureList {b.domain}
Get-TransportConfig | FL TLS*
""",
                ),
                _output(f"TLSSendDomainSecureList    : {{{b.domain}}}"),
                _ems(
                    b.name,
                    f"Set-TransportConfig -TLSSendDomainSecureList {a.domain} "
                    f"-TLSReceiveDomainSecureList {a.domain}",
                ),
                _send(a.user, b.user, "3. Lists set"),
                Beat(
                    ExpectNotDelivered(number=0, to=b.user, subject="3. Lists set"),
                    (
                        f"{a.name}'s own send side stops it: {b.domain} is now in "
                        f"{a.name}'s TLSSendDomainSecureList, but the Internet connector does "
                        "not have DomainSecureEnabled, and Exchange never sends a listed domain "
                        "without Domain Security. The message waits in the queue; the admin "
                        "looks at it:",
                    ),
                ),
                _ems(a.name, f"Get-Queue -Identity {qa} | FL Identity,Status,LastError"),
                _queued(a.name, b.domain, "3. Lists set", DISALLOWED),
            ),
        ),
        DemoStep(
            "Article step 3: the Partner send connectors",
            (
                "Each organization creates a send connector of type Partner for the other's "
                'domain: MX routing, the Mailbox server as source, "Proxy through client '
                'access server" on (FrontendProxyEnabled) and protocol logging. A Partner '
                "connector has DomainSecureEnabled True, as the article checks.",
            ),
            _beats(
                _ems(
                    a.name,
                    f"""
{_partner_send_connector(a, b)}
Get-SendConnector -Identity "To {b.name}" | FL Name,AddressSpaces,DomainSecureEnabled,FrontendProxyEnabled
""",
                ),
                Beat(
                    _output("DomainSecureEnabled  : True"),
                    (
                        "The labsim note is labsim's, not Exchange's: Exchange prints nothing "
                        "here (docs/exchange-reference.md §17 C13).",
                    ),
                ),
                _ems(b.name, _partner_send_connector(b, a)),
                Beat(
                    _send(a.user, b.user, "4. Partner send connector"),
                    (
                        f"A new message joins the queue to {b.domain}, which now leads through "
                        "the Partner connector; the queue is still waiting to retry, so the "
                        "admin retries it:",
                    ),
                ),
                _ems(a.name, f"Retry-Queue -Identity {qa}"),
                Beat(
                    _queued(a.name, b.domain, "4. Partner send connector", DISALLOWED),
                    (
                        f"Both messages now leave through {a.cas.name}, and {b.name} refuses "
                        "them: its Default Frontend connector is not a Partner connector, and "
                        f"{a.domain} is in its TLSReceiveDomainSecureList.",
                    ),
                ),
            ),
        ),
        DemoStep(
            "Article step 3: the Partner receive connectors",
            (
                "On its Client Access server each organization creates a receive connector of "
                "type Partner whose remote network is only the partner's sending address. The "
                "partner proxies through its CAS, so that address is the partner's CAS "
                f"({a.cas.name} {a.cas.address} for {a.name}).",
            ),
            _beats(
                _ems(b.name, _partner_receive_connector(b, a)),
                _ems(a.name, _partner_receive_connector(a, b)),
                Beat(
                    _ems(a.name, f"Retry-Queue -Identity {qa}"),
                    ("Retry the queue once more:",),
                ),
                _delivered(b.user, "3. Lists set", secured=True, auth_as="Partner"),
                _delivered(b.user, "4. Partner send connector", secured=True, auth_as="Partner"),
            ),
        ),
        DemoStep(
            "Article step 4: test the Domain Security",
            ("A new message each way: both arrive with the green check mark.",),
            _beats(
                _send(a.user, b.user, "5. Domain secured"),
                _send(b.user, a.user, "5. Domain secured (reply)"),
                _delivered(b.user, "5. Domain secured", secured=True, auth_as="Partner"),
                _delivered(a.user, "5. Domain secured (reply)", secured=True, auth_as="Partner"),
                Beat(
                    _log(b.name, b.cas.name, "receive", f"{b.cas.name}\\From {a.name}"),
                    (f"{b.name}'s receive protocol log shows the Partner connector at work:",),
                ),
            ),
        ),
    ]
    intro = (
        'The article "Configuring Domain Security on Exchange Server 2013", done step by step '
        f"on {a.name} and {b.name}, with a message after each step to show what changed. Each "
        "hop line names the rule that decided it (the section of docs/exchange-reference.md).",
    )
    return _numbered("story", "The article, step by step", intro, lab, steps, (b.user, a.user))


# --- the traps ---------------------------------------------------------------------------------


def _configured(p: Partners) -> DemoStep:
    """The story's end state, as a quiet recap: trust, lists, Partner connectors both ways."""
    a, b = p.a, p.b
    beats: list[Beat] = []
    for side, partner in ((a, b), (b, a)):
        text = "\n".join(
            (
                _import_root(side, partner),
                f"Set-TransportConfig -TLSSendDomainSecureList {partner.domain} "
                f"-TLSReceiveDomainSecureList {partner.domain}",
                _partner_send_connector(side, partner),
                _partner_receive_connector(side, partner),
            )
        )
        beats.append(Beat(_ems(side.name, text), quiet=True))
    return DemoStep(
        "Start: the article's configuration",
        ("Both organizations configured as at the end of the story (output left out):",),
        tuple(beats),
    )


def _trap_remote_ip(p: Partners, lab: LabDefinition) -> Chapter:
    a, b = p.a, p.b
    qa = f"{a.mailbox_server.name}\\{b.domain}"
    subject = "Trap: which IP?"
    steps = [
        _configured(p),
        DemoStep(
            "The break",
            (
                f"{b.name}'s admin asks for {a.name}'s mail server address and enters "
                f"{a.mailbox_server.name} ({a.mailbox_server.address}) in the Partner "
                f"connector. But {a.name} proxies through its CAS, so its sessions come from "
                f"{a.cas.address} (docs/exchange-reference.md, decision D13).",
            ),
            _beats(
                _ems(
                    b.name,
                    f'Set-ReceiveConnector "From {a.name}" -RemoteIPRanges '
                    f"{a.mailbox_server.address}",
                ),
                _send(a.user, b.user, subject),
                ExpectNotDelivered(number=0, to=b.user, subject=subject),
            ),
        ),
        DemoStep(
            "How an admin finds it",
            (
                f"{a.name}'s queue holds the message with {b.name}'s refusal; {b.name}'s "
                "receive log shows the session on Default Frontend, not on the Partner "
                "connector.",
            ),
            _beats(
                _ems(a.name, f"Get-Queue -Identity {qa} | FL Identity,Status,LastError"),
                _queued(a.name, b.domain, subject, DISALLOWED),
                _log(b.name, b.cas.name, "receive", f"{b.cas.name}\\Default Frontend {b.cas.name}"),
            ),
        ),
        DemoStep(
            "The fix",
            (f"The Partner connector names the partner's CAS; {a.name} retries.",),
            _beats(
                _ems(
                    b.name, f'Set-ReceiveConnector "From {a.name}" -RemoteIPRanges {a.cas.address}'
                ),
                _ems(a.name, f"Retry-Queue -Identity {qa}"),
                _delivered(b.user, subject, secured=True, auth_as="Partner"),
            ),
        ),
    ]
    return _numbered(
        "remote-ip",
        "Trap: the Partner receive connector names the Mailbox server, not the CAS",
        (
            "The article's receive connector takes \"the IP from which partner's Exchange server "
            'sends email". With proxying through the CAS, which server is that?',
        ),
        lab,
        steps,
        (b.user,),
    )


def _trap_self_signed(p: Partners, lab: LabDefinition) -> Chapter:
    a, b = p.a, p.b
    qa = f"{a.mailbox_server.name}\\{b.domain}"
    subject = "Trap: no proxy"
    mbx = a.mailbox_server
    steps = [
        _configured(p),
        DemoStep(
            "The break",
            (
                f"{a.name}'s admin reads that Domain Security through a proxying CAS is "
                "unsupported and turns proxying off; "
                f"{b.name} accepts both of {a.name}'s addresses. Now {mbx.name} opens the "
                "Internet session itself, with the only certificate Exchange setup gave it: a "
                "self-signed one.",
            ),
            _beats(
                _ems(a.name, f'Set-SendConnector "To {b.name}" -FrontendProxyEnabled $false'),
                _ems(
                    b.name,
                    f'Set-ReceiveConnector "From {a.name}" -RemoteIPRanges '
                    f"{a.cas.address},{mbx.address}",
                ),
                _send(a.user, b.user, subject),
                ExpectNotDelivered(number=0, to=b.user, subject=subject),
            ),
        ),
        DemoStep(
            "How an admin finds it",
            (
                "The queue shows the certificate failure; Get-ExchangeCertificate shows the "
                f"certificate {mbx.name} presented is self-signed. Domain Security never accepts "
                "a self-signed certificate (its chain status is ValidSelfSigned, not Valid).",
            ),
            _beats(
                _ems(a.name, f"Get-Queue -Identity {qa} | FL Identity,Status,LastError"),
                _queued(a.name, b.domain, subject, CERTIFICATE_FAILURE),
                _ems(
                    a.name,
                    f"Get-ExchangeCertificate -Server {mbx.name} | "
                    "FL Subject,Issuer,IsSelfSigned,Services",
                ),
                _output("IsSelfSigned : True"),
            ),
        ),
        DemoStep(
            "The fix",
            (
                f"{mbx.name} gets a certificate from {a.name}'s CA naming its FQDN and "
                f"{a.domain} (or proxying goes back on); {a.name} retries.",
            ),
            _beats(
                _ems(
                    a.name,
                    f"""
New-LabCertificate -Server {mbx.name} -Issuer own -SubjectName "CN={mbx.fqdn}" -DomainName {mbx.fqdn},{a.domain} -Services SMTP
Retry-Queue -Identity {qa}
""",
                ),
                _delivered(b.user, subject, secured=True, auth_as="Partner"),
            ),
        ),
    ]
    return _numbered(
        "self-signed",
        "Trap: no proxy, and the Mailbox server's self-signed certificate",
        (
            "The article installs the certificates on the Client Access servers. What happens when "
            "the Mailbox server sends by itself?",
        ),
        lab,
        steps,
        (b.user,),
    )


def _trap_san(p: Partners, lab: LabDefinition) -> Chapter:
    a, b = p.a, p.b
    qa = f"{a.mailbox_server.name}\\{b.domain}"
    subject = "Trap: SAN"
    host = f"smtp.hq.{a.domain}"
    steps = [
        _configured(p),
        DemoStep(
            "The break",
            (
                f"{a.name} renews its SMTP certificate for the new host name {host} only, and "
                f"the send connector says EHLO as {host}. The receiver compares the client "
                f"certificate with the sender's domain {a.domain}, not with the EHLO name: "
                f"Exchange 2013 accepts {a.domain}, *.{a.domain} or a name one label below it "
                f"(docs/exchange-reference.md, decision D4); {host} is two labels below.",
            ),
            _beats(
                _ems(
                    a.name,
                    f"""
New-LabCertificate -Server {a.cas.name} -Issuer own -SubjectName "CN={host}" -DomainName {host} -Services SMTP
Set-SendConnector "To {b.name}" -Fqdn {host}
""",
                ),
                _send(a.user, b.user, subject),
                ExpectNotDelivered(number=0, to=b.user, subject=subject),
            ),
        ),
        DemoStep(
            "How an admin finds it",
            (
                f"The queue shows {b.name}'s certificate failure; {b.name}'s receive log shows "
                "the certificate it received and the refusal at MAIL FROM.",
            ),
            _beats(
                _ems(a.name, f"Get-Queue -Identity {qa} | FL Identity,Status,LastError"),
                _queued(a.name, b.domain, subject, CERTIFICATE_FAILURE),
                _log(b.name, b.cas.name, "receive", f">,{CERTIFICATE_FAILURE},"),
            ),
        ),
        DemoStep(
            "The fix",
            (f"A certificate whose names carry {a.domain} as well; {a.name} retries.",),
            _beats(
                _ems(
                    a.name,
                    f"""
Get-ExchangeCertificate -Server {a.cas.name} -DomainName {host} | Remove-ExchangeCertificate
New-LabCertificate -Server {a.cas.name} -Issuer own -SubjectName "CN={host}" -DomainName {host},{a.domain} -Services SMTP
Retry-Queue -Identity {qa}
""",
                ),
                _delivered(b.user, subject, secured=True, auth_as="Partner"),
            ),
        ),
    ]
    return _numbered(
        "san",
        "Trap: a certificate without the organization's domain",
        (
            "A reader asks under the article whether the domain must be in the certificate's "
            "names. It must:",
        ),
        lab,
        steps,
        (b.user,),
    )


def hosted_filtering_lab() -> LabDefinition:
    """The lab of the hosted-filtering trap, shipped in the package so that an installed labsim
    has it (labs/hosted-filtering.toml is a link to this one file)."""
    from labsim.labfile import load_lab_file

    return load_lab_file(Path(str(resources.files("labsim") / "data" / "hosted-filtering.toml")))


def _trap_hosted_filtering() -> Chapter:
    lab = hosted_filtering_lab()
    sender, to, subject = "april@adatum.com", "jamie@fabrikam.com", "Trap: hosted filtering"
    queue = "ADATUM-MBX1\\fabrikam.com"
    steps = [
        DemoStep(
            "The break",
            (
                "Adatum sets up Domain Security with Fabrikam as with any partner (both lists, "
                "a Partner send connector, no proxy). But Fabrikam's MX is a hosted filtering "
                'service ("Contoso Online Protection", like Exchange Online Protection), whose '
                "certificate names only the service, never fabrikam.com.",
            ),
            _beats(
                _ems(
                    "Adatum",
                    """
Set-TransportConfig -TLSSendDomainSecureList fabrikam.com -TLSReceiveDomainSecureList fabrikam.com
New-SendConnector -Name "To Fabrikam" -Partner -AddressSpaces fabrikam.com -SourceTransportServers ADATUM-MBX1 -ProtocolLoggingLevel Verbose
""",
                ),
                _send(sender, to, subject),
                ExpectNotDelivered(number=0, to=to, subject=subject),
            ),
        ),
        DemoStep(
            "How an admin finds it",
            (
                "The queue names the service's host and the certificate failure: the sender "
                "compares the server certificate with the recipient domain, not the MX name "
                "(docs/exchange-reference.md §4.3). No configuration can make the service's certificate name "
                "fabrikam.com.",
            ),
            _beats(
                _ems("Adatum", f"Get-Queue -Identity {queue} | FL Identity,Status,LastError"),
                _queued("Adatum", "fabrikam.com", subject, CERTIFICATE_FAILURE),
                _log(
                    "Contoso Online Protection",
                    "CONTOSO-EOP1",
                    "receive",
                    "*.mail.protection.contoso-online.test,Certificate alternate names",
                ),
            ),
        ),
        DemoStep(
            "The workaround",
            (
                "Take fabrikam.com out of both lists and force TLS with domain validation of "
                "the service's certificate on the connector (docs/exchange-reference.md §12). Mail flows over "
                "verified TLS, but without the check mark: Fabrikam receives it from the "
                "service, not from Adatum by mutual TLS.",
            ),
            _beats(
                _ems(
                    "Adatum",
                    f"""
Set-TransportConfig -TLSSendDomainSecureList @{{Remove="fabrikam.com"}} -TLSReceiveDomainSecureList @{{Remove="fabrikam.com"}}
Set-SendConnector "To Fabrikam" -DomainSecureEnabled $false -RequireTLS $true -TlsAuthLevel DomainValidation -TlsDomain *.mail.protection.contoso-online.test
Retry-Queue -Identity {queue}
""",
                ),
                _delivered(to, subject, secured=False, auth_as="Anonymous"),
            ),
        ),
    ]
    return _numbered(
        "hosted-filtering",
        "Trap: a partner behind hosted filtering",
        (
            "A reader's partner routes mail through Exchange Online Protection, and \"Mutual TLS "
            'never worked". Lab: hosted-filtering (Adatum, Fabrikam and the service).',
        ),
        lab,
        steps,
        (to,),
    )


def _trap_mutual_tls_light(p: Partners, lab: LabDefinition) -> Chapter:
    a, b = p.a, p.b
    qa = f"{a.mailbox_server.name}\\{b.domain}"
    first, second = "Light: encrypted", "Light: no STARTTLS"
    steps = [
        DemoStep(
            "The workaround",
            (
                f"Without Domain Security, {a.name} forces TLS for {b.domain}: a send "
                "connector with RequireTLS $true and a lower cost next to the Internet "
                "connector. No certificate is checked and nothing goes into the TLS lists.",
            ),
            _beats(
                _ems(
                    a.name,
                    f"""
New-SendConnector -Name Internet -Internet -AddressSpaces "SMTP:*;10" -SourceTransportServers {a.mailbox_server.name}
New-SendConnector -Name "To {b.name} (TLS)" -AddressSpaces "SMTP:{b.domain};1" -RequireTLS $true -SourceTransportServers {a.mailbox_server.name}
""",
                ),
                _send(a.user, b.user, first),
                Beat(
                    _delivered(b.user, first, secured=False, auth_as="Anonymous"),
                    ("Encrypted, but not domain secured: no check mark.",),
                ),
            ),
        ),
        DemoStep(
            "The break",
            (
                f"{b.name}'s SMTP certificate disappears (removed, or a renewal never enabled "
                f"for SMTP): {b.cas.name} no longer offers STARTTLS, and the RequireTLS "
                "connector will not send in the clear.",
            ),
            _beats(
                _ems(
                    b.name,
                    f"Get-ExchangeCertificate -Server {b.cas.name} | Remove-ExchangeCertificate",
                    b.cas.name,
                ),
                _send(a.user, b.user, second),
                ExpectNotDelivered(number=0, to=b.user, subject=second),
                _ems(a.name, f"Get-Queue -Identity {qa} | FL Identity,Status,LastError"),
                Beat(
                    _queued(
                        a.name, b.domain, second, "451 5.7.3 STARTTLS is required to send mail"
                    ),
                    ("As the reader wrote: stuck in the queue until it expires or TLS is back.",),
                ),
            ),
        ),
        DemoStep(
            "The fix",
            (f"{b.name} enables an SMTP certificate again; {a.name} retries.",),
            _beats(
                _ems(
                    b.name,
                    f"New-LabCertificate -Server {b.cas.name} -Issuer own -SubjectName "
                    f'"CN={b.cas.fqdn}" -DomainName {b.cas.fqdn},{b.domain} -Services SMTP',
                    b.cas.name,
                ),
                _ems(a.name, f"Retry-Queue -Identity {qa}"),
                _delivered(b.user, second, secured=False, auth_as="Anonymous"),
            ),
        ),
    ]
    return _numbered(
        "mutual-tls-light",
        'Trap: RequireTLS, the reader\'s "MutualTLS light"',
        (
            "A reader's workaround when Domain Security's certificates cannot be had: force TLS "
            "instead. What does it give, and what does it not?",
        ),
        lab,
        steps,
        (b.user,),
    )


def trap_chapters(lab: LabDefinition | None = None, shown: str = "the lab") -> tuple[Chapter, ...]:
    """The article's traps, each a chapter on a fresh lab (the hosted-filtering trap on its
    own lab, whatever ``lab`` is)."""
    lab = lab or default_lab()
    p = partners_of(lab, shown)
    return (
        _trap_remote_ip(p, lab),
        _trap_self_signed(p, lab),
        _trap_san(p, lab),
        _trap_hosted_filtering(),
        _trap_mutual_tls_light(p, lab),
    )


def chapters(
    name: str, lab: LabDefinition | None = None, shown: str = "the lab"
) -> tuple[Chapter, ...]:
    """The chapters ``--chapter NAME`` runs; a UsageError naming the known names otherwise."""
    if name == "story":
        return (story(lab, shown),)
    if name == "traps":
        return trap_chapters(lab, shown)
    names = [n for n, _ in TRAPS]
    if name in names:
        return (trap_chapters(lab, shown)[names.index(name)],)
    known = ", ".join(n for n, _ in CHAPTERS)
    raise UsageError(
        f"--chapter {name}: no such chapter; use one of {known} (labsim demo --chapters lists them)"
    )
