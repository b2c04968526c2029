"""``sheets-crm doctor``: check a CRM without changing it.

:func:`diagnose` is pure (a snapshot, the template and today in; a
:class:`Report` out). It reuses the sync's own reading (:mod:`reading`), so
every warning a sync would print — unparseable dates, unknown statuses, plan
rows for unknown projects, duplicate or blank headers — is reported here in
the same words, and adds what only a check-up looks for: template drift
(missing, renamed or duplicated tabs and columns), duplicate leads by phone
(``phonenumbers``) or e-mail, open leads with nothing planned, and leads
left without contact for longer than their stage's fade period.

:func:`run_doctor` opens the workbook with the normal backends and only ever
calls ``read()``: the doctor never writes.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from sheets_crm.app.adopt import fixing_command, with_init_command
from sheets_crm.backends.protocol import LiveColumns, Workbook
from sheets_crm.core.dedupe import Record, group_issues
from sheets_crm.core.model import N_, Issue, Snapshot, TabData
from sheets_crm.core.phones import PhoneCheck, check_phone, region_for_locale
from sheets_crm.core.planner import plan_crm
from sheets_crm.core.reading import (
    INIT,
    TabMap,
    _leads_frame,
    _map_columns,
    _plan_frame,
    cell_text,
    header_guesses,
    missing_column_text,
)
from sheets_crm.core.template import LANGS, Column, Tab, Template, default_template
from sheets_crm.core.text import column_letter as _letter
from sheets_crm.core.text import normalise
from sheets_crm.errors import SheetShapeError

__all__ = ["KINDS", "BLOCKING", "Report", "diagnose", "run_doctor"]

#: Every kind of problem, in report order, with the heading it is shown under.
KINDS: dict[str, str] = {
    # What stops a sync comes first.
    "missing-tab": "Missing tabs (the sync stops)",
    "missing-key-column": "Missing columns the sync needs (the sync stops)",
    "duplicate-tab": "Duplicate tabs",
    "missing-column": "Missing columns",
    "renamed-column": "Renamed columns",
    "duplicate-header": "Duplicate columns",
    "blank-header": "Columns without a header",
    "bad-date": "Unparseable dates",
    "odd-date": "Dates far from today",
    "no-date": "Plan rows without a date",
    "unknown-status": "Unknown statuses",
    "unknown-stage": "Unknown stages",
    "unknown-project": "Plan rows for unknown projects",
    "no-key": "Rows without a project",
    "duplicate-lead": "Duplicate leads",
    "duplicate-group": "Probable duplicates (one client in several rows)",
    "bad-phone": "Unreadable phone numbers",
    "closed-lead-open-call": "Closed leads with open calls (left out of Calls Today)",
    "future-done": "Done rows dated in the future",
    "no-next-contact": "Open leads with no next contact",
    "stale-lead": "Leads not contacted for too long",
    "live-cells": "Tool formulas and colour rules changed by hand (the next sync restores them)",
}

#: Kinds that stop a sync: listed first, and said so.
BLOCKING = ("missing-tab", "missing-key-column")
_TAB_CUTOFF = 0.6
_ODD_YEARS = 10  # a contact dated further from today than this is probably a typo


@dataclass
class Report:
    """What the doctor found. ``problems`` are :class:`Issue` s whose ``code`` is the kind."""

    target: str
    today: dt.date
    problems: list[Issue] = field(default_factory=list)
    lang: str = "en"
    leads_checked: int = 0
    plan_rows_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def blocking(self) -> list[Issue]:
        """The problems that stop a sync (missing tabs, missing key columns)."""
        return [i for i in self.problems if i.code in BLOCKING]

    @property
    def exit_code(self) -> int:
        """0 when clean, 1 when problems were found."""
        return 0 if self.ok else 1

    def by_kind(self) -> dict[str, list[Issue]]:
        """Problems grouped by kind, kinds in :data:`KINDS` order, rows in sheet order."""
        groups: dict[str, list[Issue]] = {}
        order = {k: i for i, k in enumerate(KINDS)}

        def place(issue: Issue) -> tuple[Any, ...]:
            return (order.get(issue.code, len(order)), issue.code, issue.tab, issue.row or 0)

        for issue in sorted(self.problems, key=place):
            groups.setdefault(issue.code, []).append(issue)
        return groups

    def counts(self) -> dict[str, int]:
        return {kind: len(items) for kind, items in self.by_kind().items()}

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "today": self.today.isoformat(),
            "ok": self.ok,
            "sync_blocked": bool(self.blocking),
            "checked": {"leads": self.leads_checked, "plan_rows": self.plan_rows_checked},
            "counts": self.counts(),
            "problems": [_problem_dict(i) for items in self.by_kind().values() for i in items],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_json(), ensure_ascii=False, indent=2)

    def lines(self) -> list[str]:
        """The report as plain text lines (no colour, no markup)."""
        checked = f"{self.leads_checked} leads and {self.plan_rows_checked} plan rows checked"
        head = f"Doctor: {self.target} on {self.today.isoformat()}"
        if self.ok:
            return [f"{head}: no problems found ({checked})."]
        groups = self.by_kind()
        n = len(self.problems)
        out = [
            f"{head}: {n} problem{'s' if n != 1 else ''} of {len(groups)} "
            f"kind{'s' if len(groups) != 1 else ''} ({checked})."
        ]
        blocking = len(self.blocking)
        if blocking:
            what = "this problem is" if blocking == 1 else f"these {blocking} problems are"
            out.append(f"The sync cannot run until {what} fixed (listed first).")
        for kind, items in groups.items():
            out.append(f"{KINDS.get(kind, kind)} ({len(items)}):")
            out.extend(f"  {issue}" for issue in items)
        return out

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"


def _problem_dict(issue: Issue) -> dict[str, Any]:
    data = issue.as_dict()
    value = data["value"]
    if value is not None and not isinstance(value, (str, int, float, bool)):
        value = str(value)
    if isinstance(value, float) and value != value:
        value = None
    return {
        "kind": issue.code,
        "tab": data["tab"],
        "row": data["row"],
        "column": data["column"],
        "value": value,
        "message": data["message"],
    }


# -- tabs ------------------------------------------------------------------------------


def _both_names(names: dict[str, str]) -> str:
    return " / ".join(f"'{n}'" for n in names.values())


def _match_tabs(snapshot: Snapshot, template: Template, problems: list[Issue]) -> tuple[dict[str, TabData], str]:
    """find_tabs without stopping: missing tabs (with a guess) and duplicates become problems."""
    found: dict[str, TabData] = {}
    votes = dict.fromkeys(LANGS, 0)
    claimed: set[str] = set()
    for tab in template.tabs:
        titles = [t for t in snapshot.tabs if tab.matches(t)]
        claimed.update(titles)
        if titles:
            found[tab.id] = snapshot.tabs[titles[0]]
            for lang, name in tab.names.items():
                if normalise(name) == normalise(titles[0]):
                    votes[lang] += 1
        for extra in titles[1:]:
            problems.append(
                Issue.of(
                    extra,
                    None,
                    None,
                    None,
                    "another tab named like {name!r} (the sync uses {used!r} and ignores this one); merge or rename it",
                    "duplicate-tab",
                    name=tab.names["en"],
                    used=titles[0],
                )
            )
    unclaimed = [t for t in snapshot.tabs if t not in claimed]
    lang = max(LANGS, key=lambda la: (votes[la], la == "en"))
    for tab in template.tabs:
        if tab.id in found:
            continue
        guess = _closest_title(tab, unclaimed)
        problems.append(
            Issue.of(
                tab.names[lang],
                None,
                None,
                None,
                _MISSING_TAB_GUESS if guess else _MISSING_TAB,
                "missing-tab",
                names=_both_names(tab.names),
                guess=guess,
                name=tab.names[lang],
                init=INIT,
            )
        )
    return found, lang


def _closest_title(tab: Tab, titles: list[str]) -> str | None:
    wanted = [normalise(n) for n in tab.names.values()]
    best: tuple[float, str] | None = None
    for title in titles:
        got = normalise(title)
        if not got:
            continue
        for name in wanted:
            score = difflib.SequenceMatcher(None, got, name).ratio()
            if got in name or name in got:
                score = max(score, 0.8)
            if score >= _TAB_CUTOFF and (best is None or score > best[0]):
                best = (score, title)
    return best[1] if best else None


# -- columns ---------------------------------------------------------------------------


def _column_drift(tab: Tab, data: TabData, lang: str, problems: list[Issue]) -> None:
    """Missing template columns, and unknown headers that look like one ("did you mean")."""
    present: set[str] = set()
    unknown: list[tuple[int, str]] = []
    for col, raw in enumerate(data.header):
        text = cell_text(raw)
        if not text:
            continue
        match = tab.match_header(text)
        if match is None:
            unknown.append((col, text))
        else:
            present.add(match.id)
    guesses = header_guesses(tab, dict.fromkeys(present, 0), unknown)
    for column in tab.columns:
        if column.id in present:
            continue
        name = column.names[lang]
        guess = guesses.get(column.id)
        if column.required:
            # What stops a sync, in the words the sync stops with.
            problems.append(
                Issue.of(
                    data.title,
                    1,
                    guess[1] if guess else name,
                    guess[1] if guess else None,
                    "{missing} The sync stops until then.",
                    "missing-key-column",
                    missing=missing_column_text(tab, column, guess),
                )
            )
        elif guess is not None:
            col, text = guess
            problems.append(
                Issue.of(
                    data.title,
                    1,
                    text,
                    text,
                    _RENAMED[_consequence_kind(column)],
                    "renamed-column",
                    letter=_letter(col),
                    name=name,
                    tab=tab.id,
                    header=text,
                    column=column.id,
                    init=INIT,
                )
            )
        else:
            problems.append(
                Issue.of(
                    data.title,
                    1,
                    name,
                    None,
                    _MISSING_COLUMN[_consequence_kind(column)],
                    "missing-column",
                    names=_both_names(column.names),
                    init=INIT,
                )
            )


def _consequence_kind(column: Column) -> str:
    """What a column's absence means to the sync: it stops, it adds the column, or it reads it as empty."""
    return "stops" if column.required else "adds" if column.owner == "tool" else "empty"


_MISSING_TAB = N_(
    "missing tab {names}; the sync stops until it exists. Or run: {init} — it adds the missing tab {name} and "
    "changes nothing else"
)
_MISSING_TAB_GUESS = N_(
    "missing tab {names}; is it the tab {guess!r}? Rename it back; the sync stops until it exists. Or run: {init} — "
    "it adds the missing tab {name} and changes nothing else"
)
_MISSING_COLUMN = {
    "stops": N_("missing column {names}; the sync stops"),
    "adds": N_(
        "missing column {names}; the next sync adds it after the last column (or run: {init} — it adds it and "
        "changes nothing else)"
    ),
    "empty": N_("missing column {names}; the sync reads it as empty"),
}
_RENAMED = {
    "stops": N_(
        "column {letter} is not a known header; did you mean {name!r}? The sync stops until it is renamed "
        '{name!r} or mapped in sheets-crm.toml: [columns.{tab}] "{header}" = "{column}"'
    ),
    "adds": N_(
        "column {letter} is not a known header; did you mean {name!r}? The next sync adds it after the last "
        "column (or run: {init} — it adds it and changes nothing else) until it is renamed {name!r} or mapped in "
        'sheets-crm.toml: [columns.{tab}] "{header}" = "{column}"'
    ),
    "empty": N_(
        "column {letter} is not a known header; did you mean {name!r}? The sync reads it as empty until it is "
        'renamed {name!r} or mapped in sheets-crm.toml: [columns.{tab}] "{header}" = "{column}"'
    ),
}


# -- leads -----------------------------------------------------------------------------


def _duplicates(leads: pd.DataFrame, lm: TabMap, region: str | None, problems: list[Issue]) -> None:
    """Leads sharing a phone number or an e-mail (the same project name is reading's warning)."""
    data = lm.data
    phone_col = lm.columns.get("phone") if "phone" not in lm.added else None
    email_col = lm.columns.get("email") if "email" not in lm.added else None
    first_by: dict[str, tuple[int, str, str]] = {}
    for row, lead_key, project in zip(
        leads["row"].tolist(), leads["key"].tolist(), leads["project"].tolist(), strict=True
    ):
        keys: list[tuple[str, str, tuple[str, str]]] = []
        if phone_col is not None:
            phone = cell_text(data.cell(row - 1, phone_col))
            if phone:
                check = check_phone(phone, region)
                if check.status == PhoneCheck.OK:
                    keys += [(f"phone:{n}", "phone", (phone, n)) for n in check.numbers]
                elif check.status == PhoneCheck.UNKNOWN:
                    # No region to read it with: the very same digits are still the same number.
                    digits = "".join(ch for ch in phone if ch.isdigit())
                    if len(digits) >= 7:
                        keys.append((f"digits:{digits}", "phone", (phone, digits)))
                else:
                    problems.append(
                        Issue(
                            data.title,
                            row,
                            lm.header_of("phone"),
                            phone,
                            N_("not a readable phone number")
                            if region
                            else N_("not a readable phone number (write it with its +country code)"),
                            "bad-phone",
                        )
                    )
        if email_col is not None:
            email = cell_text(data.cell(row - 1, email_col)).casefold()
            if "@" in email:
                keys.append((f"email:{email}", "e-mail", (cell_text(data.cell(row - 1, email_col)), email)))
        reported: set[int] = set()
        for key, what, shown in keys:
            first = first_by.get(key)
            if first is None:
                first_by[key] = (row, lead_key, project)
                continue
            first_row, first_key, first_project = first
            if first_key == lead_key or first_row in reported:
                continue  # same project name: reading already reports the pair
            reported.add(first_row)
            typed, canonical = shown
            same = f"same {what}" + (f" ({canonical})" if canonical != typed else "")
            problems.append(
                Issue(
                    data.title,
                    row,
                    lm.header_of("phone" if what == "phone" else "email"),
                    typed,
                    f"{same} as row {first_row} ({first_project!r}); probably one client entered twice",
                    "duplicate-lead",
                )
            )


def _duplicate_groups(leads: pd.DataFrame, lm: TabMap, region: str | None, problems: list[Issue]) -> None:
    """Leads that are probably one client, grouped, with every reason (same phone, e-mail, similar name)."""
    data = lm.data

    def text(row: int, column_id: str) -> str:
        col = lm.columns.get(column_id) if column_id not in lm.added else None
        return cell_text(data.cell(row - 1, col)) if col is not None else ""

    rows, projects = leads["row"].tolist(), leads["project"].tolist()
    records = [Record(r, p, text(r, "phone"), text(r, "email")) for r, p in zip(rows, projects, strict=True)]
    problems.extend(group_issues(data.title, lm.header_of("project"), records, region))


def _follow_ups(
    leads: pd.DataFrame,
    plan: pd.DataFrame,
    lm: TabMap,
    pm: TabMap,
    template: Template,
    today: dt.date,
    problems: list[Issue],
) -> None:
    """Open leads with nothing planned; leads left longer than their fade period."""
    planned = plan_crm(leads, plan, today, template, plan_title=pm.title, date_header=pm.header_of("date"))
    # The planner's own warnings (closed leads with open calls, Done rows in the future), in the sync's words.
    problems.extend(planned.issues)
    out = planned.leads
    settings = template.settings
    next_contact = out["next_contact"].isna().tolist()
    days_since: list[Any] = out["days_since_contact"].astype("Int64").tolist()
    last_contact = [_iso(d) for d in out["last_contact"].to_numpy(dtype="datetime64[ns]")]
    for i, (row, stage_text, project) in enumerate(
        zip(leads["row"].tolist(), leads["stage"].tolist(), leads["project"].tolist(), strict=True)
    ):
        stage = template.stage(stage_text)
        if stage is not None and stage.closed:
            continue
        if next_contact[i]:
            problems.append(
                Issue.of(
                    lm.title,
                    row,
                    lm.header_of("project"),
                    project,
                    N_(
                        "open lead ({stage}) with no next contact planned; "
                        "add a row to the Contact Plan (or close the lead)"
                    )
                    if stage_text
                    else N_(
                        "open lead with no next contact planned; add a row to the Contact Plan (or close the lead)"
                    ),
                    "no-next-contact",
                    stage=stage_text,
                )
            )
        days = days_since[i]
        if days is pd.NA:
            continue
        fade = stage.fade_days if stage is not None and stage.fade_days else settings.freshness_days
        if int(days) > fade:
            problems.append(
                Issue.of(
                    lm.title,
                    row,
                    lm.header_of("project"),
                    project,
                    N_("not contacted for {days} days (last contact {last}); {stage} leads fade after {fade} days")
                    if stage is not None and stage.fade_days
                    else N_("not contacted for {days} days (last contact {last}); leads fade after {fade} days"),
                    "stale-lead",
                    days=int(days),
                    last=last_contact[i],
                    stage=stage_text,
                    fade=fade,
                )
            )


def _iso(day: np.datetime64) -> str:
    return "" if np.isnat(day) else str(day.astype("datetime64[D]"))


def _odd_dates(plan: pd.DataFrame, pm: TabMap, today: dt.date, problems: list[Issue]) -> None:
    """Plan dates read fine but years away: usually a number typed where a date belongs."""
    col = pm.columns.get("date")
    for row, stamp in zip(plan["row"].tolist(), plan["date"].to_numpy(dtype="datetime64[ns]"), strict=True):
        day = dt.date.fromisoformat(_iso(stamp))
        years = abs((day - today).days) / 365.25
        if years <= _ODD_YEARS:
            continue
        raw = pm.data.cell(row - 1, col) if col is not None else None
        number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        problems.append(
            Issue.of(
                pm.title,
                row,
                pm.header_of("date"),
                raw,
                _ODD_DATE[(day < today, number)],
                "odd-date",
                day=day.isoformat(),
                years=int(years),
                number=cell_text(raw),
            )
        )


# -- the checks ------------------------------------------------------------------------


def diagnose(
    snapshot: Snapshot, template: Template | None = None, today: dt.date | None = None, *, target: str = ""
) -> Report:
    """Check one snapshot of a CRM. Pure: no I/O, no clock (``today`` is required)."""
    if today is None:
        raise ValueError("diagnose() needs today's date")
    template = template or default_template()
    problems: list[Issue] = []
    tabs, lang = _match_tabs(snapshot, template, problems)
    report = Report(target or snapshot.title, today, problems, lang)

    reading: list[Issue] = []
    maps: dict[str, TabMap] = {}
    for tab in template.tabs:
        data = tabs.get(tab.id)
        if data is None:
            continue
        _column_drift(tab, data, lang, problems)
        try:
            maps[tab.id] = _map_columns(tab, data, lang, reading, append=tab.id != "plan")
        except SheetShapeError:
            pass  # the missing key column is already a template-drift problem

    leads = None
    lm = maps.get("leads")
    keys: dict[str, str] = {}  # project text -> key, shared by both frames (as core.reading.read_tables does)
    if lm is not None:
        leads = _leads_frame(lm, template, reading, keys)
        report.leads_checked = len(leads)
    pm = maps.get("plan")
    plan = None
    if pm is not None:
        known = (
            leads
            if leads is not None
            else pd.DataFrame({"key": pd.Series([], dtype=object), "project": pd.Series([], dtype=object)})
        )
        plan_issues: list[Issue] = []
        title = lm.title if lm else "Leads"
        plan = _plan_frame(pm, template, snapshot.locale, known, title, plan_issues, today, keys)
        if leads is None:  # without Leads every project would look unknown: say nothing about them
            plan_issues = [i for i in plan_issues if i.code != "unknown-project"]
        reading.extend(plan_issues)
        _odd_dates(plan, pm, today, problems)
        report.plan_rows_checked = sum(1 for line in pm.data.values[1:] if any(cell_text(v) for v in line))
    # The sync's warnings, in its own words. A tool column it would add, or a header it would
    # guess at, is drift, reported above.
    problems.extend(i for i in reading if i.code not in ("added-column", "unknown-header"))

    if lm is not None and leads is not None:
        _duplicates(leads, lm, region_for_locale(snapshot.locale), problems)
        _duplicate_groups(leads, lm, region_for_locale(snapshot.locale), problems)
        if plan is not None and pm is not None:
            _follow_ups(leads, plan, lm, pm, template, today, problems)
    # The command that fixes a missing tab or tool column, with this workbook in it.
    problems[:] = [_with_init(p, target) for p in problems]
    return report


def run_doctor(
    target: str,
    credentials: str | None = None,
    today: dt.date | None = None,
    tz: str | None = None,
    *,
    template: Template | None = None,
    locale: str | None = None,
) -> Report:
    """Open ``target`` (a .xlsx path, a Sheets URL or id) read-only and diagnose it.

    Only ``Workbook.read()`` is called: nothing is ever written. Raises
    :class:`~sheets_crm.errors.CrmError` when the workbook cannot be opened.
    """
    from sheets_crm.app.sync import resolve_today
    from sheets_crm.backends import open_workbook

    workbook = open_workbook(target, credentials=credentials)
    if locale and hasattr(workbook, "locale"):
        workbook.locale = locale
    snapshot = workbook.read()
    day = resolve_today(snapshot, today, tz)
    template = template or default_template()
    report = diagnose(snapshot, template, day, target=workbook.name or target)
    if workbook.computes:
        report.problems.extend(_live_problems(workbook, snapshot, template))
    return report


def _live_problems(workbook: Workbook, snapshot: Snapshot, template: Template) -> list[Issue]:
    """What a person did to the tool cells the sheet computes itself (Google: the Days since contact
    formula, the freshness colour rules), asked of the backend: the snapshot's values cannot show it."""
    tabs, lang = _match_tabs(snapshot, template, [])
    data = tabs.get("leads")
    if data is None:
        return []
    try:
        lm = _map_columns(template.leads, data, lang, [], append=False)
    except SheetShapeError:
        return []
    live = LiveColumns.build(template, lm.title, data.height, lm.columns)
    if live is None:
        return []
    key = lm.columns["project"]
    rows = [r for r in range(1, data.height) if cell_text(data.cell(r, key))]
    return workbook.live_problems(snapshot, live, rows)


_ODD_DATE = {
    (True, False): N_("dated {day}, {years} years ago"),
    (False, False): N_("dated {day}, {years} years from now"),
    (True, True): N_(
        "dated {day}, {years} years ago; the cell holds the number {number}, read as a day count from 1899-12-30"
    ),
    (False, True): N_(
        "dated {day}, {years} years from now; the cell holds the number {number}, read as a day count from 1899-12-30"
    ),
}


def _with_init(problem: Issue, target: str) -> Issue:
    """A problem naming the fixing command, with this workbook in the command."""
    if "init" in problem.params:
        p = problem
        return Issue.of(
            p.tab, p.row, p.column, p.value, p.msgid, p.code, **{**p.params, "init": fixing_command(target)}
        )
    return replace(problem, message=with_init_command(problem.message, target))
