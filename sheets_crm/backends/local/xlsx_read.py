"""Read an .xlsx/.xlsm into a backend-neutral Snapshot, streaming, in memory proportional to the filled cells.

Each tab is handed over by columns (:meth:`TabData.from_columns`: one object array per column,
with each row's width as read), which is the form the core's readers work on.

The package (zip) is opened once from the bytes read from disk; each worksheet is
decompressed in chunks, checked for well-formedness by expat and scanned for its
``<row>``/``<c>`` elements by a regular expression (about five times faster than
``xml.etree.iterparse`` and seven than lxml on a 100 000-row sheet, see
docs/benchmarks.md). Nothing is built for empty positions: a stray cell at
XFD1048576 costs one entry, whatever ``<dimension>`` claims.

Values follow what openpyxl returned before (the core's readers rely on it):
numbers as int/float, numbers in a date-formatted cell as ``datetime`` in the
workbook's date system (1900 or 1904; a number too big to be a date stays a
number), shared/inline/rich text as ``str``, booleans, error codes as their
text, and a formula cell as its cached result.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from array import array
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

import numpy as np

from sheets_crm.backends.local.styles import Styles
from sheets_crm.core.model import TabData
from sheets_crm.core.text import column_letter
from sheets_crm.errors import WorkbookError

__all__ = ["Package", "SheetInfo", "read_tabs", "decode_text", "EPOCH_1900", "EPOCH_1904"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS = "{" + _MAIN + "}"
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_OFFICE_DOC = "/officeDocument"
EPOCH_1900 = dt.datetime(1899, 12, 30)
EPOCH_1904 = dt.datetime(1904, 1, 1)
_MAX_SERIAL = 2958466  # 10000-01-01 in the 1900 system: beyond it a number is not a date
_CHUNK = 1 << 22
_TEXT_CACHE = 200_000

#: A row start tag, or a whole cell (start tag, and its content unless it closes itself).
_TOKEN = re.compile(
    rb"<(?:[\w.-]+:)?(?:(row)|c)(?=[\s/>])([^>]*?)(?(1)/?>|(?:/>|>(.*?)</(?:[\w.-]+:)?c\s*>))",
    re.S,
)
_CATTR = re.compile(rb"\s([rst])\s*=\s*[\"']([^\"']*)[\"']")
_V = re.compile(rb"<(?:[\w.-]+:)?v(?:\s[^>]*)?>(.*?)</(?:[\w.-]+:)?v\s*>", re.S)
_F = re.compile(rb"<(?:[\w.-]+:)?f(?=[\s/>])")
_T = re.compile(rb"<(?:[\w.-]+:)?t(?:\s[^>]*)?>(.*?)</(?:[\w.-]+:)?t\s*>|<(?:[\w.-]+:)?t\s*/>", re.S)
_RPH = re.compile(rb"<(?:[\w.-]+:)?rPh(?=[\s/>]).*?</(?:[\w.-]+:)?rPh\s*>", re.S)
_SHEETDATA = re.compile(rb"<(?:[\w.-]+:)?sheetData(?=[\s/>])[^>]*?(/?)>")
_SHEETDATA_END = re.compile(rb"</(?:[\w.-]+:)?sheetData\s*>")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_PRESERVE = b'<is><t xml:space="preserve">'


def decode_text(raw: bytes) -> str:
    """XML character data (no tags) → text, as Excel reads it (entities, CR/LF, ``_xHHHH_``)."""
    text = raw.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


_COLS: dict[bytes, int] = {}


def col_index(letters: bytes) -> int:
    """b"A" → 0, b"XFD" → 16383 (cached: a sheet has few distinct columns)."""
    col = _COLS.get(letters)
    if col is None:
        col = 0
        for ch in letters.upper():
            col = col * 26 + ch - 64
        col -= 1
        _COLS[letters] = col
    return col


@dataclass
class SheetInfo:
    """One worksheet of the workbook: its tab name and zip part."""

    title: str
    part: str


@dataclass
class Package:
    """The parts of a workbook that tell where everything is."""

    name: str  # the path, for messages
    data: bytes
    zip: zipfile.ZipFile
    workbook_part: str
    sheets: list[SheetInfo]
    date1904: bool
    shared_strings_part: str | None
    styles_part: str | None
    has_formulas: bool = False
    #: sheet part -> the cells' element prefix ("" or "x:") as found at <sheetData>.
    shared: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, name: str, data: bytes) -> Package:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile:
            raise WorkbookError(
                f"{name}: cannot open as an .xlsx workbook (the file is not a zip archive); nothing was written"
            ) from None
        names = set(archive.namelist())
        workbook_part = _office_document(archive, names)
        if workbook_part is None or workbook_part not in names:
            raise WorkbookError(
                f"{name}: cannot open as an .xlsx workbook (a zip archive, but with no xl/workbook.xml in it); "
                "nothing was written"
            )
        root = _parse_small(archive, workbook_part, name)
        rels = _rels(archive, workbook_part, name)
        pr = root.find(_NS + "workbookPr")
        date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        sheets = []
        sheets_el = root.find(_NS + "sheets")
        for sheet in sheets_el if sheets_el is not None else ():
            target = rels.get(sheet.get(_R_ID, ""), (None, ""))
            if target[0] is None or not target[0].endswith("/worksheet"):
                continue  # a chartsheet or dialog sheet: not a table
            if target[1] not in names:
                raise WorkbookError(f"{name}: the workbook names a sheet part {target[1]} that is missing")
            sheets.append(SheetInfo(sheet.get("name", ""), target[1]))
        by_type = {kind.rsplit("/", 1)[-1]: part for kind, part in rels.values() if kind}
        strings = by_type.get("sharedStrings")
        styles = by_type.get("styles")
        return cls(
            name=name,
            data=data,
            zip=archive,
            workbook_part=workbook_part,
            sheets=sheets,
            date1904=date1904,
            shared_strings_part=strings if strings in names else None,
            styles_part=styles if styles in names else None,
        )

    def read(self, part: str) -> bytes:
        return self.zip.read(part)

    @property
    def epoch(self) -> dt.datetime:
        return EPOCH_1904 if self.date1904 else EPOCH_1900


def _office_document(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    if "_rels/.rels" not in names:
        return "xl/workbook.xml" if "xl/workbook.xml" in names else None
    try:
        root = ET.fromstring(archive.read("_rels/.rels"))
    except ET.ParseError:
        return None
    for rel in root.iter(_REL_NS + "Relationship"):
        if rel.get("Type", "").endswith(_OFFICE_DOC):
            return posixpath.normpath(rel.get("Target", "").lstrip("/"))
    return None


def rels_part(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _rels(archive: zipfile.ZipFile, part: str, name: str) -> dict[str, tuple[str | None, str]]:
    """Relationship id -> (type, target part) of ``part``."""
    path = rels_part(part)
    try:
        data = archive.read(path)
    except KeyError:
        return {}
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise WorkbookError(f"{name}: {path} is not well-formed XML ({exc}); nothing was written") from None
    out: dict[str, tuple[str | None, str]] = {}
    folder = posixpath.dirname(part)
    for rel in root.iter(_REL_NS + "Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (rel.get("Type"), posixpath.normpath(resolved))
    return out


def _parse_small(archive: zipfile.ZipFile, part: str, name: str) -> ET.Element:
    try:
        return ET.fromstring(archive.read(part))
    except ET.ParseError as exc:
        raise WorkbookError(f"{name}: {part} is not well-formed XML ({exc}); nothing was written") from None


def _shared_strings(pkg: Package) -> list[str]:
    if pkg.shared_strings_part is None:
        return []
    out: list[str] = []
    si, t, r, rph = _NS + "si", _NS + "t", _NS + "r", _NS + "rPh"
    try:
        with pkg.zip.open(pkg.shared_strings_part) as fh:
            for _event, el in ET.iterparse(fh, events=("end",)):
                if el.tag != si:
                    continue
                parts = []
                for child in el:
                    if child.tag == t:
                        parts.append(child.text or "")
                    elif child.tag == r:
                        parts.extend(x.text or "" for x in child.iter(t))
                    # rPh (phonetic guide) is not part of the text
                text = "".join(parts)
                if "_x" in text:
                    text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
                out.append(text)
                el.clear()
    except ET.ParseError as exc:
        raise WorkbookError(
            f"{pkg.name}: the shared strings are not well-formed XML ({exc}); nothing was written"
        ) from None
    del rph
    return out


def _chunks(pkg: Package, sheet: SheetInfo) -> Iterator[bytes]:
    """The sheet's XML in pieces that end at a row boundary, checked well-formed by expat as they come."""
    parser = expat.ParserCreate()
    carry = b""
    with pkg.zip.open(sheet.part) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            try:
                parser.Parse(chunk, not chunk)
            except expat.ExpatError as exc:
                raise WorkbookError(
                    f"{pkg.name}: sheet {sheet.title!r} ({sheet.part}) is not well-formed XML "
                    f"({expat.errors.messages[exc.code]}, line {exc.lineno}); the file was not changed. "
                    "Open and re-save it in Excel or LibreOffice to repair it."
                ) from None
            if not chunk:
                if carry:
                    yield carry
                return
            buf = carry + chunk
            cut = _last_row_end(buf)
            if cut < 0:
                carry = buf
                continue
            carry = buf[cut:]
            yield buf[:cut]


def _last_row_end(buf: bytes) -> int:
    pos = len(buf)
    while True:
        pos = buf.rfind(b"row>", 0, pos)
        if pos < 0:
            return -1
        lt = buf.rfind(b"<", 0, pos)
        if lt >= 0 and buf[lt + 1 : lt + 2] == b"/" and b">" not in buf[lt:pos]:
            return pos + 4


#: A cell in the usual shape (r, then s, then t, nothing else): groups 1-5; anything else: groups 6-8.
_FAST = re.compile(
    rb"<(?:[\w.-]+:)?c r=\"([A-Z]{1,3})(\d+)\"(?: s=\"(\d+)\")?(?: t=\"(\w+)\")?\s*(?:/>|>(.*?)</(?:[\w.-]+:)?c\s*>)"
    rb"|<(?:[\w.-]+:)?(?:(row)|c)(?=[\s/>])([^>]*?)(?(6)/?>|(?:/>|>(.*?)</(?:[\w.-]+:)?c\s*>))",
    re.S,
)


def _bodies(pieces: Iterator[bytes], where: str) -> Iterator[tuple[bytes, int, int]]:
    """(piece, start, end): the parts of the pieces that lie inside ``<sheetData>``."""
    state = 0  # 0 before <sheetData>, 1 inside, 2 after
    head = b""
    for piece in pieces:
        if state == 2:
            continue
        start, end = 0, len(piece)
        if state == 0:
            head += piece
            m = _SHEETDATA.search(head)
            if m is None:
                continue
            state = 2 if m.group(1) else 1
            if state == 2:
                continue
            piece, start, end, head = head, m.end(), len(head), b""
        close = _SHEETDATA_END.search(piece, start)
        if close is not None:
            end, state = close.start(), 2
        if b"<!--" in piece[start:end] or b"<![CDATA[" in piece[start:end]:
            raise WorkbookError(
                f"{where}: the cell data holds XML comments or CDATA sections, which sheets-crm does not "
                "read; open and re-save the workbook in Excel or LibreOffice. Nothing was written."
            )
        yield piece, start, end


def _number(raw: bytes) -> int | float:
    try:
        return int(raw)
    except ValueError:
        return float(raw)


def _as_date(value: float, epoch: dt.datetime) -> Any:
    """A serial in a date-formatted cell → datetime (time for 0 ≤ v < 1); out of range: the number."""
    if not 0 <= value < _MAX_SERIAL:
        return value
    day, fraction = divmod(value, 1)
    diff = dt.timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= value < 1 and diff.days == 0:
        return (dt.datetime.min + diff).time()
    if 0 < value < 60 and epoch == EPOCH_1900:
        day += 1  # Excel's phantom 1900-02-29
    try:
        return epoch + dt.timedelta(days=day) + diff
    except OverflowError:
        return value


@dataclass
class _Cells:
    """The filled cells of one sheet, column by column: col -> (rows, values), in the order read."""

    cols: dict[int, tuple[array[int], list[Any]]] = field(default_factory=dict)
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    formulas: int = 0
    #: The last row any cell is in (an empty cell too: it counts for the height), -1 for none.
    top: int = -1

    def dense(self) -> bool:
        """Whether columns are the compact form: a sheet whose cells fill a fair share of its box.

        A stray cell at XFD1048576 must cost one entry, not a million-row column per letter.
        """
        cells = sum(len(rows) for rows, _ in self.cols.values())
        return (self.top + 1) * len(self.cols) <= 4 * cells + 65_536

    def columns(self) -> tuple[list[np.ndarray], np.ndarray]:
        """(one object array per column, the header row included; each row's width as read)."""
        height = self.top + 1
        widths = np.zeros(height, dtype=np.int64)
        nothing = np.full(height, None, dtype=object)
        nothing.flags.writeable = False  # one shared column for every letter with no cell in it
        out = []
        for col in range(max(self.cols, default=-1) + 1):
            entry = self.cols.get(col)
            if entry is None:
                out.append(nothing)
                continue
            column = np.full(height, None, dtype=object)
            rows = np.frombuffer(entry[0], dtype=np.int64) if len(entry[0]) else np.zeros(0, dtype=np.int64)
            column[rows] = entry[1]  # a cell given twice: the later one wins, as Excel reads it
            widths[rows] = col + 1  # columns ascend: a row's last put cell sets its width
            out.append(column)
        return out, widths

    def rows(self) -> list[list[Any]]:
        """The cells as ragged rows (the sparse form); rows with nothing in them share one empty list."""
        lines: dict[int, list[Any]] = {}
        for col in sorted(self.cols):
            rows, values = self.cols[col]
            for row, value in zip(rows, values, strict=True):
                line = lines.setdefault(row, [])
                if col < len(line):
                    line[col] = value  # a cell given twice: the later one wins
                    continue
                line.extend([None] * (col - len(line)))
                line.append(value)
        empty: list[Any] = []  # never mutated
        return [lines.get(r, empty) for r in range(self.top + 1)]


def _raw(inner: bytes, t: bytes | None, cells: _Cells) -> bytes | None:
    """The value text of a cell's content (the cached result for a formula)."""
    if inner.startswith(b"<v>") and inner.endswith(b"</v>"):
        return inner[3:-4]
    if _F.search(inner):
        cells.formulas += 1
    if t == b"inlineStr":
        return b"".join(x or b"" for x in _T.findall(_RPH.sub(b"", inner)))
    m = _V.search(inner)
    return m.group(1) if m else None


@dataclass
class _Reader:
    """Turns one sheet's cells into values (the per-cell hot loop of a read)."""

    strings: list[str]
    date_xf: list[bool]
    fill_xf: list[str | None]
    epoch: dt.datetime
    want_fills: bool
    where: str
    cells: _Cells = field(default_factory=_Cells)
    #: Inline text already decoded: a plan repeats its projects, statuses and topics on every row,
    #: and one shared str per distinct text keeps the snapshot small.
    texts: dict[bytes, str] = field(default_factory=dict)
    #: Date-formatted serials already converted (a plan has a few hundred distinct days).
    dates: dict[bytes, Any] = field(default_factory=dict)

    def value(self, t: bytes, xf: int, inner: bytes, r: int, c: int) -> Any:
        if inner[:3] == b"<v>" and inner[-4:] == b"</v>":
            raw: bytes | None = inner[3:-4]
            if not t or t == b"n":
                try:
                    number: int | float = int(raw)  # type: ignore[arg-type]
                except ValueError:
                    number = float(raw) if raw else None  # type: ignore[assignment]
                if xf and number is not None and xf < len(self.date_xf) and self.date_xf[xf]:
                    day = self.dates.get(raw)  # type: ignore[arg-type]
                    if day is None:
                        day = _as_date(number, self.epoch)
                        if len(self.dates) < _TEXT_CACHE:
                            self.dates[raw] = day  # type: ignore[index]
                    return day
                return number
            if t == b"s":
                return self.strings[int(raw)]  # type: ignore[arg-type]
        elif t == b"inlineStr" and (text := self._inline(inner)) is not None:
            return text
        else:
            raw = _raw(inner, t or None, self.cells)
        if raw is None:
            return None
        try:
            return _value(raw, t or None, xf, self.strings, self.date_xf, self.epoch)
        except (ValueError, IndexError):
            raise WorkbookError(
                f"{self.where}, cell {_ref(r, c)}: unreadable value {raw[:40]!r}; nothing was written"
            ) from None

    def _inline(self, inner: bytes) -> str | None:
        """The text of ``<is><t>…</t></is>`` (or ``<t xml:space="preserve">``, as our writer puts it), else None."""
        if inner[-9:] != b"</t></is>":
            return None
        if inner[:7] == b"<is><t>":
            raw = inner[7:-9]
        elif inner[:28] == _PRESERVE:
            raw = inner[28:-9]
        else:
            return None
        if b"<" in raw:
            return None  # runs or phonetic parts: the general path
        text = self.texts.get(raw)
        if text is None:
            text = decode_text(raw)
            if len(self.texts) < _TEXT_CACHE:
                self.texts[raw] = text
        return text

    def piece(self, piece: bytes, start: int, end: int, row: int, col: int) -> tuple[int, int]:
        columns = self.cells.cols
        top = self.cells.top
        fills = self.cells.fills
        fill_xf = self.fill_xf
        want_fills = self.want_fills
        cols = _COLS
        for letters, digits, s, t, inner, is_row, attrs, ginner in _FAST.findall(piece, start, end):
            if letters:
                col = cols.get(letters, -1)
                if col < 0:
                    col = col_index(letters)
                row = int(digits) - 1
            else:
                row, col, s, t, inner, is_cell = _generic_parts(is_row, attrs, ginner, row, col)
                if not is_cell:
                    continue
            xf = int(s) if s else 0
            value = self.value(t, xf, inner, row, col) if inner else None
            if want_fills and xf:
                if xf < len(fill_xf) and fill_xf[xf]:
                    fills[(row, col)] = fill_xf[xf]  # type: ignore[assignment]
            elif value is None:
                if row > top:
                    top = row  # the row exists (it counts for the height), nothing in it to keep
                continue
            entry = columns.get(col)
            if entry is None:
                entry = columns[col] = (array("q"), [])
            entry[0].append(row)
            entry[1].append(value)
            if row > top:
                top = row
        self.cells.top = top
        return row, col


def _generic_parts(
    is_row: bytes, attrs: bytes, inner: bytes, row: int, col: int
) -> tuple[int, int, bytes, bytes, bytes, bool]:
    """A row tag or an unusually shaped cell: (row, col, s, t, inner, is_cell)."""
    found = dict(_CATTR.findall(attrs)) if attrs else {}
    if is_row:
        r = found.get(b"r")
        return (int(r) - 1 if r else row + 1), -1, b"", b"", b"", False
    ref = found.get(b"r")
    if ref:
        letters = ref.rstrip(b"0123456789")
        col = col_index(letters)
        digits = ref[len(letters) :]
        if digits:
            row = int(digits) - 1
    else:
        col += 1
    return row, col, found.get(b"s", b""), found.get(b"t", b""), inner, True


def _read_sheet(pkg: Package, sheet: SheetInfo, strings: list[str], styles: Styles, want_fills: bool) -> _Cells:
    where = f"{pkg.name}: sheet {sheet.title!r}"
    reader = _Reader(strings, styles.date_xf, styles.fill_xf, pkg.epoch, want_fills, where)
    row = col = -1
    for piece, start, end in _bodies(_chunks(pkg, sheet), where):
        row, col = reader.piece(piece, start, end, row, col)
    return reader.cells


def _value(raw: bytes, t: bytes | None, xf: int, strings: list[str], date_xf: list[bool], epoch: dt.datetime) -> Any:
    if t is None or t == b"n":
        number = _number(raw) if raw else None
        if number is not None and xf < len(date_xf) and date_xf[xf]:
            return _as_date(number, epoch)
        return number
    if t == b"s":
        return strings[int(raw)]
    if t in (b"inlineStr", b"str"):
        return decode_text(raw)
    if t == b"b":
        return raw.strip() in (b"1", b"true")
    if t == b"e":
        return decode_text(raw)
    if t == b"d":
        text = raw.decode("ascii").strip().rstrip("Z")
        return dt.datetime.fromisoformat(text) if text else None
    return decode_text(raw)


def _ref(row: int, col: int) -> str:
    return f"{column_letter(col)}{row + 1}"


def read_tabs(pkg: Package, fills_for: Collection[str]) -> dict[str, TabData]:
    """Every worksheet as TabData; fills only for the tabs in ``fills_for``."""
    strings = _shared_strings(pkg)
    styles = Styles.parse(pkg.read(pkg.styles_part) if pkg.styles_part else None, pkg.name)
    tabs: dict[str, TabData] = {}
    for sheet in pkg.sheets:
        cells = _read_sheet(pkg, sheet, strings, styles, sheet.title in fills_for)
        pkg.has_formulas = pkg.has_formulas or cells.formulas > 0
        if cells.dense():
            columns, widths = cells.columns()
            del cells.cols  # the columns hold the values now
            height, width = len(widths), int(widths.max(initial=0))
            tab = TabData.from_columns(sheet.title, columns, height, row_widths=widths)
        else:
            values = cells.rows()
            height, width = len(values), max((len(line) for line in values), default=0)
            tab = TabData(sheet.title, values)
        tab.fills, tab.grid_rows, tab.grid_cols = cells.fills, max(height, 1), max(width, 1)
        tabs[sheet.title] = tab
    return tabs
