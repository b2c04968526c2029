"""The command line: small commands that open, call the library, print.

Every command translates :class:`CrmError` into one clear line on stderr and
exit status 1; typer's usage errors exit 2. No traceback reaches the user.

Start-up is kept light: ``sheets-crm --help`` and ``--version`` must not load
pandas, openpyxl, gspread or requests, so the application modules are imported
inside the commands that use them (types only under TYPE_CHECKING), and the
rich consoles are made on first use.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from typer.core import TyperGroup

from sheets_crm.cli import data, i18n, render, review, watch
from sheets_crm.cli.common import (
    ConfigOpt,
    Context,
    CredOpt,
    LocaleOpt,
    TemplateOpt,
    TodayOpt,
    TzOpt,
    check_zone,
    err,
    handled,
    no_targets,
    out,
    reset_consoles,
)
from sheets_crm.cli.common import interactive as _interactive
from sheets_crm.cli.common import parse_today as _parse_today
from sheets_crm.cli.common import template_for as _template
from sheets_crm.cli.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from sheets_crm.app.sync import SyncResult
    from sheets_crm.core.layout import Adoption
    from sheets_crm.core.model import Call
    from sheets_crm.core.template import Template

__all__ = ["app", "main"]

_VERBOSE_FLAGS = re.compile(r"^(-v+|--verbose)$")
_SHARED_OPTIONS = N_(
    "Also: -v / -vv (anywhere) logs what the tool does on stderr; "
    "--lang en|ru (before the command, or after one without its own --lang) chooses the messages' language."
)


class _Group(TyperGroup):
    """The top-level group: ``-v``/``--verbose`` is accepted anywhere before ``--``.

    The flag belongs to the group (one place sets logging up for every command),
    but people type it after the command (``sheets-crm sync crm.xlsx -v``), so it
    is moved in front of the command name before parsing. So is ``--lang`` after a
    command that has no ``--lang`` of its own (``init``, ``demo`` and ``digest`` do).
    """

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None and not command.epilog:  # each command's --help names the shared options
            command.epilog = _(_SHARED_OPTIONS)
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        head, tail = args[:end], args[end:]
        flags = [a for a in head if _VERBOSE_FLAGS.match(a)]
        head = [a for a in head if not _VERBOSE_FLAGS.match(a)]
        args = flags + self._hoist_lang(ctx, head) + tail
        # --help is printed while parsing, before the group's callback runs: choose the language now
        asked = _group_lang(args)
        i18n.request(asked if asked in i18n.LANGS else None)
        i18n.translate_help(self, ctx)
        return super().parse_args(ctx, args)

    def _hoist_lang(self, ctx: Any, args: list[str]) -> list[str]:
        """``--lang X`` typed after a command that has no ``--lang`` of its own is the group's option."""
        at, i = None, 0
        while i < len(args):  # find the command's name, skipping the group's own options
            if args[i] == "--lang":
                i += 2
                continue
            if not args[i].startswith("-"):
                at = i
                break
            i += 1
        command = self.get_command(ctx, args[at]) if at is not None else None
        if command is None or any("--lang" in p.opts for p in command.params):
            return args
        moved: list[str] = []
        rest: list[str] = []
        i = at + 1 if at is not None else len(args)
        while i < len(args):
            if args[i] == "--lang" and i + 1 < len(args):
                moved += args[i : i + 2]
                i += 2
                continue
            if args[i].startswith("--lang="):
                moved.append(args[i])
            else:
                rest.append(args[i])
            i += 1
        return args[:at] + moved + [args[at]] + rest if at is not None else args


def _group_lang(args: list[str]) -> str | None:
    """The value of the group's own ``--lang`` (the one before the command's name), if given."""
    i = 0
    while i < len(args):
        if args[i] == "--lang":
            return args[i + 1] if i + 1 < len(args) else None
        if args[i].startswith("--lang="):
            return args[i].split("=", 1)[1]
        if not args[i].startswith("-"):
            return None  # the command's name: what follows is the command's
        i += 1
    return None


app = typer.Typer(
    name="sheets-crm",
    cls=_Group,
    help="A CRM in a spreadsheet: sync Leads, Contact Plan and Calls Today in a Google Sheet or .xlsx workbook.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it between invocations)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if err.is_terminal:  # through the console, so that a progress line is redrawn below it
                err.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
                return
            self.stream = sys.stderr  # not setStream(): that would flush the old, maybe closed, stream
            super().emit(record)
        except Exception:  # logging must never break the work
            self.handleError(record)


class _Verbosity:
    """-v count of this invocation (set by the group callback, read by ``schedule``)."""

    level = 0


def setup_logging(verbose: int) -> Callable[[], None]:
    """Route the ``sheets_crm`` logger to stderr: warnings always, -v adds progress notes, -vv debug detail.

    Returns what puts the logger back as it was (run when the invocation ends: in one process,
    as in tests, the next caller must not inherit this one's handler or level).
    """
    _Verbosity.level = verbose
    logger = logging.getLogger("sheets_crm")
    level_before = logger.level
    logger.handlers[:] = [h for h in logger.handlers if not isinstance(h, _StderrHandler)]
    handler = _StderrHandler()
    handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING)
    if verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    # INFO records are made even when not printed: the progress line shows retries and waits
    logger.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level_before)

    return restore


def _print_version(value: bool) -> None:
    if value:
        from sheets_crm import __version__

        typer.echo(f"sheets-crm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
    lang: str | None = typer.Option(
        None,
        "--lang",
        metavar="en|ru",
        help="Language of the messages (default: $SHEETS_CRM_LANG, $LC_ALL, $LC_MESSAGES, the sheet's, $LANG).",
    ),
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="Log what the tool does on stderr (-vv: debug detail). Any command.",
        show_default=False,
    ),
) -> None:
    if lang is not None and lang not in i18n.LANGS:
        raise typer.BadParameter("use en or ru", param_hint="--lang")
    reset_consoles()
    i18n.request(lang)
    ctx.call_on_close(setup_logging(verbose))


@app.command()
def init(
    path: Path | None = typer.Argument(
        None, help="The .xlsx workbook to create, or an existing one to complete (only what it lacks is added)."
    ),
    lang: str = typer.Option("en", "--lang", help="Tab and header language: en or ru."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Lay the template out afresh: a local file is copied to NAME.bak-DATE-TIME first; "
        "a Google tab is duplicated first.",
    ),
    google: bool = typer.Option(False, "--google", help="Create a Google spreadsheet instead of a local file."),
    title: str | None = typer.Option(
        None, "--title", help="Google: the new spreadsheet's title (default: Studio CRM)."
    ),
    share: list[str] | None = typer.Option(None, "--share", metavar="EMAIL", help="Google: share with this e-mail."),
    into: str | None = typer.Option(
        None,
        "--into",
        metavar="URL_OR_ID",
        help="Google: lay the template out in this existing spreadsheet (needed with a service account).",
    ),
    tz: str | None = typer.Option(
        None, "--tz", metavar="ZONE", callback=check_zone, help="Google: the spreadsheet's time zone."
    ),
    locale: str | None = typer.Option(
        None, "--locale", metavar="LOCALE", help="Google: the spreadsheet's locale (default: en_US / ru_RU)."
    ),
    credentials: str | None = CredOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Create an empty CRM from the template (local .xlsx, or --google), or add to an existing one only
    what it lacks (tabs, tool columns, header colours, dropdowns)."""
    if lang not in ("en", "ru"):
        raise typer.BadParameter("use en or ru", param_hint="--lang")
    with handled():
        tpl = _template(template)
        if google:
            url = _init_google(
                tpl,
                lang=lang,
                title=title if title or into else "Studio CRM",
                share=share or [],
                into=into,
                time_zone=tz,
                credentials=credentials,
                locale=locale,
                force=force,
            )
            i18n.use(i18n.choose(sheet=lang))
            said = _("Laid the CRM out in {url}") if into else _("Created the CRM in Google Sheets: {url}")
            render.print_lines(out, [said.format(url=url), _fill_in(tpl, lang, url)])
            return
        if path is None:
            raise typer.BadParameter("give the path of the workbook to create, e.g. crm.xlsx", param_hint="PATH")
        from sheets_crm.app.adopt import init_local

        done = init_local(path, tpl, lang, force=force)
        if done.adoption is not None:  # an existing workbook: only what it lacked was added
            i18n.use(i18n.choose(sheet=done.adoption.lang))
            render.print_lines(
                out, [*_adopted_lines(done.path, done.adoption), _fill_in(tpl, done.adoption.lang, path)]
            )
            return
        i18n.use(i18n.choose(sheet=lang))
        tabs = ", ".join(t.names[lang] for t in tpl.tabs)
        kept = [_("Kept a copy of the old file at {backup}.").format(backup=done.backup)] if done.backup else []
        render.print_lines(
            out,
            [
                *kept,
                _("Created {path} with tabs: {tabs}.").format(path=done.path, tabs=tabs),
                _fill_in(tpl, lang, path),
            ],
        )


def _adopted_lines(path: Path, adoption: Adoption) -> list[str]:
    """What init added to an existing workbook, and that nothing else changed."""
    lines = [_("Added the tab {tab}.").format(tab=tab) for tab in adoption.added_tabs]
    columns: dict[str, list[str]] = {}
    for tab, header, _col in adoption.added_columns:
        columns.setdefault(tab, []).append(header)
    for tab, headers in columns.items():
        lines.append(
            _("Added to {tab}, after its last used column: {columns}.").format(tab=tab, columns=", ".join(headers))
        )
    filled: dict[str, list[str]] = {}
    for tab, header in adoption.filled_headers:
        filled.setdefault(tab, []).append(header)
    for tab, headers in filled.items():
        lines.append(_("Marked the tool's headers in {tab}: {columns}.").format(tab=tab, columns=", ".join(headers)))
    dropdowns: dict[str, list[str]] = {}
    for d in adoption.dropdowns:
        if d.tab not in adoption.added_tabs:
            dropdowns.setdefault(d.tab, []).append(d.header)
    for tab, headers in dropdowns.items():
        lines.append(_("Added dropdowns in {tab}: {columns}.").format(tab=tab, columns=", ".join(headers)))
    if lines:
        lines.append(_("Nothing else in {path} was changed.").format(path=path))
    else:
        lines.append(_("{path} already has every CRM tab and tool column; nothing was changed.").format(path=path))
    return lines + adoption.still_missing


def _fill_in(tpl: Template, lang: str, target: object) -> str:
    return _("Fill in {leads} and {plan}, then run: sheets-crm sync {target}").format(
        leads=tpl.tab("leads").names[lang], plan=tpl.tab("plan").names[lang], target=target
    )


def _init_google(
    template: Template,
    *,
    lang: str,
    title: str | None,
    share: list[str],
    into: str | None,
    time_zone: str | None,
    credentials: str | None,
    locale: str | None,
    force: bool,
) -> str:
    """``init --google``: find the credentials (a browser login only in a terminal), lay the CRM out."""
    from sheets_crm.backends.google.auth import make_client
    from sheets_crm.backends.google.bootstrap import init_spreadsheet
    from sheets_crm.backends.google.target import spreadsheet_id

    if into:
        spreadsheet_id(into)  # a bad URL fails before looking for credentials
    client = make_client(credentials, allow_login=_interactive())
    return init_spreadsheet(
        client, template, lang, title=title, into=into, share=share, time_zone=time_zone, locale=locale, force=force
    )


def _print_result(result: SyncResult, *, dry_run: bool, stats: bool) -> None:
    render.print_lines(out, render.summary_lines(result, dry_run))
    if stats:
        shown = ", ".join(f"{k}={v}" for k, v in result.stats.items()) or _("local file: no requests")
        out.print(_("Stats: {shown}").format(shown=shown), markup=False)
    render.print_lines(out, render.issues_lines(result.issues))


def _result_json(result: SyncResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "today": result.today.isoformat(),
        "written": result.written,
        "changed_cells": result.changed_cells,
        "counts": result.counts(),
        "stats": result.stats,
        "warnings": [i.as_dict() for i in result.issues],
    }


@app.command()
def sync(
    target: str | None = typer.Argument(
        None, help="A .xlsx path, or a Google Sheets URL or id (default: every spreadsheet in the config)."
    ),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Work everything out but write nothing."),
    stats: bool = typer.Option(False, "--stats", help="Print requests made and bytes sent."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the warnings as CSV (one row each, with the target)."),
    send_digest: bool = typer.Option(False, "--digest", help="After syncing, e-mail the digest ([digest] in config)."),
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Fill the tool columns, rebuild Calls Today and colour the rows."""
    day = _parse_today(today)
    _one_format(as_json, as_csv)
    as_text = not (as_json or as_csv)
    failed = 0
    with handled():
        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        targets = ctx.targets(target)
    results = []
    for name in targets:
        try:
            with handled():
                result = ctx.run(name, today=day, dry_run=dry_run, locale=locale)
                results.append(result)
                if as_text:
                    _print_result(result, dry_run=dry_run, stats=stats)
                if send_digest and not dry_run:
                    from sheets_crm.app.digest import deliver

                    sent = deliver(result, ctx.config.digest)
                    if as_text:
                        out.print(
                            ngettext("Digest: {n} message sent.", "Digest: {n} messages sent.", sent).format(n=sent)
                            if sent
                            else _("Digest: no calls, nothing sent."),
                            markup=False,
                        )
        except typer.Exit as exc:
            if len(targets) == 1:
                raise
            failed += 1 if exc.exit_code else 0
    if as_json:
        shown = [_result_json(r) for r in results]
        out.print_json(json.dumps(shown[0] if target else shown, ensure_ascii=False))
    elif as_csv:
        rows = [{"target": r.target, **i.as_dict()} for r in results for i in r.issues]
        _write(render.csv_text(rows, ("target", *render.ISSUE_CSV_FIELDS)))
    if failed:
        raise typer.Exit(1)


@app.command()
def today(
    target: str | None = typer.Argument(
        None, help="A .xlsx path, or a Google Sheets URL or id (default: the first spreadsheet in the config)."
    ),
    owner: str | None = typer.Option(None, "--owner", help="Only this manager's calls."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of calls."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the calls as CSV (the same fields as --json)."),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Show today's calls (overdue, today, upcoming) without writing anything."""
    day = _parse_today(today)
    _one_format(as_json, as_csv)
    with handled():
        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        result = ctx.run(ctx.targets(target)[0], today=day, dry_run=True, locale=locale)
        calls = result.calls
        hint: list[str] = []
        if owner:
            calls, hint = _for_owner(calls, owner)
        if as_json or as_csv:
            _write(render.calls_json(calls) + "\n" if as_json else render.calls_csv(calls))
            render.print_lines(err, hint)
            return
        who = (calls[0].owner if calls else (owner or "").strip()) if owner else ""
        counts = dict.fromkeys(("overdue", "today", "upcoming"), 0)
        for call in calls:
            counts[call.section] += 1
        render.print_lines(out, [render.counts_line(counts, who=who, day=i18n.day(result.today)), *hint])
        render.print_lines(out, render.calls_lines(calls, ctx.template, result.lang, out.width))
        render.print_lines(out, render.issues_lines(result.issues))


def _for_owner(calls: list[Call], owner: str) -> tuple[list[Call], list[str]]:
    """The calls of one owner (case, spaces and ё ignored); when none match, a hint naming the owners there are."""
    from sheets_crm.core.text import normalise

    mine = [c for c in calls if normalise(c.owner) == normalise(owner)]
    if mine or not calls:
        return mine, []
    owners: dict[str, int] = {}
    for call in calls:
        name = call.owner.strip() or _("(no owner)")
        owners[name] = owners.get(name, 0) + 1
    listed = ", ".join(f"{name} ({n})" for name, n in sorted(owners.items(), key=lambda kv: (-kv[1], kv[0])))
    return mine, [
        _("No calls for {owner}. Owners with calls: {listed}.").format(owner=repr(owner.strip()), listed=listed)
    ]


def _one_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv", param_hint="--csv")


def _write(text: str) -> None:
    """Machine-readable output goes out as is: no wrapping, no colour."""
    sys.stdout.write(text)
    sys.stdout.flush()


@app.command()
def demo(
    path: Path = typer.Option(Path("sheets-crm-demo.xlsx"), "--path", help="Where to write the demo workbook."),
    lang: str = typer.Option("en", "--lang", help="en or ru."),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
) -> None:
    """Create a sample studio CRM, sync it, and show today's calls."""
    day = _parse_today(today)
    if lang not in ("en", "ru"):
        raise typer.BadParameter("use en or ru", param_hint="--lang")
    with handled():
        from sheets_crm.app.demo import free_demo_path, remember_demo, write_demo
        from sheets_crm.app.sync import run_sync
        from sheets_crm.core.dates import resolve_zone, today_in
        from sheets_crm.core.template import default_template

        tpl = default_template()
        day = day or today_in(resolve_zone(tz))
        target = free_demo_path(path)  # a file the person changed is never overwritten
        written = write_demo(target, day, lang=lang, template=tpl)
        result = run_sync(str(written), today=day, template=tpl)
        remember_demo(written)
        i18n.use(i18n.choose(sheet=result.lang))
        if target != path:
            kept = _("{path} was changed since the demo made it (or is not a demo file): it is kept as it is.")
            render.print_lines(out, [kept.format(path=path)])
        render.print_lines(out, render.summary_lines(result))
        render.print_lines(out, render.calls_lines(result.calls, tpl, result.lang, out.width))
        render.print_lines(out, render.issues_lines(result.issues))
        render.print_lines(
            out, [_("Open {path} in Excel or LibreOffice to see the colours.").format(path=written.resolve())]
        )


@app.command()
def doctor(
    target: str | None = typer.Argument(None, help="A .xlsx path, or a Google Sheets URL or id."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the problems as CSV (one row each)."),
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Check a CRM without changing it. Exit 0 when clean, 1 when problems were found."""
    day = _parse_today(today)
    _one_format(as_json, as_csv)
    with handled():
        from sheets_crm.app.doctor import run_doctor
        from sheets_crm.cli.progress import Progress

        ctx = Context(config, credentials=credentials, tz=tz)
        name = ctx.targets(target)[0]
        with Progress(err) as progress:  # one step: the doctor opens and reads by itself
            progress.step(_("Checking {target}…").format(target=name))
            report = run_doctor(
                name, credentials=ctx.credentials, today=day, tz=ctx.tz_for(name), template=ctx.template, locale=locale
            )
        i18n.use(i18n.choose(sheet=report.lang))
        if as_json:
            _write(report.to_json() + "\n")
        elif as_csv:
            # the same fields as the JSON report's problems
            fields = ("kind", "tab", "row", "column", "value", "message")
            _write(render.csv_text(report.as_json()["problems"], fields))
        else:
            render.print_lines(out, render.doctor_lines(report))
    raise typer.Exit(report.exit_code)


config_app = typer.Typer(help="Show the effective settings.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(config_app, name="config")


@config_app.command("starter")
def config_starter() -> None:
    """Print a starter sheets-crm.toml to edit: `sheets-crm config starter > sheets-crm.toml`."""
    from sheets_crm.cli.common import starter_config

    _write(starter_config())


@config_app.command("show")
def config_show(
    config: Path | None = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
) -> None:
    """Print the effective settings (file < environment < options); secrets masked."""
    with handled():
        ctx = Context(config, credentials=credentials, time_zone=tz)
        shown = ctx.config.show(masked=True)
        if as_json:
            out.print_json(json.dumps(shown, ensure_ascii=False))
        else:
            for key, value in shown.items():
                if key != "warnings":
                    out.print(f"{key}: {json.dumps(value, ensure_ascii=False)}", markup=False)
        for warning in shown.get("warnings", []):
            err.print(f"Warning: {warning}", markup=False)


@app.command()
def schedule(
    config: Path | None = ConfigOpt,
    at: str | None = typer.Option(None, "--at", metavar="HH:MM", help="Sync time (default: sync_time, 08:00)."),
    tz: str | None = typer.Option(
        None,
        "--tz",
        metavar="ZONE",
        callback=check_zone,
        help="Zone of the sync time (default: time_zone, else this machine's).",
    ),
    credentials: str | None = CredOpt,
    no_digest: bool = typer.Option(False, "--no-digest", help="Do not send the digest even if enabled."),
    now: bool = typer.Option(False, "--now", help="Run once immediately, then keep the schedule."),
    log_file: Path | None = typer.Option(
        None, "--log-file", metavar="PATH", help="Append the log here instead of stderr."
    ),
    print_cron: bool = typer.Option(
        False, "--print-cron", help="Print a crontab entry for this machine (real paths) instead of running."
    ),
    print_systemd: bool = typer.Option(
        False, "--print-systemd", help="Print a systemd user service and timer for this machine instead of running."
    ),
) -> None:
    """Stay in the foreground and sync every configured spreadsheet daily (Ctrl-C stops; -v: debug log)."""
    from sheets_crm.app.runner import Runner, setup_logging

    with handled():
        ctx = Context(
            config,
            credentials=credentials,
            sync_time=at,
            time_zone=tz,
            **cast("dict[str, Any]", {"digest.enabled": False if no_digest else None}),
        )
        for warning in ctx.config.security_warnings():
            err.print(f"Warning: {warning}", markup=False)
        if not ctx.config.spreadsheets:
            raise no_targets(ctx.config.source)
        if print_cron or print_systemd:
            _print_entries(ctx, cron=print_cron, systemd=print_systemd)
            return
        setup_logging(logging.DEBUG if _Verbosity.level else logging.INFO, log_file)
        runner = Runner(ctx.config)
        runner.serve(run_now=now)  # the stop handlers cover the --now run too


def _print_entries(ctx: Context, *, cron: bool, systemd: bool) -> None:
    """``--print-cron`` / ``--print-systemd``: the entries for the config file in use, this machine's paths."""
    import datetime as dt

    from sheets_crm.cli.entries import cron_entry, systemd_units, where
    from sheets_crm.core.dates import machine_zone

    source = ctx.config.source
    if source is None:  # settings from the environment alone: the entry needs a file to point at
        raise typer.BadParameter("save the settings in a sheets-crm.toml first (see `sheets-crm config starter`)")
    paths = where(Path(source))
    at, zone = ctx.config.sync_time, ctx.config.zone_name()
    digest = ctx.config.digest.enabled
    texts = []
    if cron:
        texts.append(cron_entry(paths, at, zone, machine_zone().key, dt.date.today(), digest=digest))
    if systemd:
        texts.append(systemd_units(paths, at, zone, digest=digest))
    _write("\n".join(texts))


@app.command("export-ics")
def export_ics(
    target: str | None = typer.Argument(None, help="A .xlsx path, or a Google Sheets URL or id."),
    out_path: Path = typer.Option(Path("sheets-crm.ics"), "--out", "-o", help="Where to write the .ics file."),
    days: int | None = typer.Option(None, "--days", help="Look this many days ahead (default: upcoming_days)."),
    no_overdue: bool = typer.Option(False, "--no-overdue", help="Leave out overdue contacts."),
    name: str | None = typer.Option(None, "--name", help="Calendar name."),
    config: Path | None = ConfigOpt,
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
) -> None:
    """Write open planned contacts as an iCalendar file (all-day events, stable UIDs)."""
    from sheets_crm.app.ics import ALL_SECTIONS, calls_to_ics, source_key, write_ics

    day = _parse_today(today)
    with handled():
        ctx = Context(config, credentials=credentials, tz=tz, upcoming_days=days)
        target_name = ctx.targets(target)[0]
        result = ctx.run(target_name, today=day, dry_run=True)
        sections = tuple(s for s in ALL_SECTIONS if not (no_overdue and s == "overdue"))
        data = calls_to_ics(
            result.calls,
            calendar_name=name or f"Calls: {source_key(result.target)}",
            zone=result.time_zone,
            spreadsheet_id=source_key(result.target),
            sections=sections,
            lang=result.lang,
        )
        write_ics(out_path, data)
        n = sum(1 for c in result.calls if c.section in sections)
        out.print(ngettext("Wrote {n} event to {path}", "Wrote {n} events to {path}", n).format(n=n, path=out_path))


@app.command()
def digest(
    target: str | None = typer.Argument(None, help="A .xlsx path, or a Google Sheets URL or id."),
    send_it: bool = typer.Option(False, "--send", help="Send by e-mail (default: print what would be sent)."),
    lang: str | None = typer.Option(None, "--lang", help="en or ru (default: the workbook's)."),
    config: Path | None = ConfigOpt,
    today: str | None = TodayOpt,
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
) -> None:
    """Print (or --send) the morning digest without writing to the workbook."""
    from sheets_crm.app.digest import build_digests, deliver

    day = _parse_today(today)
    with handled():
        ctx = Context(config, credentials=credentials, tz=tz)
        result = ctx.run(ctx.targets(target)[0], today=day, dry_run=True)
        if send_it:
            sent = deliver(result, ctx.config.digest, lang=lang)
            said = ngettext("Sent {n} message.", "Sent {n} messages.", sent) if sent else _("No calls: nothing sent.")
            out.print(said.format(n=sent), markup=False)
            return
        cfg = ctx.config.digest
        messages = build_digests(
            result.calls,
            cfg,
            today=result.today,
            lang=lang or (result.lang if cfg.lang == "auto" else None),
            numbers=result.numbers,
        )
        if not result.calls:
            out.print(_("No calls: nothing would be sent."), markup=False)
        elif not messages:  # no recipients yet: still show what the team would get
            messages = build_digests(
                result.calls,
                cfg.model_copy(update={"to_team": (_("(nobody yet)"),)}),
                today=result.today,
                lang=lang or (result.lang if cfg.lang == "auto" else None),
                numbers=result.numbers,
            )
            render.print_lines(
                out,
                [
                    _(
                        "No recipients are configured ([digest] to_team and [digest.owners] in sheets-crm.toml); "
                        "this is what the team message would say:"
                    ),
                    "",
                ],
            )
        for m in messages:
            out.print(f"To: {', '.join(m.to)}\nSubject: {m.subject}\n\n{m.text}", markup=False)


app.command()(review.report)
app.command()(review.card)
app.command(name="import")(data.import_file)
app.command()(data.log)
app.command()(watch.watch)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
