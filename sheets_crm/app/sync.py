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

from sheets_crm.backends import open_workbook
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.dates import resolve_zone, today_in
from sheets_crm.core.diff import diff
from sheets_crm.core.model import Call, ChangeSet, Issue, Snapshot
from sheets_crm.core.planner import SECTIONS, plan_crm
from sheets_crm.core.reading import read_tables
from sheets_crm.core.template import Template, default_template
from sheets_crm.core.text import TitleSet
from sheets_crm.errors import ConcurrentEditError, CrmError, WriteInDoubtError, WriteOutcome

__all__ = ["Outcome", "SyncResult", "compute", "sync", "run_sync", "resolve_today"]

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
    plan = plan_crm(tables.leads, tables.plan, today, template, plan_title=pm.title, date_header=pm.header_of("date"))
    changes = diff(tables, plan, template)
    return Outcome(today, tables.lang, changes, plan.call_list(), tables.issues + plan.issues)


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
    # Fills are read only where the tool owns colours: Leads and Calls Today.
    fill_tabs = TitleSet(name for tab in (template.leads, template.calls) for name in tab.names.values())
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
        outcome = compute(snapshot, day, template)
        written = False
        if outcome.changes and not dry_run:
            try:
                workbook.apply(outcome.changes, snapshot)
            except (ConcurrentEditError, WriteInDoubtError) as exc:
                # The sheet moved under us, or a write that must not be re-sent blindly may have
                # landed: re-read and re-plan from what is really there.
                if exc.outcome in (WriteOutcome.UPDATED, WriteOutcome.UNKNOWN):
                    left = exc.outcome if left is None or exc.outcome is WriteOutcome.UPDATED else left
                if attempt >= MAX_ATTEMPTS:
                    if isinstance(exc, ConcurrentEditError) and left is not None:
                        raise ConcurrentEditError(
                            f"{workbook.name} kept changing while the sync was running: some tool values may "
                            "sit beside the wrong lead. Run sync again to put them right.",
                            outcome=left,
                        ) from exc
                    raise _after(exc, left) from None
                log.info("re-reading %s before writing again (attempt %d): %s", workbook.name, attempt + 1, exc)
                continue
            except CrmError as exc:
                raise _after(exc, left) from None
            written = True
        return SyncResult(
            target=workbook.name,
            today=day,
            calls=outcome.calls,
            issues=outcome.issues,
            changed_cells=len(outcome.changes),
            written=written,
            lang=outcome.lang,
            attempts=attempt,
            stats=workbook.stats(),
            time_zone=zone.key,
        )


def _after(exc: CrmError, left: WriteOutcome | None) -> CrmError:
    """An error after an earlier attempt may already have written: say so (attached, not rewritten)."""
    if left is not None and exc.outcome in (None, WriteOutcome.UNTOUCHED):
        exc.outcome = left
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
