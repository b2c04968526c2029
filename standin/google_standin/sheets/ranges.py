"""Ranges resolved against a spreadsheet, the way the Sheets API reads them.

The stand-in has to accept every range shape the project and gspread send
(``'Contact Plan'!A2:F``, ``Лиды``, ``A:C``, ``A1:1``, a bare sheet title, a
named range) and answer with the *normalised* range Google returns
(``'Contact Plan'!A2:F1000``), because callers parse that echoed range to place
the values they get back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..core.a1 import Endpoint, format_range, parse_ref, quote_title
from ..core.errors import GoogleError

if TYPE_CHECKING:  # pragma: no cover
    from .models import Sheet, Spreadsheet

__all__ = ["A1Range", "resolve_range", "split_sheet"]

RangeKind = Literal["cell", "box", "sheet"]


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
    kind: RangeKind
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
        i, chars = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    chars.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(chars), None
                if rest.startswith("!"):
                    return "".join(chars), rest[1:] or None
                raise ValueError(text)
            chars.append(ch)
            i += 1
        raise ValueError(text)
    if "!" in text:
        title, _, ref = text.rpartition("!")
        return title, ref or None
    return None, text


def _box(start: Endpoint, end: Endpoint | None, rows: int, cols: int) -> tuple[int, int, int, int, RangeKind]:
    """The half-open box a parsed reference covers on a rows x cols grid."""
    if end is None:
        assert start.row is not None and start.col is not None
        return start.row, start.col, start.row + 1, start.col + 1, "cell"
    r0 = start.row if start.row is not None else 0
    c0 = start.col if start.col is not None else 0
    r1 = end.row + 1 if end.row is not None else rows
    c1 = end.col + 1 if end.col is not None else cols
    if r1 <= r0:  # written bottom-up ("A5:B2"): Google swaps the corners
        r0, r1 = (r1 - 1 if end.row is not None else r0), (r0 + 1)
    if c1 <= c0:
        c0, c1 = c1 - 1, c0 + 1
    return r0, c0, r1, c1, "box"


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
    parsed = parse_ref(ref) if ref else None
    if title is None:
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
        if ref and parsed is None:
            named = spreadsheet.find_named_range(ref)  # 'Sheet1'!MyRange works too
            if named is None:
                raise bad
            return named
    rows, cols = sheet.row_count, sheet.column_count
    if ref is None or parsed is None:
        return A1Range(sheet, 0, 0, rows, cols, "sheet", text)
    r0, c0, r1, c1, kind = _box(*parsed, rows, cols)
    if check_grid and (r1 > rows or c1 > cols):
        raise GoogleError.bad_request(
            f"Range ({quote_title(sheet.title)}!{ref}) exceeds grid limits. Max rows: {rows}, max columns: {cols}"
        )
    return A1Range(sheet, r0, c0, r1, c1, kind, text)
