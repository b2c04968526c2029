"""The cheapest "has this spreadsheet changed?" Google answers: one Drive ``files.get`` of two fields.

``GET drive/v3/files/{id}?fields=modifiedTime,version`` is one small read (well under
1 KB with the headers), counted against Drive's quota, not the Sheets one a sync needs.
Drive documents ``version`` as "a monotonically increasing version number for the file.
This reflects every change made to the file on the server, even those not visible to the
user" (an int64, sent as a JSON string); ``modifiedTime`` has millisecond resolution, so
two edits in one millisecond could share it: the version is what is compared, the time is
only shown in logs. The tool's own writes move the version too; the watch remembers the
version read *after* its sync, so it does not sync again on its own write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sheets_crm.backends.google.http import DRIVE_API
from sheets_crm.backends.protocol import ChangeToken
from sheets_crm.errors import GoogleError

if TYPE_CHECKING:
    from sheets_crm.backends.google.http import CrmHTTPClient

__all__ = ["CHANGE_FIELDS", "drive_change_token", "workbook_change_token"]

#: The field mask of the poll: exactly the two fields the decision needs.
CHANGE_FIELDS = "modifiedTime,version"


def drive_change_token(http: CrmHTTPClient, file_id: str) -> ChangeToken:
    """The spreadsheet's Drive version (compared) and modified time (shown), in one request."""
    response = http.request(
        "get",
        f"{DRIVE_API}/{file_id}",
        # supportsAllDrives: a spreadsheet in a shared drive answers 404 without it.
        params={"fields": CHANGE_FIELDS, "supportsAllDrives": "true"},
        what="asking Google Drive whether the spreadsheet changed",
    )
    try:
        body = response.json()
        version = str(body["version"])
    except (ValueError, KeyError, TypeError):
        raise GoogleError(
            f"Google Drive's answer about {file_id} has no version; cannot tell whether it changed"
        ) from None
    return ChangeToken(value=version, shown=f"version {version}, modified {body.get('modifiedTime', '?')}")


class _DriveFile(Protocol):
    """What a Google workbook offers the poll (not the class itself: workbook.py imports this module)."""

    http: CrmHTTPClient
    id: str


def workbook_change_token(workbook: _DriveFile) -> ChangeToken:
    """:meth:`GoogleWorkbook.change_token <sheets_crm.backends.protocol.Workbook.change_token>`: the Drive poll."""
    return drive_change_token(workbook.http, workbook.id)
