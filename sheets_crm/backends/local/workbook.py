"""The local workbook backend: an .xlsx/.xlsm file on disk, edited in place.

Reading streams the package into a Snapshot (:mod:`.xlsx_read`); writing splices
only the tool's cells into the worksheet XML and copies every other part of the
file byte for byte (:mod:`.xlsx_write`), saved atomically at the file's real
location (:mod:`.files`). openpyxl is used only to lay out *new* workbooks
(``sheets-crm init``, the demo): there is no person's content to preserve yet,
and its styling API keeps that layout short and readable.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from sheets_crm.backends.local.files import (
    check_unlocked,
    check_writable,
    identity,
    lock_file,
    read_file,
    real_path,
    save_atomically,
    write_atomically,
)
from sheets_crm.backends.local.xlsx_read import Package, read_tabs
from sheets_crm.backends.local.xlsx_write import Parts, cells_of, merged_conflicts, write_changes
from sheets_crm.backends.protocol import ChangeToken, Workbook
from sheets_crm.core.layout import TabLayout
from sheets_crm.core.model import ChangeSet, Snapshot
from sheets_crm.errors import ConcurrentEditError, WorkbookError

__all__ = ["LocalWorkbook", "create_workbook", "lock_file", "save_atomically"]

_SUFFIXES = {".xlsx", ".xlsm"}
_TOOL_NOTE = "Filled in by sheets-crm at every sync: edits here are overwritten."


class LocalWorkbook(Workbook):
    """A CRM in a local .xlsx/.xlsm file."""

    def __init__(self, path: str | Path, *, locale: str | None = None) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.locale = locale
        self._pkg: Package | None = None

    def _real(self) -> Path:
        """The file itself (a symlink is followed: the link stays, the file it names is written)."""
        return real_path(self.path)

    def _check_unlocked(self, real: Path) -> None:
        check_unlocked(real, shown=self.path)
        if real.parent != self.path.parent or real.name != self.path.name:
            check_unlocked(self.path, shown=self.path)

    # -- reading -----------------------------------------------------------
    def read(self, fills_for: Collection[str] = ()) -> Snapshot:
        path = self.path
        if not path.exists():
            raise WorkbookError(f"{path}: no such workbook (create one with `sheets-crm init {path}`)")
        if path.suffix.lower() not in _SUFFIXES:
            raise WorkbookError(f"{path}: not an .xlsx workbook (a Google spreadsheet needs its URL or id)")
        real = self._real()
        # No lock-file check here: reading what Excel or LibreOffice last saved is safe, so read-only
        # commands (today, doctor, export-ics, digest, card) work while the workbook is open; apply() refuses.
        data, version = read_file(real, shown=path)
        pkg = Package.open(self.name, data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nothing a library says may reach the user raw
            tabs = read_tabs(pkg, fills_for)
        self._pkg = pkg
        return Snapshot(tabs=tabs, locale=self.locale, title=path.stem, version=version)

    # -- writing -----------------------------------------------------------
    def apply(self, changes: ChangeSet, base: Snapshot) -> None:
        if not changes:
            return
        pkg = self._pkg
        if pkg is None:
            raise WorkbookError("apply() before read()")
        real = self._real()
        self._check_unlocked(real)
        try:
            now = identity(real.stat())
        except FileNotFoundError:
            now = None
        if now != base.version:
            raise ConcurrentEditError(
                f"{self.path} was saved by another program while the sync was running; nothing was written."
            )
        check_writable(real, shown=self.path)
        by_tab = changes.parts_by_tab()  # the diff's column blocks stay compact (millions of cells at 100k leads)
        _refuse_merged_targets(pkg, by_tab)
        new_tabs = changes.new_tabs
        write_atomically(
            real, lambda out: write_changes(pkg, by_tab, out, new_tabs), expected=base.version, shown=self.path
        )
        self._pkg = None  # the file moved on: a next apply needs a new read

    # -- watching (`sheets-crm watch`) ---------------------------------------
    def change_token(self) -> ChangeToken:
        """The real file's (inode, size, mtime) — any save changes one — and whether it is open
        (Excel's or LibreOffice's lock file: the person is still editing, so wait until it is closed)."""
        real = self._real()
        busy = lock_file(real) is not None or lock_file(self.path) is not None
        try:
            st = real.stat()
        except FileNotFoundError:  # mid-save by a program that deletes, then renames: look again later
            return ChangeToken(None, busy=True, shown="missing")
        saved = dt.datetime.fromtimestamp(st.st_mtime).isoformat(sep=" ", timespec="seconds")
        shown = f"{st.st_size} bytes, saved {saved}" + (", open in another program" if busy else "")
        return ChangeToken(identity(st), busy=busy, shown=shown)


def _refuse_merged_targets(pkg: Package, by_tab: Mapping[str, Parts]) -> None:
    """A merged cell other than the top-left one cannot hold a value: stop before writing."""
    parts = {s.title: s.part for s in pkg.sheets}
    blocked: list[str] = []
    for title, changes in by_tab.items():
        if title not in parts:
            continue  # a tab the write creates
        xml = pkg.read(parts[title])
        if b"mergeCell" not in xml:
            continue
        name = title if title.isalnum() else "'" + title.replace("'", "''") + "'"
        for rng, cell in merged_conflicts(xml, {(ch.row, ch.col) for ch in cells_of(changes)}):
            blocked.append(f"{name}!{rng} is merged, and sheets-crm must write into {cell}")
    if blocked:
        raise WorkbookError(
            f"{'; '.join(blocked)}. Unmerge those cells (they hold the tool's columns) and run again; "
            "nothing was written."
        )


@cache
def _fill(color: str | None) -> Any:
    """One shared openpyxl fill per colour (new workbooks only)."""
    from openpyxl.styles import PatternFill

    if not color:
        return PatternFill(fill_type=None)
    return PatternFill(fill_type="solid", start_color="FF" + color, end_color="FF" + color)


#: ECMA-376 ST_PaperSize codes
_PAPER_SIZE = {"letter": 1, "A4": 9}


def _page_setup(ws: Any, tab: TabLayout) -> None:
    """Printing: landscape, every column on one page wide (as many pages down as it takes), and the
    header row repeated at the top of each page (the ``_xlnm.Print_Titles`` defined name)."""
    from openpyxl.worksheet.properties import PageSetupProperties

    ws.page_setup.paperSize = _PAPER_SIZE.get(tab.paper, 9)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # 0: no limit on pages down
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"1:{tab.frozen_rows}"


def create_workbook(path: str | Path, layout: list[TabLayout], *, overwrite: bool = False) -> Path:
    """Lay out a new, empty CRM workbook from the template layout."""
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise WorkbookError(f"{path}: the local backend writes .xlsx files; name it e.g. crm.xlsx")
    if path.exists() and not overwrite:
        raise WorkbookError(f"{path} already exists; pick another name (or pass --force to replace it)")
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = openpyxl.Workbook()
    for sheet in list(book.worksheets):  # the default "Sheet"
        book.remove(sheet)
    bold = Font(bold=True)
    for tab in layout:
        ws = book.create_sheet(tab.title)
        ws.freeze_panes = ws.cell(tab.frozen_rows + 1, 1)
        _page_setup(ws, tab)
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
                    body,
                    CellIsRule(  # type: ignore[no-untyped-call]
                        operator="equal", formula=[f'"{text}"'], fill=_fill(color)
                    ),
                )
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomically(book, path)
    return path
