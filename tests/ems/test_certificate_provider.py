"""Get-ChildItem / dir / ls over Cert:\\LocalMachine\\Root and \\My list one server's store in
PowerShell's certificate provider form; other paths get PowerShell's not-found error."""

from __future__ import annotations

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.pki.certificate import thumbprint_of


def rows(output: str) -> list[str]:
    return [line.split()[0] for line in output.splitlines() if line[:40].isalnum()]


@pytest.mark.parametrize("command", ["Get-ChildItem", "dir", "ls"])
def test_the_root_store_lists_the_trusted_roots_of_the_first_server(
    adatum: Shell, host: FakeHost, command: str
) -> None:
    result = adatum.run(f"{command} Cert:\\LocalMachine\\Root")

    assert result.ok, result.error
    lines = result.output.splitlines()
    assert lines[0] == (
        "   PSParentPath: Microsoft.PowerShell.Security\\Certificate::LocalMachine\\Root"
    )
    assert lines[2].split() == ["Thumbprint", "Subject"]
    expected = [thumbprint_of(c) for c in host.certificate_store("ADATUM-CAS1").trusted_roots()]
    assert expected and rows(result.output) == expected


def test_the_shells_machine_is_the_store_listed(host: FakeHost) -> None:
    own_root = host.certificate_store("ADATUM-CAS1").trusted_roots()[0]
    on_mbx = Shell(host, "Adatum", server="ADATUM-MBX1")
    for root in host.certificate_store("ADATUM-MBX1").trusted_roots():
        host.certificate_store("ADATUM-MBX1").remove_root(thumbprint_of(root))

    assert rows(on_mbx.run("dir cert:/localmachine/root/").output) == []
    assert rows(Shell(host, "Adatum").run("dir Cert:\\LocalMachine\\Root").output) == [
        thumbprint_of(own_root)
    ]


def test_the_personal_store_lists_the_servers_certificates(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run("ls Cert:\\LocalMachine\\My")

    assert result.ok, result.error
    assert result.output.splitlines()[0].endswith("Certificate::LocalMachine\\My")
    expected = [c.thumbprint for c in host.certificate_store("ADATUM-CAS1").personal()]
    assert expected and rows(result.output) == expected


def test_format_list_shows_the_certificate_dates_and_names(adatum: Shell, host: FakeHost) -> None:
    root = host.certificate_store("ADATUM-CAS1").trusted_roots()[0]

    result = adatum.run("Get-ChildItem Cert:\\LocalMachine\\Root | FL")

    assert result.ok, result.error
    fields = dict(
        (name.strip(), value.strip())
        for name, sep, value in (line.partition(":") for line in result.output.splitlines()[2:])
        if sep
    )
    assert fields["Subject"] == fields["Issuer"] == "CN=Adatum Root CA, O=Adatum"
    assert fields["Thumbprint"] == thumbprint_of(root)
    assert fields["NotBefore"] and fields["NotAfter"]


def test_another_path_gets_powershells_not_found_error(adatum: Shell) -> None:
    result = adatum.run("dir C:\\Windows")

    assert not result.ok
    assert "Cannot find path 'C:\\Windows' because it does not exist." in str(result.error)
