"""Run the benchmarks, print the tables, write ``bench/results.md`` (and ``.json``).

    uv run python -m bench.run                      # 100, 1k, 10k, 100k leads (long: see docs/benchmarks.md)
    uv run python -m bench.run --quick              # 100 and 1k leads, a couple of minutes
    uv run python -m bench.run --sizes 100,10000 --profile

Every measurement runs in a fresh ``python -m bench.worker`` process (honest
peak memory). Sizes are leads; each lead has 10 Contact Plan rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .generate import PLAN_PER_LEAD, TODAY
from .measure import WorkerError, load_average, run_worker

HERE = Path(__file__).resolve().parent
Runner = Callable[..., dict[str, Any]]

#: Targets from the issue.
LOCAL_TARGET_SIZE = 10_000
LOCAL_TARGET_RATIO = 1.3
PLANNER_TARGET_ROWS = 1_000_000
PLANNER_TARGET_S = 2.0
#: Issue 17: the whole pure compute (read_tables + plan_crm + diff) at 1M plan rows and at 10k.
COMPUTE_TARGET_S = 2.0
COMPUTE_TARGET_MB = 500.0
COMPUTE_SMALL_LEADS = 10_000
COMPUTE_SMALL_S = 0.2


@dataclass
class Config:
    sizes: list[int] = field(default_factory=lambda: [100, 1_000, 10_000, 100_000])
    #: Simulated latency per Google request for the second set of runs (seconds).
    latency: float = 0.15
    #: Largest size run again with latency (the no-latency run covers every size).
    latency_max: int = 10_000
    #: Largest size the "next morning" Google sync is measured at.
    next_day_max: int = 10_000
    #: Largest size the beginner's baseline is run at (no latency) / with latency.
    baseline_max: int = 1_000
    baseline_latency_max: int = 100
    #: Size at which the baseline's writes are compared with ours cell by cell.
    verify_size: int = 100
    #: Largest size whose local no-op sync gets its own load+save floor.
    floor_out_max: int = 10_000
    planner_1m: bool = True
    #: Keep the stand-in's body validation and copy-on-write (slow at 100k; see bench/google.py).
    faithful: bool = False
    #: Repeat each local measurement up to this size (and each Google run up to 1/10 of it)
    #: and keep the fastest: the least disturbed by whatever else the machine runs.
    repeat: int = 3
    repeat_max: int = 10_000
    parts: tuple[str, ...] = ("planner", "compute", "local", "google", "baseline")
    #: Issue 17: lead counts for the compute path (10 plan rows each), each phase the median of ``compute_repeat``
    #: (``--sizes`` and ``--quick`` set these too).
    compute_sizes: list[int] = field(default_factory=lambda: [1_000, 10_000, 100_000])
    compute_repeat: int = 5
    seed: int = 42
    cache: Path = HERE / ".cache"
    profile: bool = False
    timeout: float | None = 3600


def in_process(task: str, timeout: float | None = None, **params: Any) -> dict[str, Any]:
    """Run a worker task in this process (the smoke test; no fresh-process memory)."""
    from .worker import _tasks

    return json.loads(json.dumps(_tasks()[task](**params), default=str))


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=HERE.parent).stdout.strip()
    except OSError:
        return ""


def _commit() -> str:
    """HEAD, marked when the package has uncommitted changes (what the workers import)."""
    dirty = _git("status", "--porcelain", "--", "sheets_crm")
    return _git("rev-parse", "--short", "HEAD") + (" (+ uncommitted changes)" if dirty else "")


def environment() -> dict[str, Any]:
    import numpy
    import openpyxl
    import pandas

    try:
        import gspread

        gspread_version = gspread.__version__
    except ImportError:
        gspread_version = "-"
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "commit": _commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "versions": {
            "pandas": pandas.__version__,
            "numpy": numpy.__version__,
            "openpyxl": openpyxl.__version__,
            "gspread": gspread_version,
        },
        "load_start": load_average(),
    }


def _profile_path(cfg: Config, name: str) -> str | None:
    if not cfg.profile:
        return None
    (HERE / "profiles").mkdir(exist_ok=True)
    return str(HERE / "profiles" / f"{name}.txt")


def _safe(call: Runner, task: str, cfg: Config, **params: Any) -> dict[str, Any]:
    try:
        return call(task, timeout=cfg.timeout, **params)
    except WorkerError as exc:
        _log(f"  {task} {params}: {exc}")
        return {"error": str(exc).splitlines()[0]}


def _best(runs: list[dict[str, Any]], wall: Callable[[dict[str, Any]], float]) -> dict[str, Any]:
    """The fastest of repeated runs (errors only if every run failed), with how many there were."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    best = dict(min(ok, key=wall))
    best["runs"] = len(ok)
    return best


def _repeats(cfg: Config, n: int, limit: int) -> int:
    return cfg.repeat if n <= limit else 1


# -- parts ----------------------------------------------------------------------------


def run_planner(cfg: Config, call: Runner) -> dict[str, Any]:
    sizes = sorted({max(cfg.sizes)} | ({PLANNER_TARGET_ROWS // PLAN_PER_LEAD} if cfg.planner_1m else set()))
    out = {}
    for n in sizes:
        _log(f"planner: {n} leads ({n * PLAN_PER_LEAD} plan rows)")
        out[str(n)] = _safe(call, "planner", cfg, n_leads=n, seed=cfg.seed)
        if cfg.profile and n * PLAN_PER_LEAD == PLANNER_TARGET_ROWS:
            call(
                "planner",
                timeout=cfg.timeout,
                n_leads=n,
                seed=cfg.seed,
                repeat=1,
                profile=_profile_path(cfg, "planner-1M"),
            )
    return out


def run_compute(cfg: Config, call: Runner) -> dict[str, Any]:
    """read_tables, plan_crm, diff and the three together, pinned to one CPU (bench/compute.py)."""
    out = {}
    for n in cfg.compute_sizes:
        _log(f"compute: {n} leads ({n * PLAN_PER_LEAD} plan rows), median of {cfg.compute_repeat}")
        out[str(n)] = _safe(call, "compute", cfg, n_leads=n, seed=cfg.seed, repeat=cfg.compute_repeat, cpu=0)
    return out


def _workbook(cfg: Config, n: int, call: Runner) -> Path:
    cfg.cache.mkdir(parents=True, exist_ok=True)
    path = cfg.cache / f"crm-{n}-seed{cfg.seed}.xlsx"
    if not path.exists():
        _log(f"local: generating {path.name}")
        call("generate_xlsx", timeout=cfg.timeout, n_leads=n, path=str(path), seed=cfg.seed)
    return path


def run_local(cfg: Config, call: Runner) -> dict[str, Any]:
    out = {}
    for n in cfg.sizes:
        src = _workbook(cfg, n, call)
        work = cfg.cache / f"work-{n}.xlsx"
        shutil.copyfile(src, work)
        res: dict[str, Any] = {"n_leads": n, "input_mb": round(src.stat().st_size / 1e6, 2)}
        k = _repeats(cfg, n, cfg.repeat_max)
        wall = lambda r: r["wall_s"]  # noqa: E731
        _log(f"local: {n} leads: floor (load+save of the input) ×{k}")
        res["floor_in"] = _best([_safe(call, "local_floor", cfg, path=str(src)) for _ in range(k)], wall)
        _log(f"local: {n} leads: first sync ×{k}")
        firsts = []
        for _ in range(k):
            shutil.copyfile(src, work)
            firsts.append(_safe(call, "local_sync", cfg, path=str(work), today=TODAY.isoformat()))
        res["first"] = _best(firsts, wall)
        if n <= cfg.floor_out_max:
            _log(f"local: {n} leads: floor (load+save of the synced workbook) ×{k}")
            res["floor_out"] = _best([_safe(call, "local_floor", cfg, path=str(work)) for _ in range(k)], wall)
        _log(f"local: {n} leads: no-op second sync ×{k}")
        res["noop"] = _best(
            [_safe(call, "local_sync", cfg, path=str(work), today=TODAY.isoformat()) for _ in range(k)], wall
        )
        if cfg.profile and n == LOCAL_TARGET_SIZE:
            shutil.copyfile(src, work)
            call(
                "local_sync",
                timeout=cfg.timeout,
                path=str(work),
                today=TODAY.isoformat(),
                profile=_profile_path(cfg, f"local-first-sync-{n}"),
            )
        work.unlink(missing_ok=True)
        out[str(n)] = res
    return out


def run_google(cfg: Config, call: Runner) -> dict[str, Any]:
    out = {}
    for n in cfg.sizes:
        res: dict[str, Any] = {}
        k = _repeats(cfg, n, cfg.repeat_max // 10)
        _log(f"google: {n} leads, no latency ×{k}")
        res["0"] = _best(
            [
                _safe(
                    call,
                    "google_ours",
                    cfg,
                    n_leads=n,
                    latency=0.0,
                    seed=cfg.seed,
                    next_day=n <= cfg.next_day_max,
                    baseline_counts=True,
                    faithful=cfg.faithful,
                )
                for _ in range(k)
            ],
            lambda r: r["first"]["wall_s"],
        )
        if cfg.latency and n <= cfg.latency_max:
            _log(f"google: {n} leads, {cfg.latency * 1000:.0f} ms per request")
            res[str(cfg.latency)] = _safe(
                call,
                "google_ours",
                cfg,
                n_leads=n,
                latency=cfg.latency,
                seed=cfg.seed,
                next_day=False,
                faithful=cfg.faithful,
            )
        if cfg.profile and n == max(s for s in cfg.sizes if s <= LOCAL_TARGET_SIZE):
            call(
                "google_ours",
                timeout=cfg.timeout,
                n_leads=n,
                seed=cfg.seed,
                next_day=False,
                profile=_profile_path(cfg, f"google-sync-{n}"),
            )
        out[str(n)] = res
    return out


def run_baseline(cfg: Config, call: Runner) -> dict[str, Any]:
    out = {}
    for n in cfg.sizes:
        res: dict[str, Any] = {}
        if n <= cfg.baseline_max:
            _log(f"baseline: {n} leads, no latency")
            res["0"] = _safe(
                call,
                "google_baseline",
                cfg,
                n_leads=n,
                latency=0.0,
                seed=cfg.seed,
                verify=n == cfg.verify_size,
                faithful=cfg.faithful,
            )
        if cfg.latency and n <= cfg.baseline_latency_max:
            _log(f"baseline: {n} leads, {cfg.latency * 1000:.0f} ms per request")
            res[str(cfg.latency)] = _safe(
                call, "google_baseline", cfg, n_leads=n, latency=cfg.latency, seed=cfg.seed, faithful=cfg.faithful
            )
        if cfg.profile and n == min(cfg.sizes):
            call(
                "google_baseline",
                timeout=cfg.timeout,
                n_leads=n,
                seed=cfg.seed,
                profile=_profile_path(cfg, f"baseline-sync-{n}"),
            )
        out[str(n)] = res
    return out


def collect(cfg: Config, call: Runner = run_worker) -> dict[str, Any]:
    results: dict[str, Any] = {
        "env": environment(),
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
    }
    t0 = time.perf_counter()
    parts = {
        "planner": run_planner,
        "compute": run_compute,
        "local": run_local,
        "google": run_google,
        "baseline": run_baseline,
    }
    for name in cfg.parts:
        results[name] = parts[name](cfg, call)
    results["env"]["load_end"] = load_average()
    results["env"]["commit_end"] = _commit()
    results["env"]["total_s"] = round(time.perf_counter() - t0, 1)
    return results


# -- rendering ------------------------------------------------------------------------


def _n(n: int | str) -> str:
    n = int(n)
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _s(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 1:
        return f"{x * 1000:.0f} ms"
    if x < 100:
        return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"
    return f"{x:.0f} s"


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f} MB"


def _bytes(x: int | None) -> str:
    if x is None:
        return "–"
    if x < 10_000:
        return f"{x} B"
    if x < 10_000_000:
        return f"{x / 1e3:,.0f} kB"
    return f"{x / 1e6:,.1f} MB"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    if a / b < 0.1:
        return f"1/{b / a:,.0f}"
    return f"{a / b:.2f}×"


def _ok(flag: bool | None) -> str:
    return "–" if flag is None else ("**met**" if flag else "**MISSED**")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _get(d: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict):
            return None
        d = d.get(key)
    return d


def google_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    google = results.get("google") or {}
    lat = str(results["config"]["latency"])
    ms = f"{float(lat) * 1000:.0f} ms"
    header = [
        "leads",
        "sync",
        "reads",
        "writes",
        "sent",
        "received",
        "wall",
        f"wall at {ms}/request",
        "of which in stand-in",
        "peak RSS (before)",
    ]
    rows = []
    for n, res in google.items():
        for kind, label in (("first", "first"), ("noop", "no-op 2nd"), ("next_day", "next day")):
            r = _get(res, "0", kind)
            if not r:
                if _get(res, "0", "error"):
                    rows.append([_n(n), label, "error", "", "", "", "", "", "", res["0"]["error"][:60]])
                    break
                continue
            e = r["extra"]
            slow = _get(res, lat, kind)
            rows.append(
                [
                    _n(n),
                    label,
                    str(e["reads"]),
                    str(e["writes"]),
                    _bytes(e["bytes_sent"]),
                    _bytes(e["bytes_received"]),
                    _s(r["wall_s"]),
                    _s(slow["wall_s"]) if slow else "not run",
                    _s(e["standin_s"]),
                    f"{_mb(r['peak_mb'])} ({_mb(r['base_mb'])})",
                ]
            )
    return header, rows


def baseline_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    google = results.get("google") or {}
    base = results.get("baseline") or {}
    lat = str(results["config"]["latency"])
    ms = f"{float(lat) * 1000:.0f} ms"
    header = [
        "leads",
        "sync",
        "baseline requests (reads+writes)",
        "ours",
        "requests ours/baseline",
        "baseline wall",
        "ours wall",
        "time ours/baseline",
        f"baseline at {ms}",
        f"ours at {ms}",
        f"time at {ms} ours/baseline",
        "baseline at 60 writes/min ≥",
    ]
    rows = []
    for n in google:
        for kind, label in (("first", "first"), ("noop", "no-op 2nd")):
            ours = _get(google, n, "0", kind)
            if not ours:
                continue
            ours_req = ours["extra"]["requests"]
            measured = _get(base, n, "0", kind)
            if measured:
                b_req, b_reads, b_writes = (measured["extra"][k] for k in ("requests", "reads", "writes"))
                tag = ""
            else:
                counted = _get(google, n, "0", f"baseline_{kind}")
                if not counted:
                    continue
                b_req, b_reads, b_writes = counted["requests"], counted["reads"], counted["writes"]
                tag = " (computed, not run)"
            slow_b = _get(base, n, lat, kind)
            slow_o = _get(google, n, lat, kind)
            minutes = b_writes / 60
            rows.append(
                [
                    _n(n),
                    label,
                    f"{b_req:,} ({b_reads}+{b_writes:,}){tag}",
                    str(ours_req),
                    f"1/{b_req / ours_req:,.0f}" if ours_req else "–",
                    _s(measured["wall_s"]) if measured else "not run",
                    _s(ours["wall_s"]),
                    _ratio(ours["wall_s"], measured["wall_s"]) if measured else "–",
                    _s(slow_b["wall_s"]) if slow_b else "not run",
                    _s(slow_o["wall_s"]) if slow_o else "not run",
                    _ratio(slow_o["wall_s"], slow_b["wall_s"]) if slow_b and slow_o else "–",
                    f"{minutes:,.0f} min" if minutes >= 1 else f"{b_writes * 1.0:.0f} s" if b_writes else "0",
                ]
            )
    return header, rows


def local_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "leads",
        "sync",
        "cells written",
        "file",
        "load+save floor",
        "sync wall",
        "ratio (wall)",
        "ratio (CPU)",
        "sync peak RSS",
        "floor peak RSS",
    ]
    rows = []
    for n, res in (results.get("local") or {}).items():
        for kind, floor_key, label in (("first", "floor_in", "first"), ("noop", "floor_out", "no-op 2nd")):
            r, f = res.get(kind), res.get(floor_key)
            if not r or "error" in r:
                rows.append([_n(n), label, "error", "", "", "", "", "", "", (r or {}).get("error", "not run")[:60]])
                continue
            f = f if f and "error" not in f else None
            rows.append(
                [
                    _n(n),
                    label,
                    f"{r['extra']['changed_cells']:,}",
                    f"{r['extra']['file_mb']} MB",
                    _s(f["wall_s"]) if f else "not run",
                    _s(r["wall_s"]),
                    _ratio(r["wall_s"], f["wall_s"]) if f else "–",
                    _ratio(r["cpu_s"], f["cpu_s"]) if f else "–",
                    _mb(r["peak_mb"]),
                    _mb(f["peak_mb"]) if f else "–",
                ]
            )
    return header, rows


def planner_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = [
        "leads",
        "plan rows",
        "plan_crm (CPU)",
        "plan_crm (wall)",
        "rows/s",
        "read_tables (CPU)",
        "diff (CPU)",
        "calls",
        "peak RSS",
    ]
    rows = []
    for n, r in (results.get("planner") or {}).items():
        if "error" in r:
            rows.append([_n(n), "", "error", "", "", "", "", "", r["error"][:60]])
            continue
        calls = sum(r["calls"].values())
        rows.append(
            [
                _n(n),
                f"{r['plan_rows']:,}",
                _s(r["plan"]["cpu_s"]),
                _s(r["plan"]["wall_s"]),
                f"{r['plan_rows_per_s']:,.0f}",
                _s(r["read_tables"]["cpu_s"]),
                _s(r["diff"]["cpu_s"]),
                f"{calls:,}",
                _mb(r["plan"]["peak_mb"]),
            ]
        )
    return header, rows


def compute_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    header = ["leads", "plan rows", "read_tables", "plan_crm", "diff", "compute", "peak RSS", "changes", "from rows"]
    rows = []
    for n, r in (results.get("compute") or {}).items():
        if "error" in r:
            rows.append([_n(n), "", "error", "", "", "", "", "", r["error"][:60]])
            continue
        rows.append(
            [
                _n(n),
                f"{r['plan_rows_in_sheet']:,}",
                _s(r["read_tables"]["cpu_s"]),
                _s(r["plan_crm"]["cpu_s"]),
                _s(r["diff"]["cpu_s"]),
                _s(r["compute"]["cpu_s"]),
                _mb(r["compute"]["peak_mb"]),
                f"{r['changes']:,} in {r['change_blocks']} blocks",
                _s(r["rows_snapshot"]["cpu_s"]),
            ]
        )
    return header, rows


def _compute_targets(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    big = _get(results, "compute", str(PLANNER_TARGET_ROWS // PLAN_PER_LEAD))
    if big and "error" not in big:
        c = big["compute"]
        rows.append(
            [
                f"Compute (read + plan + diff): 1M plan rows < {COMPUTE_TARGET_S:.0f} s on one core",
                f"{c['cpu_s']:.2f} s CPU, {c['wall_s']:.2f} s wall (median of {big['repeat']})",
                _ok(c["cpu_s"] < COMPUTE_TARGET_S),
            ]
        )
        rows.append(
            [
                f"Compute: peak memory at 1M plan rows < {COMPUTE_TARGET_MB:.0f} MB",
                f"{c['peak_mb']:.0f} MB process peak ({c['base_mb']:.0f} MB before: interpreter + snapshot)",
                _ok(c["peak_mb"] < COMPUTE_TARGET_MB),
            ]
        )
    small = _get(results, "compute", str(COMPUTE_SMALL_LEADS))
    if small and "error" not in small:
        c = small["compute"]
        rows.append(
            [
                f"Compute: 10k leads ({small['plan_rows_in_sheet']:,} plan rows) < {COMPUTE_SMALL_S} s",
                f"{c['cpu_s']:.3f} s CPU, {c['wall_s']:.3f} s wall",
                _ok(c["cpu_s"] < COMPUTE_SMALL_S),
            ]
        )
    return rows


def targets(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    google = results.get("google") or {}
    if google:
        firsts = {n: _get(res, "0", "first", "extra") for n, res in google.items()}
        noops = {n: _get(res, "0", "noop", "extra") for n, res in google.items()}
        shapes = {n: (e["reads"], e["writes"]) for n, e in firsts.items() if e}
        ok_first = all(r <= 5 and w <= 1 for r, w in shapes.values()) and len(set(shapes.values())) == 1
        ok_noop = all(e and e["writes"] == 0 and e["reads"] <= 3 for e in noops.values())
        seen = ", ".join(f"{_n(n)}: {r}+{w}" for n, (r, w) in shapes.items())
        rows.append(
            [
                "Google requests per sync constant, ≤ 5 reads + 1 write (first sync)",
                f"reads+writes {seen}",
                _ok(ok_first and len(shapes) == len(google)),
            ]
        )
        seen = ", ".join(f"{_n(n)}: {e['reads']}+{e['writes']}" for n, e in noops.items() if e)
        rows.append(["Google: 0 writes when nothing changed (no-op sync)", f"reads+writes {seen}", _ok(ok_noop)])
    local = _get(results, "local", str(LOCAL_TARGET_SIZE))
    if local:
        for kind, floor_key, label in (("first", "floor_in", "first"), ("noop", "floor_out", "no-op")):
            r, f = local.get(kind), local.get(floor_key)
            if r and f and "error" not in r and "error" not in f:
                wall, cpu = r["wall_s"] / f["wall_s"], r["cpu_s"] / f["cpu_s"]
                rows.append(
                    [
                        f"Local sync ≤ {LOCAL_TARGET_RATIO} × openpyxl load+save at 10k leads ({label} sync)",
                        f"{wall:.2f}× wall, {cpu:.2f}× CPU",
                        _ok(max(wall, cpu) <= LOCAL_TARGET_RATIO),
                    ]
                )
    planner = _get(results, "planner", str(PLANNER_TARGET_ROWS // PLAN_PER_LEAD))
    if planner and "error" not in planner:
        cpu, wall = planner["plan"]["cpu_s"], planner["plan"]["wall_s"]
        rows.append(
            [
                f"Planner: 1M contact-plan rows < {PLANNER_TARGET_S:.0f} s on one core",
                f"{cpu:.2f} s CPU, {wall:.2f} s wall ({planner['plan_rows_per_s']:,.0f} rows/s)",
                _ok(max(cpu, wall) < PLANNER_TARGET_S),
            ]
        )
    return rows + _compute_targets(results)


def render(results: dict[str, Any]) -> str:
    env = results["env"]
    cfg = results["config"]
    ms = f"{cfg['latency'] * 1000:.0f} ms"
    out = [
        "# sheets-crm benchmark results",
        "",
        f"Run {env['date']} at commit {env['commit']}"
        + (
            f" (at the end: {env['commit_end']}; each worker imports the tree as it is when it starts)"
            if env.get("commit_end", env["commit"]) != env["commit"]
            else ""
        )
        + f": Python {env['python']}, {env['cpus']} CPUs "
        f"({env['machine']}), pandas {env['versions']['pandas']}, openpyxl {env['versions']['openpyxl']}, "
        f"gspread {env['versions']['gspread']}. Load average at start "
        f"{' / '.join(f'{x:.1f}' for x in env['load_start'])}, at end "
        f"{' / '.join(f'{x:.1f}' for x in env.get('load_end', (0, 0, 0)))}; whole run {_s(env.get('total_s'))}. "
        f"Every measurement in a fresh process; {PLAN_PER_LEAD} Contact Plan rows per lead; "
        f"today = {TODAY.isoformat()}; seed {cfg['seed']}. "
        + (
            f"Local measurements up to {_n(cfg['repeat_max'])} leads and Google runs (without latency) up to "
            f"{_n(cfg['repeat_max'] // 10)} leads are the fastest of {cfg['repeat']} runs; the rest ran once."
            if cfg["repeat"] > 1
            else "Each measurement ran once."
        ),
        "",
    ]
    rows = targets(results)
    if rows:
        out += ["## Targets", "", _table(["target", "measured", ""], rows), ""]
    if results.get("google"):
        header, rows = google_rows(results)
        out += [
            "## Google backend on the in-process stand-in",
            "",
            f"Requests, bytes and time per sync; the {ms} column is a second run with that latency added "
            "to every request by the stand-in. *No-op 2nd*: the same sync again, nothing changed. *Next "
            "day*: the sync one day later (every contacted lead's Days since contact and colour move). "
            "*In stand-in*: time the in-process stand-in spent serving (work real Google does on its "
            "side). Peak RSS includes the stand-in holding the whole spreadsheet (the figure in brackets "
            "is the process just before the sync).",
            "",
            _table(header, rows),
            "",
        ]
    if results.get("google") and results.get("baseline") is not None:
        header, rows = baseline_rows(results)
        out += [
            "## Against the beginner's gspread script",
            "",
            "The same sync as gspread's docs teach it: `get_all_records` + `row_values(1)` per tab, "
            "`update_cell` per changed cell, `format` per changed row, `BackOffHTTPClient` (bench/google.py, "
            "`BeginnerSync`; our planner decides what to write). Where it was not run, its request count is "
            "computed exactly from the same planning. The last column is the least time Google's quota of "
            "60 write requests per minute per user would let it take.",
            "",
            _table(header, rows),
            "",
        ]
        verify = [(n, _get(r, "0", "verify")) for n, r in (results.get("baseline") or {}).items()]
        for n, v in verify:
            if v:
                out += [
                    f"Checked at {_n(n)} leads after the first sync: {v['cells']:,} cells compared, "
                    f"{v['values_differ']} values and {v['fills_differ']} fills differ between the "
                    "baseline's sheet and ours." + (f" e.g. {'; '.join(v['examples'])}" if v["examples"] else ""),
                    "",
                ]
    if results.get("local"):
        header, rows = local_rows(results)
        out += [
            "## Local .xlsx workbook",
            "",
            "Sync time against the floor of `openpyxl.load_workbook` + `save` of the same input workbook "
            "(the first sync's input is the fresh CRM, the no-op's is the synced one). CPU ratios are "
            "less disturbed by other load on the machine than wall ratios.",
            "",
            _table(header, rows),
            "",
        ]
    if results.get("planner"):
        header, rows = planner_rows(results)
        out += [
            "## Planner alone",
            "",
            "The pure core on one core, from ready frames: `plan_crm` (best of 3); `read_tables` (snapshot → "
            "frames) and `diff` (planned − current → cell changes, first sync) for scale.",
            "",
            _table(header, rows),
            "",
        ]
    if results.get("compute"):
        header, rows = compute_rows(results)
        out += [
            "## Compute path (issue 17)",
            "",
            "The pure compute of a first sync on one CPU (pinned), median of 5 runs each (CPU seconds): "
            "`read_tables` (snapshot by columns → frames), `plan_crm`, `diff` (→ change blocks) and the three "
            "together; peak RSS of the whole process during `compute`. *From rows*: `compute` once more "
            "from a snapshot built row by row (`TabData(title, rows)`, as tests and older callers build it).",
            "",
            _table(header, rows),
            "",
        ]
    return "\n".join(out)


def google_json(n_leads: int, unrelated_rows: int = 0, seed: int = 42) -> list[dict[str, Any]]:
    """First sync, no-op sync and next-morning sync of ``n_leads`` on Google, each in a fresh process
    against the stand-in served from another process (its memory is not the sync's)."""
    import urllib.request

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "bench.google", "serve", "--leads", str(n_leads), "--seed", str(seed)]
    cmd += ["--extra-rows", str(unrelated_rows)]
    t0 = time.perf_counter()
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=HERE.parent, env=env)
    try:
        assert server.stdout is not None
        port, sid = server.stdout.readline().split()
        seeded = time.perf_counter() - t0
        lines = []
        for scenario, day in (("first", TODAY), ("noop", TODAY), ("next_day", TODAY + dt.timedelta(days=1))):
            urllib.request.urlopen(  # the sheet's own TODAY()
                urllib.request.Request(f"http://127.0.0.1:{port}/_bench/today?day={day.isoformat()}", method="POST")
            ).read()
            sync_cmd = [sys.executable, "-m", "bench.google", "sync", "--port", port, "--sid", sid]
            done = subprocess.run(
                [*sync_cmd, "--today", day.isoformat()],
                capture_output=True,
                text=True,
                cwd=HERE.parent,
                env=env,
                check=False,
            )
            if done.returncode:
                line: dict[str, Any] = {"error": done.stderr.strip().splitlines()[-1:]}
            else:
                line = json.loads(done.stdout.strip().splitlines()[-1])
            lines.append(
                {
                    "backend": "google",
                    "leads": n_leads,
                    "unrelated_rows": unrelated_rows,
                    "sync": scenario,
                    "seed_s": round(seeded, 1),
                    **line,
                }
            )
        return lines
    finally:
        server.kill()
        server.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", help="comma-separated lead counts (default 100,1000,10000,100000)")
    p.add_argument("--quick", action="store_true", help="100 and 1000 leads only")
    p.add_argument("--only", help="comma-separated parts: planner,compute,local,google,baseline")
    p.add_argument("--latency", type=float, default=0.15, help="simulated seconds per Google request (0: skip)")
    p.add_argument("--latency-max", type=int, default=10_000, help="largest size run again with latency")
    p.add_argument("--baseline-max", type=int, default=1_000, help="largest size the baseline is run at")
    p.add_argument("--no-1m", action="store_true", help="skip the separate 1M-plan-row planner measurement")
    p.add_argument("--profile", action="store_true", help="also write cProfile reports to bench/profiles/")
    p.add_argument(
        "--faithful-standin",
        action="store_true",
        help="keep the Google stand-in's validation and copy-on-write (much slower at 100k)",
    )
    p.add_argument("--out", default=str(HERE / "results.md"))
    p.add_argument(
        "--json",
        action="store_true",
        help="Google (issue 13): one JSON line per measurement, the sync in its own process, the stand-in in "
        "another (--sizes; --unrelated-rows R adds an unrelated R x 10 tab)",
    )
    p.add_argument("--unrelated-rows", type=int, default=0, help="with --json: rows of an unrelated tab")
    p.add_argument("--render", metavar="RESULTS.json", help="only re-render tables from a results file")
    args = p.parse_args(argv)
    if args.json:
        sizes = [int(x.replace("k", "000")) for x in (args.sizes or "1000,10000").split(",")]
        for n in sizes:
            for line in google_json(n, args.unrelated_rows):
                print(json.dumps(line), flush=True)
        return 0
    if args.render:
        text = render(json.loads(Path(args.render).read_text(encoding="utf-8")))
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(text)
        return 0
    cfg = Config()
    if args.quick:
        cfg.sizes = cfg.compute_sizes = [100, 1_000]
    if args.sizes:
        cfg.sizes = cfg.compute_sizes = [int(s.replace("k", "000")) for s in args.sizes.split(",")]
    if args.only:
        wanted = args.only.split(",")
        cfg.parts = tuple(x for x in ("planner", "compute", "local", "google", "baseline") if x in wanted)
    cfg.latency, cfg.latency_max, cfg.baseline_max = args.latency, args.latency_max, args.baseline_max
    cfg.verify_size = min(cfg.sizes)
    cfg.planner_1m = not args.no_1m
    cfg.profile = args.profile
    cfg.faithful = args.faithful_standin
    results = collect(cfg)
    text = render(results)
    out = Path(args.out)
    out.write_text(text + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(text)
    _log(f"wrote {out} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
