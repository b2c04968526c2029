"""``sheets-crm schedule``: the thin foreground loop around the morning sync.

All decisions about *when* live in :mod:`sheets_crm.app.scheduling` (pure, tested
at fixed instants). This module only wires them to the world:

* the ``schedule`` library ticks every ``tick_seconds`` (30 s); each tick asks
  :func:`~sheets_crm.app.scheduling.is_due` with the configured zone. We do not use
  ``every().day.at("08:00", "Europe/Moscow")``: schedule 1.2 needs pytz for
  zones (not a dependency) and reads the machine's wall clock, which is the
  wrong zone on a UTC server;
* the time of the last run is kept in a small JSON state file (platformdirs
  user state dir), so a restart after today's run does not run again;
* a lock (``flock`` on a file in the same folder, ``msvcrt.locking`` on
  Windows) makes runs never overlap, also across two ``schedule`` processes
  and with a cron job that wraps ``sheets-crm sync`` in ``flock(1)`` on the
  same file. The state is re-read *after* taking the lock, so the second
  process sees the first one's run and does not repeat it;
* every spreadsheet is synced in turn; one failing is logged and does not stop
  the others or the loop; the digest (if enabled) follows each successful sync;
* a local workbook open in Excel or LibreOffice cannot be written: that one is
  tried again every ``open_retry_every_minutes`` until ``open_retry_until`` (in
  the sync's zone; default every 5 minutes until noon). The digest goes out at
  once, read from the workbook as last saved and saying so; the retry that
  succeeds, or the last one, is logged;
* SIGTERM / Ctrl-C set a stop flag: the current run finishes, then the loop
  ends. A second Ctrl-C interrupts at once.

Logs name the spreadsheet and the outcome, never a password or credentials.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import platformdirs
import schedule

from sheets_crm.app.config import APP_NAME, Config
from sheets_crm.app.files import write_atomically
from sheets_crm.app.scheduling import format_sync_time, is_due, next_run, trusted_last_run
from sheets_crm.backends.google.target import is_google_target
from sheets_crm.errors import ConfigError, CrmError, WorkbookLockedError

__all__ = [
    "Runner",
    "RunReport",
    "TargetOutcome",
    "RunLock",
    "StateStore",
    "default_state_path",
    "default_lock_path",
    "install_stop_handlers",
    "describe_result",
    "setup_logging",
]

log = logging.getLogger("sheets_crm.app.runner")

SyncFn = Callable[..., Any]
DigestFn = Callable[..., int]  # (result, config, source, *, workbook_open=...) -> messages sent
Clock = Callable[[], dt.datetime]


def default_state_path() -> Path:
    """``<user state dir>/schedule-state.json``."""
    return Path(platformdirs.user_state_dir(APP_NAME)) / "schedule-state.json"


def default_lock_path() -> Path:
    """``<user state dir>/sheets-crm.lock``: also the file cron's flock(1) should use."""
    return Path(platformdirs.user_state_dir(APP_NAME)) / "sheets-crm.lock"


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- lock


class RunLock:
    """A non-blocking, cross-process exclusive lock on a file.

    ``flock`` locks belong to the open file, so two ``RunLock`` objects on one
    path exclude each other even inside one process, and the kernel drops the
    lock if the process dies: no stale lock files to clean up after a crash.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock if free; False (at once) if someone else holds it."""
        if self._fd is not None:
            raise RuntimeError("lock already held by this object")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise CrmError(f"cannot create the lock file {self.path}: {exc.strerror or exc}") from None
        try:
            if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            if sys.platform == "win32":  # pragma: no cover
                import msvcrt

                os.lseek(self._fd, 0, os.SEEK_SET)
                msvcrt.locking(self._fd, msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    @contextmanager
    def held(self) -> Iterator[bool]:
        """``with lock.held() as got:``; ``got`` False means someone else runs."""
        got = self.acquire()
        try:
            yield got
        finally:
            if got:
                self.release()


# --------------------------------------------------------------------------- state


class StateStore:
    """The last run per set of spreadsheets, in a small JSON file.

    Keyed by the configured spreadsheets so two configs scheduled by the same
    user keep separate days. A corrupt or missing file means "never ran": the
    worst case is one extra sync, which changes nothing on an unchanged sheet.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable schedule state %s (%s); treating today's sync as not run", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def last_run(self, key: str) -> dt.datetime | None:
        entry = self._load().get("runs", {}).get(key)
        if not isinstance(entry, dict):
            return None
        try:
            when = dt.datetime.fromisoformat(entry["last_run"])
        except (KeyError, TypeError, ValueError):
            return None
        return when if when.tzinfo is not None else None

    def record(self, key: str, when: dt.datetime, *, ok: bool, summary: str) -> None:
        """Store this run atomically (see :func:`~sheets_crm.app.files.write_atomically`)."""
        data = self._load()
        runs = data.setdefault("runs", {})
        runs[key] = {"last_run": when.astimezone(dt.UTC).isoformat(), "ok": ok, "summary": summary}
        data["version"] = 1
        try:
            write_atomically(self.path, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8"))
        except OSError as exc:
            # Not fatal: the lock still prevents overlap; a restart may rerun once.
            log.error("could not save the schedule state to %s: %s", self.path, exc.strerror or exc)


# --------------------------------------------------------------------------- reports


@dataclass
class TargetOutcome:
    """What happened to one spreadsheet in one run."""

    target: str
    ok: bool
    summary: str
    result: Any = None
    digest_sent: int = 0
    digest_error: str | None = None
    #: The workbook was open: when the next attempt is (None: not waiting).
    retry_at: dt.datetime | None = None


@dataclass
class _Waiting:
    """A workbook found open: when it was first found so, when to try next, until when."""

    since: dt.datetime
    next: dt.datetime
    until: dt.datetime


@dataclass
class RunReport:
    """One scheduled run over every configured spreadsheet."""

    started: dt.datetime
    finished: dt.datetime
    outcomes: list[TargetOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok and o.digest_error is None for o in self.outcomes)

    def summary(self) -> str:
        good = sum(o.ok for o in self.outcomes)
        return f"{good} of {len(self.outcomes)} spreadsheets synced"


def describe_result(result: Any) -> str:
    """ "2 overdue, 1 today, 4 upcoming; 1 warning; 12 cells changed" from a SyncResult."""
    counts = {"overdue": 0, "today": 0, "upcoming": 0}
    for call in getattr(result, "calls", []) or []:
        counts[call.section] = counts.get(call.section, 0) + 1
    text = ", ".join(f"{n} {section}" for section, n in counts.items())
    warnings = len(getattr(result, "issues", []) or [])
    text += f"; {warnings} warning{'s' if warnings != 1 else ''}"
    changed = getattr(result, "changed_cells", None)
    if changed is not None:
        text += f"; {changed} cell{'s' if changed != 1 else ''} changed" if changed else "; nothing to change"
    return text


def _default_sync(target: str, **kwargs: Any) -> Any:
    from sheets_crm.app.sync import run_sync  # imported late: the runner must not need the backends to load

    return run_sync(target, **kwargs)


def _default_digest(result: Any, config: Config, source: str | None, **extra: Any) -> int:
    from sheets_crm.app.digest import deliver

    return deliver(result, config.digest, source=source, **extra)


# --------------------------------------------------------------------------- runner


class Runner:
    """Decides, locks, syncs, records. ``run_pending(now)`` is one tick.

    Everything with side effects is injectable so tests drive it with a fake
    clock, a fake sync and temporary state/lock paths.
    """

    def __init__(
        self,
        config: Config,
        *,
        sync: SyncFn | None = None,
        send_digest: DigestFn | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        state_path: str | os.PathLike[str] | None = None,
        lock_path: str | os.PathLike[str] | None = None,
        tick_seconds: int = 30,
        scheduler_factory: Callable[[], schedule.Scheduler] = schedule.Scheduler,
    ) -> None:
        if not config.spreadsheets:
            where = f" in {config.source}" if config.source else " (no sheets-crm.toml was found)"
            raise ConfigError(
                f'no spreadsheets to sync{where}: add spreadsheets = ["crm.xlsx"] '
                "(workbook paths or Google Sheets URLs/IDs)"
            )
        if config.digest.enabled:
            config.digest.check_ready()  # a missing password now, not at 08:00
        if tick_seconds <= 0:
            raise ValueError("tick_seconds must be positive")
        self.config = config
        self.zone = config.zone()
        self.at = config.sync_time
        self.sync = sync or _default_sync
        self.send_digest = send_digest or _default_digest
        self.clock = clock or _utcnow
        self._sleep = sleep
        self.state = StateStore(state_path or default_state_path())
        self.lock = RunLock(lock_path or default_lock_path())
        self.tick_seconds = tick_seconds
        self._scheduler_factory = scheduler_factory
        self.key = hashlib.sha256("\n".join(config.spreadsheets).encode("utf-8")).hexdigest()[:16]
        self._lock_busy_logged = False
        self._suspect_logged: dt.datetime | None = None
        #: Workbooks found open in Excel/LibreOffice, tried again until config.open_retry_until.
        self.waiting: dict[str, _Waiting] = {}

    # -- decisions

    def last_run(self) -> dt.datetime | None:
        """The last run as recorded (see :meth:`_trusted_last_run` for the one decisions use)."""
        return self.state.last_run(self.key)

    def _trusted_last_run(self, now: dt.datetime) -> dt.datetime | None:
        """The recorded last run; one recorded in the future is logged (once) and ignored."""
        recorded = self.last_run()
        trusted = trusted_last_run(now, recorded)
        if recorded is not None and trusted is None and recorded != self._suspect_logged:
            self._suspect_logged = recorded
            log.warning(
                "the last run is recorded at %s, after the current time %s: the clock was probably ahead then; "
                "ignoring it so that the sync is not skipped until then",
                self._fmt(recorded),
                self._fmt(now),
            )
        return trusted

    def is_due(self, now: dt.datetime | None = None) -> bool:
        now = now or self.clock()
        return is_due(now, self.zone, self.at, self._trusted_last_run(now))

    def next_run(self, now: dt.datetime | None = None) -> dt.datetime:
        now = now or self.clock()
        return next_run(now, self.zone, self.at, self._trusted_last_run(now))

    # -- one tick

    def run_pending(self, now: dt.datetime | None = None) -> RunReport | None:
        """Run today's sync if it is due and nobody else is running; else None."""
        now = now or self.clock()
        if not self.is_due(now):
            return self._retry_pending(now)
        with self.lock.held() as got:
            if not got:
                if not self._lock_busy_logged:
                    log.info("another sheets-crm run holds %s; will check again", self.lock.path)
                    self._lock_busy_logged = True
                return None
            self._lock_busy_logged = False
            # Re-check under the lock: another process may have just finished today's run.
            if not is_due(now, self.zone, self.at, self._trusted_last_run(now)):
                return None
            return self._run_locked(now)

    def run_now(self, now: dt.datetime | None = None) -> RunReport | None:
        """Run immediately, whatever the schedule says (still under the lock); None if locked."""
        now = now or self.clock()
        with self.lock.held() as got:
            if not got:
                log.warning("another sheets-crm run holds %s; not starting a second one", self.lock.path)
                return None
            return self._run_locked(now)

    def _run_locked(self, now: dt.datetime) -> RunReport:
        config = self.config
        local = now.astimezone(self.zone)
        log.info(
            "sync run started at %s %s (%d spreadsheet%s)",
            local.strftime("%Y-%m-%d %H:%M"),
            self.zone.key,
            len(config.spreadsheets),
            "s" if len(config.spreadsheets) != 1 else "",
        )
        template = config.template()
        credentials = str(config.credentials) if config.credentials else None
        several = len(config.spreadsheets) > 1
        outcomes = []
        for target in config.spreadsheets:
            # "Today" of a Google sheet is in the sheet's own zone; time_zone
            # (the zone of the sync time) is "today" for local workbooks only.
            tz = None if is_google_target(target) else config.time_zone
            try:
                result = self.sync(target, tz=tz, credentials=credentials, template=template)
            except WorkbookLockedError as exc:
                outcome = self._found_open(target, exc, now, several)
            except CrmError as exc:
                outcome = TargetOutcome(target, ok=False, summary=str(exc))
                log.error("sync %s failed: %s", target, exc)
            except Exception as exc:  # a bug must not end the daemon; the next day may work
                outcome = TargetOutcome(target, ok=False, summary=f"unexpected {type(exc).__name__}: {exc}")
                log.error("sync %s failed unexpectedly: %s: %s", target, type(exc).__name__, exc)
                log.debug("traceback", exc_info=True)
            else:
                outcome = TargetOutcome(target, ok=True, summary=describe_result(result), result=result)
                log.info("sync %s: %s", target, outcome.summary)
                for issue in getattr(result, "issues", []) or []:
                    log.warning("sync %s: %s", target, issue)
                if config.digest.enabled:
                    self._digest(outcome, source=target if several else None)
            outcomes.append(outcome)
        finished = self.clock()
        report = RunReport(started=now, finished=finished, outcomes=outcomes)
        self.state.record(self.key, now, ok=report.ok, summary=report.summary())
        log.info(
            "sync run finished: %s; next run %s",
            report.summary(),
            self._fmt(next_run(max(now, finished), self.zone, self.at, now)),
        )
        return report

    # -- a workbook open in Excel or LibreOffice

    def _retry_window(self, now: dt.datetime) -> dt.datetime | None:
        """Until when an open workbook is tried again today (None: the window is already over)."""
        local = now.astimezone(self.zone)
        until = dt.datetime.combine(local.date(), self.config.open_retry_until, tzinfo=self.zone)
        return until if until > now else None

    def _found_open(self, target: str, exc: CrmError, now: dt.datetime, several: bool) -> TargetOutcome:
        """The first attempt found the workbook open: wait for it, and send the digest from what it holds."""
        until = self._retry_window(now)
        if until is None:
            log.error("sync %s failed: %s", target, exc)
            return TargetOutcome(target, ok=False, summary=str(exc))
        every = dt.timedelta(minutes=self.config.open_retry_every_minutes)
        wait = self.waiting[target] = _Waiting(since=now, next=min(now + every, until), until=until)
        log.warning(
            "sync %s: the workbook is open in Excel or LibreOffice; trying again every %d minutes until %s",
            target,
            self.config.open_retry_every_minutes,
            self._fmt(until),
        )
        outcome = TargetOutcome(target, ok=False, summary=f"open in Excel or LibreOffice: {exc}", retry_at=wait.next)
        if self.config.digest.enabled:
            self._digest_while_open(outcome, wait, source=target if several else None)
        return outcome

    def _digest_while_open(self, outcome: TargetOutcome, wait: _Waiting, source: str | None) -> None:
        """Today's calls on time all the same: read (never written) from the workbook as last saved."""
        config = self.config
        credentials = str(config.credentials) if config.credentials else None
        try:
            outcome.result = self.sync(
                outcome.target, tz=config.time_zone, credentials=credentials, template=config.template(), dry_run=True
            )
        except CrmError as exc:
            log.error("digest for %s not sent: the workbook could not be read either: %s", outcome.target, exc)
            outcome.digest_error = str(exc)
            return
        note = {
            "at": wait.since.astimezone(self.zone).strftime("%H:%M"),
            "every": config.open_retry_every_minutes,
            "until": wait.until.astimezone(self.zone).strftime("%H:%M"),
        }
        self._digest(outcome, source, workbook_open=note)

    def _retry_pending(self, now: dt.datetime) -> RunReport | None:
        """Try again the workbooks found open whose next attempt has come; None when none has."""
        due = [t for t, w in self.waiting.items() if w.next <= now]
        if not due:
            return None
        with self.lock.held() as got:
            if not got:
                return None
            outcomes = [self._retry(target, now) for target in due]
        report = RunReport(started=now, finished=self.clock(), outcomes=outcomes)
        self.state.record(self.key, now, ok=report.ok, summary=f"retry: {report.summary()}")
        return report

    def _retry(self, target: str, now: dt.datetime) -> TargetOutcome:
        config = self.config
        wait = self.waiting[target]
        credentials = str(config.credentials) if config.credentials else None
        tz = None if is_google_target(target) else config.time_zone
        since = self._fmt(wait.since)
        try:
            result = self.sync(target, tz=tz, credentials=credentials, template=config.template())
        except WorkbookLockedError as exc:
            if now >= wait.until:
                del self.waiting[target]
                log.error(
                    "sync %s: gave up at %s: the workbook was open in Excel or LibreOffice from %s on, so it was "
                    "not updated today (the digest was sent from it as last saved); close it and run "
                    "`sheets-crm sync %s`, or wait for tomorrow's run",
                    target,
                    self._fmt(now),
                    since,
                    target,
                )
                return TargetOutcome(target, ok=False, summary=f"still open at {self._fmt(now)}: {exc}")
            every = dt.timedelta(minutes=config.open_retry_every_minutes)
            wait.next = min(now + every, wait.until)
            log.info("sync %s: still open in Excel or LibreOffice; next try %s", target, self._fmt(wait.next))
            return TargetOutcome(target, ok=False, summary=str(exc), retry_at=wait.next)
        except CrmError as exc:
            del self.waiting[target]
            log.error("sync %s failed: %s", target, exc)
            return TargetOutcome(target, ok=False, summary=str(exc))
        del self.waiting[target]
        outcome = TargetOutcome(target, ok=True, summary=describe_result(result), result=result)
        log.info(
            "sync %s: done at %s, after the workbook (open since %s) was closed: %s",
            target,
            self._fmt(now),
            since,
            outcome.summary,
        )
        return outcome

    def _digest(self, outcome: TargetOutcome, source: str | None, workbook_open: dict[str, Any] | None = None) -> None:
        try:
            if workbook_open:
                outcome.digest_sent = self.send_digest(outcome.result, self.config, source, workbook_open=workbook_open)
            else:
                outcome.digest_sent = self.send_digest(outcome.result, self.config, source)
        except CrmError as exc:
            outcome.digest_error = str(exc)
            log.error("digest for %s not sent: %s", outcome.target, exc)
        except Exception as exc:
            outcome.digest_error = f"unexpected {type(exc).__name__}: {exc}"
            log.error("digest for %s not sent: unexpected %s", outcome.target, type(exc).__name__)
            log.debug("traceback", exc_info=True)
        else:
            if outcome.digest_sent:
                log.info(
                    "digest for %s: %d message%s sent",
                    outcome.target,
                    outcome.digest_sent,
                    "s" if outcome.digest_sent != 1 else "",
                )
            else:
                log.info("digest for %s: no calls, nothing sent", outcome.target)

    def _fmt(self, when: dt.datetime) -> str:
        return when.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")

    # -- the loop

    def _wait(self, stop_event: threading.Event, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            stop_event.wait(seconds)

    def _tick(self) -> None:
        try:
            self.run_pending()
        except CrmError as exc:  # e.g. the lock file cannot be created: log, try next tick
            log.error("%s", exc)

    def loop(self, stop_event: threading.Event) -> None:
        """Tick until ``stop_event`` is set; checks once at start (a late start runs at once)."""
        scheduler = self._scheduler_factory()
        scheduler.every(self.tick_seconds).seconds.do(self._tick)
        now = self.clock()
        upcoming = self.next_run(now)
        log.info(
            "schedule: %d spreadsheet%s daily at %s %s; %s",
            len(self.config.spreadsheets),
            "s" if len(self.config.spreadsheets) != 1 else "",
            format_sync_time(self.at),
            self.zone.key,
            "today's sync has not run yet: running now" if upcoming <= now else f"next run {self._fmt(upcoming)}",
        )
        self._tick()
        while not stop_event.is_set():
            idle = scheduler.idle_seconds
            delay = self.tick_seconds if idle is None else max(0.0, min(idle, self.tick_seconds))
            self._wait(stop_event, delay)
            if stop_event.is_set():
                break
            scheduler.run_pending()
        scheduler.clear()
        log.info("schedule stopped")

    def serve(self, *, run_now: bool = False) -> None:
        """The CLI entry: loop in the foreground until SIGTERM / Ctrl-C.

        ``run_now`` (``schedule --now``) first runs once whatever the
        schedule says. The stop handlers are in place before that run, so a
        SIGTERM during it lets it finish (the workbook is fully written and
        the run recorded), and then the scheduler exits without looping.
        """
        stop = threading.Event()
        restore = install_stop_handlers(stop)
        try:
            if run_now:
                self.run_now()
            if stop.is_set():
                log.info("schedule stopped")
                return
            self.loop(stop)
        finally:
            restore()


def install_stop_handlers(stop_event: threading.Event) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop_event`` (the current run finishes); returns an undo function.

    A second SIGINT raises KeyboardInterrupt, for a person who really wants
    out now. Outside the main thread signals cannot be handled: no-op.
    """
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop_event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("%s received: stopping after the current run (Ctrl-C again to stop at once)", name)
        stop_event.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread / not supported here
            pass

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def setup_logging(level: int = logging.INFO, file: str | os.PathLike[str] | None = None) -> None:
    """Timestamped log lines for the long-running ``schedule`` (stderr, or a file)."""
    handler: logging.Handler = logging.FileHandler(file, encoding="utf-8") if file else logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S%z"))
    root = logging.getLogger("sheets_crm")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
