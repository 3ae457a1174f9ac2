"""Lab actions over the fake host: servers, CRLs, revocation and issuing certificates."""

from __future__ import annotations

from datetime import timedelta

from ems_fakes import NOW, FakeHost, Issued

from labsim.ems import Shell

# -- servers -----------------------------------------------------------------------------------


def test_get_lab_server_lists_the_whole_lab(adatum: Shell) -> None:
    result = adatum.run("Get-LabServer")
    assert result.ok, result.error
    assert result.output.splitlines() == [
        "Name        Organization Role         Fqdn                       Address    Running Ports",
        "----        ------------ ----         ----                       -------    ------- -----",
        "ADATUM-CAS1 Adatum       ClientAccess mail.adatum.com            127.0.10.1 True    {25->10025, 717->10717}",
        "ADATUM-MBX1 Adatum       Mailbox      adatum-mbx1.adatum.com     127.0.10.2 True    {2525->12525}",
        "TREY-CAS1   TreyResearch ClientAccess mail.treyresearch.net      127.0.20.1 True    {25->10025, 717->10717}",
        "TREY-MBX1   TreyResearch Mailbox      trey-mbx1.treyresearch.net 127.0.20.2 True    {2525->12525}",
    ]
    # A stopped server listens on nothing.
    assert adatum.run("Stop-LabServer TREY-MBX1").ok
    assert adatum.run("Get-LabServer TREY-MBX1").output.splitlines()[-1].endswith("False   {}")


def test_stop_and_start_a_partner_server(adatum: Shell, host: FakeHost) -> None:
    stopped = adatum.run("Stop-LabServer -Identity TREY-MBX1")
    assert stopped.ok and stopped.output == ""
    assert host.stopped == {"TREY-MBX1"}
    shown = adatum.run("Get-LabServer trey-mbx1.treyresearch.net | FL Name,Running")
    assert shown.output.splitlines() == ["Name    : TREY-MBX1", "Running : False"]
    again = adatum.run("Stop-LabServer trey-mbx1")
    assert again.ok
    assert (
        again.output == "WARNING: The server 'TREY-MBX1' is already stopped; nothing was changed."
    )
    assert adatum.run("Start-LabServer TREY-MBX1").ok
    assert host.stopped == set()
    started_again = adatum.run("Start-LabServer TREY-MBX1")
    assert started_again.output.startswith("WARNING: The server 'TREY-MBX1' is already running")


def test_server_pipeline(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run("Get-LabServer *MBX1 | Stop-LabServer").ok
    assert host.stopped == {"ADATUM-MBX1", "TREY-MBX1"}
    assert adatum.run("Get-LabServer | Start-LabServer -WarningAction SilentlyContinue").ok
    assert host.stopped == set()


def test_unknown_server_lists_the_lab_servers(adatum: Shell) -> None:
    result = adatum.run("Stop-LabServer CONTOSO-MBX1")
    assert result.error is not None
    assert str(result.error) == (
        "Stop-LabServer: The operation couldn't be performed because object 'CONTOSO-MBX1' "
        "couldn't be found on 'DC1.adatum.com'. The servers of this lab are ADATUM-CAS1, "
        "ADATUM-MBX1, TREY-CAS1, TREY-MBX1."
    )
    assert result.error.category == "ManagementObjectNotFoundException"
    get = adatum.run("Get-LabServer CONTOSO*")
    assert get.ok and get.output == ""
    missing = adatum.run("Start-LabServer")
    assert missing.error is not None
    assert str(missing.error) == (
        "Start-LabServer: Cannot process command because of one or more missing mandatory "
        "parameters: Identity."
    )


# -- CRLs --------------------------------------------------------------------------------------


def test_crl_reachability(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run("Set-LabCrl -Organization treyresearch -Reachable $false").ok
    assert host.unreachable_crls == {"TreyResearch"}
    assert adatum.run("Set-LabCrl Public -Reachable 0").ok
    assert host.unreachable_crls == {"TreyResearch", "Public"}
    result = adatum.run("Get-LabCrl")
    assert result.output.splitlines() == [
        "Organization CertificationAuthority Reachable",
        "------------ ---------------------- ---------",
        "Adatum       Adatum Root CA         True",
        "TreyResearch TreyResearch Root CA   False",
        "Public       Lab Public Root CA     False",
    ]
    one = adatum.run("Get-LabCrl TreyResearch | FL")
    assert one.output.splitlines() == [
        "Organization           : TreyResearch",
        "CertificationAuthority : TreyResearch Root CA",
        "Reachable              : False",
    ]
    again = adatum.run("Set-LabCrl TreyResearch -Reachable $false")
    assert again.output == (
        "WARNING: The CRL of TreyResearch Root CA is already unreachable; nothing was changed."
    )
    assert adatum.run("Set-LabCrl TreyResearch -Reachable $true").ok
    assert host.unreachable_crls == {"Public"}


def test_crl_errors(adatum: Shell) -> None:
    unknown = adatum.run("Set-LabCrl -Organization Contoso -Reachable $false")
    assert unknown.error is not None
    assert str(unknown.error) == (
        "Set-LabCrl: The organization 'Contoso' (-Organization) isn't in this lab. Give one of: "
        "Adatum, TreyResearch, Public."
    )
    bad = adatum.run("Set-LabCrl Adatum -Reachable no")
    assert bad.error is not None
    assert str(bad.error).startswith(
        "Set-LabCrl: Cannot process argument transformation on parameter 'Reachable'. Cannot "
        'convert value "no" to type "System.Boolean".'
    )
    missing = adatum.run("Set-LabCrl Adatum")
    assert missing.error is not None and "missing mandatory parameters: Reachable." in str(
        missing.error
    )
    get = adatum.run("Get-LabCrl Contoso")
    assert get.error is not None and "Give one of: Adatum, TreyResearch, Public." in str(get.error)


# -- revocation --------------------------------------------------------------------------------


def test_revoke_a_partner_certificate(adatum: Shell, host: FakeHost) -> None:
    issued = host.certificate_store("TREY-CAS1").personal()[1]
    result = adatum.run(f"Revoke-LabCertificate -Server TREY-CAS1 -Thumbprint {issued.thumbprint}")
    assert result.ok, result.error
    lines = result.output.splitlines()
    assert lines[0].split() == ["Thumbprint", "Subject", "CertificationAuthority"]
    assert lines[2].startswith(issued.thumbprint)
    assert lines[2].endswith("TreyResearch Root CA")
    assert host.cas["treyresearch"].is_revoked(issued.certificate.serial_number)


def test_revoke_through_the_pipeline_and_without_server(adatum: Shell, host: FakeHost) -> None:
    issued = host.certificate_store("ADATUM-CAS1").personal()[1]
    piped = adatum.run(
        "Get-ExchangeCertificate -Server ADATUM-CAS1 -DomainName adatum.com | "
        "Revoke-LabCertificate | FL Server,CertificationAuthority,RevocationDate"
    )
    assert piped.ok, piped.error
    assert piped.output.splitlines() == [
        "Server                 : ADATUM-CAS1",
        "CertificationAuthority : Adatum Root CA",
        "RevocationDate         : 3/1/2024 9:30:00 AM",
    ]
    assert host.cas["adatum"].is_revoked(issued.certificate.serial_number)
    trey = host.certificate_store("TREY-CAS1").personal()[1]
    anywhere = adatum.run(f"Revoke-LabCertificate {trey.thumbprint.lower()}")
    assert anywhere.ok, anywhere.error
    assert host.cas["treyresearch"].is_revoked(trey.certificate.serial_number)


def test_revoke_refuses_self_signed_and_unknown(adatum: Shell, host: FakeHost) -> None:
    default = host.certificate_store("ADATUM-MBX1").personal()[0]
    result = adatum.run(
        f"Revoke-LabCertificate -Server ADATUM-MBX1 -Thumbprint {default.thumbprint}"
    )
    assert result.error is not None
    assert str(result.error) == (
        f"Revoke-LabCertificate: The certificate {default.thumbprint} (CN=ADATUM-MBX1) on "
        "ADATUM-MBX1 is self-signed: no certification authority issued it, so none can revoke "
        "it. Remove it with Remove-ExchangeCertificate instead."
    )
    unknown = adatum.run("Revoke-LabCertificate -Server ADATUM-MBX1 -Thumbprint 00FF")
    assert unknown.error is not None
    assert str(unknown.error).startswith(
        "Revoke-LabCertificate: The certificate with thumbprint 00FF isn't on ADATUM-MBX1."
    )
    nowhere = adatum.run("Revoke-LabCertificate -Thumbprint 00FF")
    assert nowhere.error is not None and "isn't on any server of the lab" in str(nowhere.error)
    server = adatum.run("Revoke-LabCertificate -Server NOPE -Thumbprint 00FF")
    assert server.error is not None
    assert "The servers of this lab are ADATUM-CAS1, ADATUM-MBX1, TREY-CAS1, TREY-MBX1." in str(
        server.error
    )


# -- issuing -----------------------------------------------------------------------------------


def test_new_lab_certificate_defaults(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        'New-LabCertificate -Server ADATUM-MBX1 -Issuer own -SubjectName "CN=adatum-mbx1.adatum.com" '
        "-DomainName adatum-mbx1.adatum.com,adatum.com,ADATUM.com"
    )
    assert result.ok, result.error
    assert host.issued == [
        Issued(
            server="ADATUM-MBX1",
            issuer="own",
            subject_name="CN=adatum-mbx1.adatum.com",
            domain_names=("adatum-mbx1.adatum.com", "adatum.com"),
            valid_days=730,
            not_before_days=0,
            services=("SMTP",),
            eku=("serverAuth", "clientAuth"),
        )
    ]
    new = host.certificate_store("ADATUM-MBX1").personal()[-1]
    lines = result.output.splitlines()
    assert lines[0].split() == ["Thumbprint", "Services", "Subject"]
    assert lines[2].split() == [new.thumbprint, "....S..", "CN=adatum-mbx1.adatum.com,", "O=Adatum"]


def test_new_lab_certificate_expired_from_a_partner_ca(adatum: Shell, host: FakeHost) -> None:
    result = adatum.run(
        "New-LabCertificate -Server ADATUM-CAS1 -Issuer TREYRESEARCH "
        '-SubjectName "cn=mail.adatum.com, o=Adatum" -DomainName mail.adatum.com '
        "-NotBeforeDays -800 -ValidDays 30 -Services IIS,SMTP -Eku serverauth\n"
        "Get-ExchangeCertificate -Server ADATUM-CAS1 | FL Issuer,Status,NotAfter"
    )
    assert result.ok, result.error
    call = host.issued[0]
    assert (call.issuer, call.subject_name, call.services, call.eku) == (
        "TreyResearch",
        "CN=mail.adatum.com, O=Adatum",
        ("IIS", "SMTP"),
        ("serverAuth",),
    )
    (new,) = [c for c in host.certificate_store("ADATUM-CAS1").personal() if c.is_expired_at(NOW)]
    assert new.not_after == NOW - timedelta(days=770)
    assert "Issuer   : CN=TreyResearch Root CA, O=TreyResearch" in result.output
    assert "Status   : DateInvalid" in result.output


def test_new_lab_certificate_self_signed_and_public(adatum: Shell, host: FakeHost) -> None:
    assert adatum.run(
        'New-LabCertificate -Server TREY-MBX1 -Issuer Self -SubjectName "CN=trey-mbx1" -Eku $null'
    ).ok
    assert adatum.run(
        'New-LabCertificate -Server TREY-MBX1 -Issuer PUBLIC -SubjectName "CN=mx.treyresearch.net"'
    ).ok
    assert [(i.issuer, i.domain_names, i.eku) for i in host.issued] == [
        ("self", (), ()),
        ("public", (), ("serverAuth", "clientAuth")),
    ]
    store = host.certificate_store("TREY-MBX1").personal()
    assert store[-2].is_self_signed
    assert store[-1].issuer == "CN=Lab Public Root CA"


def test_new_lab_certificate_bad_values(adatum: Shell, host: FakeHost) -> None:
    base = 'New-LabCertificate -Server ADATUM-MBX1 -SubjectName "CN=x.adatum.com" '
    issuer = adatum.run(base + "-Issuer Contoso")
    assert issuer.error is not None
    assert str(issuer.error) == (
        "New-LabCertificate: The issuer 'Contoso' (-Issuer) isn't known. Give own (the server's "
        "organization's CA), public (the lab's public CA), self (self-signed) or an "
        "organization's name: own, public, self, Adatum, TreyResearch."
    )
    subject = adatum.run(
        'New-LabCertificate -Server ADATUM-MBX1 -Issuer own -SubjectName "C=US, CN=x"'
    )
    assert subject.error is not None
    assert str(subject.error).startswith(
        "New-LabCertificate: Cannot process argument transformation on parameter 'SubjectName'."
    )
    assert "labsim's certificates carry only CN and O in the subject; 'C=' isn't supported" in str(
        subject.error
    )
    no_cn = adatum.run('New-LabCertificate -Server ADATUM-MBX1 -Issuer own -SubjectName "O=Adatum"')
    assert no_cn.error is not None and "has no CN" in str(no_cn.error)
    eku = adatum.run(base + "-Issuer own -Eku anything")
    assert eku.error is not None
    assert "parameter 'Eku'" in str(eku.error)
    assert "serverAuth, clientAuth, emailProtection, codeSigning" in str(eku.error)
    days = adatum.run(base + "-Issuer own -ValidDays 0")
    assert days.error is not None
    assert str(days.error) == (
        "New-LabCertificate: Cannot validate argument on parameter 'ValidDays'. The 0 argument "
        "is less than the minimum allowed range of 1. Supply an argument that is greater than or "
        "equal to 1 and then try the command again."
    )
    domain = adatum.run(base + "-Issuer own -DomainName 'bad name'")
    assert domain.error is not None and "parameter 'DomainName'" in str(domain.error)
    services = adatum.run(base + "-Issuer own -Services SMTPX")
    assert services.error is not None and "parameter 'Services'" in str(services.error)
    server = adatum.run('New-LabCertificate -Server NOPE -Issuer own -SubjectName "CN=x"')
    assert server.error is not None and "The servers of this lab are" in str(server.error)
    missing = adatum.run("New-LabCertificate -Server ADATUM-MBX1")
    assert missing.error is not None
    assert "missing mandatory parameters: Issuer SubjectName." in str(missing.error)
    assert host.issued == []
