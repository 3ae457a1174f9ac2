"""``labsim import``: turn an admin's exports of a production Exchange organization into a lab file.

The package is pure (no Twisted): readers for the two formats an admin can export
(:mod:`~labsim.importer.formatlist` for ``Format-List`` text, :mod:`~labsim.importer.clixml` for
``Export-Clixml``), :mod:`~labsim.importer.sources` that recognizes each file by its content,
:mod:`~labsim.importer.addresses` (the deterministic map of real addresses to 127.x),
:mod:`~labsim.importer.builder` (exports → organizations, partners, setup lines and the report)
and :mod:`~labsim.importer.writer` (the lab file text). ``docs/import.md`` is the user guide.
"""

from __future__ import annotations

from labsim.importer.builder import ImportOptions, ImportResult, build_import
from labsim.importer.sources import read_exports

__all__ = ["ImportOptions", "ImportResult", "build_import", "read_exports"]
