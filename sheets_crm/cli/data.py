"""The `import` and `log` commands: getting data into the CRM.

Registered on the app in :mod:`sheets_crm.cli.main`. Only typer is imported at load
time; the application modules (pandas, openpyxl, the backends) inside the commands,
so `sheets-crm --help` stays light.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sheets_crm.cli.common import (
    ConfigOpt,
    CredOpt,
    LocaleOpt,
    TargetArg,
    TemplateOpt,
    TodayOpt,
    TzOpt,
    handled,
    interactive,
    out,
    parse_today,
)
from sheets_crm.cli.i18n import _, ngettext

if TYPE_CHECKING:
    from sheets_crm.app.importing import ImportPlan
    from sheets_crm.app.logcall import LogPlan

__all__ = ["import_file", "log"]

#: How many new leads the preview shows (all of them are written).
PREVIEW_ROWS = 20


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    line = "  ".join
    return [line(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()] + [
        line(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _preview_lines(plan: ImportPlan) -> list[str]:
    """What the import found and will write, before it is written."""
    src = plan.source
    lines = [_("Read {source}.").format(source=src.describe())]
    pairs = [f"{src.headers[i]} → {plan.headers[cid]}" for i, cid in sorted(plan.mapped.columns.items())]
    lines.append(_("Columns: {pairs}.").format(pairs=", ".join(pairs)))
    for header, why in plan.mapped.ignored:
        lines.append(_("  not imported: {header} ({why})").format(header=header, why=why))
    if plan.new:
        ids = [cid for cid in plan.headers if any(cid in values for _n, values in plan.new)]
        lines.append(
            ngettext(
                "{n} new lead, appended to {tab} from row {row}:",
                "{n} new leads, appended to {tab} from row {row}:",
                len(plan.new),
            ).format(n=len(plan.new), tab=plan.leads_title, row=plan.first_new_row)
        )
        rows = [[str(n), *(values.get(cid, "") for cid in ids)] for n, values in plan.new[:PREVIEW_ROWS]]
        lines += ["  " + text for text in _table([_("row"), *(plan.headers[c] for c in ids)], rows)]
        if len(plan.new) > PREVIEW_ROWS:
            lines.append(_("  … and {n} more").format(n=len(plan.new) - PREVIEW_ROWS))
    else:
        lines.append(_("No new leads."))
    for f in plan.found:
        where = (
            _("{tab} row {row}").format(tab=plan.leads_title, row=f.leads_row)
            if f.leads_row is not None
            else _("file row {row}").format(row=f.file_row)
        )
        lines.append(
            _("  file row {row} ({project}) = {where}: {reason} {detail}").format(
                row=f.row, project=f.project, where=where, reason=f.reason, detail=f.detail
            )
        )
    for n, leads_row, header, value in plan.fills:
        lines.append(
            _("  file row {row} fills the empty {column} of {tab} row {lead}: {value}").format(
                row=n, column=header, tab=plan.leads_title, lead=leads_row, value=value
            )
        )
    for n, why in plan.skipped:
        lines.append(_("  file row {row} skipped: {why}").format(row=n, why=why))
    return lines


def import_file(
    file: Path = typer.Argument(..., help="The contact list: .csv (any delimiter; UTF-8 or cp1251) or .xlsx."),
    target: str | None = TargetArg,
    maps: list[str] | None = typer.Option(
        None, "--map", metavar="'THEIRS=COLUMN'", help='A file column for a Leads column, e.g. "Firma=Project".'
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be imported; write nothing."),
    update: bool = typer.Option(False, "--update", help="Fill the empty cells of leads already there (never others)."),
    encoding: str | None = typer.Option(None, "--encoding", help="The CSV's encoding (default: detected)."),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Import a contact list into Leads: new leads appended, duplicates (same phone, e-mail or name) reported."""
    from sheets_crm.cli import render

    day = parse_today(today)
    usage: str | None = None
    with handled():
        from sheets_crm.app.importing import MapError, read_source, run_import
        from sheets_crm.backends import open_workbook
        from sheets_crm.cli.common import Context

        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        name = ctx.targets(target)[0]
        try:
            source = read_source(file, encoding=encoding)
            book = open_workbook(name, credentials=ctx.credentials, locale=locale, allow_login=interactive())
            done = run_import(
                book,
                source,
                maps or [],
                template=ctx.template,
                update=update,
                dry_run=dry_run,
                today=day,
                tz=ctx.tz_for(name),
                preview=lambda plan: render.print_lines(out, _preview_lines(plan)),
            )
        except MapError as exc:
            usage = exc.message
        else:
            plan = done.plan
            if done.written:
                said = _("Appended {new} to {tab}; filled {filled} empty cells; {found} already there.")
            elif dry_run:
                said = _("Dry run, nothing written: {new} to append, {filled} cells to fill, {found} already there.")
            else:
                said = _("Nothing to write: {new} to append, {filled} cells to fill, {found} already there.")
            render.print_lines(
                out,
                [said.format(new=len(plan.new), tab=plan.leads_title, filled=len(plan.fills), found=len(plan.found))],
            )
    if usage is not None:
        raise typer.BadParameter(usage, param_hint="--map")


def _log_lines(plan: LogPlan, written: bool, dry_run: bool) -> list[str]:
    when = plan.planned_for.isoformat() if plan.planned_for else ""
    if plan.appended:
        first = _("{project}: added a done row {row} to {tab} ({date}).")
    elif plan.status == "cancelled":
        first = _("{project}: {tab} row {row} ({date}) marked cancelled.")
    else:
        first = _("{project}: {tab} row {row} ({date}) marked done.")
    lines = [first.format(project=plan.project, tab=plan.plan_title, row=plan.row, date=when)]
    if plan.next_row is not None:
        lines.append(_("Next contact planned in row {row}.").format(row=plan.next_row))
    if dry_run:
        lines.append(_("Dry run: nothing was written."))
    elif written:
        lines.append(_("Written, with the tool columns refreshed."))
    return lines


def log(
    project: str = typer.Argument(..., help="The project (case, spaces and ё ignored; a unique part is enough)."),
    target: str | None = TargetArg,
    date: str | None = typer.Option(
        None, "--date", metavar="YYYY-MM-DD", help="When the contact happened (default: today)."
    ),
    result: str | None = typer.Option(None, "--result", metavar="TEXT", help="How it ended."),
    cancel: bool = typer.Option(False, "--cancel", help="The planned contact was cancelled, not made."),
    next_date: str | None = typer.Option(None, "--next", metavar="YYYY-MM-DD", help="Plan the next contact."),
    topic: str | None = typer.Option(None, "--topic", metavar="TEXT", help="The next contact's topic."),
    owner: str | None = typer.Option(None, "--owner", metavar="NAME", help="Who makes the next contact."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written; write nothing."),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Record a contact: its plan row done (or cancelled) with the result, and the next one planned."""
    from sheets_crm.cli import render

    day, when, nxt = parse_today(today), _date(date, "--date"), _date(next_date, "--next")
    if topic is not None and nxt is None:
        raise typer.BadParameter("--topic needs --next DATE", param_hint="--topic")
    with handled():
        from sheets_crm.app.logcall import run_log
        from sheets_crm.backends import open_workbook
        from sheets_crm.cli.common import Context

        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        name = ctx.targets(target)[0]
        book = open_workbook(name, credentials=ctx.credentials, locale=locale, allow_login=interactive())
        done = run_log(
            book,
            project,
            template=ctx.template,
            day=when,
            result=result,
            cancel=cancel,
            next_date=nxt,
            topic=topic,
            owner=owner,
            today=day,
            tz=ctx.tz_for(name),
            dry_run=dry_run,
        )
        render.print_lines(out, _log_lines(done.plan, done.written, dry_run))
