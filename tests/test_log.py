"""log: one contact recorded in one command, on both backends, with the tool columns refreshed in the same write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import TODAY, make_snapshot
from test_google_e2e import seed, workbook

from google_standin import FakeGoogle
from sheets_crm.app.edits import patched
from sheets_crm.app.logcall import plan_log, run_log
from sheets_crm.app.review import ProjectMatchError
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.core.reading import read_tables
from sheets_crm.core.template import default_template
from sheets_crm.errors import CrmError

TPL = default_template()
D = dt.date
LEADS = [
    ["Acme Studio", "Bob", "", "", "Proposal", "Anna", "", ""],
    ["Acme Labs", "Eve", "", "", "New", "Ivan", "", ""],
    ["Beta", "Zoe", "", "", "New", "Ivan", "", ""],
    ["Ромашка", "Иван", "", "", "New", "Petr", "", ""],
]
PLAN = [
    ["Acme Studio", D(2026, 11, 18), "Intro", "Done", "ok", "Anna"],
    ["Acme Studio", D(2026, 11, 21), "Proposal", "Planned", "", "Anna"],
    ["Acme Studio", D(2026, 11, 28), "Later", "", "", "Anna"],
    ["Beta", D(2026, 11, 22), "Call", "Done", "", ""],
]


def plan_for(query: str, **kw: object) -> object:
    snap = make_snapshot(TPL, LEADS, PLAN)
    return plan_log(snap, read_tables(snap, TPL, TODAY), TPL, query, day=TODAY, **kw)  # type: ignore[arg-type]


def cells(plan: object) -> dict[tuple[int, int], object]:
    return {(ch.row, ch.col): ch.value for ch in plan.edits}  # type: ignore[attr-defined]


def test_marks_the_earliest_open_row_done_with_its_result_and_plans_the_next() -> None:
    plan = plan_for("acme studio", result="Wants a discount", next_date=D(2026, 11, 30), topic="Send offer")
    assert (plan.row, plan.appended, plan.next_row) == (3, False, 6)  # type: ignore[attr-defined]
    got = cells(plan)
    assert got[(2, 3)] == "Done" and got[(2, 4)] == "Wants a discount"
    assert [got.get((5, c)) for c in range(6)] == ["Acme Studio", "2026-11-30", "Send offer", "Planned", None, "Anna"]
    assert set(got) == {(2, 3), (2, 4), (5, 0), (5, 1), (5, 2), (5, 3), (5, 5)}  # nothing else is written


def test_cancel_and_no_open_row_appends_a_done_row() -> None:
    cancelled = plan_for("Acme Studio", cancel=True)
    assert cells(cancelled) == {(2, 3): "Cancelled"}
    beta = plan_for("beta", result="Not now")
    assert beta.appended and beta.row == 6  # type: ignore[attr-defined]
    assert cells(beta) == {(5, 0): "Beta", (5, 1): "2026-11-22", (5, 3): "Done", (5, 4): "Not now", (5, 5): "Ivan"}
    with pytest.raises(CrmError, match="no open row"):
        plan_for("beta", cancel=True)


def test_ambiguous_project_is_refused_with_the_candidates() -> None:
    with pytest.raises(ProjectMatchError) as info:
        plan_for("acme")
    assert set(info.value.candidates) == {"Acme Studio", "Acme Labs"}


def test_project_found_across_scripts() -> None:
    plan = plan_for("Romashka")
    assert plan.project == "Ромашка" and plan.appended  # type: ignore[attr-defined]


def test_local_log_writes_the_row_and_refreshes_leads(make_workbook: Callable[..., Path]) -> None:
    path = make_workbook(LEADS, PLAN)
    done = run_log(
        LocalWorkbook(path),
        "Acme Studio",
        template=TPL,
        result="Signed",
        next_date=D(2026, 12, 1),
        topic="Kick-off",
        today=TODAY,
    )
    assert done.written
    book = openpyxl.load_workbook(path)
    plan = book["Contact Plan"]
    assert (plan.cell(3, 4).value, plan.cell(3, 5).value) == ("Done", "Signed")
    assert plan.cell(6, 1).value == "Acme Studio" and plan.cell(6, 2).value == "2026-12-01"
    leads = book["Leads"]
    header = [c.value for c in leads[1]]
    last = leads.cell(2, header.index("Last result") + 1).value
    nxt = leads.cell(2, header.index("Next topic") + 1).value
    assert (last, nxt) == ("Signed", "Later")  # refreshed in the same write: no sync needed


def test_google_log_is_one_guarded_batch(tmp_path: Path) -> None:
    fake = FakeGoogle()
    sid = seed(fake, LEADS, PLAN)
    book = workbook(fake, sid)
    done = run_log(book, "acme studio", template=TPL, result="Signed", next_date=D(2026, 12, 1), today=TODAY)
    assert done.written and book.write_batches == 1 and book.guard_reads == 1
    plan = fake.values(sid, "Contact Plan")
    assert plan[2][3:5] == ["Done", "Signed"]
    assert plan[5][0] == "Acme Studio"
    leads = fake.values(sid, "Leads")
    header = leads[0]
    assert leads[1][header.index("Last result")] == "Signed"


def test_google_log_refuses_when_the_row_moved_between_read_and_write() -> None:
    fake = FakeGoogle()
    sid = seed(fake, LEADS, PLAN)
    book = workbook(fake, sid)
    snapshot = book.read()
    from sheets_crm.app.edits import merged
    from sheets_crm.app.sync import compute

    tables = read_tables(snapshot, TPL, TODAY)
    plan = plan_log(snapshot, tables, TPL, "Acme Studio", day=TODAY, result="x")
    changes = merged(plan.edits, compute(patched(snapshot, plan.edits), TODAY, TPL).changes, plan.guard)
    fake.person.set_values(sid, "Contact Plan", "A3", [["Beta"]])  # a person re-types the row meanwhile
    from sheets_crm.errors import ConcurrentEditError

    with pytest.raises(ConcurrentEditError):
        book.apply(changes, snapshot)
    assert fake.values(sid, "Contact Plan")[2][3] == "Planned"  # nothing was written


# -- the command line --------------------------------------------------------------------


def test_cli_log_and_its_exit_codes(make_workbook: Callable[..., Path]) -> None:
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    path = make_workbook(LEADS, PLAN)
    runner = CliRunner(
        env={
            "COLUMNS": "200",
            "NO_COLOR": "1",
            **dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG")),
        }
    )
    ok = runner.invoke(app, ["log", "acme stud", str(path), "--result", "Signed", "--today", "2026-11-22"])
    assert ok.exit_code == 0, ok.output
    assert "Contact Plan row 3 (2026-11-21) marked done." in ok.output
    ambiguous = runner.invoke(app, ["log", "acme", str(path), "--today", "2026-11-22"])
    assert ambiguous.exit_code == 1
    assert "Acme Labs" in ambiguous.output and "Acme Studio" in ambiguous.output
    usage = runner.invoke(app, ["log", "beta", str(path), "--topic", "x"])
    assert usage.exit_code == 2
    bad_date = runner.invoke(app, ["log", "beta", str(path), "--next", "tomorrow"])
    assert bad_date.exit_code == 2


def test_a_russian_sheet_gets_russian_statuses_and_dates() -> None:
    snap = make_snapshot(TPL, LEADS, PLAN, lang="ru")
    plan = plan_log(
        snap, read_tables(snap, TPL, TODAY), TPL, "ромашка", day=TODAY, result="Ждут КП", next_date=D(2026, 12, 3)
    )
    got = cells(plan)
    done_label = TPL.status_label("done", "ru")
    assert [got.get((5, c)) for c in range(6)] == ["Ромашка", "22.11.2026", None, done_label, "Ждут КП", "Petr"]
    assert got[(6, 1)] == "03.12.2026" and got[(6, 3)] == TPL.status_label("open", "ru")
    again = read_tables(patched(snap, plan.edits), TPL, TODAY)
    done = again.plan[again.plan["key"] == "ромашка"]
    assert sorted(done["status"]) == ["done", "open"]  # the text written reads back as the statuses and dates meant
