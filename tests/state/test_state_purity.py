"""labsim.store is below the Twisted line: its modules (the SQLite edge included) import no
Twisted, so the engine and the lab can call it from the reactor thread without a cycle."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = r"""
import importlib, json, pkgutil, sys
package = importlib.import_module("labsim.store")
names = [package.__name__]
for info in pkgutil.walk_packages(package.__path__, "labsim.store."):
    importlib.import_module(info.name)
    names.append(info.name)
from labsim.store import records
records.changes_configuration("Set-TransportConfig -MaxHopCount 30")
loaded = sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))
print(json.dumps({"modules": names, "twisted": loaded}))
"""


def test_the_store_imports_no_twisted() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"labsim.store.records", "labsim.store.database"} <= set(report["modules"])
    assert report["twisted"] == [], report["twisted"][:5]
