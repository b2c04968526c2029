"""When the morning sync is due: fixed instants across midnight, zones and DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_crm.app.scheduling import (
    CLOCK_SLACK,
    due_instant,
    format_sync_time,
    is_due,
    local_date,
    next_run,
    parse_sync_time,
    scheduled_instant,
    trusted_last_run,
)

UTC = dt.UTC
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
AUCKLAND = ZoneInfo("Pacific/Auckland")
EIGHT = dt.time(8, 0)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("08:00", dt.time(8, 0)),
        ("8:05", dt.time(8, 5)),
        (" 23:59 ", dt.time(23, 59)),
        ("00:00", dt.time(0, 0)),
        ("07:30:15", dt.time(7, 30, 15)),
        (dt.time(6, 45), dt.time(6, 45)),
    ],
)
def test_parse_sync_time_accepts_24_hour_times(text, expected):
    assert parse_sync_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "24:00", "08:60", "8", "8am", "", "08:00 PM", "-1:00"])
def test_parse_sync_time_rejects_non_times_with_a_hint(text):
    with pytest.raises(ValueError, match="HH:MM|00-23"):
        parse_sync_time(text)


def test_parse_sync_time_rejects_an_offset():
    with pytest.raises(ValueError, match="time_zone"):
        parse_sync_time(dt.time(8, 0, tzinfo=UTC))


def test_format_sync_time_round_trips():
    assert format_sync_time(dt.time(8, 0)) == "08:00"
    assert format_sync_time(dt.time(8, 0, 30)) == "08:00:30"


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_due(dt.datetime(2025, 3, 3, 8, 0), MOSCOW, EIGHT, None)


# --------------------------------------------------------------------------- a UTC server, Moscow sync


def test_moscow_8am_on_a_utc_server():
    # 08:00 MSK is 05:00 UTC (Moscow is UTC+3 all year).
    assert not is_due(utc(2025, 3, 3, 4, 59, 59), MOSCOW, EIGHT, None)
    assert is_due(utc(2025, 3, 3, 5, 0), MOSCOW, EIGHT, None)
    ran = utc(2025, 3, 3, 5, 0, 10)
    assert not is_due(utc(2025, 3, 3, 5, 30), MOSCOW, EIGHT, ran)
    # 21:30 UTC on the 3rd is 00:30 on the 4th in Moscow: a new local day, but before 08:00.
    assert local_date(utc(2025, 3, 3, 21, 30), MOSCOW) == dt.date(2025, 3, 4)
    assert not is_due(utc(2025, 3, 3, 21, 30), MOSCOW, EIGHT, ran)
    assert next_run(utc(2025, 3, 3, 21, 30), MOSCOW, EIGHT, ran) == utc(2025, 3, 4, 5, 0)
    assert is_due(utc(2025, 3, 4, 5, 0), MOSCOW, EIGHT, ran)


def test_startup_after_the_sync_time_runs_once_at_start():
    now = utc(2025, 3, 3, 9, 17)  # 12:17 in Moscow, never ran
    assert is_due(now, MOSCOW, EIGHT, None)
    assert next_run(now, MOSCOW, EIGHT, None) == now
    # after that run, nothing until tomorrow 08:00
    assert not is_due(now + dt.timedelta(minutes=1), MOSCOW, EIGHT, now)
    assert next_run(now + dt.timedelta(minutes=1), MOSCOW, EIGHT, now) == utc(2025, 3, 4, 5, 0)


def test_restart_after_todays_run_does_not_rerun():
    ran = utc(2025, 3, 3, 5, 0, 3)
    restart = utc(2025, 3, 3, 11, 0)
    assert not is_due(restart, MOSCOW, EIGHT, ran)


def test_a_run_before_todays_sync_time_does_not_count_for_today():
    # yesterday's run, or one made at 06:00 under an earlier sync time
    assert is_due(utc(2025, 3, 3, 5, 0), MOSCOW, EIGHT, utc(2025, 3, 2, 5, 0))
    assert is_due(utc(2025, 3, 3, 5, 0), MOSCOW, EIGHT, utc(2025, 3, 3, 3, 0))


def test_missed_days_are_not_caught_up_before_todays_time():
    # Server was off for two days; started at 07:00 Moscow: wait for 08:00.
    assert not is_due(utc(2025, 3, 5, 4, 0), MOSCOW, EIGHT, utc(2025, 3, 2, 5, 0))
    assert next_run(utc(2025, 3, 5, 4, 0), MOSCOW, EIGHT, utc(2025, 3, 2, 5, 0)) == utc(2025, 3, 5, 5, 0)


def test_a_last_run_recorded_in_the_future_is_suspect_and_does_not_skip_days():
    # The clock ran three days ahead on Monday's run (recorded for Thursday) and was corrected since.
    future = utc(2025, 3, 6, 5, 0)
    tuesday_8am = utc(2025, 3, 4, 5, 0)
    assert trusted_last_run(tuesday_8am, future) is None
    assert is_due(tuesday_8am, MOSCOW, EIGHT, future)
    assert next_run(tuesday_8am, MOSCOW, EIGHT, future) == tuesday_8am
    # before the sync time it still waits for the sync time, not for Thursday
    assert not is_due(tuesday_8am - dt.timedelta(hours=1), MOSCOW, EIGHT, future)
    assert next_run(tuesday_8am - dt.timedelta(hours=1), MOSCOW, EIGHT, future) == tuesday_8am
    # the same holds within the day: a run "recorded" this evening did not happen yet
    assert is_due(tuesday_8am + dt.timedelta(hours=1), MOSCOW, EIGHT, tuesday_8am + dt.timedelta(hours=12))


def test_a_small_clock_step_back_is_not_a_reason_to_run_twice():
    ran = utc(2025, 3, 4, 5, 10)  # 08:10 Moscow
    stepped_back = ran - CLOCK_SLACK + dt.timedelta(seconds=1)  # 08:05:01, just inside the slack
    assert trusted_last_run(stepped_back, ran) == ran
    assert not is_due(stepped_back, MOSCOW, EIGHT, ran)
    assert trusted_last_run(ran - CLOCK_SLACK - dt.timedelta(seconds=1), ran) is None


def test_evening_sync_in_new_york_belongs_to_the_local_date_not_utc():
    nine_pm = dt.time(21, 0)
    # 21:00 EST on March 3rd is 02:00 UTC on March 4th.
    assert not is_due(utc(2025, 3, 4, 1, 59), NEW_YORK, nine_pm, None)
    assert is_due(utc(2025, 3, 4, 2, 0), NEW_YORK, nine_pm, None)
    ran = utc(2025, 3, 4, 2, 0)
    assert not is_due(utc(2025, 3, 4, 14, 0), NEW_YORK, nine_pm, ran)  # 09:00 on the 4th
    assert next_run(utc(2025, 3, 4, 14, 0), NEW_YORK, nine_pm, ran) == utc(2025, 3, 5, 2, 0)


def test_auckland_is_a_day_ahead_of_utc():
    # 08:00 NZDT (UTC+13) on 15 January is 19:00 UTC on 14 January.
    assert scheduled_instant(dt.date(2025, 1, 15), AUCKLAND, EIGHT) == utc(2025, 1, 14, 19, 0)
    assert not is_due(utc(2025, 1, 14, 18, 59), AUCKLAND, EIGHT, utc(2025, 1, 13, 19, 0))
    assert is_due(utc(2025, 1, 14, 19, 0), AUCKLAND, EIGHT, utc(2025, 1, 13, 19, 0))


# --------------------------------------------------------------------------- daylight saving


def test_berlin_spring_forward_skipped_time_runs_at_the_change():
    # 2025-03-30: 02:00 CET jumps to 03:00 CEST (01:00 UTC). 02:30 never happens.
    at = dt.time(2, 30)
    instant = scheduled_instant(dt.date(2025, 3, 30), BERLIN, at)
    assert instant == utc(2025, 3, 30, 1, 0)
    assert instant.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"
    assert not is_due(utc(2025, 3, 30, 0, 59, 59), BERLIN, at, utc(2025, 3, 29, 1, 30))
    assert is_due(utc(2025, 3, 30, 1, 0), BERLIN, at, utc(2025, 3, 29, 1, 30))


def test_berlin_fall_back_repeated_time_runs_once():
    # 2025-10-26: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    at = dt.time(2, 30)
    first, second = utc(2025, 10, 26, 0, 30), utc(2025, 10, 26, 1, 30)
    assert first.astimezone(BERLIN).time() == second.astimezone(BERLIN).time() == at
    assert scheduled_instant(dt.date(2025, 10, 26), BERLIN, at) == first
    assert is_due(first, BERLIN, at, utc(2025, 10, 25, 0, 30))
    assert not is_due(second, BERLIN, at, first)
    assert next_run(second, BERLIN, at, first) == utc(2025, 10, 27, 1, 30)  # 02:30 CET


def test_new_york_dst_days():
    # Spring 2025-03-09: 02:00 EST -> 03:00 EDT at 07:00 UTC.
    assert scheduled_instant(dt.date(2025, 3, 9), NEW_YORK, dt.time(2, 15)) == utc(2025, 3, 9, 7, 0)
    # Fall 2025-11-02: 02:00 EDT -> 01:00 EST; 01:30 first at 05:30 UTC, again at 06:30 UTC.
    at = dt.time(1, 30)
    assert scheduled_instant(dt.date(2025, 11, 2), NEW_YORK, at) == utc(2025, 11, 2, 5, 30)
    assert not is_due(utc(2025, 11, 2, 6, 30), NEW_YORK, at, utc(2025, 11, 2, 5, 30))
    # 08:00 keeps its local time across the change, so the UTC instant moves by an hour.
    ran = utc(2025, 3, 8, 13, 0)  # 08:00 EST
    assert next_run(utc(2025, 3, 8, 14, 0), NEW_YORK, EIGHT, ran) == utc(2025, 3, 9, 12, 0)  # 08:00 EDT


def test_auckland_dst_days():
    # Spring 2025-09-28: 02:00 NZST -> 03:00 NZDT (14:00 UTC on the 27th).
    assert scheduled_instant(dt.date(2025, 9, 28), AUCKLAND, dt.time(2, 30)) == utc(2025, 9, 27, 14, 0)
    # Autumn 2025-04-06: 03:00 NZDT -> 02:00 NZST; 02:30 first at 13:30 UTC on the 5th.
    at = dt.time(2, 30)
    assert scheduled_instant(dt.date(2025, 4, 6), AUCKLAND, at) == utc(2025, 4, 5, 13, 30)
    assert not is_due(utc(2025, 4, 5, 14, 30), AUCKLAND, at, utc(2025, 4, 5, 13, 30))


def test_half_hour_dst_of_lord_howe():
    zone = ZoneInfo("Australia/Lord_Howe")  # 2024-10-06: 02:00 -> 02:30
    instant = scheduled_instant(dt.date(2024, 10, 6), zone, dt.time(2, 10))
    assert instant.astimezone(zone).time() == dt.time(2, 30)


def test_a_skipped_calendar_day_has_no_sync_of_its_own():
    apia = ZoneInfo("Pacific/Apia")  # Samoa skipped 2011-12-30 entirely
    ran = scheduled_instant(dt.date(2011, 12, 29), apia, EIGHT)
    after = ran + dt.timedelta(hours=1)
    nxt = next_run(after, apia, EIGHT, ran)
    assert nxt.astimezone(apia).replace(tzinfo=None) == dt.datetime(2011, 12, 31, 8, 0)
    assert due_instant(nxt, apia, EIGHT) == nxt


# --------------------------------------------------------------------------- properties

ZONES = [
    ZoneInfo(z)
    for z in (
        "Europe/Berlin",
        "America/New_York",
        "Pacific/Auckland",
        "Europe/Moscow",
        "Australia/Lord_Howe",
        "America/Sao_Paulo",
        "Asia/Kolkata",
        "UTC",
    )
]
times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))


@settings(max_examples=8, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    at=st.builds(dt.time, st.integers(0, 22), st.integers(0, 59)),
    step=st.sampled_from([37, 53, 60]),
    start_day=st.integers(0, 364),
)
def test_exactly_one_run_per_local_day_over_a_simulated_year(zone, at, step, start_day):
    """Tick a whole year the way the loop does; every local day gets one run at its first tick.

    (Ticks are coarse here to keep the test fast; the real loop ticks every
    30 s. A tick coarser than the time left before midnight could miss a day.)
    """
    start = utc(2024, 1, 1) + dt.timedelta(days=start_day, minutes=7)
    end = start + dt.timedelta(days=366)
    last_run = None
    runs: dict[dt.date, list[dt.datetime]] = {}
    now = start
    while now < end:
        if is_due(now, zone, at, last_run):
            runs.setdefault(local_date(now, zone), []).append(now)
            last_run = now
        now += dt.timedelta(minutes=step)
    first_full = local_date(start, zone) + dt.timedelta(days=1)
    last_full = local_date(end, zone) - dt.timedelta(days=2)
    day = first_full
    tick = dt.timedelta(minutes=step)
    while day <= last_full:
        assert len(runs.get(day, [])) == 1, (day, runs.get(day))
        (ran,) = runs[day]
        instant = scheduled_instant(day, zone, at)
        assert instant <= ran < instant + tick  # the first tick at or after the sync time
        day += dt.timedelta(days=1)


instants = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2037, 12, 31), timezones=st.just(UTC))


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    at=times,
    now=instants,
    since=st.one_of(st.none(), st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3))),
)
def test_next_run_is_the_first_due_instant(zone, at, now, since):
    last_run = None if since is None else now - since
    nxt = next_run(now, zone, at, last_run)
    assert nxt >= now
    assert is_due(nxt, zone, at, last_run)
    if nxt > now:
        assert not is_due(now, zone, at, last_run)
        assert not is_due(nxt - dt.timedelta(seconds=1), zone, at, last_run)
        # and once it has run it is not due again the same local day
        assert not is_due(nxt + dt.timedelta(hours=1), zone, at, nxt) or local_date(
            nxt + dt.timedelta(hours=1), zone
        ) != local_date(nxt, zone)


@settings(max_examples=200, deadline=None)
@given(zone=st.sampled_from(ZONES), at=times, day=st.dates(dt.date(2000, 1, 1), dt.date(2037, 12, 31)))
def test_scheduled_instant_is_the_first_instant_at_or_after_the_wall_time(zone, at, day):
    instant = scheduled_instant(day, zone, at)
    target = dt.datetime.combine(day, at)
    wall = instant.astimezone(zone).replace(tzinfo=None)
    assert wall >= target
    before = (instant - dt.timedelta(seconds=1)).astimezone(zone).replace(tzinfo=None)
    assert wall == target or before < target
