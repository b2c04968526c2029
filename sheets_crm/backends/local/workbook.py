"""The local workbook backend: an .xlsx file through openpyxl.

Atomic by construction: changes go into the in-memory workbook, which is
saved to a temporary file beside the original and moved over it with
``os.replace``. A crash mid-save leaves the old file intact; a file that Excel
or LibreOffice holds open is refused before anything is written.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import tempfile
import zipfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as XlWorkbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula

from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.layout import TabLayout
from sheets_crm.core.model import KEEP, ChangeSet, Snapshot, TabData
from sheets_crm.errors import ConcurrentEditError, WorkbookError, WorkbookLockedError

__all__ = ["LocalWorkbook", "create_workbook", "lock_file"]

_SUFFIXES = {".xlsx", ".xlsm"}
_TOOL_NOTE = "Filled in by sheets-crm at every sync: edits here are overwritten."


def lock_file(path: Path) -> Path | None:
    """The lock file Excel or LibreOffice keeps beside an open workbook, if any."""
    name = path.name
    for candidate in (f".~lock.{name}#", f"~${name}", f"~${name[2:]}", f"~${name[1:]}"):
        lock = path.with_name(candidate)
        if lock.exists():
            return lock
    return None


def _check_unlocked(path: Path) -> None:
    lock = lock_file(path)
    if lock is not None:
        raise WorkbookLockedError(
            f"{path} is open in Excel or LibreOffice (lock file {lock.name} is present). "
            "Close it there and run again; nothing was written. If no program has it open, "
            f"delete {lock}."
        )


class LocalWorkbook(Workbook):
    """A CRM in a local .xlsx file."""

    def __init__(self, path: str | Path, *, locale: str | None = None) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.locale = locale
        self._book: XlWorkbook | None = None
        self._version: tuple[int, int] | None = None
        #: What Excel last computed for each formula cell: (tab, row, col) 1-based -> value.
        self._results: dict[tuple[str, int, int], Any] = {}

    # -- reading -----------------------------------------------------------
    def _stat(self) -> tuple[int, int]:
        st = self.path.stat()
        return (st.st_mtime_ns, st.st_size)

    def read(self, fills_for: Collection[str] = ()) -> Snapshot:
        path = self.path
        if not path.exists():
            raise WorkbookError(f"{path}: no such workbook (create one with `sheets-crm init {path}`)")
        if path.suffix.lower() not in _SUFFIXES:
            raise WorkbookError(f"{path}: not an .xlsx workbook (a Google spreadsheet needs its URL or id)")
        _check_unlocked(path)
        _refuse_unpreservable(path)
        version = self._stat()
        try:
            with _gc_paused():
                book = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
        except PermissionError:
            raise WorkbookLockedError(f"{path}: permission denied (is it open in another program?)") from None
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise WorkbookError(f"{path}: cannot open as an .xlsx workbook ({exc})") from None
        self._book, self._version = book, version
        self._results = {}
        cached: XlWorkbook | None = None
        tabs: dict[str, TabData] = {}
        for ws in book.worksheets:
            with _gc_paused():
                values, formulas, (n_rows, n_cols) = _values(ws)
            if formulas:
                # Formulas keep their text in the file; read what Excel last computed.
                cached = cached or openpyxl.load_workbook(path, data_only=True, read_only=True)
                cws = cached[ws.title]
                grid = [list(row) for row in cws.iter_rows(values_only=True)]
                for r, c in formulas:
                    values[r][c] = grid[r][c] if r < len(grid) and c < len(grid[r]) else None
                    if values[r][c] is not None:
                        self._results[(ws.title, r + 1, c + 1)] = values[r][c]
            tab = TabData(ws.title, values, grid_rows=n_rows, grid_cols=n_cols)
            if ws.title in fills_for:
                tab.fill_reader = _fill_reader(ws)
            tabs[ws.title] = tab
        if cached is not None:
            cached.close()
        return Snapshot(tabs=tabs, locale=self.locale, title=path.stem, version=version)

    # -- writing -----------------------------------------------------------
    def apply(self, changes: ChangeSet, base: Snapshot) -> None:
        if not changes:
            return
        if self._book is None:
            raise WorkbookError("apply() before read()")
        path = self.path
        _check_unlocked(path)
        if self._stat() != base.version:
            raise ConcurrentEditError(
                f"{path} was saved by another program while the sync was running; nothing was written."
            )
        book = self._book
        sheets = {ws.title: ws for ws in book.worksheets}
        _refuse_merged_targets(sheets, changes)
        with _gc_paused():
            for change in changes.changes:
                cell = sheets[change.tab].cell(change.row + 1, change.col + 1)
                if change.value is not KEEP:
                    _set_value(cell, change.value, change.number_format)
                if change.fill is not KEEP:
                    cell.fill = _fill(change.fill)
            with _keeping_formula_results(self._results):
                save_atomically(book, path)
        self._version = self._stat()


@contextmanager
def _keeping_formula_results(results: dict[tuple[str, int, int], Any]) -> Iterator[None]:
    """Save formula cells with the result Excel had computed for them.

    openpyxl writes a formula with an empty result, so the next read (ours, or any
    program that does not recalculate) would see the person's formula-made Project or
    Date as empty. While saving, formula cells we read a result for are written with
    it, as Excel itself does.
    """
    if not results:
        yield
        return
    from openpyxl.cell import _writer as cell_writer
    from openpyxl.compat import safe_string
    from openpyxl.utils.datetime import to_excel
    from openpyxl.worksheet import _writer as sheet_writer
    from openpyxl.xml.functions import Element, SubElement

    plain = sheet_writer.write_cell

    def write_cell(xf: Any, worksheet: Any, cell: Any, styled: Any = None) -> None:
        result = results.get((worksheet.title, cell.row, cell.column))
        formula = cell._value
        if result is None or cell.data_type != "f" or not isinstance(formula, str):
            return plain(xf, worksheet, cell, styled)
        _, attrs = cell_writer._set_attributes(cell, styled)
        if isinstance(result, bool):
            attrs["t"], text = "b", "1" if result else "0"
        elif isinstance(result, (int, float)):
            text = safe_string(result)
        elif isinstance(result, (dt.date, dt.datetime)):
            text = safe_string(to_excel(result))
        elif isinstance(result, str):
            attrs["t"], text = ("e" if result in ERROR_CODES else "str"), result
        else:
            return plain(xf, worksheet, cell, styled)
        el = Element("c", attrs)
        SubElement(el, "f").text = formula[1:]
        SubElement(el, "v").text = text
        xf.write(el)

    sheet_writer.write_cell = write_cell
    try:
        yield
    finally:
        sheet_writer.write_cell = plain


def _refuse_merged_targets(sheets: dict[str, Any], changes: ChangeSet) -> None:
    """A merged cell other than the top-left one cannot hold a value: stop before writing."""
    blocked: dict[str, str] = {}
    for title in {ch.tab for ch in changes.changes}:
        ws = sheets[title]
        if not ws.merged_cells.ranges:
            continue
        targets = {(ch.row + 1, ch.col + 1) for ch in changes.changes if ch.tab == title}
        for rng in ws.merged_cells.ranges:
            hit = sorted(
                (r, c)
                for r, c in targets
                if rng.min_row <= r <= rng.max_row
                and rng.min_col <= c <= rng.max_col
                and (r, c) != (rng.min_row, rng.min_col)
            )
            if hit:
                r, c = hit[0]
                name = title if title.isalnum() else "'" + title.replace("'", "''") + "'"
                blocked[f"{name}!{rng.coord}"] = f"{get_column_letter(c)}{r}"
    if blocked:
        where = "; ".join(f"{rng} is merged, and sheets-crm must write into {cell}" for rng, cell in blocked.items())
        raise WorkbookError(
            f"{where}. Unmerge those cells (they hold the tool's columns) and run again; nothing was written."
        )


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while openpyxl loads, fills or saves.

    A workbook is millions of small long-lived objects; every full collection
    triggered while they are being made walks all of them again (a third of a
    sync's time at 10k leads). Nothing here creates garbage cycles worth
    collecting early, and the collector resumes right after.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _values(ws: Any) -> tuple[list[list[Any]], list[tuple[int, int]], tuple[int, int]]:
    """The sheet's values, the (row, col) of its formula cells, and its size.

    The same rows as ``ws.iter_rows(values_only=True)`` (the rectangle from A1
    to the last used cell), read from the cells that exist: ``iter_rows``
    would create a cell object for every empty position.
    """
    cells = ws._cells
    if not cells:
        return [], [], (1, 1)  # what max_row / max_column say of an empty sheet
    n_rows = max(r for r, _ in cells)
    n_cols = max(c for _, c in cells)
    values: list[list[Any]] = [[None] * n_cols for _ in range(n_rows)]
    formulas = []
    for (r, c), cell in cells.items():
        v = cell._value
        values[r - 1][c - 1] = v
        if isinstance(v, ArrayFormula) or (isinstance(v, str) and v.startswith("=") and cell.data_type == "f"):
            formulas.append((r - 1, c - 1))
    return values, formulas, (n_rows, n_cols)


def _set_value(cell: Any, value: Any, number_format: str | None) -> None:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        if len(value) > 32767:
            # openpyxl cuts text at Excel's 32 767 characters, but keeps a longer cell it
            # read: copy such a name whole, or it never matches and is rewritten each sync.
            cell._value = value
        # openpyxl would store "=..." as a formula: a lead named "=HYPERLINK(...)"
        # must stay text.
        cell.data_type = "s"
        return
    cell.value = value
    if number_format and value is not None:
        cell.number_format = number_format  # dates as dates, counts as plain numbers


@cache
def _fill(color: str | None) -> PatternFill:
    """One shared fill object per colour (cells store only its style index)."""
    if not color:
        return PatternFill(fill_type=None)
    return PatternFill(fill_type="solid", start_color="FF" + color, end_color="FF" + color)


def _fill_reader(ws: Any):
    cells = ws._cells  # read without creating cells (ws.cell would add them)

    def reader(row: int, col: int) -> str | None:
        cell = cells.get((row + 1, col + 1))
        if cell is None or not cell.has_style:
            return None
        fill = cell.fill
        if fill is None or fill.fill_type != "solid":
            return None
        rgb = fill.fgColor.rgb if fill.fgColor is not None else None
        if not isinstance(rgb, str):
            return None  # theme/indexed colours are the person's, not ours
        return rgb[-6:].upper()

    return reader


def _refuse_unpreservable(path: Path) -> None:
    """openpyxl drops charts and images on save; never lose them silently."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise WorkbookError(f"{path}: cannot open as an .xlsx workbook ({exc})") from None
    lost = sorted({n.split("/")[1] for n in names if n.startswith(("xl/charts/", "xl/media/"))})
    if lost:
        raise WorkbookError(
            f"{path} contains {' and '.join(lost)}, which the local backend cannot preserve when it "
            "saves. Move them to another workbook (or use the Google backend); nothing was written."
        )


def save_atomically(book: XlWorkbook, path: Path) -> None:
    """Save beside the target, fsync, then rename over it."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        book.save(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        if path.exists():
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except PermissionError:
        tmp.unlink(missing_ok=True)
        raise WorkbookLockedError(
            f"{path}: cannot replace the file (is it open in another program?); nothing was written"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_workbook(path: str | Path, layout: list[TabLayout], *, overwrite: bool = False) -> Path:
    """Lay out a new, empty CRM workbook from the template layout."""
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise WorkbookError(f"{path}: the local backend writes .xlsx files; name it e.g. crm.xlsx")
    if path.exists() and not overwrite:
        raise WorkbookError(f"{path} already exists; pick another name (or pass --force to replace it)")
    book = openpyxl.Workbook()
    book.remove(book.active)
    bold = Font(bold=True)
    for tab in layout:
        ws = book.create_sheet(tab.title)
        ws.freeze_panes = ws.cell(tab.frozen_rows + 1, 1)
        for i, col in enumerate(tab.columns, start=1):
            letter = get_column_letter(i)
            cell = ws.cell(1, i, col.header)
            cell.font = bold
            color = tab.header_fill_tool if col.tool else tab.header_fill_user
            if color:
                cell.fill = _fill(color)
            if col.tool and tab.id != "calls":
                cell.comment = Comment(_TOOL_NOTE, "sheets-crm")
            ws.column_dimensions[letter].width = col.width
            body = f"{letter}2:{letter}10000"
            if col.type == "date":
                # A column style, not pre-made cells: new rows typed there get it,
                # and the sheet stays empty (appends land on row 2).
                ws.column_dimensions[letter].number_format = tab.date_format
            if col.choices:
                dv = DataValidation(
                    type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True, showErrorMessage=False
                )
                dv.add(body)
                ws.add_data_validation(dv)
            for text, color in col.highlights:
                ws.conditional_formatting.add(
                    body, CellIsRule(operator="equal", formula=[f'"{text}"'], fill=_fill(color))
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomically(book, path)
    return path
