"""Fixtures of the shell tests: a fake host over the default lab and shells on Adatum."""

from __future__ import annotations

from pathlib import Path

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    """The default lab (PKI written under tmp_path) behind the ShellHost interface."""
    return FakeHost(tmp_path)


@pytest.fixture
def adatum(host: FakeHost) -> Shell:
    """A shell on Adatum without a machine (machine-local cmdlets act on every server)."""
    return Shell(host, "Adatum")
