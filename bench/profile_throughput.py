"""Profile the throughput (b) case with cProfile: N messages submitted at once on ADATUM-MBX1,
the lab run until idle (bench.lib.submit_batch + Lab.run_until_idle).

    python bench/profile_throughput.py              # N = 200
    python bench/profile_throughput.py --messages 500 --top 40
    python bench/profile_throughput.py --case a     # one session per message instead

Prints wall time, CPU time (the difference is time the process waited in epoll), and the top
functions by own time and by cumulative time; writes the same text and a .prof file (for
snakeviz or pstats) under bench/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import lib  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--case", choices=("a", "b"), default="b")
    args = parser.parse_args(argv)
    lab = lib.throughput_lab_started(lib.temp_folder("profile"))
    profiler = cProfile.Profile()
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        profiler.enable()
        if args.case == "b":
            lib.submit_batch(lab, args.messages, prefix="profile")
            lab.run_until_idle()
        else:
            for n in range(args.messages):
                lab.send(
                    mail_from=lib.SENDERS[n % len(lib.SENDERS)],
                    to=[lib.RECIPIENTS[n % len(lib.RECIPIENTS)]],
                    subject=f"profile-{n}",
                )
        profiler.disable()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        delivered = sum(len(lab.inbox(r)) for r in lib.RECIPIENTS) - 1
    finally:
        lab.stop()
    out = io.StringIO()
    out.write(
        f"throughput ({args.case}) under cProfile: {args.messages} messages, {delivered} delivered; "
        f"wall {wall:.2f} s, CPU {cpu:.2f} s ({args.messages / wall:.1f} msgs/s under the profiler)\n\n"
    )
    for key in ("tottime", "cumulative"):
        out.write(f"--- top {args.top} by {key} ---\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(key).print_stats(args.top)
    text = out.getvalue()
    print(text)
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"profile-throughput-{args.case}.txt").write_text(text)
    profiler.dump_stats(str(results / f"profile-throughput-{args.case}.prof"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
