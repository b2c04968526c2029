"""The workbook protocol: read a snapshot, apply a change set. Nothing else.

Like an httpx transport, a backend is a small object the sync takes as an
argument; the sync never knows which one it has. Each implementation owns
its I/O, its error translation and its atomicity guarantee.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Collection

from ..model import ChangeSet, Snapshot

__all__ = ["Workbook", "open_workbook", "looks_like_google"]

_SHEET_URL = re.compile(r"docs\.google\.com/spreadsheets/d/([A-Za-z0-9_-]+)")
_SHEET_ID = re.compile(r"^[A-Za-z0-9_-]{30,}$")


class Workbook(ABC):
    """A CRM workbook. ``read`` then ``apply``; ``apply`` is all-or-nothing."""

    #: What to call it in messages (a path or a spreadsheet id).
    name: str = ""

    @abstractmethod
    def read(self, fills_for: Collection[str] = ()) -> Snapshot:
        """A consistent snapshot; background fills only for the tabs named."""

    @abstractmethod
    def apply(self, changes: ChangeSet, base: Snapshot) -> None:
        """Write every change or none. ``base`` is the snapshot it was planned on:
        raise :class:`~sheets_crm.errors.ConcurrentEditError` if the workbook
        moved since then in a way that would misplace the writes."""

    def stats(self) -> dict[str, int]:
        """Requests made, bytes sent... (backends that talk to a service)."""
        return {}


def looks_like_google(target: str) -> bool:
    return bool(_SHEET_URL.search(target) or (_SHEET_ID.match(target) and not Path(target).exists()))


def open_workbook(target: str, *, credentials: str | None = None) -> Workbook:
    """A local path → :class:`LocalWorkbook`; a Sheets URL or id → Google."""
    if looks_like_google(target):
        from .google import GoogleWorkbook

        return GoogleWorkbook.open(target, credentials=credentials)
    from .local import LocalWorkbook

    return LocalWorkbook(target)
