"""Values that pass the parameter types but used to crash the cmdlet (issue 10 item 9): names
longer than a certificate can hold, time spans past .NET's TimeSpan, line breaks in a subject.
Each is one EMS-style error naming the cmdlet and the parameter; the shell goes on."""

from __future__ import annotations

from ems_fakes import FakeHost

from labsim.ems import Shell

LONG_CN = "a" * 70 + ".com"
TIMESPAN_TOO_LARGE = (
    'Error: "The TimeSpan could not be parsed because at least one of the numeric components '
    'is out of range or contains too many digits."'
)


def error_of(shell: Shell, line: str) -> str:
    result = shell.run(line)
    assert result.error is not None, result.output
    assert shell.run("Get-TransportConfig").ok  # the shell goes on
    return str(result.error)


def test_new_lab_certificate_subject_over_64_characters(adatum: Shell, host: FakeHost) -> None:
    error = error_of(
        adatum, f'New-LabCertificate -Server ADATUM-MBX1 -Issuer own -SubjectName "CN={LONG_CN}"'
    )
    assert error == (
        "New-LabCertificate: Cannot process argument transformation on parameter 'SubjectName'. "
        f'Cannot convert value "CN={LONG_CN}" to type '
        '"System.Security.Cryptography.X509Certificates.X500DistinguishedName". Error: '
        f"\"In 'CN={LONG_CN}', the CN '{LONG_CN}' holds 74 characters; a certificate's CN holds "
        "at most 64 (X.520), so shorten it; put long host names in -DomainName, e.g. "
        '"CN=mail.adatum.com, O=Adatum"."'
    )
    error = error_of(
        adatum,
        f'New-LabCertificate -Server ADATUM-MBX1 -Issuer own -SubjectName "CN=x.com, O={"o" * 65}"',
    )
    assert "the O '" + "o" * 65 + "' holds 65 characters" in error


def test_new_exchange_certificate_subject_over_64_characters(adatum: Shell) -> None:
    error = error_of(
        adatum, f'New-ExchangeCertificate -Server ADATUM-MBX1 -SubjectName "CN={LONG_CN}"'
    )
    assert "parameter 'SubjectName'" in error and "holds 74 characters" in error


def test_new_exchange_certificate_long_first_domain_name_as_subject(adatum: Shell) -> None:
    long_name = "a" * 70 + ".adatum.com"
    error = error_of(adatum, f"New-ExchangeCertificate -Server ADATUM-MBX1 -DomainName {long_name}")
    assert error == (
        f"New-ExchangeCertificate: The subject would be CN={long_name}, the first -DomainName, "
        "which holds 81 characters; a certificate's CN holds at most 64 characters. Give "
        '-SubjectName with a shorter CN, e.g. -SubjectName "CN=mail.adatum.com", and keep the '
        "long name in -DomainName."
    )
    # With a short subject the long name is fine as a SAN.
    made = adatum.run(
        f"New-ExchangeCertificate -Server ADATUM-MBX1 -DomainName {long_name} -SubjectName "
        '"CN=mail.adatum.com"'
    )
    assert made.ok, made.error


def test_time_spans_past_dotnet_timespan(adatum: Shell) -> None:
    for line, parameter in (
        ("Set-TransportService ADATUM-MBX1 -MessageRetryInterval 99999999999d", "MessageRetryInterval"),
        ("Set-TransportService ADATUM-MBX1 -MessageExpirationTimeout 99999999999.00:00:00", "MessageExpirationTimeout"),
        (r'Set-ReceiveConnector "ADATUM-CAS1\Default Frontend ADATUM-CAS1" -ConnectionTimeout 99999999999999999999s', "ConnectionTimeout"),
    ):  # fmt: skip
        error = error_of(adatum, line)
        assert f"Cannot process argument transformation on parameter '{parameter}'" in error
        assert error.endswith(TIMESPAN_TOO_LARGE)
    # The largest TimeSpan converts, and the cmdlet's own range answers.
    error = error_of(
        adatum, "Set-TransportService ADATUM-MBX1 -MessageExpirationTimeout 10675199.00:00:00"
    )
    assert "greater than the maximum allowed range of 90.00:00:00" in error


def test_send_mail_message_subject_with_a_line_break(adatum: Shell, host: FakeHost) -> None:
    for subject in ("a`r`nBcc: eve@fabrikam.com", "a`nb", "a`rb"):
        error = error_of(
            adatum,
            f'Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject "{subject}"',
        )
        assert error == (
            "Send-MailMessage: The specified string is not in the form required for a subject."
        )
    assert host.submitted == []


def test_new_lab_certificate_not_before_fifty_years_back_at_most(adatum: Shell) -> None:
    # -36500 used to pass and end in cryptography's "on or after 1950" ValueError.
    error = error_of(
        adatum,
        'New-LabCertificate -Server ADATUM-MBX1 -Issuer own -SubjectName "CN=x.adatum.com" '
        "-NotBeforeDays -36500",
    )
    assert error == (
        "New-LabCertificate: Cannot validate argument on parameter 'NotBeforeDays'. The -36500 "
        "argument is less than the minimum allowed range of -18250. Supply an argument that is "
        "greater than or equal to -18250 and then try the command again."
    )
