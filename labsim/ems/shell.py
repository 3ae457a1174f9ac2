"""The shell: run a block of EMS lines against one organization and collect what EMS would print.

Owns :class:`Shell` and :class:`ShellResult`. A block is parsed as a whole (a syntax error runs
nothing); statements then run in order and the first error stops the block — the error is
returned, never raised. In a pipeline every command is looked up and bound before any runs (as
PowerShell discovers commands and binds named parameters first); each later command receives the
previous one's objects, bound by property (Identity, Thumbprint) or collected (Format-*).
Warnings print when they happen; the last command's objects print in their default views.
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.ems.binding import bind, check_mandatory
from labsim.ems.catalog import Arguments, Catalog, CmdletContext, CmdletSpec
from labsim.ems.cmdlets import default_catalog
from labsim.ems.host import ShellHost
from labsim.ems.messages import cmdlet_error
from labsim.ems.outputs import FormattedText
from labsim.ems.parser import Pipeline, parse
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
    ) -> None:
        self.host = host
        self.organization = organization
        self.server = server
        self.catalog = catalog if catalog is not None else default_catalog()

    def run(self, text: str) -> ShellResult:
        """Run a block of lines; never raises CmdletError (it is returned in the result)."""
        try:
            pipelines = parse(text)
        except CmdletError as err:
            return ShellResult("", err, ())
        blocks: list[_Block] = []
        commands: list[str] = []
        for pipeline in pipelines:
            commands.append(pipeline.text)
            try:
                self._run_pipeline(pipeline, blocks)
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
        )

    def _invoke(
        self, spec: CmdletSpec, args: Arguments, ctx: CmdletContext, blocks: list[_Block]
    ) -> list[object]:
        check_mandatory(spec, args)
        try:
            produced = list(spec.run(ctx, args))
        except CmdletError:
            raise
        except LabsimError as err:
            # Errors of lower layers (PKI, lab) reach the user as this cmdlet's error.
            raise cmdlet_error(spec.name, str(err), type(err).__name__) from None
        finally:
            blocks.extend(_Block(f"WARNING: {w}", warning=True) for w in ctx.warnings)
            ctx.warnings.clear()
        return produced

    def _run_pipeline(self, pipeline: Pipeline, blocks: list[_Block]) -> None:
        stages = []
        for call in pipeline.commands:
            spec = self.catalog.find(call.name)
            stages.append((spec, bind(spec, call)))
        objects: list[object] = []
        for index, (spec, args) in enumerate(stages):
            if index == 0:
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
        self._print(objects, blocks)

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
