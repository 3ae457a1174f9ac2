"""The shell: run a block of EMS lines against one organization and collect what EMS would print.

Owns :class:`Shell` and :class:`ShellResult`. A block is parsed as a whole (a syntax error runs
nothing); statements then run in order and the first error stops the block — the error is
returned, never raised. In a pipeline every command is looked up and bound before any runs (as
PowerShell discovers commands and binds named parameters first); each later command receives the
previous one's objects, bound by property (Identity, Thumbprint) or collected (Format-*).
Warnings print when they happen; the last command's objects print in their default views.

Variables (``$c = Get-SendConnector "x"``, then ``$c.Name``, ``$c | Format-List``,
``Set-SendConnector $c -Port 587``) live in a :class:`ShellSession`: one per :class:`Shell`
unless the caller passes its own, so an interactive session keeps them from line to line while
each block of a scenario or a setup starts with none. A statement that reads variables is
recorded in ``ShellResult.commands`` with the assignments it reads in front of it, so that the
text stands on its own (the --state journal replays statements one by one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from labsim.ems.binding import bind, check_mandatory
from labsim.ems.catalog import Arguments, Catalog, CmdletContext, CmdletSpec
from labsim.ems.cmdlets import default_catalog
from labsim.ems.evaluate import NOW_VARIABLE, call_method, member
from labsim.ems.format import display
from labsim.ems.host import ShellHost
from labsim.ems.messages import cmdlet_error
from labsim.ems.outputs import FormattedText
from labsim.ems.parser import (
    CommandCall,
    ExpandableWord,
    HashTable,
    Member,
    MethodCall,
    Pipeline,
    SecureString,
    SubPipeline,
    Value,
    ValueSource,
    VariableRef,
    parse,
)
from labsim.ems.views import render_default
from labsim.errors import CmdletError, LabsimError


@dataclass(frozen=True)
class ShellResult:
    """What a block printed, the error that stopped it (if any), and the statements run."""

    output: str
    error: CmdletError | None
    commands: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every statement ran without error."""
        return self.error is None


EXCHANGE_INSTALL_PATH = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"
"""Exchange 2013's install folder as its setup records it (MsiInstallPath, with the final ``\\``)."""

EMS_VARIABLES: Mapping[str, object] = {
    "exinstall": EXCHANGE_INSTALL_PATH,
    "exbin": EXCHANGE_INSTALL_PATH + "bin\\",
    "exscripts": EXCHANGE_INSTALL_PATH + "scripts\\",
    "env:exchangeinstallpath": EXCHANGE_INSTALL_PATH,
}
"""The variables Exchange Management Shell defines at start (RemoteExchange.ps1), and the
environment variable setup sets: what admins and Microsoft's pages type in log paths
(``$exinstall\\TransportRoles\\Logs``)."""


@dataclass
class ShellSession:
    """The variables of one shell session, by lower-case name, and the statement text that set
    each (with the texts it depended on), so a statement reading them can be written out whole."""

    variables: dict[str, object] = field(default_factory=lambda: dict(EMS_VARIABLES))
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def sources_of(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The assignment statements ``names`` depend on, in the order they ran, each once."""
        texts: list[str] = []
        for name in names:
            for text in self.sources.get(name, ()):
                if text not in texts:
                    texts.append(text)
        return tuple(texts)


def _as_argument(value: object) -> Value:
    # A variable given as a parameter value: Exchange objects bind by their identity (as
    # Exchange's IdParameter types take the object), plain values as their text.
    if value is None or isinstance(value, (bool, str, SecureString)):
        return value
    if isinstance(value, (tuple, list)):
        return tuple(_as_argument(item) for item in value)
    if isinstance(value, Enum):
        return str(value.value)
    identity = getattr(value, "identity", None)
    if isinstance(identity, str):
        return identity
    return display(value)


def _apply(value: object, step: Member) -> object:
    if isinstance(step, MethodCall):
        return call_method(value, step.name, step.arguments)
    return member(value, step)


class _Variables(Mapping[str, object]):
    """The session's variables as a script block reads them, plus lab time for ``(Get-Date)``
    (under :data:`NOW_VARIABLE`, read only when a filter asks)."""

    def __init__(self, held: dict[str, object], now: Callable[[], datetime]) -> None:
        self._held = held
        self._now = now

    def __getitem__(self, key: str) -> object:
        if key == NOW_VARIABLE:
            return self._now()
        return self._held[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)


def _one_or_many(objects: list[object]) -> object:
    # PowerShell keeps one object as itself and several as an array; none is $null.
    if not objects:
        return None
    return objects[0] if len(objects) == 1 else tuple(objects)


@dataclass(frozen=True)
class _Block:
    text: str
    warning: bool = False


def _join(blocks: list[_Block]) -> str:
    # Warnings sit on consecutive lines; formatted objects get a blank line around them.
    out = ""
    for i, block in enumerate(blocks):
        if i:
            out += "\n" if block.warning and blocks[i - 1].warning else "\n\n"
        out += block.text
    return out


class Shell:
    """An Exchange Management Shell session on one organization (and optionally one machine).

    ``server`` names the machine for machine-local cmdlets (Import-Certificate,
    Get-/Enable-ExchangeCertificate without -Server, the default -Server of New-ReceiveConnector,
    Get-Queue); None means they act on every server of the organization.
    """

    def __init__(
        self,
        host: ShellHost,
        organization: str,
        server: str | None = None,
        catalog: Catalog | None = None,
        session: ShellSession | None = None,
    ) -> None:
        self.host = host
        self.organization = organization
        self.server = server
        self.catalog = catalog if catalog is not None else default_catalog()
        self.session = session if session is not None else ShellSession()

    def run(self, text: str) -> ShellResult:
        """Run a block of lines; never raises CmdletError (it is returned in the result)."""
        try:
            pipelines = parse(text)
        except CmdletError as err:
            return ShellResult("", err, ())
        blocks: list[_Block] = []
        commands: list[str] = []
        for pipeline in pipelines:
            commands.append(
                "; ".join((*self.session.sources_of(pipeline.variables()), pipeline.text))
            )
            try:
                self._run_statement(pipeline, blocks)
            except CmdletError as err:
                return ShellResult(_join(blocks), err, tuple(commands))
        return ShellResult(_join(blocks), None, tuple(commands))

    def _context(self, spec: CmdletSpec, input_objects: tuple[object, ...]) -> CmdletContext:
        return CmdletContext(
            host=self.host,
            organization_name=self.organization,
            server=self.server,
            cmdlet=spec.name,
            input=input_objects,
            variables=_Variables(self.session.variables, self.host.lab_time),
            catalog=self.catalog,
        )

    def _invoke(
        self, spec: CmdletSpec, args: Arguments, ctx: CmdletContext, blocks: list[_Block]
    ) -> list[object]:
        check_mandatory(spec, args)
        if args.get("WhatIf") is True:
            blocks.append(_Block(self._what_if(spec, args, ctx)))
            return []
        try:
            produced = list(spec.run(ctx, args))
        except CmdletError:
            raise
        except LabsimError as err:
            # Errors of lower layers (PKI, lab) reach the user as this cmdlet's error.
            raise cmdlet_error(spec.name, str(err), type(err).__name__) from None
        finally:
            blocks.extend(_Block(f"WARNING: {w}", warning=True) for w in ctx.warnings)
            blocks.extend(_Block(f"labsim note: {n}", warning=True) for n in ctx.notes)
            ctx.warnings.clear()
            ctx.notes.clear()
        return produced

    @staticmethod
    def _what_if(spec: CmdletSpec, args: Arguments, ctx: CmdletContext) -> str:
        """PowerShell's ShouldProcess line: the operation is the cmdlet, the target the object
        it names (Identity, else Name, Thumbprint or DomainName), else the organization."""
        if spec.what_if is not None:
            return "\n".join(
                f'What if: Performing the operation "{spec.name}" on target "{target}".'
                for target in spec.what_if(ctx, args)
            )
        target: object = ctx.organization_name
        for name in ("Identity", "Name", "Thumbprint", "DomainName"):
            value = args.get(name)
            if value is not None:
                target = value
                break
        return f'What if: Performing the operation "{spec.name}" on target "{display(target)}".'

    def _run_statement(self, pipeline: Pipeline, blocks: list[_Block]) -> None:
        objects = self._run_pipeline(pipeline, blocks)
        if pipeline.assign is None:
            self._print(objects, blocks)
            return
        name = pipeline.assign.lower()
        self.session.variables[name] = _one_or_many(objects)
        self.session.sources[name] = (
            *self.session.sources_of(pipeline.variables()),
            self._reread(pipeline, objects),
        )

    def _reread(self, pipeline: Pipeline, objects: list[object]) -> str:
        """The statement that sets a variable, as a later statement reading it should carry it.

        ``$c = New-SendConnector ...`` must not run twice when the --state journal replays a
        statement that reads ``$c``: an assignment that changed something and wrote one object
        is carried as ``$c = Get-<Noun> '<identity>'``, which reads the same object again.
        """
        if not pipeline.commands or pipeline.assign is None or len(objects) != 1:
            return pipeline.text
        last = self.catalog.find(pipeline.commands[-1].name).name
        verb, _, noun = last.partition("-")
        identity = getattr(objects[0], "identity", None)
        if verb.lower() in ("get", "select", "where", "format") or not isinstance(identity, str):
            return pipeline.text
        try:
            getter = self.catalog.find(f"Get-{noun}")
        except CmdletError:
            return pipeline.text
        quoted = identity.replace("'", "''")
        return f"${pipeline.assign} = {getter.name} '{quoted}'"

    def _resolve(self, value: Value, blocks: list[_Block]) -> Value:
        """A parsed value with its variables replaced by what they hold, and each ``( ... )``
        pipeline by its output (then its properties)."""
        if isinstance(value, SubPipeline):
            held = _one_or_many(self._run_pipeline(value.pipeline, blocks))
            for step in value.members:
                held = _apply(held, step)
            return _as_argument(held)
        if isinstance(value, VariableRef):
            held = self.session.variables.get(value.name.lower())
            for step in value.members:
                held = _apply(held, step)
            return _as_argument(held)
        if isinstance(value, ExpandableWord):
            start = self._resolve(value.variable, blocks)
            return ("" if start is None else display(start)) + value.rest
        if isinstance(value, tuple):
            return tuple(self._resolve(item, blocks) for item in value)
        if isinstance(value, HashTable):
            return HashTable(tuple((k, self._resolve(v, blocks)) for k, v in value.entries))
        return value

    def _source_objects(self, pipeline: Pipeline, blocks: list[_Block]) -> list[object]:
        source = pipeline.source
        held: object
        if isinstance(source, VariableRef):
            held = self.session.variables.get(source.name.lower())
            members = source.members
        elif isinstance(source, SubPipeline):
            held = _one_or_many(self._run_pipeline(source.pipeline, blocks))
            members = source.members
        else:
            assert isinstance(source, ValueSource)
            held, members = source.value, ()
        for step in members:
            held = _apply(held, step)
        if held is None:
            return []
        return list(held) if isinstance(held, (tuple, list)) else [held]

    def _bind(self, spec: CmdletSpec, call: CommandCall, blocks: list[_Block]) -> Arguments:
        arguments = tuple(
            dataclasses.replace(argument, value=self._resolve(argument.value, blocks))
            for argument in call.arguments
        )
        return bind(spec, dataclasses.replace(call, arguments=arguments))

    def _run_pipeline(self, pipeline: Pipeline, blocks: list[_Block]) -> list[object]:
        stages = []
        for call in pipeline.commands:
            spec = self.catalog.find(call.name)
            stages.append((spec, self._bind(spec, call, blocks)))
        objects: list[object] = []
        if pipeline.source is not None:
            objects = self._source_objects(pipeline, blocks)
        for index, (spec, args) in enumerate(stages):
            if index == 0 and pipeline.source is None:
                objects = self._invoke(spec, args, self._context(spec, ()), blocks)
                continue
            if spec.collects_pipeline:
                objects = self._invoke(spec, args, self._context(spec, tuple(objects)), blocks)
                continue
            produced: list[object] = []
            for obj in objects:
                mapped = spec.pipeline(obj) if spec.pipeline is not None else None
                if mapped is None:
                    raise cmdlet_error(
                        spec.name,
                        "The input object cannot be bound to any parameters for the command "
                        "either because the command does not take pipeline input or the input "
                        "and its properties do not match any of the parameters that take "
                        "pipeline input.",
                        "ParameterBindingException",
                    )
                per_object = args.copy()
                for name, value in mapped.items():
                    if name not in per_object:
                        per_object.set(name, value)
                produced.extend(self._invoke(spec, per_object, self._context(spec, (obj,)), blocks))
            objects = produced
        return objects

    @staticmethod
    def _print(objects: list[object], blocks: list[_Block]) -> None:
        pending: list[object] = []

        def flush() -> None:
            if pending:
                text = render_default(pending)
                if text:
                    blocks.append(_Block(text))
                pending.clear()

        for obj in objects:
            if isinstance(obj, FormattedText):
                flush()
                blocks.append(_Block(obj.text))
            else:
                pending.append(obj)
        flush()
