"""Desired state minus current state = the few cells a sync must write.

Only tool-owned cells are ever compared or written: the tool columns of
Leads, the recognised columns of Calls Today, and header cells of tool
columns the sync had to add. A second sync over an unchanged sheet finds
nothing to do.

The comparison is column by column: wanted and current cells become comparison
keys (computed once per distinct current cell) and only the rows that differ are
kept, as one :class:`~sheets_crm.core.model.ChangeBlock` per column. The rule it
implements is :func:`same_value` / :func:`same_fill`, one cell at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from sheets_crm.core.dates import EPOCH
from sheets_crm.core.model import KEEP, CellChange, ChangeBlock, ChangeSet, TabData
from sheets_crm.core.planner import CALL_FIELDS, LEAD_FIELDS, Plan
from sheets_crm.core.reading import Coded as _Coded
from sheets_crm.core.reading import Tables, TabMap, is_none
from sheets_crm.core.template import Template

__all__ = ["diff", "same_value", "same_fill"]


def same_value(desired: Any, current: Any) -> bool:
    """Does the cell already show ``desired``? Tolerant of each backend's types.

    The per-cell rule; :func:`diff` applies it a column at a time (and the tests check it does).
    """
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


#: Comparison keys: a cell that is empty (None or ""), and one that can equal no wanted value.
_EMPTY = np.iinfo(np.int64).min
_NOMATCH = _EMPTY + 1
_EPOCH64 = np.datetime64(EPOCH, "D")
_EMPTY_CELL = object()
_NO_TEXT = object()


def _number_key(value: Any) -> int:
    """A number a tool count or a Google date serial could equal, as an int key."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**62 else _NOMATCH
    return int(value) if abs(value) < 2**62 else _NOMATCH


def _date_key(value: Any) -> int:
    """The day a current cell shows, as days since the serial epoch (what :func:`same_value` accepts)."""
    if isinstance(value, bool):
        return _NOMATCH
    if isinstance(value, dt.datetime):
        return (value.date() - EPOCH).days if value.time() == dt.time() else _NOMATCH
    if isinstance(value, dt.date):
        return (value - EPOCH).days
    if isinstance(value, (int, float)):
        return _number_key(value)  # a Google serial
    return _EMPTY if value == "" else _NOMATCH


def _int_key(value: Any) -> int:
    if isinstance(value, (bool, dt.date)):
        return _NOMATCH
    if isinstance(value, (int, float)):
        return _number_key(value)
    return _EMPTY if value == "" else _NOMATCH


def _text_key(value: Any) -> Any:
    if isinstance(value, str):
        return _EMPTY_CELL if value == "" else value
    return _NO_TEXT


def _current_keys(current: np.ndarray, kind: str) -> np.ndarray:
    """Per current cell, the key a wanted value must have to be already shown (see :func:`same_value`)."""
    coded = _Coded(current)
    keys: np.ndarray
    if kind == "date":
        keys = coded.table(_date_key, _EMPTY, np.int64)[coded.codes]
    elif kind == "int":
        keys = coded.table(_int_key, _EMPTY, np.int64)[coded.codes]
    else:
        keys = coded.table(_text_key, _EMPTY_CELL)[coded.codes]
    # Code -1 is None or NaN: None is an empty cell, NaN equals nothing.
    nan = (coded.codes < 0) & ~is_none(current)
    if nan.any():
        keys[nan] = _NOMATCH if kind in ("date", "int") else _NO_TEXT
    return keys


def _wanted(values: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Desired values → (comparison keys, the plain Python value each cell should hold; None = empty)."""
    if kind == "date":
        days = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")
        keys = np.where(np.isnat(days), _EMPTY, (days - _EPOCH64).astype(np.int64))
        return keys, days.astype(object)  # datetime.date, None for NaT
    if kind == "int":
        numbers = pd.array(values, dtype="Int64")
        missing = np.asarray(numbers.isna(), dtype=bool)
        keys = np.asarray(numbers.fillna(0), dtype=np.int64)
        keys[missing] = _EMPTY
        plain = keys.astype(object)
        plain[missing] = None
        return keys, plain
    plain = np.empty(len(values), dtype=object)
    plain[:] = [_desired(v, kind) for v in values] if pd.api.types.infer_dtype(values) != "string" else values
    plain[pd.isna(plain) | (plain == "")] = None
    keys = plain.copy()
    keys[is_none(plain)] = _EMPTY_CELL
    return keys, plain


def _fill_keys(fills: np.ndarray) -> np.ndarray:
    coded = _Coded(fills)
    out: np.ndarray = coded.table(_norm_fill, None)[coded.codes]
    return out


def _padded(column: np.ndarray, n: int) -> np.ndarray:
    """Rows 1..n of a column (the header left out), empty past the tab's end."""
    body = column[1 : n + 1]
    if len(body) == n:
        return body
    out = np.full(n, None, dtype=object)
    out[: len(body)] = body
    return out


def _block(tab: TabData, col: int, kind: str, values: np.ndarray, fills: np.ndarray, date_format: str) -> ChangeBlock:
    """The changes to rows 1..len(values) of one tool column: only cells whose value or fill differ."""
    n = len(values)
    keys, plain = _wanted(values, kind)
    value_ok = keys == _current_keys(_padded(tab.column(col), n), kind)
    fill_ok = _fill_keys(fills) == _fill_keys(_padded(tab.fill_column(col), n))
    at = np.flatnonzero(~(value_ok & fill_ok))
    new_value = ~value_ok[at]
    out_values = np.where(new_value, plain[at], KEEP)
    out_fills = np.where(fill_ok[at], KEEP, fills[at])
    # The tool owns its cells' number format: a count must not inherit a stale
    # date format (it would show 1 as 1900-01-01 and never compare equal again).
    number_format = date_format if kind == "date" else "0" if kind == "int" else None
    formats = np.full(len(at), None, dtype=object)
    if number_format:
        formats[new_value & ~is_none(plain[at])] = number_format
    return ChangeBlock(tab.title, col, at + 1, out_values, out_fills, formats)


def _added_headers(tm: TabMap, fill: str | None, out: list[CellChange | ChangeBlock]) -> None:
    """Header cells of tool columns the sync appended: tool-owned, grey."""
    for col in tm.added.values():
        out.append(CellChange(tm.title, 0, col, value=tm.headers[col], fill=fill))


def diff(tables: Tables, plan: Plan, template: Template) -> ChangeSet:
    """All the cell writes that turn the sheet into the planned state."""
    changes: list[CellChange | ChangeBlock] = []
    fmt = template.settings.date_format
    lang = tables.lang
    header_fill = template.settings.tool_header_color or None

    # Leads: every data row's tool cells. Rows whose project was cleared get
    # blanked, so no stale history sits beside nobody.
    lm = tables.leads_map
    leads_tab = lm.data
    _added_headers(lm, header_fill, changes)
    n_rows = max(leads_tab.height - 1, 0)
    at = (tables.leads["row"] - 2).to_numpy(dtype=np.int64)  # each lead's position among rows 1..
    wanted = plan.leads
    for field in LEAD_FIELDS:
        column = lm.tab.column(field)
        values = _spread(wanted[field].to_numpy(), at, n_rows, column.type)
        fills = np.full(n_rows, None, dtype=object)
        if column.freshness:
            # The row's freshness, unless the cell has a colour of its own (overdue, nothing planned, stale).
            own = f"{field}_fill"
            fills[at] = wanted[own if own in wanted else "fill"].to_numpy(dtype=object)
        changes.append(_block(leads_tab, lm.columns[field], column.type, values, fills, fmt))

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
    height = max(calls_tab.height, n + 1)
    fills = np.full(height - 1, None, dtype=object)
    fills[:n] = [section_fill[s] for s in calls["section"].tolist()]
    for field in CALL_FIELDS:
        kind = cm.tab.column(field).type
        values = calls[field].to_numpy()
        if field == "section":
            values = np.array([template.section_label(s, lang) for s in values.tolist()], dtype=object)
        values = _spread(values, np.arange(n), height - 1, kind)
        changes.append(_block(calls_tab, cm.columns[field], kind, values, fills, fmt))

    guard = {leads_tab.title: _guard(lm), calls_tab.title: [(0, c, calls_tab.cell(0, c)) for c in cm.columns.values()]}
    return ChangeSet.lazy(changes, guard)


def _spread(values: np.ndarray, at: np.ndarray, n: int, kind: str) -> np.ndarray:
    """``values`` placed at positions ``at`` of ``n`` rows, the other rows empty (NaT / NA / None)."""
    if kind == "date":
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        out[at] = np.asarray(values, dtype="datetime64[ns]")
        return out
    out = np.full(n, None, dtype=object)
    out[at] = np.asarray(values, dtype=object)
    if kind == "int":
        out[at[pd.isna(out[at])]] = None  # NA / NaN: no count
    return out


def _guard(lm: TabMap) -> list[tuple[int, int, Any]]:
    """The cells that pin each tool value to its lead: headers and the key column."""
    data = lm.data
    cells = [(0, c, data.cell(0, c)) for cid, c in lm.columns.items() if cid not in lm.added]
    key = lm.columns["project"]
    cells.extend(zip(range(1, data.height), [key] * (data.height - 1), data.column(key)[1:].tolist(), strict=True))
    return cells
