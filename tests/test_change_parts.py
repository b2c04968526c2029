"""A change set's column blocks stay compact until a writer needs a cell: adding single changes
(work list, History, state and Report tabs) does not expand them, History sees only the tabs it
reads, and the local writer fed blocks per tab writes exactly the bytes it writes from cell changes."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import openpyxl
from conftest import TODAY

from bench.generate import generate, write_xlsx
from sheets_crm.app.sync import compute
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.backends.local.xlsx_write import write_changes
from sheets_crm.core.model import KEEP, CellChange, ChangeBlock, ChangeSet
from sheets_crm.core.template import Template


def _block(tab: str, col: int, rows: list[int], values: list[object]) -> ChangeBlock:
    n = len(rows)
    fills = np.array(["FFEEAA" if i % 3 == 0 else KEEP for i in range(n)], dtype=object)
    formats = np.array([None] * n, dtype=object)
    return ChangeBlock(tab, col, np.array(rows), np.array(values, dtype=object), fills, formats)


def test_adding_changes_keeps_blocks_compact_and_in_order():
    block = _block("Plan", 2, [1, 2, 5], ["a", KEEP, None])
    other = _block("Leads", 1, [3], [7])
    cs = ChangeSet.lazy([block, other])
    cs.add(CellChange("Plan", 2, 2, "later"))
    cs.extend([CellChange("Calls", 1, 0, "x"), CellChange("Plan", 9, 0, "y")])
    assert cs.blocks == [block, other]  # nothing expanded
    assert len(cs) == 7
    assert [(c.tab, c.row) for c in cs.cells({"Leads", "Calls"})] == [("Leads", 3), ("Calls", 1)]
    assert cs.blocks == [block, other]
    by_tab = cs.parts_by_tab()
    assert list(by_tab) == ["Plan", "Leads", "Calls"] and by_tab["Plan"][0] is block
    expanded = [(c.tab, c.row, c.col, c.value) for c in cs.changes]  # now expanded, the same order
    assert expanded == [
        ("Plan", 1, 2, "a"),
        ("Plan", 2, 2, KEEP),
        ("Plan", 5, 2, None),
        ("Leads", 3, 1, 7),
        ("Plan", 2, 2, "later"),
        ("Calls", 1, 0, "x"),
        ("Plan", 9, 0, "y"),
    ]
    cs.add(CellChange("Plan", 10, 0, "z"))  # after expansion, added to the list
    assert cs.blocks is None and cs.changes[-1].value == "z" and len(cs.parts()) == 8


def _workbook(tmp_path: Path, template: Template) -> tuple[Path, ChangeSet]:
    path = tmp_path / "crm.xlsx"
    write_xlsx(generate(60, seed=3), path)
    book = LocalWorkbook(path)
    outcome = compute(book.read(), TODAY, template)
    return path, outcome.changes


def test_sync_leaves_the_plan_blocks_compact(tmp_path, template):
    _path, changes = _workbook(tmp_path, template)
    assert changes.blocks  # History, the work list and the state tab added theirs without expanding
    assert any(isinstance(p, CellChange) for p in changes.parts())


def test_writer_from_blocks_writes_the_same_bytes_as_from_cells(tmp_path, template):
    path, changes = _workbook(tmp_path, template)
    parts = changes.parts_by_tab()
    tab = next(t for t, ps in parts.items() if any(isinstance(p, ChangeBlock) for p in ps))
    blocks = [p for p in parts[tab] if isinstance(p, ChangeBlock)]
    # Hostile extras: a single change overriding a block's cell (the later one wins), rows past the end,
    # and a block for a row written twice.
    first = blocks[0]
    parts[tab] = [
        *parts[tab],
        CellChange(tab, int(first.rows[0]), first.col, "overridden", fill=None),
        _block(tab, first.col + 1, [5000, 5001, 5003], ["new", dt.date(2026, 1, 2), 3.5]),
        _block(tab, first.col, [int(first.rows[-1]), 4999], ["again", KEEP]),
    ]
    cells: dict[str, list[CellChange]] = {}
    for title, ps in parts.items():
        for p in ps:
            cells.setdefault(title, []).extend(p.cells() if isinstance(p, ChangeBlock) else [p])
    book = LocalWorkbook(path)
    book.read()
    pkg = book._pkg
    assert pkg is not None
    from_blocks, from_cells = io.BytesIO(), io.BytesIO()
    write_changes(pkg, parts, from_blocks, changes.new_tabs)
    write_changes(pkg, cells, from_cells, changes.new_tabs)
    assert from_blocks.getvalue() == from_cells.getvalue()
    out = tmp_path / "out.xlsx"
    out.write_bytes(from_blocks.getvalue())
    ws = openpyxl.load_workbook(out)[tab]
    assert ws.cell(int(first.rows[0]) + 1, first.col + 1).value == "overridden"
    assert ws.cell(5002, first.col + 2).value == 46024  # a date without a number format: its serial
    assert ws.cell(5004, first.col + 2).value == 3.5
    assert ws.max_row == 5004


def test_sheets_spliced_in_chunks_and_views_are_the_same_bytes(tmp_path, template, monkeypatch):
    """Chunked joins and memoryview stretches are a matter of memory only: tiny limits (every few
    pieces joined, every stretch of more than 40 bytes referenced) give the same file, first sync
    (every plan row rewritten, new tabs) and next day (a few rows among unchanged stretches)."""
    import sheets_crm.backends.local.xlsx_write as xw

    path, _changes = _workbook(tmp_path, template)
    for day in (TODAY, TODAY + dt.timedelta(days=1)):
        book = LocalWorkbook(path)
        changes = compute(book.read(), day, template).changes
        pkg = book._pkg
        assert pkg is not None
        outs = []
        for chunk, gap in ((1 << 30, 1 << 62), (3, 40), (1, 1)):
            monkeypatch.setattr(xw, "_CHUNK", chunk)
            monkeypatch.setattr(xw, "_BIG_GAP", gap)
            buf = io.BytesIO()
            write_changes(pkg, changes.parts_by_tab(), buf, changes.new_tabs)
            outs.append(buf.getvalue())
        assert outs[0] == outs[1] == outs[2]
        path.write_bytes(outs[0])
    assert openpyxl.load_workbook(path).sheetnames  # well-formed
