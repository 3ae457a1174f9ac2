"""The model builder (labsim.importer.builder) and writer on the sample exports and variations."""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from labsim.importer import ImportOptions, ImportResult, build_import, read_exports
from labsim.importer.records import ExportObject, ImportInputError, items
from labsim.importer.sources import decode
from labsim.importer.writer import render_lab_file
from labsim.labfile import load_lab_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tailspintoys"
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)


def run(folder: Path, *partners: tuple[str, str]) -> ImportResult:
    return build_import(
        read_exports([folder]), ImportOptions(as_of=AS_OF, partner_connectors=partners)
    )


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    shutil.copytree(EXAMPLES, folder)
    return folder


def edit(path: Path, old: str, new: str, *, utf16: bool = False) -> None:
    text = decode(path.read_bytes(), str(path))
    assert old in text, old
    text = text.replace(old, new)
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le") if utf16 else text.encode("utf-8"))


def test_sample_exports_give_the_organization_and_its_partners(tmp_path: Path) -> None:
    result = run(EXAMPLES)
    org, *partners = result.organizations
    assert org.name == "Tailspin Toys"
    assert org.domains == ("tailspintoys.com", "tailspintoys.co.uk")
    assert [(s.name, s.role, s.address) for s in org.servers] == [
        ("TT-LON-CAS1", "ClientAccess", "127.1.1.10"),
        ("TT-LON-MBX1", "Mailbox", "127.1.1.11"),
        ("TT-SEA-CAS1", "ClientAccess", "127.1.2.10"),
        ("TT-SEA-MBX1", "Mailbox", "127.1.2.11"),
    ]
    assert [p.domains for p in partners] == [
        ("contoso.com",),
        ("fabrikam.com",),
        ("woodgrovebank.com", "woodgrovebank.co.uk"),
    ]
    # Each partner sends from inside the mapped RemoteIPRanges of its Partner connector.
    senders = {p.name: p.servers[1].address for p in partners}
    assert senders == {
        "Contoso": "127.102.2.1",  # 192.0.2.0/25 → 127.102.2.0/25
        "Fabrikam": "127.104.113.1",  # 203.0.113.0/24 → 127.104.113.0/24
        "Woodgrovebank": "127.103.100.11",  # 198.51.100.10-198.51.100.20, one in
    }
    # The hosted-filtering partner answers on the smart host the send connector names.
    assert result.a_records == (("contoso-com.mail.filtercloud.net", "127.200.1.1"),)
    # The Fabrikam root (.cer) names Fabrikam's lab CA, which Tailspin Toys trusts.
    fabrikam = partners[1]
    assert fabrikam.root_ca == "Fabrikam Root CA"
    assert {c.issuer for s in fabrikam.servers for c in s.certificates} == {"own"}
    assert org.trusted_roots == ("own", "public", "Fabrikam")
    assert result.test_mailboxes == (
        "labsim.test@tailspintoys.com",
        "labsim.test@tailspintoys.co.uk",
    )
    # Certificates: the enterprise CA's name, SANs, validity from the import date.
    stand_in, webmail = org.servers[0].certificates
    assert org.root_ca == "Tailspin Toys Issuing CA 01"
    assert org.root_ca_subject == "CN=Tailspin Toys Issuing CA 01, DC=corp, DC=tailspintoys, DC=com"
    assert stand_in.subject == "CN=mail.tailspintoys.com"
    # A second issuer (a commercial CA): the lab's public CA stands in, and the report says so.
    assert (webmail.issuer, webmail.services) == ("public", ("IIS",))
    assert webmail.subject == "CN=webmail.tailspintoys.co.uk, O=Tailspin Toys Ltd, L=London, C=GB"
    assert any("a second CA" in item.why for item in result.report)
    assert stand_in.common_name == "mail.tailspintoys.com"
    assert stand_in.issuer == "own"
    assert stand_in.dns_names[:2] == ("mail.tailspintoys.com", "tailspintoys.com")
    assert (stand_in.not_before_days, stand_in.valid_days) == (-275, 731)
    assert stand_in.eku == ("serverAuth", "clientAuth")
    # The file loads as a lab file.
    lab_file = tmp_path / "tailspintoys.toml"
    lab_file.write_text(render_lab_file(result), encoding="utf-8")
    definition = load_lab_file(lab_file)
    assert [o.organization.name for o in definition.organizations] == [
        "Tailspin Toys",
        "Contoso",
        "Fabrikam",
        "Woodgrovebank",
    ]
    text = lab_file.read_text(encoding="utf-8")
    assert "#   10.20.0.0/16 -> 127.100.0.0/16" in text
    assert "#   172.16.0.0/16 -> 127.101.0.0/16" in text  # the /12's block the exports use
    assert "#   203.0.0.0/16 -> 127.104.0.0/16" in text
    assert "#   server TT-EDGE1 (" in text  # the report, as comments


def test_same_exports_same_lab_file(exports: Path) -> None:
    first = render_lab_file(run(EXAMPLES))
    for path in exports.iterdir():  # other names, same content
        path.rename(path.with_name("x-" + path.name[::-1]))
    assert render_lab_file(run(exports)).split("name = ")[1] == first.split("name = ")[1]


def test_utf8_lf_and_clixml_variants_read_the_same(exports: Path) -> None:
    path = exports / "ReceiveConnector.txt"
    path.write_bytes(decode(path.read_bytes(), "x").replace("\r\n", "\n").encode("utf-8"))
    edit(exports / "TransportConfig.txt", "\r\n", "\n")
    plain = run(exports)
    reference = run(EXAMPLES)
    assert plain.organizations == reference.organizations
    assert plain.report == tuple(
        replace(item, where=item.where.replace(str(EXAMPLES), str(exports)))
        for item in reference.report
    )


def test_cut_lists_are_reported(exports: Path) -> None:
    edit(
        exports / "TransportConfig.txt",
        # Format-List wrapped the list at 80 columns, inside a name.
        "{fabrikam.com, woodgrovebank.com, contoso\r\n" + " " * 38 + ".com}",
        "{fabrikam.com, woodgrovebank.com...}",
        utf16=True,
    )
    result = run(exports)
    lines = [item.line() for item in result.report]
    assert any(
        line.startswith("TLSReceiveDomainSecureList (") and "cut the list with '...'" in line
        for line in lines
    )
    assert (
        "contoso.com" not in result.organizations[0].setup[0].split("-TLSSendDomainSecureList")[1]
    )


def test_localized_sizes_and_dates(exports: Path) -> None:
    edit(exports / "ReceiveConnector.txt", "35 MB (36,700,160 bytes)", "35 MB (36.700.160 bytes)")
    edit(
        exports / "ExchangeCertificate-TT-SEA-CAS1.txt",
        "3/1/2028 8:00:00 AM",
        "01.03.2028 08:00:00",
        utf16=True,
    )
    result = run(exports)
    setup = "\n".join(result.organizations[0].setup)
    assert "-MaxMessageSize 35MB" in setup
    sea = next(s for s in result.organizations[0].servers if s.name == "TT-SEA-CAS1")
    assert sea.certificates[0].valid_days == 731


def test_ambiguous_partner_connector_needs_the_option(exports: Path) -> None:
    edit(exports / "ReceiveConnector.txt", "From Fabrikam", "Partners EU")
    with pytest.raises(
        ImportInputError, match=r"partner fabrikam\.com: .*--partner fabrikam\.com="
    ):
        run(exports)
    result = run(exports, ("fabrikam.com", "TT-SEA-CAS1\\Partners EU"))
    fabrikam = next(p for p in result.organizations if p.name == "Fabrikam")
    assert fabrikam.servers[1].address == "127.104.113.1"
    with pytest.raises(ImportInputError, match="not a partner domain"):
        run(exports, ("example.org", "TT-SEA-CAS1\\Partners EU"))


def test_malformed_value_names_file_line_and_property(exports: Path) -> None:
    edit(
        exports / "SendConnector.txt",
        "DomainSecureEnabled          : True",
        "DomainSecureEnabled          : Yes",
    )
    with pytest.raises(ImportInputError) as caught:
        run(exports)
    message = str(caught.value)
    assert message.startswith(f"{exports / 'SendConnector.txt'}:")
    assert "Get-SendConnector property DomainSecureEnabled: 'Yes' is not True or False" in message


def test_missing_export_is_named(exports: Path) -> None:
    (exports / "ExchangeServer.txt").unlink()
    with pytest.raises(ImportInputError, match="no Get-ExchangeServer export among the files"):
        run(exports)


def test_multi_role_server_becomes_two_lab_servers(exports: Path) -> None:
    role = "ServerRole                : "
    edit(exports / "ExchangeServer.txt", role + "Mailbox\r\n", role + "Mailbox, ClientAccess\r\n")
    result = run(exports)
    names = [(s.name, s.role, s.fqdn) for s in result.organizations[0].servers]
    assert ("TT-LON-MBX1-FE", "ClientAccess", "tt-lon-mbx1.corp.tailspintoys.com") in names
    assert ("TT-LON-MBX1", "Mailbox", "tt-lon-mbx1-mbx.corp.tailspintoys.com") in names
    assert any("runs both roles" in item.why for item in result.report)


def test_mailbox_export_replaces_the_test_mailboxes(exports: Path) -> None:
    (exports / "Mailbox.txt").write_text(
        "\nName                 : April Reagan\nDisplayName          : April Reagan\n"
        "PrimarySmtpAddress   : april@tailspintoys.com\n"
        "RecipientTypeDetails : UserMailbox\n\n",
        encoding="utf-8",
    )
    result = run(exports)
    assert result.organizations[0].mailboxes == (("april@tailspintoys.com", "April Reagan"),)
    assert result.test_mailboxes == ()


def test_lab_file_is_toml_with_setup_literal(tmp_path: Path) -> None:
    text = render_lab_file(run(EXAMPLES))
    document = tomllib.loads(text)
    setup = document["organizations"][0]["setup"][0]
    assert 'New-SendConnector -Name "Internet" -Custom -AddressSpaces "SMTP:*;10"' in setup
    assert 'Set-ReceiveConnector "TT-SEA-CAS1\\Default Frontend TT-SEA-CAS1"' in setup


def test_a_folders_readme_and_earlier_lab_file_are_skipped_and_named(exports: Path) -> None:
    (exports / "README.md").write_text("# Exports of 14 October\n\nRun by Ed.\n", encoding="utf-8")
    (exports / "tailspintoys.toml").write_text(render_lab_file(run(EXAMPLES)), encoding="utf-8")
    result = run(exports)
    assert result.organizations == run(EXAMPLES).organizations
    skipped = [item.what for item in result.report if item.why.startswith("not an export")]
    assert skipped == [f"file {exports / 'README.md'}", f"file {exports / 'tailspintoys.toml'}"]
    # Named on its own, the same file is an error: the admin meant it to be an export.
    with pytest.raises(ImportInputError, match=r"README\.md:1: cannot read this line"):
        read_exports([exports / "README.md"])


_TYPES = {
    "Get-TransportConfig": "Microsoft.Exchange.Data.Directory.SystemConfiguration.TransportConfigContainer",
    "Get-AcceptedDomain": "Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomain",
    "Get-ExchangeServer": "Microsoft.Exchange.Data.Directory.Management.ExchangeServer",
    "Get-SendConnector": "Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
    "Get-ReceiveConnector": "Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",
    "Get-ExchangeCertificate": "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate",
}


def as_clixml(objects: list[ExportObject]) -> bytes:
    """The objects as a remote EMS session's Export-Clixml writes them: Deserialized types,
    lists as <LST>, UTF-16 LE with a byte order mark."""
    lines = ['<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">']
    for number, obj in enumerate(objects):
        lines += [f'<Obj RefId="{number}"><TN RefId="{number}">']
        lines += [f"<T>Deserialized.{_TYPES[obj.kind.value]}</T></TN><Props>"]
        for prop in obj.properties:
            name = escape(prop.name, {'"': "&quot;"})
            values, _ = items(obj, prop.name)
            if isinstance(prop.value, str) and prop.value.startswith("{"):
                inner = "".join(f"<S>{escape(v)}</S>" for v in values)
                lines.append(f'<Obj N="{name}"><LST>{inner}</LST></Obj>')
            elif prop.value is None:
                lines.append(f'<Nil N="{name}" />')
            else:
                lines.append(f'<S N="{name}">{escape(prop.value)}</S>')
        lines.append("</Props></Obj>")
    lines.append("</Objs>")
    return b"\xff\xfe" + "\r\n".join(lines).encode("utf-16-le")


def test_every_export_as_clixml_gives_the_same_lab(exports: Path) -> None:
    for path in sorted(exports.glob("*.txt")):
        objects = read_exports([path]).objects
        path.with_suffix(".xml").write_bytes(as_clixml(list(objects)))
        path.unlink()
    result = run(exports)
    assert result.organizations == run(EXAMPLES).organizations


def test_chunking_turned_off_in_production_is_carried_defaults_are_not(exports: Path) -> None:
    # The first connector of the sample (Default Frontend TT-LON-CAS1) turns BDAT off; the
    # others keep Exchange's defaults (True), which need no parameter.
    text = decode((exports / "ReceiveConnector.txt").read_bytes(), "ReceiveConnector.txt")
    first = text.index("ChunkingEnabled                         : True")
    text = (
        text[:first]
        + "ChunkingEnabled                         : False"
        + text[first + len("ChunkingEnabled                         : True") :]
    )
    (exports / "ReceiveConnector.txt").write_bytes(text.encode("utf-8"))
    setup = run(exports).organizations[0].setup
    lines = [line for line in setup if "Default Frontend TT-LON-CAS1" in line]
    assert len(lines) == 1 and "-ChunkingEnabled $false" in lines[0], lines
    others = [line for line in setup if "ReceiveConnector" in line and line not in lines]
    assert others and not any("ChunkingEnabled" in line for line in others)
    assert not any("BinaryMimeEnabled" in line for line in setup)
