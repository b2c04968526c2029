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
from strategies import assert_only_the_tools_formulas

from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.errors import WorkbookError


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_numbers_in_a_tool_column_that_had_a_date_format(make_workbook):
    """A stale date in Touches leaves a date format behind; the count must not show as a date,
    and the next sync must not rewrite it for ever."""
    leads = [
        [
            "Acme",
            "",
            "",
            "",
            "New",
            "",
            "",
            "",
            None,
            None,
            None,
            None,
            dt.datetime(2020, 1, 1),
            dt.datetime(2020, 1, 1),
        ]
    ]
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

    from sheets_crm.cli.main import app

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
    path = make_workbook(
        [["Acme", "Bob", "", "", "New", "", "", "long note"], ["Beta", "Eve"]],
        [["Acme", "2026-11-20", "x", "Done", "ok", ""]],
    )
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
        [None, None, None, None, None, "Anna", None],  # only an owner
        [None, None, None, None, None, None, "call back?"],  # only the person's own column
        [None, None, None, None, None, None, None],  # truly empty: nothing to say
        [None, None, None, "Cancelled", None, None, None],  # a cancelled contact needs no date... nor a project
    ]
    leads_header = ["Project", "Contact", "Phone", "Email", "Stage", "Owner", "Source", "Notes", "My score"]
    leads = [["Acme", "", "", "", "", "", "", "", 1], [None, "", "", "", "", "", "", "", 7]]
    path = make_workbook(leads, plan, leads_header=leads_header, plan_header=plan_header)
    result = sync(LocalWorkbook(path), today=TODAY)
    warned = {(i.tab, i.row) for i in result.issues}
    assert {("Contact Plan", 3), ("Contact Plan", 4), ("Leads", 3)} <= warned
    assert ("Contact Plan", 5) not in warned


# -- fuzzed cell values, both backends ------------------------------------------------------------------------

HUGE = "Ж" * 25_000 + "x" * 25_000  # 50 000 characters: Google's per-cell limit
EVIL = [
    '=IMPORTXML("http://evil.example","//a")',
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "-cmd|' /C calc'!A0",
    "@SUM(1)",
    "=1/0",
]
ERRORS = ["#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?"]


def hostile_rows() -> tuple[list[list], list[list]]:
    leads = [
        [HUGE, "Huge", "", "", "New", "", "", ""],
        [EVIL[0], EVIL[1], EVIL[2], EVIL[3], "New", EVIL[4], "", EVIL[5]],
        ["#REF!", "#N/A", "", "", "#VALUE!", "", "", ""],
        [True, False, 12345678901, 3.5, False, 1, dt.date(2026, 1, 1), None],
        ["Tabs\tand\nnewlines\r", "  spaced  ", "", "", " won ", "", "", ""],
        ["Ünïcödé 東京 🚀", "Zoë", "", "", "Переговоры", "", "", ""],
    ]
    plan = [
        [HUGE, "2026-11-22", HUGE, "", "", ""],
        [EVIL[0], "2026-11-21", EVIL[1], "", EVIL[0], EVIL[1]],
        ["#REF!", "#N/A", "x", "", "", ""],  # an error where a date belongs
        ["#REF!", "2026-11-20", "#DIV/0!", "Done", "#NAME?", ""],
        [True, True, "bool date", "", "", ""],  # TRUE in Date
        ["Ünïcödé 東京 🚀", 46348.75, "serial with a time", "", "", ""],
        ["Ünïcödé 東京 🚀", -1, "negative", "", "", ""],
        ["Ünïcödé 東京 🚀", 30_000_000, "beyond year 9999", "", "", ""],
        ["Ünïcödé 東京 🚀", "11/22/2026", "month first, in a day-first sheet", "", "", ""],
        ["Ünïcödé 東京 🚀", "22.11.26", "two-digit year", "", "", ""],  # read as 2026-11-22 since issue 12
        ["Tabs\tand\nnewlines\r", "2026-11-23", "\t", "  planned ", "", ""],
        ["Tabs\tand\nnewlines\r", "2026-11-24", "x", True, "", ""],  # TRUE as a status
    ]
    return leads, plan


def test_hostile_values_locally_no_crash_no_formula_every_skip_reported(make_workbook):
    leads, plan = hostile_rows()
    path = make_workbook(leads, plan)
    book = openpyxl.load_workbook(path)
    book["Leads"]["I4"].value = "=TODAY()-1"  # a real formula typed into a tool column
    book["Leads"]["H4"].value = "=1+1"  # and one in the person's own Notes
    for c in ("B", "E"):
        book["Leads"][f"{c}4"].value = "#N/A"  # real error cells (openpyxl types these 'e')
    assert book["Leads"]["B4"].data_type == "e"
    book.save(path)
    book = openpyxl.load_workbook(path)
    before = {
        (ws.title, c.coordinate): (c.value, c.data_type)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
    }

    result = sync(LocalWorkbook(path), today=TODAY)
    book = openpyxl.load_workbook(path)
    after = {
        (ws.title, c.coordinate): (c.value, c.data_type)
        for ws in book.worksheets
        for row in ws.iter_rows()
        for c in row
    }
    written = {k: v for k, v in after.items() if before.get(k) != v}
    assert written
    for (tab, coord), (value, kind) in written.items():
        if tab == "Contact Plan":  # only its row IDs (issue 11), never a formula
            assert coord.rstrip("0123456789") == "G" and str(value).startswith("P-") and kind != "f", (coord, value)
            continue
        if tab in ("History", "_sheets_crm", "Report"):  # the tool's own tabs: text, never a formula
            assert kind != "f", (tab, coord, value)
            continue
        assert tab in ("Leads", "Calls Today") and kind != "f", (tab, coord, value, kind)
        if tab == "Leads":
            assert coord.rstrip("0123456789") in "IJKLMN"
        if isinstance(value, str):
            assert kind == "s", (tab, coord, value)  # '#N/A' copied as text, not as an error
    assert after[("Leads", "H4")] == ("=1+1", "f")  # the person's own formula is left alone
    assert after[("Leads", "I4")] == (dt.datetime(2026, 11, 20), "d")  # the tool column's is replaced by a date
    calls = {c.value for c in book["Calls Today"]["D"]}
    assert HUGE[:32_767] in calls and EVIL[0] in calls  # Excel's limit: see the next-but-one test
    assert after[("Leads", "J4")] == ("#NAME?", "s")  # an error's text copied as text

    # Every plan row that does not count is named.
    warned = {i.row for i in result.issues if i.tab == "Contact Plan"}
    assert {4, 6, 8, 9, 10} <= warned and 11 not in warned, sorted(warned)  # row 11: dd.mm.yy is a date now

    data = path.read_bytes()
    again = sync(LocalWorkbook(path), today=TODAY)
    assert again.changed_cells == 0 and path.read_bytes() == data


def test_hostile_values_on_google_no_crash_no_formula(template):
    from google_standin import FakeGoogle
    from sheets_crm.backends.google.http import CrmHTTPClient
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    leads, plan = hostile_rows()
    leads[5][0] = plan[5][0] = plan[6][0] = "Ünïcödé \x01\x07\x1b[31m 東京"  # control characters
    fake = FakeGoogle(account="service")
    head = {t.id: [c.names["en"] for c in t.columns] for t in template.tabs}
    sid = fake.add_spreadsheet("CRM", ["Leads", "Contact Plan", "Calls Today"], locale="en_GB")
    p = fake.person
    p.set_values(sid, "Leads", "A1", [head["leads"], *leads], raw=True)
    p.set_values(sid, "Contact Plan", "A1", [head["plan"], *plan], raw=True)
    p.set_values(sid, "Calls Today", "A1", [head["calls"]], raw=True)
    p.set_value(sid, "Leads", "H8", "=1/0")  # an error computed by a real formula
    p.set_value(sid, "Contact Plan", "B14", "=1/0")

    def workbook():
        return GoogleWorkbook(sid, http=CrmHTTPClient(None, fake.session(), sleep=lambda s: None))

    result = sync(workbook(), today=TODAY)
    assert result.written
    kinds = set()
    for entry in fake.calls("spreadsheets.batchUpdate"):
        for req in entry.body["requests"]:
            for row in (req.get("updateCells") or {}).get("rows", []):
                for cell in row.get("values", []):
                    kinds.update(cell.get("userEnteredValue", {}).keys())
    assert kinds <= {"stringValue", "numberValue", "formulaValue"} and "stringValue" in kinds
    assert_only_the_tools_formulas(entry.body for entry in fake.calls("spreadsheets.batchUpdate"))
    for tab in ("Leads", "Calls Today"):
        for row in fake.spreadsheet(sid).find_sheet(tab).rows:
            for cell in row:
                formula = (cell or {}).get("userEnteredValue", {}).get("formulaValue")
                if formula and formula != "=1/0":
                    assert tab == "Leads" and formula.startswith("=IF(") and "TODAY()-" in formula, formula
    calls = [r[3] for r in fake.values(sid, "Calls Today")[1:]]
    assert HUGE in calls and EVIL[0] in calls and "Ünïcödé \x01\x07\x1b[31m 東京" in calls
    fake.reset_stats()
    again = sync(workbook(), today=TODAY)
    assert again.changed_cells == 0 and fake.stats.writes == 0


@pytest.mark.parametrize(
    "locale, good, bad", [(None, "22/11/2026", "11/22/2026"), ("en_US", "11/22/2026", "22/11/2026")]
)
def test_dates_in_the_wrong_locale_are_reported_not_guessed(make_workbook, locale, good, bad):
    path = make_workbook([["Acme"]], [["Acme", good, "right", "", "", ""], ["Acme", bad, "wrong", "", "", ""]])
    result = sync(LocalWorkbook(path, locale=locale), today=TODAY)
    assert [(i.row, i.code, i.value) for i in result.issues] == [(3, "bad-date", bad)]
    assert [c.topic for c in result.calls] == ["right"]


def test_duplicate_tool_header_second_copy_is_never_written(make_workbook):
    header = ["Project", "Touches", "Stage", "Touches", "Last contact"]
    path = make_workbook(
        [["Acme", None, "New", "mine", None]], [["Acme", "2026-11-20", "x", "Done", "", ""]], leads_header=header
    )
    result = sync(LocalWorkbook(path), today=TODAY)
    ws = openpyxl.load_workbook(path)["Leads"]
    assert ws["B2"].value == 1 and ws["D2"].value == "mine" and ws["E2"].value == dt.datetime(2026, 11, 20)
    assert "duplicate-header" in {i.code for i in result.issues}


# -- empty and enormous tabs -----------------------------------------------------------------------------------


def test_zero_row_tabs(make_workbook):
    path = make_workbook([], [])
    book = openpyxl.load_workbook(path)
    book["Calls Today"].delete_rows(1)  # not even a header
    book.save(path)
    result = sync(LocalWorkbook(path), today=TODAY)
    assert result.calls == [] and result.issues and {i.code for i in result.issues} == {"added-column"}
    ws = openpyxl.load_workbook(path)["Calls Today"]
    assert [c.value for c in ws[1]] == [
        c.names["en"] for c in __import__("sheets_crm.core.template", fromlist=["x"]).default_template().calls.columns
    ]
    assert sync(LocalWorkbook(path), today=TODAY).changed_cells == 0


def test_a_leads_tab_with_nothing_in_it_stops_with_a_message(make_workbook):
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    path = make_workbook([], [])
    book = openpyxl.load_workbook(path)
    book["Leads"].delete_rows(1)
    book.save(path)
    before = digest(path)
    result = CliRunner().invoke(app, ["sync", str(path), "--today", "2026-11-22"])
    assert result.exit_code == 1 and "Leads: missing column 'Project'" in result.output
    assert "Traceback" not in result.output and digest(path) == before


def test_100k_rows_plan_and_leads_in_memory(template):
    """100 000 leads and 100 000 plan rows, planned without I/O."""
    import random

    from conftest import make_snapshot

    from sheets_crm.app.sync import compute

    rng = random.Random(7)
    leads = [[f"Lead {i}", "", "", "", rng.choice(["New", "Won", "Proposal"]), "", "", ""] for i in range(100_000)]
    plan = [
        [
            f"Lead {rng.randrange(100_000)}",
            (TODAY + dt.timedelta(days=rng.randint(-60, 20))).isoformat(),
            "t",
            rng.choice(["Done", "", "Cancelled"]),
            "r",
            "",
        ]
        for _ in range(100_000)
    ]
    for i in rng.sample(range(100_000), 300):  # a few hundred broken rows among them
        plan[i] = [rng.choice(["", f"Lead {i}", "Nobody"]), rng.choice(["soon", None, 0, True]), "", "Hmm", "", ""]
    outcome = compute(make_snapshot(template, leads, plan), TODAY, template)
    assert outcome.calls and outcome.changes
    rows_warned = {i.row for i in outcome.issues if i.tab == "Contact Plan"}
    broken = {i + 2 for i, row in enumerate(plan) if row[3] == "Hmm"}
    assert broken <= rows_warned


def test_100k_row_plan_tab_in_an_xlsx(tmp_path, template):
    import random

    from openpyxl import Workbook

    rng = random.Random(3)
    book = Workbook(write_only=True)
    names = {t.id: t.names["en"] for t in template.tabs}
    leads = book.create_sheet(names["leads"])
    leads.append([c.names["en"] for c in template.leads.columns])
    for i in range(300):
        leads.append([f"Lead {i}", "", "", "", "New"])
    plan = book.create_sheet(names["plan"])
    plan.append(["Project", "Date", "Status"])  # only the required columns: 300 000 cells
    for _ in range(100_000):
        plan.append(
            [
                f"Lead {rng.randrange(300)}",
                TODAY - dt.timedelta(days=rng.randint(10, 400)),
                rng.choice(["Done", "Cancelled"]),
            ]
        )
    plan.append(["Lead 1", "not a date", ""])
    book.create_sheet(names["calls"]).append([c.names["en"] for c in template.calls.columns])
    path = tmp_path / "big.xlsx"
    book.save(path)
    result = sync(LocalWorkbook(path), today=TODAY)
    # (the plan was laid out without the ID column issue 11 added: the sync adds it, and says so)
    assert result.written and [(i.row, i.code) for i in result.issues] == [(1, "added-column"), (100_002, "bad-date")]


def test_a_name_longer_than_excels_cell_limit_is_copied_whole(make_workbook, tmp_path):
    """Excel caps a cell at 32 767 characters, but other programs (or a Google export) write longer
    ones. openpyxl keeps such a cell as it is, but would cut a copy of it: the copy in Calls Today
    then never matched and every sync rewrote it."""
    import zipfile

    path = make_workbook([["HUGEMARK", "Bob"]], [["HUGEMARK", "2026-11-22", "x", "", "", ""]])
    patched = tmp_path / "long.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w") as out:
        for item in src.infolist():
            out.writestr(item, src.read(item.filename).replace(b"HUGEMARK", HUGE.encode()))
    first = sync(LocalWorkbook(patched), today=TODAY)
    assert first.written
    book = openpyxl.load_workbook(patched)
    assert book["Leads"]["A2"].value == HUGE and book["Calls Today"]["D2"].value == HUGE
    data = patched.read_bytes()
    again = sync(LocalWorkbook(patched), today=TODAY)
    assert again.changed_cells == 0 and patched.read_bytes() == data


def _with_cached_results(path: Path, results: dict[str, str]) -> None:
    """Give formula cells of the Leads/Plan sheets the results Excel would have saved with them."""
    import re
    import zipfile

    tmp = path.with_suffix(".tmp.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                for coord, value in results.items():
                    kind = b' t="str"' if not value.replace(".", "").isdigit() else b""
                    data = re.sub(
                        rb'(<c r="' + coord.encode() + rb'"[^>]*?)(/?)>(<f>.*?</f>)<v\s*/>|'
                        rb'(<c r="' + coord.encode() + rb'"[^>]*?)>(<f>.*?</f>)<v></v>',
                        lambda m, kind=kind, value=value: (
                            (m.group(1) or m.group(4))
                            + kind
                            + b">"
                            + (m.group(3) or m.group(5))
                            + b"<v>"
                            + value.encode()
                            + b"</v>"
                        ),
                        data,
                    )
            out.writestr(item, data)
    tmp.replace(path)


def test_formulas_in_the_persons_columns_keep_their_results_across_syncs(make_workbook):
    """openpyxl drops the results Excel saved with formulas; the next sync would then see a
    formula-made Project or Date as empty, skip the lead and blank its tool values."""
    path = make_workbook(
        [[None, "Bob"]], [[None, None, "x", "Done", "ok", ""], ["Acme", "2026-11-25", "y", "", "", ""]]
    )
    book = openpyxl.load_workbook(path)
    book["Leads"]["A2"].value = '="Ac"&"me"'
    book["Contact Plan"]["A2"].value = "=Leads!A2"
    book["Contact Plan"]["B2"].value = "=DATE(2026,11,20)"
    book.save(path)
    _with_cached_results(path, {"A2": "Acme", "B2": "46346"})  # 46346 = 2026-11-20
    for attempt in range(3):
        result = sync(LocalWorkbook(path), today=TODAY)
        assert result.issues == [], (attempt, [str(i) for i in result.issues])
        book = openpyxl.load_workbook(path)
        assert book["Leads"]["A2"].value == '="Ac"&"me"'  # still the person's formula
        assert book["Leads"]["J2"].value == "ok" and book["Leads"]["N2"].value == 1
        assert openpyxl.load_workbook(path, data_only=True)["Leads"]["A2"].value == "Acme"
    assert result.changed_cells == 0
