"""``init --google --into`` on CRM tabs that already hold a person's data: add what they lack, nothing else.

What to add comes from :func:`sheets_crm.core.layout.plan_adoption`, as for a local workbook: the
missing tool columns right of the last used column (header bold, in the tool colour, with the
tool's note, and warning-only protection like a new CRM's tool columns) and the Status/Stage
dropdowns where the column has no validation yet (row 2 is looked at). The person's cells, their
order, formats, protections and rules are left as they are.

With ``--force`` a tab that would be laid out afresh is first copied (``duplicateSheet``, in the
same batchUpdate, so the copy is the tab as it was): :func:`copy_requests`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sheets_crm.backends.google.http import CrmHTTPClient
from sheets_crm.backends.google.workbook import hex_to_color, index_runs, quote_title
from sheets_crm.core.layout import Adoption, plan_adoption
from sheets_crm.core.model import KEEP, Snapshot, TabData
from sheets_crm.core.template import Template

__all__ = ["adopt_requests", "copy_requests"]

log = logging.getLogger("sheets_crm.google")


def adopt_requests(
    client: CrmHTTPClient,
    sid: str,
    template: Template,
    lang: str,
    busy: list[dict[str, Any]],
    *,
    tool_note: str,
    protection_note: str,
) -> tuple[list[dict[str, Any]], Adoption]:
    """The requests completing the CRM tabs in ``busy`` (sheet metadata dicts), and what they add.
    ``tool_note``/``protection_note``: the tool header's note and our protections' description, as
    the bootstrap lays them out (so that a later --force recognises them)."""
    titles = [s["properties"]["title"] for s in busy]
    got = client.values_batch_get(sid, [quote_title(t) for t in titles], params={"majorDimension": "ROWS"})
    tabs = {t: TabData(t, vr.get("values") or []) for t, vr in zip(titles, got.get("valueRanges") or [], strict=False)}
    plan = plan_adoption(template, Snapshot(tabs=tabs), lang)
    props = {s["properties"]["title"]: s["properties"] for s in busy}
    fill = template.settings.tool_header_color
    calls_titles = set(template.calls.names.values())
    reqs: list[dict[str, Any]] = []
    for title, changes in plan.changes.by_tab().items():
        if title not in props:
            continue  # a missing tab: the layout adds it whole
        sp = props[title]
        sheet_id = sp.get("sheetId", 0)
        added = sorted((ch.col, ch.value) for ch in changes if ch.value is not KEEP)
        if not added:
            continue  # header fills only: a Google tab's own colours are left alone
        have = (sp.get("gridProperties") or {}).get("columnCount") or 0
        if added[-1][0] + 1 > have:
            reqs.append(
                {"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": added[-1][0] + 1 - have}}
            )
        for col, header in added:
            cell: dict[str, Any] = {
                "userEnteredValue": {"stringValue": header},
                "userEnteredFormat": {"textFormat": {"bold": True}},
            }
            if fill:
                cell["userEnteredFormat"]["backgroundColor"] = hex_to_color(fill)
            if title not in calls_titles:
                cell["note"] = tool_note
            reqs.append(
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": col},
                        "rows": [{"values": [cell]}],
                        "fields": "userEnteredValue,userEnteredFormat.textFormat.bold,"
                        "userEnteredFormat.backgroundColor,note",
                    }
                }
            )
        for a, b in index_runs(col for col, _ in added):
            rng = {"sheetId": sheet_id, "startColumnIndex": a, "endColumnIndex": b + 1}
            reqs.append(
                {
                    "addProtectedRange": {
                        "protectedRange": {"range": rng, "description": protection_note, "warningOnly": True}
                    }
                }
            )
    plan.dropdowns = [d for d in plan.dropdowns if d.tab in props]
    plan.dropdowns = _without_validation(client, sid, plan)
    for d in plan.dropdowns:
        body = {"sheetId": props[d.tab].get("sheetId", 0), "startRowIndex": 1, "startColumnIndex": d.col}
        body["endColumnIndex"] = d.col + 1
        rule = {
            "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": c} for c in d.choices]},
            "strict": False,
            "showCustomUi": True,
        }
        reqs.append({"setDataValidation": {"range": body, "rule": rule}})
    plan.added_tabs = []
    plan.added_columns = [c for c in plan.added_columns if c[0] in props]
    plan.filled_headers = []
    return reqs, plan


def _without_validation(client: CrmHTTPClient, sid: str, plan: Adoption) -> list[Any]:
    """The planned dropdowns whose column has no data validation in row 2."""
    if not plan.dropdowns:
        return []
    titles = list(dict.fromkeys(d.tab for d in plan.dropdowns))
    meta = client.fetch_sheet_metadata(
        sid,
        params={
            "ranges": [f"{quote_title(t)}!2:2" for t in titles],
            "fields": "sheets(properties(title),data(startColumn,rowData(values(dataValidation))))",
        },
    )
    taken: set[tuple[str, int]] = set()
    for sheet in meta.get("sheets") or []:
        title = sheet["properties"]["title"]
        for grid in sheet.get("data") or []:
            start = grid.get("startColumn", 0)
            for row in grid.get("rowData") or []:
                for i, value in enumerate(row.get("values") or []):
                    if value.get("dataValidation"):
                        taken.add((title, start + i))
    return [d for d in plan.dropdowns if (d.tab, d.col) not in taken]


def copy_requests(
    sheets: Iterable[dict[str, Any]], all_titles: Iterable[str], next_id: int, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``duplicateSheet`` requests keeping each tab as it is before ``--force`` lays it out again;
    returns them and {tab: copy's title}."""
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d %H.%M")
    taken = {t.casefold() for t in all_titles}
    reqs: list[dict[str, Any]] = []
    copies: dict[str, str] = {}
    for sheet in sheets:
        sp = sheet["properties"]
        base = f"{sp['title']} (before init {stamp})"
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base} {n}"
        taken.add(name.casefold())
        reqs.append(
            {"duplicateSheet": {"sourceSheetId": sp.get("sheetId", 0), "newSheetId": next_id, "newSheetName": name}}
        )
        next_id += 1
        copies[sp["title"]] = name
    return reqs, copies
