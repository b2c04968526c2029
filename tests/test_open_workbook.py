"""A workbook open in Excel or LibreOffice (issue 12 items 6 and 7): read-only commands work, writes wait;
the demo never overwrites a file a person changed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from sheets_crm.app.demo import free_demo_path, is_untouched_demo, write_demo
from sheets_crm.cli.main import app
from sheets_crm.errors import WorkbookError

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
