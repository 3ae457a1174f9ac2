"""Fixtures of the interop tests with real mail software: a private Postfix instance.

``private_postfix(**kwargs)`` builds a :class:`postfix.PrivatePostfix` (keyword arguments as its
constructor's) in a fresh folder under /tmp, starts it, and returns it; every instance is
stopped at teardown, even when the test failed, and its maillog is printed (pytest shows it for
failed tests). The test is skipped when Postfix is not installed (.ci/run installs it) or the
suite does not run as root (master(8) must start as root).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from postfix import PrivatePostfix, postfix_missing


@pytest.fixture
def private_postfix() -> Iterator[Callable[..., PrivatePostfix]]:
    """Factory: build and start a private Postfix; all of them are stopped afterwards."""
    reason = postfix_missing()
    if reason is not None:
        pytest.skip(reason)
    started: list[tuple[PrivatePostfix, Path]] = []

    def start(**kwargs: Any) -> PrivatePostfix:
        # Not tmp_path: /tmp/pytest-of-root is 0700 and virtual(8) delivers as the postfix user.
        folder = Path(tempfile.mkdtemp(prefix="labsim-postfix-", dir="/tmp"))
        instance = PrivatePostfix(folder, **kwargs)
        started.append((instance, folder))
        instance.start()
        return instance

    try:
        yield start
    finally:
        errors = []
        for instance, folder in reversed(started):
            try:
                instance.stop()
            except Exception as error:  # stop the others, then report
                errors.append(f"{instance}: {error}")
            print(f"--- {instance.maillog} ---\n{instance.log_text()}")
            if not errors:
                shutil.rmtree(folder, ignore_errors=True)
        if errors:
            pytest.fail("a private Postfix did not stop:\n" + "\n".join(errors))
