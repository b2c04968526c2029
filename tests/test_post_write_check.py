"""The post-write check: an edit in the last instant, between the guard read and the write.

The one ``batchUpdate`` asks Google to send back, in its own reply, the header rows and the
Leads key column as they are *after* the write (``includeSpreadsheetInResponse`` +
``responseRanges`` + ``responseIncludeGridData``). If they are not what the plan was based on,
the sync re-reads and re-plans at once — no extra request when nothing moved.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from conftest import TODAY  # noqa: E402
from test_concurrent_edits import TPL, TYPED, at_request, seed, sheet_titles, still_to_do, workbook  # noqa: E402
from test_concurrent_edits import WRITE as WRITE_AT  # noqa: E402

from google_standin import FakeGoogle  # noqa: E402
from sheets_crm.app.sync import MAX_ATTEMPTS, sync  # noqa: E402
from sheets_crm.core.text import column_letter  # noqa: E402
from sheets_crm.errors import ConcurrentEditError, WriteOutcome  # noqa: E402

GET, BATCH_GET, WRITE = (
    "sheets.spreadsheets.get",
    "sheets.spreadsheets.values.batchGet",
    "sheets.spreadsheets.batchUpdate",
)

# kind -> (the person's edit, (spreadsheets.get, values.batchGet, batchUpdate) requests,
#          batchUpdates that landed). Each read is a spreadsheets.get of the properties, a values.batchGet
#          of the CRM tabs and a spreadsheets.get of Calls Today's colours; each write has a guard read
#          (values.batchGet) before it.
EDITS: dict[str, tuple[Callable[[FakeGoogle, str], Any], tuple[int, int, int], int]] = {
    # Rows moved: the write lands, its reply shows the key column moved, one more full round.
    "insert_above": (
        lambda f, s: f.person.insert_rows(s, "Leads", 2, 1, [["Newco", "Nina", "", "", "New"]]),
        (4, 4, 2),
        2,
    ),
    "delete_row": (lambda f, s: f.person.delete_rows(s, "Leads", 3), (4, 4, 2), 2),
    "sort": (lambda f, s: f.person.sort(s, "Leads", "A", ascending=False), (4, 4, 2), 2),
    # Notes moved left of the tool columns: the header moved; the re-read finds only the Days since
    # formulas to rewrite (the stand-in does not shift formula references when a column moves; Google
    # does, and would find nothing left to change).
    "move_column": (lambda f, s: f.person.move_column(s, "Leads", 8, 2), (4, 4, 2), 2),
    # A rename the tool still recognises: the reply names another title, one re-read, nothing to change.
    "rename_tab": (lambda f, s: f.person.rename_tab(s, "Leads", "LEADS"), (4, 3, 1), 1),
    "type_user": (lambda f, s: f.person.set_value(s, "Leads", "H3", "typed"), (2, 2, 1), 1),
    "type_tool": (lambda f, s: f.person.set_value(s, "Leads", "M4", TYPED), (2, 2, 1), 1),
}


@pytest.mark.parametrize("kind", sorted(EDITS))
def test_an_edit_between_guard_and_write_is_repaired_in_the_same_sync(kind: str) -> None:
    edit, counts, writes = EDITS[kind]
    attempts = counts[0] // 2  # two spreadsheets.get per attempt
    fake = FakeGoogle(account="service")
    sid = seed(fake)
    titles = sheet_titles(fake, sid)
    at_request(fake, WRITE_AT, lambda info: (info.method_id == WRITE or pytest.fail(info.method_id), edit(fake, sid)))
    result = sync(workbook(fake, sid), today=TODAY)
    assert result.attempts == attempts
    by = fake.stats.by_method
    assert (by[GET], by[BATCH_GET], by[WRITE]) == counts
    # (+ the Days since formulas read when rows moved: the stand-in does not shift their references)
    formula_reads = by.get("sheets.spreadsheets.values.get", 0)
    assert result.stats["writes"] == writes and result.stats["requests"] == sum(counts) + formula_reads
    # Every Leads row's tool values are the planner's for that row's own project.
    assert still_to_do(fake, sid, titles) == 0
    if kind == "type_user":
        assert fake.values(sid, "Leads")[2][7] == "typed"
    if kind == "type_tool":  # Days since contact is the sheet's formula: today's write does not touch it,
        assert fake.values(sid, "Leads")[3][12] == TYPED  # so the typed text stays until the next sync


def test_a_quiet_sync_costs_no_extra_request_and_asks_only_for_the_guard_ranges() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake)
    seen: list[Any] = []
    fake.before_request(seen.append)
    result = sync(workbook(fake, sid), today=TODAY)
    assert result.attempts == 1
    assert {k: result.stats[k] for k in ("requests", "reads", "writes")} == {"requests": 5, "reads": 4, "writes": 1}
    body = seen[-1].body
    assert body["includeSpreadsheetInResponse"] and body["responseIncludeGridData"]
    leads_end, calls_end = (column_letter(len(tab.columns) - 1) for tab in (TPL.leads, TPL.calls))
    assert body["responseRanges"] == [f"'Leads'!A1:{leads_end}1", "'Leads'!A2:A7", f"'Calls Today'!A1:{calls_end}1"]
    sheets = seen[-1].response["updatedSpreadsheet"]["sheets"]
    assert [s["properties"] for s in sheets] == [
        {"sheetId": s.sheet_id, "title": s.title}
        for s in fake.spreadsheet(sid).sheets
        if s.title in ("Leads", "Calls Today")  # the tabs with guard ranges (not the plan, History, state)
    ]
    leads = sheets[0]["data"]
    assert [len(b["rowData"]) for b in leads] == [1, 6]  # the header row, the key column: not the whole tab
    assert all(len(r["values"]) == 1 for r in leads[1]["rowData"])


def test_a_split_write_has_no_post_write_check() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake)
    seen: list[Any] = []
    fake.before_request(seen.append)
    wb = workbook(fake, sid)
    wb.max_payload = 1500
    sync(wb, today=TODAY)
    writes = [i for i in seen if i.method_id == WRITE]
    assert len(writes) > 1 and not any("responseRanges" in (i.body or {}) for i in writes)


def test_a_sheet_moving_at_every_write_stops_without_claiming_nothing_was_written() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake)
    counter = iter(range(100))
    live = {"on": True}

    def meddle(info: Any) -> None:
        if live["on"] and info.method_id == WRITE:
            fake.person.insert_rows(sid, "Leads", 2, 1, [[f"New {next(counter)}"]])

    fake.before_request(meddle)
    with pytest.raises(ConcurrentEditError) as err:
        sync(workbook(fake, sid), today=TODAY)
    message = str(err.value)
    assert err.value.outcome is WriteOutcome.UPDATED
    assert "nothing was written" not in message and "was written" in message and "sync again" in message
    assert fake.stats.by_method[WRITE] == MAX_ATTEMPTS
    # The next sync puts every tool value beside its own lead.
    live["on"] = False
    sync(workbook(fake, sid), today=TODAY)
    assert still_to_do(fake, sid) == 0
