"""-WhatIf on the Set-/New-/Remove-/Enable- cmdlets: PowerShell's "What if:" line, and nothing
changes; cmdlets that change nothing (Get-*) and the lab actions don't take it (issue 11 item 10)."""

from __future__ import annotations

from ems_fakes import FakeHost

from labsim.ems import Shell

NEW_TREY = "New-SendConnector -Name Trey -AddressSpaces treyresearch.net -Usage Partner"


def test_new_with_what_if_creates_nothing(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(NEW_TREY + " -WhatIf")
    assert result.ok, result.error
    assert (
        result.output == 'What if: Performing the operation "New-SendConnector" on target "Trey".'
    )
    assert host.organization("Adatum").send_connectors == ()


def test_set_and_remove_with_what_if_change_nothing(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(NEW_TREY).ok
    before = host.organization("Adatum")
    result = adatum.run(
        "Get-SendConnector | Set-SendConnector -Port 26 -WhatIf\n"
        "Remove-SendConnector Trey -WhatIf\n"
        "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net -wi"
    )
    assert result.ok, result.error
    assert result.output.split("\n\n") == [
        'What if: Performing the operation "Set-SendConnector" on target "Trey".',
        'What if: Performing the operation "Remove-SendConnector" on target "Trey".',
        'What if: Performing the operation "Set-TransportConfig" on target "Adatum".',
    ]
    assert host.organization("Adatum") == before


def test_what_if_false_runs_the_cmdlet(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(NEW_TREY + " -WhatIf:$false").ok
    assert len(host.organization("Adatum").send_connectors) == 1


def test_cmdlets_that_only_read_do_not_take_what_if(adatum: Shell) -> None:
    for line, cmdlet in (
        ("Get-SendConnector -WhatIf", "Get-SendConnector"),
        ("Stop-LabServer ADATUM-CAS1 -WhatIf", "Stop-LabServer"),
    ):
        result = adatum.run(line)
        assert str(result.error) == (
            f"{cmdlet}: A parameter cannot be found that matches parameter name 'WhatIf'."
        )
