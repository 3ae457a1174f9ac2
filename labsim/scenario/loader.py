"""Scenario files (TOML) → :class:`~labsim.scenario.model.Scenario`, and finding them on disk.

Rules kept here:

* TOML is read with the standard library's ``tomllib``; a syntax error is reported with the
  line and column tomllib gives.
* Every problem is one :class:`~labsim.errors.ScenarioError` whose text names the file, the step
  (``step N (kind)``), the key, and the fix, e.g.
  ``scenarios/x.toml: step 4 (send): unknown key 'form'; did you mean 'from'?``.
* Unknown keys are errors (a typo must never be silently ignored) and get a difflib suggestion.
* A ``send`` step's values must fit in a message (docs/limits.md): subject and header values
  on one line, real header names other than those labsim writes, ``size`` at most 100MB.
* Names of organizations and servers are checked against the scenario's lab here, so that a
  typo is a file error (exit 2) and not a failed run.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from labsim.errors import ScenarioError
from labsim.model.enums import FidelityProfile, parse_enum
from labsim.model.lab import LabDefinition, default_lab
from labsim.model.values import ByteSize
from labsim.scenario.model import (
    LOG_NAMES,
    MAX_ADVANCE_SECONDS,
    MAX_SEND_SIZE,
    SENDER_WRITTEN_HEADERS,
    AdvanceStep,
    EmsStep,
    ExpectDelivered,
    ExpectError,
    ExpectLog,
    ExpectNdr,
    ExpectNotDelivered,
    ExpectOutput,
    ExpectQueued,
    Scenario,
    SendStep,
    Step,
    parse_duration,
)
from labsim.tomlfiles import TableReader, read_toml, type_name

__all__ = ["BUILTIN_LABS", "EXPECT_KINDS", "discover", "load_scenario"]

#: Lab names that need no lab file.
BUILTIN_LABS: tuple[str, ...] = ("default",)

#: The kinds an ``expect`` table may hold, in the order the docs list them.
EXPECT_KINDS: tuple[str, ...] = (
    "output",
    "error",
    "delivered",
    "not_delivered",
    "queued",
    "ndr",
    "log",
)

_TOP_KEYS = ("title", "lab", "profile", "step")
_ACTION_KEYS = ("ems", "send", "advance", "expect")
_EMS_KEYS = ("org", "server", "ems")
_STEP_KEYS = ("ems", "org", "server", "send", "advance", "expect")

# Examples shown in "wrong type" and "missing key" messages, so that the fix is copyable.
_EXAMPLES: dict[str, str] = {
    "title": 'title = "Domain Security between Adatum and TreyResearch"',
    "lab": 'lab = "default"',
    "profile": 'profile = "exchange2010"',
    "org": 'org = "Adatum"',
    "server": 'server = "ADATUM-CAS1"',
    "ems": "ems = '''Get-TransportConfig'''",
    "from": 'from = "april@adatum.com"',
    "to": 'to = "ben@treyresearch.net"',
    "cc": 'cc = ["terry@treyresearch.net"]',
    "subject": 'subject = "Hello Trey"',
    "body": 'body = "Hi Ben"',
    "advance": 'advance = "2d"',
    "domain_secured": "domain_secured = true",
    "tls": "tls = true",
    "auth_as": 'auth_as = "Partner"',
    "header": 'header = { "X-MS-Exchange-Organization-AuthAs" = "Partner" }',
    "next_hop": 'next_hop = "treyresearch.net"',
    "status": 'status = "Retry"',
    "last_error": 'last_error = "454 4.7.5"',
    "log": 'log = "receive"',
    "contains": 'contains = "Certificate thumbprint"',
    "matches": r"matches = 'TLSSendDomainSecureList\s+: \{treyresearch\.net\}'",
}


def discover(paths: Iterable[Path | str]) -> list[Path]:
    """The scenario files named by ``paths``, in order, each once.

    A directory stands for every ``*.toml`` file under it (recursively, sorted); a file stands
    for itself whatever its suffix. An empty or missing path, or a directory without any
    ``*.toml``, is a :class:`ScenarioError`.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        if not str(given).strip():
            # Path("") is "."; an empty argument (an unset shell variable) must not stand for
            # every scenario under the current directory.
            raise ScenarioError(
                "an empty path was given; name a scenario file or a directory (use . for the "
                "current directory)"
            )
        path = Path(given)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not files:
                raise ScenarioError(
                    f"{path}: no *.toml scenario files in this directory; "
                    "name a scenario file or a directory that holds some"
                )
        elif path.exists():
            files = [path]  # not a regular file: reading it says so (labsim.inputfiles)
        else:
            raise ScenarioError(f"{path}: no such file or directory; check the path")
        for file in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found


def load_scenario(path: Path | str) -> Scenario:
    """Read and check one scenario file; any problem raises one :class:`ScenarioError`."""
    path = Path(path)
    document = read_toml(path, ScenarioError, "file")
    return _Loader(path).scenario(document)


def _suggest(word: str, candidates: Sequence[str]) -> str:
    """``did you mean 'x'?`` when a candidate is close, else the list of candidates."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(
            word.lower(), [c.lower() for c in candidates], n=1, cutoff=0.6
        )
        close = [c for c in candidates if close and c.lower() == close[0]]
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of " + ", ".join(f"'{c}'" for c in candidates)


# RFC 5322 field-name: printable ASCII except the colon.
_FIELD_NAME = re.compile(r"[!-9;-~]+")


def _is_control(char: str) -> bool:
    """A C0 control character other than tab, or DEL."""
    return (char < " " and char != "\t") or char == "\x7f"


def _shown(value: str) -> str:
    """``value`` quoted for a one-line message (line breaks and controls escaped)."""
    if any(_is_control(c) for c in value):
        return repr(value)
    return f"'{value}'"


class _Loader(TableReader):
    """Checks one parsed document; knows the file (for messages) and the lab (for names)."""

    error = ScenarioError
    examples = _EXAMPLES

    def suggest(self, word: str, candidates: Sequence[str]) -> str:
        """Exact-case matches first, then case-insensitive ones."""
        return _suggest(word, candidates)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.definition: LabDefinition = default_lab()

    # -- messages -------------------------------------------------------------------------

    # -- typed getters ---------------------------------------------------------------------

    def addresses(self, where: str, table: Mapping[str, Any], key: str) -> tuple[str, ...]:
        """One address or an array of addresses (an absent key gives ``()``)."""
        if key not in table:
            return ()
        value = table[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            self.wrong_type(where, key, "an address or an array of addresses", value)
        for item in items:
            self.check_address(where, key, item)
        return tuple(items)

    def address(self, where: str, table: Mapping[str, Any], key: str) -> str:
        """One required address."""
        value = self.text(where, table, key)
        self.check_address(where, key, value)
        return value

    def check_address(self, where: str, key: str, value: str) -> None:
        """``value`` looks like ``local@domain``."""
        local, at, domain = value.partition("@")
        if not (local and at and domain) or any(c.isspace() or _is_control(c) for c in value):
            self.fail(
                where,
                f"key '{key}': {_shown(value)} is not an email address; write it as user@domain",
            )

    def mailbox(self, where: str, table: Mapping[str, Any], key: str) -> str:
        """One required address of a mailbox the lab holds: not an outside organization's,
        whose mail the lab never sees (docs/lab-files.md)."""
        value = self.address(where, table, key)
        outside = self.definition.outside_organization_of(value)
        if outside is not None:
            self.fail(
                where,
                f"key '{key}': '{value}' is a mailbox of the outside organization "
                f"{outside.name}, which labsim does not simulate: its mail is neither sent nor "
                "held by the lab; expect what the lab shows instead (expect.queued, expect.log "
                "of the sending server)",
            )
        return value

    def org(self, where: str, table: Mapping[str, Any], key: str = "org") -> str:
        """A required organization of the lab, returned with the lab's spelling."""
        name = self.text(where, table, key)
        found = self.definition.organization(name)
        if found is None and self.definition.outside_organization(name) is not None:
            self.fail(
                where,
                f"key '{key}': '{name}' is an outside organization of lab "
                f"'{self.definition.name}'; labsim has no shell, queues or logs of it: name an "
                "organization the lab simulates",
            )
        if found is None:
            names = [o.organization.name for o in self.definition.organizations]
            self.fail(
                where,
                f"key '{key}': no organization '{name}' in lab '{self.definition.name}'; "
                f"{_suggest(name, names)}",
            )
        return found.organization.name

    def server(self, where: str, table: Mapping[str, Any], org: str) -> str | None:
        """An optional server of ``org``, returned with the lab's spelling."""
        name = self.opt_text(where, table, "server")
        if name is None:
            return None
        found = self.definition.organization(org)
        assert found is not None  # org() already checked it
        servers = [s.name for s in found.organization.servers]
        for candidate in servers:
            if candidate.lower() == name.lower():
                return candidate
        self.fail(
            where, f"key 'server': no server '{name}' in {org}; {_suggest(name.upper(), servers)}"
        )

    # -- the document ----------------------------------------------------------------------

    def scenario(self, document: Mapping[str, Any]) -> Scenario:
        """The whole file."""
        self.check_keys("", document, _TOP_KEYS)
        title = self.opt_text("", document, "title") or self.path.stem
        lab = self.opt_text("", document, "lab") or "default"
        self.definition = self.lab_definition(lab)
        profile = self.opt_text("", document, "profile")
        if profile is not None:
            try:
                chosen = parse_enum(FidelityProfile, profile)
            except ValueError:
                self.fail(
                    "",
                    f"key 'profile': '{profile}' is not a fidelity profile; write "
                    'profile = "exchange2013" (the default) or profile = "exchange2010"',
                )
            self.definition = dataclasses.replace(self.definition, profile=chosen)
        raw_steps = document.get("step")
        if raw_steps is None:
            self.fail("", "no steps; add at least one [[step]] table")
        if not isinstance(raw_steps, list) or not all(isinstance(s, dict) for s in raw_steps):
            self.fail(
                "",
                f"key 'step' must be an array of tables, not {type_name(raw_steps)}; "
                "write [[step]] above each step",
            )
        if not raw_steps:
            self.fail("", "no steps; add at least one [[step]] table")
        steps: list[Step] = []
        for number, raw in enumerate(raw_steps, start=1):
            steps.append(self.step(number, raw, steps))
        return Scenario(
            path=self.path, title=title, lab=lab, steps=tuple(steps), definition=self.definition
        )

    def lab_definition(self, lab: str) -> LabDefinition:
        """The lab named by the ``lab`` key."""
        if lab in BUILTIN_LABS:
            return default_lab()
        # Lab files are a later feature, owned by labsim/labfile.py; use it once it exists.
        if importlib.util.find_spec("labsim.labfile") is None:
            self.fail(
                "",
                f"key 'lab': '{lab}' is not a built-in lab, and lab files are not supported "
                'yet; only "default" is built in: write lab = "default"',
            )
        lab_path = self.path.parent / lab
        if not lab_path.exists():
            self.fail(
                "",
                f"key 'lab': no lab file '{lab_path}' (relative to this scenario file); "
                f'check the path, or write lab = "default" for the built-in lab',
            )
        module = importlib.import_module("labsim.labfile")
        definition = module.load_lab_file(lab_path)
        if not isinstance(definition, LabDefinition):  # pragma: no cover - labfile's contract
            raise TypeError("labsim.labfile.load_lab_file must return a LabDefinition")
        return definition

    def step(self, number: int, raw: Mapping[str, Any], before: Sequence[Step]) -> Step:
        """One ``[[step]]`` table."""
        where = f"step {number}"
        actions = [k for k in _ACTION_KEYS if k in raw]
        if len(actions) > 1:
            self.fail(
                where,
                f"one step does one thing, found '{actions[0]}' and '{actions[1]}'; "
                "put each in its own [[step]] table",
            )
        if not actions:
            self.check_keys(where, raw, _STEP_KEYS)
            if "org" in raw or "server" in raw:
                self.missing(f"{where} (ems)", "ems")
            self.fail(where, "empty step; give it one of 'ems', 'send', 'advance', 'expect'")
        action = actions[0]
        if action == "ems":
            return self.ems_step(number, raw)
        self.check_keys(f"{where} ({action})", raw, (action,))
        value = raw[action]
        if action == "send":
            return self.send_step(number, value)
        if action == "advance":
            return self.advance_step(number, value)
        return self.expect_step(number, value, before)

    def ems_step(self, number: int, raw: Mapping[str, Any]) -> EmsStep:
        """``org`` / ``server`` / ``ems``."""
        where = f"step {number} (ems)"
        self.check_keys(where, raw, _EMS_KEYS)
        ems = self.text(where, raw, "ems")
        org = self.org(where, raw)
        return EmsStep(number=number, org=org, server=self.server(where, raw, org), ems=ems)

    def send_step(self, number: int, value: object) -> SendStep:
        """``send = { from, to, subject, body?, cc? }``."""
        where = f"step {number} (send)"
        if not isinstance(value, dict):
            self.wrong_type(
                where,
                "send",
                'a table such as { from = "april@adatum.com", to = ["ben@treyresearch.net"], '
                'subject = "Hello Trey" }',
                value,
            )
        self.check_keys(where, value, ("from", "to", "subject", "body", "cc", "headers", "size"))
        mail_from = self.mailbox(where, value, "from")
        to = self.addresses(where, value, "to")
        if not to:
            self.missing(where, "to")
        subject = self.text(where, value, "subject")
        self.one_line(where, "subject", subject)
        body = value.get("body", "")
        if not isinstance(body, str):
            self.wrong_type(where, "body", "a string", body)
        cc = self.addresses(where, value, "cc")
        headers = value.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            self.wrong_type(where, "headers", 'a table of header name = "value"', headers)
        self.check_headers(where, headers)
        size: int | None = None
        if "size" in value:
            raw_size = value["size"]
            try:
                size = (
                    ByteSize.parse(str(raw_size)).value if isinstance(raw_size, str | int) else None
                )
            except ValueError:
                size = None
            if size is None or isinstance(raw_size, bool):
                self.fail(
                    where,
                    f"key 'size': '{raw_size}' is not a size; write e.g. \"2MB\" or \"512KB\"",
                )
            if size > MAX_SEND_SIZE:
                # Checked before anything is allocated: the body is padded in memory.
                self.fail(
                    where,
                    f"key 'size': '{raw_size}' is larger than labsim's limit of 100MB for one "
                    'message; give a smaller size, e.g. "40MB" to exceed a 35MB limit',
                )
        return SendStep(
            number=number,
            from_=mail_from,
            to=to,
            subject=subject,
            body=body,
            cc=cc,
            headers=tuple(headers.items()),
            size=size,
        )

    def one_line(self, where: str, key: str, value: str) -> None:
        """``value`` holds no line break or other control character (tab aside): it goes into
        one header line, where CR or LF would end it and start another header."""
        bad = next((c for c in value if _is_control(c)), None)
        if bad is not None:
            what = "a line break" if bad in "\r\n" else f"the control character {bad!r}"
            self.fail(
                where,
                f"key '{key}' holds {what} ({_shown(value)}); a header value is one line: "
                "remove it",
            )

    def check_headers(self, where: str, headers: Mapping[str, str]) -> None:
        """``headers``: RFC 5322 field names, one-line values, none that labsim writes itself,
        none given twice."""
        seen: dict[str, str] = {}
        for name, text in headers.items():
            if not _FIELD_NAME.fullmatch(name):
                self.fail(
                    where,
                    f"key 'headers': {_shown(name)} is not a header name; a name is printable "
                    'ASCII without spaces or ":", e.g. "X-Lab-Note"',
                )
            written = next((h for h in SENDER_WRITTEN_HEADERS if h.lower() == name.lower()), None)
            if written is not None:
                own_key = written.lower() if written in ("From", "To", "Cc", "Subject") else None
                fix = f"give it with the send key '{own_key}'" if own_key else "leave it out"
                self.fail(
                    where,
                    f"key 'headers': labsim writes the {written} header itself; {fix}",
                )
            first = seen.get(name.lower())
            if first is not None:
                self.fail(
                    where,
                    f"key 'headers': '{name}' and '{first}' are the same header (names are "
                    "case-insensitive); give it once",
                )
            seen[name.lower()] = name
            self.one_line(where, f"headers.{name}", text)

    def advance_step(self, number: int, value: object) -> AdvanceStep:
        """``advance = "2d"``."""
        where = f"step {number} (advance)"
        if not isinstance(value, str):
            self.wrong_type(where, "advance", 'a duration string such as "90s" or "2d"', value)
        seconds = parse_duration(value)
        if seconds is None:
            self.fail(
                where,
                f"key 'advance': '{value}' is not a duration; write a number and a unit "
                's, m, h or d, e.g. "90s", "15m", "4h", "2d" or "1d12h"',
            )
        if seconds > MAX_ADVANCE_SECONDS:
            self.fail(
                where,
                f"key 'advance': '{value}' is longer than labsim's limit of 36500d (100 years); "
                "give a shorter duration",
            )
        return AdvanceStep(number=number, seconds=seconds, text=value.strip())

    def expect_step(self, number: int, value: object, before: Sequence[Step]) -> Step:
        """``expect.<kind> = …``: exactly one kind."""
        where = f"step {number} (expect)"
        if not isinstance(value, dict):
            self.wrong_type(
                where,
                "expect",
                'a table with one kind, e.g. expect.output = "treyresearch.net"',
                value,
            )
        kinds = list(value)
        if not kinds:
            self.fail(
                where,
                "no expectation; give one kind: " + ", ".join(f"expect.{k}" for k in EXPECT_KINDS),
            )
        for kind in kinds:
            if kind not in EXPECT_KINDS:
                self.fail(
                    where,
                    f"unknown key 'expect.{kind}'; "
                    + _suggest(f"expect.{kind}", [f"expect.{k}" for k in EXPECT_KINDS]),
                )
        if len(kinds) > 1:
            self.fail(
                where,
                f"one expectation per step, found 'expect.{kinds[0]}' and 'expect.{kinds[1]}'; "
                "put each in its own [[step]] table",
            )
        kind = kinds[0]
        where = f"step {number} (expect.{kind})"
        body = value[kind]
        if kind in ("output", "error"):
            if kind == "output" and isinstance(body, dict):
                pattern = self.output_pattern(where, body)
            elif not isinstance(body, str):
                shape = (
                    'a string or a table { matches = "REGEX" }, e.g. '
                    'expect.output = "treyresearch.net"'
                    if kind == "output"
                    else 'a string, e.g. expect.error = "A parameter cannot be found"'
                )
                self.wrong_type(where, f"expect.{kind}", shape, body)
            if not any(isinstance(s, EmsStep) for s in before):
                self.fail(
                    where,
                    f"no 'ems' step before it; expect.{kind} checks the most recent ems step, "
                    "so put an ems step first",
                )
            if kind == "output":
                if isinstance(body, dict):
                    return ExpectOutput(number=number, matches=pattern)
                return ExpectOutput(number=number, text=body)
            return ExpectError(number=number, text=body)
        if not isinstance(body, dict):
            self.wrong_type(where, f"expect.{kind}", "a table { … }", body)
        if kind == "delivered":
            return self.expect_delivered(number, where, body)
        if kind == "not_delivered":
            self.check_keys(where, body, ("to", "subject"))
            return ExpectNotDelivered(
                number=number,
                to=self.mailbox(where, body, "to"),
                subject=self.text(where, body, "subject"),
            )
        if kind == "queued":
            self.check_keys(where, body, ("org", "next_hop", "status", "last_error", "subject"))
            return ExpectQueued(
                number=number,
                org=self.org(where, body),
                next_hop=self.text(where, body, "next_hop"),
                status=self.opt_text(where, body, "status"),
                last_error=self.opt_text(where, body, "last_error"),
                subject=self.opt_text(where, body, "subject"),
            )
        if kind == "ndr":
            self.check_keys(where, body, ("to", "subject", "status", "action", "absent"))
            action = self.opt_text(where, body, "action")
            if action is not None and action not in ("failed", "delayed"):
                self.fail(
                    where,
                    f"key 'action': '{action}' is not a DSN action; write \"failed\" (an NDR) "
                    'or "delayed" (a delay DSN)',
                )
            return ExpectNdr(
                number=number,
                to=self.mailbox(where, body, "to"),
                subject=self.text(where, body, "subject"),
                status=self.opt_text(where, body, "status"),
                action=action,
                absent=bool(self.opt_bool(where, body, "absent")),
            )
        return self.expect_log(number, where, body)

    def output_pattern(self, where: str, body: Mapping[str, Any]) -> str:
        """``expect.output = { matches = "REGEX" }``: a Python regular expression that compiles."""
        self.check_keys(where, body, ("matches",))
        pattern = self.text(where, body, "matches")
        try:
            re.compile(pattern)
        except re.error as error:
            # re.error says what is wrong and where (position); the fix is in the pattern.
            self.fail(
                where,
                f"key 'matches': {_shown(pattern)} is not a Python regular expression "
                f"({error}); correct it, or escape characters such as ( [ . * + ? with \\ "
                "to match them literally",
            )
        return pattern

    def expect_delivered(self, number: int, where: str, body: Mapping[str, Any]) -> ExpectDelivered:
        """``expect.delivered = { to, subject, from?, domain_secured?, tls?, auth_as?, header? }``."""
        self.check_keys(
            where,
            body,
            (
                "to",
                "subject",
                "from",
                "domain_secured",
                "tls",
                "auth_as",
                "header",
                "without_header",
            ),
        )
        header = body.get("header", {})
        if not isinstance(header, dict) or not all(isinstance(v, str) for v in header.values()):
            self.wrong_type(where, "header", "a table of header name = substring", header)
        from_ = None
        if "from" in body:
            from_ = self.address(where, body, "from")
        return ExpectDelivered(
            number=number,
            to=self.mailbox(where, body, "to"),
            subject=self.text(where, body, "subject"),
            from_=from_,
            domain_secured=self.opt_bool(where, body, "domain_secured"),
            tls=self.opt_bool(where, body, "tls"),
            auth_as=self.opt_text(where, body, "auth_as"),
            header=dict(header),
            without_header=self.header_names(where, body),
        )

    def header_names(self, where: str, body: Mapping[str, Any]) -> tuple[str, ...]:
        """``without_header``: a header name or an array of them."""
        value = body.get("without_header", [])
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            self.wrong_type(where, "without_header", "a header name or an array of them", value)
        return tuple(names)

    def expect_log(self, number: int, where: str, body: Mapping[str, Any]) -> ExpectLog:
        """``expect.log = { org, server, log, contains }``."""
        self.check_keys(where, body, ("org", "server", "log", "contains", "absent"))
        org = self.org(where, body)
        server = self.server(where, body, org)
        log = self.text(where, body, "log")
        if log not in LOG_NAMES:
            self.fail(where, f"key 'log': unknown log '{log}'; {_suggest(log, LOG_NAMES)}")
        if server is None and log not in ("tracking", "event"):
            self.fail(
                where,
                f"missing key 'server'; the {log} protocol log belongs to one server: "
                f"add {_EXAMPLES['server']}",
            )
        return ExpectLog(
            number=number,
            org=org,
            server=server,
            log=log,
            contains=self.text(where, body, "contains"),
            absent=bool(self.opt_bool(where, body, "absent")),
        )
