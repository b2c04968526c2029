"""The weekly review and the client card as people read them: load a workbook, compute, render text or JSON.

Reading goes through the backends factory (a path or a Google Sheets URL);
the numbers come from :mod:`sheets_crm.app.review` (pure). Every word shown
lives in :data:`~sheets_crm.app.review_words.TEXT` (shared with the sync's
Report tab), one block per language; the sheet's own language (as the reader
detects it from tab names) picks the block. Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sheets_crm.app.review import (
    MANY_TOUCHES,
    MIN_SAMPLE,
    Card,
    CardContact,
    Review,
    build_card,
    build_review,
    history_moves,
    match_project,
    period_for,
)
from sheets_crm.app.review_words import (
    COLUMNS,
    FLOW_HEAD,
    TEXT,
    day_text,
    flow_cells,
    manager_label,
    number,
    percent,
    stage_label,
)
from sheets_crm.app.sync import resolve_today
from sheets_crm.backends import open_workbook
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.model import Issue, Snapshot
from sheets_crm.core.planner import Plan, plan_crm
from sheets_crm.core.reading import Tables, read_tables
from sheets_crm.core.template import Template, default_template
from sheets_crm.errors import ConfigError

__all__ = [
    "TEXT",
    "Loaded",
    "load",
    "load_workbook",
    "run_report",
    "run_card",
    "report_lines",
    "card_lines",
    "stage_label",
    "manager_label",
    "period_text",
    "day_text",
    "moves_lines",
    "flow_lines",
    "flow_cells",
    "percent",
    "FLOW_HEAD",
]

log = logging.getLogger(__name__)


@dataclass
class Loaded:
    """One read of a workbook, planned for ``today``."""

    target: str
    snapshot: Snapshot
    tables: Tables
    plan: Plan
    today: dt.date
    template: Template

    @property
    def lang(self) -> str:
        return self.tables.lang

    @property
    def issues(self) -> list[Issue]:
        return self.tables.issues + self.plan.issues


def load(
    target: str,
    *,
    today: dt.date | None = None,
    tz: str | None = None,
    credentials: str | None = None,
    locale: str | None = None,
    template: Template | None = None,
    allow_login: bool = False,
) -> Loaded:
    """Read ``target`` once (nothing is written) and plan it as the sync would."""
    workbook = open_workbook(target, credentials=credentials, locale=locale, allow_login=allow_login)
    return load_workbook(workbook, today=today, tz=tz, template=template)


def load_workbook(
    workbook: Workbook, *, today: dt.date | None = None, tz: str | None = None, template: Template | None = None
) -> Loaded:
    """Read an opened workbook (either backend) once and plan it; nothing is written."""
    template = template or default_template()
    snapshot = workbook.read()
    day = resolve_today(snapshot, today, tz)
    tables = read_tables(snapshot, template)
    pm = tables.plan_map
    plan = plan_crm(tables.leads, tables.plan, day, template, plan_title=pm.title, date_header=pm.header_of("date"))
    return Loaded(workbook.name, snapshot, tables, plan, day, template)


def _load(target: str | Workbook, read: dict[str, Any]) -> Loaded:
    if isinstance(target, str):
        return load(target, **read)
    return load_workbook(target, **read)  # an opened workbook: today, tz, template only


def run_report(
    target: str | Workbook,
    *,
    period: str = "week",
    start: dt.date | None = None,
    end: dt.date | None = None,
    owner: str | None = None,
    **read: Any,
) -> tuple[Review, Loaded]:
    """Load ``target`` (a path, a Sheets URL or id, or an opened workbook) and work out the review for the
    period (``week``, ``month`` or ``range``)."""
    loaded = _load(target, read)
    if period == "range" and end is None:
        end = loaded.today  # --from alone: up to today
    try:
        span = period_for(loaded.today, period, start, end)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    moves = history_moves(loaded.snapshot)
    review = build_review(loaded.tables, loaded.plan, loaded.today, span, loaded.template, owner=owner, moves=moves)
    return review, loaded


def run_card(target: str | Workbook, query: str, **read: Any) -> tuple[Card, bool, Loaded]:
    """Load ``target`` and build the card of the project ``query`` means; True when it matched exactly."""
    loaded = _load(target, read)
    key, exact = match_project(loaded.tables, query)
    card = build_card(loaded.tables, loaded.plan, key, loaded.template, history_moves(loaded.snapshot))
    return card, exact, loaded


# -- text ---------------------------------------------------------------------------------------------------------


def period_text(review: Review, lang: str) -> str:
    t, p = TEXT[lang], review.period
    text = t[p.kind].format(label=p.label, start=day_text(p.start, lang), end=day_text(p.end, lang))
    return text + (t["so_far"] if p.kind != "range" and p.end == review.today else "")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """Plain fixed-width columns: the first left-aligned, the numbers right-aligned."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    out = []
    for r in [head, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        out.append("  ".join(cells).rstrip())
    return out


def report_lines(review: Review, template: Template, lang: str, target: str) -> list[str]:
    """The review as terminal lines (no colours: it goes into chats and e-mails as it is)."""
    t = TEXT[lang]
    lines = [t["title"].format(target=target, period=period_text(review, lang), today=day_text(review.today, lang))]
    if review.owner is not None:
        lines.append(t["owner_only"].format(owner=review.owner))
    lines.append("")
    rows = [[manager_label(m, lang), *(str(getattr(m, c)) for c in COLUMNS)] for m in review.managers]
    if review.owner is None:
        rows.append([t["team"], *(str(getattr(review.team, c)) for c in COLUMNS)])
    lines += _table([t["manager"], *(t[c] for c in COLUMNS)], rows)

    lines += ["", t["funnel"]]
    labels = [stage_label(s.stage, template, lang) for s in review.funnel]
    width = max(len(label) for label in labels) if labels else 0
    digits = max((len(str(s.leads)) for s in review.funnel), default=1)
    for label, s in zip(labels, review.funnel, strict=True):
        lines.append(f"  {label.ljust(width)}  {str(s.leads).rjust(digits)}  {'█' * s.leads}".rstrip())

    lines.append("")
    touches = review.touches
    if touches.won:
        lines.append(t["touches"].format(won=touches.won, median=number(touches.median or 0)))
        lines.append(t["touches_by"])
        for n, leads in touches.distribution.items():
            lines.append(t["touches_line"].format(touches=n, leads=leads))
        lines.append(t["many"].format(many=touches.many, won=touches.won, n=MANY_TOUCHES))
    else:
        lines.append(t["touches_none"])

    lines += moves_lines(review, lang)
    lines += flow_lines(review, template, lang)
    lines += ["", t["notes"], t["note_period"], t["note_leads"]]
    if review.history:
        lines += [t["note_won_history"], t["note_flow"].format(n=MIN_SAMPLE)]
    else:
        lines += [t["note_won"], t["note_history"]]
    return lines


def flow_lines(review: Review, template: Template, lang: str) -> list[str]:
    """Conversion between stages and median days in a stage, when the sheet has History (nothing otherwise)."""
    t, flow = TEXT[lang], review.flow
    if flow is None:
        return []
    if flow.since is None:
        return ["", t["flow_none"]]
    rows = [[stage_label(f.stage, template, lang), *flow_cells(f, lang)] for f in flow.stages]
    return ["", t["flow"].format(since=day_text(flow.since, lang)), *_table([t[h] for h in FLOW_HEAD], rows)]


def moves_lines(review: Review, lang: str) -> list[str]:
    """Stage moves per manager in the period, when the sheet has History (nothing otherwise)."""
    t = TEXT[lang]
    if not review.history:
        return []
    if not review.moves:
        return ["", t["moves_none"]]
    rows = [[m.name or t["nobody"], str(m.moves), str(m.won), str(m.lost)] for m in review.moves]
    if review.owner is None:
        rows.append([t["team"], *(str(sum(getattr(m, f) for m in review.moves)) for f in ("moves", "won", "lost"))])
    return ["", t["moves"], *_table([t["manager"], t["moves_col"], t["moves_won"], t["moves_lost"]], rows)]


def _contact_date(contact: CardContact, lang: str) -> str:
    if contact.date is not None:
        return day_text(contact.date, lang)
    t = TEXT[lang]
    return t["card_not_a_date"].format(text=contact.date_text) if contact.date_text else t["card_no_date"]


def card_lines(card: Card, template: Template, lang: str, *, query: str | None = None) -> list[str]:
    """The card as terminal lines."""
    t = TEXT[lang]
    lines = [t["card_title"].format(project=card.project, row=card.row)]
    if query is not None:
        lines.append(t["card_matched"].format(query=query))
    if card.duplicate_rows:
        lines.append(t["card_duplicates"].format(rows=", ".join(str(r) for r in card.duplicate_rows)))
    lines += ["", t["card_row"]]
    width = max((len(h) for h, _ in card.fields), default=0)
    lines += [f"  {h.ljust(width)}  {v}".rstrip() for h, v in card.fields]
    lines.append("")
    last = day_text(card.last_contact, lang) if card.last_contact else t["card_never"]
    days = "—" if card.days_since_contact is None else str(card.days_since_contact)
    nxt = f"{day_text(card.next_contact, lang)} {card.next_topic}".rstrip() if card.next_contact else t["card_nothing"]
    lines.append(t["card_summary"].format(touches=card.touches, last=last, days=days, next=nxt))
    lines.append("")
    if card.contacts:
        lines.append(t["card_plan"].format(n=len(card.contacts)))
        statuses = [template.status_label(c.status, lang) for c in card.contacts]
        w = max(len(s) for s in statuses)
        for c, status in zip(card.contacts, statuses, strict=True):
            lines.append(
                t["card_plan_row"].format(
                    date=_contact_date(c, lang),
                    status=status,
                    w=w,
                    topic=c.topic,
                    result=t["card_result"].format(result=c.result) if c.result else "",
                    owner=t["card_owner"].format(owner=c.owner) if c.owner else "",
                    row=c.row,
                )
            )
        if any(c.date is None for c in card.contacts):
            lines.append(t["card_undated"])
    else:
        lines.append(t["card_plan_none"])
    if not card.history:
        lines += ["", t["card_history"]]
    elif card.stage_history:
        lines += ["", t["card_stages"]]
        lines += [f"  {day_text(m.day, lang)}  {m.was or '—'} → {m.now or '—'}" for m in card.stage_history]
    else:
        lines += ["", t["card_stages_none"]]
    return lines
