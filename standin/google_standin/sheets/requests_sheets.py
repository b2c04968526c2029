"""batchUpdate request kinds that change structure: sheets, rows/columns,
protections, conditional formats, named ranges, filters, properties."""

from __future__ import annotations

import copy
import re
import zoneinfo
from typing import Any

from ..core import fieldmask
from ..core.a1 import parse_ref
from .batch_update import BatchCtx, Invalid
from .grid_ops import shift_ranges
from .models import DEFAULT_COLS, DEFAULT_ROWS, Sheet
from .render import grid_range_json, protected_range_json, sheet_properties_json
from .requests_cells import tidy_color

# -- sheets -------------------------------------------------------------------------------


def _title_taken(ctx: BatchCtx, title: str, *, besides: Sheet | None = None) -> bool:
    low = title.casefold()
    return any(s.title.casefold() == low and s is not besides for s in ctx.ss.sheets)


def _taken_message(title: str) -> str:
    return f'A sheet with the name "{title}" already exists. Please enter another name.'


def _new_sheet_index(ctx: BatchCtx, props: dict[str, Any]) -> int:
    """Where ``addSheet`` puts the new tab: ``properties.index``, 0..sheet count; default last.

    An index past the end is answered 400 here. What real Google answers is
    not documented and was not found recorded anywhere (it may clamp, as this
    stand-in used to); the stand-in is strict on purpose — like Google for every
    other out-of-range index (``insertDimension``, ``moveDimension``) — so a
    client that sends ``index = sheet count + 1`` is caught in tests.
    """
    count = len(ctx.ss.sheets)
    index = int(props.pop("index", count))
    if not 0 <= index <= count:
        raise Invalid(f"index {index} is out of bounds: the spreadsheet has {count} sheets (valid: 0 to {count}).")
    return index


def add_sheet(ctx: BatchCtx, p: dict[str, Any]) -> dict[str, Any]:
    """A new tab; its index is checked by :func:`_new_sheet_index`, the cell limit by the batch."""
    props = copy.deepcopy(p.get("properties", {}))
    title = props.pop("title", None)
    if not title:
        n = len(ctx.ss.sheets) + 1
        while _title_taken(ctx, f"Sheet{n}"):
            n += 1
        title = f"Sheet{n}"
    if _title_taken(ctx, title):
        raise Invalid(_taken_message(title))
    sheet_id = props.pop("sheetId", None)
    if sheet_id is None:
        sheet_id = ctx.state.new_sheet_id(ctx.ss)
    elif ctx.ss.sheet_by_id(int(sheet_id)) is not None:
        raise Invalid(f"A sheet with the id {sheet_id} already exists.")
    index = _new_sheet_index(ctx, props)
    grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS, **props.pop("gridProperties", {})}
    full = {
        "sheetId": int(sheet_id),
        "title": title,
        "index": index,
        "sheetType": props.pop("sheetType", "GRID"),
        "gridProperties": grid,
        **props,
    }
    _sync_tab_color(full, props)
    sheet = Sheet(full)
    ctx.ss.sheets.insert(index, sheet)
    ctx.ss.reindex()
    return {"properties": sheet_properties_json(sheet)}


def delete_sheet(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet = ctx.sheet(p.get("sheetId", 0))
    if len(ctx.ss.sheets) == 1:
        raise Invalid("You can't remove all the sheets in a document.")
    if not sheet.hidden and all(s.hidden for s in ctx.ss.sheets if s is not sheet):
        raise Invalid("You can't remove all the visible sheets in a document.")
    ctx.ss.sheets.remove(sheet)
    ctx.ss.named_ranges = [
        nr for nr in ctx.ss.named_ranges if int(nr.get("range", {}).get("sheetId", 0)) != sheet.sheet_id
    ]
    ctx.ss.reindex()
    return None


def duplicate_sheet(ctx: BatchCtx, p: dict[str, Any]) -> dict[str, Any]:
    source = ctx.sheet(p.get("sourceSheetId", 0))
    title = p.get("newSheetName") or f"Copy of {source.title}"
    if _title_taken(ctx, title):
        raise Invalid(_taken_message(title))
    clone = source.clone()
    clone.properties["sheetId"] = int(p.get("newSheetId") or ctx.state.new_sheet_id(ctx.ss))
    clone.properties["title"] = title
    clone.protected_ranges = []
    for m in clone.merges:
        m["sheetId"] = clone.sheet_id
    index = min(int(p.get("insertSheetIndex", source.properties["index"] + 1)), len(ctx.ss.sheets))
    ctx.ss.sheets.insert(index, clone)
    ctx.ss.reindex()
    return {"properties": sheet_properties_json(clone)}


def _sync_tab_color(props: dict[str, Any], source: dict[str, Any]) -> None:
    """Keep tabColor / tabColorStyle in step; an empty style (``rgbColor: null``) clears both."""
    style = source.get("tabColorStyle")
    if style is not None:
        if style.get("rgbColor") is not None:
            props["tabColor"] = tidy_color(style["rgbColor"])
            props["tabColorStyle"] = {**style, "rgbColor": props["tabColor"]}
        elif style:
            props["tabColorStyle"] = dict(style)
            props.pop("tabColor", None)
        else:
            props.pop("tabColor", None)
            props.pop("tabColorStyle", None)
    elif "tabColor" in source:
        props["tabColor"] = tidy_color(source["tabColor"])
        props["tabColorStyle"] = {"rgbColor": props["tabColor"]}
        if not props["tabColor"] and not source["tabColor"]:
            props.pop("tabColor")
            props.pop("tabColorStyle")


def update_sheet_properties(ctx: BatchCtx, p: dict[str, Any]) -> None:
    given = p.get("properties", {})
    sheet = ctx.sheet(given.get("sheetId", 0))
    mask = ctx.mask(p.get("fields"), "SheetProperties")
    new = fieldmask.apply_update(sheet.properties, given, mask)
    new["sheetId"] = sheet.sheet_id
    if "gridProperties" not in new:
        new["gridProperties"] = copy.deepcopy(sheet.grid)
    if any(m[0] in {"tabColor", "tabColorStyle", "*"} for m in mask):
        if "tabColor" in given or "tabColorStyle" in given:
            _sync_tab_color(new, given)
        else:
            new.pop("tabColor", None)
            new.pop("tabColorStyle", None)
    title = str(new.get("title") or "")
    if not title:
        raise Invalid("Sheet title must not be empty.")
    if title != sheet.title and _title_taken(ctx, title, besides=sheet):
        raise Invalid(_taken_message(title))
    if new.get("hidden") and all(s.hidden for s in ctx.ss.sheets if s is not sheet):
        raise Invalid("You can't hide all the sheets in a document.")
    grid = new["gridProperties"]
    rows, cols = int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0))
    if rows < 1 or cols < 1:
        raise Invalid("A sheet must have at least one row and one column.")
    if int(grid.get("frozenRowCount", 0) or 0) >= rows:
        raise Invalid("You can't freeze all visible rows on the sheet.")
    if int(grid.get("frozenColumnCount", 0) or 0) >= cols:
        raise Invalid("You can't freeze all visible columns on the sheet.")
    old_index = int(sheet.properties.get("index", 0))
    sheet.properties = new
    sheet.truncate()
    target = int(new.get("index", old_index))
    if target != old_index:
        ctx.ss.sheets.remove(sheet)
        # Google counts the destination in the pre-move ordering.
        if target > old_index:
            target -= 1
        ctx.ss.sheets.insert(max(0, min(target, len(ctx.ss.sheets))), sheet)
    ctx.ss.reindex()
    return None


def update_spreadsheet_properties(ctx: BatchCtx, p: dict[str, Any]) -> None:
    mask = ctx.mask(p.get("fields"), "SpreadsheetProperties")
    new = fieldmask.apply_update(ctx.ss.properties, p.get("properties", {}), mask)
    tz = new.get("timeZone")
    if tz and tz != ctx.ss.properties.get("timeZone"):
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise Invalid(f"Invalid timeZone: {tz}") from None
    if not new.get("title"):
        raise Invalid("Spreadsheet title must not be empty.")
    ctx.ss.properties = new
    return None


# -- rows and columns ------------------------------------------------------------------------------


def update_dimension_properties(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, dim, start, end = ctx.dimension(p.get("range"))
    mask = ctx.mask(p.get("fields"), "DimensionProperties")
    meta = sheet.row_meta if dim == "ROWS" else sheet.col_meta
    for i in range(start, end):
        new = fieldmask.apply_update(meta.get(i, {}), p.get("properties", {}), mask)
        new = {k: v for k, v in new.items() if v not in (None, False)}
        if new:
            meta[i] = new
        else:
            meta.pop(i, None)
    return None


def append_dimension(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet = ctx.sheet(p.get("sheetId", 0))
    length = int(p.get("length", 0))
    if length <= 0:
        raise Invalid("length must be greater than zero.")
    key = "rowCount" if p.get("dimension", "ROWS") == "ROWS" else "columnCount"
    sheet.grid[key] = int(sheet.grid.get(key, 0)) + length
    return None


def insert_rows_or_columns(ctx_ss: Any, sheet: Sheet, dim: str, start: int, count: int, inherit_before: bool) -> None:
    """Insert blank rows/columns, carrying formats over from a neighbour like Sheets does."""
    shift_ranges(ctx_ss, sheet, dim, start, count)
    frozen_key = "frozenRowCount" if dim == "ROWS" else "frozenColumnCount"
    if start < int(sheet.grid.get(frozen_key, 0) or 0):
        sheet.grid[frozen_key] = int(sheet.grid[frozen_key]) + count
    source = start - 1 if inherit_before else start
    if dim == "ROWS":
        sheet.insert_rows(start, count)
        src_index = source if inherit_before else source + count
        template = sheet.rows[src_index] if 0 <= src_index < len(sheet.rows) else []
        for r in range(start, start + count):
            for c, cell in enumerate(template):
                if cell and (cell.get("userEnteredFormat") or cell.get("dataValidation")):
                    sheet.put(
                        r,
                        c,
                        {k: copy.deepcopy(v) for k, v in cell.items() if k in {"userEnteredFormat", "dataValidation"}},
                    )
    else:
        sheet.insert_cols(start, count)
        src_index = source if inherit_before else source + count
        for r, row in enumerate(sheet.rows):
            cell = row[src_index] if 0 <= src_index < len(row) else None
            if cell and (cell.get("userEnteredFormat") or cell.get("dataValidation")):
                for c in range(start, start + count):
                    sheet.put(
                        r,
                        c,
                        {k: copy.deepcopy(v) for k, v in cell.items() if k in {"userEnteredFormat", "dataValidation"}},
                    )


def insert_dimension(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, dim, start, end = ctx.dimension(p.get("range"), inserting=True)
    before = bool(p.get("inheritFromBefore"))
    if before and start == 0:
        raise Invalid("Cannot inherit from before when inserting at the first row or column.")
    insert_rows_or_columns(ctx.ss, sheet, dim, start, end - start, before)
    return None


def delete_rows_or_columns(ss: Any, sheet: Sheet, dim: str, start: int, end: int) -> None:
    frozen_key = "frozenRowCount" if dim == "ROWS" else "frozenColumnCount"
    frozen = int(sheet.grid.get(frozen_key, 0) or 0)
    if frozen:
        overlap = max(0, min(end, frozen) - start)
        sheet.grid[frozen_key] = frozen - overlap
    shift_ranges(ss, sheet, dim, start, -(end - start))
    if dim == "ROWS":
        sheet.delete_rows(start, end)
    else:
        sheet.delete_cols(start, end)


def delete_dimension(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, dim, start, end = ctx.dimension(p.get("range"))
    count = sheet.row_count if dim == "ROWS" else sheet.column_count
    if end - start >= count:
        raise Invalid(f"You can't delete all the {dim.lower()} on the sheet.")
    delete_rows_or_columns(ctx.ss, sheet, dim, start, end)
    return None


def move_rows_or_columns(sheet: Sheet, dim: str, start: int, end: int, dest: int) -> None:
    """Move [start, end) so it starts at ``dest`` (counted before removal, as Google does)."""

    def reorder(items: list[Any]) -> list[Any]:
        block = items[start:end]
        rest = items[:start] + items[end:]
        at = dest if dest <= start else dest - (end - start)
        return rest[:at] + block + rest[at:]

    if dim == "ROWS":
        need = max(end, dest)
        while len(sheet.rows) < need:
            sheet.rows.append([])
        sheet.rows = reorder(sheet.rows)
    else:
        need = max(end, dest)
        for i, row in enumerate(sheet.rows):
            if len(row) < need:
                row.extend([None] * (need - len(row)))
            sheet.rows[i] = reorder(row)


def move_dimension(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, dim, start, end = ctx.dimension(p.get("source"))
    dest = int(p.get("destinationIndex", 0))
    count = sheet.row_count if dim == "ROWS" else sheet.column_count
    if dest < 0 or dest > count:
        raise Invalid(f"destinationIndex {dest} is out of bounds.")
    if start < dest < end:
        raise Invalid("Cannot move a dimension into itself.")
    move_rows_or_columns(sheet, dim, start, end, dest)
    return None


def auto_resize_dimensions(ctx: BatchCtx, p: dict[str, Any]) -> None:
    ctx.dimension(p.get("dimensions"))  # validated, otherwise a no-op: there is no rendering
    return None


# -- protections, conditional formats, named ranges, filters ----------------------------------------------


def _range_sheet(ctx: BatchCtx, rng: dict[str, Any]) -> Sheet:
    sheet, *_ = ctx.box(rng)
    return sheet


_BOUNDS = ("startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex")


def _whole_sheet(rng: dict[str, Any] | None) -> bool:
    """A fully unbounded GridRange: Google's "sheet protection" (only one per sheet)."""
    return rng is not None and not any(rng.get(k) is not None for k in _BOUNDS)


def add_protected_range(ctx: BatchCtx, p: dict[str, Any]) -> dict[str, Any]:
    """Protect a range, or a whole sheet (then: 400 "already has sheet protection" if it has one)."""
    given = copy.deepcopy(p.get("protectedRange", {}))
    rng = given.get("range")
    if rng is None and "namedRangeId" not in given:
        raise Invalid("A protected range must have a range or a named range.")
    sheet = _range_sheet(ctx, rng or {})
    if rng is not None and _whole_sheet(rng) and any(_whole_sheet(pr.get("range")) for pr in sheet.protected_ranges):
        raise Invalid(f'Sheet "{sheet.title}" already has sheet protection.')
    given_editors = {k: v for k, v in (given.get("editors") or {}).items() if v}
    others = [u for u in given_editors.get("users", []) if u and u.lower() != ctx.identity.lower()]
    stored = {
        "protectedRangeId": int(given.get("protectedRangeId") or ctx.state.new_object_id()),
        **({"range": {"sheetId": sheet.sheet_id, **rng}} if rng is not None else {}),
        **{k: given[k] for k in ("namedRangeId", "description", "unprotectedRanges") if k in given},
        "warningOnly": bool(given.get("warningOnly")),
        "requestingUserCanEdit": True,
        # The creator is always an editor; Google lists it when the sheet is read back.
        "editors": {**given_editors, "users": [ctx.identity, *others]},
    }
    sheet.protected_ranges.append(stored)
    reply = protected_range_json(stored)
    reply["editors"] = given_editors  # the reply echoes the request's editors ({} here)
    return {"protectedRange": reply}


def _find_protected(ctx: BatchCtx, pid: int) -> tuple[Sheet, dict[str, Any]]:
    for sheet in ctx.ss.sheets:
        for pr in sheet.protected_ranges:
            if int(pr["protectedRangeId"]) == pid:
                return sheet, pr
    raise Invalid(f"No protected range with id: {pid}")


def update_protected_range(ctx: BatchCtx, p: dict[str, Any]) -> None:
    given = p.get("protectedRange", {})
    sheet, pr = _find_protected(ctx, int(given.get("protectedRangeId", 0)))
    mask = ctx.mask(p.get("fields"), "ProtectedRange")
    new = fieldmask.apply_update(pr, given, mask)
    new["protectedRangeId"] = pr["protectedRangeId"]
    sheet.protected_ranges[sheet.protected_ranges.index(pr)] = new
    return None


def delete_protected_range(ctx: BatchCtx, p: dict[str, Any]) -> None:
    sheet, pr = _find_protected(ctx, int(p.get("protectedRangeId", 0)))
    sheet.protected_ranges.remove(pr)
    return None


def add_conditional_format_rule(ctx: BatchCtx, p: dict[str, Any]) -> None:
    rule = copy.deepcopy(p.get("rule", {}))
    ranges = rule.get("ranges") or []
    if not ranges:
        raise Invalid("A conditional format rule must have at least one range.")
    if "booleanRule" not in rule and "gradientRule" not in rule:
        raise Invalid("A conditional format rule must have a booleanRule or a gradientRule.")
    sheet = _range_sheet(ctx, ranges[0])
    for r in ranges:
        if int(r.get("sheetId", 0)) != sheet.sheet_id:
            raise Invalid("All ranges of a conditional format rule must be on the same sheet.")
        ctx.box(r)
    index = max(0, min(int(p.get("index", 0)), len(sheet.conditional_formats)))
    rule["ranges"] = [{k: v for k, v in r.items() if k != "sheetId"} for r in ranges]
    sheet.conditional_formats.insert(index, rule)
    return None


def _rule_at(ctx: BatchCtx, p: dict[str, Any]) -> tuple[Sheet, int]:
    sheet = ctx.sheet(p.get("sheetId", 0))
    index = int(p.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise Invalid(f"No conditional format on sheet: {sheet.sheet_id} at index: {index}")
    return sheet, index


def update_conditional_format_rule(ctx: BatchCtx, p: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _rule_at(ctx, p)
    old = sheet.conditional_formats[index]
    if "rule" in p:
        rule = copy.deepcopy(p["rule"])
        rule["ranges"] = [{k: v for k, v in r.items() if k != "sheetId"} for r in rule.get("ranges", [])]
        sheet.conditional_formats[index] = rule
        new_index = index
    else:
        new_index = max(0, min(int(p.get("newIndex", index)), len(sheet.conditional_formats) - 1))
        sheet.conditional_formats.insert(new_index, sheet.conditional_formats.pop(index))
    return {"oldRule": old, "oldIndex": index, "newRule": sheet.conditional_formats[new_index], "newIndex": new_index}


def delete_conditional_format_rule(ctx: BatchCtx, p: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _rule_at(ctx, p)
    return {"rule": sheet.conditional_formats.pop(index)}


_NAME_OK = re.compile(r"^[A-Za-z_\u0080-\uffff][\w.\u0080-\uffff]*$")


def add_named_range(ctx: BatchCtx, p: dict[str, Any]) -> dict[str, Any]:
    given = copy.deepcopy(p.get("namedRange", {}))
    name = given.get("name", "")
    if not _NAME_OK.match(name) or parse_ref(name) is not None or name.upper() in {"TRUE", "FALSE"}:
        raise Invalid(f"Named range name {name!r} is not valid.")
    if any(nr.get("name", "").casefold() == name.casefold() for nr in ctx.ss.named_ranges):
        raise Invalid(f"Named range with name {name} already exists.")
    sheet, r0, c0, r1, c1 = ctx.box(given.get("range"))
    stored = {
        "namedRangeId": given.get("namedRangeId") or f"{ctx.state.new_object_id():x}",
        "name": name,
        "range": {"sheetId": sheet.sheet_id, **(given.get("range") or {})},
    }
    ctx.ss.named_ranges.append(stored)
    return {"namedRange": {**stored, "range": grid_range_json(stored["range"])}}


def _named(ctx: BatchCtx, nid: str) -> dict[str, Any]:
    for nr in ctx.ss.named_ranges:
        if nr.get("namedRangeId") == nid:
            return nr
    raise Invalid(f"No named range with id: {nid}")


def update_named_range(ctx: BatchCtx, p: dict[str, Any]) -> None:
    given = p.get("namedRange", {})
    nr = _named(ctx, given.get("namedRangeId", ""))
    mask = ctx.mask(p.get("fields"), "NamedRange")
    new = fieldmask.apply_update(nr, given, mask)
    new["namedRangeId"] = nr["namedRangeId"]
    ctx.box(new.get("range"))
    ctx.ss.named_ranges[ctx.ss.named_ranges.index(nr)] = new
    return None


def delete_named_range(ctx: BatchCtx, p: dict[str, Any]) -> None:
    ctx.ss.named_ranges.remove(_named(ctx, p.get("namedRangeId", "")))
    return None


def set_basic_filter(ctx: BatchCtx, p: dict[str, Any]) -> None:
    flt = copy.deepcopy(p.get("filter", {}))
    sheet, r0, c0, r1, c1 = ctx.box(flt.get("range"))
    # Google stores the filter's range with every bound filled in.
    flt["range"] = {"startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}
    sheet.basic_filter = flt
    return None


def clear_basic_filter(ctx: BatchCtx, p: dict[str, Any]) -> None:
    ctx.sheet(p.get("sheetId", 0)).basic_filter = None
    return None


HANDLERS = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "duplicateSheet": duplicate_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "updateDimensionProperties": update_dimension_properties,
    "appendDimension": append_dimension,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "moveDimension": move_dimension,
    "autoResizeDimensions": auto_resize_dimensions,
    "addProtectedRange": add_protected_range,
    "updateProtectedRange": update_protected_range,
    "deleteProtectedRange": delete_protected_range,
    "addConditionalFormatRule": add_conditional_format_rule,
    "updateConditionalFormatRule": update_conditional_format_rule,
    "deleteConditionalFormatRule": delete_conditional_format_rule,
    "addNamedRange": add_named_range,
    "updateNamedRange": update_named_range,
    "deleteNamedRange": delete_named_range,
    "setBasicFilter": set_basic_filter,
    "clearBasicFilter": clear_basic_filter,
}
