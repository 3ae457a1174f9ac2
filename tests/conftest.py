"""Suite-wide rules: a test fails if Twisted logged an unhandled error while it ran, or if a
lab it ran recorded an engine error (an unexpected exception the engine caught: a labsim bug
that the wire answered with a transient reply, World.record_engine_error).

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


@pytest.fixture(autouse=True)
def fail_on_engine_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if any lab world created during it recorded an engine error."""
    from labsim.engine import world as world_module

    created: list[Any] = []
    original = world_module.World.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    world_module.World.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        world_module.World.__init__ = original  # type: ignore[method-assign]
    if request.node.get_closest_marker("engine_errors_expected"):
        return
    errors = [error for world in created for error in world.engine_errors]
    if errors:
        pytest.fail(
            "the lab recorded engine errors (labsim bugs):\n"
            + "\n".join(f"{e.server} in {e.where}: {e.error}\n{e.traceback}" for e in errors)
        )
