"""History / История: what each sync saw change, and every tool cell a person typed over.

After the planner and the diff, :func:`record` compares the sheet with the memory of the last
sync (:mod:`sheets_crm.core.ledger`):

* a tool cell the sync is about to rewrite that differs from what it last wrote there was typed by
  a person: the text goes to History and becomes a warning (sync output, ``--dry-run``);
* plan rows added, done, cancelled, re-dated or removed; leads added or removed, their stage and
  owner changed — one History line each;

then it writes the new memory to the hidden state tab and appends the lines to History (both tabs
created when missing). :func:`begin` and :func:`finish` split that in two so the sync can add the
Report tab's lines and memory in between. The format is documented in ``docs/history.md``.
Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheets_crm.core.ledger import PLAN_FIELDS, STATE_TITLE, Ledger, canon, find_tab, grid_blocks
from sheets_crm.core.model import KEEP, N_, CellChange, ChangeSet, Issue, Snapshot, TabData
from sheets_crm.core.reading import Tables, TabMap, cell_text
from sheets_crm.core.template import Template, default_template
from sheets_crm.core.text import normalise
from sheets_crm.core.worklist import WorkList

__all__ = [
    "HISTORY_NAMES",
    "HISTORY_HEADERS",
    "KEEP_DAYS",
    "PRUNE_AFTER_DAYS",
    "REPORT_TYPED_OVER",
    "REPORT_NOT_OURS",
    "Recording",
    "begin",
    "finish",
    "record",
    "tab_names",
]

HISTORY_NAMES = {"en": "History", "ru": "История"}
HISTORY_HEADERS = {
    "en": ("Date", "Tab", "Row", "Project", "Column", "Was", "Now", "What"),
    "ru": ("Дата", "Вкладка", "Строка", "Проект", "Столбец", "Было", "Стало", "Что"),
}
#: History keeps a rolling year: lines older than this many days are dropped ...
KEEP_DAYS = 365
#: ... once the oldest is older than this (so the tab is rewritten about once a month, not daily).
PRUNE_AFTER_DAYS = 395
#: The Report tab's warnings (:mod:`sheets_crm.app.report_tab` keeps the tab; its words live in the core so
#: the message catalog finds them, like every other warning about the sheet).
REPORT_TYPED_OVER = N_("typed into the Report tab: kept in {history!r} and replaced by {now!r}")
REPORT_NOT_OURS = N_(
    "a tab named {title!r} exists that sheets-crm did not make: the report is not written there; "
    "rename or delete that tab to let the sync keep its Report tab"
)
#: Cells that change by themselves every day (Leads' Days since contact, live as a formula on Google; Calls
#: Today's Days overdue and section): not remembered, so a new day alone rewrites no memory. Typed-over is
#: told by their kind instead: a number column holding text, a section cell holding no section's label.
_DAILY = frozenset({"days_since_contact", "days_overdue", "section"})

Line = list[Any]


def tab_names(template: Template | None = None) -> tuple[str, ...]:
    """The titles of the tool's own tabs besides the template's (History, the state tab, the Report tab),
    for a backend reading only the CRM's tabs."""
    report = (template or default_template()).report_names.values()
    return (*HISTORY_NAMES.values(), STATE_TITLE, *report)


@dataclass
class Recording:
    """What :func:`begin` found (History lines to append, the memory to keep, typed-over warnings);
    more may be added (the Report tab's) before :func:`finish` writes it all."""

    history: TabData | None
    title: str  # History's title (found, or the one it will be created with)
    lang: str
    today: dt.date
    ledger: Ledger
    memory: dict[tuple[str, str], dict[str, str]]
    lines: list[Line] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    #: Extra rows for the state tab, after the ledger's own (the Report tab's memory).
    state_rows: list[list[Any]] = field(default_factory=list)


def record(
    snapshot: Snapshot,
    tables: Tables,
    ledger: Ledger,
    work: WorkList,
    changes: ChangeSet,
    template: Template,
    today: dt.date,
) -> list[Issue]:
    """Add the History and state-tab writes to ``changes``; return the typed-over warnings."""
    rec = begin(snapshot, tables, ledger, work, changes, template, today)
    finish(rec, changes)
    return rec.issues


def begin(
    snapshot: Snapshot,
    tables: Tables,
    ledger: Ledger,
    work: WorkList,
    changes: ChangeSet,
    template: Template,
    today: dt.date,
) -> Recording:
    """Work out this sync's History lines and memory from the sheet and ``changes`` (nothing written yet)."""
    day = today.isoformat()
    history = find_tab(snapshot.tabs, HISTORY_NAMES.values())
    title = history.title if history else HISTORY_NAMES[tables.lang]
    # Only Leads and Calls Today cells are looked up (the plan's memory comes from the work list), so
    # the plan's blocks (a million rows on a first sync) are never expanded.
    tabs = {tables.leads_map.title, tables.calls_map.title}
    written = {(ch.tab, ch.row, ch.col): ch.value for ch in changes.cells(tabs) if ch.value is not KEEP}
    lines: list[Line] = []
    labels = frozenset(normalise(label) for names in template.sections.values() for label in names.values())
    issues = _typed_over(tables, ledger, written, title, day, lines, labels)
    for header, was, now, kind, row, project in work.events:
        where = tables.plan_map.title if row is not None else tables.calls_map.title
        lines.append([day, where, row + 1 if row is not None else None, project, header, was, now, kind])
    memory, rows = _memory(tables, work, written)
    if ledger.known:
        lines += _events(tables, template, ledger, memory, rows, day)
    return Recording(history, title, tables.lang, today, ledger, memory, lines, issues)


def finish(rec: Recording, changes: ChangeSet) -> None:
    """Append the recorded lines to History and write the new memory to the state tab (both made when missing)."""
    ledger = rec.ledger
    _history_writes(rec.history, rec.title, rec.lang, rec.lines, rec.today, changes)
    state_grid = ledger.grid(rec.memory, rec.state_rows)
    if ledger.tab is None:
        changes.new_tabs[STATE_TITLE] = True
    changes.extend(grid_blocks(ledger.tab, ledger.tab.title if ledger.tab else STATE_TITLE, state_grid))


def _now(written: Mapping[tuple[str, int, int], Any], tab: TabData, row: int, col: int) -> Any:
    key = (tab.title, row, col)
    return written[key] if key in written else tab.cell(row, col)


def _typed_over(
    tables: Tables,
    ledger: Ledger,
    written: Mapping[tuple[str, int, int], Any],
    history: str,
    day: str,
    lines: list[Line],
    labels: frozenset[str],
) -> list[Issue]:
    """Tool cells about to be rewritten that hold what a person typed; ``labels``: the sections' labels
    (normalised, every language), the only text a section cell holds unless typed over."""
    issues: list[Issue] = []
    lm, cm = tables.leads_map, tables.calls_map
    key_col = {lm.title: lm.columns["project"], cm.title: cm.columns.get("id")}
    tool = {
        tm.title: {c: cid for cid, c in tm.columns.items() if tm.tab.column(cid).owner == "tool" and cid != "id"}
        for tm in (lm, cm)
    }
    for (title, r, c), value in written.items():
        cid = tool.get(title, {}).get(c)
        if cid is None or r == 0:
            continue
        tm = lm if title == lm.title else cm
        kind = tm.tab.column(cid).type
        have = canon(tm.data.cell(r, c), kind)
        if not have:
            continue
        if cid in _DAILY:
            typed = _typed_daily(tm.data.cell(r, c), kind, labels)
        else:
            k = key_col[title]
            key = cell_text(tm.data.cell(r, k)) if k is not None else ""
            memory = ledger.get("leads" if tm is lm else "calls", normalise(key) if tm is lm else key)
            typed = memory is not None and have != memory.get(cid, "")
        if not typed:
            continue
        now = canon(value, kind)
        project = cell_text(tm.data.cell(r, tm.columns["project"])) if "project" in tm.columns else ""
        lines.append([day, title, r + 1, project, tm.headers.get(c, cid), have, now, "typed-over"])
        issues.append(
            Issue.of(
                title,
                r + 1,
                tm.headers.get(c, cid),
                have,
                N_("typed into a tool column: kept in {history!r} and replaced by {now!r}")
                if now
                else N_("typed into a tool column: kept in {history!r} and cleared"),
                "typed-over",
                history=history,
                now=now,
            )
        )
    return issues


def _typed_daily(raw: Any, kind: str, labels: frozenset[str]) -> bool:
    """Was a daily cell typed over? Its value is not remembered, so only its kind can tell."""
    if kind == "section":
        return normalise(cell_text(raw)) not in labels
    return not isinstance(raw, (int, float, dt.date)) or isinstance(raw, bool)  # a date is a number on Google


def _tool_values(tm: TabMap, row: int, written: Mapping[tuple[str, int, int], Any]) -> dict[str, str]:
    return {
        cid: canon(_now(written, tm.data, row, c), tm.tab.column(cid).type)
        for cid, c in tm.columns.items()
        if tm.tab.column(cid).owner == "tool" and cid not in _DAILY and cid != "id"
    }


def _memory(
    tables: Tables, work: WorkList, written: Mapping[tuple[str, int, int], Any]
) -> tuple[dict[tuple[str, str], dict[str, str]], dict[tuple[str, str], int]]:
    """What this sync leaves behind, per lead, plan row and call; and their sheet rows (1-based)."""
    memory: dict[tuple[str, str], dict[str, str]] = {}
    rows: dict[tuple[str, str], int] = {}
    lm, pm, cm = tables.leads_map, tables.plan_map, tables.calls_map
    leads = tables.leads
    for row, key, project, stage, owner in zip(
        leads["row"], leads["key"], leads["project"], leads["stage"], leads["owner"], strict=True
    ):
        if ("leads", key) in memory:
            continue
        data = _tool_values(lm, int(row) - 1, written)
        data.update({"~project": project, "~stage": stage, "~owner": owner})
        memory[("leads", key)], rows[("leads", key)] = data, int(row)
    for row, call_id in work.ids.items():
        memory[("plan", call_id)] = {
            f: canon(work.plan_value(tables, row, f[1:]), pm.tab.column(f[1:]).type) for f in PLAN_FIELDS
        }
        rows[("plan", call_id)] = row + 1
    id_col = cm.columns["id"]
    last = max([cm.data.height, *(r + 1 for t, r, _c in written if t == cm.title)])
    for r in range(1, last):
        call_id = cell_text(_now(written, cm.data, r, id_col))
        if call_id:
            memory[("calls", call_id)] = _tool_values(cm, r, written)
    return memory, rows


def _events(
    tables: Tables,
    template: Template,
    ledger: Ledger,
    memory: Mapping[tuple[str, str], Mapping[str, str]],
    rows: Mapping[tuple[str, str], int],
    day: str,
) -> list[Line]:
    lines: list[Line] = []
    lm, pm = tables.leads_map, tables.plan_map
    for (tab_id, key), now in memory.items():
        before = ledger.get(tab_id, key)
        if tab_id == "leads":
            row = rows[(tab_id, key)]
            if before is None:
                lines.append(
                    [day, lm.title, row, now["~project"], lm.header_of("project"), "", now["~project"], "lead-added"]
                )
                continue
            for cid in ("stage", "owner"):
                if cid in lm.columns and before.get("~" + cid, "") != now["~" + cid]:
                    lines.append(
                        [
                            day,
                            lm.title,
                            row,
                            now["~project"],
                            lm.header_of(cid),
                            before.get("~" + cid, ""),
                            now["~" + cid],
                            cid,
                        ]
                    )
        elif tab_id == "plan":
            lines += _plan_events(tables, template, before, now, rows[(tab_id, key)], day)
    for tab_id, key in ledger.rows:
        if (tab_id, key) in memory or tab_id not in ("leads", "plan"):  # calls come and go; the Report tab's own
            continue
        before = ledger.rows[(tab_id, key)]
        if tab_id == "leads":
            lines.append(
                [
                    day,
                    lm.title,
                    None,
                    before.get("~project", key),
                    lm.header_of("project"),
                    before.get("~project", key),
                    "",
                    "lead-removed",
                ]
            )
        else:
            lines.append([day, pm.title, None, before.get("~project", ""), pm.header_of("id"), key, "", "removed"])
    return lines


def _plan_events(
    tables: Tables, template: Template, before: Mapping[str, str] | None, now: Mapping[str, str], row: int, day: str
) -> list[Line]:
    pm = tables.plan_map
    project = now.get("~project", "")
    if before is None:
        return [[day, pm.title, row, project, pm.header_of("date"), "", now.get("~date", ""), "added"]]
    lines: list[Line] = []
    kinds = {
        k: template.status_kind(before.get("~status", "") if k == "was" else now.get("~status", "")) or "open"
        for k in ("was", "now")
    }
    if kinds["now"] != kinds["was"] and kinds["now"] in ("done", "cancelled") and "status" in pm.columns:
        lines.append(
            [
                day,
                pm.title,
                row,
                project,
                pm.header_of("status"),
                before.get("~status", ""),
                now.get("~status", ""),
                kinds["now"],
            ]
        )
    if before.get("~date", "") and now.get("~date", "") and before.get("~date") != now.get("~date"):
        lines.append(
            [
                day,
                pm.title,
                row,
                project,
                pm.header_of("date"),
                before.get("~date", ""),
                now.get("~date", ""),
                "re-dated",
            ]
        )
    return lines


def _history_writes(
    history: TabData | None, title: str, lang: str, lines: list[Line], today: dt.date, changes: ChangeSet
) -> None:
    """Append ``lines`` after History's last line; drop lines older than a year, about monthly."""
    if history is None:
        # Created with the state tab on the first sync (even with nothing to say yet), so an everyday
        # write later is values only.
        changes.new_tabs[title] = False
        grid: list[Line] = [list(HISTORY_HEADERS[lang]), *lines]
        changes.extend(grid_blocks(None, title, grid))
        return
    rows = [list(history.values[r]) for r in range(1, history.height) if any(cell_text(v) for v in history.values[r])]
    dates = [canon(line[0] if line else None, "date") for line in rows]
    oldest = min((d for d in dates if d), default="")
    if oldest and oldest < (today - dt.timedelta(days=PRUNE_AFTER_DAYS)).isoformat():
        cutoff = (today - dt.timedelta(days=KEEP_DAYS)).isoformat()
        kept = [line for line, d in zip(rows, dates, strict=True) if not d or d >= cutoff]
        grid = [list(history.header), *kept, *lines]
        changes.extend(grid_blocks(history, history.title, grid, keep_rows=1))
        return
    if lines:
        start = history.height if history.height else 1
        for i, line in enumerate(lines):
            for c, value in enumerate(line):
                if cell_text(value):
                    changes.add(CellChange(history.title, start + i, c, value=value))
