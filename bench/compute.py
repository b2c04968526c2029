"""The pure compute path alone, phase by phase: ``read_tables``, ``plan_crm``, ``diff`` and the three together.

    uv run python -m bench.compute                    # 1k, 10k, 100k leads (10k, 100k, 1M plan rows)
    uv run python -m bench.compute --sizes 10000 --repeat 3

One JSON line per size on stdout. Each size runs in its own fresh ``python -m bench.worker``
process pinned to one CPU (``os.sched_setaffinity``, what ``taskset -c 0`` does), and every phase
is run ``repeat`` times (default 5); the line gives the median and every run's CPU time. The input
is a fresh CRM (every tool cell still empty, so ``diff`` finds a first sync's changes) handed over
by columns, as the local reader does; ``rows_snapshot`` measures ``compute`` once more from the
row-by-row form a Google read still gives. Peak memory is the process's resident high-water mark
during ``compute`` (reset just before it, see :mod:`bench.measure`); ``base_mb`` is what was
resident before (interpreter, imports and the snapshot itself).

``sync_compute`` is :func:`sheets_crm.app.sync.compute` once: the same three plus the work list
(which still reads the plan row by row, so it asks the snapshot for rows), History and the Calls
Today list (which read the changes one cell at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

from .generate import PLAN_PER_LEAD, TODAY, generate, snapshot
from .measure import Phase, measure, run_worker

__all__ = ["compute", "main"]


def _pin(cpu: int | None) -> list[int]:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _runs(fn: Callable[[], Any], repeat: int) -> tuple[list[Phase], Any]:
    phases, result = [], None
    for _ in range(repeat):
        result = None  # the last run's result is freed before the next one is measured
        with measure() as phase:
            result = fn()
        phases.append(phase)
    return phases, result


def _summary(phases: list[Phase]) -> dict[str, Any]:
    return {
        "cpu_s": round(statistics.median(p.cpu_s for p in phases), 4),
        "wall_s": round(statistics.median(p.wall_s for p in phases), 4),
        "runs_cpu_s": [round(p.cpu_s, 4) for p in phases],
        "peak_mb": round(max(p.peak_mb for p in phases), 1),
        "base_mb": round(min(p.base_mb for p in phases), 1),
    }


def compute(n_leads: int, seed: int = 42, repeat: int = 5, cpu: int | None = 0) -> dict[str, Any]:
    """Measure the phases on ``n_leads`` leads (``PLAN_PER_LEAD`` plan rows each); one result dict."""
    from sheets_crm.app.sync import compute as sync_compute
    from sheets_crm.core.diff import diff
    from sheets_crm.core.planner import plan_crm
    from sheets_crm.core.reading import read_tables
    from sheets_crm.core.template import default_template

    cpus = _pin(cpu)
    template = default_template()
    crm = generate(n_leads, seed)
    snap = snapshot(crm, template)
    rows_snap = snapshot(crm, template, columnar=False)
    del crm

    def core(snap_: Any = snap) -> Any:
        tables = read_tables(snap_, template, TODAY)
        return diff(tables, plan_crm(tables.leads, tables.plan, TODAY, template), template)

    read_runs, tables = _runs(lambda: read_tables(snap, template, TODAY), repeat)
    plan_runs, plan = _runs(lambda: plan_crm(tables.leads, tables.plan, TODAY, template), repeat)
    diff_runs, changes = _runs(lambda: diff(tables, plan, template), repeat)
    n_changes, n_blocks, plan_rows = len(changes), len(changes.blocks or []), len(tables.plan)
    del tables, plan, changes
    compute_runs, _ = _runs(core, repeat)
    rows_runs, _ = _runs(lambda: core(rows_snap), 1)
    del rows_snap
    assert all(t.columnar for t in snap.tabs.values()), "the core turned the columnar snapshot into rows"
    sync_runs, outcome = _runs(lambda: sync_compute(snap, TODAY, template), 1)
    return {
        "n_leads": n_leads,
        "plan_rows_in_sheet": n_leads * PLAN_PER_LEAD,
        "plan_rows_usable": plan_rows,
        "cpus": cpus,
        "repeat": repeat,
        "read_tables": _summary(read_runs),
        "plan_crm": _summary(plan_runs),
        "diff": _summary(diff_runs),
        "compute": _summary(compute_runs),
        "rows_snapshot": _summary(rows_runs),
        "sync_compute": _summary(sync_runs),
        # The work list (plan row IDs) still reads the plan row by row, so the app's compute asks for rows.
        "rows_built_by_sync_compute": sorted(t.title for t in snap.tabs.values() if not t.columnar),
        "changes": n_changes,
        "change_blocks": n_blocks,
        "calls": len(outcome.calls),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compute", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated lead counts (10 plan rows each)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each phase; the median is reported")
    p.add_argument("--cpu", type=int, default=0, help="the CPU to pin the measuring process to (-1: no pinning)")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    for n in [int(x.replace("k", "000")) for x in args.sizes.split(",")]:
        cpu = None if args.cpu < 0 else args.cpu
        result = run_worker("compute", n_leads=n, seed=args.seed, repeat=args.repeat, cpu=cpu)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
