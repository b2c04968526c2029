"""The tool's own tabs on Google (History, the hidden state tab): ``addSheet`` in the same batch.

A tab the change set needs (:attr:`ChangeSet.new_tabs`) and the sheet lacks is added by an
``addSheet`` request placed first in the one atomic ``batchUpdate``, with a sheet id chosen here
so the value writes of the same batch can address it; its grid is sized to the cells written.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sheets_crm.core.model import ChangeSet, Snapshot, TabData

__all__ = ["add_sheet_requests"]

#: Google's default grid for a new tab; a visible one of ours is at least this big (room to grow by hand).
_MIN_ROWS, _MIN_COLS = 100, 8


def add_sheet_requests(changes: ChangeSet, base: Snapshot) -> tuple[list[dict[str, Any]], Snapshot]:
    """``addSheet`` requests for the missing tabs, and ``base`` with those tabs in it (empty)."""
    missing = [(title, hidden) for title, hidden in changes.new_tabs.items() if title not in base.tabs]
    if not missing:
        return [], base
    taken = {int(t.ref) for t in base.tabs.values() if isinstance(t.ref, int)}
    tabs = dict(base.tabs)
    requests: list[dict[str, Any]] = []
    next_id = max(taken, default=0) + 1
    for title, hidden in missing:
        # A hidden tab (the tool's state) is exactly as wide as what is written: nobody types there, and
        # spare columns down a tall tab would spend Google's 10-million-cell budget for nothing. Spare
        # rows stay: a later sync adding a few lines then needs no grid growth (a write that grows the
        # grid is not retried blindly after a 5xx).
        rows = max([_MIN_ROWS, *(ch.row + 1 for ch in changes.changes if ch.tab == title)])
        cols = max([1 if hidden else _MIN_COLS, *(ch.col + 1 for ch in changes.changes if ch.tab == title)])
        sheet_id = next_id
        next_id += 1
        props = {"sheetId": sheet_id, "title": title, "gridProperties": {"rowCount": rows, "columnCount": cols}}
        if hidden:
            props["hidden"] = True
        requests.append({"addSheet": {"properties": props}})
        tabs[title] = TabData(title, [], ref=sheet_id, grid_rows=rows, grid_cols=cols)
    return requests, replace(base, tabs=tabs)
