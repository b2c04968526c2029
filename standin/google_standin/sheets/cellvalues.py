"""Cell values: what USER_ENTERED input becomes, and how values render back.

Google turns typed text into numbers, booleans, formulas and dates (stored as
day serials since 1899-12-30 with a DATE number format), and renders cells
three ways (FORMATTED_VALUE / UNFORMATTED_VALUE / FORMULA). The project's date
handling depends on exactly this, so the rules live here, small and explicit.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from .formula import FormulaContext, evaluate

EPOCH = dt.date(1899, 12, 30)

# Locales whose numeric dates put the month before the day, so a typed 1/2/2020 is January 2nd.
# en_CA is one: Google's locale data is CLDR's, where English (Canada) writes numeric dates year-month-day
# (short date "y-MM-dd", month-day "MM-dd") — the month always before the day. No recorded exchange or
# Google document states how Sheets reads "1/2/2020" under en_CA; this follows that field order.
MONTH_FIRST_LOCALES = {"en_US", "en_PH", "es_US", "en_CA", "fil_PH"}
# Locales whose default DATE pattern is year first (CLDR short date "y-MM-dd").
YEAR_FIRST_PATTERNS = {"en_CA": "yyyy-MM-dd", "fr_CA": "yyyy-MM-dd"}
DECIMAL_COMMA_LOCALES_PREFIXES = (
    "ru",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "uk",
    "cs",
    "sv",
    "fi",
    "da",
    "nb",
    "tr",
)

MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTHS_RU = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

DATE_TYPES = {"DATE", "TIME", "DATE_TIME"}


def uses_decimal_comma(locale: str) -> bool:
    return locale.split("_")[0] in DECIMAL_COMMA_LOCALES_PREFIXES


def default_pattern(kind: str, locale: str) -> str:
    """Locale's default pattern for a DATE / TIME / DATE_TIME number format."""
    if locale in YEAR_FIRST_PATTERNS:
        date = YEAR_FIRST_PATTERNS[locale]
    elif locale in MONTH_FIRST_LOCALES:
        date = "M/d/yyyy"
    elif locale.startswith(("ru", "de", "uk", "pl", "cs", "fi", "nb", "tr")):
        date = "dd.MM.yyyy"
    elif locale.startswith(("en", "fr", "es", "it", "pt")):
        date = "dd/MM/yyyy"
    else:
        date = "yyyy-MM-dd"
    time = "H:mm:ss"
    if kind == "DATE":
        return date
    if kind == "TIME":
        return time
    return f"{date} {time}"


# -- serial numbers ---------------------------------------------------------------


def date_to_serial(value: dt.date | dt.datetime) -> float | int:
    """Python date/datetime -> Sheets serial (days since 1899-12-30)."""
    if isinstance(value, dt.datetime):
        delta = value.replace(tzinfo=None) - dt.datetime(1899, 12, 30)
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    return (value - EPOCH).days


def serial_to_datetime(serial: float) -> dt.datetime:
    days = math.floor(serial)
    seconds = round((serial - days) * 86400)
    return dt.datetime(1899, 12, 30) + dt.timedelta(days=days, seconds=seconds)


# -- USER_ENTERED parsing ------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASH_ISO = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_LOCAL_DATE = re.compile(r"^(\d{1,2})([./])(\d{1,2})\2(\d{2}|\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_date_text(text: str, locale: str) -> tuple[float | int, str, str] | None:
    """Recognise a typed date; return (serial, number-format type, pattern)."""
    s = text.strip()
    m = _ISO_DATE.match(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        hh = m.group(4)
        try:
            if hh is None:
                return date_to_serial(dt.date(y, mo, d)), "DATE", "yyyy-mm-dd"
            value = dt.datetime(y, mo, d, int(hh), int(m.group(5)), int(m.group(6) or 0))
        except ValueError:
            return None
        return date_to_serial(value), "DATE_TIME", "yyyy-mm-dd h:mm:ss"
    m = _SLASH_ISO.match(s)
    if m:
        try:
            return date_to_serial(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))), "DATE", "yyyy/mm/dd"
        except ValueError:
            return None
    m = _LOCAL_DATE.match(s)
    if m:
        a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if len(m.group(4)) == 2:
            year += 2000 if year < 30 else 1900
        month, day = (a, b) if locale in MONTH_FIRST_LOCALES else (b, a)
        try:
            if m.group(5) is None:
                return date_to_serial(dt.date(year, month, day)), "DATE", default_pattern("DATE", locale)
            value = dt.datetime(year, month, day, int(m.group(5)), int(m.group(6)), int(m.group(7) or 0))
        except ValueError:
            return None
        return date_to_serial(value), "DATE_TIME", default_pattern("DATE_TIME", locale)
    m = _TIME.match(s)
    if m:
        h, mi, se = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if h < 24 and mi < 60 and se < 60:
            return (h * 3600 + mi * 60 + se) / 86400, "TIME", "h:mm:ss" if m.group(3) else "h:mm"
    return None


def parse_number_text(text: str, locale: str) -> tuple[float | int, dict[str, str] | None] | None:
    """Recognise a typed number (``42``, ``0042``, ``1,234.5``, ``12%``, ``3,5`` in ru)."""
    s = text.strip().replace("\u00a0", " ")
    if not s:
        return None
    percent = s.endswith("%")
    if percent:
        s = s[:-1].strip()
    grouped = False
    if uses_decimal_comma(locale):
        if re.fullmatch(r"[+-]?\d{1,3}( \d{3})+(,\d+)?", s):
            s, grouped = s.replace(" ", ""), True
        if re.fullmatch(r"[+-]?\d+,\d+", s):
            s = s.replace(",", ".")
    elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s, grouped = s.replace(",", ""), True
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
        return None
    value = float(s)
    if percent:
        value /= 100
        decimals = len(s.split(".")[1]) if "." in s else 0
        return tidy_number(value), {
            "type": "PERCENT",
            "pattern": "0" + ("." + "0" * decimals if decimals else "") + "%",
        }
    if grouped:  # "2,000,000.01" keeps its look: Google sets a #,##0.00 format
        decimals = len(s.split(".")[1]) if "." in s else 0
        return tidy_number(value), {"type": "NUMBER", "pattern": "#,##0" + ("." + "0" * decimals if decimals else "")}
    return tidy_number(value), None


def tidy_number(value: float | int) -> float | int:
    """Integral floats become ints so JSON shows ``43831`` rather than ``43831.0``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def user_entered(
    value: Any, locale: str, current_format: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, str] | None]:
    """USER_ENTERED input -> (ExtendedValue, number format to apply or None)."""
    if isinstance(value, bool):
        return {"boolValue": value}, None
    if isinstance(value, (int, float)):
        return {"numberValue": tidy_number(value)}, None
    text = str(value)
    number_format = (current_format or {}).get("numberFormat") or {}
    if number_format.get("type") == "TEXT":
        return {"stringValue": text}, None
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}, None
    if text.startswith("'"):
        return {"stringValue": text[1:]}, None
    if text.upper() in {"TRUE", "FALSE"}:
        return {"boolValue": text.upper() == "TRUE"}, None
    number = parse_number_text(text, locale)
    if number is not None:
        return {"numberValue": number[0]}, number[1]
    date = parse_date_text(text, locale)
    if date is not None:
        serial, kind, pattern = date
        keep = number_format.get("type") in DATE_TYPES
        return {"numberValue": tidy_number(serial)}, None if keep else {"type": kind, "pattern": pattern}
    return {"stringValue": text}, None


def raw_entered(value: Any) -> dict[str, Any]:
    """RAW input: strings stay strings verbatim (never formulas or dates)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": tidy_number(value)}
    return {"stringValue": str(value)}


# -- formulas ------------------------------------------------------------------------

ERROR_TEXT = {
    "NAME": "#NAME?",
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "VALUE": "#VALUE!",
    "REF": "#REF!",
    "NUM": "#NUM!",
    "N_A": "#N/A",
    "NULL_VALUE": "#NULL!",
    "ERROR": "#ERROR!",
    "LOADING": "Loading...",
}


def effective_value(user_value: dict[str, Any] | None, ctx: FormulaContext | None = None) -> dict[str, Any] | None:
    """What a cell reads as: its entered value, or what its formula evaluates to (see :mod:`.formula`)."""
    return effective(user_value, ctx)[0]


def effective(
    user_value: dict[str, Any] | None, ctx: FormulaContext | None = None, locale: str = "en_US"
) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """(effective value, number format a formula's result implies, e.g. DATE for ``=TODAY()``)."""
    if not user_value:
        return None, None
    if "formulaValue" in user_value:
        result = evaluate(user_value["formulaValue"], ctx, locale=locale)
        return result.value, result.number_format
    return dict(user_value), None


# -- formatting ----------------------------------------------------------------------

_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|y|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss\.0+|ss|s|am/pm|a/p',
    re.IGNORECASE,
)


def _month_token(lo: str, moment: dt.datetime, minute: bool, locale: str) -> str:
    """``m``/``mm`` (minutes when next to hours or seconds), ``mmm``/``mmmm``/``mmmmm`` (month names)."""
    if len(lo) <= 2 and minute:
        return f"{moment.minute:02d}" if len(lo) == 2 else str(moment.minute)
    if len(lo) <= 2:
        return f"{moment.month:02d}" if len(lo) == 2 else str(moment.month)
    name = (MONTHS_RU if locale.startswith("ru") else MONTHS_EN)[moment.month - 1]
    return name[:3] if len(lo) == 3 else name[0] if len(lo) == 5 else name


def _day_token(lo: str, moment: dt.datetime) -> str:
    if len(lo) <= 2:
        return f"{moment.day:02d}" if len(lo) == 2 else str(moment.day)
    name = DAYS_EN[moment.weekday()]
    return name[:3] if len(lo) == 3 else name


def _time_token(lo: str, moment: dt.datetime, twelve_hour: bool) -> str:
    """``h``/``hh``, ``s``/``ss``, ``am/pm``, ``a/p``."""
    if lo.startswith("h"):
        hour = (moment.hour % 12 or 12) if twelve_hour else moment.hour
        return f"{hour:02d}" if len(lo) == 2 else str(hour)
    if lo.startswith("s"):
        return f"{moment.second:02d}" if len(lo) >= 2 else str(moment.second)
    if lo == "am/pm":
        return "AM" if moment.hour < 12 else "PM"
    return "a" if moment.hour < 12 else "p"


def format_date(serial: float, pattern: str, locale: str) -> str:
    """Render a serial with a Sheets date pattern (yyyy, mm, dd, h, mm, ss, am/pm)."""
    moment = serial_to_datetime(serial)
    tokens = list(_DATE_TOKEN.finditer(pattern))
    lows = [t.group(0).lower() for t in tokens]
    twelve_hour = any(lo in {"am/pm", "a/p"} for lo in lows)
    out: list[str] = []
    pos = 0
    for i, tok in enumerate(tokens):
        out.append(pattern[pos : tok.start()])
        pos = tok.end()
        t, lo = tok.group(0), lows[i]
        if t.startswith(('"', "\\")):
            out.append(t[1:-1] if t.startswith('"') else t[1:])
        elif lo.startswith("y"):
            out.append(str(moment.year) if len(lo) != 2 else f"{moment.year % 100:02d}")
        elif lo.startswith("m"):
            minute = (i > 0 and lows[i - 1].startswith("h")) or (i + 1 < len(lows) and lows[i + 1].startswith("s"))
            out.append(_month_token(lo, moment, minute, locale))
        elif lo.startswith("d"):
            out.append(_day_token(lo, moment))
        else:
            out.append(_time_token(lo, moment, twelve_hour))
    out.append(pattern[pos:])
    return "".join(out)


def format_general(value: float | int, locale: str) -> str:
    """Google's automatic number format: up to 10 decimals, no grouping."""
    if isinstance(value, float) and not value.is_integer():
        if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-10):
            text = f"{value:.5E}".replace("E+0", "E+").replace("E-0", "E-")
        else:
            text = f"{value:.10f}".rstrip("0").rstrip(".")
    else:
        iv = int(value)
        text = str(iv) if abs(iv) < 10**15 else f"{float(iv):.2E}".replace("E+", "E+")
    if uses_decimal_comma(locale):
        text = text.replace(".", ",")
    return text


_NUMBER_CORE = re.compile(r"[#0?][#0?,]*(\.[#0?]*)?|\.[#0?]+")


def format_number_pattern(value: float, kind: str, pattern: str, locale: str) -> str:
    """Approximate Sheets NUMBER / PERCENT / CURRENCY patterns (``#,##0.00``, ``0%``)."""
    if kind == "SCIENTIFIC":
        decimals = len(pattern.split(".")[1].split("E")[0]) if "." in pattern else 2
        return f"{value:.{decimals}E}"
    text_pattern = pattern.split(";")[0]
    m = _NUMBER_CORE.search(text_pattern)
    if not m:
        return format_general(value, locale)
    core = m.group(0)
    prefix, suffix = text_pattern[: m.start()], text_pattern[m.end() :]
    if "%" in text_pattern:
        value *= 100
    decimals_part = core.split(".")[1] if "." in core else ""
    decimals = len(decimals_part)
    min_decimals = decimals_part.count("0")
    grouping = "," in core.split(".")[0]
    text = f"{abs(value):,.{decimals}f}" if grouping else f"{abs(value):.{decimals}f}"
    if decimals > min_decimals and "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        frac = frac + "0" * max(0, min_decimals - len(frac))
        text = whole + ("." + frac if frac else "")
    if uses_decimal_comma(locale):
        text = text.replace(",", "\u00a0").replace(".", ",")
    sign = "-" if value < 0 and float(text.replace(",", ".").replace("\u00a0", "") or 0) != 0 else ""

    def clean(part: str) -> str:
        part = re.sub(r"\[\$([^\]-]*)[^\]]*\]", r"\1", part)
        part = re.sub(r'"([^"]*)"', r"\1", part)
        return part.replace("\\", "")

    return sign + clean(prefix) + text + clean(suffix)


def format_value(effective: dict[str, Any] | None, number_format: dict[str, Any] | None, locale: str) -> str | None:
    """The ``formattedValue`` Google shows for a cell (None for an empty cell)."""
    if not effective:
        return None
    if "stringValue" in effective:
        return str(effective["stringValue"])
    if "boolValue" in effective:
        return "TRUE" if effective["boolValue"] else "FALSE"
    if "errorValue" in effective:
        return ERROR_TEXT.get(effective["errorValue"].get("type", "ERROR"), "#ERROR!")
    value = effective.get("numberValue", 0)
    nf = number_format or {}
    kind = nf.get("type")
    pattern = nf.get("pattern") or ""
    if kind in DATE_TYPES:
        return format_date(value, pattern or default_pattern(kind, locale), locale)
    if kind in {"NUMBER", "PERCENT", "CURRENCY", "SCIENTIFIC"} and pattern:
        return format_number_pattern(float(value), kind, pattern, locale)
    if kind == "PERCENT":
        return format_number_pattern(float(value), kind, "0.00%", locale)
    return format_general(value, locale)


def render(
    cell: dict[str, Any] | None,
    value_render: str,
    date_render: str,
    locale: str,
    ctx: FormulaContext | None = None,
) -> Any:
    """One cell as a values-API item, or None when it has no value (``ctx``: where it sits, for formulas)."""
    if not cell or "userEnteredValue" not in cell:
        return None
    user = cell["userEnteredValue"]
    if value_render == "FORMULA" and "formulaValue" in user:
        return user["formulaValue"]
    effective_, implied = effective(user, ctx, locale)
    fmt = (cell.get("userEnteredFormat") or {}).get("numberFormat") or implied
    if value_render == "FORMATTED_VALUE":
        return format_value(effective_, fmt, locale)
    assert effective_ is not None
    if "errorValue" in effective_:
        return format_value(effective_, fmt, locale)
    if "numberValue" in effective_:
        if fmt and fmt.get("type") in DATE_TYPES and date_render == "FORMATTED_STRING":
            return format_value(effective_, fmt, locale)
        return tidy_number(effective_["numberValue"])
    if "boolValue" in effective_:
        return effective_["boolValue"]
    return effective_.get("stringValue", "")
