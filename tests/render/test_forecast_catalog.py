"""The topology's forecast agrees with what really happens: over every scenario of the catalog,
just before each message from one organization to another is sent, the forecast for that pair
says whether it will arrive domain-secured; once the lab settles, the recipient's mailbox must
agree, and the forecast's reason must be one of the decision notes the send produced (the words
``--explain`` prints)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from labsim.lab import Lab
from labsim.render.topology import PairVerdict, topology
from labsim.scenario import runner
from labsim.scenario.loader import load_scenario
from tests.render.conftest import ROOT

CATALOG = sorted((ROOT / "scenarios").glob("*.toml")) + sorted(
    (ROOT / "scenarios" / "breakfix").glob("*.toml")
)


class _Forecasting:
    """The lab as the runner sees it; each cross-organization send is forecast first."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self.checked: list[tuple[str, PairVerdict, bool, list[str]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lab, name)

    def stop(self) -> None:
        """The test stops the lab itself."""

    def send(self, *, mail_from: str, to: Sequence[str], **kwargs: Any) -> str:
        lab = self._lab
        organizations = lab.world.organizations.values()
        sender_domain = mail_from.rpartition("@")[2].lower()
        recipient_domain = to[0].rpartition("@")[2].lower()
        sender = next((o for o in organizations if o.is_accepted_domain(sender_domain)), None)
        receiver = next(
            (o for o in organizations if o.default_domain.lower() == recipient_domain), None
        )
        forecast = None
        if sender is not None and receiver is not None and sender is not receiver:
            forecast = topology(lab).pair(sender.name, receiver.name)
        notes_before = len(lab.explain())
        message_id = lab.send(mail_from=mail_from, to=to, **kwargs)
        if forecast is not None:
            found = [m for m in lab.inbox(to[0]) if m.message_id == message_id]
            secured = bool(found) and found[0].domain_secured
            self.checked.append(
                (str(kwargs.get("subject")), forecast, secured, lab.explain()[notes_before:])
            )
        return message_id


@pytest.mark.parametrize("path", CATALOG, ids=lambda p: p.stem)
def test_forecast_matches_the_real_outcome(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    lab = Lab.start(scenario.definition, cert_folder=tmp_path / "certs")
    forecasting = _Forecasting(lab)
    try:
        runner.run_scenario(scenario, lab_factory=lambda _s: forecasting)
    finally:
        lab.stop()
    for subject, forecast, secured, notes in forecasting.checked:
        assert forecast.secured == secured, (subject, forecast)
        # Notes read "SERVER: text"; the reason is one of them (a forecast that stops where
        # the path leaves the lab adds why after the sending side's note).
        texts = [note.split(": ", 1)[1] for note in notes]
        assert any(forecast.reason.startswith(text) for text in texts), (subject, forecast.reason)
