"""The pure core imports no Twisted (DESIGN.md §1.3, §2): each package is imported, with all
its submodules, in a fresh interpreter that then reports whether ``twisted`` got loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PURE_PACKAGES = ["model", "pki", "smtp", "policy", "ems", "logs", "delivery", "store"]

CHECK = r"""
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
names = [package.__name__]
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
    names.append(info.name)
loaded = sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))
print(json.dumps({"modules": names, "twisted": loaded}))
"""


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_package_imports_no_twisted(package: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, f"labsim.{package}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["modules"]) >= 2, report["modules"]  # the walk did find submodules
    assert report["twisted"] == [], f"labsim.{package} pulled in Twisted: {report['twisted'][:5]}"


def test_the_check_would_notice_twisted() -> None:
    """The same probe on the engine, which is Twisted code, reports it (the check can fail)."""
    result = subprocess.run(
        [sys.executable, "-c", CHECK, "labsim.engine"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "twisted.internet" in json.loads(result.stdout.strip().splitlines()[-1])["twisted"]
