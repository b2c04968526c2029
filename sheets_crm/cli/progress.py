"""Progress on a terminal: a transient spinner naming the step (opening, reading, planning, writing, waiting).

Shown only on a terminal and only once the work has taken about a second, so quick commands print
nothing extra and logs, pipes and cron mail never see it. The library does not know about it: the
command wraps the opened workbook (:meth:`Progress.watch`), whose read/prepare/apply calls mark the
steps, and the library's own log records (a retry, a quota wait) show as the current step.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from sheets_crm.cli.i18n import _

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status

    from sheets_crm.backends.protocol import Workbook

__all__ = ["DELAY", "Progress"]

#: seconds of work before the spinner appears
DELAY = 1.0


class Progress:
    """``with Progress(console) as p: p.step("Reading…")``; nothing at all unless ``console`` is a terminal."""

    def __init__(self, console: Console, *, delay: float = DELAY, enabled: bool | None = None) -> None:
        self.console = console
        self.enabled = console.is_terminal if enabled is None else enabled
        self.delay = delay
        self.text = ""
        self._status: Status | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._handler = _StepHandler(self)

    # -- the steps ------------------------------------------------------------
    def step(self, text: str) -> None:
        """The current step; shown (or updated) once the work has run for ``delay`` seconds."""
        with self._lock:
            self.text = text
            if self._status is not None:
                self._status.update(text)

    def watch(self, workbook: Workbook) -> Workbook:
        """The workbook, its reads and writes marked as steps (everything else passes through)."""
        if not self.enabled:
            return workbook
        return cast("Workbook", _Watched(workbook, self))

    # -- showing --------------------------------------------------------------
    def __enter__(self) -> Progress:
        if self.enabled:
            logging.getLogger("sheets_crm").addHandler(self._handler)
            if self.delay <= 0:
                self._show()
                return self
            self._timer = threading.Timer(self.delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        logging.getLogger("sheets_crm").removeHandler(self._handler)
        with self._lock:
            self._closed = True
            if self._status is not None:
                self._status.stop()  # transient: the line disappears, the results follow
                self._status = None

    def _show(self) -> None:
        with self._lock:
            if self._closed or self._status is not None:
                return
            self._status = self.console.status(self.text or _("Working…"), spinner="dots")
            self._status.start()


class _StepHandler(logging.Handler):
    """The library's notes (a retry, a quota wait) become the current step while work runs."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(logging.INFO)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.progress.step(record.getMessage())
        except Exception:  # progress must never break the work
            self.handleError(record)


class _Watched:
    """A workbook whose read/prepare/apply announce themselves; every other attribute is the workbook's."""

    def __init__(self, workbook: Workbook, progress: Progress) -> None:
        self._workbook = workbook
        self._progress = progress

    def __getattr__(self, name: str) -> Any:
        return getattr(self._workbook, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:  # a setting given to the workbook must reach the workbook itself
            setattr(self._workbook, name, value)

    def read(self, *args: Any, **kwargs: Any) -> Any:
        self._progress.step(_("Reading {target}…").format(target=self._workbook.name))
        snapshot = self._workbook.read(*args, **kwargs)
        self._progress.step(_("Working out today's calls…"))
        return snapshot

    def prepare(self, *args: Any, **kwargs: Any) -> Any:
        self._progress.step(_("Preparing the changes…"))
        return self._workbook.prepare(*args, **kwargs)

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        self._progress.step(_("Writing {target}…").format(target=self._workbook.name))
        done = self._workbook.apply(*args, **kwargs)
        self._progress.step(_("Finishing…"))
        return done
