"""labsim's benchmark runner: every figure of issue 4 with its target, as a table and as JSON.

    python bench/run.py                    # everything, about 3-4 minutes on 2 cores
    python bench/run.py --quick            # a fast subset (about 30 s)
    python bench/run.py --only throughput  # one case (repeat --only or use commas for more)

Each figure is the median of several runs, shown with its min and max. Results go to
``bench/results/latest.json`` (git-ignored). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import lib  # noqa: E402
from bench.lib import Target, summarize, verdict  # noqa: E402

# The scale case runs last: its meshes keep both CPUs busy for about a minute, and on a shared
# or burstable host the cases after such a burst measured the host's slowdown (the two-day retry
# case took 1.2 s after it and 0.7 s without it, same code).
CASES = (
    "floor",
    "start",
    "walkthrough",
    "throughput",
    "timetravel",
    "live",
    "scale",
    "suite",
    "matrix",
)
CATALOG = REPO / "scenarios"
WALKTHROUGH = REPO / "scenarios" / "domain-security-2013.toml"
TIME_TRAVEL_SCENARIO = REPO / "bench" / "scenarios" / "two-days-to-ndr.toml"
RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class Plan:
    """How many runs and how much work per case (``--quick`` shrinks it)."""

    floor_runs: int = 5
    floor_handshakes: int = 300
    start_runs: int = 5
    start_process_runs: int = 3
    walkthrough_runs: int = 5
    throughput_runs: int = 5
    throughput_a_messages: int = 30
    throughput_b_messages: int = 200
    timetravel_runs: int = 3
    live_runs: int = 3
    live_messages_per_client: int = 200
    scale_sizes: tuple[tuple[int, int], ...] = ((10, 3), (25, 2), (50, 1))
    """(organizations, runs): the 50 mesh takes about 100 s a run, so one run fits the budget."""
    suite_runs: int = 3


QUICK = Plan(
    floor_runs=3,
    floor_handshakes=100,
    start_runs=3,
    start_process_runs=2,
    walkthrough_runs=2,
    throughput_runs=3,
    throughput_a_messages=10,
    throughput_b_messages=50,
    timetravel_runs=1,
    live_runs=1,
    live_messages_per_client=50,
    scale_sizes=((10, 1),),
    suite_runs=1,
)


@dataclass
class Row:
    """One line of the table (one figure)."""

    case: str
    figure: str
    unit: str
    stats: dict[str, Any] | None
    target: Target | None = None
    note: str = ""
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return None if self.stats is None else float(self.stats["median"])

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "figure": self.figure,
            "unit": self.unit,
            **(self.stats or {"median": None, "min": None, "max": None, "runs": 0, "values": []}),
            "target": self.target.text if self.target else None,
            "met": None if self.target is None else self.target.met(self.median),
            "note": self.note,
            "error": self.error,
            **({"extra": self.extra} if self.extra else {}),
        }


@dataclass
class Context:
    plan: Plan
    log: Callable[[str], None]
    floor_median: float | None = None
    rows: list[Row] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------------------------


def case_floor(ctx: Context) -> None:
    endpoints = lib.floor_endpoints()
    negotiated = lib.check_floor_handshake(endpoints)
    lib.floor_rate(endpoints, 20)  # warm-up
    rates, cpu = [], []
    for _ in range(ctx.plan.floor_runs):
        rate, cpu_ms = lib.floor_rate(endpoints, ctx.plan.floor_handshakes)
        rates.append(rate)
        cpu.append(cpu_ms)
    ctx.floor_median = summarize(rates)["median"]
    note = f"{negotiated['protocol']} {negotiated['cipher']}, ECDSA P-256, client certificate"
    ctx.rows.append(
        Row("floor", "mutual-TLS handshakes in memory", "handshakes/s", summarize(rates), note=note)
    )
    ctx.rows.append(Row("floor", "CPU per handshake pair", "ms", summarize(cpu)))


def _worker(args: list[str], timeout: float) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    # A 50-organization burst keeps the lab busy for more than the default 60 s stuck guard.
    env.setdefault("LABSIM_STUCK_SECONDS", "600")
    proc = subprocess.run(
        [sys.executable, "-m", "bench.worker", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"worker {' '.join(args)} exited {proc.returncode}: {tail[0]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def case_start(ctx: Context) -> None:
    target = Target("<=", 0.5, "≤ 0.5 s")
    lib.start_default_lab(lib.temp_folder("warm"))  # first start pays lazy imports: discarded
    empty = [lib.start_default_lab(lib.temp_folder("start")) for _ in range(ctx.plan.start_runs)]
    reused_folder = lib.temp_folder("start-reused")
    lib.start_default_lab(reused_folder)
    reused = [lib.start_default_lab(reused_folder) for _ in range(ctx.plan.start_runs)]
    ctx.rows.append(
        Row("start", "Lab.start, empty cert folder (in process)", "s", summarize(empty), target)
    )
    ctx.rows.append(
        Row("start", "Lab.start, reused cert folder (in process)", "s", summarize(reused), target)
    )
    for label, fresh in (("empty", True), ("reused", False)):
        imports, starts, totals = [], [], []
        folder = lib.temp_folder("proc-reused")
        if not fresh:
            _worker(["start", str(folder)], 60)
        for _ in range(ctx.plan.start_process_runs):
            run_folder = lib.temp_folder("proc") if fresh else folder
            result = _worker(["start", str(run_folder)], 60)
            imports.append(result["import_s"])
            starts.append(result["start_s"])
            totals.append(result["process_to_ready_s"])
        ctx.rows.append(
            Row(
                "start",
                f"Lab.start after the imports, fresh process, {label} certs",
                "s",
                summarize(starts),
                target,
            )
        )
        if fresh:
            ctx.rows.append(
                Row(
                    "start",
                    "imports (labsim.lab + reactor), fresh process",
                    "s",
                    summarize(imports),
                )
            )
        ctx.rows.append(
            Row("start", f"interpreter start to lab ready, {label} certs", "s", summarize(totals))
        )


def _labsim_command() -> list[str]:
    script = Path(sys.executable).parent / "labsim"
    if script.is_file():
        return [str(script)]
    found = shutil.which("labsim")
    if found:
        return [found]
    return [sys.executable, "-c", "from labsim.cli import main; main()"]


def _run_scenario(path: Path, cert_folder: Path) -> float:
    # `labsim run` picks a free port offset itself (auto, clear of the ephemeral range).
    command = [*_labsim_command(), "run", str(path), "--certs", str(cert_folder)]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"labsim run {path.name} exited {proc.returncode}: {' | '.join(last)}")
    return elapsed


def case_walkthrough(ctx: Context) -> None:
    target = Target("<=", 1.5, "≤ 1.5 s")
    reused_folder = lib.temp_folder("walk-reused")
    _run_scenario(WALKTHROUGH, reused_folder)  # populates the folder, warms the file cache
    reused = [_run_scenario(WALKTHROUGH, reused_folder) for _ in range(ctx.plan.walkthrough_runs)]
    empty = [
        _run_scenario(WALKTHROUGH, lib.temp_folder("walk"))
        for _ in range(ctx.plan.walkthrough_runs)
    ]
    command = " ".join(Path(c).name for c in _labsim_command())
    ctx.rows.append(
        Row(
            "walkthrough",
            "labsim run domain-security-2013.toml, reused certs",
            "s",
            summarize(reused),
            target,
            note=f"{command} (whole process)",
        )
    )
    ctx.rows.append(
        Row(
            "walkthrough",
            "labsim run domain-security-2013.toml, empty certs",
            "s",
            summarize(empty),
            target,
        )
    )


def _ensure_floor(ctx: Context) -> float:
    if ctx.floor_median is None:
        ctx.log("  (throughput needs the floor: measuring it)")
        case_floor(ctx)
    assert ctx.floor_median is not None
    return ctx.floor_median


def case_throughput(ctx: Context) -> None:
    floor = _ensure_floor(ctx)
    plan = ctx.plan
    a = [
        lib.throughput_one_by_one(lib.temp_folder("tp-a"), plan.throughput_a_messages)
        for _ in range(plan.throughput_runs)
    ]
    b = [
        lib.throughput_batch(lib.temp_folder("tp-b"), plan.throughput_b_messages)
        for _ in range(plan.throughput_runs)
    ]

    def handshakes(runs: list[lib.Throughput], count: int) -> str:
        full = sum(r.full_handshakes for r in runs) / len(runs)
        resumed = sum(r.resumed_handshakes for r in runs) / len(runs)
        return (
            f"TLS sessions per message: {full / count:.2f} full + {resumed / count:.2f} resumed "
            "handshakes"
        )

    a_note = handshakes(a, plan.throughput_a_messages)
    b_note = handshakes(b, plan.throughput_b_messages)
    a_cpu = [run.cpu_ms for run in a]
    b_cpu = [run.cpu_ms for run in b]
    a_rates = [run.rate for run in a]
    b_rates = [run.rate for run in b]
    ctx.rows.append(
        Row(
            "throughput",
            f"(a) one session per message, {plan.throughput_a_messages} msgs",
            "msgs/s",
            summarize(a_rates),
            note=f"Adatum MBX → Trey CAS → Trey MBX, domain secured; {a_note}",
        )
    )
    ctx.rows.append(
        Row(
            "throughput",
            "(a) ratio to the floor",
            "× floor",
            summarize([v / floor for v in a_rates]),
            Target(">=", 0.5, "≥ 0.5 × floor"),
        )
    )
    ctx.rows.append(Row("throughput", "(a) CPU per message", "ms", summarize(a_cpu)))
    ctx.rows.append(
        Row(
            "throughput",
            f"(b) {plan.throughput_b_messages} msgs submitted at once (reuse)",
            "msgs/s",
            summarize(b_rates),
            note=b_note,
        )
    )
    ctx.rows.append(
        Row(
            "throughput",
            "(b) ratio to the floor",
            "× floor",
            summarize([v / floor for v in b_rates]),
            Target(">=", 1.5, "≥ 1.5 × floor"),
        )
    )
    ctx.rows.append(Row("throughput", "(b) CPU per message", "ms", summarize(b_cpu)))


def case_timetravel(ctx: Context) -> None:
    results = [lib.time_travel(lib.temp_folder("tt")) for _ in range(ctx.plan.timetravel_runs)]
    ctx.rows.append(
        Row(
            "timetravel",
            "lab.advance(2 days) of retries into an NDR",
            "s",
            summarize([r["advance_s"] for r in results]),
            Target("<=", 1.0, "≤ 1 s"),
            note=(
                f"{int(results[0]['retries'])} retries, 454 4.7.5, NDR checked; TLS: "
                f"{int(results[0]['full_handshakes'])} full + "
                f"{int(results[0]['resumed_handshakes'])} resumed handshakes (sessions are "
                "cached 10 lab hours)"
            ),
        )
    )
    ctx.rows.append(
        Row(
            "timetravel",
            "same scenario, start to NDR (in process)",
            "s",
            summarize([r["total_s"] for r in results]),
        )
    )
    for failure, what in (
        ("refused", "partner server down (connection refused)"),
        ("no-starttls", "partner offers no STARTTLS (451 5.7.3)"),
    ):
        cheap = [
            lib.time_travel_cheap_failure(lib.temp_folder("tt-" + failure), failure=failure)
            for _ in range(ctx.plan.timetravel_runs)
        ]
        ctx.rows.append(
            Row(
                "timetravel",
                f"2 days of retries, {what}",
                "s",
                summarize(cheap),
                Target("<=", 1.0, "≤ 1 s"),
            )
        )
    folder = lib.temp_folder("tt-proc")
    process = [_run_scenario(TIME_TRAVEL_SCENARIO, folder) for _ in range(ctx.plan.timetravel_runs)]
    ctx.rows.append(
        Row(
            "timetravel",
            f"labsim run {TIME_TRAVEL_SCENARIO.name}",
            "s",
            summarize(process),
            note="whole process, expect.ndr",
        )
    )


def case_live(ctx: Context) -> None:
    from bench import live

    plan = ctx.plan
    n = plan.live_messages_per_client
    labsim_runs = [live.labsim_rate(n) for _ in range(plan.live_runs)]
    postfix_runs = [live.postfix_rate(n) for _ in range(plan.live_runs)]
    labsim_rates = [r["rate"] for r in labsim_runs]
    latency = [v for r in labsim_runs for v in r["latency"]]
    ctx.rows.append(
        Row(
            "live",
            f"labsim up: 2 smtplib clients × {n} msgs, 1 per connection",
            "msgs/s",
            summarize(labsim_rates),
            note="Partner connector on ADATUM-CAS1, client certificate, proxied to ADATUM-MBX1",
        )
    )
    ctx.rows.append(
        Row(
            "live",
            "banner latency under that load (labsim)",
            "ms",
            summarize([v * 1000 for v in latency]),
            note=f"{len(latency)} probes",
        )
    )
    if any(r is None for r in postfix_runs):
        ctx.rows.append(
            Row("live", "Postfix smtpd, same clients", "msgs/s", None, note="Postfix not installed")
        )
        return
    postfix_rates = [r["rate"] for r in postfix_runs if r is not None]
    postfix_latency = [v for r in postfix_runs if r is not None for v in r["latency"]]
    ctx.rows.append(
        Row(
            "live",
            f"Postfix smtpd: same clients × {n} msgs, same TLS settings",
            "msgs/s",
            summarize(postfix_rates),
            note="smtpd_tls_ask_ccert, delivery to a Maildir",
        )
    )
    ctx.rows.append(
        Row(
            "live",
            "banner latency under that load (Postfix)",
            "ms",
            summarize([v * 1000 for v in postfix_latency]),
        )
    )
    ctx.rows.append(
        Row(
            "live",
            "labsim / Postfix",
            "× Postfix",
            summarize([a / b for a, b in zip(labsim_rates, postfix_rates, strict=True)]),
            Target(">=", 1.0, "≥ 1.0 × Postfix smtpd"),
        )
    )


def case_scale(ctx: Context) -> None:
    per_size: dict[int, dict[str, Any]] = {}
    for size, runs in ctx.plan.scale_sizes:
        results, errors = [], []
        for _ in range(runs):
            ctx.log(f"  mesh of {size} organizations ...")
            try:
                result = _worker(["mesh", str(size), str(lib.temp_folder(f"mesh{size}"))], 280)
            except Exception as err:  # recorded, never hidden
                errors.append(f"{type(err).__name__}: {err}")
                continue
            results.append(result)
            if (
                result.get("error")
                or result["delivered"] != result["expected"]
                or result["domain_secured"] != result["expected"]
            ):
                errors.append(
                    f"{result.get('error') or ''} delivered {result['delivered']}/{result['expected']}, "
                    f"domain secured {result['domain_secured']}, still queued {result['queued_errors']}".strip()
                )
        error = "; ".join(errors) or None
        big = size == 50
        pairs = size * (size - 1)
        if not results:
            ctx.rows.append(Row("scale", f"{size} orgs: run", "", None, error=error))
            continue
        per_size[size] = {
            key: summarize([float(r[key]) for r in results])
            for key in ("start_s", "deliver_s", "submit_s", "peak_rss_mb", "rss_after_start_mb")
            if all(key in r for r in results)
        }
        stats = per_size[size]
        ctx.rows.append(
            Row(
                "scale",
                f"{size} orgs: start",
                "s",
                stats["start_s"],
                Target("<=", 5, "≤ 5 s") if big else None,
            )
        )
        ctx.rows.append(
            Row(
                "scale",
                f"{size} orgs: {pairs} pair messages delivered",
                "s",
                stats["deliver_s"],
                Target("<=", 30, "≤ 30 s") if big else None,
                note=f"{results[-1]['delivered']}/{pairs} delivered, {results[-1]['domain_secured']} domain secured; submit {stats['submit_s']['median']:.2f} s of it",
                error=error,
            )
        )
        ctx.rows.append(
            Row(
                "scale",
                f"{size} orgs: peak RSS",
                "MiB",
                stats["peak_rss_mb"],
                Target("<=", 1024, "≤ 1 GiB") if big else None,
            )
        )
        if "rss_after_start_mb" in stats:
            ctx.rows.append(
                Row(
                    "scale",
                    f"{size} orgs: RSS after start (before mail)",
                    "MiB",
                    stats["rss_after_start_mb"],
                )
            )
    if 10 in per_size and 50 in per_size:
        linear = Target("<=", 5.0, "≤ 5× (linear)")
        for key, label, target, note in (
            ("start_s", "start", linear, ""),
            ("peak_rss_mb", "peak RSS", linear, "includes the ~50 MiB interpreter"),
            ("rss_after_start_mb", "RSS after start", linear, ""),
            ("deliver_s", "all-pairs delivery time", None, "pairs grow 90 → 2450 (27.2×)"),
        ):
            if key not in per_size[10] or key not in per_size[50]:
                continue
            ratio = per_size[50][key]["median"] / per_size[10][key]["median"]
            ctx.rows.append(
                Row(
                    "scale",
                    f"growth 10→50: {label}",
                    "×",
                    summarize([ratio]),
                    target,
                    note=note or "ratio of medians",
                )
            )


def _timed(command: list[str], what: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        last = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise RuntimeError(f"{what} exited {proc.returncode}: {' | '.join(last)}")
    return elapsed


def _catalog_copies(copies: int) -> list[Path]:
    """``copies`` copies of the catalog in a temporary folder, with the lab files they name."""
    root = lib.temp_folder("catalog")
    shutil.copytree(REPO / "labs", root / "labs")
    folders = []
    for n in range(copies):
        folder = root / f"scenarios-{n + 1}"
        shutil.copytree(CATALOG, folder)
        folders.append(folder)
    return folders


def case_suite(ctx: Context) -> None:
    """The scenario catalog: `labsim run` against `pytest -n 2` on the same files (issue 13).

    Whole processes, wall time, so each side pays its interpreter and imports: labsim run one,
    pytest -n 2 a controller and two workers that each import labsim and collect every file.
    The catalog alone and four copies of it show how that fixed cost weighs.
    """
    speedup_target = Target(">=", 1.7, "≥ 1.7× on 2 cores")
    for copies in (1, 4):
        paths = [str(CATALOG)] if copies == 1 else [str(p) for p in _catalog_copies(copies)]
        certs = lib.temp_folder("suite")
        serial_cmd = [*_labsim_command(), "run", *paths, "--certs", str(certs)]
        xdist_cmd = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
            "--labsim-certs", str(certs), *paths,
        ]  # fmt: skip
        _timed(serial_cmd, "labsim run")  # warm-up: certificates, file cache
        _timed(xdist_cmd, "pytest -n 2")
        serial, parallel = [], []
        for _ in range(ctx.plan.suite_runs):
            serial.append(_timed(serial_cmd, "labsim run"))
            parallel.append(_timed(xdist_cmd, "pytest -n 2"))
        files = len(sorted(CATALOG.rglob("*.toml"))) * copies
        label = "the catalog" if copies == 1 else f"the catalog x{copies}"
        ctx.rows.append(
            Row("suite", f"labsim run, {label} ({files} files)", "s", summarize(serial))
        )
        ctx.rows.append(Row("suite", f"pytest -n 2, {label}", "s", summarize(parallel)))
        ctx.rows.append(
            Row(
                "suite",
                f"speed-up of pytest -n 2 over labsim run, {label}",
                "x",
                summarize([s / p for s, p in zip(serial, parallel, strict=True)]),
                speedup_target if copies == 1 else None,
                note="whole processes, wall time, reused certificate folders",
            )
        )


def case_matrix(ctx: Context) -> None:
    """The partner matrix of one organization with 20 partner domains (40 messages, issue 13):
    a 21-organization full mesh (lib.mesh_lab), started, then labsim.matrix's probes of its
    first organization sent and classified; every row must come out domain secured."""
    from labsim import matrix
    from labsim.lab import Lab

    definition = lib.mesh_lab(21)
    certs = lib.temp_folder("matrix")
    totals, matrices = [], []
    for _ in range(ctx.plan.suite_runs):
        started = time.perf_counter()
        lab = Lab.start(definition, cert_folder=certs)
        try:
            ready = time.perf_counter()
            results = matrix.lab_matrix(lab, lab.organization_names()[0])
        finally:
            lab.stop()
        done = time.perf_counter()
        secured = sum(1 for r in results if r.outcome is matrix.Outcome.SECURED)
        if len(results) != 40 or secured != 40:
            raise RuntimeError(
                f"{secured} of {len(results)} rows domain secured, expected 40 of 40"
            )
        totals.append(done - started)
        matrices.append(done - ready)
    ctx.rows.append(
        Row(
            "matrix",
            "20 partner domains (40 messages): start + matrix",
            "s",
            summarize(totals),
            Target("<=", 5.0, "≤ 5 s"),
            note="in process, certificates reused after the first run",
        )
    )
    ctx.rows.append(Row("matrix", "the 40 probes alone", "s", summarize(matrices)))


RUNNERS: dict[str, Callable[[Context], None]] = {
    "floor": case_floor,
    "start": case_start,
    "walkthrough": case_walkthrough,
    "throughput": case_throughput,
    "scale": case_scale,
    "timetravel": case_timetravel,
    "live": case_live,
    "suite": case_suite,
    "matrix": case_matrix,
}


# ---------------------------------------------------------------------------------------------
# machine, table, JSON
# ---------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        import cryptography
        import OpenSSL
        import twisted
        from OpenSSL import SSL

        info["openssl"] = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()
        info["pyOpenSSL"] = OpenSSL.__version__
        info["cryptography"] = cryptography.__version__
        info["twisted"] = twisted.__version__
    except Exception:  # informative only
        pass
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        # Other engineers change labsim/ in this working tree: record what was uncommitted.
        info["engine_uncommitted"] = subprocess.run(
            ["git", "status", "--porcelain", "--", "labsim"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.split("\n")[:-1]
    except OSError:
        pass
    return info


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def table(rows: list[Row]) -> str:
    header = ("case", "figure", "median", "min", "max", "unit", "runs", "target", "verdict")
    lines = []
    for row in rows:
        s = row.stats or {}
        lines.append(
            (
                row.case,
                row.figure,
                _fmt(s.get("median")),
                _fmt(s.get("min")),
                _fmt(s.get("max")),
                row.unit,
                str(s.get("runs", 0)),
                row.target.text if row.target else "—",
                "FAILED" if row.error and row.stats is None else verdict(row.target, row.median),
            )
        )
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
        for i, h in enumerate(header)
    ]
    right = {2, 3, 4, 6}

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [fmt(header), fmt(tuple("-" * w for w in widths))]
    out += [fmt(line) for line in lines]
    notes = [f"  {r.case} / {r.figure}: {r.note}" for r in rows if r.note]
    errors = [f"  {r.case} / {r.figure}: {r.error}" for r in rows if r.error]
    if notes:
        out += ["", "notes:", *notes]
    if errors:
        out += ["", "errors:", *errors]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer runs, smaller N, mesh of 10 only"
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these cases ({', '.join(CASES)}); repeat or comma-separate",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS / "latest.json",
        help="where to write the JSON (default bench/results/latest.json)",
    )
    args = parser.parse_args(argv)
    selected = [
        name.strip() for item in args.only for name in item.split(",") if name.strip()
    ] or list(CASES)
    unknown = [name for name in selected if name not in RUNNERS]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    plan = QUICK if args.quick else Plan()
    ctx = Context(plan=plan, log=lambda text: print(text, file=sys.stderr, flush=True))
    started = time.perf_counter()
    failures: dict[str, str] = {}
    for name in CASES:
        if name not in selected:
            continue
        ctx.log(f"[{time.perf_counter() - started:6.1f}s] {name} ...")
        try:
            RUNNERS[name](ctx)
        except Exception as err:  # a failing case is a result: recorded and shown
            failures[name] = f"{type(err).__name__}: {err}"
            ctx.rows.append(Row(name, "case failed", "", None, error=failures[name]))
    total = time.perf_counter() - started
    info = machine()
    print(table(ctx.rows))
    print(
        f"\nmachine: {info['nproc']} × {info['cpu']}, Python {info['python']}, "
        f"{info.get('openssl', '')}; total {total:.0f} s{' (--quick)' if args.quick else ''}"
    )
    not_met = [r for r in ctx.rows if r.target is not None and r.target.met(r.median) is False]
    if not_met:
        print("targets not met: " + "; ".join(f"{r.case} / {r.figure}" for r in not_met))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "cases": selected,
        "total_s": total,
        "machine": info,
        "plan": plan.__dict__,
        "rows": [r.as_json() for r in ctx.rows],
        "failures": failures,
    }
    args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"JSON: {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
