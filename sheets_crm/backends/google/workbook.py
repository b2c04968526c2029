"""The Google Sheets backend: a live spreadsheet through gspread's HTTP client.

Requests per sync are constant, whatever the size of the sheet:

* ``read()`` (see :meth:`GoogleWorkbook.read`): the tabs' properties and conditional formats (no cell),
  one ``values.batchGet`` of the CRM's tabs (values unformatted, dates as serial day numbers, only the
  rows and columns in use), and Calls Today's colours over its used cells.
* :meth:`GoogleWorkbook.prepare` keeps Days since contact and the freshness colour live in the sheet
  (:mod:`~sheets_crm.backends.google.live`): one ``FORMULA`` read when some Days since values are off.
* ``apply()`` makes **one** guard read — a ``values:batchGet`` of exactly the
  cells the write depends on (the header rows, the Leads key column, and the
  cells about to be written) — and then **one** ``spreadsheets.batchUpdate``
  carrying values and colours together, so Google applies all of it or none
  of it. Nothing is sent when there is nothing to change.

If a person moved rows, sorted, renamed a tab or typed into a cell we are about
to write between our read and our write, the guard sees it and raises
:class:`~sheets_crm.errors.ConcurrentEditError`; the sync re-reads and
re-plans. Google offers no conditional write, so an edit in the instant
between the guard read and the write cannot be stopped; instead the write's
own reply (``responseRanges``, no extra request) carries the headers and the
Leads key column *after* the write, and if they moved the sync re-reads and
re-plans (:class:`ConcurrentEditError` with ``outcome = "updated"``). A value
typed into a tool cell in that instant is still overwritten unread.

Only if one write would exceed Google's recommended 2 MB is it split into
several ``batchUpdate`` calls; that is logged, counted in :meth:`stats`
(``write_batches``), and no longer atomic. The requests are built, packed and
sent a batch at a time, so a big write never sits in memory whole. A write that
would grow the spreadsheet past Google's 10-million-cell limit is not sent at all.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import requests
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

from sheets_crm.backends.google.colors import color_to_hex, hex_to_color
from sheets_crm.backends.google.http import BadRequestError, CrmHTTPClient, RetryPolicy, body_size
from sheets_crm.backends.google.live import days_formula, freshness_rules, rules_in_place, rules_requests
from sheets_crm.backends.google.newtabs import add_sheet_requests
from sheets_crm.backends.google.target import spreadsheet_id, spreadsheet_url
from sheets_crm.backends.google.watching import workbook_change_token
from sheets_crm.backends.protocol import LiveColumns, Workbook
from sheets_crm.core.dates import EPOCH
from sheets_crm.core.ledger import STATE_TITLE
from sheets_crm.core.model import KEEP, CellChange, ChangeSet, Issue, Snapshot, TabData
from sheets_crm.core.text import column_letter
from sheets_crm.errors import ConcurrentEditError, GoogleError, WorkbookError, WriteInDoubtError, WriteOutcome

__all__ = [
    "GoogleWorkbook",
    "spreadsheet_id",
    "spreadsheet_url",
    "color_to_hex",
    "hex_to_color",
    "a1_range",
    "column_letter",
    "index_runs",
    "MAX_PAYLOAD",
]

log = logging.getLogger("sheets_crm.google")

#: Google's recommended maximum request payload.
MAX_PAYLOAD = 2_000_000
#: Google's limit of cells (blank ones included) in one spreadsheet, every tab's grid counted.
CELL_LIMIT = 10_000_000

#: The first read: the spreadsheet's properties, each tab's id, title and grid size, and its
#: conditional-format rules (to see our freshness rules) — no cell at all, whatever the tabs hold.
META_FIELDS = (
    "spreadsheetId,properties(title,timeZone,locale),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),conditionalFormats(ranges,booleanRule))"
)

#: How many times read() starts again when a tab changed shape between its requests.
READ_ATTEMPTS = 3

#: Background colours of the cells in ``ranges`` (a spreadsheets.get with includeGridData).
FILL_FIELDS_READ = (
    "sheets(properties(title),data(startRow,startColumn,rowData(values(userEnteredFormat/backgroundColor))))"
)

#: What the post-write check needs from a batchUpdate's reply: the grid data of the
#: ``responseRanges`` (headers, Leads key column) as they are after the write.
AFTER_WRITE_FIELDS = (
    "replies,updatedSpreadsheet(sheets(properties(sheetId,title),"
    "data(startRow,startColumn,rowData(values(effectiveValue)))))"
)

_VALUE_PARAMS = {
    "majorDimension": "ROWS",
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
}

# What UNFORMATTED_VALUE renders for each ErrorValue type.
_ERROR_TEXT = {
    "ERROR": "#ERROR!",
    "NULL_VALUE": "#NULL!",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "REF": "#REF!",
    "NAME": "#NAME?",
    "NUM": "#NUM!",
    "N_A": "#N/A",
    "LOADING": "Loading...",
}


# -- ids, URLs, A1 -----------------------------------------------------------


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def a1_range(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    """0-based inclusive corners → ``'Tab'!A1:C5``."""
    return f"{quote_title(title)}!{column_letter(col0)}{row0 + 1}:{column_letter(col1)}{row1 + 1}"


# -- colours ---------------------------------------------------------------------


# -- cell values -----------------------------------------------------------------


def _effective(cell: dict[str, Any]) -> Any:
    ev = cell.get("effectiveValue")
    if not ev:
        return None
    if "stringValue" in ev:
        return ev["stringValue"]
    if "numberValue" in ev:
        return ev["numberValue"]
    if "boolValue" in ev:
        return ev["boolValue"]
    if "errorValue" in ev:
        return _ERROR_TEXT.get(ev["errorValue"].get("type", ""), "#ERROR!")
    return None


def _serial(value: dt.date) -> float | int:
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - dt.datetime.combine(EPOCH, dt.time())
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000
    return (value - EPOCH).days


def extended_value(value: Any) -> dict[str, Any] | None:
    """A Python value → Google's ExtendedValue. Text is always ``stringValue``:
    a lead named ``=IMPORTXML(...)`` stays text, never a formula."""
    if value is None:
        return None
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, dt.date):
        return {"numberValue": _serial(value)}
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return {"numberValue": value}
    text = str(value)
    return {"stringValue": text} if text else None


def _number_format(value: Any, pattern: str) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        kind = "DATE_TIME"
    elif isinstance(value, dt.date):
        kind = "DATE"
    else:
        kind = "NUMBER"
    return {"type": kind, "pattern": pattern}


def _same_raw(expected: Any, actual: Any) -> bool:
    """Is a cell read now the same as it was at the snapshot? (guard check)"""
    if expected == "":
        expected = None
    if actual == "":
        actual = None
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and bool(expected == actual)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    if isinstance(expected, dt.date):
        return isinstance(actual, (int, float)) and float(actual) == float(_serial(expected))
    return bool(expected == actual)


# -- the write ---------------------------------------------------------------------

#: Field mask of the values layer. Number formats are laid per column (one ``repeatCell`` per tool
#: column written to), not per cell: at 1k leads per-cell formats were a quarter of the payload.
VALUE_FIELDS = "userEnteredValue"
FORMAT_FIELDS = "userEnteredFormat.numberFormat"
#: Requests that set cells to absolute values: sending one twice is the same as once.
#: Anything else (appendDimension, addConditionalFormatRule...) is not re-sent blindly.
IDEMPOTENT_REQUESTS = frozenset({"updateCells", "repeatCell", "updateSheetProperties", "updateDimensionProperties"})
FILL_FIELDS = "userEnteredFormat.backgroundColor"


@dataclass(frozen=True)
class Formula:
    """A cell value that is a formula we lay down (never a person's text: that is always ``stringValue``).

    ``fill_down``: ``text`` is the formula of its own row in a column of the same formula with relative
    references (Days since contact): consecutive such cells of one column are sent as **one**
    ``repeatCell`` carrying the top cell's formula, which Google increments row by row like a fill-down
    ("the formula's ranges will automatically increment for each field in the range", Sheets API
    reference for RepeatCellRequest) — constant bytes however many rows."""

    text: str
    fill_down: bool = False


class GoogleChangeSet(ChangeSet):
    """A change set plus whole requests the backend lays down itself (conditional-format rules)."""

    def __init__(self, base: ChangeSet, requests: list[dict[str, Any]]) -> None:
        super().__init__(**{f.name: getattr(base, f.name) for f in fields(base)})
        self.requests = requests

    def __bool__(self) -> bool:
        return bool(self.changes or self.requests)


def _value_cell(change: CellChange) -> dict[str, Any]:
    if isinstance(change.value, Formula):
        return {"userEnteredValue": {"formulaValue": change.value.text}}
    ev = extended_value(change.value)
    return {"userEnteredValue": ev} if ev is not None else {}


def _merge(changes: Iterable[CellChange]) -> dict[tuple[str, int, int], CellChange]:
    """One change per cell (a later change's parts win)."""
    out: dict[tuple[str, int, int], CellChange] = {}
    for ch in changes:
        key = (ch.tab, ch.row, ch.col)
        prev = out.get(key)
        if prev is not None:
            ch = CellChange(
                ch.tab,
                ch.row,
                ch.col,
                value=ch.value if ch.value is not KEEP else prev.value,
                fill=ch.fill if ch.fill is not KEEP else prev.fill,
                number_format=ch.number_format if ch.value is not KEEP else prev.number_format,
            )
        out[key] = ch
    return out


def _grow(tab: TabData, changes: list[CellChange]) -> list[dict[str, Any]]:
    """appendDimension requests for changes past the grid."""
    out = []
    max_row = max(ch.row for ch in changes)
    max_col = max(ch.col for ch in changes)
    for dimension, need, have in (("ROWS", max_row + 1, tab.grid_rows), ("COLUMNS", max_col + 1, tab.grid_cols)):
        if have and need > have:
            out.append({"appendDimension": {"sheetId": tab.ref, "dimension": dimension, "length": need - have}})
    return out


def _column_formats(tab: TabData, changes: list[CellChange]) -> list[dict[str, Any]]:
    """One ``repeatCell`` per tool column written to, laying its number format over the whole column."""
    formats: dict[int, dict[str, str]] = {}
    for ch in changes:
        if ch.value is not KEEP and ch.number_format and ch.col not in formats and ch.value is not None:
            value = 0 if isinstance(ch.value, Formula) else ch.value
            formats[ch.col] = _number_format(value, ch.number_format)
    rows = max([tab.grid_rows] + [ch.row + 1 for ch in changes])
    return [
        {
            "repeatCell": {
                "range": _grid_range(tab.ref, 1, rows, col, col + 1),
                "cell": {"userEnteredFormat": {"numberFormat": fmt}},
                "fields": FORMAT_FIELDS,
            }
        }
        for col, fmt in sorted(formats.items())
    ]


def index_runs(indexes: Iterable[int]) -> list[tuple[int, int]]:
    """Ascending indexes as (first, last) pairs of consecutive stretches, ends included:
    one grid range per stretch of tool columns."""
    runs: list[tuple[int, int]] = []
    for i in indexes:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def _grid_range(sheet_id: Any, r0: int, r1: int, c0: int, c1: int) -> dict[str, Any]:
    return {"sheetId": sheet_id, "startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}


def build_update_requests(changes: ChangeSet, base: Snapshot) -> list[dict[str, Any]]:
    """The change set as ``batchUpdate`` requests (all of them: see :func:`iter_update_requests`)."""
    return list(iter_update_requests(changes, base))


#: Rows per ``updateCells`` request: a tall rectangle is sent as several requests of at most this many
#: rows (in the same batch), so the requests can be built, encoded and sent a batch at a time.
ROWS_PER_REQUEST = 1000


def iter_update_requests(changes: ChangeSet, base: Snapshot) -> Iterator[dict[str, Any]]:
    """The change set as ``batchUpdate`` requests, in layers, built as they are consumed (a first sync of
    100k leads is hundreds of MB of requests: only the batch being sent is held in memory):

    * grid growth (``appendDimension``) first;
    * values: ``updateCells`` over rectangles of adjacent changed cells
      (``userEnteredValue`` only; text always ``stringValue``, our own
      :class:`Formula` values ``formulaValue``), and one ``repeatCell`` per run
      of :attr:`Formula.fill_down` formulas;
    * number formats: one ``repeatCell`` per tool column written to;
    * colours: one ``repeatCell`` per rectangle of one colour (a Calls Today
      section), so a colour is sent once, not once per cell;
    * whole requests of a :class:`GoogleChangeSet` (conditional-format rules) last.
    """
    before = sum(t.grid_rows * t.grid_cols for t in base.tabs.values())
    adds, base = add_sheet_requests(changes, base)  # the tool's own tabs, when missing (issue 11)
    merged = _merge(changes.changes)
    by_tab: dict[str, list[CellChange]] = {}
    for ch in merged.values():
        by_tab.setdefault(ch.tab, []).append(ch)
    del merged
    grow: list[dict[str, Any]] = []
    formats: list[dict[str, Any]] = []
    fills: list[dict[str, Any]] = []
    for title, tab_changes in by_tab.items():
        tab = _tab(base, title)
        grow.extend(_grow(tab, tab_changes))
        formats.extend(_column_formats(tab, tab_changes))
        painted = [(ch.row, ch.col, (ch.fill or "").upper() or None, ch) for ch in tab_changes if ch.fill is not KEEP]
        for r0, c0, color, rows in _rects(painted):
            cell = {"userEnteredFormat": {"backgroundColor": hex_to_color(color)}} if color else {}
            fills.append(
                {
                    "repeatCell": {
                        "range": _grid_range(tab.ref, r0, r0 + len(rows), c0, c0 + len(rows[0])),
                        "cell": cell,
                        "fields": FILL_FIELDS,
                    }
                }
            )
    _check_cell_limit(before, base, grow)
    yield from adds
    yield from grow
    for title, tab_changes in by_tab.items():
        yield from _value_requests(_tab(base, title).ref, tab_changes)
    yield from formats
    yield from fills
    if isinstance(changes, GoogleChangeSet):
        yield from changes.requests


def _check_cell_limit(before: int, base: Snapshot, grow: list[dict[str, Any]]) -> None:
    """Stop before writing when the grids would grow past Google's 10-million-cell limit: Google would
    refuse the write (and a write split in several parts could land half-way). ``before``: the cells
    now; ``base`` holds the tabs this write adds too; ``grow`` are its appendDimension requests. A write
    that does not grow the grid is never stopped, even in a spreadsheet already over the limit."""
    size = {t.ref: [t.grid_rows, t.grid_cols] for t in base.tabs.values()}
    for req in grow:
        spec = req["appendDimension"]
        size[spec["sheetId"]][0 if spec["dimension"] == "ROWS" else 1] += spec["length"]
    after = sum(rows * cols for rows, cols in size.values())
    if after > CELL_LIMIT and after > before:
        raise WorkbookError(
            f"This sync needs to grow the spreadsheet to {after:,} cells, over Google's limit of {CELL_LIMIT:,} "
            f"cells per spreadsheet (every tab's rows × columns count, empty ones too). Delete unused rows and "
            "columns, or move old Contact Plan rows to another spreadsheet, then sync again.",
            outcome=WriteOutcome.UNTOUCHED,
        )


def _value_requests(sheet_id: Any, tab_changes: list[CellChange]) -> Iterator[dict[str, Any]]:
    filled = [ch for ch in tab_changes if isinstance(ch.value, Formula) and ch.value.fill_down]
    yield from _fill_down(sheet_id, filled)
    taken = {id(ch) for ch in filled}
    plain = [(ch.row, ch.col, None, ch) for ch in tab_changes if ch.value is not KEEP and id(ch) not in taken]
    for r0, c0, _key, rows in _rects(plain):
        for top in range(0, len(rows), ROWS_PER_REQUEST):
            yield {
                "updateCells": {
                    "start": {"sheetId": sheet_id, "rowIndex": r0 + top, "columnIndex": c0},
                    "rows": [
                        {"values": [_value_cell(ch) for ch in line]} for line in rows[top : top + ROWS_PER_REQUEST]
                    ],
                    "fields": VALUE_FIELDS,
                }
            }


def _fill_down(sheet_id: Any, cells: list[CellChange]) -> list[dict[str, Any]]:
    """One ``repeatCell`` per run of consecutive rows of one column holding :attr:`Formula.fill_down`
    formulas: the run's top formula, which Google increments for each row below it."""
    out: list[dict[str, Any]] = []
    by_col: dict[int, list[CellChange]] = {}
    for ch in cells:
        by_col.setdefault(ch.col, []).append(ch)
    for col, column in sorted(by_col.items()):
        column.sort(key=lambda ch: ch.row)
        runs: list[list[CellChange]] = []
        for ch in column:
            if runs and runs[-1][-1].row == ch.row - 1:
                runs[-1].append(ch)
            else:
                runs.append([ch])
        for run in runs:
            top = run[0].value
            assert isinstance(top, Formula)
            out.append(
                {
                    "repeatCell": {
                        "range": _grid_range(sheet_id, run[0].row, run[-1].row + 1, col, col + 1),
                        "cell": {"userEnteredValue": {"formulaValue": top.text}},
                        "fields": VALUE_FIELDS,
                    }
                }
            )
    return out


def _tab(base: Snapshot, title: str) -> TabData:
    tab = base.tabs.get(title)
    if tab is None or tab.ref is None:
        raise WorkbookError(f"internal: change for tab {title!r} which the snapshot does not have")
    return tab


def _rects(cells: list[tuple[int, int, Any, Any]]) -> list[tuple[int, int, Any, list[list[Any]]]]:
    """Group (row, col, key, item) into rectangles of equal key: runs of adjacent
    columns in a row, stacked over consecutive rows with the same span.
    Returns (top row, left col, key, rows of items)."""
    by_row: dict[int, list[tuple[int, Any, Any]]] = {}
    for r, c, key, item in cells:
        by_row.setdefault(r, []).append((c, key, item))
    open_rects: dict[tuple[int, int, Any], dict[str, Any]] = {}
    rects: list[dict[str, Any]] = []
    for r in sorted(by_row):
        line = sorted(by_row[r], key=lambda t: t[0])
        runs: list[list[tuple[int, Any, Any]]] = [[line[0]]]
        for entry in line[1:]:
            last = runs[-1][-1]
            if entry[0] == last[0] + 1 and entry[1] == last[1]:
                runs[-1].append(entry)
            else:
                runs.append([entry])
        for run in runs:
            span = (run[0][0], run[-1][0], run[0][1])
            rect = open_rects.get(span)
            if rect is None or rect["last"] != r - 1:
                rect = {"row": r, "col": run[0][0], "key": run[0][1], "rows": [], "last": r}
                open_rects[span] = rect
                rects.append(rect)
            rect["rows"].append([item for _, _, item in run])
            rect["last"] = r
    return [(x["row"], x["col"], x["key"], x["rows"]) for x in rects]


def split_requests(requests_: Iterable[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """Pack requests into batches whose JSON body stays under ``limit`` bytes;
    an ``updateCells`` block too big on its own is cut by rows."""
    return list(iter_batches(requests_, limit))


def iter_batches(requests_: Iterable[dict[str, Any]], limit: int) -> Iterator[list[dict[str, Any]]]:
    """:func:`split_requests` as the requests come: each batch is yielded once full (or at the end),
    so a caller holds one batch at a time. Each request is measured once, on its own (no encoding
    of the whole body)."""
    empty = body_size({"requests": []})
    batch: list[dict[str, Any]] = []
    size = empty
    for req in requests_:
        for piece, piece_size in _cut(req, limit):
            extra = piece_size + 1
            if batch and size + extra > limit:
                yield batch
                batch, size = [], empty
            batch.append(piece)
            size += extra
    if batch:
        yield batch


def _cut(req: dict[str, Any], limit: int) -> list[tuple[dict[str, Any], int]]:
    """``req`` and its size in bytes — or, for an ``updateCells`` too big for one batch, its halves (by rows)."""
    size = body_size(req)
    upd = req.get("updateCells")
    if upd is None or "rows" not in upd or len(upd["rows"]) < 2 or size + body_size({"requests": []}) + 1 <= limit:
        return [(req, size)]
    half = len(upd["rows"]) // 2
    start = upd["start"]
    first = {"updateCells": {**upd, "rows": upd["rows"][:half]}}
    second = {
        "updateCells": {**upd, "rows": upd["rows"][half:], "start": {**start, "rowIndex": start["rowIndex"] + half}}
    }
    return _cut(first, limit) + _cut(second, limit)


# -- the workbook ---------------------------------------------------------------------


class GoogleWorkbook(Workbook):
    """A CRM in a Google spreadsheet.

    Days since contact and the freshness colour are kept live by the sheet itself
    (:attr:`computes`; see :mod:`~sheets_crm.backends.google.live`).

    Build it with :meth:`open` (finds the credentials), or directly with an
    ``http`` client / a ``session`` (tests mount the offline stand-in on a
    :class:`requests.Session`).
    """

    def __init__(
        self,
        spreadsheet: str,
        *,
        http: CrmHTTPClient | None = None,
        session: requests.Session | None = None,
        account_email: str | None = None,
        account_kind: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Any = None,
        max_payload: int = MAX_PAYLOAD,
        locale: str | None = None,
        guard: bool = True,
    ) -> None:
        self.computes = frozenset({"days_since", "freshness"})
        self.id = spreadsheet_id(spreadsheet)
        self.name = self.id
        self.url = spreadsheet_url(self.id)
        if http is None:
            http = CrmHTTPClient(
                None,
                session or requests.Session(),
                account_email=account_email,
                account_kind=account_kind,
                policy=policy,
                sleep=sleep,
            )
        self.http = http
        self.max_payload = max_payload
        #: Overrides the spreadsheet's own locale for text dates (``--locale``).
        self.locale = locale
        self.guard = guard
        self.write_batches = 0
        self.split_writes = 0
        self.guard_reads = 0
        self._focus: Collection[str] | None = None
        #: Conditional-format rules per tab (by sheetId), as last read.
        self._rules: dict[Any, list[dict[str, Any]]] = {}

    @classmethod
    def open(
        cls, target: str, *, credentials: str | None = None, allow_login: bool = False, **options: Any
    ) -> GoogleWorkbook:
        """Open a spreadsheet by URL or id with the credentials found (see
        :func:`~sheets_crm.backends.google.auth.load_account`). A browser login
        (OAuth client file without a saved login) only when ``allow_login``."""
        from sheets_crm.backends.google.auth import make_client

        sid = spreadsheet_id(target)  # a bad URL fails before looking for credentials
        http_options = {k: options.pop(k) for k in ("policy", "sleep") if k in options}
        http = make_client(credentials, allow_login=allow_login, **http_options)
        return cls(sid, http=http, **options)

    @property
    def account_email(self) -> str | None:
        return self.http.account_email

    # -- reading -------------------------------------------------------------
    def read(self, fills_for: Collection[str] = ()) -> Snapshot:
        """Three small reads, none of them touching a tab the sync does not need:

        1. ``spreadsheets.get`` of properties only (titles, ids, grid sizes, conditional formats);
        2. ``values.batchGet`` of the focused tabs (every tab without :meth:`focus`), whole-tab
           ranges: Google sends only the rows and columns in use (trailing empties dropped), values
           unformatted with dates as serial numbers — the most compact form there is;
        3. for the tabs in ``fills_for``, a ``spreadsheets.get`` of their cells' background colours
           over exactly the rows and columns read in 2 (skipped when there are none).

        A tab outside the focus is in the snapshot with its grid size but no values. A tab renamed,
        deleted or shrunk between these reads ("Unable to parse range") makes it read again.
        """
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return self._read(fills_for)
            except BadRequestError as exc:
                text = exc.google_message.lower()
                if attempt == READ_ATTEMPTS or not ("range" in text or "grid" in text):
                    raise
                log.info("%s changed while being read (%s); reading again", self.name, exc.google_message)
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, fills_for: Collection[str]) -> Snapshot:
        meta = self.http.fetch_sheet_metadata(self.id, params={"fields": META_FIELDS})
        props = meta.get("properties") or {}
        tabs: dict[str, TabData] = {}
        self._rules = {}
        for sheet in meta.get("sheets") or []:
            sp = sheet.get("properties") or {}
            title = sp.get("title", "")
            grid = sp.get("gridProperties") or {}
            tabs[title] = TabData(
                title,
                [],
                ref=sp.get("sheetId", 0),
                grid_rows=int(grid.get("rowCount", 0)),
                grid_cols=int(grid.get("columnCount", 0)),
            )
            self._rules[sp.get("sheetId", 0)] = list(sheet.get("conditionalFormats") or [])
        wanted = [t for t in tabs if self._focus is None or t in self._focus]
        if wanted:
            got = self.http.values_batch_get(self.id, [quote_title(t) for t in wanted], params=dict(_VALUE_PARAMS))
            for title, vr in zip(wanted, got.get("valueRanges") or [], strict=False):
                _read_values(tabs[title], vr.get("values") or [])
        self._read_fills([tabs[t] for t in wanted if t in fills_for])
        version = {t.title: (t.ref, t.grid_rows, t.grid_cols) for t in tabs.values()}
        return Snapshot(
            tabs=tabs,
            time_zone=props.get("timeZone"),
            locale=self.locale or props.get("locale"),
            title=props.get("title", ""),
            version=version,
        )

    def _read_fills(self, tabs: list[TabData]) -> None:
        """Background colours of exactly the cells in use of ``tabs`` (one request for all)."""
        boxes = [(t, t.width) for t in tabs if t.height]
        boxes = [(t, width) for t, width in boxes if width]
        if not boxes:
            return
        ranges = [a1_range(t.title, 0, 0, t.height - 1, width - 1) for t, width in boxes]
        meta = self.http.fetch_sheet_metadata(
            self.id, params={"includeGridData": "true", "ranges": ranges, "fields": FILL_FIELDS_READ}
        )
        by_title = {t.title: t for t, _ in boxes}
        for sheet in meta.get("sheets") or []:
            tab = by_title.get((sheet.get("properties") or {}).get("title", ""))
            if tab is not None:
                tab.fills = _fills(sheet.get("data") or [])

    def focus(self, tabs: Collection[str]) -> None:
        self._focus = tabs

    # -- tool cells the sheet computes itself ---------------------------------------
    def prepare(self, changes: ChangeSet, base: Snapshot, live: LiveColumns | None) -> ChangeSet:
        """Keep Days since contact and the freshness colour live in the sheet (see
        :mod:`~sheets_crm.backends.google.live`): the core's daily changes to them are dropped;
        rows whose Days since contact is wrong get the formula (unless they have it already:
        one ``FORMULA`` read of just those rows); missing or altered freshness rules are replaced."""
        if live is None or live.leads not in base.tabs:
            return changes
        tab = base.tabs[live.leads]
        fresh = set(live.freshness)
        kept: list[CellChange] = []
        days_rows: list[int] = []
        for ch in changes.changes:
            if ch.tab != live.leads or ch.row == 0:
                kept.append(ch)
                continue
            if ch.col == live.days_since and ch.value is not KEEP:
                days_rows.append(ch.row)
                ch = CellChange(ch.tab, ch.row, ch.col, value=KEEP, fill=ch.fill)
            if ch.col in fresh and ch.fill is not KEEP:
                ch = CellChange(ch.tab, ch.row, ch.col, value=ch.value, number_format=ch.number_format)
            if ch.value is not KEEP or ch.fill is not KEEP:
                kept.append(ch)
        for row in self._rows_to_fill(tab, live.days_since, days_rows, live.last_contact):
            formula = Formula(days_formula(live.last_contact, row), fill_down=True)
            kept.append(CellChange(tab.title, row, live.days_since, value=formula, number_format="0"))
        rules = rules_requests(self._rules.get(tab.ref, []), live, tab.ref, tab.grid_rows) if live.freshness else []
        return GoogleChangeSet(dataclasses.replace(changes, changes=kept), rules)

    def _rows_to_fill(self, tab: TabData, col: int, rows: list[int], last_contact: int) -> list[int]:
        """The rows of ``col`` to (re)write the Days since contact formula in: those of ``rows`` (the
        core found their number wrong) that do not hold it yet (one ``FORMULA`` read of just that
        span), plus — so that the write is one ``repeatCell`` per run, not one cell each — the rows
        between them that already hold it (rewritten to the very same formula: nothing changes) or
        are empty (a lead never contacted: the formula shows the same empty cell).
        Empty when every row in question has the formula already (a sheet whose date differs)."""
        if not rows:
            return []
        top, bottom = min(rows), max(rows)
        got = self.http.values_get(
            self.id,
            a1_range(tab.title, top, col, bottom, col),
            params={"majorDimension": "ROWS", "valueRenderOption": "FORMULA"},
        )
        lines = got.get("values") or []
        present = {top + i for i, line in enumerate(lines) if line and line[0] == days_formula(last_contact, top + i)}
        missing = sorted(row for row in set(rows) if row not in present)
        if not missing:
            return []
        empty = {top + i for i, line in enumerate(lines) if not line or line[0] in ("", None)}
        empty.update(range(top + len(lines), bottom + 1))  # trailing empty rows are not sent back
        bridge = {row for row in present | empty if missing[0] < row < missing[-1]}
        return sorted(set(missing) | bridge)

    # -- doctor ----------------------------------------------------------------
    def live_problems(self, base: Snapshot, live: LiveColumns, rows: Collection[int]) -> list[Issue]:
        """Our freshness rules deleted or edited by hand (from the rules :meth:`read` saw: no request),
        and Days since contact cells holding something other than their formula (one ``FORMULA`` read
        of the rows whose cell is not empty; an emptied cell is no problem: it shows what the formula
        shows while Last contact is empty, and the sync writes the formula when that changes)."""
        tab = base.tabs.get(live.leads)
        if tab is None or tab.ref is None:
            return []
        problems: list[Issue] = []
        if live.freshness and STATE_TITLE in base.tabs:  # synced before: the rules should be there
            wanted = freshness_rules(live, tab.ref)
            existing = self._rules.get(tab.ref, [])
            present = rules_in_place(existing, wanted)
            if rules_requests(existing, live, tab.ref, tab.grid_rows):
                problems.append(
                    Issue.of(
                        tab.title,
                        None,
                        None,
                        None,
                        "The freshness colours' conditional-format rules were deleted or changed by hand "
                        "({present} of {wanted} in place): the next sync restores them.",
                        "live-cells",
                        present=present,
                        wanted=len(wanted),
                    )
                )
        col = live.days_since
        filled = sorted(r for r in rows if 0 < r < tab.height and tab.cell(r, col) not in (None, ""))
        if not filled:
            return problems
        got = self.http.values_get(
            self.id,
            a1_range(tab.title, filled[0], col, filled[-1], col),
            params={"majorDimension": "ROWS", "valueRenderOption": "FORMULA"},
        )
        lines = got.get("values") or []
        header = str(tab.cell(0, col) or "")
        for r in filled:
            line = lines[r - filled[0]] if r - filled[0] < len(lines) else []
            have = line[0] if line else None
            if have != days_formula(live.last_contact, r):
                problems.append(
                    Issue.of(
                        tab.title,
                        r + 1,
                        header,
                        have,
                        "{column} holds {value!r}, not its formula (typed or pasted over): "
                        "the next sync puts the formula back.",
                        "live-cells",
                        column=header,
                        value=have,
                    )
                )
        return problems

    # -- writing -------------------------------------------------------------
    def apply(self, changes: ChangeSet, base: Snapshot) -> None:
        if not changes:
            return
        # Requests are built and packed as they are sent: one batch (≤ max_payload) in memory at a time.
        batches = iter_batches(iter_update_requests(changes, base), self.max_payload)
        batch = next(batches, None)
        if batch is None:
            return
        if self.guard:
            self._check_guard(changes, base)
        following = next(batches, None)
        if following is not None:
            self.split_writes += 1
            log.warning(
                "%s: the write is over Google's recommended %.1f MB; sending it as several batchUpdate requests. "
                "It is no longer atomic: if one fails, the sheet is partly updated (run sync again).",
                self.name,
                self.max_payload / 1e6,
            )
        # One batch: its reply carries the headers and Leads key column as they are *after* the
        # write (responseRanges), checked against the plan's snapshot — no extra request.
        after = _guard_expect(changes, base, targets=False) if self.guard and following is None else {}
        response_ranges = _guard_ranges(after)[0]
        i = 0
        while batch is not None:
            self._send(batch, i, response_ranges, after, base, int(following is not None), batches)
            batch, following = following, (next(batches, None) if following is not None else None)
            i += 1
        if i > 1:
            log.info("%s: the write went out as %d batchUpdate requests", self.name, i)

    def _send(
        self,
        batch: list[dict[str, Any]],
        i: int,
        response_ranges: list[str],
        after: dict[str, dict[tuple[int, int], Any]],
        base: Snapshot,
        pending: int,
        rest: Iterator[list[dict[str, Any]]],
    ) -> None:
        """Send batch ``i`` of a write; ``pending`` batches are built and waiting, ``rest`` not built yet
        (counted only if this one fails, for the "partly updated: i of n" outcome)."""
        body: dict[str, Any] = {"requests": batch}
        params = None
        if response_ranges:
            body.update(includeSpreadsheetInResponse=True, responseRanges=response_ranges, responseIncludeGridData=True)
            params = {"fields": AFTER_WRITE_FIELDS}
        idempotent = all(next(iter(req)) in IDEMPOTENT_REQUESTS for req in batch)
        try:
            reply = self.http.post_json(
                SPREADSHEET_BATCH_UPDATE_URL % self.id, body, params=params, idempotent=idempotent
            )
        except BadRequestError as exc:
            message = exc.google_message.lower()
            if not i and ("grid" in message or (response_ranges and "range" in message)):
                # "No grid with id: N": a tab we read was deleted meanwhile; "Unable to parse
                # range" / "exceeds grid limits" for a responseRange: a tab renamed or rows
                # removed. Google applies a batch all or nothing, so a refused batch wrote nothing.
                raise ConcurrentEditError(
                    f"{self.name} changed shape while the sync was running ({exc.google_message}).",
                    outcome=WriteOutcome.UNTOUCHED,
                ) from None
            self._partial(exc, i, i + 1 + pending + sum(1 for _ in rest))
            raise
        except GoogleError as exc:
            if not idempotent and exc.outcome is WriteOutcome.UNKNOWN and not i:
                # Re-sending would grow the grid (or add a rule) twice if the first one landed:
                # the sync re-reads and re-plans from what is really there.
                raise WriteInDoubtError(exc.message) from exc
            self._partial(exc, i, i + 1 + pending + sum(1 for _ in rest))
            raise
        self.write_batches += 1
        if response_ranges:
            self._check_after(after, base, reply)

    @staticmethod
    def _partial(exc: GoogleError, done: int, total: int) -> GoogleError:
        """Attach it when part of a split write had already landed (the message is not touched)."""
        if done:
            exc.outcome = WriteOutcome.PARTLY_UPDATED
            exc.parts = (done, total)
        return exc

    def _check_guard(self, changes: ChangeSet, base: Snapshot) -> None:
        """Re-read the cells the write depends on; raise if any moved."""
        expect = _guard_expect(changes, base, targets=True)
        ranges, spans = _guard_ranges(expect)
        if not ranges:
            return
        self.guard_reads += 1
        try:
            got = self.http.values_batch_get(self.id, ranges, params=dict(_VALUE_PARAMS))
        except BadRequestError as exc:
            # "Unable to parse range: 'Calls Today'!A1:I1" (tab renamed or deleted) or
            # "exceeds grid limits" (rows or columns deleted).
            if "range" in exc.google_message.lower() or "grid" in exc.google_message.lower():
                raise ConcurrentEditError(
                    f"{self.name} changed shape while the sync was running (a tab renamed or deleted, or rows "
                    f"removed: {exc.google_message}).",
                    outcome=WriteOutcome.UNTOUCHED,
                ) from None
            raise
        now: dict[str, dict[tuple[int, int], Any]] = {}
        for (title, r0, c0), vr in zip(spans, got.get("valueRanges") or [], strict=False):
            bucket = now.setdefault(title, {})
            for dr, line in enumerate(vr.get("values") or []):
                for dc, v in enumerate(line):
                    bucket[(r0 + dr, c0 + dc)] = v
        moved = _moved(expect, now)
        if moved:
            raise ConcurrentEditError(
                f"{self.name} changed while the sync was running ({_first(moved)}).", outcome=WriteOutcome.UNTOUCHED
            )

    def _check_after(self, expect: dict[str, dict[tuple[int, int], Any]], base: Snapshot, reply: Any) -> None:
        """The post-write check, from the batchUpdate's own reply (no extra request): the headers
        and the Leads key column *after* the write must still be what the plan was based on. If a
        person moved rows, sorted, moved a column or renamed a tab in the instant between the guard
        read and the write, tool values may now sit beside the wrong lead: the sync re-reads and
        re-plans, which rewrites every tool cell to its own row."""
        now: dict[str, dict[tuple[int, int], Any]] = {}
        moved: list[str] = []
        sheets = ((reply or {}).get("updatedSpreadsheet") or {}).get("sheets") or []
        for sheet in sheets:
            sp = sheet.get("properties") or {}
            title = sp.get("title", "")
            tab = base.tabs.get(title)
            if title in expect and tab is not None and tab.ref is not None and sp.get("sheetId", 0) != tab.ref:
                moved.append(f"the tab called {title!r} is another tab now")
            bucket = now.setdefault(title, {})
            for block in sheet.get("data") or []:
                r0, c0 = int(block.get("startRow", 0)), int(block.get("startColumn", 0))
                for dr, row in enumerate(block.get("rowData") or []):
                    for dc, cell in enumerate(row.get("values") or []):
                        bucket[(r0 + dr, c0 + dc)] = _effective(cell or {})
        if not sheets:
            return  # no grid data came back (an older stand-in): nothing to compare
        moved += _moved(expect, now)
        if moved:
            raise ConcurrentEditError(
                f"{self.name} changed while the sync was writing ({_first(moved)}): some tool values may sit "
                "beside the wrong lead; re-syncing to put them right.",
                outcome=WriteOutcome.UPDATED,
            )

    change_token = workbook_change_token  # `sheets-crm watch`: one Drive files.get (see .watching)

    def stats(self) -> dict[str, int]:
        out = self.http.stats.as_dict()
        out["write_batches"] = self.write_batches
        out["split_writes"] = self.split_writes
        return out


def _read_values(tab: TabData, rows: list[list[Any]]) -> None:
    """A values-API matrix into ``tab``, by columns (the core's form): empty strings are empty cells (None)."""
    widths = np.fromiter((len(line) for line in rows), dtype=np.int64, count=len(rows))
    columns = []
    for cells in itertools.zip_longest(*rows):
        column = np.empty(len(rows), dtype=object)
        column[:] = cells
        column[column == ""] = None
        columns.append(column)
    tab.use_columns(columns, len(rows), widths)


def _fills(data: list[dict[str, Any]]) -> dict[tuple[int, int], str]:
    """GridData → {(row, col): 'RRGGBB'} for the cells with a background colour."""
    fills: dict[tuple[int, int], str] = {}
    for block in data:
        r0 = int(block.get("startRow", 0))
        c0 = int(block.get("startColumn", 0))
        for dr, row in enumerate(block.get("rowData") or []):
            for dc, cell in enumerate(row.get("values") or []):
                color = ((cell or {}).get("userEnteredFormat") or {}).get("backgroundColor")
                if color is not None:
                    fills[(r0 + dr, c0 + dc)] = color_to_hex(color) or "000000"
    return fills


def _guard_expect(changes: ChangeSet, base: Snapshot, *, targets: bool) -> dict[str, dict[tuple[int, int], Any]]:
    """The cells the write depends on, with the values the plan was based on: the
    ``changes.guard`` cells (header rows, the Leads key column) and, with ``targets``, the
    cells about to be written (they must still hold what we planned on; None past the data).
    Without ``targets`` (the post-write check) guard cells the write itself changes are left out."""
    expect: dict[str, dict[tuple[int, int], Any]] = {}
    written = {(ch.tab, ch.row, ch.col) for ch in changes.changes if ch.value is not KEEP}
    for title, cells in (changes.guard or {}).items():
        tab = base.tabs.get(title)
        if tab is not None:
            bucket = expect.setdefault(title, {})
            for r, c, v in cells:
                if _in_grid(tab, r, c) and (targets or (title, r, c) not in written):
                    bucket[(r, c)] = v
    if targets:
        for ch in changes.changes:
            # A person typing into a cell we are about to write is seen.
            tab = base.tabs.get(ch.tab)
            if tab is not None and _in_grid(tab, ch.row, ch.col):
                expect.setdefault(ch.tab, {}).setdefault((ch.row, ch.col), tab.cell(ch.row, ch.col))
    return {title: cells for title, cells in expect.items() if cells}


def _guard_ranges(expect: dict[str, dict[tuple[int, int], Any]]) -> tuple[list[str], list[tuple[str, int, int]]]:
    """A1 ranges covering the expected cells, and each range's (title, top row, left col)."""
    ranges: list[str] = []
    spans: list[tuple[str, int, int]] = []
    for title, cells in expect.items():
        for r0, c0, r1, c1 in _guard_spans(cells):
            ranges.append(a1_range(title, r0, c0, r1, c1))
            spans.append((title, r0, c0))
    return ranges, spans


def _moved(expect: dict[str, dict[tuple[int, int], Any]], now: dict[str, dict[tuple[int, int], Any]]) -> list[str]:
    """Cells whose value now differs from the expected one (a cell not read back counts as empty)."""
    moved = []
    for title, cells in expect.items():
        current = now.get(title, {})
        for (r, c), want in sorted(cells.items()):
            have = current.get((r, c))
            if not _same_raw(want, have):
                moved.append(f"{title}!{column_letter(c)}{r + 1} was {want!r}, now {have!r}")
    return moved


def _first(moved: list[str]) -> str:
    more = f" and {len(moved) - 3} more" if len(moved) > 3 else ""
    return "; ".join(moved[:3]) + more


def _in_grid(tab: TabData, row: int, col: int) -> bool:
    """Cells past the grid cannot be read (Google: "exceeds grid limits")."""
    return (not tab.grid_rows or row < tab.grid_rows) and (not tab.grid_cols or col < tab.grid_cols)


def _guard_spans(cells: dict[tuple[int, int], Any]) -> list[tuple[int, int, int, int]]:
    """Few rectangles covering the cells: the header row as one, then per run of
    adjacent columns the rows between the first and last cell in them."""
    spans: list[tuple[int, int, int, int]] = []
    header = sorted(c for r, c in cells if r == 0)
    if header:
        spans.append((0, header[0], 0, header[-1]))
    body: dict[int, list[int]] = {}
    for r, c in cells:
        if r > 0:
            body.setdefault(c, []).append(r)
    cols: list[int | None] = [*sorted(body), None]
    run: list[int] = []
    for col in cols:
        if col is not None and (not run or col == run[-1] + 1):
            run.append(col)
            continue
        if run:
            rows = [r for k in run for r in body[k]]
            spans.append((min(rows), run[0], max(rows), run[-1]))
        run = [] if col is None else [col]
    return spans
