"""Issue 11: Calls Today as a work list, row IDs, a person's text never silently lost — the week replayed
on both backends (a local .xlsx edited the way a person would, and the Google stand-in)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Protocol

import openpyxl
import pytest
from conftest import TODAY
from test_google_e2e import client_of, seed

from google_standin import FakeGoogle
from sheets_crm.app.sync import SyncResult, sync
from sheets_crm.backends.google.workbook import GoogleWorkbook
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.core.ledger import STATE_TITLE, canon
from sheets_crm.core.reading import cell_text
from sheets_crm.core.template import default_template
from sheets_crm.core.text import column_letter

TPL = default_template()
DATES = {"Date", "Next date"}

LEADS = [
    ["Acme", "Bob", "+7 916 000-00-01", "", "Proposal", "Anna", "", ""],
    ["Beta", "Eve", "", "", "New", "Ivan", "", ""],
]
PLAN = [
    ["Acme", dt.date(2026, 11, 20), "Proposal", "Done", "Liked it", "Anna"],
    ["Acme", dt.date(2026, 11, 22), "Follow up", "", "", "Anna"],
    ["Beta", dt.date(2026, 11, 21), "Intro", "", "", "Ivan"],
    ["Beta", dt.date(2026, 11, 24), "Demo", "", "", "Ivan"],
]


class Sheet(Protocol):
    def sync(self, today: dt.date) -> SyncResult: ...
    def rows(self, tab: str) -> list[list[Any]]: ...
    def type(self, tab: str, row: int, col: int, value: Any) -> None: ...
    def sort_plan_descending(self) -> None: ...
    def tabs(self) -> dict[str, bool]: ...


class LocalSheet:
    """A local workbook; the person edits it with openpyxl (as Excel would save it)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sync(self, today: dt.date) -> SyncResult:
        return sync(LocalWorkbook(self.path), today=today)

    def rows(self, tab: str) -> list[list[Any]]:
        ws = openpyxl.load_workbook(self.path)[tab]
        return [[c.value for c in line] for line in ws.iter_rows()]

    def type(self, tab: str, row: int, col: int, value: Any) -> None:
        book = openpyxl.load_workbook(self.path)
        book[tab].cell(row, col + 1).value = value
        book.save(self.path)

    def sort_plan_descending(self) -> None:
        book = openpyxl.load_workbook(self.path)
        ws = book["Contact Plan"]
        body = [[c.value for c in line] for line in ws.iter_rows(min_row=2)]
        body.sort(key=lambda line: (str(line[0] or ""), str(line[1] or "")), reverse=True)
        for r, line in enumerate(body, start=2):
            for c, value in enumerate(line, start=1):
                ws.cell(r, c).value = value
        book.save(self.path)

    def tabs(self) -> dict[str, bool]:
        book = openpyxl.load_workbook(self.path)
        return {ws.title: ws.sheet_state == "hidden" for ws in book.worksheets}


class GoogleSheet:
    """The stand-in of Google Sheets; the person edits it through the stand-in's own hands."""

    def __init__(self, fake: FakeGoogle, sid: str) -> None:
        self.fake, self.sid = fake, sid

    def sync(self, today: dt.date) -> SyncResult:
        self.fake.set_today(today)
        self.fake.reset_stats()
        result = sync(GoogleWorkbook(self.sid, http=client_of(self.fake)), today=today)
        # Writes into Contact Plan, Calls Today, History and the state tab: still one atomic batchUpdate.
        assert self.fake.stats.writes <= 1 and result.attempts == 1
        return result

    def rows(self, tab: str) -> list[list[Any]]:
        return self.fake.values(self.sid, tab)

    def type(self, tab: str, row: int, col: int, value: Any) -> None:
        if isinstance(value, dt.date):
            value = value.isoformat()  # typed as text; the sheet makes it a date
        self.fake.person.set_value(self.sid, tab, f"{column_letter(col)}{row}", value)

    def sort_plan_descending(self) -> None:
        self.fake.person.sort(self.sid, "Contact Plan", "A", ascending=False)

    def tabs(self) -> dict[str, bool]:
        out = {}
        for title in self.fake.tabs(self.sid):
            props = self.fake.sheet_properties(self.sid, title)
            out[title] = bool(props.get("hidden", False))
        return out


@pytest.fixture(params=["local", "google"])
def sheet(request: pytest.FixtureRequest, make_workbook: Any) -> Sheet:
    if request.param == "local":
        return LocalSheet(make_workbook(LEADS, PLAN))
    fake = FakeGoogle()
    return GoogleSheet(fake, seed(fake, LEADS, PLAN))


def table(sheet: Sheet, tab: str) -> list[dict[str, str]]:
    """A tab as dicts by header; dates as ISO days whatever the backend gives."""
    rows = sheet.rows(tab)
    head = [cell_text(h) for h in rows[0]]
    out = []
    for line in rows[1:]:
        cells = {
            h: canon(line[i] if i < len(line) else None, "date" if h in DATES else "text") for i, h in enumerate(head)
        }
        if any(cells.values()):
            out.append(cells)
    return out


def col(sheet: Sheet, tab: str, header: str) -> int:
    head = [cell_text(h) for h in sheet.rows(tab)[0]]
    return head.index(header)


def plan_by_id(sheet: Sheet) -> dict[str, dict[str, str]]:
    return {line["ID"]: line for line in table(sheet, "Contact Plan")}


def calls_row(sheet: Sheet, topic: str) -> int:
    """The 1-based sheet row of the call with this topic in Calls Today."""
    for r, line in enumerate(table(sheet, "Calls Today"), start=2):
        if line["Topic"] == topic:
            return r
    raise AssertionError(f"no call {topic!r} in Calls Today: {table(sheet, 'Calls Today')}")


def assert_settled(sheet: Sheet, today: dt.date) -> None:
    again = sheet.sync(today)
    assert again.changed_cells == 0, "a second sync must write nothing"


def test_the_week(sheet: Sheet) -> None:
    # Monday: the first sync gives every plan row an ID and lists the calls with theirs.
    first = sheet.sync(TODAY)
    plan = plan_by_id(sheet)
    assert sorted(plan) == ["P-000001", "P-000002", "P-000003", "P-000004"]
    calls = table(sheet, "Calls Today")
    assert [(c["Topic"], c["ID"]) for c in calls] == [
        ("Intro", "P-000003"),
        ("Follow up", "P-000002"),
        ("Demo", "P-000004"),
    ]
    assert sheet.tabs()[STATE_TITLE] is True  # the tool's memory: a hidden tab
    assert first.written
    assert_settled(sheet, TODAY)

    # The person works the day in Calls Today: a comment in a column of their own beside Acme's call,
    # Beta's intro marked done with a result and a follow-up; they type over a tool cell in Leads; and
    # they sort Contact Plan (the rows move; the IDs move with them).
    comment_col = len(sheet.rows("Calls Today")[0])
    sheet.type("Calls Today", 1, comment_col, "Комментарий")
    sheet.type("Calls Today", calls_row(sheet, "Follow up"), comment_col, "дозвонился, перезвонит сам")
    intro = calls_row(sheet, "Intro")
    sheet.type("Calls Today", intro, col(sheet, "Calls Today", "Status"), "Проведён")
    sheet.type("Calls Today", intro, col(sheet, "Calls Today", "Result"), "Talked, sending an offer")
    sheet.type("Calls Today", intro, col(sheet, "Calls Today", "Next date"), dt.date(2026, 11, 27))
    sheet.type("Calls Today", intro, col(sheet, "Calls Today", "Next topic"), "Send offer")
    sheet.type("Leads", 2, col(sheet, "Leads", "Last result"), "звонил сам 26.11, перезвонить в пятницу")
    sheet.sort_plan_descending()

    tuesday = TODAY + dt.timedelta(days=1)
    result = sheet.sync(tuesday)
    plan = plan_by_id(sheet)
    # The call marked done landed on its own plan row, wherever the sort put it.
    assert plan["P-000003"]["Topic"] == "Intro"
    assert plan["P-000003"]["Status"] == "Done"
    assert plan["P-000003"]["Result"] == "Talked, sending an offer"
    # The follow-up is a new plan row with a new ID, the owner copied.
    new = plan["P-000005"]
    assert (new["Project"], new["Date"], new["Topic"], new["Status"], new["Owner"]) == (
        "Beta",
        "2026-11-27",
        "Send offer",
        "",
        "Ivan",
    )
    # The done call left the list; the comment stayed beside its own call.
    calls = table(sheet, "Calls Today")
    assert "Intro" not in [c["Topic"] for c in calls]
    follow = next(c for c in calls if c["Topic"] == "Follow up")
    assert follow["Комментарий"] == "дозвонился, перезвонит сам"
    assert [c["Комментарий"] for c in calls if c["Topic"] != "Follow up"] == [""] * (len(calls) - 1)
    # The text typed into a tool cell is in History and in the output, then replaced.
    typed = [i for i in result.issues if i.code == "typed-over"]
    assert [(i.tab, i.row, i.column, i.value) for i in typed] == [
        ("Leads", 2, "Last result", "звонил сам 26.11, перезвонить в пятницу")
    ]
    history = table(sheet, "History")
    over = [h for h in history if h["What"] == "typed-over"]
    assert over and over[0]["Was"] == "звонил сам 26.11, перезвонить в пятницу" and over[0]["Project"] == "Acme"
    assert over[0]["Now"] == "Liked it"
    kinds = {(h["What"], h["Project"]) for h in history}
    assert {("done", "Beta"), ("added", "Beta")} <= kinds
    assert table(sheet, "Leads")[0]["Last result"] == "Liked it"
    assert sheet.tabs()["History"] is False
    assert_settled(sheet, tuesday)

    # Wednesday: Acme's call is marked done in Calls Today, while someone cancels the same row in the plan.
    row = calls_row(sheet, "Follow up")
    sheet.type("Calls Today", row, col(sheet, "Calls Today", "Status"), "Done")
    sheet.type("Calls Today", row, col(sheet, "Calls Today", "Result"), "Reached Bob")
    acme = next(r for r, line in enumerate(table(sheet, "Contact Plan"), start=2) if line["ID"] == "P-000002")
    sheet.type("Contact Plan", acme, col(sheet, "Contact Plan", "Status"), "Cancelled")
    wednesday = tuesday + dt.timedelta(days=1)
    result = sheet.sync(wednesday)
    conflict = [i for i in result.issues if i.code == "conflict"]
    assert conflict and conflict[0].value == "Cancelled" and "'Done'" in conflict[0].message
    plan = plan_by_id(sheet)
    assert plan["P-000002"]["Status"] == "Cancelled"  # the plan wins
    # The call left the list (cancelled in the plan); its comment went to the plan row's Result.
    assert "Follow up" not in [c["Topic"] for c in table(sheet, "Calls Today")]
    assert plan["P-000002"]["Result"] == "[Calls Today · Комментарий] дозвонился, перезвонит сам"
    moved = [i for i in result.issues if i.code == "call-text-moved"]
    assert moved and moved[0].value == "дозвонился, перезвонит сам"
    history = table(sheet, "History")
    assert any(h["What"] == "conflict" and h["Was"] == "Cancelled" and h["Now"] == "Done" for h in history)
    assert any(h["What"] == "conflict" and h["Now"] == "Reached Bob" for h in history)
    assert any(h["What"] == "cancelled" and h["Project"] == "Acme" for h in history)
    assert_settled(sheet, wednesday)


def test_a_copied_plan_row_gets_a_new_id(sheet: Sheet) -> None:
    sheet.sync(TODAY)
    first = table(sheet, "Contact Plan")[0]
    for c, header in enumerate(sheet.rows("Contact Plan")[0]):
        value = first[cell_text(header)]
        sheet.type("Contact Plan", 6, c, dt.date.fromisoformat(value) if header == "Date" else value)
    result = sheet.sync(TODAY)
    dup = [i for i in result.issues if i.code == "duplicate-id"]
    assert [(i.row, i.value) for i in dup] == [(6, first["ID"])]
    ids = [line["ID"] for line in table(sheet, "Contact Plan")]
    assert len(set(ids)) == len(ids) == 5
    assert ids[0] == first["ID"]  # the upper copy keeps its ID


def test_dry_run_lists_typed_over_cells_and_writes_nothing(make_workbook: Any) -> None:
    path = make_workbook(LEADS, PLAN)
    sync(LocalWorkbook(path), today=TODAY)
    book = openpyxl.load_workbook(path)
    book["Leads"].cell(3, 11).value = "Борис → Анна"  # Beta's Next contact, a tool column
    book["Leads"].cell(2, 13).value = "ask Anna"  # Acme's Days since contact (remembered as "a number")
    book.save(path)
    before = path.read_bytes()
    result = sync(LocalWorkbook(path), today=TODAY, dry_run=True)
    typed = [i for i in result.issues if i.code == "typed-over"]
    assert sorted((i.tab, i.row, i.column, i.value) for i in typed) == [
        ("Leads", 2, "Days since contact", "ask Anna"),
        ("Leads", 3, "Next contact", "Борис → Анна"),
    ]
    assert path.read_bytes() == before
