"""A1 notation as text: column letters, cell and box labels, the cell part of a range, title quoting.

Letters and cell labels come from :mod:`gspread.utils` (one implementation of
the rule, shared with the product's backend); what is Google's own — how it
quotes a sheet title when it echoes a range, which shapes of range it accepts —
is written here. Resolving a range against a spreadsheet lives in
:mod:`google_standin.sheets.ranges`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gspread.utils import column_letter_to_index, rowcol_to_a1

__all__ = [
    "Endpoint",
    "cell_a1",
    "col_to_letters",
    "format_range",
    "grid_a1",
    "letters_to_col",
    "parse_ref",
    "quote_title",
]

_SIMPLE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^([A-Za-z]{1,3}\d+|R\d*C\d*)$", re.IGNORECASE)
_ENDPOINT = re.compile(r"^(?P<col>[A-Za-z]{1,3})?(?P<row>[1-9]\d{0,6})?$")


def col_to_letters(index: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    return rowcol_to_a1(1, index + 1)[:-1]


def letters_to_col(letters: str) -> int:
    """Column letters -> 0-based index (A -> 0)."""
    return column_letter_to_index(letters) - 1


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
    return rowcol_to_a1(row + 1, col + 1)


def grid_a1(r0: int, c0: int, r1: int, c1: int) -> str:
    """Half-open 0-based box -> ``A1:C6`` (or ``B1`` for a single cell)."""
    if r1 - r0 == 1 and c1 - c0 == 1:
        return cell_a1(r0, c0)
    return f"{cell_a1(r0, c0)}:{cell_a1(r1 - 1, c1 - 1)}"


def format_range(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    """Normalised range text as Google returns it, e.g. ``'Contact Plan'!A1:F20``."""
    return f"{quote_title(title)}!{grid_a1(r0, c0, r1, c1)}"


@dataclass
class Endpoint:
    """One side of ``A1:B2``: 0-based column and row, either may be open (``A``, ``3``)."""

    col: int | None
    row: int | None


def _parse_endpoint(text: str) -> Endpoint | None:
    m = _ENDPOINT.match(text)
    if not m or not (m.group("col") or m.group("row")):
        return None
    col = letters_to_col(m.group("col")) if m.group("col") else None
    row = int(m.group("row")) - 1 if m.group("row") else None
    return Endpoint(col, row)


def parse_ref(ref: str) -> tuple[Endpoint, Endpoint | None] | None:
    """Parse the cell part of a range (``A1``, ``A1:B2``, ``A:C``, ``2:5``); None if it is not one."""
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
