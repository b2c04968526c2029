"""``init`` on the workbook a person already has (issue 12 item 1), and files made with the umask's permissions.

The workbooks are made the way a person makes them: their own headers ("Contact person", "Phone number"),
their own tab and column, their own colour and dropdown, dates typed as text — with openpyxl, and with
LibreOffice from a .csv where it is installed.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation
from typer.testing import CliRunner

from sheets_crm.app.adopt import init_command, init_local, with_init_command
from sheets_crm.backends.local.adopt import add_validations, has_validation
from sheets_crm.cli.main import app
from sheets_crm.core.template import default_template
from sheets_crm.errors import WorkbookError

NO_LOCALE = dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"))
SOFFICE = shutil.which("soffice")
TOOL_LEADS = ["Last contact", "Last result", "Next contact", "Next topic", "Days since contact", "Touches"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", **NO_LOCALE})


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def values(path: Path) -> dict[str, list[list[object]]]:
    book = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def persons_workbook(path: Path) -> Path:
    """Leads and Contact Plan as a person keeps them, with a tab and a column of their own; no Calls Today."""
    book = openpyxl.Workbook()
    leads = book.active
    leads.title = "Leads"
    leads.append(["Project", "Contact person", "Phone number", "Email", "Stage", "Owner", "My notes"])
    leads.append(["Acme", "Ann Lee", "+1 555 0100", "ann@acme.example", "Proposal", "Petr", "call after lunch"])
    leads.append(["Juniper Kids Club", "Jo", "+1 555 0101", "", "Lost", "Anna", "went elsewhere"])
    leads.append(["Beta", "Bob", "+1 555 0102", "", "New", "Anna", ""])
    leads["G2"].fill = PatternFill("solid", start_color="FFFFFF00", end_color="FFFFFF00")  # their yellow
    plan = book.create_sheet("Contact Plan")
    plan.append(["Project", "Date", "Topic", "Status", "Result", "Owner"])
    plan.append(["Acme", "26.11.26", "Send the offer", "Planned", "", "Petr"])
    plan.append(["Beta", "28.11", "Intro", "", "", "Anna"])
    own = DataValidation(type="list", formula1='"Planned,Done,Cancelled,Later"', allow_blank=True)
    own.add("D2:D500")
    plan.add_data_validation(own)  # their own Status dropdown: kept, not doubled
    budget = book.create_sheet("Budget")
    budget.append(["Item", "Cost"])
    budget.append(["Ads", 120])
    budget.append(["Total", "=SUM(B2:B2)"])
    book.save(path)
    return path


def test_init_adopts_a_persons_workbook_and_changes_nothing_of_theirs(runner, tmp_path):
    path = persons_workbook(tmp_path / "crm.xlsx")
    before, before_values = parts(path), values(path)
    # The sync names the exact command that fixes the missing tab.
    stopped = runner.invoke(app, ["sync", str(path), "--today", "2026-11-22"])
    assert stopped.exit_code == 1
    assert f"run: sheets-crm init {path} — it adds the missing tab Calls Today and changes nothing else" in (
        " ".join(stopped.stderr.split())
    )
    assert parts(path) == before
    done = runner.invoke(app, ["init", str(path)])
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[:4] == [
        "Added the tab Calls Today.",
        "Added to Leads, after its last used column: " + ", ".join(TOOL_LEADS) + ".",
        "Added to Contact Plan, after its last used column: ID.",
        "Added dropdowns in Leads: Stage.",
    ]
    assert f"Nothing else in {path} was changed." in done.stdout
    after, now = parts(path), values(path)
    # Byte for byte: their own tab, the document properties, the theme: only the parts init writes change.
    changed = {n for n in before if after[n] != before[n]}
    assert changed <= {
        "xl/worksheets/sheet1.xml",  # Leads: new headers
        "xl/worksheets/sheet2.xml",  # Contact Plan: the ID header
        "xl/styles.xml",  # the tool header fill
        "xl/workbook.xml",  # the new tab's entry
        "xl/_rels/workbook.xml.rels",
        "[Content_Types].xml",
    }
    assert "xl/worksheets/sheet3.xml" not in changed and set(after) - set(before) == {"xl/worksheets/sheet4.xml"}
    # Every cell of theirs is where it was; only headers were added, right of the last used column.
    for tab, rows in before_values.items():
        for r, row in enumerate(rows):
            assert now[tab][r][: len(row)] == row, (tab, r)
    assert now["Leads"][0][7:] == TOOL_LEADS and all(v is None for row in now["Leads"][1:] for v in row[7:])
    assert now["Calls Today"][0] == [c.names["en"] for c in default_template().calls.columns]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Leads", "Contact Plan", "Budget", "Calls Today"]  # theirs first, in their order
    assert book["Leads"]["G2"].fill.fgColor.rgb == "FFFFFF00"
    stage = [dv for dv in book["Leads"].data_validations.dataValidation if "E2" in dv.sqref]
    assert len(stage) == 1 and "Proposal" in stage[0].formula1
    assert [dv.formula1 for dv in book["Contact Plan"].data_validations.dataValidation] == [
        '"Planned,Done,Cancelled,Later"'
    ]
    assert book["Leads"]["H1"].fill.fgColor.rgb.endswith(default_template().settings.tool_header_color)
    # Now the sync runs, on their headers and their dates.
    synced = runner.invoke(app, ["sync", str(path), "--today", "2026-11-22"])
    assert synced.exit_code == 0, synced.output
    assert values(path)["Leads"][1][:7] == before_values["Leads"][1]
    # A second init finds nothing missing and writes nothing.
    again_before = path.read_bytes()
    again = runner.invoke(app, ["init", str(path)])
    assert again.exit_code == 0 and "already has every CRM tab and tool column; nothing was changed" in again.stdout
    assert path.read_bytes() == again_before


def test_init_force_keeps_a_copy_first_and_says_where(runner, tmp_path):
    path = persons_workbook(tmp_path / "crm.xlsx")
    data = path.read_bytes()
    done = runner.invoke(app, ["init", str(path), "--force"])
    assert done.exit_code == 0, done.output
    copies = sorted(tmp_path.glob("crm.xlsx.bak-*"))
    assert len(copies) == 1 and copies[0].read_bytes() == data
    assert copies[0].name[len("crm.xlsx.bak-") :].replace("-", "").isdigit()
    assert done.stdout.splitlines()[0] == f"Kept a copy of the old file at {copies[0]}."
    assert values(path)["Leads"] == [[c.names["en"] for c in default_template().leads.columns]]


def test_force_refuses_while_the_workbook_is_open(tmp_path):
    path = persons_workbook(tmp_path / "crm.xlsx")
    (tmp_path / ".~lock.crm.xlsx#").write_text("LibreOffice")
    data = path.read_bytes()
    with pytest.raises(Exception, match="open in Excel or LibreOffice"):
        init_local(path, default_template(), "en", force=True)
    assert path.read_bytes() == data and not list(tmp_path.glob("*.bak-*"))


def test_adopting_a_russian_workbook_speaks_its_language(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Лиды"
    ws.append(["Проект", "Контактное лицо", "Телефон клиента", "Email", "Этап", "Ответственный"])
    ws.append(["Альфа", "Иван", "+7 900 000-00-00", "", "Новый", "Анна"])
    book.save(path)
    done = init_local(path, default_template(), "en")
    assert done.adoption is not None and done.adoption.lang == "ru"
    assert done.adoption.added_tabs == ["План контактов", "Звонки на сегодня"]
    assert openpyxl.load_workbook(path).sheetnames == ["Лиды", "План контактов", "Звонки на сегодня"]
    assert values(path)["Лиды"][1][:6] == ["Альфа", "Иван", "+7 900 000-00-00", None, "Новый", "Анна"]


def test_the_fixing_command_is_exact_for_both_backends():
    assert init_command("my crm.xlsx") == "sheets-crm init 'my crm.xlsx'"
    sid = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    assert (
        init_command(f"https://docs.google.com/spreadsheets/d/{sid}/edit") == f"sheets-crm init --google --into {sid}"
    )
    text = "missing tab 'X'. Or run: sheets-crm init — it adds the missing tab X and changes nothing else"
    assert with_init_command(text, "crm.xlsx").endswith(
        "run: sheets-crm init crm.xlsx — it adds the missing tab X and changes nothing else"
    )


def test_validations_are_added_only_where_none_covers_the_column():
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/>'
        b'<dataValidations count="1"><dataValidation type="list" sqref="D2:D50 F:F"><formula1>"a"</formula1>'
        b"</dataValidation></dataValidations><pageMargins/></worksheet>"
    )
    assert has_validation(sheet, 1, 3) and has_validation(sheet, 1, 5) and not has_validation(sheet, 1, 4)
    out = add_validations(sheet, [(4, ("New", 'Say "hi"', "R&D"))])
    assert b'count="2"' in out and b'sqref="E2:E10000"' in out and b"&quot;" not in out
    assert b'"New,Say ""hi"",R&amp;D"' in out and out.index(b"</dataValidations>") < out.index(b"<pageMargins")
    bare = b'<worksheet xmlns="x"><sheetData/><pageMargins/><drawing r:id="rId1"/></worksheet>'
    placed = add_validations(bare, [(0, ("A",))])
    assert placed.index(b"<dataValidations") < placed.index(b"<pageMargins")


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_init_and_demo_files_follow_the_umask(runner, tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        assert runner.invoke(app, ["init", str(tmp_path / "new.xlsx")]).exit_code == 0
        demo = runner.invoke(app, ["demo", "--path", str(tmp_path / "demo.xlsx"), "--today", "2026-11-22"])
        assert demo.exit_code == 0, demo.output
    finally:
        os.umask(old)
    assert (tmp_path / "new.xlsx").stat().st_mode & 0o777 == mode
    assert (tmp_path / "demo.xlsx").stat().st_mode & 0o777 == mode


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_a_libreoffice_workbook_made_from_csv_is_adopted(runner, tmp_path):
    src = tmp_path / "Leads.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(
            [
                ["Project", "Contact name", "Tel", "Stage", "Manager", "Next call"],
                ["Acme", "Ann", "+1 555 0100", "Proposal", "Petr", "28 Nov 2026"],
                ["Helix Labs", "Hal", "+1 555 0199", "Lost", "Anna", ""],
            ]
        )
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    path = tmp_path / "Leads.xlsx"
    before = values(path)
    done = runner.invoke(app, ["init", str(path)])
    assert done.exit_code == 0, done.output
    assert "Added the tab Contact Plan." in done.stdout and "Added the tab Calls Today." in done.stdout
    now = values(path)
    assert [row[:6] for row in now["Leads"]] == [row[:6] for row in before["Leads"]]
    assert now["Leads"][0][6:] == TOOL_LEADS
    synced = runner.invoke(app, ["sync", str(path), "--today", "2026-11-22"])
    assert synced.exit_code == 0, synced.output
    # LibreOffice still opens it: convert it back and find the person's rows.
    back = tmp_path / "back"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "csv",
            "--outdir",
            str(back),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    with open(back / "Leads.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][:3] == ["Acme", "Ann", "+1 555 0100"] and rows[0][6] == "Last contact"


# -- Google: init --google --into a spreadsheet with the person's data ----------------------------


def _google():  # the stand-in and the e2e helpers, only for these tests
    from test_google_e2e import client_of

    from google_standin import FakeGoogle

    return FakeGoogle, client_of


def _no_validation(cell: dict) -> dict:
    return {k: v for k, v in cell.items() if k != "dataValidation"}


def persons_spreadsheet():
    FakeGoogle, client_of = _google()
    fake = FakeGoogle(account="service")
    sid = fake.add_spreadsheet(
        "Our sales",
        {
            "Leads": [
                ["Project", "Contact person", "Phone number", "Email", "Stage", "Owner", "My notes"],
                ["Acme", "Ann Lee", "+1 555 0100", "ann@acme.example", "Proposal", "Petr", "call after lunch"],
                ["Helix Labs", "Hal", "+1 555 0199", "", "Lost", "Anna", ""],
            ],
            "Contact Plan": [
                ["Project", "Call date", "Topic", "Status", "Result", "Owner"],
                ["Acme", "26.11.26", "Send the offer", "Planned", "", "Petr"],
            ],
            "Budget": [["Item", "Cost"], ["Ads", 120]],
        },
    )
    return fake, sid, client_of(fake)


def test_google_into_adopts_tabs_with_data_and_changes_nothing_of_theirs(caplog):
    from sheets_crm.backends.google.bootstrap import init_spreadsheet

    fake, sid, client = persons_spreadsheet()
    fake.person.set_background(sid, "Leads", "G2", "#FFFF00")
    before = {t: fake.values(sid, t) for t in fake.tabs(sid)}
    before_cells = {f"{c}{r}": fake.cell(sid, "Leads", f"{c}{r}") for c in "ABCDEFG" for r in range(1, 4)}
    with caplog.at_level("WARNING", logger="sheets_crm"):
        init_spreadsheet(client, default_template(), "en", into=sid)
    assert sorted(fake.tabs(sid)) == ["Budget", "Calls Today", "Contact Plan", "Leads"]  # nothing deleted
    leads = fake.values(sid, "Leads")
    assert leads[0][7:] == TOOL_LEADS and [row[:7] for row in leads] == before["Leads"]
    # values and formats as they were (the Stage cells gained only the dropdown)
    assert {k: _no_validation(fake.cell(sid, "Leads", k)) for k in before_cells} == before_cells
    assert fake.values(sid, "Budget") == before["Budget"]
    plan = fake.values(sid, "Contact Plan")
    assert [row[:6] for row in plan] == before["Contact Plan"] and plan[0][6] == "ID"
    assert fake.validation(sid, "Leads", "E2") is not None  # Stage got its dropdown
    assert fake.validation(sid, "Contact Plan", "D2") is not None
    assert fake.background(sid, "Leads", "H1") is not None and fake.note(sid, "Leads", "H1")
    assert "added the column 'Last contact' to the tab 'Leads' (column 8" in caplog.text
    # A second init adds nothing more; the sync then runs on their headers.
    after = {t: fake.values(sid, t) for t in fake.tabs(sid)}
    init_spreadsheet(client, default_template(), "en", into=sid)
    assert {t: fake.values(sid, t) for t in fake.tabs(sid) if t != "Calls Today"} == {
        t: v for t, v in after.items() if t != "Calls Today"
    }
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    result = sync(GoogleWorkbook(sid, http=client), today=dt.date(2026, 11, 22))
    assert fake.values(sid, "Leads")[1][:7] == before["Leads"][1]
    assert result.calls == [] or all(c.project != "Helix Labs" for c in result.calls)


def test_google_into_keeps_the_persons_own_dropdown():
    from sheets_crm.backends.google.bootstrap import init_spreadsheet

    fake, sid, client = persons_spreadsheet()
    leads_id = fake.sheet_properties(sid, "Leads")["sheetId"]
    theirs = {
        "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Hot"}, {"userEnteredValue": "Cold"}]}
    }
    rng = {"sheetId": leads_id, "startRowIndex": 1, "startColumnIndex": 4, "endColumnIndex": 5}
    client.batch_update(sid, {"requests": [{"setDataValidation": {"range": rng, "rule": theirs}}]})
    init_spreadsheet(client, default_template(), "en", into=sid)
    assert fake.validation(sid, "Leads", "E2")["condition"] == theirs["condition"]


def test_google_into_force_copies_a_tab_before_laying_it_out(caplog):
    from sheets_crm.backends.google.bootstrap import init_spreadsheet

    fake, sid, client = persons_spreadsheet()
    before = fake.values(sid, "Leads")
    with caplog.at_level("WARNING", logger="sheets_crm"):
        init_spreadsheet(client, default_template(), "en", into=sid, force=True)
    copies = [t for t in fake.tabs(sid) if t.startswith("Leads (before init ")]
    assert len(copies) == 1 and fake.values(sid, copies[0]) == before
    assert f"kept a copy of the tab 'Leads' as '{copies[0]}'" in caplog.text
    assert "Budget" in fake.tabs(sid) and len(fake.tabs(sid)) == 6  # Leads, Plan, their copies, Budget, Calls
    assert fake.values(sid, "Leads")[0] == [c.names["en"] for c in default_template().leads.columns]


def test_a_header_would_land_in_merged_cells_so_nothing_is_written(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Leads"
    ws.append(["Project", "Contact", "Phone", "Email", "Stage", "Owner", "Notes"])
    ws.append(["Acme", "Ann", "", "", "New", "Petr", "wide note"])
    ws.merge_cells("G1:K1")
    book.save(path)
    data = path.read_bytes()
    with pytest.raises(WorkbookError, match=r"Leads!G1:K1 is merged.*nothing was written"):
        init_local(path, default_template(), "en")
    assert path.read_bytes() == data


def test_google_into_a_russian_spreadsheet_adds_russian_tabs():
    from sheets_crm.backends.google.bootstrap import init_spreadsheet

    FakeGoogle, client_of = _google()
    fake = FakeGoogle(account="service")
    sid = fake.add_spreadsheet(
        "Продажи",
        {
            "Лиды": [
                ["Проект", "Контактное лицо", "Телефон клиента", "Этап"],
                ["Альфа", "Иван", "+7 900 000-00-00", "Новый"],
            ]
        },
        locale="ru_RU",
    )
    init_spreadsheet(client_of(fake), default_template(), "en", into=sid)  # --lang left at its default
    assert fake.tabs(sid) == ["Лиды", "План контактов", "Звонки на сегодня"]
    assert fake.values(sid, "Лиды")[1][:4] == ["Альфа", "Иван", "+7 900 000-00-00", "Новый"]
    assert fake.values(sid, "Лиды")[0][4] == default_template().leads.column("last_contact").names["ru"]
