"""``sheets-crm watch [TARGET…]``: keep sheets near-live (sync each one after it changes) until Ctrl-C / SIGTERM."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sheets_crm.cli.common import (
    ConfigOpt,
    Context,
    CredOpt,
    LocaleOpt,
    TemplateOpt,
    TzOpt,
    handled,
    interactive,
)

if TYPE_CHECKING:
    from sheets_crm.backends.protocol import Workbook

__all__ = ["watch"]


@contextmanager
def _progress_log() -> Iterator[None]:
    """A watch runs for hours: its INFO lines ("X changed: syncing") show on stderr with a time, -v or not."""
    logger = logging.getLogger("sheets_crm")
    saved = [(h, h.level, h.formatter) for h in logger.handlers]
    for handler in logger.handlers:
        if handler.level > logging.INFO:
            handler.setLevel(logging.INFO)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    try:
        yield
    finally:
        for handler, level, formatter in saved:
            handler.setLevel(level)
            handler.setFormatter(formatter)


def watch(
    targets: list[str] | None = typer.Argument(
        None,
        metavar="TARGET...",
        help="Workbook paths or Google Sheets URLs/ids (default: every spreadsheet in the config).",
    ),
    every: float = typer.Option(
        60.0,
        "--every",
        metavar="SECONDS",
        min=1.0,
        help="Seconds between two looks at a Google sheet (one small Drive request each; see docs/scheduling.md).",
    ),
    once_changed: bool = typer.Option(
        False, "--once-changed", help="Exit after the first sync a change set off (for tests and scripts)."
    ),
    now: bool = typer.Option(False, "--now", help="Sync every target once at start, then watch."),
    tz: str | None = TzOpt,
    credentials: str | None = CredOpt,
    locale: str | None = LocaleOpt,
    config: Path | None = ConfigOpt,
    template: Path | None = TemplateOpt,
) -> None:
    """Sync each spreadsheet soon after someone changes it (Google: polled; local: on save, once closed)."""
    from sheets_crm.app.sync import sync
    from sheets_crm.app.watch import Watch, serve
    from sheets_crm.backends import open_workbook
    from sheets_crm.backends.google.target import is_google_target
    from sheets_crm.errors import WorkbookError

    with handled():
        ctx = Context(config, credentials=credentials, tz=tz, template=template)
        names = list(targets) if targets else ctx.targets(None)
        for name in names:  # a typo in a path would otherwise be watched, silently, forever
            if not is_google_target(name) and not Path(name).is_file():
                raise WorkbookError(f"{name}: no such workbook (create one with `sheets-crm init {name}`)")
        # Opened once, up front: a missing or bad credentials file stops here, before any watching.
        opened = [
            (name, open_workbook(name, credentials=ctx.credentials, locale=locale, allow_login=interactive()))
            for name in names
        ]

        def sync_one(name: str, workbook: Workbook) -> object:
            return sync(workbook, tz=ctx.tz_for(name), template=ctx.template)

        runner = Watch(opened, sync_one, every=every, once_changed=once_changed)
        with _progress_log():
            serve(runner, sync_first=now)
    if once_changed and runner.failed_syncs:
        raise typer.Exit(1)
