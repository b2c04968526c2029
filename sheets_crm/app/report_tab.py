"""The Report / Отчёт tab the sync keeps: this week's and last week's numbers per manager, and the funnel's flow.

The tab is the tool's (its first cell says so). Each sync works out the grid
(:func:`report_tab_rows`, pure), compares it with what the tab holds and
writes only the cells that differ, in the sync's one write. A person's text is
never lost: the tool remembers what it last wrote there (one row of the hidden
state tab), so

* a cell the tool needs that holds something else than the tool last wrote was
  typed by a person: the text is kept in History (``typed-over``) and reported,
  then replaced;
* a cell the tool no longer needs is cleared only while it still holds the
  tool's own value; a person's text elsewhere in the tab is left where it is;
* a tab with that name that the tool did not make (no memory, no mark in its
  first cell, not empty) is left alone, with a warning. (Once the tool has
  kept a Report tab it remembers so: a tab re-made under that name later is
  treated as its own, and the text found in it goes to History as above.)

No I/O; the sync calls :func:`keep_report` between History's
:func:`~sheets_crm.core.history.begin` and :func:`~sheets_crm.core.history.finish`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sheets_crm.app.review import (
    MIN_SAMPLE,
    ManagerStats,
    MovesStats,
    Period,
    StageMove,
    build_review,
    history_moves,
    period_for,
)
from sheets_crm.app.review_words import COLUMNS, FLOW_HEAD, TEXT, day_text, flow_cells, manager_label, stage_label
from sheets_crm.core.history import KEEP_DAYS, REPORT_NOT_OURS, REPORT_TYPED_OVER, Recording
from sheets_crm.core.ledger import find_tab
from sheets_crm.core.model import CellChange, ChangeSet, Issue, Snapshot, TabData
from sheets_crm.core.planner import Plan
from sheets_crm.core.reading import Tables, cell_text
from sheets_crm.core.template import Template
from sheets_crm.core.text import column_letter

__all__ = ["MEMORY", "report_tab_rows", "keep_report", "is_ours"]

#: The state tab's (Tab, Key) row holding what the tool last wrote in the Report tab: {"row:col": text}.
MEMORY = ("report", "grid")
_MOVES = ("moves", "won", "lost")
_CELL = re.compile(r"(\d{1,7}):(\d{1,5})")


def is_ours(tab: TabData) -> bool:
    """The tab's first cell carries the tool's mark (in either language)."""
    first = cell_text(tab.cell(0, 0))
    return any(first.startswith(words["tab_mark_prefix"]) for words in TEXT.values())


def _moves_of(stats: list[MovesStats], name: str | None) -> list[Any]:
    """Moves, to Won, to Lost of one manager (``name`` None: the team)."""
    if name is None:
        return [sum(getattr(m, f) for m in stats) for f in _MOVES]
    for m in stats:
        if m.name == name:
            return [m.moves, m.won, m.lost]
    return [0, 0, 0]


def report_tab_rows(
    tables: Tables, plan: Plan, today: dt.date, template: Template, moves: list[StageMove] | None = None
) -> list[list[Any]]:
    """The Report / Отчёт tab's grid (pure; in the sheet's language): the tool's mark, then per manager and the
    team this week so far and last week, then (with History) conversion and days in a stage.

    The "now" numbers (overdue, nothing planned, stale, never contacted, won, lost) are on this
    week's rows only: their values a week ago are not kept anywhere. Stage moves (from History,
    ``moves``) are dated, so both weeks have them.
    """
    lang = tables.lang
    t = TEXT[lang]
    this = build_review(tables, plan, today, period_for(today, "week"), template, moves=moves)
    monday = this.period.start
    span = Period("week", monday - dt.timedelta(days=7), monday - dt.timedelta(1))
    last = build_review(tables, plan, today, span, template, moves=moves)
    history = moves is not None
    rows: list[list[Any]] = [[t["tab_mark"].format(day=day_text(today, lang))], []]
    extra = [t["moves_col"], t["moves_won"], t["moves_lost"]] if history else []
    rows.append([t["manager"], t["week_col"], *(t[c] for c in COLUMNS), *extra])
    now_only = set(COLUMNS) - {"done", "cancelled", "planned"}
    earlier = {m.name: m for m in last.managers}
    names = list(dict.fromkeys([m.name for m in this.managers] + list(earlier)))
    now_by = {m.name: m for m in this.managers}
    pairs = [(now_by.get(n, ManagerStats(n)), earlier.get(n, ManagerStats(n))) for n in names]
    pairs.append((this.team, last.team))
    for i, (now, before) in enumerate(pairs):
        team = i == len(pairs) - 1
        name = t["team"] if team else manager_label(now, lang)
        moved_now = _moves_of(this.moves, None if team else now.name)
        moved_before = _moves_of(last.moves, None if team else now.name)
        rows.append([name, this.period.label, *(getattr(now, c) for c in COLUMNS), *(moved_now if history else [])])
        rows.append(
            [
                name,
                last.period.label,
                *("" if c in now_only else getattr(before, c) for c in COLUMNS),
                *(moved_before if history else []),
            ]
        )
    flow = this.flow
    if flow is not None:
        rows.append([])
        if flow.since is None:
            rows.append([t["flow_none"]])
        else:
            rows.append([t["flow"].format(since=day_text(flow.since, lang))])
            rows.append([t[h] if h != "flow_conv" else t["flow_conv_pct"] for h in FLOW_HEAD])
            for f in flow.stages:
                cells: list[Any] = [int(c) if c.isdigit() else c for c in flow_cells(f, lang)]
                cells[4] = t["too_few"] if f.conversion is None else round(f.conversion * 100)
                cells[6] = t["too_few"] if f.median_days is None else _plain(f.median_days)
                rows.append([stage_label(f.stage, template, lang), *cells])
            rows.append([t["note_flow"].strip().format(n=MIN_SAMPLE)])
    return rows


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 1)


def keep_report(
    snapshot: Snapshot,
    tables: Tables,
    plan: Plan,
    template: Template,
    today: dt.date,
    rec: Recording,
    changes: ChangeSet,
) -> None:
    """Add the Report tab's writes to ``changes``, its typed-over lines and warnings and its memory to ``rec``."""
    tab = find_tab(snapshot.tabs, template.report_names.values())
    remembered = rec.ledger.get(*MEMORY)
    if tab is not None and remembered is None and _filled(tab) and not is_ours(tab):
        rec.issues.append(
            Issue.of(tab.title, None, None, None, REPORT_NOT_OURS, "report-tab-not-ours", title=tab.title)
        )
        return
    title = tab.title if tab is not None else template.report_names[tables.lang]
    if tab is None:
        changes.new_tabs[title] = False
    if remembered is None and tab is not None:  # the tool's tab whose memory was lost: what is there counts as ours
        remembered = {f"{r}:{c}": cell_text(v) for r, line in enumerate(tab.values) for c, v in enumerate(line)}
    memory = remembered or {}
    # History keeps a rolling year and drops older lines about monthly: the tab counts the same year every day,
    # so the day a prune lands does not change it (and a second sync still writes nothing).
    since = today - dt.timedelta(days=KEEP_DAYS)
    moves = [m for m in history_moves(snapshot, rec.lines) or [] if m.day >= since]
    grid = report_tab_rows(tables, plan, today, template, moves)
    want = {(r, c): v for r, line in enumerate(grid) for c, v in enumerate(line) if cell_text(v)}
    day = today.isoformat()
    for (r, c), value in want.items():
        have = cell_text(tab.cell(r, c)) if tab is not None else ""
        text = cell_text(value)
        if have == text:
            continue
        if have and have != memory.get(f"{r}:{c}", ""):
            _typed(rec, title, r, c, have, text, day)
        changes.add(CellChange(title, r, c, value=value))
    for key, old in memory.items():
        at = _CELL.fullmatch(key)
        if at is None:  # the state tab edited by hand: a line it cannot read is forgotten, never a crash
            continue
        r, c = int(at[1]), int(at[2])
        have = cell_text(tab.cell(r, c)) if tab is not None else ""
        if (r, c) not in want and have and have == old:  # the tool's own value, no longer needed
            changes.add(CellChange(title, r, c, value=None))
    data = {f"{r}:{c}": cell_text(v) for (r, c), v in want.items()}
    rec.state_rows.append([*MEMORY, json.dumps(data, ensure_ascii=False, separators=(",", ":"))])


def _filled(tab: TabData) -> bool:
    return any(cell_text(v) for line in tab.values for v in line)


def _typed(rec: Recording, title: str, r: int, c: int, have: str, now: str, day: str) -> None:
    """A person's text in a cell the tool needs: into History and the warnings, before it is replaced."""
    rec.lines.append([day, title, r + 1, "", _column(c), have, now, "typed-over"])
    rec.issues.append(
        Issue.of(title, r + 1, _column(c), have, REPORT_TYPED_OVER, "typed-over", history=rec.title, now=now)
    )


def _column(c: int) -> str:
    return column_letter(c)
