"""Timing and memory of one measured phase, and running phases in fresh processes.

Peak memory is the process's resident-set high-water mark (``VmHWM``) over
the phase: the mark is reset just before the phase (``/proc/self/clear_refs``,
Linux ≥ 4.0) so set-up done earlier in the same process (generating rows,
seeding the stand-in) does not count. Where the reset is not possible the
lifetime peak (``ru_maxrss``) is reported and marked as such. ``base`` is the
resident set just before the phase (interpreter, imports, and whatever the
set-up left resident, e.g. the in-process Google stand-in holding the sheet).

Every measurement the runner reports is made in a fresh ``python -m
bench.worker`` process, so one size's garbage never inflates the next one's
peak.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Phase", "measure", "run_worker", "WorkerError", "load_average"]


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _trim() -> None:
    """Give freed memory back to the OS so ``base`` is what is really live."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass
class Phase:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    base_mb: float = 0.0
    peak_mb: float = 0.0
    #: False when the high-water mark could not be reset (lifetime peak).
    peak_scoped: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def measure() -> Iterator[Phase]:
    """Time (wall and process CPU) and peak RSS of the ``with`` body."""
    phase = Phase()
    _trim()
    rss = _status_kb("VmRSS")
    phase.base_mb = (rss or 0) / 1024
    phase.peak_scoped = _reset_peak()
    cpu0, t0 = time.process_time(), time.perf_counter()
    try:
        yield phase
    finally:
        phase.wall_s = time.perf_counter() - t0
        phase.cpu_s = time.process_time() - cpu0
        hwm = _status_kb("VmHWM") if phase.peak_scoped else None
        if hwm is None:
            phase.peak_scoped = False
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        phase.peak_mb = hwm / 1024


def load_average() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)


class WorkerError(RuntimeError):
    pass


def run_worker(task: str, timeout: float | None = None, **params: Any) -> dict[str, Any]:
    """Run ``bench.worker`` ``task`` in a fresh interpreter; its JSON result."""
    spec = json.dumps({"task": task, "params": params})
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.worker", spec],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=os.path.dirname(os.path.dirname(__file__)),
        )
    except subprocess.TimeoutExpired as exc:
        raise WorkerError(f"{task} timed out after {timeout:.0f} s") from exc
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise WorkerError(f"{task} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(lines[-1])
