"""Log a contact in one command: the open plan row done (or cancelled), the follow-up planned.

The plan row marked is the lead's open row dated on the day logged, else its earliest open
row (the one Leads shows as Next contact); with none open, a done row is appended. Only
that row's Status and Result cells are written, plus appended rows; the tool columns are
refreshed in the same write (:func:`sheets_crm.app.edits.write_edits`).

Dates written into appended rows are text in the sheet's own convention (``22.11.2026`` in
a Russian sheet, ISO otherwise), which the tool reads back as dates: a real date cell would
need a number format, and on Google that is laid over the whole Date column — the
person's own formatting, which the tool does not touch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sheets_crm.app.edits import Written, write_edits
from sheets_crm.app.review import ProjectMatchError, match_project
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.dedupe import name_key
from sheets_crm.core.model import CellChange, Snapshot
from sheets_crm.core.reading import Tables, cell_text
from sheets_crm.core.template import Template
from sheets_crm.errors import CrmError

__all__ = ["LogPlan", "plan_log", "run_log", "date_text"]


@dataclass
class LogPlan:
    """What ``log`` writes: which plan row it marks or appends, and the follow-up row."""

    project: str
    exact: bool
    status: str  #: done / cancelled
    row: int  #: 1-based Contact Plan row marked (or appended)
    appended: bool  #: True when no open row was there and a done row was appended
    planned_for: dt.date | None  #: the marked row's own Date
    next_row: int | None = None
    plan_title: str = ""
    edits: list[CellChange] = field(default_factory=list)
    guard: dict[str, list[tuple[int, int, Any]]] = field(default_factory=dict)


def date_text(day: dt.date, lang: str) -> str:
    """A date as a person of the sheet's language types it."""
    return day.strftime("%d.%m.%Y") if lang == "ru" else day.isoformat()


def _lead_key(tables: Tables, query: str) -> tuple[str, bool]:
    """match_project (exact, part, close spelling), then the name folded across scripts ("Romashka" → "Ромашка")."""
    try:
        return match_project(tables, query)
    except ProjectMatchError as exc:
        if exc.candidates and "matches" in exc.message:
            raise
        folded = name_key(query)
        keys = list(
            dict.fromkeys(
                k
                for p, k in zip(tables.leads["project"], tables.leads["key"], strict=True)
                if folded and name_key(p) == folded
            )
        )
        if len(keys) == 1:
            return keys[0], False
        raise


def plan_log(
    snapshot: Snapshot,
    tables: Tables,
    template: Template,
    query: str,
    *,
    day: dt.date,
    result: str | None = None,
    cancel: bool = False,
    next_date: dt.date | None = None,
    topic: str | None = None,
    owner: str | None = None,
) -> LogPlan:
    """Decide the cells ``log`` writes. Pure (no I/O). Raises :class:`CrmError` with the candidates on ambiguity."""
    key, exact = _lead_key(tables, query)
    leads = tables.leads[tables.leads["key"] == key]
    project = str(leads["project"].iloc[0])
    lead_owner = str(leads["owner"].iloc[0])
    pm = tables.plan_map
    cols = pm.columns
    lang = tables.lang
    status = "cancelled" if cancel else "done"
    label = template.status_label(status, lang)
    if result and "result" not in cols:
        raise CrmError(f"{pm.title} has no {template.plan.column('result').names[lang]} column to write the result in")
    plan = tables.plan
    open_rows = plan[(plan["key"] == key) & (plan["status"] == "open")].sort_values(["date", "row"], kind="stable")
    out = LogPlan(project, exact, status, 0, False, None, plan_title=pm.title)
    next_free = _last_used(pm.data.values) + 1
    if len(open_rows):
        on_day = open_rows[open_rows["date"] == pd.Timestamp(day)]
        pick = (on_day if len(on_day) else open_rows).iloc[0]
        row = int(pick["row"]) - 1
        out.row, out.planned_for = row + 1, pd.Timestamp(pick["date"]).date()
        out.edits.append(CellChange(pm.title, row, cols["status"], value=label))
        if result:
            typed = cell_text(pm.data.cell(row, cols["result"]))
            # A result a person already typed there is kept, the new one after it.
            out.edits.append(CellChange(pm.title, row, cols["result"], value=f"{typed}; {result}" if typed else result))
        # The row must still be this lead's, dated as read, when the write lands.
        out.guard[pm.title] = [(row, c, pm.data.cell(row, c)) for c in (cols["project"], cols["date"])]
        who = owner or str(pick["owner"]) or lead_owner
    else:
        if cancel:
            raise CrmError(f"{project!r} has no open row in {pm.title} to cancel")
        who = owner or lead_owner
        out.row, out.appended, out.planned_for = next_free + 1, True, day
        out.edits += _row(pm.title, next_free, cols, project, date_text(day, lang), "", label, result or "", who)
        next_free += 1
    if next_date is not None:
        open_label = template.status_label("open", lang)
        out.next_row = next_free + 1
        out.edits += _row(
            pm.title, next_free, cols, project, date_text(next_date, lang), topic or "", open_label, "", who
        )
    return out


def _row(
    title: str,
    row: int,
    cols: dict[str, int],
    project: str,
    date: str,
    topic: str,
    status: str,
    result: str,
    owner: str,
) -> list[CellChange]:
    values = {"project": project, "date": date, "topic": topic, "status": status, "result": result, "owner": owner}
    return [CellChange(title, row, cols[cid], value=v) for cid, v in values.items() if v and cid in cols]


def _last_used(values: list[list[Any]]) -> int:
    for r in range(len(values) - 1, 0, -1):
        if any(cell_text(v) for v in values[r]):
            return r
    return 0


def run_log(
    workbook: Workbook,
    query: str,
    *,
    template: Template,
    day: dt.date | None = None,
    result: str | None = None,
    cancel: bool = False,
    next_date: dt.date | None = None,
    topic: str | None = None,
    owner: str | None = None,
    today: dt.date | None = None,
    tz: str | None = None,
    dry_run: bool = False,
) -> Written[LogPlan]:
    """Log one contact on ``workbook`` (the day logged defaults to today in the sheet's zone)."""

    def decide(snapshot: Snapshot, tables: Tables, now: dt.date) -> LogPlan:
        return plan_log(
            snapshot,
            tables,
            template,
            query,
            day=day or now,
            result=result,
            cancel=cancel,
            next_date=next_date,
            topic=topic,
            owner=owner,
        )

    return write_edits(workbook, decide, template=template, today=today, tz=tz, dry_run=dry_run)
