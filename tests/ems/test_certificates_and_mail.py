"""Certificate cmdlets over real stores, and the mail/queue cmdlets over the fake host."""

from __future__ import annotations

from ems_fakes import FakeHost, message_row, retry_queue_row

from labsim.ems import Shell


def test_get_exchange_certificate_table(host: FakeHost) -> None:
    shell = Shell(host, "Adatum", "ADATUM-CAS1")
    result = shell.run("Get-ExchangeCertificate")
    lines = result.output.splitlines()
    assert lines[0].split() == ["Thumbprint", "Services", "Subject"]
    store = host.certificate_store("ADATUM-CAS1")
    default, issued = store.personal()
    assert lines[2].split() == [default.thumbprint, "IP.WS..", "CN=ADATUM-CAS1"]
    assert lines[3].split()[:2] == [issued.thumbprint, "....S.."]


def test_every_server_without_a_machine(adatum: Shell) -> None:
    rows = adatum.run("Get-ExchangeCertificate").output.splitlines()[2:]
    assert len(rows) == 3  # CAS: default + CA-issued; MBX: default


def test_domain_name_and_identity(adatum: Shell, host: FakeHost) -> None:
    issued = host.certificate_store("ADATUM-CAS1").personal()[1]
    by_domain = adatum.run(
        "Get-ExchangeCertificate -Server ADATUM-CAS1 -DomainName adatum.com | FL Thumbprint,CertificateDomains,Identity"
    )
    assert by_domain.output.splitlines() == [
        f"Thumbprint         : {issued.thumbprint}",
        "CertificateDomains : {mail.adatum.com, adatum.com}",
        f"Identity           : ADATUM-CAS1\\{issued.thumbprint}",
    ]
    by_identity = adatum.run(f"Get-ExchangeCertificate ADATUM-CAS1\\{issued.thumbprint.lower()}")
    assert issued.thumbprint in by_identity.output
    missing = adatum.run("Get-ExchangeCertificate -Thumbprint 00FF")
    assert (
        missing.error is not None
        and "The certificate with thumbprint 00FF was not found" in str(missing.error)
    )


def test_enable_exchange_certificate_adds_services(host: FakeHost) -> None:
    shell = Shell(host, "Adatum", "ADATUM-CAS1")
    issued = host.certificate_store("ADATUM-CAS1").personal()[1]
    result = shell.run(
        f"Enable-ExchangeCertificate -Thumbprint {issued.thumbprint} -Services IIS -Force"
    )
    assert result.ok and result.output == ""
    assert host.certificate_store("ADATUM-CAS1").personal()[1].services == frozenset(
        {"SMTP", "IIS"}
    )


def test_enable_through_the_pipeline(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "Get-ExchangeCertificate -Server ADATUM-MBX1 | Enable-ExchangeCertificate -Services SMTP,POP -Force"
    )
    assert result.ok, result.error
    (default,) = host.certificate_store("ADATUM-MBX1").personal()
    assert {"SMTP", "POP"} <= default.services


def test_enable_bad_service(adatum: Shell) -> None:
    result = adatum.run("Enable-ExchangeCertificate -Thumbprint 00 -Services SMTPX")
    assert result.error is not None
    assert "parameter 'Services'" in str(result.error) and "None, IMAP, POP, UM, IIS, SMTP" in str(
        result.error
    )


def test_import_certificate_on_every_server(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        r"Import-Certificate -FilePath TreyResearch/root-ca.cer -CertStoreLocation cert:\localmachine\root\ "
    )
    assert result.ok, result.error
    lines = result.output.splitlines()
    assert (
        lines[0]
        == "   PSParentPath: Microsoft.PowerShell.Security\\Certificate::LocalMachine\\Root"
    )
    assert lines[2].split() == ["Thumbprint", "Subject"]
    trey_root = host.certificate_store("TREY-CAS1").trusted_roots()[0]
    assert host.certificate_store("ADATUM-CAS1").is_trusted_root(trey_root)
    assert host.certificate_store("ADATUM-MBX1").is_trusted_root(trey_root)


def test_import_certificate_errors(adatum: Shell) -> None:
    other = adatum.run(
        r"Import-Certificate -FilePath TreyResearch\root-ca.cer -CertStoreLocation Cert:\LocalMachine\My"
    )
    assert other.error is not None and "imports only into Cert:\\LocalMachine\\Root" in str(
        other.error
    )
    missing = adatum.run(
        r"Import-Certificate -FilePath Nope\root-ca.cer -CertStoreLocation Cert:\LocalMachine\Root"
    )
    assert missing.error is not None
    assert "Nope\\root-ca.cer" in str(missing.error) and "-FilePath" in str(missing.error)


def test_send_mail_message(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        'Send-MailMessage -From april@adatum.com -To "Ben <ben@treyresearch.net>",terry@treyresearch.net '
        '-Subject "Hello Trey" -Body hi -SmtpServer adatum-mbx1.adatum.com'
    )
    assert result.ok and result.output == ""
    (sent,) = host.submitted
    assert sent.to == ("ben@treyresearch.net", "terry@treyresearch.net")
    assert (sent.subject, sent.body, sent.smtp_server) == (
        "Hello Trey",
        "hi",
        "adatum-mbx1.adatum.com",
    )


def test_send_mail_message_needs_to(adatum: Shell) -> None:
    result = adatum.run("Send-MailMessage -From april@adatum.com -Subject x")
    assert result.error is not None and "missing mandatory parameters: To." in str(result.error)
    bad = adatum.run("Send-MailMessage -From april@adatum.com -To ben -Subject x")
    assert bad.error is not None and "not in the form required for an e-mail address" in str(
        bad.error
    )


def test_queues_messages_and_retry(adatum: Shell, host: FakeHost) -> None:
    host.queue_rows.append(retry_queue_row())
    host.message_rows.append(message_row())
    queues = adatum.run("Get-Queue")
    assert queues.output.splitlines() == [
        "Identity      DeliveryType         Status MessageCount Velocity RiskLevel OutboundIPPool NextHopDomain",
        "--------      ------------         ------ ------------ -------- --------- -------------- -------------",
        "ADATUM-MBX1\\3 DnsConnectorDelivery Retry             1        0 Normal                 0 treyresearch.net",
    ]
    detail = adatum.run("Get-Queue ADATUM-MBX1\\3 | FL LastError,TlsDomain").output
    assert "LED=454 4.7.5 Certificate validation failure" in detail
    messages = adatum.run("Get-Message -Queue ADATUM-MBX1\\3").output.splitlines()
    assert messages[0].split() == ["Identity", "FromAddress", "Status", "Queue", "Subject"]
    assert messages[2].endswith("Hello Trey")
    assert adatum.run("Get-Queue | Retry-Queue").ok
    assert host.retried == ["ADATUM-MBX1\\3"]
    unknown = adatum.run("Retry-Queue -Identity ADATUM-MBX1\\99")
    assert unknown.error is not None and "couldn't be found" in str(unknown.error)
