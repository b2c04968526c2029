"""Column names as people write them: synonyms, the person's own mapping, "did you mean" (issue 12 item 2)."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from conftest import TODAY, make_snapshot

from sheets_crm.app.config import load_config
from sheets_crm.app.doctor import diagnose, run_doctor
from sheets_crm.app.sync import compute, run_sync
from sheets_crm.core.template import ALIAS, NAME, SYNONYM
from sheets_crm.errors import ConfigError, SheetShapeError, TemplateError

# A Leads tab as a person starting from their own sheet writes it.
THEIR_LEADS_HEADER = ["Компания", "Contact person", "Phone number", "E-mail", "Deal stage", "Responsible", "Budget"]
THEIR_LEADS = [
    ["Acme", "Anna Petrova", "+7 916 000-00-01", "anna@acme.example", "Proposal", "Ivan", "100k"],
    ["Birch", "Bob Smith", "+1 212 555 0100", "bob@birch.example", "New", "Olga", ""],
]
THEIR_PLAN_HEADER = ["Клиент", "Дата звонка", "Цель звонка", "Статус звонка", "Итог", "Ответственный"]
THEIR_PLAN = [
    ["Acme", "2026-11-22", "Send the offer", "", "", ""],
    ["Birch", "2026-11-20", "First call", "", "", ""],
]


def _snapshot(template, leads_header=THEIR_LEADS_HEADER, plan_header=THEIR_PLAN_HEADER):
    return make_snapshot(template, THEIR_LEADS, THEIR_PLAN, leads_header=leads_header, plan_header=plan_header)


def test_template_synonyms_in_both_languages(template):
    leads, plan = template.leads, template.plan
    for header, column in [
        ("Phone number", "phone"),
        ("  TEL ", "phone"),
        ("Mobile", "phone"),
        ("Телефон клиента", "phone"),
        ("Моб. телефон", "phone"),
        ("Contact person", "contact"),
        ("Contact name", "contact"),
        ("Контактное лицо", "contact"),
        ("Manager", "owner"),
        ("Responsible", "owner"),
        ("ответственный", "owner"),
        ("Company", "project"),
        ("Client", "project"),
        ("Клиент", "project"),
        ("Компания", "project"),
    ]:
        assert leads.match_header(header) is not None, header
        assert leads.match_header(header).id == column, header
    assert plan.match_header("Call date").id == "date"
    assert plan.match_header("дата  звонка").id == "date"  # case and spaces ignored, like names
    assert plan.match_header("Дата звонка").id == "date"
    assert plan.match_rank("Date") == (plan.column("date"), NAME)
    assert plan.match_rank("Call date") == (plan.column("date"), SYNONYM)
    # ё and е are the same letter for matching.
    assert template.with_aliases({"leads": {"Счёт клиента": "notes"}}).leads.match_header("СЧЕТ  клиента").id == "notes"


def test_tool_columns_get_no_synonyms(template):
    """A match means the tool writes there: a person's "Last call" column must never be taken over."""
    for tab in template.tabs:
        for column in tab.columns:
            if column.owner == "tool":
                assert column.synonyms == (), (tab.id, column.id)
    assert template.leads.match_header("Last call") is None


def test_sync_reads_their_headers(template):
    outcome = compute(_snapshot(template), TODAY, template)
    calls = {c.project: c for c in outcome.calls}
    assert calls["Acme"].contact == "Anna Petrova" and calls["Acme"].phone == "+7 916 000-00-01"
    assert calls["Birch"].section == "overdue" and calls["Birch"].owner == "Olga"
    assert calls["Acme"].topic == "Send the offer"
    # Nothing about those headers is a warning; the person's "Budget" is nobody's business.
    codes = {i.code for i in outcome.issues}
    assert codes <= {"added-column"}, [str(i) for i in outcome.issues]


def test_a_plan_date_called_by_a_synonym_does_not_stop_the_sync(template):
    header = ["Project", "Дата звонка", "Topic", "Status", "Result", "Owner"]
    snap = make_snapshot(template, [["Acme"]], [["Acme", "2026-11-22", "call", "", "", ""]], plan_header=header)
    outcome = compute(snap, TODAY, template)
    assert [c.section for c in outcome.calls] == ["today"]


def test_a_name_beats_a_synonym(template):
    """With both "Project" and "Client", the key is Project and "Client" stays the person's own column."""
    header = ["Client", "Project", "Contact", "Phone"]
    snap = make_snapshot(template, [["Big Corp", "Website", "Ann", "1"]], [["Website", "2026-11-22", "", "", "", ""]])
    snap.tabs["Leads"].values[0] = header
    outcome = compute(snap, TODAY, template)
    assert [c.project for c in outcome.calls] == ["Website"]
    assert not [i for i in outcome.issues if i.code == "duplicate-header"]


def test_two_synonyms_for_one_column_the_first_is_read_quietly(template):
    header = ["Project", "Mobile", "Tel"]
    snap = make_snapshot(template, [["Acme", "111", "222"]], [["Acme", "2026-11-22", "", "", "", ""]])
    snap.tabs["Leads"].values[0] = header
    outcome = compute(snap, TODAY, template)
    assert outcome.calls[0].phone == "111"
    assert not [i for i in outcome.issues if i.code == "duplicate-header"]


def test_their_own_mapping(template):
    header = ["Project", "Имя клиента"]
    mapped = template.with_aliases({"*": {"Имя клиента": "contact"}, "plan": {"Когда звонить": "date"}})
    assert mapped.leads.match_rank("имя клиента") == (mapped.leads.column("contact"), ALIAS)
    assert mapped.plan.match_header("Когда звонить").id == "date"
    assert template.leads.match_header("Имя клиента") is None  # the original is unchanged
    snap = make_snapshot(
        mapped,
        [["Acme", "Anna"]],
        [["Acme", "call", "", "2026-11-22"]],
        leads_header=header[:2],
        plan_header=["Project", "Topic", "Status", "Когда звонить"],
    )
    outcome = compute(snap, TODAY, mapped)
    assert [(c.project, c.contact, c.date) for c in outcome.calls] == [("Acme", "Anna", TODAY)]


def test_their_mapping_beats_a_synonym(template):
    """Their "Client" column holds the contact person: their word wins over the template's synonym."""
    mapped = template.with_aliases({"leads": {"Client": "contact"}})
    assert mapped.leads.match_header("Client").id == "contact"
    assert mapped.plan.match_header("Client").id == "project"  # only the tab they named


def test_star_mapping_never_reaches_a_tool_column(template):
    mapped = template.with_aliases({"*": {"Моб.": "phone"}})
    assert mapped.leads.match_header("Моб.").id == "phone"
    assert mapped.calls.match_header("Моб.") is None  # Calls Today's phone is the tool's
    with pytest.raises(TemplateError, match="no column 'last_contact' in any tab as a user column"):
        template.with_aliases({"*": {"Last call": "last_contact"}})
    assert template.with_aliases({"leads": {"Last call": "last_contact"}}).leads.match_header("Last call")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"*": {"x": "phon"}}, "did you mean 'phone'"),
        ({"plann": {"x": "date"}}, "no tab 'plann'"),
        ({"leads": {"Contact": "phone"}}, "'Contact' is already the name of column 'contact'"),
    ],
)
def test_bad_mappings_say_what_is_wrong(template, mapping, message):
    with pytest.raises(TemplateError, match=message):
        template.with_aliases(mapping)


def test_mapping_from_the_config_file(tmp_path, template):
    config_file = tmp_path / "sheets-crm.toml"
    config_file.write_text(
        textwrap.dedent(
            """
            [columns]
            "Имя клиента" = "contact"

            [columns."Contact Plan"]
            "Когда звонить" = "date"
            """
        ),
        encoding="utf-8",
    )
    config = load_config(config_file, env={}, cwd=tmp_path, user_file=tmp_path / "none.toml")
    assert {k: dict(v) for k, v in config.columns.items()} == {
        "*": {"Имя клиента": "contact"},
        "Contact Plan": {"Когда звонить": "date"},
    }
    mapped = config.template()
    assert mapped.leads.match_header("Имя клиента").id == "contact"
    assert mapped.plan.match_header("когда звонить").id == "date"


def test_a_bad_mapping_in_the_config_file_names_the_file(tmp_path):
    config_file = tmp_path / "sheets-crm.toml"
    config_file.write_text('[columns]\n"Моб." = "phon"\n', encoding="utf-8")
    config = load_config(config_file, env={}, cwd=tmp_path, user_file=tmp_path / "none.toml")
    with pytest.raises(ConfigError, match=r"sheets-crm.toml: .*did you mean 'phone'"):
        config.template()
    config_file.write_text('columns = "phone"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a table"):
        load_config(config_file, env={}, cwd=tmp_path, user_file=tmp_path / "none.toml")


def test_sync_says_did_you_mean(template):
    header = ["Project", "Contact", "Phne", "Stage"]
    snap = make_snapshot(template, [["Acme", "Ann", "123", ""]], [["Acme", "2026-11-22", "", "", "", ""]])
    snap.tabs["Leads"].values[0] = header
    outcome = compute(snap, TODAY, template)
    (issue,) = [i for i in outcome.issues if i.code == "unknown-header"]
    assert (issue.tab, issue.row, issue.column) == ("Leads", 1, "Phne")
    assert "did you mean 'Phone'?" in issue.message
    assert '[columns.leads] "Phne" = "phone"' in issue.message
    assert outcome.calls[0].phone == ""  # read as empty until fixed, and said so
    assert "read as empty" in issue.message


def test_a_missing_key_column_stops_with_did_you_mean_and_the_fix(template):
    header = ["Project", "Dat", "Topic", "Status"]
    snap = make_snapshot(template, [["Acme"]], [["Acme", "2026-11-22", "", ""]], plan_header=header)
    with pytest.raises(SheetShapeError) as err:
        compute(snap, TODAY, template)
    text = str(err.value)
    assert "did you mean 'Dat' (column B)?" in text
    assert '[columns.plan] "Dat" = "date"' in text and "Nothing was written." in text


def test_doctor_lists_what_stops_a_sync_first(make_workbook):
    """The fatal line first, even behind many harmless ones (as in issue 12)."""
    leads = [[f"Lead {i}", "", "", "", "Mystery stage"] for i in range(20)]  # 20 unknown stages
    plan_header = ["Project", "When to call", "Topic", "Status", "Result", "Owner"]
    path = make_workbook(leads, [["Lead 1", "2026-11-22", "", "", "", ""]], plan_header=plan_header)
    report = run_doctor(str(path), today=TODAY)
    kinds = list(report.by_kind())
    assert kinds[0] == "missing-key-column", kinds
    lines = report.lines()
    assert lines[1] == "The sync cannot run until this problem is fixed (listed first)."
    assert lines[2].startswith("Missing columns the sync needs (the sync stops) (1):")
    assert "Date" in lines[3] and "[columns.plan]" in lines[3]
    assert len(report.by_kind()["unknown-stage"]) == 20


def test_doctor_accepts_synonyms_and_guesses_near_misses(template):
    snap = _snapshot(template)
    report = diagnose(snap, template, TODAY)
    assert not report.blocking
    assert "renamed-column" not in report.by_kind()
    snap = _snapshot(template, leads_header=["Компания", "Contact person", "Phone numbr"])
    report = diagnose(snap, template, TODAY)
    (issue,) = report.by_kind()["renamed-column"]
    assert issue.column == "Phone numbr" and "did you mean 'Phone'?" in issue.message


def test_sync_end_to_end_on_a_local_workbook(make_workbook):
    path = make_workbook(THEIR_LEADS, THEIR_PLAN, leads_header=THEIR_LEADS_HEADER, plan_header=THEIR_PLAN_HEADER)
    result = run_sync(str(path), today=dt.date(2026, 11, 22))
    assert {c.project: c.phone for c in result.calls} == {"Acme": "+7 916 000-00-01", "Birch": "+1 212 555 0100"}
