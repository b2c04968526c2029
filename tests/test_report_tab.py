"""Issue 14: the Report / Отчёт tab the sync keeps, on both backends.

The CRM is test_report's (numbers worked out by hand there). What is checked
here is the tab's life: made by the first sync in its one write, only changed
cells written afterwards (a second sync writes nothing), rows no longer used
cleared, a person's text typed over a tool cell kept in History with a
warning, a person's text elsewhere in the tab left alone, and a tab of that
name the tool did not make left untouched.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import header
from test_report import LEADS, PLAN, TODAY, _russian

from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.core.ledger import STATE_TITLE
from sheets_crm.core.reading import cell_text

MARK = "Report by sheets-crm, 2026-11-25: the sync rewrites this tab; text typed over its cells is kept in History."
HEAD = [
    "Manager",
    "Week",
    "Done",
    "Cancelled",
    "Planned",
    "Overdue",
    "Nothing planned",
    "Stale",
    "Never contacted",
    "Won",
    "Lost",
    "Moves",
    "To Won",
    "To Lost",
]
# This week so far (11-23…11-25) and last week, per manager: the numbers test_report worked out by hand,
# then the stage moves History dated (none on a first sync).
BODY = [
    ["Anna", "2026-W48", 2, 0, 3, 1, 1, 1, 1, 1, 0, 0, 0, 0],
    ["Anna", "2026-W47", 0, 0, 0, None, None, None, None, None, None, 0, 0, 0],
    ["Ivan", "2026-W48", 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
    ["Ivan", "2026-W47", 1, 0, 2, None, None, None, None, None, None, 0, 0, 0],
    ["Petr", "2026-W48", 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ["Petr", "2026-W47", 0, 0, 0, None, None, None, None, None, None, 0, 0, 0],
    ["(no owner)", "2026-W48", 2, 0, 2, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    ["(no owner)", "2026-W47", 0, 0, 0, None, None, None, None, None, None, 0, 0, 0],
    ["Team", "2026-W48", 4, 1, 7, 2, 3, 2, 2, 2, 1, 0, 0, 0],
    ["Team", "2026-W47", 1, 0, 2, None, None, None, None, None, None, 0, 0, 0],
]
FLOW_NONE = "Conversion and days in a stage: History has no dated stage yet."


def _grid(rows: list[list[Any]]) -> list[list[Any]]:
    """Trailing empty cells and rows dropped (as both backends read them)."""
    out = [list(r) for r in rows]
    for r in out:
        while r and r[-1] in (None, ""):
            r.pop()
    while out and not out[-1]:
        out.pop()
    return out


def _local(path: Path, title: str = "Report") -> list[list[Any]]:
    ws = openpyxl.load_workbook(path)[title]
    return _grid([list(r) for r in ws.iter_rows(values_only=True)])


def _history(path: Path) -> list[list[Any]]:
    ws = openpyxl.load_workbook(path)["History"]
    return [list(r) for r in ws.iter_rows(min_row=2, values_only=True) if any(r)]


def _expected() -> list[list[Any]]:
    return _grid([[MARK], [], HEAD, *BODY, [], [FLOW_NONE]])


@pytest.fixture
def crm(make_workbook):
    return make_workbook([row[:8] for row in LEADS], PLAN)


def test_first_sync_makes_the_tab_then_a_second_writes_nothing(crm):
    first = sync(LocalWorkbook(crm), today=TODAY)
    assert first.written
    book = openpyxl.load_workbook(crm)
    assert book.sheetnames[-3:] == ["Report", "History", STATE_TITLE]
    assert book["Report"].sheet_state == "visible"
    assert _local(crm) == _expected()
    before = crm.read_bytes()
    again = sync(LocalWorkbook(crm), today=TODAY)
    assert not again.written and again.changed_cells == 0
    assert crm.read_bytes() == before
    assert not [i for i in again.issues if "Report" in i.message]


def test_text_typed_over_a_tool_cell_goes_to_history_and_text_elsewhere_stays(crm):
    sync(LocalWorkbook(crm), today=TODAY)
    book = openpyxl.load_workbook(crm)
    ws = book["Report"]
    assert ws["C4"].value == 2  # Anna's done this week
    ws["C4"].value = "call Anna about this"  # typed over a tool cell
    ws["Q20"].value = "my own note"  # a cell the tool does not use
    book.save(crm)
    result = sync(LocalWorkbook(crm), today=TODAY)
    assert result.written
    assert _local(crm)[3][2] == 2  # the number is back
    assert openpyxl.load_workbook(crm)["Report"]["Q20"].value == "my own note"  # left where it was
    kept = [line for line in _history(crm) if line[7] == "typed-over"]
    assert kept == [["2026-11-25", "Report", 4, None, "C", "call Anna about this", "2", "typed-over"]]
    warned = [i for i in result.issues if i.code == "typed-over"]
    assert [(i.tab, i.row, i.column, i.value) for i in warned] == [("Report", 4, "C", "call Anna about this")]
    assert warned[0].message == "typed into the Report tab: kept in 'History' and replaced by '2'"
    third = sync(LocalWorkbook(crm), today=TODAY)
    assert not third.written  # the person's note is not "changed" again and again


def test_rows_no_longer_used_are_cleared_but_a_persons_text_in_them_is_not(crm):
    sync(LocalWorkbook(crm), today=TODAY)
    book = openpyxl.load_workbook(crm)
    plan = book["Contact Plan"]
    for row in plan.iter_rows(min_row=2):
        if row[5].value == "Petr":  # Epsilon's call was the only thing Petr had
            row[5].value = None
    book.save(crm)
    # Two rows fewer (Petr's); the tab's old last rows hold the tool's values and are cleared, except the cell
    # where a person wrote something.
    book = openpyxl.load_workbook(crm)
    old = _local(crm)
    book["Report"].cell(len(old), 1).value = "kept by hand"  # the last line (the flow note) typed over
    book.save(crm)
    result = sync(LocalWorkbook(crm), today=TODAY)
    got = _local(crm)
    names = [r[0] for r in got[3:11]]
    assert "Petr" not in names and names[-2:] == ["Team", "Team"]
    assert got[-1] == ["kept by hand"]  # not the tool's: not cleared (and no longer needed there)
    assert len(got) == len(old)  # the row above it was the tool's and is now empty
    assert got[-2] == [] and got[-3] == [FLOW_NONE]
    assert not [i for i in result.issues if i.code == "typed-over"]
    assert not sync(LocalWorkbook(crm), today=TODAY).written


def test_a_tab_named_report_that_the_tool_did_not_make_is_left_alone(crm):
    book = openpyxl.load_workbook(crm)
    ws = book.create_sheet("Report")
    ws["A1"], ws["B2"] = "Q4 plan", 120
    book.save(crm)
    result = sync(LocalWorkbook(crm), today=TODAY)
    assert _local(crm) == [["Q4 plan"], [None, 120]]
    said = [i for i in result.issues if i.code == "report-tab-not-ours"]
    assert len(said) == 1 and said[0].tab == "Report" and "did not make" in said[0].message
    again = sync(LocalWorkbook(crm), today=TODAY)
    assert not again.written and [i.code for i in again.issues].count("report-tab-not-ours") == 1


def test_an_empty_tab_named_report_is_taken(crm):
    book = openpyxl.load_workbook(crm)
    book.create_sheet("report")
    book.save(crm)
    sync(LocalWorkbook(crm), today=TODAY)
    assert _local(crm, "report") == _expected()
    assert "Report" not in openpyxl.load_workbook(crm).sheetnames  # no second tab


def test_the_next_day_rewrites_only_what_changed(crm):
    sync(LocalWorkbook(crm), today=TODAY)
    nxt = TODAY + dt.timedelta(days=1)
    result = sync(LocalWorkbook(crm), today=nxt)
    report = _local(crm)
    assert report[0] == [MARK.replace("2026-11-25", "2026-11-26")]
    # Only the mark, Beta's 11-26 call now "planned"/"overdue"-wise numbers and the like change: far fewer cells
    # than the tab holds.
    cells = sum(1 for row in report for v in row if cell_text(v))
    assert 0 < result.changed_cells and result.stats == {}
    assert cells > 60


def test_russian_sheet_gets_otchyot(make_workbook, template):
    leads, plan = _russian([row[:8] for row in LEADS], PLAN)
    path = make_workbook(leads, plan, lang="ru", leads_header=header(template, "leads", "ru"))
    sync(LocalWorkbook(path), today=TODAY)
    got = _local(path, "Отчёт")
    assert got[0][0].startswith("Отчёт sheets-crm, 25.11.2026:")
    assert got[2][:4] == ["Менеджер", "Неделя", "Проведено", "Отменено"]
    assert ["Команда", "2026-W48", 4, 1, 7] in [r[:5] for r in got]
    assert not sync(LocalWorkbook(path), today=TODAY).written


# -- Google (the offline stand-in) -------------------------------------------------------------------------------------


def test_google_makes_the_same_tab_in_its_one_write_and_keeps_typed_text(fake_google):
    from test_google_e2e import seed, workbook

    sid = seed(fake_google, [row[:8] for row in LEADS], PLAN)
    first = sync(workbook(fake_google, sid), today=TODAY)
    assert first.stats["write_batches"] == 1 and fake_google.stats.writes == 1
    assert fake_google.tabs(sid)[-3:] == ["Report", "History", STATE_TITLE]
    got = _grid([[v if v != "" else None for v in row] for row in fake_google.values(sid, "Report")])
    assert got == _expected()
    fake_google.reset_stats()
    again = sync(workbook(fake_google, sid), today=TODAY)
    assert not again.written and fake_google.stats.writes == 0

    fake_google.person.set_value(sid, "Report", "C4", "call Anna about this")
    fake_google.person.set_value(sid, "Report", "Q20", "my own note")
    fake_google.reset_stats()
    third = sync(workbook(fake_google, sid), today=TODAY)
    assert third.written and fake_google.stats.writes == 1
    values = fake_google.values(sid, "Report")
    assert values[3][2] == 2 and values[19][16] == "my own note"
    history = [row for row in fake_google.values(sid, "History")[1:] if "typed-over" in row]
    assert history == [["2026-11-25", "Report", 4, "", "C", "call Anna about this", "2", "typed-over"]]
    assert [i.code for i in third.issues].count("typed-over") == 1
    fake_google.reset_stats()
    assert not sync(workbook(fake_google, sid), today=TODAY).written and fake_google.stats.writes == 0


def test_the_warnings_are_in_the_russian_catalog(crm, make_workbook):
    """The Report tab's warnings speak Russian through the CLI's catalog like every other warning about the sheet."""
    from sheets_crm.cli import i18n

    sync(LocalWorkbook(crm), today=TODAY)
    book = openpyxl.load_workbook(crm)
    book["Report"]["C4"].value = "моя заметка"
    book.save(crm)
    issue = next(i for i in sync(LocalWorkbook(crm), today=TODAY).issues if i.code == "typed-over")
    translate = i18n._catalog("ru").gettext
    assert issue.text(translate) == "написано во вкладке отчёта: сохранено в «History» и заменено на «2»"
    fresh = make_workbook([row[:8] for row in LEADS], PLAN, name="fresh.xlsx")
    book = openpyxl.load_workbook(fresh)
    book.create_sheet("Report")["A1"] = "мой отчёт"
    book.save(fresh)
    other = next(i for i in sync(LocalWorkbook(fresh), today=TODAY).issues if i.code == "report-tab-not-ours")
    assert other.text(translate).startswith("вкладку «Report» создала не sheets-crm: отчёт туда не пишется")


def test_a_history_prune_does_not_make_the_next_sync_write(template):
    """History drops lines older than a year about monthly; the tab counts a rolling year every day, so the sync
    after the prune has nothing new to write."""
    from conftest import make_snapshot
    from test_history import LEADS as H_LEADS
    from test_history import PLAN as H_PLAN
    from test_history import run

    from sheets_crm.app.sync import compute
    from sheets_crm.core.history import KEEP_DAYS, PRUNE_AFTER_DAYS
    from sheets_crm.core.model import KEEP

    snap = make_snapshot(template, [list(r) for r in H_LEADS], [list(r) for r in H_PLAN])
    day = dt.date(2026, 11, 22)
    run(snap, template, day)
    old = (day - dt.timedelta(days=KEEP_DAYS + 5)).isoformat()  # kept in History for now, but older than a year
    snap.tabs["History"].values.append([old, "Leads", 2, "Acme", "Stage", "New", "Proposal", "stage"])
    run(snap, template, day)
    report = snap.tabs["Report"].values
    assert not any(cell_text(v).startswith("Conversion and days in a stage (History since") for r in report for v in r)
    later = day + dt.timedelta(days=PRUNE_AFTER_DAYS - KEEP_DAYS)  # now the old line is pruned
    run(snap, template, later)
    assert old not in [cell_text(r[0]) for r in snap.tabs["History"].values if r]
    again = compute(snap, later, template)
    assert not [ch for ch in again.changes.changes if ch.value is not KEEP]


def test_a_state_tab_edited_by_hand_is_no_crash(crm):
    sync(LocalWorkbook(crm), today=TODAY)
    book = openpyxl.load_workbook(crm)
    state = book[STATE_TITLE]
    row = next(r for r in state.iter_rows(min_row=2) if r[0].value == "report")
    row[2].value = '{"x":"1","3:2":"Anna","-1:0":"?"}'
    book.save(crm)
    result = sync(LocalWorkbook(crm), today=TODAY)
    assert _local(crm) == _expected()
    assert not sync(LocalWorkbook(crm), today=TODAY).written
    assert result.written  # the memory line is written again in full
