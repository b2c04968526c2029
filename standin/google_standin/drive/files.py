"""Drive v3 ``files.*``: create, copy, get, update, delete, list.

Drive answers errors in its older shape (an ``errors`` list, no ``status``)
and, unlike Sheets, silently ignores unknown query parameters — both kept here
because gspread sends Drive a parameter (``includeItemsFromAllDrives`` on
``files.get``) that Drive does not document.
"""

from __future__ import annotations

import operator
from typing import Any

from ..core import fieldmask
from ..core.discovery import unknown_mask_path
from ..core.errors import GoogleError
from ..core.transport import Call
from .models import FOLDER_MIME, SPREADSHEET_MIME, DriveFile
from .query import matcher

__all__ = ["fields_tree", "files_copy", "files_create", "files_delete", "files_get", "files_list", "files_update"]

_DEFAULT_FILE_FIELDS = ("kind", "id", "name", "mimeType")


def fields_tree(call: Call, ref: str) -> fieldmask.Tree | None:
    text = call.query.get("fields")
    if not text:
        return None
    tree: fieldmask.Tree | None = None
    try:
        tree = fieldmask.parse(text)
    except fieldmask.MaskSyntaxError:
        bad: str | None = text
    else:
        bad = unknown_mask_path(call.method.api, ref, tree)
    if bad:
        raise GoogleError.drive(
            400, f"Invalid field selection {bad}", "invalidParameter", location="fields", locationType="parameter"
        )
    return tree


def _file_json(call: Call, f: DriveFile, tree: fieldmask.Tree | None) -> dict[str, Any]:
    full = f.resource()
    if tree is None:
        return {k: full[k] for k in _DEFAULT_FILE_FIELDS}
    filtered: dict[str, Any] = fieldmask.filter_response(full, tree)
    return filtered


def _check_parents(call: Call, parents: list[str]) -> None:
    for pid in parents:
        if pid == "root":
            continue
        parent = call.state.files.get(pid)
        if parent is None or not parent.can_read(call.state.identity):
            raise GoogleError.drive_not_found(pid)
        if not parent.can_write(call.state.identity):
            raise GoogleError.drive(
                403, "The user does not have sufficient permissions for this file.", "insufficientFilePermissions"
            )


def files_create(call: Call) -> tuple[int, Any]:
    state = call.state
    tree = fields_tree(call, "File")
    body = call.body or {}
    mime = body.get("mimeType", "application/octet-stream")
    parents = list(body.get("parents") or [])
    _check_parents(call, parents)
    if state.account == "service" and mime != FOLDER_MIME:
        raise GoogleError.storage_quota_exceeded()
    name = body.get("name", "Untitled")
    if mime == SPREADSHEET_MIME:
        ss = state.create_spreadsheet(name, owner=state.identity, parents=parents)
        f = state.files[ss.id]
    else:
        f = DriveFile(state.new_file_id(), name, mime, state.identity, parents=parents)
        f.permissions.append(state.permission("user", "owner", state.identity))
        state.files[f.id] = f
    return 200, _file_json(call, f, tree)


def files_copy(call: Call) -> tuple[int, Any]:
    state = call.state
    src = state.file_for(call.path["fileId"])
    tree = fields_tree(call, "File")
    body = call.body or {}
    parents = list(body.get("parents") or src.parents)
    _check_parents(call, parents)
    if state.account == "service":
        raise GoogleError.storage_quota_exceeded()
    name = body.get("name") or f"Copy of {src.name}"
    if src.mime_type == SPREADSHEET_MIME:
        original = state.spreadsheets[src.id]
        ss = state.create_spreadsheet(name, owner=state.identity, parents=parents)
        clone = original.clone()
        clone.id = ss.id
        clone.properties["title"] = name
        state.spreadsheets[ss.id] = clone
        f = state.files[ss.id]
    else:
        f = DriveFile(state.new_file_id(), name, src.mime_type, state.identity, parents=parents)
        f.permissions.append(state.permission("user", "owner", state.identity))
        state.files[f.id] = f
    return 200, _file_json(call, f, tree)


def files_get(call: Call) -> tuple[int, Any]:
    f = call.state.file_for(call.path["fileId"])
    return 200, _file_json(call, f, fields_tree(call, "File"))


def files_update(call: Call) -> tuple[int, Any]:
    state = call.state
    f = state.file_for(call.path["fileId"], write=True)
    tree = fields_tree(call, "File")
    body = call.body or {}
    if "name" in body:
        state.rename(f.id, body["name"])
    if "trashed" in body:
        f.trashed = bool(body["trashed"])
    add = [p for p in str(call.query.get("addParents") or "").split(",") if p]
    remove = [p for p in str(call.query.get("removeParents") or "").split(",") if p]
    _check_parents(call, add)
    f.parents = [p for p in f.parents if p not in remove] + [p for p in add if p not in f.parents]
    state.touch(f.id)
    return 200, _file_json(call, f, tree)


def files_delete(call: Call) -> tuple[int, Any]:
    state = call.state
    f = state.file_for(call.path["fileId"])
    if f.role_of(state.identity) != "owner":
        raise GoogleError.drive(
            403, "The user does not have sufficient permissions for this file.", "insufficientFilePermissions"
        )
    del state.files[f.id]
    state.spreadsheets.pop(f.id, None)
    return 204, None


def files_list(call: Call) -> tuple[int, Any]:
    state = call.state
    tree = fields_tree(call, "FileList")
    match = matcher(call.query.get("q") or "")
    files = [f for f in state.files.values() if f.can_read(state.identity) and match(f)]
    order = str(call.query.get("orderBy") or "modifiedTime desc")
    for key in reversed([k.strip() for k in order.split(",") if k.strip()]):
        name, _, direction = key.partition(" ")
        attr = {"name": "name", "createdtime": "created_time", "modifiedtime": "modified_time"}.get(
            name.lower(), "modified_time"
        )
        files.sort(key=operator.attrgetter(attr), reverse=direction.lower() == "desc")
    size = max(1, min(int(call.query.get("pageSize") or 100), 1000))
    start = int(call.query.get("pageToken") or 0)
    page = files[start : start + size]
    full: dict[str, Any] = {"kind": "drive#fileList"}
    if start + size < len(files):
        full["nextPageToken"] = str(start + size)
    full["incompleteSearch"] = False
    if tree is None:
        full["files"] = [{k: f.resource()[k] for k in _DEFAULT_FILE_FIELDS} for f in page]
        return 200, full
    full["files"] = [f.resource() for f in page]
    return 200, fieldmask.filter_response(full, tree)
