"""Helpers of the web console's tests that are not fixtures (conftest modules cannot be
imported by name: every test folder has one)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def screenshot_folder() -> Path:
    """Where screenshots of the views are saved: ``$LABSIM_SCREENSHOTS``, default
    ``tests/web/screenshots/`` (git-ignored), for CI to keep and people to look at."""
    folder = Path(
        os.environ.get("LABSIM_SCREENSHOTS") or Path(__file__).resolve().parent / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


WALKTHROUGH = (
    (
        "Adatum",
        "Import-Certificate -FilePath TreyResearch\\root-ca.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root",
    ),
    (
        "Adatum",
        "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net "
        "-TLSReceiveDomainSecureList treyresearch.net",
    ),
    (
        "Adatum",
        'New-SendConnector -Name "To TreyResearch" -Partner -AddressSpaces '
        "treyresearch.net -SourceTransportServers ADATUM-MBX1 -FrontendProxyEnabled $true "
        "-ProtocolLoggingLevel Verbose -DomainSecureEnabled:$true",
    ),
    (
        "Adatum",
        'New-ReceiveConnector -Name "From TreyResearch" -Server ADATUM-CAS1 -Partner '
        "-Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.20.1 -ProtocolLoggingLevel Verbose",
    ),
    (
        "TreyResearch",
        "Import-Certificate -FilePath Adatum\\root-ca.cer "
        "-CertStoreLocation Cert:\\LocalMachine\\Root",
    ),
    (
        "TreyResearch",
        "Set-TransportConfig -TLSSendDomainSecureList adatum.com "
        "-TLSReceiveDomainSecureList adatum.com",
    ),
    (
        "TreyResearch",
        'New-SendConnector -Name "To Adatum" -Partner -AddressSpaces adatum.com '
        "-SourceTransportServers TREY-MBX1 -FrontendProxyEnabled $true -ProtocolLoggingLevel Verbose",
    ),
    (
        "TreyResearch",
        'New-ReceiveConnector -Name "From Adatum" -Server TREY-CAS1 -Partner '
        "-Bindings 0.0.0.0:25 -RemoteIPRanges 127.0.10.1 -ProtocolLoggingLevel Verbose",
    ),
)
"""The walkthrough's configuration lines (scenarios/domain-security-2013.toml), per organization."""


def ensure_partnered(lab: Any) -> None:
    """Run the walkthrough on ``lab`` through its control channel unless it ran already, so a
    test that needs partnered organizations can run alone, in any order."""
    if "To TreyResearch" in lab.sh("Adatum", "Get-SendConnector"):
        return
    for organization, line in WALKTHROUGH:
        output = lab.sh(organization, line)
        assert "error" not in output.lower() or "Thumbprint" in output, output
