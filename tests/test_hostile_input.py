"""Hostile and messy input: the sync never crashes, never writes a formula it
did not mean to, and names every row it skips.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import openpyxl
import pytest

from conftest import TODAY
from sheets_crm.backends.local import LocalWorkbook
from sheets_crm.errors import WorkbookError
from sheets_crm.sync import sync


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_numbers_in_a_tool_column_that_had_a_date_format(make_workbook):
    """A stale date in Touches leaves a date format behind; the count must not show as a date,
    and the next sync must not rewrite it for ever."""
    leads = [["Acme", "", "", "", "New", "", "", "", None, None, None, None, dt.datetime(2020, 1, 1),
              dt.datetime(2020, 1, 1)]]
    path = make_workbook(leads, [["Acme", "2026-11-20", "x", "Done", "ok", ""]])
    sync(LocalWorkbook(path), today=TODAY)
    ws = openpyxl.load_workbook(path)["Leads"]
    assert ws["N2"].value == 1 and ws["M2"].value == 2
    assert not ws["N2"].is_date and not ws["M2"].is_date
    before = digest(path)
    again = sync(LocalWorkbook(path), today=TODAY)
    assert again.changed_cells == 0 and digest(path) == before


# -- merged cells ----------------------------------------------------------------------------------


def test_merged_cells_over_tool_columns_stop_cleanly(make_workbook):
    path = make_workbook([["Acme", "Bob"], ["Beta"]], [["Acme", "2026-11-20", "x", "Done", "ok", ""]])
    book = openpyxl.load_workbook(path)
    book["Leads"].merge_cells("I2:J2")
    book.save(path)
    before = digest(path)
    with pytest.raises(WorkbookError, match=r"Leads!I2:J2 .*merged.*J2.*Unmerge.*nothing was written"):
        sync(LocalWorkbook(path), today=TODAY)
    assert digest(path) == before


def test_merged_cells_in_calls_today_stop_cleanly_via_the_cli(make_workbook):
    from typer.testing import CliRunner

    from sheets_crm.cli import app

    path = make_workbook([["Acme", "Bob"]], [["Acme", "2026-11-22", "x", "", "", ""]])
    book = openpyxl.load_workbook(path)
    book["Calls Today"].merge_cells("A2:C3")
    book.save(path)
    before = digest(path)
    result = CliRunner().invoke(app, ["sync", str(path), "--today", "2026-11-22"])
    assert result.exit_code == 1
    assert "'Calls Today'!A2:C3" in result.output and "Internal error" not in result.output
    assert digest(path) == before


def test_merged_cells_in_user_columns_are_fine(make_workbook):
    path = make_workbook([["Acme", "Bob", "", "", "New", "", "", "long note"], ["Beta", "Eve"]],
                         [["Acme", "2026-11-20", "x", "Done", "ok", ""]])
    book = openpyxl.load_workbook(path)
    book["Leads"].merge_cells("F2:H3")
    book["Contact Plan"].merge_cells("E2:F2")
    book.save(path)
    sync(LocalWorkbook(path), today=TODAY)
    book = openpyxl.load_workbook(path)
    assert [str(r) for r in book["Leads"].merged_cells.ranges] == ["F2:H3"]
    assert book["Leads"]["J2"].value == "ok" and book["Leads"]["F2"].value is None


# -- every skipped row is reported -------------------------------------------------------------------


def test_rows_with_data_only_in_owner_or_own_columns_are_reported(make_workbook):
    plan_header = ["Project", "Date", "Topic", "Status", "Result", "Owner", "My notes"]
    plan = [
        ["Acme", "2026-11-20", "x", "Done", "ok", "", None],
        [None, None, None, None, None, "Anna", None],          # only an owner
        [None, None, None, None, None, None, "call back?"],    # only the person's own column
        [None, None, None, None, None, None, None],            # truly empty: nothing to say
        [None, None, None, "Cancelled", None, None, None],     # a cancelled contact needs no date... nor a project
    ]
    leads_header = ["Project", "Contact", "Phone", "Email", "Stage", "Owner", "Source", "Notes", "My score"]
    leads = [["Acme", "", "", "", "", "", "", "", 1], [None, "", "", "", "", "", "", "", 7]]
    path = make_workbook(leads, plan, leads_header=leads_header, plan_header=plan_header)
    result = sync(LocalWorkbook(path), today=TODAY)
    warned = {(i.tab, i.row) for i in result.issues}
    assert {("Contact Plan", 3), ("Contact Plan", 4), ("Leads", 3)} <= warned
    assert ("Contact Plan", 5) not in warned
