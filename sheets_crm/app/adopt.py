"""``sheets-crm init`` on a local path: create a new CRM, or adopt the workbook that is there.

* No file yet: lay out a new workbook from the template.
* A workbook exists: add only what it lacks (:func:`~sheets_crm.backends.local.adopt.adopt_workbook`);
  the person's tabs, columns, rows and formats stay as they are.
* ``force``: start over with a fresh layout, after keeping a copy of the old file beside it
  (``crm.xlsx.bak-YYYYmmdd-HHMMSS``).

Also the one place that spells the command fixing a missing tab (:func:`init_command`), so that
sync, doctor and init messages name it exactly.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from pathlib import Path

from sheets_crm.backends.google.target import is_google_target, spreadsheet_id
from sheets_crm.core.layout import Adoption
from sheets_crm.core.template import Template
from sheets_crm.errors import CrmError, WorkbookError

__all__ = ["InitResult", "init_local", "init_command", "fixing_command", "with_init_command", "INIT_PLACEHOLDER"]

log = logging.getLogger(__name__)

#: How the core, which does not know the target, writes the fixing command; the app fills it in.
INIT_PLACEHOLDER = "run: sheets-crm init —"


@dataclass
class InitResult:
    """What ``init`` did to a local path."""

    path: Path
    created: bool  #: a new workbook was laid out (no file before, or --force)
    adoption: Adoption | None = None  #: what was added to an existing workbook
    backup: Path | None = None  #: the copy kept before --force laid out a fresh workbook


def init_local(path: str | Path, template: Template, lang: str, *, force: bool = False) -> InitResult:
    """Create ``path``, or adopt the workbook there (``force``: a fresh one, keeping a copy first)."""
    from sheets_crm.backends.local.adopt import adopt_workbook, backup_copy
    from sheets_crm.backends.local.workbook import create_workbook
    from sheets_crm.core.layout import build_layout

    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise WorkbookError(f"{path}: the local backend writes .xlsx files; name it e.g. crm.xlsx")
    if not path.exists():
        return InitResult(create_workbook(path, build_layout(template, lang)), created=True)
    if not force:
        adoption = adopt_workbook(path, template, lang)
        log.info("adopted %s: added tabs %s, columns %s", path, adoption.added_tabs, adoption.added_columns)
        return InitResult(path, created=False, adoption=adoption)
    from sheets_crm.backends.local.files import check_unlocked, real_path

    check_unlocked(real_path(path), shown=path)  # not while Excel holds it: a copy of an unsaved file misleads
    backup = backup_copy(path)
    log.info("kept a copy of %s at %s before laying out a fresh workbook", path, backup)
    try:
        create_workbook(path, build_layout(template, lang), overwrite=True)
    except CrmError as exc:
        raise type(exc)(f"{exc.message} (the old file is unchanged; a copy is at {backup})") from None
    return InitResult(path, created=True, backup=backup)


def init_command(target: str) -> str:
    """The exact command that adds a workbook's missing tabs and tool columns."""
    if is_google_target(target):
        return f"sheets-crm init --google --into {spreadsheet_id(target)}"
    return f"sheets-crm init {shlex.quote(str(target))}"


def with_init_command(message: str, target: str) -> str:
    """A core message naming ``sheets-crm init`` with the target filled in."""
    if INIT_PLACEHOLDER not in message:
        return message
    return message.replace(INIT_PLACEHOLDER, f"run: {fixing_command(target)} —")


def fixing_command(target: str) -> str:
    """:func:`init_command` for ``target``, or its pattern when the target is not known."""
    return init_command(target) if target else "sheets-crm init <workbook>"
