"""Issue 14, "done when": golden numbers on a generated CRM with a known history.

A month of work is replayed on a real .xlsx: the sync runs on each day something
happens, people change stages in between (openpyxl, as a person would in a
spreadsheet program), and the sync's own History records the moves. Every
expected number below is worked out by hand from :data:`TIMELINE` (the comments
say how); the terminal output is compared with ``tests/golden/report/`` in
English and Russian.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_report import NO_LOCALE
from typer.testing import CliRunner

from sheets_crm.app.report import run_report
from sheets_crm.app.report_tab import report_tab_rows
from sheets_crm.app.review import history_moves
from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook, create_workbook
from sheets_crm.cli.main import app
from sheets_crm.core.layout import build_layout
from sheets_crm.core.template import default_template

GOLDEN = Path(__file__).parent / "golden" / "report"
TODAY = dt.date(2026, 11, 25)  # Wednesday of ISO week 2026-W48
D = dt.date


def _lead(project: str, stage: str, owner: str) -> list[Any]:
    return [project, "", "", "", stage, owner, "", ""]


# In the sheet before History begins (the first sync, 11-02): no lead-added line, so their first stay is undated.
BEFORE = [_lead("Lima", "New", "Ivan"), _lead("Mike", "New", "Anna"), _lead("Oscar", "Proposal", "Ivan")]
# Typed in on 11-03: the sync that day records each as lead-added (their New stay starts on 11-03).
ADDED = [
    _lead("Alfa", "New", "Anna"),
    _lead("Bravo", "New", "Ivan"),
    _lead("Charlie", "New", "Anna"),
    _lead("Delta", "New", "Ivan"),
    _lead("Echo", "New", "Anna"),
]
PLAN = [
    ["Alfa", D(2026, 11, 4), "Intro", "Done", "Keen", ""],
    ["Bravo", D(2026, 11, 23), "Contract", "Done", "Signed", ""],
    ["Mike", D(2026, 11, 24), "Intro", "", "", ""],
    ["Echo", D(2026, 11, 26), "Demo", "", "", ""],
]
# Day -> stage changes a person makes that day before the sync runs.
TIMELINE: dict[dt.date, dict[str, str]] = {
    D(2026, 11, 5): {"Alfa": "Qualified", "Bravo": "Qualified", "Charlie": "Qualified", "Lima": "Qualified"},
    D(2026, 11, 9): {"Alfa": "Proposal", "Bravo": "Proposal", "Delta": "Lost"},
    D(2026, 11, 12): {"Alfa": "Negotiation", "Charlie": "Lost"},
    D(2026, 11, 16): {"Alfa": "Won", "Bravo": "Negotiation"},
    D(2026, 11, 20): {"Echo": "Qualified"},
    D(2026, 11, 23): {"Bravo": "Won"},
}


def _set_stages(path: Path, moves: dict[str, str]) -> None:
    book = openpyxl.load_workbook(path)
    ws = book["Leads"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in moves:
            row[4].value = moves[row[0].value]
    book.save(path)


def _add_leads(path: Path, leads: list[list[Any]], plan: list[list[Any]]) -> None:
    book = openpyxl.load_workbook(path)
    for title, rows in (("Leads", leads), ("Contact Plan", plan)):
        ws = book[title]
        last = max(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value)
        for i, values in enumerate(rows, start=last + 1):
            for c, value in enumerate(values, start=1):
                ws.cell(i, c).value = value
    book.save(path)


@pytest.fixture(scope="module")
def crm(tmp_path_factory) -> Path:
    """The month replayed: first sync 11-02, leads added 11-03, the TIMELINE's moves, and a sync on TODAY."""
    template = default_template()
    path = create_workbook(tmp_path_factory.mktemp("golden") / "crm.xlsx", build_layout(template, "en"))
    _add_leads(path, BEFORE, [])
    assert sync(LocalWorkbook(path), today=D(2026, 11, 2)).written
    _add_leads(path, ADDED, PLAN)
    sync(LocalWorkbook(path), today=D(2026, 11, 3))
    for day, moves in TIMELINE.items():
        _set_stages(path, moves)
        sync(LocalWorkbook(path), today=day)
    sync(LocalWorkbook(path), today=TODAY)
    return path


def test_history_holds_the_timeline(crm):
    from sheets_crm.backends.local.workbook import LocalWorkbook as Book

    moves = history_moves(Book(crm).read()) or []
    stage_lines = [(m.day, m.key, m.was, m.now) for m in moves if m.was != "lead-added"]
    assert len(stage_lines) == sum(len(v) for v in TIMELINE.values()) == 13
    assert sorted({m.key for m in moves if m.was == "lead-added"}) == ["alfa", "bravo", "charlie", "delta", "echo"]


def test_conversion_and_days_in_a_stage(crm):
    review, _ = run_report(str(crm), period="week", today=TODAY)
    flow = review.flow
    assert flow is not None and flow.since == D(2026, 11, 3)  # the first dated line: the lead-added ones
    got = {f.stage: (f.seen, f.moved_on, f.lost, f.still, f.conversion, f.stays, f.median_days) for f in flow.stages}
    assert got == {
        # New: Alfa, Bravo, Charlie, Delta, Echo (added 11-03) and Lima (there before History) were seen in it;
        # all but Delta (lost 11-09) moved on: 5/6. Dated stays: Alfa, Bravo, Charlie 2 days, Delta 6, Echo 17
        # (11-03 → 11-20); Lima's start is unknown. Median of 2, 2, 2, 6, 17 = 2.
        "new": (6, 5, 1, 0, 5 / 6, 5, 2.0),
        # Qualified: Alfa, Bravo, Charlie, Lima, Echo; Alfa and Bravo moved on, Charlie was lost, Lima and Echo
        # are still there: 2/5. Finished stays: Alfa 4 (11-05 → 11-09), Bravo 4, Charlie 7 → median 4.
        "qualified": (5, 2, 1, 2, 2 / 5, 3, 4.0),
        # Proposal: only Alfa and Bravo moved through it (Oscar never moved, so History never saw him): too few.
        "proposal": (2, 2, 0, 0, None, 2, None),
        # Negotiation: Alfa (4 days) and Bravo (7 days), both won: too few to say.
        "negotiation": (2, 2, 0, 0, None, 2, None),
    }
    # Stage moves in this week (11-23 … 11-25): Bravo's win, Ivan's.
    assert [(m.name, m.moves, m.won, m.lost) for m in review.moves] == [("Ivan", 1, 1, 0)]
    month, _ = run_report(str(crm), period="month", today=TODAY)
    # November: Anna moved Alfa ×4, Charlie ×2, Echo ×1 (one win, one loss); Ivan Bravo ×4, Delta, Lima.
    assert [(m.name, m.moves, m.won, m.lost) for m in month.moves] == [("Anna", 7, 1, 1), ("Ivan", 6, 1, 1)]


def test_the_report_tab_has_the_same_numbers(crm):
    book = openpyxl.load_workbook(crm)
    ws = book["Report"]
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    head = rows[2]
    assert head[-3:] == ("Moves", "To Won", "To Lost")
    by = {(r[0], r[1]): r for r in rows[3:] if r[0] and r[1]}
    # This week: Bravo's win (Ivan); last week (11-16 … 11-22): Alfa's win (Anna), Bravo to Negotiation (Ivan),
    # Echo to Qualified (Anna).
    assert by[("Ivan", "2026-W48")][-3:] == (1, 1, 0)
    assert by[("Anna", "2026-W47")][-3:] == (2, 1, 0)
    assert by[("Ivan", "2026-W47")][-3:] == (1, 0, 0)
    assert by[("Team", "2026-W47")][-3:] == (3, 1, 0)
    flow_at = next(i for i, r in enumerate(rows) if r[0] == "Stage")
    assert rows[flow_at][:8] == (
        "Stage",
        "Leads",
        "Moved on",
        "Lost",
        "Still there",
        "Conversion, %",
        "Dated stays",
        "Median days",
    )
    assert rows[flow_at + 1][:8] == ("New", 6, 5, 1, 0, 83, 5, 2)
    assert rows[flow_at + 2][:8] == ("Qualified", 5, 2, 1, 2, 40, 3, 4)
    assert rows[flow_at + 3][:8] == ("Proposal", 2, 2, 0, 0, "too few", 2, "too few")
    # The pure builder gives what the sync wrote.
    from sheets_crm.app.report import load

    loaded = load(str(crm), today=TODAY)
    grid = report_tab_rows(loaded.tables, loaded.plan, TODAY, loaded.template, history_moves(loaded.snapshot))
    assert tuple(grid[3][:5]) == rows[3][:5]


@pytest.fixture
def runner():
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", **NO_LOCALE})


def _golden(name: str, target: Path) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8").replace("<TARGET>", str(target))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_cli_report_with_history_golden(runner, crm, lang):
    result = runner.invoke(app, ["report", str(crm), "--today", "2026-11-25", "--lang", lang])
    assert result.exit_code == 0, result.output
    assert result.stdout == _golden(f"history_{lang}.txt", crm)


def test_cli_card_shows_the_stage_history(runner, crm):
    result = runner.invoke(app, ["card", "bravo", str(crm), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "Stage history (from History):\n"
        "  2026-11-05  New → Qualified\n"
        "  2026-11-09  Qualified → Proposal\n"
        "  2026-11-16  Proposal → Negotiation\n"
        "  2026-11-23  Negotiation → Won\n"
    )


def test_json_and_html_carry_the_flow(runner, crm, tmp_path):
    import json

    data = json.loads(runner.invoke(app, ["report", str(crm), "--json", "--today", "2026-11-25"]).stdout)
    flow = data["history"]["flow"]
    assert flow["since"] == "2026-11-03" and flow["min_sample"] == 3
    assert flow["stages"][0] == {
        "stage": "new",
        "seen": 6,
        "moved_on": 5,
        "lost": 1,
        "still": 0,
        "conversion": 0.8333,
        "dated_stays": 5,
        "median_days": 2.0,
    }
    assert flow["stages"][2]["conversion"] is None and flow["stages"][2]["median_days"] is None
    page = tmp_path / "review.html"
    result = runner.invoke(app, ["report", str(crm), "--html", str(page), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert '<table class="kpi" id="flow">' in html
    assert '<tr><td>Qualified</td><td class="n">5</td><td class="n">2</td>' in html and ">40%<" in html
    assert ">too few<" in html


def test_one_managers_flow(crm):
    review, _ = run_report(str(crm), period="week", today=TODAY, owner="anna")
    assert review.flow is not None
    got = {
        f.stage: (f.seen, f.moved_on, f.lost, f.still, f.conversion, f.stays, f.median_days) for f in review.flow.stages
    }
    # Anna's leads in History: Alfa, Charlie, Echo (Mike never moved). New: all three moved on, stays 2, 2, 17.
    # Qualified: Alfa on, Charlie lost, Echo still there; finished stays Alfa 4 and Charlie 7: too few for days.
    assert got["new"] == (3, 3, 0, 0, 1.0, 3, 2.0)
    assert got["qualified"] == (3, 1, 1, 1, 1 / 3, 2, None)
