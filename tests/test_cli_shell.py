"""``labsim shell``: the interactive EMS over a real lab, driven through piped input."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from labsim.cli import cli


def run_shell(tmp_path: Path, text: str, *args: str) -> str:
    # The default offset is automatic: a free one, clear of the ephemeral port range.
    result = CliRunner().invoke(
        cli,
        ["shell", "--certs", str(tmp_path / "certs"), *args],
        input=text,
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_cmdlets_run_against_the_lab_and_mail_travels(tmp_path: Path) -> None:
    out = run_shell(
        tmp_path,
        "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net\n"
        "Get-TransportConfig | FL TLSSendDomainSecureList\n"
        "Send-MailMessage -From april@adatum.com -To ed@adatum.com -Subject Lunch\n"
        ":inbox ed@adatum.com\n"
        ":org TreyResearch\n"
        "Get-TransportConfig | FL TLSSendDomainSecureList\n",
    )
    assert "[PS] Adatum> Set-TransportConfig -TLSSendDomainSecureList treyresearch.net" in out
    assert "TLSSendDomainSecureList : {treyresearch.net}" in out
    assert "'Lunch' from april@adatum.com (AuthAs Internal)" in out
    # The other organization's configuration is its own.
    assert "[PS] TreyResearch> Get-TransportConfig" in out
    assert out.rstrip().endswith("[PS] TreyResearch>")
    assert "TLSSendDomainSecureList : {}" in out


def test_errors_are_printed_and_the_session_goes_on(tmp_path: Path) -> None:
    out = run_shell(tmp_path, "Get-Foo\n:server NOPE\n:advance 2x\n:advance 1h\n:quit\nGet-Queue\n")
    assert "The term 'Get-Foo' is not recognized" in out
    assert "no server 'NOPE' in this lab" in out
    assert "'2x' is not a duration" in out
    assert "lab time is now" in out
    # :quit ends the session: the line after it is never run.
    assert "[PS] Adatum> Get-Queue" not in out


def test_a_lab_file_and_a_starting_organization(tmp_path: Path) -> None:
    lab = Path(__file__).resolve().parent.parent / "labs" / "partners.toml"
    out = run_shell(tmp_path, "Get-SendConnector\n", "--lab", str(lab), "--org", "TreyResearch")
    assert "To Adatum" in out


def test_send_mail_message_refuses_a_foreign_smtp_server(tmp_path: Path) -> None:
    out = run_shell(
        tmp_path,
        "Send-MailMessage -From april@adatum.com -To ed@adatum.com -Subject x "
        "-SmtpServer smtp.example.test\n"
        "Send-MailMessage -From april@adatum.com -To ed@adatum.com -Subject y "
        "-SmtpServer mail.adatum.com\n"
        ":inbox ed@adatum.com\n",
    )
    assert "-SmtpServer 'smtp.example.test' is not a server of Adatum" in out
    assert "'y' from april@adatum.com" in out
    assert "'x' from" not in out
