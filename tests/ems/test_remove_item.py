"""Remove-Item over the certificate provider: stop trusting a root (the change an admin makes
when a partner's CA is retired), by path or from Get-ChildItem's rows, on every server
Import-Certificate wrote to; a path that is not there gets PowerShell's not-found error."""

from __future__ import annotations

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.pki.certificate import thumbprint_of


def roots(host: FakeHost, server: str) -> set[str]:
    return {thumbprint_of(c) for c in host.certificate_store(server).trusted_roots()}


@pytest.mark.parametrize("command", ["Remove-Item", "del", "rm"])
def test_a_root_removed_by_path_leaves_every_server(
    adatum: Shell, host: FakeHost, command: str
) -> None:
    target = sorted(roots(host, "ADATUM-CAS1"))[0]
    assert all(target in roots(host, s) for s in ("ADATUM-CAS1", "ADATUM-MBX1"))

    result = adatum.run(f"{command} Cert:\\LocalMachine\\Root\\{target.lower()}")

    assert result.ok, result.error
    assert result.output == ""
    assert target not in roots(host, "ADATUM-CAS1")
    assert target not in roots(host, "ADATUM-MBX1")


def test_rows_piped_from_get_child_item_are_removed(adatum: Shell, host: FakeHost) -> None:
    before = roots(host, "ADATUM-CAS1")
    subject = host.certificate_store("ADATUM-CAS1").trusted_roots()[0].subject.rfc4514_string()
    cn = subject.split("CN=")[1].split(",")[0]

    result = adatum.run(
        f'Get-ChildItem Cert:\\LocalMachine\\Root | ? {{$_.Subject -like "*{cn}*"}} | Remove-Item'
    )

    assert result.ok, result.error
    gone = before - roots(host, "ADATUM-CAS1")
    assert len(gone) == 1
    assert adatum.run("dir Cert:\\LocalMachine\\Root").output.count(gone.pop()) == 0


def test_a_personal_certificate_can_be_removed(adatum: Shell, host: FakeHost) -> None:
    thumbprint = host.certificate_store("ADATUM-CAS1").personal()[0].thumbprint

    result = adatum.run(f"Remove-Item Cert:\\LocalMachine\\My\\{thumbprint}")

    assert result.ok, result.error
    assert host.certificate_store("ADATUM-CAS1").find(thumbprint) is None


@pytest.mark.parametrize(
    "line",
    [
        "Remove-Item Cert:\\LocalMachine\\Root\\0123456789ABCDEF",
        "Remove-Item C:\\Windows\\notepad.exe",
        "Remove-Item Cert:\\LocalMachine\\Root",
    ],
)
def test_a_path_that_is_not_there_gets_powershells_not_found_error(
    adatum: Shell, host: FakeHost, line: str
) -> None:
    before = roots(host, "ADATUM-CAS1")

    result = adatum.run(line)

    assert result.error is not None
    assert "because it does not exist" in str(result.error)
    assert roots(host, "ADATUM-CAS1") == before


def test_without_a_path_the_message_names_both_forms(adatum: Shell) -> None:
    result = adatum.run("Remove-Item")

    assert result.error is not None
    assert "Remove-Item Cert:\\LocalMachine\\Root\\<THUMBPRINT>" in str(result.error)
    assert "pipe Get-ChildItem" in str(result.error)
