"""The workbook protocol: read a snapshot, apply a change set. Nothing else.

Like an httpx transport, a backend is a small object the sync takes as an
argument; the sync never knows which one it has. Each implementation owns
its I/O, its error translation and its atomicity guarantee.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection

from sheets_crm.core.model import ChangeSet, Snapshot

__all__ = ["Workbook"]


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
