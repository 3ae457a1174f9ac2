"""Find and read the export files: decode them as PowerShell wrote them, and recognize each by content.

Rules kept:

* a PATH may be a file or a folder (its files, sorted by name, not recursive); files are read
  in a stable order so the same exports always give the same lab file;
* text is decoded by its byte order mark (UTF-16 LE, as Windows PowerShell's ``>`` and
  ``Out-File`` write by default; UTF-16 BE; UTF-8), else as UTF-16 LE when every other byte is
  NUL, else UTF-8, else Windows-1252 (``Set-Content`` on an English Windows);
* a file whose text starts with ``<Objs`` (after an XML declaration) is Export-Clixml output;
  a certificate (PEM, DER or PKCS #7, as ``.cer`` files are) is a partner's root CA; anything
  else is Format-List text, except that a file found in a folder whose first line is not a
  ``Property : value`` line is no export (a README, an earlier lab file) and is skipped;
* every file is at most 16 MB (a production export of a large organization is a few MB).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from labsim.errors import PkiError
from labsim.importer.clixml import read_clixml
from labsim.importer.formatlist import looks_like_format_list, read_format_list
from labsim.importer.records import ExportObject, ImportInputError
from labsim.inputfiles import InputFileError, read_input_file
from labsim.pki.bundles import parse_certificate_file

EXPORT_FILE_LIMIT = 16 * 1024 * 1024
"""The largest export file labsim reads."""


@dataclass(frozen=True)
class RootFile:
    """A root CA certificate file given with the exports (a partner's ``.cer``)."""

    source: str
    certificates: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Exports:
    """Everything read from the PATHs: the exported objects and the root files."""

    objects: tuple[ExportObject, ...]
    roots: tuple[RootFile, ...]
    # Files of a folder that are no export (a README, the lab file of an earlier import).
    skipped: tuple[str, ...] = ()


def decode(data: bytes, source: str) -> str:
    """The text of an export file, whatever encoding PowerShell used."""
    if data.startswith(b"\xff\xfe"):
        codec, body = "utf-16-le", data[2:]
    elif data.startswith(b"\xfe\xff"):
        codec, body = "utf-16-be", data[2:]
    elif data.startswith(b"\xef\xbb\xbf"):
        codec, body = "utf-8", data[3:]
    elif len(data) >= 4 and data[1:8:2] == b"\0" * len(data[1:8:2]) and data[0:1] != b"\0":
        codec, body = "utf-16-le", data
    else:
        codec, body = "utf-8", data
    try:
        return body.decode(codec)
    except UnicodeDecodeError as err:
        if codec == "utf-8":
            return body.decode("cp1252", errors="replace")
        raise ImportInputError(
            f"{source}: cannot decode the file as {codec.upper()} (byte {err.start}); export "
            "it again with Out-File or Export-Clixml"
        ) from None


def _is_clixml(text: str) -> bool:
    head = text.lstrip()[:200]
    if head.startswith("<?xml"):
        head = head[head.find("?>") + 2 :].lstrip()
    return head.startswith("<Objs")


def _looks_like_certificate(data: bytes, name: str) -> bool:
    if b"-----BEGIN" in data[:4096]:
        return True
    # DER: a SEQUENCE with a long-form length, as every certificate starts.
    return name.lower().endswith((".cer", ".crt", ".der", ".p7b")) or data[:2] == b"\x30\x82"


def files_of(paths: list[Path]) -> list[tuple[Path, bool]]:
    """The files the PATHs name, each with whether it was named itself (not found in a folder):
    files as given, a folder's files sorted by name."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                (p, False)
                for p in sorted(path.iterdir())
                if p.is_file() and not p.name.startswith(".")
            )
        elif path.exists():
            found.append((path, True))
        else:
            raise ImportInputError(
                f"{path}: no such file or folder; give the export files or their folder"
            )
    if not found:
        raise ImportInputError(
            f"{', '.join(map(str, paths))}: no export files found; give the files the export "
            "commands of docs/import.md wrote"
        )
    return found


def read_exports(paths: list[Path]) -> Exports:
    """Read every export file and root file the PATHs name."""
    objects: list[ExportObject] = []
    roots: list[RootFile] = []
    skipped: list[str] = []
    for path, named in files_of(paths):
        source = os.path.normpath(path)
        try:
            data = read_input_file(path, EXPORT_FILE_LIMIT)
        except InputFileError as err:
            raise ImportInputError(f"{source}: {err}") from None
        except OSError as err:
            raise ImportInputError(f"{source}: cannot read it ({err.strerror or err})") from None
        if _looks_like_certificate(data, path.name) and not _is_clixml(decode(data[:400], source)):
            try:
                parsed = parse_certificate_file(data, source)
            except PkiError as err:
                raise ImportInputError(str(err)) from None
            roots.append(RootFile(source, tuple(parsed.certificates)))
            continue
        text = decode(data, source)
        if _is_clixml(text):
            # Decoded once here; the declaration (which may say utf-16) goes with the bytes.
            body = re.sub(r"\A\s*<\?xml[^>]*\?>", "", text)
            objects.extend(read_clixml(body.encode("utf-8"), source))
        elif not named and not looks_like_format_list(text):
            # A folder's README or an earlier lab file: not an export, and not malformed one.
            skipped.append(source)
        else:
            objects.extend(read_format_list(text, source))
    return Exports(tuple(objects), tuple(roots), tuple(skipped))
