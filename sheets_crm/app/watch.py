"""``sheets-crm watch``: near-live sheets — sync a workbook soon after a person changes it, and only then.

The loop is backend-neutral. Each workbook offers a cheap change signal,
:meth:`~sheets_crm.backends.protocol.Workbook.change_token` (a local file: one
``stat`` and a look for the Excel/LibreOffice lock file; Google: one Drive
``files.get`` of ``modifiedTime,version``), and the loop syncs a workbook when
its token differs from the one remembered after the last sync:

* **Google** sheets are polled every ``every`` seconds (default 60; the quota
  arithmetic is in docs/scheduling.md). A sync's own write moves the Drive
  version too, so the token is read again *after* each sync and that one is
  remembered: the tool's own write never sets off a second sync.
* **Local** workbooks are looked at whenever the folder reports a change
  (watchfiles, in a background thread; without it, every few seconds) and at
  least every ``every`` seconds. A save is synced once it has *settled*: the
  file is unchanged for ``debounce`` seconds (one save, one sync, however many
  file events it makes) and no lock file says it is still open — a person who
  saves twice and then closes the workbook gets one sync, after closing. The
  tool's own save changes the file; its token is remembered after the sync, so
  it sets off nothing.

A sync that fails is logged and the watch goes on: the same version is tried
again only after a growing pause (``every`` × 2, × 4 … at most an hour), or at
once when it changes again (the person fixed the sheet). A workbook found open
at write time waits for its lock file to go. Missing or refused credentials
(:class:`~sheets_crm.errors.AuthError`) and a bad config stop the watch: no
later poll can succeed.

SIGTERM and Ctrl-C (the ``schedule`` command's handlers,
:func:`~sheets_crm.app.runner.install_stop_handlers`) end the loop once the
sync in flight has finished; a second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheets_crm.app.runner import describe_result, install_stop_handlers
from sheets_crm.backends.google.target import is_google_target
from sheets_crm.backends.protocol import ChangeToken, Workbook
from sheets_crm.errors import AuthError, ConfigError, WorkbookLockedError

__all__ = ["DEFAULT_EVERY", "DEFAULT_DEBOUNCE", "Watch", "WatchTarget", "start_file_watcher"]

log = logging.getLogger(__name__)

#: Seconds between two Drive polls of one Google sheet (and the fallback look at a local file).
DEFAULT_EVERY = 60.0
#: Seconds a local file must stay unchanged before its save is synced.
DEFAULT_DEBOUNCE = 2.0
#: Seconds between looks at a local file when no file-watching library is available.
FALLBACK_LOOK = 5.0
#: The longest pause before a failed sync of an unchanged workbook is tried again.
MAX_RETRY_PAUSE = 3600.0

SyncFn = Callable[[str, Workbook], Any]
_UNSET: Hashable = object()  # "no token remembered yet" (None is a token value: a missing file)
_NO_ANSWER = ChangeToken(value=object(), busy=True, shown="no answer")  # the look itself failed: not now


@dataclass
class WatchTarget:
    """One workbook being watched, and what the loop remembers about it."""

    name: str
    workbook: Workbook
    #: Looked at on every wake-up (a local file: a stat costs nothing), not only every ``every`` seconds.
    cheap: bool
    synced: Hashable = _UNSET  #: token value after the last sync (or at start)
    pending: ChangeToken | None = None  #: a change seen, waiting to settle
    pending_since: float = 0.0
    next_look: float = 0.0
    failed: Hashable = _UNSET  #: token value a sync last failed on
    failures: int = 0
    retry_at: float = 0.0
    busy_logged: bool = False
    syncs: int = 0


class Watch:
    """Watch workbooks and sync each after it changed. ``run(stop)`` is the loop; everything is injectable.

    ``sync(name, workbook)`` does one sync (the CLI's: :func:`sheets_crm.app.sync.sync` with its options);
    ``clock`` is monotonic seconds; ``wait(seconds)`` returns early when woken (a file event, a stop).
    """

    def __init__(
        self,
        targets: Sequence[tuple[str, Workbook]],
        sync: SyncFn,
        *,
        every: float = DEFAULT_EVERY,
        debounce: float = DEFAULT_DEBOUNCE,
        once_changed: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], None] | None = None,
        cheap: Callable[[str], bool] | None = None,
    ) -> None:
        if every <= 0 or debounce < 0:
            raise ValueError("every must be positive and debounce not negative")
        cheap = cheap or (lambda name: not is_google_target(name))
        self.targets = [WatchTarget(name, wb, cheap(name)) for name, wb in targets]
        self.sync = sync
        self.every = float(every)
        self.debounce = float(debounce)
        self.once_changed = once_changed
        self.clock = clock
        self.wake = threading.Event()
        self._wait = wait or self._wait_for_wake
        #: Seconds between looks at a local file: ``every``, or less when no file watcher wakes the loop.
        self.local_every = self.every
        self.syncs = 0
        self.failed_syncs = 0

    # -- the loop ------------------------------------------------------------------------------------

    def _wait_for_wake(self, seconds: float) -> None:
        self.wake.wait(seconds)
        self.wake.clear()

    def start(self, *, sync_first: bool = False) -> None:
        """Remember each workbook's token as it is now (``sync_first``: sync each one first)."""
        now = self.clock()
        for target in self.targets:
            if sync_first:
                self._sync(target, None, now)
            else:
                token = self._look(target)
                target.synced = token.value if token is not None and token is not _NO_ANSWER else _UNSET
            target.next_look = now + self._interval(target)

    def run(self, stop: threading.Event, *, sync_first: bool = False) -> int:
        """Watch until ``stop`` is set (or, with ``once_changed``, until a change was synced); the number of syncs."""
        self.start(sync_first=sync_first)
        log.info(
            "watching %d spreadsheet%s: Google every %g s, local files on save (settled %g s)",
            len(self.targets),
            "s" if len(self.targets) != 1 else "",
            self.every,
            self.debounce,
        )
        while not stop.is_set():
            self.step(stop)
            if self.once_changed and self.syncs + self.failed_syncs:
                break
            if stop.is_set():
                break
            self._wait(max(0.0, self.next_wake() - self.clock()))
        log.info("watch stopped after %d sync%s", self.syncs, "s" if self.syncs != 1 else "")
        return self.syncs

    def next_wake(self) -> float:
        """When the loop must look again without being woken: the earliest due look or settle."""
        return min((t.next_look for t in self.targets), default=self.clock() + self.every)

    def step(self, stop: threading.Event | None = None) -> None:
        """One wake-up: look at what is due (every cheap target, the polled ones whose time came)."""
        now = self.clock()
        for target in self.targets:
            if stop is not None and stop.is_set():
                return
            if target.cheap or now >= target.next_look or target.pending is not None:
                self._visit(target, now)
            if self.once_changed and self.syncs + self.failed_syncs:
                return

    # -- one workbook --------------------------------------------------------------------------------

    def _interval(self, target: WatchTarget) -> float:
        return self.local_every if target.cheap else self.every

    def _settle(self, target: WatchTarget) -> float:
        # A poll every minute is its own debounce; a file event needs the file to stay still a moment.
        return self.debounce if target.cheap else 0.0

    def _look(self, target: WatchTarget) -> ChangeToken | None:
        """The workbook's change token (None: the backend has no change signal).

        A failed look (network, permissions) is logged and answers :data:`_NO_ANSWER`: "not now".
        """
        try:
            return target.workbook.change_token()
        except (AuthError, ConfigError):
            raise  # credentials gone or refused: no later poll can succeed
        except Exception as exc:
            log.warning("%s: cannot tell whether it changed (%s); looking again later", target.name, exc)
            return _NO_ANSWER

    def _visit(self, target: WatchTarget, now: float) -> None:
        due = now >= target.next_look
        if due:
            target.next_look = now + self._interval(target)
        token = self._look(target)
        if token is _NO_ANSWER:
            return
        if token is None:  # a backend without a change signal: sync every interval
            if due:
                self._sync(target, None, now)
            return
        if token.value == target.synced:
            target.pending = None
            return
        if token.busy:
            if not target.busy_logged:
                log.info("%s changed but is open in another program; syncing once it is closed", target.name)
                target.busy_logged = True
            target.pending = None
            return
        target.busy_logged = False
        settle = self._settle(target)
        if target.pending is None or target.pending.value != token.value:
            target.pending, target.pending_since = token, now
        if now - target.pending_since < settle:
            target.next_look = min(target.next_look, target.pending_since + settle)
            return
        if token.value == target.failed and now < target.retry_at:
            target.pending = None
            return
        self._sync(target, token, now)

    def _sync(self, target: WatchTarget, token: ChangeToken | None, now: float) -> None:
        target.pending = None
        if token is not None:
            log.info("%s changed (%s): syncing", target.name, token.shown or token.value)
        try:
            result = self.sync(target.name, target.workbook)
        except (AuthError, ConfigError):
            raise
        except WorkbookLockedError as exc:  # opened between the look and the write: wait for it to close
            log.warning("%s", exc)
            return
        except Exception as exc:  # a failed sync is not fatal: log it, try again later
            self.failed_syncs += 1
            target.failures += 1
            target.failed = token.value if token is not None else _UNSET
            pause = min(self.every * 2**target.failures, MAX_RETRY_PAUSE)
            target.retry_at = now + pause
            log.error("%s: sync failed (%s); trying again when it changes or in %g s", target.name, exc, pause)
            return
        self.syncs += 1
        target.syncs += 1
        target.failures = 0
        target.failed = _UNSET
        log.info("%s synced: %s", target.name, describe_result(result))
        after = self._look(target)  # the tool's own write moved the token: remember that one
        if after is None or after is _NO_ANSWER:
            target.synced = _UNSET
        elif token is not None and after.value != token.value and not getattr(result, "written", True):
            # The sync wrote nothing, yet the token moved: someone edited while it ran. Keep the old
            # token, so the next look syncs their edit. (After a write the two cannot be told apart.)
            log.info("%s changed while it was being synced; syncing again", target.name)
            target.synced = token.value
        else:
            target.synced = after.value


# -- waking the loop on file events ------------------------------------------------------------------


def _watched_names(paths: Iterable[Path]) -> tuple[set[Path], set[str]]:
    """The folders to watch (a symlink's and its file's) and the names in them that concern a workbook."""
    folders: set[Path] = set()
    names: set[str] = set()
    for path in paths:
        for p in {Path(path).absolute(), Path(os.path.realpath(path))}:
            folders.add(p.parent)
            name = p.name
            # the workbook, Excel's and LibreOffice's lock files (see backends/local/files.lock_file)
            names.update({name, f".~lock.{name}#", f"~${name}", f"~${name[2:]}", f"~${name[1:]}"})
    return folders, names


def start_file_watcher(
    paths: Sequence[Path],
    wake: threading.Event,
    stop: threading.Event,
    on_failure: Callable[[], None] | None = None,
) -> threading.Thread | None:
    """Set ``wake`` whenever one of ``paths`` (or its lock file) changes; None when watchfiles is unavailable.

    watchfiles (Rust ``notify``: inotify, FSEvents, ReadDirectoryChangesW) groups a burst of events
    itself (``step``/``debounce``) and stops on ``stop``; the folders are watched, not the files, because
    Excel, LibreOffice and this tool save by renaming a new file over the old one.
    """
    if not paths:
        return None
    try:
        import watchfiles
    except ImportError:  # pragma: no cover - a dependency; kept for a stripped-down install
        log.warning("watchfiles is not installed: looking at local workbooks every %g s instead", FALLBACK_LOOK)
        return None
    folders, names = _watched_names(paths)
    missing = [f for f in folders if not f.is_dir()]
    if missing:
        log.warning("cannot watch %s (no such folder)", ", ".join(map(str, missing)))
        return None

    def concerns(_change: Any, path: str) -> bool:
        base = os.path.basename(path)
        return base in names or any(base.startswith(f".{n}.") for n in names)  # our own temp file: harmless

    def run() -> None:
        try:
            for _ in watchfiles.watch(
                *folders,
                watch_filter=concerns,
                debounce=1600,
                step=200,
                stop_event=stop,
                recursive=False,
                raise_interrupt=False,
                rust_timeout=1000,
            ):
                wake.set()
        except Exception as exc:  # the loop goes on looking every few seconds
            log.warning("file watching stopped (%s); looking at local workbooks every %g s", exc, FALLBACK_LOOK)
            if on_failure is not None:
                on_failure()

    thread = threading.Thread(target=run, name="sheets-crm-watch-files", daemon=True)
    thread.start()
    return thread


class _StopAndWake(threading.Event):
    """The stop flag the signal handlers set; setting it also wakes the loop's wait."""

    def __init__(self, wake: threading.Event) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake.set()


def serve(watch: Watch, *, sync_first: bool = False) -> int:
    """The CLI entry: watch in the foreground until SIGTERM / Ctrl-C (the sync in flight finishes); syncs made."""
    stop = _StopAndWake(watch.wake)
    restore = install_stop_handlers(stop)
    local = [Path(t.name) for t in watch.targets if t.cheap]

    def poll_instead() -> None:
        watch.local_every = min(watch.every, FALLBACK_LOOK)
        watch.wake.set()

    thread = start_file_watcher(local, watch.wake, stop, poll_instead)
    if local and thread is None:
        poll_instead()
    try:
        return watch.run(stop, sync_first=sync_first)
    finally:
        stop.set()
        restore()
        if thread is not None:
            thread.join(timeout=5)
