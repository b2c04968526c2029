"""The tool's memory inside the workbook: what it last wrote and saw, in a hidden tab.

The state tab ``_sheets_crm`` (same name in every language, hidden) has one row per remembered
row of the CRM: ``Tab`` (``leads`` / ``plan`` / ``calls``), ``Key`` (the lead's normalised project,
a plan or call row's ID) and ``Data``, a JSON object ``{column id: text}`` (a plan row's: an array,
:data:`PLAN_FIELDS`). Tool columns hold the value the sync last wrote; ``~``-prefixed entries hold what
it last *saw* in a person's cell (a lead's ``~stage`` / ``~owner``, a plan row's ``~date`` / ``~status`` /
``~result``). A remembered row keeps its line from sync to sync. Because it is
a tab, the memory travels with the spreadsheet (copies, downloads, other machines).

Values are compared as text (:func:`canon`): dates as ISO days, whatever the backend gives.
Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sheets_crm.core.dates import EPOCH
from sheets_crm.core.model import KEEP, CellChange, ChangeBlock, TabData
from sheets_crm.core.reading import cell_text
from sheets_crm.core.text import normalise

__all__ = ["STATE_TITLE", "STATE_HEADERS", "PLAN_FIELDS", "Ledger", "canon", "find_tab", "grid_changes", "grid_blocks"]

#: The hidden state tab's title (one name for both languages: people are not meant to read it).
STATE_TITLE = "_sheets_crm"
STATE_HEADERS = ("Tab", "Key", "Data")
#: Order of the remembered rows on a first sync (later each keeps its line).
_TAB_ORDER = ("leads", "plan", "calls")
#: A plan row's memory is a JSON array of these, in this order (trailing empties left out): the few things
#: History and the work list need (the project for a removed row's line, the date for re-dated, the status
#: for done/cancelled and conflicts, the result for conflicts). A JSON object (the previous format, with
#: ``~topic`` too) is still read.
PLAN_FIELDS = ("~project", "~date", "~status", "~result")
#: What earlier versions remembered and this one does not (a plan row's topic; a call's Days overdue and
#: section, which change every day): a line that differs from the new memory only by these is left as it is.
_RETIRED = frozenset({"~topic", "days_overdue", "section"})
#: 9999-12-31 as a serial day number: larger numbers in a date column are not dates.
_MAX_SERIAL = 2958466


def canon(value: Any, kind: str = "text") -> str:
    """A cell as comparable text: a date column's serial number or date as an ISO day."""
    if kind == "date" and not isinstance(value, bool):
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, (int, float)) and 0 < value < _MAX_SERIAL:
            return (EPOCH + dt.timedelta(days=int(value))).isoformat()
    return cell_text(value)


def find_tab(tabs: Mapping[str, TabData], names: Iterable[str]) -> TabData | None:
    """The tab whose title is one of ``names`` (case, spaces and ё/е ignored)."""
    wanted = {normalise(n) for n in names}
    for title, data in tabs.items():
        if normalise(title) in wanted:
            return data
    return None


@dataclass
class Ledger:
    """What the last sync wrote and saw: ``rows[(tab id, key)] = {column id: text}``."""

    rows: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    #: The state tab as read (None: the workbook has none yet).
    tab: TabData | None = None
    #: Where each remembered row stands in the state tab (0-based, the header is row 0).
    places: dict[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def read(cls, tabs: Mapping[str, TabData]) -> Ledger:
        tab = find_tab(tabs, (STATE_TITLE,))
        rows: dict[tuple[str, str], dict[str, str]] = {}
        places: dict[tuple[str, str], int] = {}
        if tab is not None:
            for r in range(1, tab.height):
                kind, key, raw = (cell_text(tab.cell(r, c)) for c in range(3))
                try:
                    data = json.loads(raw) if raw else {}
                except ValueError:
                    continue  # a damaged line: forgotten, so nothing is flagged from it
                if kind == "plan" and isinstance(data, list):
                    data = dict(zip(PLAN_FIELDS, data, strict=False))
                if kind and key and isinstance(data, dict):
                    rows[(kind, key)] = {str(k): str(v) for k, v in data.items() if v not in ("", None)}
                    places[(kind, key)] = r
        return cls(rows, tab, places)

    @property
    def known(self) -> bool:
        """Has a sync remembered anything yet? (Before that nothing counts as changed.)"""
        return bool(self.rows)

    def get(self, tab_id: str, key: str) -> dict[str, str] | None:
        return self.rows.get((tab_id, key))

    def keys(self, tab_id: str) -> list[str]:
        return [k for t, k in self.rows if t == tab_id]

    def _data_cell(self, tab_id: str, key: str, data: Mapping[str, str]) -> Any:
        """The Data cell for ``data``: the line as read when it says the same (an earlier version's format
        included, so a new version rewrites no line just for its format), else newly encoded."""
        old = self.rows.get((tab_id, key))
        if old is not None and self.tab is not None and (tab_id, key) in self.places:
            if {f: v for f, v in old.items() if f not in _RETIRED} == {f: v for f, v in data.items() if v}:
                return self.tab.cell(self.places[(tab_id, key)], 2)
        return _encode(tab_id, data)

    def grid(
        self, new: Mapping[tuple[str, str], Mapping[str, str]], extra: Iterable[list[Any]] = ()
    ) -> list[list[Any]]:
        """The state tab's rows for the ``new`` memory and the ``extra`` ready lines (``[tab, key, data]``,
        the Report tab's memory). A remembered row stays on its line, so rows coming and going elsewhere
        move no other line (only changed lines are rewritten); a new row takes the first line left free
        (by a forgotten row or a damaged line), else goes at the end; on a first sync they follow
        :data:`_TAB_ORDER`, the extra lines last."""
        lines: dict[tuple[str, str], list[Any]] = {}
        for tab_id in _TAB_ORDER:
            for t, key in new:
                if t == tab_id:
                    lines[(t, key)] = [t, key, self._data_cell(t, key, new[(t, key)])]
        for line in extra:
            lines[(str(line[0]), str(line[1]))] = line
        kept = {self.places[k]: k for k in lines if k in self.places}
        end = max(kept, default=0) + 1
        grid: list[list[Any]] = [list(STATE_HEADERS)] + [[] for _ in range(1, end)]
        for r, k in kept.items():
            grid[r] = lines[k]
        free = iter([r for r in range(1, end) if r not in kept])
        for k, line in lines.items():
            if k not in self.places:
                slot = next(free, None)
                if slot is None:
                    grid.append(line)
                else:
                    grid[slot] = line
        return grid


def _encode(tab_id: str, data: Mapping[str, str]) -> str:
    """One memory row's Data cell: a plan row's :data:`PLAN_FIELDS` as an array, else an object of the
    non-empty values."""
    packed: list[str] | dict[str, str]
    if tab_id == "plan":
        packed = [data.get(f, "") for f in PLAN_FIELDS]
        while packed and not packed[-1]:
            packed.pop()
    else:
        packed = {c: v for c, v in sorted(data.items()) if v}
    return json.dumps(packed, ensure_ascii=False, separators=(",", ":"))


def grid_blocks(tab: TabData | None, title: str, grid: list[list[Any]], keep_rows: int = 0) -> list[ChangeBlock]:
    """The cells of :func:`grid_changes`, as one compact :class:`ChangeBlock` per column (values only):
    the state tab of a 100k-lead first sync is over a million lines, which stay three arrays of
    references instead of millions of cell changes."""
    width = max((len(line) for line in grid), default=0)
    height = max(len(grid), tab.height if tab else 0)
    out: list[ChangeBlock] = []
    for c in range(width):
        rows: list[int] = []
        values: list[Any] = []
        for r in range(keep_rows, height):
            line = grid[r] if r < len(grid) else []
            want = line[c] if c < len(line) else None
            have = tab.cell(r, c) if tab else None
            if cell_text(want) != cell_text(have):
                rows.append(r)
                values.append(None if want in ("", None) else want)
        if rows:
            n = len(rows)
            vals = np.empty(n, dtype=object)
            vals[:] = values
            fills = np.full(n, KEEP, dtype=object)
            formats = np.full(n, None, dtype=object)
            out.append(ChangeBlock(title, c, np.array(rows, dtype=np.int64), vals, fills, formats))
    return out


def grid_changes(tab: TabData | None, title: str, grid: list[list[Any]], keep_rows: int = 0) -> list[CellChange]:
    """Cell writes turning a tool-owned tab (``tab``: as read, or None when new) into ``grid``.
    Rows past the grid are cleared, except the first ``keep_rows`` rows are never touched."""
    out: list[CellChange] = []
    width = max((len(line) for line in grid), default=0)
    height = max(len(grid), tab.height if tab else 0)
    for r in range(keep_rows, height):
        line = grid[r] if r < len(grid) else []
        for c in range(width):
            want = line[c] if c < len(line) else None
            have = tab.cell(r, c) if tab else None
            if cell_text(want) != cell_text(have):
                out.append(CellChange(title, r, c, value=None if want in ("", None) else want))
    return out
