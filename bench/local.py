"""The local .xlsx backend against the floor of openpyxl's own load + save."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from .measure import measure

__all__ = ["floor", "sync_once"]


def floor(path: str) -> dict[str, Any]:
    """``openpyxl.load_workbook`` + ``save`` of the workbook, nothing else."""
    import openpyxl

    src = Path(path)
    fd, out = tempfile.mkstemp(prefix=".floor.", suffix=".xlsx", dir=src.parent)
    os.close(fd)
    try:
        with measure() as ph:
            book = openpyxl.load_workbook(src)
            book.save(out)
        ph.extra["cells"] = sum(ws.max_row * ws.max_column for ws in book.worksheets)
        return ph.as_dict()
    finally:
        Path(out).unlink(missing_ok=True)


def sync_once(path: str, today: str) -> dict[str, Any]:
    """One ``sheets_crm.app.sync.sync`` of the workbook at ``path`` (written in place)."""
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.local.workbook import LocalWorkbook

    day = dt.date.fromisoformat(today)
    with measure() as ph:
        result = sync(LocalWorkbook(path), today=day)
    ph.extra.update(
        changed_cells=result.changed_cells,
        written=result.written,
        calls=result.counts(),
        issues=dict(Counter(i.code for i in result.issues)),
        file_mb=round(Path(path).stat().st_size / 1e6, 2),
    )
    return ph.as_dict()
