"""The stand-in's world: spreadsheets, Drive files, who may see them (moto's "backend").

Both HTTP handlers and the test-side helpers (seeding, "a person" editing) go
through this object, so there is one notion of ids, access and timestamps.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from typing import Any

from .core.clock import now_rfc3339
from .core.errors import GoogleError
from .drive.models import SPREADSHEET_MIME, DriveFile
from .sheets.models import DEFAULT_COLS, DEFAULT_ROWS, Sheet, Spreadsheet

__all__ = ["DEFAULT_COLS", "DEFAULT_ROWS", "State"]

_ID_ALPHABET = string.ascii_letters + string.digits + "-_"


class State:
    """Every spreadsheet and Drive file, and the identity the caller acts as."""

    def __init__(self, identity: str, account: str, seed: int | None = 0) -> None:
        self.identity = identity
        self.account = account
        self.rng = random.Random(seed)
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.files: dict[str, DriveFile] = {}
        self._permission_seq = 0
        #: When set, the time formulas see (TODAY(), NOW()); otherwise the real clock.
        self.frozen_now: dt.datetime | None = None

    def clock(self) -> dt.datetime:
        """Now, as an aware datetime: :attr:`frozen_now` or the real time."""
        moment = self.frozen_now or dt.datetime.now(dt.UTC)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)

    # -- ids -------------------------------------------------------------------
    def new_file_id(self) -> str:
        while True:
            fid = "1" + "".join(self.rng.choice(_ID_ALPHABET) for _ in range(43))
            if fid not in self.files:
                return fid

    def new_sheet_id(self, ss: Spreadsheet) -> int:
        taken = {s.sheet_id for s in ss.sheets}
        while True:
            sid = self.rng.randrange(1, 2**31 - 1)
            if sid not in taken:
                return sid

    def new_permission_id(self) -> str:
        self._permission_seq += 1
        return f"{self.rng.randrange(10**19, 10**20)}"

    def new_object_id(self) -> int:
        return self.rng.randrange(1, 2**31 - 1)

    # -- creation -----------------------------------------------------------------
    def create_spreadsheet(
        self,
        title: str,
        *,
        owner: str,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
        sheets: list[dict[str, Any]] | None = None,
        parents: list[str] | None = None,
        file_id: str | None = None,
        extra_readers: list[str] | None = None,
    ) -> Spreadsheet:
        """New spreadsheet + Drive file, owned by ``owner``; one ``Sheet1`` by default."""
        sid = file_id or self.new_file_id()
        ss = Spreadsheet(sid, Spreadsheet.default_properties(title, locale, time_zone), clock=self.clock)
        for i, props in enumerate(sheets or [{}]):
            props = dict(props)
            grid = {"rowCount": DEFAULT_ROWS, "columnCount": DEFAULT_COLS, **(props.pop("gridProperties", None) or {})}
            full = {
                "sheetId": props.pop("sheetId", 0 if i == 0 else None),
                "title": props.pop("title", f"Sheet{i + 1}"),
                "index": i,
                "sheetType": props.pop("sheetType", "GRID"),
                "gridProperties": grid,
                **{k: v for k, v in props.items() if k != "index"},
            }
            if full["sheetId"] is None:
                full["sheetId"] = self.new_sheet_id(ss)
            ss.sheets.append(Sheet(full))
        f = DriveFile(sid, title, SPREADSHEET_MIME, owner, parents=list(parents or []))
        f.permissions.append(self.permission("user", "owner", owner))
        for email in extra_readers or []:
            if email.lower() != owner.lower():
                f.permissions.append(self.permission("user", "writer", email))
        self.spreadsheets[sid] = ss
        self.files[sid] = f
        return ss

    def permission(self, ptype: str, role: str, email: str | None) -> dict[str, Any]:
        perm: dict[str, Any] = {"kind": "drive#permission", "id": self.new_permission_id(), "type": ptype, "role": role}
        if email:
            perm["emailAddress"] = email
        return perm

    def share(self, file_id: str, email: str | None, role: str = "writer", ptype: str = "user") -> dict[str, Any]:
        f = self.files[file_id]
        for p in f.permissions:
            if email and (p.get("emailAddress") or "").lower() == email.lower():
                if p["role"] != "owner":
                    p["role"] = role
                return p
        perm = self.permission(ptype, role, email)
        f.permissions.append(perm)
        return perm

    def unshare(self, file_id: str, email: str) -> None:
        f = self.files[file_id]
        f.permissions = [p for p in f.permissions if (p.get("emailAddress") or "").lower() != email.lower()]

    # -- access ---------------------------------------------------------------------
    def file_for(self, file_id: str, *, write: bool = False) -> DriveFile:
        """Drive view of a file, with Drive's 404 for anything the caller cannot see."""
        f = self.files.get(file_id)
        if f is None or f.trashed or not f.can_read(self.identity):
            raise GoogleError.drive_not_found(file_id)
        if write and not f.can_write(self.identity):
            raise GoogleError.drive(
                403, "The user does not have sufficient permissions for this file.", "insufficientFilePermissions"
            )
        return f

    def spreadsheet_for(self, spreadsheet_id: str, *, write: bool = False) -> Spreadsheet:
        """Sheets view: 404 when unknown, 403 when it exists but is not shared with us."""
        ss = self.spreadsheets.get(spreadsheet_id)
        f = self.files.get(spreadsheet_id)
        if ss is None or f is None or f.trashed:
            raise GoogleError.not_found()
        if not f.can_read(self.identity) or (write and not f.can_write(self.identity)):
            raise GoogleError.permission_denied()
        return ss

    def touch(self, file_id: str) -> None:
        f = self.files.get(file_id)
        if f is not None:
            f.modified_time = now_rfc3339()
            f.version += 1

    def rename(self, file_id: str, name: str) -> None:
        f = self.files.get(file_id)
        if f is not None:
            f.name = name
        ss = self.spreadsheets.get(file_id)
        if ss is not None:
            ss.properties["title"] = name
