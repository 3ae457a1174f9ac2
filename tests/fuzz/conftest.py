"""Fixtures of the fuzz tests: a shorter stuck-lab bound, and a certificate folder shared by the
examples of one test (the lab's CA keys are made once, then loaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_helpers import STUCK_SECONDS

import labsim.reactor


@pytest.fixture(autouse=True)
def short_stuck_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lab that does not settle fails the example after STUCK_SECONDS, not after a minute."""
    monkeypatch.setattr(labsim.reactor, "STUCK_AFTER_SECONDS", STUCK_SECONDS)


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    """The certificate folder every lab of this test uses."""
    return tmp_path / "certs"
