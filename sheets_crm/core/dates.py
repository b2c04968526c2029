"""Dates as people put them in spreadsheets, and "today" in the right zone.

Cells hold real dates (local workbooks), serial day numbers (Google with
``SERIAL_NUMBER``), or text as people type it: ISO ``2026-11-22``,
``2026/11/28``, ``22.11.2026``, ``22.11.26`` (a 2-digit year is 20yy),
``28.11``, ``28 ноября``, ``28 нояб.``, ``28 ноя 2026``, ``Nov 28``,
``28 Nov 2026``; any time part is ignored. Dots are always day.month; slash
and dash forms (``22/11/2026`` vs ``11/22/2026``, ``3/4``) are decided by the
sheet's locale. Everything is reduced to a calendar date: the rules compare
dates, never timestamps.

A date typed without a year is placed by ``today`` (passed in; the core has no
clock): of that day and month in last year, this year and next year, the
candidate closest to today wins, a tie going to the past. Without ``today``
such a date is not guessed and is reported as unreadable, like any text that
is not a date (the warning carries the text as typed).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from sheets_crm.errors import ConfigError

__all__ = [
    "EPOCH",
    "serial_to_date",
    "date_to_serial",
    "month_first",
    "parse_dates",
    "to_date",
    "resolve_zone",
    "machine_zone",
    "today_in",
]

#: Day 0 of spreadsheet serial numbers (Google and Excel's 1900 system).
EPOCH = dt.date(1899, 12, 30)
_EPOCH64 = np.datetime64("1899-12-30", "D")
# Serials beyond this are not dates anyone means (year 9999).
_MAX_SERIAL = 2958465

# Locales whose short dates put the month first (Google's behaviour for
# "1/2/2020": Jan 2 in en_US, 1 Feb elsewhere).
_MONTH_FIRST = {"en_US", "en_PH", "es_US", "en_AS", "en_GU", "en_MH", "en_MP", "en_PR", "en_UM", "en_VI", "fil_PH"}

# Year first is never ambiguous: 2026-11-28, 2026/11/28, 2026.11.28 (anything after a space/T: a time).
_ISO = r"^(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?:[ T].*)?$"
# Day and month with a 4-digit year: 28.11.2026, 11/28/2026 (the locale decides), 28-11-2026.
_DOTTED = r"^(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})(?:\s.*)?$"
# The rarer forms are matched whole, after a time of day is cut off ("28.11 10:30", "Nov 28, 9 am").
_TIME = (
    r"[\sT,]+(?:в\s+)?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[APap]\.?\s?[Mm]\.?)?(?:\s*(?:Z|[+-]\d{2}:?\d{2}))?\s*$"
    r"|[\s,]+\d{1,2}\s*[APap]\.?\s?[Mm]\.?\s*$"
)
_YEAR_WORD = r"(?:\s*(?:г\.?|года?))?"
# 28.11.26, 28.11, 28/11, 11/28/26 (2-digit or no year; "28.11." with a closing dot too).
_SHORT = r"^(?P<a>\d{1,2})(?P<sep>[./])(?P<b>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?\.?" + _YEAR_WORD + r"$"
# "28 ноября", "28 нояб.", "28 ноя 2026", "28 Nov 2026", "28-Nov-26", "28th November".
_DAY_MONTH = (
    r"^(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s-]*(?P<mon>[^\W\d_]+)\.?(?:[\s,-]+(?P<y>\d{4}|\d{2}))?" + _YEAR_WORD + r"$"
)
# "Nov 28", "November 28, 2026", "Nov. 28th 2026".
_MONTH_DAY = r"^(?P<mon>[^\W\d_]+)\.?\s*(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?$"


def _month_names() -> dict[str, int]:
    """Month words as people type them, English and Russian (lower case, ё as е), to month numbers."""
    english = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
    russian = ["январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр", "октябр", "ноябр", "декабр"]
    names: dict[str, int] = {}
    for month, (en, ru) in enumerate(zip(english, russian, strict=True), start=1):
        names[en] = names[en[:3]] = month
        # Nominative and genitive: январь/января, март/марта, май/мая.
        for ending in ("ь", "я", "", "а", "й"):
            names[ru + ending] = month
    names["sept"] = 9
    # Russian short forms as written in calendars: янв, февр, мар, апр, июн, июл, авг, сент, окт, нояб, дек.
    for short, month in {
        "янв": 1,
        "фев": 2,
        "февр": 2,
        "мар": 3,
        "апр": 4,
        "июн": 6,
        "июл": 7,
        "авг": 8,
        "сен": 9,
        "сент": 9,
        "окт": 10,
        "ноя": 11,
        "нояб": 11,
        "дек": 12,
    }.items():
        names[short] = month
    names.pop("ма", None)  # "ма" alone is not a month
    return names


_MONTHS = _month_names()


def serial_to_date(serial: float) -> dt.date:
    return EPOCH + dt.timedelta(days=int(np.floor(serial)))


def date_to_serial(day: dt.date) -> int:
    return (day - EPOCH).days


def month_first(locale: str | None) -> bool:
    """True when ``a/b/yyyy`` means month/day in this locale."""
    if not locale:
        return False
    return locale.replace("-", "_") in _MONTH_FIRST


def to_date(value: object, locale: str | None = None, today: dt.date | None = None) -> dt.date | None:
    """One cell to a date, or None when it is not one (scalar convenience)."""
    parsed, _ = parse_dates(pd.Series([value], dtype=object), locale, today)
    stamp = parsed.iloc[0]
    return None if pd.isna(stamp) else stamp.date()


def parse_dates(values: pd.Series, locale: str | None, today: dt.date | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse a column of raw cells into dates (datetime64[ns], midnight).

    Returns ``(dates, bad)``: ``bad`` is True where a non-empty cell could not
    be read as a date. Empty cells are NaT and not bad. Vectorised: one pass
    per representation, no per-row Python beyond type classification.
    """
    values = values.astype(object)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    kinds = values.map(_kind)

    # Real dates / datetimes (local workbooks): keep the calendar date as typed.
    is_dt = kinds == "date"
    if is_dt.any():
        out[is_dt] = pd.to_datetime(values[is_dt].map(_as_date_only), errors="coerce")

    # Serial day numbers; the fraction is a time of day and is dropped.
    is_num = kinds == "num"
    if is_num.any():
        nums = pd.to_numeric(values[is_num], errors="coerce")
        ok = (nums >= 1) & (nums <= _MAX_SERIAL)
        days = np.floor(nums[ok].to_numpy(dtype="float64")).astype("int64")
        out[nums[ok].index] = pd.to_datetime(_EPOCH64 + days.astype("timedelta64[D]"))

    is_text = kinds == "text"
    if is_text.any():
        text = values[is_text].astype(str).str.strip()
        out[is_text] = _parse_text(text, month_first(locale), today)

    empty = kinds == "empty"
    bad = out.isna() & ~empty
    return out, bad


def _kind(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):  # bool is an int: TRUE in a date column is not day 1
        return "bad"
    if isinstance(value, (dt.date, pd.Timestamp)):
        return "date"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return "empty" if value != value else "num"  # NaN is empty
    if isinstance(value, str):
        return "empty" if not value.strip() else "text"
    return "bad"


def _as_date_only(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, pd.Timestamp):
        return value.date()
    return value


def _parse_text(text: pd.Series, mdy: bool, today: dt.date | None) -> pd.Series:
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    # The common forms first, over every text cell; the rarer ones only see what is left.
    iso = text.str.extract(_ISO)
    hit = iso["y"].notna()
    if hit.any():
        result[hit] = _assemble(iso.loc[hit, "y"], iso.loc[hit, "m"], iso.loc[hit, "d"])
    rest = ~hit
    if rest.any():
        dotted = text[rest].str.extract(_DOTTED)
        found = dotted["y"].notna()
        if found.any():
            part = dotted[found]
            result[part.index] = _day_month(part, mdy, None)
            rest[part.index] = False
    if rest.any():
        result[rest[rest].index] = _parse_short(text[rest], mdy, today)
    return result


def _day_month(part: pd.DataFrame, mdy: bool, today: dt.date | None) -> pd.Series:
    """Numeric ``a<sep>b[<sep>y]``: dots are always day.month (ru/de); slashes and dashes follow the locale."""
    slash = part["sep"] != "."
    month = part["a"].where(slash & mdy, part["b"])
    day = part["b"].where(slash & mdy, part["a"])
    return _with_year(part["y"], month, day, today)


def _parse_short(text: pd.Series, mdy: bool, today: dt.date | None) -> pd.Series:
    """dd.mm.yy, dd.mm, "28 ноября", "28 нояб.", "Nov 28", "28 Nov 2026", with any time part dropped."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    bare = text.str.replace(_TIME, "", regex=True).str.lower().str.replace("ё", "е", regex=False).str.strip()
    left = pd.Series(True, index=text.index)
    numeric = bare.str.extract(_SHORT)
    hit = numeric["b"].notna()
    if hit.any():
        result[hit] = _day_month(numeric[hit], mdy, today)
        left &= ~hit
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        if not left.any():
            break
        named = bare[left].str.extract(pattern)
        month = named["mon"].map(_MONTHS)
        found = month.notna() & named["d"].notna()
        if found.any():
            part = named[found]
            result[part.index] = _with_year(part["y"], month[found], part["d"], today)
            left[part.index] = False
    return result


def _with_year(year: pd.Series, month: pd.Series, day: pd.Series, today: dt.date | None) -> pd.Series:
    """Dates from parts; a 2-digit year is 20yy; no year at all: the candidate nearest to ``today``.

    Without ``today`` a date with no year cannot be placed and stays unread (NaT).
    """
    years = pd.to_numeric(year, errors="coerce")
    years = years.where(~(years < 100), years + 2000)
    out = _assemble(years, month, day)
    yearless = years.isna()
    if today is None or not yearless.any():
        return out
    # The day/month in last year, this year and next year; the one closest to today wins, a tie
    # goes to the past (argmin takes the first, and the candidates are in calendar order).
    today64 = np.datetime64(today, "D").astype("datetime64[ns]")
    candidates = np.stack(
        [
            _assemble(
                pd.Series(today.year + shift, index=month[yearless].index), month[yearless], day[yearless]
            ).to_numpy(dtype="datetime64[ns]")
            for shift in (-1, 0, 1)
        ]
    )
    distance = np.abs((candidates - today64).astype("timedelta64[D]").astype("float64"))
    distance[np.isnat(candidates)] = np.inf
    pick = np.argmin(distance, axis=0)
    chosen = candidates[pick, np.arange(candidates.shape[1])]
    out[yearless] = chosen
    return out


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
    """Calendar dates from parts (NaT where the parts make no date, e.g. 31.02)."""
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(year, errors="coerce"),
            "month": pd.to_numeric(month, errors="coerce"),
            "day": pd.to_numeric(day, errors="coerce"),
        }
    )
    return pd.to_datetime(frame, errors="coerce")


def resolve_zone(name: str | None) -> ZoneInfo:
    """The configured zone, else the machine's (tzlocal), as a ZoneInfo."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"unknown time zone {name!r} (use an IANA name such as Europe/Moscow)") from None
    return machine_zone()


def machine_zone() -> ZoneInfo:
    """This machine's zone (tzlocal), else UTC: the one answer to "what is the machine's zone"."""
    try:
        import tzlocal

        return ZoneInfo(tzlocal.get_localzone_name() or "UTC")
    except Exception:  # a machine with no zone configured: UTC is the honest answer
        return ZoneInfo("UTC")


def today_in(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """The calendar date in ``zone`` at instant ``now`` (aware; default: now)."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(zone).date()
