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
from dataclasses import dataclass
from pathlib import Path

import pytest

from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.backends.local.xlsx_read import Package, read_tabs
from sheets_crm.backends.local.xlsx_write import cell_ref
from sheets_crm.core.model import ChangeSet
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
    tab = read_tabs(Package.open(str(path), path.read_bytes()), ())[title]
    return {cell_ref(0, col)[:-1] for col, text in enumerate(tab.header) if str(text or "").strip() in TOOL_HEADERS}


def relationships(rels: bytes) -> dict[str, str]:
    """Id -> "Target Type" of a relationships part."""
    out = {}
    for m in re.finditer(rb"<Relationship(?=[\s/>])([^>]*?)/?>", rels):
        attrs = dict(re.findall(rb'(\w+)="([^"]*)"', m.group(1)))
        out[attrs[b"Id"].decode()] = (attrs[b"Target"] + b" " + attrs[b"Type"]).decode()
    return out


def rels_of(part: str) -> str:
    folder, base = part.rsplit("/", 1)
    return f"{folder}/_rels/{base}.rels"


class Recording(LocalWorkbook):
    """The local backend, remembering what the sync asked it to write."""

    changes: ChangeSet | None = None

    def apply(self, changes: ChangeSet, base) -> None:
        self.changes = changes
        super().apply(changes, base)


@dataclass
class Synced:
    src: Path
    dst: Path
    result: object
    changes: ChangeSet

    @property
    def written_cells(self) -> set[tuple[str, str, int]]:
        """(tab, column letters, 1-based row) of every cell the sync wrote."""
        out = set()
        for c in self.changes.changes:
            ref = cell_ref(c.row, c.col)
            out.add((c.tab, ref.rstrip("0123456789"), c.row + 1))
        return out


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """name -> Synced: each good fixture synced once, on first use."""
    folder = tmp_path_factory.mktemp("corpus")
    done: dict[str, Synced] = {}

    def get(name: str) -> Synced:
        if name not in done:
            src, dst = CORPUS / name, folder / name
            shutil.copyfile(src, dst)
            wb = Recording(dst)
            result = sync(wb, today=TODAY, tz="UTC")
            assert wb.changes is not None, "every fixture holds stale or missing tool values"
            done[name] = Synced(src, dst, result, wb.changes)
        return done[name]

    return get


@pytest.mark.parametrize("name", GOOD)
def test_only_the_tools_parts_change(synced, name):
    s = synced(name)
    assert s.result.written
    before, after = parts(s.src), parts(s.dst)
    titles = sheet_parts(s.dst)
    written = {titles[t] for t in s.changes.by_tab()}
    for part, data in before.items():
        if part in written or part in MAY_CHANGE or part.startswith("docProps/"):
            continue
        if part == "xl/_rels/workbook.xml.rels":
            continue  # checked below: it may lose the calcChain relationship and gain new tabs'
        assert after.get(part) == data, f"{part} changed"
    added = set(after) - set(before)
    assert added <= written | {rels_of(p) for p in written}, added  # only the parts of tabs the sync created
    assert set(before) - set(after) <= {"xl/calcChain.xml"}
    assert [n for n in before if n in after] == [n for n in after if n in before]  # same order
    old_rels, new_rels = (
        relationships(before["xl/_rels/workbook.xml.rels"]),
        relationships(after["xl/_rels/workbook.xml.rels"]),
    )
    assert {k: v for k, v in old_rels.items() if not v.endswith("/calcChain")}.items() <= new_rels.items()


@pytest.mark.parametrize("name", GOOD)
def test_person_cells_are_the_same_xml(synced, name):
    s = synced(name)
    before, after = parts(s.src), parts(s.dst)
    written = s.written_cells
    checked = 0
    for title, part in sheet_parts(s.src).items():
        if title not in s.changes.by_tab():
            assert after[part] == before[part], title
            continue
        old, new = cells(before[part]), cells(after[part])
        for (col, row), raw in old.items():
            if (title, col, row) in written:
                continue
            assert new.get((col, row)) == raw, (title, col, row)
            checked += 1
        extra = {k for k in new.keys() - old.keys() if (title, *k) not in written}
        assert not extra, f"cells added that the sync did not write: {sorted(extra)[:5]}"
    assert checked > 10
    # The tool columns of Leads are among the written cells; the person's columns are not.
    leads = next(t for t in sheet_parts(s.src) if t in LEADS)
    tool = tool_columns(s.dst, leads)
    assert {c for (t, c, r) in written if t == leads and r > 1} <= tool


@pytest.mark.parametrize("name", GOOD)
def test_second_sync_is_byte_identical(synced, tmp_path, name):
    again = tmp_path / name
    shutil.copyfile(synced(name).dst, again)
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
    _lo_csv([synced(n).dst for n in names], tmp_path)
    seen = 0
    for name in names:
        dst = synced(name).dst
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
    dst = synced(name).dst
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
