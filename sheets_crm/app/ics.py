"""Open planned contacts as an iCalendar feed, so callbacks show up in a calendar.

One all-day event per planned contact, on the contact's date (a date is what
the Contact Plan holds, so no time zone can shift it to the neighbouring day).

UIDs must let a calendar *update* an event on re-import instead of adding a
duplicate, including after someone moves the contact to another date. So the
UID is derived from (spreadsheet id, Contact Plan row, project), not from the
date or topic. Known limits, documented for users:

* inserting or deleting rows above a plan row changes its row number, hence
  its UID: after such an edit, re-importing adds new events and the old ones
  remain until deleted by hand;
* importing a file only adds or updates: a contact that was done or cancelled
  disappears from the next export but its old event stays in a calendar that
  *imported* the file. A calendar *subscribed* to the file's URL follows the
  file exactly (events vanish with it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PureWindowsPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from sheets_crm.app.files import write_atomically
from sheets_crm.backends.google.target import spreadsheet_id
from sheets_crm.core.model import SECTIONS, Call
from sheets_crm.core.text import normalise
from sheets_crm.errors import ConfigError, CrmError

__all__ = ["calls_to_ics", "event_uid", "source_key", "write_ics", "PRODID", "ALL_SECTIONS"]

PRODID = "-//sheets-crm//sheets-crm calendar export//EN"
ALL_SECTIONS = SECTIONS
_UID_DOMAIN = "sheets-crm"
_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)

_TEXT = {
    "en": {
        "call": "Call",
        "contact": "Contact",
        "phone": "Phone",
        "last_result": "Last result",
        "owner": "Owner",
        "overdue": "Overdue by {n} days",
        "row": "Contact Plan row",
        "name": "Calls",
    },
    "ru": {
        "call": "Звонок",
        "contact": "Контакт",
        "phone": "Телефон",
        "last_result": "Итог контакта",
        "owner": "Менеджер",
        "overdue": "Просрочен на {n} дн.",
        "row": "Строка плана контактов",
        "name": "Звонки",
    },
}


def source_key(target: str) -> str:
    """The part of a sync target that identifies the spreadsheet for UIDs.

    A Google URL and the bare ID give the same key (the ID), so exporting by
    either keeps the UIDs; a local workbook gives its file name, so the same
    workbook exported from another folder or machine keeps them too.
    """
    text = target.strip()
    if "/spreadsheets/d/" in text:
        return spreadsheet_id(text)
    if "\\" in text:
        return PureWindowsPath(text).name
    if "/" in text or text.lower().endswith((".xlsx", ".xlsm")):
        return Path(text).name
    return text


def event_uid(spreadsheet_id: str, call: Call) -> str:
    """A UID that survives re-exports and date moves: hash of (sheet, plan row, project).

    The project is folded (case, spaces, ё/е) so retyping "acme  ltd" as
    "Acme Ltd" keeps the event. A call without a plan row (0) falls back to
    its date and topic: stable across exports, but not across a date move.
    """
    parts = [spreadsheet_id.strip(), str(call.plan_row), normalise(call.project)]
    if not call.plan_row:
        parts += [call.date.isoformat(), normalise(call.topic)]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{digest}@{_UID_DOMAIN}"


def _description(call: Call, text: dict[str, str]) -> str:
    lines = []
    if call.section == "overdue" and call.days_overdue:
        lines.append(text["overdue"].format(n=call.days_overdue))
    for key in ("contact", "phone", "last_result", "owner"):
        value = getattr(call, key)
        if value:
            lines.append(f"{text[key]}: {value}")
    if call.plan_row:
        lines.append(f"{text['row']}: {call.plan_row}")
    return "\n".join(lines)


def calls_to_ics(
    calls: Iterable[Call],
    *,
    calendar_name: str,
    zone: str,
    spreadsheet_id: str,
    sections: Sequence[str] = ALL_SECTIONS,
    now: dt.datetime | None = None,
    lang: str = "en",
) -> bytes:
    """The calls of the chosen ``sections`` as an iCalendar (RFC 5545) document.

    Events are all-day (``DTSTART;VALUE=DATE``, ``DTEND`` the next day) and
    transparent (a reminder, not a meeting that blocks the day). ``zone``
    (the spreadsheet's) goes into ``X-WR-TIMEZONE``; ``now`` (default: the
    current time) stamps ``DTSTAMP`` and a ``SEQUENCE`` that grows with every
    export, so clients that compare sequences accept the newer version.
    """
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{zone!r} is not a known IANA time zone (e.g. Europe/Moscow)") from None
    unknown = [s for s in sections if s not in ALL_SECTIONS]
    if unknown:
        raise ConfigError(f"unknown section {unknown[0]!r}; choose from {', '.join(ALL_SECTIONS)}")
    text = _TEXT.get(lang, _TEXT["en"])
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    sequence = max(0, int((now - _EPOCH).total_seconds() // 60))

    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name or text["name"])
    cal.add("x-wr-timezone", zone)

    seen: set[str] = set()
    wanted = set(sections)
    for call in sorted(calls, key=lambda c: (c.date, c.plan_row, c.project)):
        if call.section not in wanted:
            continue
        uid = event_uid(spreadsheet_id, call)
        if uid in seen:  # the same plan row twice would make clients reject the file
            continue
        seen.add(uid)
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", now)
        event.add("last-modified", now)
        event.add("sequence", sequence)
        event.add("dtstart", call.date)
        event.add("dtend", call.date + dt.timedelta(days=1))
        summary = f"{text['call']} {call.project}"
        if call.topic:
            summary += f": {call.topic}"
        event.add("summary", summary)
        description = _description(call, text)
        if description:
            event.add("description", description)
        if call.owner:
            event.add("categories", [call.owner])
        event.add("transp", "TRANSPARENT")
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    ical: bytes = cal.to_ical()
    return ical


def write_ics(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write the file atomically, so a calendar that polls it never reads half of it.

    An existing file keeps its mode; a new one follows the umask (a calendar
    feed is usually meant to be readable by the web server that publishes it).
    """
    try:
        return write_atomically(path, data)
    except OSError as exc:
        raise CrmError(f"cannot write {path}: {exc.strerror or exc}") from None
