"""The readers of export files (labsim.importer.formatlist, .clixml, .sources, .values):
PowerShell's Format-List layout and encodings, Export-Clixml, and localized values."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from labsim.importer.clixml import read_clixml
from labsim.importer.formatlist import read_format_list
from labsim.importer.records import ExportKind, ImportInputError, items
from labsim.importer.sources import decode, read_exports
from labsim.importer.values import byte_count, common_name, date, name_parts

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tailspintoys"

RECEIVE = """

RunspaceId          : 5c0e7f7a-2f0e-4d3c-9d6b-1f2a3b4c5d6e
AuthMechanism       : Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeS
                      erver
Bindings            : {0.0.0.0:25}
PermissionGroups    : AnonymousUsers, Partners
RemoteIPRanges      : {203.0.113.0/24, 198.51.100.7, 198.51.100.10-198.51.100.20
                      , 192.0.2.0/25...}
Comment             :
Identity            : EX01\\From Fabrikam

"""


def test_format_list_joins_wrapped_values_and_reads_cut_lists() -> None:
    (obj,) = read_format_list(RECEIVE.replace("\n", "\r\n"), "rc.txt")
    assert obj.kind is ExportKind.RECEIVE_CONNECTOR
    assert obj.text("AuthMechanism").endswith("BasicAuthRequireTLS, ExchangeServer")
    ranges, cut = items(obj, "RemoteIPRanges")
    assert ranges == (
        "203.0.113.0/24",
        "198.51.100.7",
        "198.51.100.10-198.51.100.20",
        "192.0.2.0/25",
    )
    assert cut
    assert items(obj, "Bindings") == (("0.0.0.0:25",), False)
    assert obj.text("Comment") == ""
    assert obj.place("Bindings") == "rc.txt:6"


def test_format_list_skips_the_prompt_and_names_a_malformed_line() -> None:
    text = "[PS] C:\\Windows\\system32>Get-ReceiveConnector | fl\n" + RECEIVE
    assert len(read_format_list(text, "rc.txt")) == 1
    broken = RECEIVE.replace("Comment             :", "this is not a property line")
    with pytest.raises(ImportInputError, match=r"rc\.txt:10: cannot read this line"):
        read_format_list(broken, "rc.txt")


def test_format_list_object_of_another_cmdlet_is_refused() -> None:
    with pytest.raises(ImportInputError, match=r"x\.txt:1: .*none of the exports"):
        read_format_list("Name   : Contoso\nStatus : Running\n", "x.txt")


def test_encodings_as_powershell_writes_them() -> None:
    text = "Name : Tailspin – Café\r\n"
    assert decode(b"\xff\xfe" + text.encode("utf-16-le"), "f") == text
    assert decode(b"\xfe\xff" + text.encode("utf-16-be"), "f") == text
    assert decode(text.encode("utf-16-le"), "f") == text  # no BOM
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8"), "f") == text
    assert decode(text.encode("cp1252"), "f") == text  # Set-Content on an English Windows


def test_clixml_accepted_domains_in_utf16() -> None:
    exports = read_exports([EXAMPLES / "AcceptedDomain.xml"])
    names = [
        (o.text("DomainName"), o.text("DomainType"), o.text("Default")) for o in exports.objects
    ]
    assert names == [
        ("tailspintoys.com", "Authoritative", "true"),
        ("tailspintoys.co.uk", "Authoritative", "false"),
        ("tailspin-legacy.net", "InternalRelay", "false"),
    ]
    assert exports.objects[0].place("DomainType") == f"{EXAMPLES / 'AcceptedDomain.xml'}:24"


CLIXML = """<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
  <Obj RefId="0">
    <TN RefId="0"><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector</T></TN>
    <Props>
      <Obj N="RemoteIPRanges" RefId="1">
        <TN RefId="1"><T>Microsoft.Exchange.Data.MultiValuedProperty`1[[Microsoft.Exchange.Data.IPRange]]</T></TN>
        <LST>
          <Obj RefId="2"><ToString>203.0.113.0/24</ToString></Obj>
          <S>198.51.100.7</S>
        </LST>
      </Obj>
      <Ref N="Bindings" RefId="1" />
      <TS N="ConnectionTimeout">PT10M</TS>
      <TS N="MessageExpiration">P2DT0H30M</TS>
      <Nil N="Banner" />
      <S N="Identity">EX01\\From_x0020_Fabrikam</S>
    </Props>
  </Obj>
</Objs>"""


def test_clixml_lists_refs_timespans_and_nil() -> None:
    (obj,) = read_clixml(CLIXML.encode(), "rc.xml")
    assert obj.kind is ExportKind.RECEIVE_CONNECTOR
    assert items(obj, "RemoteIPRanges") == (("203.0.113.0/24", "198.51.100.7"), False)
    assert items(obj, "Bindings")[0] == ("203.0.113.0/24", "198.51.100.7")  # <Ref> repeats it
    assert obj.text("ConnectionTimeout") == "00:10:00"
    assert obj.text("MessageExpiration") == "2.00:30:00"
    assert obj.get("Banner") is not None and obj.text("Banner") == ""
    assert obj.text("Identity") == "EX01\\From Fabrikam"


def test_clixml_from_a_remote_session_has_deserialized_types() -> None:
    # EMS 2013 runs through a remote session: Export-Clixml writes "Deserialized." types, and
    # this object has none of the receive connector's signature properties.
    text = CLIXML.replace(
        "<T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector</T>",
        "<T>Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector</T>",
    )
    (obj,) = read_clixml(text.encode(), "rc.xml")
    assert obj.kind is ExportKind.RECEIVE_CONNECTOR


def test_clixml_refuses_a_document_type_and_names_bad_xml() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Objs>&a;</Objs>'
    with pytest.raises(ImportInputError, match="declares a document type"):
        read_clixml(bomb.encode(), "bomb.xml")
    with pytest.raises(ImportInputError, match=r"bad\.xml:3: not well-formed"):
        read_clixml(b"<Objs>\n<Obj>\n</Objs>", "bad.xml")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("35 MB (36,700,160 bytes)", 36_700_160),  # en-US
        ("35 MB (36.700.160 bytes)", 36_700_160),  # de-DE
        ("35 MB (36\u00a0700\u00a0160 bytes)", 36_700_160),  # fr-FR, no-break spaces
        ("35 MB (36\u202f700\u202f160 bytes)", 36_700_160),  # fr-FR, narrow no-break spaces
        ("36700160", 36_700_160),
        ("10MB", 10 * 1024 * 1024),
        ("Unlimited", None),
    ],
)
def test_localized_sizes(text: str, count: int | None) -> None:
    assert byte_count(text) == count


@pytest.mark.parametrize(
    "text",
    ["3/14/2027 11:59:59 PM", "14/03/2027 23:59:59", "14.03.2027 23:59:59", "2027-03-14T23:59:59Z"],
)
def test_localized_dates(text: str) -> None:
    assert date(text) == datetime(2027, 3, 14, 23, 59, 59, tzinfo=UTC)


def test_distinguished_names_with_quotes() -> None:
    text = 'CN=mail.contoso.com, O="Contoso, Ltd", C=US'
    assert name_parts(text) == [("CN", "mail.contoso.com"), ("O", "Contoso, Ltd"), ("C", "US")]
    assert common_name("OU=IT, CN=Tailspin CA") == "Tailspin CA"
