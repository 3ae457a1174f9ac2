"""``labsim demo``: the Exchange 2013 Domain Security walkthrough, narrated live.

The demo runs the walkthrough scenario shipped with labsim (``labsim/data/``, also
``scenarios/domain-security-2013.toml``) on the built-in lab, through the same runner as
``labsim run``. It prints each cmdlet with its output, the SMTP/TLS facts of every hop as the
lab reports them (which receive connector took the session, which certificate each side
presented and how it validated, the Domain Security verdict), each expectation as it is checked,
and ends with both recipients' inboxes, showing the ✔ domain-secured mark as Outlook would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, cast

from labsim.ems.shell import ShellResult
from labsim.lab import Lab
from labsim.model.lab import LabDefinition
from labsim.scenario.loader import load_scenario
from labsim.scenario.model import EmsStep, Scenario, SendStep
from labsim.scenario.runner import LabLike, StepResult, run_scenario

WALKTHROUGH = "domain-security-2013.toml"
RECIPIENTS = ("ben@treyresearch.net", "april@adatum.com")

Echo = Callable[[str], None]


class NarratedLab:
    """A :class:`Lab` that tells the audience what it does while the runner drives it."""

    def __init__(self, lab: Lab, echo: Echo) -> None:
        self.lab = lab
        self.echo = echo
        lab.world.observers.append(self._observe)

    def _observe(self, server: str, text: str) -> None:
        self.echo(f"      {server:<12} {text}")

    def run_shell(self, organization: str, text: str, server: str | None = None) -> Any:
        """Show each cmdlet at an EMS prompt followed by its own output, as a console would."""
        prompt = f"[PS] {organization}{'/' + server if server else ''}>"
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        if any(line.endswith("`") for line in lines):
            # Continued lines form one statement: run the block as a whole.
            lines = [text]
        outputs: list[str] = []
        commands: list[str] = []
        for line in lines:
            for shown in line.splitlines():
                self.echo(f"  {prompt} {shown.strip()}")
            result = self.lab.run_shell(organization, line, server)
            commands.extend(result.commands)
            for out in result.output.rstrip().splitlines():
                self.echo(f"    {out}")
            if result.output.strip():
                outputs.append(result.output.rstrip())
            if result.error is not None:
                self.echo(f"    {result.error}")
                return ShellResult("\n\n".join(outputs), result.error, tuple(commands))
        return ShellResult("\n\n".join(outputs), None, tuple(commands))

    def send(
        self,
        *,
        mail_from: str,
        to: Sequence[str],
        subject: str,
        body: str = "",
        cc: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
        size: int | None = None,
    ) -> str:
        """Announce the message, then let the hops narrate themselves."""
        self.echo(f"  ✉  {mail_from} → {', '.join(to)}: '{subject}'")
        return self.lab.send(
            mail_from=mail_from,
            to=to,
            subject=subject,
            body=body,
            cc=cc,
            headers=headers,
            size=size,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.lab, name)


def walkthrough_path() -> Path:
    """The walkthrough scenario shipped inside the package."""
    return Path(str(resources.files("labsim") / "data" / WALKTHROUGH))


def _describe_lab(definition: LabDefinition, echo: Echo) -> None:
    for org_def in definition.organizations:
        org = org_def.organization
        servers = ", ".join(f"{s.name} {s.fqdn} {s.address}" for s in org.servers)
        echo(f"  {org.name} ({org.default_domain}): {servers}")


def _inbox_line(
    subject: str, mail_from: str, secured: bool, auth_as: str | None, when: datetime
) -> str:
    mark = "✔ domain secured" if secured else "  not domain secured"
    return (
        f"    {mark:<20} '{subject}' from {mail_from} (AuthAs {auth_as or '-'}) at {when:%H:%M:%S}Z"
    )


def run_demo(echo: Echo, *, cert_folder: Path, port_offset: int | None = None) -> int:
    """Run the narrated walkthrough; return 0 when every expectation held, else 1."""
    scenario: Scenario = load_scenario(walkthrough_path())
    echo(f"labsim demo: {scenario.title}")
    echo("")
    echo("The lab (Exchange 2013, real SMTP and TLS on loopback):")
    _describe_lab(scenario.definition, echo)
    echo(f"  certificates and keys: {cert_folder}/")
    narrated: list[NarratedLab] = []
    inboxes: dict[str, list[str]] = {}

    def factory(s: Scenario) -> LabLike:
        lab = Lab.start(s.definition, cert_folder=cert_folder, port_offset=port_offset)
        offset = lab.world.network.port_offset
        echo(
            f"  ports: each server listens on Exchange's port + {offset} "
            f"(SMTP 25 on {25 + offset}, 2525 on {2525 + offset})"
        )
        echo("")
        narrated.append(NarratedLab(lab, echo))
        # NarratedLab forwards what it does not narrate to the Lab (__getattr__).
        return cast(LabLike, narrated[-1])

    def on_step(result: StepResult) -> None:
        step = result.step
        mark = "✔" if result.passed else "✘"
        if isinstance(step, (EmsStep, SendStep)):
            if not result.passed:
                echo(f"  {mark} {result.description}")
                for line in result.details:
                    echo(f"    {line}")
            echo("")
            return
        echo(f"  {mark} {result.description}")
        for line in result.details:
            echo(f"    {line}")
        if step.number == len(scenario.steps):
            # The last step: list the inboxes before the runner stops the lab.
            lab = narrated[0].lab
            for address in RECIPIENTS:
                inboxes[address] = [
                    _inbox_line(m.subject, m.mail_from, m.domain_secured, m.auth_as, m.delivered_at)
                    for m in lab.inbox(address)
                ]

    result = run_scenario(scenario, lab_factory=factory, on_step=on_step)
    echo("")
    echo("Inboxes, as Outlook shows them:")
    for address in RECIPIENTS:
        echo(f"  {address}")
        for line in inboxes.get(address, []) or ["    (empty)"]:
            echo(line)
    echo("")
    if result.passed:
        echo("Domain Security works both ways: every expectation of the walkthrough held.")
        return 0
    echo(f"{len(result.failures)} expectation(s) failed; see the ✘ lines above.")
    return 1
