"""The prompt loop of ``labsim shell`` over a fake control client (the layer above the channel):
prompts, continued lines, per-shell organization, and a refused line that does not end it."""

from __future__ import annotations

from typing import Any

import pytest

from labsim.control import RequestRefused
from labsim.errors import UsageError
from labsim.shell_client import run_client


class FakeClient:
    """Answers hello; answers each line from a script (a reply dict, or an error text)."""

    def __init__(self, answers: list[dict[str, Any] | str]) -> None:
        self.answers = answers
        self.sent: list[dict[str, Any]] = []

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        if op == "hello":
            return {"ok": True, "lab": "default", "organizations": ["Adatum", "TreyResearch"],
                    "organization": "Adatum"}  # fmt: skip
        self.sent.append({"op": op, **fields})
        answer = self.answers.pop(0)
        if isinstance(answer, str):
            raise RequestRefused(answer)
        return {"ok": True, "quit": False, **answer}


def run(
    lines: list[str], answers: list[dict[str, Any] | str], **kw: Any
) -> tuple[list[str], FakeClient]:
    typed = iter(lines)
    shown: list[str] = []
    client = FakeClient(answers)

    def read(prompt: str) -> str | None:
        shown.append(prompt)
        return next(typed, None)

    run_client(client, read=read, echo=shown.append, **kw)  # type: ignore[arg-type]
    return shown, client


def test_a_refused_line_is_shown_and_the_shell_goes_on() -> None:
    same = {"output": "ok", "organization": "Adatum", "server": None}
    shown, client = run(["Bad-Line", "Get-Queue"], ["labsim bug while answering: boom", same])
    assert "labsim: labsim bug while answering: boom" in shown
    assert [s["text"] for s in client.sent] == ["Bad-Line", "Get-Queue"]
    assert shown[-1] == "[PS] Adatum> "  # the prompt after the last line: still running


def test_continued_lines_go_as_one_statement_and_the_prompt_follows_the_reply() -> None:
    moved = {"output": "", "organization": "TreyResearch", "server": "TREY-CAS1"}
    shown, client = run(["Get-SendConnector |", "`", "FL Name"], [moved, moved])
    assert client.sent[0]["text"] == "Get-SendConnector |"
    assert shown[:3] == ["[PS] Adatum> ", "[PS] TreyResearch/TREY-CAS1> ", ">> "]
    assert client.sent[1]["text"] == "`\nFL Name"


def test_exit_and_quit_end_the_loop() -> None:
    shown, client = run(["exit", "never"], [])
    assert client.sent == []
    quitting = {"output": "", "organization": "Adatum", "server": None, "quit": True}
    _, client = run([":quit", "never"], [quitting])
    assert [s["text"] for s in client.sent] == [":quit"]


def test_an_unknown_starting_organization_is_bad_input() -> None:
    with pytest.raises(UsageError, match="--org Contoso: not an organization of lab 'default'"):
        run([], [], organization="Contoso")
