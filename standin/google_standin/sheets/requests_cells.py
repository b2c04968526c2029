"""batchUpdate request kinds that change cells: values, formats, validation, sorting, merges."""

from __future__ import annotations

import copy
import functools
import math
import struct
from typing import Any

from ..core import fieldmask
from .batch_update import BatchCtx, Invalid
from .cellvalues import effective_value
from .formula import shift_formula
from .grid_ops import check_box_protection, clear_values, sort_rows
from .models import Cell, Sheet

STORED_CELL_KEYS = {
    "userEnteredValue",
    "userEnteredFormat",
    "note",
    "dataValidation",
    "hyperlink",
    "textFormatRuns",
    "pivotTable",
    "dataSourceTable",
    "chipRuns",
}

# (plain colour path, style path) pairs Google keeps in sync inside a CellFormat.
COLOR_PAIRS = [
    (("backgroundColor",), ("backgroundColorStyle",)),
    (("textFormat", "foregroundColor"), ("textFormat", "foregroundColorStyle")),
]


def float32(value: float) -> float | int:
    """Round like Google's float fields: 127/255 comes back as 0.49803922."""
    if isinstance(value, int) or float(value).is_integer():
        return int(value)
    packed = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == packed:
            return float(text)
    return value


@functools.lru_cache(maxsize=4096)
def channel(value: float) -> float | int:
    """One colour channel as Google stores it: 8 bits (0.5 comes back as 0.49803922)."""
    return float32(math.floor(float(value) * 255 + 1e-6) / 255)


def tidy_color(color: Any) -> Any:
    """Colours as Google echoes them: zero channels dropped ({"red": 0, "green": 1}
    comes back as {"green": 1}), channels quantised to 8 bits."""
    if not isinstance(color, dict):
        return color
    out = {}
    for k, v in color.items():
        if k in {"red", "green", "blue"}:
            v = channel(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            if not v:
                continue
        out[k] = v
    return out


def _get(d: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _set(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        d = d.setdefault(key, {})
    if value is None:
        d.pop(path[-1], None)
    else:
        d[path[-1]] = value


def _normalise_colors(fmt: dict[str, Any]) -> None:
    """Keep ``backgroundColor`` and ``backgroundColorStyle`` (etc.) consistent, as Google does."""
    for plain, style in COLOR_PAIRS:
        src_style, src_plain = _get(fmt, style), _get(fmt, plain)
        if isinstance(src_style, dict) and src_style:
            rgb = src_style.get("rgbColor")
            _set(fmt, style, {**src_style, **({"rgbColor": tidy_color(rgb)} if rgb is not None else {})})
            _set(fmt, plain, tidy_color(rgb) if rgb is not None else None)
        elif src_plain is not None:
            _set(fmt, plain, tidy_color(src_plain))
            _set(fmt, style, {"rgbColor": tidy_color(src_plain)})
        else:
            _set(fmt, plain, None)
            _set(fmt, style, None)
    borders = fmt.get("borders")
    if isinstance(borders, dict):
        for border in borders.values():
            if isinstance(border, dict) and "color" in border:
                border["color"] = tidy_color(border["color"])
                border.setdefault("colorStyle", {"rgbColor": border["color"]})
    if isinstance(fmt.get("textFormat"), dict) and not fmt["textFormat"]:
        del fmt["textFormat"]


def prepare_cell_update(
    source: dict[str, Any], mask: list[tuple[str, ...]]
) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """Normalise one CellData and its mask once, before applying it to many cells.

    Colours are tidied and paired (a mask naming ``backgroundColor`` also
    updates ``backgroundColorStyle``), so :func:`update_cell` is a plain
    masked copy.
    """
    src = copy.deepcopy({k: v for k, v in source.items() if k in STORED_CELL_KEYS})
    if isinstance(src.get("userEnteredFormat"), dict):
        _normalise_colors(src["userEnteredFormat"])
    covered = set(mask)
    out = list(mask)
    for plain, style in COLOR_PAIRS:
        full = [("userEnteredFormat", *plain), ("userEnteredFormat", *style)]
        hit = any(m[: len(p)] == p or p[: len(m)] == m for m in mask for p in full)
        for p in full:
            if hit and not any(p[: len(m)] == m for m in covered):
                out.append(p)
    return src, out


def update_cell(old: Cell | None, prepared: dict[str, Any], mask: list[tuple[str, ...]]) -> Cell | None:
    """Apply a prepared CellData with its mask to a stored cell; returns the new cell."""
    new = fieldmask.apply_update(old or {}, prepared, mask)
    for key in [k for k in new if k not in STORED_CELL_KEYS]:
        del new[key]
    for key in ("userEnteredValue", "userEnteredFormat", "note", "hyperlink", "dataValidation", "textFormatRuns"):
        if key in new and new[key] in ({}, "", []):  # proto3: empty means unset
            del new[key]
    return new or None


def update_cells(ctx: BatchCtx, p: dict[str, Any]) -> None:
    mask = ctx.mask(p.get("fields"), "CellData")
    rows = p.get("rows", [])
    if "range" in p:
        sheet, r0, c0, r1, c1 = ctx.box(p["range"])
        check_box_protection(ctx.ss, sheet, r0, c0, r1, c1, ctx.identity)
        for r in range(r0, r1):
            values = rows[r - r0].get("values", []) if r - r0 < len(rows) else []
            for c in range(c0, c1):
                source = values[c - c0] if c - c0 < len(values) else {}
                sheet.put(r, c, update_cell(sheet.get(r, c), *prepare_cell_update(source, mask)))
        return None
    if "start" not in p:
        raise Invalid("Either range or start must be set.")
    start = p["start"]
    sheet = ctx.sheet(start.get("sheetId", 0))
    r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
    if r0 >= sheet.row_count:
        raise Invalid(f"GridCoordinate.rowIndex[{r0}] is after last row in grid[{sheet.row_count - 1}]")
    if c0 >= sheet.column_count:
        raise Invalid(f"GridCoordinate.columnIndex[{c0}] is after last column in grid[{sheet.column_count - 1}]")
    height = len(rows)
    width = max((len(r.get("values", [])) for r in rows), default=0)
    ctx.box(
        {
            "sheetId": sheet.sheet_id,
            "startRowIndex": r0,
            "endRowIndex": r0 + max(height, 1),
            "startColumnIndex": c0,
            "endColumnIndex": c0 + max(width, 1),
        }
    )
    check_box_protection(ctx.ss, sheet, r0, c0, r0 + height, c0 + width, ctx.identity)
    for i, row in enumerate(rows):
        for j, source in enumerate(row.get("values", [])):
            sheet.put(r0 + i, c0 + j, update_cell(sheet.get(r0 + i, c0 + j), *prepare_cell_update(source, mask)))
    return None


def repeat_cell(ctx: BatchCtx, p: dict[str, Any]) -> None:
    mask = ctx.mask(p.get("fields"), "CellData")
    sheet, r0, c0, r1, c1 = ctx.box(p.get("range"))
    check_box_protection(ctx.ss, sheet, r0, c0, r1, c1, ctx.identity)
    prepared, full_mask = prepare_cell_update(p.get("cell", {}), mask)
    formula = (prepared.get("userEnteredValue") or {}).get("formulaValue")
    for r in range(r0, r1):
        for c in range(c0, c1):
            cell = prepared
            if isinstance(formula, str) and (r, c) != (r0, c0):
                # Google increments the formula's relative references for each cell of the range.
                cell = {**prepared, "userEnteredValue": {"formulaValue": shift_formula(formula, r - r0, c - c0)}}
            sheet.put(r, c, update_cell(sheet.get(r, c), cell, full_mask))
    return None


def append_cells(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet = ctx.sheet(p.get("sheetId", 0))
    mask = ctx.mask(p.get("fields"), "CellData")
    rows = p.get("rows", [])
    start, _ = sheet.value_extent()
    need = start + len(rows)
    if need > sheet.row_count:
        sheet.grid["rowCount"] = need
    width = max((len(r.get("values", [])) for r in rows), default=0)
    if width > sheet.column_count:
        sheet.grid["columnCount"] = width
    for i, row in enumerate(rows):
        for j, source in enumerate(row.get("values", [])):
            sheet.put(start + i, j, update_cell(sheet.get(start + i, j), *prepare_cell_update(source, mask)))
    return None


def set_data_validation(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, r0, c0, r1, c1 = ctx.box(p.get("range"))
    rule = p.get("rule")
    if rule is not None:
        cond = rule.get("condition", {})
        if cond.get("type") in {"ONE_OF_LIST", "ONE_OF_RANGE"} and not cond.get("values"):
            raise Invalid(f"ConditionType {cond['type']} requires at least one ConditionValue.")
    for r in range(r0, r1):
        for c in range(c0, c1):
            cell = dict(sheet.get(r, c) or {})
            if rule is None:
                cell.pop("dataValidation", None)
            else:
                cell["dataValidation"] = copy.deepcopy(rule)
            sheet.put(r, c, cell)
    return None


def _with_borders(cell: Cell | None, sides: dict[str, dict[str, Any]]) -> Cell:
    """``cell`` with its borders on ``sides`` set (style NONE removes one)."""
    out = dict(cell or {})
    fmt = copy.deepcopy(out.get("userEnteredFormat") or {})
    borders: dict[str, Any] = fmt.setdefault("borders", {})
    for side, border in sides.items():
        if border.get("style") == "NONE":
            borders.pop(side, None)
            continue
        b = copy.deepcopy(border)
        b.setdefault("width", 1)
        if "color" in b:
            b["color"] = tidy_color(b["color"])
            b.setdefault("colorStyle", {"rgbColor": b["color"]})
        borders[side] = b
    if not borders:
        fmt.pop("borders")
    out["userEnteredFormat"] = fmt
    if not fmt:
        out.pop("userEnteredFormat")
    return out


def update_borders(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, r0, c0, r1, c1 = ctx.box(p.get("range"))
    for r in range(r0, r1):
        for c in range(c0, c1):
            given = {
                "top": p.get("top") if r == r0 else p.get("innerHorizontal"),
                "bottom": p.get("bottom") if r == r1 - 1 else p.get("innerHorizontal"),
                "left": p.get("left") if c == c0 else p.get("innerVertical"),
                "right": p.get("right") if c == c1 - 1 else p.get("innerVertical"),
            }
            sides: dict[str, dict[str, Any]] = {k: v for k, v in given.items() if v is not None}
            if sides:
                sheet.put(r, c, _with_borders(sheet.get(r, c), sides))
    return None


def sort_range(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, r0, c0, r1, c1 = ctx.box(p.get("range"))
    specs = []
    for spec in p.get("sortSpecs", []):
        col = int(spec.get("dimensionIndex", 0))
        if col >= sheet.column_count:
            raise Invalid(f"Sort column {col} is outside the grid.")
        specs.append((col, spec.get("sortOrder", "ASCENDING") != "DESCENDING"))
    if not specs:
        raise Invalid("At least one sort spec is required.")
    for col, _ in specs:
        if not c0 <= col < c1:
            raise Invalid(f"Sort column {col} must be within the range being sorted.")
    check_box_protection(ctx.ss, sheet, r0, c0, r1, c1, ctx.identity)
    sort_rows(sheet, r0, c0, r1, c1, specs)
    return None


def _overlaps(a: dict[str, Any], r0: int, c0: int, r1: int, c1: int, sheet: Sheet) -> bool:
    return (
        int(a.get("startRowIndex", 0)) < r1
        and r0 < int(a.get("endRowIndex", sheet.row_count))
        and int(a.get("startColumnIndex", 0)) < c1
        and c0 < int(a.get("endColumnIndex", sheet.column_count))
    )


def _inside(m: dict[str, Any], r0: int, c0: int, r1: int, c1: int) -> bool:
    return bool(
        r0 <= m["startRowIndex"]
        and m["endRowIndex"] <= r1
        and c0 <= m["startColumnIndex"]
        and m["endColumnIndex"] <= c1
    )


def merge_cells(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, r0, c0, r1, c1 = ctx.box(p.get("range"))
    kind = p.get("mergeType", "MERGE_ALL")
    # Merges inside the new range are replaced; one sticking out of it is an error.
    for m in sheet.merges:
        if _overlaps(m, r0, c0, r1, c1, sheet) and not _inside(m, r0, c0, r1, c1):
            raise Invalid("You must select all cells in a merged range to merge or unmerge them.")
    sheet.merges = [m for m in sheet.merges if not _overlaps(m, r0, c0, r1, c1, sheet)]
    if kind == "MERGE_COLUMNS":
        boxes = [(r0, c, r1, c + 1) for c in range(c0, c1)]
    elif kind == "MERGE_ROWS":
        boxes = [(r, c0, r + 1, c1) for r in range(r0, r1)]
    else:
        boxes = [(r0, c0, r1, c1)]
    for b0, bc0, b1, bc1 in boxes:
        if b1 - b0 == 1 and bc1 - bc0 == 1:
            continue
        top_left = sheet.get(b0, bc0)
        clear_values(sheet, b0, bc0, b1, bc1)
        sheet.put(b0, bc0, top_left)
        sheet.merges.append(
            {
                "sheetId": sheet.sheet_id,
                "startRowIndex": b0,
                "endRowIndex": b1,
                "startColumnIndex": bc0,
                "endColumnIndex": bc1,
            }
        )
    return None


def unmerge_cells(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, r0, c0, r1, c1 = ctx.box(p.get("range"))
    keep = []
    for m in sheet.merges:
        if not _overlaps(m, r0, c0, r1, c1, sheet):
            keep.append(m)
            continue
        if not _inside(m, r0, c0, r1, c1):
            raise Invalid("You must select all cells in a merged range to merge or unmerge them.")
    sheet.merges = keep
    return None


PASTE_KEYS = {
    "PASTE_NORMAL": None,  # everything
    "PASTE_NO_BORDERS": None,
    "PASTE_VALUES": {"userEnteredValue"},
    "PASTE_FORMULA": {"userEnteredValue"},
    "PASTE_FORMAT": {"userEnteredFormat"},
    "PASTE_DATA_VALIDATION": {"dataValidation"},
    "PASTE_CONDITIONAL_FORMATTING": set(),
}


def _pasted(target: Cell | None, source: Cell | None, paste_type: str, moved: tuple[int, int] = (0, 0)) -> Cell | None:
    """``target`` after pasting ``source`` onto it with a paste type; ``moved`` = (rows, cols) from
    the source cell to the target: a pasted formula's relative references move with it, as in the editor."""
    keys = PASTE_KEYS.get(paste_type)
    src = dict(source or {})
    formula = (src.get("userEnteredValue") or {}).get("formulaValue")
    if isinstance(formula, str) and moved != (0, 0) and paste_type != "PASTE_VALUES":
        src["userEnteredValue"] = {"formulaValue": shift_formula(formula, *moved)}
    if paste_type == "PASTE_VALUES" and "formulaValue" in (src.get("userEnteredValue") or {}):
        src["userEnteredValue"] = effective_value(src["userEnteredValue"])
    if paste_type == "PASTE_NO_BORDERS" and "userEnteredFormat" in src:
        src["userEnteredFormat"] = {k: v for k, v in src["userEnteredFormat"].items() if k != "borders"}
    if keys is None:
        return copy.deepcopy(src) or None
    out = dict(target or {})
    for key in keys:
        if key in src:
            out[key] = copy.deepcopy(src[key])
        else:
            out.pop(key, None)
    return out or None


def _block(sheet: Sheet, r0: int, c0: int, r1: int, c1: int, transpose: bool = False) -> list[list[Cell | None]]:
    rows = [[sheet.get(r, c) for c in range(c0, c1)] for r in range(r0, r1)]
    return [list(col) for col in zip(*rows, strict=False)] if transpose and rows else rows


def copy_paste(ctx: BatchCtx, p: dict[str, Any]) -> None:
    src_sheet, r0, c0, r1, c1 = ctx.box(p.get("source"))
    dst_sheet, d0, dc0, d1, dc1 = ctx.box(p.get("destination"))
    paste = p.get("pasteType", "PASTE_NORMAL")
    block = _block(src_sheet, r0, c0, r1, c1, p.get("pasteOrientation") == "TRANSPOSE")
    h, w = len(block), len(block[0]) if block else 0
    if not h or not w:
        return None
    # A destination that is a multiple of the source repeats it; otherwise paste once.
    reps_r = (d1 - d0) // h if (d1 - d0) % h == 0 and d1 - d0 >= h else 1
    reps_c = (dc1 - dc0) // w if (dc1 - dc0) % w == 0 and dc1 - dc0 >= w else 1
    ctx.box(
        {
            "sheetId": dst_sheet.sheet_id,
            "startRowIndex": d0,
            "endRowIndex": d0 + h * reps_r,
            "startColumnIndex": dc0,
            "endColumnIndex": dc0 + w * reps_c,
        }
    )
    check_box_protection(ctx.ss, dst_sheet, d0, dc0, d0 + h * reps_r, dc0 + w * reps_c, ctx.identity)
    for i in range(h * reps_r):
        for j in range(w * reps_c):
            r, c = d0 + i, dc0 + j
            source_rc = (r0 + i % h, c0 + j % w) if p.get("pasteOrientation") != "TRANSPOSE" else (r, c)
            moved = (r - source_rc[0], c - source_rc[1])
            dst_sheet.put(r, c, _pasted(dst_sheet.get(r, c), block[i % h][j % w], paste, moved))
    return None


def cut_paste(ctx: BatchCtx, p: dict[str, Any]) -> None:
    src_sheet, r0, c0, r1, c1 = ctx.box(p.get("source"))
    dest = p.get("destination", {})
    dst_sheet = ctx.sheet(dest.get("sheetId", 0))
    d0, dc0 = int(dest.get("rowIndex", 0)), int(dest.get("columnIndex", 0))
    paste = p.get("pasteType", "PASTE_NORMAL")
    block = _block(src_sheet, r0, c0, r1, c1)
    ctx.box(
        {
            "sheetId": dst_sheet.sheet_id,
            "startRowIndex": d0,
            "endRowIndex": d0 + (r1 - r0),
            "startColumnIndex": dc0,
            "endColumnIndex": dc0 + (c1 - c0),
        }
    )
    check_box_protection(ctx.ss, src_sheet, r0, c0, r1, c1, ctx.identity)
    check_box_protection(ctx.ss, dst_sheet, d0, dc0, d0 + (r1 - r0), dc0 + (c1 - c0), ctx.identity)
    for r in range(r0, r1):
        for c in range(c0, c1):
            src_sheet.put(r, c, _pasted(src_sheet.get(r, c), None, paste) if PASTE_KEYS.get(paste) else None)
    for i, row in enumerate(block):
        for j, cell in enumerate(row):
            dst_sheet.put(d0 + i, dc0 + j, _pasted(dst_sheet.get(d0 + i, dc0 + j), cell, paste))
    return None


HANDLERS = {
    "updateCells": update_cells,
    "repeatCell": repeat_cell,
    "appendCells": append_cells,
    "setDataValidation": set_data_validation,
    "updateBorders": update_borders,
    "sortRange": sort_range,
    "mergeCells": merge_cells,
    "unmergeCells": unmerge_cells,
    "copyPaste": copy_paste,
    "cutPaste": cut_paste,
}
