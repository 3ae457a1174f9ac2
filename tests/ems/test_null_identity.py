"""``$null`` for -Identity: a variable or a ``( ... )`` pipeline that found nothing. PowerShell
refuses to bind it to a parameter that is mandatory, in every parameter set or in its own
(Suspend-/Resume-/Remove-Message's -Identity beside -Filter, Remove-/Export-ExchangeCertificate's
-Identity beside -Thumbprint)."""

from __future__ import annotations

import pytest
from ems_fakes import FakeHost

from labsim.ems import Shell
from labsim.ems.cmdlets import default_catalog


def _null_error(cmdlet: str, parameter: str = "Identity") -> str:
    return f"{cmdlet}: Cannot bind argument to parameter '{parameter}' because it is null."


def test_every_cmdlet_whose_identity_is_mandatory_refuses_null_named_and_positional(
    host: FakeHost,
) -> None:
    wrong: list[str] = []
    for spec in default_catalog().specs():
        identity = next((p for p in spec.parameters if p.name == "Identity"), None)
        if identity is None or not identity.refuses_null:
            continue
        forms = ["-Identity $null", "-Identity $nothing"]
        if identity.position == 0:
            forms.append("$null")
        for form in forms:
            error = str(Shell(host, "Adatum").run(f"{spec.name} {form}").error)
            if error != _null_error(spec.name):
                wrong.append(f"{spec.name} {form}: {error}")
    assert wrong == []


@pytest.mark.parametrize(
    "text",
    [
        "Suspend-Message -Identity $null",
        "Resume-Message $null",
        "$m = Get-Message | ? {$_.Subject -eq 'none'}; Remove-Message -Identity $m",
        "Remove-ExchangeCertificate -Identity $null",
        "Export-ExchangeCertificate -Identity $null -FileName x.cer",
    ],
)
def test_null_for_an_identity_mandatory_in_its_own_parameter_set_is_refused(
    adatum: Shell, text: str
) -> None:
    cmdlet = text.rsplit("; ", 1)[-1].split()[0]
    assert str(adatum.run(text).error) == _null_error(cmdlet)


@pytest.mark.parametrize(
    "text",
    [
        "Remove-ExchangeCertificate -Thumbprint $null",
        "Export-ExchangeCertificate -Thumbprint $null -FileName x.cer",
        "Export-ExchangeCertificate $null -FileName x.cer",
    ],
)
def test_null_thumbprint_of_the_certificate_cmdlets_is_refused(adatum: Shell, text: str) -> None:
    assert str(adatum.run(text).error) == _null_error(text.split()[0], "Thumbprint")
