"""A1 notation: parsing ranges the way the Sheets API does, and printing them back.

The fake has to accept every range shape the project and gspread send
(``'Contact Plan'!A2:F``, ``Лиды``, ``A:C``, ``A1:1``, a bare sheet title) and
answer with the *normalised* range Google returns (``'Contact Plan'!A2:F1000``),
because callers parse that echoed range to place the values they get back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import GoogleError

if TYPE_CHECKING:  # pragma: no cover
    from .model import Sheet, Spreadsheet

_SIMPLE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}\d+|R\d*C\d*)$", re.IGNORECASE)
_ENDPOINT = re.compile(r"^(?P<col>[A-Za-z]{1,3})?(?P<row>[1-9]\d{0,6})?$")


def col_to_letters(index: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def letters_to_col(letters: str) -> int:
    """Column letters -> 0-based index (A -> 0)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def quote_title(title: str) -> str:
    """Quote a sheet title the way Google echoes it in ranges.

    Google leaves plain ASCII identifiers alone (``Sheet1``) and quotes
    everything else: spaces, non-ASCII letters, and titles that could be read
    as a cell reference (``'D3'``).
    """
    if _SIMPLE_TITLE.match(title) and not _CELL_LIKE.match(title) and title.upper() not in {"TRUE", "FALSE"}:
        return title
    return "'" + title.replace("'", "''") + "'"


def cell_a1(row: int, col: int) -> str:
    """0-based (row, col) -> ``B3``."""
    return f"{col_to_letters(col)}{row + 1}"


def grid_a1(r0: int, c0: int, r1: int, c1: int) -> str:
    """Half-open 0-based box -> ``A1:C6`` (or ``B1`` for a single cell)."""
    if r1 - r0 == 1 and c1 - c0 == 1:
        return cell_a1(r0, c0)
    return f"{cell_a1(r0, c0)}:{cell_a1(r1 - 1, c1 - 1)}"


def format_range(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    """Normalised range text as Google returns it, e.g. ``'Contact Plan'!A1:F20``."""
    return f"{quote_title(title)}!{grid_a1(r0, c0, r1, c1)}"


@dataclass
class _Endpoint:
    col: int | None
    row: int | None


def _parse_endpoint(text: str) -> _Endpoint | None:
    m = _ENDPOINT.match(text)
    if not m or not (m.group("col") or m.group("row")):
        return None
    col = letters_to_col(m.group("col")) if m.group("col") else None
    row = int(m.group("row")) - 1 if m.group("row") else None
    return _Endpoint(col, row)


def parse_ref(ref: str) -> tuple[_Endpoint, _Endpoint | None] | None:
    """Parse the cell part of a range (``A1``, ``A1:B2``, ``A:C``, ``2:5``)."""
    parts = ref.split(":")
    if len(parts) == 1:
        single = _parse_endpoint(parts[0])
        if single is None or single.col is None or single.row is None:
            return None  # a lone column or row number is not a valid range
        return single, None
    if len(parts) != 2:
        return None
    start, end = _parse_endpoint(parts[0]), _parse_endpoint(parts[1])
    if start is None or end is None:
        return None
    # `A:1`-style mixes are invalid; `A1:B`, `A1:1`, `A:B`, `1:2` are fine.
    if start.col is None and end.col is not None and end.row is not None:
        return None
    return start, end


@dataclass
class A1Range:
    """A range resolved against a spreadsheet: half-open 0-based box on a sheet.

    ``kind`` records how it was written, because writes treat a single-cell
    anchor (data may spill over) differently from an explicit box.
    """

    sheet: Sheet
    r0: int
    c0: int
    r1: int
    c1: int
    kind: Literal["cell", "box", "sheet"]
    text: str

    @property
    def normalised(self) -> str:
        return format_range(self.sheet.title, self.r0, self.c0, self.r1, self.c1)

    @property
    def rows(self) -> int:
        return self.r1 - self.r0

    @property
    def cols(self) -> int:
        return self.c1 - self.c0


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """Split ``'My ''tab'''!A1`` into (title, ref). Either part may be None."""
    if text.startswith("'"):
        i, title = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(title), None
                if rest.startswith("!"):
                    return "".join(title), rest[1:] or None
                raise ValueError(text)
            title.append(ch)
            i += 1
        raise ValueError(text)
    if "!" in text:
        title, _, ref = text.rpartition("!")
        return title, ref or None
    return None, text


def resolve_range(spreadsheet: Spreadsheet, text: str, *, check_grid: bool = True) -> A1Range:
    """Resolve A1 text against ``spreadsheet`` like Google does.

    A bare word is a cell reference if it parses as one (so a tab called
    ``CO2`` must be quoted), otherwise a sheet title, otherwise a named range.
    Unknown titles give Google's 400 "Unable to parse range: ...".
    """
    bad = GoogleError.bad_request(f"Unable to parse range: {text}")
    try:
        title, ref = split_sheet(text.strip())
    except ValueError:
        raise bad from None
    sheet: Sheet | None
    if title is None:
        parsed = parse_ref(ref or "")
        if parsed is not None:
            sheet = spreadsheet.first_visible_sheet()
        else:
            sheet = spreadsheet.find_sheet(ref or "")
            if sheet is None:
                named = spreadsheet.find_named_range(ref or "")
                if named is None:
                    raise bad
                return named
            ref = None
    else:
        sheet = spreadsheet.find_sheet(title)
        if sheet is None:
            raise bad
        parsed = parse_ref(ref) if ref else None
        if ref and parsed is None:
            named = spreadsheet.find_named_range(ref)  # 'Sheet1'!MyRange works too
            if named is None:
                raise bad
            return named
    rows, cols = sheet.row_count, sheet.column_count
    if ref is None or parsed is None:
        return A1Range(sheet, 0, 0, rows, cols, "sheet", text)
    start, end = parsed
    if end is None:
        assert start.row is not None and start.col is not None
        r0, c0, r1, c1, kind = start.row, start.col, start.row + 1, start.col + 1, "cell"
    else:
        r0 = start.row if start.row is not None else 0
        c0 = start.col if start.col is not None else 0
        r1 = end.row + 1 if end.row is not None else rows
        c1 = end.col + 1 if end.col is not None else cols
        if start.row is None and end.row is not None:  # e.g. "A:B3" is odd but legal
            r0 = 0
        if r1 <= r0:
            r0, r1 = (r1 - 1 if end.row is not None else r0), (r0 + 1)
        if c1 <= c0:
            c0, c1 = c1 - 1, c0 + 1
        kind = "box"
    if check_grid and (r1 > rows or c1 > cols):
        raise GoogleError.bad_request(
            f"Range ({quote_title(sheet.title)}!{ref}) exceeds grid limits. Max rows: {rows}, max columns: {cols}"
        )
    return A1Range(sheet, r0, c0, r1, c1, kind, text)  # type: ignore[arg-type]
