"""``spreadsheets.get`` and ``spreadsheets.create``, and committing an edited working copy.

Every handler takes a :class:`~google_standin.core.transport.Call` and returns
``(status, json)``; errors are raised as
:class:`~google_standin.core.errors.GoogleError`.
"""

from __future__ import annotations

from typing import Any

from ..core import fieldmask
from ..core.discovery import unknown_mask_path
from ..core.errors import GoogleError
from ..core.transport import Call
from .models import Spreadsheet
from .ranges import resolve_range
from .render import spreadsheet_json

__all__ = ["commit", "data_boxes", "parse_fields", "spreadsheets_create", "spreadsheets_get"]


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
                    sheet.put(r0 + i, c0 + j, {k: v for k, v in cell.items() if k in _CREATE_CELL_KEYS})
    return 200, spreadsheet_json(ss)


_CREATE_CELL_KEYS = {"userEnteredValue", "userEnteredFormat", "note", "dataValidation", "hyperlink", "textFormatRuns"}


def commit(call: Call, work: Spreadsheet) -> None:
    """Make a successfully edited copy the live spreadsheet (atomic writes)."""
    for sheet in work.sheets:
        sheet.trim()
    call.state.spreadsheets[work.id] = work
    drive_file = call.state.files.get(work.id)
    if drive_file is not None:
        drive_file.name = work.title  # a Sheets title change is a Drive rename
    call.state.touch(work.id)
