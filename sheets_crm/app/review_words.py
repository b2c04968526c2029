"""Every word the weekly review, the card and the Report tab show, per language, and the small helpers
that turn numbers into those words. No I/O: the sync (Report tab) and the report commands share it.
"""

from __future__ import annotations

import datetime as dt

from sheets_crm.app.review import ManagerStats, StageFlow
from sheets_crm.core.template import Template

__all__ = [
    "TEXT",
    "COLUMNS",
    "FLOW_HEAD",
    "stage_label",
    "manager_label",
    "day_text",
    "number",
    "percent",
    "flow_cells",
]

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
        "flow_conv_pct": "Conversion, %",
        "tab_mark_prefix": "Report by sheets-crm",
        "tab_mark": "Report by sheets-crm, {day}: the sync rewrites this tab; text typed over its cells is kept in "
        "History.",
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
        "flow_conv_pct": "Конверсия, %",
        "tab_mark_prefix": "Отчёт sheets-crm",
        "tab_mark": "Отчёт sheets-crm, {day}: синхронизация переписывает эту вкладку; текст, введённый поверх её "
        "ячеек, сохраняется в «Истории».",
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


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def percent(value: float | None, lang: str) -> str:
    """A conversion as people read it (67%), or "too few" when History is too short to say."""
    return TEXT[lang]["too_few"] if value is None else f"{round(value * 100)}%"


def flow_cells(flow: StageFlow, lang: str) -> list[str]:
    """One stage's flow as table cells (after the stage's label)."""
    days = TEXT[lang]["too_few"] if flow.median_days is None else number(flow.median_days)
    return [str(flow.seen), str(flow.moved_on), str(flow.lost), str(flow.still), percent(flow.conversion, lang)] + [
        str(flow.stays),
        days,
    ]


FLOW_HEAD = ("flow_stage", "flow_seen", "flow_on", "flow_lost", "flow_still", "flow_conv", "flow_stays", "flow_days")
