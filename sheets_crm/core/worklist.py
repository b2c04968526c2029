"""Calls Today as a work list: row IDs in Contact Plan, calls marked in Calls Today, people's text kept.

Three steps around the planner (all pure):

1. :func:`prepare` (before planning) gives every Contact Plan row without one an ID (``P-000123``,
   a duplicate's lower copy a new one), reads Calls Today as the person left it, and records each
   call marked Done/Cancelled there on its plan row *by ID* — Status and Result, only where the
   plan's cell is empty or unchanged since the last sync (else the plan wins: a conflict) — and
   appends its follow-up (Next date, Next topic) as a new plan row. The plan frame is updated, so
   the planner already sees the call done and the follow-up planned.
2. :func:`settle` (after planning) finds the calls that left the list and appends the text of
   their person-owned cells to the plan row's Result as ``[Calls Today · <header>] text``.
3. :func:`finish` (after the diff) writes the ID and every person-owned column of Calls Today
   beside the same call (by ID) in the new list, and the plan writes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from sheets_crm.core.dates import to_date
from sheets_crm.core.ledger import Ledger, canon
from sheets_crm.core.model import N_, CellChange, ChangeSet, Issue, TabData
from sheets_crm.core.planner import Plan
from sheets_crm.core.reading import Tables, TabMap, cell_text, filled_rows
from sheets_crm.core.template import Template
from sheets_crm.core.text import column_letter, normalise

__all__ = ["CallRow", "WorkList", "prepare", "settle", "finish", "CALL_USER_FIELDS"]

#: The person-owned columns of Calls Today the template defines (read, carried, recorded).
CALL_USER_FIELDS = ("status", "result", "next_date", "next_topic")
_ID = re.compile(r"^P-(\d+)$")


@dataclass
class CallRow:
    """A Calls Today row as read: its sheet row (0-based), call ID and person-owned cells (col -> value)."""

    row: int
    id: str
    cells: dict[int, Any]
    #: Columns whose text the sync carried into Contact Plan (not kept beside the call any more).
    used: set[int] = field(default_factory=set)


@dataclass
class WorkList:
    """What the work-list steps decided; the plan writes collect in ``plan_cells``."""

    ids: dict[int, str]  #: plan sheet row (0-based) -> ID after this sync
    row_of: dict[str, int]  #: ID -> plan sheet row
    calls: list[CallRow]
    carried: dict[int, str]  #: Calls Today column -> header, for every person-owned column
    new_headers: dict[int, str]  #: person-owned template columns the sync adds to Calls Today
    plan_cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    #: History lines (column header, was, now, kind, plan row or None, project).
    events: list[tuple[str, str, str, str, int | None, str]] = field(default_factory=list)
    next_number: int = 1
    next_row: int = 0

    def new_id(self) -> str:
        number, self.next_number = self.next_number, self.next_number + 1
        return f"P-{number:06d}"

    def plan_value(self, tables: Tables, row: int, column_id: str) -> Any:
        """A plan cell as it will be after this sync (our pending write, else as read)."""
        col = tables.plan_map.columns.get(column_id)
        if col is None:
            return None
        if (row, col) in self.plan_cells:
            return self.plan_cells[(row, col)]
        return tables.plan_map.data.cell(row, col)


def prepare(tables: Tables, ledger: Ledger, template: Template, today: dt.date, locale: str | None) -> WorkList:
    """Assign IDs, read Calls Today, record calls marked there (updating ``tables.plan``)."""
    work = _assign_ids(tables)
    _read_calls(tables, template, work)
    for call in work.calls:
        _record(call, tables, ledger, template, today, locale, work)
    return work


def _assign_ids(tables: Tables) -> WorkList:
    pm = tables.plan_map
    data = pm.data
    id_col = pm.columns["id"]
    rows = filled_rows(data, skip=(id_col,)).tolist()
    given = {r: cell_text(data.cell(r, id_col)) for r in rows}
    numbers = [int(m.group(1)) for v in given.values() if (m := _ID.match(v))]
    work = WorkList({}, {}, [], {}, {}, next_number=max(numbers, default=0) + 1, next_row=_end(data))
    for r in rows:
        have = given[r]
        if not have or have in work.row_of:
            if have:
                work.issues.append(
                    Issue.of(
                        pm.title,
                        r + 1,
                        pm.header_of("id"),
                        have,
                        "duplicate ID (also row {first}, a copied row?); this row gets a new one",
                        "duplicate-id",
                        first=work.row_of[have] + 1,
                    )
                )
            have = work.new_id()
            work.plan_cells[(r, id_col)] = have
        work.ids[r], work.row_of[have] = have, r
    return work


def _end(data: TabData) -> int:
    """The first row after the last one with anything in it."""
    filled = filled_rows(data)
    return int(filled[-1]) + 1 if len(filled) else 1


def _read_calls(tables: Tables, template: Template, work: WorkList) -> None:
    cm = tables.calls_map
    data = cm.data
    mapped = set(cm.columns.values())
    carried = {c: h for c, h in cm.headers.items() if h and c not in mapped}  # the person's own columns
    free = max([*cm.headers, *(len(line) - 1 for line in data.values)], default=-1) + 1
    missing = [cid for cid in CALL_USER_FIELDS if cid not in cm.columns]
    if missing and "id" in cm.added:
        # The ID (the template's last column) goes after the work-list columns added with it.
        free = cm.added["id"]
        cm.columns["id"] = cm.added["id"] = free + len(missing)
        cm.headers[free + len(missing)] = cm.headers.pop(free)
        tables.issues[:] = [_moved_to(i, cm, free + len(missing)) for i in tables.issues]
    for cid in CALL_USER_FIELDS:
        if cid in cm.columns:
            carried[cm.columns[cid]] = cm.header_of(cid)
        else:
            cm.columns[cid] = free
            carried[free] = work.new_headers[free] = template.calls.column(cid).names[tables.lang]
            free += 1
    work.carried = dict(sorted(carried.items()))
    id_col = None if "id" in cm.added else cm.columns.get("id")
    fallback = _fallback_ids(tables, work)
    for r in range(1, data.height):
        cells = {c: data.cell(r, c) for c in work.carried if cell_text(data.cell(r, c))}
        call_id = cell_text(data.cell(r, id_col)) if id_col is not None else ""
        if not call_id:  # a list written before calls had IDs: the same project, date and topic
            call_id = fallback.get(_call_key(cm, data.values[r]), "")
        if cells or call_id:
            work.calls.append(CallRow(r, call_id, cells))


def _moved_to(issue: Issue, cm: TabMap, col: int) -> Issue:
    """The "added column" warning of the ID, naming where it really went."""
    if issue.code != "added-column" or issue.tab != cm.title or issue.column != cm.headers[col]:
        return issue
    return replace(issue, message=f"tool column was missing; added it as column {column_letter(col)}")


def _call_key(cm: TabMap, line: list[Any]) -> tuple[str, str, str]:
    def get(cid: str, kind: str = "text") -> str:
        col = cm.columns.get(cid)
        value = line[col] if col is not None and col < len(line) else None
        return canon(value, kind) if kind == "date" else normalise(value)

    return get("project"), get("date", "date"), get("topic")


def _fallback_ids(tables: Tables, work: WorkList) -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    plan = tables.plan
    for row, key, date, topic in zip(plan["row"], plan["key"], plan["date"], plan["topic"], strict=True):
        call_id = work.ids.get(int(row) - 1)
        if call_id:
            out.setdefault((key, pd.Timestamp(date).date().isoformat(), normalise(topic)), call_id)
    return out


def _record(
    call: CallRow, tables: Tables, ledger: Ledger, template: Template, today: dt.date, locale: str | None, w: WorkList
) -> None:
    """A call marked Done/Cancelled in Calls Today: onto its plan row (by ID), and its follow-up."""
    cm, pm = tables.calls_map, tables.plan_map
    status_col = cm.columns["status"]
    typed = cell_text(call.cells.get(status_col))
    kind = template.status_kind(typed) if typed else None
    if typed and kind is None:
        w.issues.append(
            Issue(cm.title, call.row + 1, cm.header_of("status"), typed, "unknown status; nothing recorded")
        )
    if kind not in ("done", "cancelled"):
        return
    row = w.row_of.get(call.id)
    if row is None:
        w.issues.append(
            Issue.of(
                cm.title,
                call.row + 1,
                cm.header_of("status"),
                typed,
                "this call is not in {plan} any more (its row was deleted?); its text is kept in History",
                "call-not-in-plan",
                plan=pm.title,
            )
        )
        return
    memory = ledger.get("plan", call.id) or {}
    project = cell_text(w.plan_value(tables, row, "project"))
    label = template.status_label(kind, tables.lang)
    have = cell_text(w.plan_value(tables, row, "status"))
    recorded = template.status_kind(have) == kind
    writable = not have or have == memory.get("~status") or ("~status" not in memory and _is_open(have, template))
    result_col = cm.columns["result"]
    result = cell_text(call.cells.get(result_col))
    call.used.update((status_col, result_col))
    if not recorded and not writable:
        # The plan row was changed since the last sync: the plan wins; what was typed here goes to History.
        _conflict(call, tables, w, row, "status", have, typed, project)
        if result:
            _conflict(call, tables, w, row, "result", cell_text(w.plan_value(tables, row, "result")), result, project)
        return
    if not recorded:
        w.plan_cells[(row, pm.columns["status"])] = label
    if result and "result" in pm.columns:
        have_r = cell_text(w.plan_value(tables, row, "result"))
        if have_r == result or not have_r or have_r == memory.get("~result"):
            w.plan_cells[(row, pm.columns["result"])] = result
        else:
            _conflict(call, tables, w, row, "result", have_r, result, project)
    _update_frame(tables, row, kind, label, cell_text(w.plan_value(tables, row, "result")))
    _follow_up(call, tables, template, today, locale, w, row)


def _is_open(text: str, template: Template) -> bool:
    return template.status_kind(text) == "open"


def _conflict(
    call: CallRow, tables: Tables, w: WorkList, row: int, column_id: str, plan: str, typed: str, project: str
) -> None:
    pm, cm = tables.plan_map, tables.calls_map
    w.issues.append(
        Issue.of(
            pm.title,
            row + 1,
            pm.header_of(column_id),
            plan,
            "conflict: {calls} row {row} says {typed!r}, but this cell was changed since the last sync; "
            "the plan wins ({typed!r} is kept in History)",
            "conflict",
            calls=cm.title,
            row=call.row + 1,
            typed=typed,
        )
    )
    w.events.append((pm.header_of(column_id), plan, typed, "conflict", row, project))


def _update_frame(tables: Tables, row: int, kind: str, label: str, result: str) -> None:
    plan = tables.plan
    hit = plan.index[plan["row"] == row + 1]
    if len(hit):
        plan.loc[hit, ["status", "status_text", "result"]] = [kind, label, result]


def _follow_up(
    call: CallRow, tables: Tables, template: Template, today: dt.date, locale: str | None, w: WorkList, row: int
) -> None:
    """Next date (+ Next topic) typed beside a finished call: a new plan row at the end of Contact Plan."""
    cm, pm = tables.calls_map, tables.plan_map
    date_col, topic_col = cm.columns["next_date"], cm.columns["next_topic"]
    raw = call.cells.get(date_col)
    if not cell_text(raw):
        return
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        day: dt.date | None = dt.date.fromisoformat(canon(raw, "date"))  # a Google date cell
    else:
        day = to_date(raw, locale, today)
    topic = cell_text(call.cells.get(topic_col))
    project = w.plan_value(tables, row, "project")
    owner = w.plan_value(tables, row, "owner")
    new_row, w.next_row = w.next_row, w.next_row + 1
    new_id = w.new_id()
    values = {"project": project, "date": day if day is not None else cell_text(raw), "topic": topic or None}
    values.update(owner=owner, id=new_id)
    for cid, value in values.items():
        if cid in pm.columns and cell_text(value):
            w.plan_cells[(new_row, pm.columns[cid])] = value
    w.ids[new_row], w.row_of[new_id] = new_id, new_row
    call.used.update((date_col, topic_col))
    if day is None:
        w.issues.append(
            Issue.of(
                cm.title,
                call.row + 1,
                cm.header_of("next_date"),
                raw,
                "not a date; copied to {plan} as typed",
                "warning",
                plan=pm.title,
            )
        )
        return
    text = cell_text(project)
    extra = {"row": new_row + 1, "project": text, "topic": topic, "status_text": "", "result": ""}
    extra.update(owner=cell_text(owner), key=normalise(text), date=pd.Timestamp(day), status="open")
    tables.plan = pd.concat([tables.plan, pd.DataFrame([extra])], ignore_index=True)


def settle(work: WorkList, tables: Tables, plan: Plan) -> bool:
    """Calls that left the list: the text of their person-owned cells is appended to the plan row's
    Result (``[Calls Today · header] text``). True when a Result changed (the caller re-plans)."""
    staying = {work.ids.get(int(r) - 1) for r in plan.calls["plan_row"].tolist()}
    pm, cm = tables.plan_map, tables.calls_map
    changed = False
    for call in work.calls:
        if call.id and call.id in staying:
            continue
        left = [(c, cell_text(v)) for c, v in call.cells.items() if c not in call.used and cell_text(v)]
        if not left:
            continue
        row = work.row_of.get(call.id) if call.id else None
        notes = [f"[{cm.title} · {work.carried[c]}] {text}" for c, text in left]
        if row is None or "result" not in pm.columns:
            for c, text in left:
                work.events.append((work.carried[c], text, "", "calls-text", None, ""))
            msgid, params = N_("the call left the list; its text was added to History"), {}
        else:
            before = cell_text(work.plan_value(tables, row, "result"))
            after = "\n".join([before, *notes]) if before else "\n".join(notes)
            work.plan_cells[(row, pm.columns["result"])] = after
            hit = tables.plan.index[tables.plan["row"] == row + 1]
            if len(hit):
                tables.plan.loc[hit, "result"] = after
                changed = True
            msgid = N_("the call left the list; its text was added to {plan} row {row}, column {column!r}")
            params = {"plan": pm.title, "row": row + 1, "column": pm.header_of("result")}
        for c, text in left:
            work.issues.append(
                Issue.of(cm.title, call.row + 1, work.carried[c], text, msgid, "call-text-moved", **params)
            )
        call.used.update(c for c, _ in left)
    return changed


def finish(work: WorkList, tables: Tables, plan: Plan, changes: ChangeSet, template: Template) -> None:
    """Add to ``changes``: Calls Today's IDs and person-owned cells beside their calls, the plan writes."""
    cm, pm = tables.calls_map, tables.plan_map
    data = cm.data
    fmt = template.settings.date_format
    grey = template.settings.tool_header_color or None
    out: list[CellChange] = []  # added to ``changes`` at the end, leaving the diff's blocks compact
    for col, header in work.new_headers.items():
        out.append(CellChange(cm.title, 0, col, value=header, fill=template.settings.user_header_color or None))
    if "id" in pm.added:
        out.append(CellChange(pm.title, 0, pm.columns["id"], value=pm.headers[pm.columns["id"]], fill=grey))
    by_id = {call.id: call for call in work.calls if call.id}
    new_ids = [work.ids.get(int(r) - 1, "") for r in plan.calls["plan_row"].tolist()]
    height = max(data.height, len(new_ids) + 1)
    id_col = cm.columns["id"]
    for r in range(1, height):
        call_id = new_ids[r - 1] if r - 1 < len(new_ids) else ""
        if cell_text(data.cell(r, id_col)) != call_id:
            out.append(CellChange(cm.title, r, id_col, value=call_id or None))
        old = by_id.get(call_id) if call_id else None
        for col in work.carried:
            want = old.cells.get(col) if old is not None and col not in old.used else None
            if cell_text(want) != cell_text(data.cell(r, col)):
                dated = col == cm.columns["next_date"] and isinstance(want, (dt.date, float, int))
                out.append(CellChange(cm.title, r, col, value=want, number_format=fmt if dated else None))
    for (r, c), value in sorted(work.plan_cells.items()):
        dated = isinstance(value, dt.date) and c == pm.columns["date"]
        out.append(CellChange(pm.title, r, c, value=value, number_format=fmt if dated else None))
    changes.extend(out)
    # Writes into Contact Plan must land on the rows they were planned for: the IDs pin them.
    if work.plan_cells:
        id_col_p = pm.columns["id"]
        pins = [(0, c, pm.data.cell(0, c)) for c in pm.columns.values() if c not in pm.added.values()]
        rows = {r for r, _ in work.plan_cells if r < pm.data.height}
        pins += [(r, id_col_p, pm.data.cell(r, id_col_p)) for r in sorted(rows) if cell_text(pm.data.cell(r, id_col_p))]
        changes.guard.setdefault(pm.title, []).extend(pins)
