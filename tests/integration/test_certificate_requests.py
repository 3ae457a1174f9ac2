"""A certificate from the organization's CA, the way an admin gets one for Exchange 2013
(docs/certificates.md): New-ExchangeCertificate -GenerateRequest on the server, the CA signs the
request (Submit-LabCertificateRequest, or openssl with the CA's key in the certificate folder),
Import-ExchangeCertificate on the same server, Enable-ExchangeCertificate -Services SMTP, and
the partner accepts the server's new certificate in a real TLS handshake."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from integration_helpers import configure_walkthrough, sh

from labsim.lab import Lab

REQUEST = (
    "New-ExchangeCertificate -GenerateRequest -Server ADATUM-CAS1 "
    '-SubjectName "C=US, O=Adatum, CN=mail.adatum.com" -DomainName mail.adatum.com,adatum.com '
    '-FriendlyName "Adatum SMTP 2026" -RequestFile C:\\certreq\\mail.req'
)


def _only_self_signed_on_cas(lab: Lab) -> None:
    """Take the CA certificate the lab issued away from ADATUM-CAS1: Exchange's self-signed
    certificate is left, which TreyResearch cannot trust."""
    sh(
        lab,
        "Adatum",
        "Get-ExchangeCertificate -Server ADATUM-CAS1 | where {$_.Subject -like '*O=Adatum'} | "
        "Remove-ExchangeCertificate",
    )


def _request_thumbprint(lab: Lab) -> str:
    store = lab.certificate_store("ADATUM-CAS1")
    (pending,) = store.requests()
    return pending.thumbprint


def test_a_requested_certificate_completed_and_enabled_is_the_one_trey_accepts(lab: Lab) -> None:
    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    _only_self_signed_on_cas(lab)
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Before")
    assert not lab.inbox("ben@treyresearch.net")

    out = sh(lab, "Adatum", REQUEST)
    assert out.startswith("-----BEGIN NEW CERTIFICATE REQUEST-----\n")
    request_file = lab.certificate_folder() / "C" / "certreq" / "mail.req"
    assert request_file.read_bytes().startswith(b"-----BEGIN NEW CERTIFICATE REQUEST-----\r\n")
    pending = _request_thumbprint(lab)
    listed = sh(
        lab, "Adatum", f"Get-ExchangeCertificate {pending} -Server ADATUM-CAS1 | fl Status,Services"
    )
    assert "Status   : PendingRequest" in listed and "Services : None" in listed

    sh(
        lab,
        "Adatum",
        "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req "
        "-CertificateFile C:\\certreq\\mail.cer",
    )
    imported = sh(
        lab,
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certreq\\mail.cer",
    )
    assert "CN=mail.adatum.com, O=Adatum, C=US" in imported
    store = lab.certificate_store("ADATUM-CAS1")
    assert store.requests() == ()
    (issued,) = [c for c in store.personal() if c.subject.endswith("C=US")]
    assert issued.has_private_key and issued.friendly_name == "Adatum SMTP 2026"
    assert issued.thumbprint != pending
    assert issued.issuer == "CN=Adatum Root CA, O=Adatum"
    assert issued.certificate_domains == ("mail.adatum.com", "adatum.com")

    sh(
        lab,
        "Adatum",
        f"Enable-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {issued.thumbprint} -Services SMTP",
    )
    sh(lab, "Adatum", "Retry-Queue -Identity ADATUM-MBX1\\treyresearch.net")
    lab.run_until_idle()
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="After")
    inbox = {m.subject: m for m in lab.inbox("ben@treyresearch.net")}
    assert set(inbox) == {"Before", "After"}
    assert all(m.domain_secured for m in inbox.values())


def test_completing_the_request_on_another_server_leaves_the_key_behind(lab: Lab) -> None:
    sh(lab, "Adatum", REQUEST)
    sh(
        lab,
        "Adatum",
        "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req "
        "-CertificateFile C:\\certreq\\mail.p7b",
    )
    out = sh(
        lab,
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-MBX1 -FileName C:\\certreq\\mail.p7b",
    )
    assert "imported without its private key" in out
    assert "The request was made on ADATUM-CAS1: complete it there." in out
    (imported,) = [
        c for c in lab.certificate_store("ADATUM-MBX1").personal() if "C=US" in c.subject
    ]
    assert not imported.has_private_key
    result = lab.run_shell(
        "Adatum",
        f"Enable-ExchangeCertificate -Server ADATUM-MBX1 -Thumbprint {imported.thumbprint} -Services SMTP",
    )
    assert str(result.error) == (
        "Enable-ExchangeCertificate: A special Rpc error occurs on server ADATUM-MBX1: The "
        f"certificate with thumbprint {imported.thumbprint} was found but is not valid for use "
        "with Exchange Server (reason: PrivateKeyMissing)."
    )
    # The request still waits on ADATUM-CAS1, and cannot be enabled before it is completed.
    pending = _request_thumbprint(lab)
    result = lab.run_shell(
        "Adatum",
        f"Enable-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {pending} -Services SMTP",
    )
    assert "(reason: PendingRequest)" in str(result.error)
    # Removing the pending request is allowed (an admin starting again).
    sh(lab, "Adatum", f"Remove-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {pending}")
    assert lab.certificate_store("ADATUM-CAS1").requests() == ()


def test_a_web_server_template_certificate_fails_as_the_sending_side(lab: Lab) -> None:
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    configure_walkthrough(lab, "Adatum")
    configure_walkthrough(lab, "TreyResearch")
    _only_self_signed_on_cas(lab)
    sh(lab, "Adatum", REQUEST)
    sh(
        lab,
        "Adatum",
        "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req "
        "-CertificateFile C:\\certreq\\web.cer -Template WebServer -ValidDays 365",
    )
    sh(
        lab,
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certreq\\web.cer",
    )
    (issued,) = [c for c in lab.certificate_store("ADATUM-CAS1").personal() if "C=US" in c.subject]
    usage = issued.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert (issued.not_after - issued.not_before).days == 366  # a day of clock skew before
    sh(
        lab,
        "Adatum",
        f"Enable-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {issued.thumbprint} -Services SMTP",
    )
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="Web Server")
    assert not lab.inbox("ben@treyresearch.net")
    queues = sh(lab, "Adatum", "Get-Queue -Identity ADATUM-MBX1\\1 | fl LastError")
    assert "454 4.7.5 Certificate validation failure" in queues


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_can_play_the_ca_with_the_key_in_the_certificate_folder(lab: Lab) -> None:
    sh(lab, "Adatum", REQUEST)
    folder = lab.certificate_folder()
    request_file = folder / "C" / "certreq" / "mail.req"
    issued = folder / "C" / "certreq" / "openssl.cer"
    done = subprocess.run(
        [
            "openssl", "x509", "-req", "-in", str(request_file),
            "-CA", str(folder / "Adatum" / "root-ca.cer"),
            "-CAkey", str(folder / "Adatum" / "root-ca.key"),
            "-copy_extensions", "copy", "-days", "365", "-out", str(issued),
        ],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = sh(
        lab,
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certreq\\openssl.cer",
    )
    assert "without its private key" not in out
    (imported,) = [
        c for c in lab.certificate_store("ADATUM-CAS1").personal() if "C=US" in c.subject
    ]
    assert imported.has_private_key
    assert imported.certificate_domains == ("mail.adatum.com", "adatum.com")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\nowhere\\x.cer",
            "was not found (looked for",
        ),
        (
            "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName Adatum\\root-ca.cer",
            "holds only CA certificates",
        ),
        (
            "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certs\\mail.pfx -Password x",
            "System.Security.SecureString",
        ),
        (
            "Import-ExchangeCertificate -FileName C:\\certreq\\mail.cer",
            "give -Server, the server that made the request",
        ),
        (
            'New-ExchangeCertificate -GenerateRequest -Server ADATUM-CAS1 -SubjectName "O=Adatum"',
            "has no CN",
        ),
        (
            "New-ExchangeCertificate -GenerateRequest -Server ADATUM-CAS1 -BinaryEncoded",
            "give -RequestFile too",
        ),
        (
            "New-ExchangeCertificate -Server ADATUM-CAS1 -RequestFile C:\\x.req",
            "add -GenerateRequest",
        ),
        (
            "Submit-LabCertificateRequest -RequestFile Adatum\\root-ca.cer -CertificateFile x.cer",
            "holds no readable certificate request",
        ),
        (
            "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req -CertificateFile x.cer "
            "-Issuer self",
            "A certificate request goes to a CA",
        ),
    ],
)
def test_bad_input_gets_one_clear_message(lab: Lab, line: str, expected: str) -> None:
    result = lab.run_shell("Adatum", line)
    assert result.error is not None
    assert expected in str(result.error), str(result.error)


def _kept_lab(folder: Path) -> Lab:
    from labsim.model.lab import default_lab
    from labsim.store.database import LabState

    definition = default_lab()
    state = LabState.open(folder, definition)
    try:
        return Lab.start(definition, cert_folder=folder / "certs", state=state)
    except BaseException:
        state.close()
        raise


def test_the_request_survives_a_restart_of_a_kept_lab(tmp_path: Path) -> None:
    lab = _kept_lab(tmp_path)
    try:
        sh(lab, "Adatum", REQUEST)
        pending = _request_thumbprint(lab)
    finally:
        lab.stop()
    lab = _kept_lab(tmp_path)
    try:
        # The same key and placeholder came back: a certificate the CA issues now completes it.
        assert _request_thumbprint(lab) == pending
        sh(
            lab,
            "Adatum",
            "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req "
            "-CertificateFile C:\\certreq\\mail.cer",
        )
        out = sh(
            lab,
            "Adatum",
            "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certreq\\mail.cer",
        )
        assert "without its private key" not in out
    finally:
        lab.stop()


# -- a certificate from one server to another: Export-/Import-ExchangeCertificate with a .pfx --

PASSWORD = '$pw = ConvertTo-SecureString -String "P@ssw0rd1" -AsPlainText -Force'


def _thumbprint(lab: Lab, server: str, subject: str) -> str:
    (cert,) = [c for c in lab.certificate_store(server).personal() if c.subject == subject]
    return cert.thumbprint


def test_a_pfx_moves_the_certificate_with_its_key_to_another_server(lab: Lab) -> None:
    cas = _thumbprint(lab, "ADATUM-CAS1", "CN=mail.adatum.com, O=Adatum")
    sh(
        lab,
        "Adatum",
        f"{PASSWORD}; Export-ExchangeCertificate -Thumbprint {cas} -Server ADATUM-CAS1 "
        "-FileName C:\\certs\\mail.pfx -BinaryEncoded -Password $pw; "
        "Import-ExchangeCertificate -Server ADATUM-MBX1 -FileName C:\\certs\\mail.pfx -Password $pw",
    )
    moved = lab.certificate_store("ADATUM-MBX1").find(cas)
    assert moved is not None and moved.has_private_key
    assert not moved.private_key_exportable  # Import's default, as Exchange's
    sh(
        lab,
        "Adatum",
        f"Enable-ExchangeCertificate -Server ADATUM-MBX1 -Thumbprint {cas} -Services SMTP",
    )
    shown = sh(
        lab,
        "Adatum",
        f"Get-ExchangeCertificate {cas} -Server ADATUM-MBX1 | fl PrivateKeyExportable",
    )
    assert shown == "PrivateKeyExportable : False"
    # It cannot go on from there: its key was imported as not exportable.
    result = lab.run_shell(
        "Adatum",
        f"{PASSWORD}; Export-ExchangeCertificate -Thumbprint {cas} -Server ADATUM-MBX1 "
        "-FileName C:\\certs\\again.pfx -BinaryEncoded -Password $pw",
    )
    assert str(result.error) == (
        "Export-ExchangeCertificate: A special Rpc error occurs on server ADATUM-MBX1: The private "
        "key couldn't be exported as PKCS-12. It either couldn't be accessed or isn't exportable."
    )


def test_a_request_made_without_an_exportable_key_cannot_leave_its_server(lab: Lab) -> None:
    sh(lab, "Adatum", REQUEST)
    sh(
        lab,
        "Adatum",
        "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req -CertificateFile C:\\certreq\\mail.cer",
    )
    sh(
        lab,
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certreq\\mail.cer",
    )
    issued = _thumbprint(lab, "ADATUM-CAS1", "CN=mail.adatum.com, O=Adatum, C=US")
    result = lab.run_shell(
        "Adatum",
        f"{PASSWORD}; Export-ExchangeCertificate {issued} -Server ADATUM-CAS1 "
        "-FileName x.pfx -BinaryEncoded -Password $pw",
    )
    assert "isn't exportable" in str(result.error)
    # The same request with -PrivateKeyExportable $true can.
    sh(lab, "Adatum", f"Remove-ExchangeCertificate -Server ADATUM-CAS1 -Thumbprint {issued}")
    sh(lab, "Adatum", REQUEST.replace("-RequestFile", "-PrivateKeyExportable $true -RequestFile"))
    sh(
        lab,
        "Adatum",
        "Submit-LabCertificateRequest -RequestFile C:\\certreq\\mail.req -CertificateFile C:\\certreq\\mail2.cer",
    )
    sh(
        lab,
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-CAS1 -FileName C:\\certreq\\mail2.cer",
    )
    issued = _thumbprint(lab, "ADATUM-CAS1", "CN=mail.adatum.com, O=Adatum, C=US")
    sh(
        lab,
        "Adatum",
        f"{PASSWORD}; Export-ExchangeCertificate {issued} -Server ADATUM-CAS1 "
        "-FileName x.pfx -Password $pw",
    )
    text = (lab.certificate_folder() / "x.pfx").read_bytes()
    assert text[:1] == b"M" and b"\r\n" in text  # Base64 text without -BinaryEncoded
    sh(
        lab,
        "Adatum",
        f"{PASSWORD}; Import-ExchangeCertificate -Server ADATUM-MBX1 -FileName x.pfx -Password $pw",
    )
    assert lab.certificate_store("ADATUM-MBX1").find(issued) is not None


def test_a_self_signed_certificate_is_not_exportable_unless_asked(lab: Lab) -> None:
    sh(lab, "Adatum", 'New-ExchangeCertificate -Server ADATUM-CAS1 -SubjectName "CN=a.adatum.com"')
    sh(
        lab,
        "Adatum",
        'New-ExchangeCertificate -Server ADATUM-CAS1 -SubjectName "CN=b.adatum.com" '
        "-PrivateKeyExportable $true",
    )
    store = lab.certificate_store("ADATUM-CAS1")
    flags = {c.subject: c.private_key_exportable for c in store.personal()}
    assert flags["CN=a.adatum.com"] is False and flags["CN=b.adatum.com"] is True


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f"{PASSWORD}; Import-ExchangeCertificate -Server ADATUM-MBX1 -FileName Adatum\\root-ca.cer "
            "-Password (ConvertTo-SecureString 'x' -AsPlainText -Force)",
            "is not a PKCS #12 (.pfx) file",
        ),
        (
            "Import-ExchangeCertificate -Server ADATUM-MBX1 -FileName C:\\certs\\x.pfx -Password x",
            'Cannot convert the "x" value of type "System.String" to type "System.Security.SecureString"',
        ),
        (
            "ConvertTo-SecureString 'x' -AsPlainText",
            "The system cannot protect plain text input.",
        ),
        (
            "Export-ExchangeCertificate -Server ADATUM-CAS1 -FileName x.pfx",
            "Give the certificate to export",
        ),
    ],
)
def test_bad_pfx_input_gets_one_clear_message(lab: Lab, line: str, expected: str) -> None:
    result = lab.run_shell("Adatum", line)
    assert expected in str(result.error), result.error


def test_a_wrong_password_says_so(lab: Lab) -> None:
    cas = _thumbprint(lab, "ADATUM-CAS1", "CN=mail.adatum.com, O=Adatum")
    sh(
        lab,
        "Adatum",
        f"{PASSWORD}; Export-ExchangeCertificate -Thumbprint {cas} -Server ADATUM-CAS1 "
        "-FileName m.pfx -BinaryEncoded -Password $pw",
    )
    result = lab.run_shell(
        "Adatum",
        "Import-ExchangeCertificate -Server ADATUM-MBX1 -FileName m.pfx "
        "-Password (ConvertTo-SecureString 'wrong' -AsPlainText -Force)",
    )
    assert (
        str(result.error)
        == "Import-ExchangeCertificate: the password does not open m.pfx (-Password)"
    )


def test_the_exportable_flag_survives_the_state_encoding() -> None:
    import dataclasses
    from datetime import UTC, datetime, timedelta

    from labsim.pki.ca import CertificateAuthority  # noqa: F401 (the lab's own issuer below)
    from labsim.pki.self_signed import self_signed_certificate
    from labsim.store.records import decode_certificate, encode_certificate

    now = datetime.now(UTC)
    cert = self_signed_certificate(
        "x.adatum.com", ("x.adatum.com",), not_before=now, not_after=now + timedelta(days=1)
    )
    for flag in (True, False):
        record = dataclasses.replace(cert, private_key_exportable=flag)
        assert decode_certificate(encode_certificate(record)).private_key_exportable is flag
