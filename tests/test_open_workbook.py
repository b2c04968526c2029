"""A workbook open in Excel or LibreOffice (issue 12 items 6 and 7): read-only commands work, writes wait;
the demo never overwrites a file a person changed."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import openpyxl
import pytest
from typer.testing import CliRunner

from sheets_crm.app.config import Config, DigestConfig, Secret
from sheets_crm.app.demo import free_demo_path, is_untouched_demo, write_demo
from sheets_crm.app.runner import Runner
from sheets_crm.cli.main import app
from sheets_crm.core.model import Call
from sheets_crm.errors import WorkbookError, WorkbookLockedError

NO_LOCALE = dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"))
LEADS = [
    ["Acme", "Ann", "+1 555 0100", "ann@acme.example", "Proposal", "Petr"],
    ["Beta", "Bob", "+1 555 0102", "", "New", "Anna"],
]
PLAN = [
    ["Acme", "2026-11-21", "Follow up", "Planned", "", "Petr"],
    ["Beta", "2026-11-22", "Intro", "Planned", "", "Anna"],
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", **NO_LOCALE})


@pytest.mark.parametrize("lock_name", [".~lock.crm.xlsx#", "~$crm.xlsx"])
def test_read_only_commands_work_while_the_workbook_is_open(runner, make_workbook, tmp_path, lock_name):
    path = make_workbook(LEADS, PLAN)
    assert runner.invoke(app, ["sync", str(path), "--today", "2026-11-22"]).exit_code == 0
    (path.parent / lock_name).write_text("LibreOffice")  # the person opened it
    data = path.read_bytes()
    day = ["--today", "2026-11-22"]
    commands = {
        "today": ["today", str(path), *day],
        "doctor": ["doctor", str(path), *day],
        "export-ics": ["export-ics", str(path), "--out", str(tmp_path / "calls.ics"), *day],
        "digest": ["digest", str(path), *day],
        "card": ["card", "acme", str(path), *day],
        "report": ["report", str(path), *day],
    }
    for name, args in commands.items():
        result = runner.invoke(app, args)
        assert "open in Excel or LibreOffice" not in result.output, name
        assert "Traceback" not in result.output, name
        assert result.exit_code in (0, 1) and (result.exit_code == 0 or name == "doctor"), (name, result.output)
    assert "Acme" in runner.invoke(app, commands["today"]).stdout
    assert (tmp_path / "calls.ics").read_text().count("BEGIN:VEVENT") >= 1
    # A write still waits for the person to close it, and says so.
    later = runner.invoke(app, ["sync", str(path), "--today", "2026-11-23"])
    assert later.exit_code == 1 and "is open in Excel or LibreOffice" in later.stderr
    assert path.read_bytes() == data


def test_demo_replaces_only_an_untouched_demo(runner, tmp_path):
    path = tmp_path / "demo.xlsx"
    first = runner.invoke(app, ["demo", "--path", str(path), "--today", "2026-11-22"])
    assert first.exit_code == 0, first.output
    assert is_untouched_demo(path)
    # Run again: the file is as the demo left it, so it is simply made again.
    again = runner.invoke(app, ["demo", "--path", str(path), "--today", "2026-11-23"])
    assert again.exit_code == 0 and not (tmp_path / "demo-2.xlsx").exists()
    # The person types into it: the next demo keeps their file and writes another one.
    book = openpyxl.load_workbook(path)
    book["Leads"]["H2"] = "my own note"
    book.save(path)
    edited = path.read_bytes()
    third = runner.invoke(app, ["demo", "--path", str(path), "--today", "2026-11-24"])
    assert third.exit_code == 0, third.output
    assert path.read_bytes() == edited
    assert third.stdout.startswith(f"{path} was changed since the demo made it (or is not a demo file)")
    assert third.stdout.rstrip().endswith(
        f"Open {(tmp_path / 'demo-2.xlsx').resolve()} in Excel or LibreOffice to see the colours."
    )
    assert is_untouched_demo(tmp_path / "demo-2.xlsx")


def test_demo_never_overwrites_a_persons_own_file(tmp_path):
    path = tmp_path / "crm.xlsx"
    path.write_bytes(b"their CRM")
    assert free_demo_path(path) == tmp_path / "crm-2.xlsx"
    with pytest.raises(WorkbookError, match="not a demo file as the demo left it; it was not overwritten"):
        write_demo(path, dt.date(2026, 11, 22))
    assert path.read_bytes() == b"their CRM"


def test_a_demo_without_its_note_is_treated_as_the_persons(tmp_path):
    path = tmp_path / "demo.xlsx"
    write_demo(path, dt.date(2026, 11, 22))  # a library caller that did not remember it
    assert not is_untouched_demo(path) and free_demo_path(path) == tmp_path / "demo-2.xlsx"


def test_free_demo_path_skips_taken_names(tmp_path: Path):
    for name in ("d.xlsx", "d-2.xlsx"):
        (tmp_path / name).write_bytes(b"x")
    assert free_demo_path(tmp_path / "d.xlsx") == tmp_path / "d-3.xlsx"


# -- the scheduled sync waits for a workbook left open --------------------------------------------


class OpenUntil:
    """A sync whose workbook is open in Excel until ``closed`` (UTC); dry runs read it all the same."""

    def __init__(self, clock: list[dt.datetime], closed: dt.datetime | None) -> None:
        self.clock, self.closed = clock, closed
        self.writes: list[dt.datetime] = []
        self.reads: list[dt.datetime] = []

    def __call__(self, target: str, **kwargs: object) -> object:
        now = self.clock[0]
        call = Call("today", dt.date(2026, 11, 23), None, "Acme", "Ann", "+1", "Offer", "", "Petr", 2)
        result = SimpleNamespace(target=target, today=dt.date(2026, 11, 23), calls=[call], issues=[], changed_cells=3)
        if kwargs.get("dry_run"):
            self.reads.append(now)
            return result
        self.writes.append(now)
        if self.closed is None or now < self.closed:
            raise WorkbookLockedError(
                f"{target} is open in Excel or LibreOffice (lock file .~lock.crm.xlsx# is present)"
            )
        return result


def open_runner(
    tmp_path: Path, sync: OpenUntil, clock: list[dt.datetime], sent: list[dict], **config: object
) -> Runner:
    def send_digest(result: object, cfg: Config, source: str | None, **extra: object) -> int:
        sent.append({"calls": len(result.calls), **extra})  # type: ignore[attr-defined]
        return 1

    digest = DigestConfig(
        enabled=True,
        smtp_host="127.0.0.1",
        sender="crm@studio.example",
        to_team=("team@studio.example",),
        username="robot",
        password=Secret("x"),
    )
    settings: dict = {"spreadsheets": ("/data/crm.xlsx",), "time_zone": "Europe/Moscow", "digest": digest, **config}
    return Runner(
        Config(**settings),
        sync=sync,
        send_digest=send_digest,
        clock=lambda: clock[0],
        state_path=tmp_path / "state.json",
        lock_path=tmp_path / "run.lock",
    )


def msk(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 23, hour - 3, minute, tzinfo=dt.UTC)  # Moscow is UTC+3


def tick(runner: Runner, clock: list[dt.datetime], at: dt.datetime) -> object:
    clock[0] = at
    return runner.run_pending(at)


def test_a_workbook_left_open_is_synced_once_it_is_closed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="sheets_crm")
    clock = [msk(8)]
    sync, sent = OpenUntil(clock, closed=msk(9, 17)), []
    runner = open_runner(tmp_path, sync, clock, sent)
    first = tick(runner, clock, msk(8))
    assert first is not None and not first.ok and first.outcomes[0].retry_at == msk(8, 5)
    # The digest goes out on time, from the workbook as last saved, and says why the sheet is not updated.
    assert sent == [{"calls": 1, "workbook_open": {"at": "08:00", "every": 5, "until": "12:00"}}]
    assert "trying again every 5 minutes until 2026-11-23 12:00 MSK" in caplog.text
    assert tick(runner, clock, msk(8, 3)) is None  # not yet
    for minute in range(4, 81):
        tick(runner, clock, msk(8) + dt.timedelta(minutes=minute))
    assert sync.writes == [msk(8)] + [msk(8) + dt.timedelta(minutes=m) for m in range(5, 81, 5)]
    assert runner.waiting == {} and len(sent) == 1  # one digest a day
    assert (
        "sync /data/crm.xlsx: done at 2026-11-23 09:20 MSK, after the workbook (open since 2026-11-23 08:00 MSK)"
        in (caplog.text)
    )
    assert tick(runner, clock, msk(9, 30)) is None and len(sync.writes) == 17


def test_a_workbook_open_all_morning_is_given_up_at_the_configured_time(tmp_path, caplog):
    clock = [msk(8)]
    sync, sent = OpenUntil(clock, closed=None), []
    runner = open_runner(tmp_path, sync, clock, sent, open_retry_until="10:00", open_retry_every_minutes=30)
    for minute in range(0, 180):
        tick(runner, clock, msk(8) + dt.timedelta(minutes=minute))
    assert sync.writes == [msk(8), msk(8, 30), msk(9), msk(9, 30), msk(10)]
    assert runner.waiting == {}
    assert (
        "gave up at 2026-11-23 10:00 MSK: the workbook was open in Excel or LibreOffice from 2026-11-23 08:00 MSK"
        in (caplog.text)
    )
    assert "close it and run `sheets-crm sync /data/crm.xlsx`" in caplog.text


def test_no_retry_when_the_window_is_over(tmp_path, caplog):
    clock = [msk(8)]
    sync, sent = OpenUntil(clock, closed=None), []
    runner = open_runner(tmp_path, sync, clock, sent, open_retry_until="07:30")
    report = tick(runner, clock, msk(8))
    assert report is not None and report.outcomes[0].retry_at is None and runner.waiting == {}
    assert "sync /data/crm.xlsx failed: /data/crm.xlsx is open in Excel or LibreOffice" in caplog.text
    assert sent == [] and sync.reads == []


def test_the_digest_says_the_workbook_was_open(tmp_path):
    from sheets_crm.app.digest import build_digests

    call = Call("today", dt.date(2026, 11, 23), None, "Acme", "Ann", "+1", "Offer", "", "Petr", 2)
    config = DigestConfig(enabled=True, smtp_host="127.0.0.1", to_team=("team@studio.example",))
    note = {"at": "08:00", "every": 5, "until": "12:00"}
    (en,) = build_digests([call], config, today=dt.date(2026, 11, 23), lang="en", workbook_open=note)
    assert "The workbook was open in Excel or LibreOffice at 08:00" in en.text and "until 12:00" in en.html
    (ru,) = build_digests([call], config, today=dt.date(2026, 11, 23), lang="ru", workbook_open=note)
    assert "В 08:00 книга была открыта в Excel или LibreOffice" in ru.text


def test_the_retry_keys_are_settings(tmp_path):
    config = Config(open_retry_until="11:30", open_retry_every_minutes=10)
    assert config.open_retry_until == dt.time(11, 30) and config.show()["open_retry_every_minutes"] == 10
    assert Config().open_retry_until == dt.time(12, 0) and Config().open_retry_every_minutes == 5
    with pytest.raises(ValueError, match="out of range"):
        Config(open_retry_every_minutes=0)
