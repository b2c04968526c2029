"""Drive's in-memory model: a file, its owner and permissions.

A spreadsheet is also a Drive file (same id); Drive decides who may see it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.clock import now_rfc3339

__all__ = ["FOLDER_MIME", "SPREADSHEET_MIME", "DriveFile"]

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"


@dataclass
class DriveFile:
    """A Drive file; spreadsheets share their id with a :class:`Spreadsheet`."""

    id: str
    name: str
    mime_type: str
    owner: str
    parents: list[str] = field(default_factory=list)
    permissions: list[dict[str, Any]] = field(default_factory=list)
    created_time: str = field(default_factory=now_rfc3339)
    modified_time: str = field(default_factory=now_rfc3339)
    #: Drive's ``version``: "a monotonically increasing version number ... every change made to the file".
    version: int = 1
    trashed: bool = False

    def can_read(self, email: str) -> bool:
        return any(
            p.get("type") == "anyone" or (p.get("emailAddress") or "").lower() == email.lower()
            for p in self.permissions
        )

    def role_of(self, email: str) -> str | None:
        for p in self.permissions:
            if (p.get("emailAddress") or "").lower() == email.lower():
                return str(p.get("role"))
        for p in self.permissions:
            if p.get("type") == "anyone":
                return str(p.get("role"))
        return None

    def can_write(self, email: str) -> bool:
        return self.role_of(email) in {"owner", "organizer", "fileOrganizer", "writer"}

    def resource(self) -> dict[str, Any]:
        """The full Drive ``File`` resource (responses are cut down with ``fields``)."""
        return {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents) or ["root"],
            "createdTime": self.created_time,
            "modifiedTime": self.modified_time,
            "version": str(self.version),  # int64: a JSON string, as Google sends it
            "trashed": self.trashed,
            "owners": [{"kind": "drive#user", "emailAddress": self.owner, "me": False}],
            "permissions": [dict(p) for p in self.permissions],
            "webViewLink": (
                f"https://docs.google.com/spreadsheets/d/{self.id}/edit?usp=drivesdk"
                if self.mime_type == SPREADSHEET_MIME
                else f"https://drive.google.com/drive/folders/{self.id}"
            ),
        }
