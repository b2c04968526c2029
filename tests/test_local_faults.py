"""Faults of a local sync, one test each: the file is fully updated or untouched, and the message says which.

Symlinks, read-only files and folders, a full disk, malformed XML, a zip that is not a
workbook, another program's save landing in the sync's save window, 1904 dates, a number
in a date-formatted cell, and two stray cells at the far ends of the grid.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
import shutil
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from sheets_crm.app.sync import sync
from sheets_crm.backends.local import files
from sheets_crm.backends.local import workbook as local
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.cli.main import app
from sheets_crm.errors import WorkbookError, WorkbookLockedError

CORPUS = Path(__file__).resolve().parent / "fixtures" / "xlsx"
TODAY = dt.date(2026, 11, 29)


def copy(name: str, folder: Path, as_name: str | None = None) -> Path:
    path = folder / (as_name or name)
    shutil.copyfile(CORPUS / name, path)
    return path


def sheet_xml(path: Path, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(part)


def cell_xml(xml: bytes, ref: str) -> bytes:
    m = re.search(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', xml, re.S)
    assert m is not None, ref
    return m.group(0)


def test_a_symlinked_workbook_is_written_where_it_really_is(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = copy("lo_basic.xlsx", real_dir, "crm.xlsx")
    link = link_dir / "my-crm.xlsx"
    link.symlink_to(real)
    result = sync(LocalWorkbook(link), today=TODAY, tz="UTC")
    assert result.written
    assert link.is_symlink() and link.resolve() == real  # the link is still a link
    assert LocalWorkbook(real).read().tabs["Leads"].cell(1, 12) == 12  # Days since contact, in the real file
    assert sorted(p.name for p in real_dir.iterdir()) == ["crm.xlsx"]  # the temp file was beside the real file


def test_the_lock_file_beside_the_real_file_is_seen_through_a_symlink(tmp_path):
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = copy("lo_basic.xlsx", real_dir, "crm.xlsx")
    link = link_dir / "my-crm.xlsx"
    link.symlink_to(real)
    (real_dir / ".~lock.crm.xlsx#").write_text("LibreOffice")
    data = real.read_bytes()
    with pytest.raises(WorkbookLockedError, match="open in Excel or LibreOffice"):
        sync(LocalWorkbook(link), today=TODAY, tz="UTC")
    assert real.read_bytes() == data


def test_a_read_only_workbook_is_refused(tmp_path):
    path = copy("lo_basic.xlsx", tmp_path)
    path.chmod(0o444)
    data = path.read_bytes()
    with pytest.raises(WorkbookError, match="is read-only; sheets-crm will not change it"):
        sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    assert path.read_bytes() == data and path.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_full_disk_leaves_the_file_untouched(tmp_path, monkeypatch):
    path = copy("excel_textbox.xlsx", tmp_path)
    data = path.read_bytes()

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", no_space)
    with pytest.raises(WorkbookError, match=r"the disk is full; the workbook was not changed") as err:
        sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    assert str(path) in str(err.value)
    assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # the temp file is gone


@pytest.mark.parametrize(
    "error, message",
    [
        (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
        (PermissionError(errno.EACCES, "Permission denied"), "no permission to write in"),
    ],
)
def test_a_read_only_folder_leaves_the_file_untouched(tmp_path, monkeypatch, error, message):
    path = copy("excel_textbox.xlsx", tmp_path)
    data = path.read_bytes()

    def refused(*args, **kwargs):
        raise error

    # As root a chmod 555 folder would still be writable: fail where the OS would.
    monkeypatch.setattr(files.tempfile, "mkstemp", refused)
    with pytest.raises(WorkbookError, match=message):
        sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    assert path.read_bytes() == data


@pytest.mark.parametrize(
    "name, message",
    [
        ("broken_sheet_xml.xlsx", "sheet 'Leads' .* is not well-formed XML"),
        ("not_a_workbook.xlsx", "a zip archive, but with no xl/workbook.xml"),
        ("not_a_zip.xlsx", "the file is not a zip archive"),
    ],
)
def test_unreadable_files_exit_1_with_one_clear_line(tmp_path, name, message):
    path = copy(name, tmp_path)
    data = path.read_bytes()
    result = CliRunner().invoke(app, ["sync", str(path), "--today", TODAY.isoformat(), "--tz", "UTC"])
    assert result.exit_code == 1, result.output
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output and str(path) in result.output
    assert path.read_bytes() == data


def test_another_programs_save_in_the_save_window_makes_the_sync_replan(tmp_path, monkeypatch):
    path = copy("lo_basic.xlsx", tmp_path)
    real_write = local.write_changes
    saves = {"n": 0}

    def write_while_someone_saves(pkg, by_tab, out, *rest):
        real_write(pkg, by_tab, out, *rest)  # our temp file is complete...
        if saves["n"] == 0:  # ...when the person's program saves the workbook
            saves["n"] += 1
            book = openpyxl.load_workbook(path)
            book["Leads"]["H2"].value = "typed while syncing"
            book.save(path)

    monkeypatch.setattr(local, "write_changes", write_while_someone_saves)
    result = sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    assert result.attempts == 2 and result.written
    tabs = LocalWorkbook(path).read().tabs
    assert tabs["Leads"].cell(1, 7) == "typed while syncing"  # their save was not overwritten
    assert tabs["Leads"].cell(1, 12) == 12  # and the re-planned sync landed on top of it


@pytest.mark.parametrize("name", ["excel_1904.xlsx", "lo_1904.xlsx"])
def test_1904_dates_are_read_and_written_in_the_workbooks_system(tmp_path, name):
    path = copy(name, tmp_path)
    before = LocalWorkbook(path).read().tabs
    plan = before["Contact Plan"]
    assert {v.year for row in plan.values[1:] for v in row if isinstance(v, dt.datetime)} == {2026}
    result = sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    assert result.written
    leads = LocalWorkbook(path).read().tabs["Leads"]
    header = [str(h) for h in leads.header]
    last = header.index("Last contact")
    rows = [r for r in range(1, leads.height) if leads.cell(r, last) is not None]
    written = [leads.cell(r, last) for r in rows]
    assert written and all(isinstance(d, dt.datetime) and d.year == 2026 for d in written)
    # openpyxl (honouring date1904) sees the same calendar dates
    ws = openpyxl.load_workbook(path)["Leads"]
    assert [ws.cell(r + 1, last + 1).value for r in rows] == written
    # the serial in the file is the 1904 one: 1462 days lower than the 1900 serial
    xml = sheet_xml(path)
    serial = int(re.search(rb"<v>(\d+)</v>", cell_xml(xml, f"I{rows[0] + 1}")).group(1))
    assert dt.date(1904, 1, 1) + dt.timedelta(days=serial) == written[0].date()
    again = path.read_bytes()
    assert sync(LocalWorkbook(path), today=TODAY, tz="UTC").changed_cells == 0
    assert path.read_bytes() == again


def test_a_number_in_a_date_formatted_cell_is_kept(tmp_path):
    path = copy("lo_number_in_date.xlsx", tmp_path)
    tabs = LocalWorkbook(path).read().tabs
    assert tabs["Contact Plan"].cell(3, 1) == 20261122  # not a date, not an error: the number as typed
    assert tabs["Leads"].cell(2, 2) == 79035554410
    before_plan = cell_xml(sheet_xml(path, "xl/worksheets/sheet2.xml"), "B4")
    before = cell_xml(sheet_xml(path), "C3")
    sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    assert cell_xml(sheet_xml(path), "C3") == before
    assert cell_xml(sheet_xml(path, "xl/worksheets/sheet2.xml"), "B4") == before_plan
    assert LocalWorkbook(path).read().tabs["Contact Plan"].cell(3, 1) == 20261122


def test_stray_cells_at_the_grid_ends_are_cheap(tmp_path):
    path = copy("excel_stray_cells.xlsx", tmp_path)
    tracemalloc.start()
    try:
        tabs = LocalWorkbook(path).read().tabs
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    leads = tabs["Leads"]
    assert leads.cell(1048575, 7) == "typed at the very bottom by mistake" and leads.cell(1, 16383) == 42
    # One pointer per row up to the last one, nothing per empty cell: a dense grid would be 17 billion cells.
    assert peak < 64 * 2**20
    size = path.stat().st_size
    assert sync(LocalWorkbook(path), today=TODAY, tz="UTC").written
    assert path.stat().st_size < size * 2  # "the file must stay tiny after a write"
    xml = sheet_xml(path)
    assert b'<c r="XFD2"' in xml and b'<c r="H1048576"' in xml


def test_library_warnings_never_reach_the_user(tmp_path):
    path = copy("excel_threaded_comments.xlsx", tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sync(LocalWorkbook(path), today=TODAY, tz="UTC").written


def test_formulas_are_recalculated_on_open_and_calc_chain_dropped(tmp_path):
    """Excel honours fullCalcOnLoad; calcChain may name a cell that no longer holds a formula (Excel would
    then offer to repair the file), so it goes with its relationship and content type; Excel rebuilds it."""
    path = copy("excel_calcchain.xlsx", tmp_path)
    sync(LocalWorkbook(path), today=TODAY, tz="UTC")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        workbook = z.read("xl/workbook.xml")
        rels = z.read("xl/_rels/workbook.xml.rels")
        types = z.read("[Content_Types].xml")
    assert "xl/calcChain.xml" not in names
    assert b"calcChain" not in rels and b"calcChain" not in types
    assert re.search(rb'<calcPr calcId="191029" fullCalcOnLoad="1"/>', workbook)
