"""``spreadsheets.batchUpdate``: dispatch, atomicity and shared request helpers.

Google applies a batch all-or-nothing: requests run in order against one
working copy and nothing is visible unless every request succeeds. The fake
does the same with a cloned :class:`~google_standin.sheets.models.Spreadsheet`.
Request kinds live in :mod:`.requests_cells` and :mod:`.requests_sheets`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import fieldmask
from ..core.a1 import grid_a1, quote_title
from ..core.discovery import unknown_mask_path
from ..core.errors import FakeNotImplemented, GoogleError
from .models import CELL_LIMIT_MESSAGE, Sheet, Spreadsheet
from .render import spreadsheet_json

if TYPE_CHECKING:  # pragma: no cover
    from ..core.transport import Call
    from ..state import State


class Invalid(Exception):
    """A request-level validation failure; reported as ``Invalid requests[i].kind: ...``."""


@dataclass
class BatchCtx:
    """What a request handler needs: the working copy and who is asking."""

    state: State
    ss: Spreadsheet
    call: Call
    index: int
    kind: str

    @property
    def identity(self) -> str:
        return self.state.identity

    def sheet(self, sheet_id: Any) -> Sheet:
        sid = int(sheet_id or 0)
        sheet = self.ss.sheet_by_id(sid)
        if sheet is None:
            raise Invalid(f"No grid with id: {sid}")
        return sheet

    def box(self, rng: dict[str, Any] | None) -> tuple[Sheet, int, int, int, int]:
        """A GridRange as (sheet, r0, c0, r1, c1), unbounded sides filled in, checked against the grid."""
        rng = rng or {}
        sheet = self.sheet(rng.get("sheetId", 0))
        r0 = int(rng.get("startRowIndex", 0))
        c0 = int(rng.get("startColumnIndex", 0))
        r1 = int(rng.get("endRowIndex", sheet.row_count))
        c1 = int(rng.get("endColumnIndex", sheet.column_count))
        if min(r0, c0, r1, c1) < 0:
            raise Invalid("GridRange indexes must be non-negative.")
        if r1 < r0 or c1 < c0:
            raise Invalid("GridRange end index must be greater than or equal to start index.")
        if r1 > sheet.row_count or c1 > sheet.column_count:
            box = grid_a1(r0, c0, max(r1, r0 + 1), max(c1, c0 + 1))
            raise Invalid(
                f"Range ({quote_title(sheet.title)}!{box}) exceeds grid limits. "
                f"Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
            )
        return sheet, r0, c0, r1, c1

    def dimension(self, rng: dict[str, Any] | None, *, inserting: bool = False) -> tuple[Sheet, str, int, int]:
        """A DimensionRange as (sheet, ROWS|COLUMNS, start, end), checked against the grid.

        Inserting may start at the very end of the grid; other operations must
        stay inside it.
        """
        rng = rng or {}
        sheet = self.sheet(rng.get("sheetId", 0))
        dim = rng.get("dimension", "ROWS")
        if dim not in {"ROWS", "COLUMNS"}:
            raise Invalid("dimension must be ROWS or COLUMNS.")
        count = sheet.row_count if dim == "ROWS" else sheet.column_count
        start = int(rng.get("startIndex", 0))
        end = int(rng.get("endIndex", count))
        if start < 0 or end <= start:
            raise Invalid("Invalid dimension range: startIndex must be less than endIndex.")
        what = "row" if dim == "ROWS" else "column"
        last = start if inserting else end - 1
        if last > (count if inserting else count - 1):
            raise Invalid(f"Index {last} is after last {what} in grid [{count - 1}].")
        return sheet, dim, start, end

    def mask(self, fields: str | None, schema_ref: str) -> list[tuple[str, ...]]:
        """Parse an update mask and check its paths name real fields of ``schema_ref``."""
        if not fields:
            raise Invalid("At least one field must be specified.")
        tree = fieldmask.parse(fields)
        bad = unknown_mask_path(self.call.method.api, schema_ref, tree)
        if bad:
            raise Invalid(f"Invalid field mask path: {bad}")
        return fieldmask.paths(tree)


RequestHandler = Callable[[BatchCtx, dict[str, Any]], "dict[str, Any] | None"]


def _handlers() -> dict[str, RequestHandler]:
    from . import requests_cells, requests_sheets

    return {**requests_cells.HANDLERS, **requests_sheets.HANDLERS}


def spreadsheets_batch_update(call: Call) -> tuple[int, Any]:
    from .spreadsheets import commit, data_boxes

    state = call.state
    ss = state.spreadsheet_for(call.path["spreadsheetId"], write=True)
    body = call.body or {}
    requests = body.get("requests") or []
    if not requests:
        raise GoogleError.bad_request("Must specify at least one request.")
    handlers = _handlers()
    for i, req in enumerate(requests):
        kinds = list(req)
        if not kinds:
            raise GoogleError.bad_request(f"Invalid requests[{i}]: No request set.")
        if len(kinds) > 1:
            msg = f"Invalid JSON payload received. Oneof field 'kind' is already set. Cannot set '{kinds[1]}'"
            raise GoogleError.bad_request(msg, field=f"requests[{i}]", violation=True)
        if kinds[0] not in handlers:
            raise FakeNotImplemented(f"batchUpdate request kind '{kinds[0]}' (requests[{i}])")
    work = ss.clone()
    replies: list[dict[str, Any]] = []
    for i, req in enumerate(requests):
        kind, payload = next(iter(req.items()))
        ctx = BatchCtx(state, work, call, i, kind)
        cells = work.cell_count()
        try:
            reply = handlers[kind](ctx, payload)
            if work.grew_past_limit(cells):
                raise Invalid(CELL_LIMIT_MESSAGE)
        except Invalid as exc:
            raise GoogleError.bad_request(f"Invalid requests[{i}].{kind}: {exc}") from None
        except fieldmask.MaskSyntaxError:
            raise GoogleError.bad_request(f"Invalid requests[{i}].{kind}: Invalid field mask.") from None
        replies.append({kind: reply} if reply is not None else {})
    updated = None
    if body.get("includeSpreadsheetInResponse"):
        # Rendered from the updated copy (so after every request) but before it is committed:
        # a responseRange that does not resolve fails the whole batch, which then changes nothing.
        boxes, only = data_boxes(
            work, list(body.get("responseRanges") or []), bool(body.get("responseIncludeGridData"))
        )
        updated = spreadsheet_json(work, data_boxes=boxes, only_sheets=only)
    commit(call, work)
    out: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
    if updated is not None:
        out["updatedSpreadsheet"] = updated
    return 200, out
