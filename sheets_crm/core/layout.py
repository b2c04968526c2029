"""What a fresh CRM looks like, derived from the template for one language.

Both backends render this same description (openpyxl styles locally, a
``batchUpdate`` on Google), so a new workbook looks the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sheets_crm.core.template import LANGS, Template
from sheets_crm.errors import ConfigError

__all__ = ["ColumnLayout", "TabLayout", "build_layout"]


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


def build_layout(template: Template, lang: str) -> list[TabLayout]:
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
            cols.append(
                ColumnLayout(col.names[lang], col.id, col.width, col.owner == "tool", col.type, choices, highlights)
            )
        tabs.append(
            TabLayout(
                tab.id,
                tab.names[lang],
                tuple(cols),
                header_fill_user=template.settings.user_header_color,
                header_fill_tool=template.settings.tool_header_color,
                date_format=template.settings.date_format,
            )
        )
    return tabs
