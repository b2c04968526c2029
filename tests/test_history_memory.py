"""Issue 13: the hidden state tab remembers only what changes by a person's or the sync's hand — a new day
alone rewrites none of its lines — and still catches every typed-over tool cell (History + warning)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from conftest import TODAY, make_snapshot
from test_history import LEADS, PLAN, history, put, run

from sheets_crm.app.sync import compute
from sheets_crm.core.ledger import PLAN_FIELDS, STATE_TITLE
from sheets_crm.core.model import KEEP, ChangeSet, Snapshot
from sheets_crm.core.reading import cell_text
from sheets_crm.core.template import Template

#: An overdue call besides the plan's upcoming ones: its Days overdue and section move every day.
OVERDUE = ["Acme", dt.date(2026, 11, 19), "Old call", "", "", "Anna"]


def crm(template: Template) -> Snapshot:
    snap = make_snapshot(template, [list(r) for r in LEADS], [list(r) for r in [*PLAN, OVERDUE]])
    run(snap, template)
    return snap


def state(snap: Snapshot) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (cell_text(line[0]), cell_text(line[1])): json.loads(cell_text(line[2]))
        for line in snap.tabs[STATE_TITLE].values[1:]
        if line and cell_text(line[0])
    }


def values_written(changes: ChangeSet) -> list[Any]:
    return [ch for ch in changes.changes if ch.value is not KEEP]


def test_calls_memory_leaves_out_the_daily_cells(template: Template) -> None:
    snap = crm(template)
    calls = {k: v for (t, k), v in state(snap).items() if t == "calls"}
    assert set(calls) == {"P-000002", "P-000003", "P-000004"}
    for data in calls.values():
        assert not {"days_overdue", "section"} & set(data)
    assert calls["P-000004"]["topic"] == "Old call"  # the other tool values are still remembered


def test_next_day_rewrites_no_memory_line_because_a_day_passed(template: Template) -> None:
    snap = crm(template)
    tomorrow = TODAY + dt.timedelta(days=1)
    outcome = compute(snap, tomorrow, template)
    calls = snap.tabs["Calls Today"]
    days = [cell_text(h) for h in calls.values[0]].index("Days overdue")
    # The day did change the daily cells of Calls Today ...
    assert any(ch.tab == "Calls Today" and ch.col == days for ch in values_written(outcome.changes))
    # ... but of the state tab only the Report tab's memory line (its dates moved).
    lines = {ch.row for ch in values_written(outcome.changes) if ch.tab == STATE_TITLE}
    assert [cell_text(snap.tabs[STATE_TITLE].values[r][0]) for r in lines] == ["report"]


def test_text_typed_over_days_overdue_and_section_is_kept_in_history(template: Template) -> None:
    snap = crm(template)
    row = next(r for r, line in enumerate(snap.tabs["Calls Today"].values, 1) if cell_text(line[-1]) == "P-000004")
    put(snap, "Calls Today", row, "Days overdue", "ask Bob first")
    put(snap, "Calls Today", row, "When", "after lunch")
    put(snap, "Calls Today", row + 1, "When", "Upcoming")  # a section's own label: not typed-over text
    put(snap, "Calls Today", row + 2, "Days overdue", 7)  # a number: the sync's kind of value
    outcome = run(snap, template)
    typed = sorted((i.tab, i.row, i.column, i.value) for i in outcome.issues if i.code == "typed-over")
    assert typed == [
        ("Calls Today", row, "Days overdue", "ask Bob first"),
        ("Calls Today", row, "When", "after lunch"),
    ]
    over = {(h["Column"], h["Was"], h["Now"]) for h in history(snap) if h["What"] == "typed-over"}
    assert over == {("Days overdue", "ask Bob first", "3"), ("When", "after lunch", "Overdue")}
    got = snap.tabs["Calls Today"].values
    heads = [cell_text(h) for h in got[0]]
    assert got[row - 1][heads.index("Days overdue")] == 3 and got[row - 1][heads.index("When")] == "Overdue"
    assert got[row + 1][heads.index("Days overdue")] in (None, "")  # the typed number was put right
    again = compute(snap, TODAY, template)
    assert not values_written(again.changes) and not again.issues  # second sync: a no-op


def test_russian_sections_typed_over(template: Template) -> None:
    snap = make_snapshot(
        template,
        [["Акме", "", "", "", "Новый", "Анна", "", ""]],
        [["Акме", dt.date(2026, 11, 19), "Звонок", "", "", "Анна"]],
        lang="ru",
    )
    run(snap, template)
    put(snap, "Звонки на сегодня", 2, "Когда", "завтра")
    outcome = run(snap, template)
    assert [(i.column, i.value) for i in outcome.issues if i.code == "typed-over"] == [("Когда", "завтра")]
    assert not values_written(compute(snap, TODAY, template).changes)


def places(snap: Snapshot) -> dict[tuple[str, str], int]:
    return {
        (cell_text(line[0]), cell_text(line[1])): r
        for r, line in enumerate(snap.tabs[STATE_TITLE].values)
        if r and line and cell_text(line[0])
    }


def test_memory_lines_keep_their_place_when_rows_come_and_go(template: Template) -> None:
    snap = crm(template)
    before = places(snap)
    # A lead and a plan row arrive (their lines would once have pushed every plan and call line down) ...
    snap.tabs["Leads"].values.insert(1, ["Delta", "Dan", "", "", "New", "Maria", "", ""])
    snap.tabs["Contact Plan"].values.append(["Delta", dt.date(2026, 11, 23), "Intro", "", "", "Maria"])
    outcome = run(snap, template)
    after = places(snap)
    assert {k: after[k] for k in before} == before  # every remembered line stayed where it was
    new = {k for k in after if k not in before}
    assert {k for k in new if k[0] != "plan"} == {("leads", "delta"), ("calls", "P-000005")}
    rewritten = {ch.row for ch in values_written(outcome.changes) if ch.tab == STATE_TITLE}
    assert rewritten == {after[k] for k in new} | {after[("report", "grid")]}  # the Report's counts moved
    # ... and a call leaving frees its line for the next new one instead of moving the rest up.
    row = next(r for r, line in enumerate(snap.tabs["Calls Today"].values, 1) if cell_text(line[-1]) == "P-000004")
    put(snap, "Calls Today", row, "Status", "Done")
    freed = after[("calls", "P-000004")]
    run(snap, template)
    again = places(snap)
    assert ("calls", "P-000004") not in again
    assert {k: again[k] for k in after if k in again} == {k: after[k] for k in again if k in after}
    snap.tabs["Contact Plan"].values.append(["Beta", dt.date(2026, 11, 23), "Follow up", "", "", "Ivan"])
    run(snap, template)
    latest = places(snap)
    assert {k for k, r in latest.items() if r == freed and k not in again}  # a new line took the free one
    assert not values_written(compute(snap, TODAY, template).changes)


def to_previous_format(snap: Snapshot) -> None:
    """Turn the state tab into what the previous version wrote: every line a JSON object, a plan row's with
    ``~topic`` too, a call's with its Days overdue and section."""
    plan = {cell_text(line[-1]): line for line in snap.tabs["Contact Plan"].values[1:]}
    calls = {cell_text(line[-1]): line for line in snap.tabs["Calls Today"].values[1:]}
    for line in snap.tabs[STATE_TITLE].values[1:]:
        kind, key, data = cell_text(line[0]), cell_text(line[1]), json.loads(cell_text(line[2]))
        if kind == "plan":
            data = {f: v for f, v in zip(PLAN_FIELDS, data, strict=False) if v}
            data["~topic"] = cell_text(plan[key][2])
        elif kind == "calls":
            data.update(section=cell_text(calls[key][0]), days_overdue=cell_text(calls[key][2]))
        else:
            continue
        line[2] = json.dumps({f: v for f, v in sorted(data.items()) if v}, ensure_ascii=False, separators=(",", ":"))


def test_plan_memory_is_an_array_of_what_history_needs(template: Template) -> None:
    snap = crm(template)
    plan = {k: v for (t, k), v in state(snap).items() if t == "plan"}
    assert plan["P-000001"] == ["Acme", "2026-11-20", "Done", "Liked it"]
    assert plan["P-000002"] == ["Beta", "2026-11-24"]  # no status or result yet; no topic ever


def test_memory_written_by_the_previous_version_still_syncs(template: Template) -> None:
    """A workbook synced by the previous version: its memory is read, nothing is flagged from the fields
    no longer kept, no line is rewritten just for its format, and History still works from it."""
    snap = crm(template)
    to_previous_format(snap)
    previous = [list(line) for line in snap.tabs[STATE_TITLE].values]
    outcome = run(snap, template)
    assert not outcome.issues and not [h for h in history(snap) if h["What"] == "typed-over"]
    assert snap.tabs[STATE_TITLE].values == previous  # not even the Report's line: same day, same counts
    # A day later, a re-dated plan row, a cancelled one and a typed-over call are told from the old lines.
    put(snap, "Contact Plan", 3, "Date", dt.date(2026, 11, 26))
    put(snap, "Contact Plan", 2, "Status", "Cancelled")
    row = next(r for r, line in enumerate(snap.tabs["Calls Today"].values, 1) if cell_text(line[-1]) == "P-000004")
    put(snap, "Calls Today", row, "Topic", "ring before noon")
    tomorrow = TODAY + dt.timedelta(days=1)
    outcome = run(snap, template, tomorrow)
    got = {(h["What"], h["Project"], h["Was"], h["Now"]) for h in history(snap)}
    assert {("re-dated", "Beta", "2026-11-24", "2026-11-26"), ("cancelled", "Acme", "Done", "Cancelled")} <= got
    assert ("typed-over", "Acme", "ring before noon", "Old call") in got
    memory = state(snap)
    assert memory[("plan", "P-000002")] == ["Beta", "2026-11-26"]  # rewritten lines take the new format
    assert memory[("plan", "P-000003")] == {"~date": "2026-11-25", "~project": "Gamma", "~topic": "Call"}
    assert not values_written(compute(snap, tomorrow, template).changes)


def test_odd_memory_lines_are_forgotten_and_their_lines_reused(template: Template) -> None:
    """A person who unhides the state tab and types into it: a damaged line is forgotten (nothing flagged
    from it), an odd array is read as far as it goes, and the next sync puts a well-formed memory back."""
    snap = crm(template)
    where = places(snap)
    tab = snap.tabs[STATE_TITLE]
    tab.values[where[("plan", "P-000002")]][2] = "{not json"
    tab.values[where[("plan", "P-000003")]][2] = '["Gamma", 20261125, null, {"x": 1}, "extra"]'
    outcome = run(snap, template)
    assert not outcome.issues
    got = {h["What"] for h in history(snap)}
    assert "added" in got  # P-000002 was forgotten, so it counts as new again; no crash, no typed-over
    assert "typed-over" not in got
    memory = state(snap)
    assert memory[("plan", "P-000002")] == ["Beta", "2026-11-24"]
    assert memory[("plan", "P-000003")] == ["Gamma", "2026-11-25"]
    assert not values_written(compute(snap, TODAY, template).changes)
