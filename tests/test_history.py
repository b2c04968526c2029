"""Issue 11: the History / История tab and the hidden state tab (what each sync saw change, bounded to a
rolling year), on pure snapshots; and the tabs the writers create, opened by LibreOffice and on Google."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import TODAY, make_snapshot

from sheets_crm.app.sync import compute, sync
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.core.history import HISTORY_HEADERS, KEEP_DAYS, PRUNE_AFTER_DAYS
from sheets_crm.core.ledger import STATE_TITLE
from sheets_crm.core.model import KEEP, ChangeSet, Snapshot, TabData
from sheets_crm.core.reading import cell_text
from sheets_crm.core.template import Template

LEADS = [
    ["Acme", "Bob", "", "", "Proposal", "Anna", "", ""],
    ["Beta", "Eve", "", "", "New", "Ivan", "", ""],
    ["Gamma", "Zoe", "", "", "New", "Ivan", "", ""],
]
PLAN = [
    ["Acme", dt.date(2026, 11, 20), "Proposal", "Done", "Liked it", "Anna"],
    ["Beta", dt.date(2026, 11, 24), "Intro", "", "", "Ivan"],
    ["Gamma", dt.date(2026, 11, 25), "Call", "", "", "Ivan"],
]


def apply(snapshot: Snapshot, changes: ChangeSet) -> None:
    """What a backend does with a change set, on the snapshot itself (values only)."""
    for title in changes.new_tabs:
        snapshot.tabs.setdefault(title, TabData(title, []))
    for ch in changes.changes:
        if ch.value is KEEP:
            continue
        values = snapshot.tabs[ch.tab].values
        while len(values) <= ch.row:
            values.append([])
        line = values[ch.row]
        while len(line) <= ch.col:
            line.append(None)
        line[ch.col] = ch.value


def run(snapshot: Snapshot, template: Template, today: dt.date = TODAY) -> Any:
    outcome = compute(snapshot, today, template)
    apply(snapshot, outcome.changes)
    return outcome


def history(snapshot: Snapshot) -> list[dict[str, str]]:
    tab = snapshot.tabs["History"]
    head = [cell_text(h) for h in tab.values[0]]
    return [dict(zip(head, (cell_text(v) for v in line), strict=False)) for line in tab.values[1:] if any(line)]


def put(snapshot: Snapshot, tab: str, row: int, header: str, value: Any) -> None:
    data = snapshot.tabs[tab]
    col = [cell_text(h) for h in data.values[0]].index(header)
    line = data.values[row - 1]
    while len(line) <= col:
        line.append(None)
    line[col] = value


def test_first_sync_lays_down_history_and_state_then_is_a_no_op(template: Template) -> None:
    snap = make_snapshot(template, [list(r) for r in LEADS], [list(r) for r in PLAN])
    first = run(snap, template)
    assert first.changes.new_tabs == {"Report": False, "History": False, STATE_TITLE: True}
    assert snap.tabs["History"].values == [list(HISTORY_HEADERS["en"])]  # nothing to say yet, but there
    assert [line[:2] for line in snap.tabs[STATE_TITLE].values[1:4]] == [
        ["leads", "acme"],
        ["leads", "beta"],
        ["leads", "gamma"],
    ]
    again = compute(snap, TODAY, template)
    # (fills are not applied by this test's apply(): only values must have settled)
    assert not [ch for ch in again.changes.changes if ch.value is not KEEP] and not again.changes.new_tabs


def test_history_records_what_changed_between_syncs(template: Template) -> None:
    snap = make_snapshot(template, [list(r) for r in LEADS], [list(r) for r in PLAN])
    run(snap, template)
    put(snap, "Leads", 2, "Stage", "Negotiation")  # Acme moves on
    put(snap, "Leads", 3, "Owner", "Anna")  # Beta changes hands
    snap.tabs["Leads"].values[3] = [None] * 8  # Gamma deleted (its row emptied)
    snap.tabs["Leads"].values.append(["Delta", "Dan", "", "", "New", "Maria", "", ""])
    put(snap, "Contact Plan", 3, "Date", dt.date(2026, 11, 26))  # Beta's intro re-dated
    put(snap, "Contact Plan", 2, "Status", "Cancelled")  # Acme's done row cancelled after all
    snap.tabs["Contact Plan"].values.append(["Delta", dt.date(2026, 11, 30), "Intro", "", "", "Maria"])
    day = TODAY + dt.timedelta(days=1)
    run(snap, template, day)
    got = {(h["What"], h["Project"], h["Was"], h["Now"]) for h in history(snap)}
    assert ("stage", "Acme", "Proposal", "Negotiation") in got
    assert ("owner", "Beta", "Ivan", "Anna") in got
    assert ("lead-removed", "Gamma", "Gamma", "") in got
    assert ("lead-added", "Delta", "", "Delta") in got
    assert ("re-dated", "Beta", "2026-11-24", "2026-11-26") in got
    assert ("cancelled", "Acme", "Done", "Cancelled") in got
    assert ("added", "Delta", "", "2026-11-30") in got
    assert {h["Date"] for h in history(snap)} == {day.isoformat()}
    rows = {h["What"]: h["Row"] for h in history(snap)}
    assert rows["re-dated"] == "3" and rows["added"] == "5"
    before = len(history(snap))
    run(snap, template, day)
    assert len(history(snap)) == before  # nothing new: nothing written


def test_history_keeps_a_rolling_year(template: Template) -> None:
    snap = make_snapshot(template, [list(r) for r in LEADS], [list(r) for r in PLAN])
    run(snap, template)
    old = (TODAY - dt.timedelta(days=PRUNE_AFTER_DAYS - 10)).isoformat()
    recent = (TODAY - dt.timedelta(days=30)).isoformat()
    lines = [
        [old, "Leads", 2, "Acme", "Stage", "New", "Proposal", "stage"],
        [recent, "Leads", 2, "Acme", "Owner", "Ivan", "Anna", "owner"],
    ]
    snap.tabs["History"].values.extend([list(x) for x in lines])
    run(snap, template)
    assert [h["Date"] for h in history(snap)] == [old, recent]  # not yet past the pruning point: kept
    later = TODAY + dt.timedelta(days=20)  # the old line is now older than PRUNE_AFTER_DAYS
    run(snap, template, later)
    dates = [h["Date"] for h in history(snap)]
    assert old not in dates and recent in dates
    assert all(d >= (later - dt.timedelta(days=KEEP_DAYS)).isoformat() for d in dates)
    assert snap.tabs["History"].values[0] == list(HISTORY_HEADERS["en"])


def test_russian_sheet_gets_istoriya(template: Template) -> None:
    snap = make_snapshot(template, [["Акме", "", "", "", "Новый", "Анна", "", ""]], [], lang="ru")
    run(snap, template)
    assert "История" in snap.tabs and snap.tabs["История"].values[0][0] == "Дата"


def test_created_tabs_open_in_libreoffice(make_workbook: Any, tmp_path: Path) -> None:
    """The worksheet parts the local writer adds make a valid package: openpyxl and LibreOffice open it."""
    path = make_workbook(LEADS, PLAN)
    sync(LocalWorkbook(path), today=TODAY)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[-2:] == ["History", STATE_TITLE]
    assert book[STATE_TITLE].sheet_state == "hidden" and book["History"].sheet_state == "visible"
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    out = tmp_path / "out"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/lo",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    again = openpyxl.load_workbook(out / path.name)
    assert again.sheetnames == book.sheetnames
    assert again[STATE_TITLE].sheet_state == "hidden"
    assert again[STATE_TITLE]["A2"].value == "leads" and again["History"]["H1"].value == "What"


def test_google_creates_the_tabs_in_its_one_write() -> None:
    from test_google_e2e import client_of, seed

    from google_standin import FakeGoogle
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.set_today(TODAY)
    result = sync(GoogleWorkbook(sid, http=client_of(fake)), today=TODAY)
    assert result.stats["write_batches"] == 1 and fake.stats.writes == 1
    assert fake.tabs(sid)[-2:] == ["History", STATE_TITLE]
    assert fake.sheet_properties(sid, STATE_TITLE).get("hidden") is True
    assert fake.values(sid, "History") == [list(HISTORY_HEADERS["en"])]
    fake.reset_stats()
    again = sync(GoogleWorkbook(sid, http=client_of(fake)), today=TODAY)
    assert not again.written and fake.stats.writes == 0
