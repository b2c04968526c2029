"""Property-based tests over generated CRMs (see strategies.py).

For any CRM a person might have typed:

* after a sync every cell the tool does not own — value, type and every bit
  of formatting — is exactly as before, and so are the tabs, widths,
  validations, conditional formats and merges;
* the tool columns and Calls Today say what an independent model of the
  rules says;
* every plan or lead row that does not count is named in a warning;
* a second sync is a no-op: 0 changed cells, the file not even re-saved;
* the local and Google backends agree on the same data.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import HealthCheck, given, settings
from strategies import (
    TEMPLATE,
    TODAY,
    TOOL_TABS,
    CrmCase,
    build_xlsx,
    calls_result,
    crm_cases,
    expected,
    leads_result,
    seed_google,
    text,
    tool_columns,
    xlsx_values,
)

from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


# -- what a cell is, for "exactly as before" ------------------------------------------------------


def _cell_sig(cell: Any) -> dict[str, Any]:
    return {
        "value": cell.value,
        "type": cell.data_type,
        "number_format": cell.number_format,
        "fill": repr(cell.fill),
        "font": repr(cell.font),
        "border": repr(cell.border),
        "alignment": repr(cell.alignment),
        "protection": repr(cell.protection),
        "comment": cell.comment.text if cell.comment else None,
        "hyperlink": cell.hyperlink.target if cell.hyperlink else None,
    }


_EMPTY: dict[str, Any] | None = None


def _empty_sig() -> dict[str, Any]:
    global _EMPTY
    if _EMPTY is None:
        _EMPTY = _cell_sig(openpyxl.Workbook().active.cell(1, 1))
    return _EMPTY


def cells(path: Path) -> dict[tuple[str, int, int], dict[str, Any]]:
    book = openpyxl.load_workbook(path)
    out = {}
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                out[(ws.title, cell.row, cell.column)] = _cell_sig(cell)
    return out


def sheet_props(path: Path) -> dict[str, Any]:
    book = openpyxl.load_workbook(path)
    props = {"order": book.sheetnames}
    for ws in book.worksheets:
        props[ws.title] = {
            "widths": {k: v.width for k, v in ws.column_dimensions.items()},
            "column_formats": {k: v.number_format for k, v in ws.column_dimensions.items()},
            "freeze": ws.freeze_panes,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "validations": sorted((str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation),
            "conditional": sorted(
                (str(cf.sqref), repr([r.formula for r in cf.rules])) for cf in ws.conditional_formatting
            ),
        }
    return props


#: Parts of a tool cell the tool owns; everything else about it (font, borders...) stays the person's.
TOOL_OWNED = {"value", "type", "number_format", "fill"}


def assert_only_tool_cells_changed(case: CrmCase, before: dict, after: dict) -> int:
    titles = case.titles
    leads_header = [
        after.get((titles["leads"], 1, c), {}).get("value")
        for c in range(1, 1 + max((k[2] for k in after if k[0] == titles["leads"]), default=0))
    ]
    tool_cols = {c + 1 for c in tool_columns(leads_header).values()}
    # Since issue 11 Contact Plan has one tool column too: the row ID.
    plan_header = [
        after.get((titles["plan"], 1, c), {}).get("value")
        for c in range(1, 1 + max((k[2] for k in after if k[0] == titles["plan"]), default=0))
    ]
    plan_tool = {c + 1 for c in tool_columns(plan_header, "plan").values()}
    checked = 0
    for key in before.keys() | after.keys():
        tab, row, col = key
        was, now = before.get(key, _empty_sig()), after.get(key, _empty_sig())
        if tab == titles["calls"] or tab in TOOL_TABS:
            continue  # wholly the tool's
        owned: set[str] = set()
        if (tab == titles["leads"] and col in tool_cols) or (tab == titles["plan"] and col in plan_tool):
            if row > 1:
                owned = TOOL_OWNED
            elif was["value"] is None:
                owned = TOOL_OWNED  # a tool column the sync had to add: its header
        for part, value in was.items():
            if part not in owned:
                assert now[part] == value, (key, part, value, now[part])
        checked += 1
    return checked


def plan_rows_needing_a_word(case: CrmCase) -> set[int]:
    """1-based rows of Contact Plan that do not count and are not plainly empty or cancelled."""
    pcol = {c: i for i, c in enumerate(case.plan_cols)}
    rows = set()
    for i, (row, day) in enumerate(zip(case.plan, case.plan_dates, strict=False)):
        has_key = bool(text(row[pcol["project"]]))
        if has_key and day is not None:
            continue
        if not any(text(v) for v in row):
            continue
        if TEMPLATE.status_kind(text(row[pcol["status"]])) == "cancelled" and row[pcol["date"]] is None:
            continue  # a cancelled contact needs no date
        rows.add(i + 2)
    return rows


def lead_rows_needing_a_word(case: CrmCase) -> set[int]:
    col = {c: i for i, c in enumerate(case.leads_cols)}
    rows = set()
    for i, row in enumerate(case.leads):
        if text(row[col["project"]]):
            continue
        if any(
            text(v)
            for c, v in zip(case.leads_cols, row, strict=False)
            if not c.startswith("x:") and c not in {t.id for t in TEMPLATE.leads.tool_columns}
        ):
            rows.add(i + 2)
    return rows


# -- local ------------------------------------------------------------------------------------------


@PROPS
@given(case=crm_cases())
def test_local_sync_keeps_every_user_cell_and_is_correct_and_idempotent(case: CrmCase) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = build_xlsx(case, Path(tmp) / "crm.xlsx")
        before, props = cells(path), sheet_props(path)
        result = sync(LocalWorkbook(path, locale=case.locale), today=TODAY)
        after = cells(path)

        # 1. Nothing of the person's changed; the only new tabs are the tool's own (History, state).
        assert_only_tool_cells_changed(case, before, after)
        now = sheet_props(path)
        assert now["order"][: len(props["order"])] == props["order"]
        assert set(now["order"][len(props["order"]) :]) <= TOOL_TABS
        assert {k: v for k, v in now.items() if k != "order" and k not in TOOL_TABS} == {
            k: v for k, v in props.items() if k != "order"
        }

        # 2. The tool columns and Calls Today follow the rules.
        want = expected(case)
        got = leads_result(xlsx_values(path, case.titles["leads"]))
        got += [{}] * (len(case.leads) - len(got))
        for i, (g, w) in enumerate(zip(got, want.leads, strict=False)):
            assert {k: g.get(k) for k in w} == w, f"Leads row {i + 2}"
        assert calls_result(xlsx_values(path, case.titles["calls"])) == want.calls

        # 3. Every row that does not count is named in a warning.
        warned = {(i.tab, i.row) for i in result.issues}
        for row in plan_rows_needing_a_word(case):
            assert (case.titles["plan"], row) in warned, f"Contact Plan row {row} skipped silently"
        for row in lead_rows_needing_a_word(case):
            assert (case.titles["leads"], row) in warned, f"Leads row {row} skipped silently"

        # 4. A second sync changes nothing, not even the file's bytes.
        data = path.read_bytes()
        again = sync(LocalWorkbook(path, locale=case.locale), today=TODAY)
        assert again.changed_cells == 0 and not again.written
        assert path.read_bytes() == data


# -- Google, and the two backends side by side -----------------------------------------------------------


def _google(fake: Any, sid: str) -> Any:
    from sheets_crm.backends.google.http import CrmHTTPClient
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    return GoogleWorkbook(sid, http=CrmHTTPClient(None, fake.session(), sleep=lambda s: None))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(case=crm_cases())
def test_local_and_google_backends_agree(case: CrmCase) -> None:
    from strategies import assert_only_the_tools_formulas, google_person_cells

    from google_standin import FakeGoogle

    titles = case.titles
    with tempfile.TemporaryDirectory() as tmp:
        path = build_xlsx(case, Path(tmp) / "crm.xlsx")
        local = sync(LocalWorkbook(path, locale=case.google_locale()), today=TODAY)
        local_leads = leads_result(xlsx_values(path, titles["leads"]))
        local_calls = calls_result(xlsx_values(path, titles["calls"]))

    fake = FakeGoogle(account="service")
    fake.set_today(TODAY)  # the sheet's own TODAY(), which Days since contact is computed from
    sid = seed_google(fake, case)
    before = google_person_cells(fake, sid)
    remote = sync(_google(fake, sid), today=TODAY)
    google_leads = leads_result(fake.values(sid, titles["leads"]), date_cells="google")
    google_calls = calls_result(fake.values(sid, titles["calls"]), date_cells="google")

    # Same tool values, row for row, and the same Calls Today; both what the rules say.
    n = len(case.leads)
    pad = lambda rows: [{k: r.get(k) for k in TOOL_IDS} for r in rows] + [dict.fromkeys(TOOL_IDS)] * (n - len(rows))  # noqa: E731
    assert pad(google_leads)[:n] == pad(local_leads)[:n]
    assert google_calls == local_calls == expected(case).calls
    assert [str(i) for i in remote.issues] == [str(i) for i in local.issues]

    # Google: every cell the person owns is exactly as before (values and formats).
    after = google_person_cells(fake, sid)
    added_headers = {k for k in after.keys() - before.keys() if k[0] in (titles["leads"], titles["plan"]) and k[1] == 0}
    assert {k: v for k, v in after.items() if k not in added_headers} == before

    # No person's text ever becomes a formula: the only formula sent is the tool's own Days since.
    assert_only_the_tools_formulas(entry.body for entry in fake.calls("spreadsheets.batchUpdate"))

    # A second sync reads once and writes nothing.
    fake.reset_stats()
    again = sync(_google(fake, sid), today=TODAY)
    assert again.changed_cells == 0 and not again.written
    # (one read pass: properties, values and Calls Today's fills — 3 requests since the read was split)
    assert fake.stats.writes == 0 and fake.stats.requests == fake.stats.reads <= 3


TOOL_IDS = [c.id for c in TEMPLATE.leads.tool_columns]
