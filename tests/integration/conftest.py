"""Fixtures of the end-to-end and interop tests: a running lab per test, always stopped.

Every test here goes through real loopback sockets, real TLS and the lab DNS. A lab is started
with a random free port offset (``Lab.start``'s default) and a certificate folder under the
test's ``tmp_path``; teardown closes its sockets even when the test fails. The helpers the tests
share (configuration steps, external peers driven from the reactor, log parsing) live in
``integration_helpers``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labsim.lab import Lab
from labsim.model.lab import LabDefinition, default_lab


@pytest.fixture
def start_lab(tmp_path: Path) -> Iterator[Callable[..., Lab]]:
    """Start labs (the default one unless a definition is given); all are stopped afterwards."""
    started: list[Lab] = []

    def start(definition: LabDefinition | None = None) -> Lab:
        lab = Lab.start(
            definition if definition is not None else default_lab(),
            cert_folder=tmp_path / "certs",
        )
        started.append(lab)
        return lab

    try:
        yield start
    finally:
        for lab in reversed(started):
            lab.stop()


@pytest.fixture
def lab(start_lab: Callable[..., Lab]) -> Lab:
    """The default lab (Adatum + TreyResearch, Domain Security not configured), running."""
    return start_lab()
