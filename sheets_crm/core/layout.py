"""What a CRM looks like, derived from the template for one language, and what an existing one lacks.

Both backends render this same description (openpyxl styles locally, a
``batchUpdate`` on Google), so a new workbook looks the same everywhere.
:func:`plan_adoption` compares a person's workbook with it: the tabs, tool
columns, header fills and dropdowns ``init`` adds, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sheets_crm.core.model import KEEP, CellChange, ChangeSet, Snapshot, TabData
from sheets_crm.core.reading import cell_text, first_free_column
from sheets_crm.core.template import LANGS, Tab, Template
from sheets_crm.core.text import normalise
from sheets_crm.errors import ConfigError

__all__ = ["ColumnLayout", "TabLayout", "build_layout", "header_width", "Adoption", "Dropdown", "plan_adoption"]


@dataclass(frozen=True)
class ColumnLayout:
    header: str
    id: str
    width: int  # in characters; Google converts to pixels
    tool: bool  # grey header, protected (warning-only) on Google
    type: str
    #: Dropdown choices (Status, Stage); not strict, synonyms stay allowed.
    choices: tuple[str, ...] = ()
    #: Conditional fills on this column: (exact text, RRGGBB).
    highlights: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TabLayout:
    id: str
    title: str
    columns: tuple[ColumnLayout, ...]
    frozen_rows: int = 1
    header_fill_user: str = ""
    header_fill_tool: str = ""
    date_format: str = "yyyy-mm-dd"
    notes: dict[str, str] = field(default_factory=dict)
    #: Printing (local files; Google Sheets has no print settings in its API): paper size, landscape,
    #: one page wide, the header rows repeated on every page.
    paper: str = "A4"


#: The paper people of a language print on (US Letter in English, as Excel's own default; A4 elsewhere).
_PAPER = {"en": "letter", "ru": "A4"}


def header_width(text: str) -> int:
    """The column width (in characters of the default font, as .xlsx and the template count) a bold
    header needs to show whole: capitals and Cyrillic letters are wider than the digit the unit is
    measured in, a space narrower; plus a margin each side."""
    units = 0.0
    for ch in text:
        if ch == " ":
            units += 0.55
        elif ch.isupper():
            units += 1.3
        elif ch.isalpha() and not ch.isascii():
            units += 1.1  # Cyrillic lower case (bold) runs wider than Latin
        else:
            units += 1.0
    return int(units + 0.999) + 2


def build_layout(template: Template, lang: str) -> list[TabLayout]:
    """The tabs as ``init`` lays them out in ``lang``; every column at least as wide as its header."""
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}; use one of: {', '.join(LANGS)}")
    statuses = tuple(template.status_label(kind, lang) for kind in ("open", "done", "cancelled"))
    stages = tuple(s.labels[lang] for s in template.stages)
    stage_colors = tuple((s.labels[lang], s.color) for s in template.stages if s.color)
    tabs = []
    for tab in template.tabs:
        cols = []
        for col in tab.columns:
            choices: tuple[str, ...] = ()
            highlights: tuple[tuple[str, str], ...] = ()
            if col.type == "status":
                choices = statuses
            elif col.type == "stage":
                choices, highlights = stages, stage_colors
            header = col.names[lang]
            width = max(col.width, header_width(header))
            cols.append(ColumnLayout(header, col.id, width, col.owner == "tool", col.type, choices, highlights))
        tabs.append(
            TabLayout(
                tab.id,
                tab.names[lang],
                tuple(cols),
                header_fill_user=template.settings.user_header_color,
                header_fill_tool=template.settings.tool_header_color,
                date_format=template.settings.date_format,
                paper=_PAPER.get(lang, "A4"),
            )
        )
    return tabs


# -- adopting a workbook a person already has ------------------------------------------------------


@dataclass(frozen=True)
class Dropdown:
    """A Status/Stage dropdown to lay on a column's body (row 2 down) when it has none yet."""

    tab: str  #: the tab's title as in the workbook
    col: int  #: 0-based column
    choices: tuple[str, ...]
    header: str = ""  #: the column's header as in the workbook


@dataclass
class Adoption:
    """What ``init`` adds to an existing workbook: only what is missing, nothing of the person's moves.

    ``changes`` holds the new tabs (``new_tabs``) with their header cells, the headers of missing
    tool columns (right of the last used column) and the tool header fill where a tool header has
    none; ``dropdowns`` are laid by the backend only where the column has no validation yet.
    """

    lang: str
    changes: ChangeSet
    dropdowns: list[Dropdown] = field(default_factory=list)
    added_tabs: list[str] = field(default_factory=list)
    #: (tab title, header, 0-based column)
    added_columns: list[tuple[str, str, int]] = field(default_factory=list)
    #: (tab title, header) of existing tool headers given the tool header fill
    filled_headers: list[tuple[str, str]] = field(default_factory=list)
    #: Person's columns the sync needs but the workbook lacks (init cannot invent their data).
    still_missing: list[str] = field(default_factory=list)


def _vote_lang(template: Template, snapshot: Snapshot, default: str) -> tuple[dict[str, TabData], str]:
    found: dict[str, TabData] = {}
    votes = dict.fromkeys(LANGS, 0)
    for tab in template.tabs:
        for title, data in snapshot.tabs.items():
            if tab.matches(title) and tab.id not in found:
                found[tab.id] = data
                for lang, name in tab.names.items():
                    if normalise(name) == normalise(title):
                        votes[lang] += 1
    if not any(votes.values()):
        return found, default
    return found, max(LANGS, key=lambda la: (votes[la], la == default))


def plan_adoption(template: Template, snapshot: Snapshot, lang: str = "en") -> Adoption:
    """What to add to ``snapshot`` so it is a CRM: missing tabs, missing tool columns, header fills,
    dropdowns. Never a change to a cell holding the person's text. ``lang`` is used only when the
    workbook has no CRM tab to tell its language."""
    found, lang = _vote_lang(template, snapshot, lang)
    layouts = {t.id: t for t in build_layout(template, lang)}
    out = Adoption(lang, ChangeSet())
    for tab in template.tabs:
        layout = layouts[tab.id]
        data = found.get(tab.id)
        if data is None:
            _add_tab(out, layout)
        else:
            _complete_tab(out, tab, layout, data)
    return out


def _header_fill(layout: TabLayout, col: ColumnLayout) -> Any:
    color = layout.header_fill_tool if col.tool else layout.header_fill_user
    return color or KEEP


def _add_tab(out: Adoption, layout: TabLayout) -> None:
    out.changes.new_tabs[layout.title] = False
    out.added_tabs.append(layout.title)
    for i, col in enumerate(layout.columns):
        out.changes.changes.append(CellChange(layout.title, 0, i, col.header, fill=_header_fill(layout, col)))
        if col.choices:
            out.dropdowns.append(Dropdown(layout.title, i, col.choices, col.header))


def _complete_tab(out: Adoption, tab: Tab, layout: TabLayout, data: TabData) -> None:
    columns: dict[str, int] = {}
    ranks: dict[str, int] = {}
    for index, raw in enumerate(data.header):
        found = tab.match_rank(cell_text(raw)) if cell_text(raw) else None
        if found is not None and (found[0].id not in columns or found[1] < ranks[found[0].id]):
            columns[found[0].id], ranks[found[0].id] = index, found[1]
    next_col = first_free_column(data)
    for col in layout.columns:
        at = columns.get(col.id)
        if at is not None:
            if col.tool and layout.header_fill_tool and data.fill(0, at) is None:
                out.changes.changes.append(CellChange(data.title, 0, at, fill=layout.header_fill_tool))
                out.filled_headers.append((data.title, cell_text(data.cell(0, at))))
            if col.choices:
                out.dropdowns.append(Dropdown(data.title, at, col.choices, cell_text(data.cell(0, at))))
        elif col.tool:
            out.changes.changes.append(CellChange(data.title, 0, next_col, col.header, fill=_header_fill(layout, col)))
            out.added_columns.append((data.title, col.header, next_col))
            next_col += 1
        elif tab.column(col.id).required:
            names = " / ".join(f"'{n}'" for n in tab.column(col.id).names.values())
            out.still_missing.append(
                f"{data.title}: no column {names}; add it, or map your header in sheets-crm.toml: "
                f'[columns.{tab.id}] "Your header" = "{col.id}"'
            )
