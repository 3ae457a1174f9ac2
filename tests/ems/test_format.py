"""Format-List / Format-Table layout (golden texts) and value display."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from labsim.ems import Shell
from labsim.ems.format import display, format_list, format_table
from labsim.model.enums import ProtocolLoggingLevel
from labsim.model.values import ByteSize


def test_format_list_pads_names_to_the_longest() -> None:
    text = format_list(
        [
            [("Name", "To TreyResearch"), ("DomainSecureEnabled", "True"), ("Comment", "")],
            [("Name", "Two"), ("Port", "25")],
        ]
    )
    assert text == (
        "Name                : To TreyResearch\n"
        "DomainSecureEnabled : True\n"
        "Comment             :\n"
        "\n"
        "Name : Two\n"
        "Port : 25"
    )


def test_format_table_layout() -> None:
    text = format_table(
        ("Identity", "MessageCount", "NextHopDomain"),
        [["ADATUM-MBX1\\3", "1", "treyresearch.net"], ["ADATUM-MBX1\\12", "140", "x"]],
        right_aligned=("MessageCount",),
    )
    assert text == (
        "Identity       MessageCount NextHopDomain\n"
        "--------       ------------ -------------\n"
        "ADATUM-MBX1\\3             1 treyresearch.net\n"
        "ADATUM-MBX1\\12          140 x"
    )


def test_display_values() -> None:
    assert display(True) == "True"
    assert display(None) == ""
    assert display(()) == "{}"
    assert display(("a", "b")) == "{a, b}"
    assert display(tuple(str(i) for i in range(20))).endswith("14, 15...}")
    assert display(ProtocolLoggingLevel.VERBOSE) == "Verbose"
    assert display(ByteSize.mb(35)) == "35 MB (36,700,160 bytes)"
    assert display(timedelta(days=2)) == "2.00:00:00"
    assert display(datetime(2024, 3, 1, 15, 4, 5, tzinfo=UTC)) == "3/1/2024 3:04:05 PM"


def test_fl_with_property_patterns(adatum: Shell) -> None:
    assert adatum.run("New-SendConnector -Name Out -AddressSpaces contoso.com").ok
    result = adatum.run("Get-SendConnector Out | Format-List Name,Tls*")
    assert result.output == (
        "Name               : Out\nTlsDomain          :\nTlsAuthLevel       :\nTlsCertificateName :"
    )


def test_ft_with_properties(adatum: Shell) -> None:
    assert adatum.run("New-SendConnector -Name Out -AddressSpaces contoso.com,fabrikam.com").ok
    result = adatum.run("Get-SendConnector | FT Name,DomainSecureEnabled,AddressSpaces -AutoSize")
    assert result.output == (
        "Name DomainSecureEnabled AddressSpaces\n"
        "---- ------------------- -------------\n"
        "Out  False               {SMTP:contoso.com;1, SMTP:fabrikam.com;1}"
    )


def test_default_views(adatum: Shell) -> None:
    assert adatum.run("Get-AcceptedDomain").output == (
        "Name       DomainName DomainType    Default\n"
        "----       ---------- ----------    -------\n"
        "adatum.com adatum.com Authoritative True"
    )
    config = adatum.run("Get-TransportConfig").output
    assert config.splitlines()[0].startswith("AddressBookPolicyRoutingEnabled")
    assert (
        "GenerateCopyOfDSNFor".ljust(53) + " : {5.4.8, 5.4.6, 5.4.4, 5.2.4, 5.2.0, 5.1.4}" in config
    )


def test_fl_star_is_everything(adatum: Shell) -> None:
    everything = adatum.run("Get-Mailbox april | FL").output
    assert adatum.run("Get-Mailbox april | FL *").output == everything
    assert "PrimarySmtpAddress".ljust(38) + " : april@adatum.com" in everything
