"""The weekly review and the client card as people read them: load a workbook, compute, render text or JSON.

Reading goes through the backends factory (a path or a Google Sheets URL);
the numbers come from :mod:`sheets_crm.app.review` (pure). Every word shown
lives in :data:`TEXT`, one block per language; the sheet's own language (as
the reader detects it from tab names) picks the block. Nothing here prints.
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
    ManagerStats,
    Period,
    Review,
    StageFlow,
    build_card,
    build_review,
    history_moves,
    match_project,
    period_for,
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
    "report_tab_rows",
    "moves_lines",
    "flow_lines",
    "flow_cells",
    "percent",
    "FLOW_HEAD",
]

log = logging.getLogger(__name__)

#: Every word the review and the card show, per language.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "date": "%Y-%m-%d",
        "day": "%m-%d",
        "title": "Review of {target}: {period}; today {today}",
        "week": "week {label} ({start} – {end})",
        "month": "month {label} ({start} – {end})",
        "range": "{start} – {end}",
        "so_far": ", so far",
        "owner_only": "Only {owner}.",
        "manager": "Manager",
        "week_col": "Week",
        "done": "Done",
        "cancelled": "Cancelled",
        "planned": "Planned",
        "overdue": "Overdue",
        "nothing_planned": "Nothing planned",
        "stale": "Stale",
        "never_contacted": "Never contacted",
        "won": "Won",
        "lost": "Lost",
        "team": "Team",
        "nobody": "(no owner)",
        "funnel": "Funnel now (leads per stage):",
        "no_stage": "(no or unknown stage)",
        "touches": "Touches before a win (leads in Won now: {won}): median {median}.",
        "touches_none": "Touches before a win: no lead is in Won yet.",
        "touches_by": "  Won leads by touches (touches: leads):",
        "touches_line": "    {touches}: {leads}",
        "many": "  {many} of {won} won leads had {n} or more touches.",
        "notes": "Notes:",
        "note_period": "  Done, Cancelled, Planned: contacts dated in the period (Planned counts every row dated "
        "then, whatever its status). Overdue: open contacts dated before today, now.",
        "note_leads": "  Nothing planned, Stale (last contact at least the stage's fade days ago), Never contacted: "
        "open leads now, by the lead's owner.",
        "note_won": "  Won and Lost are the leads in that stage now: without a History tab a win or a loss cannot "
        "be dated, so they are not limited to the period.",
        "note_history": "  Stage moves, conversion between stages and median days in a stage need the History tab, "
        "which this sheet does not have yet.",
        "moves": "Stage moves in the period (from History):",
        "moves_none": "Stage moves in the period (from History): none.",
        "moves_col": "Moves",
        "moves_won": "To Won",
        "moves_lost": "To Lost",
        "note_won_history": "  Won and Lost in the first table are the leads in that stage now; To Won and To Lost are "
        "moves into that stage in the period, as History recorded them (from the first sync that kept it).",
        "flow": "Conversion and days in a stage (History since {since}):",
        "flow_none": "Conversion and days in a stage: History has no dated stage yet.",
        "flow_stage": "Stage",
        "flow_seen": "Leads",
        "flow_on": "Moved on",
        "flow_lost": "Lost",
        "flow_still": "Still there",
        "flow_conv": "Conversion",
        "flow_stays": "Dated stays",
        "flow_days": "Median days",
        "too_few": "too few",
        "note_flow": "  Conversion: leads History saw in a stage that moved on to a later stage (Won included), out of "
        'all it saw there. Median days: stays whose start and end History dated. "too few": fewer than {n} '
        "leads or stays, so History is too short to say.",
        "chart_funnel": "Funnel: leads per stage now",
        "chart_daily": "Contacts done per manager per day",
        "chart_overdue": "Overdue calls per manager now",
        "chart_empty": "Nothing to show.",
        "wrote_page": "Wrote the review page to {path}.",
        "leads": "leads",
        # the card
        "card_title": "{project} (Leads, row {row})",
        "card_matched": "(closest match for {query!r})",
        "card_duplicates": "The same project is also in Leads row(s) {rows}; the card shows the first.",
        "card_row": "Row:",
        "card_summary": "Touches: {touches}. Last contact: {last}. Days since contact: {days}. Next step: {next}.",
        "card_never": "never",
        "card_nothing": "nothing planned",
        "card_plan": "Contact Plan (rows: {n}, by date):",
        "card_plan_none": "Contact Plan: no rows for this project.",
        "card_plan_row": "  {date}  {status:<{w}}  {topic}{result}{owner}  (row {row})",
        "card_result": " → {result}",
        "card_owner": " [{owner}]",
        "card_no_date": "(no date)",
        "card_not_a_date": "{text!r} (not a date)",
        "card_undated": "Rows without a usable date are listed last; the sync ignores them until the date is fixed.",
        "card_history": "Stage history needs the History tab, which this sheet does not have yet.",
        "card_stages": "Stage history (from History):",
        "card_stages_none": "Stage history: no stage change recorded in History.",
    },
    "ru": {
        "date": "%d.%m.%Y",
        "day": "%d.%m",
        "title": "Обзор {target}: {period}; сегодня {today}",
        "week": "неделя {label} ({start} – {end})",
        "month": "месяц {label} ({start} – {end})",
        "range": "{start} – {end}",
        "so_far": ", по сегодня",
        "owner_only": "Только {owner}.",
        "manager": "Менеджер",
        "week_col": "Неделя",
        "done": "Проведено",
        "cancelled": "Отменено",
        "planned": "Запланировано",
        "overdue": "Просрочено",
        "nothing_planned": "Без плана",
        "stale": "Остыли",
        "never_contacted": "Без контакта",
        "won": "Выиграно",
        "lost": "Проиграно",
        "team": "Команда",
        "nobody": "(без менеджера)",
        "funnel": "Воронка сейчас (лидов на этапе):",
        "no_stage": "(без этапа или неизвестный)",
        "touches": "Касаний до победы (лидов в «Выигран» сейчас: {won}): медиана {median}.",
        "touches_none": "Касаний до победы: ни одного лида в «Выигран» пока нет.",
        "touches_by": "  Выигранные лиды по числу касаний (касаний: лидов):",
        "touches_line": "    {touches}: {leads}",
        "many": "  {many} из {won} выигранных лидов — после {n} и более касаний.",
        "notes": "Примечания:",
        "note_period": "  Проведено, Отменено, Запланировано: контакты с датой в периоде (Запланировано — все строки "
        "с датой в периоде, в любом статусе). Просрочено: открытые контакты с датой до сегодня, на сейчас.",
        "note_leads": "  Без плана, Остыли (последний контакт не ближе срока остывания этапа), Без контакта: "
        "открытые лиды сейчас, по менеджеру лида.",
        "note_won": "  Выиграно и Проиграно — лиды на этом этапе сейчас: без вкладки «История» дату победы или "
        "проигрыша узнать нельзя, поэтому они не ограничены периодом.",
        "note_history": "  Переходы между этапами, конверсия и медиана дней на этапе требуют вкладки «История», "
        "которой в этой таблице пока нет.",
        "moves": "Переходы между этапами за период (по «Истории»):",
        "moves_none": "Переходы между этапами за период (по «Истории»): нет.",
        "moves_col": "Переходов",
        "moves_won": "В «Выигран»",
        "moves_lost": "В «Проигран»",
        "note_won_history": "  Выиграно и Проиграно в первой таблице — лиды на этом этапе сейчас; «В „Выигран“» и "
        "«В „Проигран“» — переходы на этот этап за период по записям «Истории» (с первой синхронизации, "
        "которая её вела).",
        "flow": "Конверсия и дни на этапе (по «Истории» с {since}):",
        "flow_none": "Конверсия и дни на этапе: в «Истории» пока нет датированных этапов.",
        "flow_stage": "Этап",
        "flow_seen": "Лидов",
        "flow_on": "Дальше",
        "flow_lost": "Проиграно",
        "flow_still": "Сейчас там",
        "flow_conv": "Конверсия",
        "flow_stays": "Пребываний",
        "flow_days": "Медиана дней",
        "too_few": "мало данных",
        "note_flow": "  Конверсия: из лидов, которых «История» видела на этапе, доля перешедших дальше (включая "
        "«Выигран»). Медиана дней: пребывания, начало и конец которых датированы в «Истории». «мало данных»: "
        "меньше {n} лидов или пребываний — «История» слишком коротка, чтобы судить.",
        "chart_funnel": "Воронка: лидов на этапе сейчас",
        "chart_daily": "Проведённые контакты по менеджерам и дням",
        "chart_overdue": "Просроченные звонки по менеджерам сейчас",
        "chart_empty": "Показать нечего.",
        "wrote_page": "Страница обзора записана в {path}.",
        "leads": "лидов",
        "card_title": "{project} (Лиды, строка {row})",
        "card_matched": "(ближайшее совпадение для {query!r})",
        "card_duplicates": "Этот же проект есть в Лидах в строках {rows}; карточка показывает первую.",
        "card_row": "Строка:",
        "card_summary": "Касаний: {touches}. Последний контакт: {last}. Дней без контакта: {days}. "
        "Следующий шаг: {next}.",
        "card_never": "не было",
        "card_nothing": "ничего не запланировано",
        "card_plan": "План контактов (строк: {n}, по дате):",
        "card_plan_none": "План контактов: строк по этому проекту нет.",
        "card_plan_row": "  {date}  {status:<{w}}  {topic}{result}{owner}  (строка {row})",
        "card_result": " → {result}",
        "card_owner": " [{owner}]",
        "card_no_date": "(без даты)",
        "card_not_a_date": "{text!r} (не дата)",
        "card_undated": "Строки без понятной даты — в конце; синхронизация их не учитывает, пока дата не исправлена.",
        "card_history": "История этапов требует вкладки «История», которой в этой таблице пока нет.",
        "card_stages": "История этапов (по «Истории»):",
        "card_stages_none": "История этапов: в «Истории» смен этапа нет.",
    },
}

#: The KPI table's columns, in order.
COLUMNS = ("done", "cancelled", "planned", "overdue", "nothing_planned", "stale", "never_contacted", "won", "lost")


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


def stage_label(stage_id: str, template: Template, lang: str) -> str:
    for stage in template.stages:
        if stage.id == stage_id:
            return stage.labels[lang]
    return TEXT[lang]["no_stage"]


def manager_label(m: ManagerStats, lang: str) -> str:
    return m.name or TEXT[lang]["nobody"]


def day_text(day: dt.date, lang: str) -> str:
    """A date in prose as people of the language write it: 2026-11-25 in English, 25.11.2026 in Russian."""
    return day.strftime(TEXT[lang]["date"])


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


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


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
        lines.append(t["touches"].format(won=touches.won, median=_number(touches.median or 0)))
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


def percent(value: float | None, lang: str) -> str:
    """A conversion as people read it (67%), or "too few" when History is too short to say."""
    return TEXT[lang]["too_few"] if value is None else f"{round(value * 100)}%"


def flow_cells(flow: StageFlow, lang: str) -> list[str]:
    """One stage's flow as table cells (after the stage's label)."""
    days = TEXT[lang]["too_few"] if flow.median_days is None else _number(flow.median_days)
    return [str(flow.seen), str(flow.moved_on), str(flow.lost), str(flow.still), percent(flow.conversion, lang)] + [
        str(flow.stays),
        days,
    ]


FLOW_HEAD = ("flow_stage", "flow_seen", "flow_on", "flow_lost", "flow_still", "flow_conv", "flow_stays", "flow_days")


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


# -- the Report tab's content ---------------------------------------------------------------------------------------


def report_tab_rows(tables: Tables, plan: Plan, today: dt.date, template: Template) -> list[list[Any]]:
    """The grid a tool-owned Report / Отчёт tab would hold: per manager and the team, this week so far and last week.

    Pure (header row first, in the sheet's language). The "now" numbers
    (overdue, nothing planned, stale, never contacted, won, lost) are on this
    week's rows only: last week's values of them are not known without History.
    Writing the tab is the sync's job and is not wired yet.
    """
    lang = tables.lang
    t = TEXT[lang]
    this = build_review(tables, plan, today, period_for(today, "week"), template)
    monday = this.period.start
    last = build_review(
        tables, plan, today, Period("week", monday - dt.timedelta(days=7), monday - dt.timedelta(1)), template
    )
    rows: list[list[Any]] = [[t["manager"], t["week_col"], *(t[c] for c in COLUMNS)]]
    now_only = set(COLUMNS) - {"done", "cancelled", "planned"}
    earlier = {m.name: m for m in last.managers}
    names = list(dict.fromkeys([m.name for m in this.managers] + list(earlier)))
    now_by = {m.name: m for m in this.managers}
    pairs = [(now_by.get(n, ManagerStats(n)), earlier.get(n, ManagerStats(n))) for n in names]
    pairs.append((this.team, last.team))
    for i, (now, before) in enumerate(pairs):
        name = t["team"] if i == len(pairs) - 1 else manager_label(now, lang)
        rows.append([name, this.period.label, *(getattr(now, c) for c in COLUMNS)])
        rows.append([name, last.period.label, *("" if c in now_only else getattr(before, c) for c in COLUMNS)])
    return rows
