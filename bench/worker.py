"""One measurement in a fresh interpreter: ``python -m bench.worker '<json spec>'``.

The spec is ``{"task": name, "params": {...}}``; the result is printed as one
JSON line on stdout. The runner (:mod:`bench.run`) is the only intended caller.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any


def _generate_xlsx(n_leads: int, path: str, seed: int = 42) -> dict[str, Any]:
    from .generate import generate, write_xlsx

    t0 = time.perf_counter()
    crm = generate(n_leads, seed)
    write_xlsx(crm, path)
    return {"seconds": time.perf_counter() - t0, "plan_rows": crm.plan_rows}


def _tasks() -> dict[str, Callable[..., dict[str, Any]]]:
    from . import compute, local, planner

    tasks: dict[str, Callable[..., dict[str, Any]]] = {
        "generate_xlsx": _generate_xlsx,
        "local_floor": local.floor,
        "local_sync": local.sync_once,
        "planner": planner.planner,
        "compute": compute.compute,
    }
    try:
        from . import google
    except ImportError:  # the Google stand-in is not available in this tree
        return tasks
    tasks.update(google.TASKS)
    return tasks


def _profiled(task: Callable[..., dict[str, Any]], params: dict[str, Any], path: str) -> dict[str, Any]:
    """Run ``task`` under cProfile; write its top functions to ``path``."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(task, **params)
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    text.write(
        f"cProfile of bench.worker task with {json.dumps(params)}\n"
        "(profiling slows Python code down ~2x; the timings in results.md are unprofiled runs)\n\n"
        "== by cumulative time ==\n"
    )
    stats.sort_stats("cumulative").print_stats(45)
    text.write("\n== by own time ==\n")
    stats.sort_stats("tottime").print_stats(30)
    cleaned = "\n".join(
        line.rstrip()
        for line in text.getvalue().splitlines()
        if not line.startswith(("   List reduced", "   Ordered by"))
    )
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(cleaned.replace(str(__import__("pathlib").Path.cwd()) + "/", "") + "\n")
    return result


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    params = dict(spec.get("params", {}))
    profile = params.pop("profile", None)
    task = _tasks()[spec["task"]]
    result = _profiled(task, params, profile) if profile else task(**params)
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
