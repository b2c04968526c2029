"""Where a CRM lives, and the factory that picks a backend for a target.

The protocol is in :mod:`.protocol`; each backend is a subpackage that owns
detecting its targets, its I/O and its error translation. The factory sits
here, outside the protocol's module, so that no backend imports it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sheets_crm.backends.google.target import is_google_target

if TYPE_CHECKING:
    from sheets_crm.backends.protocol import Workbook

__all__ = ["is_google_target", "open_workbook"]


def open_workbook(
    target: str, *, credentials: str | None = None, locale: str | None = None, allow_login: bool = False
) -> Workbook:
    """A local path → :class:`LocalWorkbook`; a Sheets URL or id → Google.

    ``locale`` overrides the sheet's own for reading text dates; ``allow_login``
    lets a Google OAuth client file open a browser (only the CLI, in a
    terminal, says yes: an unattended sync must never wait for one).
    """
    if is_google_target(target):
        from sheets_crm.backends.google.workbook import GoogleWorkbook

        return GoogleWorkbook.open(target, credentials=credentials, allow_login=allow_login, locale=locale)
    from sheets_crm.backends.local.workbook import LocalWorkbook

    return LocalWorkbook(target, locale=locale)
