"""labsim.pki is below the Twisted line: it must work without Twisted and without pyOpenSSL.

A plain ``sys.modules`` check cannot be used for OpenSSL: ``service_identity``'s package
``__init__`` imports its own pyOpenSSL adapter whenever pyOpenSSL is installed. So the test runs
the PKI in a fresh interpreter where importing ``twisted`` or ``OpenSSL`` fails, and also checks
the source for direct imports.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import labsim.pki

FORBIDDEN = ("twisted", "OpenSSL")


def test_no_module_imports_twisted_or_openssl() -> None:
    for path in Path(labsim.pki.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_pki_works_where_twisted_and_openssl_cannot_be_imported() -> None:
    code = (
        "import sys\n"
        "from datetime import datetime, UTC\n"
        "for name in ('twisted', 'OpenSSL'):\n"
        "    sys.modules[name] = None  # any import of it now raises ImportError\n"
        "import labsim.pki as pki\n"
        "import labsim.pki.files, labsim.pki.selection, labsim.pki.store, labsim.pki.validation\n"
        "at = datetime(2024, 3, 1, tzinfo=UTC)\n"
        "ca = pki.create_root_ca('Adatum Root CA', organization='Adatum', at=at)\n"
        "cert = ca.issue('mail.adatum.com', dns_names=('*.adatum.com',), at=at)\n"
        "chosen = pki.select_starttls_certificate([cert], fqdn='x.adatum.com', at=at)\n"
        "assert chosen.certificate == cert\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'OpenSSL')\n"
        "                and sys.modules[m] is not None)\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_pki_does_not_import_twisted() -> None:
    code = (
        "import sys, labsim.pki; print(','.join(m for m in sys.modules if m.startswith('twisted')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
