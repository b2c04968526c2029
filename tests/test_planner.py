"""The pure core against golden cases (tests/golden/planner/*.json).

Each file gives Leads and Contact Plan rows, "today" (or an instant and the
sheet's zone), and the expected tool columns, calls and warnings.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_snapshot

from sheets_crm.app.sync import compute, resolve_today
from sheets_crm.core.model import KEEP, TabData
from sheets_crm.core.planner import freshness_colors, plan_crm
from sheets_crm.core.reading import read_tables

GOLDEN = sorted((Path(__file__).parent / "golden" / "planner").glob("*.json"))
ROW_FIELDS = ("project", "contact", "phone", "email", "stage", "owner")


def _lead_rows(case, template):
    if "leads_header" in case:
        return case["leads"]
    return [row + [""] * (8 - len(row)) for row in case["leads"]]


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden(path, template):
    case = json.loads(path.read_text(encoding="utf-8"))
    snapshot = make_snapshot(
        template,
        _lead_rows(case, template),
        case["plan"],
        lang=case.get("lang", "en"),
        leads_header=case.get("leads_header"),
        plan_header=case.get("plan_header"),
        locale=case.get("locale"),
        time_zone=case.get("time_zone"),
    )
    if "now" in case:
        today = resolve_today(snapshot, None, None, dt.datetime.fromisoformat(case["now"]))
    else:
        today = dt.date.fromisoformat(case["today"])
    tables = read_tables(snapshot, template, today)
    plan = plan_crm(tables.leads, tables.plan, today, template)

    got = {}
    for i, name in enumerate(tables.leads["project"]):
        rec = plan.leads.iloc[i]
        got[name] = {
            "last_contact": None if pd.isna(rec["last_contact"]) else rec["last_contact"].date().isoformat(),
            "last_result": rec["last_result"],
            "next_contact": None if pd.isna(rec["next_contact"]) else rec["next_contact"].date().isoformat(),
            "next_topic": rec["next_topic"],
            "days_since_contact": None if pd.isna(rec["days_since_contact"]) else int(rec["days_since_contact"]),
            "touches": int(rec["touches"]),
            "fill": rec["fill"],
        }
        for own in ("next_contact_fill", "days_since_contact_fill"):  # per-cell colours, where a case checks them
            if own in case["expect_leads"].get(name, {}):
                got[name][own] = rec[own]
    for name, expected in case["expect_leads"].items():
        assert got[name] == expected, name
    assert [c.as_json() for c in plan.call_list()] == case["expect_calls"]

    outcome = compute(snapshot, today, template)
    # Added tool columns are reported too; tests/test_local_backend.py covers them.
    warnings = sorted((i.tab, i.row, i.column, i.code) for i in outcome.issues if i.code != "added-column")
    assert warnings == sorted(tuple(w) for w in case["expect_warnings"])
    for issue in outcome.issues:  # every warning names where and what
        assert issue.tab and issue.row and issue.column and issue.message


def test_staler_is_never_darker(template):
    days = pd.Series(np.arange(-3, 45), dtype="Int64")
    fills = freshness_colors(days, pd.Series(["New"] * len(days)), template)

    def lightness(code):
        return 765 if code is None else sum(int(code[i : i + 2], 16) for i in (0, 2, 4))

    values = [lightness(c) for c in fills]
    assert values == sorted(values)
    assert fills.iloc[3] == template.settings.freshness_color  # day 0: full colour
    assert fills.iloc[-1] is None


def test_planner_scales_without_python_loops(template):
    """A smoke check that 200k plan rows plan (speed itself is in bench/)."""
    rng = np.random.default_rng(1)
    n_leads, n_plan = 20_000, 200_000
    keys = np.array([f"lead {i}" for i in range(n_leads)], dtype=object)
    leads = pd.DataFrame(
        {
            "row": np.arange(2, n_leads + 2),
            "project": keys,
            "key": keys,
            "contact": "",
            "phone": "",
            "stage": "New",
            "owner": "Anna",
        }
    )
    plan = pd.DataFrame(
        {
            "row": np.arange(2, n_plan + 2),
            "project": keys[rng.integers(0, n_leads, n_plan)],
            "date": pd.Timestamp("2026-11-22") + pd.to_timedelta(rng.integers(-60, 14, n_plan), unit="D"),
            "status": rng.choice(np.array(["open", "done", "cancelled"], dtype=object), n_plan),
            "topic": "t",
            "result": "r",
            "owner": "",
        }
    )
    plan["key"] = plan["project"]
    out = plan_crm(leads, plan, dt.date(2026, 11, 22), template)
    assert len(out.leads) == n_leads
    assert out.leads["touches"].sum() == (plan["status"] == "done").sum()
    open_in_window = (plan["status"] == "open") & (plan["date"] <= pd.Timestamp("2026-11-29"))
    assert len(out.calls) == open_in_window.sum()


# -- closed deals (issue 12 item 4) ---------------------------------------------------------------------------------

CLOSED_LEADS = [
    ["Lost one", "", "", "", "Lost", ""],
    ["Won one", "", "", "", "Выигран", ""],
    ["Open", "", "", "", "", ""],
]
CLOSED_PLAN = [
    ["Lost one", "2026-11-20", "a", "", "", ""],
    ["Lost one", "2026-11-21", "b", "", "", ""],
    ["Lost one", "2026-11-23", "c", "Запланирован", "", ""],
    ["Won one", "2026-11-22", "d", "", "", ""],
    ["Open", "2026-11-22", "e", "", "", ""],
]


def _closed_plan(template):
    tables = read_tables(make_snapshot(template, CLOSED_LEADS, CLOSED_PLAN), template, TODAY_CLOSED)
    return plan_crm(tables.leads, tables.plan, TODAY_CLOSED, template, plan_title="Contact Plan", date_header="Date")


TODAY_CLOSED = dt.date(2026, 11, 22)


def test_closed_leads_calls_are_left_out_and_reported_once(template):
    plan = _closed_plan(template)
    assert [c.topic for c in plan.call_list()] == ["e"]
    closed = [i for i in plan.issues if i.code == "closed-lead-open-call"]
    assert [(i.tab, i.row, i.column, i.value) for i in closed] == [
        ("Contact Plan", 2, "Date", "2026-11-20"),  # Lost one: once, at its earliest open call
        ("Contact Plan", 5, "Date", "2026-11-22"),  # Won one (stage in Russian)
    ]
    assert "'Lost one' is 'Lost' in Leads (row 2)" in closed[0].message
    assert "2 more of its open rows" in closed[0].message


def test_include_closed_keeps_them(template):
    keep = template.with_settings(include_closed=True)
    plan = _closed_plan(keep)
    assert sorted(c.topic for c in plan.call_list()) == ["a", "b", "c", "d", "e"]
    assert not [i for i in plan.issues if i.code == "closed-lead-open-call"]


def test_include_closed_in_the_template_file(tmp_path):
    from sheets_crm.core.template import load_template
    from sheets_crm.errors import TemplateError

    text = (Path(__file__).parents[1] / "sheets_crm" / "templates" / "default.toml").read_text(encoding="utf-8")
    assert "include_closed = false" in text
    path = tmp_path / "t.toml"
    path.write_text(text.replace("include_closed = false", "include_closed = true"), encoding="utf-8")
    assert load_template(path).settings.include_closed is True
    path.write_text(text.replace("include_closed = false", 'include_closed = "no"'), encoding="utf-8")
    with pytest.raises(TemplateError, match="include_closed must be true or false"):
        load_template(path)


# -- forgotten at a glance (issue 12 item 5) ------------------------------------------------------------------------


def test_forgotten_marks_reach_only_the_tools_cells(template):
    """The marks travel as fills of Leads' tool cells in the ChangeSet (both backends apply those)."""
    leads = [
        ["Overdue", "", "", "", "New", ""],
        ["Nothing planned", "", "", "", "New", ""],
        ["Stale", "", "", "", "", ""],
    ]
    plan = [
        ["Overdue", "2026-11-20", "Chase", "", "", ""],
        ["Nothing planned", "2026-11-21", "Intro", "Done", "", ""],
        ["Stale", "2026-09-01", "Intro", "Done", "", ""],
        ["Stale", "2026-12-20", "Later", "", "", ""],
    ]
    snap = make_snapshot(template, leads, plan)
    outcome = compute(snap, dt.date(2026, 11, 22), template)
    header = snap.tabs["Leads"].values[0]
    col = {name: header.index(name) for name in ("Next contact", "Days since contact")}
    fills = {(c.row, c.col): c.fill for c in outcome.changes.changes if c.tab == "Leads"}
    s = template.settings
    assert fills[(1, col["Next contact"])] == s.overdue_color == "F4C7C3"
    assert fills[(2, col["Next contact"])] == s.nothing_planned_color
    assert fills[(3, col["Days since contact"])] == s.stale_color
    nothing = [c for c in outcome.changes.changes if (c.tab, c.row, c.col) == ("Leads", 2, col["Next contact"])]
    assert [c.value for c in nothing] in ([None], [KEEP])  # left empty: a colour, not a text
    tool_cols = {i for i, name in enumerate(header) if (m := template.leads.match_header(name)) and m.owner == "tool"}
    assert {c.col for c in outcome.changes.changes if c.tab == "Leads"} <= tool_cols
    # A second sync over the written state has nothing to do: the marks are stable.
    again = _apply(snap, outcome.changes)
    assert not compute(again, dt.date(2026, 11, 22), template).changes


def test_marks_can_be_switched_off(template):
    quiet = template.with_settings(nothing_planned_color="", stale_color="")
    snap = make_snapshot(template, [["Idle", "", "", "", "New", ""]], [["Idle", "2026-09-01", "", "Done", "", ""]])
    tables = read_tables(snap, quiet, dt.date(2026, 11, 22))
    out = plan_crm(tables.leads, tables.plan, dt.date(2026, 11, 22), quiet).leads
    assert out["next_contact_fill"].tolist() == [None] and out["days_since_contact_fill"].tolist() == [None]


def _apply(snapshot, changes):
    """The snapshot as a backend leaves it after writing ``changes`` (values and fills)."""
    import copy

    snap = copy.deepcopy(snapshot)
    for title in changes.new_tabs:  # the tool's own History / state tabs (issue 11)
        snap.tabs.setdefault(title, TabData(title, []))
    for c in changes.changes:
        tab = snap.tabs.setdefault(c.tab, TabData(c.tab, []))  # a tab the sync creates (History, state)
        while len(tab.values) <= c.row:
            tab.values.append([])
        line = tab.values[c.row]
        while len(line) <= c.col:
            line.append(None)
        if c.value is not KEEP:
            line[c.col] = c.value
        if c.fill is not KEEP:
            if c.fill:
                tab.fills[(c.row, c.col)] = c.fill
            else:
                tab.fills.pop((c.row, c.col), None)
    return snap
