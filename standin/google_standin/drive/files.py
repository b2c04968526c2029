"""Drive v3 endpoints gspread and the project use: files and permissions.

Drive answers errors in its older shape (an ``errors`` list, no ``status``)
and, unlike Sheets, silently ignores unknown query parameters — both kept here
because gspread sends Drive a parameter (``includeItemsFromAllDrives`` on
``files.get``) that Drive does not document.
"""

from __future__ import annotations

import re
from typing import Any

from . import fieldmask
from .discovery import unknown_mask_path
from .errors import GoogleError
from .model import FOLDER_MIME, SPREADSHEET_MIME, DriveFile
from .sheets_api import Call

_DEFAULT_FILE_FIELDS = ("kind", "id", "name", "mimeType")


def fields_tree(call: Call, ref: str) -> fieldmask.Tree | None:
    text = call.query.get("fields")
    if not text:
        return None
    try:
        tree = fieldmask.parse(text)
    except fieldmask.MaskSyntaxError:
        tree = None
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
    return fieldmask.filter_response(full, tree)


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
        f.permissions.append(state._permission("user", "owner", state.identity))
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
        f.permissions.append(state._permission("user", "owner", state.identity))
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


# -- files.list with a small ``q`` language ---------------------------------------------------------------

_CLAUSE = re.compile(
    r"""^\s*(?:
        (?P<field>mimeType|name|fullText|trashed|starred)\s*(?P<op>=|!=|contains)\s*(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|true|false)
      | (?P<lit>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\s+in\s+(?P<coll>parents|owners|writers|readers)
      | parents\s+in\s+(?P<parent>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def _unquote(text: str) -> str:
    if text[:1] in {"'", '"'}:
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _split_and(q: str) -> list[str]:
    parts, buf, quote = [], "", ""
    i = 0
    while i < len(q):
        ch = q[i]
        if quote:
            buf += ch
            if ch == "\\" and i + 1 < len(q):
                buf += q[i + 1]
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in {"'", '"'}:
            quote = ch
            buf += ch
        elif q[i : i + 5].lower() == " and ":
            parts.append(buf)
            buf = ""
            i += 5
            continue
        else:
            buf += ch
        i += 1
    parts.append(buf)
    return [p for p in parts if p.strip()]


def _matcher(q: str):
    tests = []
    for clause in _split_and(q):
        m = _CLAUSE.match(clause)
        if not m:
            raise GoogleError.drive(400, "Invalid Value", "invalid", location="q", locationType="parameter")
        tests.append(m)

    def match(f: DriveFile) -> bool:
        for m in tests:
            if m.group("field"):
                field, op, value = m.group("field").lower(), m.group("op").lower(), _unquote(m.group("value"))
                actual: Any = {
                    "mimetype": f.mime_type,
                    "name": f.name,
                    "fulltext": f.name,
                    "trashed": str(f.trashed).lower(),
                    "starred": "false",
                }[field]
                if op == "=" and actual != value:
                    return False
                if op == "!=" and actual == value:
                    return False
                if op == "contains" and value.lower() not in str(actual).lower():
                    return False
            elif m.group("coll"):
                lit, coll = _unquote(m.group("lit")), m.group("coll").lower()
                if coll == "parents" and lit not in (f.parents or ["root"]):
                    return False
                if coll == "owners" and lit.lower() != f.owner.lower():
                    return False
                if coll in {"writers", "readers"}:
                    roles = {"owner", "writer"} if coll == "writers" else {"owner", "writer", "commenter", "reader"}
                    if f.role_of(lit) not in roles:
                        return False
            elif m.group("parent"):
                if _unquote(m.group("parent")) not in (f.parents or ["root"]):
                    return False
        return True

    return match


def files_list(call: Call) -> tuple[int, Any]:
    state = call.state
    tree = fields_tree(call, "FileList")
    match = _matcher(call.query.get("q") or "")
    files = [f for f in state.files.values() if f.can_read(state.identity) and match(f)]
    order = str(call.query.get("orderBy") or "modifiedTime desc")
    for key in reversed([k.strip() for k in order.split(",") if k.strip()]):
        name, _, direction = key.partition(" ")
        attr = {"name": "name", "createdtime": "created_time", "modifiedtime": "modified_time"}.get(
            name.lower(), "modified_time"
        )
        files.sort(key=lambda f, a=attr: getattr(f, a), reverse=direction.lower() == "desc")
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


# -- permissions ----------------------------------------------------------------------------------------------


def _permission_json(call: Call, perm: dict[str, Any], ref: str = "Permission") -> dict[str, Any]:
    tree = fields_tree(call, ref)
    if tree is None:
        return {k: perm[k] for k in ("kind", "id", "type", "role") if k in perm}
    return fieldmask.filter_response(perm, tree)


def permissions_create(call: Call) -> tuple[int, Any]:
    state = call.state
    f = state.file_for(call.path["fileId"], write=True)
    body = call.body or {}
    ptype, role = body.get("type"), body.get("role")
    if not ptype:
        raise GoogleError.drive(
            400, "The permission type field is required.", "required", location="permission.type", locationType="other"
        )
    if not role:
        raise GoogleError.drive(
            400, "The permission role field is required.", "required", location="permission.role", locationType="other"
        )
    email = body.get("emailAddress")
    if ptype in {"user", "group"} and not email:
        raise GoogleError.drive(
            400,
            "The permission emailAddress field is required.",
            "required",
            location="permission.emailAddress",
            locationType="other",
        )
    perm = state.share(f.id, email, role, ptype)
    if ptype == "domain" and body.get("domain"):
        perm["domain"] = body["domain"]
    return 200, _permission_json(call, perm)


def permissions_list(call: Call) -> tuple[int, Any]:
    f = call.state.file_for(call.path["fileId"])
    tree = fields_tree(call, "PermissionList")
    full = {"kind": "drive#permissionList", "permissions": [dict(p) for p in f.permissions]}
    return 200, fieldmask.filter_response(full, tree) if tree is not None else full


def permissions_get(call: Call) -> tuple[int, Any]:
    f = call.state.file_for(call.path["fileId"])
    for p in f.permissions:
        if p["id"] == call.path["permissionId"]:
            return 200, _permission_json(call, p)
    raise GoogleError.drive(
        404,
        f"Permission not found: {call.path['permissionId']}.",
        "notFound",
        location="permissionId",
        locationType="parameter",
    )


def permissions_delete(call: Call) -> tuple[int, Any]:
    state = call.state
    f = state.file_for(call.path["fileId"], write=True)
    pid = call.path["permissionId"]
    before = len(f.permissions)
    f.permissions = [p for p in f.permissions if p["id"] != pid or p["role"] == "owner"]
    if len(f.permissions) == before:
        raise GoogleError.drive(
            404, f"Permission not found: {pid}.", "notFound", location="permissionId", locationType="parameter"
        )
    return 204, None
