"""CPU per message of the live-lab case (issue 9), measured in the ``labsim up`` process itself.

    python bench/profile_live.py                    # 2 clients x 200 messages, CPU ms/msg
    python bench/profile_live.py --profile --top 40 # the same under cProfile (lab process only)

Wall throughput on a shared 2-core host is noisy; the lab's own CPU time per message is not.
The lab is ``labsim up`` set up as ``bench/live.py`` does (Partner receive connector on
ADATUM-CAS1, client certificate, proxy to ADATUM-MBX1). After a warm-up of a few messages
(not counted), the lab process's user+system CPU time (``/proc/PID/stat``, all threads) and
its main thread's (the reactor's) are read before and after the clients run. The banner probes of ``bench/live.py`` are left out here:
their sessions would count in the lab's CPU, and their number follows the wall time. With ``--profile`` the lab process runs under a cProfile
that a signal switches on (SIGUSR1, before the clients) and off with a dump (SIGUSR2, after
them), so start-up and set-up are not in the profile; the text and a .prof file go under
bench/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pstats
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for extra in (REPO, REPO / "tests", REPO / "tests" / "live", REPO / "tests" / "interop"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# The lab under a profiler that SIGUSR1 starts and SIGUSR2 stops (dumping to argv[1]).
PROFILED = r"""
import cProfile, signal, sys, time
dump = sys.argv.pop(1)
# CPU time of the reactor's thread, not wall time: on a shared host a wall-clock profile
# charges a C call with the time the process waited for a core.
profiler = cProfile.Profile(time.thread_time)
signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())
def _stop(*_):
    profiler.disable()
    profiler.dump_stats(dump)
    open(dump + ".done", "w").close()
signal.signal(signal.SIGUSR2, _stop)
from labsim.cli import main
main()
"""


def lab_cpu_seconds(pid: int, *, main_thread: bool = False) -> tuple[float, float]:
    """User and system CPU time of a process, all threads (``/proc/PID/stat``), or of its
    main thread only (``/proc/PID/task/PID/stat``: the reactor's thread)."""
    stat = f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat"
    fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def callgrind_instructions(results: Path) -> int:
    """Instructions counted in the dump files callgrind_control -d wrote (the total, Ir)."""
    total = 0
    for dump in results.glob("callgrind-live.out*"):
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("summary:") or line.startswith("totals:"):
                total += int(line.split()[1])
                break
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200, help="per client")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--perf", action="store_true", help="also `perf record -g` the lab")
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="run the lab under valgrind's callgrind, counting instructions only while the "
        "clients run (load-independent; about 50x slower)",
    )
    args = parser.parse_args(argv)

    import live_helpers

    from bench import live

    folder = Path(tempfile.mkdtemp(prefix="labsim-bench-profile-live-"))
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    dump = results / "profile-live.prof"
    done = Path(str(dump) + ".done")
    done.unlink(missing_ok=True)
    if args.profile:
        live_helpers.LABSIM = [sys.executable, "-c", PROFILED, str(dump)]
    elif os.environ.get("LABSIM_BENCH_WRAPPER"):
        live_helpers.LABSIM = [sys.executable, os.environ["LABSIM_BENCH_WRAPPER"]]

    callgrind_out = results / "callgrind-live.out"
    if args.callgrind:
        for old in results.glob("callgrind-live.out*"):
            old.unlink()
        live_helpers.LABSIM = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={callgrind_out}",
            *live_helpers.LABSIM,
        ]
        # Start-up under valgrind takes longer than the helpers' usual bound.
        live_helpers.BOUND = 900.0
        live_helpers.LabsimProcess.read_until.__defaults__ = (900.0,)
    lab = live_helpers.LiveLab(folder)
    try:
        live_helpers.partner_setup(lab)
        cert = lab.certificate("TREY-CAS1")
        params = {
            "host": "127.0.10.1",
            "port": lab.port("ADATUM-CAS1"),
            "source": "127.0.20.1",
            "cafile": lab.root("Adatum"),
            "cert": cert["chain"],
            "key": cert["key"],
            "rcpt": "ed@adatum.com",
            "count": args.warmup,
        }
        live._clients(params, 1, probe_banner=False)
        pid = lab.process.proc.pid
        if args.profile or os.environ.get("LABSIM_BENCH_WRAPPER"):
            os.kill(pid, signal.SIGUSR1)
        if args.callgrind:
            subprocess.run(
                ["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True
            )
        user0, system0 = lab_cpu_seconds(pid)
        main0 = sum(lab_cpu_seconds(pid, main_thread=True))
        if args.perf:
            recorder = subprocess.Popen(
                ["perf", "record", "-g", "-o", str(results / "perf-live.data"), "-p", str(pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        rate, sent, _ = live._clients(
            {**params, "count": args.messages}, args.clients, probe_banner=False
        )
        user1, system1 = lab_cpu_seconds(pid)
        main_cpu = sum(lab_cpu_seconds(pid, main_thread=True)) - main0
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # The client processes have exited and been waited for; the lab has not.
        clients_cpu = (children1.ru_utime + children1.ru_stime) - (
            children0.ru_utime + children0.ru_stime
        )
        if args.perf:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(60)
        user, system = user1 - user0, system1 - system0
        instructions = None
        if args.callgrind:
            subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
            subprocess.run(
                ["callgrind_control", "-i", "off", str(pid)], check=True, capture_output=True
            )
            instructions = callgrind_instructions(results)
        cpu = user + system
        if os.environ.get("LABSIM_BENCH_WRAPPER"):
            os.kill(pid, signal.SIGUSR2)
        if args.profile:
            os.kill(pid, signal.SIGUSR2)
            deadline = time.monotonic() + 60
            while not done.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        inbox = lab.sh("Adatum", ":inbox ed@adatum.com")
        secured = inbox.count("✔ domain secured")
        expected = sent + args.warmup
        if secured != expected:
            raise RuntimeError(f"labsim delivered {secured} of {expected} domain secured")
    finally:
        lab.close()
    head = (
        f"live lab: {sent} messages ({args.clients} clients), {rate:.1f} msgs/s, "
        f"lab CPU {cpu:.2f} s = {cpu / sent * 1000:.2f} ms/msg (user {user / sent * 1000:.2f}, "
        f"system {system / sent * 1000:.2f}; the reactor's thread {main_cpu / sent * 1000:.2f})"
        + (f"; {instructions / sent / 1e6:.2f} M instructions/msg" if instructions else "")
        + f"; the smtplib clients {clients_cpu / sent * 1000:.2f} ms/msg"
        + f"{' (under cProfile)' if args.profile else ''}; load {os.getloadavg()[0]:.2f}\n"
    )
    print(
        json.dumps(
            {
                "rate": rate,
                "sent": sent,
                "cpu_s": cpu,
                "cpu_ms_per_msg": cpu / sent * 1000,
                "main_thread_cpu_ms_per_msg": main_cpu / sent * 1000,
                "clients_cpu_ms_per_msg": clients_cpu / sent * 1000,
                "instructions_per_msg": instructions / sent if instructions else None,
            }
        )
    )
    out = io.StringIO()
    out.write(head)
    if args.profile:
        for key in ("tottime", "cumulative"):
            out.write(f"\n--- top {args.top} by {key} ---\n")
            pstats.Stats(str(dump), stream=out).sort_stats(key).print_stats(args.top)
        (results / "profile-live.txt").write_text(out.getvalue())
        print(out.getvalue())
    else:
        print(head)
    return 0


if __name__ == "__main__":
    sys.exit(main())
