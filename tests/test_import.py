"""import: realistic exports (cp1251 with ';', UTF-8 with BOM, xlsx with other headers), de-duplication, writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from conftest import TODAY, make_snapshot
from test_google_e2e import seed, workbook

from google_standin import FakeGoogle
from sheets_crm.app.importing import MapError, decode, parse_maps, plan_import, read_source, run_import
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.core.dedupe import EMAIL, NAME, PHONE, SIMILAR
from sheets_crm.core.reading import read_tables
from sheets_crm.core.template import Template, default_template

TPL = default_template()

# A Russian CRM's export (Excel/1C on Windows: cp1251, ';'), with a header the template knows by synonym.
RU_CSV = (
    "Компания;Контактное лицо;Телефон клиента;Email;Источник;Комментарий\r\n"
    "ООО Ромашка;Иван Петров;+7 916 123-45-67;IVAN@x.ru;Выставка;перезвонить в марте\r\n"
    "Техносила;Мария;8 (495) 111-22-33;;Сайт;\r\n"
    "Ромашка (дубль);Иван;8 (916) 123 45 67;;;\r\n"
    "Новый клиент;Ольга;8-916-1234567 доб. 12;olga@new.ru;;\r\n"
    ";Без компании;+7 900 000-00-00;;;\r\n"
    "Альфа 2;Пётр;;petr@alfa.ru;;\r\n"
)
EXISTING = [
    ["Romashka LLC", "Ivan", "", "", "New", "Anna", "", ""],
    ["Alpha", "Bob", "+7 495 999-00-00", "ivan@x.ru", "New", "Anna", "", ""],
    ["Альфа 1", "", "", "", "New", "", "", ""],
]


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# -- reading ---------------------------------------------------------------------------


def test_cp1251_semicolon_csv_is_read(tmp_path: Path) -> None:
    source = read_source(write(tmp_path / "export.csv", RU_CSV, "cp1251"))
    assert source.encoding == "cp1251"
    assert source.delimiter == ";"
    assert source.headers[0] == "Компания"
    assert source.rows[0][:3] == ["ООО Ромашка", "Иван Петров", "+7 916 123-45-67"]
    assert source.row_numbers[:2] == [2, 3]


def test_utf8_bom_comma_csv_is_read(tmp_path: Path) -> None:
    text = 'Project,Phone,E-mail\r\n"Acme, Inc.",+1 212 555 0100,a@acme.com\r\nБета,,\r\n'
    source = read_source(write(tmp_path / "amo.csv", text, "utf-8-sig"))
    assert (source.encoding, source.delimiter) == ("utf-8-sig", ",")
    assert source.headers == ["Project", "Phone", "E-mail"]  # no BOM glued to the first header
    assert source.rows == [["Acme, Inc.", "+1 212 555 0100", "a@acme.com"], ["Бета", "", ""]]


def test_plain_utf8_and_tab_separated(tmp_path: Path) -> None:
    source = read_source(write(tmp_path / "list.tsv", "Проект\tТелефон\nАльфа\t8 916 000 00 01\n", "utf-8"))
    assert (source.encoding, source.delimiter) == ("utf-8", "\t")
    assert source.rows == [["Альфа", "8 916 000 00 01"]]


def test_decode_prefers_bom_then_utf8() -> None:
    assert decode("Ромашка".encode("utf-8-sig")) == ("Ромашка", "utf-8-sig")
    assert decode("Ромашка".encode()) == ("Ромашка", "utf-8")


def test_xlsx_with_other_headers(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.append(["Client", "Contact person", "Phone number", "Responsible", "Lead source"])
    ws.append(["Romashka LLC", "Ivan", 79161234567, "Anna", "Referral"])
    ws.append([None, None, None, None, None])
    ws.append(["Gamma", "Zoe", "+7 916 555-00-00", "Ivan", ""])
    path = tmp_path / "other.xlsx"
    book.save(path)
    source = read_source(path)
    assert source.rows[0][2] == "79161234567"  # a phone stored as a number, read as its digits
    assert source.row_numbers == [2, 4]
    snap = make_snapshot(TPL, [], [])
    plan = plan_import(snap, read_tables(snap, TPL, TODAY), source, {})
    mapped = {source.headers[i]: cid for i, cid in plan.mapped.columns.items()}
    assert mapped["Client"] == "project"
    assert mapped["Contact person"] == "contact"
    assert mapped["Phone number"] == "phone"


# -- mapping ---------------------------------------------------------------------------


def test_map_option_and_errors(tmp_path: Path) -> None:
    source = read_source(write(tmp_path / "x.csv", "Firma;Tel;Memo\nAcme;+7 916 000 00 01;hello\n", "utf-8"))
    snap = make_snapshot(TPL, [], [])
    tables = read_tables(snap, TPL, TODAY)
    with pytest.raises(MapError, match="no column means Project"):
        plan_import(snap, tables, source, {})
    maps = parse_maps(["Firma=Project", "Memo=Заметки"], TPL.leads)
    plan = plan_import(snap, tables, source, maps)
    assert sorted(plan.mapped.columns.values()) == ["notes", "phone", "project"]
    with pytest.raises(MapError, match="not a Leads column you fill"):
        parse_maps(["Firma=Last contact"], TPL.leads)
    with pytest.raises(MapError, match="Their column=Project"):
        parse_maps(["Firma"], TPL.leads)
    with pytest.raises(MapError, match="names no column"):
        plan_import(snap, tables, source, parse_maps(["Nope=Project"], TPL.leads))


# -- de-duplication ----------------------------------------------------------------------


def ru_plan(tmp_path: Path, *, update: bool = False) -> Any:
    source = read_source(write(tmp_path / "export.csv", RU_CSV, "cp1251"))
    snap = make_snapshot(TPL, EXISTING, [], locale="ru_RU")
    return plan_import(snap, read_tables(snap, TPL, TODAY), source, {}, update=update)


def test_matches_against_leads_and_within_the_file(tmp_path: Path) -> None:
    plan = ru_plan(tmp_path)
    found = {f.row: (f.reason, f.leads_row, f.file_row) for f in plan.found}
    # "ООО Ромашка": its e-mail is Alpha's (row 3) — e-mail is checked before the name
    assert found[2] == (EMAIL, 3, None)
    # the same phone written two other ways: the client of file row 2, i.e. Alpha (row 3)
    assert found[4] == (PHONE, 3, None)
    assert found[5] == (PHONE, 3, None)
    assert [n for n, _ in plan.new] == [3, 7]  # Техносила, Альфа 2 (Альфа 1 has another number: not a match)
    assert plan.skipped == [(6, "no project name")]
    assert plan.first_new_row == 5  # below the 3 leads
    assert {(ch.row, ch.value) for ch in plan.edits if ch.col == 0} == {(4, "Техносила"), (5, "Альфа 2")}


def test_name_and_similar_name_across_scripts() -> None:
    snap = make_snapshot(
        TPL, [["Romashka LLC", "", "", "", "", "", "", ""], ["Technosila", "", "", "", "", "", "", ""]], []
    )
    tables = read_tables(snap, TPL, TODAY)
    from sheets_crm.app.importing import Source

    source = Source(Path("x.csv"), ["Проект"], [["ООО «Ромашка»"], ["Техносила"]], [2, 3])
    plan = plan_import(snap, tables, source, {})
    assert [(f.reason, f.leads_row) for f in plan.found] == [(NAME, 2), (SIMILAR, 3)]
    assert plan.new == [] and plan.edits == []


def test_update_fills_only_empty_cells(tmp_path: Path) -> None:
    plan = ru_plan(tmp_path, update=True)
    # file row 2 matched Alpha (row 3) by e-mail: Alpha's phone and e-mail are typed, so only empty cells fill
    filled = {(leads_row, header): value for _n, leads_row, header, value in plan.fills}
    assert ("Alpha" not in filled.values()) and (3, "Phone") not in filled and (3, "Email") not in filled
    assert filled[(3, "Source")] == "Выставка"
    assert filled[(3, "Notes")] == "перезвонить в марте"
    assert (3, "Contact") not in filled  # "Bob" was typed there


# -- writes, both backends -----------------------------------------------------------------


def test_local_import_appends_and_refreshes(make_workbook: Callable[..., Path], tmp_path: Path) -> None:
    path = make_workbook(EXISTING, [["Alpha", TODAY, "Intro", "Done", "ok", "Anna"]])
    source = read_source(write(tmp_path / "export.csv", RU_CSV, "cp1251"))
    done = run_import(LocalWorkbook(path, locale="ru_RU"), source, [], template=TPL, today=TODAY)
    assert done.written
    ws = openpyxl.load_workbook(path)["Leads"]
    assert [ws.cell(r, 1).value for r in range(2, 7)] == ["Romashka LLC", "Alpha", "Альфа 1", "Техносила", "Альфа 2"]
    assert ws.cell(5, 3).value == "8 (495) 111-22-33"
    assert ws.cell(3, 9).value is not None  # Alpha's Last contact: the tool columns were refreshed in the same write
    assert ws.cell(3, 7).value is None  # without --update, Alpha's empty Source stays empty
    again = run_import(LocalWorkbook(path, locale="ru_RU"), source, [], template=TPL, today=TODAY)
    assert again.plan.new == [] and not again.written  # everything is there now: nothing appended twice


def test_local_dry_run_writes_nothing(make_workbook: Callable[..., Path], tmp_path: Path) -> None:
    path = make_workbook(EXISTING, [])
    before = path.read_bytes()
    source = read_source(write(tmp_path / "export.csv", RU_CSV, "cp1251"))
    done = run_import(LocalWorkbook(path, locale="ru_RU"), source, [], template=TPL, today=TODAY, dry_run=True)
    assert len(done.plan.new) == 2 and not done.written
    assert path.read_bytes() == before


def _csv_rows(n: int) -> str:
    lines = ["Проект;Телефон;Email"]
    lines += [f"Клиент {i};+7 916 {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d};c{i}@x.ru" for i in range(n)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("rows", [3, 60])
def test_google_import_is_one_guarded_write_whatever_the_size(tmp_path: Path, rows: int) -> None:
    fake = FakeGoogle()
    sid = seed(fake, EXISTING, [["Alpha", TODAY, "Intro", "Done", "ok", "Anna"]])
    book = workbook(fake, sid)
    source = read_source(write(tmp_path / "big.csv", _csv_rows(rows), "utf-8"))
    done = run_import(book, source, [], template=TPL, today=TODAY)
    assert done.written and len(done.plan.new) == rows
    values = fake.values(sid, "Leads")
    assert values[4][0] == "Клиент 0" and values[3 + rows][0] == f"Клиент {rows - 1}"
    assert book.write_batches == 1
    stats = done.stats
    assert stats["write_batches"] == 1
    assert book.guard_reads == 1


def test_google_request_count_is_constant(tmp_path: Path) -> None:
    counts = []
    for rows in (5, 200):
        fake = FakeGoogle()
        sid = seed(fake, EXISTING, [])
        book = workbook(fake, sid)
        source = read_source(write(tmp_path / f"r{rows}.csv", _csv_rows(rows), "utf-8"))
        run_import(book, source, [], template=TPL, today=TODAY)
        counts.append(book.stats()["requests"])
    assert counts[0] == counts[1]


def test_template_fixture_is_default(template: Template) -> None:
    assert template.leads.match_header("Контактное лицо") is not None


def test_a_russian_sheet_reads_numbers_as_russian_without_a_locale(
    make_workbook: Callable[..., Path], tmp_path: Path
) -> None:
    path = make_workbook([["Ромашка", "", "+7 916 123-45-67", "", "", "", "", ""]], [], lang="ru")
    source = read_source(write(tmp_path / "e.csv", "Проект;Телефон\nДругое имя;8 (916) 123 45 67\n", "cp1251"))
    done = run_import(LocalWorkbook(path, locale="ru_RU"), source, [], template=TPL, today=TODAY, dry_run=True)
    assert [(f.reason, f.leads_row) for f in done.plan.found] == [(PHONE, 2)]


def test_cli_import_preview_then_write(make_workbook: Callable[..., Path], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    path = make_workbook(EXISTING, [])
    export = write(tmp_path / "export.csv", RU_CSV, "cp1251")
    runner = CliRunner(
        env={
            "COLUMNS": "200",
            "NO_COLOR": "1",
            **dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG")),
        }
    )
    args = ["import", str(export), str(path), "--locale", "ru_RU", "--today", "2026-11-22"]
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "cp1251, delimiter ;" in dry.output
    assert "Компания → Project" in dry.output
    assert "file row 4 (Ромашка (дубль)) = Leads row 3: same phone +79161234567" in dry.output
    assert "file row 6 skipped: no project name" in dry.output
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "Appended 2 to Leads" in done.output
    assert openpyxl.load_workbook(path)["Leads"].cell(6, 1).value == "Альфа 2"
    usage = runner.invoke(app, [*args, "--map", "Nope=Project"])
    assert usage.exit_code == 2
    missing = runner.invoke(app, ["import", str(tmp_path / "none.csv"), str(path)])
    assert missing.exit_code == 1
