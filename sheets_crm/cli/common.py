"""What every command shares: the consoles, error handling, common options and the settings of one run.

Kept apart from :mod:`.main` so that modules adding commands (``review`` and others) import it
without importing ``main`` back (no import cycle).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from typer.exceptions import TyperException

from sheets_crm.cli import i18n
from sheets_crm.cli.i18n import _
from sheets_crm.errors import CrmError

if TYPE_CHECKING:
    from rich.console import Console

    from sheets_crm.app.sync import SyncResult
    from sheets_crm.core.template import Template

__all__ = [
    "ConfigOpt",
    "Context",
    "CredOpt",
    "LocaleOpt",
    "TemplateOpt",
    "TodayOpt",
    "TzOpt",
    "check_zone",
    "close_zones",
    "no_targets",
    "starter_config",
    "err",
    "handled",
    "interactive",
    "out",
    "parse_today",
    "reset_consoles",
    "template_for",
]


class _LazyConsole:
    """A rich Console made on first use (importing rich costs start-up time ``--help`` does not need)."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def reset(self) -> None:
        """Forget the console: the next use looks at the terminal (and its size, colours) afresh."""
        self._console = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr, highlight=False, soft_wrap=True)
        return getattr(self._console, name)


out = cast("Console", _LazyConsole(stderr=False))
err = cast("Console", _LazyConsole(stderr=True))


def reset_consoles() -> None:
    """Called as each invocation starts (tests run many in one process, each with its own terminal)."""
    for console in (out, err):
        cast(_LazyConsole, console).reset()


@contextmanager
def handled() -> Iterator[None]:
    """CrmError → one line and exit 1; anything else → a short note, exit 1."""
    try:
        yield
    except CrmError as exc:
        if exc.lang:  # an error about a sheet: in the sheet's language, unless one was asked for
            i18n.use(i18n.choose(sheet=exc.lang))
        err.print(_("Error: {problem}").format(problem=exc.said(_)), markup=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print(_("Interrupted; the workbook was left as it was before this run."), markup=False)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, SystemExit, TyperException):
        raise
    except Exception as exc:  # a bug of ours: still no traceback, but say what
        err.print(
            _(
                "Internal error ({kind}: {problem}). The workbook was not changed by this run; "
                "please report this with the command you ran."
            ).format(kind=type(exc).__name__, problem=exc),
            markup=False,
        )
        raise typer.Exit(1) from None


def parse_today(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from None


def template_for(path: Path | None) -> Template:
    from sheets_crm.core.template import default_template, load_template

    return load_template(path) if path else default_template()


TargetArg = typer.Argument(
    None, help="A .xlsx path, or a Google Sheets URL or id (default: the first spreadsheet in the config)."
)
TodayOpt = typer.Option(None, "--today", metavar="YYYY-MM-DD", help="Pretend today is this date.")


def check_zone(value: str | None) -> str | None:
    """``--tz``: an unknown zone is a usage error (exit 2) that names the closest IANA zones."""
    if not value:
        return value
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
        return value
    except (ZoneInfoNotFoundError, ValueError):
        close = close_zones(value)
    hint = f"did you mean {' or '.join(close)}?" if close else "use an IANA name such as Europe/Moscow or UTC"
    raise typer.BadParameter(f"unknown time zone {value!r}; {hint}")


def close_zones(name: str, n: int = 3) -> list[str]:
    """IANA zones close to ``name``: a city's zone first (Moscow -> Europe/Moscow), then near spellings."""
    import difflib
    from zoneinfo import available_timezones

    zones = sorted(z for z in available_timezones() if "/" in z or z == "UTC")
    wanted = name.strip().replace(" ", "_").lower()
    by_city = [z for z in zones if z.lower() == wanted or z.lower().rsplit("/", 1)[-1] == wanted]
    if by_city:
        return by_city[:n]
    lowered = {z.lower(): z for z in zones}
    cities = {z.lower().rsplit("/", 1)[-1]: z for z in zones}
    near = difflib.get_close_matches(wanted, list(lowered), n=n, cutoff=0.6)
    near += [cities[c] for c in difflib.get_close_matches(wanted, list(cities), n=n, cutoff=0.6)]
    return list(dict.fromkeys(lowered.get(z, z) for z in near))[:n]


def starter_config() -> str:
    """A config to start from, with this machine's zone (``sheets-crm config starter`` prints it)."""
    from sheets_crm.core.dates import machine_zone

    return (
        "# sheets-crm.toml (every key: docs/scheduling.md)\n"
        "# .xlsx paths (relative to this file) or Google Sheets URLs\n"
        'spreadsheets = ["crm.xlsx"]\n'
        f'time_zone = "{machine_zone().key}"\n'
        'sync_time = "08:00"\n'
        "upcoming_days = 7\n"
        "# Google: the key file's path (never the key itself)\n"
        '# credentials = "service-account.json"\n'
    )


def no_targets(source: Path | None) -> typer.Exit:
    """No target given and none configured: say where a config file goes, print a starter, exit 2 (usage)."""
    if source is None:
        from sheets_crm.app.config import CONFIG_FILENAME, user_config_path

        where = _(
            "No {name} was found. Save one as ./{name} (this folder) or {user_file} (every folder), "
            "or pass --config PATH. A starter (also printed by `sheets-crm config starter`):"
        ).format(name=CONFIG_FILENAME, user_file=user_config_path())
    else:
        where = _("{source} lists no spreadsheets. Add them, for example:").format(source=source)
    from sheets_crm.cli.render import print_lines

    print_lines(
        err,
        [
            _(
                "Error: no spreadsheet to work on: give a workbook path or a Google Sheets URL, or list it under "
                "`spreadsheets` in the config file."
            )
            + " "
            + where,
            "",
        ],
    )
    # the starter as is (never wrapped: it is meant to be copied into a file)
    err.print(starter_config() if source is None else 'spreadsheets = ["crm.xlsx"]\n', markup=False, end="")
    return typer.Exit(2)


TzOpt = typer.Option(
    None,
    "--tz",
    metavar="ZONE",
    callback=check_zone,
    help="Time zone for 'today' (default: the spreadsheet's, else the config's, else this machine's).",
)
CredOpt = typer.Option(
    None,
    "--credentials",
    metavar="PATH",
    help="Google service-account or OAuth JSON (default: GOOGLE_APPLICATION_CREDENTIALS).",
)
TemplateOpt = typer.Option(None, "--template", metavar="PATH", help="Use another template file.", hidden=True)
LocaleOpt = typer.Option(
    None,
    "--locale",
    metavar="LOCALE",
    help="Locale deciding dd/mm vs mm/dd in text dates, e.g. en_US "
    "(default: a Google sheet's own locale; day first for local files).",
)
ConfigOpt = typer.Option(
    None, "--config", metavar="PATH", help="Settings file (default: ./sheets-crm.toml, then the user config folder)."
)


class Context:
    """Settings for one command: config file < environment < options."""

    def __init__(
        self,
        config: Path | None,
        *,
        credentials: str | None = None,
        tz: str | None = None,
        template: Path | None = None,
        **overrides: object,
    ) -> None:
        from sheets_crm.app.config import load_config

        self.cli_tz = tz
        self.config = load_config(config, overrides={"credentials": credentials, **overrides})
        self.template = self.config.template(template_for(template))

    @property
    def credentials(self) -> str | None:
        return str(self.config.credentials) if self.config.credentials else None

    def tz_for(self, target: str) -> str | None:
        """--tz wins; a Google sheet keeps its own zone; a local file takes the config's."""
        from sheets_crm.backends.google.target import is_google_target

        if self.cli_tz or is_google_target(target):
            return self.cli_tz
        return self.config.time_zone

    def targets(self, target: str | None) -> list[str]:
        if target:
            return [target]
        if not self.config.spreadsheets:
            raise no_targets(self.config.source)
        return list(self.config.spreadsheets)

    def run(self, target: str, *, today: dt.date | None, dry_run: bool, locale: str | None = None) -> SyncResult:
        """Open and sync (or, with dry_run, only plan) one target, with progress on a terminal.

        The same two steps as :func:`sheets_crm.app.sync.run_sync`, done here so that the
        opened workbook can be watched for progress.
        """
        from sheets_crm.app.sync import sync
        from sheets_crm.backends import open_workbook
        from sheets_crm.cli.progress import Progress

        with Progress(err) as progress:
            progress.step(_("Opening {target}…").format(target=target))
            workbook = open_workbook(target, credentials=self.credentials, locale=locale, allow_login=interactive())
            result = sync(
                progress.watch(workbook),
                today=today,
                tz=self.tz_for(target),
                template=self.template,
                dry_run=dry_run,
            )
        i18n.use(i18n.choose(sheet=result.lang))  # from here on, the sheet's language (unless overridden)
        return result


def interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
