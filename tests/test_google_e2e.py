"""The Google backend end to end, against the offline stand-in of Sheets v4 + Drive v3.

Every request goes through gspread's HTTP client (our :class:`CrmHTTPClient`)
into ``FakeGoogle`` mounted on its ``requests.Session``: no network. Sleeps
are injected, so retries cost no time.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import openpyxl
import pytest
from conftest import TODAY

from google_standin import FakeGoogle
from sheets_crm.app.sync import sync
from sheets_crm.backends.google.bootstrap import PROTECTION_NOTE, init_spreadsheet
from sheets_crm.backends.google.http import CrmHTTPClient, RetryPolicy
from sheets_crm.backends.google.live import is_ours
from sheets_crm.backends.google.workbook import GoogleWorkbook, color_to_hex, spreadsheet_id
from sheets_crm.backends.local.workbook import LocalWorkbook
from sheets_crm.core.dates import EPOCH
from sheets_crm.core.template import default_template
from sheets_crm.core.text import normalise
from sheets_crm.errors import (
    ApiDisabledError,
    AuthError,
    ConcurrentEditError,
    GoogleError,
    NotSharedError,
    QuotaError,
    SheetShapeError,
    StorageQuotaError,
    WriteOutcome,
)

TPL = default_template()
EVIL = '=IMPORTXML("http://x","//a")'

LEADS = [
    ["Acme", "Bob", "+7 916 000-00-01", "bob@acme.example", "Proposal", "Anna", "Web", "big one"],
    ["Beta", "Eve", "", "", "New", "Ivan", "", ""],
    [EVIL, "Mallory", "", "", "New", "Ivan", "", ""],
    ["Gamma", "Zoe", "", "", "Won", "Anna", "", ""],
]
PLAN = [
    ["Acme", dt.date(2026, 11, 20), "Proposal", "Done", "Liked it", ""],
    ["Acme", dt.date(2026, 11, 21), "Follow up", "Planned", "", "Petr"],
    ["Beta", dt.date(2026, 11, 22), "Intro", "", "", ""],
    [EVIL, dt.date(2026, 11, 22), '=HYPERLINK("http://evil.example","click")', "", "", ""],
    ["Gamma", dt.date(2026, 10, 1), "Signed", "Done", "Contract", "Anna"],
    ["Gamma", dt.date(2026, 11, 25), "Kick-off", "", "", "Anna"],
    ["Ghost", dt.date(2026, 11, 23), "Who?", "Planned", "", ""],
]


# -- helpers ---------------------------------------------------------------------------


def names(lang: str = "en") -> dict[str, str]:
    return {t.id: t.names[lang] for t in TPL.tabs}


def header(tab_id: str, lang: str = "en") -> list[str]:
    return [c.names[lang] for c in TPL.tab(tab_id).columns]


def user_header(tab_id: str, lang: str = "en") -> list[str]:
    return [c.names[lang] for c in TPL.tab(tab_id).columns if c.owner == "user"]


def client_of(fake: FakeGoogle, sleeps: list[float] | None = None, **kw: Any) -> CrmHTTPClient:
    kind = "service_account" if fake.account == "service" else "user"
    return CrmHTTPClient(
        None,
        fake.session(),
        account_email=fake.identity,
        account_kind=kind,
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
        rng=lambda: 0.0,
        **kw,
    )


def type_rows(fake: FakeGoogle, sid: str, tab: str, rows: list[list[Any]], start_row: int = 2) -> None:
    """A person typing rows; formula-looking text is entered as text (as if pasted as plain text)."""
    fake.person.set_values(sid, tab, f"A{start_row}", rows)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str) and value.startswith("="):
                fake.person.set_value(sid, tab, f"{chr(65 + c)}{start_row + r}", value, raw=True)


def seed(
    fake: FakeGoogle,
    leads: list[list[Any]],
    plan: list[list[Any]],
    *,
    lang: str = "en",
    locale: str = "en_US",
    time_zone: str = "Etc/GMT",
    **kw: Any,
) -> str:
    """A CRM spreadsheet as its owner typed it (header rows from the template)."""
    n = names(lang)
    sid = fake.add_spreadsheet(
        "CRM",
        {n["leads"]: [header("leads", lang)], n["plan"]: [header("plan", lang)], n["calls"]: [header("calls", lang)]},
        locale=locale,
        time_zone=time_zone,
        **kw,
    )
    if leads:
        type_rows(fake, sid, n["leads"], leads)
    if plan:
        type_rows(fake, sid, n["plan"], plan)
    return sid


def workbook(fake: FakeGoogle, sid: str, sleeps: list[float] | None = None, **kw: Any) -> GoogleWorkbook:
    fake.set_today(TODAY)  # the day the sheet's own TODAY() sees (Days since contact is a formula)
    return GoogleWorkbook(sid, http=client_of(fake, sleeps), **kw)


_ISNUMBER = re.compile(r"ISNUMBER\(\$([A-Z]+)2\)")
_AGE = re.compile(r"INT\(TODAY\(\)-\$[A-Z]+2\)(<=|=)(\d+)")
_STAGE = re.compile(r'(NOT\()?REGEXMATCH\(.*?\$([A-Z]+)2.*?,"\^\((.*)\)\$"\)')


def _rule_matches(formula: str, row: list[Any], today: dt.date) -> bool:
    """Evaluate one of our freshness rules (their exact shape: see backends/google/live.py) on a row."""
    last = _ISNUMBER.search(formula)
    age = _AGE.search(formula)
    assert last and age, formula
    value = row[letters_to_col(last.group(1))] if letters_to_col(last.group(1)) < len(row) else None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    days = int(serial(today) - value)
    if not (days <= int(age.group(2)) if age.group(1) == "<=" else days == int(age.group(2))):
        return False
    stage = _STAGE.search(formula)
    if stage is None:
        return True
    col = letters_to_col(stage.group(2))
    text = normalise(row[col] if col < len(row) else "")
    named = text in {alt.replace("\\", "") for alt in stage.group(3).split("|")}
    return named != bool(stage.group(1))


def shown_fill(fake: FakeGoogle, sid: str, tab: str, a1: str, today: dt.date = TODAY) -> str | None:
    """The colour a person sees in a cell: the first matching freshness rule's, else the cell's own fill."""
    match = re.fullmatch(r"([A-Z]+)(\d+)", a1)
    assert match
    col, r = letters_to_col(match.group(1)), int(match.group(2)) - 1
    rows = fake.values(sid, tab)
    row = rows[r] if r < len(rows) else []
    for rule in fake.conditional_formats(sid, tab):
        cond = rule.get("booleanRule", {}).get("condition", {})
        formula = (cond.get("values") or [{}])[0].get("userEnteredValue", "")
        inside = any(
            g.get("startRowIndex", 0) <= r < g.get("endRowIndex", 10**9)
            and g.get("startColumnIndex", 0) <= col < g.get("endColumnIndex", 10**9)
            for g in rule.get("ranges", [])
        )
        if inside and cond.get("type") == "CUSTOM_FORMULA" and formula.startswith("=AND(ISNUMBER("):
            if _rule_matches(formula, row, today):
                return "#" + color_to_hex(rule["booleanRule"]["format"]["backgroundColor"]).lstrip("#")
    return fake.background(sid, tab, a1)


def count_rules(fake: FakeGoogle, sid: str, tab: str) -> tuple[int, int]:
    """(stage highlight rules, our freshness rules) on a tab."""
    rules = fake.conditional_formats(sid, tab)
    ours = sum(1 for r in rules if is_ours(r))
    return len(rules) - ours, ours


def letters_to_col(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def serial(day: dt.date) -> int:
    return (day - EPOCH).days


def as_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return EPOCH + dt.timedelta(days=int(value))
    return value


def norm(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def tool_values(rows: list[list[Any]], tab_id: str, lang: str = "en") -> list[list[Any]]:
    """The tool columns of a tab, normalised (dates as dates, blanks as None)."""
    cols = TPL.tab(tab_id).columns
    hdr = rows[0]
    out = []
    for row in rows[1:]:
        line = []
        for col in cols:
            if col.owner != "tool":
                continue
            i = hdr.index(col.names[lang])
            v = norm(row[i] if i < len(row) else None)
            line.append(as_date(v) if col.type == "date" and v is not None else v)
        out.append(line)
    while out and all(v is None for v in out[-1]):
        out.pop()
    return out


def by_method(fake: FakeGoogle) -> dict[str, int]:
    return {k.split(".", 1)[1]: v for k, v in fake.stats.by_method.items()}


# -- bootstrap ----------------------------------------------------------------------------


def test_bootstrap_with_oauth_then_sync_end_to_end() -> None:
    fake = FakeGoogle(account="user")
    client = client_of(fake)
    url = init_spreadsheet(client, TPL, "en", title="Studio CRM", share="anna@example.com", time_zone="Europe/Moscow")
    sid = spreadsheet_id(url)
    # create + one batchUpdate for the layout + one share
    assert by_method(fake) == {"spreadsheets.create": 1, "spreadsheets.batchUpdate": 1, "permissions.create": 1}
    assert fake.tabs(sid) == ["Leads", "Contact Plan", "Calls Today"]
    props = fake.properties(sid)
    assert props["title"] == "Studio CRM" and props["locale"] == "en_US" and props["timeZone"] == "Europe/Moscow"
    assert fake.values(sid, "Leads") == [header("leads")]
    assert fake.sheet_properties(sid, "Leads")["gridProperties"]["frozenRowCount"] == 1
    assert fake.format(sid, "Leads", "A1")["textFormat"]["bold"] is True
    assert fake.background(sid, "Leads", "I1") == "#D9D9D9" and fake.background(sid, "Leads", "A1") == "#CFE2F3"
    assert fake.note(sid, "Leads", "I1")
    assert fake.format(sid, "Contact Plan", "B2")["numberFormat"] == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    status = fake.validation(sid, "Contact Plan", "D5")
    assert status["condition"]["type"] == "ONE_OF_LIST" and status.get("strict", False) is False
    assert [v["userEnteredValue"] for v in status["condition"]["values"]] == ["Planned", "Done", "Cancelled"]
    assert fake.validation(sid, "Leads", "E7")["showCustomUi"] is True
    protected = fake.protected_ranges(sid, "Leads")
    assert len(protected) == 1 and protected[0]["warningOnly"] is True
    assert protected[0]["range"]["startColumnIndex"] == 8 and protected[0]["description"] == PROTECTION_NOTE
    # Calls Today's tool columns (When..Owner, and ID); the work-list columns between are the person's (issue 11).
    assert [p["warningOnly"] for p in fake.protected_ranges(sid, "Calls Today")] == [True, True]
    assert count_rules(fake, sid, "Leads") == (len(TPL.stages), 54)  # stage highlights; freshness 30 + 14 + 10
    assert any(p.get("emailAddress") == "anna@example.com" and p["role"] == "writer" for p in fake.permissions(sid))

    # A person fills it in; the morning sync does the rest.
    type_rows(fake, sid, "Leads", LEADS)
    type_rows(fake, sid, "Contact Plan", PLAN)
    fake.reset_stats()
    result = sync(workbook(fake, sid), today=TODAY)
    assert result.written and result.attempts == 1
    # Gamma is Won: its open kick-off stays out of Calls Today and is reported once (issue 12).
    assert result.counts() == {"overdue": 1, "today": 2, "upcoming": 1}
    assert sum(i.code == "closed-lead-open-call" for i in result.issues) == 1
    leads = fake.values(sid, "Leads")
    assert leads[1][8:] == [serial(dt.date(2026, 11, 20)), "Liked it", serial(dt.date(2026, 11, 21)), "Follow up", 2, 1]
    assert fake.format(sid, "Leads", "I2")["numberFormat"]["type"] == "DATE"
    assert shown_fill(fake, sid, "Leads", "I2") == "#6FC59B"  # Proposal fades over 14 days: 2 days in
    assert shown_fill(fake, sid, "Leads", "N2") == "#6FC59B"  # the whole freshness span
    assert shown_fill(fake, sid, "Leads", "I5") is None  # Won: not tinted
    assert fake.background(sid, "Leads", "I2") is None  # a rule the sheet evaluates, not a painted fill
    calls = fake.values(sid, "Calls Today")
    assert [r[0] for r in calls[1:]] == ["Overdue", "Today", "Today", "Upcoming"]
    assert fake.background(sid, "Calls Today", "A2") == "#F4C7C3"
    assert fake.background(sid, "Calls Today", "I3") == "#FFF2CC"
    # Reads: properties, values, Calls Today's fills, the Days since column's formulas (first time only),
    # the guard; then one write.
    assert by_method(fake) == {
        "spreadsheets.get": 2,
        "spreadsheets.values.batchGet": 2,
        "spreadsheets.values.get": 1,
        "spreadsheets.batchUpdate": 1,
    }
    # Nothing changed: three small reads, no write.
    fake.reset_stats()
    again = sync(workbook(fake, sid), today=TODAY)
    assert not again.written and again.changed_cells == 0
    assert by_method(fake) == {"spreadsheets.get": 2, "spreadsheets.values.batchGet": 1}
    # The next morning: Days since contact and the colours move on by themselves; only Calls Today
    # (whose sections move with the date) is written.
    fake.reset_stats()
    fake.set_today(TODAY + dt.timedelta(days=1))
    sent: list[Any] = []
    fake.before_request(lambda info: sent.append(info.body) if info.method_id.endswith("batchUpdate") else None)
    morning = sync(GoogleWorkbook(sid, http=client_of(fake)), today=TODAY + dt.timedelta(days=1))
    assert morning.written and fake.stats.writes == 1 and "'formulaValue'" not in str(sent)
    leads_id = next(s.properties["sheetId"] for s in fake.spreadsheet(sid).sheets if s.properties["title"] == "Leads")
    assert f"'sheetId': {leads_id}," not in str(sent)  # not one Leads cell written
    assert fake.values(sid, "Leads")[1][12] == 3
    assert shown_fill(fake, sid, "Leads", "I2", TODAY + dt.timedelta(days=1)) == "#7BCAA3"  # 3 of 14 days faded


def test_service_account_cannot_create_and_is_not_retried() -> None:
    fake = FakeGoogle(account="service")
    sleeps: list[float] = []
    with pytest.raises(StorageQuotaError) as err:
        init_spreadsheet(client_of(fake, sleeps), TPL, "en", title="Studio CRM")
    text = str(err.value)
    assert "--into" in text and fake.identity in text and "sheets.new" in text
    assert fake.stats.requests == 1 and sleeps == []


def test_init_into_an_existing_spreadsheet_with_a_service_account() -> None:
    fake = FakeGoogle(account="service")
    sid = fake.add_spreadsheet(
        "Our sales", {"Sheet1": [], "My notes": [["keep", "me"]]}, locale="ru_RU", time_zone="Europe/Moscow"
    )
    client = client_of(fake)
    url = init_spreadsheet(client, TPL, "ru", into=f"https://docs.google.com/spreadsheets/d/{sid}/edit")
    assert spreadsheet_id(url) == sid
    n = names("ru")
    assert sorted(fake.tabs(sid)) == sorted([n["leads"], "My notes", n["plan"], n["calls"]])  # Sheet1 reused
    assert fake.values(sid, "My notes") == [["keep", "me"]]
    assert fake.values(sid, n["leads"])[0] == header("leads", "ru")
    props = fake.properties(sid)
    assert props["title"] == "Our sales" and props["locale"] == "ru_RU"
    # Again: the CRM tabs are there but hold only headers, so laying out again is allowed...
    init_spreadsheet(client, TPL, "ru", into=sid)
    assert len(fake.protected_ranges(sid, n["leads"])) == 1  # replaced, not piled up
    assert count_rules(fake, sid, n["leads"]) == (len(TPL.stages), 54)
    # ...but over a person's data it only adds what is missing (here: nothing), unless forced,
    # and forced it keeps a copy of the tab first (issue 12).
    type_rows(fake, sid, n["leads"], [["Альфа", "Иван"]])
    before = fake.values(sid, n["leads"])
    init_spreadsheet(client, TPL, "ru", into=sid)
    assert fake.values(sid, n["leads"]) == before
    init_spreadsheet(client, TPL, "ru", into=sid, force=True)
    assert fake.values(sid, n["leads"])[1][:2] == ["Альфа", "Иван"]
    assert [fake.values(sid, t) for t in fake.tabs(sid) if t.startswith(n["leads"] + " (before init ")] == [before]


# -- cost per sync --------------------------------------------------------------------------


def _bulk(n: int) -> tuple[list[list[Any]], list[list[Any]]]:
    leads = [[f"Lead {i:05d}", f"C{i}", f"+7 900 {i:07d}", "", "New" if i % 2 else "Proposal", "Bob"] for i in range(n)]
    plan = [
        [f"Lead {i * (n // 25 or 1):05d}", dt.date(2026, 11, 2 + i % 25), "t", "Done" if i % 3 == 0 else "", "r", ""]
        for i in range(min(n, 50))
    ]
    return leads, plan


def test_requests_per_sync_are_constant_whatever_the_size() -> None:
    seen = {}
    for n in (10, 2000):
        fake = FakeGoogle(account="service")
        leads, plan = _bulk(n)
        sid = seed(fake, leads, plan)
        wb = workbook(fake, sid)
        fake.reset_stats()
        first = sync(wb, today=TODAY)
        assert first.written
        assert fake.stats.reads <= 5 and fake.stats.writes == 1
        assert by_method(fake)["spreadsheets.batchUpdate"] == 1
        assert wb.stats()["bytes_sent"] == fake.stats.bytes_sent  # our accounting matches the wire
        seen[n] = dict(fake.stats.by_method)
        fake.reset_stats()
        second = sync(wb, today=TODAY)
        assert not second.written and fake.stats.writes == 0 and fake.stats.reads == 3
    assert seen[10] == seen[2000]


def test_an_unrelated_tab_of_any_size_does_not_change_what_a_sync_reads_or_writes() -> None:
    """A 50k-row tab beside the CRM: the same requests, the same bytes sent, and only its few bytes of
    properties (title, id, grid size) more received."""
    leads, plan = _bulk(40)
    seen = {}
    for extra in (0, 50_000):
        fake = FakeGoogle(account="service")
        sid = seed(fake, leads, plan)
        if extra:
            big = [[f"archived row {r} col {c}" for c in range(10)] for r in range(extra)]
            fake.person.add_tab(sid, "Archive 2019", big)
        wb = workbook(fake, sid)
        fake.reset_stats()
        first = sync(wb, today=TODAY)
        second = sync(wb, today=TODAY)
        assert first.written and not second.written
        seen[extra] = (dict(fake.stats.by_method), fake.stats.bytes_sent, fake.stats.bytes_received)
    assert seen[0][:2] == seen[50_000][:2]
    assert 0 < seen[50_000][2] - seen[0][2] < 400  # the tab's properties, twice (one per sync)


# -- same answers as the local backend ------------------------------------------------------


def test_local_and_google_backends_agree(make_workbook) -> None:
    path = make_workbook(LEADS, PLAN)
    local = sync(LocalWorkbook(path), today=TODAY)
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    google = sync(workbook(fake, sid), today=TODAY)
    assert [c.as_json() for c in local.calls] == [c.as_json() for c in google.calls]
    assert [str(i) for i in local.issues] == [str(i) for i in google.issues]
    book = openpyxl.load_workbook(path)
    local_leads = [list(r) for r in book["Leads"].iter_rows(values_only=True)]
    local_calls = [list(r) for r in book["Calls Today"].iter_rows(values_only=True)]
    assert tool_values(local_leads, "leads") == tool_values(fake.values(sid, "Leads"), "leads")
    assert tool_values(local_calls, "calls") == tool_values(fake.values(sid, "Calls Today"), "calls")
    # Colours too.
    for row in range(2, 6):
        fill = book["Leads"].cell(row, 9).fill
        want = "#" + fill.fgColor.rgb[-6:] if fill.fill_type == "solid" else None
        assert shown_fill(fake, sid, "Leads", f"I{row}") == want


def test_user_cells_are_never_touched() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.person.set_background(sid, "Leads", "A2", "#FF0000")
    fake.person.set_background(sid, "Contact Plan", "C2:C3", "#00FF00")
    user_cols = "ABCDEFGH"
    before_leads = {f"{c}{r}": fake.cell(sid, "Leads", f"{c}{r}") for c in user_cols for r in range(1, 7)}
    before_plan = plan_person_cells(fake, sid)
    sync(workbook(fake, sid), today=TODAY)
    assert {k: fake.cell(sid, "Leads", k) for k in before_leads} == before_leads
    assert plan_person_cells(fake, sid) == before_plan
    assert [row[6] for row in fake.values(sid, "Contact Plan")[1:]] == [f"P-00000{i}" for i in range(1, 8)]


def plan_person_cells(fake: FakeGoogle, sid: str) -> tuple[list[list[Any]], dict[str, Any]]:
    """Contact Plan's person-owned columns A-F (G is the tool's row ID since issue 11): values and formats."""
    values = [(row + [""] * 6)[:6] for row in fake.values(sid, "Contact Plan")]  # rows come ragged
    formats = {k: v for k, v in fake.formats(sid, "Contact Plan").items() if k[0] in "ABCDEF"}
    return values, formats


# -- hostile and local input --------------------------------------------------------------------


def test_formula_looking_names_are_written_as_text() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    body: list[Any] = []
    fake.before_request(lambda info: body.append(info.body) if info.method_id.endswith("batchUpdate") else None)
    sync(workbook(fake, sid), today=TODAY)
    calls = fake.values(sid, "Calls Today")
    row = next(i for i, r in enumerate(calls) if len(r) > 3 and r[3] == EVIL) + 1
    cell = fake.cell(sid, "Calls Today", f"D{row}")
    assert cell["userEnteredValue"] == {"stringValue": EVIL}
    assert fake.cell(sid, "Calls Today", f"G{row}")["userEnteredValue"] == {
        "stringValue": '=HYPERLINK("http://evil.example","click")'
    }
    # The only formulas ever sent are our own Days since contact formulas.
    formulas = re.findall(r"'formulaValue': '([^']*)'", str(body))
    assert formulas and all(re.fullmatch(r'=IF\(I\d+="","",TODAY\(\)-I\d+\)', f) for f in formulas), formulas


def test_russian_spreadsheet() -> None:
    fake = FakeGoogle(account="service")
    leads = [["Альфа", "Иван", "+7 900 000-00-00", "", "Предложение", "Анна", "", ""]]
    plan = [
        ["Альфа", dt.date(2026, 11, 20), "Звонок", "Проведён", "Договорились", ""],
        ["Альфа", dt.date(2026, 11, 21), "КП", "запланирован", "", ""],
    ]
    sid = seed(fake, leads, plan, lang="ru", locale="ru_RU", time_zone="Europe/Moscow")
    result = sync(workbook(fake, sid), today=TODAY)
    assert result.lang == "ru" and not result.issues
    calls = fake.values(sid, "Звонки на сегодня")
    assert calls[1][0] == "Просрочен" and calls[1][3] == "Альфа"
    assert fake.values(sid, "Лиды")[1][8:] == [
        serial(dt.date(2026, 11, 20)),
        "Договорились",
        serial(dt.date(2026, 11, 21)),
        "КП",
        2,
        1,
    ]


@pytest.mark.parametrize("locale,expected", [("ru_RU", dt.date(2026, 4, 3)), ("en_US", dt.date(2026, 3, 4))])
def test_text_dates_follow_the_spreadsheet_locale(locale: str, expected: dt.date) -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, [["Acme", "Bob"]], [], locale=locale)
    # Typed into a plain-text cell, so Google keeps it as text and we must parse it.
    fake.person.set_values(sid, "Contact Plan", "A2", [["Acme", "03/04/2026", "Call", "", "", ""]], raw=True)
    snapshot = workbook(fake, sid).read()
    assert snapshot.locale == locale and snapshot.tabs["Contact Plan"].cell(1, 1) == "03/04/2026"
    sync(workbook(fake, sid), today=dt.date(2026, 3, 1))
    assert fake.values(sid, "Leads")[1][10] == serial(expected)


def test_time_zone_of_the_spreadsheet_decides_today() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(
        fake, [["Acme", "Bob"]], [["Acme", dt.date(2026, 11, 23), "Call", "", "", ""]], time_zone="Pacific/Kiritimati"
    )  # UTC+14
    # 2026-11-22 12:00 UTC is already the 23rd in Kiritimati: the call is due today.
    now = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
    result = sync(workbook(fake, sid), now=lambda: now)
    assert result.today == dt.date(2026, 11, 23) and result.counts()["today"] == 1


def test_shrinking_calls_today_clears_old_rows_and_colours() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    sync(workbook(fake, sid), today=TODAY)
    assert fake.background(sid, "Calls Today", "A2") == "#F4C7C3"
    fake.person.set_values(sid, "Contact Plan", "D2", [["Cancelled"]] * len(PLAN))
    result = sync(workbook(fake, sid), today=TODAY)
    assert result.calls == []
    assert fake.values(sid, "Calls Today") == [header("calls")]
    assert all(fake.background(sid, "Calls Today", f"{c}{r}") is None for c in "AI" for r in range(2, 7))
    assert sync(workbook(fake, sid), today=TODAY).changed_cells == 0


def test_calls_today_grid_grows_in_the_same_write() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN, rows=2)  # tabs only as big as their data
    assert fake.sheet_properties(sid, "Calls Today")["gridProperties"]["rowCount"] == 2
    fake.reset_stats()
    result = sync(workbook(fake, sid), today=TODAY)
    assert fake.stats.writes == 1
    assert len(fake.values(sid, "Calls Today")) == len(result.calls) + 1


def test_missing_tab_stops_before_any_write() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.person.rename_tab(sid, "Contact Plan", "Plan (old)")
    fake.reset_stats()
    with pytest.raises(SheetShapeError, match="Contact Plan"):
        sync(workbook(fake, sid), today=TODAY)
    assert fake.stats.writes == 0


# -- payload splitting --------------------------------------------------------------------------------


def test_oversized_write_is_split_and_says_so(caplog) -> None:
    fake = FakeGoogle(account="service")
    leads, plan = _bulk(60)
    sid = seed(fake, leads, plan)
    wb = workbook(fake, sid, max_payload=6_000)
    fake.reset_stats()
    with caplog.at_level(logging.WARNING, logger="sheets_crm.google"):
        result = sync(wb, today=TODAY)
    assert result.written
    batches = by_method(fake)["spreadsheets.batchUpdate"]
    assert batches > 1 and wb.stats()["write_batches"] == batches and wb.stats()["split_writes"] == 1
    assert all(len(str(e.body).encode()) < 3 * 6_000 for e in fake.calls("spreadsheets.batchUpdate"))
    assert "no longer atomic" in caplog.text
    # Same outcome as one atomic write.
    other = FakeGoogle(account="service")
    sid2 = seed(other, leads, plan)
    sync(workbook(other, sid2), today=TODAY)
    assert fake.values(sid, "Leads") == other.values(sid2, "Leads")
    assert fake.values(sid, "Calls Today") == other.values(sid2, "Calls Today")
    assert fake.formats(sid, "Leads") == other.formats(sid2, "Leads")


# -- retries and errors ----------------------------------------------------------------------------------


def test_429_then_success_honours_retry_after() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.get", status=429, retry_after=7)
    fake.inject("spreadsheets.batchUpdate", status=429)
    sleeps: list[float] = []
    wb = workbook(fake, sid, sleeps)
    result = sync(wb, today=TODAY)
    assert result.written
    assert sleeps == [7.0, 1.0]  # Retry-After wins over the 1 s first backoff
    assert wb.stats()["retries"] == 2
    assert fake.values(sid, "Calls Today")[1][0] == "Overdue"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_bounded_and_leave_the_sheet_untouched(status: int) -> None:
    """An everyday write (values only: idempotent) is retried with backoff, then reported as maybe written."""
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    sync(workbook(fake, sid), today=TODAY)  # lays the formulas and rules down
    type_rows(fake, sid, "Contact Plan", [["Beta", dt.date(2026, 11, 21), "Call", "Done", "Nice", ""]], start_row=9)
    before = fake.values(sid, "Leads"), fake.formats(sid, "Leads"), fake.values(sid, "Calls Today")
    fake.reset_stats()
    fake.inject("spreadsheets.batchUpdate", status=status, times=None)
    sleeps: list[float] = []
    with pytest.raises(GoogleError) as err:
        sync(workbook(fake, sid, sleeps), today=TODAY)
    assert type(err.value) is GoogleError and err.value.outcome is WriteOutcome.UNKNOWN
    assert "writing to the spreadsheet" in str(err.value) and str(status) in str(err.value)
    assert by_method(fake)["spreadsheets.batchUpdate"] == 5 and len(sleeps) == 4
    assert sleeps == sorted(sleeps) and sum(sleeps) <= 60
    assert (fake.values(sid, "Leads"), fake.formats(sid, "Leads"), fake.values(sid, "Calls Today")) == before


def test_a_5xx_to_a_write_that_adds_rules_is_re_planned_not_re_sent() -> None:
    """The first sync adds the freshness rules (not idempotent): a 5xx makes it re-read and re-plan."""
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.batchUpdate", status=503, times=None)
    with pytest.raises(GoogleError) as err:
        sync(workbook(fake, sid, []), today=TODAY)
    assert err.value.outcome is WriteOutcome.UNKNOWN and "may or may not have reached Google" in str(err.value)
    assert by_method(fake)["spreadsheets.batchUpdate"] == 3  # one per attempt, each after a fresh read
    assert count_rules(fake, sid, "Leads") == (0, 0)
    fake.clear_faults()
    assert sync(workbook(fake, sid, []), today=TODAY).written
    assert count_rules(fake, sid, "Leads") == (0, 54)


def test_timeouts_and_dropped_connections_are_retried_then_reported() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject_timeout("spreadsheets.get")
    fake.inject_connection_error("values.batchGet")
    sleeps: list[float] = []
    assert sync(workbook(fake, sid, sleeps), today=TODAY).written
    assert len(sleeps) == 2
    # Forever failing: bounded, then a clear message.
    fake2 = FakeGoogle(account="service")
    sid2 = seed(fake2, LEADS, PLAN)
    fake2.inject_timeout("spreadsheets.get", times=None)
    with pytest.raises(GoogleError, match="timed out.*5 tries"):
        sync(workbook(fake2, sid2, []), today=TODAY)


def test_persistent_429_becomes_a_quota_error_within_the_time_budget() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.get", status=429, times=None, retry_after=45)
    sleeps: list[float] = []
    wb = GoogleWorkbook(sid, http=client_of(fake, sleeps, policy=RetryPolicy(tries=5, max_wait=60)))
    with pytest.raises(QuotaError, match="quota"):
        wb.read()
    assert sleeps == [45.0]  # a second 45 s wait would pass the 60 s budget


def test_429s_can_wait_out_a_whole_quota_minute_with_a_message(caplog: pytest.LogCaptureFixture) -> None:
    """Google's quota is per minute: 429 retries may wait ~60 s (bounded at 70 s), saying so meanwhile."""
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.get", status=429, times=6)  # 6 refusals: 1+2+4+8+16+32 = 63 s of waiting
    sleeps: list[float] = []
    with caplog.at_level(logging.WARNING, logger="sheets_crm.google"):
        assert sync(workbook(fake, sid, sleeps), today=TODAY).written
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0] and 60 <= sum(sleeps) <= 70
    waiting = [r.getMessage() for r in caplog.records if "per-minute quota window" in r.getMessage()]
    assert len(waiting) == 6 and "waiting 32 s" in waiting[-1]
    # Forever 429: it stops within the 70 s bound, with a quota message.
    fake2 = FakeGoogle(account="service")
    sid2 = seed(fake2, LEADS, PLAN)
    fake2.inject("spreadsheets.get", status=429, times=None)
    sleeps2: list[float] = []
    with pytest.raises(QuotaError, match="quota is used up") as err:
        sync(workbook(fake2, sid2, sleeps2), today=TODAY)
    assert 60 <= sum(sleeps2) <= 70 and err.value.outcome is WriteOutcome.UNTOUCHED


def test_server_errors_give_up_sooner_than_quota_errors() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.get", status=503, times=None)
    sleeps: list[float] = []
    with pytest.raises(GoogleError, match="kept failing.*5 tries"):
        sync(workbook(fake, sid, sleeps), today=TODAY)
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_storage_quota_403_is_never_retried() -> None:
    fake = FakeGoogle(account="service")
    sleeps: list[float] = []
    with pytest.raises(StorageQuotaError):
        init_spreadsheet(client_of(fake, sleeps), TPL, "en", title="Studio CRM")
    assert sleeps == [] and fake.stats.requests == 1


def grid_rows(fake: FakeGoogle, sid: str, title: str) -> int:
    sheet = next(s for s in fake.spreadsheet(sid).sheets if s.properties["title"] == title)
    return int(sheet.properties["gridProperties"]["rowCount"])


@pytest.mark.parametrize("applied", [True, False])
def test_a_lost_answer_to_a_growing_write_is_re_planned_not_re_sent(applied: bool) -> None:
    """The write grows Calls Today (appendDimension: not idempotent). Its answer is lost: the sync does
    not re-send it blindly (the grid would grow twice) but re-reads and re-plans from what is there."""
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN, rows=2)
    fake.inject_timeout("spreadsheets.batchUpdate", applied=applied)  # the answer never came
    result = sync(workbook(fake, sid, []), today=TODAY)
    assert result.attempts == 2 and by_method(fake)["spreadsheets.get"] == 4  # properties + fills, twice
    # Applied: the re-plan finds the work done (no second write); not applied: it is sent again, once.
    assert by_method(fake)["spreadsheets.batchUpdate"] == (1 if applied else 2)
    assert tool_values(fake.values(sid, "Calls Today"), "calls")[0][0] == "Overdue"
    assert len(fake.values(sid, "Calls Today")) == len(result.calls) + 1
    assert grid_rows(fake, sid, "Calls Today") == len(result.calls) + 1  # grown once, not twice


def test_a_5xx_to_a_write_is_reported_as_maybe_written() -> None:
    """Google may apply a write and still answer 5xx: never "Nothing was written" then."""
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.batchUpdate", status=503, times=None)
    with pytest.raises(GoogleError) as err:
        sync(workbook(fake, sid, []), today=TODAY)
    assert err.value.outcome is WriteOutcome.UNKNOWN
    assert "may or may not have reached Google" in str(err.value) and "Nothing was written" not in str(err.value)
    assert "HTTP 503" in err.value.message and "may" not in err.value.message  # the message is not rewritten


def test_a_failed_read_says_nothing_was_written_as_an_attribute() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject("spreadsheets.get", status=500, times=None)
    with pytest.raises(GoogleError) as err:
        sync(workbook(fake, sid, []), today=TODAY)
    assert err.value.outcome is WriteOutcome.UNTOUCHED and str(err.value).endswith("Nothing was written.")
    assert "Nothing was written" not in err.value.message


def test_drive_rate_limit_403_is_retried_but_401_is_not() -> None:
    fake = FakeGoogle(account="user")
    sleeps: list[float] = []
    fake.inject(
        "permissions.create",
        status=403,
        body={
            "error": {
                "code": 403,
                "message": "User rate limit exceeded.",
                "errors": [
                    {"domain": "usageLimits", "reason": "userRateLimitExceeded", "message": "User rate limit exceeded."}
                ],
            }
        },
    )
    init_spreadsheet(client_of(fake, sleeps), TPL, "en", share="anna@example.com")
    assert len(sleeps) == 1 and by_method(fake)["permissions.create"] == 2
    other = FakeGoogle(account="service")
    sid = seed(other, LEADS, PLAN)
    other.inject("spreadsheets.get", status=401)
    with pytest.raises(AuthError, match="rejected the credentials"):
        workbook(other, sid, sleeps).read()
    assert other.stats.requests == 1


def test_not_shared_names_the_service_account() -> None:
    fake = FakeGoogle(account="service")
    sid = fake.add_spreadsheet("Private", {"Leads": []}, shared_with=[])
    with pytest.raises(NotSharedError) as err:
        workbook(fake, sid).read()
    assert fake.identity in str(err.value) and "Share" in str(err.value)
    assert fake.stats.requests == 1


def test_unknown_spreadsheet_is_not_found() -> None:
    fake = FakeGoogle(account="service")
    with pytest.raises(NotSharedError, match="not found: check the URL/id"):
        workbook(fake, "1NoSuchSpreadsheetAbCdEfGhIjKlMnOp").read()
    assert fake.stats.requests == 1


def test_disabled_api_points_at_the_console() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.inject(
        "spreadsheets.get",
        status=403,
        body={
            "error": {
                "code": 403,
                "status": "PERMISSION_DENIED",
                "message": "Google Sheets API has not been used in project 123456789012 before or it is disabled.",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "SERVICE_DISABLED",
                        "domain": "googleapis.com",
                        "metadata": {"service": "sheets.googleapis.com", "consumer": "projects/123456789012"},
                    }
                ],
            }
        },
    )
    with pytest.raises(ApiDisabledError) as err:
        workbook(fake, sid).read()
    assert "Google Sheets API" in str(err.value) and "123456789012" in str(err.value)
    assert fake.stats.requests == 1


# -- a person editing while the sync runs (issue 5's guard) ----------------------------------------------


def test_rows_inserted_above_between_read_and_write_are_detected_and_retried() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    # Just before the guard (the second values.batchGet; the first is the read).
    fake.on_request(
        2, lambda: fake.person.insert_rows(sid, "Leads", 2, 1, [["Newco", "Nina"]]), method="values.batchGet"
    )
    result = sync(workbook(fake, sid), today=TODAY)
    assert result.attempts == 2 and result.written
    leads = fake.values(sid, "Leads")
    by_name = {row[0]: row for row in leads[1:]}
    assert by_name["Newco"][1] == "Nina" and by_name["Newco"][8:11] == ["", "", ""]
    assert by_name["Acme"][8:] == [
        serial(dt.date(2026, 11, 20)),
        "Liked it",
        serial(dt.date(2026, 11, 21)),
        "Follow up",
        2,
        1,
    ]
    assert by_name["Beta"][10:12] == [serial(TODAY), "Intro"]
    # The colour moved with the lead, too.
    acme_row = next(i for i, r in enumerate(leads) if r[0] == "Acme") + 1
    assert shown_fill(fake, sid, "Leads", f"I{acme_row}") == "#6FC59B"
    assert shown_fill(fake, sid, "Leads", "I2") is None  # Newco: never contacted


@pytest.mark.parametrize(
    "edit", ["sort", "rename_tab", "type_in_tool_column", "delete_row", "move_column", "delete_tab"]
)
def test_other_edits_between_read_and_write_are_detected(edit: str) -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    p = fake.person
    action = {
        "sort": lambda: p.sort(sid, "Leads", "A", ascending=False),
        "rename_tab": lambda: p.rename_tab(sid, "Calls Today", "Calls"),
        "type_in_tool_column": lambda: p.set_value(sid, "Leads", "J2", "my note"),  # a cell the write replaces
        "delete_row": lambda: p.delete_rows(sid, "Leads", 2),
        "move_column": lambda: p.move_column(sid, "Leads", "J", "B"),
        "delete_tab": lambda: p.delete_tab(sid, "Calls Today"),
    }[edit]
    fake.on_request(2, action, method="values.batchGet")  # just before the guard read
    wb = workbook(fake, sid)
    snapshot = wb.read()
    from sheets_crm.app.sync import compute

    outcome = compute(snapshot, TODAY, TPL)
    with pytest.raises(ConcurrentEditError, match="(?i)nothing was written"):
        wb.apply(outcome.changes, snapshot)
    assert fake.stats.writes == 0


def test_a_tab_deleted_between_the_guard_and_the_write_restarts_the_sync() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    fake.on_request(1, lambda: fake.person.delete_tab(sid, "Calls Today"), method="spreadsheets.batchUpdate")
    with pytest.raises(SheetShapeError, match="Calls Today"):  # the re-read finds the tab gone
        sync(workbook(fake, sid), today=TODAY)
    assert fake.values(sid, "Leads")[1][8:] == []  # the failed write left nothing behind


def test_a_sheet_that_keeps_moving_stops_the_sync_with_a_message() -> None:
    fake = FakeGoogle(account="service")
    sid = seed(fake, LEADS, PLAN)
    counter = iter(range(100))
    fake.before_request(
        lambda info: (
            fake.person.insert_rows(sid, "Leads", 2, 1, [[f"New {next(counter)}"]])
            if info.method_id.endswith("values.batchGet")
            else None
        )
    )
    with pytest.raises(ConcurrentEditError):
        sync(workbook(fake, sid), today=TODAY)
    assert fake.stats.writes == 0 and by_method(fake)["spreadsheets.get"] == 6  # properties + fills, 3 times


# -- through the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_fake(monkeypatch) -> FakeGoogle:
    """The CLI finds "credentials" (the fake's) and every new session talks to the fake."""
    from sheets_crm.backends.google import auth as google_auth

    fake = FakeGoogle(account="service")
    account = google_auth.GoogleAccount("service_account", fake.credentials(), fake.identity)
    monkeypatch.setattr(google_auth, "load_account", lambda *a, **k: account)
    with fake.patch():
        yield fake


def test_cli_init_into_then_sync_with_stats(cli_fake: FakeGoogle) -> None:
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    fake = cli_fake
    sid = fake.add_spreadsheet("Studio", {"Sheet1": []}, time_zone="Europe/Moscow")
    runner = CliRunner()
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    res = runner.invoke(app, ["init", "--google", "--into", url, "--credentials", "key.json"])
    assert res.exit_code == 0, res.output
    assert url in res.output
    type_rows(fake, sid, "Leads", LEADS)
    type_rows(fake, sid, "Contact Plan", PLAN)
    res = runner.invoke(app, ["sync", url, "--today", "2026-11-22", "--stats"])
    assert res.exit_code == 0, res.output
    # properties, values, Calls Today's fills, the new Days since formulas, the guard; one write
    assert "requests=6, reads=5, writes=1" in " ".join(res.output.split())
    res = runner.invoke(app, ["today", sid, "--today", "2026-11-22", "--json"])
    assert res.exit_code == 0 and '"section": "overdue"' in res.output.replace('":"', '": "')


def test_cli_errors_are_one_clear_line(cli_fake: FakeGoogle) -> None:
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    fake = cli_fake
    runner = CliRunner()
    res = runner.invoke(app, ["init", "--google", "--title", "Studio CRM"])
    assert res.exit_code == 1 and "--into" in res.output and "Traceback" not in res.output
    private = fake.add_spreadsheet("Private", {"Leads": []}, shared_with=[])
    res = runner.invoke(app, ["sync", private])
    assert res.exit_code == 1 and fake.identity in res.output and "Traceback" not in res.output
