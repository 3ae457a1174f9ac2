"""The importer (with all its submodules) and the matrix model are pure (DESIGN.md §1.3):
importing them in a fresh interpreter loads no Twisted (the probe of
tests/integration/test_e2e_purity.py, which already shows it would notice)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.test_e2e_purity import CHECK

MODULE_CHECK = r"""
import importlib, json, sys
importlib.import_module(sys.argv[1])
loaded = sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))
print(json.dumps({"twisted": loaded}))
"""


@pytest.mark.parametrize(
    ("check", "module"), [(CHECK, "labsim.importer"), (MODULE_CHECK, "labsim.matrix")]
)
def test_imports_no_twisted(check: str, module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", check, module], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["twisted"] == [], f"{module} pulled in Twisted: {report['twisted'][:5]}"
