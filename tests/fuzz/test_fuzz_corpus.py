"""The committed corpus of issue 10's hostile inputs, replayed as regression tests.

The cases live as data in ``tests/fuzz/corpus/*.toml`` (see its README): SMTP sessions into
the lab, hostile servers the lab sends to, shell lines, and scenario and lab files. A case with
``xfail`` reproduces a bug another item of issue 10 fixes; it runs as a strict xfail.
"""

from __future__ import annotations

import re
import tomllib
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fuzz_helpers import (
    CLOSE,
    HOSTILE_ADDRESS,
    JUNK,
    LONG_LINE,
    SILENCE,
    TLS,
    TLS_GARBAGE,
    TREY_CAS,
    HostileScript,
    WireClient,
    assert_healthy,
    assert_still_delivers,
    bare_id,
    hostile_server,
    hostile_tls_options,
    message_whereabouts,
    running_lab,
)

from labsim.cli import cli
from labsim.interactive import InteractiveShell

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]


def cases(name: str) -> list[Any]:
    """The cases of one corpus file as pytest params (strict xfail where the case says so)."""
    document = tomllib.loads((CORPUS / name).read_text(encoding="utf-8"))
    params = []
    for case in document["case"]:
        marks = []
        if "xfail" in case:
            marks.append(pytest.mark.xfail(strict=True, reason=case["xfail"]))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


def wire(text: str) -> bytes:
    """A corpus string as bytes on the wire (TOML strings are text; \\u0000-\\u00ff are bytes)."""
    return text.encode("latin-1")


# --- SMTP into the lab -------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("smtp_inbound.toml"))
def test_inbound_session(certs: Path, case: dict[str, Any]) -> None:
    with running_lab(certs) as (lab, errors):
        host = case.get("host", TREY_CAS)
        port = lab.world.network.real_port(case.get("port", 25))
        kwargs = {"source": case["source"]} if "source" in case else {}
        client = WireClient(lab, host, port, **kwargs)
        try:
            assert client.wait_for(lambda: client.reply_count() >= 1)
            for step in case["script"]:
                if "send" in step:
                    client.send(wire(step["send"]) * step.get("repeat", 1))
                elif step.get("starttls"):
                    client.settle(lambda: b"220 2.0.0 SMTP server ready\r\n" in client.received)
                    assert client.start_tls(), client.transcript()
                elif step.get("starttls_garbage"):
                    client.settle(lambda: b"220 2.0.0 SMTP server ready\r\n" in client.received)
                    client.send_raw(b"\x16\x03\x01\x02\x00" + b"not a ClientHello\r\n" * 4)
            end = case["end"]
            if end == "idle":
                # The client stays, silent; a shell line in a scenario-driven lab must not wait.
                client.settle()
                result = lab.run_shell("TreyResearch", "Get-AcceptedDomain")
                assert result.error is None
            elif end == "quit":
                client.send(b"QUIT\r\n")
                assert client.wait_for(lambda: client.peer_closed), client.transcript()
            elif end == "half-close":
                client.half_close()
                assert client.wait_for(lambda: client.peer_closed), client.transcript()
        finally:
            if case["end"] == "reset":
                client.abort()
            else:
                client.close()
        assert lab.run_until_idle()
        assert_healthy(lab, errors)
        said = bytes(client.received)
        if "replies" in case:
            assert client.reply_count() == case["replies"], client.transcript()
        for text in case.get("contains", []):
            assert wire(text) in said, client.transcript()
        for text in case.get("absent", []):
            assert wire(text) not in said, client.transcript()
        accepted = {
            bare_id(m.decode("latin-1")) for m in re.findall(rb"250 2\.6\.0 <([^>]*)>", said)
        }
        assert accepted <= message_whereabouts(lab)
        delivered = lab.world.mailboxes.all()
        for text in case.get("delivered_lacks", []):
            for message in delivered:
                assert wire(text) not in message.content, message.content[:2000]
        if case.get("domain_secured") is False:
            # Refused or delivered without the check mark: never domain-secured.
            assert not any(m.domain_secured for m in delivered)
        if case.get("subject_as_email_parses"):
            assert delivered
            for message in delivered:
                parsed = BytesHeaderParser(policy=default_policy).parsebytes(message.content)
                assert message.subject == str(parsed["subject"])
        assert_still_delivers(lab)


# --- the lab against a hostile server ----------------------------------------------------------

ACTIONS = {CLOSE, SILENCE, TLS, TLS_GARBAGE, LONG_LINE}


def answer(text: str) -> bytes | str:
    """A corpus answer: an action name, ``junk:N``, or bytes to write."""
    return text if text in ACTIONS or text.startswith(JUNK) else wire(text)


@pytest.mark.parametrize("case", cases("smtp_outbound.toml"))
def test_hostile_server(certs: Path, case: dict[str, Any]) -> None:
    script = HostileScript(
        banner=answer(case["banner"]), answers=[answer(a) for a in case.get("answers", [])]
    )
    with running_lab(certs) as (lab, errors):
        proxy = "$true" if case["proxy"] else "$false"
        result = lab.run_shell(
            "Adatum",
            'New-SendConnector -Name "To Evil" -Usage Internet -AddressSpaces evil.example.test '
            f"-DNSRoutingEnabled $false -SmartHosts {HOSTILE_ADDRESS} -FrontendProxyEnabled {proxy}",
        )
        assert result.error is None, result.error
        port = hostile_server(lab, script, hostile_tls_options(lab))
        try:
            message_id = bare_id(
                lab.send(mail_from="april@adatum.com", to=["eve@evil.example.test"], subject="x")
            )
            assert lab.world.activity.idle
            assert_healthy(lab, errors)
            assert message_id in message_whereabouts(lab)
            lab.advance(3600)
            assert message_id not in {bare_id(m.message_id) for m in lab.messages("Adatum")}, [
                q for q in lab.queues("Adatum")
            ]
            assert message_id in message_whereabouts(lab)
            assert_still_delivers(lab)
            assert_healthy(lab, errors)
        finally:
            port.stopListening()


# --- shell lines -------------------------------------------------------------------------------


@pytest.mark.parametrize("case", cases("ems.toml"))
def test_shell_lines(certs: Path, case: dict[str, Any]) -> None:
    with running_lab(certs) as (lab, errors):
        if case.get("interactive"):
            echoed: list[str] = []
            shell = InteractiveShell(lab, echoed.append, case["org"])
            for line in case["lines"]:
                shell.execute(line)
            text = "\n".join(echoed)
            assert "Traceback" not in text
            for expected in case.get("echo_contains", []):
                assert expected in text, text
        else:
            results = [lab.run_shell(case["org"], line) for line in case["lines"]]
            for index in case.get("no_error", []):
                assert results[index].error is None, (case["lines"][index], results[index].error)
            for index, expected in case.get("error", []):
                error = results[index].error
                assert error is not None, case["lines"][index]
                assert expected in str(error) and "Traceback" not in str(error), str(error)
        assert lab.run_until_idle()
        assert_healthy(lab, errors)
        assert lab.run_shell(case["org"], "Get-AcceptedDomain").error is None
        assert_still_delivers(lab)


# --- scenario and lab files through the CLI ----------------------------------------------------


@pytest.mark.parametrize("case", cases("files.toml"))
def test_files(tmp_path: Path, case: dict[str, Any]) -> None:
    if "lab_patch" in case:
        text = (ROOT / "labs" / "partners.toml").read_text()
        for old, new in case["lab_patch"]:
            assert old in text, old
            text = text.replace(old, new, 1)
        (tmp_path / "lab.toml").write_text(text)
    if "nest" in case:
        scenario = "x = " + "[" * case["nest"] + "]" * case["nest"] + "\n"
    else:
        scenario = case["scenario"]
    path = tmp_path / "scenario.toml"
    path.write_text(scenario)
    target = case.get("path", str(path))
    options = case.get("args", ["--certs", str(tmp_path / "certs")])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)  # `labsim run ""` must not reach the project's own files
        result = CliRunner().invoke(cli, ["run", target, *options], catch_exceptions=True)
    output = result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"exception: {result.exception!r}\n{output}"
    assert "Traceback" not in output, output
    assert result.exit_code == case["exit"], output
    if case["exit"] == 2:
        assert len([line for line in output.splitlines() if line.strip()]) == 1, output
