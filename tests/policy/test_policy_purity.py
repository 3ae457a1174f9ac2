"""labsim.policy is pure: standard library and the pure labsim layers only (DESIGN.md §2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import labsim.policy

POLICY_DIR = Path(labsim.policy.__file__).parent
ALLOWED_LABSIM = ("labsim.model", "labsim.pki", "labsim.smtp", "labsim.policy")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("labsim.policy")
            elif node.module:
                names.append(node.module)
    return names


def test_policy_sources_import_only_stdlib_and_pure_layers() -> None:
    files = sorted(POLICY_DIR.glob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "__future__" or top in sys.stdlib_module_names:
                continue
            assert name.startswith(ALLOWED_LABSIM), f"{path.name} imports {name}"


def test_importing_policy_loads_no_twisted() -> None:
    modules = sorted(
        f"labsim.policy.{p.stem}" for p in POLICY_DIR.glob("*.py") if p.stem != "__init__"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'twisted' or m.startswith('twisted.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
