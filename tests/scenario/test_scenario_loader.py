"""Loading scenario files: the contract's full example, and one exact message per mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from labsim.errors import ScenarioError
from labsim.scenario.loader import discover, load_scenario
from labsim.scenario.model import (
    AdvanceStep,
    EmsStep,
    ExpectDelivered,
    ExpectError,
    ExpectLog,
    ExpectNdr,
    ExpectNotDelivered,
    ExpectOutput,
    ExpectQueued,
    SendStep,
    format_duration,
    parse_duration,
)

Write = Callable[..., Path]

CONTRACT_EXAMPLE = r"""
title = "Domain Security between Adatum and TreyResearch"
lab = "default"              # the built-in lab

[[step]]
org = "Adatum"
server = "ADATUM-CAS1"
ems = '''
Import-Certificate -FilePath TreyResearch\root-ca.cer -CertStoreLocation Cert:\LocalMachine\Root
Set-TransportConfig -TLSSendDomainSecureList treyresearch.net -TLSReceiveDomainSecureList treyresearch.net
'''

[[step]]
expect.output = "treyresearch.net"

[[step]]
expect.error = "A parameter cannot be found"

[[step]]
send = { from = "april@adatum.com", to = ["ben@treyresearch.net"], subject = "Hello Trey", body = "optional" }

[[step]]
advance = "2d"

[[step]]
expect.delivered = { to = "ben@treyresearch.net", subject = "Hello Trey", domain_secured = true }

[[step]]
expect.not_delivered = { to = "ben@treyresearch.net", subject = "Hello Trey" }

[[step]]
expect.queued = { org = "Adatum", next_hop = "treyresearch.net", status = "Retry", last_error = "454 4.7.5" }

[[step]]
expect.ndr = { to = "april@adatum.com", subject = "Hello Trey", status = "4.4.7" }

[[step]]
expect.log = { org = "TreyResearch", server = "TREY-CAS1", log = "receive", contains = "Certificate thumbprint" }
"""


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


def test_contract_example_loads_into_records(write_toml: Write) -> None:
    scenario = load_scenario(write_toml(CONTRACT_EXAMPLE))
    assert scenario.title == "Domain Security between Adatum and TreyResearch"
    assert scenario.lab == "default"
    assert scenario.definition.name == "default"
    steps = scenario.steps
    assert isinstance(steps[0], EmsStep)
    assert (steps[0].number, steps[0].org, steps[0].server) == (1, "Adatum", "ADATUM-CAS1")
    assert steps[0].lines[0].startswith(r"Import-Certificate -FilePath TreyResearch\root-ca.cer")
    assert steps[1] == ExpectOutput(number=2, text="treyresearch.net")
    assert steps[2] == ExpectError(number=3, text="A parameter cannot be found")
    assert steps[3] == SendStep(
        number=4,
        from_="april@adatum.com",
        to=("ben@treyresearch.net",),
        subject="Hello Trey",
        body="optional",
    )
    assert steps[4] == AdvanceStep(number=5, seconds=2 * 86400, text="2d")
    assert steps[5] == ExpectDelivered(
        number=6, to="ben@treyresearch.net", subject="Hello Trey", domain_secured=True
    )
    assert steps[6] == ExpectNotDelivered(number=7, to="ben@treyresearch.net", subject="Hello Trey")
    assert steps[7] == ExpectQueued(
        number=8, org="Adatum", next_hop="treyresearch.net", status="Retry", last_error="454 4.7.5"
    )
    assert steps[8] == ExpectNdr(
        number=9, to="april@adatum.com", subject="Hello Trey", status="4.4.7"
    )
    assert steps[9] == ExpectLog(
        number=10,
        org="TreyResearch",
        server="TREY-CAS1",
        log="receive",
        contains="Certificate thumbprint",
    )
    assert [s.label for s in steps[:2]] == ["step 1 (ems)", "step 2 (expect.output)"]


def test_optional_keys_of_delivered_and_send(write_toml: Write) -> None:
    path = write_toml(
        """
[[step]]
send = { from = "april@adatum.com", to = "ben@treyresearch.net", cc = "terry@treyresearch.net", subject = "s" }
[[step]]
expect.delivered = { to = "ben@treyresearch.net", subject = "s", from = "april@adatum.com", tls = true, auth_as = "Partner", header = { X-MS-Exchange-Organization-AuthDomain = "adatum.com" } }
[[step]]
expect.log = { org = "adatum", log = "tracking", contains = "DELIVER" }
"""
    )
    scenario = load_scenario(path)
    assert scenario.title == "x"  # the file name when there is no title
    send, delivered, log = scenario.steps
    assert isinstance(send, SendStep)
    assert send.to == ("ben@treyresearch.net",) and send.cc == ("terry@treyresearch.net",)
    assert delivered == ExpectDelivered(
        number=2,
        to="ben@treyresearch.net",
        subject="s",
        from_="april@adatum.com",
        tls=True,
        auth_as="Partner",
        header={"X-MS-Exchange-Organization-AuthDomain": "adatum.com"},
    )
    # Organization names are matched case-insensitively and stored with the lab's spelling.
    assert log == ExpectLog(number=3, org="Adatum", server=None, log="tracking", contains="DELIVER")


def test_unknown_key_names_file_step_kind_and_suggests(write_toml: Write) -> None:
    path = write_toml(
        """
[[step]]
org = "Adatum"
ems = "Get-TransportConfig"
[[step]]
advance = "1m"
[[step]]
advance = "1m"
[[step]]
send = { form = "april@adatum.com", to = ["ben@treyresearch.net"], subject = "x" }
"""
    )
    assert error_of(path) == f"{path}: step 4 (send): unknown key 'form'; did you mean 'from'?"


def test_unknown_step_key_and_top_level_key(write_toml: Write) -> None:
    path = write_toml('[[step]]\nsned = { from = "a@b.c" }\n')
    assert error_of(path) == f"{path}: step 1: unknown key 'sned'; did you mean 'send'?"
    path = write_toml('titel = "x"\n[[step]]\nadvance = "1s"\n')
    assert error_of(path) == f"{path}: unknown key 'titel'; did you mean 'title'?"


def test_wrong_type(write_toml: Write) -> None:
    path = write_toml("[[step]]\nadvance = 90\n")
    assert error_of(path) == (
        f"{path}: step 1 (advance): key 'advance' must be a duration string such as "
        '"90s" or "2d", not an integer; e.g. advance = "2d"'
    )
    path = write_toml(
        '[[step]]\nexpect.delivered = { to = "ben@treyresearch.net", subject = "s", '
        'domain_secured = "yes" }\n'
    )
    assert error_of(path) == (
        f"{path}: step 1 (expect.delivered): key 'domain_secured' must be true or false, "
        "not a string; e.g. domain_secured = true"
    )
    path = write_toml('[[step]]\nsend = { from = "april@adatum.com", to = [1], subject = "s" }\n')
    assert error_of(path) == (
        f"{path}: step 1 (send): key 'to' must be an address or an array of addresses, "
        'not an array; e.g. to = "ben@treyresearch.net"'
    )


def test_two_kinds_in_one_expect(write_toml: Write) -> None:
    path = write_toml(
        """
[[step]]
expect.delivered = { to = "ben@treyresearch.net", subject = "s" }
expect.queued = { org = "Adatum", next_hop = "treyresearch.net" }
"""
    )
    assert error_of(path) == (
        f"{path}: step 1 (expect): one expectation per step, found 'expect.delivered' and "
        "'expect.queued'; put each in its own [[step]] table"
    )


def test_unknown_and_missing_expect_kind(write_toml: Write) -> None:
    path = write_toml('[[step]]\nexpect.deliverd = { to = "ben@treyresearch.net" }\n')
    assert error_of(path) == (
        f"{path}: step 1 (expect): unknown key 'expect.deliverd'; did you mean 'expect.delivered'?"
    )
    path = write_toml("[[step]]\nexpect = {}\n")
    assert error_of(path).startswith(f"{path}: step 1 (expect): no expectation; give one kind: ")


def test_missing_required_key(write_toml: Write) -> None:
    path = write_toml('[[step]]\nexpect.ndr = { to = "april@adatum.com" }\n')
    assert error_of(path) == (
        f"{path}: step 1 (expect.ndr): missing key 'subject'; add subject = \"Hello Trey\""
    )


def test_one_step_does_one_thing(write_toml: Write) -> None:
    path = write_toml('[[step]]\nadvance = "1m"\nexpect.output = "x"\n')
    assert error_of(path) == (
        f"{path}: step 1: one step does one thing, found 'advance' and 'expect'; "
        "put each in its own [[step]] table"
    )


@pytest.mark.parametrize("text", ["2 days", "2", "d", "-1h", "1w"])
def test_bad_duration(write_toml: Write, text: str) -> None:
    path = write_toml(f'[[step]]\nadvance = "{text}"\n')
    assert error_of(path) == (
        f"{path}: step 1 (advance): key 'advance': '{text}' is not a duration; write a number "
        'and a unit s, m, h or d, e.g. "90s", "15m", "4h", "2d" or "1d12h"'
    )


@pytest.mark.parametrize("text", ["99999999999999d", "36501d", "36500d1s"])
def test_a_clock_jump_past_the_limit(write_toml: Write, text: str) -> None:
    path = write_toml(f'[[step]]\nadvance = "{text}"\n')
    assert error_of(path) == (
        f"{path}: step 1 (advance): key 'advance': '{text}' is longer than labsim's limit of "
        "36500d (100 years); give a shorter duration"
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("4h", 14400), ("2d", 172800), ("1d12h", 129600), ("1.5h", 5400)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_format_duration_round_trips() -> None:
    assert format_duration(129600) == "1d12h"
    assert format_duration(0) == "0s"
    assert parse_duration(format_duration(90061)) == 90061


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert error_of(path) == f"{path}: no such file; check the path"


def test_toml_syntax_error_names_line_and_column(write_toml: Write) -> None:
    path = write_toml('title = "x"\n[[step]]\nadvance = 2d\n')
    message = error_of(path)
    assert message.startswith(f"{path}: invalid TOML: ")
    assert "(at line 3, column 12)" in message
    assert message.endswith("; fix the syntax there")


def test_unknown_organization_and_server(write_toml: Write) -> None:
    path = write_toml('[[step]]\norg = "Adatm"\nems = "Get-TransportConfig"\n')
    assert error_of(path) == (
        f"{path}: step 1 (ems): key 'org': no organization 'Adatm' in lab 'default'; "
        "did you mean 'Adatum'?"
    )
    path = write_toml('[[step]]\norg = "Adatum"\nserver = "adatum-cas2"\nems = "Get-Queue"\n')
    assert error_of(path) == (
        f"{path}: step 1 (ems): key 'server': no server 'adatum-cas2' in Adatum; "
        "did you mean 'ADATUM-CAS1'?"
    )


def test_shell_expectation_needs_an_ems_step_before(write_toml: Write) -> None:
    path = write_toml('[[step]]\nexpect.output = "x"\n')
    assert error_of(path) == (
        f"{path}: step 1 (expect.output): no 'ems' step before it; expect.output checks the "
        "most recent ems step, so put an ems step first"
    )


def test_protocol_log_needs_a_server(write_toml: Write) -> None:
    path = write_toml('[[step]]\nexpect.log = { org = "Adatum", log = "send", contains = "x" }\n')
    assert error_of(path) == (
        f"{path}: step 1 (expect.log): missing key 'server'; the send protocol log belongs to "
        'one server: add server = "ADATUM-CAS1"'
    )
    path = write_toml(
        '[[step]]\nexpect.log = { org = "Adatum", server = "ADATUM-CAS1", log = "recieve", '
        'contains = "x" }\n'
    )
    assert error_of(path) == (
        f"{path}: step 1 (expect.log): key 'log': unknown log 'recieve'; did you mean 'receive'?"
    )


def test_missing_lab_file_names_the_key_and_the_path(write_toml: Write) -> None:
    path = write_toml('lab = "labs/mine.toml"\n[[step]]\nadvance = "1s"\n')
    expected = path.parent / "labs" / "mine.toml"
    assert error_of(path) == (
        f"{path}: key 'lab': no lab file '{expected}' (relative to this scenario file); check "
        'the path, or write lab = "default" for the built-in lab'
    )


def test_steps_must_be_an_array_of_tables(write_toml: Write) -> None:
    path = write_toml('[step]\nadvance = "1s"\n')
    assert error_of(path) == (
        f"{path}: key 'step' must be an array of tables, not a table; "
        "write [[step]] above each step"
    )
    path = write_toml('title = "x"\n')
    assert error_of(path) == f"{path}: no steps; add at least one [[step]] table"


def test_not_an_address(write_toml: Write) -> None:
    path = write_toml('[[step]]\nexpect.not_delivered = { to = "ben", subject = "s" }\n')
    assert error_of(path) == (
        f"{path}: step 1 (expect.not_delivered): key 'to': 'ben' is not an email address; "
        "write it as user@domain"
    )


def test_discover_sorts_recurses_and_dedupes(tmp_path: Path) -> None:
    for name in ("b.toml", "a.toml", "sub/c.toml", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = discover([tmp_path, tmp_path / "a.toml"])
    assert found == [tmp_path / "a.toml", tmp_path / "b.toml", tmp_path / "sub" / "c.toml"]


def test_discover_missing_path_and_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        discover([tmp_path / "missing"])
    assert str(info.value) == f"{tmp_path / 'missing'}: no such file or directory; check the path"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScenarioError, match=r"no \*\.toml scenario files"):
        discover([tmp_path / "empty"])


def test_docs_complete_example_loads(tmp_path: Path) -> None:
    docs = Path(__file__).parents[2] / "docs" / "scenarios.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.title == "Domain Security between Adatum and TreyResearch"
    assert [s.kind for s in scenario.steps][-2:] == ["expect.ndr", "expect.not_delivered"]


def test_expect_ndr_absent(write_toml: Write) -> None:
    path = write_toml(
        '[[step]]\nexpect.ndr = { to = "april@adatum.com", subject = "Hello Trey", '
        'action = "failed", absent = true }\n'
    )
    (step,) = load_scenario(path).steps
    assert step == ExpectNdr(
        number=1, to="april@adatum.com", subject="Hello Trey", action="failed", absent=True
    )
    path = write_toml(
        '[[step]]\nexpect.ndr = { to = "april@adatum.com", subject = "s", absent = 1 }\n'
    )
    assert error_of(path).startswith(
        f"{path}: step 1 (expect.ndr): key 'absent' must be true or false, not an integer"
    )


def test_absent_and_without_header_are_typed(write_toml: Write) -> None:
    path = write_toml(
        '[[step]]\nexpect.log = { org = "Adatum", server = "ADATUM-CAS1", log = "receive", '
        'contains = "x", absent = "yes" }\n'
    )
    assert error_of(path).startswith(
        f"{path}: step 1 (expect.log): key 'absent' must be true or false, not a string"
    )
    path = write_toml(
        '[[step]]\nexpect.delivered = { to = "ben@treyresearch.net", subject = "s", '
        "without_header = 3 }\n"
    )
    assert error_of(path).startswith(
        f"{path}: step 1 (expect.delivered): key 'without_header' must be a header name or an "
        "array of them, not an integer"
    )


def test_expect_output_matches_a_regular_expression(write_toml: Write) -> None:
    path = write_toml(
        '[[step]]\norg = "Adatum"\nems = "Get-TransportConfig"\n'
        "[[step]]\nexpect.output = { matches = 'TLSSendDomainSecureList\\s+: \\{\\}' }\n"
        '[[step]]\nexpect.output = "TLSSendDomainSecureList"\n'
    )
    steps = load_scenario(path).steps
    assert steps[1] == ExpectOutput(number=2, matches=r"TLSSendDomainSecureList\s+: \{\}")
    assert steps[2] == ExpectOutput(number=3, text="TLSSendDomainSecureList")
    assert steps[1].found_in("TLSSendDomainSecureList   : {}")  # type: ignore[union-attr]
    assert not steps[1].found_in("TLSSendDomainSecureList : {x}")  # type: ignore[union-attr]


def test_a_bad_regular_expression_names_the_step_and_the_fix(write_toml: Write) -> None:
    path = write_toml(
        '[[step]]\norg = "Adatum"\nems = "Get-Queue"\n'
        "[[step]]\nexpect.output = { matches = 'LastError : (451 4.4.0' }\n"
    )
    assert error_of(path) == (
        f"{path}: step 2 (expect.output): key 'matches': 'LastError : (451 4.4.0' is not a "
        "Python regular expression (missing ), unterminated subpattern at position 12); "
        "correct it, or escape characters such as ( [ . * + ? with \\ to match them literally"
    )


def test_the_output_table_takes_only_matches(write_toml: Write) -> None:
    ems = '[[step]]\norg = "Adatum"\nems = "Get-Queue"\n'
    path = write_toml(ems + '[[step]]\nexpect.output = { match = "x" }\n')
    assert error_of(path) == (
        f"{path}: step 2 (expect.output): unknown key 'match'; did you mean 'matches'?"
    )
    path = write_toml(ems + "[[step]]\nexpect.output = { matches = 3 }\n")
    assert "key 'matches' must be a string" in error_of(path)
    path = write_toml(ems + "[[step]]\nexpect.output = 3\n")
    assert error_of(path) == (
        f"{path}: step 2 (expect.output): key 'expect.output' must be a string or a table "
        '{ matches = "REGEX" }, e.g. expect.output = "treyresearch.net", not an integer'
    )
    # expect.error stays a substring only.
    path = write_toml(ems + '[[step]]\nexpect.error = { matches = "x" }\n')
    assert error_of(path) == (
        f"{path}: step 2 (expect.error): key 'expect.error' must be a string, e.g. "
        'expect.error = "A parameter cannot be found", not a table'
    )


def test_an_event_log_expectation_needs_no_server(write_toml: Write) -> None:
    path = write_toml(
        """
[[step]]
expect.log = { org = "treyresearch", log = "event", contains = "Error 11015" }
"""
    )
    (log,) = load_scenario(path).steps
    assert log == ExpectLog(
        number=1, org="TreyResearch", server=None, log="event", contains="Error 11015"
    )
