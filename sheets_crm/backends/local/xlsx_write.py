"""Edit a workbook in place at the XML level: only the tool's cells change.

For each tab written, the worksheet XML is spliced: the ``<c>`` elements of the
changed cells are replaced (or inserted in column order, in a new ``<row>`` where
the row does not exist yet); every other byte of the part stays as it was. Text
is written as an inline string (``t="inlineStr"``): it can never be read as a
formula, and sharedStrings.xml (the person's text) is left untouched. Dates are
serial numbers in the workbook's own date system with a date number format.
New cell formats are appended to styles.xml (see :mod:`.styles`).

When the workbook has formulas, ``<calcPr fullCalcOnLoad="1">`` asks Excel and
LibreOffice to recalculate them on the next open (the cached results of the
person's formulas that read tool cells are left for them to recompute), and
calcChain.xml (Excel's cache of the formula order, which may name a tool cell
that no longer holds a formula) is removed with its relationship and content
type; Excel rebuilds it. Every other part is copied byte for byte.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from sheets_crm.backends.local import zipcopy
from sheets_crm.backends.local.newtabs import add_sheets
from sheets_crm.backends.local.styles import KEEP_FILL, StyleEditor
from sheets_crm.backends.local.xlsx_read import EPOCH_1900, Package, SheetInfo, col_index, rels_part
from sheets_crm.core.model import KEEP, CellChange, ChangeBlock
from sheets_crm.core.text import column_letter
from sheets_crm.errors import WorkbookError

__all__ = ["write_changes", "cell_ref", "merged_conflicts", "cells_of", "Parts"]

#: What one tab is asked to change: single cell changes and compact column blocks, in order
#: (a later change to the same cell wins).
Parts = Sequence[CellChange | ChangeBlock]

_P = rb"(?:[\w.-]+:)?"
_ROW = re.compile(rb"<(" + _P + rb"row)(?=[\s/>])([^>]*?)(/?)>")
_CELL = re.compile(rb"<" + _P + rb"c(?=[\s/>])([^>]*?)(?:/>|>.*?</" + _P + rb"c\s*>)", re.S)
_SHEETDATA = re.compile(rb"<((?:([\w.-]+):)?sheetData)(?=[\s/>])[^>]*?(/?)>")
_COL = re.compile(rb"<" + _P + rb"col(?=[\s/>])([^>]*?)/?>")
_DIMENSION = re.compile(rb"<" + _P + rb"dimension(?=[\s/>])[^>]*?\sref\s*=\s*[\"']([^\"']*)[\"'][^>]*>")
_MERGE = re.compile(rb"<" + _P + rb"mergeCell(?=[\s/>])[^>]*?\sref\s*=\s*[\"']([^\"']*)[\"']")
_ATTR = re.compile(rb"\s([\w:.-]+)\s*=\s*[\"']([^\"']*)[\"']")
_ROW_R = re.compile(rb"\sr\s*=\s*[\"'](\d+)[\"']")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LOOKS_ESCAPED = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


#: Asked once per cell written: a sheet has few columns, so each one's letters are worked out once.
_letters = functools.cache(column_letter)


def cell_ref(row: int, col: int) -> str:
    """0-based (row, col) → "A1"."""
    return f"{_letters(col)}{row + 1}"


def _parse_ref(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", ref.strip())
    if m is None:
        raise ValueError(ref)
    return int(m.group(2)) - 1, col_index(m.group(1).upper().encode())


def merged_conflicts(sheet_xml: bytes, targets: Iterable[tuple[int, int]]) -> list[tuple[str, str]]:
    """(merged range, cell) pairs where a target is inside a merged range but not its top-left cell."""
    ranges = []
    for m in _MERGE.finditer(sheet_xml):
        ref = m.group(1).decode()
        if ":" not in ref:
            continue
        try:
            (r1, c1), (r2, c2) = (_parse_ref(x) for x in ref.split(":", 1))
        except ValueError:
            continue
        ranges.append((ref, r1, c1, r2, c2))
    if not ranges:
        return []
    out = []
    for ref, r1, c1, r2, c2 in ranges:
        hit = sorted((r, c) for r, c in targets if r1 <= r <= r2 and c1 <= c <= c2 and (r, c) != (r1, c1))
        if hit:
            out.append((ref, cell_ref(*hit[0])))
    return out


# -- values ----------------------------------------------------------------------------------------


def _text(value: str) -> bytes:
    value = _ILLEGAL.sub("", value)
    value = _LOOKS_ESCAPED.sub(r"_x005F_\1", value)  # Excel would read "_x0041_" as "A"
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return value.encode("utf-8")


def _content(value: Any, epoch: dt.datetime, p: bytes) -> tuple[bytes | None, bytes]:
    """(t attribute, element content) for a Python value."""
    if value is None:
        return None, b""
    if isinstance(value, str):
        return b"inlineStr", b"<" + p + b"is><" + p + b't xml:space="preserve">' + _text(
            value
        ) + b"</" + p + b"t></" + p + b"is>"
    if isinstance(value, bool):
        return b"b", b"<" + p + b"v>" + (b"1" if value else b"0") + b"</" + p + b"v>"
    if isinstance(value, (dt.datetime, dt.date)):
        return None, b"<" + p + b"v>" + _serial(value, epoch).encode() + b"</" + p + b"v>"
    if isinstance(value, int):
        return None, b"<" + p + b"v>" + str(value).encode() + b"</" + p + b"v>"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise WorkbookError(f"cannot write {value!r} into a cell")
        return None, b"<" + p + b"v>" + repr(value).encode() + b"</" + p + b"v>"
    return b"inlineStr", _content(str(value), epoch, p)[1]


def _serial(value: dt.date, epoch: dt.datetime) -> str:
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    delta = value - epoch
    days = delta.days
    if epoch == EPOCH_1900 and days < 61:
        days -= 1  # before 1900-03-01 Excel counts its phantom 1900-02-29
    fraction = delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return str(days) if not fraction else repr(days + fraction)


# -- one worksheet ---------------------------------------------------------------------------------


@dataclass
class _Ctx:
    styles: StyleEditor
    epoch: dt.datetime
    prefix: bytes
    col_styles: list[tuple[int, int, int]]


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return dict(_ATTR.findall(tag))


def _col_style(ctx: _Ctx, col: int) -> int:
    for lo, hi, style in ctx.col_styles:
        if lo <= col + 1 <= hi:
            return style
    return 0


def _new_cell(ctx: _Ctx, row: int, col: int, change: CellChange, base: int, old_content: bytes | None) -> bytes:
    p = ctx.prefix
    number_format = change.number_format if change.value is not KEEP and change.value is not None else None
    fill = KEEP_FILL if change.fill is KEEP else change.fill
    style = base
    if fill is not KEEP_FILL or number_format:
        style = ctx.styles.xf_with(base, fill=fill, number_format=number_format)
    attrs = b' r="' + cell_ref(row, col).encode() + b'"'
    if style:
        attrs += b' s="' + str(style).encode() + b'"'
    if change.value is KEEP:
        return b"<" + p + b"c" + attrs + (old_content or b"/>")
    t, content = _content(change.value, ctx.epoch, p)
    if t:
        attrs += b' t="' + t + b'"'
    if not content:
        return b"<" + p + b"c" + attrs + b"/>"
    return b"<" + p + b"c" + attrs + b">" + content + b"</" + p + b"c>"


def _edit_row(
    ctx: _Ctx, xml: bytes, start: int, end: int, row: int, wanted: dict[int, CellChange], row_style: int
) -> bytes:
    """The row's content (between its tags) with the wanted cells replaced or inserted in column order."""
    out: list[bytes] = []
    pos = start
    col = -1
    todo = sorted(wanted)
    i = 0
    for m in _CELL.finditer(xml, start, end):
        found = _attrs(m.group(1))
        ref = found.get(b"r")
        col = col_index(ref.rstrip(b"0123456789")) if ref else col + 1
        while i < len(todo) and todo[i] < col:
            out.append(xml[pos : m.start()])
            pos = m.start()
            c = todo[i]
            out.append(_new_cell(ctx, row, c, wanted[c], row_style or _col_style(ctx, c), None))
            i += 1
        if i < len(todo) and todo[i] == col:
            out.append(xml[pos : m.start()])
            change = wanted[col]
            base = int(found.get(b"s", b"0") or 0)
            cell = m.group(0)
            if change.value is KEEP:
                out.append(_restyled(ctx, cell, found, row, col, change, base))
            else:
                out.append(_new_cell(ctx, row, col, change, base, None))
            pos = m.end()
            i += 1
    out.append(xml[pos:end])
    for c in todo[i:]:
        out.append(_new_cell(ctx, row, c, wanted[c], row_style or _col_style(ctx, c), None))
    return b"".join(out)


def _restyled(
    ctx: _Ctx, cell: bytes, found: dict[bytes, bytes], row: int, col: int, change: CellChange, base: int
) -> bytes:
    """A fill-only change: the same cell (value, formula, type) with another style index."""
    fill = KEEP_FILL if change.fill is KEEP else change.fill
    style = ctx.styles.xf_with(base, fill=fill, number_format=None)
    head_end = cell.index(b">") + 1
    head = cell[:head_end]
    if b"s" in found:
        head = re.sub(rb"(\ss\s*=\s*)([\"'])[^\"']*\2", rb'\g<1>"' + str(style).encode() + b'"', head, count=1)
    else:
        close = 2 if head.endswith(b"/>") else 1
        head = head[:-close] + b' s="' + str(style).encode() + b'"' + head[-close:]
    return head + cell[head_end:]


def _widen_spans(tag: bytes, cols: Iterable[int]) -> bytes:
    m = re.search(rb"\sspans\s*=\s*[\"'](\d+):(\d+)[\"']", tag)
    if m is None:
        return tag
    lo, hi = int(m.group(1)), int(m.group(2))
    cols = [c + 1 for c in cols]
    new_lo, new_hi = min([lo, *cols]), max([hi, *cols])
    if (new_lo, new_hi) == (lo, hi):
        return tag
    return tag[: m.start()] + b' spans="' + f"{new_lo}:{new_hi}".encode() + b'"' + tag[m.end() :]


def _col_styles(xml: bytes, end: int) -> list[tuple[int, int, int]]:
    """(first, last, style) of the <col> ranges: a new cell takes its column's style, as in Excel."""
    out = []
    for m in _COL.finditer(xml, 0, end):
        a = _attrs(m.group(1))
        try:
            out.append((int(a.get(b"min", b"0")), int(a.get(b"max", b"0")), int(a.get(b"style", b"0"))))
        except ValueError:
            continue
    return out


def cells_of(parts: Parts) -> Iterator[CellChange]:
    """The cell changes of ``parts`` in order, blocks expanded one cell at a time."""
    for part in parts:
        if isinstance(part, ChangeBlock):
            yield from part.cells()
        else:
            yield part


class _ByRow:
    """The changes of one tab per row, as a ``dict[row, dict[col, CellChange]]`` would give them
    (``pop``, ``in``, iteration in ascending order), without holding a cell change per cell: a first
    sync of 100k leads writes millions of plan cells, which stay in their blocks; the row's cell
    changes are made when the row is written. Three small integers per cell say where each is."""

    def __init__(self, parts: Parts) -> None:
        self.parts = list(parts)
        sizes = [len(p) if isinstance(p, ChangeBlock) else 1 for p in self.parts]
        rows = np.concatenate(
            [p.rows.astype(np.int64) if isinstance(p, ChangeBlock) else np.array([p.row], np.int64) for p in self.parts]
            or [np.zeros(0, np.int64)]
        )
        order = np.argsort(rows, kind="stable")  # within a row, the parts' order: the later change wins
        index_type = np.int32 if len(rows) < 2**31 else np.int64
        self.part = np.repeat(np.arange(len(sizes), dtype=index_type), sizes)[order]
        offsets = np.cumsum(sizes, dtype=np.int64) - np.asarray(sizes, dtype=np.int64)
        self.pos = (np.arange(len(rows), dtype=np.int64) - np.repeat(offsets, sizes))[order]
        self.pos = self.pos.astype(index_type)
        sorted_rows = rows[order]
        del rows, order
        self.rows, self.starts = np.unique(sorted_rows, return_index=True)
        self.stops = np.append(self.starts[1:], len(sorted_rows))
        self.row_list: list[int] = self.rows.tolist()
        self.taken: set[int] = set()

    def _at(self, row: int) -> int:
        rows = self.row_list
        i = bisect_left(rows, row)  # on a list: asked once per row of the sheet, 4x numpy's per-call cost
        if i < len(rows) and rows[i] == row and row not in self.taken:
            return i
        return -1

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and self._at(row) >= 0

    def __iter__(self) -> Iterator[int]:
        return (r for r in self.row_list if r not in self.taken)

    def __bool__(self) -> bool:
        return len(self.taken) < len(self.rows)

    def pop(self, row: int) -> dict[int, CellChange]:
        i = self._at(row)
        if i < 0:
            raise KeyError(row)
        self.taken.add(row)
        out: dict[int, CellChange] = {}
        for k in range(int(self.starts[i]), int(self.stops[i])):
            part = self.parts[self.part[k]]
            if isinstance(part, ChangeBlock):
                j = self.pos[k]
                out[part.col] = CellChange(part.tab, row, part.col, part.values[j], part.fills[j], part.formats[j])
            else:
                out[part.col] = part
        return out


def edit_sheet(xml: bytes, changes: Parts, styles: StyleEditor, epoch: dt.datetime, where: str) -> bytes:
    """The worksheet XML with ``changes`` applied; every other byte as it was."""
    sd = _SHEETDATA.search(xml)
    if sd is None:
        raise WorkbookError(f"{where}: the sheet has no <sheetData>; nothing was written")
    prefix = (sd.group(2) + b":") if sd.group(2) else b""
    ctx = _Ctx(styles, epoch, prefix, _col_styles(xml, sd.start()))
    by_row = _ByRow(changes)
    if sd.group(3):  # <sheetData/>: no rows at all (a tab just made: the state tab is a million lines at 100k)
        done: list[bytes | memoryview] = [xml[: sd.start()], xml[sd.start() : sd.end() - 2].rstrip() + b">"]
        rows = _Pieces(xml, memoryview(xml), done)
        rows.extend(_new_row(ctx, r, by_row.pop(r)) for r in list(by_row))
        rows.flush()
        done += [b"</" + sd.group(1) + b">", xml[sd.end() :]]
        if _DIMENSION.search(xml, 0, sd.start()) is None:
            return _widen_dimension(b"".join(done), changes)
        done[0] = _widen_dimension(xml[: sd.start()], changes)
        return b"".join(done)
    end = re.compile(rb"</" + re.escape(sd.group(1)) + rb"\s*>").search(xml, sd.end())
    if end is None:
        raise WorkbookError(f"{where}: <sheetData> is not closed; nothing was written")
    pieces = _splice_rows(ctx, xml, sd.end(), end.start(), by_row, where)
    if _DIMENSION.search(xml, 0, sd.start()) is None:  # no <dimension> before the rows: widen whatever there is
        return _widen_dimension(b"".join(pieces), changes)
    # The first piece is everything before the rows, <dimension> included: widened there, the sheet
    # (hundreds of MB at 100k leads) is joined once instead of being copied again to change one attribute.
    pieces[0] = _widen_dimension(bytes(pieces[0]), changes)
    return b"".join(pieces)


#: Pieces joined into one chunk as the sheet is spliced: a million rows are a few hundred chunks, not
#: three million small objects alive at once.
_CHUNK = 4096
#: Unchanged stretches at least this long are referenced (a memoryview), not copied, until the join.
_BIG_GAP = 1 << 16


def _splice_rows(
    ctx: _Ctx, xml: bytes, body_start: int, body_end: int, by_row: _ByRow, where: str
) -> list[bytes | memoryview]:
    """The sheet's XML as pieces to join: the rows in ``by_row`` edited (or inserted where they belong)."""
    view = memoryview(xml)
    done: list[bytes | memoryview] = [xml[:body_start]]  # the head, <dimension> in it: its own piece
    pieces = _Pieces(xml, view, done)
    pieces.extend(_splice_body(ctx, xml, body_start, body_end, by_row, where))
    pieces.flush()
    return done


class _Pieces:
    """Collects the pieces of a sheet, joining every :data:`_CHUNK` of them into ``done``."""

    def __init__(self, xml: bytes, view: memoryview, done: list[bytes | memoryview]) -> None:
        self.xml, self.view, self.done = xml, view, done
        self.pending: list[bytes | memoryview] = []

    def extend(self, items: Iterator[bytes | tuple[int, int]]) -> None:
        pending = self.pending
        for item in items:
            if isinstance(item, tuple):  # a stretch of the original sheet
                a, b = item
                if b - a >= _BIG_GAP:
                    self.flush()
                    self.done.append(self.view[a:b])
                    continue
                item = self.xml[a:b]
            pending.append(item)
            if len(pending) >= _CHUNK:
                self.flush()

    def flush(self) -> None:
        if self.pending:
            self.done.append(self.pending[0] if len(self.pending) == 1 else b"".join(self.pending))
            self.pending.clear()  # the same list: extend() holds it


def _splice_body(
    ctx: _Ctx, xml: bytes, body_start: int, body_end: int, by_row: _ByRow, where: str
) -> Iterator[bytes | tuple[int, int]]:
    """The sheet's pieces in order: new bytes, or (start, stop) of an unchanged stretch of ``xml``."""
    pending = list(by_row)  # rows to write, in order; those not in the sheet are inserted in place
    k = 0
    pos = body_start  # everything before is the first piece (see _splice_rows)
    row = -1
    row_close: dict[bytes, re.Pattern[bytes]] = {}
    for m in _ROW.finditer(xml, body_start, body_end):
        r = _ROW_R.search(m.group(2))
        row = int(r.group(1)) - 1 if r else row + 1
        while k < len(pending) and pending[k] < row:
            yield (pos, m.start())
            pos = m.start()
            yield _new_row(ctx, pending[k], by_row.pop(pending[k]))
            k += 1
        if k < len(pending) and pending[k] == row:
            k += 1
        if row not in by_row:
            continue
        wanted = by_row.pop(row)
        attrs = _attrs(m.group(2))
        row_style = int(attrs.get(b"s", b"0") or 0) if attrs.get(b"customFormat") in (b"1", b"true") else 0
        tag = _widen_spans(m.group(0), wanted)
        yield (pos, m.start())
        if m.group(3):  # <row .../>: no cells yet
            content = _edit_row(ctx, b"", 0, 0, row, wanted, row_style)
            yield tag[:-2].rstrip() + b">" + content + b"</" + m.group(1) + b">"
            pos = m.end()
            continue
        close = row_close.get(m.group(1))
        if close is None:
            close = row_close[m.group(1)] = re.compile(rb"</" + re.escape(m.group(1)) + rb"\s*>")
        row_end = close.search(xml, m.end(), body_end)
        if row_end is None:
            raise WorkbookError(f"{where}: row {row + 1} is not closed; nothing was written")
        yield tag
        yield _edit_row(ctx, xml, m.end(), row_end.start(), row, wanted, row_style)
        pos = row_end.start()
    yield (pos, body_end)
    for new_row in list(by_row):
        yield _new_row(ctx, new_row, by_row.pop(new_row))
    yield (body_end, len(xml))


def _new_row(ctx: _Ctx, row: int, wanted: dict[int, CellChange]) -> bytes:
    p = ctx.prefix
    cells = _edit_row(ctx, b"", 0, 0, row, wanted, 0)
    return b"<" + p + b'row r="' + str(row + 1).encode() + b'">' + cells + b"</" + p + b"row>"


def _written_extent(changes: Parts) -> tuple[int, int]:
    """The last row and column written with a value (not cleared, not fill only), 0 for none."""
    max_r = max_c = 0
    for part in changes:
        if isinstance(part, ChangeBlock):
            values = part.values.tolist()
            rows = part.rows.tolist()
            for i in range(len(values) - 1, -1, -1):  # rows ascend: the last one with a value is the largest
                if values[i] not in (None, KEEP):
                    max_r, max_c = max(max_r, rows[i]), max(max_c, part.col)
                    break
        elif part.value not in (None, KEEP):
            max_r, max_c = max(max_r, part.row), max(max_c, part.col)
    return max_r, max_c


def _widen_dimension(xml: bytes, changes: Parts) -> bytes:
    """Keep <dimension> covering the cells written (a reader may size its grid by it)."""
    m = _DIMENSION.search(xml)
    if m is None or not changes:
        return xml
    ref = m.group(1).decode()
    try:
        parts = [_parse_ref(x) for x in ref.split(":")]
    except ValueError:
        return xml
    (r1, c1), (r2, c2) = parts[0], parts[-1]
    last_r, last_c = _written_extent(changes)
    max_r, max_c = max(r2, last_r, 0), max(c2, last_c, 0)
    if (max_r, max_c) == (r2, c2):
        return xml
    new = f"{cell_ref(min(r1, 0) if r1 < 0 else r1, c1)}:{cell_ref(max_r, max_c)}".encode()
    start, end = m.span(1)
    return xml[:start] + new + xml[end:]


# -- the package -----------------------------------------------------------------------------------


def _full_calc_on_load(workbook_xml: bytes) -> bytes:
    m = re.search(rb"<(" + _P + rb")calcPr(?=[\s/>])[^>]*?/?>", workbook_xml)
    if m is not None:
        tag = m.group(0)
        if re.search(rb"\sfullCalcOnLoad\s*=\s*[\"'](1|true)[\"']", tag):
            return workbook_xml
        tag = re.sub(rb"\sfullCalcOnLoad\s*=\s*[\"'][^\"']*[\"']", b"", tag)
        close = 2 if tag.endswith(b"/>") else 1
        tag = tag[:-close].rstrip() + b' fullCalcOnLoad="1"' + tag[-close:]
        return workbook_xml[: m.start()] + tag + workbook_xml[m.end() :]
    root = re.search(rb"<((?:[\w.-]+:)?)workbook(?=[\s/>])", workbook_xml)
    p = root.group(1) if root else b""
    new = b"<" + p + b'calcPr fullCalcOnLoad="1"/>'
    # calcPr follows definedNames and precedes these (ECMA-376 CT_Workbook order).
    after = (
        rb"oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|webPublishing|fileRecoveryPr"
        rb"|webPublishObjects|extLst"
    )
    nxt = re.search(rb"<" + _P + rb"(?:" + after + rb")(?=[\s/>])", workbook_xml)
    if nxt is None:
        nxt = re.search(rb"</" + _P + rb"workbook\s*>", workbook_xml)
    if nxt is None:
        raise WorkbookError("workbook.xml has no closing </workbook>")
    return workbook_xml[: nxt.start()] + new + workbook_xml[nxt.start() :]


def _drop_calc_chain(pkg: Package, replace: dict[str, bytes]) -> set[str]:
    rels = rels_part(pkg.workbook_part)
    names = set(pkg.zip.namelist())
    chain = None
    if rels in names:
        text = pkg.read(rels)
        m = re.search(
            rb"<" + _P + rb"Relationship(?=[\s/>])[^>]*?Type\s*=\s*[\"'][^\"']*/calcChain[\"'][^>]*?/?>", text
        )
        if m is not None:
            target = re.search(rb"\sTarget\s*=\s*[\"']([^\"']*)[\"']", m.group(0))
            if target is not None:
                import posixpath

                t = target.group(1).decode()
                chain = (
                    t.lstrip("/")
                    if t.startswith("/")
                    else posixpath.normpath(posixpath.join(posixpath.dirname(pkg.workbook_part), t))
                )
            replace[rels] = text[: m.start()] + text[m.end() :]
    if chain is None or chain not in names:
        return set()
    if "[Content_Types].xml" in names:
        ct = pkg.read("[Content_Types].xml")
        m = re.search(
            rb"<"
            + _P
            + rb"Override(?=[\s/>])[^>]*?PartName\s*=\s*[\"']/"
            + re.escape(chain.encode())
            + rb"[\"'][^>]*?/?>",
            ct,
        )
        if m is not None:
            replace["[Content_Types].xml"] = ct[: m.start()] + ct[m.end() :]
    return {chain}


def write_changes(
    pkg: Package, by_tab: Mapping[str, Parts], out: IO[bytes], new_tabs: Mapping[str, bool] | None = None
) -> None:
    """Write the workbook with the changes applied to ``out``; ``new_tabs`` (title -> hidden) are
    created first when missing (see :mod:`.newtabs`). ``by_tab``: cell changes and/or compact
    blocks per tab (``ChangeSet.parts_by_tab()``), written without expanding the blocks whole."""
    sheets: dict[str, SheetInfo] = {s.title: s for s in pkg.sheets}
    styles = StyleEditor(pkg.read(pkg.styles_part)) if pkg.styles_part else None
    if styles is None:
        raise WorkbookError(f"{pkg.name}: the workbook has no styles part; nothing was written")
    replace: dict[str, bytes] = {}
    for title, changes in by_tab.items():
        if title not in sheets:
            continue  # a tab created below
        sheet = sheets[title]
        where = f"{pkg.name}: sheet {title!r}"
        replace[sheet.part] = edit_sheet(pkg.read(sheet.part), changes, styles, pkg.epoch, where)
    remove: set[str] = set()
    if pkg.has_formulas:
        replace[pkg.workbook_part] = _full_calc_on_load(pkg.read(pkg.workbook_part))
    remove |= _drop_calc_chain(pkg, replace)
    created = add_sheets(pkg, {t: h for t, h in (new_tabs or {}).items() if t not in sheets}, replace)
    for title, part in created.items():
        where = f"{pkg.name}: new sheet {title!r}"
        replace[part] = edit_sheet(replace[part], by_tab.get(title, []), styles, pkg.epoch, where)
    if styles.changed and pkg.styles_part:
        replace[pkg.styles_part] = styles.result()
    zipcopy.rewrite(pkg.data, out, replace, frozenset(remove))
