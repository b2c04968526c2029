"""Drive v3 as the transport sees it: method id -> endpoint (moto's ``urls.py``)."""

from __future__ import annotations

from collections.abc import Mapping

from ..core.transport import Handler
from . import files, permissions

__all__ = ["HANDLERS", "MASK_CHECK"]

HANDLERS: Mapping[str, Handler] = {
    "drive.files.create": files.files_create,
    "drive.files.list": files.files_list,
    "drive.files.get": files.files_get,
    "drive.files.update": files.files_update,
    "drive.files.delete": files.files_delete,
    "drive.files.copy": files.files_copy,
    "drive.permissions.create": permissions.permissions_create,
    "drive.permissions.list": permissions.permissions_list,
    "drive.permissions.get": permissions.permissions_get,
    "drive.permissions.delete": permissions.permissions_delete,
}

#: Drive answers a bad ``fields`` mask in its own error shape.
MASK_CHECK = files.fields_tree
