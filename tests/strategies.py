"""Hypothesis strategies for whole CRMs, builders for both backends, and an oracle.

A :class:`CrmCase` is a CRM as a person might have typed it: lead names with
unicode, stray spaces, ё/е and case variants and duplicates; stages in either
language or unknown; plan rows whose statuses are synonyms, odd case or
unknown; dates as real dates, serial numbers, ISO, dd.mm.yyyy, a/b/yyyy (read
by the locale) or garbage; columns in any order, some tool columns missing,
extra columns of the person's own, stale values in tool columns and
formatting on anything.

:func:`expected` is an independent, deliberately naive model of the rules in
PRODUCT.md (loops, not pandas), so the property tests check the sync's
results as well as what it must leave alone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
from hypothesis import strategies as st
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from sheets_crm.backends.local.workbook import create_workbook, save_atomically
from sheets_crm.core.dates import EPOCH
from sheets_crm.core.history import tab_names
from sheets_crm.core.layout import build_layout
from sheets_crm.core.planner import CALL_FIELDS
from sheets_crm.core.template import Template, default_template
from sheets_crm.core.text import normalise

TODAY = dt.date(2026, 11, 22)
TEMPLATE: Template = default_template()
#: The tabs the tool creates and owns wholly (issue 11): History and the hidden state tab.
TOOL_TABS = frozenset(tab_names())

# -- vocabulary -------------------------------------------------------------------------

NAMES = [
    "Acme",
    "ACME",
    " acme ",
    "Acme  Corp",
    "acme corp",
    "Ромашка",
    "ромашка ",
    "Ёлка",
    "Елка",
    "ЁЛКА",
    "Zeta\u00a0Studio",
    "zeta studio",
    "東京 Studio",
    "O'Brien & Sons",
    "Beta LLC",
    '=HYPERLINK("http://evil.example","click")',
    '=IMPORTXML("http://x","//a")',
    "#REF!",
    "#N/A",
    "+7 916",
]
UNKNOWN_PROJECTS = ["Ghost", "Acmee", "Ромашко", "Nobody Ltd"]
STAGES = [
    "New",
    "Qualified",
    "Proposal",
    "Negotiation",
    "Won",
    "Lost",
    "Новый",
    "ВЫИГРАН",
    " lost ",
    "переговоры",
    "",
    None,
    "Frozen",
    "On hold",
]
STATUS_TEXT = {
    "open": ["", None, "Planned", "planned ", "ЗАПЛАНИРОВАН", "todo", " Запланировано"],
    "done": ["Done", " DONE", "Проведён", "проведен", "ПРОВЕДЁН", "completed", "Выполнен"],
    "cancelled": ["Cancelled", "canceled", "Отменён", "ОТМЕНЕН", " отменено "],
    "unknown": ["Maybe", "?", "Dne", "перенесен"],
}
# Never a template header nor a synonym ("Комментарий" is Notes' synonym since issue 12).
EXTRA_COLUMNS = ["My score", "Мой комментарий", "Budget, $", "Birthday", "Мой статус"]
TOOL_LEADS = [c.id for c in TEMPLATE.leads.tool_columns]
USER_LEADS = [c.id for c in TEMPLATE.leads.columns if c.owner == "user"]
PLAN_COLS = [c.id for c in TEMPLATE.plan.columns]
MONTH_FIRST_LOCALES = ("en_US",)
DAY_FIRST_LOCALES = (None, "ru_RU", "en_GB", "de_DE")

safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12,
)


@dataclass
class CrmCase:
    lang: str
    locale: str | None
    #: column ids per position: template ids, or "x:<name>" for the person's own columns
    leads_cols: list[str]
    leads_header: list[Any]
    leads: list[list[Any]]
    plan_cols: list[str]
    plan_header: list[Any]
    plan: list[list[Any]]
    #: the date each plan row means (None: empty or not a date)
    plan_dates: list[dt.date | None]
    calls: list[list[Any]] = field(default_factory=list)
    #: formatting a person applied: (tab id, row0, col0, style)
    styles: list[tuple[str, int, int, str]] = field(default_factory=list)

    @property
    def titles(self) -> dict[str, str]:
        return {t.id: t.names[self.lang] for t in TEMPLATE.tabs}

    def google_locale(self) -> str:
        return self.locale or "en_GB"  # Google always has one; en_GB reads a/b/yyyy day first too


# -- dates --------------------------------------------------------------------------------


_TEXT_FORMS = ("dotted", "dotted_short", "two_digit_year", "yearless", "month_name")
_RU_MONTHS = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def _text_form(draw: st.DrawFn, kind: str, day: dt.date) -> str:
    """A date as a person types it as text, in a form that needs no locale."""
    if kind == "dotted":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    if kind == "dotted_short":
        return f"{day.day}.{day.month}.{day.year}"
    # Since issue 12: the short forms people type. Days are within 15 of TODAY, so a date
    # without a year is the nearest one: this year's.
    if kind == "two_digit_year":
        return f"{day.day:02d}.{day.month:02d}.{day.year % 100:02d}"
    if kind == "yearless":
        return f"{day.day}.{day.month:02d}"
    ru, en = _RU_MONTHS[day.month - 1], day.strftime("%b")
    return draw(
        st.sampled_from([f"{day.day} {ru}", f"{day.day} {ru[:4]}.", f"{en} {day.day}", f"{day.day} {en} {day.year}"])
    )


@st.composite
def plan_dates(draw: st.DrawFn, locale: str | None) -> tuple[Any, dt.date | None]:
    """(the cell as typed, the date it means or None)."""
    day = TODAY + dt.timedelta(days=draw(st.integers(-15, 15)))
    kind = draw(
        st.sampled_from(
            [
                "date",
                "datetime",
                "serial",
                "serial_float",
                "iso",
                "iso_time",
                "dotted",
                "dotted_short",
                "slash",
                "two_digit_year",
                "yearless",
                "month_name",
                "garbage",
                "garbage",
                "blank",
            ]
        )
    )
    serial = (day - EPOCH).days
    pad = draw(st.sampled_from(["", " ", "  "]))
    if kind == "date":
        return day, day
    if kind == "datetime":
        return dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59)))), day
    if kind == "serial":
        return serial, day
    if kind == "serial_float":
        return serial + draw(st.sampled_from([0.25, 0.5, 0.999])), day
    if kind == "iso":
        return f"{pad}{day.isoformat()}{pad}", day
    if kind == "iso_time":
        return f"{day.isoformat()} 10:30", day
    if kind in _TEXT_FORMS:
        return _text_form(draw, kind, day), day
    if kind == "slash":
        month_first = locale in MONTH_FIRST_LOCALES
        a, b = (day.month, day.day) if month_first else (day.day, day.month)
        return f"{a}/{b}/{day.year}", day
    if kind == "blank":
        return None, None
    return draw(
        st.sampled_from(
            [
                "next week",
                "31.02.2026",
                "2026-13-01",
                "#N/A",
                "#REF!",
                True,
                False,
                -5,
                0,
                30_000_000,
                "32.11",  # no such day ("22/11" and "Nov 22" are dates since issue 12)
                "Novembr 22",
            ]
        )
    ), None


# -- whole CRMs ----------------------------------------------------------------------------


def _header_text(draw: st.DrawFn, tab_id: str, col_id: str, lang: str) -> str:
    column = TEMPLATE.tab(tab_id).column(col_id)
    name = column.names[draw(st.sampled_from([lang, lang, "en", "ru"]))]
    return draw(st.sampled_from([name, name, name.upper(), f"  {name} ", name.lower()]))


@st.composite
def crm_cases(draw: st.DrawFn, max_leads: int = 8, max_plan: int = 14) -> CrmCase:
    lang = draw(st.sampled_from(["en", "ru"]))
    locale = draw(st.sampled_from(DAY_FIRST_LOCALES + MONTH_FIRST_LOCALES))

    # Leads: required key, optional user columns, most tool columns, the person's own columns.
    cols = ["project"] + [c for c in USER_LEADS[1:] if draw(st.integers(0, 9)) < 8]
    cols += [c for c in TOOL_LEADS if draw(st.integers(0, 9)) < 8]
    cols += [f"x:{n}" for n in draw(st.lists(st.sampled_from(EXTRA_COLUMNS), max_size=2, unique=True))]
    cols = draw(st.permutations(cols))
    header = [c[2:] if c.startswith("x:") else _header_text(draw, "leads", c, lang) for c in cols]
    names = draw(
        st.lists(
            st.one_of(st.sampled_from(NAMES), safe_text.filter(lambda s: not s.startswith("="))),
            min_size=0,
            max_size=max_leads,
        )
    )
    leads = []
    for name in names:
        row = []
        for c in cols:
            if c == "project":
                row.append(name if draw(st.integers(0, 15)) else None)  # now and then a row without a name
            elif c == "stage":
                row.append(draw(st.sampled_from(STAGES)))
            elif c == "phone":
                row.append(
                    draw(
                        st.sampled_from(
                            [
                                "",
                                "+7 916 000-00-01",
                                "8 (916) 000 00 01",
                                79160000002,
                                "(212) 555-0100",
                                "ask reception",
                            ]
                        )
                    )
                )
            elif c in TOOL_LEADS:
                row.append(draw(st.sampled_from([None, None, "stale", 7, dt.datetime(2020, 1, 1)])))
            elif c.startswith("x:"):
                row.append(draw(st.one_of(st.none(), st.integers(-5, 100), safe_text)))
            else:
                row.append(draw(st.one_of(st.none(), safe_text)))
        leads.append(row)

    # Contact Plan.
    pcols = ["project", "date", "status"] + [c for c in ("topic", "result", "owner") if draw(st.booleans())]
    pcols += [f"x:{n}" for n in draw(st.lists(st.sampled_from(EXTRA_COLUMNS), max_size=1))]
    pcols = draw(st.permutations(pcols))
    pheader = [c[2:] if c.startswith("x:") else _header_text(draw, "plan", c, lang) for c in pcols]
    known = [n for n in names if n is not None] or ["Acme"]
    plan, dates = [], []
    for _ in range(draw(st.integers(0, max_plan))):
        cell, meant = draw(plan_dates(locale))
        project = draw(
            st.one_of(
                st.sampled_from(known),
                st.sampled_from(known),
                st.sampled_from(UNKNOWN_PROJECTS),
                st.sampled_from(NAMES),
                st.just(""),
            )
        )
        status = draw(st.sampled_from(sum(STATUS_TEXT.values(), [])))
        row = []
        for c in pcols:
            row.append(
                {"project": project, "date": cell, "status": status}.get(c)
                if c in ("project", "date", "status")
                else draw(st.one_of(st.none(), safe_text))
            )
        plan.append(row)
        dates.append(meant)

    calls = [[draw(st.sampled_from([None, "old", 3])) for _ in range(9)] for _ in range(draw(st.integers(0, 6)))]

    styles = []
    for _ in range(draw(st.integers(0, 8))):
        tab = draw(st.sampled_from(["leads", "plan"]))
        n_rows = len(leads) if tab == "leads" else len(plan)
        n_cols = len(cols) if tab == "leads" else len(pcols)
        styles.append(
            (
                tab,
                draw(st.integers(0, n_rows)),
                draw(st.integers(0, n_cols)),
                draw(st.sampled_from(["fill", "bold", "italic", "border", "center", "numfmt"])),
            )
        )
    return CrmCase(lang, locale, list(cols), header, leads, list(pcols), pheader, plan, dates, calls, styles)


# -- building workbooks -------------------------------------------------------------------------

_STYLE = {
    "fill": lambda c: setattr(c, "fill", PatternFill("solid", start_color="FFFF0000", end_color="FFFF0000")),
    "bold": lambda c: setattr(c, "font", Font(bold=True)),
    "italic": lambda c: setattr(c, "font", Font(italic=True, color="FF0000FF")),
    "border": lambda c: setattr(c, "border", Border(left=Side(style="thin"), bottom=Side(style="double"))),
    "center": lambda c: setattr(c, "alignment", Alignment(horizontal="center", wrap_text=True)),
    "numfmt": lambda c: setattr(c, "number_format", "0.00%"),
}


def _put(ws: Any, row: int, col: int, value: Any) -> None:
    if value is None or value == "":
        return  # Excel has no empty-string cells; openpyxl would not round-trip one either
    cell = ws.cell(row, col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # typed as text: "=..." is not a formula, "#N/A" is not an error


def build_xlsx(case: CrmCase, path: Path) -> Path:
    """The case as an .xlsx laid out by `init`, then typed into by a person."""
    path = create_workbook(path, build_layout(TEMPLATE, case.lang), overwrite=True)
    book = openpyxl.load_workbook(path)
    titles = case.titles
    for tab_id, header, rows in (("leads", case.leads_header, case.leads), ("plan", case.plan_header, case.plan)):
        ws = book[titles[tab_id]]
        for col in range(1, ws.max_column + 1):
            ws.cell(1, col).value = None
        for c, text in enumerate(header, start=1):
            _put(ws, 1, c, text)
        for r, row in enumerate(rows, start=2):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    _put(ws, r, c, value)
    calls = book[titles["calls"]]
    for r, row in enumerate(case.calls, start=2):
        for c, value in enumerate(row, start=1):
            if value is not None:
                _put(calls, r, c, value)
    for tab_id, r0, c0, style in case.styles:
        _STYLE[style](book[titles[tab_id]].cell(r0 + 1, c0 + 1))
    save_atomically(book, path)
    return path


def seed_google(fake: Any, case: CrmCase) -> str:
    """The same case in the Google stand-in, typed RAW so both backends hold the same values."""
    titles = case.titles
    sid = fake.add_spreadsheet(
        "CRM",
        [titles["leads"], titles["plan"], titles["calls"]],
        locale=case.google_locale(),
        time_zone="Europe/Moscow",
    )
    person = fake.person
    calls_header = [c.names[case.lang] for c in TEMPLATE.calls.columns]
    for title, rows in (
        (titles["leads"], [case.leads_header, *case.leads]),
        (titles["plan"], [case.plan_header, *case.plan]),
        (titles["calls"], [calls_header, *case.calls]),
    ):
        if any(v is not None for row in rows for v in row):
            person.set_values(sid, title, "A1", rows, raw=True)
    return sid


# -- the oracle -----------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A cell as text, the way PRODUCT.md's rules read names, topics and results."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def status_kind(value: Any) -> str:
    kind = TEMPLATE.status_kind(text(value))
    return kind or "open"


@dataclass
class Expected:
    #: per Leads data row (0-based index into case.leads): tool column id -> value (None = blank)
    leads: list[dict[str, Any]]
    #: Calls Today rows: (section, date, days overdue, project, contact, phone, topic, last result, owner)
    calls: list[tuple[Any, ...]]


def _in_calls(status: str, day: dt.date, horizon: dt.date, lead: list[Any] | None, lget: Any) -> bool:
    """Open and within the horizon; a Won/Lost lead's open calls stay out (issue 12)."""
    if status != "open" or day > horizon:
        return False
    stage = TEMPLATE.stage(lget(lead, "stage")) if lead is not None else None
    return not (stage is not None and stage.closed and not TEMPLATE.settings.include_closed)


def _history(rows: list[Any], key: str, pget: Any, today: dt.date) -> dict[str, Any]:
    """A lead's tool values from its plan rows, as the contract states them."""
    done = [(d, i, r) for i, k, d, s, r in rows if k == key and s == "done"]
    todo = [(d, i, r) for i, k, d, s, r in rows if k == key and s == "open"]
    out: dict[str, Any] = dict.fromkeys(TOOL_LEADS)
    out["touches"] = len(done)
    if done:
        last = max(done, key=lambda t: (t[0], t[1]))  # a tie goes to the row lower in the sheet
        out["last_contact"] = last[0]
        out["last_result"] = pget(last[2], "result") or None
        out["days_since_contact"] = (today - last[0]).days
    if todo:
        nxt = min(todo, key=lambda t: (t[0], t[1]))  # a tie goes to the row higher in the sheet
        out["next_contact"] = nxt[0]
        out["next_topic"] = pget(nxt[2], "topic") or None
    return out


def expected(case: CrmCase, today: dt.date = TODAY) -> Expected:
    col = {c: i for i, c in enumerate(case.leads_cols)}
    pcol = {c: i for i, c in enumerate(case.plan_cols)}

    def lget(row: list[Any], cid: str) -> str:
        return text(row[col[cid]]) if cid in col else ""

    def pget(row: list[Any], cid: str) -> str:
        return text(row[pcol[cid]]) if cid in pcol else ""

    # Plan rows that count: a project and a date.
    rows = []
    for i, (row, day) in enumerate(zip(case.plan, case.plan_dates, strict=False)):
        key = normalise(pget(row, "project"))
        if key and day is not None:
            rows.append((i, key, day, status_kind(row[pcol["status"]]), row))
    first_lead: dict[str, list[Any]] = {}
    for row in case.leads:
        key = normalise(lget(row, "project"))
        if key:
            first_lead.setdefault(key, row)

    def history(key: str) -> dict[str, Any]:
        return _history(rows, key, pget, today)

    leads = []
    for row in case.leads:
        key = normalise(lget(row, "project"))
        leads.append(history(key) if key else dict.fromkeys(TOOL_LEADS))

    horizon = today + dt.timedelta(days=TEMPLATE.settings.upcoming_days)
    order = {"overdue": 0, "today": 1, "upcoming": 2}
    calls = []
    for i, key, day, status, row in rows:
        lead = first_lead.get(key)
        if not _in_calls(status, day, horizon, lead, lget):
            continue
        section = "overdue" if day < today else "today" if day == today else "upcoming"
        project = lget(lead, "project") if lead is not None else pget(row, "project")
        contact = lget(lead, "contact") if lead is not None else ""
        phone = lget(lead, "phone") if lead is not None else ""
        last_result = (history(key)["last_result"] or "") if lead is not None else ""
        owner = pget(row, "owner") or (lget(lead, "owner") if lead is not None else "")
        calls.append(
            (
                order[section],
                day,
                i,
                (
                    TEMPLATE.section_label(section, case.lang),
                    day,
                    (today - day).days if section != "upcoming" else None,
                    project,
                    contact,
                    phone,
                    pget(row, "topic"),
                    last_result,
                    owner,
                ),
            )
        )
    calls.sort(key=lambda t: t[:3])
    blank = lambda v: None if v == "" else v  # noqa: E731
    return Expected(leads, [tuple(blank(v) for v in c[3]) for c in calls])


# -- reading results back ------------------------------------------------------------------------------


def as_date(value: Any) -> Any:
    """A written date cell (datetime locally, a serial on Google) as a date; other values as they are."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def serial_as_date(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return EPOCH + dt.timedelta(days=int(value))
    return value


def tool_columns(header: list[Any], tab_id: str = "leads") -> dict[str, int]:
    """Where each tool column of a tab is, from its header row as it is now."""
    tab = TEMPLATE.tab(tab_id)
    found: dict[str, int] = {}
    for i, value in enumerate(header):
        match = tab.match_header(text(value))
        if match is not None and match.owner == "tool":
            found.setdefault(match.id, i)
    return found


def leads_result(values: list[list[Any]], date_cells: str = "local") -> list[dict[str, Any]]:
    """Tool values per Leads data row, from a tab's values (ragged, row 0 = header)."""
    where = tool_columns(values[0] if values else [])
    out = []
    for row in values[1:]:
        got = {}
        for cid, c in where.items():
            v = row[c] if c < len(row) else None
            v = None if v == "" else v
            if TEMPLATE.leads.column(cid).type == "date":
                v = as_date(v) if date_cells == "local" else serial_as_date(v)
            got[cid] = v
        out.append(got)
    return out


def calls_result(values: list[list[Any]], date_cells: str = "local") -> list[tuple[Any, ...]]:
    # The planned columns (the person-owned work-list columns and the ID are not part of the model).
    where = {cid: i for i, cid in enumerate(c.id for c in TEMPLATE.calls.columns) if cid in CALL_FIELDS}
    out = []
    for row in values[1:]:
        line = [row[i] if i < len(row) else None for i in where.values()]
        line = [None if v == "" else v for v in line]
        if all(v is None for v in line):
            continue
        line[1] = as_date(line[1]) if date_cells == "local" else serial_as_date(line[1])
        out.append(tuple(line))
    return out


def xlsx_values(path: Path, title: str) -> list[list[Any]]:
    book = openpyxl.load_workbook(path)
    ws = book[title]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def google_person_cells(fake: Any, sid: str, titles: dict[int, str] | None = None) -> dict[tuple[str, int, int], Any]:
    """Every cell the tool does not own: value and format (tool cells' fill/number format excluded).

    Tabs are known by their sheetId (``titles``: their names at the start), so a renamed Calls
    Today is still the tool's.
    """
    out: dict[tuple[str, int, int], Any] = {}
    for sheet in fake.spreadsheet(sid).sheets:
        title = (titles or {}).get(sheet.sheet_id, sheet.title)
        if TEMPLATE.calls.matches(title) or title in TOOL_TABS:
            continue  # wholly the tool's
        tool_cols: set[int] = set()
        # Tool columns: Leads' and, since issue 11, Contact Plan's ID.
        for tab in (TEMPLATE.leads, TEMPLATE.plan):
            if not tab.matches(title):
                continue
            header = sheet.rows[0] if sheet.rows else []
            for c, cell in enumerate(header):
                text = ((cell or {}).get("userEnteredValue") or {}).get("stringValue")
                match = tab.match_header(text)
                if match is not None and match.owner == "tool":
                    tool_cols.add(c)
        for r, row in enumerate(sheet.rows):
            for c, cell in enumerate(row):
                if not cell:
                    continue
                if c in tool_cols and r > 0:
                    fmt = {
                        k: v
                        for k, v in (cell.get("userEnteredFormat") or {}).items()
                        if k not in ("backgroundColor", "backgroundColorStyle", "numberFormat")
                    }
                    if fmt:
                        out[(title, r, c)] = {"format": fmt}
                    continue
                out[(title, r, c)] = {"value": cell.get("userEnteredValue"), "format": cell.get("userEnteredFormat")}
    return out


_DAYS_FORMULA = re.compile(r'^=IF\(([A-Z]+)(\d+)="","",TODAY\(\)-\1\2\)$')


def assert_only_the_tools_formulas(bodies: Iterable[dict[str, Any]]) -> None:
    """No person's text ever becomes a formula: the only formulas a Google sync may send are
    the tool's own Days since contact, ``=IF(I5="","",TODAY()-I5)``, pointing at its own row."""
    for body in bodies:
        for req in body["requests"]:
            repeat = req.get("repeatCell") or {}
            formula = ((repeat.get("cell") or {}).get("userEnteredValue") or {}).get("formulaValue")
            if formula is not None:  # one formula over a run of rows: the top row's, Google increments it
                match = _DAYS_FORMULA.match(formula)
                assert match and int(match[2]) == repeat["range"]["startRowIndex"] + 1, repeat
            update = req.get("updateCells") or {}
            first = (update.get("start") or update.get("range") or {}).get("rowIndex")
            if first is None:
                first = (update.get("range") or {}).get("startRowIndex", 0)
            for r, row in enumerate(update.get("rows", [])):
                for cell in row.get("values", []):
                    formula = (cell.get("userEnteredValue") or {}).get("formulaValue")
                    if formula is None:
                        continue
                    match = _DAYS_FORMULA.match(formula)
                    assert match and int(match[2]) == first + r + 1, cell
