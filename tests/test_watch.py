"""``sheets-crm watch``: sync after a change and only then, never on the tool's own write; errors do not stop it.

The loop runs on a fake clock (``wait`` advances it) against fake workbooks, the stand-in's Google
spreadsheet and real .xlsx files; file events come from watchfiles in a thread; the stop is a real
SIGTERM to a real process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import TODAY
from typer.testing import CliRunner

from google_standin import FakeGoogle
from sheets_crm.app.sync import sync
from sheets_crm.app.watch import Watch, start_file_watcher
from sheets_crm.backends.google.http import SHEETS_API
from sheets_crm.backends.google.workbook import GoogleWorkbook
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.backends.protocol import ChangeToken, Workbook
from sheets_crm.cli.main import app
from sheets_crm.core.model import ChangeSet, Snapshot
from sheets_crm.errors import AuthError, CrmError

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """Monotonic seconds that move only when the loop waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


class FakeBook(Workbook):
    """A workbook whose change token the test sets; a sync "writes" (moves the token) when asked to."""

    def __init__(self) -> None:
        self.value: Hashable = 1
        self.busy = False
        self.looks = 0
        self.fail_look: Exception | None = None

    def read(self, fills_for: Any = ()) -> Snapshot:  # pragma: no cover - the loop never reads
        raise NotImplementedError

    def apply(self, changes: ChangeSet, base: Snapshot) -> None:  # pragma: no cover
        raise NotImplementedError

    def change_token(self) -> ChangeToken:
        self.looks += 1
        if self.fail_look is not None:
            raise self.fail_look
        return ChangeToken(self.value, busy=self.busy)


class Syncs:
    """The sync the loop calls: records it; ``writes`` moves the book's token like a real write would."""

    def __init__(self, *, writes: bool = True) -> None:
        self.calls: list[str] = []
        self.writes = writes
        self.fail: list[Exception] = []

    def __call__(self, name: str, book: Workbook) -> object:
        self.calls.append(name)
        if self.fail:
            raise self.fail.pop(0)
        if self.writes and isinstance(book, FakeBook):
            book.value = ("tool", book.value)
        return None


def make(books: dict[str, Workbook], syncs: Syncs, clock: Clock, **kw: Any) -> Watch:
    kw.setdefault("cheap", lambda name: name.endswith(".xlsx"))
    return Watch(list(books.items()), syncs, clock=clock, wait=clock.wait, **kw)


def run_for(watch: Watch, clock: Clock, seconds: float, *, start: bool = True) -> None:
    """Drive the loop by hand for ``seconds`` of fake time (what run() does between waits)."""
    if start:
        watch.start()
    end = clock.now + seconds
    while True:
        watch.step()
        if clock.now >= end:
            return
        clock.wait(max(0.01, min(watch.next_wake(), end) - clock.now))


# -- the loop on a fake clock ---------------------------------------------------------------------------


def test_polled_sheet_syncs_once_per_change_and_never_on_its_own_write():
    clock, syncs, book = Clock(), Syncs(), FakeBook()
    watch = make({"SHEET": book}, syncs, clock, every=60)
    run_for(watch, clock, 600)
    assert syncs.calls == []  # nothing changed: ten polls, no sync
    assert book.looks == 1 + 10  # the baseline, then one look a minute
    book.value = 2  # a person's edit
    run_for(watch, clock, 600, start=False)
    assert syncs.calls == ["SHEET"]  # one sync; its own write (the token moved again) set off nothing
    assert book.value == ("tool", 2)
    book.value = 3
    run_for(watch, clock, 60, start=False)
    assert syncs.calls == ["SHEET", "SHEET"]


def test_a_sync_that_writes_nothing_is_not_repeated():
    clock, syncs, book = Clock(), Syncs(writes=False), FakeBook()
    watch = make({"SHEET": book}, syncs, clock)
    watch.start()
    book.value = 2
    run_for(watch, clock, 600, start=False)
    assert syncs.calls == ["SHEET"]


def test_an_edit_during_a_sync_that_wrote_nothing_is_synced_next():
    clock, book = Clock(), FakeBook()

    class Result:
        written = False

    calls: list[str] = []

    def sync_during_an_edit(name: str, workbook: Workbook) -> object:
        calls.append(name)
        if len(calls) == 1:
            book.value = "typed while the sync ran"
        return Result()

    watch = make({"SHEET": book}, Syncs(), clock, every=60)
    watch.sync = sync_during_an_edit
    watch.start()
    book.value = 2
    run_for(watch, clock, 300, start=False)
    assert calls == ["SHEET", "SHEET"]  # the second sync carries the edit; then quiet


def test_local_save_is_synced_once_it_settles_and_the_workbook_is_closed():
    clock, syncs, book = Clock(), Syncs(), FakeBook()
    watch = make({"crm.xlsx": book}, syncs, clock, every=60, debounce=2)
    watch.start()
    book.busy = True  # opened in LibreOffice
    book.value = 2  # saved once...
    watch.step()
    clock.wait(1)
    book.value = 3  # ...and again, still open
    watch.step()
    clock.wait(30)
    watch.step()
    assert syncs.calls == []  # open: never written under the person's hands
    book.busy = False  # closed: the lock file is gone (a file event wakes the loop)
    watch.step()
    assert syncs.calls == []  # not settled yet
    clock.wait(0.5)
    book.value = 4  # one more write lands within the debounce: still one sync, later
    watch.step()
    clock.wait(1.9)
    watch.step()
    assert syncs.calls == []
    clock.wait(0.2)
    watch.step()
    assert syncs.calls == ["crm.xlsx"]
    for _ in range(5):  # the tool's own save makes file events too: nothing
        clock.wait(3)
        watch.step()
    assert syncs.calls == ["crm.xlsx"]


def test_a_failed_sync_is_logged_and_the_watch_goes_on(caplog):
    clock, syncs, book = Clock(), Syncs(), FakeBook()
    syncs.fail = [CrmError("Leads: the Project column is missing")]
    watch = make({"SHEET": book}, syncs, clock, every=60)
    watch.start()
    book.value = 2
    with caplog.at_level(logging.ERROR, logger="sheets_crm.app.watch"):
        run_for(watch, clock, 61, start=False)
    assert syncs.calls == ["SHEET"] and watch.failed_syncs == 1
    assert "SHEET: sync failed (Leads: the Project column is missing)" in caplog.text
    run_for(watch, clock, 60, start=False)
    assert syncs.calls == ["SHEET"]  # the same version is not hammered every minute...
    run_for(watch, clock, 60, start=False)
    assert syncs.calls == ["SHEET", "SHEET"]  # ...but tried again after the pause (2 × every)
    assert watch.syncs == 1


def test_a_failed_sync_is_tried_again_at_once_when_the_sheet_changes_again():
    clock, syncs, book = Clock(), Syncs(), FakeBook()
    syncs.fail = [CrmError("bad header")]
    watch = make({"SHEET": book}, syncs, clock, every=60)
    watch.start()
    book.value = 2
    run_for(watch, clock, 61, start=False)
    book.value = 3  # the person fixed the header
    run_for(watch, clock, 60, start=False)
    assert syncs.calls == ["SHEET", "SHEET"] and watch.syncs == 1


def test_a_failed_look_is_logged_and_a_lost_credential_stops_the_watch(caplog):
    clock, syncs, book = Clock(), Syncs(), FakeBook()
    watch = make({"SHEET": book}, syncs, clock, every=60)
    watch.start()
    book.fail_look = CrmError("Google did not answer in time")
    with caplog.at_level(logging.WARNING, logger="sheets_crm.app.watch"):
        run_for(watch, clock, 180, start=False)
    assert "cannot tell whether it changed (Google did not answer in time)" in caplog.text
    book.fail_look, book.value = None, 2
    run_for(watch, clock, 60, start=False)
    assert syncs.calls == ["SHEET"]
    book.fail_look = AuthError("the credentials file was deleted")
    with pytest.raises(AuthError):
        run_for(watch, clock, 60, start=False)


def test_one_failing_sheet_does_not_hold_up_the_others():
    clock, syncs = Clock(), Syncs()
    a, b = FakeBook(), FakeBook()
    watch = make({"A": a, "B": b}, syncs, clock, every=60)
    watch.start()
    syncs.fail = [CrmError("A is broken")]
    a.value, b.value = 2, 2
    run_for(watch, clock, 61, start=False)
    assert syncs.calls == ["A", "B"] and watch.syncs == 1 and watch.failed_syncs == 1


def test_run_stops_on_the_stop_event_and_once_changed_after_the_first_sync():
    clock, syncs, book = Clock(), Syncs(), FakeBook()
    stop = threading.Event()

    def wait(seconds: float) -> None:
        clock.wait(seconds)
        if clock.now > 1000 + 300:
            stop.set()

    watch = Watch([("SHEET", book)], syncs, clock=clock, wait=wait, every=60, cheap=lambda n: False)
    assert watch.run(stop) == 0 and 1300 <= clock.now <= 1360
    clock2, book2 = Clock(), FakeBook()

    def edit_then_wait(seconds: float) -> None:
        book2.value = 2
        clock2.wait(seconds)

    watch = Watch([("SHEET", book2)], syncs, clock=clock2, wait=edit_then_wait, once_changed=True, cheap=lambda n: 0)
    assert watch.run(threading.Event()) == 1


# -- Google, through the stand-in -----------------------------------------------------------------------


def _google(fake: FakeGoogle) -> tuple[str, GoogleWorkbook]:
    import test_google_e2e as e2e

    sid = e2e.seed(fake, [["Acme", "Ann", "+1 555 0100"]], [])
    return sid, e2e.workbook(fake, sid)


def test_stand_in_drive_version_moves_on_every_write_and_only_then(fake_google):
    sid, book = _google(fake_google)
    first = book.change_token()
    assert first is not None and first == book.change_token()  # reads move nothing
    assert isinstance(first.value, str) and first.value.isdigit()  # int64 as a JSON string, as Drive sends it
    fake_google.person.set_value(sid, "Leads", "B2", "Bea")  # a person's edit
    second = book.change_token()
    assert second is not None and int(second.value) > int(first.value)
    sync(book, today=TODAY)
    third = book.change_token()
    assert third is not None and int(third.value) > int(second.value)  # the tool's own write too
    with pytest.raises(CrmError):  # a batchUpdate Google refuses is applied not at all (atomic): no new version
        book.http.post_json(f"{SHEETS_API}/{sid}:batchUpdate", {"requests": [{"deleteSheet": {"sheetId": 12345}}]})
    assert book.change_token() == third


def test_google_watch_a_persons_edit_is_one_sync_and_the_tools_write_none(fake_google):
    sid, book = _google(fake_google)
    clock, synced = Clock(), []

    def sync_one(name: str, workbook: Workbook) -> object:
        synced.append(name)
        return sync(workbook, today=TODAY)

    watch = Watch([(sid, book)], sync_one, clock=clock, wait=clock.wait, every=60)
    watch.start()
    before = len(book.http.stats.log)
    run_for(watch, clock, 300, start=False)
    polls = book.http.stats.log[before:]
    assert synced == [] and len(polls) == 5  # five minutes, five requests...
    assert all("/drive/v3/files/" in line and "fields=modifiedTime%2Cversion" in line for line in polls)  # ...small
    fake_google.person.set_value(sid, "Leads", "B2", "Bea")
    run_for(watch, clock, 600, start=False)
    assert synced == [sid]  # one sync; the batchUpdate it sent moved the version, and that set off nothing
    assert _google_cell(fake_google, sid, 1, 1) == "Bea"  # B2: the person's edit is still there
    fake_google.person.set_value(sid, "Leads", "B2", "Bo")
    run_for(watch, clock, 60, start=False)
    assert synced == [sid, sid]


def _google_cell(fake: FakeGoogle, sid: str, row: int, col: int) -> Any:
    import test_google_e2e as e2e

    return GoogleWorkbook(sid, http=e2e.client_of(fake)).read().tabs["Leads"].cell(row, col)


# -- a real local file, real file events ----------------------------------------------------------------


def _save_edit(path: Path, cell: str, value: str) -> None:
    book = openpyxl.load_workbook(path)
    book["Leads"][cell] = value
    book.save(path)


def test_local_watch_with_a_real_save_syncs_once(make_workbook):
    pytest.importorskip("watchfiles")
    path = make_workbook([["Acme", "Ann", "+1 555 0100"]], [])
    book = LocalWorkbook(path)  # never synced: the first sync writes the tool's cells (and makes file events)
    synced: list[str] = []
    changed: list[int] = []
    done = threading.Event()

    def sync_one(name: str, workbook: Workbook) -> object:
        synced.append(name)
        result = sync(workbook, today=TODAY, tz="UTC")
        changed.append(result.changed_cells)
        done.set()
        return result

    watch = Watch([(str(path), book)], sync_one, every=600, debounce=0.5)
    stop = threading.Event()
    watcher = start_file_watcher([path], watch.wake, stop)
    assert watcher is not None
    loop = threading.Thread(target=watch.run, args=(stop,), daemon=True)
    loop.start()
    try:
        time.sleep(1.0)  # the watcher is in place
        assert synced == []
        lock = path.with_name(f".~lock.{path.name}#")
        lock.write_text("LibreOffice")  # opened...
        _save_edit(path, "G2", "called back")  # ...saved...
        time.sleep(2.0)
        assert synced == []  # ...still open: nothing written under the person's hands
        lock.unlink()  # ...closed
        assert done.wait(30), "no sync after the save"
        time.sleep(3.0)  # the tool's own save made file events: they set off nothing
        assert synced == [str(path)] and changed[0] > 0
        assert LocalWorkbook(path).read().tabs["Leads"].cell(1, 6) == "called back"
    finally:
        stop.set()
        watch.wake.set()
        loop.join(10)
        watcher.join(10)
    assert not loop.is_alive() and not watcher.is_alive()


def test_start_file_watcher_names_the_lock_files_of_a_symlinked_workbook(tmp_path):
    from sheets_crm.app.watch import _watched_names

    real = tmp_path / "real" / "crm.xlsx"
    real.parent.mkdir()
    real.write_bytes(b"")
    link = tmp_path / "links" / "my.xlsx"
    link.parent.mkdir()
    link.symlink_to(real)
    folders, names = _watched_names([link])
    assert folders == {real.parent, link.parent}
    assert {"crm.xlsx", ".~lock.crm.xlsx#", "~$crm.xlsx", "my.xlsx", ".~lock.my.xlsx#"} <= names


# -- the command ----------------------------------------------------------------------------------------


def test_cli_watch_refuses_a_missing_workbook_and_a_missing_credentials_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["watch", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 1 and "no such workbook" in result.output
    missing = tmp_path / "key.json"
    result = runner.invoke(
        app,
        [
            "watch",
            "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEfGh/edit",
            "--credentials",
            str(missing),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "does not exist" in result.output and "Traceback" not in result.output


CHILD = textwrap.dedent("""
    import sys, time
    import sheets_crm.app.sync as app_sync
    from sheets_crm.cli.main import main

    real_sync = app_sync.sync

    def slow_sync(*args, **kwargs):
        print("sync started", flush=True)
        time.sleep(1.5)  # the SIGTERM lands here
        result = real_sync(*args, **kwargs)
        print("sync finished", flush=True)
        return result

    app_sync.sync = slow_sync
    sys.argv = ["sheets-crm", "watch", *sys.argv[1:]]
    main()
""")


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _read_until(stream: Any, text: str, timeout: float = 60) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never came; got {seen!r}")


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_stops_the_watch_with_exit_0(make_workbook, sig):
    path = make_workbook([["Acme", "Ann", "+1 555 0100"]], [])
    child = _spawn(str(path), "--tz", "UTC")
    try:
        _read_until(child.stderr, "watching 1 spreadsheet")
        child.send_signal(sig)
        _out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert f"{sig.name} received" in err and "watch stopped after 0 syncs" in err


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_sigterm_during_a_sync_lets_it_finish_then_exits_0(make_workbook):
    path = make_workbook([["Acme", "Ann", "+1 555 0100"]], [])
    data_before = path.read_bytes()
    child = _spawn(str(path), "--tz", "UTC", "--now")  # --now: a sync at start, the one in flight
    try:
        _read_until(child.stdout, "sync started")
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "sync finished" in out and "SIGTERM received" in err and "watch stopped after 1 sync" in err
    assert path.read_bytes() != data_before  # the sync in flight wrote the workbook in full
    assert LocalWorkbook(path).read().tabs["Leads"].cell(1, 0) == "Acme"
