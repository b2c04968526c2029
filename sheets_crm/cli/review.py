"""The `report` and `card` commands: the weekly review and one lead's card.

Registered on the app in :mod:`sheets_crm.cli.main`. This module imports only
typer at load time; pandas, the backends and matplotlib are imported inside
the commands, so `sheets-crm --help` stays light.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import typer

from sheets_crm.cli.common import ConfigOpt, CredOpt, LocaleOpt, TargetArg, TemplateOpt, TodayOpt, TzOpt

__all__ = ["report", "card"]


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option) from None


def _interactive() -> bool:
    """A browser login for Google only when a person is at the terminal."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _language(sheet: str) -> str:
    """--lang, SHEETS_CRM_LANG or LC_ALL/LC_MESSAGES if given, else the sheet's own language (as every command)."""
    from sheets_crm.cli import i18n

    lang = i18n.choose(sheet=sheet)
    i18n.use(lang)
    return lang


def _period(week: bool, month: bool, start: dt.date | None, end: dt.date | None) -> str:
    """Which period the options ask for; a contradiction is a usage error (exit 2)."""
    chosen = [name for name, on in (("--week", week), ("--month", month), ("--from/--to", start or end)) if on]
    if len(chosen) > 1:
        raise typer.BadParameter(f"choose one of {' / '.join(chosen)}", param_hint="period")
    if end is not None and start is None:
        raise typer.BadParameter("--to needs --from", param_hint="--to")
    if start is not None and end is not None and end < start:
        raise typer.BadParameter(f"{end.isoformat()} is before --from {start.isoformat()}", param_hint="--to")
    return "month" if month else "range" if start is not None else "week"


def report(
    target: str | None = TargetArg,
    week: bool = typer.Option(False, "--week", help="This ISO week so far, Monday first (the default)."),
    month: bool = typer.Option(False, "--month", help="This calendar month so far."),
    start: str | None = typer.Option(None, "--from", metavar="YYYY-MM-DD", help="First day of the period."),
    end: str | None = typer.Option(
        None, "--to", metavar="YYYY-MM-DD", help="Last day of the period, included (default: today)."
    ),
    owner: str | None = typer.Option(None, "--owner", metavar="NAME", help="Only this manager."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON."),
    html: Path | None = typer.Option(
        None, "--html", metavar="PATH", help="Write a self-contained page with charts for the meeting screen."
    ),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """The weekly review: per-manager contacts, overdue, forgotten and stale leads, the funnel, touches to a win."""
    from sheets_crm.cli.common import Context, handled

    day, first, last = _date(today, "--today"), _date(start, "--from"), _date(end, "--to")
    kind = _period(week, month, first, last)
    with handled():
        from sheets_crm.app.report import TEXT, report_lines, run_report
        from sheets_crm.cli import render

        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        name = ctx.targets(target)[0]
        review, loaded = run_report(
            name,
            period=kind,
            start=first,
            end=last,
            owner=owner,
            today=day,
            tz=ctx.tz_for(name),
            credentials=ctx.credentials,
            locale=locale,
            template=ctx.template,
            allow_login=_interactive(),
        )
        lang = _language(loaded.lang)
        if html is not None:
            from sheets_crm.app.report_html import write_html

            written = write_html(html, review, loaded.template, lang, title=loaded.target)
            if not as_json:
                typer.echo(TEXT[lang]["wrote_page"].format(path=written))
        if as_json:
            typer.echo(json.dumps(review.as_json(), ensure_ascii=False, indent=2))
        elif html is None:
            for line in report_lines(review, loaded.template, lang, loaded.target):
                typer.echo(line)
        if not as_json:
            for line in render.issues_lines(loaded.issues):
                typer.echo(line)


def card(
    project: str = typer.Argument(..., help="The project (case, spaces and ё ignored; a unique part is enough)."),
    target: str | None = TargetArg,
    as_json: bool = typer.Option(False, "--json", help="Print the card as JSON."),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Everything about one lead: its row, every planned, done and cancelled contact, touches, next step."""
    from sheets_crm.cli.common import Context, handled

    day = _date(today, "--today")
    with handled():
        from sheets_crm.app.report import card_lines, run_card

        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        name = ctx.targets(target)[0]
        found, exact, loaded = run_card(
            name,
            project,
            today=day,
            tz=ctx.tz_for(name),
            credentials=ctx.credentials,
            locale=locale,
            template=ctx.template,
            allow_login=_interactive(),
        )
        if as_json:
            typer.echo(json.dumps({**found.as_json(), "exact_match": exact}, ensure_ascii=False, indent=2))
            return
        lang = _language(loaded.lang)
        for line in card_lines(found, loaded.template, lang, query=None if exact else project):
            typer.echo(line)
