import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from sheets_crm.core.dates import date_to_serial, parse_dates, resolve_zone, serial_to_date, to_date, today_in
from sheets_crm.errors import ConfigError


@pytest.mark.parametrize(
    "raw, locale, expected",
    [
        ("2026-11-22", None, dt.date(2026, 11, 22)),
        ("2026-11-22 18:30", None, dt.date(2026, 11, 22)),
        ("22.11.2026", "en_US", dt.date(2026, 11, 22)),  # dots are always day.month
        ("03/04/2026", "en_US", dt.date(2026, 3, 4)),  # US: month first
        ("03/04/2026", "ru_RU", dt.date(2026, 4, 3)),
        ("03/04/2026", "en_GB", dt.date(2026, 4, 3)),
        ("03/04/2026", None, dt.date(2026, 4, 3)),
        (43831, None, dt.date(2020, 1, 1)),  # Google serial (recorded: 2020-01-01 -> 43831)
        (43831.99, None, dt.date(2020, 1, 1)),  # time of day is dropped, not rounded
        (dt.datetime(2026, 1, 2, 23, 59), None, dt.date(2026, 1, 2)),
        (dt.date(2026, 2, 3), None, dt.date(2026, 2, 3)),
    ],
)
def test_to_date(raw, locale, expected):
    assert to_date(raw, locale) == expected


@pytest.mark.parametrize("raw", ["31.02.2026", "tomorrow", True, "2026-13-01", -5, 1e12, "#REF!"])
def test_bad_dates_are_flagged_not_guessed(raw):
    dates, bad = parse_dates(pd.Series([raw], dtype=object), None)
    assert pd.isna(dates.iloc[0])
    assert bool(bad.iloc[0])


@pytest.mark.parametrize("raw", [None, "", "   ", float("nan")])
def test_empty_cells_are_not_bad(raw):
    dates, bad = parse_dates(pd.Series([raw], dtype=object), None)
    assert pd.isna(dates.iloc[0]) and not bool(bad.iloc[0])


def test_serial_round_trip():
    for day in (dt.date(1900, 3, 1), dt.date(2026, 11, 22), dt.date(2099, 12, 31)):
        assert serial_to_date(date_to_serial(day)) == day


@pytest.mark.parametrize(
    "instant, zone, expected",
    [
        # 23:30 in Moscow is still the 22nd there, already past midnight in UTC terms it is 20:30.
        (dt.datetime(2026, 11, 22, 20, 59, tzinfo=dt.UTC), "Europe/Moscow", dt.date(2026, 11, 22)),
        (dt.datetime(2026, 11, 22, 21, 0, tzinfo=dt.UTC), "Europe/Moscow", dt.date(2026, 11, 23)),
        # A US sheet at 7 pm local is still "today" although UTC has moved on.
        (dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 11, 22)),
        # Auckland is a day ahead of UTC.
        (dt.datetime(2026, 11, 22, 11, 0, tzinfo=dt.UTC), "Pacific/Auckland", dt.date(2026, 11, 23)),
        # Across the US DST change (2026-03-08 02:00 local): midnight is at 05:00 UTC before, 04:00 after.
        (dt.datetime(2026, 3, 8, 4, 59, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 3, 7)),
        (dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 3, 8)),
        (dt.datetime(2026, 3, 9, 3, 59, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 3, 8)),
        (dt.datetime(2026, 3, 9, 4, 0, tzinfo=dt.UTC), "America/New_York", dt.date(2026, 3, 9)),
        # Europe's autumn change (2026-10-25): Berlin midnight at 22:00 UTC before, 23:00 UTC after.
        (dt.datetime(2026, 10, 25, 22, 59, tzinfo=dt.UTC), "Europe/Berlin", dt.date(2026, 10, 25)),
        (dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC), "Europe/Berlin", dt.date(2026, 10, 26)),
    ],
)
def test_today_is_the_calendar_date_in_the_sheet_zone(instant, zone, expected):
    assert today_in(ZoneInfo(zone), instant) == expected


def test_today_needs_an_aware_instant():
    with pytest.raises(ValueError):
        today_in(ZoneInfo("UTC"), dt.datetime(2026, 1, 1, 12, 0))


def test_unknown_zone_is_a_config_error():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        resolve_zone("Mars/Olympus")
