"""What counts as a Google Sheets target: the one place that decides it.

Everything that must tell a spreadsheet from a workbook path — the backend
factory, the config loader, the scheduler, the calendar export — asks here.
Pure string and path checks; nothing is imported from gspread.
"""

from __future__ import annotations

import re
from pathlib import Path

from sheets_crm.errors import WorkbookError

__all__ = ["is_google_target", "spreadsheet_id", "spreadsheet_url"]

_URL_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
# Google's ids are 44 characters. Told it is Google (--into, a URL), any
# 20+ id-shaped characters are taken as an id; guessing from a bare name
# asks for 30+ so that a long file name without a suffix stays a file.
_RAW_ID = re.compile(r"^[A-Za-z0-9_-]{20,}$")
_GUESSED_ID = re.compile(r"^[A-Za-z0-9_-]{30,}$")
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def is_google_target(target: str, base: Path | None = None) -> bool:
    """True for a Sheets URL (any http(s) URL: a wrong one then fails with a
    clear message from :func:`spreadsheet_id`) or a bare spreadsheet id.

    An id-shaped name that exists as a file (relative to ``base``, default
    the current folder) or ends in .xlsx/.xlsm is a workbook.

    >>> is_google_target("https://docs.google.com/spreadsheets/d/abc/edit")
    True
    >>> is_google_target("crm.xlsx")
    False
    """
    text = target.strip()
    if text.lower().startswith(("http://", "https://")) or _URL_ID.search(text):
        return True
    if not _GUESSED_ID.match(text) or text.lower().endswith(_WORKBOOK_SUFFIXES):
        return False
    return not ((base or Path.cwd()) / text).exists()


def spreadsheet_id(target: str) -> str:
    """The spreadsheet id in a Sheets URL, or ``target`` itself when it is an id.

    >>> spreadsheet_id("https://docs.google.com/spreadsheets/d/1AbC_dEf-123/edit#gid=0")
    '1AbC_dEf-123'
    """
    text = target.strip()
    match = _URL_ID.search(text)
    if match:
        return match.group(1)
    if _RAW_ID.match(text):
        return text
    raise WorkbookError(
        f"{target!r} is neither a Google Sheets URL (https://docs.google.com/spreadsheets/d/ID/edit) "
        "nor a spreadsheet id."
    )


def spreadsheet_url(sid: str) -> str:
    """The browser address of spreadsheet ``sid``."""
    return f"https://docs.google.com/spreadsheets/d/{sid}/edit"
