"""``sheets-crm init`` on a workbook that exists: add what the CRM lacks, in place, and nothing else.

What to add is decided by :func:`sheets_crm.core.layout.plan_adoption` (missing tabs with
their headers, missing tool columns right of the last used column, the tool header fill, the
Status/Stage dropdowns). The cells and new tabs go through the in-place writer
(:func:`~sheets_crm.backends.local.xlsx_write.write_changes`, ``ChangeSet.new_tabs``), so every
other byte of the file stays as it was; dropdowns are one ``<dataValidation>`` each, spliced into
the worksheet XML only where the column has no validation yet (the person's own, also Excel's
x14 ones, are left alone). The save is atomic and refused while Excel or LibreOffice has the file open.

:func:`backup_copy` is the copy ``init --force`` keeps before it lays out a fresh workbook.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from pathlib import Path
from typing import IO
from xml.sax.saxutils import escape

from sheets_crm.backends.local import zipcopy
from sheets_crm.backends.local.files import check_unlocked, check_writable, read_file, real_path, write_atomically
from sheets_crm.backends.local.workbook import _refuse_merged_targets
from sheets_crm.backends.local.xlsx_read import Package, col_index, read_tabs
from sheets_crm.backends.local.xlsx_write import write_changes
from sheets_crm.core.layout import Adoption, Dropdown, plan_adoption
from sheets_crm.core.model import Snapshot
from sheets_crm.core.template import Template
from sheets_crm.core.text import TitleSet, column_letter
from sheets_crm.errors import WorkbookError

__all__ = ["adopt_workbook", "backup_copy", "has_validation", "add_validations"]

_P = rb"(?:[\w.-]+:)?"
_SHEETDATA = re.compile(rb"<(?:([\w.-]+):)?sheetData(?=[\s/>])")
_SQREF_ATTR = re.compile(rb"<" + _P + rb"dataValidation(?=[\s/>])[^>]*?\ssqref\s*=\s*[\"']([^\"']*)[\"']")
_SQREF_ELEM = re.compile(rb"<" + _P + rb"sqref\s*>([^<]*)</" + _P + rb"sqref\s*>")
_RANGE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d*)(?::\$?([A-Za-z]{1,3})\$?(\d*))?")
#: Elements a worksheet may have after <dataValidations> (ECMA-376 CT_Worksheet order).
_AFTER = (
    rb"hyperlinks|printOptions|pageMargins|pageSetup|headerFooter|rowBreaks|colBreaks|customProperties|cellWatches|"
    rb"ignoredErrors|smartTags|drawing|legacyDrawing|legacyDrawingHF|drawingHF|picture|oleObjects|controls|"
    rb"webPublishItems|tableParts|extLst"
)
_BODY_ROWS = 10000  # as a new workbook's dropdowns


def backup_copy(path: Path, now: dt.datetime | None = None) -> Path:
    """Copy the workbook beside itself as ``NAME.bak-YYYYmmdd-HHMMSS`` (never over an older copy)."""
    real = real_path(path)
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    try:
        shutil.copy2(real, target)
    except OSError as exc:
        raise WorkbookError(
            f"{path}: could not keep a copy at {target} ({exc.strerror or exc}); nothing was changed"
        ) from None
    return target


def _covered(sqref: str, row: int, col: int) -> bool:
    for piece in sqref.split():
        m = _RANGE.fullmatch(piece.strip())
        if m is None:
            continue
        c1 = col_index(m.group(1).upper().encode())
        c2 = col_index(m.group(3).upper().encode()) if m.group(3) else c1
        r1 = int(m.group(2)) - 1 if m.group(2) else 0
        r2 = int(m.group(4)) - 1 if m.group(4) else (r1 if m.group(2) and not m.group(3) else 1 << 20)
        if c1 <= col <= c2 and r1 <= row <= r2:
            return True
    return False


def has_validation(sheet_xml: bytes, row: int, col: int) -> bool:
    """Whether any data validation of the sheet (also Excel's x14 ones in extLst) covers the cell."""
    refs = [m.group(1) for m in _SQREF_ATTR.finditer(sheet_xml)] + [m.group(1) for m in _SQREF_ELEM.finditer(sheet_xml)]
    return any(_covered(ref.decode("utf-8", "replace"), row, col) for ref in refs)


def add_validations(sheet_xml: bytes, items: list[tuple[int, tuple[str, ...]]]) -> bytes:
    """The sheet with a list validation (not strict: other text stays allowed) per (column, choices),
    rows 2 down; an existing <dataValidations> gets them appended, else one is inserted in its place."""
    if not items:
        return sheet_xml
    sd = _SHEETDATA.search(sheet_xml)
    p = (sd.group(1) + b":") if sd and sd.group(1) else b""
    entries = b""
    for col, choices in items:
        letter = column_letter(col)
        formula = '"' + ",".join(c.replace('"', '""') for c in choices) + '"'
        entries += (
            b"<" + p + b'dataValidation type="list" allowBlank="1" showErrorMessage="0" '
            b'sqref="'
            + f"{letter}2:{letter}{_BODY_ROWS}".encode()
            + b'"><'
            + p
            + b"formula1>"
            + escape(formula).encode("utf-8")
            + b"</"
            + p
            + b"formula1></"
            + p
            + b"dataValidation>"
        )
    start = sd.start() if sd else 0
    existing = re.compile(rb"<" + re.escape(p) + rb"dataValidations(?=[\s/>])([^>]*?)(/?)>").search(sheet_xml, start)
    if existing is not None:
        attrs = existing.group(1)
        m = re.search(rb"\scount\s*=\s*[\"'](\d+)[\"']", attrs)
        if m is not None:
            attrs = (
                attrs[: m.start()] + b' count="' + str(int(m.group(1)) + len(items)).encode() + b'"' + attrs[m.end() :]
            )
        if existing.group(2):  # <dataValidations/>
            new = b"<" + p + b"dataValidations" + attrs + b">" + entries + b"</" + p + b"dataValidations>"
            return sheet_xml[: existing.start()] + new + sheet_xml[existing.end() :]
        close = re.compile(rb"</" + re.escape(p) + rb"dataValidations\s*>").search(sheet_xml, existing.end())
        if close is None:
            raise WorkbookError("a worksheet's <dataValidations> is not closed; nothing was written")
        head = b"<" + p + b"dataValidations" + attrs + b">"
        return (
            sheet_xml[: existing.start()]
            + head
            + sheet_xml[existing.end() : close.start()]
            + entries
            + sheet_xml[close.start() :]
        )
    block = b"<" + p + b'dataValidations count="' + str(len(items)).encode() + b'">' + entries
    block += b"</" + p + b"dataValidations>"
    nxt = re.compile(rb"<" + re.escape(p) + rb"(?:" + _AFTER + rb")(?=[\s/>])").search(sheet_xml, start)
    if nxt is None:
        nxt = re.compile(rb"</" + _P + rb"worksheet\s*>").search(sheet_xml, start)
    if nxt is None:
        raise WorkbookError("a worksheet has no closing </worksheet>; nothing was written")
    return sheet_xml[: nxt.start()] + block + sheet_xml[nxt.start() :]


def adopt_workbook(path: str | Path, template: Template, lang: str = "en") -> Adoption:
    """Add what ``path`` lacks to be a CRM, in place; returns what was added (empty: nothing written)."""
    path = Path(path)
    real = real_path(path)
    check_unlocked(real, shown=path)
    data, version = read_file(real, shown=path)
    pkg = Package.open(str(path), data)
    titles = TitleSet(name for tab in template.tabs for name in tab.names.values())
    plan = plan_adoption(template, Snapshot(tabs=read_tabs(pkg, titles), title=path.stem), lang)
    parts = {s.title: s.part for s in pkg.sheets}
    plan.dropdowns = [
        d for d in plan.dropdowns if d.tab not in parts or not has_validation(pkg.read(parts[d.tab]), 1, d.col)
    ]
    if not plan.changes.changes and not plan.changes.new_tabs and not plan.dropdowns:
        return plan
    check_writable(real, shown=path)
    by_tab = plan.changes.by_tab()
    _refuse_merged_targets(pkg, by_tab)  # a header cannot go into the middle of merged cells
    dropdowns = plan.dropdowns

    def write(out: IO[bytes]) -> None:
        buf = io.BytesIO()
        write_changes(pkg, by_tab, buf, plan.changes.new_tabs)
        written = buf.getvalue()
        if not dropdowns:
            out.write(written)
            return
        after = Package.open(str(path), written)
        replace = _with_dropdowns(after, dropdowns)
        zipcopy.rewrite(written, out, replace)

    write_atomically(real, write, expected=version, shown=path)
    return plan


def _with_dropdowns(pkg: Package, dropdowns: list[Dropdown]) -> dict[str, bytes]:
    parts = {s.title: s.part for s in pkg.sheets}
    per_tab: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for d in dropdowns:
        per_tab.setdefault(d.tab, []).append((d.col, d.choices))
    return {parts[title]: add_validations(pkg.read(parts[title]), items) for title, items in per_tab.items()}
