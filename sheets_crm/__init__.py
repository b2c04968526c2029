"""sheets-crm: a CRM in a spreadsheet (Google Sheets or a local .xlsx workbook).

The public API::

    from sheets_crm import LocalWorkbook, sync
    result = sync(LocalWorkbook("crm.xlsx"))
    for call in result.calls: ...

``compute`` is the pure core (snapshot + today in, changes + calls out);
``sync`` wraps it with one read and one atomic write.
"""

from sheets_crm.app.sync import Outcome, SyncResult, compute, run_sync, sync
from sheets_crm.backends import open_workbook
from sheets_crm.backends.local.workbook import LocalWorkbook, create_workbook
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.layout import build_layout
from sheets_crm.core.model import Call, CellChange, ChangeSet, Issue, Snapshot, TabData
from sheets_crm.core.template import Template, default_template, load_template
from sheets_crm.errors import (
    ApiDisabledError,
    AuthError,
    ConcurrentEditError,
    ConfigError,
    CrmError,
    GoogleError,
    NotSharedError,
    QuotaError,
    SheetShapeError,
    StorageQuotaError,
    TemplateError,
    WorkbookError,
    WorkbookLockedError,
)

__version__ = "0.1.0"

__all__ = [
    "ApiDisabledError",
    "AuthError",
    "Call",
    "CellChange",
    "ChangeSet",
    "ConcurrentEditError",
    "ConfigError",
    "CrmError",
    "GoogleError",
    "Issue",
    "LocalWorkbook",
    "NotSharedError",
    "Outcome",
    "QuotaError",
    "SheetShapeError",
    "Snapshot",
    "StorageQuotaError",
    "SyncResult",
    "TabData",
    "Template",
    "TemplateError",
    "Workbook",
    "WorkbookError",
    "WorkbookLockedError",
    "build_layout",
    "compute",
    "create_workbook",
    "default_template",
    "load_template",
    "open_workbook",
    "run_sync",
    "sync",
]
