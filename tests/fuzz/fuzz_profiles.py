"""Hypothesis settings profiles of the fuzz tests: ``fuzz-fast`` (CI, the default) and
``fuzz-deep`` (``LABSIM_FUZZ=deep``).

The profiles are registered here and applied per test (``@fuzz_settings(...)``), never loaded
globally, so the other property tests of the suite keep Hypothesis' defaults.

* fast: few examples per test, ``derandomize=True`` and no example database, so every CI run
  draws the same examples (a fuzz test that fails in CI fails the same way on every machine) and
  the whole folder stays well under a minute on two cores.
* deep: many random examples, new ones every run, failures remembered in Hypothesis' example
  database (``.hypothesis/`` in the working directory) and replayed first next time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, settings

F = TypeVar("F", bound=Callable[..., Any])

DEEP = os.environ.get("LABSIM_FUZZ", "").strip().lower() == "deep"

# Every example starts its own lab (a few milliseconds) inside a test that holds pytest
# fixtures on purpose (tmp_path, monkeypatch); the data generated is large by design.
_HEALTH = [
    HealthCheck.function_scoped_fixture,
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
]

settings.register_profile(
    "fuzz-fast",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_HEALTH,
    # No shrinking in CI: a failing example is reported as found (with its blob); shrink it
    # locally with the deep profile. Shrinking a lab session can take minutes.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    report_multiple_bugs=False,
)
settings.register_profile(
    "fuzz-deep",
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=_HEALTH,
)

PROFILE = settings.get_profile("fuzz-deep" if DEEP else "fuzz-fast")


def fuzz_settings(*, fast: int, deep: int) -> Callable[[F], F]:
    """The active profile with ``fast`` or ``deep`` examples for this test."""
    chosen: Callable[[F], F] = settings(PROFILE, max_examples=deep if DEEP else fast)
    return chosen
