"""When is the morning sync due? Pure functions of (now, zone, sync time, last run).

The scheduler loop (:mod:`sheets_crm.app.runner`) asks these functions every tick
and never reads a clock or a zone itself, so every decision here can be tested
at fixed instants: across midnight, on a server in another zone, and on the
days a daylight-saving change skips or repeats an hour.

The rule, for a sync time ``at`` in ``zone``:

* every local calendar day ``D`` (in ``zone``, not the machine's zone) has one
  scheduled instant ``S(D)``: ``D at`` local time;
* if that wall time does not exist on ``D`` (spring forward, e.g. 02:30 on the
  last Sunday of March in Europe/Berlin) ``S(D)`` is the first instant after it
  (03:00 CEST, the moment of the change);
* if it exists twice (fall back) ``S(D)`` is the first occurrence, and since a
  run at that instant counts for the whole day the repeat does not run again;
* the sync is *due* at ``now`` when ``S(today) <= now`` and no run was recorded
  at or after ``S(today)``. Missed earlier days are not caught up: today's sync
  supersedes them, and a start-up after the sync time runs once at start.

A day whose ``S(D)`` falls on the next calendar day (only when a whole day is
skipped, as Samoa skipped 2011-12-30) has no sync of its own.

A last run recorded in the future (more than :data:`CLOCK_SLACK` after
``now``) cannot have happened: the clock was ahead when it was recorded and
has since been corrected. Trusting it would skip every day until the clock
caught up with it, so it is ignored (:func:`trusted_last_run`) and the sync
runs as if none had been recorded; the runner logs a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

__all__ = [
    "parse_sync_time",
    "format_sync_time",
    "local_date",
    "scheduled_instant",
    "due_instant",
    "is_due",
    "next_run",
    "CLOCK_SLACK",
    "trusted_last_run",
]

_UTC = dt.UTC

#: How far ahead of "now" a recorded run may lie and still be believed: small
#: steps of the clock (NTP corrections) are not a reason to sync twice.
CLOCK_SLACK = dt.timedelta(minutes=5)
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")


def parse_sync_time(text: str | dt.time) -> dt.time:
    """Parse "08:00" / "8:00" / "08:00:30" (24-hour clock) into a naive time.

    Raises ValueError with a message meant for the person who typed it; the
    config loader wraps it into a ConfigError naming the key and file.
    """
    if isinstance(text, dt.time):
        if text.tzinfo is not None:
            raise ValueError("the sync time must be a plain local time without an offset; set the zone with time_zone")
        return text
    match = _TIME.match(str(text))
    if not match:
        raise ValueError(f'{text!r} is not a time of day; use HH:MM on a 24-hour clock, e.g. "08:00"')
    hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text!r} is not a time of day; hours go 00-23 and minutes 00-59")
    return dt.time(hour, minute, second)


def format_sync_time(at: dt.time) -> str:
    """ "08:00" (seconds only when set): the form config files and logs use."""
    return at.strftime("%H:%M:%S" if at.second else "%H:%M")


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


def local_date(instant: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The calendar date ``instant`` falls on in ``zone``."""
    _require_aware(instant, "instant")
    return instant.astimezone(zone).date()


def _wall(instant_utc: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return instant_utc.astimezone(zone).replace(tzinfo=None, fold=0)


def scheduled_instant(day: dt.date, zone: ZoneInfo, at: dt.time) -> dt.datetime:
    """The instant the sync of local day ``day`` becomes due, as a UTC datetime.

    A wall time in a skipped hour maps to the first real instant after it; a
    wall time in a repeated hour maps to its first occurrence.

    Instants are returned (and compared) in UTC on purpose: Python compares
    two datetimes of the *same* zone by wall time, ignoring ``fold``, so the
    two 02:30s of a fall-back night would look equal. Convert with
    ``.astimezone(zone)`` only for display.
    """
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(_UTC)
    if _wall(as_utc, zone) == naive:
        return as_utc
    # ``naive`` is in a gap. PEP 495: fold=0 reads it with the offset before
    # the change, fold=1 with the offset after; the change itself lies between
    # the two instants. Bisect (to the second) for the first instant whose
    # wall time is at or after ``naive``: that is the moment of the change.
    a = naive.replace(tzinfo=zone, fold=0).astimezone(_UTC)
    b = naive.replace(tzinfo=zone, fold=1).astimezone(_UTC)
    lo, hi = min(a, b), max(a, b)
    if _wall(lo, zone) >= naive:  # pragma: no cover - defensive, zoneinfo never does this
        return lo
    second = dt.timedelta(seconds=1)
    while hi - lo > second:
        mid = lo + (hi - lo) // 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            mid = lo + second
        if _wall(mid, zone) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    _require_aware(value, name)
    return value.astimezone(_UTC)


def trusted_last_run(now: dt.datetime, last_run: dt.datetime | None) -> dt.datetime | None:
    """``last_run``, or None when it lies more than :data:`CLOCK_SLACK` after ``now``.

    Such a run was recorded while the clock was ahead; the scheduler treats it
    as suspect and runs rather than skip the days up to it.
    """
    if last_run is None:
        return None
    last = _utc(last_run, "last_run")
    return None if last > _utc(now, "now") + CLOCK_SLACK else last


def due_instant(now: dt.datetime, zone: ZoneInfo, at: dt.time) -> dt.datetime | None:
    """Today's scheduled instant (UTC) if it has come (``<= now``), else None.

    "Today" is ``now``'s calendar date in ``zone``.
    """
    now = _utc(now, "now")
    today = local_date(now, zone)
    instant = scheduled_instant(today, zone, at)
    if local_date(instant, zone) != today or instant > now:
        return None
    return instant


def is_due(now: dt.datetime, zone: ZoneInfo, at: dt.time, last_run: dt.datetime | None) -> bool:
    """True when today's sync (local date in ``zone``) should run now.

    That is: the sync time has come today and no run was recorded since it
    came. A run before today's sync time (yesterday's, or a run made under an
    earlier sync time) does not count for today, nor does a run recorded in
    the future (see :func:`trusted_last_run`).
    """
    instant = due_instant(now, zone, at)
    if instant is None:
        return False
    last = trusted_last_run(now, last_run)
    return last is None or last < instant


def next_run(now: dt.datetime, zone: ZoneInfo, at: dt.time, last_run: dt.datetime | None) -> dt.datetime:
    """When the next sync should start (UTC); ``now`` itself if it is due.

    Used to log "next sync at ..." and to sleep no longer than necessary.
    """
    now = _utc(now, "now")
    last = trusted_last_run(now, last_run)
    if is_due(now, zone, at, last):
        return now
    day = local_date(now, zone)
    # Normally today's instant (still ahead) or tomorrow's; the loop only
    # goes further for a day with no sync of its own (a skipped calendar day).
    for _ in range(7):
        instant = scheduled_instant(day, zone, at)
        if local_date(instant, zone) == day and instant > now and (last is None or last < instant):
            return instant
        day += dt.timedelta(days=1)
    raise AssertionError("no sync instant within a week")  # pragma: no cover
