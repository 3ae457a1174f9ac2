"""labsim.logs is below the Twisted line: standard library and ``cryptography`` only (DESIGN §2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import labsim.logs

ALLOWED_THIRD_PARTY = {"cryptography", "labsim"}


def test_sources_import_only_the_standard_library_and_cryptography() -> None:
    for path in Path(labsim.logs.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                    f"{path.name} imports {name}"
                )
                if top == "labsim":
                    # Only the pure layers below logs (itself and the model) may be used.
                    assert name.startswith(("labsim.logs", "labsim.model")), name


def test_logs_work_where_twisted_and_openssl_cannot_be_imported() -> None:
    code = (
        "import sys\n"
        "from datetime import datetime, UTC\n"
        "for name in ('twisted', 'OpenSSL'):\n"
        "    sys.modules[name] = None  # any import of it now raises ImportError\n"
        "import labsim.logs as logs\n"
        "at = datetime(2026, 11, 30, tzinfo=UTC)\n"
        "store = logs.ProtocolLogStore()\n"
        "s = logs.ProtocolLogSession.for_send_connector(store.log('EX1', 'Hub', 'send').append,\n"
        "    connector='c', session_id=logs.SessionIdAllocator.started_at(at).allocate(),\n"
        "    local_endpoint='127.0.0.1:1', remote_endpoint='127.0.0.1:25')\n"
        "s.connect(at)\n"
        "assert len(store.lines('EX1', 'send')) == 1\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'OpenSSL')\n"
        "                and sys.modules[m] is not None)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_import_does_not_load_twisted() -> None:
    code = "import sys, labsim.logs; print(','.join(m for m in sys.modules if m.startswith('twisted')))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
