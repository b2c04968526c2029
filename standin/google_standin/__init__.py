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
    fake.inject("batchUpdate", status=503, after_apply=True)  # applied, then a 5xx
    fake.on_request(1, lambda: fake.person.insert_rows(sid, "Leads", 2), method="batchUpdate")

In pytest, ask for the ``fake_google`` fixture (:mod:`.pytest_plugin`).

Layout, the way moto splits services: ``core/`` (transport, discovery,
fieldmask, faults, stats, errors, a1, clock), ``sheets/`` (models, ranges,
spreadsheets, values, batch_update, requests_cells, requests_sheets, grid_ops,
render, cellvalues, formula, api), ``drive/`` (models, files, query,
permissions, api); ``state`` joins them, ``fake`` assembles ``FakeGoogle``
with ``seed`` (seeding and inspection) and ``person`` (a person editing).
"""

from .core.errors import GoogleError
from .core.faults import Fault
from .core.stats import LogEntry, RequestInfo, Stats
from .core.transport import FakeCredentials
from .drive.models import DriveFile
from .fake import FakeGoogle
from .person import Person, hex_to_color
from .seed import color_to_hex
from .sheets.models import Sheet, Spreadsheet

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
