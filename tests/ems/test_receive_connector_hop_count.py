"""MaxHopCount and MaxLocalHopCount of a receive connector: Exchange's defaults (60 and 5, as
Get-ReceiveConnector shows them on every default connector), settable with Set-/New-, shown by
Get-/Format-List, refused outside Exchange's ranges (1-500 and 0-50)."""

from __future__ import annotations

import pytest

from labsim.ems import Shell

DEFAULT = '"ADATUM-MBX1\\Default ADATUM-MBX1"'


def test_defaults_shown_by_format_list(adatum: Shell) -> None:
    result = adatum.run(
        f"Get-ReceiveConnector {DEFAULT} | Format-List MaxHopCount,MaxLocalHopCount"
    )
    assert result.output == "MaxHopCount      : 60\nMaxLocalHopCount : 5"


def test_set_and_get(adatum: Shell) -> None:
    assert adatum.run(f"Set-ReceiveConnector {DEFAULT} -MaxHopCount 12 -MaxLocalHopCount 0").ok
    result = adatum.run(f"Get-ReceiveConnector {DEFAULT} | Format-List *HopCount")
    assert result.output == "MaxHopCount      : 12\nMaxLocalHopCount : 0"


def test_new_receive_connector_takes_them(adatum: Shell) -> None:
    assert adatum.run(
        "New-ReceiveConnector -Name Relay -Server ADATUM-CAS1 -Custom -Bindings 0.0.0.0:2526 "
        "-RemoteIPRanges 127.0.30.1 -MaxHopCount 30"
    ).ok
    result = adatum.run("Get-ReceiveConnector ADATUM-CAS1\\Relay | FL MaxHopCount,MaxLocalHopCount")
    assert result.output == "MaxHopCount      : 30\nMaxLocalHopCount : 5"


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("MaxHopCount", "0", "The value of -MaxHopCount must be between 1 and 500; it was 0."),
        ("MaxHopCount", "501", "The value of -MaxHopCount must be between 1 and 500; it was 501."),
        (
            "MaxLocalHopCount",
            "51",
            "The value of -MaxLocalHopCount must be between 0 and 50; it was 51.",
        ),
        (
            "MaxLocalHopCount",
            "-1",
            "The value of -MaxLocalHopCount must be between 0 and 50; it was -1.",
        ),
    ],
)
def test_out_of_range_is_refused(adatum: Shell, parameter: str, value: str, message: str) -> None:
    result = adatum.run(f"Set-ReceiveConnector {DEFAULT} -{parameter} {value}")
    assert result.error is not None
    assert message in str(result.error)
    assert "60" in adatum.run(f"Get-ReceiveConnector {DEFAULT} | FL MaxHopCount").output
