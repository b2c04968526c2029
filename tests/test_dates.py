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


# -- dates as people type them (issue 12 item 3) -------------------------------------------------------------------

AROUND = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    "raw, locale, expected",
    [
        ("26.11.26", None, dt.date(2026, 11, 26)),  # dd.mm.yy: 20yy
        ("26.11.26", "en_US", dt.date(2026, 11, 26)),  # dots are day.month everywhere
        ("28.11", None, dt.date(2026, 11, 28)),
        ("28.11.", None, dt.date(2026, 11, 28)),
        ("28 ноября", None, dt.date(2026, 11, 28)),
        ("28 нояб.", None, dt.date(2026, 11, 28)),
        ("28 ноя 2026", None, dt.date(2026, 11, 28)),
        ("28 ноября 2026 г.", None, dt.date(2026, 11, 28)),
        ("3 Сентября", None, dt.date(2026, 9, 3)),
        ("1 мая", None, dt.date(2027, 5, 1)),
        ("Nov 28", None, dt.date(2026, 11, 28)),
        ("November 28th, 2026", None, dt.date(2026, 11, 28)),
        ("28 Nov 2026", None, dt.date(2026, 11, 28)),
        ("28-Nov-26", None, dt.date(2026, 11, 28)),
        ("2026/11/28", None, dt.date(2026, 11, 28)),
        ("2026/11/28", "en_US", dt.date(2026, 11, 28)),  # year first is never ambiguous
        ("2026.11.28", None, dt.date(2026, 11, 28)),
        # Any time part is ignored.
        ("28.11.2026, 10:30", None, dt.date(2026, 11, 28)),
        ("28.11 10:30", None, dt.date(2026, 11, 28)),
        ("Nov 28, 9 am", None, dt.date(2026, 11, 28)),
        ("28 ноября в 15:00", None, dt.date(2026, 11, 28)),
        ("2026-11-28T23:59:00Z", None, dt.date(2026, 11, 28)),
        # The sheet's locale decides the ambiguous (slash) forms.
        ("03/04", "en_US", dt.date(2027, 3, 4)),
        ("03/04", "ru_RU", dt.date(2027, 4, 3)),
        ("03/04/26", "en_US", dt.date(2026, 3, 4)),
        ("03/04/26", "de_DE", dt.date(2026, 4, 3)),
        ("11-28-2026", "en_US", dt.date(2026, 11, 28)),
        ("28-11-2026", "ru_RU", dt.date(2026, 11, 28)),
    ],
)
def test_dates_as_people_type_them(raw, locale, expected):
    assert to_date(raw, locale, AROUND) == expected


@pytest.mark.parametrize(
    "raw, today, expected",
    [
        # The candidate in last year, this year or next year closest to today.
        ("28.11", dt.date(2026, 11, 22), dt.date(2026, 11, 28)),
        ("15.01", dt.date(2026, 11, 22), dt.date(2027, 1, 15)),  # 54 days ahead beats 311 back
        ("20.12", dt.date(2027, 1, 10), dt.date(2026, 12, 20)),  # 21 days back beats 344 ahead
        ("21.05", dt.date(2026, 11, 22), dt.date(2027, 5, 21)),  # 180 ahead vs 185 back
        ("25.05", dt.date(2026, 11, 22), dt.date(2026, 5, 25)),  # 181 back vs 184 ahead
        ("02.01", dt.date(2026, 7, 3), dt.date(2026, 1, 2)),  # 182 back, 183 ahead
        ("29.02", dt.date(2027, 11, 22), dt.date(2028, 2, 29)),  # only a leap year has it
    ],
)
def test_a_date_without_a_year_is_the_nearest_one(raw, today, expected):
    assert to_date(raw, None, today) == expected


def test_a_tie_goes_to_the_past():
    # 2024 is a leap year: from 2024-07-02, 1 January is 183 days back (2024-01-01) and 183 ahead (2025-01-01).
    today = dt.date(2024, 7, 2)
    assert (today - dt.date(2024, 1, 1)).days == (dt.date(2025, 1, 1) - today).days
    assert to_date("01.01", None, today) == dt.date(2024, 1, 1)
    assert to_date("1 Jan", None, today) == dt.date(2024, 1, 1)


@pytest.mark.parametrize("raw", ["28.11", "28 ноября", "Nov 28"])
def test_without_today_a_yearless_date_is_not_guessed(raw):
    dates, bad = parse_dates(pd.Series([raw], dtype=object), None)
    assert pd.isna(dates.iloc[0]) and bool(bad.iloc[0])


@pytest.mark.parametrize(
    "raw", ["29.02", "31.11", "28 foo", "10:30", "32.01", "28 мартобря", "Nov", "ноября 28 2026 года где-то", "1.2.3"]
)
def test_still_unreadable_is_flagged(raw):
    dates, bad = parse_dates(pd.Series([raw], dtype=object), None, AROUND)
    assert pd.isna(dates.iloc[0]) and bool(bad.iloc[0]), raw


def test_a_mixed_column_in_one_pass():
    raw = pd.Series(
        ["2026-11-28", "28.11", None, "28 ноября", 46354, dt.date(2026, 11, 28), "junk", "Nov 28", ""], dtype=object
    )
    dates, bad = parse_dates(raw, "en_US", AROUND)
    got = [None if pd.isna(d) else d.date() for d in dates]
    day = dt.date(2026, 11, 28)
    assert got == [day, day, None, day, serial_to_date(46354), day, None, day, None]
    assert bad.tolist() == [False, False, False, False, False, False, True, False, False]
