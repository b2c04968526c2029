"""`sheets-crm doctor`: a check-up that reports, never writes."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import openpyxl
import pytest
from conftest import TODAY, make_snapshot

from sheets_crm.app.doctor import KINDS, Report, diagnose, run_doctor
from sheets_crm.core.model import TabData
from sheets_crm.core.phones import check_phone, normalise_phones, region_for_locale
from sheets_crm.errors import WorkbookError

LEADS = [
    ["Acme", "Bob", "+7 916 000-00-01", "bob@acme.example", "Proposal", "Anna", "Web", ""],
    ["Beta", "Eve", "+7 916 000-00-02", "eve@beta.example", "New", "Ivan", "", ""],
]
PLAN = [
    ["Acme", "2026-11-20", "Proposal", "Done", "Liked it", ""],
    ["Acme", "2026-11-24", "Follow up", "Planned", "", ""],
    ["Beta", "2026-11-22", "Intro", "", "", ""],
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kinds(report: Report) -> dict[str, int]:
    return report.counts()


def messages(report: Report, kind: str) -> list[str]:
    return [str(i) for i in report.by_kind().get(kind, [])]


# -- clean ---------------------------------------------------------------------------------


def test_clean_workbook_is_ok(make_workbook):
    path = make_workbook(LEADS, PLAN)
    report = run_doctor(str(path), today=TODAY)
    assert report.ok and report.exit_code == 0 and report.problems == []
    assert report.lines() == [f"Doctor: {path} on 2026-11-22: no problems found (2 leads and 3 plan rows checked)."]
    assert report.as_json() == {
        "target": str(path),
        "today": "2026-11-22",
        "ok": True,
        "sync_blocked": False,
        "checked": {"leads": 2, "plan_rows": 3},
        "counts": {},
        "problems": [],
    }


def test_diagnose_needs_today(template):
    with pytest.raises(ValueError):
        diagnose(make_snapshot(template, LEADS, PLAN), template, None)


# -- the report's shape ----------------------------------------------------------------------


def test_report_text_and_json(template):
    leads = LEADS + [["Gamma", "", "", "", "Qualified", "", "", ""]]
    plan = PLAN + [["Acme", "31.02.2026", "Oops", "Planned", "", ""], ["Acmee", "2026-11-25", "x", "wat", "", ""]]
    report = diagnose(make_snapshot(template, leads, plan), template, TODAY, target="crm.xlsx")
    assert not report.ok and report.exit_code == 1
    assert report.lines() == [
        "Doctor: crm.xlsx on 2026-11-22: 4 problems of 4 kinds (3 leads and 5 plan rows checked).",
        "Unparseable dates (1):",
        "  Contact Plan, row 5, column 'Date': '31.02.2026' — not a date; row ignored",
        "Unknown statuses (1):",
        "  Contact Plan, row 6, column 'Status': 'wat' — unknown status; treated as Planned (use Done/Cancelled)",
        "Plan rows for unknown projects (1):",
        "  Contact Plan, row 6, column 'Project': 'Acmee' — project not found in Leads; did you mean 'Acme'?",
        "Open leads with no next contact (1):",
        "  Leads, row 4, column 'Project': 'Gamma' — open lead (Qualified) with no next contact planned; "
        "add a row to the Contact Plan (or close the lead)",
    ]
    data = json.loads(report.to_json())
    assert data["ok"] is False and data["today"] == "2026-11-22"
    assert data["counts"] == {"bad-date": 1, "unknown-status": 1, "unknown-project": 1, "no-next-contact": 1}
    assert data["problems"][0] == {
        "kind": "bad-date",
        "tab": "Contact Plan",
        "row": 5,
        "column": "Date",
        "value": "31.02.2026",
        "message": "not a date; row ignored",
    }
    assert [p["kind"] for p in data["problems"]] == list(data["counts"])  # grouped, in KINDS order
    assert set(data["counts"]) <= set(KINDS)


def test_json_survives_odd_values(template):
    plan = PLAN + [
        ["Acme", True, "x", "", "", ""],
        ["Acme", float("nan"), "y", "", "", ""],
        ["Acme", dt.time(10, 30), "z", "", "", ""],
    ]
    report = diagnose(make_snapshot(template, LEADS, plan), template, TODAY)
    data = json.loads(json.dumps(report.as_json()))
    bad = [p for p in data["problems"] if p["kind"] == "bad-date"]
    assert [p["value"] for p in bad] == [True, "10:30:00"]


# -- template drift ----------------------------------------------------------------------------


def test_renamed_and_missing_columns(make_workbook):
    header = [
        "Projct",
        "Contact",
        "Phone",
        "Emial",
        "Stage",
        "Owner",
        "Source",
        "Notes",
        "My score",
        "Last contact",
        "Last result",
        "Next contact",
        "Next topic",
        "Days since contact",
    ]
    leads = [[*row, 5] for row in LEADS]
    path = make_workbook(leads, PLAN, leads_header=header)
    report = run_doctor(str(path), today=TODAY)
    assert messages(report, "missing-key-column") == [
        "Leads, row 1, column 'Projct': 'Projct' — missing column 'Project' / 'Проект' in the header row (row 1); "
        "did you mean 'Projct' (column A)? Rename that header to 'Project', or map it in sheets-crm.toml: "
        '[columns.leads] "Projct" = "project". The sync stops until then.'
    ]
    assert messages(report, "renamed-column") == [
        "Leads, row 1, column 'Emial': 'Emial' — column D is not a known header; did you mean 'Email'? The sync "
        "reads it as empty until it is renamed 'Email' or mapped in sheets-crm.toml: "
        '[columns.leads] "Emial" = "email"',
    ]
    # What stops the sync is listed first, and said so.
    assert report.blocking and report.by_kind() and next(iter(report.by_kind())) == "missing-key-column"
    assert report.lines()[1] == "The sync cannot run until this problem is fixed (listed first)."
    assert report.as_json()["sync_blocked"] is True
    assert messages(report, "missing-column") == [
        "Leads, row 1, column 'Touches' — missing column 'Touches' / 'Касаний'; the next sync adds it after "
        f"the last column (or run: sheets-crm init {path} — it adds it and changes nothing else)",
    ]
    # Without a key column the leads cannot be checked; the plan still is (without "unknown project").
    assert report.leads_checked == 0 and report.plan_rows_checked == 3
    assert "unknown-project" not in kinds(report)
    assert "My score" not in str(report.problems)  # the person's own column is nobody's business


def test_missing_tab_with_a_guess_and_duplicate_tabs(make_workbook):
    path = make_workbook(LEADS, PLAN)
    book = openpyxl.load_workbook(path)
    book["Contact Plan"].title = "Plan"
    book.create_sheet("Лиды")
    book["Лиды"].append(["Проект"])
    book.save(path)
    report = run_doctor(str(path), today=TODAY)
    assert messages(report, "missing-tab") == [
        "Contact Plan — missing tab 'Contact Plan' / 'План контактов'; is it the tab 'Plan'? Rename it back; "
        f"the sync stops until it exists. Or run: sheets-crm init {path} — it adds the missing tab Contact Plan "
        "and changes nothing else"
    ]
    assert messages(report, "duplicate-tab") == [
        "Лиды — another tab named like 'Leads' (the sync uses 'Leads' and ignores this one); merge or rename it"
    ]
    # The leads were still checked (no plan: nothing planned, but no false "no next contact" either).
    assert report.leads_checked == 2 and "no-next-contact" not in kinds(report)


def test_missing_tab_without_a_guess(template):
    snap = make_snapshot(template, LEADS, PLAN)
    del snap.tabs["Calls Today"]
    snap.tabs["Budget"] = TabData("Budget", [["Item", "Cost"]])
    report = diagnose(snap, template, TODAY)
    assert messages(report, "missing-tab") == [
        "Calls Today — missing tab 'Calls Today' / 'Звонки на сегодня'; the sync stops until it exists. "
        "Or run: sheets-crm init <workbook> — it adds the missing tab Calls Today and changes nothing else"
    ]


def test_duplicate_and_blank_headers_reuse_the_sync_warnings(template):
    header = [
        "Project",
        "Contact",
        "Phone",
        "Email",
        "Stage",
        "Owner",
        "Source",
        "Notes",
        "Last contact",
        "Last result",
        "Next contact",
        "Next topic",
        "Days since contact",
        "Touches",
        "project",
        None,
    ]
    leads = [[*LEADS[0], None, None, None, None, None, None, "Acme again", "orphan"], LEADS[1]]
    report = diagnose(make_snapshot(template, leads, PLAN, leads_header=header), template, TODAY)
    assert messages(report, "duplicate-header") == [
        "Leads, row 1, column 'project': 'project' — duplicate header: column O repeats 'Project' (column A); "
        "only the first is used"
    ]
    assert messages(report, "blank-header") == [
        "Leads, row 1, column 'P' — column P has data but no header; it is ignored"
    ]


def test_russian_workbook_is_not_drift(make_workbook):
    leads = [["Ромашка", "Олег", "+7 916 000-00-01", "", "Переговоры", "Анна", "", ""]]
    plan = [
        ["Ромашка", "20.11.2026", "Звонок", "Проведён", "Ждут КП", ""],
        ["Ромашка", "24.11.2026", "КП", "Запланирован", "", ""],
    ]
    path = make_workbook(leads, plan, lang="ru")
    report = run_doctor(str(path), today=TODAY)
    assert report.ok, report.lines()
    assert report.lang == "ru"


# -- data ------------------------------------------------------------------------------------


def test_sync_warnings_are_reported_in_the_same_words(make_workbook):
    from sheets_crm.app.sync import compute
    from sheets_crm.backends.local.workbook import LocalWorkbook

    plan = PLAN + [
        ["Acme", "31.02.2026", "Oops", "Planned", "", ""],
        ["", "2026-11-23", "who?", "", "", ""],
        ["Beta", None, "when?", "", "", ""],
        ["Beta", "2026-11-23", "x", "Maybe", "", ""],
    ]
    leads = LEADS + [["", "Orphan", "", "", "", "", "", "a note"], ["Delta", "", "", "", "Frozen", "", "", ""]]
    path = make_workbook(leads, plan)
    sync_warnings = {
        str(i)
        for i in compute(
            LocalWorkbook(path).read(),
            TODAY,
            __import__("sheets_crm.core.template", fromlist=["default_template"]).default_template(),
        ).issues
    }
    report = run_doctor(str(path), today=TODAY)
    doctor = {str(i) for i in report.problems}
    assert sync_warnings <= doctor
    assert {"bad-date", "no-key", "no-date", "unknown-status", "unknown-stage"} <= set(kinds(report))


def test_duplicate_leads_by_phone_email_and_name(template):
    leads = [
        ["Acme", "Bob", "+7 916 000-00-01", "bob@acme.example", "New", "", "", ""],
        ["Acme Corp", "Bob", "8 (916) 000 00 01", "", "New", "", "", ""],
        ["ACME  ", "Bobby", "", "", "New", "", "", ""],
        ["Other", "X", "", " BOB@Acme.Example", "New", "", "", ""],
        ["Free", "Y", "+7 916 000-00-09", "y@free.example", "New", "", "", ""],
    ]
    plan = [[name, "2026-11-25", "t", "", "", ""] for name in ("Acme", "Acme Corp", "Other", "Free")]
    report = diagnose(make_snapshot(template, leads, plan, locale="ru_RU"), template, TODAY)
    assert messages(report, "duplicate-lead") == [
        "Leads, row 3, column 'Phone': '8 (916) 000 00 01' — same phone (+79160000001) as row 2 ('Acme'); "
        "probably one client entered twice",
        "Leads, row 4, column 'Project': 'ACME' — duplicate project (also row 2); both rows show the same "
        "contact history",
        "Leads, row 5, column 'Email': 'BOB@Acme.Example' — same e-mail (bob@acme.example) as row 2 ('Acme'); "
        "probably one client entered twice",
    ]


@pytest.mark.parametrize(
    "locale, a, b, same",
    [
        ("ru_RU", "+7 916 000-00-01", "8 916 000 00 01", True),
        ("en_US", "(212) 555-0100", "+1 212 555 0100", True),
        ("en_US", "(212) 555-0100", "+7 212 555 0100", False),
        (None, "+7 916 000-00-01", "8 916 000 00 01", False),  # no region: "8 916..." cannot be read
        (None, "8 916 000 00 01", "8-916-000-00-01", True),  # ... but the same digits are the same number
        (None, "+7 916 000-00-01", "tel. +7 (916) 000-00-01, ask for Bob", True),
    ],
)
def test_phone_normalisation_follows_the_sheet_locale(template, locale, a, b, same):
    leads = [["A", "", a, "", "Won", "", "", ""], ["B", "", b, "", "Won", "", "", ""]]
    report = diagnose(make_snapshot(template, leads, [], locale=locale), template, TODAY)
    assert ("duplicate-lead" in kinds(report)) == same, report.lines()


def test_phone_helpers():
    assert region_for_locale("ru_RU") == "RU" and region_for_locale("en-US") == "US"
    assert region_for_locale("en") is None and region_for_locale(None) is None
    assert region_for_locale("xx_ZZ") is None
    assert normalise_phones("8 916 000-00-01", "RU") == ["+79160000001"]
    assert normalise_phones("+7 916 000-00-01; +7 916 111-22-33", None) == ["+79160000001", "+79161112233"]
    assert check_phone("call me", "RU").status == "unreadable"
    assert check_phone("call me", None).status == "unknown"
    assert check_phone("+1", None).status == "unreadable"


def test_unreadable_phones(template):
    leads = [
        ["A", "", "ask reception", "", "Won", "", "", ""],
        ["B", "", "123", "", "Won", "", "", ""],
        ["C", "", "+7 916 000-00-01", "", "Won", "", "", ""],
    ]
    report = diagnose(make_snapshot(template, leads, [], locale="ru_RU"), template, TODAY)
    assert [i.row for i in report.by_kind()["bad-phone"]] == [2, 3]
    # Without a locale "ask reception" cannot be judged, so it is not called a problem.
    report = diagnose(make_snapshot(template, leads, []), template, TODAY)
    assert "bad-phone" not in kinds(report)


def test_open_leads_without_a_next_contact(template):
    leads = [
        ["Planned", "", "", "", "New", "", "", ""],
        ["Overdue only", "", "", "", "", "", "", ""],
        ["Done only", "", "", "", "Qualified", "", "", ""],
        ["Cancelled only", "", "", "", "Negotiation", "", "", ""],
        ["Won deal", "", "", "", "Won", "", "", ""],
        ["Lost deal", "", "", "", "проигран", "", "", ""],
        ["Nothing", "", "", "", "Mystery", "", "", ""],
    ]
    plan = [
        ["Planned", "2026-12-25", "t", "Planned", "", ""],
        ["Overdue only", "2026-11-01", "t", "", "", ""],
        ["Done only", "2026-11-20", "t", "Done", "", ""],
        ["Cancelled only", "2026-11-21", "t", "Cancelled", "", ""],
    ]
    report = diagnose(make_snapshot(template, leads, plan), template, TODAY)
    flagged = [i.value for i in report.by_kind()["no-next-contact"]]
    assert flagged == ["Done only", "Cancelled only", "Nothing"]  # an overdue plan still counts as planned


@pytest.mark.parametrize(
    "stage, days, stale",
    [
        ("New", 30, False),
        ("New", 31, True),
        ("Proposal", 14, False),
        ("Proposal", 15, True),
        ("Negotiation", 11, True),
        ("", 31, True),
        ("Won", 400, False),
        ("Lost", 400, False),
    ],
)
def test_stale_leads_use_their_stage_fade_period(template, stage, days, stale):
    last = TODAY - dt.timedelta(days=days)
    leads = [["Acme", "", "", "", stage, "", "", ""]]
    plan = [["Acme", last.isoformat(), "t", "Done", "r", ""], ["Acme", "2026-12-01", "t", "", "", ""]]
    report = diagnose(make_snapshot(template, leads, plan), template, TODAY)
    assert ("stale-lead" in kinds(report)) == stale, report.lines()
    if stale:
        (issue,) = report.by_kind()["stale-lead"]
        assert f"not contacted for {days} days (last contact {last.isoformat()})" in issue.message


def test_stale_message_names_the_stage_rule(template):
    plan = [["Acme", "2026-11-01", "t", "Done", "r", ""], ["Acme", "2026-12-01", "t", "", "", ""]]
    leads = [["Acme", "", "", "", "Proposal", "", "", ""]]
    (issue,) = diagnose(make_snapshot(template, leads, plan), template, TODAY).problems
    assert str(issue) == (
        "Leads, row 2, column 'Project': 'Acme' — not contacted for 21 days "
        "(last contact 2026-11-01); Proposal leads fade after 14 days"
    )


def test_today_comes_from_tz_when_not_given(make_workbook):
    leads = [["Acme", "", "", "", "New", "", "", ""]]
    plan = [["Acme", "2020-01-01", "t", "Done", "", ""], ["Acme", "2030-01-01", "t", "", "", ""]]
    path = make_workbook(leads, plan)
    report = run_doctor(str(path), tz="Pacific/Kiritimati")
    assert report.today == dt.datetime.now(dt.timezone(dt.timedelta(hours=14))).date()
    assert "stale-lead" in kinds(report)


# -- never writes -------------------------------------------------------------------------------


def test_doctor_never_modifies_the_workbook(make_workbook):
    header = ["Projct", "Contact", "Phone", "Email", "Stage", "Owner", "Source", "Notes", "Last contact"]
    leads = [["Acme", "", "", "", "New", "", "", ""]]
    path = make_workbook(leads, PLAN + [["Ghost", "nope", "", "Maybe", "", ""]], leads_header=header)
    before, stat = digest(path), os.stat(path)
    listing = sorted(p.name for p in path.parent.iterdir())
    for _ in range(2):
        report = run_doctor(str(path), today=TODAY)
        assert not report.ok
    assert digest(path) == before
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns
    assert sorted(p.name for p in path.parent.iterdir()) == listing  # no temp or lock files either


def test_doctor_never_calls_apply(make_workbook, monkeypatch):
    from sheets_crm.backends.local.workbook import LocalWorkbook

    def forbidden(*args, **kwargs):
        raise AssertionError("the doctor must never write")

    path = make_workbook(LEADS + [["Beta", "", "", "", "", "", "", ""]], PLAN)
    monkeypatch.setattr(LocalWorkbook, "apply", forbidden)
    monkeypatch.setattr("sheets_crm.backends.local.workbook.save_atomically", forbidden)
    monkeypatch.setattr(openpyxl.Workbook, "save", forbidden)
    assert "duplicate-lead" in kinds(run_doctor(str(path), today=TODAY))


def test_unopenable_workbook_is_an_error_not_a_report(tmp_path):
    with pytest.raises(WorkbookError, match="no such workbook"):
        run_doctor(str(tmp_path / "nope.xlsx"), today=TODAY)


# -- Google -------------------------------------------------------------------------------------------------


def test_doctor_on_google_reads_once_and_never_writes(monkeypatch, template):
    from google_standin import FakeGoogle
    from sheets_crm.backends.google import auth as google_auth

    fake = FakeGoogle(account="service")
    account = google_auth.GoogleAccount("service_account", fake.credentials(), fake.identity)
    monkeypatch.setattr(google_auth, "load_account", lambda *a, **k: account)
    head = {t.id: [c.names["en"] for c in t.columns] for t in template.tabs}
    leads = [
        ["Acme", "Bob", "+7 916 000-00-01", "", "Proposal", "", "", ""],
        ["Beta", "Eve", "8 916 000 00 01", "", "New", "", "", ""],
    ]
    plan = [
        ["Acme", "2026-10-01", "x", "Done", "ok", ""],
        ["Acme", "2026-12-01", "y", "", "", ""],
        ["Beta", "someday", "z", "Maybe", "", ""],
    ]
    sid = fake.add_spreadsheet(
        "CRM",
        {"Leads": [head["leads"][:-1], *leads], "Contact Plan": [head["plan"], *plan], "Calls Today": [head["calls"]]},
        locale="ru_RU",
        time_zone="Europe/Moscow",
    )
    state = repr([(s.properties, s.rows) for s in fake.spreadsheet(sid).sheets])
    with fake.patch():
        report = run_doctor(f"https://docs.google.com/spreadsheets/d/{sid}/edit", today=TODAY)
    # Reads only: the tabs' properties, then every tab's values (two small requests, see backends/google).
    assert fake.stats.writes == 0 and fake.stats.requests == 2
    assert dict(fake.stats.by_method) == {"sheets.spreadsheets.get": 1, "sheets.spreadsheets.values.batchGet": 1}
    assert repr([(s.properties, s.rows) for s in fake.spreadsheet(sid).sheets]) == state
    assert report.target == sid
    # The sheet's own locale (ru_RU) reads "8 916 …" as the same number as "+7 916 …".
    assert kinds(report) == {
        "missing-column": 1,
        "bad-date": 1,
        "unknown-status": 1,
        "duplicate-lead": 1,
        "duplicate-group": 1,
        "no-next-contact": 1,
        "stale-lead": 1,
    }


def test_numbers_where_dates_belong_are_flagged(template):
    plan = PLAN + [
        ["Beta", 5, "typed 5", "", "", ""],
        ["Beta", "2099-01-01", "far", "", "", ""],
        ["Beta", 46348, "a real serial", "", "", ""],
    ]
    report = diagnose(make_snapshot(template, LEADS, plan), template, TODAY)
    assert messages(report, "odd-date") == [
        "Contact Plan, row 5, column 'Date': 5 — dated 1900-01-04, 126 years ago; the cell holds the number 5, "
        "read as a day count from 1899-12-30",
        "Contact Plan, row 6, column 'Date': '2099-01-01' — dated 2099-01-01, 72 years from now",
    ]


def test_the_suggested_name_is_the_leads_first_spelling(template):
    """Calls Today shows a project as its first Leads row spells it; the hint should too."""
    leads = [["Acme", "", "", "", "Won", "", "", ""], ["ACME ", "", "", "", "Won", "", "", ""]]
    report = diagnose(make_snapshot(template, leads, [["Acmee", "2026-11-25", "x", "", "", ""]]), template, TODAY)
    (issue,) = report.by_kind()["unknown-project"]
    assert issue.message == "project not found in Leads; did you mean 'Acme'?"
