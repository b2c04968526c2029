"""The local writer against a corpus of real workbooks (tests/fixtures/xlsx, see its MANIFEST.md).

For each workbook, one sync on 2026-11-29 (UTC), then:
* every zip part other than the tabs written, styles.xml, sharedStrings.xml, workbook.xml,
  calcChain.xml, [Content_Types].xml and docProps/* is byte-identical (the workbook's
  relationships may lose exactly the calcChain relationship, nothing else);
* every cell of every other sheet, and every cell of Leads outside the tool's columns, is
  the same XML element (value, type, style, formula, cached result);
* a second sync leaves the file byte-identical;
* where LibreOffice is installed, it opens the synced file and shows the tool's values.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.backends.local.xlsx_read import Package, read_tabs
from sheets_crm.core.template import default_template
from sheets_crm.errors import WorkbookError

CORPUS = Path(__file__).resolve().parent / "fixtures" / "xlsx"
TODAY = dt.date(2026, 11, 29)
BROKEN = {"broken_sheet_xml.xlsx", "not_a_workbook.xlsx", "not_a_zip.xlsx"}
GOOD = sorted(p.name for p in CORPUS.glob("*.xls[xm]") if p.name not in BROKEN)
TEMPLATE = default_template()
TOOL_TABS = {n for tab in (TEMPLATE.leads, TEMPLATE.calls) for n in tab.names.values()}
LEADS = set(TEMPLATE.leads.names.values())
TOOL_HEADERS = {n for c in TEMPLATE.leads.tool_columns for n in c.names.values()}
MAY_CHANGE = {"xl/styles.xml", "xl/sharedStrings.xml", "xl/workbook.xml", "xl/calcChain.xml", "[Content_Types].xml"}
_CELL = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])([^>]*?)(?:/>|>.*?</(?:[\w.-]+:)?c\s*>)", re.S)
_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Z]+)(\d+)[\"']")


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_parts(path: Path) -> dict[str, str]:
    """Tab title -> worksheet part."""
    pkg = Package.open(str(path), path.read_bytes())
    return {s.title: s.part for s in pkg.sheets}


def cells(xml: bytes) -> dict[tuple[str, int], bytes]:
    """(column letters, row) -> the cell's element exactly as written."""
    body = xml[xml.find(b"sheetData") :]
    out = {}
    for m in _CELL.finditer(body):
        ref = _REF.search(m.group(1))
        assert ref is not None, m.group(0)[:80]  # every fixture names its cells
        out[(ref.group(1).decode(), int(ref.group(2)))] = m.group(0)
    return out


def tool_columns(path: Path, title: str) -> set[str]:
    """Letters of the columns of ``title`` whose header (row 1) is a tool column, after the sync."""
    from sheets_crm.backends.local.xlsx_write import cell_ref

    tab = read_tabs(Package.open(str(path), path.read_bytes()), ())[title]
    return {cell_ref(0, col)[:-1] for col, text in enumerate(tab.header) if str(text or "").strip() in TOOL_HEADERS}


def _without_calc_chain_rel(rels: bytes) -> bytes:
    return re.sub(rb"<Relationship(?=[\s/>])[^>]*?/calcChain[\"'][^>]*?/>", b"", rels)


@pytest.fixture(scope="module")
def synced(tmp_path_factory) -> dict[str, tuple[Path, Path, object]]:
    """Every good fixture synced once: name -> (original, synced copy, result)."""
    folder = tmp_path_factory.mktemp("corpus")
    out = {}
    for name in GOOD:
        src = CORPUS / name
        dst = folder / name
        shutil.copyfile(src, dst)
        result = sync(LocalWorkbook(dst), today=TODAY, tz="UTC")
        out[name] = (src, dst, result)
    return out


@pytest.mark.parametrize("name", GOOD)
def test_only_the_tools_parts_change(synced, name):
    src, dst, result = synced[name]
    assert result.written, "every fixture holds stale or missing tool values"
    before, after = parts(src), parts(dst)
    titles = sheet_parts(src)
    written = {titles[t] for t in titles if t in TOOL_TABS}
    for part, data in before.items():
        if part in written or part in MAY_CHANGE or part.startswith("docProps/"):
            continue
        if part == "xl/_rels/workbook.xml.rels":
            assert after[part] in (data, _without_calc_chain_rel(data)), part
            continue
        assert after.get(part) == data, f"{part} changed"
    assert set(after) - set(before) == set(), "no part is added"
    assert set(before) - set(after) <= {"xl/calcChain.xml"}
    # Same order of the parts that remain.
    assert [n for n in before if n in after] == list(after)


@pytest.mark.parametrize("name", GOOD)
def test_person_cells_are_the_same_xml(synced, name):
    src, dst, _ = synced[name]
    before, after = parts(src), parts(dst)
    checked = 0
    for title, part in sheet_parts(src).items():
        if title not in TOOL_TABS:
            assert after[part] == before[part], title
            continue
        if title not in LEADS:
            continue  # Calls Today is the tool's own tab
        old, new = cells(before[part]), cells(after[part])
        tool = tool_columns(dst, title)
        assert tool, "Leads has tool columns"
        for key, raw in old.items():
            if key[0] in tool:
                continue
            assert new.get(key) == raw, (title, key)
            checked += 1
        assert not {k for k in new.keys() - old.keys() if k[0] not in tool}, "no person cell is added"
    assert checked > 10


@pytest.mark.parametrize("name", GOOD)
def test_second_sync_is_byte_identical(synced, tmp_path, name):
    _, dst, _ = synced[name]
    again = tmp_path / name
    shutil.copyfile(dst, again)
    data = again.read_bytes()
    result = sync(LocalWorkbook(again), today=TODAY, tz="UTC")
    assert result.changed_cells == 0 and not result.written
    assert again.read_bytes() == data


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_fail_cleanly_and_stay_untouched(tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(CORPUS / name, path)
    data = path.read_bytes()
    with pytest.raises(WorkbookError) as err:
        sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    message = str(err.value)
    assert str(path) in message and "Traceback" not in message
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_broken_sheet_message_names_the_sheet(tmp_path):
    path = tmp_path / "broken.xlsx"
    shutil.copyfile(CORPUS / "broken_sheet_xml.xlsx", path)
    with pytest.raises(WorkbookError, match=r"sheet 'Leads' .*not well-formed XML.*not changed"):
        LocalWorkbook(path).read()


# -- LibreOffice opens the synced files ------------------------------------------------------------

SOFFICE = shutil.which("soffice")


def _lo_csv(files: list[Path], out: Path) -> None:
    """Every sheet of every file to csv (LibreOffice ≥ 7.2: sheet -1 = one csv per sheet)."""
    profile = out / "profile"
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_shows_the_tools_values(synced, tmp_path):
    names = [n for n in GOOD if n != "excel_stray_cells.xlsx"]  # a 1M-row csv is no use here
    _lo_csv([synced[n][1] for n in names], tmp_path)
    seen = 0
    for name in names:
        _, dst, _ = synced[name]
        tabs = read_tabs(Package.open(str(dst), dst.read_bytes()), ())
        leads = next(t for t in tabs if t in LEADS)
        stem = Path(name).stem
        with open(tmp_path / f"{stem}-{leads}.csv", encoding="utf-8", newline="") as fh:
            shown = list(csv.reader(fh))
        header = shown[0]
        ours = tabs[leads]
        for col, title in enumerate(header):
            if title not in TOOL_HEADERS:
                continue
            for row in range(1, ours.height):
                value = ours.cell(row, col)
                text = shown[row][col] if row < len(shown) and col < len(shown[row]) else ""
                if value is None:
                    assert text == "", (name, row, title)
                elif isinstance(value, dt.datetime):
                    assert text in (value.strftime("%Y-%m-%d"), value.strftime("%d.%m.%Y")), (name, row, title, text)
                else:
                    assert text == str(value), (name, row, title, text)
                seen += 1
    assert seen > 50


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_recalculates_the_persons_formulas_on_tool_cells(synced, tmp_path):
    """Leads 'Follow-up due' = Next contact + 1: the cached result in the file is stale after a sync;
    LibreOffice must show it recomputed from the new Next contact (fullCalcOnLoad)."""
    name = "excel_calcchain.xlsx"
    _, dst, _ = synced[name]
    _lo_csv([dst], tmp_path)
    with open(tmp_path / f"{Path(name).stem}-Leads.csv", encoding="utf-8", newline="") as fh:
        shown = list(csv.reader(fh))
    header = shown[0]
    nxt, due = header.index("Next contact"), header.index("Follow-up due")
    checked = 0
    for row in shown[1:]:
        if row[nxt]:
            want = dt.date.fromisoformat(row[nxt]) + dt.timedelta(days=1)
            assert row[due] == want.isoformat(), row
            checked += 1
    assert checked >= 2
