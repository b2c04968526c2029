"""Faults: the network fails at every request of a Google sync; a local sync is killed mid-save.

In every case the sheet or workbook ends *fully updated or untouched* —
compared cell by cell, formats included — and the exit status and message
say which:

* exit 0, "Synced …": fully updated;
* exit 1, "… Nothing was written …": untouched;
* exit 1, "… may or may not have reached Google …": a write whose answer was
  lost or 5xx'd (Google may have applied it); the sheet is then fully updated or untouched (a ``batchUpdate`` is
  all or nothing), never half-written, and running sync again is safe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import TODAY
from typer.testing import CliRunner

from google_standin import FakeGoogle

LEADS = [
    ["Acme", "Bob", "+7 916 000-00-01", "bob@acme.example", "Proposal", "Anna", "Web", "big one"],
    ["Beta", "Eve", "", "", "New", "Ivan", "", ""],
    ["Gamma", "Zoe", "", "", "Won", "Anna", "", ""],
]
PLAN = [
    ["Acme", dt.date(2026, 11, 20), "Proposal", "Done", "Liked it", ""],
    ["Acme", dt.date(2026, 11, 21), "Follow up", "Planned", "", "Petr"],
    ["Beta", dt.date(2026, 11, 22), "Intro", "", "", ""],
    ["Gamma", dt.date(2026, 11, 25), "Kick-off", "", "", "Anna"],
]

#: The requests of one (first) sync, in order (see backends/google/workbook.py).
POSITIONS = {
    1: "spreadsheets.get (the tabs' properties)",
    2: "values.batchGet (the CRM tabs' values)",
    3: "spreadsheets.get (Calls Today's colours)",
    4: "values.get (the Days since contact formulas, first sync)",
    5: "values.batchGet (guard)",
    6: "spreadsheets.batchUpdate (write)",
}
WRITE = 6
CLEAN_REQUESTS = len(POSITIONS)
KINDS = ["429", "500", "503", "timeout", "lost-answer", "connection"]


def seed(fake: FakeGoogle) -> str:
    from sheets_crm.core.template import default_template

    tpl = default_template()
    head = {t.id: [c.names["en"] for c in t.columns] for t in tpl.tabs}
    sid = fake.add_spreadsheet(
        "CRM",
        {"Leads": [head["leads"], *LEADS], "Contact Plan": [head["plan"], *PLAN], "Calls Today": [head["calls"]]},
        time_zone="Europe/Moscow",
    )
    fake.person.set_background(sid, "Leads", "B2", "#FFCC00")  # the person's own formatting
    fake.set_today(TODAY)  # what the sheet's TODAY() says (Days since contact is a formula)
    return sid


def state(fake: FakeGoogle, sid: str) -> str:
    """Everything about the spreadsheet: properties, every cell (values and formats), merges, rules."""
    ss = fake.spreadsheet(sid)
    sheets = []
    for sheet in ss.sheets:
        cells = {f"{r},{c}": cell for r, row in enumerate(sheet.rows) for c, cell in enumerate(row) if cell}
        sheets.append(
            {
                "properties": sheet.properties,
                "cells": cells,
                "merges": sheet.merges,
                "conditional": sheet.conditional_formats,
                "protected": sheet.protected_ranges,
                "filter": sheet.basic_filter,
                "rows": sheet.row_meta,
                "cols": sheet.col_meta,
            }
        )
    return json.dumps({"properties": ss.properties, "sheets": sheets}, sort_keys=True, default=str)


def inject(fake: FakeGoogle, kind: str, at: int, times: int | None) -> None:
    if kind in ("429", "500", "503"):
        fake.inject(None, int(kind), times=times, at=at)
    elif kind == "timeout":
        fake.inject_timeout(None, times=times, at=at)
    elif kind == "lost-answer":
        fake.inject_timeout(None, times=times, at=at, applied=True)  # served, then the answer is lost
    else:
        fake.inject_connection_error(None, times=times, at=at)


@pytest.fixture
def cli(monkeypatch):
    """Run `sheets-crm` against a FakeGoogle: its credentials, every new session mounted, no real sleeping."""
    from sheets_crm.backends.google import auth as google_auth
    from sheets_crm.cli.main import app

    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)

    def run(fake: FakeGoogle, *args: str) -> Any:
        account = google_auth.GoogleAccount("service_account", fake.credentials(), fake.identity)
        monkeypatch.setattr(google_auth, "load_account", lambda *a, **k: account)
        with fake.patch():
            return CliRunner().invoke(app, list(args))

    return run


@pytest.fixture(scope="module")
def states() -> dict[str, str]:
    """The spreadsheet before any sync, and after a clean one."""
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.google.http import CrmHTTPClient
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    fake = FakeGoogle(account="service")
    sid = seed(fake)
    before = state(fake, sid)
    sync(GoogleWorkbook(sid, http=CrmHTTPClient(None, fake.session(), sleep=lambda s: None)), today=TODAY)
    return {"sid": sid, "before": before, "after": state(fake, sid)}


MATRIX = [(kind, at, persistent) for persistent in (False, True) for kind in KINDS for at in POSITIONS]


@pytest.mark.parametrize(
    "kind, at, persistent", MATRIX, ids=[f"{k}-at-{a}-{'persistent' if p else 'once'}" for k, a, p in MATRIX]
)
def test_google_fault_matrix(cli, states, kind: str, at: int, persistent: bool) -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake)
    assert sid == states["sid"] and state(fake, sid) == states["before"]
    inject(fake, kind, at, None if persistent else 1)
    result = cli(fake, "sync", sid, "--today", TODAY.isoformat())
    now = state(fake, sid)
    # (the quota wait is announced on stderr while it lasts: "WARNING: … waiting 2 s …")
    output = " ".join(line for line in result.output.splitlines() if not line.startswith("WARNING:"))
    output = " ".join(output.split())
    assert "Traceback" not in result.output and "Internal error" not in result.output

    if not persistent:  # one failure is retried: the sync completes
        assert result.exit_code == 0, result.output
        assert output.startswith(f"Synced {sid} for {TODAY.isoformat()}: ")
        assert now == states["after"]
        return

    assert result.exit_code == 1, result.output
    assert output.startswith("Error: ")
    # A 5xx, a lost answer or a dropped connection on the write: Google may have applied it.
    write_in_doubt = at == WRITE and kind in ("500", "503", "timeout", "lost-answer", "connection")
    if write_in_doubt:
        assert now in (states["before"], states["after"])
        if kind == "lost-answer":
            assert now == states["after"]  # the stand-in did apply it: so the message cannot say "nothing"
        assert "may or may not have reached Google" in output, output
        assert "Nothing was written" not in output
    else:
        assert now == states["before"]
        assert "Nothing was written" in output, output
    # And the next run, with the network back, finishes the job.
    fake.clear_faults()
    again = cli(fake, "sync", sid, "--today", TODAY.isoformat())
    assert again.exit_code == 0 and state(fake, sid) == states["after"]


def test_a_lost_answer_to_a_write_that_landed_is_found_done_by_the_re_read(cli, states) -> None:
    """The first write (it adds rules: not re-sent blindly) is applied but its answer lost; every later
    write would fail with 503. The sync re-reads, finds the work done, and writes nothing more."""
    fake = FakeGoogle(account="service")
    sid = seed(fake)
    fake.inject_timeout("spreadsheets.batchUpdate", times=1, applied=True)
    fake.inject("spreadsheets.batchUpdate", 503, times=None)
    result = cli(fake, "sync", sid, "--today", TODAY.isoformat())
    assert result.exit_code == 0, result.output
    assert state(fake, sid) == states["after"]
    assert fake.stats.by_method["sheets.spreadsheets.batchUpdate"] == 1


def test_a_lost_answer_then_an_error_still_says_the_write_may_have_landed(cli, states) -> None:
    """An everyday write (values only) is applied but its answer lost; every retry then fails with 503."""
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.google.http import CrmHTTPClient
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    fake = FakeGoogle(account="service")
    sid = seed(fake)
    sync(GoogleWorkbook(sid, http=CrmHTTPClient(None, fake.session(), sleep=lambda s: None)), today=TODAY)
    fake.person.set_value(sid, "Contact Plan", "D3", "Done")  # tomorrow's work: values only
    fake.inject_timeout("spreadsheets.batchUpdate", times=1, applied=True)
    fake.inject("spreadsheets.batchUpdate", 503, times=None)
    result = cli(fake, "sync", sid, "--today", TODAY.isoformat())
    assert result.exit_code == 1
    assert "may or may not have reached Google" in " ".join(result.output.split())
    assert fake.values(sid, "Leads")[1][13] == 2  # it had landed: Acme has two touches


def test_a_sync_with_faults_costs_only_the_retries(states) -> None:
    """Each transient fault costs exactly one extra request (no re-read, no second write) — except
    one on the first sync's write, which adds rules (not idempotent): that sync reads and plans again."""
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.google.http import CrmHTTPClient
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    for at in POSITIONS:
        fake = FakeGoogle(account="service")
        sid = seed(fake)
        fake.inject(None, 503, times=1, at=at)
        sync(GoogleWorkbook(sid, http=CrmHTTPClient(None, fake.session(), sleep=lambda s: None)), today=TODAY)
        extra = CLEAN_REQUESTS if at == WRITE else 1
        assert fake.stats.requests == CLEAN_REQUESTS + extra
        assert fake.stats.by_method["sheets.spreadsheets.batchUpdate"] == 1 + (at == WRITE)
        assert state(fake, sid) == states["after"]


# -- local: a sync killed mid-save ------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import datetime as dt, os, sys, time
    from sheets_crm.backends.local import files as local
    from sheets_crm.backends.local.workbook import LocalWorkbook
    from sheets_crm.app.sync import sync

    path, stage = sys.argv[1], sys.argv[2]

    def announce_and_hang(what):
        print(what, flush=True)
        time.sleep(60)

    if stage == "after-temp-file":          # the temp file is written, not yet synced to disk
        real_fsync = os.fsync
        def fsync(fd):
            announce_and_hang("stage")
            real_fsync(fd)
        local.os.fsync = fsync
    elif stage == "before-rename":          # the temp file is complete and on disk
        real_replace = os.replace
        def replace(a, b):
            announce_and_hang("stage")
            real_replace(a, b)
        local.os.replace = replace
    elif stage == "after-rename":           # the new file is in place
        real_replace = os.replace
        def replace(a, b):
            real_replace(a, b)
            announce_and_hang("stage")
        local.os.replace = replace
    else:                                   # random: the parent kills at a moment of its choosing in the save
        real_save = local.write_atomically
        def save(*args, **kwargs):
            print("stage", flush=True)
            real_save(*args, **kwargs)
            print("saved", flush=True)
        from sheets_crm.backends.local import workbook
        workbook.write_atomically = save
    sync(LocalWorkbook(path), today=dt.date(2026, 11, 22))
    print("done", flush=True)
""")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _spawn(path: Path, stage: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen([sys.executable, "-c", CHILD, str(path), stage], stdout=subprocess.PIPE, text=True, env=env)


def _workbook_state(path: Path) -> str:
    book = openpyxl.load_workbook(path)  # must load: never half-written
    return json.dumps(
        [[ws.title, [[c.value for c in row] for row in ws.iter_rows()]] for ws in book.worksheets], default=str
    )


@pytest.fixture
def big_crm(make_workbook) -> Path:
    rng = random.Random(5)
    leads = [[f"Lead {i}", "", "", "", "New", "", "", ""] for i in range(600)]
    plan = [
        [
            f"Lead {rng.randrange(600)}",
            (TODAY + dt.timedelta(days=rng.randint(-40, 10))).isoformat(),
            "t",
            rng.choice(["Done", "", "Cancelled"]),
            "r",
            "",
        ]
        for _ in range(1200)
    ]
    return make_workbook(leads, plan)


def _new_state(path: Path, tmp: Path) -> str:
    twin = tmp / "twin.xlsx"
    twin.write_bytes(path.read_bytes())
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.local.workbook import LocalWorkbook

    sync(LocalWorkbook(twin), today=TODAY)
    return _workbook_state(twin)


@pytest.mark.parametrize(
    "stage, survivor", [("after-temp-file", "old"), ("before-rename", "old"), ("after-rename", "new")]
)
def test_local_sync_killed_at_each_stage_of_the_save(big_crm, tmp_path, stage, survivor) -> None:
    path = big_crm
    old_bytes, _old_state = path.read_bytes(), _workbook_state(path)
    new_state = _new_state(path, tmp_path)
    child = _spawn(path, stage)
    assert child.stdout.readline().strip() == "stage"
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    if survivor == "old":
        assert path.read_bytes() == old_bytes
    else:
        assert _workbook_state(path) == new_state
    # A killed process cannot tidy up: at most its one temp file is left beside the workbook.
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".crm.xlsx.")]
    assert len(leftovers) <= 1
    assert (stage == "after-rename") == (not leftovers)


def test_local_sync_killed_at_random_moments(big_crm, tmp_path) -> None:
    path = big_crm
    original = path.read_bytes()
    old_state = _workbook_state(path)
    new_state = _new_state(path, tmp_path)
    # How long an undisturbed save takes, to spread the kills over it.
    child = _spawn(path, "random")
    assert child.stdout.readline().strip() == "stage"
    started = time.perf_counter()
    assert child.stdout.readline().strip() == "saved"
    duration = time.perf_counter() - started
    child.wait(30)
    path.write_bytes(original)
    rng = random.Random(20261122)
    outcomes = {"old": 0, "new": 0}
    for _ in range(KILLS):
        path.write_bytes(original)
        child = _spawn(path, "random")
        child.stdout.readline()
        time.sleep(rng.uniform(0.3, 1.5) * duration)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        now = _workbook_state(path)
        assert now in (old_state, new_state)
        outcomes["old" if now == old_state else "new"] += 1
        for leftover in path.parent.glob(".crm.xlsx.*"):
            leftover.unlink()
    assert sum(outcomes.values()) == KILLS, outcomes


KILLS = 8
