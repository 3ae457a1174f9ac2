"""Read ``Export-Clixml`` files: PowerShell's ``<Objs>`` serialization of the exported objects.

Rules kept:

* the XML is read with expat and no DTD: a document type or entity declaration is refused
  (what defusedxml refuses), so no entity expansion and no external fetch can happen;
* each top-level ``<Obj>`` is one object; its kind comes from its type names (``<TN>``, or
  ``<TNRef>`` to an earlier one; ``Deserialized.`` types from a remote session too) and,
  failing that, from its property names;
* a property's value is its primitive text (``<S>``, ``<B>``, ``<I32>``, ``<DT>``, …; ``<TS>``
  durations as Exchange prints time spans), an ``<Obj>``'s list (``<LST>``, ``<IE>``) as a tuple
  of item texts, else its ``<ToString>``; ``<Nil>`` is None; ``<Ref>`` repeats an earlier object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.parsers import expat

from labsim.importer.records import (
    ExportKind,
    ExportObject,
    ExportProperty,
    ImportInputError,
    Value,
    kind_of,
)

_TYPE_KINDS: dict[str, ExportKind] = {
    "microsoft.exchange.data.transport.transportconfigcontainer": ExportKind.TRANSPORT_CONFIG,
    "microsoft.exchange.data.directory.systemconfiguration.transportconfigcontainer": (
        ExportKind.TRANSPORT_CONFIG
    ),
    "microsoft.exchange.data.directory.systemconfiguration.accepteddomain": (
        ExportKind.ACCEPTED_DOMAIN
    ),
    "microsoft.exchange.data.directory.management.exchangeserver": ExportKind.EXCHANGE_SERVER,
    "microsoft.exchange.data.directory.systemconfiguration.smtpsendconnectorconfig": (
        ExportKind.SEND_CONNECTOR
    ),
    "microsoft.exchange.data.directory.systemconfiguration.receiveconnector": (
        ExportKind.RECEIVE_CONNECTOR
    ),
    "microsoft.exchange.management.systemconfigurationtasks.exchangecertificate": (
        ExportKind.EXCHANGE_CERTIFICATE
    ),
    "microsoft.exchange.data.directory.management.mailbox": ExportKind.MAILBOX,
}
_PRIMITIVES = {
    "S", "B", "I32", "I64", "U32", "U64", "I16", "U16", "By", "SB", "Db", "D", "Sg", "C",
    "DT", "TS", "G", "URI", "Version", "XD", "SBK", "BA", "SS", "PR",
}  # fmt: skip
_LISTS = {"LST", "IE", "QUE", "STK", "DCT"}
_DURATION = re.compile(
    r"\A-?P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?\Z"
)


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)
    text: str = ""


def _parse(data: bytes, source: str) -> _Element:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Element] = []
    root: list[_Element] = []

    def refuse(*_args: object) -> None:
        raise ImportInputError(
            f"{source}:{parser.CurrentLineNumber}: the XML declares a document type or "
            "entities, which Export-Clixml never writes; labsim refuses it (export again with "
            "Export-Clixml)"
        )

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag.rpartition("}")[2], attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if stack:
            stack[-1].text += text

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        raise ImportInputError(
            f"{source}:{err.lineno}: not well-formed XML ({expat.errors.messages[err.code]}); "
            "give the file Export-Clixml wrote, unchanged"
        ) from None
    if not root or root[0].tag != "Objs":
        raise ImportInputError(
            f"{source}:1: an XML file that is not Export-Clixml output (its root element is "
            f"not <Objs>); export with … | Export-Clixml file.xml"
        )
    return root[0]


def _unescape(text: str) -> str:
    # Clixml escapes control characters as _xHHHH_.
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), text)


def _timespan(text: str) -> str:
    match = _DURATION.match(text.strip())
    if match is None:
        return text
    days = int(match["d"] or 0)
    seconds = float(match["s"] or 0)
    clock = f"{int(match['h'] or 0):02}:{int(match['m'] or 0):02}:{int(seconds):02}"
    return f"{days}.{clock}" if days else clock


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.types: dict[str, list[str]] = {}
        self.objects: dict[str, Value] = {}

    def type_names(self, obj: _Element) -> list[str]:
        for child in obj.children:
            if child.tag == "TN":
                names = [t.text.strip() for t in child.children if t.tag == "T"]
                self.types[child.attrs.get("RefId", "")] = names
                return names
            if child.tag == "TNRef":
                return self.types.get(child.attrs.get("RefId", ""), [])
        return []

    def value(self, element: _Element) -> Value:
        tag = element.tag
        if tag == "Nil":
            return None
        if tag == "Ref":
            return self.objects.get(element.attrs.get("RefId", ""))
        if tag == "TS":
            return _timespan(element.text)
        if tag in _PRIMITIVES:
            return _unescape(element.text)
        if tag == "Obj":
            self.type_names(element)
            found: Value = None
            for child in element.children:
                if child.tag in _LISTS:
                    found = tuple(
                        text
                        for item in child.children
                        if (text := self.item_text(item)) is not None
                    )
                    break
            else:
                to_string = next((c for c in element.children if c.tag == "ToString"), None)
                if to_string is not None:
                    found = _unescape(to_string.text)
                else:
                    primitive = next((c for c in element.children if c.tag in _PRIMITIVES), None)
                    found = self.value(primitive) if primitive is not None else None
            if "RefId" in element.attrs:
                self.objects[element.attrs["RefId"]] = found
            return found
        return _unescape(element.text) or None

    def item_text(self, item: _Element) -> str | None:
        value = self.value(item)
        if isinstance(value, tuple):
            return ", ".join(value)
        return value

    def properties(self, obj: _Element) -> list[ExportProperty]:
        found: list[ExportProperty] = []
        for holder in obj.children:
            if holder.tag not in ("Props", "MS"):
                continue
            for element in holder.children:
                name = element.attrs.get("N")
                if name:
                    found.append(ExportProperty(name, self.value(element), element.line))
        return found

    def top(self, obj: _Element) -> ExportObject | None:
        names = self.type_names(obj)
        # Through EMS's remote session (how 2013 runs it) every type is "Deserialized.<type>".
        plain = [n.lower().removeprefix("deserialized.") for n in names]
        kind = next((_TYPE_KINDS[n] for n in plain if n in _TYPE_KINDS), None)
        properties = self.properties(obj)
        if "RefId" in obj.attrs:
            to_string = next((c for c in obj.children if c.tag == "ToString"), None)
            self.objects[obj.attrs["RefId"]] = to_string.text if to_string is not None else None
        kind = kind or kind_of({p.name.lower() for p in properties})
        if kind is None:
            raise ImportInputError(
                f"{self.source}:{obj.line}: this Export-Clixml object ({names[0] if names else 'no type'}) "
                "is none of the exports labsim imports (Get-TransportConfig, Get-AcceptedDomain, "
                "Get-ExchangeServer, Get-SendConnector, Get-ReceiveConnector, "
                "Get-ExchangeCertificate, Get-Mailbox)"
            )
        return ExportObject(kind, self.source, obj.line, tuple(properties))


def read_clixml(data: bytes, source: str) -> list[ExportObject]:
    """Every object of one Export-Clixml file (bytes: expat reads the encoding declaration)."""
    root = _parse(data, source)
    reader = _Reader(source)
    found: list[ExportObject] = []
    for obj in root.children:
        if obj.tag != "Obj":
            continue
        exported = reader.top(obj)
        if exported is not None:
            found.append(exported)
    return found
