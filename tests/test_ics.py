"""export-ics: all-day events on the right date, stable UIDs, parsed back with icalendar."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import os

import icalendar
import pytest

from sheets_crm.app.ics import calls_to_ics, event_uid, source_key, write_ics
from sheets_crm.core.model import Call
from sheets_crm.errors import ConfigError, CrmError

SHEET = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"
NOW = dt.datetime(2025, 3, 3, 5, 0, tzinfo=dt.UTC)

CALLS = [
    Call(
        "overdue",
        dt.date(2025, 2, 27),
        4,
        "Acme Ltd",
        "Maria Petrova",
        "+7 999 111-22-33",
        "Send proposal",
        "Asked to call back",
        "Anna",
        plan_row=5,
    ),
    Call(
        "today",
        dt.date(2025, 3, 3),
        None,
        "Ромашка",
        "Иван Иванов",
        "+7 495 000-00-00",
        "Обсудить договор",
        "Ждёт КП; перезвонить",
        "Борис",
        plan_row=9,
    ),
    Call("upcoming", dt.date(2025, 3, 7), None, "Globex", "", "", "", "", "", plan_row=12),
]


def export(calls=CALLS, **kwargs) -> icalendar.Calendar:
    options = dict(calendar_name="Studio calls", zone="Europe/Moscow", spreadsheet_id=SHEET, now=NOW)
    options.update(kwargs)
    return icalendar.Calendar.from_ical(calls_to_ics(calls, **options))


def events(cal: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["summary"]): e for e in cal.walk("VEVENT")}


def test_one_all_day_event_per_call_on_its_date():
    cal = export()
    assert str(cal["x-wr-calname"]) == "Studio calls"
    assert str(cal["x-wr-timezone"]) == "Europe/Moscow"
    assert str(cal["version"]) == "2.0" and "sheets-crm" in str(cal["prodid"])
    got = events(cal)
    assert set(got) == {"Call Acme Ltd: Send proposal", "Call Ромашка: Обсудить договор", "Call Globex"}
    for summary, date in [
        ("Call Acme Ltd: Send proposal", dt.date(2025, 2, 27)),
        ("Call Ромашка: Обсудить договор", dt.date(2025, 3, 3)),
        ("Call Globex", dt.date(2025, 3, 7)),
    ]:
        event = got[summary]
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        assert type(start) is dt.date and start == date  # a DATE, not a DATETIME
        assert end == date + dt.timedelta(days=1)
        assert event.decoded("dtstamp") == NOW
        assert str(event["transp"]) == "TRANSPARENT"


def test_raw_output_has_value_date_lines():
    raw = calls_to_ics(CALLS[:1], calendar_name="c", zone="Europe/Moscow", spreadsheet_id=SHEET, now=NOW)
    text = raw.decode("utf-8")
    assert "DTSTART;VALUE=DATE:20250227\r\n" in text and "DTEND;VALUE=DATE:20250228\r\n" in text
    assert "DTSTAMP:20250303T050000Z\r\n" in text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")


def test_description_and_russian_text_survive():
    event = events(export())["Call Ромашка: Обсудить договор"]
    description = str(event["description"]).splitlines()
    assert description == [
        "Contact: Иван Иванов",
        "Phone: +7 495 000-00-00",
        "Last result: Ждёт КП; перезвонить",
        "Owner: Борис",
        "Contact Plan row: 9",
    ]
    assert event.get("categories").cats == ["Борис"]
    overdue = events(export())["Call Acme Ltd: Send proposal"]
    assert str(overdue["description"]).splitlines()[0] == "Overdue by 4 days"


def test_russian_labels():
    got = events(export(lang="ru"))
    event = got["Звонок Ромашка: Обсудить договор"]
    assert "Контакт: Иван Иванов" in str(event["description"])


def test_uids_are_stable_across_exports_and_unique():
    first = {str(e["summary"]): str(e["uid"]) for e in export().walk("VEVENT")}
    later = {str(e["summary"]): str(e["uid"]) for e in export(now=NOW + dt.timedelta(days=1)).walk("VEVENT")}
    assert first == later
    assert len(set(first.values())) == 3
    assert all(uid.endswith("@sheets-crm") for uid in first.values())


def test_uid_survives_a_date_move_and_a_topic_change_but_not_another_row_or_sheet():
    original = CALLS[0]
    moved = dataclasses.replace(
        original, date=dt.date(2025, 3, 10), section="upcoming", days_overdue=None, topic="Send revised proposal"
    )
    retyped = dataclasses.replace(original, project="  ACME   ltd ")
    assert event_uid(SHEET, moved) == event_uid(SHEET, original) == event_uid(SHEET, retyped)
    assert event_uid(SHEET, dataclasses.replace(original, plan_row=6)) != event_uid(SHEET, original)
    assert event_uid("another-sheet", original) != event_uid(SHEET, original)
    (event,) = export([moved]).walk("VEVENT")
    assert str(event["uid"]) == event_uid(SHEET, original)
    assert event.decoded("dtstart") == dt.date(2025, 3, 10)


def test_source_key_is_the_same_for_a_url_and_its_id_and_ignores_folders():
    assert source_key(f"https://docs.google.com/spreadsheets/d/{SHEET}/edit#gid=0") == SHEET
    assert source_key(SHEET) == SHEET
    assert source_key("/home/anna/crm/crm.xlsx") == source_key("crm.xlsx") == "crm.xlsx"
    assert source_key(r"C:\Users\anna\crm.xlsx") == "crm.xlsx"


def test_sequence_grows_with_each_export():
    (a,) = export(CALLS[:1]).walk("VEVENT")
    (b,) = export(CALLS[:1], now=NOW + dt.timedelta(hours=1)).walk("VEVENT")
    assert int(b["sequence"]) > int(a["sequence"]) >= 0


def test_caller_chooses_sections():
    got = events(export(sections=("today", "upcoming")))
    assert set(got) == {"Call Ромашка: Обсудить договор", "Call Globex"}
    with pytest.raises(ConfigError, match="unknown section 'later'"):
        export(sections=("later",))


def test_the_same_plan_row_twice_is_exported_once():
    assert len(export([CALLS[0], CALLS[0]]).walk("VEVENT")) == 1


def test_calls_without_a_plan_row_still_get_distinct_stable_uids():
    a = dataclasses.replace(CALLS[0], plan_row=0)
    b = dataclasses.replace(CALLS[0], plan_row=0, date=dt.date(2025, 3, 1), topic="Other")
    assert event_uid(SHEET, a) != event_uid(SHEET, b)
    assert event_uid(SHEET, a) == event_uid(SHEET, dataclasses.replace(a))


def test_empty_export_is_a_valid_calendar():
    cal = export([])
    assert cal.walk("VEVENT") == [] and str(cal["x-wr-calname"]) == "Studio calls"


def test_bad_zone_is_refused():
    with pytest.raises(ConfigError, match="'Moscow' is not a known IANA time zone"):
        export(zone="Moscow")


def test_write_ics_replaces_the_file_atomically(tmp_path):
    target = tmp_path / "feeds" / "calls.ics"
    data = calls_to_ics(CALLS, calendar_name="c", zone="UTC", spreadsheet_id=SHEET, now=NOW)
    assert write_ics(target, data) == target
    assert target.read_bytes() == data
    write_ics(target, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    assert target.read_bytes().startswith(b"BEGIN:VCALENDAR")
    assert [p.name for p in target.parent.iterdir()] == ["calls.ics"]  # no temp files left
    if os.name == "posix":  # a new feed is readable as the umask allows (0644 under the usual 022)
        umask = os.umask(0o022)
        os.umask(umask)
        assert target.stat().st_mode & 0o777 == 0o666 & ~umask
        target.chmod(0o640)  # an existing feed keeps the mode its owner gave it
        write_ics(target, data)
        assert target.stat().st_mode & 0o777 == 0o640 and target.read_bytes() == data


def test_write_ics_failure_is_one_clear_error_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "calls.ics"
    target.write_bytes(b"old")

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)  # fails after the temp file was written
    with pytest.raises(CrmError, match=r"cannot write .*calls.ics: No space left on device"):
        write_ics(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["calls.ics"]
