"""The control channel's wire format and its one error funnel (labsim.control), without sockets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twisted.logger import Logger

from labsim import control
from labsim.control import ControlServer, decode_request, encode
from labsim.errors import CmdletError


def test_a_request_and_a_reply_are_one_json_line_each() -> None:
    assert encode({"op": "hello"}) == b'{"op":"hello"}\n'
    assert decode_request(b'{"op": "line", "text": "Get-Queue"}') == {
        "op": "line",
        "text": "Get-Queue",
    }


def test_a_refusal_becomes_an_error_reply(tmp_path: Path) -> None:
    def refuse(request: dict[str, Any], client: object) -> dict[str, Any]:
        raise CmdletError("organization 'Nowhere' is not in this lab; use one of Adatum")

    server = ControlServer(None, tmp_path / "c.sock", refuse)
    assert server.answer(b'{"op": "line"}') == {
        "ok": False,
        "error": "organization 'Nowhere' is not in this lab; use one of Adatum",
    }


def test_an_engine_bug_is_recorded_as_a_failure_and_the_client_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(control, "_log", Logger(observer=events.append))

    def buggy(request: dict[str, Any], client: object) -> dict[str, Any]:
        raise KeyError("boom")

    reply = ControlServer(None, tmp_path / "c.sock", buggy).answer(b'{"op": "line"}')
    assert reply["ok"] is False
    assert reply["error"].startswith("internal error (a labsim bug) while answering this line")
    assert "The lab goes on serving." in reply["error"]
    [event] = events
    assert event["log_failure"].check(KeyError)


def test_attach_takes_a_ready_file_whatever_its_name(tmp_path: Path) -> None:
    """labsim up --ready-file PATH may name it anything; --attach PATH used to need .json."""
    import json

    from labsim.errors import UsageError

    ready = tmp_path / "lab.ready"
    ready.write_text(json.dumps({"control": "/run/x/default-1.sock"}), encoding="utf-8")
    assert control.find_control(str(ready), tmp_path) == Path("/run/x/default-1.sock")
    other = tmp_path / "notes.txt"
    other.write_text("hello", encoding="utf-8")
    with pytest.raises(UsageError, match="not a labsim ready file"):
        control.find_control(str(other), tmp_path)
    # A socket path (not a regular file) is taken as the control channel itself.
    assert control.find_control(str(tmp_path / "lab.sock"), tmp_path) == tmp_path / "lab.sock"
