"""The client card: one lead's row, its whole Contact Plan, touches and next step; fuzzy matching of the name."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_report import GOLDEN, TODAY, crm, crm_ru, runner  # noqa: F401  (fixtures shared with the review tests)

from sheets_crm.app.report import run_card
from sheets_crm.app.review import CardContact, ProjectMatchError
from sheets_crm.cli.main import app


def _golden(name, target):
    return (GOLDEN / name).read_text(encoding="utf-8").replace("<TARGET>", str(target))


def test_card_numbers(crm):  # noqa: F811
    card, exact, _ = run_card(str(crm), "Acme", today=TODAY)
    assert exact
    assert (card.project, card.row, card.stage, card.owner) == ("Acme", 2, "Proposal", "Anna")
    assert card.touches == 2
    assert card.last_contact == dt.date(2026, 11, 23) and card.last_result == "Sent"
    assert card.days_since_contact == 2
    assert (card.next_contact, card.next_topic) == (dt.date(2026, 11, 24), "Follow up")
    assert card.contacts == [
        CardContact(2, dt.date(2026, 11, 2), "done", "Done", "Intro", "Interested", ""),
        CardContact(3, dt.date(2026, 11, 23), "done", "Done", "Proposal", "Sent", ""),
        CardContact(4, dt.date(2026, 11, 24), "open", "Planned", "Follow up", "", ""),
    ]
    # Every column of the row, the person's own Budget included.
    assert dict(card.fields)["Budget"] == "12000"
    assert [h for h, _ in card.fields][-1] == "Budget"


def test_card_cancelled_and_other_owner_rows(crm):  # noqa: F811
    card, _, _ = run_card(str(crm), "beta", today=TODAY)
    assert [(c.date.isoformat(), c.status, c.result) for c in card.contacts] == [
        ("2026-11-20", "open", ""),
        ("2026-11-24", "cancelled", "Busy"),
        ("2026-11-26", "open", ""),
    ]
    assert card.touches == 0 and card.last_contact is None and card.days_since_contact is None
    assert (card.next_contact, card.next_topic) == (dt.date(2026, 11, 20), "Call back")  # overdue is still next
    epsilon, _, _ = run_card(str(crm), "epsilon", today=TODAY)
    assert [c.owner for c in epsilon.contacts] == ["", "Petr"]


@pytest.mark.parametrize(
    ("query", "project", "exact"),
    [
        ("ACME", "Acme", True),
        ("  acme ", "Acme", True),
        ("eta", "Eta", True),  # exact wins over Beta, Zeta and Theta containing it
        ("gama", "Gamma", False),  # one close spelling
        ("psil", "Epsilon", False),  # the one project containing it
    ],
)
def test_fuzzy_match(crm, query, project, exact):  # noqa: F811
    card, was_exact, _ = run_card(str(crm), query, today=TODAY)
    assert (card.project, was_exact) == (project, exact)


def test_ambiguous_match_lists_candidates(crm):  # noqa: F811
    with pytest.raises(ProjectMatchError) as info:
        run_card(str(crm), "et", today=TODAY)
    assert info.value.candidates == ["Beta", "Zeta", "Eta", "Theta"]
    assert str(info.value) == "'et' matches 4 projects in Leads: 'Beta', 'Zeta', 'Eta', 'Theta'; be more precise"


def test_cli_card_english(runner, crm):  # noqa: F811
    result = runner.invoke(app, ["card", "acme", str(crm), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout == _golden("card_acme_en.txt", crm)


def test_cli_card_russian(runner, crm_ru):  # noqa: F811
    result = runner.invoke(app, ["card", "acme", str(crm_ru), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout == _golden("card_acme_ru.txt", crm_ru)


def test_cli_card_close_match_says_so(runner, crm):  # noqa: F811
    result = runner.invoke(app, ["card", "gama", str(crm), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout == _golden("card_gamma_en.txt", crm)


def test_cli_card_ambiguous_exit_1(runner, crm):  # noqa: F811
    result = runner.invoke(app, ["card", "et", str(crm), "--today", "2026-11-25"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Error: 'et' matches 4 projects in Leads: 'Beta', 'Zeta', 'Eta', 'Theta'; be more precise\n"


def test_cli_card_no_match_exit_1(runner, crm):  # noqa: F811
    result = runner.invoke(app, ["card", "Acne Corp", str(crm), "--today", "2026-11-25"])
    assert result.exit_code == 1
    assert result.stderr == "Error: no project 'Acne Corp' in Leads; closest: 'Acme'\n"


def test_cli_card_json(runner, crm):  # noqa: F811
    result = runner.invoke(app, ["card", "zeta", str(crm), "--json", "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["exact_match"] is True
    assert data["stage_history"] is None  # needs History
    assert (data["touches"], data["last_contact"], data["days_since_contact"]) == (2, "2026-11-17", 8)
    assert (data["next_contact"], data["next_topic"]) == (None, "")
    assert [(c["date"], c["status"], c["result"]) for c in data["contacts"]] == [
        ("2026-11-03", "done", "Keen"),
        ("2026-11-17", "done", "Accepted"),
    ]
    assert data["fields"]["Stage"] == "Won"


def test_card_lists_rows_without_a_usable_date_last(runner, make_workbook):  # noqa: F811
    """Every plan row of the lead is on its card, also those the sync ignores for want of a date."""
    crm_path = make_workbook(
        [["Acme", "Bob", "", "", "New", "Anna", "", ""]],
        [
            ["Acme", "next week", "Call back", "Planned", "", ""],
            ["Acme", "2026-11-20", "Intro", "Done", "Keen", ""],
            ["Acme", None, "Old idea", "Cancelled", "", ""],
        ],
    )
    card, _, _ = run_card(str(crm_path), "acme", today=TODAY)
    assert [(c.row, c.date, c.status, c.date_text, c.topic) for c in card.contacts] == [
        (3, dt.date(2026, 11, 20), "done", "", "Intro"),
        (2, None, "open", "next week", "Call back"),
        (4, None, "cancelled", "", "Old idea"),
    ]
    assert card.next_contact is None  # an undated row is not a next step
    result = runner.invoke(app, ["card", "acme", str(crm_path), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    plan_part = result.stdout.split("Contact Plan (rows: 3, by date):\n")[1]
    assert plan_part.splitlines()[:4] == [
        "  2026-11-20  Done       Intro → Keen  (row 3)",
        "  'next week' (not a date)  Planned    Call back  (row 2)",
        "  (no date)  Cancelled  Old idea  (row 4)",
        "Rows without a usable date are listed last; the sync ignores them until the date is fixed.",
    ]


def test_card_stage_history_from_the_history_tab(runner, crm):  # noqa: F811
    import openpyxl
    from test_report import HISTORY

    book = openpyxl.load_workbook(crm)
    ws = book.create_sheet("History")
    for line in HISTORY + [["2026-11-10", "Leads", 2, "Acme", "Stage", "New", "Qualified", "stage"]]:
        ws.append(line)
    book.save(crm)
    card, _, _ = run_card(str(crm), "acme", today=TODAY)
    assert card.history is True
    assert [(m.day.isoformat(), m.was, m.now) for m in card.stage_history] == [
        ("2026-11-10", "New", "Qualified"),
        ("2026-11-24", "Qualified", "Proposal"),
    ]
    result = runner.invoke(app, ["card", "acme", str(crm), "--today", "2026-11-25"])
    assert result.stdout.endswith(
        "Stage history (from History):\n  2026-11-10  New → Qualified\n  2026-11-24  Qualified → Proposal\n"
    )
    beta = runner.invoke(app, ["card", "beta", str(crm), "--today", "2026-11-25"])  # only a hand-typed, undated line
    assert beta.stdout.endswith("Stage history: no stage change recorded in History.\n")
