"""sheets-crm: a CRM in a spreadsheet (Google Sheets or a local .xlsx workbook).

The public API::

    from sheets_crm import LocalWorkbook, sync
    result = sync(LocalWorkbook("crm.xlsx"))
    for call in result.calls: ...

``compute`` is the pure core (snapshot + today in, changes + calls out);
``sync`` wraps it with one read and one atomic write.

The names are loaded on first use (PEP 562 ``__getattr__``): importing the
package, or running ``sheets-crm --help``, must not pay for pandas and
openpyxl. The library logs through the ``sheets_crm`` logger (a NullHandler
here; the application decides where records go) and never prints.
"""

from __future__ import annotations

import logging
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers and IDEs
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

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: The distribution's name on PyPI / in uv.lock (the import name differs).
DIST_NAME = "sheets-crm"

#: public name -> the module that defines it
_WHERE: dict[str, str] = {
    **dict.fromkeys(("Outcome", "SyncResult", "compute", "run_sync", "sync"), "sheets_crm.app.sync"),
    "open_workbook": "sheets_crm.backends",
    **dict.fromkeys(("LocalWorkbook", "create_workbook"), "sheets_crm.backends.local.workbook"),
    "Workbook": "sheets_crm.backends.protocol",
    "build_layout": "sheets_crm.core.layout",
    **dict.fromkeys(
        ("Call", "CellChange", "ChangeSet", "Issue", "Snapshot", "TabData"),
        "sheets_crm.core.model",
    ),
    **dict.fromkeys(("Template", "default_template", "load_template"), "sheets_crm.core.template"),
    **dict.fromkeys(
        (
            "ApiDisabledError",
            "AuthError",
            "ConcurrentEditError",
            "ConfigError",
            "CrmError",
            "GoogleError",
            "NotSharedError",
            "QuotaError",
            "SheetShapeError",
            "StorageQuotaError",
            "TemplateError",
            "WorkbookError",
            "WorkbookLockedError",
        ),
        "sheets_crm.errors",
    ),
}

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
    "__version__",
    "build_layout",
    "compute",
    "create_workbook",
    "default_template",
    "load_template",
    "open_workbook",
    "run_sync",
    "sync",
]


def _version() -> str:
    """The installed distribution's version; a marked fallback when run from a bare source tree."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DIST_NAME)
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # once loaded, later look-ups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
