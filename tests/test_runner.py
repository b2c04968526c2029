"""The schedule loop: due runs, state across restarts, the lock, failures, digest, signals."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import schedule

from sheets_crm.app.config import Config, DigestConfig, Secret
from sheets_crm.app.runner import RunLock, Runner, StateStore, install_stop_handlers
from sheets_crm.core.model import Call, Issue
from sheets_crm.errors import ConfigError, CrmError, NotSharedError

UTC = dt.UTC
PASSWORD = "smtp-pass-do-not-log"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@dataclass
class FakeResult:
    target: str
    today: dt.date
    calls: list[Call] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    changed_cells: int = 0
    written: bool = False


class FakeSync:
    """Records calls; raises for targets listed in ``fail``."""

    def __init__(self, fail: dict[str, BaseException] | None = None, during: Any = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail or {}
        self.during = during

    def __call__(self, target: str, **kwargs: Any) -> FakeResult:
        self.calls.append((target, kwargs))
        if self.during:
            self.during(target)
        if target in self.fail:
            raise self.fail[target]
        call = Call("today", dt.date(2025, 3, 3), None, "Acme", "Maria", "+7", "Demo", "", "Anna", 2)
        return FakeResult(
            target,
            dt.date(2025, 3, 3),
            [call],
            [Issue("Contact Plan", 7, "Date", "31.02", "bad date")],
            changed_cells=4,
            written=True,
        )

    @property
    def targets(self) -> list[str]:
        return [t for t, _ in self.calls]


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def make_config(**changes: Any) -> Config:
    base: dict[str, Any] = dict(
        spreadsheets=("/data/north.xlsx", "/data/south.xlsx"), time_zone="Europe/Moscow", sync_time=dt.time(8, 0)
    )
    base.update(changes)
    return Config(**base)


def make_runner(tmp_path: Path, config: Config | None = None, **kwargs: Any) -> Runner:
    kwargs.setdefault("sync", FakeSync())
    kwargs.setdefault("clock", Clock(utc(2025, 3, 3, 3, 0)))
    return Runner(
        config or make_config(), state_path=tmp_path / "state.json", lock_path=tmp_path / "run.lock", **kwargs
    )


# --------------------------------------------------------------------------- due runs and state


def test_runs_at_the_configured_zone_time_once_a_day(tmp_path):
    sync = FakeSync()
    runner = make_runner(tmp_path, sync=sync)
    assert runner.run_pending(utc(2025, 3, 3, 4, 59)) is None  # 07:59 in Moscow
    assert sync.calls == []
    report = runner.run_pending(utc(2025, 3, 3, 5, 0, 5))
    assert report is not None and report.ok
    assert sync.targets == ["/data/north.xlsx", "/data/south.xlsx"]
    _, kwargs = sync.calls[0]
    assert kwargs["tz"] == "Europe/Moscow" and kwargs["credentials"] is None
    assert kwargs["template"].settings.upcoming_days == 7
    assert runner.run_pending(utc(2025, 3, 3, 5, 0, 35)) is None
    assert runner.run_pending(utc(2025, 3, 3, 20, 0)) is None  # 23:00 Moscow
    assert runner.run_pending(utc(2025, 3, 3, 21, 30)) is None  # 00:30 on the 4th, before 08:00
    assert runner.run_pending(utc(2025, 3, 4, 5, 0)) is not None
    assert len(sync.calls) == 4


def test_google_sheets_keep_their_own_zone_for_today(tmp_path):
    sync = FakeSync()
    google = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/edit"
    config = make_config(spreadsheets=(google, "/data/north.xlsx"), credentials=Path("/keys/robot.json"))
    make_runner(tmp_path, config, sync=sync).run_pending(utc(2025, 3, 3, 5, 0))
    (_, on_google), (_, on_local) = sync.calls
    assert on_google["tz"] is None and on_local["tz"] == "Europe/Moscow"
    assert on_google["credentials"] == on_local["credentials"] == "/keys/robot.json"


def test_restart_after_todays_run_does_not_rerun(tmp_path):
    first = make_runner(tmp_path)
    assert first.run_pending(utc(2025, 3, 3, 5, 0)) is not None
    sync = FakeSync()
    restarted = make_runner(tmp_path, sync=sync)
    assert restarted.last_run() == utc(2025, 3, 3, 5, 0)
    assert restarted.run_pending(utc(2025, 3, 3, 9, 0)) is None
    assert restarted.next_run(utc(2025, 3, 3, 9, 0)) == utc(2025, 3, 4, 5, 0)
    assert sync.calls == []


def test_startup_after_the_sync_time_runs_at_once_in_the_loop(tmp_path):
    sync = FakeSync()
    stop = threading.Event()
    runner = make_runner(tmp_path, sync=sync, clock=Clock(utc(2025, 3, 3, 9, 30)), sleep=lambda s: stop.set())
    runner.loop(stop)
    assert sync.targets == ["/data/north.xlsx", "/data/south.xlsx"]


def test_state_is_kept_per_set_of_spreadsheets(tmp_path):
    make_runner(tmp_path).run_pending(utc(2025, 3, 3, 5, 0))
    sync = FakeSync()
    other = make_runner(tmp_path, make_config(spreadsheets=("/data/west.xlsx",)), sync=sync)
    assert other.run_pending(utc(2025, 3, 3, 5, 1)) is not None
    assert sync.targets == ["/data/west.xlsx"]


def test_corrupt_state_means_not_run_yet(tmp_path, caplog):
    (tmp_path / "state.json").write_text("{not json", encoding="utf-8")
    runner = make_runner(tmp_path)
    with caplog.at_level(logging.WARNING, logger="sheets_crm.app.runner"):
        assert runner.run_pending(utc(2025, 3, 3, 5, 0)) is not None
    assert "ignoring unreadable schedule state" in caplog.text
    assert StateStore(tmp_path / "state.json").last_run(runner.key) == utc(2025, 3, 3, 5, 0)


def test_a_last_run_recorded_in_the_future_is_logged_and_does_not_skip_days(tmp_path, caplog):
    sync = FakeSync()
    runner = make_runner(tmp_path, sync=sync)
    # recorded while the clock was three days ahead; the clock has been corrected since
    runner.state.record(runner.key, utc(2025, 3, 6, 5, 0), ok=True, summary="2 of 2 spreadsheets synced")
    with caplog.at_level(logging.WARNING, logger="sheets_crm.app.runner"):
        assert runner.run_pending(utc(2025, 3, 3, 4, 0)) is None  # 07:00 Moscow: before the sync time
        assert runner.next_run(utc(2025, 3, 3, 4, 30)) == utc(2025, 3, 3, 5, 0)  # today, not Thursday
        assert runner.run_pending(utc(2025, 3, 3, 5, 0)) is not None
    assert sync.targets == ["/data/north.xlsx", "/data/south.xlsx"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "clock" in r.getMessage()]
    assert len(warnings) == 1  # once, not at every tick
    assert "2025-03-06 08:00" in warnings[0] and "clock was probably ahead" in warnings[0]
    assert runner.last_run() == utc(2025, 3, 3, 5, 0)  # the real run replaces the suspect one
    assert runner.run_pending(utc(2025, 3, 3, 9, 0)) is None and len(sync.calls) == 2


# --------------------------------------------------------------------------- failures


def test_one_failing_spreadsheet_does_not_stop_the_others(tmp_path, caplog):
    sync = FakeSync(
        fail={
            "/data/north.xlsx": NotSharedError("spreadsheet not shared with robot@x"),
            "/data/east.xlsx": KeyError("boom"),
        }
    )
    config = make_config(spreadsheets=("/data/north.xlsx", "/data/east.xlsx", "/data/south.xlsx"))
    runner = make_runner(tmp_path, config, sync=sync)
    with caplog.at_level(logging.INFO, logger="sheets_crm.app.runner"):
        report = runner.run_pending(utc(2025, 3, 3, 5, 0))
    assert sync.targets == ["/data/north.xlsx", "/data/east.xlsx", "/data/south.xlsx"]
    assert [o.ok for o in report.outcomes] == [False, False, True]
    assert not report.ok and report.summary() == "1 of 3 spreadsheets synced"
    assert "sync /data/north.xlsx failed: spreadsheet not shared with robot@x" in caplog.text
    assert "sync /data/east.xlsx failed unexpectedly: KeyError: 'boom'" in caplog.text
    assert "sync /data/south.xlsx: 0 overdue, 1 today, 0 upcoming; 1 warning; 4 cells changed" in caplog.text
    assert "Contact Plan, row 7, column 'Date'" in caplog.text
    assert "Traceback" not in caplog.text
    # the failed run still counts for today: no retry storm every 30 seconds
    assert runner.run_pending(utc(2025, 3, 3, 5, 1)) is None


def test_no_spreadsheets_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"no spreadsheets to sync .*spreadsheets = \["):
        make_runner(tmp_path, make_config(spreadsheets=()))


# --------------------------------------------------------------------------- digest


def digest_config(**changes: Any) -> DigestConfig:
    base = dict(
        enabled=True,
        smtp_host="127.0.0.1",
        sender="crm@studio.example",
        to_team=("t@studio.example",),
        username="robot",
        password=Secret(PASSWORD),
    )
    base.update(changes)
    return DigestConfig(**base)


def test_digest_follows_each_successful_sync(tmp_path, caplog):
    sent: list[tuple[str, Any]] = []

    def send_digest(result, config, source):
        sent.append((result.target, source))
        if result.target == "/data/south.xlsx":
            raise CrmError("cannot connect to SMTP server 127.0.0.1:25: connection refused")
        return 2

    sync = FakeSync(fail={"/data/west.xlsx": CrmError("missing tab")})
    config = make_config(
        spreadsheets=("/data/north.xlsx", "/data/west.xlsx", "/data/south.xlsx"), digest=digest_config()
    )
    runner = make_runner(tmp_path, config, sync=sync, send_digest=send_digest)
    with caplog.at_level(logging.DEBUG, logger="sheets_crm.app.runner"):
        report = runner.run_pending(utc(2025, 3, 3, 5, 0))
    assert sent == [("/data/north.xlsx", "/data/north.xlsx"), ("/data/south.xlsx", "/data/south.xlsx")]
    north, west, south = report.outcomes
    assert north.digest_sent == 2 and west.digest_sent == 0
    assert south.ok and south.digest_error and "connection refused" in south.digest_error
    assert "digest for /data/south.xlsx not sent: cannot connect" in caplog.text
    assert PASSWORD not in caplog.text


def test_single_spreadsheet_digest_is_not_labelled_and_disabled_digest_is_not_sent(tmp_path):
    sent = []
    config = make_config(spreadsheets=("/data/north.xlsx",), digest=digest_config())
    make_runner(tmp_path, config, send_digest=lambda r, c, s: sent.append(s) or 1).run_pending(utc(2025, 3, 3, 5, 0))
    assert sent == [None]
    sent.clear()
    config = make_config(spreadsheets=("/data/north.xlsx",), digest=digest_config(enabled=False))
    make_runner(tmp_path / "b", config, send_digest=lambda r, c, s: sent.append(s) or 1).run_pending(
        utc(2025, 3, 3, 5, 0)
    )
    assert sent == []


def test_missing_smtp_password_stops_schedule_at_start(tmp_path):
    with pytest.raises(ConfigError, match="SHEETS_CRM_SMTP_PASSWORD is empty or missing"):
        make_runner(tmp_path, make_config(digest=digest_config(password=None)))


# --------------------------------------------------------------------------- the lock


def test_runs_never_overlap_and_the_second_runner_sees_the_first_run(tmp_path, caplog):
    second_sync = FakeSync()
    second = make_runner(tmp_path, sync=second_sync)
    seen = []

    def during(target):  # while the first runner syncs, the second one ticks
        seen.append(second.run_pending(utc(2025, 3, 3, 5, 0, 30)))

    first = make_runner(tmp_path, sync=FakeSync(during=during))
    with caplog.at_level(logging.INFO, logger="sheets_crm.app.runner"):
        assert first.run_pending(utc(2025, 3, 3, 5, 0)) is not None
    assert seen == [None, None] and second_sync.calls == []
    assert caplog.text.count("another sheets-crm run holds") == 1  # said once, not every tick
    assert second.run_pending(utc(2025, 3, 3, 5, 1)) is None  # re-read state under the lock
    assert second_sync.calls == []


@pytest.mark.skipif(os.name != "posix", reason="uses fcntl in the helper process")
def test_lock_held_by_another_process(tmp_path):
    lock_path = tmp_path / "run.lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); "
            "print('locked', flush=True); sys.stdin.readline()",
            str(lock_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert RunLock(lock_path).acquire() is False
        sync = FakeSync()
        assert make_runner(tmp_path, sync=sync).run_pending(utc(2025, 3, 3, 5, 0)) is None
        assert sync.calls == []
    finally:
        holder.communicate("\n", timeout=10)
    lock = RunLock(lock_path)
    assert lock.acquire() is True  # released when the other process ended
    lock.release()


def test_the_schedule_is_rechecked_under_the_lock(tmp_path):
    make_runner(tmp_path).run_pending(utc(2025, 3, 3, 5, 0))
    sync = FakeSync()
    stale = make_runner(tmp_path, sync=sync)
    stale.is_due = lambda now=None: True  # as if it had looked just before the other run recorded itself
    assert stale.run_pending(utc(2025, 3, 3, 5, 0, 30)) is None
    assert sync.calls == []


def test_run_now_ignores_the_schedule_but_not_the_lock(tmp_path):
    sync = FakeSync()
    runner = make_runner(tmp_path, sync=sync)
    assert runner.run_now(utc(2025, 3, 3, 1, 0)) is not None and len(sync.calls) == 2
    with RunLock(tmp_path / "run.lock").held() as got:
        assert got
        assert runner.run_now(utc(2025, 3, 3, 1, 5)) is None
    assert len(sync.calls) == 2


# --------------------------------------------------------------------------- the loop and signals


class EveryTickScheduler(schedule.Scheduler):
    """schedule.Scheduler whose jobs run on every run_pending (no wall clock)."""

    def run_pending(self) -> None:
        self.run_all()


def test_loop_over_three_days_of_hourly_ticks_runs_once_a_day(tmp_path):
    clock = Clock(utc(2025, 3, 2, 12, 0))  # 15:00 Moscow, the 2nd: runs at start
    stop = threading.Event()
    sync = FakeSync()
    ran_at: list[dt.datetime] = []
    sync.during = lambda target: ran_at.append(clock.now)

    def sleep(seconds: float) -> None:
        clock.now += dt.timedelta(hours=1)
        if clock.now >= utc(2025, 3, 5, 0, 0):
            stop.set()

    runner = make_runner(
        tmp_path, sync=sync, clock=clock, sleep=sleep, tick_seconds=3600, scheduler_factory=EveryTickScheduler
    )
    runner.loop(stop)
    assert sorted(set(ran_at)) == [utc(2025, 3, 2, 12, 0), utc(2025, 3, 3, 5, 0), utc(2025, 3, 4, 5, 0)]


def test_sigterm_during_a_run_finishes_the_run_then_stops(tmp_path, caplog):
    stop = threading.Event()
    before = signal.getsignal(signal.SIGTERM)
    restore = install_stop_handlers(stop)
    try:
        sync = FakeSync(
            during=lambda target: os.kill(os.getpid(), signal.SIGTERM) if target == "/data/north.xlsx" else None
        )
        runner = make_runner(
            tmp_path,
            sync=sync,
            clock=Clock(utc(2025, 3, 3, 6, 0)),
            sleep=lambda s: pytest.fail("the loop should stop without sleeping"),
            scheduler_factory=EveryTickScheduler,
        )
        with caplog.at_level(logging.INFO, logger="sheets_crm.app.runner"):
            runner.loop(stop)
    finally:
        restore()
    assert stop.is_set()
    assert sync.targets == ["/data/north.xlsx", "/data/south.xlsx"]  # the current run finished
    assert runner.last_run() == utc(2025, 3, 3, 6, 0)
    assert "SIGTERM received: stopping after the current run" in caplog.text
    assert "schedule stopped" in caplog.text
    assert signal.getsignal(signal.SIGTERM) is before


# The child runs the real command line (`schedule --now`) on a real workbook. Its sync is the real
# one behind a hook that says "started" and then waits for the test's "go", so the test can send
# SIGTERM while the run is certainly in progress, without timing guesses.
_SLOW_SCHEDULE = r"""
import sys, time
from pathlib import Path

import sheets_crm.app.runner as runner

started, go = Path(sys.argv[1]), Path(sys.argv[2])
real_sync = runner._default_sync


def slow_sync(target, **kwargs):
    started.write_text("running", encoding="utf-8")
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the test never said go")
        time.sleep(0.01)
    return real_sync(target, **kwargs)


runner._default_sync = slow_sync
from sheets_crm.cli.main import main

sys.argv = ["sheets-crm", *sys.argv[3:]]
main()
"""


def _wait_for(path: Path, proc: subprocess.Popen[str], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"the scheduler exited early ({proc.returncode}): {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the scheduler's run never started")
        time.sleep(0.02)


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM to a child process is POSIX")
def test_sigterm_during_schedule_now_lets_the_first_run_finish_then_exits(tmp_path, make_workbook):
    crm = make_workbook(
        [["Acme", "Bob", "+7 916 000-00-01", "", "Proposal", "Anna", "", ""]],
        [["Acme", "2020-01-01", "Call back", "Planned", "", ""]],
    )
    before = crm.read_bytes()
    config = tmp_path / "sheets-crm.toml"
    config.write_text('spreadsheets = ["crm.xlsx"]\ntime_zone = "UTC"\nsync_time = "08:00"\n', encoding="utf-8")
    started, go, state_home = tmp_path / "started", tmp_path / "go", tmp_path / "state"
    env = {**os.environ, "XDG_STATE_HOME": str(state_home), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    env.pop("SHEETS_CRM_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SCHEDULE, str(started), str(go), "schedule", "--now", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(started, proc)
        proc.send_signal(signal.SIGTERM)  # mid-run
        go.touch()
        _, log_text = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, log_text  # not killed by the signal (-15)
    assert "SIGTERM received: stopping after the current run" in log_text
    assert f"sync {crm}: 1 overdue" in log_text  # the run finished its spreadsheet
    assert "sync run finished: 1 of 1 spreadsheets synced" in log_text
    assert log_text.rstrip().endswith("schedule stopped")  # and then the scheduler exited, without looping
    assert crm.read_bytes() != before
    calls_today = openpyxl.load_workbook(crm)["Calls Today"]
    assert "Acme" in [cell.value for row in calls_today.iter_rows() for cell in row]
    state = json.loads((state_home / "sheets-crm" / "schedule-state.json").read_text(encoding="utf-8"))
    assert [run["ok"] for run in state["runs"].values()] == [True]  # the run was recorded


def test_second_ctrl_c_interrupts_at_once():
    stop = threading.Event()
    restore = install_stop_handlers(stop)
    try:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(5)
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            stop.wait(5)  # the handler raises here at the latest
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_logs_never_contain_the_smtp_password(tmp_path, caplog):
    config = make_config(digest=digest_config())
    stop = threading.Event()
    runner = make_runner(
        tmp_path, config, send_digest=lambda r, c, s: 1, clock=Clock(utc(2025, 3, 3, 6, 0)), sleep=lambda s: stop.set()
    )
    with caplog.at_level(logging.DEBUG, logger="sheets_crm"):
        runner.loop(stop)
    assert "sync run started" in caplog.text and "digest for /data/north.xlsx: 1 message sent" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in repr(config)
