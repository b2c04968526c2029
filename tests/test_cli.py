"""The CLI through typer's CliRunner, with exact expected output."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from sheets_crm.cli.main import app

LEADS = [
    ["Acme", "Bob", "+7 916 000-00-01", "", "Proposal", "Anna", "", ""],
    ["Beta", "Eve", "", "", "New", "Ivan", "", ""],
]
PLAN = [
    ["Acme", "2026-11-20", "Proposal", "Done", "Liked it", ""],
    ["Acme", "2026-11-21", "Follow up", "Planned", "", "Petr"],
    ["Beta", "2026-11-22", "Intro", "", "", ""],
    ["Beta", "2026-11-25", "Demo", "Planned", "", ""],
    ["Acme", "31.02.2026", "Oops", "Planned", "", ""],
]


#: the machine's locale must not decide the language of the expected outputs
NO_LOCALE = dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"))


@pytest.fixture
def runner():
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", **NO_LOCALE})


@pytest.fixture
def crm(make_workbook):
    return make_workbook(LEADS, PLAN)


def _cells_to_change(runner, crm) -> int:
    """How many cells the sync will write (the sync's business; the wording around it is the CLI's)."""
    planned = runner.invoke(app, ["sync", str(crm), "--today", "2026-11-22", "--dry-run", "--json"])
    n = json.loads(planned.stdout)["changed_cells"]
    assert n > 0
    return n


def test_sync_summary(runner, crm):
    n = _cells_to_change(runner, crm)
    result = runner.invoke(app, ["sync", str(crm), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Synced {crm} for 2026-11-22: {n} cells updated.\n"
        "Calls: 1 overdue, 1 today, 1 upcoming.\n"
        "Warnings (1):\n"
        "  Contact Plan, row 6, column 'Date': '31.02.2026' — not a date; row ignored\n"
    )
    again = runner.invoke(app, ["sync", str(crm), "--today", "2026-11-22"])
    assert again.stdout.splitlines()[0] == f"Synced {crm} for 2026-11-22: already up to date, nothing written."


def test_sync_dry_run_writes_nothing(runner, crm):
    before = crm.read_bytes()
    n = _cells_to_change(runner, crm)
    result = runner.invoke(app, ["sync", str(crm), "--today", "2026-11-22", "--dry-run"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        f"Checked {crm} for 2026-11-22: {n} cells would change (dry run, nothing written)."
    )
    assert crm.read_bytes() == before


def test_today_json(runner, crm):
    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "section": "overdue",
            "date": "2026-11-21",
            "days_overdue": 1,
            "project": "Acme",
            "contact": "Bob",
            "phone": "+7 916 000-00-01",
            "topic": "Follow up",
            "last_result": "Liked it",
            "owner": "Petr",
        },
        {
            "section": "today",
            "date": "2026-11-22",
            "days_overdue": 0,
            "project": "Beta",
            "contact": "Eve",
            "phone": "",
            "topic": "Intro",
            "last_result": "",
            "owner": "Ivan",
        },
        {
            "section": "upcoming",
            "date": "2026-11-25",
            "days_overdue": None,
            "project": "Beta",
            "contact": "Eve",
            "phone": "",
            "topic": "Demo",
            "last_result": "",
            "owner": "Ivan",
        },
    ]


def test_today_table_for_one_owner(runner, crm):
    before = crm.read_bytes()
    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22", "--owner", " ivan"])
    assert result.exit_code == 0, result.output
    # the owner's calls have no phone: the empty column is left out
    assert result.stdout == (
        "Calls for Ivan on 2026-11-22: 0 overdue, 1 today, 1 upcoming.\n"
        "When      Date        Days overdue  Project  Contact  Topic  Owner\n"
        "Today     2026-11-22  0             Beta     Eve      Intro  Ivan\n"
        "Upcoming  2026-11-25                Beta     Eve      Demo   Ivan\n"
        "Warnings (1):\n"
        "  Contact Plan, row 6, column 'Date': '31.02.2026' — not a date; row ignored\n"
    )
    assert crm.read_bytes() == before  # today never writes


# -- every list readable at 60, 80 and 120 columns, and piped ---------------------------------------

WARNING_80 = "  Contact Plan, row 6, column 'Date': '31.02.2026' — not a date; row ignored\n"
TODAY_AT = {
    60: (
        "Calls on 2026-11-22: 1 overdue, 1 today, 1 upcoming.\n"
        "Overdue (1)\n"
        "  2026-11-21 · Acme · Bob · +7 916 000-00-01\n"
        "      Follow up · Owner: Petr · Days overdue: 1\n"
        "      Last result: Liked it\n"
        "Today (1)\n"
        "  2026-11-22 · Beta · Eve\n"
        "      Intro · Owner: Ivan\n"
        "Upcoming (1)\n"
        "  2026-11-25 · Beta · Eve\n"
        "      Demo · Owner: Ivan\n"
        "Warnings (1):\n"
        "  Contact Plan, row 6, column 'Date': '31.02.2026' — not a\n"
        "    date; row ignored\n"
    ),
    80: (
        "Calls on 2026-11-22: 1 overdue, 1 today, 1 upcoming.\n"
        "Overdue (1)\n"
        "  2026-11-21 · Acme · Bob · +7 916 000-00-01\n"
        "      Follow up · Owner: Petr · Days overdue: 1 · Last result: Liked it\n"
        "Today (1)\n"
        "  2026-11-22 · Beta · Eve\n"
        "      Intro · Owner: Ivan\n"
        "Upcoming (1)\n"
        "  2026-11-25 · Beta · Eve\n"
        "      Demo · Owner: Ivan\n"
        "Warnings (1):\n" + WARNING_80
    ),
    120: (
        "Calls on 2026-11-22: 1 overdue, 1 today, 1 upcoming.\n"
        "When      Date        Days overdue  Project  Contact  Phone             Topic      Last result  Owner\n"
        "Overdue   2026-11-21  1             Acme     Bob      +7 916 000-00-01  Follow up  Liked it     Petr\n"
        "Today     2026-11-22  0             Beta     Eve                        Intro                   Ivan\n"
        "Upcoming  2026-11-25                Beta     Eve                        Demo                    Ivan\n"
        "Warnings (1):\n" + WARNING_80
    ),
}


@pytest.mark.parametrize("width", [60, 80, 120])
def test_today_at_each_width_piped(crm, width):
    runner = CliRunner(env={"COLUMNS": str(width), **NO_LOCALE})  # CliRunner's stdout is not a terminal: a pipe
    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert result.stdout == TODAY_AT[width]
    assert "\x1b" not in result.stdout  # plain text in logs and mail
    assert max(len(line) for line in result.stdout.splitlines()) <= width


def test_piped_without_a_width_is_80_columns(crm, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    result = CliRunner(env=NO_LOCALE).invoke(app, ["today", str(crm), "--today", "2026-11-22"])
    assert result.stdout == TODAY_AT[80]


def test_on_a_terminal_the_same_text_in_colour(crm):
    import re

    runner = CliRunner(env={"COLUMNS": "80", "TTY_COMPATIBLE": "1", "NO_COLOR": None, "FORCE_COLOR": None, **NO_LOCALE})
    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert "\x1b[" in result.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", result.stdout) == TODAY_AT[80]


def test_a_long_name_wraps_whole_never_cut(make_workbook):
    long_project = "Northern Lights Regional Dental and Orthodontics Clinic Network"
    path = make_workbook(
        [[long_project, "Alexandra Konstantinopolskaya", "+7 916 000-00-09", "", "New", "Anna", "", ""]],
        [[long_project, "2026-11-22", "Discuss the budget for the second stage of the project", "", "", ""]],
        name="long.xlsx",
    )
    result = CliRunner(env={"COLUMNS": "60", **NO_LOCALE}).invoke(app, ["today", str(path), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "Calls on 2026-11-22: 0 overdue, 1 today, 0 upcoming.\n"
        "Today (1)\n"
        "  2026-11-22\n"
        "      Northern Lights Regional Dental and Orthodontics\n"
        "        Clinic Network\n"
        "      Alexandra Konstantinopolskaya · +7 916 000-00-09\n"
        "      Discuss the budget for the second stage of the project\n"
        "      Owner: Anna\n"
    )
    words = set(result.stdout.split())
    assert {"Konstantinopolskaya", "Orthodontics", "Clinic", "Network"} <= words


@pytest.mark.parametrize("width", [60, 80, 120])
def test_doctor_and_sync_summary_wrap_between_words(crm, width):
    runner = CliRunner(env={"COLUMNS": str(width), **NO_LOCALE})
    doctor = runner.invoke(app, ["doctor", str(crm), "--today", "2026-11-22"])
    synced = runner.invoke(app, ["sync", str(crm), "--today", "2026-11-22"])
    for text in (doctor.stdout, synced.stdout):
        lines = text.splitlines()
        assert all(len(line) <= width or " " not in line.strip() for line in lines), text
        # every word of the one-line rendering is there, whole
        assert " ".join(text.split()).count("'31.02.2026' — not a date; row ignored") == 1


def test_today_csv(runner, crm):
    import csv
    import io

    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22", "--csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == "section,date,days_overdue,project,contact,phone,topic,last_result,owner"
    assert rows[0] == {
        "section": "overdue",
        "date": "2026-11-21",
        "days_overdue": "1",
        "project": "Acme",
        "contact": "Bob",
        "phone": "+7 916 000-00-01",
        "topic": "Follow up",
        "last_result": "Liked it",
        "owner": "Petr",
    }
    assert [r["section"] for r in rows] == ["overdue", "today", "upcoming"]
    assert rows[2]["days_overdue"] == ""


def test_doctor_and_sync_csv(runner, crm):
    import csv
    import io

    doctor = runner.invoke(app, ["doctor", str(crm), "--today", "2026-11-22", "--csv"])
    assert doctor.exit_code == 1
    assert list(csv.DictReader(io.StringIO(doctor.stdout))) == [
        {
            "kind": "bad-date",
            "tab": "Contact Plan",
            "row": "6",
            "column": "Date",
            "value": "31.02.2026",
            "message": "not a date; row ignored",
        }
    ]
    synced = runner.invoke(app, ["sync", str(crm), "--today", "2026-11-22", "--csv", "--dry-run"])
    assert synced.exit_code == 0, synced.output
    assert synced.stdout.splitlines()[0] == "target,tab,row,column,value,message,code"
    assert synced.stdout.splitlines()[1].startswith(f"{crm},Contact Plan,6,Date,31.02.2026,")


def test_json_and_csv_together_is_a_usage_error(runner, crm):
    result = runner.invoke(app, ["today", str(crm), "--json", "--csv"])
    assert result.exit_code == 2


def test_owner_matching_nobody_lists_the_owners(runner, crm):
    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22", "--owner", "Анна"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "Calls for Анна on 2026-11-22: 0 overdue, 0 today, 0 upcoming.",
        "No calls for 'Анна'. Owners with calls: Ivan (2), Petr (1).",
    ]
    as_json = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22", "--owner", "Анна", "--json"])
    assert json.loads(as_json.stdout) == []
    assert "Owners with calls: Ivan (2), Petr (1)." in as_json.stderr


def test_init_then_sync_empty(runner, tmp_path):
    path = tmp_path / "new.xlsx"
    result = runner.invoke(app, ["init", str(path), "--lang", "ru"])
    assert result.exit_code == 0, result.output
    # a Russian CRM: the tool speaks Russian about it
    assert result.stdout == (
        f"Создан {path}, вкладки: Лиды, План контактов, Звонки на сегодня.\n"
        f"Заполните «Лиды» и «План контактов», затем запустите: sheets-crm sync {path}\n"
    )
    assert openpyxl.load_workbook(path).sheetnames == ["Лиды", "План контактов", "Звонки на сегодня"]
    runner.invoke(app, ["sync", str(path), "--today", "2026-11-22"])  # the first may add the tool's own tabs
    synced = runner.invoke(app, ["sync", str(path), "--today", "2026-11-22"])
    assert synced.stdout == (
        f"Синхронизировано {path} на 22.11.2026: всё актуально, ничего не записано.\n"
        "Звонки: просрочено 0, сегодня 0, скоро 0.\n"
    )
    english = runner.invoke(app, ["--lang", "en", "sync", str(path), "--today", "2026-11-22"])
    assert english.stdout.splitlines()[1] == "Calls: 0 overdue, 0 today, 0 upcoming."
    # init again adopts the workbook that is there: it lacks nothing, so nothing changes
    before = path.read_bytes()
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == f"В {path} уже есть все вкладки CRM и столбцы программы; ничего не изменено."
    assert path.read_bytes() == before


def test_missing_file_exit_1(runner, tmp_path):
    result = runner.invoke(app, ["sync", str(tmp_path / "nope.xlsx")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'nope.xlsx'}: no such workbook "
        f"(create one with `sheets-crm init {tmp_path / 'nope.xlsx'}`)\n"
    )


def test_missing_tab_exit_1(runner, crm):
    book = openpyxl.load_workbook(crm)
    del book["Calls Today"]
    book.save(crm)
    result = runner.invoke(app, ["sync", str(crm)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: missing tab 'Calls Today' / 'Звонки на сегодня'")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "x.xlsx", "--today", "22.11.2026"],
        ["sync"],
        ["frobnicate"],
        ["init", "x.xlsx", "--lang", "de"],
    ],
)
def test_usage_errors_exit_2(runner, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["init", "sync", "today", "demo"])
def test_every_command_has_help(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout
    assert "-v / -vv (anywhere)" in result.stdout  # the shared options are named in every command's help


def test_demo(runner, tmp_path):
    path = tmp_path / "demo.xlsx"
    result = runner.invoke(app, ["demo", "--path", str(path), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith(f"Synced {path} for 2026-11-22: ")
    assert "Warnings (6):" in out  # + 2 since issue 12: the demo's Lost leads with open calls
    assert out.rstrip().endswith(f"Open {path.resolve()} in Excel or LibreOffice to see the colours.")
    assert path.exists()


# -- config-driven commands ------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path, crm):
    path = tmp_path / "sheets-crm.toml"
    path.write_text(
        f'spreadsheets = ["{crm.name}"]\n'
        'time_zone = "Europe/Moscow"\n'
        "upcoming_days = 2\n"
        '[digest]\nenabled = false\nsmtp_host = "127.0.0.1"\nusername = "crm@studio.example"\n'
        'from = "crm@studio.example"\nto_team = ["team@studio.example"]\n'
        '[digest.owners]\n"Ivan" = "ivan@studio.example"\n',
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_sync_without_target_syncs_the_configured_sheets(runner, config_file, crm):
    result = runner.invoke(app, ["sync", "--config", str(config_file), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    # upcoming_days = 2 from the config: the call on the 25th is out of the window.
    assert result.stdout.splitlines()[1] == "Calls: 1 overdue, 1 today, 0 upcoming."
    assert str(crm) in result.stdout.splitlines()[0]


def test_sync_without_target_or_config_is_a_usage_error(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 2
    assert "spreadsheets" in result.output


def test_config_show_masks_secrets(runner, config_file, monkeypatch):
    monkeypatch.setenv("SHEETS_CRM_SMTP_PASSWORD", "hunter2-very-secret")
    result = runner.invoke(app, ["config", "show", "--config", str(config_file), "--json"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    shown = json.loads(result.stdout)
    assert shown["time_zone"] == "Europe/Moscow"


def test_bad_config_is_one_clear_line(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('sync_time = "25:00"\n', encoding="utf-8")
    result = runner.invoke(app, ["config", "show", "--config", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "sync_time" in result.stderr and "Traceback" not in result.output


def test_doctor_exit_status(runner, crm, make_workbook):
    result = runner.invoke(app, ["doctor", str(crm), "--today", "2026-11-22"])
    assert result.exit_code == 1  # the plan has a date that is not a date
    assert result.stdout.startswith(f"Doctor: {crm} on 2026-11-22: ")
    assert "'31.02.2026'" in result.stdout
    clean = make_workbook(
        [["Acme", "Bob", "", "", "Proposal", "Anna", "", ""]],
        [["Acme", "2026-11-21", "Call", "Done", "ok", ""], ["Acme", "2026-11-24", "Call", "Planned", "", ""]],
        name="clean.xlsx",
    )
    before = clean.read_bytes()
    ok = runner.invoke(app, ["doctor", str(clean), "--today", "2026-11-22", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    assert clean.read_bytes() == before


def test_export_ics(runner, crm, tmp_path):
    from icalendar import Calendar

    ics = tmp_path / "calls.ics"
    result = runner.invoke(
        app, ["export-ics", str(crm), "--out", str(ics), "--today", "2026-11-22", "--tz", "Europe/Moscow"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote 3 events to {ics}\n"
    events = Calendar.from_ical(ics.read_bytes()).walk("VEVENT")
    assert sorted(str(e["DTSTART"].dt) for e in events) == ["2026-11-21", "2026-11-22", "2026-11-25"]


def test_digest_preview(runner, crm, config_file):
    result = runner.invoke(app, ["digest", str(crm), "--config", str(config_file), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert "To: ivan@studio.example" in result.stdout
    assert "To: team@studio.example" in result.stdout


# -- version and verbosity -------------------------------------------------------------------------


def test_version(runner):
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"sheets-crm {version('sheets-crm')}\n"


@pytest.mark.parametrize(
    ("flags", "shown"),
    [([], ["WARNING"]), (["-v"], ["INFO", "WARNING"]), (["-vv", "--verbose"], ["DEBUG", "INFO", "WARNING"])],
)
def test_verbose_anywhere_routes_the_library_log_to_stderr(runner, crm, monkeypatch, flags, shown):
    import logging

    import sheets_crm.app.sync as app_sync

    real = app_sync.sync

    def logging_sync(*args, **kwargs):
        log = logging.getLogger("sheets_crm.app.sync")
        log.debug("detail")
        log.info("reading")
        log.warning("quota")
        return real(*args, **kwargs)

    monkeypatch.setattr(app_sync, "sync", logging_sync)
    # -v after the command and its argument, the way people type it
    result = runner.invoke(app, ["today", str(crm), "--today", "2026-11-22", *flags])
    assert result.exit_code == 0, result.output
    levels = [
        next(w for w in line.split() if w.rstrip(":") in ("DEBUG", "INFO", "WARNING"))
        for line in result.stderr.splitlines()
    ]
    assert [w.rstrip(":") for w in levels] == shown
    assert result.stderr.splitlines()[-1].endswith("sheets_crm.app.sync: quota" if flags else "WARNING: quota")
    assert "Calls on 2026-11-22" in result.stdout  # the report itself stays on stdout


# -- helpful misses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "suggested"),
    [("Moscow", "Europe/Moscow"), ("europe/moskow", "Europe/Moscow"), ("new york", "America/New_York")],
)
def test_unknown_zone_is_a_usage_error_with_close_matches(runner, crm, zone, suggested):
    for command in (["today", str(crm)], ["sync", str(crm)], ["schedule"]):
        result = runner.invoke(app, [*command, "--tz", zone])
        assert result.exit_code == 2, (command, result.output)
        assert f"unknown time zone {zone!r}; did you mean {suggested}" in result.stderr
        assert "Traceback" not in result.output


def test_no_config_says_where_it_goes_and_prints_a_starter(runner, tmp_path, monkeypatch):
    from sheets_crm.app.config import load_config, user_config_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("SHEETS_CRM_CONFIG", raising=False)
    for command in (["schedule"], ["today"], ["sync"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        said = " ".join(result.stderr.split())
        assert "Invalid value for --config" not in said
        assert "./sheets-crm.toml" in said and str(user_config_path()) in said
        starter = result.stderr.split("\n\n", 1)[1]
        assert starter.startswith("# sheets-crm.toml")
    # the starter is a valid config as printed
    printed = runner.invoke(app, ["config", "starter"])
    assert printed.exit_code == 0 and printed.stdout == starter
    (tmp_path / "sheets-crm.toml").write_text(printed.stdout, encoding="utf-8")
    (tmp_path / "sheets-crm.toml").chmod(0o600)
    loaded = load_config(None)
    assert [Path(s).name for s in loaded.spreadsheets] == ["crm.xlsx"]
    assert loaded.sync_time.isoformat(timespec="minutes") == "08:00"


# -- progress ----------------------------------------------------------------------------------------


class _SlowBook:
    name = "crm.xlsx"
    computes = frozenset()

    def read(self, fills_for=()):
        import logging

        logging.getLogger("sheets_crm.google").info("Google answered 503; retrying in 2.0 s (try 2 of 5)")
        return "snapshot"

    def apply(self, changes, base):
        return None


def test_progress_names_each_step_on_a_terminal(monkeypatch):
    import io
    import logging

    from rich.console import Console

    from sheets_crm.cli.progress import Progress

    monkeypatch.setattr(logging.getLogger("sheets_crm"), "level", logging.INFO)
    buf = io.StringIO()
    seen = []
    with Progress(Console(file=buf, force_terminal=True, width=60), delay=0) as progress:
        book = progress.watch(_SlowBook())
        real_step = progress.step
        monkeypatch.setattr(progress, "step", lambda text: (seen.append(text), real_step(text)))
        assert book.read() == "snapshot" and book.computes == frozenset()
        book.locale = "ru_RU"  # set through the watcher, it reaches the workbook
        assert book._workbook.locale == "ru_RU"
        book.apply([], "snapshot")
    assert seen == [
        "Reading crm.xlsx…",
        "Google answered 503; retrying in 2.0 s (try 2 of 5)",  # the library's note, as the step
        "Working out today's calls…",
        "Writing crm.xlsx…",
        "Finishing…",
    ]
    drawn = buf.getvalue()
    assert "Finishing…" in drawn  # the spinner line was drawn on the terminal…
    assert drawn.endswith("\x1b[2K")  # …and erased at the end: the results follow on a clean screen


def test_no_progress_when_not_a_terminal(crm):
    import io

    from rich.console import Console

    from sheets_crm.cli.progress import Progress

    buf = io.StringIO()
    book = _SlowBook()
    with Progress(Console(file=buf, force_terminal=False), delay=0) as progress:
        assert progress.watch(book) is book
        progress.step("Reading…")
    assert buf.getvalue() == ""
    # and through the CLI, piped: stderr stays empty
    result = CliRunner(env={"COLUMNS": "80", **NO_LOCALE}).invoke(app, ["sync", str(crm), "--today", "2026-11-22"])
    assert result.exit_code == 0 and result.stderr == ""


# -- schedule --print-cron / --print-systemd -----------------------------------------------------------


def _paths():
    from sheets_crm.cli.entries import Paths

    state = Path("/home/anna/.local/state/sheets-crm")
    return Paths(
        command="/home/anna/.local/bin/sheets-crm",
        config=Path("/home/anna/crm/sheets-crm.toml"),
        lock=state / "sheets-crm.lock",
        env=Path("/home/anna/.config/sheets-crm/env"),
        log=state / "cron.log",
        units=Path("/home/anna/.config/systemd/user"),
    )


def test_cron_entry_exact():
    import datetime as dt

    from sheets_crm.cli.entries import cron_entry

    text = cron_entry(_paths(), dt.time(8, 0), "Europe/Moscow", "Etc/UTC", dt.date(2026, 11, 22))
    assert text.splitlines()[-2:] == [
        "CRON_TZ=Europe/Moscow",
        "0 8 * * * . /home/anna/.config/sheets-crm/env 2>/dev/null; cd /home/anna/crm && flock -n "
        "/home/anna/.local/state/sheets-crm/sheets-crm.lock /home/anna/.local/bin/sheets-crm sync --digest "
        "--config /home/anna/crm/sheets-crm.toml >> /home/anna/.local/state/sheets-crm/cron.log 2>&1",
    ]
    assert "use 0 5 * * * instead" in text  # 08:00 Moscow = 05:00 UTC, for a cron without CRON_TZ
    same_zone = cron_entry(_paths(), dt.time(7, 30), "Etc/UTC", "Etc/UTC", dt.date(2026, 11, 22), digest=False)
    assert "CRON_TZ" not in same_zone
    assert same_zone.splitlines()[-1].startswith("30 7 * * * ")
    assert " sync --config " in same_zone


def test_systemd_units_exact_lines():
    import datetime as dt

    from sheets_crm.cli.entries import systemd_units

    text = systemd_units(_paths(), dt.time(8, 0), "Europe/Moscow")
    assert "# ---- /home/anna/.config/systemd/user/sheets-crm-sync.service" in text
    assert (
        "ExecStart=/usr/bin/flock -n /home/anna/.local/state/sheets-crm/sheets-crm.lock "
        "/home/anna/.local/bin/sheets-crm sync --digest --config /home/anna/crm/sheets-crm.toml"
    ) in text.splitlines()
    assert "OnCalendar=*-*-* 08:00:00 Europe/Moscow" in text.splitlines()
    assert "WorkingDirectory=/home/anna/crm" in text.splitlines()


def test_print_cron_and_systemd_use_this_machines_paths(runner, config_file, tmp_path):
    import shutil
    import subprocess

    from sheets_crm.app.runner import default_lock_path
    from sheets_crm.cli.entries import command_path

    cron = runner.invoke(app, ["schedule", "--config", str(config_file), "--print-cron"])
    assert cron.exit_code == 0, cron.output
    line = cron.stdout.splitlines()[-1]
    assert line.startswith("0 8 * * * ")  # sync_time 08:00 from the config
    assert f"--config {config_file.absolute()}" in line
    assert str(default_lock_path()) in line and command_path() in line
    assert " --digest" not in line  # the digest is disabled in this config
    units = runner.invoke(app, ["schedule", "--config", str(config_file), "--print-systemd"])
    assert units.exit_code == 0, units.output
    assert "OnCalendar=*-*-* 08:00:00 Europe/Moscow" in units.stdout
    if shutil.which("systemd-analyze") is None:
        return
    # the printed units are valid as written
    files = {}
    for block in units.stdout.split("# ---- ")[1:]:
        name, body = block.split("\n", 1)
        files[Path(name).name] = tmp_path / Path(name).name
        files[Path(name).name].write_text(body, encoding="utf-8")
    check = subprocess.run(
        ["systemd-analyze", "verify", *map(str, files.values())], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr


def test_digest_previews_without_a_config(runner, crm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("SHEETS_CRM_CONFIG", raising=False)
    result = runner.invoke(app, ["digest", str(crm), "--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("No recipients are configured ([digest] to_team and [digest.owners]")
    assert "To: (nobody yet)" in lines
    assert "Subject: [CRM] Calls 2026-11-22: 1 overdue, 1 today, 1 upcoming" in lines
    assert "Acme" in result.stdout and "Beta" in result.stdout


# -- the tool's words in the sheet's language (gettext catalogs) --------------------------------------

RU_LEADS = [
    ["Ромашка", "Анна Петрова", "+7 916 000-00-01", "", "Предложение", "Анна", "", ""],
    ["Лютик", "Борис Иванов", "+7 916 000-00-02", "", "Новый", "Борис", "", ""],
]
RU_PLAN = [
    ["Ромашка", "20.11.2026", "Предложение", "Проведён", "Понравилось", ""],
    ["Ромашка", "21.11.2026", "Перезвонить", "Запланирован", "", "Анна"],
    ["Лютик", "22.11.2026", "Знакомство", "", "", "Борис"],
    ["Лютик", "25.11.2026", "Демо", "Запланирован", "", "Борис"],
]


@pytest.mark.parametrize("width", [60, 80, 200])
def test_a_russian_sheet_gets_russian_words_only(make_workbook, width):
    import re

    path = make_workbook(RU_LEADS, RU_PLAN, lang="ru", name="ru.xlsx")
    runner = CliRunner(env={"COLUMNS": str(width), **NO_LOCALE})
    today = runner.invoke(app, ["today", str(path), "--today", "2026-11-22"])
    synced = runner.invoke(app, ["sync", str(path), "--today", "2026-11-22", "--dry-run"])
    assert today.exit_code == 0 and synced.exit_code == 0, today.output + synced.output
    text = today.stdout + synced.stdout.replace(str(path), "")
    assert re.findall(r"[A-Za-z]+", text) == []  # not one English word of the tool's own
    assert today.stdout.splitlines()[0] == "Звонки на 22.11.2026: просрочено 1, сегодня 1, скоро 1."
    assert synced.stdout.startswith("Проверено") and re.search(r"изменил(ась|ись) бы \d+ яче", synced.stdout)


def test_russian_plurals():
    from sheets_crm.cli import i18n

    i18n.use("ru")
    try:
        forms = [
            i18n.ngettext("Wrote {n} event to {path}", "Wrote {n} events to {path}", n).format(n=n, path="x")
            for n in (1, 3, 5, 11, 21, 22)
        ]
    finally:
        i18n.use("en")
    assert forms == [
        "Записано 1 событие в x",
        "Записано 3 события в x",
        "Записано 5 событий в x",
        "Записано 11 событий в x",
        "Записано 21 событие в x",
        "Записано 22 события в x",
    ]


@pytest.mark.parametrize(
    ("env", "sheet", "expected"),
    [
        ({}, "ru", "ru"),
        ({}, "en", "en"),
        ({"LANG": "ru_RU.UTF-8"}, "en", "en"),  # the machine's general default yields to the sheet
        ({"LANG": "ru_RU.UTF-8"}, None, "ru"),
        ({"LC_ALL": "en_US.UTF-8"}, "ru", "en"),  # a deliberate choice overrides the sheet
        ({"LC_ALL": "C.UTF-8"}, "ru", "ru"),  # C means no preference
        ({"SHEETS_CRM_LANG": "ru", "LC_ALL": "en_US.UTF-8"}, "en", "ru"),
        ({"LANGUAGE": "de:ru"}, None, "ru"),
        ({"LANGUAGE": "de"}, None, "en"),
    ],
)
def test_which_language(env, sheet, expected):
    from sheets_crm.cli.i18n import choose

    assert choose(sheet=sheet, env=env) == expected


def _extracted_messages():
    from sheets_crm.cli.catalog import messages

    return messages()  # the CLI's own words, the core's warnings, every --help text


def test_the_russian_catalog_is_complete_current_and_compiled():
    import gettext
    import string

    from babel.messages.pofile import read_po

    from sheets_crm.cli.i18n import LOCALE_DIR

    po_path = LOCALE_DIR / "ru" / "LC_MESSAGES" / "sheets_crm.po"
    with po_path.open("rb") as f:
        catalog = read_po(f)
    in_po = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    in_code = _extracted_messages()
    assert sorted(set(in_code) - set(in_po)) == [], "run pybabel extract + update: new messages not in the .po"
    assert sorted(set(in_po) - set(in_code)) == [], "the .po has messages the code no longer uses"
    mo = gettext.GNUTranslations((LOCALE_DIR / "ru" / "LC_MESSAGES" / "sheets_crm.mo").open("rb"))
    fields = string.Formatter()
    for key, message in in_po.items():
        assert "fuzzy" not in message.flags, key
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(translations), f"untranslated: {key!r}"
        wanted = {f for _, f, _, _ in fields.parse(key) if f}
        for text in translations:  # a translation that drops or invents a {field} would crash .format()
            assert {f for _, f, _, _ in fields.parse(text) if f} == wanted, (key, text)
        # the compiled .mo says the same as the .po (pybabel compile was run)
        if isinstance(message.id, str):
            assert mo.gettext(message.id) == message.string, key
        else:
            assert mo.ngettext(message.id[0], message.id[1], 5) == message.string[2], key


@pytest.mark.parametrize(
    "args",
    [["--lang", "ru", "today", "{crm}"], ["today", "{crm}", "--lang", "ru"], ["today", "{crm}", "--lang=ru", "-v"]],
)
def test_lang_before_or_after_the_command(runner, crm, args):
    result = runner.invoke(app, [a.format(crm=crm) for a in args] + ["--today", "2026-11-22"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Звонки на 22.11.2026: просрочено 1, сегодня 1, скоро 1."


def test_a_commands_own_lang_stays_its_own(runner, tmp_path):
    path = tmp_path / "ru.xlsx"
    result = runner.invoke(app, ["init", str(path), "--lang", "ru"])  # the workbook's language, not hoisted
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(path).sheetnames[0] == "Лиды"
