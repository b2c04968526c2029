"""Google backend pieces that need no server: ids, colours, values, write
building, payload splitting, guard ranges, credentials discovery, error text.

End-to-end behaviour against the offline stand-in is in test_google_e2e.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from sheets_crm.backends.google.auth import load_account
from sheets_crm.backends.google.bootstrap import layout_requests
from sheets_crm.backends.google.http import CrmHTTPClient, RetryPolicy, body_size, convert_error
from sheets_crm.backends.google.workbook import (
    GoogleWorkbook,
    _guard_spans,
    a1_range,
    build_update_requests,
    color_to_hex,
    column_letter,
    extended_value,
    hex_to_color,
    split_requests,
    spreadsheet_id,
)
from sheets_crm.core.layout import build_layout
from sheets_crm.core.model import KEEP, CellChange, ChangeSet, Snapshot, TabData
from sheets_crm.errors import (
    ApiDisabledError,
    AuthError,
    GoogleError,
    NotSharedError,
    QuotaError,
    StorageQuotaError,
    WorkbookError,
)

REPO = Path(__file__).resolve().parents[1]
SA = "crm-bot@studio-crm.iam.gserviceaccount.com"


# -- ids and A1 ------------------------------------------------------------------


def test_spreadsheet_id_from_url_and_raw_id() -> None:
    sid = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abc"
    assert spreadsheet_id(f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0") == sid
    assert spreadsheet_id(sid) == sid
    with pytest.raises(WorkbookError, match="neither a Google Sheets URL"):
        spreadsheet_id("crm.xlsx")


def test_a1_ranges_quote_titles() -> None:
    assert column_letter(0) == "A" and column_letter(25) == "Z" and column_letter(26) == "AA"
    assert a1_range("Leads", 0, 0, 0, 13) == "'Leads'!A1:N1"
    assert a1_range("Bob's tab", 1, 2, 9, 2) == "'Bob''s tab'!C2:C10"
    assert a1_range("Звонки на сегодня", 0, 0, 4, 8) == "'Звонки на сегодня'!A1:I5"


# -- colours and values -------------------------------------------------------------


@pytest.mark.parametrize("hexa", ["57BB8A", "FFFFFF", "000000", "F4C7C3", "010203", "FEFDFC", "D9D9D9"])
def test_colours_round_trip_exactly(hexa: str) -> None:
    color = hex_to_color(hexa)
    assert all(0 < v <= 1 for v in color.values())
    assert color_to_hex(color) == hexa


def test_every_channel_level_survives_googles_8_bit_truncation() -> None:
    import math
    import struct

    f32 = lambda v: struct.unpack("f", struct.pack("f", v))[0]  # noqa: E731
    for level in range(1, 256):
        sent = hex_to_color(f"{level:02X}0000")["red"]
        stored = math.floor(f32(sent) * 255 + 1e-9)  # what Google keeps
        assert stored == level and color_to_hex({"red": stored / 255})[:2] == f"{level:02X}"


def test_missing_colour_channels_are_zero() -> None:
    assert color_to_hex({"red": 1}) == "FF0000"
    assert color_to_hex({}) == "000000"  # Google's black has no channels at all
    assert color_to_hex(None) is None
    assert hex_to_color("FF0000") == {"red": 1.0}


def test_values_are_never_formulas() -> None:
    assert extended_value('=IMPORTXML("http://x","//a")') == {"stringValue": '=IMPORTXML("http://x","//a")'}
    assert extended_value("+7 900 000-00-00") == {"stringValue": "+7 900 000-00-00"}
    assert extended_value(dt.date(2020, 1, 1)) == {"numberValue": 43831}
    assert extended_value(3) == {"numberValue": 3}
    assert extended_value(True) == {"boolValue": True}
    assert extended_value(None) is None and extended_value("") is None
    assert extended_value(float("nan")) is None


# -- building the write ---------------------------------------------------------------


def _base(rows: int = 1000, cols: int = 14) -> Snapshot:
    return Snapshot(
        tabs={
            "Leads": TabData("Leads", [["Project"]], ref=11, grid_rows=rows, grid_cols=cols),
            "Calls Today": TabData("Calls Today", [["When"]], ref=22, grid_rows=rows, grid_cols=9),
        }
    )


def test_values_and_colours_go_as_rectangles() -> None:
    changes = []
    for r in range(1, 4):
        for c in range(0, 3):
            changes.append(CellChange("Calls Today", r, c, value=f"v{r}{c}", fill="F4C7C3" if r < 3 else "FFF2CC"))
    changes.append(CellChange("Leads", 5, 8, value=dt.date(2026, 11, 20), fill="57BB8A", number_format="yyyy-mm-dd"))
    changes.append(CellChange("Leads", 5, 9, value="ok", fill="57BB8A"))
    changes.append(CellChange("Leads", 6, 8, fill="57BB8A"))  # colour only
    changes.append(CellChange("Leads", 6, 12, value=None))  # clear
    reqs = build_update_requests(ChangeSet(changes=changes), _base())
    values = [r["updateCells"] for r in reqs if "updateCells" in r]
    repeats = [r["repeatCell"] for r in reqs if "repeatCell" in r]
    fills = [f for f in repeats if f["fields"] == "userEnteredFormat.backgroundColor"]
    assert all(u["fields"] == "userEnteredValue" for u in values)  # number formats go per column
    calls = next(u for u in values if u["start"]["sheetId"] == 22)
    assert calls["start"] == {"sheetId": 22, "rowIndex": 1, "columnIndex": 0}
    assert [[c["userEnteredValue"]["stringValue"] for c in row["values"]] for row in calls["rows"]] == [
        ["v10", "v11", "v12"],
        ["v20", "v21", "v22"],
        ["v30", "v31", "v32"],
    ]
    lead = next(u for u in values if u["start"] == {"sheetId": 11, "rowIndex": 5, "columnIndex": 8})
    assert lead["rows"] == [
        {
            "values": [
                {"userEnteredValue": {"numberValue": (dt.date(2026, 11, 20) - dt.date(1899, 12, 30)).days}},
                {"userEnteredValue": {"stringValue": "ok"}},
            ]
        }
    ]
    clear = next(u for u in values if u["start"].get("columnIndex") == 12)
    assert clear["rows"] == [{"values": [{}]}]
    # One repeatCell per rectangle of one colour.
    assert [
        (
            f["range"]["sheetId"],
            f["range"]["startRowIndex"],
            f["range"]["endRowIndex"],
            f["range"]["startColumnIndex"],
            f["range"]["endColumnIndex"],
        )
        for f in fills
    ] == [(22, 1, 3, 0, 3), (22, 3, 4, 0, 3), (11, 5, 6, 8, 10), (11, 6, 7, 8, 9)]
    assert fills[0]["cell"] == {"userEnteredFormat": {"backgroundColor": hex_to_color("F4C7C3")}}
    # The date column's number format: one repeatCell over the whole column, not one per cell.
    (fmt,) = [f for f in repeats if f["fields"] == "userEnteredFormat.numberFormat"]
    assert fmt["range"] == {
        "sheetId": 11,
        "startRowIndex": 1,
        "endRowIndex": 1000,
        "startColumnIndex": 8,
        "endColumnIndex": 9,
    }
    assert fmt["cell"] == {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}}}
    assert len(repeats) == len(fills) + 1


def test_fill_none_clears_the_background() -> None:
    (req,) = build_update_requests(ChangeSet(changes=[CellChange("Leads", 1, 8, fill=None)]), _base())
    assert req["repeatCell"]["cell"] == {} and req["repeatCell"]["fields"] == "userEnteredFormat.backgroundColor"


def test_grid_grows_in_the_same_batch_first() -> None:
    changes = [CellChange("Calls Today", 1004, 2, value="x"), CellChange("Leads", 3, 15, value="y")]
    reqs = build_update_requests(ChangeSet(changes=changes), _base())
    grow = [r["appendDimension"] for r in reqs if "appendDimension" in r]
    assert grow == [
        {"sheetId": 22, "dimension": "ROWS", "length": 5},
        {"sheetId": 11, "dimension": "COLUMNS", "length": 2},
    ]
    assert all("appendDimension" in r for r in reqs[:2])


def test_later_change_to_the_same_cell_wins_part_by_part() -> None:
    changes = [CellChange("Leads", 1, 8, value="a", fill="57BB8A"), CellChange("Leads", 1, 8, value="b")]
    value, fill = build_update_requests(ChangeSet(changes=changes), _base())
    assert value["updateCells"]["rows"][0]["values"][0]["userEnteredValue"] == {"stringValue": "b"}
    assert fill["repeatCell"]["cell"]["userEnteredFormat"]["backgroundColor"] == hex_to_color("57BB8A")


def test_split_keeps_every_cell_and_each_batch_under_the_limit() -> None:
    changes = [CellChange("Calls Today", r, c, value="x" * 40, fill="F4C7C3") for r in range(1, 301) for c in range(9)]
    reqs = build_update_requests(ChangeSet(changes=changes), _base())
    assert len(reqs) == 2  # one rectangle of values, one of colour
    limit = 20_000
    batches = split_requests(reqs, limit)
    assert len(batches) > 1
    assert all(body_size({"requests": b}) <= limit for b in batches)
    cells = [r["updateCells"] for b in batches for r in b if "updateCells" in r]
    assert sum(len(u["rows"]) for u in cells) == 300
    starts = [u["start"]["rowIndex"] for u in cells]
    assert starts == sorted(starts) and starts[0] == 1
    assert sum(1 for b in batches for r in b if "repeatCell" in r) == 1


def test_guard_spans_are_few_rectangles() -> None:
    cells = {(0, c): None for c in range(14)}
    cells.update({(r, 0): None for r in range(1, 500)})
    cells.update({(r, c): None for r in (3, 7, 400) for c in range(8, 14)})
    assert _guard_spans(cells) == [(0, 0, 0, 13), (1, 0, 499, 0), (3, 8, 400, 13)]


# -- init layout ---------------------------------------------------------------------


def test_layout_requests_cover_the_template(template) -> None:
    layout = {t.id: t for t in build_layout(template, "ru")}
    reqs = layout_requests(5, layout["leads"])
    kinds = [next(iter(r)) for r in reqs]
    header = next(r["updateCells"] for r in reqs if "updateCells" in r)
    assert [c["userEnteredValue"]["stringValue"] for c in header["rows"][0]["values"]][:2] == ["Проект", "Контакт"]
    assert all(c["userEnteredFormat"]["textFormat"]["bold"] for c in header["rows"][0]["values"])
    assert kinds.count("updateDimensionProperties") == len(layout["leads"].columns)
    widths = [
        r["updateDimensionProperties"]["properties"]["pixelSize"] for r in reqs if "updateDimensionProperties" in r
    ]
    assert widths[0] == 28 * 7 + 10
    assert kinds.count("repeatCell") == 2  # Last contact, Next contact
    (validation,) = [r["setDataValidation"] for r in reqs if "setDataValidation" in r]
    assert validation["rule"]["strict"] is False and validation["rule"]["showCustomUi"] is True
    assert validation["rule"]["condition"]["type"] == "ONE_OF_LIST"
    protected = [r["addProtectedRange"]["protectedRange"] for r in reqs if "addProtectedRange" in r]
    assert protected == [
        {
            "range": {"sheetId": 5, "startColumnIndex": 8, "endColumnIndex": 14},
            "description": protected[0]["description"],
            "warningOnly": True,
        }
    ]
    assert kinds.count("addConditionalFormatRule") == len(template.stages)
    calls = layout_requests(6, layout["calls"])
    # Calls Today's tool columns only (When..Owner, ID): the work-list columns between are the person's (issue 11).
    assert [r["addProtectedRange"]["protectedRange"]["range"] for r in calls if "addProtectedRange" in r] == [
        {"sheetId": 6, "startColumnIndex": 0, "endColumnIndex": 9},
        {"sheetId": 6, "startColumnIndex": 13, "endColumnIndex": 14},
    ]


# -- credentials ----------------------------------------------------------------------


def _rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _no_defaults(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr("gspread.auth.get_config_dir", lambda *a, **k: tmp_path / "gspread")


def test_no_credentials_says_where_it_looked(monkeypatch, tmp_path: Path) -> None:
    _no_defaults(monkeypatch, tmp_path)
    with pytest.raises(AuthError) as err:
        load_account(None, env={})
    text = str(err.value)
    assert "No Google credentials found" in text and "GOOGLE_APPLICATION_CREDENTIALS (not set)" in text
    assert "service_account.json" in text and "README" in text


def test_bad_credential_files(monkeypatch, tmp_path: Path) -> None:
    _no_defaults(monkeypatch, tmp_path)
    with pytest.raises(AuthError, match="does not exist"):
        load_account(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account",', encoding="utf-8")
    with pytest.raises(AuthError, match="not valid JSON"):
        load_account(None, env={"GOOGLE_APPLICATION_CREDENTIALS": str(broken)})
    with pytest.raises(AuthError, match="placeholder credentials.example.json"):
        load_account(REPO / "credentials.example.json")
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(AuthError, match="not a Google credentials file"):
        load_account(other)


def test_service_account_key_is_found_in_gspread_default_location(monkeypatch, tmp_path: Path) -> None:
    _no_defaults(monkeypatch, tmp_path)
    info = json.loads((REPO / "credentials.example.json").read_text(encoding="utf-8"))
    info.update(private_key=_rsa_key(), client_email=SA, project_id="studio-crm", client_x509_cert_url="")
    (tmp_path / "gspread").mkdir()
    (tmp_path / "gspread" / "service_account.json").write_text(json.dumps(info), encoding="utf-8")
    account = load_account(None, env={})
    assert account.kind == "service_account" and account.email == SA
    assert account.is_service_account


def test_oauth_client_file_needs_an_interactive_login(monkeypatch, tmp_path: Path) -> None:
    _no_defaults(monkeypatch, tmp_path)
    secrets = tmp_path / "client.json"
    secrets.write_text(json.dumps({"installed": {"client_id": "x", "client_secret": "y"}}), encoding="utf-8")
    with pytest.raises(AuthError, match="browser login"):
        load_account(secrets, allow_login=False)


# -- error messages --------------------------------------------------------------------


def _client(kind: str = "service_account") -> CrmHTTPClient:
    return CrmHTTPClient(None, account_email=SA if kind == "service_account" else None, account_kind=kind)


URL = "https://sheets.googleapis.com/v4/spreadsheets/1AbCdEfGhIjKlMnOpQrStUvWx"


def test_error_conversion_messages() -> None:
    c = _client()
    err = convert_error(
        403,
        {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"},
        c,
        URL,
        "reading the spreadsheet",
    )
    assert isinstance(err, NotSharedError) and SA in str(err) and "Share" in str(err)
    err = convert_error(404, {"code": 404, "message": "Requested entity was not found."}, c, URL, "reading")
    assert isinstance(err, NotSharedError) and "not found" in str(err) and "URL/id" in str(err)
    disabled = {
        "code": 403,
        "status": "PERMISSION_DENIED",
        "message": "Google Sheets API has not been used in project 123456789012 before or it is disabled.",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "metadata": {"service": "sheets.googleapis.com", "consumer": "projects/123456789012"},
            }
        ],
    }
    err = convert_error(403, disabled, c, URL, "reading")
    assert isinstance(err, ApiDisabledError)
    assert "Google Sheets API" in str(err) and "123456789012" in str(err) and "console" in str(err)
    drive_off = {
        "code": 403,
        "message": "Access Not Configured. Drive API has not been used in project 42424242 before or it is disabled.",
        "errors": [{"reason": "accessNotConfigured", "domain": "usageLimits"}],
    }
    err = convert_error(403, drive_off, c, "https://www.googleapis.com/drive/v3/files", "creating")
    assert isinstance(err, ApiDisabledError) and "Drive API" in str(err) and "42424242" in str(err)
    quota = {
        "code": 403,
        "message": "The user's Drive storage quota has been exceeded.",
        "errors": [{"domain": "usageLimits", "reason": "storageQuotaExceeded"}],
    }
    err = convert_error(403, quota, c, "https://www.googleapis.com/drive/v3/files", "creating")
    assert isinstance(err, StorageQuotaError) and "--into" in str(err) and SA in str(err)
    err = convert_error(401, {"code": 401, "message": "Request had invalid authentication credentials."}, c, URL, "x")
    assert isinstance(err, AuthError)
    user = convert_error(
        403, {"code": 403, "message": "The caller does not have permission"}, _client("user"), URL, "x"
    )
    assert isinstance(user, NotSharedError) and "logged in with" in str(user)


def test_retry_policy_delays_grow_and_are_bounded() -> None:
    policy = RetryPolicy(tries=5, max_wait=60, base_delay=1, max_delay=8, jitter=1)
    delays = [policy.delay(n, lambda: 0.5) for n in range(1, 7)]
    assert delays == [1.5, 2.5, 4.5, 8.5, 8.5, 8.5]


def test_workbook_stats_start_at_zero() -> None:
    wb = GoogleWorkbook("1AbCdEfGhIjKlMnOpQrStUvWxYz", http=_client())
    assert wb.stats()["requests"] == 0 and wb.stats()["bytes_sent"] == 0
    assert wb.url.endswith("/edit") and wb.account_email == SA
    # Nothing to change: no request at all.
    wb.apply(ChangeSet(), Snapshot(tabs={}))
    assert wb.stats()["requests"] == 0


def test_keep_is_not_written() -> None:
    reqs = build_update_requests(ChangeSet(changes=[CellChange("Leads", 2, 8, value=KEEP, fill="57BB8A")]), _base())
    assert [next(iter(r)) for r in reqs] == ["repeatCell"]


def test_quota_and_google_errors_are_distinct() -> None:
    assert issubclass(QuotaError, GoogleError) and issubclass(NotSharedError, GoogleError)
