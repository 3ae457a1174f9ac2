"""Size limits within Exchange's ranges: a receive connector's MaxMessageSize is 64KB-2GB;
Set-TransportConfig's MaxReceiveSize/MaxSendSize at most 2097151KB or unlimited. Larger values
used to be taken silently (issue 10 item 9)."""

from __future__ import annotations

import pytest

from labsim.ems import Shell

DEFAULT = '"ADATUM-MBX1\\Default ADATUM-MBX1"'


@pytest.mark.parametrize("value", ["999999999999MB", "1KB", "2GB"])
def test_receive_connector_max_message_size_out_of_range(adatum: Shell, value: str) -> None:
    result = adatum.run(f"Set-ReceiveConnector {DEFAULT} -MaxMessageSize {value}")
    assert result.error is not None
    assert "The value of -MaxMessageSize must be between 64KB (65536 bytes) and 2GB" in str(
        result.error
    )
    kept = adatum.run(f"Get-ReceiveConnector {DEFAULT} | FL MaxMessageSize").output
    assert kept == "MaxMessageSize : 35 MB (36,700,160 bytes)"


def test_receive_connector_max_message_size_in_range(adatum: Shell) -> None:
    assert adatum.run(f"Set-ReceiveConnector {DEFAULT} -MaxMessageSize 64KB").ok
    assert adatum.run(f"Set-ReceiveConnector {DEFAULT} -MaxMessageSize 2097151KB").ok


@pytest.mark.parametrize("parameter", ["MaxReceiveSize", "MaxSendSize"])
def test_organization_limits(adatum: Shell, parameter: str) -> None:
    refused = adatum.run(f"Set-TransportConfig -{parameter} 999999999999999999999999MB")
    assert refused.error is not None
    assert f"The value of -{parameter} must be at most 2097151KB" in str(refused.error)
    assert adatum.run(f"Set-TransportConfig -{parameter} 2097151KB").ok
    assert adatum.run(f"Set-TransportConfig -{parameter} unlimited").ok
