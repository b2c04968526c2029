"""Issue 13 on the stand-in: what a Google sync sends does not grow with the leads where it need not.

Days since contact is laid as one ``repeatCell`` per run of rows (Google increments the formula's
relative references row by row), and its formulas land on their own rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from conftest import TODAY
from strategies import assert_only_the_tools_formulas
from test_google_e2e import seed, workbook

from google_standin import FakeGoogle
from sheets_crm.app.sync import sync
from sheets_crm.backends.google.live import days_formula


def _leads(n: int, never: int = 0) -> tuple[list[list[Any]], list[list[Any]]]:
    """``n`` leads, each contacted ``i % 9`` days ago — except every ``never``-th (never contacted)."""
    leads = [[f"Lead {i}", "Ann", "", "", "New", "Anna", "", ""] for i in range(n)]
    plan = [
        [f"Lead {i}", TODAY - dt.timedelta(days=i % 9), "Call", "Done", "ok", ""]
        for i in range(n)
        if not never or i % never
    ]
    return leads, plan


def _bodies(fake: FakeGoogle) -> list[dict[str, Any]]:
    return [entry.body for entry in fake.calls("spreadsheets.batchUpdate")]


def _days_writes(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        req["repeatCell"]
        for body in bodies
        for req in body["requests"]
        if "formulaValue" in str((req.get("repeatCell") or {}).get("cell"))
    ]


def test_days_since_is_one_repeat_cell_whatever_the_number_of_leads() -> None:
    fake = FakeGoogle(account="service")
    leads, plan = _leads(40, never=7)  # never-contacted leads (empty Days since) do not break the run
    sid = seed(fake, leads, plan)
    sync(workbook(fake, sid), today=TODAY)
    bodies = _bodies(fake)
    assert_only_the_tools_formulas(bodies)
    repeats = _days_writes(bodies)
    assert len(repeats) == 1, repeats
    assert (repeats[0]["range"]["startRowIndex"], repeats[0]["range"]["endRowIndex"]) == (2, 41)
    assert not re.search(r"'updateCells'[^\]]*formulaValue", str(bodies))  # no formula cell by cell
    # Every row holds its own row's formula, and the sheet computes the right number.
    sheet = fake.values(sid, "Leads", render="FORMULA")
    assert [(row + [""] * 13)[12] for row in sheet[1:]] == [""] + [days_formula(8, r) for r in range(2, 41)]
    days = [(row + [""] * 13)[12] for row in fake.values(sid, "Leads")[1:]]
    assert days == ["" if i % 7 == 0 else i % 9 for i in range(40)]
    fake.reset_stats()
    again = sync(workbook(fake, sid), today=TODAY)
    assert again.changed_cells == 0 and fake.stats.writes == 0


def test_a_typed_over_days_since_cell_is_rewritten_alone() -> None:
    fake = FakeGoogle(account="service")
    leads, plan = _leads(30)
    sid = seed(fake, leads, plan)
    sync(workbook(fake, sid), today=TODAY)
    fake.person.set_value(sid, "Leads", "M10", "soon")
    fake.person.set_value(sid, "Leads", "M20", "7")
    before = len(fake.calls("spreadsheets.batchUpdate"))
    sync(workbook(fake, sid), today=TODAY)
    bodies = _bodies(fake)[before:]
    assert_only_the_tools_formulas(bodies)
    repeats = _days_writes(bodies)
    # Rows 10..20 in one run: the rows between already hold the formula (rewritten the same).
    assert [(r["range"]["startRowIndex"], r["range"]["endRowIndex"]) for r in repeats] == [(9, 20)]
    assert repeats[0]["cell"]["userEnteredValue"]["formulaValue"] == days_formula(8, 9)
    sheet = fake.values(sid, "Leads", render="FORMULA")
    assert [row[12] for row in sheet[1:]] == [days_formula(8, r) for r in range(1, 31)]


# -- doctor: the live tool cells ------------------------------------------------------------------------------


def _doctor(fake: FakeGoogle, sid: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    from sheets_crm.app.doctor import run_doctor
    from sheets_crm.backends.google import auth as google_auth

    account = google_auth.GoogleAccount("service_account", fake.credentials(), fake.identity)
    monkeypatch.setattr(google_auth, "load_account", lambda *a, **k: account)
    with fake.patch():
        report = run_doctor(sid, today=TODAY)
    return [p for p in report.problems if p.code == "live-cells"]


def test_doctor_sees_a_deleted_rule_and_a_typed_over_formula_and_sync_restores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeGoogle(account="service")
    leads, plan = _leads(12)
    sid = seed(fake, leads, plan)
    sync(workbook(fake, sid), today=TODAY)
    assert _doctor(fake, sid, monkeypatch) == []
    rules = len(fake.conditional_formats(sid, "Leads"))

    fake.person.delete_conditional_format(sid, "Leads", 5)  # a person deletes one of the colour rules
    fake.person.set_value(sid, "Leads", "M4", "30")  # and types a number over a Days since formula
    found = _doctor(fake, sid, monkeypatch)
    assert [(p.row, p.value) for p in found] == [(None, None), (4, 30)]
    assert f"{rules - 1} of {rules} in place" in found[0].message and "next sync restores" in found[0].message
    assert "Days since contact holds 30, not its formula" in found[1].message
    # Read only: the doctor wrote nothing (the rule is still missing, the typed number still there).
    assert len(fake.conditional_formats(sid, "Leads")) == rules - 1

    sync(workbook(fake, sid), today=TODAY)  # 30 is wrong (2 days): the sync puts the formula back
    assert len(fake.conditional_formats(sid, "Leads")) == rules
    assert fake.values(sid, "Leads", render="FORMULA")[3][12] == days_formula(8, 3)
    assert _doctor(fake, sid, monkeypatch) == []


def test_doctor_says_nothing_of_rules_on_a_sheet_never_synced(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeGoogle(account="service")
    leads, plan = _leads(3)
    sid = seed(fake, leads, plan)
    assert _doctor(fake, sid, monkeypatch) == []


# -- a write too big for one request -----------------------------------------------------------------------


def test_a_split_write_sent_batch_by_batch_says_how_much_landed_when_one_fails() -> None:
    """Batches are built as they are sent (one in memory at a time); if one fails midway the outcome
    still says how many of how many landed."""
    from sheets_crm.errors import GoogleError, WriteOutcome

    leads, plan = _leads(80)
    twin = FakeGoogle(account="service")
    sync(workbook(twin, seed(twin, leads, plan), max_payload=6_000), today=TODAY)
    total = len(twin.calls("spreadsheets.batchUpdate"))
    assert total > 2

    fake = FakeGoogle(account="service")
    sid = seed(fake, leads, plan)
    fake.on_request(2, lambda: fake.inject("spreadsheets.batchUpdate", status=400), method="spreadsheets.batchUpdate")
    with pytest.raises(GoogleError) as err:
        sync(workbook(fake, sid, max_payload=6_000), today=TODAY)
    assert err.value.outcome is WriteOutcome.PARTLY_UPDATED and err.value.parts == (1, total)
    assert f"split in {total} parts and 1 of them were applied" in str(err.value)


def test_the_bench_breaks_a_payload_down_by_tab_and_request_kind() -> None:
    from bench.google import payload_breakdown

    cell = {"userEnteredValue": {"stringValue": "x"}}
    first = {
        "requests": [
            {"addSheet": {"properties": {"sheetId": 7, "title": "_state"}}},
            {"updateCells": {"start": {"sheetId": 0}, "rows": [{"values": [cell]}], "fields": "userEnteredValue"}},
            {"addConditionalFormatRule": {"index": 0, "rule": {"ranges": [{"sheetId": 0}]}}},
        ]
    }
    later = {"requests": [{"updateCells": {"start": {"sheetId": 7}, "rows": [], "fields": "userEnteredValue"}}]}
    titles = {0: "Leads"}
    parts = payload_breakdown(first, titles)
    assert set(parts) == {"_state/addSheet", "Leads/updateCells", "Leads/addConditionalFormatRule"}
    assert sum(parts.values()) == sum(len(json.dumps(r, separators=(",", ":"))) for r in first["requests"])
    assert payload_breakdown(later, titles) == {
        "_state/updateCells": len(json.dumps(later["requests"][0]).replace(" ", ""))
    }


def test_a_sync_that_would_cross_the_ten_million_cell_limit_stops_before_writing() -> None:
    from sheets_crm.errors import WorkbookError, WriteOutcome

    fake = FakeGoogle(account="service")
    leads, plan = _leads(5)
    sid = seed(fake, leads, plan)
    fake.person.add_tab(sid, "Archive", [["old"]])
    archive = fake.sheet(sid, "Archive")
    archive.grid["columnCount"] = 1
    archive.grid["rowCount"] = 10_000_000 - fake.spreadsheet(sid).cell_count() + 1 - 10  # 10 cells to spare
    fake.reset_stats()
    with pytest.raises(WorkbookError) as err:
        sync(workbook(fake, sid), today=TODAY)  # History and the state tab need more than 10 cells
    assert err.value.outcome is WriteOutcome.UNTOUCHED and "over Google's limit of 10,000,000 cells" in str(err.value)
    assert "Nothing was written" in str(err.value) and fake.stats.writes == 0
    archive.grid["rowCount"] = 1000  # the person deletes the empty rows: the sync goes through
    assert sync(workbook(fake, sid), today=TODAY).written


def test_the_hidden_state_tab_is_exactly_as_wide_as_its_data() -> None:
    fake = FakeGoogle(account="service")
    leads, plan = _leads(5)
    sid = seed(fake, leads, plan)
    sync(workbook(fake, sid), today=TODAY)
    state = fake.sheet(sid, "_sheets_crm")
    assert state.hidden and state.column_count == 3 and state.row_count >= len(fake.values(sid, "_sheets_crm"))
    assert fake.sheet(sid, "History").column_count >= 8  # a visible tab keeps room to grow by hand
