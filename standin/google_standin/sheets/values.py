"""Sheets v4 endpoints other than ``spreadsheets.batchUpdate``.

Every handler takes a :class:`Call` and returns ``(status, json)``. Errors are
raised as :class:`~google_standin.errors.GoogleError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import fieldmask
from .a1 import A1Range, col_to_letters, format_range, resolve_range
from .discovery import Method, unknown_mask_path
from .errors import GoogleError
from .grid_ops import (
    check_box_protection,
    clear_values,
    ensure_grid,
    find_table,
    shift_ranges,
    values_matrix,
    write_matrix,
)
from .model import Spreadsheet
from .render import spreadsheet_json

if TYPE_CHECKING:  # pragma: no cover
    from .state import State

Handler = Callable[["Call"], tuple[int, Any]]


@dataclass
class Call:
    """One decoded request as handlers see it."""

    state: State
    method: Method
    path: dict[str, str]
    query: dict[str, Any]
    body: Any
    extras: dict[str, Any] = field(default_factory=dict)


def parse_fields(call: Call, response_ref: str) -> fieldmask.Tree | None:
    """The ``fields`` query parameter as a mask tree (400 if it is malformed or unknown)."""
    text = call.query.get("fields")
    if not text:
        return None
    try:
        tree = fieldmask.parse(text)
    except fieldmask.MaskSyntaxError:
        raise GoogleError.bad_request("Request contains an invalid argument.") from None
    if unknown_mask_path(call.method.api, response_ref, tree):
        raise GoogleError.bad_request("Request contains an invalid argument.")
    return tree


def _sub(tree: fieldmask.Tree | None, *keys: str) -> tuple[bool, fieldmask.Tree | None]:
    """Follow ``keys`` down a mask: (asked for at all?, subtree or None for "everything")."""
    node = tree
    for key in keys:
        if node is None:
            return True, None
        if "*" in node:
            return True, None
        if key not in node:
            return False, None
        node = node[key]
    return True, node


def _without(tree: fieldmask.Tree, path: tuple[str, ...]) -> fieldmask.Tree:
    """Copy of a mask whose subtree at ``path`` means "everything" (already applied)."""
    out = dict(tree)
    node = out
    for key in path[:-1]:
        child = node.get(key)
        if child is None:
            return out
        child = dict(child)
        node[key] = child
        node = child
    node[path[-1]] = None
    return out


def _wants_grid_data(tree: fieldmask.Tree | None) -> bool:
    if tree is None:
        return False
    if "*" in tree:
        return True
    sheets = tree.get("sheets", {}) if "sheets" in tree else {}
    return "sheets" in tree and (sheets is None or "data" in sheets or "*" in sheets)


# -- spreadsheets ------------------------------------------------------------------------------


def data_boxes(
    ss: Spreadsheet, texts: list[str], want_data: bool
) -> tuple[dict[int, list[tuple[int, int, int, int]]] | None, set[int] | None]:
    """A1 ``ranges`` (as ``spreadsheets.get`` and ``responseRanges`` take them) → the grid-data
    boxes per sheetId (None: no grid data) and the sheets to include (None: all). A bad range is a 400."""
    ranges = [resolve_range(ss, r) for r in texts]
    boxes: dict[int, list[tuple[int, int, int, int]]] | None = None
    if want_data:
        boxes = {}
        if ranges:
            for r in ranges:
                boxes.setdefault(r.sheet.sheet_id, []).append((r.r0, r.c0, r.r1, r.c1))
        else:
            for s in ss.sheets:
                boxes[s.sheet_id] = [(0, 0, s.row_count, s.column_count)]
    only = {r.sheet.sheet_id for r in ranges} if ranges else None
    return boxes, only


def spreadsheets_get(call: Call) -> tuple[int, Any]:
    ss = call.state.spreadsheet_for(call.path["spreadsheetId"])
    tree = parse_fields(call, "Spreadsheet")
    want_data = _wants_grid_data(tree) if tree is not None else bool(call.query.get("includeGridData"))
    boxes, only = data_boxes(ss, call.query.get("ranges") or [], want_data)
    if tree is None:
        return 200, spreadsheet_json(ss, data_boxes=boxes, only_sheets=only)
    # Cells are rendered already cut down to the mask; the rest is filtered after.
    asked, cell_mask = _sub(tree, "sheets", "data", "rowData", "values")
    _, data_mask = _sub(tree, "sheets", "data")
    metadata = data_mask is None or bool({"*", "rowMetadata", "columnMetadata"} & set(data_mask))
    doc = spreadsheet_json(
        ss, data_boxes=boxes, only_sheets=only, cell_mask=cell_mask if asked else {}, metadata=metadata
    )
    outer = _without(tree, ("sheets", "data", "rowData", "values")) if asked and cell_mask is not None else tree
    return 200, trim_grid_data(fieldmask.filter_response(doc, outer))


def trim_grid_data(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop trailing cells/rows left empty by a field mask, as Google does after masking."""
    for sheet in doc.get("sheets", []):
        for data in sheet.get("data", []):
            rows = data.get("rowData")
            if rows is None:
                continue
            for row in rows:
                values = row.get("values")
                if values is None:
                    continue
                while values and not values[-1]:
                    values.pop()
                if not values:
                    del row["values"]
            while rows and not rows[-1]:
                rows.pop()
            if not rows:
                del data["rowData"]
    return doc


def spreadsheets_create(call: Call) -> tuple[int, Any]:
    state = call.state
    if state.account == "service":
        raise GoogleError.storage_quota_exceeded(with_status=True)
    body = call.body or {}
    props = body.get("properties", {})
    sheet_props = [dict(s.get("properties", {})) for s in body.get("sheets", [])]
    ss = state.create_spreadsheet(
        props.get("title", "Untitled spreadsheet"),
        owner=state.identity,
        locale=props.get("locale", "en_US"),
        time_zone=props.get("timeZone", "Etc/GMT"),
        sheets=sheet_props or None,
    )
    for key, value in props.items():
        if key not in {"title", "locale", "timeZone"}:
            ss.properties[key] = value
    for sheet, spec in zip(ss.sheets, body.get("sheets", []), strict=False):
        for data in spec.get("data", []):
            r0, c0 = int(data.get("startRow", 0)), int(data.get("startColumn", 0))
            for i, row in enumerate(data.get("rowData", [])):
                for j, cell in enumerate(row.get("values", [])):
                    sheet.put(r0 + i, c0 + j, {k: v for k, v in cell.items() if k in _STORED_CELL_KEYS})
    return 200, spreadsheet_json(ss)


_STORED_CELL_KEYS = {"userEnteredValue", "userEnteredFormat", "note", "dataValidation", "hyperlink", "textFormatRuns"}


# -- values ------------------------------------------------------------------------------------------


def _render_options(call: Call, prefix: str = "") -> tuple[str, str, str]:
    def opt(name: str, default: str) -> str:
        key = prefix + name[0].upper() + name[1:] if prefix else name
        value = call.query.get(key) or default
        return default if value.endswith("UNSPECIFIED") else value

    return (
        opt("majorDimension", "ROWS") if not prefix else "ROWS",
        opt("valueRenderOption", "FORMATTED_VALUE"),
        opt("dateTimeRenderOption", "SERIAL_NUMBER"),
    )


def value_range(ss: Spreadsheet, rng: A1Range, major: str, value_render: str, date_render: str) -> dict[str, Any]:
    out: dict[str, Any] = {"range": rng.normalised, "majorDimension": major}
    values = values_matrix(
        rng.sheet,
        rng.r0,
        rng.c0,
        rng.r1,
        rng.c1,
        major=major,
        value_render=value_render,
        date_render=date_render,
        locale=ss.locale,
    )
    if values:
        out["values"] = values
    return out


def values_get(call: Call) -> tuple[int, Any]:
    ss = call.state.spreadsheet_for(call.path["spreadsheetId"])
    rng = resolve_range(ss, call.path["range"])
    return 200, value_range(ss, rng, *_render_options(call))


def values_batch_get(call: Call) -> tuple[int, Any]:
    ss = call.state.spreadsheet_for(call.path["spreadsheetId"])
    ranges = call.query.get("ranges") or []
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if ranges:
        opts = _render_options(call)
        out["valueRanges"] = [value_range(ss, resolve_range(ss, r), *opts) for r in ranges]
    return 200, out


def _input_option(value: Any) -> str:
    if not value or value == "INPUT_VALUE_OPTION_UNSPECIFIED":
        raise GoogleError.bad_request("'valueInputOption' is required but not specified")
    return str(value)


def _oriented(values: list[list[Any]], major: str) -> tuple[int, int]:
    """(height, width) of a values matrix once laid out as rows."""
    if major == "COLUMNS":
        return max((len(c) for c in values), default=0), len(values)
    return len(values), max((len(r) for r in values), default=0)


def write_values(
    call: Call,
    ss: Spreadsheet,
    rng: A1Range,
    body: dict[str, Any],
    input_option: str,
    *,
    at: tuple[int, int] | None = None,
    include: bool = False,
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Write one ValueRange; returns Google's UpdateValuesResponse and the cells written."""
    values = body.get("values") or []
    major = body.get("majorDimension") or "ROWS"
    major = "ROWS" if major == "DIMENSION_UNSPECIFIED" else major
    height, width = _oriented(values, major)
    r0, c0 = at if at is not None else (rng.r0, rng.c0)
    sheet = rng.sheet
    if at is None and rng.kind != "cell":
        if height > rng.rows:
            raise GoogleError.bad_request(
                f"Requested writing within range [{rng.text}], but tried writing to row [{rng.r0 + rng.rows + 1}]"
            )
        if width > rng.cols:
            raise GoogleError.bad_request(
                f"Requested writing within range [{rng.text}], but tried writing to column "
                f"[{col_to_letters(rng.c0 + rng.cols)}]"
            )
    ensure_grid(sheet, r0 + height, c0 + width)
    written = write_matrix(ss, sheet, r0, c0, values, input_option, major=major, identity=call.state.identity)
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if height and width:
        # Rows/columns count only those where a cell was written (nulls skip cells).
        out.update(
            updatedRange=format_range(sheet.title, r0, c0, r0 + height, c0 + width),
            updatedRows=len({r for r, _ in written}),
            updatedColumns=len({c for _, c in written}),
            updatedCells=len(written),
        )
        if include:
            _, vr, dr = _render_options(call, prefix="response")
            written = A1Range(sheet, r0, c0, r0 + height, c0 + width, "box", "")
            out["updatedData"] = value_range(ss, written, "ROWS", vr, dr)
    else:
        out["updatedRange"] = format_range(sheet.title, r0, c0, r0 + 1, c0 + 1)
    return out, written


def values_update(call: Call) -> tuple[int, Any]:
    state = call.state
    ss = state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    option = _input_option(call.query.get("valueInputOption"))
    work = ss.clone()
    rng = resolve_range(work, call.path["range"])
    out, _ = write_values(
        call, work, rng, call.body or {}, option, include=bool(call.query.get("includeValuesInResponse"))
    )
    commit(call, work)
    return 200, out


def values_batch_update(call: Call) -> tuple[int, Any]:
    state = call.state
    ss = state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    body = call.body or {}
    option = _input_option(body.get("valueInputOption"))
    work = ss.clone()
    responses = []
    rows: set[tuple[int, int]] = set()
    cols: set[tuple[int, int]] = set()
    sheets: set[int] = set()
    cells = 0
    call.query.update({k: v for k, v in body.items() if k.startswith("response")})
    for item in body.get("data", []):
        rng = resolve_range(work, item.get("range", ""))
        resp, written = write_values(call, work, rng, item, option, include=bool(body.get("includeValuesInResponse")))
        responses.append(resp)
        rows.update((rng.sheet.sheet_id, r) for r, _ in written)
        cols.update((rng.sheet.sheet_id, c) for _, c in written)
        if written:
            sheets.add(rng.sheet.sheet_id)
        cells += len(written)
    commit(call, work)
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if responses:
        out.update(
            totalUpdatedRows=len(rows),
            totalUpdatedColumns=len(cols),
            totalUpdatedCells=cells,
            totalUpdatedSheets=len(sheets),
            responses=responses,
        )
    return 200, out


def values_append(call: Call) -> tuple[int, Any]:
    state = call.state
    ss = state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    option = _input_option(call.query.get("valueInputOption"))
    work = ss.clone()
    rng = resolve_range(work, call.path["range"])
    body = call.body or {}
    sheet = rng.sheet
    table = find_table(sheet, rng.r0, rng.c0, rng.r1, rng.c1, rng.kind == "cell")
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if table is not None:
        t0, tc0, t1, tc1 = table
        out["tableRange"] = format_range(sheet.title, t0, tc0, t1, tc1)
        target = (t1, tc0)
    else:
        target = (rng.r0, rng.c0)
    major = body.get("majorDimension") or "ROWS"
    height, _ = _oriented(body.get("values") or [], major)
    if call.query.get("insertDataOption") == "INSERT_ROWS" and height:
        at = target[0]
        if at < sheet.row_count:
            shift_ranges(work, sheet, "ROWS", at, height)
            sheet.insert_rows(at, height)
    out["updates"], _ = write_values(
        call, work, rng, body, option, at=target, include=bool(call.query.get("includeValuesInResponse"))
    )
    commit(call, work)
    return 200, out


def values_clear(call: Call) -> tuple[int, Any]:
    ss = call.state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    work = ss.clone()
    rng = resolve_range(work, call.path["range"])
    check_box_protection(work, rng.sheet, rng.r0, rng.c0, rng.r1, rng.c1, call.state.identity)
    clear_values(rng.sheet, rng.r0, rng.c0, rng.r1, rng.c1)
    commit(call, work)
    return 200, {"spreadsheetId": ss.id, "clearedRange": rng.normalised}


def values_batch_clear(call: Call) -> tuple[int, Any]:
    ss = call.state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    work = ss.clone()
    cleared = []
    for text in (call.body or {}).get("ranges", []):
        rng = resolve_range(work, text)
        check_box_protection(work, rng.sheet, rng.r0, rng.c0, rng.r1, rng.c1, call.state.identity)
        clear_values(rng.sheet, rng.r0, rng.c0, rng.r1, rng.c1)
        cleared.append(rng.normalised)
    commit(call, work)
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    if cleared:
        out["clearedRanges"] = cleared
    return 200, out


def commit(call: Call, work: Spreadsheet) -> None:
    """Make a successfully edited copy the live spreadsheet (atomic writes)."""
    for sheet in work.sheets:
        sheet.trim()
    call.state.spreadsheets[work.id] = work
    drive_file = call.state.files.get(work.id)
    if drive_file is not None:
        drive_file.name = work.title  # a Sheets title change is a Drive rename
    call.state.touch(work.id)
