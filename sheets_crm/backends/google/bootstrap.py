"""Bootstrap: lay the CRM template out in Google Sheets.

Two ways, because of how Google Drive works:

* With the owner's OAuth login, :func:`init_spreadsheet` **creates** a new
  spreadsheet: one ``spreadsheets.create`` (title, locale, time zone and all
  tabs with frozen header rows), one ``batchUpdate`` for everything else, and
  a Drive ``permissions.create`` per ``share`` address.
* A service account owns no Drive storage and cannot create files (Google
  answers 403 ``storageQuotaExceeded``), so with a service account the owner
  creates an empty spreadsheet in the browser, shares it with the service
  account's e-mail, and ``into=URL`` lays the template out *inside* it: missing
  tabs are added; CRM tabs that hold data are only completed (missing tool
  columns after the last used one, Status/Stage dropdowns where none: see
  :mod:`~sheets_crm.backends.google.adopt`), or with ``force`` laid out again
  after a copy of each is kept (``duplicateSheet``); no tab is ever deleted,
  and the person's other tabs are never touched. An empty default
  tab ("Sheet1"/"Лист1") is reused for the first CRM tab rather than left
  lying around.

The layout comes from :func:`sheets_crm.core.layout.build_layout`, like the local
backend's ``create_workbook``: headers (bold; grey for tool columns), frozen
header row, column widths, date formats on date columns, Status/Stage
dropdowns (not strict: synonyms stay allowed), stage highlights, and
warning-only protection on the tool-owned columns — plus the freshness rules
(conditional formats; see :mod:`~sheets_crm.backends.google.live`) the sync
then only keeps. A tab the person already protected as a whole keeps its
protection (Google allows one per tab), without ours beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sheets_crm.backends.google.http import DRIVE_API, SHEETS_API, CrmHTTPClient
from sheets_crm.backends.google.live import freshness_rules, is_ours
from sheets_crm.backends.google.target import spreadsheet_id, spreadsheet_url
from sheets_crm.backends.google.workbook import hex_to_color, index_runs, quote_title
from sheets_crm.backends.protocol import LiveColumns
from sheets_crm.core.dates import machine_zone, resolve_zone
from sheets_crm.core.layout import TabLayout, build_layout
from sheets_crm.core.template import LANGS, Template
from sheets_crm.errors import ConfigError

__all__ = ["init_spreadsheet", "layout_requests", "default_locale", "share_spreadsheet", "DEFAULT_TITLE"]

log = logging.getLogger("sheets_crm.google")

DEFAULT_TITLE = {"en": "Studio CRM", "ru": "CRM студии"}
_LOCALES = {"en": "en_US", "ru": "ru_RU"}
_DEFAULT_TAB_NAMES = {"sheet1", "лист1", "лист 1", "sheet 1", "tabelle1", "feuille 1", "hoja 1", "foglio1"}
#: Marks the protected ranges we add (so --force can replace them).
PROTECTION_NOTE = "sheets-crm: filled in by the tool at every sync (edits here are overwritten)"
_TOOL_NOTE = "Filled in by sheets-crm at every sync: edits here are overwritten."
_ROWS = 1000


def default_locale(lang: str) -> str:
    return _LOCALES.get(lang, "en_US")


def _chars_to_pixels(chars: int) -> int:
    return int(chars) * 7 + 10


def layout_requests(sheet_id: int, tab: TabLayout, *, col_count: int | None = None) -> list[dict[str, Any]]:
    """The ``batchUpdate`` requests that format one tab like the template says.
    ``col_count``: the tab's current column count (grown when too small)."""
    reqs: list[dict[str, Any]] = []
    ncols = len(tab.columns)
    if col_count is not None and col_count < ncols:
        reqs.append({"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": ncols - col_count}})
    reqs.append(
        {
            "updateSheetProperties": {
                "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": tab.frozen_rows}},
                "fields": "gridProperties.frozenRowCount",
            }
        }
    )
    header = []
    for col in tab.columns:
        cell: dict[str, Any] = {
            "userEnteredValue": {"stringValue": col.header},
            "userEnteredFormat": {"textFormat": {"bold": True}},
        }
        color = tab.header_fill_tool if col.tool else tab.header_fill_user
        if color:
            cell["userEnteredFormat"]["backgroundColor"] = hex_to_color(color)
        if col.tool and tab.id != "calls":
            cell["note"] = _TOOL_NOTE
        header.append(cell)
    reqs.append(
        {
            "updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
                "rows": [{"values": header}],
                "fields": "userEnteredValue,userEnteredFormat.textFormat.bold,userEnteredFormat.backgroundColor,note",
            }
        }
    )
    for i, col in enumerate(tab.columns):
        column = {"sheetId": sheet_id, "startColumnIndex": i, "endColumnIndex": i + 1}
        body = {**column, "startRowIndex": tab.frozen_rows}
        reqs.append(
            {
                "updateDimensionProperties": {
                    "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": i, "endIndex": i + 1},
                    "properties": {"pixelSize": _chars_to_pixels(col.width)},
                    "fields": "pixelSize",
                }
            }
        )
        if col.type == "date":
            reqs.append(
                {
                    "repeatCell": {
                        "range": body,
                        "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": tab.date_format}}},
                        "fields": "userEnteredFormat.numberFormat",
                    }
                }
            )
        if col.choices:
            reqs.append(
                {
                    "setDataValidation": {
                        "range": body,
                        "rule": {
                            "condition": {
                                "type": "ONE_OF_LIST",
                                "values": [{"userEnteredValue": c} for c in col.choices],
                            },
                            "strict": False,
                            "showCustomUi": True,
                        },
                    }
                }
            )
        for n, (text, color) in enumerate(col.highlights):
            reqs.append(
                {
                    "addConditionalFormatRule": {
                        "index": n,
                        "rule": {
                            "ranges": [body],
                            "booleanRule": {
                                "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
                                "format": {"backgroundColor": hex_to_color(color)},
                            },
                        },
                    }
                }
            )
    # Warning-only protection: people get "you are editing a tool column" but can go on.
    if all(col.tool for col in tab.columns):
        ranges: list[dict[str, Any]] = [{"sheetId": sheet_id}]
    else:
        ranges = [
            {"sheetId": sheet_id, "startColumnIndex": a, "endColumnIndex": b + 1}
            for a, b in index_runs(i for i, col in enumerate(tab.columns) if col.tool)
        ]
    for rng in ranges:
        reqs.append(
            {
                "addProtectedRange": {
                    "protectedRange": {"range": rng, "description": PROTECTION_NOTE, "warningOnly": True}
                }
            }
        )
    return reqs


def _check_zone(time_zone: str | None) -> str | None:
    if time_zone:
        resolve_zone(time_zone)  # raises ConfigError for an unknown zone
    return time_zone


def init_spreadsheet(
    client: CrmHTTPClient,
    template: Template,
    lang: str,
    title: str | None = None,
    into: str | None = None,
    share: str | Iterable[str] | None = None,
    time_zone: str | None = None,
    locale: str | None = None,
    *,
    force: bool = False,
    notify: bool = True,
) -> str:
    """Lay the CRM out in Google Sheets and return the spreadsheet's URL.

    ``into`` (URL or id) lays it out inside an existing spreadsheet (the way
    for a service account; its title is left alone); otherwise a new one titled ``title`` is created
    (needs an OAuth user login). ``share``: e-mail address(es) given Editor
    access (``notify``: Google sends them the usual sharing e-mail).
    ``time_zone``/``locale`` default, for a new spreadsheet, to this machine's
    zone and ``en_US``/``ru_RU`` by ``lang``; an existing spreadsheet keeps its
    own unless they are given.
    """
    layout = build_layout(template, lang)
    _check_zone(time_zone)
    if locale is not None and not locale.replace("-", "_").replace("_", "").isalpha():
        raise ConfigError(f"locale {locale!r} should look like en_US or ru_RU")
    if into:
        sid = _lay_out_into(client, template, layout, spreadsheet_id(into), time_zone, locale, force)
        url = spreadsheet_url(sid)
    else:
        sid, url = _create(
            client,
            template,
            layout,
            title or DEFAULT_TITLE.get(lang, "CRM"),
            time_zone or machine_zone().key,
            locale or default_locale(lang),
        )
    for address in _addresses(share):
        share_spreadsheet(client, sid, address, notify=notify)
    return url


def _addresses(share: str | Iterable[str] | None) -> list[str]:
    if not share:
        return []
    items = [share] if isinstance(share, str) else list(share)
    out = []
    for item in items:
        for part in str(item).replace(";", ",").split(","):
            part = part.strip()
            if part:
                if "@" not in part:
                    raise ConfigError(f"--share {part!r} is not an e-mail address")
                out.append(part)
    return out


def _create(
    client: CrmHTTPClient, template: Template, layout: list[TabLayout], title: str, time_zone: str | None, locale: str
) -> tuple[str, str]:
    properties: dict[str, Any] = {"title": title, "locale": locale}
    if time_zone:
        properties["timeZone"] = time_zone
    body = {
        "properties": properties,
        "sheets": [
            {
                "properties": {
                    "title": tab.title,
                    "index": i,
                    "gridProperties": {
                        "rowCount": _ROWS,
                        "columnCount": max(len(tab.columns), 1),
                        "frozenRowCount": tab.frozen_rows,
                    },
                }
            }
            for i, tab in enumerate(layout)
        ],
    }
    created = client.request(
        "post",
        SHEETS_API,
        json=body,
        params={"fields": "spreadsheetId,spreadsheetUrl,sheets.properties(sheetId,title)"},
        what="creating the spreadsheet",
        idempotent=False,
    ).json()
    sid = created["spreadsheetId"]
    ids = {s["properties"]["title"]: s["properties"].get("sheetId", 0) for s in created.get("sheets", [])}
    reqs: list[dict[str, Any]] = []
    for tab in layout:
        reqs.extend(layout_requests(ids[tab.title], tab))
        reqs.extend(_freshness_rules(template, tab, ids[tab.title]))
    client.batch_update(sid, {"requests": reqs})
    log.info("created spreadsheet %s (%s)", title, sid)
    return sid, created.get("spreadsheetUrl") or spreadsheet_url(sid)


_INTO_FIELDS = (
    "properties(title,locale,timeZone),"
    "sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),"
    "protectedRanges(protectedRangeId,description,range),conditionalFormats(ranges,booleanRule))"
)


def _lay_out_into(
    client: CrmHTTPClient,
    template: Template,
    layout: list[TabLayout],
    sid: str,
    time_zone: str | None,
    locale: str | None,
    force: bool,
) -> str:
    meta = client.fetch_sheet_metadata(sid, params={"fields": _INTO_FIELDS})
    sheets = list(meta.get("sheets") or [])
    existing = _crm_tabs(template, layout, sheets)
    layout = _in_their_language(template, layout, existing)
    empties = [
        s
        for s in sheets
        if s["properties"]["title"].strip().casefold() in _DEFAULT_TAB_NAMES and s not in existing.values()
    ]
    filled = _rows_filled(client, sid, template, existing, empties)
    busy = {tid: s for tid, s in existing.items() if filled.get(s["properties"]["title"], 0)}
    reusable = [s for s in empties if not filled.get(s["properties"]["title"], 0)]
    next_id = max((s["properties"].get("sheetId", 0) for s in sheets), default=0) + 1
    reqs: list[dict[str, Any]] = []
    # CRM tabs holding a person's data are completed, not laid out again (issue 12); with --force
    # they are laid out again, each copied first (in this same batchUpdate, so the copy is as it was).
    adopted, copies = _keep_busy_tabs(client, sid, template, layout, sheets, list(busy.values()), force, next_id)
    next_id += len(copies)
    reqs.extend(copies)
    props = {k: v for k, v in (("timeZone", time_zone), ("locale", locale)) if v}
    if props:
        reqs.append({"updateSpreadsheetProperties": {"properties": props, "fields": ",".join(props)}})
    stage_labels = {label for stage in template.stages for label in stage.labels.values()}
    for tab in layout:
        sheet = existing.get(tab.id)
        if sheet is not None and tab.id in busy and not force:
            continue  # completed by ``adopted``
        if sheet is not None:
            sp = sheet["properties"]
            sheet_id = sp.get("sheetId", 0)
            if sp["title"] != tab.title:
                log.info("keeping tab name %r for %s", sp["title"], tab.title)
            reqs.extend(_forget_earlier_init(sheet, stage_labels))
            col_count = (sp.get("gridProperties") or {}).get("columnCount")
        elif reusable:
            sp = reusable.pop(0)["properties"]
            sheet = {"properties": sp}
            sheet_id = sp.get("sheetId", 0)
            reqs.append(
                {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "title": tab.title}, "fields": "title"}}
            )
            col_count = (sp.get("gridProperties") or {}).get("columnCount")
        else:
            sheet, sheet_id = None, next_id
            next_id += 1
            reqs.append(_add_sheet(sheet_id, tab))
            col_count = max(len(tab.columns), 1)
        tab_reqs = layout_requests(sheet_id, tab, col_count=col_count) + _freshness_rules(template, tab, sheet_id)
        reqs.extend(_without_second_sheet_protection(tab_reqs, sheet))
    reqs.extend(adopted)
    client.batch_update(sid, {"requests": reqs})
    return sid


def _in_their_language(
    template: Template, layout: list[TabLayout], existing: dict[str, dict[str, Any]]
) -> list[TabLayout]:
    """The layout in the language of the CRM tabs already there (a Russian sheet gets Russian tabs added)."""
    votes = dict.fromkeys(LANGS, 0)
    for tid, sheet in existing.items():
        for la, name in template.tab(tid).names.items():
            if name.strip().casefold() == sheet["properties"]["title"].strip().casefold():
                votes[la] += 1
    best = max(LANGS, key=lambda la: votes[la])
    if not votes[best] or template.tab(layout[0].id).names[best] == layout[0].title:
        return layout
    return build_layout(template, best)


def _keep_busy_tabs(
    client: CrmHTTPClient,
    sid: str,
    template: Template,
    layout: list[TabLayout],
    sheets: list[dict[str, Any]],
    busy: list[dict[str, Any]],
    force: bool,
    next_id: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(requests completing the busy CRM tabs, requests copying them before --force); says what, in the log."""
    from sheets_crm.backends.google.adopt import adopt_requests, copy_requests

    if not busy:
        return [], []
    if force:
        copying, names = copy_requests(busy, [s["properties"]["title"] for s in sheets], next_id)
        for title, copy in names.items():
            log.warning("kept a copy of the tab %r as %r before laying the template out over it", title, copy)
        return [], copying
    lang = next((la for la in LANGS if template.tab(layout[0].id).names[la] == layout[0].title), "en")
    adopted, plan = adopt_requests(
        client, sid, template, lang, busy, tool_note=_TOOL_NOTE, protection_note=PROTECTION_NOTE
    )
    for title, header, col in plan.added_columns:
        log.warning("added the column %r to the tab %r (column %s, after its last used one)", header, title, col + 1)
    for d in plan.dropdowns:
        log.warning("added a dropdown to %r in the tab %r", d.header, d.tab)
    return adopted, []


def _crm_tabs(template: Template, layout: list[TabLayout], sheets: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Which of the person's tabs already are CRM tabs (either language), by template tab id."""
    existing: dict[str, dict[str, Any]] = {}
    for tab_layout in layout:
        tab = template.tab(tab_layout.id)
        for sheet in sheets:
            if tab.matches(sheet["properties"]["title"]) and tab_layout.id not in existing:
                existing[tab_layout.id] = sheet
    return existing


def _rows_filled(
    client: CrmHTTPClient,
    sid: str,
    template: Template,
    existing: dict[str, dict[str, Any]],
    empties: list[dict[str, Any]],
) -> dict[str, int]:
    """Rows of the person's data per tab title (our own header row of an earlier init not counted)."""
    check = list(existing.values()) + empties
    filled: dict[str, int] = {}
    if not check:
        return filled
    got = client.values_batch_get(
        sid, [quote_title(s["properties"]["title"]) for s in check], params={"majorDimension": "ROWS"}
    )
    tab_of = {id(sheet): tid for tid, sheet in existing.items()}
    for sheet, vr in zip(check, got.get("valueRanges") or [], strict=False):
        rows = vr.get("values") or []
        tid = tab_of.get(id(sheet))
        if rows and tid is not None and any(template.tab(tid).match_header(v) for v in rows[0]):
            rows = rows[1:]
        filled[sheet["properties"]["title"]] = sum(1 for r in rows if any(str(v).strip() for v in r))
    return filled


def _forget_earlier_init(sheet: dict[str, Any], stage_labels: set[str]) -> list[dict[str, Any]]:
    """Re-laying out (--force): delete what an earlier init added (our protections, stage highlights,
    freshness rules), so copies do not pile up. Rules go highest index first, so indexes stay valid."""
    sheet_id = sheet["properties"].get("sheetId", 0)
    reqs: list[dict[str, Any]] = []
    for pr in sheet.get("protectedRanges") or []:
        if (pr.get("description") or "").startswith("sheets-crm"):
            reqs.append({"deleteProtectedRange": {"protectedRangeId": pr["protectedRangeId"]}})
    rules = sheet.get("conditionalFormats") or []
    for n in reversed(range(len(rules))):
        cond = (rules[n].get("booleanRule") or {}).get("condition") or {}
        texts = {v.get("userEnteredValue") for v in cond.get("values") or []}
        if (cond.get("type") == "TEXT_EQ" and texts and texts <= stage_labels) or is_ours(rules[n]):
            reqs.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": n}})
    return reqs


def _add_sheet(sheet_id: int, tab: TabLayout) -> dict[str, Any]:
    # No index: Google appends the tab at the end (an index past the end is refused).
    grid = {"rowCount": _ROWS, "columnCount": max(len(tab.columns), 1)}
    return {"addSheet": {"properties": {"sheetId": sheet_id, "title": tab.title, "gridProperties": grid}}}


def _freshness_rules(template: Template, tab: TabLayout, sheet_id: int) -> list[dict[str, Any]]:
    """The Leads tab's freshness rules (conditional formats the sheet evaluates every day)."""
    if tab.id != "leads":
        return []
    live = LiveColumns.build(template, tab.title, 1, {c.id: i for i, c in enumerate(tab.columns)})
    if live is None or not live.freshness:
        return []
    return [
        {"addConditionalFormatRule": {"index": n, "rule": rule}}
        for n, rule in enumerate(freshness_rules(live, sheet_id))
    ]


def _without_second_sheet_protection(reqs: list[dict[str, Any]], sheet: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Google allows one whole-sheet protection per tab ("already has sheet protection"): when the person
    protected the whole tab already, ours (warning-only, for an all-tool tab) is left out."""
    if sheet is None:
        return reqs
    theirs = [
        pr
        for pr in sheet.get("protectedRanges") or []
        if not (pr.get("description") or "").startswith("sheets-crm") and set(pr.get("range") or {}) <= {"sheetId"}
    ]
    if not theirs:
        return reqs

    def whole_sheet(req: dict[str, Any]) -> bool:
        rng = ((req.get("addProtectedRange") or {}).get("protectedRange") or {}).get("range")
        return rng is not None and set(rng) <= {"sheetId"}

    return [req for req in reqs if not whole_sheet(req)]


def share_spreadsheet(
    client: CrmHTTPClient, sid: str, email: str, *, role: str = "writer", notify: bool = True
) -> None:
    """Give ``email`` access through Drive ``permissions.create``.

    ``sendNotificationEmail`` may be false for ordinary shares (Drive only
    refuses to skip it for ownership transfers).
    """
    client.request(
        "post",
        f"{DRIVE_API}/{sid}/permissions",
        params={"sendNotificationEmail": "true" if notify else "false", "supportsAllDrives": "true"},
        json={"type": "user", "role": role, "emailAddress": email},
        what=f"sharing the spreadsheet with {email}",
    )
