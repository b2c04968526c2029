"""Sheets v4 as the transport sees it: method id -> endpoint (moto's ``urls.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..core.transport import Handler
from . import batch_update, spreadsheets, values

__all__ = ["BODY_ROOTS", "HANDLERS", "MASK_CHECK"]

HANDLERS: Mapping[str, Handler] = {
    "sheets.spreadsheets.create": spreadsheets.spreadsheets_create,
    "sheets.spreadsheets.get": spreadsheets.spreadsheets_get,
    "sheets.spreadsheets.batchUpdate": batch_update.spreadsheets_batch_update,
    "sheets.spreadsheets.values.get": values.values_get,
    "sheets.spreadsheets.values.batchGet": values.values_batch_get,
    "sheets.spreadsheets.values.update": values.values_update,
    "sheets.spreadsheets.values.batchUpdate": values.values_batch_update,
    "sheets.spreadsheets.values.append": values.values_append,
    "sheets.spreadsheets.values.clear": values.values_clear,
    "sheets.spreadsheets.values.batchClear": values.values_batch_clear,
}

#: Name of the request-body field in Google's error paths ("data.values").
BODY_ROOTS: Mapping[str, str] = {
    "sheets.spreadsheets.values.update": "data",
    "sheets.spreadsheets.values.append": "data",
    "sheets.spreadsheets.create": "spreadsheet",
}

MASK_CHECK = spreadsheets.parse_fields
