"""New-/Remove-ExchangeCertificate over the fake host, and Suspend-/Resume-Queue."""

from __future__ import annotations

from datetime import UTC, datetime

from ems_fakes import FakeHost, retry_queue_row

from labsim.ems import Shell
from labsim.model.enums import QueueStatus

# -- New-ExchangeCertificate -------------------------------------------------------------------


def test_new_exchange_certificate_is_self_signed(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "New-ExchangeCertificate -Server ADATUM-MBX1 -DomainName mail.adatum.com,adatum.com "
        "-Services SMTP -FriendlyName 'Adatum SMTP'"
    )
    assert result.ok, result.error
    (call,) = host.issued
    assert (call.issuer, call.subject_name, call.domain_names, call.services, call.eku) == (
        "self",
        "CN=mail.adatum.com",
        ("mail.adatum.com", "adatum.com"),
        ("SMTP",),
        ("serverAuth",),
    )
    assert call.not_before_days == 0
    assert call.valid_days == 1826  # 3/1/2024 → 3/1/2029: five years and one leap day (2028)
    new = host.certificate_store("ADATUM-MBX1").personal()[-1]
    assert new.is_self_signed and new.friendly_name == "Adatum SMTP"
    assert new.not_after.replace(hour=0, minute=0) == datetime(2029, 3, 1, tzinfo=UTC)
    assert result.output.splitlines()[2].split() == [
        new.thumbprint,
        "....S..",
        "CN=mail.adatum.com",
    ]


def test_new_exchange_certificate_defaults(host: FakeHost) -> None:
    shell = Shell(host, "Adatum", "ADATUM-CAS1")
    result = shell.run("New-ExchangeCertificate -Force\nGet-ExchangeCertificate | FL FriendlyName")
    assert result.ok, result.error
    (call,) = host.issued
    assert (call.server, call.subject_name, call.domain_names, call.services) == (
        "ADATUM-CAS1",
        "CN=ADATUM-CAS1",
        ("ADATUM-CAS1", "mail.adatum.com"),
        ("IMAP", "POP", "SMTP"),
    )
    assert "FriendlyName : Microsoft Exchange" in result.output


def test_new_exchange_certificate_include_switches(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "New-ExchangeCertificate -Server ADATUM-MBX1 -SubjectName 'CN=mbx, O=Adatum' "
        "-IncludeServerFQDN -IncludeAcceptedDomains -IncludeAutoDiscover"
    )
    assert result.ok, result.error
    (call,) = host.issued
    assert call.subject_name == "CN=mbx, O=Adatum"
    assert call.domain_names == ("adatum-mbx1.adatum.com", "adatum.com", "autodiscover.adatum.com")
    assert call.services == ("SMTP",)


def test_new_exchange_certificate_errors(adatum: Shell, host: FakeHost) -> None:
    no_server = adatum.run("New-ExchangeCertificate -DomainName mail.adatum.com")
    assert no_server.error is not None
    assert str(no_server.error) == (
        "New-ExchangeCertificate: New-ExchangeCertificate creates the certificate on one server "
        "and this shell has no machine: give -Server (the servers of Adatum are ADATUM-CAS1, "
        "ADATUM-MBX1)."
    )
    partner = adatum.run("New-ExchangeCertificate -Server TREY-MBX1")
    assert partner.error is not None
    assert "The servers of Adatum are ADATUM-CAS1, ADATUM-MBX1." in str(partner.error)
    domain = adatum.run("New-ExchangeCertificate -Server ADATUM-MBX1 -DomainName mail_adatum,'a b'")
    assert domain.error is not None
    assert str(domain.error).startswith(
        "New-ExchangeCertificate: Cannot process argument transformation on parameter 'DomainName'."
    )
    assert "'a b' isn't a valid domain name for a certificate" in str(domain.error)
    key = adatum.run("New-ExchangeCertificate -Server ADATUM-MBX1 -KeySize 512")
    assert key.error is not None
    assert 'does not belong to the set "1024,2048,4096"' in str(key.error)
    edit = adatum.run("New-ExchangeCertificate -Server ADATUM-MBX1 -DomainName @{Add='a.com'}")
    assert edit.error is not None and "takes a list, not @{Add=...; Remove=...}" in str(edit.error)
    name = adatum.run("New-ExchangeCertificate -Server ADATUM-MBX1 -FriendlyName ''")
    assert name.error is not None and "-FriendlyName" in str(name.error)
    assert host.issued == []


# -- Remove-ExchangeCertificate ----------------------------------------------------------------


def test_remove_exchange_certificate(adatum: Shell, host: FakeHost) -> None:
    issued = host.certificate_store("ADATUM-CAS1").personal()[1]
    result = adatum.run(
        f"Remove-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {issued.thumbprint.lower()}"
    )
    assert result.ok and result.output == ""
    assert host.certificate_store("ADATUM-CAS1").find(issued.thumbprint) is None
    again = adatum.run(f"Remove-ExchangeCertificate ADATUM-CAS1\\{issued.thumbprint}")
    assert again.error is not None
    assert f"The certificate with thumbprint {issued.thumbprint} was not found" in str(again.error)
    assert again.error.category == "ManagementObjectNotFoundException"


def test_remove_through_the_pipeline(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run("Get-ExchangeCertificate -Server ADATUM-MBX1 | Remove-ExchangeCertificate")
    assert result.ok, result.error
    assert host.certificate_store("ADATUM-MBX1").personal() == ()
    assert len(host.certificate_store("ADATUM-CAS1").personal()) == 2


def test_remove_needs_a_thumbprint(adatum: Shell) -> None:
    result = adatum.run("Remove-ExchangeCertificate -Server ADATUM-MBX1")
    assert result.error is not None
    assert "Give the certificate to remove: -Thumbprint" in str(result.error)
    server = adatum.run("Remove-ExchangeCertificate -Server NOPE -Thumbprint 00")
    assert server.error is not None
    assert "The servers of Adatum are ADATUM-CAS1, ADATUM-MBX1." in str(server.error)


# -- Suspend-Queue / Resume-Queue --------------------------------------------------------------


def test_suspend_and_resume(adatum: Shell, host: FakeHost) -> None:
    host.queue_rows.append(retry_queue_row())
    assert adatum.run("Suspend-Queue -Identity ADATUM-MBX1\\3").ok
    assert host.queue_rows[0].status is QueueStatus.SUSPENDED
    shown = adatum.run("Get-Queue ADATUM-MBX1\\3 | FL Status")
    assert shown.output == "Status : Suspended"
    assert adatum.run("Resume-Queue ADATUM-MBX1\\3").ok
    assert host.queue_rows[0].status is QueueStatus.RETRY


def test_suspend_and_resume_through_the_pipeline(adatum: Shell, host: FakeHost) -> None:
    host.queue_rows.append(retry_queue_row())
    assert adatum.run("Get-Queue | Suspend-Queue").ok
    assert host.queue_rows[0].status is QueueStatus.SUSPENDED
    assert adatum.run("Get-Queue | Resume-Queue").ok
    assert host.queue_rows[0].status is QueueStatus.RETRY


def test_suspend_unknown_queue_and_missing_identity(adatum: Shell) -> None:
    unknown = adatum.run("Suspend-Queue ADATUM-MBX1\\99")
    assert unknown.error is not None
    assert str(unknown.error) == "Suspend-Queue: The queue 'ADATUM-MBX1\\99' couldn't be found."
    missing = adatum.run("Resume-Queue")
    assert missing.error is not None
    assert str(missing.error) == (
        "Resume-Queue: Cannot process command because of one or more missing mandatory "
        "parameters: Identity."
    )
