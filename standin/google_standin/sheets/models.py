"""Sheets' in-memory models: spreadsheets, their sheets (tabs) and cells.

Cells are stored as Google ``CellData``-like dicts (``userEnteredValue``,
``userEnteredFormat``, ``note``, ``dataValidation``...). A cell dict is never
mutated in place — every change stores a new dict — so cloning a spreadsheet for
an atomic ``batchUpdate`` only copies row lists, which keeps large benchmark
sheets cheap.
"""

from __future__ import annotations

import copy
import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .ranges import A1Range

__all__ = [
    "CELL_LIMIT",
    "CELL_LIMIT_MESSAGE",
    "DEFAULT_COLS",
    "DEFAULT_FORMAT",
    "DEFAULT_ROWS",
    "Cell",
    "Sheet",
    "Spreadsheet",
]

Cell = dict[str, Any]

#: A new sheet's grid when nobody says otherwise.
DEFAULT_ROWS = 1000
DEFAULT_COLS = 26

#: Google's limit on cells in one spreadsheet (all tabs, blank cells included).
CELL_LIMIT = 10_000_000
#: Google's answer to a write that would cross it (batchUpdate prefixes ``Invalid requests[i].<kind>: ``).
CELL_LIMIT_MESSAGE = (
    f"This action would increase the number of cells in the workbook above the limit of {CELL_LIMIT} cells."
)

DEFAULT_FORMAT: dict[str, Any] = {
    "backgroundColor": {"red": 1, "green": 1, "blue": 1},
    "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
    "verticalAlignment": "BOTTOM",
    "wrapStrategy": "OVERFLOW_CELL",
    "textFormat": {
        "foregroundColor": {},
        "fontFamily": "arial,sans,sans-serif",
        "fontSize": 10,
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "foregroundColorStyle": {"rgbColor": {}},
    },
    "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
}


def _theme() -> dict[str, Any]:
    def rgb(r: float, g: float, b: float) -> dict[str, Any]:
        return {"rgbColor": {k: v for k, v in (("red", r), ("green", g), ("blue", b)) if v}}

    colors = [
        ("TEXT", rgb(0, 0, 0)),
        ("BACKGROUND", rgb(1, 1, 1)),
        ("ACCENT1", rgb(0.25882354, 0.52156866, 0.95686275)),
        ("ACCENT2", rgb(0.91764706, 0.2627451, 0.20784314)),
        ("ACCENT3", rgb(0.9843137, 0.7372549, 0.015686275)),
        ("ACCENT4", rgb(0.20392157, 0.65882355, 0.3254902)),
        ("ACCENT5", rgb(1, 0.42745098, 0.003921569)),
        ("ACCENT6", rgb(0.27450982, 0.7411765, 0.7764706)),
        ("LINK", rgb(0.06666667, 0.33333334, 0.8)),
    ]
    return {"primaryFontFamily": "Arial", "themeColors": [{"colorType": t, "color": c} for t, c in colors]}


@dataclass
class Sheet:
    """One tab: properties plus a sparse grid (rows shorter than the grid are padded)."""

    properties: dict[str, Any]
    rows: list[list[Cell | None]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    row_meta: dict[int, dict[str, Any]] = field(default_factory=dict)
    col_meta: dict[int, dict[str, Any]] = field(default_factory=dict)

    # -- identity --------------------------------------------------------------
    @property
    def sheet_id(self) -> int:
        return int(self.properties["sheetId"])

    @property
    def title(self) -> str:
        return str(self.properties["title"])

    @property
    def grid(self) -> dict[str, Any]:
        grid: dict[str, Any] = self.properties.setdefault("gridProperties", {})
        return grid

    @property
    def row_count(self) -> int:
        return int(self.grid.get("rowCount", 0))

    @property
    def column_count(self) -> int:
        return int(self.grid.get("columnCount", 0))

    @property
    def hidden(self) -> bool:
        return bool(self.properties.get("hidden"))

    def clone(self) -> Sheet:
        return Sheet(
            properties=copy.deepcopy(self.properties),
            rows=[list(r) for r in self.rows],
            merges=copy.deepcopy(self.merges),
            conditional_formats=copy.deepcopy(self.conditional_formats),
            protected_ranges=copy.deepcopy(self.protected_ranges),
            basic_filter=copy.deepcopy(self.basic_filter),
            row_meta=copy.deepcopy(self.row_meta),
            col_meta=copy.deepcopy(self.col_meta),
        )

    # -- cells -------------------------------------------------------------------
    def get(self, row: int, col: int) -> Cell | None:
        if row < len(self.rows):
            r = self.rows[row]
            if col < len(r):
                return r[col]
        return None

    def put(self, row: int, col: int, cell: Cell | None) -> None:
        """Store a (new) cell dict; None or {} empties the cell."""
        if not cell:
            if row < len(self.rows) and col < len(self.rows[row]):
                self.rows[row][col] = None
            return
        while len(self.rows) <= row:
            self.rows.append([])
        r = self.rows[row]
        if len(r) <= col:
            r.extend([None] * (col + 1 - len(r)))
        r[col] = cell

    def has_value(self, row: int, col: int) -> bool:
        cell = self.get(row, col)
        return bool(cell) and "userEnteredValue" in cell  # type: ignore[operator]

    def value_extent(self) -> tuple[int, int]:
        """(rows, cols) of the smallest top-left box holding every value."""
        max_r = max_c = 0
        for r, row in enumerate(self.rows):
            for c, cell in enumerate(row):
                if cell and "userEnteredValue" in cell:
                    max_r = max(max_r, r + 1)
                    max_c = max(max_c, c + 1)
        return max_r, max_c

    def trim(self) -> None:
        for row in self.rows:
            while row and not row[-1]:
                row.pop()
        while self.rows and not self.rows[-1]:
            self.rows.pop()

    # -- structure ---------------------------------------------------------------
    def insert_rows(self, at: int, count: int) -> None:
        if at < len(self.rows):
            self.rows[at:at] = [[] for _ in range(count)]
        self.grid["rowCount"] = self.row_count + count
        self.row_meta = _shift_meta(self.row_meta, at, count)

    def delete_rows(self, start: int, end: int) -> None:
        del self.rows[start:end]
        self.grid["rowCount"] = self.row_count - (end - start)
        self.row_meta = _delete_meta(self.row_meta, start, end)

    def insert_cols(self, at: int, count: int) -> None:
        for row in self.rows:
            if at < len(row):
                row[at:at] = [None] * count
        self.grid["columnCount"] = self.column_count + count
        self.col_meta = _shift_meta(self.col_meta, at, count)

    def delete_cols(self, start: int, end: int) -> None:
        for row in self.rows:
            del row[start:end]
        self.grid["columnCount"] = self.column_count - (end - start)
        self.col_meta = _delete_meta(self.col_meta, start, end)

    def truncate(self) -> None:
        """Drop cells beyond the grid after a resize."""
        del self.rows[self.row_count :]
        for row in self.rows:
            del row[self.column_count :]


def _shift_meta(meta: dict[int, dict[str, Any]], at: int, count: int) -> dict[int, dict[str, Any]]:
    return {(i + count if i >= at else i): v for i, v in meta.items()}


def _delete_meta(meta: dict[int, dict[str, Any]], start: int, end: int) -> dict[int, dict[str, Any]]:
    out = {}
    for i, v in meta.items():
        if i < start:
            out[i] = v
        elif i >= end:
            out[i - (end - start)] = v
    return out


@dataclass
class Spreadsheet:
    id: str
    properties: dict[str, Any]
    sheets: list[Sheet] = field(default_factory=list)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    #: The clock formulas read (TODAY(), NOW()): an aware datetime; the stand-in's State sets it.
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC), repr=False, compare=False)

    @staticmethod
    def default_properties(title: str, locale: str, time_zone: str) -> dict[str, Any]:
        return {
            "title": title,
            "locale": locale,
            "autoRecalc": "ON_CHANGE",
            "timeZone": time_zone,
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": _theme(),
        }

    @property
    def title(self) -> str:
        return str(self.properties.get("title", ""))

    @property
    def locale(self) -> str:
        return str(self.properties.get("locale", "en_US"))

    def clone(self) -> Spreadsheet:
        return Spreadsheet(
            id=self.id,
            properties=copy.deepcopy(self.properties),
            sheets=[s.clone() for s in self.sheets],
            named_ranges=copy.deepcopy(self.named_ranges),
            clock=self.clock,
        )

    def now(self) -> dt.datetime:
        """The wall-clock time in the spreadsheet's time zone (naive), as NOW() sees it."""
        try:
            zone: dt.tzinfo = zoneinfo.ZoneInfo(str(self.properties.get("timeZone") or "Etc/GMT"))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        return self.clock().astimezone(zone).replace(tzinfo=None)

    def today(self) -> dt.date:
        """TODAY(): the date in the spreadsheet's time zone."""
        return self.now().date()

    def cell_count(self) -> int:
        """Cells of every grid, blank or not: what Google's 10-million limit counts."""
        return sum(s.row_count * s.column_count for s in self.sheets)

    def grew_past_limit(self, before: int) -> bool:
        """True when a change took the workbook from ``before`` cells to more, and over :data:`CELL_LIMIT`.

        A change that shrinks (or keeps) the count is allowed even above the limit.
        """
        after = self.cell_count()
        return after > CELL_LIMIT and after > before

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.properties["index"] = i

    def find_sheet(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        low = title.casefold()
        for s in self.sheets:
            if s.title.casefold() == low:
                return s
        return None

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        for s in self.sheets:
            if s.sheet_id == sheet_id:
                return s
        return None

    def first_visible_sheet(self) -> Sheet:
        for s in self.sheets:
            if not s.hidden:
                return s
        return self.sheets[0]

    def find_named_range(self, name: str) -> A1Range | None:
        for nr in self.named_ranges:
            if nr.get("name") == name:
                rng = nr.get("range", {})
                sheet = self.sheet_by_id(int(rng.get("sheetId", 0)))
                if sheet is None:
                    return None
                return A1Range(
                    sheet,
                    int(rng.get("startRowIndex", 0)),
                    int(rng.get("startColumnIndex", 0)),
                    int(rng.get("endRowIndex", sheet.row_count)),
                    int(rng.get("endColumnIndex", sheet.column_count)),
                    "box",
                    name,
                )
        return None
