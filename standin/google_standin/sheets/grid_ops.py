"""Operations on a sheet's grid shared by the HTTP handlers and the test helpers.

Reading values (with Google's trailing-empty trimming), writing values
(RAW / USER_ENTERED), finding the "table" an append lands after, sorting, and
keeping ranges (merges, protections...) in step when rows or columns move.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..core.errors import GoogleError
from . import cellvalues as cv
from .formula import FormulaContext
from .models import Cell, Sheet, Spreadsheet

PROTECTED_MESSAGE = (
    "You are trying to edit a protected cell or object. Please contact the spreadsheet owner "
    "to remove protection if you need to edit."
)

# -- reading -----------------------------------------------------------------------


def values_matrix(
    sheet: Sheet,
    r0: int,
    c0: int,
    r1: int,
    c1: int,
    *,
    major: str = "ROWS",
    value_render: str = "FORMATTED_VALUE",
    date_render: str = "SERIAL_NUMBER",
    locale: str = "en_US",
    ctx: FormulaContext | None = None,
) -> list[list[Any]]:
    """Values of a box, trimmed like Google: no trailing empty cells or lines (``ctx`` for formulas)."""
    rows_out: list[list[Any]] = []
    last_row = min(r1, len(sheet.rows))
    for r in range(r0, last_row):
        row = sheet.rows[r]
        line = [cv.render(row[c], value_render, date_render, locale, ctx) for c in range(c0, min(c1, len(row)))]
        rows_out.append(line)
    if major == "COLUMNS":
        width = max((len(x) for x in rows_out), default=0)
        rows_out = [[line[c] if c < len(line) else None for line in rows_out] for c in range(width)]
    out: list[list[Any]] = []
    for line in rows_out:
        while line and line[-1] is None:
            line.pop()
        out.append(["" if v is None else v for v in line])
    while out and not out[-1]:
        out.pop()
    return out


# -- writing -------------------------------------------------------------------------


def entered_cell(old: Cell | None, value: Any, input_option: str, locale: str) -> Cell | None:
    """New cell dict after typing ``value`` into ``old`` (formats are kept)."""
    cell: Cell = dict(old or {})
    if value == "" or value is None:
        cell.pop("userEnteredValue", None)
        return cell
    if isinstance(value, (dt.date, dt.datetime)):
        serial = cv.date_to_serial(value)
        cell["userEnteredValue"] = {"numberValue": cv.tidy_number(serial)}
        fmt = dict(cell.get("userEnteredFormat") or {})
        if (fmt.get("numberFormat") or {}).get("type") not in cv.DATE_TYPES:
            kind = "DATE_TIME" if isinstance(value, dt.datetime) else "DATE"
            fmt["numberFormat"] = {"type": kind, "pattern": cv.default_pattern(kind, locale)}
            cell["userEnteredFormat"] = fmt
        return cell
    if input_option == "RAW":
        cell["userEnteredValue"] = cv.raw_entered(value)
        return cell
    user_value, number_format = cv.user_entered(value, locale, cell.get("userEnteredFormat"))
    cell["userEnteredValue"] = user_value
    if number_format is not None:
        fmt = dict(cell.get("userEnteredFormat") or {})
        fmt["numberFormat"] = number_format
        cell["userEnteredFormat"] = fmt
    return cell


def check_scalar(value: Any, where: str) -> None:
    """Only bool, number, string and null may appear in ``values`` (else 400)."""
    if isinstance(value, dict):
        raise GoogleError.bad_request(f"Invalid {where}: struct_value {{\n}}\n")
    if isinstance(value, list):
        raise GoogleError.bad_request(f"Invalid {where}: list_value {{\n}}\n")


def write_matrix(
    ss: Spreadsheet,
    sheet: Sheet,
    r0: int,
    c0: int,
    matrix: list[list[Any]],
    input_option: str,
    *,
    major: str = "ROWS",
    identity: str | None = None,
) -> list[tuple[int, int]]:
    """Write a values matrix at (r0, c0); return the (row, col) of every cell written."""
    if major == "COLUMNS":
        height = max((len(col) for col in matrix), default=0)
        matrix = [[col[r] if r < len(col) else None for col in matrix] for r in range(height)]
    written: list[tuple[int, int]] = []
    for i, line in enumerate(matrix):
        for j, value in enumerate(line):
            check_scalar(value, f"values[{i}][{j}]")
            if value is None:
                continue
            if identity is not None:
                check_protection(ss, sheet, r0 + i, c0 + j, identity)
            sheet.put(r0 + i, c0 + j, entered_cell(sheet.get(r0 + i, c0 + j), value, input_option, ss.locale))
            written.append((r0 + i, c0 + j))
    return written


def clear_values(sheet: Sheet, r0: int, c0: int, r1: int, c1: int) -> None:
    for r in range(r0, min(r1, len(sheet.rows))):
        row = sheet.rows[r]
        for c in range(c0, min(c1, len(row))):
            cell = row[c]
            if cell and "userEnteredValue" in cell:
                new = dict(cell)
                del new["userEnteredValue"]
                row[c] = new or None


def ensure_grid(sheet: Sheet, rows: int, cols: int) -> None:
    """Grow the grid so it holds ``rows`` x ``cols`` (values writes spill over)."""
    if rows > sheet.row_count:
        sheet.grid["rowCount"] = rows
    if cols > sheet.column_count:
        sheet.grid["columnCount"] = cols


# -- append: where does the table end? ----------------------------------------------------


def current_region(sheet: Sheet, r: int, c: int) -> tuple[int, int, int, int]:
    """Grow a box from (r, c) while any neighbouring cell holds a value."""
    r0, c0, r1, c1 = r, c, r + 1, c + 1
    changed = True
    while changed:
        changed = False
        if r0 > 0 and any(sheet.has_value(r0 - 1, x) for x in range(max(c0 - 1, 0), c1 + 1)):
            r0 -= 1
            changed = True
        if any(sheet.has_value(r1, x) for x in range(max(c0 - 1, 0), c1 + 1)):
            r1 += 1
            changed = True
        if c0 > 0 and any(sheet.has_value(y, c0 - 1) for y in range(max(r0 - 1, 0), r1 + 1)):
            c0 -= 1
            changed = True
        if any(sheet.has_value(y, c1) for y in range(max(r0 - 1, 0), r1 + 1)):
            c1 += 1
            changed = True
    return r0, c0, r1, c1


def find_table(sheet: Sheet, r0: int, c0: int, r1: int, c1: int, single_cell: bool) -> tuple[int, int, int, int] | None:
    """The table an append continues, as Google picks it (observed behaviour).

    A single-cell range anchors on that cell (empty -> no table); a larger range
    takes the region around its last value, so ``A1, C1`` in a row yields ``C1``.
    """
    if single_cell:
        return current_region(sheet, r0, c0) if sheet.has_value(r0, c0) else None
    last: tuple[int, int] | None = None
    for r in range(r0, min(r1, len(sheet.rows))):
        row = sheet.rows[r]
        for c in range(c0, min(c1, len(row))):
            if row[c] and "userEnteredValue" in row[c]:  # type: ignore[operator]
                last = (r, c)
    if last is None:
        return None
    return current_region(sheet, *last)


# -- protection ------------------------------------------------------------------------------


def _in_range(rng: dict[str, Any], sheet: Sheet, r: int, c: int) -> bool:
    if int(rng.get("sheetId", 0)) != sheet.sheet_id:
        return False
    return int(rng.get("startRowIndex", 0)) <= r < int(rng.get("endRowIndex", sheet.row_count)) and int(
        rng.get("startColumnIndex", 0)
    ) <= c < int(rng.get("endColumnIndex", sheet.column_count))


def check_protection(ss: Spreadsheet, sheet: Sheet, r: int, c: int, identity: str) -> None:
    """Refuse to edit a cell under a (non warning-only) protection we are not editor of."""
    for pr in sheet.protected_ranges:
        if pr.get("warningOnly"):
            continue
        users = [u.lower() for u in (pr.get("editors") or {}).get("users", [])]
        if identity.lower() in users:
            continue
        rng = pr.get("range")
        if rng is None or _in_range({"sheetId": sheet.sheet_id, **rng}, sheet, r, c):
            raise GoogleError.bad_request(PROTECTED_MESSAGE)


def check_box_protection(ss: Spreadsheet, sheet: Sheet, r0: int, c0: int, r1: int, c1: int, identity: str) -> None:
    for pr in sheet.protected_ranges:
        if pr.get("warningOnly"):
            continue
        users = [u.lower() for u in (pr.get("editors") or {}).get("users", [])]
        if identity.lower() in users:
            continue
        rng = pr.get("range") or {}
        pr0, pc0 = int(rng.get("startRowIndex", 0)), int(rng.get("startColumnIndex", 0))
        pr1 = int(rng.get("endRowIndex", sheet.row_count))
        pc1 = int(rng.get("endColumnIndex", sheet.column_count))
        if pr0 < r1 and r0 < pr1 and pc0 < c1 and c0 < pc1:
            raise GoogleError.bad_request(PROTECTED_MESSAGE)


# -- sorting -------------------------------------------------------------------------------------


def _sort_key(cell: Cell | None) -> tuple[int, Any]:
    ev = cv.effective_value((cell or {}).get("userEnteredValue"))
    if not ev:
        return (3, 0)
    if "numberValue" in ev:
        return (0, ev["numberValue"])
    if "stringValue" in ev:
        return (1, ev["stringValue"].casefold())
    if "boolValue" in ev:
        return (2, ev["boolValue"])
    return (2, 0)


def sort_rows(sheet: Sheet, r0: int, c0: int, r1: int, c1: int, specs: list[tuple[int, bool]]) -> None:
    """Sort rows r0..r1 of columns c0..c1; ``specs`` = [(column, ascending)]. Blanks last."""
    width = c1 - c0
    block = []
    for r in range(r0, r1):
        row = sheet.rows[r] if r < len(sheet.rows) else []
        block.append([row[c] if c < len(row) else None for c in range(c0, c1)])
    for col, ascending in reversed(specs):
        idx = col - c0
        blanks = [line for line in block if _sort_key(line[idx])[0] == 3]
        filled = [line for line in block if _sort_key(line[idx])[0] != 3]
        filled.sort(key=lambda line: _sort_key(line[idx]), reverse=not ascending)
        block = filled + blanks
    for i, line in enumerate(block):
        for j in range(width):
            sheet.put(r0 + i, c0 + j, line[j])


# -- keeping ranges in step -------------------------------------------------------------------------

_DIM_KEYS = {"ROWS": ("startRowIndex", "endRowIndex"), "COLUMNS": ("startColumnIndex", "endColumnIndex")}


def _shift_range(rng: dict[str, Any], dim: str, at: int, delta: int, limit: int) -> dict[str, Any] | None:
    """Move a GridRange for an insert (delta>0 at ``at``) or delete (delta<0 of [at, at-delta))."""
    s_key, e_key = _DIM_KEYS[dim]
    start = int(rng.get(s_key, 0))
    end = int(rng.get(e_key, limit))
    if delta > 0:
        if start >= at:
            start += delta
        if end > at:
            end += delta
    else:
        d0, d1 = at, at - delta
        n = d1 - d0

        def move(x: int) -> int:
            return x if x <= d0 else d0 if x <= d1 else x - n

        start, end = move(start), move(end)
        if end <= start:
            return None
    out = dict(rng)
    if s_key in rng or start:
        out[s_key] = start
    if e_key in rng:
        out[e_key] = end
    return out


def shift_ranges(ss: Spreadsheet, sheet: Sheet, dim: str, at: int, delta: int) -> None:
    """Keep merges, protections, conditional formats, filters and named ranges aligned."""
    limit = sheet.row_count if dim == "ROWS" else sheet.column_count

    def fix(rng: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if rng is None else _shift_range(rng, dim, at, delta, limit)

    sheet.merges = [m for m in (fix(m) for m in sheet.merges) if m]
    for pr in list(sheet.protected_ranges):
        if "range" in pr:
            new = fix(pr["range"])
            if new is None:
                sheet.protected_ranges.remove(pr)
            else:
                pr["range"] = new
    for rule in list(sheet.conditional_formats):
        ranges = [r for r in (fix(x) for x in rule.get("ranges", [])) if r]
        if ranges:
            rule["ranges"] = ranges
        else:
            sheet.conditional_formats.remove(rule)
    if sheet.basic_filter and "range" in sheet.basic_filter:
        new = fix(sheet.basic_filter["range"])
        sheet.basic_filter = None if new is None else {**sheet.basic_filter, "range": new}
    for nr in list(ss.named_ranges):
        rng = nr.get("range", {})
        if int(rng.get("sheetId", 0)) == sheet.sheet_id:
            new = fix(rng)
            if new is None:
                ss.named_ranges.remove(nr)
            else:
                nr["range"] = new
