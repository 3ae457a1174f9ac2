"""Exact CA and certificate subjects in lab files (``root_ca_subject``, certificate ``subject``):
stand-ins for production names, as ``labsim import`` writes them (labsim.labfile, labsim.lab)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labsim.errors import ConfigError, PkiError
from labsim.lab import Lab
from labsim.labfile import load_lab_file
from labsim.pki.certificate import parse_windows_name, windows_name

LAB = """
[[organizations]]
name = "Contoso"
domains = ["contoso.com"]
root_ca_subject = "CN=Contoso Issuing CA 01, DC=corp, DC=contoso, DC=com"

[[organizations.servers]]
name = "CON-CAS1"
role = "ClientAccess"
fqdn = "mail.contoso.com"
address = "127.0.30.1"

[[organizations.servers.certificates]]
common_name = "mail.contoso.com"
subject = 'CN=mail.contoso.com, OU=Messaging, O="Contoso, Ltd", L=Seattle, S=WA, C=US'
dns_names = ["mail.contoso.com", "contoso.com"]
friendly_name = "Contoso SMTP"

[[organizations.servers]]
name = "CON-MBX1"
role = "Mailbox"
fqdn = "con-mbx1.contoso.com"
address = "127.0.30.2"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subjects.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_windows_names_round_trip() -> None:
    text = 'CN=mail.contoso.com, OU=Messaging, O="Contoso, Ltd", L=Seattle, S=WA, C=US'
    assert windows_name(parse_windows_name(text)) == text
    with pytest.raises(PkiError, match="unknown attribute 'XX'"):
        parse_windows_name("CN=a, XX=b")


def test_lab_issues_with_the_exact_subjects(tmp_path: Path) -> None:
    definition = load_lab_file(write(tmp_path, LAB))
    org = definition.organizations[0]
    assert org.root_ca_name == "Contoso Issuing CA 01"  # root_ca defaults to the subject's CN
    lab = Lab.start(definition, cert_folder=tmp_path / "certs")
    try:
        (cert,) = [
            c
            for c in lab.certificate_store("CON-CAS1").personal()
            if c.friendly_name == "Contoso SMTP"
        ]
        assert cert.issuer == "CN=Contoso Issuing CA 01, DC=corp, DC=contoso, DC=com"
        assert (
            cert.subject
            == 'CN=mail.contoso.com, OU=Messaging, O="Contoso, Ltd", L=Seattle, S=WA, C=US'
        )
        # TlsCertificateName written with the production names selects it.
        result = lab.run_shell(
            "Contoso",
            "Set-ReceiveConnector 'CON-CAS1\\Default Frontend CON-CAS1' -TlsCertificateName "
            "'<I>CN=Contoso Issuing CA 01, DC=corp, DC=contoso, DC=com<S>CN=mail.contoso.com, "
            'OU=Messaging, O="Contoso, Ltd", L=Seattle, S=WA, C=US\'',
        )
        assert result.error is None
    finally:
        lab.stop()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'root_ca_subject = "CN=Contoso Issuing CA 01',
            'root_ca = "Contoso Root"\nroot_ca_subject = "CN=Contoso Issuing CA 01',
            "key 'root_ca_subject': its CN (Contoso Issuing CA 01) is not root_ca 'Contoso Root'",
        ),
        (
            'root_ca_subject = "CN=Contoso Issuing CA 01, DC=corp',
            'root_ca_subject = "OU=Issuing, DC=corp',
            "key 'root_ca_subject': 'OU=Issuing, DC=corp, DC=contoso, DC=com' has no CN",
        ),
        (
            "subject = 'CN=mail.contoso.com,",
            "subject = 'CN=smtp.contoso.com,",
            "key 'subject': its CN (smtp.contoso.com) is not common_name 'mail.contoso.com'",
        ),
        (
            'friendly_name = "Contoso SMTP"',
            'issuer = "self"',
            "key 'subject': a self-signed certificate's subject is CN=<common_name>",
        ),
        ("C=US'", "C=USA'", "C=USA is not a two-letter country code"),
    ],
)
def test_subject_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in LAB
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_lab_file(write(tmp_path, LAB.replace(old, new)))
