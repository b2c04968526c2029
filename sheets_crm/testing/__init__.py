"""Offline stand-in for the Google Sheets v4 and Drive v3 APIs, for tests and benchmarks.

Typical use::

    fake = FakeGoogle(account="service")
    sid = fake.add_spreadsheet("CRM", {"Leads": [["Project", "Stage"], ["Acme", "Won"]]})
    gc = fake.client()                     # a gspread.Client talking to the fake
    gc.open_by_key(sid).worksheet("Leads").get_all_values()
    assert fake.stats.by_method["sheets.spreadsheets.values.get"] == 1
"""

from .errors import GoogleError
from .faults import Fault
from .google_fake import FakeCredentials, FakeGoogle
from .helpers import color_to_hex
from .model import DriveFile, Sheet, Spreadsheet
from .person import Person, hex_to_color
from .stats import LogEntry, RequestInfo, Stats

__all__ = [
    "DriveFile",
    "FakeCredentials",
    "FakeGoogle",
    "Fault",
    "GoogleError",
    "LogEntry",
    "Person",
    "RequestInfo",
    "Sheet",
    "Spreadsheet",
    "Stats",
    "color_to_hex",
    "hex_to_color",
]
