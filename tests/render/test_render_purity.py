"""labsim.render is pure (DESIGN.md §2, §9): importing all of it loads no Twisted, so the web
console and the HTML report share it without pulling in the engine."""

from __future__ import annotations

import subprocess
import sys


def test_render_imports_no_twisted() -> None:
    code = (
        "import sys\n"
        "import labsim.render.paths, labsim.render.topology, labsim.render.sequence\n"
        "import labsim.render.html, labsim.render.report, labsim.render.svg\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'twisted'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
