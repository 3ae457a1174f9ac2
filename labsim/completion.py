"""Tab completion for ``labsim shell``: what may follow the text before the cursor.

Owns :class:`Vocabulary` (the words completion draws on: every cmdlet with its parameters and the
values they take, the names of the lab's objects by :class:`IdentityKind`, the shell's ``:``
commands), how it is derived (:func:`vocabulary_for`), its JSON form (the prompt may run in
another process than the lab, and the vocabulary changes after every line), and
:func:`complete`, which turns a vocabulary and the text before the cursor into
:class:`Completion` records.

Rules kept:

* Pure: no prompt_toolkit, no Twisted. :mod:`labsim.line_editor` adapts the records.
* The language is listed once. Cmdlet names, aliases, parameters (with positions, switches and
  common parameters), enum values and Boolean values come from the cmdlet catalog of
  :mod:`labsim.ems`; the lab's objects from a :class:`~labsim.ems.host.ShellHost`. What is written
  here is only what the catalog cannot say: which kind of object a parameter names
  (:data:`IDENTITY_BY_NOUN`, :data:`IDENTITY_BY_PARAMETER`) and the ``:`` commands
  (:data:`LAB_COMMANDS`).
* PowerShell's reading, as :mod:`labsim.ems.tokens` defines it: statements end at ``;``, ``|``
  and line ends; ``-Name`` (any of PowerShell's dashes) starts a parameter, ``-Name:value`` gives
  it a value; a comma joins list items; quotes and backtick escapes; ``#`` starts a comment.
  Names compare case-insensitively and completions use the catalog's spelling.
* Inside a script block (``? {$_.Na``, ``select @{e={$_.``, ``sort {$_.``): ``$_.`` completes
  the properties of the objects piped into that stage (:data:`OUTPUT_BY_NOUN` says which type
  each cmdlet writes; Where-Object, Sort-Object and Select-Object pass their input's type on),
  and ``-`` completes the filter operators.
* Never raises, whatever the text: where it cannot tell what the cursor is on (inside a comment,
  a ``(...)`` or ``@{...}``, after an unknown cmdlet or parameter) it offers nothing.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from labsim.ems.binding import parameters_of
from labsim.ems.catalog import Catalog, CmdletSpec, ParameterSpec
from labsim.ems.cmdlets import default_catalog
from labsim.ems.cmdlets.lab_actions import ISSUER_KEYWORDS
from labsim.ems.conversions import BOOL, EKU_LIST, EKU_NAMES, ParamType
from labsim.ems.expressions import COMPARISONS
from labsim.ems.host import PUBLIC_CA, ShellHost
from labsim.ems.outputs import (
    CommandInfo,
    ExchangeServerOutput,
    FrontendTransportServiceOutput,
    LabCrl,
    LabServer,
    MailboxOutput,
    ReceiveConnectorOutput,
    SendConnectorOutput,
    ServerCertificate,
    TransportConfigOutput,
    TransportServiceOutput,
)
from labsim.ems.tokens import BLANKS, DASHES, DOUBLE_QUOTES, NEWLINES, SINGLE_QUOTES, WORD_END
from labsim.ems.views import property_names_of
from labsim.logs.tracking import TrackingRecord
from labsim.model.mail import MessageView, QueueView
from labsim.model.organization import AcceptedDomain, Organization, Server

JSON_FORMAT = 1
"""The ``format`` number of :meth:`Vocabulary.to_json`; :meth:`Vocabulary.from_json` refuses others."""


class IdentityKind(Enum):
    """The kind of lab object a value names; the value is the key in the JSON form.

    The plain kinds hold the objects of the shell's organization, as Exchange cmdlets see them;
    the ``LAB_`` kinds hold those of every organization, for the lab actions (``*-Lab*``), which
    act lab-wide, and for recipients, who may be in any organization.
    """

    SEND_CONNECTOR = "SendConnector"
    RECEIVE_CONNECTOR = "ReceiveConnector"
    ACCEPTED_DOMAIN = "AcceptedDomain"
    MAILBOX = "Mailbox"
    SERVER = "Server"
    CERTIFICATE = "Certificate"
    QUEUE = "Queue"
    MESSAGE = "Message"
    ORGANIZATION = "Organization"
    LAB_SERVER = "LabServer"
    LAB_MAILBOX = "LabMailbox"
    LAB_CERTIFICATE = "LabCertificate"


# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choices:
    """What a value completes to: fixed words, then the names of one kind of object.

    ``values`` (enum values, ``$true``/``$false``, keywords such as ``own``) are inserted as they
    are; identities are quoted when they need it (``"To Partner"``).
    """

    values: tuple[str, ...] = ()
    identity: IdentityKind | None = None


@dataclass(frozen=True)
class ParameterWords:
    """One parameter of a cmdlet as completion needs it."""

    name: str
    type_name: str = "System.String"
    aliases: tuple[str, ...] = ()
    switch: bool = False
    position: int | None = None
    choices: Choices = Choices()


@dataclass(frozen=True)
class CmdletWords:
    """One cmdlet: its name, aliases, synopsis and parameters (own first, then common ones)."""

    name: str
    parameters: tuple[ParameterWords, ...]
    aliases: tuple[str, ...] = ()
    synopsis: str = ""
    properties: tuple[str, ...] = ()
    """The properties of the objects the cmdlet writes (what ``$_.`` completes to after it)."""

    def parameter(self, typed: str) -> ParameterWords | None:
        """The parameter ``-typed`` names, as binding resolves it: exact name or alias, else a
        unique prefix; None when unknown or ambiguous."""
        key = typed.lower()
        for p in self.parameters:
            if p.name.lower() == key or key in (a.lower() for a in p.aliases):
                return p
        matches = [p for p in self.parameters if p.name.lower().startswith(key)]
        return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class Identity:
    """One object's name (what is inserted) and a note shown beside it in the menu."""

    name: str
    note: str = ""


@dataclass(frozen=True)
class Identities:
    """The objects of one kind, in the lab's order."""

    kind: IdentityKind
    items: tuple[Identity, ...]


@dataclass(frozen=True)
class LabCommand:
    """A ``:`` command of the shell and what each of its arguments completes to, by position."""

    name: str
    arguments: tuple[Choices, ...] = ()
    synopsis: str = ""


LAB_COMMANDS: tuple[LabCommand, ...] = (
    LabCommand(":org", (Choices(identity=IdentityKind.ORGANIZATION),), "use another organization"),
    LabCommand(
        ":server",
        (Choices(values=("-",), identity=IdentityKind.SERVER),),
        "run machine-local cmdlets on one server (- for every server)",
    ),
    LabCommand(":advance", (), "move the lab clock forward (e.g. :advance 2d)"),
    LabCommand(
        ":inbox", (Choices(identity=IdentityKind.LAB_MAILBOX),), "list a mailbox as Outlook would"
    ),
    LabCommand(
        ":headers",
        (Choices(identity=IdentityKind.LAB_MAILBOX),),
        "the headers of a message delivered to a mailbox",
    ),
    LabCommand(
        ":log",
        (
            Choices(identity=IdentityKind.LAB_SERVER),
            Choices(values=("receive", "send", "tracking", "event")),
        ),
        "the last lines of a server's receive, send, tracking or event log",
    ),
    LabCommand(":explain", (), "the lab's last decision notes"),
    LabCommand(":help", (), "list the lab commands"),
    LabCommand(":quit", (), "stop the lab and leave"),
)
"""The shell's ``:`` commands. Arguments are words split at blanks (the shell reads them so), so
their completions are never quoted."""


@dataclass(frozen=True)
class Vocabulary:
    """Everything completion offers for one organization of one lab, at one moment."""

    cmdlets: tuple[CmdletWords, ...]
    identities: tuple[Identities, ...] = ()
    lab_commands: tuple[LabCommand, ...] = LAB_COMMANDS
    organization: str = ""

    @functools.cached_property
    def _cmdlet_index(self) -> dict[str, CmdletWords]:
        # Built once per record (cached_property writes the instance dict, which a frozen
        # dataclass allows): completion looks a cmdlet up on every Tab.
        index: dict[str, CmdletWords] = {}
        for words in self.cmdlets:
            for key in (words.name, *words.aliases):
                index.setdefault(key.lower(), words)
        return index

    def cmdlet(self, name: str) -> CmdletWords | None:
        """The cmdlet ``name`` or alias (any case), or None."""
        return self._cmdlet_index.get(name.lower())

    def lab_command(self, name: str) -> LabCommand | None:
        """The ``:`` command ``name`` (with its colon, any case), or None."""
        return next((c for c in self.lab_commands if c.name.lower() == name.lower()), None)

    def identities_of(self, kind: IdentityKind) -> tuple[Identity, ...]:
        """The objects of ``kind`` (empty when the vocabulary has none)."""
        return next((i.items for i in self.identities if i.kind is kind), ())

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable dict (``json.dumps`` takes it as is)."""
        return {
            "format": JSON_FORMAT,
            "organization": self.organization,
            "cmdlets": [
                {
                    "name": c.name,
                    "aliases": list(c.aliases),
                    "synopsis": c.synopsis,
                    "properties": list(c.properties),
                    "parameters": [
                        {
                            "name": p.name,
                            "type": p.type_name,
                            "aliases": list(p.aliases),
                            "switch": p.switch,
                            "position": p.position,
                            **_choices_json(p.choices),
                        }
                        for p in c.parameters
                    ],
                }
                for c in self.cmdlets
            ],
            "identities": {
                i.kind.value: [{"name": x.name, "note": x.note} for x in i.items]
                for i in self.identities
            },
            "lab_commands": [
                {
                    "name": c.name,
                    "synopsis": c.synopsis,
                    "arguments": [_choices_json(a) for a in c.arguments],
                }
                for c in self.lab_commands
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Vocabulary:
        """Read :meth:`to_json`'s form back; ValueError naming the place when it is malformed."""
        where = "vocabulary"
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a JSON object")
        found = _get(data, "format", where)
        if found != JSON_FORMAT:
            raise ValueError(f"{where}.format: expected {JSON_FORMAT}, got {found!r}")
        cmdlets = []
        for i, c in enumerate(_objects(_get(data, "cmdlets", where), f"{where}.cmdlets")):
            at = f"{where}.cmdlets[{i}]"
            parameters = []
            for j, p in enumerate(_objects(_get(c, "parameters", at), f"{at}.parameters")):
                pat = f"{at}.parameters[{j}]"
                position = _get(p, "position", pat)
                if position is not None and (
                    not isinstance(position, int) or isinstance(position, bool)
                ):
                    raise ValueError(f"{pat}.position: expected an integer or null")
                switch = _get(p, "switch", pat)
                if not isinstance(switch, bool):
                    raise ValueError(f"{pat}.switch: expected true or false")
                parameters.append(
                    ParameterWords(
                        name=_text(_get(p, "name", pat), f"{pat}.name"),
                        type_name=_text(_get(p, "type", pat), f"{pat}.type"),
                        aliases=_texts(_get(p, "aliases", pat), f"{pat}.aliases"),
                        switch=switch,
                        position=position,
                        choices=_choices_from(p, pat),
                    )
                )
            cmdlets.append(
                CmdletWords(
                    name=_text(_get(c, "name", at), f"{at}.name"),
                    parameters=tuple(parameters),
                    aliases=_texts(_get(c, "aliases", at), f"{at}.aliases"),
                    synopsis=_text(_get(c, "synopsis", at), f"{at}.synopsis"),
                    # Optional: a vocabulary written before script-block completion has none.
                    properties=_texts(c.get("properties", []), f"{at}.properties"),
                )
            )
        raw_identities = _get(data, "identities", where)
        if not isinstance(raw_identities, Mapping):
            raise ValueError(f"{where}.identities: expected a JSON object")
        identities = []
        for key, items in raw_identities.items():
            at = f"{where}.identities.{key}"
            identities.append(
                Identities(
                    _kind(key, at),
                    tuple(
                        Identity(
                            _text(_get(x, "name", f"{at}[{k}]"), f"{at}[{k}].name"),
                            _text(_get(x, "note", f"{at}[{k}]"), f"{at}[{k}].note"),
                        )
                        for k, x in enumerate(_objects(items, at))
                    ),
                )
            )
        lab_commands = []
        for i, c in enumerate(_objects(_get(data, "lab_commands", where), f"{where}.lab_commands")):
            at = f"{where}.lab_commands[{i}]"
            lab_commands.append(
                LabCommand(
                    name=_text(_get(c, "name", at), f"{at}.name"),
                    arguments=tuple(
                        _choices_from(a, f"{at}.arguments[{k}]")
                        for k, a in enumerate(_objects(_get(c, "arguments", at), f"{at}.arguments"))
                    ),
                    synopsis=_text(_get(c, "synopsis", at), f"{at}.synopsis"),
                )
            )
        return cls(
            cmdlets=tuple(cmdlets),
            identities=tuple(identities),
            lab_commands=tuple(lab_commands),
            organization=_text(_get(data, "organization", where), f"{where}.organization"),
        )


@dataclass(frozen=True)
class Completion:
    """One completion: ``text`` replaces the ``-start_position`` characters before the cursor.

    ``display`` is what the menu lists (the name without quotes), ``meta`` a note beside it (a
    cmdlet's synopsis, a parameter's type, what an object is).
    """

    text: str
    start_position: int
    display: str
    meta: str = ""


# -- JSON helpers --------------------------------------------------------------------------------


def _choices_json(choices: Choices) -> dict[str, object]:
    return {
        "values": list(choices.values),
        "identity": choices.identity.value if choices.identity is not None else None,
    }


def _get(obj: Mapping[str, object], key: str, where: str) -> object:
    if key not in obj:
        raise ValueError(f"{where}: missing '{key}'")
    return obj[key]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected a string")
    return value


def _texts(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of strings")
    return tuple(_text(v, f"{where}[{i}]") for i, v in enumerate(value))


def _objects(value: object, where: str) -> list[Mapping[str, object]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise ValueError(f"{where}: expected a list of JSON objects")
    return value


def _kind(value: str, where: str) -> IdentityKind:
    try:
        return IdentityKind(value)
    except ValueError:
        known = ", ".join(k.value for k in IdentityKind)
        raise ValueError(f"{where}: unknown identity kind '{value}' (known: {known})") from None


def _choices_from(obj: Mapping[str, object], where: str) -> Choices:
    identity = _get(obj, "identity", where)
    return Choices(
        values=_texts(_get(obj, "values", where), f"{where}.values"),
        identity=None if identity is None else _kind(_text(identity, f"{where}.identity"), where),
    )


# -- deriving the vocabulary ---------------------------------------------------------------------

IDENTITY_BY_NOUN: Mapping[str, IdentityKind] = {
    "SendConnector": IdentityKind.SEND_CONNECTOR,
    "ReceiveConnector": IdentityKind.RECEIVE_CONNECTOR,
    "AcceptedDomain": IdentityKind.ACCEPTED_DOMAIN,
    "Mailbox": IdentityKind.MAILBOX,
    "TransportService": IdentityKind.SERVER,
    "ExchangeCertificate": IdentityKind.CERTIFICATE,
    "Queue": IdentityKind.QUEUE,
    "Message": IdentityKind.MESSAGE,
    "LabServer": IdentityKind.LAB_SERVER,
}
"""What ``-Identity`` (given by name or by position) names, by the cmdlet's noun. A noun not
listed (TransportConfig) gets no identity completion."""

IDENTITY_BY_PARAMETER: Mapping[str, IdentityKind] = {
    "Server": IdentityKind.SERVER,
    "SourceTransportServers": IdentityKind.SERVER,
    "SmtpServer": IdentityKind.SERVER,
    "Thumbprint": IdentityKind.CERTIFICATE,
    "Queue": IdentityKind.QUEUE,
    "From": IdentityKind.MAILBOX,
    "To": IdentityKind.LAB_MAILBOX,
    "Cc": IdentityKind.LAB_MAILBOX,
    "Bcc": IdentityKind.LAB_MAILBOX,
    "Organization": IdentityKind.ORGANIZATION,
    "Issuer": IdentityKind.ORGANIZATION,
}
"""What other parameters name, whatever the cmdlet."""

KEYWORDS_BY_PARAMETER: Mapping[str, tuple[str, ...]] = {
    # New-LabCertificate -Issuer own|public|self|<organization>
    "Issuer": ISSUER_KEYWORDS,
    # Get-/Set-LabCrl -Organization <organization>|Public
    "Organization": (PUBLIC_CA,),
}
"""Words a parameter takes besides the names of its identity kind."""

_LAB_WIDE = {
    IdentityKind.SERVER: IdentityKind.LAB_SERVER,
    IdentityKind.MAILBOX: IdentityKind.LAB_MAILBOX,
    IdentityKind.CERTIFICATE: IdentityKind.LAB_CERTIFICATE,
}


def values_of(param_type: ParamType) -> tuple[str, ...]:
    """The words a parameter type accepts, when it accepts only a few: ``$true``/``$false`` for a
    Boolean, an enum's values in Exchange's spelling (flags too), the EKU names; else ()."""
    if param_type.switch:
        return ()
    if param_type.type_name == BOOL.type_name:
        return ("$true", "$false")
    if param_type is EKU_LIST:
        return EKU_NAMES
    return param_type.choices


def _parameter_words(noun: str, parameter: ParameterSpec) -> ParameterWords:
    if parameter.name == "Identity":
        kind = IDENTITY_BY_NOUN.get(noun)
    else:
        kind = IDENTITY_BY_PARAMETER.get(parameter.name)
    # The lab actions name servers and certificates of any organization (labsim.ems.cmdlets.common).
    if kind is not None and noun.startswith("Lab"):
        kind = _LAB_WIDE.get(kind, kind)
    values = values_of(parameter.type) + KEYWORDS_BY_PARAMETER.get(parameter.name, ())
    return ParameterWords(
        name=parameter.name,
        type_name=parameter.type.type_name,
        aliases=parameter.aliases,
        switch=parameter.switch,
        position=parameter.position,
        choices=Choices(values, kind),
    )


OUTPUT_BY_NOUN: Mapping[str, type] = {
    "SendConnector": SendConnectorOutput,
    "ReceiveConnector": ReceiveConnectorOutput,
    "TransportConfig": TransportConfigOutput,
    "ExchangeCertificate": ServerCertificate,
    "Queue": QueueView,
    "Message": MessageView,
    "AcceptedDomain": AcceptedDomain,
    "Mailbox": MailboxOutput,
    "TransportService": TransportServiceOutput,
    "FrontendTransportService": FrontendTransportServiceOutput,
    "ExchangeServer": ExchangeServerOutput,
    "MessageTrackingLog": TrackingRecord,
    "LabServer": LabServer,
    "LabCrl": LabCrl,
    "Command": CommandInfo,
}
"""The type of object a Get-/New- cmdlet writes, by noun: ``$_.`` in a later stage completes to
its properties. Get-ChildItem (roots or personal certificates, by path) is not listed."""

PASS_THROUGH = frozenset({"Where-Object", "Sort-Object", "Select-Object"})
"""Cmdlets whose output has their input's properties (Select-Object's are a subset at most)."""


def cmdlet_words(spec: CmdletSpec) -> CmdletWords:
    """One catalog entry as completion words (its parameters followed by the common ones)."""
    verb, _, noun = spec.name.partition("-")
    output = OUTPUT_BY_NOUN.get(noun) if verb in ("Get", "New") else None
    return CmdletWords(
        name=spec.name,
        parameters=tuple(_parameter_words(noun, p) for p in parameters_of(spec)),
        aliases=spec.aliases,
        synopsis=spec.synopsis,
        properties=property_names_of(output) if output is not None else (),
    )


def catalog_words(catalog: Catalog | None = None) -> tuple[CmdletWords, ...]:
    """Every cmdlet of ``catalog`` (the default catalog when None), in catalog order."""
    if catalog is None:
        return _default_catalog_words()
    return tuple(cmdlet_words(spec) for spec in catalog.specs())


@functools.cache
def _default_catalog_words() -> tuple[CmdletWords, ...]:
    # The default catalog never changes while labsim runs; every Tab asks for it.
    return tuple(cmdlet_words(spec) for spec in default_catalog().specs())


def _unique(items: Iterable[Identity]) -> tuple[Identity, ...]:
    seen: set[str] = set()
    result: list[Identity] = []
    for item in items:
        if item.name.lower() not in seen:
            seen.add(item.name.lower())
            result.append(item)
    return tuple(result)


def _server_note(server: Server) -> str:
    return f"{server.role.value}, {server.fqdn}"


def _messages(count: int) -> str:
    return f"{count} message" if count == 1 else f"{count} messages"


def _certificates(host: ShellHost, servers: Iterable[Server]) -> Iterable[Identity]:
    for server in servers:
        for certificate in host.certificate_store(server.name).personal():
            services = ",".join(sorted(certificate.services)) or "None"
            yield Identity(
                certificate.thumbprint, f"{server.name}: {certificate.subject} ({services})"
            )


def identities_for(host: ShellHost, organization: str) -> tuple[Identities, ...]:
    """The names of the lab's current objects, by kind, seen from ``organization``."""
    org = host.organization(organization)
    lab: list[Organization] = [host.organization(name) for name in host.organization_names()]
    lab_servers = [s for o in lab for s in o.servers]
    by_kind: dict[IdentityKind, Iterable[Identity]] = {
        IdentityKind.SEND_CONNECTOR: (
            Identity(c.name, ", ".join(str(a) for a in c.address_spaces))
            for c in org.send_connectors
        ),
        IdentityKind.RECEIVE_CONNECTOR: (
            Identity(c.identity, ", ".join(str(b) for b in c.bindings))
            for c in org.receive_connectors
        ),
        IdentityKind.ACCEPTED_DOMAIN: (
            Identity(d.domain_name, d.domain_type.value + (", default" if d.default else ""))
            for d in org.accepted_domains
        ),
        IdentityKind.MAILBOX: (
            Identity(m.primary_smtp_address, m.display_name) for m in org.mailboxes
        ),
        IdentityKind.SERVER: (Identity(s.name, _server_note(s)) for s in org.servers),
        IdentityKind.CERTIFICATE: _certificates(host, org.servers),
        IdentityKind.QUEUE: (
            Identity(
                q.identity,
                f"{q.next_hop_domain}: {q.status.value}, {_messages(q.message_count)}",
            )
            for q in host.queues(org.name, None)
        ),
        IdentityKind.MESSAGE: (
            Identity(m.identity, f"{m.subject}: {m.status.value}")
            for m in host.messages(org.name, None)
        ),
        IdentityKind.ORGANIZATION: (Identity(o.name, o.default_domain) for o in lab),
        IdentityKind.LAB_SERVER: (Identity(s.name, _server_note(s)) for s in lab_servers),
        IdentityKind.LAB_MAILBOX: (
            Identity(m.primary_smtp_address, m.display_name) for o in lab for m in o.mailboxes
        ),
        IdentityKind.LAB_CERTIFICATE: _certificates(host, lab_servers),
    }
    return tuple(Identities(kind, _unique(items)) for kind, items in by_kind.items())


def vocabulary_for(
    host: ShellHost,
    organization: str,
    *,
    catalog: Catalog | None = None,
    lab_commands: tuple[LabCommand, ...] = LAB_COMMANDS,
) -> Vocabulary:
    """The vocabulary of a shell on ``organization`` of the lab behind ``host``, now.

    Cmdlets come from ``catalog`` (the default catalog when None), objects from the host; the
    organization must be in the lab (the host's error otherwise).
    """
    return Vocabulary(
        cmdlets=catalog_words(catalog),
        identities=identities_for(host, organization),
        lab_commands=lab_commands,
        organization=host.organization(organization).name,
    )


# -- reading the text before the cursor ----------------------------------------------------------

_QUOTES = SINGLE_QUOTES | DOUBLE_QUOTES


@dataclass
class _Item:
    """One item of an argument (``a,b`` has two): where it starts (its opening quote, if any),
    the text it stands for, the quote still open at the cursor, whether it holds a group."""

    start: int
    value: str
    quote: str = ""
    opaque: bool = False


@dataclass
class _Token:
    """A word of a statement: ``-Name`` / ``-Name:value`` (``parameter`` set) or a value."""

    start: int
    end: int
    parameter: str | None = None
    colon: bool = False
    items: list[_Item] = field(default_factory=list)


def _quoted(text: str, i: int) -> tuple[bool, str, int]:
    """Read the quoted string opening at ``i``: (closed, value, index after it)."""
    single = text[i] in SINGLE_QUOTES
    quotes = SINGLE_QUOTES if single else DOUBLE_QUOTES
    out: list[str] = []
    j = i + 1
    while j < len(text):
        ch = text[j]
        if not single and ch == "`" and j + 1 < len(text):
            out.append(text[j + 1])
            j += 2
            continue
        if ch in quotes:
            if j + 1 < len(text) and text[j + 1] in quotes:
                out.append(ch)
                j += 2
                continue
            return True, "".join(out), j + 1
        out.append(ch)
        j += 1
    return False, "".join(out), len(text)


def _group_end(text: str, i: int) -> int | None:
    """The index after the ``)``/``}`` closing the group opening at ``i``; None if still open."""
    depth = 0
    j = i
    while j < len(text):
        ch = text[j]
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
            if depth == 0:
                return j + 1
        elif ch in _QUOTES:
            closed, _, j = _quoted(text, j)
            if not closed:
                return None
            continue
        elif ch == "`":
            j += 2
            continue
        j += 1
    return None


def _item(text: str, i: int) -> tuple[_Item, int] | None:
    """Read one item from ``i``; None when the cursor is inside a group."""
    start = i
    out: list[str] = []
    quote = ""
    opaque = False
    while i < len(text):
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch in "({" or (ch in "@$" and nxt != "" and nxt in "({"):
            end = _group_end(text, i if ch in "({" else i + 1)
            if end is None:
                return None
            opaque = True
            i = end
            continue
        if ch in WORD_END or (ch == "`" and nxt in NEWLINES and nxt != ""):
            break
        if ch == "`":
            out.append(nxt)
            i += 2 if nxt else 1
            continue
        if ch in _QUOTES:
            closed, value, i = _quoted(text, i)
            out.append(value)
            if not closed:
                quote = ch
            continue
        out.append(ch)
        i += 1
    return _Item(start, "".join(out), quote, opaque), i


def _at_parameter(text: str, i: int) -> bool:
    # As the parser's Scanner.at_parameter, plus a lone dash at the cursor (a name to come).
    if text[i] not in DASHES:
        return False
    if i + 1 == len(text):
        return True
    nxt = text[i + 1]
    return nxt.isalpha() or nxt in "_?"


def _is_variable(token: _Token) -> bool:
    return (
        token.parameter is None
        and len(token.items) == 1
        and not token.items[0].quote
        and token.items[0].value.startswith("$")
        and len(token.items[0].value) > 1
    )


def _statement(text: str) -> list[_Token] | None:
    """The tokens of the statement the cursor is in; the last one is under the cursor (an empty
    value when the cursor starts a new word). None when the cursor is inside a comment or group."""
    tokens: list[_Token] = []
    continues_list = False  # a comma was read: the next word is an item of the last token
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in BLANKS:
            i += 1
        elif ch == "`" and i + 1 < n and text[i + 1] in NEWLINES:
            # A line continuation: the statement goes on (a CRLF counts as one line end).
            i += 3 if text.startswith("\r\n", i + 1) else 2
        elif ch in NEWLINES or ch in ";|(":
            # ``(`` opens a pipeline of its own: ``(Get-TransportConfig).…``, ``-Comment (…)``.
            tokens = []
            continues_list = False
            i += 1
        elif ch == "=" and len(tokens) == 1 and _is_variable(tokens[0]):
            # ``$c = Get-SendConnector …``: the statement starts again after the assignment.
            tokens = []
            continues_list = False
            i += 1
        elif ch == "#":
            end = min((p for p in (text.find("\n", i), text.find("\r", i)) if p >= 0), default=-1)
            if end < 0:
                return None
            i = end
        elif ch == ",":
            continues_list = bool(tokens) and (tokens[-1].parameter is None or tokens[-1].colon)
            i += 1
        elif ch in ")}":
            # A stray closer (the shell would refuse the line); it ends the word, nothing more.
            i += 1
        elif continues_list:
            read = _item(text, i)
            if read is None:
                return None
            item, i = read
            tokens[-1].items.append(item)
            tokens[-1].end = i
            continues_list = False
        elif _at_parameter(text, i):
            j = i + 1
            while j < n and text[j] not in WORD_END and text[j] not in _QUOTES and text[j] != ":":
                j += 1
            token = _Token(start=i, end=j, parameter=text[i + 1 : j])
            if j < n and text[j] == ":":
                token.colon = True
                j += 1
                token.end = j
                if j < n and text[j] not in WORD_END:
                    read = _item(text, j)
                    if read is None:
                        return None
                    item, j = read
                    token.items.append(item)
                    token.end = j
            tokens.append(token)
            i = j
        else:
            read = _item(text, i)
            if read is None:
                return None
            item, i = read
            tokens.append(_Token(start=item.start, end=i, items=[item]))
    if continues_list:
        tokens[-1].items.append(_Item(n, ""))
        tokens[-1].end = n
    elif not tokens or tokens[-1].end < n:
        tokens.append(_Token(start=n, end=n, items=[_Item(n, "")]))
    return tokens


class _Unknown:
    """The value after a parameter completion cannot identify (its type is unknown)."""


_UNKNOWN = _Unknown()


def _bind(
    cmdlet: CmdletWords, tokens: Sequence[_Token]
) -> tuple[set[str], list[ParameterWords], ParameterWords | _Unknown | None]:
    """Bind ``tokens`` as :func:`labsim.ems.binding.bind` would: the parameters given (by name or
    by position), the positional slots still free, and the parameter waiting for a value."""
    named: set[str] = set()
    positional = 0
    waiting: ParameterWords | _Unknown | None = None
    for token in tokens:
        if token.parameter is not None:
            parameter = cmdlet.parameter(token.parameter)
            if parameter is None:
                waiting = None if token.items else _UNKNOWN
                continue
            named.add(parameter.name)
            takes_next = (token.colon and not token.items) or (
                not token.colon and not parameter.switch
            )
            waiting = parameter if takes_next else None
        elif waiting is not None:
            waiting = None
        else:
            positional += 1
    slots = sorted(
        (p for p in cmdlet.parameters if p.position is not None and p.name not in named),
        key=lambda p: p.position if p.position is not None else 0,
    )
    named.update(p.name for p in slots[:positional])
    return named, slots[positional:], waiting


# -- completing ----------------------------------------------------------------------------------


def _name_matches(name: str, typed: str) -> bool:
    key = typed.lower()
    if "*" in key or "?" in key:
        return fnmatch.fnmatchcase(name.lower(), key + "*")
    return name.lower().startswith(key)


def _value_matches(candidate: str, typed: str) -> bool:
    key = typed.lower()
    name = candidate.lower()
    if name.startswith(key):
        return True
    if key and name.startswith("$") and name[1:].startswith(key):
        return True  # "t" → $true
    # SERVER\Name identities (receive connectors, queues) also match on the part after the server.
    return "\\" in name and any(part.startswith(key) for part in name.split("\\")[1:])


_MUST_QUOTE = BLANKS | NEWLINES | WORD_END | _QUOTES | frozenset("`")


def _as_argument(name: str, quote: str) -> str:
    """``name`` as the shell must read it back: inside the quote the user opened, or in double
    quotes when it holds a blank or a character the shell reads specially."""
    if quote in SINGLE_QUOTES:
        # Inside single quotes only a doubled quote is special.
        return quote + "".join(ch * 2 if ch in SINGLE_QUOTES else ch for ch in name) + quote
    needs = (
        not name or any(ch in _MUST_QUOTE for ch in name) or name[0] in DASHES or name[0] in "$@#"
    )
    if not quote and not needs:
        return name
    escaped = "".join(
        ch * 2 if ch in DOUBLE_QUOTES or ch == "`" else "`$" if ch == "$" else ch for ch in name
    )
    mark = quote or '"'
    return mark + escaped + mark


def _complete_value(
    vocabulary: Vocabulary, choices: Choices, token: _Token, text: str
) -> list[Completion]:
    item = token.items[-1] if token.items else _Item(len(text), "")
    if item.opaque:
        return []
    start = item.start - len(text)
    listed = {earlier.value.lower() for earlier in token.items[:-1]}
    out: list[Completion] = []
    for value in choices.values:
        # A $ word inside quotes would be a string, not $true / $false.
        if value.lower() in listed or (item.quote and value.startswith("$")):
            continue
        if _value_matches(value, item.value):
            text_ = item.quote + value + item.quote if item.quote else value
            out.append(Completion(text_, start, value))
    if choices.identity is not None:
        for identity in vocabulary.identities_of(choices.identity):
            if identity.name.lower() not in listed and _value_matches(identity.name, item.value):
                out.append(
                    Completion(
                        _as_argument(identity.name, item.quote), start, identity.name, identity.note
                    )
                )
    return _distinct(out)


def _distinct(completions: Iterable[Completion]) -> list[Completion]:
    seen: set[str] = set()
    result: list[Completion] = []
    for c in completions:
        if c.text not in seen:
            seen.add(c.text)
            result.append(c)
    return result


def short_type_name(type_name: str) -> str:
    """A parameter's .NET type as the menu shows it: ``Boolean``, ``TlsAuthLevel``,
    ``SmtpDomain[]`` (a multivalued property), ``UsageType`` (a nested type)."""
    multivalued = "MultiValuedProperty" in type_name
    core = type_name[type_name.rfind("[") + 1 :].rstrip("]") if "[" in type_name else type_name
    short = core.rsplit(".", 1)[-1].rsplit("+", 1)[-1]
    return short + ("[]" if multivalued else "")


def _complete_parameter(cmdlet: CmdletWords, tokens: list[_Token], text: str) -> list[Completion]:
    current = tokens[-1]
    typed = current.parameter or ""
    given, _, _ = _bind(cmdlet, tokens[1:-1])
    start = current.start - len(text)
    return [
        Completion("-" + p.name, start, "-" + p.name, short_type_name(p.type_name))
        for p in cmdlet.parameters
        if p.name not in given and p.name.lower().startswith(typed.lower())
    ]


def _complete_command_name(
    vocabulary: Vocabulary, item: _Item, text: str, *, line_start: bool
) -> list[Completion]:
    if item.quote or item.opaque:
        return []
    start = item.start - len(text)
    cmdlets = sorted(
        (c for c in vocabulary.cmdlets if _name_matches(c.name, item.value)),
        key=lambda c: c.name.lower(),
    )
    out = [Completion(c.name, start, c.name, c.synopsis) for c in cmdlets]
    if line_start and not item.value:
        out.extend(Completion(c.name, start, c.name, c.synopsis) for c in vocabulary.lab_commands)
    return out


def _complete_lab_command(vocabulary: Vocabulary, text: str) -> list[Completion]:
    # The shell splits a lab command line at whitespace (str.split), so completion does too.
    words = [(m.start(), m.group()) for m in re.finditer(r"\S+", text)]
    if not words or words[-1][0] + len(words[-1][1]) < len(text):
        words.append((len(text), ""))
    at, typed = words[-1]
    start = at - len(text)
    if len(words) == 1:
        return [
            Completion(c.name, start, c.name, c.synopsis)
            for c in vocabulary.lab_commands
            if c.name.lower().startswith(typed.lower())
        ]
    command = vocabulary.lab_command(words[0][1])
    index = len(words) - 2
    if command is None or index >= len(command.arguments):
        return []
    choices = command.arguments[index]
    out = [Completion(v, start, v) for v in choices.values if _value_matches(v, typed)]
    if choices.identity is not None:
        out.extend(
            Completion(i.name, start, i.name, i.note)
            for i in vocabulary.identities_of(choices.identity)
            if _value_matches(i.name, typed)
        )
    return _distinct(out)


# -- inside a script block ----------------------------------------------------------------------

FILTER_OPERATORS: tuple[str, ...] = (
    *sorted(COMPARISONS),
    *sorted(f"c{op}" for op in COMPARISONS if op not in ("in", "notin")),
    "and",
    "or",
    "not",
)
"""What ``-`` completes to inside a script block: the comparisons (then their case-sensitive
``c`` forms) and the logical operators, as labsim's filters take them."""

_CURRENT_MEMBER = re.compile(r"\$(?:_|PSItem)\.([A-Za-z0-9_]*)$", re.IGNORECASE)
_OPERATOR = re.compile(r"(?:^|[\s(])[-\u2013\u2014\u2015]([A-Za-z]*)$")


def _open_groups(text: str) -> list[int] | None:
    """The indexes of the ``(`` and ``{`` still open at the end of ``text``, outermost first;
    None inside a quoted string or a comment."""
    stack: list[int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            closed, _, i = _quoted(text, i)
            if not closed:
                return None
            continue
        if ch == "`":
            i += 2
            continue
        if ch == "#" and not stack:
            end = min((p for p in (text.find("\n", i), text.find("\r", i)) if p >= 0), default=-1)
            if end < 0:
                return None
            i = end
            continue
        if ch in "({":
            stack.append(i)
        elif ch in ")}" and stack:
            stack.pop()
        i += 1
    return stack


def _stages(text: str) -> list[str]:
    """The pipeline stages of the last statement of ``text`` (no group open), as text."""
    stages = [""]
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in _QUOTES:
            _, _, j = _quoted(text, i)
            stages[-1] += text[i:j]
            i = j
            continue
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        elif depth == 0 and ch == "|":
            stages.append("")
            i += 1
            continue
        elif depth == 0 and (ch in NEWLINES or ch == ";"):
            stages = [""]
            i += 1
            continue
        stages[-1] += ch
        i += 1
    return stages


def _piped_properties(vocabulary: Vocabulary, stages: list[str]) -> tuple[str, ...]:
    """The properties of the objects that reach the last stage, from the stages before it."""
    for stage in reversed(stages[:-1]):
        words = stage.split()
        cmdlet = vocabulary.cmdlet(words[0]) if words else None
        if cmdlet is None:
            return ()
        if cmdlet.name not in PASS_THROUGH:
            return cmdlet.properties
    return ()


def _complete_in_block(vocabulary: Vocabulary, text: str) -> list[Completion] | None:
    """Completions inside an open ``{ }`` script block; None when the cursor is not in one."""
    groups = _open_groups(text)
    if not groups:
        return None
    block = groups[-1]
    if text[block] != "{" or (block > 0 and text[block - 1] == "@"):
        return None
    # The stage the block belongs to starts after the innermost ``(`` that holds it, if any.
    container = max((g for g in groups[:-1] if text[g] == "("), default=-1)
    outer = min((g for g in groups if g > container), default=block)
    body = text[block + 1 :]
    member = _CURRENT_MEMBER.search(body)
    if member is not None:
        typed = member.group(1)
        properties = _piped_properties(vocabulary, _stages(text[container + 1 : outer]))
        return [
            Completion(name, -len(typed), name)
            for name in properties
            if name.lower().startswith(typed.lower())
        ]
    operator = _OPERATOR.search(body)
    if operator is not None:
        typed = operator.group(1)
        return [
            Completion("-" + op, -len(typed) - 1, "-" + op, "operator")
            for op in FILTER_OPERATORS
            if op.startswith(typed.lower())
        ]
    return []


def complete(vocabulary: Vocabulary, text_before_cursor: str) -> list[Completion]:
    """What may replace the end of ``text_before_cursor``, in menu order; never raises.

    At the start of a statement: cmdlet names (``get-sen`` → ``Get-SendConnector``; ``*`` and
    ``?`` as wildcards), and on an empty line the ``:`` commands too. ``-`` after a cmdlet:
    parameters not given yet. A value: the words of its parameter (named, or the positional slot
    it fills), enum values or ``$true``/``$false``, and the names of its kind of object.
    A line starting with ``:``: the lab command and its arguments. Inside a ``{ }`` script
    block: ``$_.`` the piped objects' properties, ``-`` the filter operators.
    """
    text = text_before_cursor
    if text.lstrip().startswith(":"):
        return _complete_lab_command(vocabulary, text)
    in_block = _complete_in_block(vocabulary, text)
    if in_block is not None:
        return in_block
    tokens = _statement(text)
    if tokens is None:
        return []
    current = tokens[-1]
    if len(tokens) == 1:
        if current.parameter is not None or len(current.items) != 1:
            return []
        return _complete_command_name(
            vocabulary, current.items[0], text, line_start=not text.strip()
        )
    first = tokens[0]
    if first.parameter is not None or len(first.items) != 1 or first.items[0].quote:
        return []
    cmdlet = vocabulary.cmdlet(first.items[0].value)
    if cmdlet is None:
        return []
    if current.parameter is not None and not current.colon:
        return _complete_parameter(cmdlet, tokens, text)
    if current.parameter is not None:
        parameter = cmdlet.parameter(current.parameter)
    else:
        _, free, waiting = _bind(cmdlet, tokens[1:-1])
        if isinstance(waiting, _Unknown):
            return []
        parameter = waiting if waiting is not None else (free[0] if free else None)
    if parameter is None:
        return []
    return _complete_value(vocabulary, parameter.choices, current, text)
