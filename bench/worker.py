"""Measurements that need a fresh process; ``run.py`` starts ``python -m bench.worker CASE ...``
with the repository as working directory and reads one JSON object from the last stdout line.

    python -m bench.worker start CERT_FOLDER     import time, then Lab.start(default_lab())
    python -m bench.worker mesh SIZE CERT_FOLDER one full-mesh run (bench.lib.mesh_run)
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def _start(cert_folder: Path) -> dict[str, float]:
    started = time.perf_counter()
    from labsim.lab import Lab
    from labsim.model.lab import default_lab
    from labsim.reactor import default_reactor

    default_reactor()  # installs Twisted's reactor: part of the imports a lab needs
    imported = time.perf_counter()
    lab = Lab.start(default_lab(), cert_folder=cert_folder)
    ready = time.perf_counter()
    lab.stop()
    return {
        "import_s": imported - started,
        "start_s": ready - imported,
        "process_to_ready_s": ready - _T0,
    }


def _mesh(size: int, cert_folder: Path) -> dict[str, object]:
    from bench.lib import mesh_run
    from labsim.reactor import default_reactor

    default_reactor()
    return mesh_run(size, cert_folder)


def main(argv: list[str]) -> int:
    """Run one case; print its JSON on the last line."""
    if len(argv) == 2 and argv[0] == "start":
        result: dict[str, object] = dict(_start(Path(argv[1])))
    elif len(argv) == 3 and argv[0] == "mesh":
        result = _mesh(int(argv[1]), Path(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
