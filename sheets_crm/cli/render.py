"""How results look in a terminal: one screen, plain words, no tracebacks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich and the app load only when something is printed
    from rich.console import Console
    from rich.table import Table

    from sheets_crm.app.sync import SyncResult
    from sheets_crm.core.model import Call, Issue
    from sheets_crm.core.template import Template

__all__ = ["calls_table", "summary_lines", "issues_lines", "calls_json", "MAX_WARNINGS"]

#: Warnings listed on screen; the rest are counted (all are in --json).
MAX_WARNINGS = 15

_STYLE = {"overdue": "bold red", "today": "bold yellow", "upcoming": ""}


def calls_table(calls: Iterable[Call], template: Template, lang: str) -> Table:
    from rich.table import Table

    cols = template.calls.columns
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in cols:
        table.add_column(col.names[lang], no_wrap=col.type in ("date", "int", "section", "phone"))
    for call in calls:
        days = "" if call.days_overdue is None else str(call.days_overdue)
        table.add_row(
            template.section_label(call.section, lang),
            call.date.isoformat(),
            days,
            call.project,
            call.contact,
            call.phone,
            call.topic,
            call.last_result,
            call.owner,
            style=_STYLE[call.section],
        )
    return table


def counts_line(counts: dict[str, int]) -> str:
    return f"Calls: {counts['overdue']} overdue, {counts['today']} today, {counts['upcoming']} upcoming."


def summary_lines(result: SyncResult, dry_run: bool = False) -> list[str]:
    day = result.today.isoformat()
    if dry_run:
        head = (
            f"Checked {result.target} for {day}: {result.changed_cells} cells would change (dry run, nothing written)."
        )
    elif result.written:
        head = f"Synced {result.target} for {day}: {result.changed_cells} cells updated."
    else:
        head = f"Synced {result.target} for {day}: already up to date, nothing written."
    return [head, counts_line(result.counts())]


def issues_lines(issues: list[Issue]) -> list[str]:
    if not issues:
        return []
    lines = [f"Warnings ({len(issues)}):"]
    lines += [f"  {issue}" for issue in issues[:MAX_WARNINGS]]
    if len(issues) > MAX_WARNINGS:
        lines.append(f"  … and {len(issues) - MAX_WARNINGS} more (use --json to see all)")
    return lines


def calls_json(calls: Iterable[Call]) -> str:
    return json.dumps([c.as_json() for c in calls], ensure_ascii=False, indent=2)


def print_lines(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
