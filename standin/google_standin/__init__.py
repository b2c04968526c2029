"""Offline stand-in for the Google Sheets v4 and Drive v3 APIs, for tests and benchmarks.

``FakeGoogle`` is a ``requests`` transport adapter that answers
``https://sheets.googleapis.com`` and ``https://www.googleapis.com/drive/v3``
from memory, with Google's URLs, validation (from the discovery documents),
response shapes and error bodies::

    fake = FakeGoogle(account="service")            # or "user" (may create files)
    sid = fake.add_spreadsheet("CRM", {"Leads": [["Project", "Stage"], ["Acme", "Won"]]},
                               time_zone="Europe/Moscow", locale="ru_RU")
    gc = fake.client()                               # gspread.Client on the fake
    session = fake.mount(requests.Session())         # or any session / fake.patch()
    gc.open_by_key(sid).worksheet("Leads").get_all_values()
    fake.values(sid, "Leads"); fake.background(sid, "Leads", 2, 1)
    fake.stats.by_method["sheets.spreadsheets.values.get"]
    fake.inject("values.get", status=429, times=2)   # faults
    fake.on_request(1, lambda: fake.person.insert_rows(sid, "Leads", 2), method="batchUpdate")

Modules: ``google_fake`` (adapter, routing, stats, faults, hooks), ``discovery``
(routing + validation), ``sheets_api`` / ``batch_update`` / ``requests_cells`` /
``requests_sheets`` / ``drive_api`` (endpoints), ``a1``, ``cellvalues``,
``fieldmask``, ``grid_ops``, ``render``, ``model``, ``state``, ``person``,
``helpers``, ``faults``, ``stats``, ``errors``.
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
