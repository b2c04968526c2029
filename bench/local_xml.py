"""Local sync (the in-place XML writer) against openpyxl's load + save floor, at 1k, 10k and 100k leads.

Run by hand (the 100k size takes minutes, mostly openpyxl's floor)::

    uv run python -m bench.local_xml                       # 1000,10000,100000
    uv run python -m bench.local_xml --sizes 1000,10000

One JSON line per measurement on stdout. Every measurement runs in a fresh
``python -m bench.worker`` process, so ``peak_mb`` is the resident-set
high-water mark of that process's sync alone (see bench/measure.py). For each
size: ``floor`` (``openpyxl.load_workbook`` + ``save`` of the generated
workbook), then on a copy: ``first`` sync (today), ``next_day`` sync (today + 1:
every Days since contact and every fading colour moves), ``noop`` (the same day
again: nothing to write). ``ratio`` = the phase's wall time / the floor's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from .generate import TODAY
from .measure import load_average, run_worker

__all__ = ["main"]

HERE = Path(__file__).resolve().parent


def _line(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def run(sizes: list[int], cache: Path, timeout: float) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for n in sizes:
        src = cache / f"crm-{n}-seed42.xlsx"
        if not src.exists():
            run_worker("generate_xlsx", timeout=timeout, n_leads=n, path=str(src), seed=42)
        floor = run_worker("local_floor", timeout=timeout, path=str(src))
        base = {"bench": "local_xml", "n_leads": n, "input_mb": round(src.stat().st_size / 1e6, 2)}
        _line(**base, phase="floor", wall_s=round(floor["wall_s"], 3), peak_mb=round(floor["peak_mb"], 1))
        work = cache / f"work-xml-{n}.xlsx"
        shutil.copyfile(src, work)
        days = {"first": TODAY, "next_day": TODAY + dt.timedelta(days=1), "noop": TODAY + dt.timedelta(days=1)}
        for phase, day in days.items():
            res = run_worker("local_sync", timeout=timeout, path=str(work), today=day.isoformat())
            _line(
                **base,
                phase=phase,
                wall_s=round(res["wall_s"], 3),
                ratio=round(res["wall_s"] / floor["wall_s"], 3),
                peak_mb=round(res["peak_mb"], 1),
                changed_cells=res["extra"]["changed_cells"],
                written=res["extra"]["written"],
                load=round(load_average()[0], 1),
            )
        work.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--cache", type=Path, default=HERE / ".cache")
    p.add_argument("--timeout", type=float, default=3600)
    args = p.parse_args(argv)
    run([int(x) for x in args.sizes.split(",")], args.cache, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
