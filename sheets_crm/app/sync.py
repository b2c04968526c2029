"""The sync: read → plan → diff → one atomic write.

:func:`compute` is pure (snapshot and today in, change set and calls out);
:func:`sync` adds the I/O around it, retrying from a fresh read when the
sheet moved under us between the read and the write.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sheets_crm.app.adopt import fixing_command
from sheets_crm.app.report_tab import keep_report
from sheets_crm.app.review import DigestNumbers, digest_numbers
from sheets_crm.backends import open_workbook
from sheets_crm.backends.protocol import LiveColumns, Workbook
from sheets_crm.core import history, worklist
from sheets_crm.core.dates import resolve_zone, today_in
from sheets_crm.core.diff import diff
from sheets_crm.core.ledger import Ledger
from sheets_crm.core.model import Call, ChangeSet, Issue, Snapshot
from sheets_crm.core.planner import SECTIONS, Plan, plan_crm
from sheets_crm.core.reading import Tables, read_tables
from sheets_crm.core.template import Template, default_template
from sheets_crm.core.text import TitleSet
from sheets_crm.errors import ConcurrentEditError, CrmError, SheetShapeError, WriteInDoubtError, WriteOutcome

__all__ = ["Outcome", "SyncResult", "compute", "sync", "run_sync", "resolve_today", "live_columns"]

log = logging.getLogger(__name__)

#: How many times a sync re-reads and re-plans when the sheet moved under it.
MAX_ATTEMPTS = 3


@dataclass
class Outcome:
    """What one pass of planning decided (pure)."""

    today: dt.date
    lang: str
    changes: ChangeSet
    calls: list[Call]
    issues: list[Issue]
    tables: Tables | None = None
    plan: Plan | None = None


@dataclass
class SyncResult:
    target: str
    today: dt.date
    calls: list[Call]
    issues: list[Issue]
    changed_cells: int
    written: bool
    lang: str = "en"
    attempts: int = 1
    stats: dict[str, int] = field(default_factory=dict)
    #: The zone "today" was taken in (--tz, the sheet's own, or the machine's).
    time_zone: str = "UTC"
    #: Each manager's morning numbers for the digest (done yesterday, due today, overdue, nothing planned).
    numbers: DigestNumbers | None = None

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(SECTIONS, 0)
        for call in self.calls:
            counts[call.section] += 1
        return counts


def resolve_today(snapshot: Snapshot, today: dt.date | None, tz: str | None, now: dt.datetime | None = None) -> dt.date:
    """--today wins; else the date now in --tz, the sheet's zone, or the machine's."""
    if today is not None:
        return today
    return today_in(resolve_zone(tz or snapshot.time_zone), now)


def compute(snapshot: Snapshot, today: dt.date, template: Template) -> Outcome:
    """Plan one snapshot. Pure: no clock, no I/O."""
    tables = read_tables(snapshot, template, today)
    pm = tables.plan_map
    # Calls Today as a work list (issue 11): plan IDs, calls marked done there, people's text kept.
    ledger = Ledger.read(snapshot.tabs)
    work = worklist.prepare(tables, ledger, template, today, snapshot.locale)
    plan_date = pm.header_of("date")
    plan = plan_crm(tables.leads, tables.plan, today, template, plan_title=pm.title, date_header=plan_date)
    if worklist.settle(work, tables, plan):  # a Result grew: Last result must show it now, not next sync
        plan = plan_crm(tables.leads, tables.plan, today, template, plan_title=pm.title, date_header=plan_date)
    changes = diff(tables, plan, template)
    worklist.finish(work, tables, plan, changes, template)
    rec = history.begin(snapshot, tables, ledger, work, changes, template, today)
    keep_report(snapshot, tables, plan, template, today, rec, changes)  # issue 14: the Report / Отчёт tab
    history.finish(rec, changes)
    issues = tables.issues + plan.issues + work.issues + rec.issues
    return Outcome(today, tables.lang, changes, plan.call_list(), issues, tables, plan)


def live_columns(tables: Tables, template: Template) -> LiveColumns | None:
    """Where Leads' time-dependent tool cells are, for a backend that keeps them live in the sheet."""
    lm = tables.leads_map
    return LiveColumns.build(template, lm.title, lm.data.height, lm.columns)


def sync(
    workbook: Workbook,
    *,
    today: dt.date | None = None,
    tz: str | None = None,
    template: Template | None = None,
    dry_run: bool = False,
    now: Callable[[], dt.datetime] | None = None,
) -> SyncResult:
    """Sync one workbook. Raises :class:`~sheets_crm.errors.CrmError` subclasses."""
    template = template or default_template()
    # Only the CRM's tabs are read; fills only where the tool paints them: Calls Today, and Leads
    # unless the backend keeps the freshness colour live in the sheet (conditional formats).
    workbook.focus(
        TitleSet([*(name for tab in template.tabs for name in tab.names.values()), *history.tab_names(template)])
    )
    painted = (template.calls,) if "freshness" in workbook.computes else (template.leads, template.calls)
    fill_tabs = TitleSet(name for tab in painted for name in tab.names.values())
    attempt = 0
    left = None  # what an earlier attempt's write left behind, once one may have landed
    while True:
        attempt += 1
        try:
            snapshot = workbook.read(fills_for=fill_tabs)
        except CrmError as exc:
            raise _after(exc, left) from None
        zone = resolve_zone(tz or snapshot.time_zone)
        day = today if today is not None else today_in(zone, now() if now else None)
        try:
            outcome = compute(snapshot, day, template)
        except SheetShapeError as exc:
            # The fixing command with this workbook in it; and if a tab vanished after an earlier attempt of
            # this sync had written, the outcome is what that write left, not the core's "nothing written".
            raise exc.retold(outcome=left, **_init_for(exc, workbook.name)) from None
        live = live_columns(outcome.tables, template) if workbook.computes and outcome.tables else None
        try:
            changes = workbook.prepare(outcome.changes, snapshot, live)
        except CrmError as exc:
            raise _after(exc, left) from None
        written = False
        if changes and not dry_run:
            try:
                workbook.apply(changes, snapshot)
            except (ConcurrentEditError, WriteInDoubtError) as exc:
                # The sheet moved under us, or a write that must not be re-sent blindly may have
                # landed: re-read and re-plan from what is really there (or give up, saying what is left).
                left = _again(exc, attempt, left, workbook.name)
                continue
            except CrmError as exc:
                raise _after(exc, left, outcome.lang) from None
            written = True
        return SyncResult(
            target=workbook.name,
            today=day,
            calls=outcome.calls,
            issues=outcome.issues,
            changed_cells=len(changes),
            written=written,
            lang=outcome.lang,
            attempts=attempt,
            stats=workbook.stats(),
            time_zone=zone.key,
            numbers=_numbers(outcome, template),
        )


def _numbers(outcome: Outcome, template: Template) -> DigestNumbers | None:
    if outcome.tables is None or outcome.plan is None:
        return None
    return digest_numbers(outcome.tables, outcome.plan, outcome.today, template)


def _again(
    exc: ConcurrentEditError | WriteInDoubtError, attempt: int, left: WriteOutcome | None, name: str
) -> WriteOutcome | None:
    """After a write that must be re-planned: what the sheet may hold now; raises once attempts run out."""
    if exc.outcome in (WriteOutcome.UPDATED, WriteOutcome.UNKNOWN):
        left = exc.outcome if left is None or exc.outcome is WriteOutcome.UPDATED else left
    if attempt >= MAX_ATTEMPTS:
        if isinstance(exc, ConcurrentEditError) and left is not None:
            raise ConcurrentEditError(
                f"{name} kept changing while the sync was running: some tool values may "
                "sit beside the wrong lead. Run sync again to put them right.",
                outcome=left,
            ) from exc
        if isinstance(exc, WriteInDoubtError) and isinstance(exc.__cause__, CrmError):
            raise _after(exc.__cause__, left) from None  # Google's own error, maybe written
        raise _after(exc, left) from None
    log.info("re-reading %s before writing again (attempt %d): %s", name, attempt + 1, exc)
    return left


def _after(exc: CrmError, left: WriteOutcome | None, lang: str | None = None) -> CrmError:
    """An error after an earlier attempt may already have written: say so (attached, not rewritten);
    once the sheet was read, the error is about a sheet in ``lang``."""
    if left is not None and exc.outcome in (None, WriteOutcome.UNTOUCHED):
        exc.outcome = left
    if lang and exc.lang is None:
        exc.lang = lang
    return exc


def run_sync(
    target: str,
    *,
    today: dt.date | None = None,
    tz: str | None = None,
    credentials: str | None = None,
    template: Template | None = None,
    dry_run: bool = False,
    locale: str | None = None,
    allow_login: bool = False,
) -> SyncResult:
    """Open ``target`` (a path, a Sheets URL or id) and sync it."""
    workbook = open_workbook(target, credentials=credentials, locale=locale, allow_login=allow_login)
    return sync(workbook, today=today, tz=tz, template=template, dry_run=dry_run)


def _init_for(exc: CrmError, target: str) -> dict[str, str]:
    """The ``init`` value of a core error naming the fixing command, with ``target`` in it."""
    return {"init": fixing_command(target)} if "init" in exc.params else {}
