"""The command line: small commands that open, call the library, print.

Every command translates :class:`CrmError` into one clear line on stderr and
exit status 1; typer's usage errors exit 2. No traceback reaches the user.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer
from typer.exceptions import TyperException
from rich.console import Console

from . import render
from .backends.local import create_workbook
from .errors import CrmError
from .layout import build_layout
from .sync import SyncResult, run_sync
from .template import Template, default_template, load_template

__all__ = ["app", "main"]

app = typer.Typer(
    name="sheets-crm",
    help="A CRM in a spreadsheet: sync Leads, Contact Plan and Calls Today in a Google Sheet or .xlsx workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def handled() -> Iterator[None]:
    """CrmError → one line and exit 1; anything else → a short note, exit 1."""
    try:
        yield
    except CrmError as exc:
        err.print(f"Error: {exc}", markup=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("Interrupted; the workbook was left as it was before this run.", markup=False)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, SystemExit, TyperException):
        raise
    except Exception as exc:  # a bug of ours: still no traceback, but say what
        err.print(f"Internal error ({type(exc).__name__}: {exc}). The workbook was not changed by this run; "
                  "please report this with the command you ran.", markup=False)
        raise typer.Exit(1) from None


def _parse_today(value: Optional[str]) -> Optional[dt.date]:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _template(path: Optional[Path]) -> Template:
    return load_template(path) if path else default_template()


TodayOpt = typer.Option(None, "--today", metavar="YYYY-MM-DD", help="Pretend today is this date.")
TzOpt = typer.Option(None, "--tz", metavar="ZONE",
                     help="Time zone for 'today' (default: the spreadsheet's, else this machine's).")
CredOpt = typer.Option(None, "--credentials", metavar="PATH",
                       help="Google service-account or OAuth JSON (default: GOOGLE_APPLICATION_CREDENTIALS).")
TemplateOpt = typer.Option(None, "--template", metavar="PATH", help="Use another template file.", hidden=True)
LocaleOpt = typer.Option(None, "--locale", metavar="LOCALE",
                         help="Local workbooks: locale deciding dd/mm vs mm/dd in text dates (e.g. en_US).")


@app.command()
def init(
    path: Optional[Path] = typer.Argument(None, help="Where to create the .xlsx workbook."),
    lang: str = typer.Option("en", "--lang", help="Tab and header language: en or ru."),
    force: bool = typer.Option(False, "--force", help="Replace an existing file."),
    google: bool = typer.Option(False, "--google", help="Create a Google spreadsheet instead of a local file."),
    title: str = typer.Option("Studio CRM", "--title", help="Google: the new spreadsheet's title."),
    share: Optional[list[str]] = typer.Option(None, "--share", metavar="EMAIL", help="Google: share with this e-mail."),
    into: Optional[str] = typer.Option(None, "--into", metavar="URL_OR_ID",
                                       help="Google: lay the template out in this existing spreadsheet."),
    tz: Optional[str] = TzOpt,
    credentials: Optional[str] = CredOpt,
    template: Optional[Path] = TemplateOpt,
) -> None:
    """Create an empty CRM from the template (local .xlsx, or --google)."""
    with handled():
        tpl = _template(template)
        if lang not in ("en", "ru"):
            raise typer.BadParameter("use en or ru", param_hint="--lang")
        if google:
            from .backends.google import init_spreadsheet_cli

            url = init_spreadsheet_cli(tpl, lang=lang, title=title, share=share or [], into=into,
                                       time_zone=tz, credentials=credentials)
            out.print(f"Created the CRM in Google Sheets: {url}", markup=False)
            return
        if path is None:
            raise typer.BadParameter("give the path of the workbook to create, e.g. crm.xlsx", param_hint="PATH")
        created = create_workbook(path, build_layout(tpl, lang), overwrite=force)
        out.print(f"Created {created} with tabs: "
                  + ", ".join(t.names[lang] for t in tpl.tabs) + ".", markup=False)
        out.print(f"Fill in Leads and the Contact Plan, then run: sheets-crm sync {created}", markup=False)


def _print_result(result: SyncResult, *, dry_run: bool, stats: bool) -> None:
    render.print_lines(out, render.summary_lines(result, dry_run))
    if stats:
        shown = ", ".join(f"{k}={v}" for k, v in result.stats.items()) or "local file: no requests"
        out.print(f"Stats: {shown}", markup=False)
    render.print_lines(out, render.issues_lines(result.issues))


@app.command()
def sync(
    target: str = typer.Argument(..., help="A .xlsx path, or a Google Sheets URL or id."),
    today: Optional[str] = TodayOpt,
    tz: Optional[str] = TzOpt,
    credentials: Optional[str] = CredOpt,
    locale: Optional[str] = LocaleOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Work everything out but write nothing."),
    stats: bool = typer.Option(False, "--stats", help="Print requests made and bytes sent."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    template: Optional[Path] = TemplateOpt,
) -> None:
    """Fill the tool columns, rebuild Calls Today and colour the rows."""
    day = _parse_today(today)
    with handled():
        result = run_sync(target, today=day, tz=tz, credentials=credentials, template=_template(template),
                          dry_run=dry_run, locale=locale)
        if as_json:
            out.print_json(json.dumps({
                "target": result.target, "today": result.today.isoformat(), "written": result.written,
                "changed_cells": result.changed_cells, "counts": result.counts(), "stats": result.stats,
                "warnings": [i.as_dict() for i in result.issues],
            }, ensure_ascii=False))
            return
        _print_result(result, dry_run=dry_run, stats=stats)


@app.command()
def today(
    target: str = typer.Argument(..., help="A .xlsx path, or a Google Sheets URL or id."),
    owner: Optional[str] = typer.Option(None, "--owner", help="Only this manager's calls."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of calls."),
    today: Optional[str] = TodayOpt,
    tz: Optional[str] = TzOpt,
    credentials: Optional[str] = CredOpt,
    locale: Optional[str] = LocaleOpt,
    template: Optional[Path] = TemplateOpt,
) -> None:
    """Show today's calls (overdue, today, upcoming) without writing anything."""
    day = _parse_today(today)
    with handled():
        tpl = _template(template)
        result = run_sync(target, today=day, tz=tz, credentials=credentials, template=tpl, dry_run=True,
                          locale=locale)
        calls = result.calls
        if owner:
            from .text import normalise

            calls = [c for c in calls if normalise(c.owner) == normalise(owner)]
        if as_json:
            print(render.calls_json(calls))
            return
        who = f" for {owner}" if owner else ""
        counts = dict.fromkeys(("overdue", "today", "upcoming"), 0)
        for call in calls:
            counts[call.section] += 1
        out.print(f"Calls{who} on {result.today.isoformat()}: {counts['overdue']} overdue, "
                  f"{counts['today']} today, {counts['upcoming']} upcoming.", markup=False)
        if calls:
            out.print(render.calls_table(calls, tpl, result.lang))
        render.print_lines(out, render.issues_lines(result.issues))


@app.command()
def demo(
    path: Path = typer.Option(Path("sheets-crm-demo.xlsx"), "--path", help="Where to write the demo workbook."),
    lang: str = typer.Option("en", "--lang", help="en or ru."),
    today: Optional[str] = TodayOpt,
    tz: Optional[str] = TzOpt,
) -> None:
    """Create a sample studio CRM, sync it, and show today's calls."""
    day = _parse_today(today)
    with handled():
        from .dates import resolve_zone, today_in
        from .demo import write_demo

        if lang not in ("en", "ru"):
            raise typer.BadParameter("use en or ru", param_hint="--lang")
        tpl = default_template()
        day = day or today_in(resolve_zone(tz))
        written = write_demo(path, day, lang=lang, template=tpl)
        result = run_sync(str(written), today=day, template=tpl)
        render.print_lines(out, render.summary_lines(result))
        out.print(render.calls_table(result.calls, tpl, result.lang))
        render.print_lines(out, render.issues_lines(result.issues))
        out.print(f"Open {written.resolve()} in Excel or LibreOffice to see the colours.", markup=False)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
