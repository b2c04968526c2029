"""The stand-in repeats a formula like Google: relative references increment cell by cell.

Google's reference for ``RepeatCellRequest``: "If writing a cell with a formula, the formula's
ranges will automatically increment for each field in the range. For example, if writing a cell
with formula =A1 into range B2:C4, B2 would be =A1, B3 would be =A2, B4 would be =A3, C2 would be
=B1, C3 would be =B2, C4 would be =B3. To keep the formula's ranges static, use the $ indicator."
``copyPaste`` moves a pasted formula's relative references like a paste in the editor (not stated
in the API reference: the editor's documented behaviour, unverified through the API).
"""

from __future__ import annotations

from typing import Any

import pytest

from google_standin import FakeGoogle
from google_standin.sheets.formula import shift_formula


def _batch(fake: FakeGoogle, sid: str, *requests_: dict[str, Any]) -> None:
    fake.client().open_by_key(sid).batch_update({"requests": list(requests_)})


def _formulas(fake: FakeGoogle, sid: str, tab: str, cells: list[str]) -> list[str | None]:
    return [(fake.cell(sid, tab, a1).get("userEnteredValue") or {}).get("formulaValue") for a1 in cells]


def _box(r0: int, r1: int, c0: int, c1: int) -> dict[str, int]:
    return {"sheetId": 0, "startRowIndex": r0, "endRowIndex": r1, "startColumnIndex": c0, "endColumnIndex": c1}


def test_repeat_cell_increments_relative_references_as_google_documents() -> None:
    fake = FakeGoogle(account="user")
    sid = fake.add_spreadsheet("CRM", {"Sheet1": [[1], [2], [3]]})
    _batch(
        fake,
        sid,
        {
            "repeatCell": {
                "range": _box(1, 4, 1, 3),  # B2:C4
                "cell": {"userEnteredValue": {"formulaValue": "=A1"}},
                "fields": "userEnteredValue",
            }
        },
    )
    got = _formulas(fake, sid, "Sheet1", ["B2", "B3", "B4", "C2", "C3", "C4"])
    assert got == ["=A1", "=A2", "=A3", "=B1", "=B2", "=B3"]
    # And they compute from their own rows: B2 = A1 = 1, B3 = A2 = 2, B4 = A3 = 3.
    assert [row[1] for row in fake.values(sid, "Sheet1")[1:4]] == [1, 2, 3]


def test_repeat_cell_keeps_fixed_parts_and_text_literals() -> None:
    fake = FakeGoogle(account="user")
    sid = fake.add_spreadsheet("CRM", {"Sheet1": [["x"]]})
    formula = '=IF(I2="","I2",TODAY()-I2+$A$1+$B2+C$3)'
    _batch(
        fake,
        sid,
        {
            "repeatCell": {
                "range": _box(1, 3, 12, 13),  # M2:M3
                "cell": {"userEnteredValue": {"formulaValue": formula}},
                "fields": "userEnteredValue",
            }
        },
    )
    assert _formulas(fake, sid, "Sheet1", ["M2", "M3"]) == [formula, '=IF(I3="","I2",TODAY()-I3+$A$1+$B3+C$3)']


def test_copy_paste_moves_relative_references() -> None:
    fake = FakeGoogle(account="user")
    sid = fake.add_spreadsheet("CRM", {"Sheet1": [[5], [6], [7]]})
    _batch(
        fake,
        sid,
        {
            "updateCells": {
                "start": {"sheetId": 0, "rowIndex": 0, "columnIndex": 1},
                "rows": [{"values": [{"userEnteredValue": {"formulaValue": "=A1*2"}}]}],
                "fields": "userEnteredValue",
            }
        },
        {"copyPaste": {"source": _box(0, 1, 1, 2), "destination": _box(1, 3, 1, 2), "pasteType": "PASTE_NORMAL"}},
    )
    assert _formulas(fake, sid, "Sheet1", ["B1", "B2", "B3"]) == ["=A1*2", "=A2*2", "=A3*2"]
    assert [row[1] for row in fake.values(sid, "Sheet1")] == [10, 12, 14]


@pytest.mark.parametrize(
    ("formula", "rows", "cols", "expected"),
    [
        ("=A1", 0, 0, "=A1"),
        ("=A1+'Contact Plan'!B2", 2, 1, "=B3+'Contact Plan'!C4"),
        ("=SUM(A1:B2)", 1, 0, "=SUM(A2:B3)"),
        ('="A1"&A1', 1, 0, '="A1"&A2'),
        ("=A1", -1, 0, "=#REF!"),
        ("not a formula", 3, 3, "not a formula"),
    ],
)
def test_shift_formula(formula: str, rows: int, cols: int, expected: str) -> None:
    assert shift_formula(formula, rows, cols) == expected
