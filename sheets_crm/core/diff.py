"""Desired state minus current state = the few cells a sync must write.

Only tool-owned cells are ever compared or written: the tool columns of
Leads, the recognised columns of Calls Today, and header cells of tool
columns the sync had to add. A second sync over an unchanged sheet finds
nothing to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd

from sheets_crm.core.dates import EPOCH
from sheets_crm.core.model import KEEP, CellChange, ChangeSet, TabData
from sheets_crm.core.planner import CALL_FIELDS, LEAD_FIELDS, Plan
from sheets_crm.core.reading import Tables, TabMap
from sheets_crm.core.template import Template

__all__ = ["diff", "same_value", "same_fill"]


def same_value(desired: Any, current: Any) -> bool:
    """Does the cell already show ``desired``? Tolerant of each backend's types."""
    if desired is None:
        return current is None or (isinstance(current, str) and current == "")
    if isinstance(current, bool) or current is None:
        return False
    if isinstance(desired, dt.date):
        if isinstance(current, dt.datetime):
            return current.time() == dt.time() and current.date() == desired
        if isinstance(current, dt.date):
            return current == desired
        if isinstance(current, (int, float)):
            return float(current) == float((desired - EPOCH).days)  # Google serial
        return False
    if isinstance(desired, int):
        return isinstance(current, (int, float)) and not isinstance(current, dt.date) and current == desired
    return isinstance(current, str) and current == desired


def _norm_fill(color: str | None) -> str | None:
    return None if not color or color.upper() in ("FFFFFF", "00000000") else color.upper()


def same_fill(desired: str | None, current: str | None) -> bool:
    return _norm_fill(desired) == _norm_fill(current)


def _desired(value: Any, kind: str) -> Any:
    """Planner output → the plain Python value a cell should hold."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    if kind == "date":
        return value.date() if isinstance(value, pd.Timestamp) else value
    if kind == "int":
        return int(value)
    text = str(value)
    return text if text else None


def _cells(
    tab: TabData,
    tm: TabMap,
    row_idx: Iterable[int],
    col_id: str,
    kind: str,
    values: Iterable[Any],
    fills: Iterable[Any],
    date_format: str,
    out: list[CellChange],
) -> None:
    col = tm.columns[col_id]
    # The tool owns its cells' number format: a count must not inherit a stale
    # date format (it would show 1 as 1900-01-01 and never compare equal again).
    number_format = date_format if kind == "date" else "0" if kind == "int" else None
    for r, raw, fill in zip(row_idx, values, fills, strict=False):
        want = _desired(raw, kind)
        have = tab.cell(r, col)
        value_ok = same_value(want, have)
        fill_ok = same_fill(fill, tab.fill(r, col))
        if value_ok and fill_ok:
            continue
        out.append(
            CellChange(
                tab.title,
                r,
                col,
                value=want if not value_ok else KEEP,
                fill=fill if not fill_ok else KEEP,
                number_format=number_format if (not value_ok and want is not None) else None,
            )
        )


def _added_headers(tm: TabMap, fill: str | None, out: list[CellChange]) -> None:
    """Header cells of tool columns the sync appended: tool-owned, grey."""
    for col in tm.added.values():
        out.append(CellChange(tm.title, 0, col, value=tm.headers[col], fill=fill))


def diff(tables: Tables, plan: Plan, template: Template) -> ChangeSet:
    """All the cell writes that turn the sheet into the planned state."""
    changes: list[CellChange] = []
    fmt = template.settings.date_format
    lang = tables.lang
    header_fill = template.settings.tool_header_color or None

    # Leads: every data row's tool cells. Rows whose project was cleared get
    # blanked, so no stale history sits beside nobody.
    lm = tables.leads_map
    leads_tab = lm.data
    _added_headers(lm, header_fill, changes)
    rows_all = range(1, leads_tab.height)
    row_of = (tables.leads["row"] - 1).tolist()
    wanted = plan.leads
    for field in LEAD_FIELDS:
        column = lm.tab.column(field)
        by_row = dict.fromkeys(rows_all)
        by_row.update(zip(row_of, wanted[field].tolist(), strict=False))
        fill_by_row: dict[int, Any] = dict.fromkeys(rows_all)
        if column.freshness:
            # The row's freshness, unless the cell has a colour of its own (overdue, nothing planned, stale).
            own = f"{field}_fill"
            fill_by_row.update(zip(row_of, wanted[own if own in wanted else "fill"].tolist(), strict=False))
        _cells(leads_tab, lm, rows_all, field, column.type, by_row.values(), fill_by_row.values(), fmt, changes)

    # Calls Today: wholly tool-owned; rows past the list are cleared.
    cm = tables.calls_map
    calls_tab = cm.data
    _added_headers(cm, header_fill, changes)
    calls = plan.calls
    n = len(calls)
    section_fill = {
        "overdue": template.settings.overdue_color or None,
        "today": template.settings.today_color or None,
        "upcoming": template.settings.upcoming_color or None,
    }
    fills = [section_fill[s] for s in calls["section"]]
    height = max(calls_tab.height, n + 1)
    rows = range(1, height)
    blank_tail = [None] * (height - 1 - n)
    for field in CALL_FIELDS:
        kind = cm.tab.column(field).type
        values = calls[field].tolist()
        if field == "section":
            values = [template.section_label(s, lang) for s in values]
        _cells(calls_tab, cm, rows, field, kind, values + blank_tail, fills + blank_tail, fmt, changes)

    guard = {leads_tab.title: _guard(lm), calls_tab.title: [(0, c, calls_tab.cell(0, c)) for c in cm.columns.values()]}
    return ChangeSet(changes=changes, guard=guard)


def _guard(lm: TabMap) -> list[tuple[int, int, Any]]:
    """The cells that pin each tool value to its lead: headers and the key column."""
    data = lm.data
    cells = [(0, c, data.cell(0, c)) for cid, c in lm.columns.items() if cid not in lm.added]
    key = lm.columns["project"]
    cells.extend((r, key, data.cell(r, key)) for r in range(1, data.height))
    return cells
