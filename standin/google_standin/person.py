"""A person editing the spreadsheet in the browser, between the tool's requests.

The product's promise is to work *beside* people who keep typing, inserting,
sorting and renaming. These helpers change the in-memory spreadsheet directly
(no HTTP, not counted in stats, no protection checks: the person is the owner)
and behave like the Sheets UI — e.g. inserted rows take the format of the row
above. Rows and columns are 1-based here, as a person counts them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .core.a1 import letters_to_col
from .sheets.grid_ops import clear_values, ensure_grid, sort_rows, write_matrix
from .sheets.models import Sheet, Spreadsheet
from .sheets.ranges import resolve_range
from .sheets.requests_cells import tidy_color
from .sheets.requests_sheets import delete_rows_or_columns, insert_rows_or_columns, move_rows_or_columns

if TYPE_CHECKING:  # pragma: no cover
    from .fake import FakeGoogle

Value = str | int | float | bool | dt.date | dt.datetime | None


def column_index(col: int | str) -> int:
    """1-based number or letters -> 0-based index."""
    if isinstance(col, int):
        return col - 1
    return letters_to_col(col)


def hex_to_color(color: str | dict[str, float]) -> dict[str, float]:
    if isinstance(color, dict):
        return dict(tidy_color(color))
    h = color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return dict(tidy_color({"red": r, "green": g, "blue": b}))


class Person:
    def __init__(self, fake: FakeGoogle) -> None:
        self._fake = fake

    # -- plumbing ------------------------------------------------------------------
    def _ss(self, spreadsheet_id: str) -> Spreadsheet:
        return self._fake.spreadsheet(spreadsheet_id)

    def _sheet(self, spreadsheet_id: str, tab: str) -> tuple[Spreadsheet, Sheet]:
        ss = self._ss(spreadsheet_id)
        sheet = ss.find_sheet(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {spreadsheet_id}")
        return ss, sheet

    def _done(self, spreadsheet_id: str) -> None:
        for sheet in self._ss(spreadsheet_id).sheets:
            sheet.trim()
        self._fake.state.touch(spreadsheet_id)

    # -- typing --------------------------------------------------------------------------
    def set_value(self, spreadsheet_id: str, tab: str, a1: str, value: Value, *, raw: bool = False) -> None:
        """Type one value (parsed like USER_ENTERED unless ``raw``); None/"" clears it."""
        self.set_values(spreadsheet_id, tab, a1, [[value if value is not None else ""]], raw=raw)

    def set_values(
        self, spreadsheet_id: str, tab: str, a1: str, rows: Iterable[Iterable[Value]], *, raw: bool = False
    ) -> None:
        """Paste a block of values with its top-left corner at ``a1``."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        rng = resolve_range(ss, f"{_q(tab)}!{a1}", check_grid=False)
        matrix = [["" if v is None else v for v in row] for row in rows]
        ensure_grid(sheet, rng.r0 + len(matrix), rng.c0 + max((len(r) for r in matrix), default=0))
        write_matrix(ss, sheet, rng.r0, rng.c0, matrix, "RAW" if raw else "USER_ENTERED")
        self._done(spreadsheet_id)

    def clear(self, spreadsheet_id: str, tab: str, a1: str | None = None) -> None:
        """Delete values (not formats) in a range, or the whole tab."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        rng = resolve_range(ss, f"{_q(tab)}!{a1}" if a1 else _q(tab))
        clear_values(sheet, rng.r0, rng.c0, rng.r1, rng.c1)
        self._done(spreadsheet_id)

    def set_background(self, spreadsheet_id: str, tab: str, a1: str, color: str | dict[str, float] | None) -> None:
        """Paint cells (``"#FFCC00"``) or remove their fill (None)."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        rng = resolve_range(ss, f"{_q(tab)}!{a1}")
        for r in range(rng.r0, rng.r1):
            for c in range(rng.c0, rng.c1):
                cell = dict(sheet.get(r, c) or {})
                fmt = dict(cell.get("userEnteredFormat") or {})
                if color is None:
                    fmt.pop("backgroundColor", None)
                    fmt.pop("backgroundColorStyle", None)
                else:
                    rgb = hex_to_color(color)
                    fmt["backgroundColor"] = rgb
                    fmt["backgroundColorStyle"] = {"rgbColor": dict(rgb)}
                cell["userEnteredFormat"] = fmt
                if not fmt:
                    del cell["userEnteredFormat"]
                sheet.put(r, c, cell)
        self._done(spreadsheet_id)

    def set_number_format(self, spreadsheet_id: str, tab: str, a1: str, kind: str, pattern: str = "") -> None:
        """Apply a number format (``"DATE", "dd.mm.yyyy"``, ``"TEXT"``...)."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        rng = resolve_range(ss, f"{_q(tab)}!{a1}")
        for r in range(rng.r0, rng.r1):
            for c in range(rng.c0, rng.c1):
                cell = dict(sheet.get(r, c) or {})
                fmt = dict(cell.get("userEnteredFormat") or {})
                fmt["numberFormat"] = {"type": kind, **({"pattern": pattern} if pattern else {})}
                cell["userEnteredFormat"] = fmt
                sheet.put(r, c, cell)
        self._done(spreadsheet_id)

    # -- rows and columns ---------------------------------------------------------------------
    def insert_rows(
        self, spreadsheet_id: str, tab: str, at: int, count: int = 1, values: Iterable[Iterable[Value]] | None = None
    ) -> None:
        """Insert ``count`` rows before row ``at`` (formats copied from the row above), optionally filled."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        insert_rows_or_columns(ss, sheet, "ROWS", at - 1, count, inherit_before=at > 1)
        if values is not None:
            write_matrix(ss, sheet, at - 1, 0, [list(r) for r in values], "USER_ENTERED")
        self._done(spreadsheet_id)

    def delete_rows(self, spreadsheet_id: str, tab: str, at: int, count: int = 1) -> None:
        ss, sheet = self._sheet(spreadsheet_id, tab)
        delete_rows_or_columns(ss, sheet, "ROWS", at - 1, at - 1 + count)
        self._done(spreadsheet_id)

    def insert_columns(self, spreadsheet_id: str, tab: str, at: int | str, count: int = 1) -> None:
        """Insert ``count`` columns before column ``at`` (1-based number or letters)."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        start = column_index(at)
        insert_rows_or_columns(ss, sheet, "COLUMNS", start, count, inherit_before=start > 0)
        self._done(spreadsheet_id)

    def delete_columns(self, spreadsheet_id: str, tab: str, at: int | str, count: int = 1) -> None:
        ss, sheet = self._sheet(spreadsheet_id, tab)
        start = column_index(at)
        delete_rows_or_columns(ss, sheet, "COLUMNS", start, start + count)
        self._done(spreadsheet_id)

    def move_column(self, spreadsheet_id: str, tab: str, column: int | str, to: int | str) -> None:
        """Drag a column so it ends up at position ``to`` (e.g. move ``"F"`` to ``"B"``)."""
        _, sheet = self._sheet(spreadsheet_id, tab)
        src, final = column_index(column), column_index(to)
        dest = final if final <= src else final + 1
        move_rows_or_columns(sheet, "COLUMNS", src, src + 1, dest)
        self._done(spreadsheet_id)

    def move_row(self, spreadsheet_id: str, tab: str, row: int, to: int) -> None:
        """Drag row ``row`` so it ends up as row ``to``."""
        _, sheet = self._sheet(spreadsheet_id, tab)
        src, final = row - 1, to - 1
        dest = final if final <= src else final + 1
        move_rows_or_columns(sheet, "ROWS", src, src + 1, dest)
        self._done(spreadsheet_id)

    def sort(
        self, spreadsheet_id: str, tab: str, column: int | str, *, ascending: bool = True, header_rows: int = 1
    ) -> None:
        """Data > Sort range by one column, keeping ``header_rows`` on top."""
        _, sheet = self._sheet(spreadsheet_id, tab)
        rows, cols = sheet.value_extent()
        sort_rows(
            sheet,
            header_rows,
            0,
            max(rows, header_rows),
            max(cols, column_index(column) + 1),
            [(column_index(column), ascending)],
        )
        self._done(spreadsheet_id)

    # -- tabs and sharing -------------------------------------------------------------------------------
    def rename_tab(self, spreadsheet_id: str, tab: str, new_title: str) -> None:
        _, sheet = self._sheet(spreadsheet_id, tab)
        sheet.properties["title"] = new_title
        self._done(spreadsheet_id)

    def add_tab(
        self,
        spreadsheet_id: str,
        title: str,
        rows: Iterable[Iterable[Value]] | None = None,
        *,
        index: int | None = None,
    ) -> int:
        """Add a tab (optionally filled); returns its sheetId."""
        ss = self._ss(spreadsheet_id)
        sheet_id = self._fake.state.new_sheet_id(ss)
        data = [list(r) for r in rows or []]
        sheet = Sheet(
            {
                "sheetId": sheet_id,
                "title": title,
                "index": 0,
                "sheetType": "GRID",
                "gridProperties": {
                    "rowCount": max(1000, len(data)),
                    "columnCount": max(26, max((len(r) for r in data), default=0)),
                },
            }
        )
        ss.sheets.insert(len(ss.sheets) if index is None else index, sheet)
        ss.reindex()
        if data:
            write_matrix(ss, sheet, 0, 0, data, "USER_ENTERED")
        self._done(spreadsheet_id)
        return sheet_id

    def delete_conditional_format(self, spreadsheet_id: str, tab: str, index: int) -> dict[str, Any]:
        """Delete one conditional-format rule (Format > Conditional formatting > the bin); returns it."""
        _, sheet = self._sheet(spreadsheet_id, tab)
        rule = sheet.conditional_formats.pop(index)
        self._done(spreadsheet_id)
        return rule

    def delete_tab(self, spreadsheet_id: str, tab: str) -> None:
        ss, sheet = self._sheet(spreadsheet_id, tab)
        ss.sheets.remove(sheet)
        ss.reindex()
        self._done(spreadsheet_id)

    def protect(
        self,
        spreadsheet_id: str,
        tab: str,
        a1: str | None = None,
        *,
        editors: Iterable[str] = (),
        warning_only: bool = False,
    ) -> int:
        """Protect a range (or the tab) so only ``editors`` (plus the owner) may edit it."""
        ss, sheet = self._sheet(spreadsheet_id, tab)
        pid = self._fake.state.new_object_id()
        pr: dict[str, Any] = {"protectedRangeId": pid, "warningOnly": warning_only, "requestingUserCanEdit": False}
        if a1:
            rng = resolve_range(ss, f"{_q(tab)}!{a1}")
            pr["range"] = {
                "sheetId": sheet.sheet_id,
                "startRowIndex": rng.r0,
                "endRowIndex": rng.r1,
                "startColumnIndex": rng.c0,
                "endColumnIndex": rng.c1,
            }
        else:
            pr["range"] = {"sheetId": sheet.sheet_id}
        owner = self._fake.state.files[spreadsheet_id].owner
        pr["editors"] = {"users": [owner, *[e for e in editors if e.lower() != owner.lower()]]}
        sheet.protected_ranges.append(pr)
        self._done(spreadsheet_id)
        return pid

    def share(self, spreadsheet_id: str, email: str, role: str = "writer") -> None:
        self._fake.state.share(spreadsheet_id, email, role)

    def unshare(self, spreadsheet_id: str, email: str) -> None:
        self._fake.state.unshare(spreadsheet_id, email)

    def set_time_zone(self, spreadsheet_id: str, time_zone: str) -> None:
        self._ss(spreadsheet_id).properties["timeZone"] = time_zone
        self._done(spreadsheet_id)

    def set_locale(self, spreadsheet_id: str, locale: str) -> None:
        self._ss(spreadsheet_id).properties["locale"] = locale
        self._done(spreadsheet_id)

    def rename_spreadsheet(self, spreadsheet_id: str, title: str) -> None:
        self._fake.state.rename(spreadsheet_id, title)
        self._done(spreadsheet_id)

    def delete_spreadsheet(self, spreadsheet_id: str) -> None:
        self._fake.state.files.pop(spreadsheet_id, None)
        self._fake.state.spreadsheets.pop(spreadsheet_id, None)


def _q(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"
