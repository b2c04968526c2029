"""The Google Sheets backend: a live spreadsheet through gspread's HTTP client.

Cost per sync is constant, whatever the size of the sheet:

* ``read()`` is **one** ``spreadsheets.get`` with ``includeGridData`` and a
  field mask that keeps only the spreadsheet's title, time zone and locale,
  each tab's id/title/grid size, and per cell its ``effectiveValue`` (the
  same thing ``values:batchGet`` returns with ``UNFORMATTED_VALUE`` +
  ``SERIAL_NUMBER``: dates as serial day numbers) and its user-entered
  background colour.
* ``apply()`` makes **one** guard read — a ``values:batchGet`` of exactly the
  cells the write depends on (the header rows, the Leads key column, and the
  cells about to be written) — and then **one** ``spreadsheets.batchUpdate``
  carrying values and colours together, so Google applies all of it or none
  of it. Nothing is sent when there is nothing to change.

So a sync is at most 2 reads and exactly 1 write (0 when nothing changed). If
a person moved rows, sorted, renamed a tab or typed into a cell we are about
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
(``write_batches``), and no longer atomic.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Collection, Iterable
from typing import Any

import requests
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

from sheets_crm.backends.google.http import BadRequestError, CrmHTTPClient, RetryPolicy, body_size
from sheets_crm.backends.google.target import spreadsheet_id, spreadsheet_url
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.dates import EPOCH
from sheets_crm.core.model import KEEP, CellChange, ChangeSet, Snapshot, TabData
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
    "MAX_PAYLOAD",
]

log = logging.getLogger("sheets_crm.google")

#: Google's recommended maximum request payload.
MAX_PAYLOAD = 2_000_000

#: Everything read() needs, nothing more (Google's partial-response syntax).
READ_FIELDS = (
    "spreadsheetId,properties(title,timeZone,locale),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),"
    "data(startRow,startColumn,rowData(values(effectiveValue,userEnteredFormat/backgroundColor))))"
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


def color_to_hex(color: dict[str, Any] | None) -> str | None:
    """Google's {red, green, blue} floats (missing channel = 0) → 'RRGGBB'."""
    if not color:
        return None if color is None else "000000"
    return "".join(f"{max(0, min(255, round(float(color.get(ch, 0)) * 255))):02X}" for ch in ("red", "green", "blue"))


def hex_to_color(value: str) -> dict[str, float]:
    """'RRGGBB' → Google's colour, zero channels omitted (Google omits them too).
    Five decimals keep the payload small; they are rounded *up* because Google
    stores a channel as 8 bits by truncating (x·255 floored), and a value a
    hair below level/255 would come back one step darker."""
    value = value.lstrip("#")
    out: dict[str, float] = {}
    for i, ch in enumerate(("red", "green", "blue")):
        level = int(value[2 * i : 2 * i + 2], 16)
        if level:
            out[ch] = 1 if level == 255 else math.ceil(level / 255 * 1e5 + 1e-6) / 1e5
    return out


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
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return float(expected) == float(actual)
    if isinstance(expected, dt.date):
        return isinstance(actual, (int, float)) and float(actual) == float(_serial(expected))
    return expected == actual


# -- the write ---------------------------------------------------------------------

#: Field mask of the values layer: a written value always brings its number
#: format (dates: the template's pattern; anything else: automatic).
VALUE_FIELDS = "userEnteredValue,userEnteredFormat.numberFormat"
#: Requests that set cells to absolute values: sending one twice is the same as once.
#: Anything else (appendDimension, addConditionalFormatRule...) is not re-sent blindly.
IDEMPOTENT_REQUESTS = frozenset({"updateCells", "repeatCell", "updateSheetProperties", "updateDimensionProperties"})
FILL_FIELDS = "userEnteredFormat.backgroundColor"


def _value_cell(change: CellChange) -> dict[str, Any]:
    cell: dict[str, Any] = {}
    ev = extended_value(change.value)
    if ev is not None:
        cell["userEnteredValue"] = ev
        if change.number_format:
            cell["userEnteredFormat"] = {"numberFormat": _number_format(change.value, change.number_format)}
    return cell


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


def build_update_requests(changes: ChangeSet, base: Snapshot) -> list[dict[str, Any]]:
    """The change set as ``batchUpdate`` requests, in two layers:

    * values: ``updateCells`` over rectangles of adjacent changed cells
      (``userEnteredValue`` + ``numberFormat``; text always ``stringValue``);
    * colours: one ``repeatCell`` per rectangle of one colour (a lead row's
      freshness tint, a Calls Today section), so a colour is sent once, not
      once per cell.

    Grid growth (``appendDimension``) comes first, truncation last.
    """
    merged = _merge(changes.changes)
    by_tab: dict[str, list[CellChange]] = {}
    for ch in merged.values():
        by_tab.setdefault(ch.tab, []).append(ch)
    grow: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    fills: list[dict[str, Any]] = []
    for title, tab_changes in by_tab.items():
        tab = _tab(base, title)
        sheet_id = tab.ref
        max_row = max(ch.row for ch in tab_changes)
        max_col = max(ch.col for ch in tab_changes)
        if tab.grid_rows and max_row >= tab.grid_rows:
            grow.append(
                {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": max_row + 1 - tab.grid_rows}}
            )
        if tab.grid_cols and max_col >= tab.grid_cols:
            grow.append(
                {
                    "appendDimension": {
                        "sheetId": sheet_id,
                        "dimension": "COLUMNS",
                        "length": max_col + 1 - tab.grid_cols,
                    }
                }
            )
        for r0, c0, _key, rows in _rects([(ch.row, ch.col, None, ch) for ch in tab_changes if ch.value is not KEEP]):
            values.append(
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": r0, "columnIndex": c0},
                        "rows": [{"values": [_value_cell(ch) for ch in line]} for line in rows],
                        "fields": VALUE_FIELDS,
                    }
                }
            )
        painted = [(ch.row, ch.col, (ch.fill or "").upper() or None, ch) for ch in tab_changes if ch.fill is not KEEP]
        for r0, c0, color, rows in _rects(painted):
            cell = {"userEnteredFormat": {"backgroundColor": hex_to_color(color)}} if color else {}
            fills.append(
                {
                    "repeatCell": {
                        "range": {
                            "sheetId": sheet_id,
                            "startRowIndex": r0,
                            "endRowIndex": r0 + len(rows),
                            "startColumnIndex": c0,
                            "endColumnIndex": c0 + len(rows[0]),
                        },
                        "cell": cell,
                        "fields": FILL_FIELDS,
                    }
                }
            )
    return grow + values + fills


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


def split_requests(requests_: list[dict[str, Any]], limit: int) -> list[list[dict[str, Any]]]:
    """Pack requests into batches whose JSON body stays under ``limit`` bytes;
    an ``updateCells`` block too big on its own is cut by rows."""
    pieces: list[dict[str, Any]] = []
    for req in requests_:
        pieces.extend(_cut(req, limit))
    batches: list[list[dict[str, Any]]] = [[]]
    size = body_size({"requests": []})
    for piece in pieces:
        extra = body_size(piece) + 1
        if batches[-1] and size + extra > limit:
            batches.append([])
            size = body_size({"requests": []})
        batches[-1].append(piece)
        size += extra
    return batches


def _cut(req: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    upd = req.get("updateCells")
    if upd is None or "rows" not in upd or len(upd["rows"]) < 2 or body_size({"requests": [req]}) <= limit:
        return [req]
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
        meta = self.http.fetch_sheet_metadata(self.id, params={"includeGridData": "true", "fields": READ_FIELDS})
        props = meta.get("properties") or {}
        tabs: dict[str, TabData] = {}
        for sheet in meta.get("sheets") or []:
            sp = sheet.get("properties") or {}
            title = sp.get("title", "")
            grid = sp.get("gridProperties") or {}
            values, fills = _grid(sheet.get("data") or [], title in fills_for)
            tabs[title] = TabData(
                title,
                values,
                fills,
                ref=sp.get("sheetId", 0),
                grid_rows=int(grid.get("rowCount", 0)),
                grid_cols=int(grid.get("columnCount", 0)),
            )
        version = {t.title: (t.ref, t.grid_rows, t.grid_cols) for t in tabs.values()}
        return Snapshot(
            tabs=tabs,
            time_zone=props.get("timeZone"),
            locale=self.locale or props.get("locale"),
            title=props.get("title", ""),
            version=version,
        )

    # -- writing -------------------------------------------------------------
    def apply(self, changes: ChangeSet, base: Snapshot) -> None:
        if not changes:
            return
        reqs = build_update_requests(changes, base)
        if not reqs:
            return
        if self.guard:
            self._check_guard(changes, base)
        batches = split_requests(reqs, self.max_payload) if body_size({"requests": reqs}) > self.max_payload else [reqs]
        if len(batches) > 1:
            self.split_writes += 1
            log.warning(
                "%s: the write is %.1f MB, over Google's recommended %.1f MB; sending it as %d batchUpdate "
                "requests. It is no longer atomic: if one fails, the sheet is partly updated (run sync again).",
                self.name,
                body_size({"requests": reqs}) / 1e6,
                self.max_payload / 1e6,
                len(batches),
            )
        # One batch: its reply carries the headers and Leads key column as they are *after* the
        # write (responseRanges), checked against the plan's snapshot — no extra request.
        after = _guard_expect(changes, base, targets=False) if self.guard and len(batches) == 1 else {}
        response_ranges = _guard_ranges(after)[0]
        for i, batch in enumerate(batches):
            body: dict[str, Any] = {"requests": batch}
            params = None
            if response_ranges:
                body.update(
                    includeSpreadsheetInResponse=True, responseRanges=response_ranges, responseIncludeGridData=True
                )
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
                self._partial(exc, i, len(batches))
                raise
            except GoogleError as exc:
                if not idempotent and exc.outcome is WriteOutcome.UNKNOWN and not i:
                    # Re-sending would grow the grid (or add a rule) twice if the first one landed:
                    # the sync re-reads and re-plans from what is really there.
                    raise WriteInDoubtError(exc.message) from exc
                self._partial(exc, i, len(batches))
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

    def stats(self) -> dict[str, int]:
        out = self.http.stats.as_dict()
        out["write_batches"] = self.write_batches
        out["split_writes"] = self.split_writes
        return out


def _grid(data: list[dict[str, Any]], want_fills: bool) -> tuple[list[list[Any]], dict[tuple[int, int], str]]:
    """GridData → ragged values (trailing empties dropped, like the values API) and fills."""
    grid: dict[int, dict[int, Any]] = {}
    fills: dict[tuple[int, int], str] = {}
    for block in data:
        r0 = int(block.get("startRow", 0))
        c0 = int(block.get("startColumn", 0))
        for dr, row in enumerate(block.get("rowData") or []):
            for dc, cell in enumerate(row.get("values") or []):
                if not cell:
                    continue
                r, c = r0 + dr, c0 + dc
                value = _effective(cell)
                if value is not None and value != "":
                    grid.setdefault(r, {})[c] = value
                if want_fills:
                    color = (cell.get("userEnteredFormat") or {}).get("backgroundColor")
                    if color is not None:
                        fills[(r, c)] = color_to_hex(color)  # type: ignore[assignment]
    height = max(grid) + 1 if grid else 0
    values: list[list[Any]] = []
    for r in range(height):
        row = grid.get(r)
        if not row:
            values.append([])
            continue
        line: list[Any] = [None] * (max(row) + 1)
        for c, v in row.items():
            line[c] = v
        values.append(line)
    return values, fills


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
    cols = sorted(body)
    run: list[int] = []
    for c in cols + [None]:  # type: ignore[list-item]
        if c is not None and (not run or c == run[-1] + 1):
            run.append(c)
            continue
        if run:
            rows = [r for col in run for r in body[col]]
            spans.append((min(rows), run[0], max(rows), run[-1]))
        run = [c] if c is not None else []
    return spans
