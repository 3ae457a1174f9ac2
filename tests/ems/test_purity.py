"""labsim.ems is pure: importing it (and running a block) loads neither Twisted nor pyOpenSSL."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import labsim.ems
from labsim.ems.shell import Shell
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'OpenSSL'))
print(','.join(loaded))
"""


def test_import_does_not_load_twisted_or_openssl() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_sources_import_only_allowed_packages() -> None:
    import ast
    from pathlib import Path

    import labsim.ems

    root = Path(labsim.ems.__file__).parent
    # Downward in DESIGN.md §2's layers: tracking records (Get-MessageTrackingLog), event log
    # entries (Get-EventLog) and the server build the headers carry (Get-ExchangeServer) are
    # pure too.
    allowed_labsim = (
        "labsim.ems",
        "labsim.model",
        "labsim.pki",
        "labsim.errors",
        "labsim.limits",
        "labsim.logs.tracking",
        "labsim.logs.event_log",
        "labsim.policy.headers",
    )
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in ("twisted", "OpenSSL", "cryptography"), f"{path}: {name}"
                if top == "labsim":
                    assert name.startswith(allowed_labsim), f"{path}: {name}"
