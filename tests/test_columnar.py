"""Issue 17: tabs held by columns, reading coded by distinct cell, diff by column into compact blocks.

The columnar paths must give exactly what the row-by-row ones give: the same frames and warnings
from the same cells, and the same cell changes as a per-cell comparison (``same_value`` /
``same_fill``, the documented rule) over every tool cell — hostile cells included.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import TODAY, make_snapshot

from bench.generate import generate, sheet_rows, snapshot
from sheets_crm.core.diff import diff, same_fill, same_value
from sheets_crm.core.model import KEEP, CellChange, ChangeBlock, ChangeSet, Snapshot, TabData
from sheets_crm.core.planner import CALL_FIELDS, LEAD_FIELDS, plan_crm
from sheets_crm.core.reading import read_tables
from sheets_crm.core.template import Template

#: Cells people (and other tools) leave in sheets: Python's True == 1 == 1.0 and NaN != NaN among them.
ODD = [
    True,
    False,
    1,
    0,
    1.0,
    0.0,
    -0.0,
    "",
    "  ",
    float("nan"),
    "x",
    "1",
    "TRUE",
    2.5,
    -3,
    10**20,
    dt.time(9, 30),
    dt.date(2026, 11, 20),
    dt.datetime(2026, 11, 20),
    dt.datetime(2026, 11, 20, 10, 30),
    46346,
    46346.0,
    46346.5,
    "2026-11-20",
    "20.11.2026",
    "20 ноября",
    "Done",
    " done ",
    "FFFFFF",
]
FILLS = [None, "", "FFFFFF", "00000000", "ffffff", "C6EFCE", "c6efce", "FFC7CE", "123456"]


def _columnar(snap: Snapshot) -> Snapshot:
    """The same snapshot with every tab handed over by columns (fills kept)."""
    tabs = {}
    for title, tab in snap.tabs.items():
        width = max((len(line) for line in tab.values), default=0)
        columns = []
        for col in range(width):
            column = np.empty(tab.height, dtype=object)
            column[:] = [line[col] if col < len(line) else None for line in tab.values]
            columns.append(column)
        tabs[title] = TabData.from_columns(title, columns, tab.height, fills=dict(tab.fills), ref=tab.ref)
    return dataclasses.replace(snap, tabs=tabs)


def _sprinkle(snap: Snapshot, rnd: random.Random, share: float, fills: bool) -> None:
    """Odd cells (and fills) in every tab's data rows, the key and date columns included."""
    for tab in snap.tabs.values():
        for r in range(1, tab.height):
            line = tab.values[r]
            width = max(len(line), len(tab.values[0]))
            line.extend([None] * (width - len(line)))
            for c in range(width):
                if rnd.random() < share:
                    line[c] = rnd.choice(ODD)
                if fills and rnd.random() < share:
                    tab.fills[(r, c)] = rnd.choice(FILLS)


def _rows_snapshot(n_leads: int, template: Template, seed: int) -> Snapshot:
    return Snapshot(
        {t: TabData(t, [list(r) for r in rows]) for t, rows in sheet_rows(generate(n_leads, seed), template).items()}
    )


def _same_tables(a: Any, b: Any) -> None:
    pd.testing.assert_frame_equal(a.leads, b.leads)
    pd.testing.assert_frame_equal(a.plan, b.plan)
    assert [i.as_dict() for i in a.issues] == [i.as_dict() for i in b.issues]
    assert a.leads_map.columns == b.leads_map.columns and a.leads_map.added == b.leads_map.added


def _key(ch: CellChange) -> tuple[Any, ...]:
    return (ch.tab, ch.row, ch.col, repr(ch.value), repr(ch.fill), ch.number_format)


def _per_cell(tables: Any, plan: Any, template: Template) -> list[tuple[Any, ...]]:
    """The oracle: every tool cell compared one at a time with ``same_value`` / ``same_fill``."""
    fmt = template.settings.date_format
    out: list[tuple[Any, ...]] = []

    def cell(tab: TabData, r: int, col: int, kind: str, want: Any, fill: Any) -> None:
        if want is None or want is pd.NaT or want is pd.NA or (isinstance(want, float) and want != want):
            want = None
        elif kind == "date":
            want = pd.Timestamp(want).date()
        elif kind == "int":
            want = int(want)
        else:
            want = str(want) or None
        value_ok = same_value(want, tab.cell(r, col))
        fill_ok = same_fill(fill, tab.fill(r, col))
        if not (value_ok and fill_ok):
            number_format = fmt if kind == "date" else "0" if kind == "int" else None
            out.append(
                _key(
                    CellChange(
                        tab.title,
                        r,
                        col,
                        KEEP if value_ok else want,
                        KEEP if fill_ok else fill,
                        number_format if not value_ok and want is not None else None,
                    )
                )
            )

    lm, cm = tables.leads_map, tables.calls_map
    by_row = dict(zip((tables.leads["row"] - 1).tolist(), range(len(tables.leads)), strict=True))
    for field in LEAD_FIELDS:
        column = lm.tab.column(field)
        own = f"{field}_fill" if f"{field}_fill" in plan.leads else "fill"
        for r in range(1, lm.data.height):
            i = by_row.get(r)
            want = None if i is None else plan.leads[field].iloc[i]
            fill = None if i is None or not column.freshness else plan.leads[own].iloc[i]
            cell(lm.data, r, lm.columns[field], column.type, want, fill)
    n = len(plan.calls)
    colours = template.settings
    section_fill = {"overdue": colours.overdue_color, "today": colours.today_color, "upcoming": colours.upcoming_color}
    for field in CALL_FIELDS:
        kind = cm.tab.column(field).type
        for r in range(1, max(cm.data.height, n + 1)):
            want = plan.calls[field].iloc[r - 1] if r <= n else None
            section = plan.calls["section"].iloc[r - 1] if r <= n else None
            if field == "section" and want is not None:
                want = template.section_label(want, tables.lang)
            cell(cm.data, r, cm.columns[field], kind, want, (section_fill[section] or None) if section else None)
    return out


def test_tabdata_by_columns_reads_like_rows():
    cols = [np.array(["Project", "A", None, "C"], dtype=object), np.array(["Date", None, None, 5], dtype=object)]
    tab = TabData.from_columns("Leads", cols, 4, grid_rows=4)
    assert tab.columnar and tab.height == 4 and tab.width == 2
    assert tab.header == ["Project", "Date"]
    assert tab.cell(1, 0) == "A" and tab.cell(3, 1) == 5 and tab.cell(2, 0) is None
    assert tab.cell(9, 0) is None and tab.cell(1, 7) is None
    assert tab.row(1) == ["A"] and tab.row(2) == [] and tab.row(3) == ["C", 5]
    assert tab.column(1).tolist() == ["Date", None, None, 5]
    assert tab.column(5).tolist() == [None] * 4
    assert tab.columnar  # none of that built rows
    # Asking for rows builds them ragged, as a backend reading rows leaves them; then rows are the truth.
    assert tab.values == [["Project", "Date"], ["A"], [], ["C", 5]]
    assert not tab.columnar
    tab.values[2].append("B")
    assert tab.cell(2, 0) == "B" and tab.column(0).tolist() == ["Project", "A", "B", "C"]
    copy_ = dataclasses.replace(tab, values=[["X"]])
    assert copy_.values == [["X"]] and copy_.height == 1 and copy_.grid_rows == 4
    with pytest.raises(ValueError):
        TabData.from_columns("Bad", [np.array([1, 2], dtype=object)], 3)


def test_tabdata_by_rows_gives_columns_and_fills():
    tab = TabData("Leads", [["A", "B"], ["x"], [None, 2]], fills={(1, 0): "FF0000"})
    assert tab.column(1).tolist() == ["B", None, 2]
    assert tab.fill_column(0).tolist() == [None, "FF0000", None]
    tab.fills.update({(0, 1): "00FF00", (2, 0): "0000FF", (2, 1): "ABCDEF"})  # as many fills as rows, or more
    assert tab.fill_column(0).tolist() == [None, "FF0000", "0000FF"]
    assert tab.fill_column(1).tolist() == ["00FF00", None, "ABCDEF"]
    assert tab.width == 2 and tab.row(1) == ["x"] and not tab.columnar


def test_lazy_change_set_expands_in_order_only_when_read():
    block = ChangeBlock(
        "Leads",
        3,
        np.array([1, 2, 3, 7]),
        np.array([5, KEEP, None, 8], dtype=object),
        np.array([KEEP, "FF0000", None, KEEP], dtype=object),
        np.array(["0", None, None, "0"], dtype=object),
    )
    head = CellChange("Leads", 0, 3, "Touches", fill=None)
    empty = ChangeBlock("Leads", 4, *(np.array([], dtype=object) for _ in range(4)))
    cs = ChangeSet.lazy([head, block, empty], {"Leads": [(0, 0, "Project")]})
    assert len(cs) == 5 and cs and cs.blocks == [block]
    assert block.runs() == [(0, 3), (3, 4)]
    changes = cs.changes
    assert cs.blocks is None  # expanded once, now a plain list people may append to
    assert changes[0] is head
    assert [(c.row, c.value, c.fill, c.number_format) for c in changes[1:]] == [
        (1, 5, KEEP, "0"),
        (2, KEEP, "FF0000", None),
        (3, None, None, None),
        (7, 8, KEEP, "0"),
    ]
    cs.changes.append(CellChange("Leads", 9, 0, "x"))
    assert len(cs) == 6 and len(cs.by_tab()["Leads"]) == 6
    again = dataclasses.replace(ChangeSet.lazy([block]), guard={})
    assert len(again) == 4 and again.changes[0].row == 1
    assert not ChangeSet() and not ChangeSet.lazy([empty])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reading_by_columns_equals_reading_by_rows(template, seed):
    rnd = random.Random(seed)
    rows = _rows_snapshot(300, template, seed)
    _sprinkle(rows, rnd, 0.05, fills=False)
    cols = _columnar(rows)
    for today in (TODAY, None):
        _same_tables(read_tables(cols, template, today), read_tables(rows, template, today))
    assert all(t.columnar for t in cols.tabs.values())


def test_odd_cells_keep_their_own_reading(template):
    """True and 1 are equal to Python (and to a hash table) but read differently: TRUE is no date."""
    plan = [
        ["Acme", True, "a", "Done", "", ""],
        ["Acme", 1, "b", "Done", "", ""],
        ["Acme", 1.0, "c", "Done", "", ""],
        ["Acme", dt.datetime(2026, 11, 20), "d", True, "", ""],
        ["Acme", 46346, "e", 1, "", ""],
    ]
    snap = make_snapshot(template, [["Acme"]], plan)
    rows, cols = read_tables(snap, template, TODAY), read_tables(_columnar(snap), template, TODAY)
    _same_tables(cols, rows)
    bad = [i.row for i in cols.issues if i.code == "bad-date"]
    assert bad == [2]  # TRUE in a date cell; 1 and 1.0 are serial day 1 (1899-12-31)
    assert cols.plan["status_text"].tolist() == ["Done", "Done", "TRUE", "1"]  # the TRUE-dated row is skipped


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_diff_by_columns_equals_the_per_cell_rule(template, seed):
    """First sync, a sync over odd tool cells and fills, and the next day: the same changes, cell for cell."""
    rnd = random.Random(seed)
    snap = _rows_snapshot(250, template, seed)
    for today in (TODAY, TODAY + dt.timedelta(days=1)):
        for view in (snap, _columnar(snap)):
            tables = read_tables(view, template, today)
            plan = plan_crm(tables.leads, tables.plan, today, template)
            got = diff(tables, plan, template)
            assert [_key(c) for c in got.changes if c.row > 0] == _per_cell(tables, plan, template)
        snap = _applied(snap, got)
        _sprinkle(snap, rnd, 0.08, fills=True)


def _applied(snap: Snapshot, changes: ChangeSet) -> Snapshot:
    out = copy.deepcopy(snap)
    for c in changes.changes:
        tab = out.tabs[c.tab]
        while len(tab.values) <= c.row:
            tab.values.append([])
        line = tab.values[c.row]
        line.extend([None] * (c.col + 1 - len(line)))
        if c.value is not KEEP:
            line[c.col] = c.value
        if c.fill is not KEEP:
            if c.fill:
                tab.fills[(c.row, c.col)] = c.fill
            else:
                tab.fills.pop((c.row, c.col), None)
    return out


def test_second_sync_by_columns_is_a_no_op(template):
    snap = _rows_snapshot(200, template, 9)
    tables = read_tables(_columnar(snap), template, TODAY)
    first = diff(tables, plan_crm(tables.leads, tables.plan, TODAY, template), template)
    assert first.blocks and len(first) > 1000
    again = _columnar(_applied(snap, first))
    tables = read_tables(again, template, TODAY)
    second = diff(tables, plan_crm(tables.leads, tables.plan, TODAY, template), template)
    assert len(second) == 0 and second.changes == []
    assert all(t.columnar for t in again.tabs.values())  # the core never asked for rows


def test_bench_snapshot_is_columnar_and_matches_rows(template):
    crm = generate(50, 3)
    cols, rows = snapshot(crm, template), snapshot(crm, template, columnar=False)
    assert all(t.columnar for t in cols.tabs.values()) and not any(t.columnar for t in rows.tabs.values())
    _same_tables(read_tables(cols, template, TODAY), read_tables(rows, template, TODAY))


def test_local_reader_hands_over_columns_with_row_widths(tmp_path):
    """Dense sheets come by columns (each row as long as the file had it); a stray far cell keeps rows."""
    import openpyxl
    from openpyxl.styles import PatternFill

    from sheets_crm.backends.local.xlsx_read import Package, read_tabs

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Leads"
    rows = [["Project", "Date", "n"], ["Acme", dt.datetime(2026, 11, 20), 3], ["Beta"], [], ["Gamma", None, True]]
    for r, line in enumerate(rows, start=1):
        for c, value in enumerate(line, start=1):
            ws.cell(r, c).value = value
    ws.cell(3, 3).fill = PatternFill("solid", fgColor="FFC6EFCE")  # a filled cell with no value
    sparse = book.create_sheet("Far")
    sparse["A1"] = "x"
    sparse["XFD1048576"] = "y"
    path = tmp_path / "cols.xlsx"
    book.save(path)

    tabs = read_tabs(Package.open(str(path), path.read_bytes()), ("Leads",))
    leads, far = tabs["Leads"], tabs["Far"]
    assert leads.columnar and leads.height == 5 and leads.fill(2, 2) == "C6EFCE"
    assert leads.column(0).tolist() == ["Project", "Acme", "Beta", None, "Gamma"]
    assert leads.cell(1, 1) == dt.datetime(2026, 11, 20) and leads.cell(4, 2) is True
    # The filled empty cell counts for its row's width, as when the reader built rows.
    assert leads.row(2) == ["Beta", None, None] and leads.row(3) == [] and leads.row(4) == ["Gamma", None, True]
    assert leads.values == [
        ["Project", "Date", "n"],
        ["Acme", dt.datetime(2026, 11, 20), 3],
        ["Beta", None, None],
        [],
        ["Gamma", None, True],
    ]
    assert not far.columnar and far.height == 1_048_576 and far.cell(1_048_575, 16_383) == "y"


def test_bench_compute_smoke():
    """bench/compute.py end to end on a tiny CRM (no timing asserted: speed lives in bench/)."""
    from bench.compute import compute

    result = compute(30, repeat=2, cpu=None)
    assert result["plan_rows_in_sheet"] == 300 and result["changes"] > 0 and result["change_blocks"] > 0
    for phase in ("read_tables", "plan_crm", "diff", "compute", "rows_snapshot", "sync_compute"):
        assert len(result[phase]["runs_cpu_s"]) == (2 if phase in ("read_tables", "plan_crm", "diff", "compute") else 1)
        assert result[phase]["peak_mb"] > 0
    assert result["rows_built_by_sync_compute"] == ["Calls Today"]  # the plan and Leads stay columnar


@pytest.mark.parametrize("seed", [7, 8])
def test_filled_rows_by_columns_equals_walking_rows(template, seed):
    """The work list finds the plan's rows with anything in them without turning columns into rows."""
    from sheets_crm.core.reading import cell_text, filled_rows

    rnd = random.Random(seed)
    rows = _rows_snapshot(120, template, seed)
    _sprinkle(rows, rnd, 0.1, fills=False)
    plan = rows.tabs["Contact Plan"]
    for r in rnd.sample(range(1, plan.height), 20):
        plan.values[r] = [rnd.choice([None, "", "  ", float("nan")]) for _ in plan.values[r]]  # blank rows
    plan.values[rnd.randrange(1, plan.height)][-1] = "only the last column"
    cols = _columnar(rows).tabs["Contact Plan"]
    for skip in ((), (0,), (len(plan.header) - 1,)):
        walked = [
            r for r in range(1, plan.height) if any(cell_text(v) for c, v in enumerate(plan.values[r]) if c not in skip)
        ]
        assert filled_rows(cols, skip).tolist() == walked == filled_rows(plan, skip).tolist()
    assert cols.columnar
