"""labsim.delivery is pure: importing it in a fresh interpreter loads no Twisted."""

from __future__ import annotations

import subprocess
import sys


def test_import_loads_no_twisted() -> None:
    code = (
        "import sys, labsim.delivery, labsim.delivery.testing\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'OpenSSL'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
