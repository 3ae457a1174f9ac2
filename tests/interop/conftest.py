"""Fixtures of the interop tests with real mail software: a private Postfix instance.

``private_postfix(**kwargs)`` builds a :class:`postfix.PrivatePostfix` (keyword arguments as its
constructor's) in a fresh folder under /tmp, starts it, and returns it; every instance is
stopped at teardown, even when the test failed, and its maillog is printed (pytest shows it for
failed tests). The test is skipped when Postfix is not installed (.ci/run installs it) or the
suite does not run as root (master(8) must start as root).
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from postfix import MAIL_OWNER, SETGID_GROUP, PrivatePostfix, postfix_command


def postfix_missing() -> str | None:
    """Why a private Postfix cannot run here, or None when it can."""
    for program in ("postfix", "postqueue", "sendmail"):
        if postfix_command(program) is None:
            return f"Postfix is not installed ({program} not found; .ci/run installs it)"
    try:
        pwd.getpwnam(MAIL_OWNER)
        grp.getgrnam(SETGID_GROUP)
    except KeyError:
        return f"the {MAIL_OWNER} user or {SETGID_GROUP} group is missing (install Postfix)"
    if os.geteuid() != 0:
        return "a private Postfix instance needs root (master(8) starts as root); CI runs as root"
    return None


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
