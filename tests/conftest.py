"""Cheap fixtures: a template, snapshots built from rows, workbooks on disk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from sheets_crm.backends.local.workbook import create_workbook, save_atomically
from sheets_crm.core.layout import build_layout
from sheets_crm.core.model import Snapshot, TabData
from sheets_crm.core.template import Template, default_template

TODAY = dt.date(2026, 11, 22)
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def template() -> Template:
    return default_template()


def header(template: Template, tab_id: str, lang: str = "en") -> list[str]:
    return [c.names[lang] for c in template.tab(tab_id).columns]


def user_header(template: Template, tab_id: str, lang: str = "en") -> list[str]:
    return [c.names[lang] for c in template.tab(tab_id).columns if c.owner == "user"]


def make_snapshot(
    template: Template,
    leads: list[list[Any]],
    plan: list[list[Any]],
    *,
    lang: str = "en",
    leads_header: list[str] | None = None,
    plan_header: list[str] | None = None,
    locale: str | None = None,
    time_zone: str | None = None,
) -> Snapshot:
    """A snapshot as a backend would read it, from plain rows."""
    names = {t.id: t.names[lang] for t in template.tabs}
    tabs = {
        names["leads"]: TabData(names["leads"], [leads_header or header(template, "leads", lang), *leads]),
        names["plan"]: TabData(names["plan"], [plan_header or header(template, "plan", lang), *plan]),
        names["calls"]: TabData(names["calls"], [header(template, "calls", lang)]),
    }
    return Snapshot(tabs=tabs, locale=locale, time_zone=time_zone)


@pytest.fixture
def workbook_path(tmp_path: Path) -> Path:
    return tmp_path / "crm.xlsx"


@pytest.fixture
def make_workbook(tmp_path: Path, template: Template) -> Callable[..., Path]:
    """Write a CRM workbook from rows; headers default to the template's."""

    def make(
        leads: list[list[Any]],
        plan: list[list[Any]],
        *,
        lang: str = "en",
        leads_header: list[str] | None = None,
        plan_header: list[str] | None = None,
        name: str = "crm.xlsx",
    ) -> Path:
        path = create_workbook(tmp_path / name, build_layout(template, lang), overwrite=True)
        book = openpyxl.load_workbook(path)
        for tab_id, hdr, rows in (("leads", leads_header, leads), ("plan", plan_header, plan)):
            ws = book[template.tab(tab_id).names[lang]]
            if hdr is not None:
                for col in range(1, ws.max_column + 1):
                    ws.cell(1, col).value = None
                for col, text in enumerate(hdr, start=1):
                    ws.cell(1, col).value = text
            for row in rows:
                ws.append(row)
                for cell in ws[ws.max_row]:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"  # typed as text, like a person pasting it
        save_atomically(book, path)
        return path

    return make
