"""``spreadsheets.values.*``: get, batchGet, update, batchUpdate, append, clear, batchClear.

Each write works on a cloned spreadsheet and commits only when every range
succeeded, like Google.
"""

from __future__ import annotations

from typing import Any

from ..core.a1 import col_to_letters, format_range
from ..core.errors import GoogleError
from ..core.transport import Call
from .formula import FormulaContext
from .grid_ops import (
    check_box_protection,
    clear_values,
    ensure_grid,
    find_table,
    shift_ranges,
    values_matrix,
    write_matrix,
)
from .models import CELL_LIMIT_MESSAGE, Spreadsheet
from .ranges import A1Range, resolve_range
from .spreadsheets import commit

__all__ = [
    "values_append",
    "values_batch_clear",
    "values_batch_get",
    "values_batch_update",
    "values_clear",
    "values_get",
    "values_update",
]


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
        ctx=FormulaContext(ss, rng.sheet),
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
            box = A1Range(sheet, r0, c0, r0 + height, c0 + width, "box", "")
            out["updatedData"] = value_range(ss, box, "ROWS", vr, dr)
    else:
        out["updatedRange"] = format_range(sheet.title, r0, c0, r0 + 1, c0 + 1)
    return out, written


def _commit_within_limit(call: Call, ss: Spreadsheet, work: Spreadsheet) -> None:
    """Commit a values write, unless the grid it grew would cross Google's 10-million-cell limit (400)."""
    if work.grew_past_limit(ss.cell_count()):
        raise GoogleError.bad_request(CELL_LIMIT_MESSAGE)
    commit(call, work)


def values_update(call: Call) -> tuple[int, Any]:
    state = call.state
    ss = state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    option = _input_option(call.query.get("valueInputOption"))
    work = ss.clone()
    rng = resolve_range(work, call.path["range"])
    out, _ = write_values(
        call, work, rng, call.body or {}, option, include=bool(call.query.get("includeValuesInResponse"))
    )
    _commit_within_limit(call, ss, work)
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
    _commit_within_limit(call, ss, work)
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
    _commit_within_limit(call, ss, work)
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
