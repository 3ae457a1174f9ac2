"""Read the text ``<cmdlet> | Format-List`` writes: blocks of ``Name : value`` lines.

Rules kept (PowerShell's list formatter, as Exchange Management Shell prints it):

* objects are separated by blank lines; within one object every name is padded to the same
  width, so the colon of every property line is in one column;
* a value longer than the console is wrapped: the rest continues on the next lines, indented
  to the value's column, cut anywhere (inside a word or an address), so continuation lines are
  joined without adding anything;
* an EMS prompt line (``[PS] C:\\>Get-…``, ``PS C:\\>…``) copied with the output is skipped;
* anything else is a malformed line, reported with its file and line.
"""

from __future__ import annotations

import re

from labsim.importer.records import ExportObject, ExportProperty, ImportInputError, kind_of

_PROPERTY = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<pad> *): ?(?P<value>.*)\Z")
_PROMPT = re.compile(r"\A(\[PS\]\s*)?PS?\s?[A-Za-z]:\\.*>|\A\[PS\] ")


def looks_like_format_list(text: str) -> bool:
    """Whether the first line with text (prompts aside) is a ``Property : value`` line."""
    for line in text.splitlines():
        if not line.strip() or _PROMPT.match(line):
            continue
        return not line[0].isspace() and _PROPERTY.match(line.rstrip()) is not None
    return False


def read_format_list(text: str, source: str) -> list[ExportObject]:
    """Every object of one Format-List file (already decoded, any newline convention)."""
    objects: list[ExportObject] = []
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if not line.strip():
            if block:
                objects.append(_object(block, source))
                block = []
            continue
        if _PROMPT.match(line):
            continue
        block.append((number, line))
    if block:
        objects.append(_object(block, source))
    return objects


def _object(block: list[tuple[int, str]], source: str) -> ExportObject:
    names: list[str] = []
    values: list[list[str]] = []
    lines: list[int] = []
    colon: int | None = None
    for number, line in block:
        match = _PROPERTY.match(line) if not line[0].isspace() else None
        if match is not None and (colon is None or len(match["name"]) + len(match["pad"]) == colon):
            colon = len(match["name"]) + len(match["pad"])
            names.append(match["name"])
            values.append([match["value"]])
            lines.append(number)
            continue
        if line[0].isspace() and names:
            # A wrapped value: the continuation starts at the value column.
            values[-1].append(line[colon + 2 if colon is not None else 0 :].lstrip())
            continue
        raise ImportInputError(
            f"{source}:{number}: cannot read this line as 'Property : value' of Format-List "
            f"output{' (after property ' + names[-1] + ')' if names else ''}: {line.strip()[:60]!r}; "
            "export the cmdlet's output unchanged (… | Format-List * > file.txt)"
        )
    properties = tuple(
        ExportProperty(name, "".join(parts).strip() or None, line)
        for name, parts, line in zip(names, values, lines, strict=True)
    )
    kind = kind_of({p.name.lower() for p in properties})
    if kind is None:
        raise ImportInputError(
            f"{source}:{block[0][0]}: this Format-List object is none of the exports labsim "
            "imports (Get-TransportConfig, Get-AcceptedDomain, Get-ExchangeServer, "
            "Get-SendConnector, Get-ReceiveConnector, Get-ExchangeCertificate, Get-Mailbox); "
            "export with Format-List * so that every property is there"
        )
    return ExportObject(kind, source, block[0][0], properties)
