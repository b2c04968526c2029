"""A person-side edit and the tool columns it changes, written as ONE change set.

``log`` and ``import`` put a few cells into a person's tabs (a plan row's Status and
Result, appended rows, empty cells filled). The tool columns must then show the
result at once, so the normal sync :func:`~sheets_crm.app.sync.compute` runs on the
snapshot *with the edits applied*, and edits plus refreshed tool cells go to the
backend as one :class:`~sheets_crm.core.model.ChangeSet` — on Google the one atomic
``batchUpdate``, guarded like a sync (the cells edited must still hold what was read;
headers and the Leads key column must not have moved).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sheets_crm.app.sync import MAX_ATTEMPTS, compute, live_columns
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core import history
from sheets_crm.core.dates import resolve_zone, today_in
from sheets_crm.core.model import KEEP, CellChange, ChangeSet, Issue, Snapshot
from sheets_crm.core.reading import Tables, read_tables
from sheets_crm.core.template import Template
from sheets_crm.core.text import TitleSet
from sheets_crm.errors import ConcurrentEditError, WriteOutcome

__all__ = ["Edits", "Written", "patched", "merged", "write_edits"]

log = logging.getLogger(__name__)


class Edits(Protocol):
    """What a command decided to write into the person's tabs (its own report around it)."""

    @property
    def edits(self) -> list[CellChange]: ...

    @property
    def guard(self) -> dict[str, list[tuple[int, int, Any]]]:
        """Cells (row, col, value as read) that must be unchanged when the edits land."""
        ...


E = TypeVar("E", bound=Edits)


@dataclass
class Written(Generic[E]):
    """The plan a command made, and what happened to it."""

    plan: E
    today: dt.date
    lang: str
    changed_cells: int
    written: bool
    issues: list[Issue]
    stats: dict[str, int]
    attempts: int = 1


def patched(snapshot: Snapshot, edits: list[CellChange]) -> Snapshot:
    """A copy of ``snapshot`` as it will be once ``edits`` are written (the rows touched are copied)."""
    by_tab: dict[str, list[CellChange]] = {}
    for ch in edits:
        if ch.value is not KEEP:
            by_tab.setdefault(ch.tab, []).append(ch)
    tabs = dict(snapshot.tabs)
    for title, changes in by_tab.items():
        tab = snapshot.tabs[title]
        values = list(tab.values)
        copied: set[int] = set()
        for ch in changes:
            while len(values) <= ch.row:
                values.append([])
            if ch.row not in copied:
                values[ch.row] = list(values[ch.row])
                copied.add(ch.row)
            line = values[ch.row]
            while len(line) <= ch.col:
                line.append(None)
            line[ch.col] = ch.value
        tabs[title] = dataclasses.replace(tab, values=values)
    return dataclasses.replace(snapshot, tabs=tabs)


def merged(
    edits: list[CellChange], refresh: ChangeSet, guard: dict[str, list[tuple[int, int, Any]]] | None = None
) -> ChangeSet:
    """The edits and the sync's own changes as one change set.

    The sync's guard was taken on the patched snapshot: a guarded cell the edits write (a new
    lead's Project) must not be expected to hold its new value *before* the write; the backend
    checks every written cell against what was read instead.
    """
    written = {(ch.tab, ch.row, ch.col) for ch in edits}
    kept = {
        title: [(r, c, v) for r, c, v in cells if (title, r, c) not in written]
        for title, cells in refresh.guard.items()
    }
    for title, cells in (guard or {}).items():
        kept.setdefault(title, []).extend(cells)
    return dataclasses.replace(refresh, changes=[*edits, *refresh.changes], guard=kept)


def write_edits(
    workbook: Workbook,
    decide: Callable[[Snapshot, Tables, dt.date], E],
    *,
    template: Template,
    today: dt.date | None = None,
    tz: str | None = None,
    dry_run: bool = False,
    preview: Callable[[E], None] | None = None,
) -> Written[E]:
    """Read, let ``decide`` plan the edits, refresh the tool columns on the edited picture, write once.

    ``preview`` sees the plan before anything is written (the command line prints it).

    A write refused before anything landed (the sheet moved between read and write) is planned
    again from a fresh read, as a sync does; once something may have landed, the error stands
    (re-planning a ``log`` then would log the call twice).
    """
    workbook.focus(TitleSet([*(name for tab in template.tabs for name in tab.names.values()), *history.tab_names()]))
    painted = (template.calls,) if "freshness" in workbook.computes else (template.leads, template.calls)
    fill_tabs = TitleSet(name for tab in painted for name in tab.names.values())
    attempt = 0
    while True:
        attempt += 1
        snapshot = workbook.read(fills_for=fill_tabs)
        day = today if today is not None else today_in(resolve_zone(tz or snapshot.time_zone))
        tables = read_tables(snapshot, template, day)
        plan = decide(snapshot, tables, day)
        after = patched(snapshot, plan.edits)
        outcome = compute(after, day, template)
        changes = merged(plan.edits, outcome.changes, plan.guard)
        live = live_columns(outcome.tables, template) if workbook.computes and outcome.tables else None
        changes = workbook.prepare(changes, after, live)
        if preview is not None and attempt == 1:
            preview(plan)
        written = False
        if plan.edits and not dry_run:
            try:
                workbook.apply(changes, snapshot)
            except ConcurrentEditError as exc:
                if exc.outcome not in (None, WriteOutcome.UNTOUCHED) or attempt >= MAX_ATTEMPTS:
                    raise
                log.info("re-reading %s before writing again (attempt %d): %s", workbook.name, attempt + 1, exc)
                continue
            written = True
        return Written(
            plan=plan,
            today=day,
            lang=tables.lang,
            changed_cells=len(changes),
            written=written,
            issues=outcome.issues,
            stats=workbook.stats(),
            attempts=attempt,
        )
