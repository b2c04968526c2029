"""How results look in a terminal or a log: readable at any width, no name ever cut, no tracebacks.

Lists of calls come in two layouts. When every column fits at its natural width, a table in the
template's column order (like the Calls Today tab). Otherwise a compact layout, one call per line
with the essentials (date, project, contact, phone) and the rest indented below, labelled with the
template's own column names so they read in the sheet's language. Any line longer than the screen
wraps between words with a hanging indent: a name may move to the next line, never lose letters.

Plain text when not on a terminal (cron logs, mail): colour comes only from the console, which
knows whether it writes to a terminal. ``--json`` and ``--csv`` give every list whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from sheets_crm.cli import i18n
from sheets_crm.cli.i18n import _, ngettext

if TYPE_CHECKING:  # rich and the app load only when something is printed
    from rich.console import Console

    from sheets_crm.app.doctor import Report as DoctorReport
    from sheets_crm.app.sync import SyncResult
    from sheets_crm.core.model import Call, Issue
    from sheets_crm.core.template import Template

__all__ = [
    "MAX_WARNINGS",
    "CALL_CSV_FIELDS",
    "ISSUE_CSV_FIELDS",
    "Line",
    "calls_csv",
    "calls_json",
    "calls_lines",
    "csv_text",
    "doctor_lines",
    "issue_line",
    "issues_csv",
    "issues_lines",
    "print_lines",
    "summary_lines",
    "wrap",
]

#: Warnings listed on screen; the rest are counted (all are in --json / --csv).
MAX_WARNINGS = 15

#: a line to print and its style on a terminal ("" = none)
Line = tuple[str, str]

_STYLE = {"overdue": "bold red", "today": "bold yellow", "upcoming": ""}
_GAP = "  "
_INDENT = "  "  # a call under its section heading
_DETAIL = "      "  # its details under it

CALL_CSV_FIELDS = ("section", "date", "days_overdue", "project", "contact", "phone", "topic", "last_result", "owner")
ISSUE_CSV_FIELDS = ("tab", "row", "column", "value", "message", "code")


def _cells(text: str) -> int:
    """Terminal cells a text takes (wide characters count twice)."""
    from rich.cells import cell_len

    return cell_len(text)


def wrap(text: str, width: int, indent: str = "", hanging: str | None = None) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken only at spaces.

    A word longer than a whole line stays whole on a line of its own (it overflows
    rather than being cut). ``hanging`` is the indent of continuation lines
    (default: ``indent`` plus two spaces).
    """
    hanging = indent + "  " if hanging is None else hanging
    words = text.split(" ")
    lines: list[str] = []
    line = indent
    bare = True  # nothing but the indent on this line yet
    for word in words:
        if bare:
            line += word
            bare = False
        elif _cells(line) + 1 + _cells(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = hanging + word
    lines.append(line)
    return lines


def _wrap_atoms(atoms: Sequence[str], sep: str, width: int, indent: str, hanging: str) -> list[str]:
    """Atoms (a project, a phone…) joined by ``sep``, lines broken only between atoms.

    An atom longer than a whole line wraps between its own words, never inside one.
    """
    lines: list[str] = []
    line = indent
    fresh = True
    for atom in atoms:
        piece = atom if fresh else sep + atom
        if _cells(line) + _cells(piece) <= width:
            line += piece
        else:
            if not fresh:
                lines.append(line)
                line = hanging
            if _cells(line) + _cells(atom) <= width:
                line += atom
            else:  # longer than a line: its own lines, continuations indented, then a fresh line
                lines.extend(wrap(atom, width, indent=line, hanging=hanging + "  "))
                line, fresh = hanging, True
                continue
        fresh = False
    if not fresh or line.strip():
        lines.append(line)
    return [text.rstrip() for text in lines]


def _call_value(call: Call, field: str) -> str:
    if field == "date":
        return i18n.day(call.date)
    if field == "days_overdue":
        return "" if call.days_overdue is None else str(call.days_overdue)
    value = getattr(call, field, "")
    return "" if value is None else str(value)


def _call_columns(template: Template, lang: str) -> list[tuple[str, str]]:
    """(field, header) for the Calls Today columns a :class:`Call` carries, in the template's order."""
    from sheets_crm.core.model import Call

    known = {f.name for f in fields(Call)}
    return [(col.id, col.names[lang]) for col in template.calls.columns if col.id in known]


def calls_lines(calls: Sequence[Call], template: Template, lang: str, width: int) -> list[Line]:
    """The calls laid out for ``width`` cells: a table when it fits whole, else the compact layout."""
    if not calls:
        return []
    columns = _call_columns(template, lang)
    rows = [
        [template.section_label(c.section, lang) if f == "section" else _call_value(c, f) for f, _ in columns]
        for c in calls
    ]
    # a column nobody filled in (no phones in this sheet) is left out rather than shown empty
    keep = [i for i, (field, _) in enumerate(columns) if field == "section" or any(r[i] for r in rows)]
    widths = [max(_cells(columns[i][1]), *(_cells(r[i]) for r in rows)) for i in keep]
    if sum(widths) + len(_GAP) * (len(keep) - 1) <= width:
        return _table(columns, rows, calls, keep, widths)
    return _compact(calls, template, lang, width)


def _table(
    columns: list[tuple[str, str]], rows: list[list[str]], calls: Sequence[Call], keep: list[int], widths: list[int]
) -> list[Line]:
    def line(cells: list[str]) -> str:
        return _GAP.join(c + " " * (w - _cells(c)) for c, w in zip(cells, widths, strict=True)).rstrip()

    out: list[Line] = [(line([columns[i][1] for i in keep]), "bold")]
    out += [(line([r[i] for i in keep]), _STYLE.get(c.section, "")) for r, c in zip(rows, calls, strict=True)]
    return out


def _compact(calls: Sequence[Call], template: Template, lang: str, width: int) -> list[Line]:
    """Grouped by section; per call the essentials on one line, the details labelled below."""
    names = {col.id: col.names[lang] for col in template.calls.columns}
    out: list[Line] = []
    section = None
    for call in calls:
        if call.section != section:
            section = call.section
            count = sum(1 for c in calls if c.section == section)
            out.append((f"{template.section_label(section, lang)} ({count})", _STYLE.get(section, "") or "bold"))
        head = [a for a in (i18n.day(call.date), call.project, call.contact, call.phone) if a]
        out += [(text, "") for text in _wrap_atoms(head, " · ", width, _INDENT, _DETAIL)]
        # ranked: what to talk about, who calls, how late, how it went last time
        details = [call.topic] if call.topic else []
        if call.owner:
            details.append(f"{names.get('owner', 'Owner')}: {call.owner}")
        if call.section == "overdue" and call.days_overdue:
            details.append(f"{names.get('days_overdue', 'Days overdue')}: {call.days_overdue}")
        if call.last_result:
            details.append(f"{names.get('last_result', 'Last result')}: {call.last_result}")
        if details:
            out += [(text, "") for text in _wrap_atoms(details, " · ", width, _DETAIL, _DETAIL)]
    return out


def counts_line(counts: dict[str, int], who: str = "", day: str = "") -> str:
    """``Calls: 1 overdue, 1 today, 1 upcoming.`` (``who``/``day``: for one owner / on one day)."""
    n = {"overdue": counts["overdue"], "today": counts["today"], "upcoming": counts["upcoming"]}
    if who:
        return _("Calls for {who} on {day}: {overdue} overdue, {today} today, {upcoming} upcoming.").format(
            who=who, day=day, **n
        )
    if day:
        return _("Calls on {day}: {overdue} overdue, {today} today, {upcoming} upcoming.").format(day=day, **n)
    return _("Calls: {overdue} overdue, {today} today, {upcoming} upcoming.").format(**n)


def summary_lines(result: SyncResult, dry_run: bool = False) -> list[str]:
    when, n = i18n.day(result.today), result.changed_cells
    if dry_run:
        head = ngettext(
            "Checked {target} for {day}: {n} cell would change (dry run, nothing written).",
            "Checked {target} for {day}: {n} cells would change (dry run, nothing written).",
            n,
        )
    elif result.written:
        head = ngettext(
            "Synced {target} for {day}: {n} cell updated.", "Synced {target} for {day}: {n} cells updated.", n
        )
    else:
        head = _("Synced {target} for {day}: already up to date, nothing written.")
    return [head.format(target=result.target, day=when, n=n), counts_line(result.counts())]


def issue_line(issue: Issue) -> str:
    """One warning in the current language: where (tab, row, column), the value as typed, what is wrong.

    The tab and column names are the sheet's own; the message goes through the catalog by its key
    (:meth:`Issue.text`); a message without a translation yet stays English rather than vanish.
    """
    if i18n.current() == "en":
        return str(issue)
    where = [issue.tab]
    if issue.row is not None:
        where.append(_("row {row}").format(row=issue.row))
    if issue.column:
        where.append(_("column «{column}»").format(column=issue.column))
    value = issue.value
    if value is None:
        shown = ""
    elif isinstance(value, dt.datetime):
        shown = ": " + i18n.day(value.date())
    elif isinstance(value, dt.date):
        shown = ": " + i18n.day(value)
    else:
        text = str(value)
        shown = f": «{text[:59] + '…' if len(text) > 60 else text}»"
    return f"{', '.join(where)}{shown} — {issue.text(_)}"


def issues_lines(issues: list[Issue]) -> list[str]:
    if not issues:
        return []
    lines = [_("Warnings ({n}):").format(n=len(issues))]
    lines += [f"  {issue_line(issue)}" for issue in issues[:MAX_WARNINGS]]
    if len(issues) > MAX_WARNINGS:
        lines.append("  " + _("… and {n} more (use --json or --csv to see all)").format(n=len(issues) - MAX_WARNINGS))
    return lines


def doctor_lines(report: DoctorReport) -> list[str]:
    """The doctor's report in the current language: the head, what blocks a sync, the problems by kind."""
    from sheets_crm.app.doctor import KINDS

    checked = _("{leads} leads and {rows} plan rows checked").format(
        leads=report.leads_checked, rows=report.plan_rows_checked
    )
    head = _("Doctor: {target} on {day}").format(target=report.target, day=i18n.day(report.today))
    if report.ok:
        return [_("{head}: no problems found ({checked}).").format(head=head, checked=checked)]
    groups = report.by_kind()
    n = len(report.problems)
    problems = ngettext("{n} problem", "{n} problems", n).format(n=n)
    kinds = ngettext("{n} kind", "{n} kinds", len(groups)).format(n=len(groups))
    out = [
        _("{head}: {problems} of {kinds} ({checked}).").format(
            head=head, problems=problems, kinds=kinds, checked=checked
        )
    ]
    blocking = len(report.blocking)
    if blocking == 1:
        out.append(_("The sync cannot run until this problem is fixed (listed first)."))
    elif blocking:
        out.append(_("The sync cannot run until these {n} problems are fixed (listed first).").format(n=blocking))
    for kind, items in groups.items():
        out.append(f"{_(KINDS.get(kind, kind))} ({len(items)}):")
        out.extend(f"  {issue_line(issue)}" for issue in items)
    return out


def calls_json(calls: Iterable[Call]) -> str:
    return json.dumps([c.as_json() for c in calls], ensure_ascii=False, indent=2)


def csv_text(rows: Iterable[dict[str, Any]], header: Sequence[str]) -> str:
    """Rows as CSV with a header line (empty for None); keys outside ``header`` are left out."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(header), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def calls_csv(calls: Iterable[Call]) -> str:
    """Calls as CSV (the keys of ``--json``, one call per row; a spreadsheet opens it as is)."""
    return csv_text((c.as_json() for c in calls), CALL_CSV_FIELDS)


def issues_csv(issues: Iterable[Issue], extra: dict[str, str] | None = None) -> str:
    """Warnings / problems as CSV: where (tab, row, column), the value, what is wrong, its code."""
    header = (*(extra or {}), *ISSUE_CSV_FIELDS)
    return csv_text(({**(extra or {}), **i.as_dict()} for i in issues), header)


def print_lines(console: Console, lines: Iterable[str | Line], width: int | None = None) -> None:
    """Print lines wrapped to the console's width (between words, hanging indent), styled only on a terminal."""
    width = width or console.width
    for item in lines:
        text, style = (item, "") if isinstance(item, str) else item
        indent = text[: len(text) - len(text.lstrip(" "))]
        for part in wrap(text[len(indent) :], width, indent=indent) if _cells(text) > width else [text]:
            console.print(part, style=style or None, markup=False, highlight=False, soft_wrap=True)
