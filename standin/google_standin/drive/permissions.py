"""Drive v3 ``permissions.*``: who a file is shared with (create, list, get, delete)."""

from __future__ import annotations

from typing import Any

from ..core import fieldmask
from ..core.errors import GoogleError
from ..core.transport import Call
from .files import fields_tree

__all__ = ["permissions_create", "permissions_delete", "permissions_get", "permissions_list"]


def _permission_json(call: Call, perm: dict[str, Any], ref: str = "Permission") -> dict[str, Any]:
    tree = fields_tree(call, ref)
    if tree is None:
        return {k: perm[k] for k in ("kind", "id", "type", "role") if k in perm}
    filtered: dict[str, Any] = fieldmask.filter_response(perm, tree)
    return filtered


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
