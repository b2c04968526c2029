"""From a raw snapshot to typed tables, with a warning for every bad cell.

This is where the brief's "bad input never crashes a sync" lives: tabs are
found by name in either language, columns by header text in any order, and
every cell that cannot be understood becomes an :class:`Issue` naming tab,
row, column and value. Missing tabs or key columns raise
:class:`SheetShapeError` before anything is planned or written.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sheets_crm.core.dates import parse_dates
from sheets_crm.core.model import Issue, Msg, Snapshot, TabData
from sheets_crm.core.template import LANGS, SYNONYM, Column, Tab, Template, header_likeness
from sheets_crm.core.text import column_letter as _letter
from sheets_crm.core.text import normalise
from sheets_crm.errors import N_, SheetShapeError, WriteOutcome

__all__ = [
    "TabMap",
    "Tables",
    "read_tables",
    "cell_text",
    "filled_rows",
    "Coded",
    "is_none",
    "find_tabs",
    "first_free_column",
    "header_guesses",
    "missing_column_text",
    "INIT",
    "MISSING_TAB",
    "MISSING_COLUMN",
    "MISSING_COLUMN_GUESS",
]


#: The command that completes a workbook; the app retells a missing-tab error with the workbook in it.
INIT = "sheets-crm init"
MISSING_TAB = N_(
    "missing tab {names} (the workbook has: {have}). Rename the tab back if it is there under another "
    "name, or run: {init} — it adds the missing tab {adds} and changes nothing else."
)
MISSING_COLUMN = N_(
    "missing column {names} in the header row (row 1). Add it, or if it is there under another "
    'header, map that header in sheets-crm.toml: [columns.{tab}] "Their header" = "{column}".'
)
MISSING_COLUMN_GUESS = N_(
    "missing column {names} in the header row (row 1); did you mean {header!r} (column {letter})? "
    "Rename that header to {name!r}, or map it in sheets-crm.toml: {hint}."
)


@dataclass
class TabMap:
    """Where a template tab's columns sit in the sheet as the person laid it out."""

    tab: Tab
    data: TabData
    columns: dict[str, int]
    headers: dict[int, str]
    #: Template columns missing from the sheet, appended by the sync (id -> col).
    added: dict[str, int] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.data.title

    def header_of(self, column_id: str) -> str:
        col = self.columns[column_id]
        return self.headers.get(col, column_id)


@dataclass
class Tables:
    lang: str
    leads_map: TabMap
    plan_map: TabMap
    calls_map: TabMap
    leads: pd.DataFrame
    plan: pd.DataFrame
    issues: list[Issue]


def cell_text(value: Any) -> str:
    """A cell as the text a person would read in it."""
    if type(value) is str:  # the common case first
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer():
            return str(int(value))  # phone numbers typed as numbers
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def find_tabs(snapshot: Snapshot, template: Template) -> tuple[dict[str, TabData], str]:
    """Match the workbook's tabs to the template's, and guess its language."""
    found: dict[str, TabData] = {}
    lang_votes: dict[str, int] = {lang: 0 for lang in LANGS}
    for tab in template.tabs:
        for title, data in snapshot.tabs.items():
            if tab.matches(title):
                found.setdefault(tab.id, data)
                for lang, name in tab.names.items():
                    if normalise(name) == normalise(title):
                        lang_votes[lang] += 1
    missing = [tab for tab in template.tabs if tab.id not in found]
    lang = max(LANGS, key=lambda la: (lang_votes[la], la == "en"))
    if missing:
        names = "; ".join(" / ".join(f"'{n}'" for n in tab.names.values()) for tab in missing)
        have = ", ".join(f"'{t}'" for t in snapshot.tabs) or "none"
        adds = ", ".join(tab.names[lang] for tab in missing)
        # {init} is "sheets-crm init" here; the app retells the error with the workbook in the command.
        raise SheetShapeError.of(
            MISSING_TAB, outcome=WriteOutcome.UNTOUCHED, lang=lang, names=names, have=have, adds=adds, init=INIT
        )
    return found, lang


def _map_columns(tab: Tab, data: TabData, lang: str, issues: list[Issue], append: bool) -> TabMap:
    columns: dict[str, int] = {}
    rank_of: dict[str, int] = {}
    headers: dict[int, str] = {}
    unmatched: list[tuple[int, str]] = []
    for col, raw in enumerate(data.header):
        text = cell_text(raw)
        headers[col] = text
        if not text:
            if _column_has_data(data, col):
                issues.append(
                    Issue.of(
                        data.title,
                        1,
                        _letter(col),
                        None,
                        "column {letter} has data but no header; it is ignored",
                        "blank-header",
                        letter=_letter(col),
                    )
                )
            continue
        found = tab.match_rank(text)
        if found is None:
            unmatched.append((col, text))  # a column of the person's own: never touched
            continue
        match, rank = found
        if match.id not in columns or rank < rank_of[match.id]:
            # The person's mapping beats a name, a name beats a synonym: with "Project" and
            # "Client" both present, "Client" stays the person's own column.
            columns[match.id], rank_of[match.id] = col, rank
        elif rank == rank_of[match.id] and rank != SYNONYM:
            first = headers[columns[match.id]]
            issues.append(
                Issue.of(
                    data.title,
                    1,
                    text,
                    text,
                    "duplicate header: column {letter} repeats {first!r} (column {first_letter}); "
                    "only the first is used",
                    "duplicate-header",
                    letter=_letter(col),
                    first=first,
                    first_letter=_letter(columns[match.id]),
                )
            )
    guesses = header_guesses(tab, columns, unmatched)
    missing_required = [c for c in tab.required_columns if c.id not in columns]
    if missing_required:
        raise SheetShapeError.of(
            "{tab}: {missing}",
            outcome=WriteOutcome.UNTOUCHED,
            lang=lang,
            tab=data.title,
            missing=tuple(missing_column_text(tab, c, guesses.get(c.id)) for c in missing_required),
        )
    for column_id, (_col, text) in guesses.items():
        column = tab.column(column_id)
        issues.append(
            Issue.of(
                data.title,
                1,
                text,
                text,
                _unrecognised(column),
                "unknown-header",
                name=column.names[lang],
                mapping=_mapping_hint(tab, column, text),
            )
        )
    added: dict[str, int] = {}
    if append:
        next_col = first_free_column(data) if any(c.id not in columns for c in tab.tool_columns) else 0
        for column in tab.tool_columns:
            if column.id not in columns:
                columns[column.id] = added[column.id] = next_col
                headers[next_col] = column.names[lang]
                issues.append(
                    Issue.of(
                        data.title,
                        1,
                        column.names[lang],
                        None,
                        "tool column was missing; added it as column {letter}",
                        "added-column",
                        letter=_letter(next_col),
                    )
                )
                next_col += 1
    return TabMap(tab, data, columns, headers, added)


#: How alike (:func:`header_likeness`) an unknown header must be to a column's name or synonym
#: to be offered as "did you mean": "Phne"→"Phone" 0.89, "Data"→"Date" 0.75; "Source"→"Score" 0.73 is not.
GUESS_CUTOFF = 0.75


def header_guesses(tab: Tab, columns: dict[str, int], unmatched: list[tuple[int, str]]) -> dict[str, tuple[int, str]]:
    """For template columns not found, the unrecognised header that looks most like each ("did you mean").

    Each header is guessed for at most one column, the missing columns in template order.
    """
    guesses: dict[str, tuple[int, str]] = {}
    taken: set[int] = set()
    for column in tab.columns:
        if column.id in columns:
            continue
        best: tuple[float, int, str] | None = None
        for col, text in unmatched:
            score = header_likeness(text, column)
            if col not in taken and score >= GUESS_CUTOFF and (best is None or score > best[0]):
                best = (score, col, text)
        if best is not None:
            guesses[column.id] = (best[1], best[2])
            taken.add(best[1])
    return guesses


def missing_column_text(tab: Tab, column: Column, guess: tuple[int, str] | None) -> Msg:
    """Why a required column stops the sync, and the two ways to fix it (``str()`` of it: in English)."""
    names = " / ".join(f"'{n}'" for n in column.names.values())
    if guess is None:
        return Msg(MISSING_COLUMN, {"names": names, "tab": tab.id, "column": column.id})
    col, text = guess
    return Msg(
        MISSING_COLUMN_GUESS,
        {
            "names": names,
            "header": text,
            "letter": _letter(col),
            "name": column.names["en"],
            "hint": _mapping_hint(tab, column, text),
        },
    )


def _mapping_hint(tab: Tab, column: Column, header: str) -> str:
    return f'[columns.{tab.id}] "{header}" = "{column.id}"'


def _unrecognised(column: Column) -> str:
    """The warning for a header that looks like ``column``'s, by what its absence means to the sync."""
    if column.required:
        return N_(
            "header not recognised; did you mean {name!r}? Until then the sync stops. "
            "Rename it, or map it in sheets-crm.toml: {mapping}"
        )
    if column.owner == "tool":
        return N_(
            "header not recognised; did you mean {name!r}? Until then the sync adds its own column after the "
            "last one. Rename it, or map it in sheets-crm.toml: {mapping}"
        )
    return N_(
        "header not recognised; did you mean {name!r}? Until then the column is read as empty. "
        "Rename it, or map it in sheets-crm.toml: {mapping}"
    )


def first_free_column(data: TabData) -> int:
    """The first column right of everything: header text or any cell's data."""
    if data.columnar:
        for col in range(data.width - 1, -1, -1):
            if Coded(data.column(col)).any_text():
                return col + 1
        return 0
    last = -1
    for row in data.values:
        for col in range(len(row) - 1, last, -1):
            if cell_text(row[col]):
                last = col
                break
    return last + 1


def _column_has_data(data: TabData, col: int) -> bool:
    if data.columnar:
        return Coded(data.column(col)[1:]).any_text()
    return any(col < len(row) and cell_text(row[col]) for row in data.values[1:])


class Coded:
    """A column as codes into its distinct cells, so per-cell work is done once per distinct value.

    A plan of a million rows has a few hundred distinct dates, statuses and owners and one
    project name per lead: parsing, stripping and normalising those, then gathering by code,
    is what keeps reading a column-at-a-time numpy operation. Empty cells (None) cost nothing.
    """

    def __init__(self, raw: np.ndarray) -> None:
        codes, uniques = pd.factorize(raw)  # None/NaN → -1 (both read as an empty cell)
        self.raw = raw
        self.codes: np.ndarray = codes
        self.uniques: list[Any] = list(uniques)
        # Python's True == 1 == 1.0 merged them; they read differently (TRUE vs 1, not a date vs
        # serial day 1), so such cells are coded again by type.
        odd = [i for i, u in enumerate(self.uniques) if type(u) is not str and _bool_like(u)]
        if odd:
            index: dict[tuple[type, Any], int] = {}
            for pos in np.flatnonzero(np.isin(codes, odd)).tolist():
                value = raw[pos]
                code = index.setdefault((type(value), value), len(self.uniques))
                if code == len(self.uniques):
                    self.uniques.append(value)
                codes[pos] = code

    def table(self, fn: Callable[[Any], Any], missing: Any, dtype: Any = object) -> np.ndarray:
        """``fn`` of each distinct cell, then ``missing`` (the empty cell's entry, code -1)."""
        table = np.empty(len(self.uniques) + 1, dtype=dtype)
        table[:-1] = [fn(u) for u in self.uniques]
        table[-1] = missing
        return table

    def map(self, fn: Callable[[Any], Any], missing: Any, dtype: Any = object) -> np.ndarray:
        """``fn`` of every cell (``missing`` for empty ones), computing it once per distinct cell."""
        out: np.ndarray = self.table(fn, missing, dtype)[self.codes]
        return out

    def text(self) -> np.ndarray:
        return self.map(cell_text, "")

    def empty(self) -> np.ndarray:
        """Where the cell reads as nothing (empty, or only spaces)."""
        return self.map(lambda u: not cell_text(u), True, bool)

    def any_text(self) -> bool:
        return any(cell_text(u) for u in self.uniques)


def _bool_like(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)


def filled_rows(data: TabData, skip: Collection[int] = ()) -> np.ndarray:
    """The rows (1 = the first under the header) with text in any column but ``skip``, ascending.

    Column by column (each column's distinct cells read once), so a tab held by columns is
    never turned into rows for it.
    """
    filled = np.zeros(max(data.height - 1, 0), dtype=bool)
    for col in range(data.width):
        if col not in skip:
            filled |= ~Coded(data.column(col)[1:]).empty()
    out: np.ndarray = np.flatnonzero(filled) + 1
    return out


_NONE = np.array(None, dtype=object)


def is_none(values: np.ndarray) -> np.ndarray:
    """Where an object array holds None (NaN is not None: it is a value, if an odd one)."""
    return np.asarray(values == _NONE, dtype=bool)


def _raw_column(data: TabData, col: int | None) -> np.ndarray:
    """The data cells (header row left out) of column ``col``; all empty for a column the sheet lacks."""
    if col is None:
        return np.full(max(data.height - 1, 0), None, dtype=object)
    return data.column(col)[1:]


def _objects(values: np.ndarray) -> pd.Series:
    """Text cells as an object column (pandas would infer its str dtype; the planner works on objects)."""
    return pd.Series(values, dtype=object, copy=False)


def _text_column(data: TabData, col: int | None) -> np.ndarray:
    return Coded(_raw_column(data, col)).text()


def _key_table(projects: Coded, known: dict[str, str]) -> np.ndarray:
    """Per distinct project cell, its matching key (normalising each name once: ``known`` remembers)."""

    def key(cell: Any) -> str:
        text = cell_text(cell)
        found = known.get(text)
        if found is None:
            found = known[text] = normalise(text)
        return found

    return projects.table(key, "")


def read_tables(snapshot: Snapshot, template: Template, today: dt.date | None = None) -> Tables:
    """Snapshot → typed Leads and Contact Plan frames plus warnings.

    ``today`` places dates typed without a year ("28.11", "28 ноября") on the nearest
    such day; without it they are reported as unreadable.
    """
    tabs, lang = find_tabs(snapshot, template)
    issues: list[Issue] = []
    leads_map = _map_columns(template.leads, tabs["leads"], lang, issues, append=True)
    plan_map = _map_columns(template.plan, tabs["plan"], lang, issues, append=True)
    calls_map = _map_columns(template.calls, tabs["calls"], lang, issues, append=True)
    known: dict[str, str] = {}  # project text -> key, shared: the plan repeats the leads' names
    leads = _leads_frame(leads_map, template, issues, known)
    plan = _plan_frame(plan_map, template, snapshot.locale, leads, leads_map.title, issues, today, known)
    return Tables(lang, leads_map, plan_map, calls_map, leads, plan, issues)


def _leads_frame(tm: TabMap, template: Template, issues: list[Issue], known: dict[str, str]) -> pd.DataFrame:
    data = tm.data
    get = tm.columns.get
    projects = Coded(_raw_column(data, get("project")))
    frame = pd.DataFrame(
        {
            "row": np.arange(2, data.height + 1, dtype="int64"),
            "project": _objects(projects.text()),
            "contact": _objects(_text_column(data, get("contact"))),
            "phone": _objects(_text_column(data, get("phone"))),
            "stage": _objects(_text_column(data, get("stage"))),
            "owner": _objects(_text_column(data, get("owner"))),
        }
    )
    frame["key"] = _key_table(projects, known)[projects.codes]
    # Anything a person typed counts, in the person's own columns too; only tool cells do not.
    tool_cols = {c for cid, c in tm.columns.items() if tm.tab.column(cid).owner == "tool"}
    nameless = frame["key"] == ""
    if nameless.any():
        # A row with the person's data but no Project is reported, not guessed at.
        for idx in np.flatnonzero(nameless.to_numpy()).tolist():
            row = data.row(idx + 1)
            if any(cell_text(v) for c, v in enumerate(row) if c not in tool_cols):
                issues.append(
                    Issue(
                        data.title,
                        idx + 2,
                        tm.header_of("project"),
                        None,
                        "row has data but no project name; skipped",
                        "no-key",
                    )
                )
    frame = frame[~nameless].reset_index(drop=True)
    rows: list[int] = frame["row"].tolist()
    keys: list[str] = frame["key"].tolist()
    dup = frame["key"].duplicated(keep=False)
    if dup.any():
        first_row: dict[str, int] = {}
        for sheet_row, key in zip(rows, keys, strict=True):
            first_row.setdefault(key, sheet_row)
        names: list[str] = frame["project"].tolist()
        for i in np.flatnonzero((dup & frame["key"].duplicated(keep="first")).to_numpy()).tolist():
            issues.append(
                Issue.of(
                    data.title,
                    rows[i],
                    tm.header_of("project"),
                    names[i],
                    "duplicate project (also row {first}); both rows show the same contact history",
                    "duplicate-lead",
                    first=first_row[keys[i]],
                )
            )
    stages: list[str] = frame["stage"].tolist()
    unknown = {st for st in dict.fromkeys(stages) if st != "" and template.stage(st) is None}
    for i in [i for i, st in enumerate(stages) if st in unknown] if unknown else []:
        issues.append(
            Issue(
                data.title,
                rows[i],
                tm.header_of("stage"),
                stages[i],
                "unknown stage; treated as an open deal",
                "unknown-stage",
            )
        )
    return frame


def _plan_frame(
    tm: TabMap,
    template: Template,
    locale: str | None,
    leads: pd.DataFrame,
    leads_title: str,
    issues: list[Issue],
    today: dt.date | None = None,
    known: dict[str, str] | None = None,
) -> pd.DataFrame:
    data = tm.data
    get = tm.columns.get
    date_col = get("date")
    projects = Coded(_raw_column(data, get("project")))
    statuses = Coded(_raw_column(data, get("status")))
    topics = Coded(_raw_column(data, get("topic")))
    results = Coded(_raw_column(data, get("result")))
    keys = _key_table(projects, {} if known is None else known)
    status_kind = {text: template.status_kind(text) for text in {cell_text(u) for u in statuses.uniques} | {""}}
    dates, bad = _dates(_raw_column(data, date_col), locale, today)
    frame = pd.DataFrame(
        {
            "row": np.arange(2, data.height + 1, dtype="int64"),
            "project": _objects(projects.text()),
            "topic": _objects(topics.text()),
            "status_text": _objects(statuses.text()),
            "result": _objects(results.text()),
            "owner": _objects(_text_column(data, get("owner"))),
            "key": keys[projects.codes],
            "date": dates,
            "status": statuses.map(lambda u: status_kind[cell_text(u)] or "open", status_kind[""] or "open"),
        }
    )
    unknown = statuses.map(lambda u: status_kind[cell_text(u)] is None, status_kind[""] is None, bool)

    blank = (keys == "")[projects.codes] & topics.empty() & statuses.empty() & results.empty()
    # Only a row with nothing in it at all (its Date included) is silently blank: an
    # Owner alone, or a note in the person's own column, makes a row that is
    # skipped with a warning.
    for idx in np.flatnonzero(blank).tolist():
        if any(cell_text(v) for v in data.row(idx + 1)):
            blank[idx] = False
    if blank.any():
        keep = ~blank
        frame, bad, unknown = frame[keep], bad[keep], unknown[keep]

    title = data.title
    # The frame keeps the sheet's positions as its index: position p is sheet row p + 2.
    for idx in _labels(frame, bad):
        typed = None if date_col is None else data.cell(idx + 1, date_col)
        issues.append(Issue(title, idx + 2, tm.header_of("date"), typed, BAD_DATE_MESSAGE, "bad-date"))
    no_date = frame["date"].isna().to_numpy() & ~bad & (frame["status"] != "cancelled").to_numpy()
    for idx in _labels(frame, no_date):
        issues.append(Issue(title, idx + 2, tm.header_of("date"), None, "no date; row ignored", "no-date"))
    # the labels to suggest, in the sheet's language (told by the tab's name)
    la = next((la for la, name in tm.tab.names.items() if normalise(name) == normalise(title)), "en")
    for idx in _labels(frame, unknown):
        issues.append(
            Issue.of(
                title,
                idx + 2,
                tm.header_of("status"),
                frame.at[idx, "status_text"],
                "unknown status; treated as {planned} (use {done}/{cancelled})",
                "unknown-status",
                **{
                    k: template.status_label(kind, la)
                    for k, kind in (("planned", "open"), ("done", "done"), ("cancelled", "cancelled"))
                },
            )
        )
    at = frame.index.to_numpy()
    no_project = (keys == "")[projects.codes[at]]
    for idx in _labels(frame, no_project):
        issues.append(Issue(title, idx + 2, tm.header_of("project"), None, "no project name; row ignored", "no-key"))
    lead_keys = set(leads["key"].tolist())
    in_leads = np.array([k in lead_keys for k in keys.tolist()], dtype=bool)
    stray = ~in_leads[projects.codes[at]] & ~no_project
    if stray.any():
        _unknown_projects(frame, stray, leads, tm, leads_title, issues)
    usable = ~no_project & frame["date"].notna().to_numpy()
    out: pd.DataFrame = frame[usable].reset_index(drop=True)
    return out


def _dates(raw: np.ndarray, locale: str | None, today: dt.date | None) -> tuple[np.ndarray, np.ndarray]:
    """(datetime64 dates, bad) of a column: each distinct cell parsed once (:func:`parse_dates`)."""
    coded = Coded(raw)
    parsed, bad = parse_dates(pd.Series(coded.uniques, dtype=object), locale, today)
    dates = np.append(parsed.to_numpy(dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    return dates[coded.codes], np.append(bad.to_numpy(dtype=bool), False)[coded.codes]


#: What a person reads when a date cannot be read (the Issue carries the text as typed).
BAD_DATE_MESSAGE = N_("not a date; row ignored")


def _labels(frame: pd.DataFrame, mask: np.ndarray) -> list[int]:
    """The index labels (sheet positions) of the frame's rows where ``mask`` holds."""
    return [int(i) for i in frame.index.to_numpy()[mask]]


def _unknown_projects(
    frame: pd.DataFrame, stray: np.ndarray, leads: pd.DataFrame, tm: TabMap, leads_title: str, issues: list[Issue]
) -> None:
    """A warning per plan row naming a project Leads does not have, with the closest name."""
    by_key: dict[str, str] = {}
    for name in dict.fromkeys(leads["project"].tolist()):
        by_key.setdefault(normalise(name), str(name))  # the first spelling, as Calls Today shows it
    hints: dict[str, str] = {}
    for idx in _labels(frame, stray):
        typed = str(frame.at[idx, "project"])
        key = str(frame.at[idx, "key"])
        if key not in hints:
            close = difflib.get_close_matches(key, list(by_key), n=1, cutoff=0.6)
            hints[key] = by_key[close[0]] if close else ""
        issues.append(
            Issue.of(
                tm.title,
                idx + 2,
                tm.header_of("project"),
                typed,
                N_("project not found in {leads}; did you mean {guess!r}?")
                if hints[key]
                else N_("project not found in {leads}"),
                "unknown-project",
                leads=leads_title,
                guess=hints[key],
            )
        )
