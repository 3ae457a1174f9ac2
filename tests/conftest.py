"""Suite-wide rules: a test fails if Twisted logged an unhandled error while it ran.

Twisted reports errors nobody handled (a failed Deferred garbage-collected, an exception in a
protocol callback) through its global log; such an error is a bug even when the test's own
assertions pass (DESIGN.md §5).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from twisted.logger import globalLogPublisher


@pytest.fixture(autouse=True)
def fail_on_twisted_errors() -> Iterator[None]:
    """Collect Twisted's critical log events during the test and fail on any."""
    errors: list[Any] = []

    def observer(event: dict[str, Any]) -> None:
        if event.get("isError") or event.get("log_failure") is not None:
            errors.append(event)

    globalLogPublisher.addObserver(observer)
    try:
        yield
    finally:
        globalLogPublisher.removeObserver(observer)
    if errors:
        from twisted.logger import formatEvent

        texts = []
        for event in errors:
            failure = event.get("log_failure")
            texts.append(formatEvent(event) + ("\n" + failure.getTraceback() if failure else ""))
        pytest.fail("Twisted logged unhandled errors:\n" + "\n".join(texts))


@pytest.fixture(autouse=True)
def private_state_folder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Live labs started by a test keep their control sockets in a folder of the test's own.

    A short path under /tmp: a Unix socket path may not exceed 107 bytes, which pytest's
    tmp_path can. A lab the user runs while the suite runs is never seen, nor disturbed.
    """
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="labsim-t-")
    monkeypatch.setenv("LABSIM_STATE_DIR", folder)
    monkeypatch.delenv("LABSIM_PORT_OFFSET", raising=False)
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)
