"""Spreadsheet resources as ``spreadsheets.get`` returns them.

Shapes follow the recorded exchanges: default members Google leaves out
(``sheetId`` 0 inside a GridRange, ``false`` flags, zero frozen counts) are left
out here too, and grid data omits trailing empty rows and cells.
"""

from __future__ import annotations

import copy
from typing import Any

from ..core import fieldmask
from . import cellvalues as cv
from .formula import FormulaContext
from .models import Cell, Sheet, Spreadsheet

DEFAULT_ROW_PX = 21
DEFAULT_COL_PX = 100


def merge_dicts(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid on ``base`` (nested dicts merged; values shared, not copied)."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_dicts(out[k], v)
        else:
            out[k] = v
    return out


CELL_KEYS = ("userEnteredValue", "effectiveValue", "formattedValue", "userEnteredFormat", "effectiveFormat")


def cell_json(
    cell: Cell | None,
    locale: str,
    default_format: dict[str, Any],
    mask: fieldmask.Tree | None = None,
    ctx: FormulaContext | None = None,
) -> dict[str, Any]:
    """A stored cell as Google's CellData (adds effective and formatted values).

    ``mask`` (the part of a field mask under ``rowData.values``) limits the
    work to what was asked for — reading a large sheet with
    ``values(effectiveValue)`` must not pay for formats. The result shares
    structure with the stored cell: treat it as read-only.
    """
    if not cell:
        return {}
    if mask is not None and "*" not in mask:
        out = _cell_members(cell, locale, default_format, frozenset(mask), ctx)
        for key, sub in mask.items():
            if sub is not None and key in out:
                out[key] = fieldmask.filter_response(out[key], sub)
        return out
    return _cell_members(cell, locale, default_format, None, ctx)


_EVALUATED = frozenset({"effectiveValue", "formattedValue", "effectiveFormat"})


def _wanted(want: frozenset[str] | None, key: str) -> bool:
    return want is None or key in want


def _values(
    out: dict[str, Any],
    user: dict[str, Any],
    fmt: dict[str, Any] | None,
    locale: str,
    want: frozenset[str] | None,
    ctx: FormulaContext | None,
) -> dict[str, str] | None:
    """Add effectiveValue / formattedValue; return the number format a formula's result implies."""
    eff, implied = cv.effective(user, ctx, locale)
    if eff is None:
        return implied
    if _wanted(want, "effectiveValue"):
        out["effectiveValue"] = eff
    if _wanted(want, "formattedValue"):
        text = cv.format_value(eff, (fmt or {}).get("numberFormat") or implied, locale)
        if text is not None:
            out["formattedValue"] = text
    return implied


def _cell_members(
    cell: Cell,
    locale: str,
    default_format: dict[str, Any],
    want: frozenset[str] | None,
    ctx: FormulaContext | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    user = cell.get("userEnteredValue")
    fmt = cell.get("userEnteredFormat")
    implied = None
    if user and _wanted(want, "userEnteredValue"):
        out["userEnteredValue"] = user
    if user and (want is None or not _EVALUATED.isdisjoint(want)):
        implied = _values(out, user, fmt, locale, want, ctx)
    if fmt and _wanted(want, "userEnteredFormat"):
        out["userEnteredFormat"] = fmt
    if (user or fmt) and _wanted(want, "effectiveFormat"):
        own = fmt or {}
        if implied is not None and "numberFormat" not in own:
            own = {**own, "numberFormat": implied}  # =TODAY() shows as a date without a format of its own
        out["effectiveFormat"] = merge_dicts(default_format, own)
    for key, value in cell.items():
        if key not in out and key not in {"userEnteredValue", "userEnteredFormat"} and _wanted(want, key):
            out[key] = value
    return out


def grid_data(
    ss: Spreadsheet,
    sheet: Sheet,
    r0: int,
    c0: int,
    r1: int,
    c1: int,
    *,
    mask: fieldmask.Tree | None = None,
    metadata: bool = True,
) -> dict[str, Any]:
    """GridData for a box: startRow/startColumn, rowData, row/column metadata."""
    default = ss.properties.get("defaultFormat", {})
    data: dict[str, Any] = {}
    if r0:
        data["startRow"] = r0
    if c0:
        data["startColumn"] = c0
    row_data: list[dict[str, Any]] = []
    locale = ss.locale
    ctx = FormulaContext(ss, sheet)
    for r in range(r0, min(r1, len(sheet.rows))):
        row = sheet.rows[r]
        cells = [cell_json(row[c], locale, default, mask, ctx) for c in range(c0, min(c1, len(row)))]
        while cells and not cells[-1]:
            cells.pop()
        row_data.append({"values": cells} if cells else {})
    while row_data and not row_data[-1]:
        row_data.pop()
    if row_data:
        data["rowData"] = row_data
    if metadata:
        data["rowMetadata"] = [{"pixelSize": DEFAULT_ROW_PX, **sheet.row_meta.get(r, {})} for r in range(r0, r1)]
        data["columnMetadata"] = [{"pixelSize": DEFAULT_COL_PX, **sheet.col_meta.get(c, {})} for c in range(c0, c1)]
    return data


def grid_range_json(rng: dict[str, Any]) -> dict[str, Any]:
    """GridRange as echoed by Google: ``sheetId`` 0 is a default and left out."""
    out = {k: v for k, v in rng.items() if v is not None}
    if out.get("sheetId") == 0:
        del out["sheetId"]
    return out


def sheet_properties_json(sheet: Sheet) -> dict[str, Any]:
    props = copy.deepcopy(sheet.properties)
    grid = props.get("gridProperties", {})
    for key in ("frozenRowCount", "frozenColumnCount"):
        if not grid.get(key):
            grid.pop(key, None)
    for key in ("hideGridlines", "rowGroupControlAfter", "columnGroupControlAfter"):
        if grid.get(key) is False:
            grid.pop(key)
    for key in ("hidden", "rightToLeft"):
        if props.get(key) is False:
            props.pop(key)
    return props


def protected_range_json(pr: dict[str, Any]) -> dict[str, Any]:
    out = {k: copy.deepcopy(v) for k, v in pr.items() if v not in (None, False)}
    if "range" in out:
        out["range"] = grid_range_json(out["range"])
    return out


def sheet_json(ss: Spreadsheet, sheet: Sheet, data: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"properties": sheet_properties_json(sheet)}
    if data is not None:
        out["data"] = data
    if sheet.merges:
        out["merges"] = [grid_range_json({"sheetId": sheet.sheet_id, **m}) for m in sheet.merges]
    if sheet.conditional_formats:
        out["conditionalFormats"] = [
            {
                **copy.deepcopy(rule),
                "ranges": [grid_range_json({"sheetId": sheet.sheet_id, **r}) for r in rule.get("ranges", [])],
            }
            for rule in sheet.conditional_formats
        ]
    if sheet.protected_ranges:
        out["protectedRanges"] = [protected_range_json(pr) for pr in sheet.protected_ranges]
    if sheet.basic_filter:
        bf = copy.deepcopy(sheet.basic_filter)
        if "range" in bf:
            bf["range"] = grid_range_json({"sheetId": sheet.sheet_id, **bf["range"]})
        out["basicFilter"] = bf
    return out


def spreadsheet_json(
    ss: Spreadsheet,
    *,
    data_boxes: dict[int, list[tuple[int, int, int, int]]] | None = None,
    only_sheets: set[int] | None = None,
    cell_mask: fieldmask.Tree | None = None,
    metadata: bool = True,
) -> dict[str, Any]:
    """The Spreadsheet resource; ``data_boxes`` maps sheetId -> boxes of grid data to include."""
    sheets = []
    for sheet in ss.sheets:
        if only_sheets is not None and sheet.sheet_id not in only_sheets:
            continue
        data = None
        if data_boxes is not None:
            boxes = data_boxes.get(sheet.sheet_id, [])
            data = [grid_data(ss, sheet, *box, mask=cell_mask, metadata=metadata) for box in boxes]
        sheets.append(sheet_json(ss, sheet, data))
    out: dict[str, Any] = {
        "spreadsheetId": ss.id,
        "properties": copy.deepcopy(ss.properties),
        "sheets": sheets,
    }
    if ss.named_ranges:
        out["namedRanges"] = [
            {**copy.deepcopy(nr), "range": grid_range_json(nr.get("range", {}))} for nr in ss.named_ranges
        ]
    out["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"
    return out
