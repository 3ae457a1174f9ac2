"""Exchange Management Shell line fuzzing: random and mutated cmdlet lines built from the real
cmdlet catalog, run through ``Lab.run_shell`` and the interactive shell (with its ``:``
commands), on a running lab (issue 10, what to build 5).

Every line gives output or one clean error (a CmdletError / LabsimError whose text is one
message, no traceback), never an exception; no engine error and no unhandled Twisted error;
afterwards the lab is idle and still answers the shell.
"""

from __future__ import annotations

from pathlib import Path

from fuzz_helpers import assert_healthy, running_lab
from fuzz_profiles import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from labsim.ems.cmdlets import default_catalog
from labsim.ems.conversions import BOOL, INT, SWITCH, TIMESPAN
from labsim.interactive import InteractiveShell
from labsim.lab import Lab

CATALOG = default_catalog()
SPECS = sorted(CATALOG._by_name.values(), key=lambda spec: spec.name)

WORDS = [
    "ADATUM-CAS1",
    "ADATUM-MBX1",
    "TREY-CAS1",
    '"Default Frontend ADATUM-CAS1"',
    '"ADATUM-CAS1\\Default Frontend ADATUM-CAS1"',
    '"ADATUM-MBX1\\Default ADATUM-MBX1"',
    "adatum.com",
    "treyresearch.net",
    "*.adatum.com",
    "april@adatum.com",
    "127.0.10.1",
    "127.0.40.1",
    "10.0.0.1",
    "0.0.0.0:25",
    "0.0.0.0:717",
    "127.0.10.1:2525",
    "127.0.0.0/8",
    "192.168.0.0/16",
    "00:00:01",
    "1.00:00:00",
    "99999.00:00:00",
    "-00:00:01",
    "10MB",
    "999999999999MB",
    "-1",
    "0",
    "2147483648",
    "99999999999999999999",
    "$true",
    "$false",
    "$null",
    "@()",
    "@{Add='x.test'}",
    "@{Remove='adatum.com'}",
    "a,b,c",
    '"CN=mail.adatum.com, O=Adatum"',
    '"CN=' + "x" * 70 + '"',
    "'single quoted'",
    '"unterminated',
    "'unterminated",
    "http://[crl",
    "Partner",
    "Internal",
    "Internet",
    "Custom",
    "Verbose",
    "None",
    "DomainValidation",
    "*",
    "",
    "$",
    "`",
    "{",
    "}",
    "(",
    ")",
    "|",
    ";",
    "#comment",
    "\x00",
    "\u00e9\u20ac",
]

value = st.one_of(
    st.sampled_from(WORDS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.integers(min_value=-(2**40), max_value=2**40).map(str),
)


@st.composite
def cmdlet_lines(draw: st.DrawFn) -> str:
    """A line of one cmdlet of the catalog with some of its parameters (and wrong ones)."""
    spec = draw(st.sampled_from(SPECS))
    parts = [draw(st.sampled_from([spec.name, spec.name.lower(), spec.name.upper()]))]
    parameters = list(spec.parameters)
    for parameter in draw(st.lists(st.sampled_from(parameters), max_size=4)) if parameters else []:
        parts.append(f"-{parameter.name}")
        if parameter.type is SWITCH:
            if draw(st.booleans()):
                parts[-1] += draw(st.sampled_from([":$true", ":$false", ":1", ":"]))
            continue
        if parameter.type is BOOL:
            parts.append(draw(st.sampled_from(["$true", "$false", "1", "yes"]) | value))
        elif parameter.type is INT:
            parts.append(draw(st.integers(min_value=-(2**64), max_value=2**64).map(str) | value))
        elif parameter.type is TIMESPAN:
            parts.append(draw(st.sampled_from(["00:05:00", "30.00:00:00", "1:2:3:4"]) | value))
        elif parameter.type.choices:
            parts.append(draw(st.sampled_from(parameter.type.choices) | value))
        else:
            parts.append(draw(value))
    if draw(st.booleans()):
        parts.append(draw(value))  # a stray positional value
    if draw(st.integers(0, 4)) == 0:
        parts.append("-" + draw(st.sampled_from(["WhatIf", "Confirm:$false", "NoSuchParameter"])))
    line = " ".join(parts)
    tail = draw(
        st.sampled_from(["", "", " | FL", " | Format-Table", " | fl *", " | Select Name", "; "])
    )
    return line + tail


@st.composite
def mutated(draw: st.DrawFn, lines: st.SearchStrategy[str]) -> str:
    """A line with a few characters deleted, duplicated or replaced."""
    line = draw(lines)
    for _ in range(draw(st.integers(0, 3))):
        if not line:
            break
        at = draw(st.integers(0, len(line) - 1))
        how = draw(st.sampled_from(["delete", "duplicate", "replace"]))
        if how == "delete":
            line = line[:at] + line[at + 1 :]
        elif how == "duplicate":
            line = line[:at] + line[at] + line[at:]
        else:
            line = (
                line[:at] + draw(st.sampled_from(list("\"'`$@{}()|;,-:\t\n\r "))) + line[at + 1 :]
            )
    return line


LAB_COMMANDS = [
    ":help",
    ":advance 90s",
    ":advance 99999999999d",
    ":advance -5m",
    ":advance x",
    ":inbox april@adatum.com",
    ":inbox nobody@nowhere",
    ":headers april@adatum.com 1",
    ":headers april@adatum.com 999999999999",
    ":log ADATUM-CAS1 receive 5",
    ":log NOPE receive x",
    ":explain 3",
    ":org TreyResearch",
    ":org Nowhere",
    ":server ADATUM-MBX1",
    ":server NOPE",
    ":server -",
    ":",
]
shell_lines = st.one_of(
    cmdlet_lines(),
    cmdlet_lines(),
    mutated(cmdlet_lines()),
    st.sampled_from(LAB_COMMANDS),
    st.text(max_size=60),
)


def check_line_result(lab: Lab, line: str) -> None:
    result = lab.run_shell("Adatum", line)
    assert isinstance(result.output, str)
    if result.error is not None:
        text = str(result.error)
        assert text.strip(), f"{line!r}: an empty error"
        assert "Traceback" not in text, f"{line!r}: {text}"


def assert_lab_works(lab: Lab) -> None:
    assert lab.run_until_idle()
    result = lab.run_shell("Adatum", "Get-AcceptedDomain")
    assert result.error is None and "adatum.com" in result.output, result


@fuzz_settings(fast=25, deep=2000)
@given(lines=st.lists(st.one_of(cmdlet_lines(), mutated(cmdlet_lines())), min_size=1, max_size=5))
def test_random_cmdlet_lines(certs: Path, lines: list[str]) -> None:
    with running_lab(certs) as (lab, errors):
        for line in lines:
            check_line_result(lab, line)
        assert_healthy(lab, errors)
        assert_lab_works(lab)


@fuzz_settings(fast=15, deep=1000)
@given(lines=st.lists(shell_lines, min_size=1, max_size=6))
def test_random_interactive_shell_lines(certs: Path, lines: list[str]) -> None:
    with running_lab(certs) as (lab, errors):
        echoed: list[str] = []
        shell = InteractiveShell(lab, echoed.append, "Adatum")
        for line in lines:
            shell.execute(line)
        assert "Traceback" not in "\n".join(echoed)
        assert_healthy(lab, errors)
        assert_lab_works(lab)
