"""The openpyxl backend end to end: round trip, user cells untouched, faults."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import openpyxl
import pytest
from conftest import TODAY
from openpyxl.styles import Font, PatternFill

from sheets_crm.app.demo import write_demo
from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook, create_workbook
from sheets_crm.core.layout import build_layout
from sheets_crm.core.model import CellChange, ChangeSet
from sheets_crm.errors import ConcurrentEditError, SheetShapeError, WorkbookError, WorkbookLockedError

LEADS = [
    ["Acme", "Bob", "+7 916 000-00-01", "bob@acme.example", "Proposal", "Anna", "Web", "big one"],
    ["Beta", "Eve", "", "", "New", "Ivan", "", ""],
    ['=HYPERLINK("http://evil.example","click")', "Mallory", "", "", "New", "Ivan", "", ""],
]
PLAN = [
    ["Acme", dt.date(2026, 11, 20), "Proposal", "Done", "Liked it", ""],
    ["Acme", dt.date(2026, 11, 21), "Follow up", "Planned", "", "Petr"],
    ["Beta", "2026-11-22", "Intro", "", "", ""],
    ['=HYPERLINK("http://evil.example","click")', "2026-11-22", '=IMPORTXML("http://x","//a")', "", "", ""],
    ["Ghost", "2026-11-23", "Who?", "Planned", "", ""],
]


def snapshot_cells(path: Path) -> dict:
    """Every cell's value and style, by (tab, coordinate)."""
    book = openpyxl.load_workbook(path)
    cells = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                cells[(ws.title, cell.coordinate)] = (
                    cell.value,
                    cell.data_type,
                    cell.number_format,
                    cell.font.b,
                    cell.fill.fill_type,
                    cell.fill.fgColor.rgb if cell.fill.fill_type else None,
                    cell.alignment.horizontal,
                )
    return cells


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sync_fills_tool_columns_and_calls(make_workbook):
    path = make_workbook(LEADS, PLAN)
    result = sync(LocalWorkbook(path), today=TODAY)
    assert result.written and result.changed_cells > 0
    assert result.counts() == {"overdue": 1, "today": 2, "upcoming": 1}
    book = openpyxl.load_workbook(path)
    leads = book["Leads"]
    assert [c.value for c in leads[2]][8:] == [
        dt.datetime(2026, 11, 20),
        "Liked it",
        dt.datetime(2026, 11, 21),
        "Follow up",
        2,
        1,
    ]
    assert leads["I2"].number_format == "yyyy-mm-dd"
    assert leads["I2"].fill.fgColor.rgb == "FF6FC59B"  # Proposal fades over 14 days: 2 days in
    assert [c.value for c in leads[3]][8:] == [None, None, dt.datetime(2026, 11, 22), "Intro", None, 0]
    calls = [[c.value for c in row] for row in book["Calls Today"].iter_rows(min_row=2)]
    assert [r[0] for r in calls] == ["Overdue", "Today", "Today", "Upcoming"]
    assert calls[0][3:9] == ["Acme", "Bob", "+7 916 000-00-01", "Follow up", "Liked it", "Petr"]
    assert book["Calls Today"]["A2"].fill.fgColor.rgb == "FFF4C7C3"
    assert book["Calls Today"]["A3"].fill.fgColor.rgb == "FFFFF2CC"


def test_formulas_in_names_stay_text(make_workbook):
    path = make_workbook(LEADS, PLAN)
    sync(LocalWorkbook(path), today=TODAY)
    ws = openpyxl.load_workbook(path)["Calls Today"]
    written = {ws.cell(r, 4).value: ws.cell(r, 4) for r in range(2, ws.max_row + 1)}
    evil = written['=HYPERLINK("http://evil.example","click")']
    assert evil.data_type == "s"  # written as a string, never a formula
    topic = ws.cell(evil.row, 7)
    assert topic.value == '=IMPORTXML("http://x","//a")' and topic.data_type == "s"


def test_user_cells_are_never_touched(make_workbook, template):
    path = make_workbook(LEADS, PLAN)
    # The person's own formatting on their cells must survive too.
    book = openpyxl.load_workbook(path)
    book["Leads"]["A2"].fill = PatternFill("solid", start_color="FFFF0000", end_color="FFFF0000")
    book["Leads"]["B3"].font = Font(bold=True)
    book["Contact Plan"]["C2"].fill = PatternFill("solid", start_color="FF00FF00", end_color="FF00FF00")
    book.save(path)
    before = snapshot_cells(path)
    sync(LocalWorkbook(path), today=TODAY)
    after = snapshot_cells(path)
    tool_cols = {"Leads": set("IJKLMN"), "Calls Today": None}
    # Tool-owned columns of Contact Plan (if the template has any), found by their header after the sync.
    plan_tool = {c.names["en"] for c in template.plan.columns if c.owner == "tool"}
    plan_ws = openpyxl.load_workbook(path)["Contact Plan"]
    tool_cols["Contact Plan"] = {c.column_letter for c in plan_ws[1] if c.value in plan_tool}
    checked = 0
    for key, value in before.items():
        tab, coord = key
        column = coord.rstrip("0123456789")
        if tab == "Calls Today" or (
            tab in ("Leads", "Contact Plan") and column in tool_cols[tab] and coord != column + "1"
        ):
            continue
        assert after.get(key) == value, key
        checked += 1
    assert checked > 40


def test_second_sync_changes_nothing(make_workbook):
    path = make_workbook(LEADS, PLAN)
    sync(LocalWorkbook(path), today=TODAY)
    before = digest(path)
    again = sync(LocalWorkbook(path), today=TODAY)
    assert not again.written and again.changed_cells == 0
    assert digest(path) == before  # not even re-saved


def test_next_day_moves_sections(make_workbook):
    path = make_workbook(LEADS, PLAN)
    sync(LocalWorkbook(path), today=TODAY)
    later = sync(LocalWorkbook(path), today=TODAY + dt.timedelta(days=1))
    assert later.written
    assert later.counts() == {"overdue": 3, "today": 1, "upcoming": 0}
    ws = openpyxl.load_workbook(path)["Calls Today"]
    assert ws.max_row == 5
    assert ws.cell(5, 1).value == "Today"


def test_shrinking_calls_clears_old_rows(make_workbook):
    path = make_workbook(LEADS, PLAN)
    sync(LocalWorkbook(path), today=TODAY)
    book = openpyxl.load_workbook(path)
    for row in book["Contact Plan"].iter_rows(min_row=2):
        row[3].value = "Cancelled"
    book.save(path)
    result = sync(LocalWorkbook(path), today=TODAY)
    assert result.calls == []
    ws = openpyxl.load_workbook(path)["Calls Today"]
    assert all(c.value is None and c.fill.fill_type is None for row in ws.iter_rows(min_row=2) for c in row)
    assert ws["A1"].value == "When"


def test_reordered_columns_and_own_columns(make_workbook, template):
    header = ["Notes", "My score", "Stage", "Touches", "Project", "Owner", "Last contact", "Contact", "Phone"]
    leads = [["", 5, "New", None, "Acme", "Anna", None, "Bob", "1"]]
    path = make_workbook(leads, [["Acme", "2026-11-21", "x", "Done", "ok", ""]], leads_header=header)
    result = sync(LocalWorkbook(path), today=TODAY)
    ws = openpyxl.load_workbook(path)["Leads"]
    assert ws["B2"].value == 5  # the person's own column
    assert ws["D2"].value == 1 and ws["G2"].value == dt.datetime(2026, 11, 21)
    # The missing tool columns were appended after the last one, with a grey header.
    added = [ws.cell(1, c).value for c in range(10, 14)]
    assert added == ["Last result", "Next contact", "Next topic", "Days since contact"]
    assert ws.cell(1, 10).fill.fgColor.rgb == "FFD9D9D9"
    assert ws["J2"].value == "ok"
    assert {i.code for i in result.issues} == {"added-column"}


def test_russian_workbook(make_workbook):
    leads = [["Ромашка", "Олег", "", "", "Переговоры", "Анна", "", ""]]
    plan = [
        ["Ромашка", "20.11.2026", "Звонок", "Проведён", "Ждут КП", ""],
        ["Ромашка", "21.11.2026", "КП", "Запланирован", "", ""],
    ]
    path = make_workbook(leads, plan, lang="ru")
    result = sync(LocalWorkbook(path), today=TODAY)
    assert result.lang == "ru" and result.counts()["overdue"] == 1
    ws = openpyxl.load_workbook(path)["Звонки на сегодня"]
    assert ws["A2"].value == "Просрочен"


def test_missing_tab_stops_before_writing(make_workbook):
    path = make_workbook(LEADS, PLAN)
    book = openpyxl.load_workbook(path)
    book["Contact Plan"].title = "Plan"
    book.save(path)
    before = digest(path)
    with pytest.raises(SheetShapeError, match="missing tab 'Contact Plan' / 'План контактов'"):
        sync(LocalWorkbook(path), today=TODAY)
    assert digest(path) == before


def test_missing_key_column_stops_before_writing(make_workbook):
    path = make_workbook(LEADS, PLAN)
    book = openpyxl.load_workbook(path)
    book["Leads"]["A1"].value = "Thing"
    book.save(path)
    before = digest(path)
    with pytest.raises(SheetShapeError, match="Leads: missing column 'Project' / 'Проект'"):
        sync(LocalWorkbook(path), today=TODAY)
    assert digest(path) == before


@pytest.mark.parametrize("lock_name", [".~lock.crm.xlsx#", "~$crm.xlsx"])
def test_locked_workbook_is_refused(make_workbook, lock_name):
    path = make_workbook(LEADS, PLAN)
    (path.parent / lock_name).write_text("someone")
    before = digest(path)
    with pytest.raises(WorkbookLockedError, match="open in Excel or LibreOffice"):
        sync(LocalWorkbook(path), today=TODAY)
    assert digest(path) == before


def test_crash_during_save_leaves_the_old_file(make_workbook, monkeypatch):
    import errno

    from sheets_crm.backends.local import workbook as local

    path = make_workbook(LEADS, PLAN)
    before = digest(path)

    def exploding_write(pkg, by_tab, out, *rest):
        out.write(b"half a zip")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(local, "write_changes", exploding_write)
    with pytest.raises(WorkbookError, match="disk is full; the workbook was not changed"):
        sync(LocalWorkbook(path), today=TODAY)
    assert digest(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["crm.xlsx"]  # no temp file left


def test_edit_between_read_and_write_is_detected(make_workbook):
    path = make_workbook(LEADS, PLAN)
    wb = LocalWorkbook(path)
    snap = wb.read()
    book = openpyxl.load_workbook(path)
    book["Leads"]["H2"].value = "typed while syncing"
    book.save(path)
    change = ChangeSet([CellChange("Leads", 1, 8, value="x")])
    with pytest.raises(ConcurrentEditError):
        wb.apply(change, snap)
    assert openpyxl.load_workbook(path)["Leads"]["H2"].value == "typed while syncing"


def test_sync_retries_after_a_concurrent_save(make_workbook, monkeypatch):
    path = make_workbook(LEADS, PLAN)
    wb = LocalWorkbook(path)
    real_read = wb.read
    calls = {"n": 0}

    def read_then_someone_saves(*args, **kwargs):
        snap = real_read(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:
            book = openpyxl.load_workbook(path)
            book["Leads"].insert_rows(2)  # the person inserts a row above the leads
            book["Leads"]["A2"].value = "Newcomer"
            book.save(path)
        return snap

    monkeypatch.setattr(wb, "read", read_then_someone_saves)
    result = sync(wb, today=TODAY)
    assert result.attempts == 2 and result.written
    ws = openpyxl.load_workbook(path)["Leads"]
    assert ws["A3"].value == "Acme" and ws["J3"].value == "Liked it"
    assert ws["A2"].value == "Newcomer" and ws["N2"].value == 0


def test_charts_are_kept_byte_for_byte(make_workbook, tmp_path):
    """The writer copies every part it does not own: a chart (and its drawing) come through unchanged."""
    import zipfile

    from openpyxl.chart import BarChart, Reference

    path = make_workbook(LEADS, PLAN)
    book = openpyxl.load_workbook(path)
    chart = BarChart()
    chart.add_data(Reference(book["Leads"], min_col=13, min_row=1, max_row=4))
    book["Leads"].add_chart(chart, "P2")
    book.save(path)
    with zipfile.ZipFile(path) as z:
        before = {n: z.read(n) for n in z.namelist() if n.startswith(("xl/charts/", "xl/drawings/"))}
    assert any(n.startswith("xl/charts/") for n in before)
    assert sync(LocalWorkbook(path), today=TODAY).written
    with zipfile.ZipFile(path) as z:
        after = {n: z.read(n) for n in z.namelist() if n.startswith(("xl/charts/", "xl/drawings/"))}
    assert after == before
    assert openpyxl.load_workbook(path)["Leads"]["J2"].value == "Liked it"


def test_not_a_workbook(tmp_path):
    bad = tmp_path / "crm.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(WorkbookError, match="cannot open"):
        sync(LocalWorkbook(bad), today=TODAY)
    with pytest.raises(WorkbookError, match="no such workbook"):
        sync(LocalWorkbook(tmp_path / "nope.xlsx"), today=TODAY)


def test_init_layout(tmp_path, template):
    path = create_workbook(tmp_path / "new.xlsx", build_layout(template, "en"))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Leads", "Contact Plan", "Calls Today"]
    leads = book["Leads"]
    assert leads.freeze_panes == "A2"
    assert leads["A1"].font.b and leads["I1"].fill.fgColor.rgb == "FFD9D9D9"
    assert leads["A1"].fill.fgColor.rgb == "FFCFE2F3"
    assert leads.column_dimensions["A"].width == 28
    status_rules = [dv for dv in book["Contact Plan"].data_validations.dataValidation]
    assert status_rules[0].formula1 == '"Planned,Done,Cancelled"'
    assert any('"Won"' in str(r.formula) for rng in leads.conditional_formatting for r in rng.rules)
    assert leads.max_row == 1  # no pre-made rows: appends land on row 2
    with pytest.raises(WorkbookError, match="already exists"):
        create_workbook(path, build_layout(template, "en"))


def test_demo_workbook_syncs_with_its_broken_rows(tmp_path):
    path = write_demo(tmp_path / "demo.xlsx", TODAY)
    result = sync(LocalWorkbook(path), today=TODAY)
    # The demo's four broken rows; open calls of its Won/Lost leads are reported too (issue 11's rule).
    codes = sorted(i.code for i in result.issues if i.code != "closed-lead-open-call")
    assert codes == ["bad-date", "duplicate-lead", "unknown-project", "unknown-status"]
    counts = result.counts()
    assert counts["overdue"] > 0 and counts["today"] > 0 and counts["upcoming"] > 0
    book = openpyxl.load_workbook(path)
    assert book["Leads"].max_row == 31 and 120 <= book["Contact Plan"].max_row <= 180
