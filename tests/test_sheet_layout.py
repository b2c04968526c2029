"""Issue 16, the sheet itself: Russian demo data, column widths that fit their headers, page setup.

Printing is checked the way a person would see it: LibreOffice converts the demo to PDF, and the
pages are counted and measured (the demo used to print as 21+ portrait pages).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from sheets_crm.app import demo
from sheets_crm.backends.google.bootstrap import layout_requests
from sheets_crm.core.layout import build_layout
from sheets_crm.core.template import default_template

TODAY = dt.date(2026, 11, 22)
SOFFICE = shutil.which("soffice")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
NO_LOCALE = dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"))


def _cells(path: Path) -> dict[str, list[tuple[str, str]]]:
    """(header, text) of every non-empty body cell, per tab."""
    book = openpyxl.load_workbook(path)
    out: dict[str, list[tuple[str, str]]] = {}
    for ws in book.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            continue
        head = [str(h or "") for h in rows[0]]
        out[ws.title] = [
            (head[i] if i < len(head) else "", str(v))
            for row in rows[1:]
            for i, v in enumerate(row)
            if v not in (None, "")
        ]
    return out


def _english_demo_words() -> set[str]:
    words: set[str] = set()
    for value in demo._EN.values():
        for text in value if isinstance(value, (list, tuple)) else [value]:
            words |= {w.lower() for w in LATIN_WORD.findall(str(text))}
    return words


def test_a_russian_demo_has_no_english_words_of_its_own(tmp_path):
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    path = tmp_path / "демо.xlsx"
    result = CliRunner(env={"COLUMNS": "120", **NO_LOCALE}).invoke(
        app, ["demo", "--path", str(path), "--lang", "ru", "--today", TODAY.isoformat()]
    )
    assert result.exit_code == 0, result.output
    english = _english_demo_words()
    cells = _cells(path)
    assert {"Лиды", "План контактов", "Звонки на сегодня"} <= set(cells)
    seen = 0
    for tab in ("Лиды", "План контактов", "Звонки на сегодня"):
        for header, text in cells[tab]:
            if header in ("Email", "ИД"):  # addresses and the tool's row IDs are Latin by nature
                continue
            found = LATIN_WORD.findall(text)
            assert found == [], (tab, header, text)
            assert not {w.lower() for w in found} & english
            seen += 1
    assert seen > 500
    leads = [text for header, text in cells["Лиды"] if header == "Телефон"]
    assert leads and all(re.fullmatch(r"\+7 \(9\d\d\) \d{3}-\d\d-\d\d", p) for p in leads)
    # the deliberately broken rows are there in Russian too: the demo shows its warnings
    assert "Перезвонить?" in result.stdout and "Атлас Логистик" in result.stdout


def test_the_english_demo_is_unchanged_by_the_russian_one():
    rows = demo.demo_rows(TODAY, "en")
    ru = demo.demo_rows(TODAY, "ru")
    assert rows["leads"][0][:4] == ["Northwind Bakery", "Olivia Park", rows["leads"][0][2], "olivia@northwind.example"]
    # the same week in both languages: as many leads and calls, on the same days
    assert len(rows["leads"]) == len(ru["leads"]) and len(rows["plan"]) == len(ru["plan"])
    assert [r[1] for r in rows["plan"]] == [r[1] for r in ru["plan"]]


# -- column widths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_column_is_as_wide_as_its_header(lang, tmp_path):
    template = default_template()
    layout = build_layout(template, lang)
    for tab in layout:
        for col in tab.columns:
            # a bold header: at least one width unit per letter, capitals wider, and a margin
            need = len(col.header) + sum(ch.isupper() for ch in col.header) * 0.3 + 1
            assert col.width >= need, (lang, tab.title, col.header, col.width)
    # the local workbook applies them
    path = demo.create_workbook(tmp_path / f"{lang}.xlsx", layout)
    book = openpyxl.load_workbook(path)
    for tab in layout:
        ws = book[tab.title]
        for i, col in enumerate(tab.columns, start=1):
            assert ws.column_dimensions[get_column_letter(i)].width == col.width, (tab.title, col.header)
    # so does Google: a pixel size per column, about 7 px per character
    for tab in layout:
        sizes = [
            r["updateDimensionProperties"]["properties"]["pixelSize"]
            for r in layout_requests(0, tab)
            if "updateDimensionProperties" in r
        ]
        assert len(sizes) == len(tab.columns)
        for col, px in zip(tab.columns, sizes, strict=True):
            assert px >= 7 * len(col.header) + 10, (tab.title, col.header, px)


def test_the_headers_clipped_before_now_fit():
    ru = {c.header: c.width for t in build_layout(default_template(), "ru") for c in t.columns}
    en = {c.header: c.width for t in build_layout(default_template(), "en") for c in t.columns}
    assert ru["Последний контакт"] >= 19 and ru["Дней просрочки"] >= 16 and en["Days overdue"] >= 14


# -- page setup ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_page_setup_in_the_file(lang, tmp_path):
    path = demo.write_demo(tmp_path / "demo.xlsx", TODAY, lang=lang)
    layout = build_layout(default_template(), lang)
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
        sheets = [z.read(f"xl/worksheets/sheet{i}.xml").decode() for i in range(1, len(layout) + 1)]
    for i, (tab, xml) in enumerate(zip(layout, sheets, strict=True)):
        setup = re.search(r"<pageSetup\b[^>]*>", xml)
        assert setup is not None, tab.title
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', setup.group(0)))
        assert attrs["orientation"] == "landscape" and attrs["fitToWidth"] == "1" and attrs["fitToHeight"] == "0"
        assert attrs["paperSize"] == ("1" if lang == "en" else "9")  # US Letter / A4
        assert re.search(r'<sheetPr\b.*<pageSetUpPr fitToPage="1"', xml, re.S), tab.title
        assert re.search(r'<pane\b[^>]*ySplit="1"[^>]*state="frozen"', xml), tab.title  # header frozen
        name = re.escape(tab.title)
        assert re.search(
            rf'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">\'{name}\'!\$1:\$1</definedName>', workbook
        ), tab.title


def test_google_freezes_the_header_row():
    for tab in build_layout(default_template(), "ru"):
        frozen = [
            r["updateSheetProperties"]["properties"]["gridProperties"]["frozenRowCount"]
            for r in layout_requests(0, tab)
            if "updateSheetProperties" in r
        ]
        assert frozen == [1], tab.title


def _pdf_pages(pdf: Path) -> list[tuple[float, float]]:
    """(width, height) of every page: LibreOffice writes its page objects uncompressed."""
    data = pdf.read_bytes()
    pages = []
    for obj in re.split(rb"\bendobj\b", data):
        if re.search(rb"/Type\s*/Page(?![s\w])", obj):
            box = re.search(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", obj)
            assert box is not None
            pages.append((float(box.group(3)), float(box.group(4))))
    return pages


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_demo_prints_landscape_one_page_wide(lang, tmp_path):
    path = demo.write_demo(tmp_path / f"demo-{lang}.xlsx", TODAY, lang=lang)
    # the same rows without page setup: what the demo printed like before
    before = tmp_path / f"before-{lang}.xlsx"
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        ws.page_setup.orientation = ws.page_setup.fitToWidth = ws.page_setup.fitToHeight = None
        ws.page_setup.paperSize = None
        ws.sheet_properties.pageSetUpPr.fitToPage = False
        ws.print_title_rows = None
    book.save(before)
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(path),
            str(before),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    now, then = _pdf_pages(path.with_suffix(".pdf")), _pdf_pages(before.with_suffix(".pdf"))
    assert all(w > h for w, h in now), now  # every page landscape
    assert all(w < h for w, h in then)
    # 3 tabs, one page wide each: Leads 1, Contact Plan (~140 rows) 3-4, Calls Today 1
    assert 3 <= len(now) <= 7 < 15 < len(then), (len(now), len(then))
