"""labsim matrix and labsim diff: one probe per partner domain and direction over real SMTP and
TLS, classified as an admin would read it; a change script that removes a partner's root shows
exactly that partner's rows getting worse (exit 1); bad input gets one line and exit 2."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from labsim.cli import cli
from labsim.matrix import (
    Outcome,
    Probe,
    ProbeResult,
    _reply_of,
    compare,
    probes,
)
from labsim.model.lab import default_lab

LAB = Path(__file__).with_name("three-partners.toml")
UNTRUST_TREY = (
    "# TreyResearch's old root CA is retired: stop trusting it.\n"
    "Get-ChildItem Cert:\\LocalMachine\\Root | Where-Object "
    '{$_.Subject -like "*TreyResearch*"} | Remove-Item\n'
)


def labsim(tmp_path: Path, *args: object) -> Result:
    return CliRunner().invoke(
        cli, [str(a) for a in args] + ["--certs", str(tmp_path / "certs")], catch_exceptions=False
    )


# --- pure parts ----------------------------------------------------------------------------


def test_probes_cover_every_partner_domain_both_ways_and_say_what_is_meant() -> None:
    orgs = [o.organization for o in default_lab().organizations]

    found = probes(orgs, "adatum")

    assert [(p.domain, p.direction, p.sender, p.recipient) for p in found] == [
        (
            "treyresearch.net",
            "outbound",
            "administrator@adatum.com",
            "administrator@treyresearch.net",
        ),
        (
            "treyresearch.net",
            "inbound",
            "administrator@treyresearch.net",
            "administrator@adatum.com",
        ),
    ]
    # The built-in lab lists no domain in either TLS list: nothing is meant to be secured.
    assert [p.meant for p in found] == [False, False]


def test_the_reply_is_taken_out_of_exchanges_failover_wrapper() -> None:
    last_error = (
        "[{LRT=12/5/2026 12:53:57 AM};{LED=451 4.4.0 Primary target IP address responded with: "
        '"454 4.7.5 Certificate validation failure." Attempted failover to alternate host, but '
        "that did not succeed. Either there are no alternate hosts, or delivery failed to all "
        "alternate hosts. The last endpoint attempted was 127.0.20.1:25};{FQDN=treyresearch.net};"
        "{IP=127.0.20.1}]"
    )
    assert _reply_of(last_error) == "454 4.7.5 Certificate validation failure"
    assert _reply_of("550 5.4.4 ROUTING.NoConnectorForAddressType") == (
        "550 5.4.4 ROUTING.NoConnectorForAddressType"
    )


def _result(domain: str, direction: str, outcome: Outcome, detail: str = "") -> ProbeResult:
    probe = Probe("P", domain, direction, "a@x", "b@y", True)
    return ProbeResult(probe, outcome, detail)


def test_compare_ranks_outcomes_and_lists_only_rows_that_changed() -> None:
    before = [
        _result("a.com", "outbound", Outcome.SECURED),
        _result("a.com", "inbound", Outcome.QUEUED, "454 4.7.5 x"),
        _result("b.com", "outbound", Outcome.DELIVERED, "(AuthAs Anonymous)"),
    ]
    after = [
        _result("a.com", "outbound", Outcome.QUEUED, "454 4.7.5 x"),
        _result("a.com", "inbound", Outcome.SECURED),
        _result("b.com", "outbound", Outcome.DELIVERED, "(AuthAs Anonymous)"),
    ]

    changes = compare(before, after)

    assert [(c.key, c.worse) for c in changes] == [
        ("a.com outbound", True),
        ("a.com inbound", False),
    ]
    assert changes[0].line() == "a.com outbound: ✔ domain secured → queued 454 4.7.5 x"


# --- the commands, over real labs ----------------------------------------------------------


def test_matrix_of_a_configuration_that_holds(tmp_path: Path) -> None:
    junit = tmp_path / "matrix.xml"

    result = labsim(tmp_path, "matrix", LAB, "--junit", junit)

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()[2:6]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("treyresearch.net", "outbound", "secured", "✔"),
        ("treyresearch.net", "inbound", "secured", "✔"),
        ("fabrikam.com", "outbound", "secured", "✔"),
        ("fabrikam.com", "inbound", "secured", "✔"),
    ]
    assert result.output.rstrip().endswith("4 of 4 as meant")
    cases = ET.parse(junit).getroot().findall("testcase")
    assert [c.get("name") for c in cases] == [
        "treyresearch.net outbound",
        "treyresearch.net inbound",
        "fabrikam.com outbound",
        "fabrikam.com inbound",
    ]
    assert not any(c.find("failure") is not None for c in cases)


def test_matrix_fails_a_pair_meant_to_be_secured_and_names_the_rule(tmp_path: Path) -> None:
    change = tmp_path / "untrust.ps1"
    change.write_text(UNTRUST_TREY)

    result = labsim(tmp_path, "matrix", LAB, "--change", change, "--json")

    assert result.exit_code == 1, result.output
    results = {f"{r['domain']} {r['direction']}": r for r in json.loads(result.output)["results"]}
    assert {k: r["outcome"] for k, r in results.items()} == {
        "treyresearch.net outbound": "queued",
        "treyresearch.net inbound": "queued",
        "fabrikam.com outbound": "secured",
        "fabrikam.com inbound": "secured",
    }
    inbound = results["treyresearch.net inbound"]
    assert inbound["detail"] == "454 4.7.5 Certificate validation failure"
    assert inbound["reason"].startswith("ADATUM-CAS1: ")
    assert "client certificate chain status UntrustedRoot" in inbound["reason"]
    assert not inbound["ok"]


def test_diff_with_a_change_that_removes_a_partners_root(tmp_path: Path) -> None:
    change = tmp_path / "untrust.ps1"
    change.write_text(UNTRUST_TREY)

    result = labsim(tmp_path, "diff", LAB, "--change", change)

    assert result.exit_code == 1, result.output
    changed = [line for line in result.output.splitlines() if line.startswith("✘ ")]
    assert [line.split(":")[0] for line in changed] == [
        "✘ treyresearch.net outbound",
        "✘ treyresearch.net inbound",
    ]
    assert all(
        "✔ domain secured → queued 454 4.7.5 Certificate validation failure (" in line
        for line in changed
    )
    assert "UntrustedRoot" in changed[0]
    assert result.output.rstrip().endswith("2 of 4 rows changed, 2 worse")


def test_diff_of_two_identical_configurations_is_no_change(tmp_path: Path) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text(LAB.read_text())

    result = labsim(tmp_path, "diff", LAB, copy)

    assert result.exit_code == 0, result.output
    assert "no change: all 4 rows have the same outcome" in result.output


def test_a_change_that_makes_things_better_exits_0(tmp_path: Path) -> None:
    trust = tmp_path / "trust.ps1"
    trust.write_text(
        "Import-Certificate -FilePath TreyResearch\\root-ca.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root\n"
    )
    # Adatum trusts no partner root at first: its TreyResearch rows are queued.
    untrusting = tmp_path / "untrusting.toml"
    untrusting.write_text(
        LAB.read_text().replace(
            'trusted_roots = ["own", "public", "TreyResearch", "Fabrikam"]',
            'trusted_roots = ["own", "public", "Fabrikam"]',
        )
    )

    result = labsim(tmp_path, "diff", untrusting, "--change", trust)

    assert result.exit_code == 0, result.output
    assert "treyresearch.net outbound: queued 454 4.7.5" in result.output
    assert "→ domain secured" not in result.output  # summary form is the ✔ one
    assert "→ ✔ domain secured" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["diff", LAB], "give the second configuration"),
        (["diff", LAB, LAB, "--change", "x.ps1"], "give the second configuration"),
        (["matrix", LAB, "--org", "Contoso"], "--org Contoso: no organization of that name"),
        (["matrix", LAB, "--change", "missing.ps1"], "--change missing.ps1: cannot read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[object], message: str) -> None:
    result = labsim(tmp_path, *args)

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_change_script_that_fails_is_bad_input(tmp_path: Path) -> None:
    change = tmp_path / "typo.ps1"
    change.write_text("Set-TransportConfig -TLSSendDomainSecureLst contoso.com\n")

    result = labsim(tmp_path, "matrix", LAB, "--change", change)

    assert result.exit_code == 2, result.output
    assert f"--change {change}: on Adatum: " in result.output
    assert "TLSSendDomainSecureLst" in result.output


def _blocks(text: str, kind: str) -> list[str]:
    """The fenced blocks of ``text`` whose language is ``kind`` ("" for plain ones)."""
    found = re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
    return [body for lang, body in found if lang == kind]


def test_the_tutorial_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/before-a-change.md, pasted: its commands give the outputs it shows."""
    doc = (Path(__file__).parents[2] / "docs" / "before-a-change.md").read_text(encoding="utf-8")
    commands = [c.strip() for c in _blocks(doc, "sh")[:2]]
    outputs = _blocks(doc, "")
    (script,) = _blocks(doc, "powershell")
    assert commands == [
        "labsim matrix tests/matrix/three-partners.toml",
        "labsim diff tests/matrix/three-partners.toml --change untrust-trey.ps1",
    ]
    (tmp_path / "tests" / "matrix").mkdir(parents=True)
    (tmp_path / "tests" / "matrix" / "three-partners.toml").write_text(LAB.read_text())
    (tmp_path / "untrust-trey.ps1").write_text(script)
    monkeypatch.chdir(tmp_path)

    for command, shown in zip(commands, outputs, strict=False):
        result = CliRunner().invoke(cli, command.split()[1:], catch_exceptions=False)
        assert result.output == shown, command


def test_import_matrix_change_and_diff_as_docs_import_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13's chain, pasted from docs/import.md: the sample exports imported, their matrix,
    a change script that removes a partner's root, and the diff that shows exactly the pairs
    that lose the check (exit 1)."""
    repo = Path(__file__).parents[2]
    doc = (repo / "docs" / "import.md").read_text(encoding="utf-8")
    section = doc[doc.index("## 5. The partner matrix") : doc.index("## The report")]
    commands = [c.strip() for c in _blocks(section, "sh")]
    shown = _blocks(section, "text")[1:]  # the first block is the synopsis
    (script,) = _blocks(section, "powershell")
    assert commands == [
        "labsim matrix tailspintoys.toml --junit matrix.xml",
        "labsim diff tailspintoys.toml --change remove-fabrikam-root.ps1",
    ]
    monkeypatch.chdir(tmp_path)
    imported = CliRunner().invoke(
        cli,
        ["import", str(repo / "examples" / "tailspintoys"), "--output", "tailspintoys.toml",
         "--as-of", "2026-12-01"],
        catch_exceptions=False,
    )  # fmt: skip
    assert imported.exit_code == 0, imported.output
    (tmp_path / "remove-fabrikam-root.ps1").write_text(script)

    for command, output, status in zip(commands, shown, (0, 1), strict=True):
        result = CliRunner().invoke(cli, command.split()[1:], catch_exceptions=False)
        assert (result.exit_code, result.output) == (status, output), command
    failures = [
        c.get("name") for c in ET.parse(tmp_path / "matrix.xml").getroot().iter("testcase")
        if c.find("failure") is not None
    ]  # fmt: skip
    assert failures == []


def test_outside_organizations_and_domains_without_mailbox_are_listed_not_tried() -> None:
    orgs = [o.organization for o in default_lab().organizations]

    found = probes(orgs, "Adatum", outside=[("Contoso", ("contoso.com",))])

    tail = found[2:]
    assert [(p.domain, p.direction, bool(p.not_tried)) for p in tail] == [
        ("contoso.com", "outbound", True),
        ("contoso.com", "inbound", True),
    ]
    results = [ProbeResult(p, Outcome.NOT_TRIED) for p in tail]
    assert all(r.ok for r in results)
    # Nothing was known before: a row the lab could not try never counts as worse.
    assert not compare(results, [_result("contoso.com", "outbound", Outcome.QUEUED, "x")])[0].worse


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),  # Out-File's default in Windows PowerShell
        lambda text: text.encode("cp1252"),  # a script saved as "ANSI", en dash and all
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    ],
)
def test_a_change_script_in_powershells_encodings(tmp_path: Path, encode: object) -> None:
    change = tmp_path / "untrust.ps1"
    text = UNTRUST_TREY.replace("| Remove-Item", "| Remove-Item –WhatIf:$false")
    change.write_bytes(encode(text))  # type: ignore[operator]

    result = labsim(tmp_path, "diff", LAB, "--change", change)

    assert result.exit_code == 1, result.output
    assert result.output.rstrip().endswith("2 of 4 rows changed, 2 worse")
