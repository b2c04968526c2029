"""The weekly review against a CRM with a known history: exact numbers, exact output in English and Russian.

The CRM below is small enough to count by hand; every expected number in
this file was worked out from the rows (the comments say how), not copied
from the program. ``tests/golden/report/*.txt`` hold the exact terminal
output; ``<TARGET>`` stands for the workbook's path.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from conftest import header
from typer.testing import CliRunner

from sheets_crm.app.report import report_lines, run_report
from sheets_crm.app.review import NoSuchManagerError, Period, build_review, period_for
from sheets_crm.cli.main import app
from sheets_crm.core.planner import plan_crm
from sheets_crm.core.reading import read_tables
from sheets_crm.core.template import default_template

GOLDEN = Path(__file__).parent / "golden" / "report"
TODAY = dt.date(2026, 11, 25)  # a Wednesday: ISO week 2026-W48 is Mon 23 … Wed 25 so far


def _lead(project: str, stage: str, owner: str, contact: str = "", phone: str = "", budget: str = "") -> list:
    # Project, Contact, Phone, Email, Stage, Owner, Source, Notes, six tool columns, then the person's own Budget.
    return [project, contact, phone, "", stage, owner, "Website", "", None, None, None, None, None, None, budget]


# Stage and owner of every lead; what the review must make of it.
LEADS = [
    _lead("Acme", "Proposal", "Anna", "Bob", "+7 916 000-00-01", "12000"),  # fade 14; last contact 11-23
    _lead("Beta", "New", "Ivan", "Eve"),  # never contacted; a call overdue since 11-20
    _lead("Gamma", "Won", "Anna"),  # won after 5 touches
    _lead("Delta", "Lost", "Ivan"),
    _lead("Epsilon", "Negotiation", "Anna"),  # fade 10; last contact 11-10 → 15 days: stale
    _lead("Zeta", "Won", "Ivan"),  # won after 2 touches
    _lead("Eta", "Qualified", ""),  # nobody's; contacted today, nothing planned
    _lead("Theta", "New", "anna"),  # the same Anna; never contacted, nothing planned
    _lead("Iota", "Paused", "Ivan"),  # unknown stage (open); last contact 10-20 → 36 days ≥ 30: stale
]
# Project, Date, Topic, Status, Result, Owner (sheet rows 2…21)
PLAN = [
    ["Acme", "2026-11-02", "Intro", "Done", "Interested", ""],
    ["Acme", "2026-11-23", "Proposal", "Done", "Sent", ""],  # week: done (Anna)
    ["Acme", "2026-11-24", "Follow up", "Planned", "", ""],  # week: planned, overdue now (Anna)
    ["Beta", "2026-11-24", "Intro", "Cancelled", "Busy", ""],  # week: cancelled (Ivan)
    ["Beta", "2026-11-26", "Intro again", "Planned", "", ""],
    ["Gamma", "2026-10-01", "Intro", "Done", "Curious", ""],
    ["Gamma", "2026-10-08", "Demo", "Done", "Liked it", ""],
    ["Gamma", "2026-10-15", "Proposal", "Done", "Sent", ""],
    ["Gamma", "2026-10-22", "Negotiation", "Done", "Discount asked", ""],
    ["Gamma", "2026-11-23", "Contract", "Done", "Signed", ""],  # week: done (Anna)
    ["Delta", "2026-10-10", "Call", "Done", "Not interested", ""],
    ["Epsilon", "2026-11-10", "Call", "Done", "Thinking", ""],
    ["Epsilon", "2026-11-25", "Negotiation", "Planned", "", "Petr"],  # week: planned, today (Petr covers)
    ["Zeta", "2026-11-03", "Intro", "Done", "Keen", ""],
    ["Zeta", "2026-11-17", "Proposal", "Done", "Accepted", ""],
    ["Beta", "2026-11-20", "Call back", "Planned", "", ""],  # overdue now (Ivan)
    ["Eta", "2026-11-25", "Call", "Done", "Reached", ""],  # week: done, nobody's
    ["Iota", "2026-10-20", "Call", "Done", "Later", ""],
    ["Acme Corp", "2026-11-23", "Call", "Done", "", ""],  # not in Leads: nobody's, and a warning
]

STAGE_RU = {s.labels["en"]: s.labels["ru"] for s in default_template().stages} | {"Paused": "На паузе"}
STATUS_RU = {"Done": "Проведён", "Cancelled": "Отменён", "Planned": "Запланирован"}


def _russian(leads: list[list], plan: list[list]) -> tuple[list[list], list[list]]:
    ru_leads = [row[:4] + [STAGE_RU[row[4]]] + row[5:6] + ["Сайт"] + row[7:] for row in leads]
    ru_plan = [row[:3] + [STATUS_RU[row[3]]] + row[4:] for row in plan]
    return ru_leads, ru_plan


@pytest.fixture
def crm(make_workbook, template):
    return make_workbook(LEADS, PLAN, leads_header=header(template, "leads") + ["Budget"])


@pytest.fixture
def crm_ru(make_workbook, template):
    leads, plan = _russian(LEADS, PLAN)
    return make_workbook(leads, plan, lang="ru", leads_header=header(template, "leads", "ru") + ["Бюджет"])


#: The sheet's language decides unless the person chose one (--lang, SHEETS_CRM_LANG, LC_ALL…): none here.
NO_LOCALE = dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"))


@pytest.fixture
def runner():
    return CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", **NO_LOCALE})


def _counts(review) -> dict[str, dict[str, int]]:
    fields = ("planned", "done", "cancelled", "overdue", "nothing_planned", "stale", "never_contacted", "won", "lost")
    got = {m.name: {f: getattr(m, f) for f in fields} for m in review.managers}
    got["TEAM"] = {f: getattr(review.team, f) for f in fields}
    return got


def _row(planned, done, cancelled, overdue, nothing_planned, stale, never, won, lost) -> dict[str, int]:
    return {
        "planned": planned,
        "done": done,
        "cancelled": cancelled,
        "overdue": overdue,
        "nothing_planned": nothing_planned,
        "stale": stale,
        "never_contacted": never,
        "won": won,
        "lost": lost,
    }


# -- the period ------------------------------------------------------------------------------------------------------


def test_periods():
    assert period_for(TODAY, "week") == Period("week", dt.date(2026, 11, 23), TODAY)
    assert period_for(TODAY, "week").label == "2026-W48"
    assert period_for(dt.date(2026, 11, 23), "week").start == dt.date(2026, 11, 23)  # Monday starts its own week
    assert period_for(dt.date(2026, 11, 29), "week").start == dt.date(2026, 11, 23)  # Sunday ends it
    assert period_for(dt.date(2027, 1, 1), "week").label == "2026-W53"  # ISO year, not calendar year
    assert period_for(TODAY, "month") == Period("month", dt.date(2026, 11, 1), TODAY)
    span = period_for(TODAY, "range", dt.date(2026, 10, 30), dt.date(2026, 11, 2))
    assert span.days() == [dt.date(2026, 10, 30), dt.date(2026, 10, 31), dt.date(2026, 11, 1), dt.date(2026, 11, 2)]
    with pytest.raises(ValueError, match="before"):
        period_for(TODAY, "range", dt.date(2026, 11, 2), dt.date(2026, 11, 1))


# -- exact numbers -----------------------------------------------------------------------------------------------------


def test_week_numbers(crm):
    review, loaded = run_report(str(crm), period="week", today=TODAY)
    assert loaded.lang == "en"
    assert review.period == Period("week", dt.date(2026, 11, 23), TODAY)
    assert _counts(review) == {
        # Acme 11-23 done, Acme 11-24 open, Gamma 11-23 done; Acme 11-24 overdue; Theta: nothing planned,
        # never contacted; Epsilon stale; Gamma won.
        "Anna": _row(3, 2, 0, 1, 1, 1, 1, 1, 0),
        # Beta 11-24 cancelled; Beta 11-20 overdue; Iota nothing planned and stale; Beta never contacted.
        "Ivan": _row(1, 0, 1, 1, 1, 1, 1, 1, 1),
        "Petr": _row(1, 0, 0, 0, 0, 0, 0, 0, 0),  # Epsilon 11-25, planned for today: not overdue
        "": _row(2, 2, 0, 0, 1, 0, 0, 0, 0),  # Eta 11-25 done, Acme Corp 11-23 done; Eta nothing planned
        "TEAM": _row(7, 4, 1, 2, 3, 2, 2, 2, 1),
    }
    anna = review.managers[0]
    assert anna.daily == {dt.date(2026, 11, 23): 2, dt.date(2026, 11, 24): 0, dt.date(2026, 11, 25): 0}
    assert review.team.daily == {dt.date(2026, 11, 23): 3, dt.date(2026, 11, 24): 0, dt.date(2026, 11, 25): 1}
    assert [(s.stage, s.leads) for s in review.funnel] == [
        ("new", 2),
        ("qualified", 1),
        ("proposal", 1),
        ("negotiation", 1),
        ("won", 2),
        ("lost", 1),
        ("", 1),  # Iota's "Paused"
    ]
    touches = review.touches
    assert (touches.won, touches.median, touches.distribution, touches.many) == (2, 3.5, {2: 1, 5: 1}, 1)
    assert review.history is False


def test_month_numbers(crm):
    review, _ = run_report(str(crm), period="month", today=TODAY)
    assert review.period == Period("month", dt.date(2026, 11, 1), TODAY)
    got = {name: (c["planned"], c["done"], c["cancelled"]) for name, c in _counts(review).items()}
    # Anna: Acme 11-02, 11-23 done, 11-24 open; Gamma 11-23 done; Epsilon 11-10 done.
    # Ivan: Beta 11-24 cancelled, 11-20 open; Zeta 11-03, 11-17 done.
    assert got == {"Anna": (5, 4, 0), "Ivan": (4, 2, 1), "Petr": (1, 0, 0), "": (2, 2, 0), "TEAM": (12, 8, 1)}


def test_range_numbers(crm):
    review, _ = run_report(str(crm), period="range", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 31), today=TODAY)
    got = {name: (c["planned"], c["done"]) for name, c in _counts(review).items()}
    # Gamma's four October contacts are Anna's; Delta 10-10 and Iota 10-20 are Ivan's.
    assert got == {"Anna": (4, 4), "Ivan": (2, 2), "Petr": (0, 0), "": (0, 0), "TEAM": (6, 6)}
    # Overdue and the lead counts are "now", whatever the period.
    assert _counts(review)["TEAM"]["overdue"] == 2 and _counts(review)["TEAM"]["stale"] == 2


def test_from_alone_runs_to_today(crm):
    review, _ = run_report(str(crm), period="range", start=dt.date(2026, 11, 24), today=TODAY)
    assert (review.period.start, review.period.end) == (dt.date(2026, 11, 24), TODAY)
    assert review.team.planned == 4  # Acme 11-24, Beta 11-24, Epsilon 11-25, Eta 11-25


def test_owner_filter_is_case_and_space_insensitive(crm):
    review, _ = run_report(str(crm), period="week", owner="  ANNA ", today=TODAY)
    assert review.owner == "Anna"
    assert [m.name for m in review.managers] == ["Anna"]
    assert _counts(review)["TEAM"] == _row(3, 2, 0, 1, 1, 1, 1, 1, 0)
    # The funnel and the touches are Anna's leads only: Acme, Gamma, Epsilon, Theta.
    assert [(s.stage, s.leads) for s in review.funnel if s.leads] == [
        ("new", 1),
        ("proposal", 1),
        ("negotiation", 1),
        ("won", 1),
    ]
    assert review.touches.distribution == {5: 1}


def test_unknown_owner_is_refused(crm):
    with pytest.raises(
        NoSuchManagerError, match=r"no manager named 'Olga' in the sheet \(managers: Anna, Ivan, Petr\)"
    ):
        run_report(str(crm), period="week", owner="Olga", today=TODAY)


def test_pure_review_from_frames(template):
    """The pure function straight from a snapshot: a duplicated lead counts once, ё folds like е."""
    from conftest import make_snapshot

    snapshot = make_snapshot(
        template,
        [
            ["Ёлка", "", "", "", "Won", "Пётр", "", ""],
            ["елка", "", "", "", "Won", "Петр", "", ""],  # the same project again
            ["Сосна", "", "", "", "New", "петр", "", ""],
        ],
        [["Ёлка", "2026-11-24", "", "Done", "", ""], ["Елка", "2026-11-25", "", "Done", "", ""]],
    )
    tables = read_tables(snapshot, template)
    plan = plan_crm(tables.leads, tables.plan, TODAY, template)
    review = build_review(tables, plan, TODAY, period_for(TODAY, "week"), template)
    assert [(m.name, m.done, m.won, m.never_contacted, m.nothing_planned) for m in review.managers] == [
        ("Пётр", 2, 1, 1, 1)
    ]
    assert review.touches.distribution == {2: 1}


# -- exact output ------------------------------------------------------------------------------------------------------


def _golden(name: str, target: Path) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8").replace("<TARGET>", str(target))


def test_cli_report_english(runner, crm):
    result = runner.invoke(app, ["report", str(crm), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout == _golden("week_en.txt", crm)


def test_cli_report_russian(runner, crm_ru):
    result = runner.invoke(app, ["report", str(crm_ru), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout == _golden("week_ru.txt", crm_ru)


def test_cli_report_month_for_one_owner(runner, crm):
    result = runner.invoke(app, ["report", str(crm), "--month", "--owner", "ivan", "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        f"Review of {crm}: month 2026-11 (2026-11-01 – 2026-11-25), so far; today 2026-11-25",
        "Only Ivan.",
        "",
        "Manager  Done  Cancelled  Planned  Overdue  Nothing planned  Stale  Never contacted  Won  Lost",
        "Ivan        2          1        4        1                1      1                1    1     1",
    ]
    assert lines[5] == ""  # no Team row for one manager


def test_cli_report_json(runner, crm):
    result = runner.invoke(
        app, ["report", str(crm), "--from", "2026-11-23", "--to", "2026-11-24", "--json", "--today", "2026-11-25"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["period"] == {
        "kind": "range",
        "label": "2026-11-23..2026-11-24",
        "from": "2026-11-23",
        "to": "2026-11-24",
    }
    assert data["team"] == {
        "name": "",
        **_row(5, 3, 1, 2, 3, 2, 2, 2, 1),  # Epsilon and Eta (11-25) fall outside
        "daily_done": {"2026-11-23": 3, "2026-11-24": 0},
    }
    assert data["touches_to_win"] == {"won": 2, "median": 3.5, "distribution": {"2": 1, "5": 1}, "at_least_5": 1}
    assert data["history"]["available"] is False and data["history"]["flow"] is None
    assert [f["leads"] for f in data["funnel"]] == [2, 1, 1, 1, 2, 1, 1]


@pytest.mark.parametrize(
    "args",
    [
        ["--week", "--month"],
        ["--week", "--from", "2026-11-01"],
        ["--to", "2026-11-01"],
        ["--from", "2026-11-10", "--to", "2026-11-01"],
        ["--from", "01.11.2026"],
    ],
)
def test_cli_report_usage_errors_exit_2(runner, crm, args):
    result = runner.invoke(app, ["report", str(crm), *args, "--today", "2026-11-25"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_cli_report_unknown_owner_exit_1(runner, crm):
    result = runner.invoke(app, ["report", str(crm), "--owner", "Olga", "--today", "2026-11-25"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no manager named 'Olga' in the sheet (managers: Anna, Ivan, Petr)\n"


def test_report_lines_say_what_history_would_add(crm):
    review, loaded = run_report(str(crm), period="week", today=TODAY)
    text = "\n".join(report_lines(review, loaded.template, "en", "x"))
    assert "without a History tab a win or a loss cannot be dated" in text
    assert "conversion between stages and median days in a stage need the History tab" in text


def test_cli_report_lang_option_wins_over_the_sheet(runner, crm_ru):
    result = runner.invoke(app, ["report", str(crm_ru), "--lang", "en", "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"Review of {crm_ru}: week 2026-W48 (2026-11-23 – 2026-11-25), so far; today 2026-11-25"
    assert lines[2].startswith("Manager  ") and lines[6].startswith("(no owner)")
    assert "  Negotiation            1  █" in lines  # the template's own English stage names


@pytest.mark.parametrize("command", ["report", "card"])
def test_help(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout


def test_google_sheet_gives_the_same_numbers(crm, fake_google):
    """The same CRM typed into a Google sheet (the offline stand-in): the review reads it through the Google backend."""
    from test_google_e2e import seed, workbook

    sid = seed(fake_google, [row[:8] for row in LEADS], PLAN, time_zone="Europe/Moscow")
    google, loaded = run_report(workbook(fake_google, sid), period="week", today=TODAY)
    assert loaded.snapshot.time_zone == "Europe/Moscow"
    local, _ = run_report(str(crm), period="week", today=TODAY)
    assert _counts(google) == _counts(local)
    assert google.funnel == local.funnel and google.touches == local.touches
    assert google.team.daily == local.team.daily
    assert fake_google.stats.writes == 0  # a review never writes


# -- the digest's numbers (issue 14 item 5) ----------------------------------------------------------------------------


def _digest(crm_path, day):
    from sheets_crm.app.report import load
    from sheets_crm.app.review import digest_numbers

    loaded = load(str(crm_path), today=day)
    return digest_numbers(loaded.tables, loaded.plan, day, loaded.template)


def test_digest_numbers(crm):
    numbers = _digest(crm, dt.date(2026, 11, 24))
    got = {
        k: (n.name, n.done_yesterday, n.due_today, n.overdue, n.nothing_planned) for k, n in numbers.managers.items()
    }
    assert got == {
        # Acme and Gamma done on 11-23; Acme's follow-up due on 11-24; Theta has nothing planned.
        "anna": ("Anna", 2, 1, 0, 1),
        # Beta's 11-20 call is overdue; Iota has nothing planned.
        "ivan": ("Ivan", 0, 0, 1, 1),
        "petr": ("Petr", 0, 0, 0, 0),  # Epsilon's 11-25 negotiation is not due yet
        "": ("", 1, 0, 0, 1),  # Acme Corp done on 11-23; Eta has nothing planned
    }
    assert numbers.team == type(numbers.team)("", 3, 1, 1, 3)
    assert numbers.of(" ANNA ") is numbers.managers["anna"]
    assert numbers.of("Olga").as_json() == {
        "name": "Olga",
        "done_yesterday": 0,
        "due_today": 0,
        "overdue": 0,
        "nothing_planned": 0,
    }


def test_digest_numbers_next_day(crm):
    numbers = _digest(crm, TODAY)  # 11-25: nothing was done on 11-24; Acme's follow-up is overdue now
    got = {k: (n.done_yesterday, n.due_today, n.overdue, n.nothing_planned) for k, n in numbers.managers.items()}
    assert got == {"anna": (0, 0, 1, 1), "ivan": (0, 0, 1, 1), "petr": (0, 1, 0, 0), "": (0, 0, 0, 1)}


def test_report_tab_rows(crm):
    """The grid for a Report tab: this week so far and last week, per manager and the team (no History yet)."""
    from sheets_crm.app.report import load
    from sheets_crm.app.report_tab import report_tab_rows

    loaded = load(str(crm), today=TODAY)
    rows = report_tab_rows(loaded.tables, loaded.plan, TODAY, loaded.template)
    assert rows[0] == [
        "Report by sheets-crm, 2026-11-25: the sync rewrites this tab; text typed over its cells is kept in History."
    ]
    assert rows[1] == []
    head = ["Manager", "Week", "Done", "Cancelled", "Planned", "Overdue", "Nothing planned", "Stale"]
    assert rows[2] == head + ["Never contacted", "Won", "Lost"]
    # Last week (11-16…11-22): Zeta 11-17 done and Beta 11-20 planned are Ivan's; nobody else had a row then.
    # The "now" columns are left empty on last week's rows: their values a week ago are not kept.
    assert rows[3:] == [
        ["Anna", "2026-W48", 2, 0, 3, 1, 1, 1, 1, 1, 0],
        ["Anna", "2026-W47", 0, 0, 0, "", "", "", "", "", ""],
        ["Ivan", "2026-W48", 0, 1, 1, 1, 1, 1, 1, 1, 1],
        ["Ivan", "2026-W47", 1, 0, 2, "", "", "", "", "", ""],
        ["Petr", "2026-W48", 0, 0, 1, 0, 0, 0, 0, 0, 0],
        ["Petr", "2026-W47", 0, 0, 0, "", "", "", "", "", ""],
        ["(no owner)", "2026-W48", 2, 0, 2, 0, 1, 0, 0, 0, 0],
        ["(no owner)", "2026-W47", 0, 0, 0, "", "", "", "", "", ""],
        ["Team", "2026-W48", 4, 1, 7, 2, 3, 2, 2, 2, 1],
        ["Team", "2026-W47", 1, 0, 2, "", "", "", "", "", ""],
    ]


def test_report_tab_rows_russian(crm_ru):
    from sheets_crm.app.report import load
    from sheets_crm.app.report_tab import report_tab_rows

    loaded = load(str(crm_ru), today=TODAY)
    rows = report_tab_rows(loaded.tables, loaded.plan, TODAY, loaded.template)
    assert rows[0][0].startswith("Отчёт sheets-crm, 25.11.2026: синхронизация переписывает эту вкладку")
    assert rows[2][:3] == ["Менеджер", "Неделя", "Проведено"]
    assert rows[-2][:5] == ["Команда", "2026-W48", 4, 1, 7]


# -- with a History tab (issue 11 keeps it): stage moves dated ---------------------------------------------------------

HISTORY = [
    ["Date", "Tab", "Row", "Project", "Column", "Was", "Now", "What"],
    ["2026-11-18", "Leads", 7, "Zeta", "Stage", "Negotiation", "Won", "stage"],  # last week: outside
    ["2026-11-23", "Leads", 4, "Gamma", "Stage", "Negotiation", "Won", "stage"],  # Anna, won
    ["2026-11-24", "Leads", 2, "acme", "Stage", "Qualified", "Proposal", "stage"],  # Anna (case folded)
    ["2026-11-24", "Contact Plan", 4, "Acme", "Status", "Planned", "Done", "done"],  # not a stage move
    ["2026-11-24", "Leads", 5, "Delta", "Stage", "Proposal", "Lost", "stage"],  # Ivan, lost
    ["2026-11-25", "Leads", None, "Old Co", "Stage", "New", "Lost", "stage"],  # no longer in Leads: nobody's
    ["yesterday", "Leads", 3, "Beta", "Stage", "New", "Qualified", "stage"],  # typed by hand, no date: skipped
]


@pytest.fixture
def crm_with_history(crm):
    import openpyxl

    book = openpyxl.load_workbook(crm)
    ws = book.create_sheet("History")
    for line in HISTORY:
        ws.append(line)
    book.save(crm)
    return crm


def test_stage_moves_from_history(crm_with_history):
    review, _ = run_report(str(crm_with_history), period="week", today=TODAY)
    assert review.history is True
    assert [(m.name, m.moves, m.won, m.lost) for m in review.moves] == [
        ("Anna", 2, 1, 0),
        ("Ivan", 1, 0, 1),
        ("", 1, 0, 1),
    ]
    month, _ = run_report(str(crm_with_history), period="month", today=TODAY)
    assert [(m.name, m.moves, m.won, m.lost) for m in month.moves][1] == ("Ivan", 2, 1, 1)  # Zeta's 11-18 win
    # The rest of the review is the same as without History.
    plain, _ = run_report(str(crm_with_history), period="week", today=TODAY, owner=None)
    assert _counts(plain)["TEAM"] == _row(7, 4, 1, 2, 3, 2, 2, 2, 1)


def test_cli_report_with_history(runner, crm_with_history):
    result = runner.invoke(app, ["report", str(crm_with_history), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert (
        "Stage moves in the period (from History):\n"
        "Manager     Moves  To Won  To Lost\n"
        "Anna            2       1        0\n"
        "Ivan            1       0        1\n"
        "(no owner)      1       0        1\n"
        "Team            4       1        2\n"
    ) in text
    assert "which this sheet does not have yet" not in text
    # No lead-added line in this History: no stay has a dated start, so no days; too few leads for any conversion.
    assert (
        "Conversion and days in a stage (History since 2026-11-18):\n"
        "Stage        Leads  Moved on  Lost  Still there  Conversion  Dated stays  Median days\n"
        "New              1         0     1            0     too few            0      too few\n"
        "Qualified        1         1     0            0     too few            0      too few\n"
        "Proposal         2         0     1            1     too few            0      too few\n"
        "Negotiation      2         2     0            0     too few            0      too few\n"
    ) in text
    data = json.loads(runner.invoke(app, ["report", str(crm_with_history), "--json", "--today", "2026-11-25"]).stdout)
    assert data["history"]["available"] is True and data["history"]["won_lost_dated"] is True
    assert data["history"]["stage_moves"][0] == {"name": "Anna", "stage_moves": 2, "won": 1, "lost": 0}


def test_history_written_by_the_sync_is_read(runner, crm):
    """End to end: the sync records a stage change in History; the review counts it."""
    import openpyxl

    assert runner.invoke(app, ["sync", str(crm), "--today", "2026-11-23"]).exit_code == 0
    book = openpyxl.load_workbook(crm)
    leads = book["Leads"]
    assert leads.cell(3, 1).value == "Beta"
    leads.cell(3, 5).value = "Qualified"  # Ivan moves Beta on
    book.save(crm)
    assert runner.invoke(app, ["sync", str(crm), "--today", "2026-11-24"]).exit_code == 0
    review, _ = run_report(str(crm), period="week", today=TODAY)
    assert review.history is True
    assert [(m.name, m.moves) for m in review.moves] == [("Ivan", 1)]
