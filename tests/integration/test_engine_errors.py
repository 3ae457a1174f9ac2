"""An engine bug is a bug (issue 10 item 3): the wire gets Exchange's transient reply, the lab
records the error with its traceback, and the test or scenario that caused it fails."""

from __future__ import annotations

from typing import Any

import pytest
from integration_helpers import raw_session

from labsim.engine.frontend import FrontendTransport
from labsim.lab import Lab


@pytest.mark.engine_errors_expected
def test_an_exception_in_a_role_answers_451_and_is_recorded(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, tx: Any, recipient: str) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(FrontendTransport, "on_rcpt", broken)
    received = raw_session(
        lab,
        "127.0.10.1",
        25,
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.com>\r\n"
        b"RCPT TO:<ed@adatum.com>\r\nQUIT\r\n",
    )
    assert b"451 4.3.2 Temporary server error. Please try again later\r\n" in received
    (bug,) = lab.engine_errors
    assert (bug.server, bug.error) == ("ADATUM-CAS1", "RuntimeError: boom")
    assert "RcptTo" in bug.where and "raise RuntimeError" in bug.traceback


@pytest.mark.engine_errors_expected
def test_a_live_lab_reports_an_engine_bug_in_one_line_and_keeps_the_traceback(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from labsim.live import LiveLab
    from labsim.model.lab import default_lab

    lab = Lab.start(default_lab(), cert_folder=tmp_path / "certs", log_folder=tmp_path / "logs")
    live = LiveLab(lab, state_folder=tmp_path / "state")
    try:
        try:
            raise KeyError("no such queue")
        except KeyError as err:
            lab.world.record_engine_error("ADATUM-MBX1", "a retry timer", err)
        reply = live.handle({"op": "line", "organization": "Adatum", "text": "Get-Queue"})
    finally:
        live.close()
    line = (
        "labsim: internal error (a labsim bug) on ADATUM-MBX1 in a retry timer: "
        "KeyError: 'no such queue'; the lab goes on"
    )
    assert line in reply["output"]
    assert capsys.readouterr().err.startswith(line)
    saved = (tmp_path / "logs" / "labsim-internal-errors.log").read_text()
    assert "raise KeyError" in saved


def test_a_421_from_the_role_closes_the_connection(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 421 (here the Front End proxy's, relayed from downstream) ends the session: the
    connection used to stay open, silent, until the receive timeouts."""
    from labsim.smtp.reply import Reply

    def busy(self: Any, tx: Any, recipient: str) -> Any:
        return Reply(421, "busy", "4.3.2")

    monkeypatch.setattr(FrontendTransport, "on_rcpt", busy)
    received = raw_session(
        lab,
        "127.0.10.1",
        25,
        b"EHLO client.example.test\r\nMAIL FROM:<a@example.com>\r\n"
        b"RCPT TO:<ed@adatum.com>\r\nRSET\r\n",
    )
    assert received.endswith(b"421 4.3.2 busy\r\n")
