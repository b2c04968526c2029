"""The pure compute path alone, phase by phase: ``read_tables``, ``plan_crm``, ``diff`` and the three together.

    uv run python -m bench.compute                    # 1k, 10k, 100k leads (10k, 100k, 1M plan rows)
    uv run python -m bench.compute --sizes 10000 --repeat 3

One JSON line per size on stdout. Each size runs in its own fresh ``python -m bench.worker``
process pinned to one CPU (``os.sched_setaffinity``, what ``taskset -c 0`` does), and every phase
is run ``repeat`` times (default 5); the line gives the median and every run's CPU time. The input
is a fresh CRM (every tool cell still empty, so ``diff`` finds a first sync's changes) handed over
by columns, as both backends' readers do; ``rows_snapshot`` measures ``compute`` once more from a
snapshot built row by row (``TabData(title, rows)``, as tests and older callers build it). Peak
memory is the process's resident high-water mark during ``compute`` (reset just before it, see
:mod:`bench.measure`); ``base_mb`` is what was resident before (interpreter, imports and the
snapshot itself).

``sync_compute`` (up to ``--sync-max`` leads) is :func:`sheets_crm.app.sync.compute` once: the
same three plus the work list, History and the ledger (which read the changes one cell at a time);
``rows_built_by_sync_compute`` names the tabs it asked for rows (Calls Today: the work list reads
it row by row).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .generate import PLAN_PER_LEAD, TODAY, generate, snapshot
from .measure import Phase, measure, run_worker

if TYPE_CHECKING:
    from sheets_crm.core.model import ChangeSet, Snapshot

__all__ = ["compute", "main"]


def _pin(cpu: int | None) -> list[int]:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def _runs(fn: Callable[..., Any], repeat: int, *args: Any) -> tuple[list[Phase], Any]:
    """``fn(*args)`` measured ``repeat`` times; the phases and the last result."""
    phases, result = [], None
    for _ in range(repeat):
        result = None  # the last run's result is freed before the next one is measured
        with measure() as phase:
            result = fn(*args)
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


def compute(
    n_leads: int, seed: int = 42, repeat: int = 5, cpu: int | None = 0, sync_max: int = 10_000
) -> dict[str, Any]:
    """Measure the phases on ``n_leads`` leads (``PLAN_PER_LEAD`` plan rows each); one result dict."""
    from sheets_crm.app.sync import compute as sync_compute
    from sheets_crm.core.diff import diff
    from sheets_crm.core.planner import plan_crm
    from sheets_crm.core.reading import read_tables
    from sheets_crm.core.template import default_template

    cpus = _pin(cpu)
    template = default_template()

    def core(snap: Snapshot) -> ChangeSet:
        tables = read_tables(snap, template, TODAY)
        return diff(tables, plan_crm(tables.leads, tables.plan, TODAY, template), template)

    def phases(snap: Snapshot) -> dict[str, Any]:
        read_runs, tables = _runs(read_tables, repeat, snap, template, TODAY)
        plan_runs, plan = _runs(plan_crm, repeat, tables.leads, tables.plan, TODAY, template)
        diff_runs, changes = _runs(diff, repeat, tables, plan, template)
        out = {
            "plan_rows_usable": len(tables.plan),
            "changes": len(changes),
            "change_blocks": len(changes.blocks or []),
            "read_tables": _summary(read_runs),
            "plan_crm": _summary(plan_runs),
            "diff": _summary(diff_runs),
        }
        del tables, plan, changes
        out["compute"] = _summary(_runs(core, repeat, snap)[0])
        assert all(t.columnar for t in snap.tabs.values()), "the core turned the columnar snapshot into rows"
        if n_leads <= sync_max:
            sync_runs, outcome = _runs(sync_compute, 1, snap, TODAY, template)
            out["sync_compute"] = _summary(sync_runs)
            out["calls"] = len(outcome.calls)
            # The work list reads Calls Today row by row; the plan must stay columnar.
            out["rows_built_by_sync_compute"] = sorted(t.title for t in snap.tabs.values() if not t.columnar)
        return out

    # The generator's rows are freed before anything is measured: only the snapshot stays resident.
    result = phases(snapshot(generate(n_leads, seed), template))
    rows_runs, _ = _runs(core, 1, snapshot(generate(n_leads, seed), template, columnar=False))
    return {
        "n_leads": n_leads,
        "plan_rows_in_sheet": n_leads * PLAN_PER_LEAD,
        "cpus": cpus,
        "repeat": repeat,
        **result,
        "rows_snapshot": _summary(rows_runs),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.compute", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,10000,100000", help="comma-separated lead counts (10 plan rows each)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each phase; the median is reported")
    p.add_argument("--cpu", type=int, default=0, help="the CPU to pin the measuring process to (-1: no pinning)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--sync-max", type=int, default=10_000, help="largest size the app's whole compute is timed at")
    args = p.parse_args(argv)
    for n in [int(x.replace("k", "000")) for x in args.sizes.split(",")]:
        cpu = None if args.cpu < 0 else args.cpu
        result = run_worker("compute", n_leads=n, seed=args.seed, repeat=args.repeat, cpu=cpu, sync_max=args.sync_max)
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
