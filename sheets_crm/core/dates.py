"""Dates as people put them in spreadsheets, and "today" in the right zone.

Cells hold real dates (local workbooks), serial day numbers (Google with
``SERIAL_NUMBER``), or text: ISO ``2026-11-22``, ``22.11.2026``, and
``22/11/2026`` vs ``11/22/2026`` decided by the sheet's locale. Everything is
reduced to a calendar date: the rules compare dates, never timestamps.
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

_ISO = r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[ T].*)?$"
_DOTTED = r"^(?P<a>\d{1,2})[./](?P<b>\d{1,2})[./](?P<y>\d{4})(?:\s.*)?$"


def serial_to_date(serial: float) -> dt.date:
    return EPOCH + dt.timedelta(days=int(np.floor(serial)))


def date_to_serial(day: dt.date) -> int:
    return (day - EPOCH).days


def month_first(locale: str | None) -> bool:
    """True when ``a/b/yyyy`` means month/day in this locale."""
    if not locale:
        return False
    return locale.replace("-", "_") in _MONTH_FIRST


def to_date(value: object, locale: str | None = None) -> dt.date | None:
    """One cell to a date, or None when it is not one (scalar convenience)."""
    parsed, _ = parse_dates(pd.Series([value], dtype=object), locale)
    stamp = parsed.iloc[0]
    return None if pd.isna(stamp) else stamp.date()


def parse_dates(values: pd.Series, locale: str | None) -> tuple[pd.Series, pd.Series]:
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
        out[is_text] = _parse_text(text, month_first(locale))

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


def _parse_text(text: pd.Series, mdy: bool) -> pd.Series:
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
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
            # Dots are always day.month (ru/de); slashes follow the locale.
            slash = text[rest][found].str.contains("/", regex=False)
            month = part["a"].where(slash & mdy, part["b"])
            day = part["b"].where(slash & mdy, part["a"])
            result[part.index] = _assemble(part["y"], month, day)
    return result


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> pd.Series:
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
