"""The offline Google stand-in (google_standin.FakeGoogle) behaves like Google.

Exercised through gspread (what the backend is built on) and raw HTTP, and
cross-checked against real recorded exchanges in ../shared/google-recorded.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests

import google_standin
from google_standin import FakeGoogle

RECORDED = Path(__file__).resolve().parents[2] / "shared" / "google-recorded"
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"
DRIVE = "https://www.googleapis.com/drive/v3/files"
SA = "crm-bot@studio-crm.iam.gserviceaccount.com"


# Every test's ``fake_google`` (the stand-in's pytest fixture) is this service account unless it says otherwise.
pytestmark = pytest.mark.fake_google(account="service", identity=SA)


@pytest.fixture
def fake(fake_google: FakeGoogle) -> FakeGoogle:
    return fake_google


@pytest.fixture
def crm(fake: FakeGoogle) -> str:
    """A spreadsheet the owner made and shared with the service account."""
    return fake.add_spreadsheet(
        "Studio CRM",
        {
            "Лиды": [["Проект", "Контакт", "Этап"], ["Acme", "Ann", "Won"], ["Beta", "Bob", "Lead"]],
            "План контактов": [
                ["Проект", "Дата", "Тема", "Статус"],
                ["Acme", dt.date(2026, 11, 20), "Call", "Проведен"],
            ],
        },
        time_zone="Europe/Moscow",
        locale="ru_RU",
    )


def api_error(excinfo: pytest.ExceptionInfo[gspread.exceptions.APIError]) -> dict[str, Any]:
    return excinfo.value.response.json()["error"]


# -- gspread round trips ------------------------------------------------------------------


def test_user_account_creates_and_round_trips_values() -> None:
    fake = FakeGoogle()  # the owner's own login may create files
    gc = fake.client()
    sh = gc.create("CRM")
    assert fake.spreadsheet(sh.id).title == "CRM"
    assert [f["name"] for f in gc.list_spreadsheet_files()] == ["CRM"]
    ws = sh.sheet1
    ws.update([["Project", "Touches"], ["Acme", 3]], "A1")
    assert gc.open_by_key(sh.id).sheet1.get_all_values() == [["Project", "Touches"], ["Acme", "3"]]
    assert fake.values(sh.id, "Sheet1") == [["Project", "Touches"], ["Acme", 3]]
    assert gc.open("CRM").id == sh.id


def test_gspread_formatting_helpers_land_in_the_sheet(fake: FakeGoogle, crm: str) -> None:
    ws = fake.client().open_by_key(crm).worksheet("Лиды")
    ws.format("A2:C2", {"backgroundColor": {"red": 1, "green": 0.8, "blue": 0}, "textFormat": {"bold": True}})
    ws.freeze(rows=1)
    ws.add_validation("C2:C3", gspread.utils.ValidationConditionType.one_of_list, ["Lead", "Won", "Lost"], strict=True)
    ws.add_protected_range("A1:C1", warning_only=True)
    ws.batch_update([{"range": "B2", "values": [["Anna"]]}, {"range": "B3:C3", "values": [["Boris", "Lost"]]}])

    assert fake.background(crm, "Лиды", 2, 1) == "#FFCC00"
    assert fake.background(crm, "Лиды", "C2") == "#FFCC00"
    assert fake.background(crm, "Лиды", 3, 1) is None
    assert fake.format(crm, "Лиды", "B2")["textFormat"]["bold"] is True
    assert fake.sheet_properties(crm, "Лиды")["gridProperties"]["frozenRowCount"] == 1
    assert fake.validation(crm, "Лиды", "C3")["condition"]["type"] == "ONE_OF_LIST"
    assert fake.validation(crm, "Лиды", "C1") is None
    (protected,) = fake.protected_ranges(crm, "Лиды")
    assert protected["warningOnly"] is True and protected["editors"]["users"] == [SA]
    assert fake.values(crm, "Лиды")[1:] == [["Acme", "Anna", "Won"], ["Beta", "Boris", "Lost"]]


def test_structure_requests_insert_delete_move_sort(fake: FakeGoogle, crm: str) -> None:
    ws = fake.client().open_by_key(crm).worksheet("Лиды")
    ws.insert_rows([["Gamma", "Gus", "Lead"]], row=2)
    ws.sort((1, "des"), range="A2:C4")
    assert [r[0] for r in fake.values(crm, "Лиды")] == ["Проект", "Gamma", "Beta", "Acme"]
    ws.delete_rows(2)
    ws.spreadsheet.batch_update(
        {
            "requests": [
                {
                    "moveDimension": {
                        "source": {"sheetId": ws.id, "dimension": "COLUMNS", "startIndex": 2, "endIndex": 3},
                        "destinationIndex": 0,
                    }
                }
            ]
        }
    )
    assert fake.values(crm, "Лиды") == [["Этап", "Проект", "Контакт"], ["Lead", "Beta", "Bob"], ["Won", "Acme", "Ann"]]
    assert ws.spreadsheet.worksheet("Лиды").row_count == 1000


# -- values API shapes ---------------------------------------------------------------------


def test_trailing_empties_are_dropped_and_empty_ranges_have_no_values_key(fake: FakeGoogle) -> None:
    sid = fake.add_spreadsheet("T", {"Sheet1": [["A1", "B1", "", "D1"], ["", "b2", "", ""], [], ["A4", "B4", "", ""]]})
    sh = fake.client().open_by_key(sid)
    got = sh.values_get("Sheet1")
    assert got == {
        "range": "Sheet1!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [["A1", "B1", "", "D1"], ["", "b2"], [], ["A4", "B4"]],
    }
    assert sh.values_get("Sheet1!F10:G12") == {"range": "Sheet1!F10:G12", "majorDimension": "ROWS"}
    cols = sh.values_get("Sheet1!A1:B4", params={"majorDimension": "COLUMNS"})
    assert cols["values"] == [["A1", "", "", "A4"], ["B1", "b2", "", "B4"]]


def test_dates_become_serials_and_render_three_ways() -> None:
    fake = FakeGoogle()
    sid = fake.add_spreadsheet("D")
    sh = fake.client().open_by_key(sid)
    sh.values_update(
        "Sheet1!A1",
        params={"valueInputOption": "USER_ENTERED"},
        body={"values": [["2020-01-01", "1/2/2020", "=4/2", "=NOPE()", 53, "TRUE", "string"]]},
    )
    sh.values_update("Sheet1!A2", params={"valueInputOption": "RAW"}, body={"values": [["2020-01-01", "=1+1"]]})

    def row(**params: str) -> list[Any]:
        return sh.values_get("Sheet1!A1:G2", params=params)["values"]

    assert row(valueRenderOption="UNFORMATTED_VALUE", dateTimeRenderOption="SERIAL_NUMBER") == [
        [43831, 43832, 2, "#NAME?", 53, True, "string"],
        ["2020-01-01", "=1+1"],
    ]
    assert row(valueRenderOption="UNFORMATTED_VALUE", dateTimeRenderOption="FORMATTED_STRING")[0][:2] == [
        "2020-01-01",
        "1/2/2020",
    ]
    assert row()[0] == ["2020-01-01", "1/2/2020", "2", "#NAME?", "53", "TRUE", "string"]
    assert row(valueRenderOption="FORMULA")[0][2:4] == ["=4/2", "=NOPE()"]
    assert fake.cell(sid, "Sheet1", "A1")["userEnteredFormat"]["numberFormat"]["type"] == "DATE"
    assert fake.cell(sid, "Sheet1", "D1")["effectiveValue"]["errorValue"]["type"] == "NAME"


@pytest.mark.parametrize(
    ("locale", "typed", "expected"),
    [
        ("en_US", "1/2/2020", dt.date(2020, 1, 2)),
        ("en_CA", "1/2/2020", dt.date(2020, 1, 2)),  # Canada (English): month before day, as CLDR orders it
        ("fr_FR", "1/2/2020", dt.date(2020, 2, 1)),
        ("en_GB", "02/01/2020", dt.date(2020, 1, 2)),
        ("ru_RU", "02.01.2020", dt.date(2020, 1, 2)),
        ("ru_RU", "2020-01-02", dt.date(2020, 1, 2)),
    ],
)
def test_typed_dates_follow_the_spreadsheet_locale(locale: str, typed: str, expected: dt.date) -> None:
    fake = FakeGoogle()
    sid = fake.add_spreadsheet("D", {"Sheet1": [[typed]]}, locale=locale)
    assert fake.values(sid, "Sheet1") == [[(expected - dt.date(1899, 12, 30)).days]]


def test_en_ca_shows_dates_year_first() -> None:
    fake = FakeGoogle()
    sid = fake.add_spreadsheet("D", {"Sheet1": [["1/2/2020", dt.date(2026, 11, 22)]]}, locale="en_CA")
    assert fake.formatted(sid, "Sheet1") == [["2020-01-02", "2026-11-22"]]


def test_date_number_format_and_update_cells_string_values(fake: FakeGoogle, crm: str) -> None:
    sh = fake.client().open_by_key(crm)
    sheet_id = sh.worksheet("План контактов").id
    sh.batch_update(
        {
            "requests": [
                {
                    "updateCells": {
                        "start": {"sheetId": sheet_id, "rowIndex": 1, "columnIndex": 4},
                        "rows": [
                            {
                                "values": [
                                    {
                                        "userEnteredValue": {"numberValue": 46000},
                                        "userEnteredFormat": {
                                            "numberFormat": {"type": "DATE", "pattern": "dd.mm.yyyy"}
                                        },
                                    },
                                    {"userEnteredValue": {"stringValue": "=not a formula"}},
                                    {"userEnteredValue": {"formulaValue": "=1+2"}},
                                ]
                            }
                        ],
                        "fields": "userEnteredValue,userEnteredFormat.numberFormat",
                    }
                }
            ]
        }
    )
    formatted = sh.values_get("'План контактов'!B2:G2")["values"][0]
    assert formatted == ["20.11.2026", "Call", "Проведен", "09.12.2025", "=not a formula", "3"]
    assert sh.values_get("'План контактов'!F2", params={"valueRenderOption": "FORMULA"})["values"] == [
        ["=not a formula"]
    ]


def test_a1_ranges_with_russian_titles_and_open_ends(fake: FakeGoogle, crm: str) -> None:
    sh = fake.client().open_by_key(crm)
    assert sh.values_get("Лиды!A1:B2")["range"] == "'Лиды'!A1:B2"
    assert sh.values_get("'План контактов'!A2:D")["range"] == "'План контактов'!A2:D1000"
    assert sh.values_get("'План контактов'!B:B")["values"] == [["Дата"], ["20.11.2026"]]
    assert sh.values_get("A1:A2")["values"] == [["Проект"], ["Acme"]]  # first sheet
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.values_get("'Звонки'!A1")
    assert api_error(err) == {
        "code": 400,
        "message": "Unable to parse range: 'Звонки'!A1",
        "status": "INVALID_ARGUMENT",
    }
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits"):
        sh.values_get("Лиды!A1:AA2")


def test_append_continues_the_table(fake: FakeGoogle, crm: str) -> None:
    sh = fake.client().open_by_key(crm)
    out = sh.values_append(
        "'План контактов'",
        params={"valueInputOption": "USER_ENTERED"},
        body={"values": [["Beta", "2026-11-25", "Demo", ""]]},
    )
    assert out["tableRange"] == "'План контактов'!A1:D2"
    assert out["updates"]["updatedRange"] == "'План контактов'!A3:D3"
    assert fake.values(sh.id, "План контактов")[2] == ["Beta", 46351, "Demo"]


def test_fields_mask_returns_only_what_was_asked(fake: FakeGoogle, crm: str) -> None:
    fake.person.set_background(crm, "Лиды", "A2", "#00FF00")
    fields = (
        "properties(title,timeZone,locale),sheets(properties(sheetId,title,index,gridProperties(rowCount)),"
        "data(startRow,rowData(values(effectiveValue,userEnteredFormat/backgroundColor))))"
    )
    got = fake.client().http_client.fetch_sheet_metadata(
        crm, params={"includeGridData": "true", "fields": fields, "ranges": ["Лиды!A2:B3"]}
    )
    assert got["properties"] == {"title": "Studio CRM", "timeZone": "Europe/Moscow", "locale": "ru_RU"}
    (sheet,) = got["sheets"]
    assert sheet["properties"] == {"sheetId": 0, "title": "Лиды", "index": 0, "gridProperties": {"rowCount": 1000}}
    assert sheet["data"] == [
        {
            "startRow": 1,
            "rowData": [
                {
                    "values": [
                        {
                            "effectiveValue": {"stringValue": "Acme"},
                            "userEnteredFormat": {"backgroundColor": {"green": 1}},
                        },
                        {"effectiveValue": {"stringValue": "Ann"}},
                    ]
                },
                {"values": [{"effectiveValue": {"stringValue": "Beta"}}, {"effectiveValue": {"stringValue": "Bob"}}]},
            ],
        }
    ]


# -- validation against the discovery documents ------------------------------------------------


def test_unknown_field_is_rejected_with_googles_error_shape(fake: FakeGoogle, crm: str) -> None:
    sh = fake.client().open_by_key(crm)
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.batch_update({"requests": [{"updateCells": {"range": {"sheetId": 0}, "fields": "*", "foo": 1}}]})
    assert err.value.code == 400
    message = "Invalid JSON payload received. Unknown name \"foo\" at 'requests[0].update_cells': Cannot find field."
    assert api_error(err) == {
        "code": 400,
        "message": message,
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": "requests[0].update_cells", "description": message}],
            }
        ],
    }


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            {
                "repeatCell": {
                    "range": {"sheetId": 0},
                    "cell": {"userEnteredFormat": {"horizontalAlignment": "MIDDLE"}},
                    "fields": "userEnteredFormat",
                }
            },
            "Invalid value at 'requests[0].repeat_cell.cell.user_entered_format.horizontal_alignment'",
        ),
        (
            {"repeatCell": {"range": {"sheetId": 0}, "cell": {}, "fields": "userEnteredFormat(("}},
            "Invalid value at 'requests[0].repeat_cell.fields' (type.googleapis.com/google.protobuf.FieldMask)",
        ),
        (
            {"updateCells": {"range": {"sheetId": 0, "startRowIndex": "x"}, "fields": "*"}},
            "Invalid value at 'requests[0].update_cells.range.start_row_index' (TYPE_INT32), \"x\"",
        ),
        ({"addSheet": {}, "deleteSheet": {"sheetId": 0}}, "Oneof field 'kind' is already set"),
        (
            {"updateCells": {"start": {"sheetId": 0, "rowIndex": 1000}, "fields": "*"}},
            "Invalid requests[0].updateCells: GridCoordinate.rowIndex[1000] is after last row in grid[999]",
        ),
        ({"deleteSheet": {"sheetId": 42}}, "Invalid requests[0].deleteSheet: No grid with id: 42"),
    ],
)
def test_bad_requests_get_googles_400(fake: FakeGoogle, crm: str, request_: dict[str, Any], message: str) -> None:
    with pytest.raises(gspread.exceptions.APIError) as err:
        fake.client().open_by_key(crm).batch_update({"requests": [request_]})
    assert err.value.code == 400 and message in api_error(err)["message"]


def test_query_parameters_are_checked(fake: FakeGoogle, crm: str) -> None:
    session = fake.session()
    bad_enum = session.get(f"{SHEETS}/{crm}/values/A1", params={"valueRenderOption": "RAW"})
    assert bad_enum.status_code == 400
    assert bad_enum.json()["error"]["message"] == (
        "Invalid value at 'value_render_option' (type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), \"RAW\""
    )
    unknown = session.get(f"{SHEETS}/{crm}/values/A1", params={"valueRender": "FORMULA"})
    assert 'Unknown name "valueRender": Cannot bind query parameter' in unknown.json()["error"]["message"]
    missing = session.put(f"{SHEETS}/{crm}/values/A1", json={"values": [["x"]]})
    assert missing.json()["error"]["message"] == "'valueInputOption' is required but not specified"


def test_unimplemented_request_kinds_say_so(fake: FakeGoogle, crm: str) -> None:
    with pytest.raises(gspread.exceptions.APIError) as err:
        fake.client().open_by_key(crm).batch_update({"requests": [{"addBanding": {"bandedRange": {}}}]})
    assert err.value.code == 501 and "addBanding" in api_error(err)["message"]


def test_batch_update_is_atomic(fake: FakeGoogle, crm: str) -> None:
    before = fake.values(crm, "Лиды")
    with pytest.raises(gspread.exceptions.APIError, match="exceeds grid limits"):
        fake.client().open_by_key(crm).batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "Звонки на сегодня"}}},
                    {
                        "updateCells": {
                            "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                            "rows": [{"values": [{"userEnteredValue": {"stringValue": "X"}}]}],
                            "fields": "userEnteredValue",
                        }
                    },
                    {
                        "repeatCell": {
                            "range": {"sheetId": 0, "startRowIndex": 999, "endRowIndex": 1001},
                            "cell": {},
                            "fields": "note",
                        }
                    },
                ]
            }
        )
    assert fake.tabs(crm) == ["Лиды", "План контактов"]
    assert fake.values(crm, "Лиды") == before
    with pytest.raises(gspread.exceptions.APIError, match="Requested writing within range"):
        fake.client().open_by_key(crm).values_batch_update(
            {
                "valueInputOption": "RAW",
                "data": [
                    {"range": "Лиды!A1", "values": [["changed"]]},
                    {"range": "Лиды!A2:A2", "values": [["a"], ["b"]]},
                ],
            }
        )
    assert fake.values(crm, "Лиды") == before


# -- access, accounts, faults, quota ----------------------------------------------------------------


def test_service_account_cannot_create_files(fake: FakeGoogle) -> None:
    gc = fake.client()
    with pytest.raises(gspread.exceptions.APIError) as err:
        gc.create("New CRM")
    assert err.value.code == 403
    assert api_error(err)["errors"] == [
        {
            "domain": "usageLimits",
            "reason": "storageQuotaExceeded",
            "message": "The user's Drive storage quota has been exceeded.",
        }
    ]
    sheets_create = fake.session().post(SHEETS, json={"properties": {"title": "New CRM"}})
    assert (
        sheets_create.status_code == 403
        and sheets_create.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    )
    assert fake.state.spreadsheets == {}


def test_missing_and_private_spreadsheets(fake: FakeGoogle) -> None:
    private = fake.add_spreadsheet("Someone else's", shared_with=["friend@example.com"])
    gc = fake.client()
    with pytest.raises(PermissionError) as denied:
        gc.open_by_key(private)
    assert denied.value.__cause__.response.json() == {
        "error": {  # type: ignore[union-attr]
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    }
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        gc.open_by_key("1NoSuchSpreadsheet")
    assert gc.list_spreadsheet_files() == []
    fake.person.share(private, SA)
    assert gc.open_by_key(private).title == "Someone else's"


def test_backoff_client_retries_429_then_succeeds(fake: FakeGoogle, crm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    fake.inject("values.get", status=429, times=2, retry_after=3)
    gc = fake.client(http_client=gspread.BackOffHTTPClient)
    assert gc.open_by_key(crm).worksheet("Лиды").acell("A2").value == "Acme"
    assert slept == [2, 4]
    assert fake.stats.by_status == {200: 3, 429: 2}
    assert fake.stats.faults == 2
    (first_429, *_) = [e for e in fake.exchanges if e.status == 429]
    assert first_429.response["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_faults_by_request_number_timeouts_and_dropped_connections(fake: FakeGoogle, crm: str) -> None:
    session = fake.session()
    url = f"{SHEETS}/{crm}/values/A1?valueInputOption=RAW"
    fake.inject(status=503, at=2)
    assert session.get(f"{SHEETS}/{crm}/values/A1").status_code == 200
    assert session.get(f"{SHEETS}/{crm}/values/A1").status_code == 503
    fake.inject_timeout("values.update", applied=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.put(url, json={"values": [["written anyway"]]})
    assert fake.values(crm, "Лиды")[0][0] == "written anyway"
    fake.inject_connection_error("values.update")
    with pytest.raises(requests.exceptions.ConnectionError):
        session.put(url, json={"values": [["lost"]]})
    assert fake.values(crm, "Лиды")[0][0] == "written anyway"
    response = fake.session().get(f"{SHEETS}/{crm}/values/A1")
    fake.inject(status=429, retry_after=7)
    limited = session.get(f"{SHEETS}/{crm}/values/A1")
    assert response.status_code == 200 and limited.headers["Retry-After"] == "7"


def test_quota_per_simulated_minute() -> None:
    fake = FakeGoogle(quota_per_minute=3)
    sid = fake.add_spreadsheet("Q", {"Sheet1": [["x"]]})
    session = fake.session()
    codes = [session.get(f"{SHEETS}/{sid}/values/A1").status_code for _ in range(4)]
    write = session.put(f"{SHEETS}/{sid}/values/A1?valueInputOption=RAW", json={"values": [["y"]]})
    assert codes == [200, 200, 200, 429] and write.status_code == 200  # reads and writes count apart
    fake.advance(60)
    assert session.get(f"{SHEETS}/{sid}/values/A1").status_code == 200
    assert fake.stats.quota_rejections == 1


# -- a person editing, instrumentation ---------------------------------------------------------------


def test_a_person_edits_between_the_tools_read_and_write(fake: FakeGoogle, crm: str) -> None:
    sh = fake.client().open_by_key(crm)
    rows = sh.values_get("Лиды")["values"]
    beta_row = next(i for i, r in enumerate(rows, start=1) if r[0] == "Beta")
    fake.on_request(
        1, lambda: fake.person.insert_rows(crm, "Лиды", 2, values=[["Gamma", "Gus", "New"]]), method="values.update"
    )
    sh.values_update(f"Лиды!C{beta_row}", params={"valueInputOption": "RAW"}, body={"values": [["Won"]]})
    # Google does not notice: the write landed on whatever row is there now.
    assert fake.values(crm, "Лиды")[1:] == [["Gamma", "Gus", "New"], ["Acme", "Ann", "Won"], ["Beta", "Bob", "Lead"]]
    fake.person.rename_tab(crm, "Лиды", "Leads")
    with pytest.raises(gspread.exceptions.APIError, match="Unable to parse range"):
        sh.values_get("Лиды!A1")


def test_person_helpers_move_sort_and_protect(fake: FakeGoogle, crm: str) -> None:
    person = fake.person
    person.set_background(crm, "Лиды", "A3:C3", "#FF0000")
    person.sort(crm, "Лиды", "A", ascending=False)
    assert [r[0] for r in fake.values(crm, "Лиды")] == ["Проект", "Beta", "Acme"]
    assert fake.background(crm, "Лиды", 2, 1) == "#FF0000"  # formats travel with their rows
    person.move_column(crm, "Лиды", "C", "A")
    assert fake.values(crm, "Лиды")[0] == ["Этап", "Проект", "Контакт"]
    person.protect(crm, "Лиды", "A1:C1")
    with pytest.raises(gspread.exceptions.APIError, match="protected cell"):
        fake.client().open_by_key(crm).values_update(
            "Лиды!B1", params={"valueInputOption": "RAW"}, body={"values": [["x"]]}
        )


def test_stats_and_log(fake: FakeGoogle, crm: str) -> None:
    gc = fake.client()
    sh = gc.open_by_key(crm)
    fake.reset_stats()
    sh.values_batch_get(["Лиды!A1:C3", "'План контактов'!A1:D"])
    sh.batch_update(
        {
            "requests": [
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1}},
                        "fields": "gridProperties.frozenRowCount",
                    }
                }
            ]
        }
    )
    stats = fake.stats
    assert (stats.requests, stats.reads, stats.writes) == (2, 1, 1)
    assert stats.by_method == {"sheets.spreadsheets.values.batchGet": 1, "sheets.spreadsheets.batchUpdate": 1}
    assert stats.bytes_sent == len(json.dumps(fake.log[1].body).encode())
    assert stats.bytes_received > 0
    assert [e.method_id for e in fake.log] == ["sheets.spreadsheets.values.batchGet", "sheets.spreadsheets.batchUpdate"]
    assert (
        fake.calls("spreadsheets.batchUpdate")[0].body["requests"][0]["updateSheetProperties"]["fields"]
        == "gridProperties.frozenRowCount"
    )


def test_drive_sharing_and_listing(fake: FakeGoogle) -> None:
    owner = FakeGoogle(account="user")
    sid = owner.add_spreadsheet("Shared CRM")
    gc = owner.client()
    gc.insert_permission(sid, SA, perm_type="user", role="writer", notify=False)
    assert {p.get("emailAddress") for p in gc.list_permissions(sid)} == {"owner@example.com", SA}
    found = owner.session().get(
        DRIVE, params={"q": "name = 'Shared CRM' and trashed = false", "fields": "files(id,name)"}
    )
    assert found.json() == {"files": [{"id": sid, "name": "Shared CRM"}]}
    gc.del_spreadsheet(sid)
    assert owner.session().get(f"{SHEETS}/{sid}").status_code == 404


def test_patch_routes_code_that_builds_its_own_client(fake: FakeGoogle, crm: str) -> None:
    seen: list[str] = []
    fake.before_request(lambda info: seen.append(info.method_id))
    with fake.patch():
        gc = gspread.authorize(fake.credentials())  # an AuthorizedSession made inside the block
        assert gc.open_by_key(crm).worksheet("Лиды").cell(2, 1).value == "Acme"
    assert seen == ["sheets.spreadsheets.get", "sheets.spreadsheets.get", "sheets.spreadsheets.values.get"]
    assert type(requests.Session().get_adapter(SHEETS)).__name__ == "HTTPAdapter"  # unpatched again


def test_service_account_files_in_a_shared_folder_still_hit_the_quota(fake: FakeGoogle) -> None:
    folder = fake.add_folder("CRM folder")  # shared with the service account
    session = fake.session()
    made = session.post(
        DRIVE, json={"name": "CRM", "mimeType": "application/vnd.google-apps.spreadsheet", "parents": [folder]}
    )
    assert made.status_code == 403 and made.json()["error"]["errors"][0]["reason"] == "storageQuotaExceeded"
    sub = session.post(
        DRIVE, json={"name": "sub", "mimeType": "application/vnd.google-apps.folder", "parents": [folder]}
    )
    assert sub.status_code == 200
    listed = session.get(DRIVE, params={"q": f"'{folder}' in parents"}).json()["files"]
    assert [f["name"] for f in listed] == ["sub"]


def test_person_tab_and_column_edits(fake: FakeGoogle, crm: str) -> None:
    person = fake.person
    person.add_tab(crm, "Звонки на сегодня", [["Когда", "Дата"]])
    person.insert_columns(crm, "Лиды", "B")
    person.set_value(crm, "Лиды", "B1", "Телефон")
    person.set_value(crm, "Лиды", "B2", "+79001234567")  # Google makes a number of it
    person.set_number_format(crm, "Лиды", "E2", "DATE", "dd.mm.yyyy")
    person.set_value(crm, "Лиды", "E2", 46000)
    person.set_time_zone(crm, "Asia/Yekaterinburg")
    assert fake.tabs(crm) == ["Лиды", "План контактов", "Звонки на сегодня"]
    assert fake.values(crm, "Лиды")[:2] == [
        ["Проект", "Телефон", "Контакт", "Этап"],
        ["Acme", 79001234567, "Ann", "Won", 46000],
    ]
    assert fake.formatted(crm, "Лиды")[1][4] == "09.12.2025"
    sh = fake.client().open_by_key(crm)
    assert sh.timezone == "Asia/Yekaterinburg"
    person.delete_columns(crm, "Лиды", 2)
    person.delete_tab(crm, "Звонки на сегодня")
    assert fake.values(crm, "Лиды")[0] == ["Проект", "Контакт", "Этап"]
    assert fake.tabs(crm) == ["Лиды", "План контактов"]


# -- cross-check against real recorded exchanges ----------------------------------------------------

IGNORED_KEYS = {"spreadsheetId", "id", "sheetId", "protectedRangeId", "createdTime", "modifiedTime", "spreadsheetUrl"}


def differences(recorded: Any, got: Any, path: str = "$") -> list[str]:
    """Where ``got`` differs from ``recorded``: keys, list lengths, value types, and values (ids aside)."""
    if isinstance(recorded, dict):
        if not isinstance(got, dict):
            return [f"{path}: {type(got).__name__} instead of an object"]
        out = [f"{path}.{k}: missing" for k in recorded if k not in got]
        out += [f"{path}.{k}: unexpected" for k in got if k not in recorded]
        for k in recorded.keys() & got.keys():
            if k not in IGNORED_KEYS:
                out += differences(recorded[k], got[k], f"{path}.{k}")
        return out
    if isinstance(recorded, list):
        if not isinstance(got, list) or len(got) != len(recorded):
            return [f"{path}: {got!r} instead of {recorded!r}"]
        return [
            d for i, (a, b) in enumerate(zip(recorded, got, strict=False)) for d in differences(a, b, f"{path}[{i}]")
        ]
    same_type = type(recorded) is type(got) or (
        isinstance(recorded, (int, float))
        and isinstance(got, (int, float))
        and not isinstance(recorded, bool)
        and not isinstance(got, bool)
    )
    if not same_type or recorded != got:
        return [f"{path}: {got!r} instead of {recorded!r}"]
    return []


def first_session(path: Path) -> list[dict[str, Any]]:
    """The recorded exchanges up to the first spreadsheet deletion (files hold repeated runs)."""
    out = []
    for interaction in json.loads(path.read_text(encoding="utf-8"))["interactions"]:
        out.append(interaction)
        if interaction["request"]["method"] == "DELETE":
            break
    return out


def strangers_spreadsheets(fake: FakeGoogle, exchanges: list[dict[str, Any]]) -> dict[str, str]:
    """A spreadsheet the recording reads but never creates is someone else's: seed it, private."""
    ids: dict[str, str] = {}
    created = {
        m.group(0)
        for e in exchanges
        if e["request"]["method"] == "POST"
        for m in re.finditer(r'"id": "([\w-]+)"', e["response"]["body"]["string"] or "")
    }
    for exchange in exchanges:
        for sid in re.findall(r"/spreadsheets/([\w-]{30,})", exchange["request"]["uri"]):
            if f'"id": "{sid}"' not in created and sid not in ids:
                ids[sid] = fake.add_spreadsheet(
                    "Private", owner="stranger@example.com", shared_with=[], spreadsheet_id=sid
                )
    return ids


def learn_ids(method: str, recorded: Any, got: Any, ids: dict[str, str], sheet_ids: dict[int, int]) -> None:
    """Map the recording's file and sheet ids to the ones the stand-in made, for the requests that follow."""
    if method == "POST" and "id" in recorded:
        ids[recorded["id"]] = got["id"]
    for old_reply, new_reply in zip(recorded.get("replies", []), got.get("replies", []), strict=False):
        if "addSheet" in old_reply:
            sheet_ids[old_reply["addSheet"]["properties"]["sheetId"]] = new_reply["addSheet"]["properties"]["sheetId"]


@pytest.mark.parametrize(
    "name",
    [
        "SpreadsheetTest.test_timezone_and_locale",
        "WorksheetTest.test_get_all_values_date_time_render_options",
        "ClientTest.test_access_non_existing_spreadsheet",
        "ClientTest.test_access_private_spreadsheet",
        "WorksheetTest.test_add_protected_range_warning",
        "WorksheetTest.test_add_validation",
        "WorksheetTest.test_format",
        "WorksheetTest.test_freeze",
        "WorksheetTest.test_batch_update",
        "WorksheetTest.test_append_row_with_empty_value",
        "WorksheetTest.test_insert_row",
        "WorksheetTest.test_sort",
        "WorksheetTest.test_get_notes",
        "SpreadsheetTest.test_values_batch_get",
    ],
)
def test_replaying_recorded_exchanges_gives_the_same_answers(name: str) -> None:
    path = RECORDED / f"{name}.json"
    if not path.exists():
        pytest.skip(f"recordings not available ({RECORDED})")
    exchanges = first_session(path)
    text = path.read_text(encoding="utf-8")
    account = re.search(r"[\w.-]+@[\w.-]+\.iam\.gserviceaccount\.com", text)
    fake = FakeGoogle(account="user", identity=account.group(0) if account else "me@example.com")
    session = fake.session()
    ids = strangers_spreadsheets(fake, exchanges)
    sheet_ids: dict[int, int] = {}
    problems = []
    for n, exchange in enumerate(exchanges):
        request, response = exchange["request"], exchange["response"]
        url, body = request["uri"], request.get("body") or ""
        for old, new in ids.items():
            url, body = url.replace(old, new), body.replace(old, new)
        for old_sheet, new_sheet in sheet_ids.items():
            body = re.sub(rf"(?<=: ){old_sheet}(?=[,}}])", str(new_sheet), body)
        got = session.request(
            request["method"],
            url,
            data=body.encode() or None,
            headers={"Content-Type": "application/json"} if body else {},
        )
        recorded_json = json.loads(response["body"]["string"]) if response["body"]["string"] else None
        got_json = got.json() if got.content else None
        if got.status_code != response["status"]["code"]:
            problems.append(f"#{n} {request['method']} {url}: status {got.status_code} != {response['status']['code']}")
            continue
        if recorded_json is not None:
            problems += [f"#{n} {d}" for d in differences(recorded_json, got_json)]
            learn_ids(request["method"], recorded_json, got_json, ids, sheet_ids)
    assert problems == []


# -- the pytest fixture ---------------------------------------------------------------------------------------


def test_fixture_takes_the_modules_marker(fake_google: FakeGoogle) -> None:
    assert fake_google.account == "service" and fake_google.identity == SA


@pytest.mark.fake_google(account="user")
def test_a_tests_own_marker_wins(fake_google: FakeGoogle) -> None:
    assert fake_google.account == "user" and fake_google.identity == "owner@example.com"


@pytest.mark.parametrize(("fake_google", "created"), [("user", True), ("service", False)], indirect=["fake_google"])
def test_fixture_parametrised_by_account_kind(fake_google: FakeGoogle, created: bool) -> None:
    made = fake_google.session().post(SHEETS, json={"properties": {"title": "New CRM"}})
    assert (made.status_code == 200) is created
    assert (fake_google.find("New CRM") is not None) is created


def test_factory_makes_independent_fakes(fake_google_factory: Any) -> None:
    owner, bot = fake_google_factory(account="user"), fake_google_factory()
    sid = owner.add_spreadsheet("Mine", shared_with=[])
    assert bot.identity == SA and bot.find("Mine") is None and owner.find("Mine") == sid


# -- closer to Google (issue 13) -----------------------------------------------------------------------------------


def batch(fake: FakeGoogle, sid: str, *requests_: dict[str, Any]) -> requests.Response:
    return fake.session().post(f"{SHEETS}/{sid}:batchUpdate", json={"requests": list(requests_)})


def test_add_sheet_index_past_the_end_is_a_400_and_changes_nothing(fake: FakeGoogle, crm: str) -> None:
    count = len(fake.tabs(crm))
    past = batch(fake, crm, {"addSheet": {"properties": {"title": "Calls", "index": count + 1}}})
    assert past.status_code == 400
    assert past.json()["error"]["message"].startswith("Invalid requests[0].addSheet: index 3 is out of bounds")
    assert fake.tabs(crm) == ["Лиды", "План контактов"]
    at_end = batch(fake, crm, {"addSheet": {"properties": {"title": "Calls", "index": count}}})
    assert at_end.status_code == 200 and fake.tabs(crm)[-1] == "Calls"
    assert at_end.json()["replies"][0]["addSheet"]["properties"]["index"] == count


LIMIT_MESSAGE = "This action would increase the number of cells in the workbook above the limit of 10000000 cells."


def test_ten_million_cell_limit_for_batch_update(fake: FakeGoogle) -> None:
    sid = fake.add_spreadsheet("Full", {"Data": [["x"]]}, rows=400_000, cols=25)  # exactly 10,000,000 cells
    sheet_id = fake.sheet(sid, "Data").sheet_id
    grow = batch(fake, sid, {"appendDimension": {"sheetId": sheet_id, "dimension": "COLUMNS", "length": 1}})
    assert grow.status_code == 400
    assert grow.json()["error"]["message"] == f"Invalid requests[0].appendDimension: {LIMIT_MESSAGE}"
    resize = {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"rowCount": 400_001, "columnCount": 25}},
            "fields": "gridProperties(rowCount,columnCount)",
        }
    }
    resized = batch(fake, sid, resize)
    assert resized.json()["error"]["message"] == f"Invalid requests[0].updateSheetProperties: {LIMIT_MESSAGE}"
    new_tab = batch(fake, sid, {"addSheet": {"properties": {"title": "More"}}})
    assert new_tab.json()["error"]["message"] == f"Invalid requests[0].addSheet: {LIMIT_MESSAGE}"
    assert fake.sheet(sid, "Data").column_count == 25 and fake.tabs(sid) == ["Data"]
    # Shrinking first makes room in the same atomic batch; a change that shrinks is always allowed.
    shrink = {"deleteDimension": {"range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}}
    ok = batch(fake, sid, shrink, {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": 1}})
    assert ok.status_code == 200 and fake.spreadsheet(sid).cell_count() == 10_000_000


def test_ten_million_cell_limit_for_values_writes(fake: FakeGoogle) -> None:
    sid = fake.add_spreadsheet("Full", {"Data": [["x"]]}, rows=400_000, cols=25)
    session = fake.session()
    spill = session.put(f"{SHEETS}/{sid}/values/Data!Y1?valueInputOption=RAW", json={"values": [["a", "b"]]})
    assert spill.status_code == 400 and spill.json()["error"]["message"] == LIMIT_MESSAGE
    appended = session.post(
        f"{SHEETS}/{sid}/values/Data!A1:append",
        params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        json={"values": [["new"]]},
    )
    assert appended.status_code == 400 and appended.json()["error"]["message"] == LIMIT_MESSAGE
    assert fake.values(sid, "Data") == [["x"]] and fake.sheet(sid, "Data").row_count == 400_000
    inside = session.put(f"{SHEETS}/{sid}/values/Data!B1?valueInputOption=RAW", json={"values": [["fits"]]})
    assert inside.status_code == 200


def test_a_sheet_has_one_sheet_protection(fake: FakeGoogle, crm: str) -> None:
    fake.person.protect(crm, "Лиды", editors=[SA])  # the owner protected the whole tab
    sheet_id = fake.sheet(crm, "Лиды").sheet_id
    whole = batch(fake, crm, {"addProtectedRange": {"protectedRange": {"range": {"sheetId": sheet_id}}}})
    assert whole.status_code == 400
    assert whole.json()["error"]["message"] == (
        'Invalid requests[0].addProtectedRange: Sheet "Лиды" already has sheet protection.'
    )
    header = {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1}
    assert batch(fake, crm, {"addProtectedRange": {"protectedRange": {"range": header}}}).status_code == 200
    other = fake.sheet(crm, "План контактов").sheet_id
    assert batch(fake, crm, {"addProtectedRange": {"protectedRange": {"range": {"sheetId": other}}}}).status_code == 200
    assert len(fake.protected_ranges(crm, "Лиды")) == 2


def test_formulas_evaluate_today_text_references_and_arithmetic(fake: FakeGoogle) -> None:
    fake.set_now(dt.datetime(2026, 11, 21, 22, 30, tzinfo=dt.UTC))  # already the 22nd in Moscow
    sid = fake.add_spreadsheet(
        "F",
        {
            "Leads": [
                ["Project", "Last contact", "Days since"],
                ["Acme", dt.date(2026, 11, 20), '=IF(B2="","",TODAY()-B2)'],
                ["Beta", None, '=IF(B3="","",TODAY()-B3)'],
            ],
            "Plan B": [["n"], [21]],
        },
        time_zone="Europe/Moscow",
    )
    fake.person.set_values(
        sid,
        "Leads",
        "E1",
        [['="Acme"', "=TODAY()", "=TODAY()+1", "='Plan B'!A2*2", '=A2&" "&N(C2)', "=ISBLANK(B3)", "=N(B3)"]],
    )
    fake.person.set_values(sid, "Leads", "E2", [["=1/0", "=NOPE(1)", "=(1+", "=H2", '=IF(A2="Acme","yes","no")']])
    today = (dt.date(2026, 11, 22) - dt.date(1899, 12, 30)).days
    values = fake.values(sid, "Leads")
    assert [r[2] for r in values[1:]] == [2, ""]
    assert values[0][4:] == ["Acme", today, today + 1, 42, "Acme 2", True, 0]
    assert fake.formatted(sid, "Leads")[0][5:7] == ["11/22/2026", "11/23/2026"]  # date results look like dates
    assert fake.formatted(sid, "Leads")[1][4:] == ["#DIV/0!", "#NAME?", "#ERROR!", "#REF!", "yes"]
    cell = fake.cell(sid, "Leads", "C2")
    assert cell["effectiveValue"] == {"numberValue": 2} and cell["formattedValue"] == "2"
    # Through the API, as the backend reads it.
    got = (
        fake.session()
        .get(f"{SHEETS}/{sid}/values/Leads!C2:F2", params={"valueRenderOption": "UNFORMATTED_VALUE"})
        .json()
    )
    assert got["values"] == [[2, "", "#DIV/0!", "#NAME?"]]
    fake.set_today(dt.date(2026, 11, 30))
    assert fake.values(sid, "Leads")[1][2] == 10  # the sheet counts the days itself


def test_a_write_applied_then_answered_5xx_is_in_the_sheet(fake: FakeGoogle, crm: str) -> None:
    sheet_id = fake.sheet(crm, "Лиды").sheet_id
    rows = fake.sheet(crm, "Лиды").row_count
    grow = {"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS", "length": 10}}
    fake.inject("spreadsheets.batchUpdate", status=503, after_apply=True)
    failed = batch(fake, crm, grow)
    assert failed.status_code == 503 and failed.json()["error"]["status"] == "UNAVAILABLE"
    assert fake.sheet(crm, "Лиды").row_count == rows + 10  # applied although the caller heard 503
    assert batch(fake, crm, grow).status_code == 200  # a blind re-send grows the grid twice
    assert fake.sheet(crm, "Лиды").row_count == rows + 20
    fake.inject_timeout("spreadsheets.batchUpdate", after_apply=True)
    with pytest.raises(requests.exceptions.ReadTimeout):
        batch(fake, crm, grow)
    fake.inject_connection_error("spreadsheets.batchUpdate", after_apply=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        batch(fake, crm, grow)
    assert fake.sheet(crm, "Лиды").row_count == rows + 40
    fake.inject("spreadsheets.batchUpdate", status=503)  # before applying: nothing changes
    assert batch(fake, crm, grow).status_code == 503 and fake.sheet(crm, "Лиды").row_count == rows + 40
    # The log shows what Google did (200: applied), though the caller got an exception.
    assert fake.stats.faults == 4 and [e.status for e in fake.exchanges[-3:]] == [200, 200, 503]


def test_stand_in_core_does_not_import_the_apis() -> None:
    """core/ is shared by both APIs (moto's core): only type hints may point at sheets/, drive/ or the state."""
    core = Path(google_standin.__file__).parent / "core"
    found = []
    for module in sorted(core.glob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        hinted = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for node in ast.walk(block)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in hinted and node.level >= 2:
                found.append(f"{module.name}: from {'.' * node.level}{node.module} import ...")
    assert found == []
