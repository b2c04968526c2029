"""The exceptions sheets-crm raises.

Everything the library raises on purpose derives from :class:`CrmError`, so a
caller (the CLI above all) can catch one class and print its message: the
message is written for the person running the tool, never a traceback.

    CrmError
    ├── TemplateError          the template file itself is malformed
    ├── SheetShapeError        a tab or key column is missing: nothing was written
    ├── WorkbookError          the workbook cannot be opened, read or saved
    │   ├── WorkbookLockedError   Excel/LibreOffice holds the file open
    │   └── ConcurrentEditError   the sheet changed between our read and write
    ├── GoogleError            the Google service refused or failed
    │   ├── AuthError             no or unusable credentials
    │   ├── NotSharedError        spreadsheet missing or not shared with us
    │   ├── ApiDisabledError      Sheets/Drive API not enabled for the project
    │   ├── StorageQuotaError     service account cannot create files
    │   └── QuotaError            429 after bounded retries
    └── ConfigError            the config file or an option is invalid
"""

from __future__ import annotations

__all__ = [
    "CrmError",
    "TemplateError",
    "SheetShapeError",
    "WorkbookError",
    "WorkbookLockedError",
    "ConcurrentEditError",
    "GoogleError",
    "AuthError",
    "NotSharedError",
    "ApiDisabledError",
    "StorageQuotaError",
    "QuotaError",
    "ConfigError",
]


class CrmError(Exception):
    """Base class: the message is meant for the user as it stands."""

    #: What was left behind: "untouched", "updated" or "" when not applicable.
    outcome: str = "untouched"


class TemplateError(CrmError):
    """The template file is malformed."""


class SheetShapeError(CrmError):
    """A required tab or key column is missing; the sync stopped before writing."""


class WorkbookError(CrmError):
    """The workbook could not be opened, read or saved."""


class WorkbookLockedError(WorkbookError):
    """Another program (Excel, LibreOffice) holds the workbook open."""


class ConcurrentEditError(WorkbookError):
    """The sheet changed between the sync's read and its write, repeatedly."""


class GoogleError(CrmError):
    """The Google service refused a request or kept failing."""


class AuthError(GoogleError):
    """No credentials were found, or they cannot be used."""


class NotSharedError(GoogleError):
    """The spreadsheet does not exist or is not shared with the account in use."""


class ApiDisabledError(GoogleError):
    """The Google Sheets or Drive API is not enabled in the Cloud project."""


class StorageQuotaError(GoogleError):
    """A service account tried to create a file; it owns no Drive storage."""


class QuotaError(GoogleError):
    """Google kept answering 429 (quota exceeded) after bounded retries."""


class ConfigError(CrmError):
    """The configuration file or a command-line option is invalid."""
