"""The pure core alone (no I/O): reading frames, planning, diffing, on one core."""

from __future__ import annotations

from typing import Any

from .generate import TODAY, generate, snapshot
from .measure import measure

__all__ = ["planner"]


def planner(n_leads: int, seed: int = 42, repeat: int = 3) -> dict[str, Any]:
    """Time ``read_tables``, ``plan_crm`` (best of ``repeat``) and ``diff`` on a synthetic CRM.

    All of it is single-threaded (pandas/numpy sorts and hashes run on one
    core): process CPU time is the time on one core, and CPU ≤ wall shows no
    second thread helped. The process is not pinned, so a busy core elsewhere
    on a shared machine shows as wall > CPU rather than slowing the work.
    """
    from sheets_crm.core.diff import diff
    from sheets_crm.core.planner import plan_crm
    from sheets_crm.core.reading import read_tables
    from sheets_crm.core.template import default_template

    template = default_template()
    snap = snapshot(generate(n_leads, seed), template)  # by columns, as the local reader hands it over
    with measure() as read_ph:
        tables = read_tables(snap, template)
    runs = []
    for _ in range(repeat):
        with measure() as ph:
            plan = plan_crm(tables.leads, tables.plan, TODAY, template)
        runs.append(ph)
    best = min(runs, key=lambda p: p.cpu_s)
    with measure() as diff_ph:
        changes = diff(tables, plan, template)
    plan_rows = len(tables.plan)
    return {
        "n_leads": n_leads,
        "plan_rows": plan_rows,
        "read_tables": read_ph.as_dict(),
        "plan": best.as_dict(),
        "plan_runs_cpu_s": [round(p.cpu_s, 3) for p in runs],
        "plan_rows_per_s": plan_rows / best.cpu_s if best.cpu_s else None,
        "diff": diff_ph.as_dict(),
        "changes": len(changes),
        "calls": plan.counts(),
    }
