"""Routing and request validation from Google's own discovery documents.

The Sheets v4 and Drive v3 discovery documents shipped with
google-api-python-client describe every URL, query parameter and request
schema. Using them (rather than a hand-written list) means the fake rejects
exactly the typos real Google rejects — an unknown field, a misspelt enum — with
Google's wording, so a bug cannot hide behind a permissive stand-in.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import unquote

from . import fieldmask
from .errors import GoogleError

READ_METHODS_BY_POST = {
    "sheets.spreadsheets.getByDataFilter",
    "sheets.spreadsheets.values.batchGetByDataFilter",
    "sheets.spreadsheets.developerMetadata.search",
}

# Proto type names Google prints for query-parameter enums.
_QUERY_ENUM_TYPES = {
    "majorDimension": "Dimension",
    "valueRenderOption": "ValueRenderOption",
    "responseValueRenderOption": "ValueRenderOption",
    "dateTimeRenderOption": "DateTimeRenderOption",
    "responseDateTimeRenderOption": "DateTimeRenderOption",
    "valueInputOption": "ValueInputOption",
    "insertDataOption": "AppendValuesRequest.InsertDataOption",
}

_SCALAR_TYPE = {
    ("integer", "int32"): "TYPE_INT32",
    ("integer", "uint32"): "TYPE_UINT32",
    ("string", "int64"): "TYPE_INT64",
    ("string", "uint64"): "TYPE_UINT64",
    ("number", "double"): "TYPE_DOUBLE",
    ("number", "float"): "TYPE_FLOAT",
    ("boolean", None): "TYPE_BOOL",
}


@functools.lru_cache(maxsize=2048)
def snake(name: str) -> str:
    """``updateCells`` -> ``update_cells`` (Google's paths in error messages)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.lru_cache(maxsize=2048)
def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@dataclass
class Method:
    """One API method: its id (``sheets.spreadsheets.values.get``) and shape."""

    id: str
    http_method: str
    regex: re.Pattern[str]
    literal_len: int
    parameters: dict[str, Any]
    request_ref: str | None
    response_ref: str | None
    api: Api

    @property
    def is_read(self) -> bool:
        """Google's quota classes: GETs and the *ByDataFilter / search POSTs are reads."""
        return self.http_method == "GET" or self.id in READ_METHODS_BY_POST


@dataclass
class Api:
    name: str
    doc: dict[str, Any]
    base: str
    package: str
    strict_query: bool  # Sheets rejects unknown query parameters and body members; Drive ignores them
    methods: list[Method] = field(default_factory=list)

    @property
    def schemas(self) -> dict[str, Any]:
        schemas: dict[str, Any] = self.doc.get("schemas", {})
        return schemas


def _load_doc(filename: str) -> dict[str, Any] | None:
    try:
        path = resources.files("googleapiclient") / "discovery_cache" / "documents" / filename
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return doc
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


# Used only when google-api-python-client (a dev dependency) is not installed:
# enough to route the implemented methods; schema validation is then skipped.
_FALLBACK = {
    "sheets": [
        ("sheets.spreadsheets.create", "POST", "v4/spreadsheets"),
        ("sheets.spreadsheets.get", "GET", "v4/spreadsheets/{spreadsheetId}"),
        ("sheets.spreadsheets.batchUpdate", "POST", "v4/spreadsheets/{spreadsheetId}:batchUpdate"),
        ("sheets.spreadsheets.values.get", "GET", "v4/spreadsheets/{spreadsheetId}/values/{range}"),
        ("sheets.spreadsheets.values.update", "PUT", "v4/spreadsheets/{spreadsheetId}/values/{range}"),
        ("sheets.spreadsheets.values.append", "POST", "v4/spreadsheets/{spreadsheetId}/values/{range}:append"),
        ("sheets.spreadsheets.values.clear", "POST", "v4/spreadsheets/{spreadsheetId}/values/{range}:clear"),
        ("sheets.spreadsheets.values.batchGet", "GET", "v4/spreadsheets/{spreadsheetId}/values:batchGet"),
        ("sheets.spreadsheets.values.batchUpdate", "POST", "v4/spreadsheets/{spreadsheetId}/values:batchUpdate"),
        ("sheets.spreadsheets.values.batchClear", "POST", "v4/spreadsheets/{spreadsheetId}/values:batchClear"),
    ],
    "drive": [
        ("drive.files.create", "POST", "files"),
        ("drive.files.list", "GET", "files"),
        ("drive.files.get", "GET", "files/{fileId}"),
        ("drive.files.update", "PATCH", "files/{fileId}"),
        ("drive.files.delete", "DELETE", "files/{fileId}"),
        ("drive.files.copy", "POST", "files/{fileId}/copy"),
        ("drive.permissions.create", "POST", "files/{fileId}/permissions"),
        ("drive.permissions.list", "GET", "files/{fileId}/permissions"),
        ("drive.permissions.delete", "DELETE", "files/{fileId}/permissions/{permissionId}"),
    ],
}


def _compile(
    api: Api, mid: str, http: str, flat: str, params: dict[str, Any], ref: str | None, response_ref: str | None = None
) -> Method:
    parts = re.split(r"(\{[^}]+\})", flat)
    regex, literal = "", 0
    for part in parts:
        if part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
            literal += len(part)
    return Method(
        mid, http, re.compile("^" + re.escape(api.base) + regex + "$"), literal, params, ref, response_ref, api
    )


def _walk_methods(resource: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from resource.get("methods", {}).values()
    for sub in resource.get("resources", {}).values():
        yield from _walk_methods(sub)


@functools.lru_cache(maxsize=1)
def load_apis() -> tuple[Api, ...]:
    """Load (once per process) the Sheets and Drive descriptions."""
    apis = []
    for name, filename, package, strict in (
        ("sheets", "sheets.v4.json", "google.apps.sheets.v4", True),
        ("drive", "drive.v3.json", "google.apps.drive.v3", False),
    ):
        doc = _load_doc(filename)
        if doc is not None:
            api = Api(name, doc, doc["rootUrl"] + doc["servicePath"], package, strict)
            for m in _walk_methods(doc):
                api.methods.append(
                    _compile(
                        api,
                        m["id"],
                        m["httpMethod"],
                        m.get("flatPath", m["path"]),
                        m.get("parameters", {}),
                        (m.get("request") or {}).get("$ref"),
                        (m.get("response") or {}).get("$ref"),
                    )
                )
        else:
            base = "https://sheets.googleapis.com/" if name == "sheets" else "https://www.googleapis.com/drive/v3/"
            api = Api(name, {}, base, package, strict)
            for mid, http, flat in _FALLBACK[name]:
                api.methods.append(_compile(api, mid, http, flat, {}, None))
        api.methods.sort(key=lambda m: -m.literal_len)
        apis.append(api)
    return tuple(apis)


def route(http_method: str, url_without_query: str) -> tuple[Method, dict[str, str]]:
    """Find the API method for a request; 404 like Google for unknown URLs."""
    path_matched = False
    for api in load_apis():
        if not url_without_query.startswith(api.base):
            continue
        for method in api.methods:
            m = method.regex.match(url_without_query)
            if not m:
                continue
            path_matched = True
            if method.http_method == http_method.upper():
                return method, {k: unquote(v) for k, v in m.groupdict().items()}
    raise GoogleError(404, "Method not found." if path_matched else f"URL not found: {url_without_query}")


# -- query parameters -------------------------------------------------------------------


def validate_query(method: Method, query: dict[str, list[str]]) -> dict[str, Any]:
    """Check query parameters against the method; return them typed.

    Repeated parameters (``ranges``) come back as lists, booleans as bool.
    """
    api = method.api
    known = {**api.doc.get("parameters", {}), **method.parameters}
    out: dict[str, Any] = {}
    for name, values in query.items():
        spec = known.get(name)
        if spec is None:
            if api.strict_query and api.doc:
                msg = (
                    f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                    f"Field '{name}' could not be found in request message."
                )
                raise GoogleError.bad_request(msg, violation=True)
            out[name] = values[-1]
            continue
        typed = [_query_value(api, name, spec, v) for v in values]
        out[name] = typed if spec.get("repeated") else typed[-1]
    return out


def _query_value(api: Api, name: str, spec: dict[str, Any], raw: str) -> Any:
    def bad(type_label: str) -> GoogleError:
        msg = f"Invalid value at '{snake(name)}' ({type_label}), \"{raw}\""
        return GoogleError.bad_request(msg, field=snake(name), violation=True)

    kind = spec.get("type")
    if "enum" in spec:
        if raw not in spec["enum"]:
            type_name = _QUERY_ENUM_TYPES.get(name, name[:1].upper() + name[1:])
            raise bad(f"type.googleapis.com/{api.package}.{type_name}")
        return raw
    if kind == "boolean":
        if raw.lower() not in {"true", "false"}:
            raise bad("TYPE_BOOL")
        return raw.lower() == "true"
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise bad("TYPE_INT32") from None
    return raw


# -- request bodies -------------------------------------------------------------------------


class BodyValidator:
    """Validate a JSON body against a discovery schema, Google-style.

    Returns a normalised copy: snake_case keys become camelCase and ``null``
    members are dropped (Google treats null as "not set"), while ``null``
    inside value arrays is kept (it means "leave this cell alone").
    """

    def __init__(self, api: Api) -> None:
        self.api = api
        self.schemas = api.schemas

    def validate(self, body: Any, ref: str, root: str = "") -> Any:
        if not self.schemas or ref not in self.schemas:
            return body
        return self._object(body, self.schemas[ref], ref, root)

    # Each helper receives the dotted snake_case path of the value it checks.
    def _object(self, value: Any, schema: dict[str, Any], ref: str, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self._invalid(path, f"type.googleapis.com/{self.api.package}.{ref}", value)
        props = schema.get("properties", {})
        out: dict[str, Any] = {}
        for key, member in value.items():
            name = key if key in props else camel(key)
            if name not in props and not self.api.strict_query:
                continue  # Drive ignores unknown members (gspread sends v2's "withLink")
            if name not in props:
                where = f" at '{path}'" if path else ""
                msg = f'Invalid JSON payload received. Unknown name "{key}"{where}: Cannot find field.'
                raise GoogleError.bad_request(msg, field=path or None, violation=True)
            if member is None:
                continue
            child = f"{path}.{snake(name)}" if path else snake(name)
            out[name] = self._value(member, props[name], child, key, path, ref)
        return out

    def _value(self, value: Any, schema: dict[str, Any], path: str, key: str, parent: str, owner: str) -> Any:
        """Check one member against its schema; ``key``/``parent``/``owner`` name it in Google's messages."""
        kind = schema.get("type")
        if "$ref" not in schema and kind in {"any", "array"}:
            return value if kind == "any" else self._array(value, schema, path, key, parent, owner)
        if isinstance(value, list):
            raise self._not_repeating(key, parent)
        if "$ref" in schema:
            ref = schema["$ref"]
            return self._object(value, self.schemas[ref], ref, path)
        if kind == "object":
            return self._struct(value, schema, path, owner)
        if "enum" in schema:
            return self._enum(value, schema, path, key, owner)
        return self._scalar(value, schema, path)

    def _array(self, value: Any, schema: dict[str, Any], path: str, key: str, parent: str, owner: str) -> Any:
        items = schema.get("items", {})
        if not isinstance(value, list):
            if items.get("type") in {"any", "array"}:
                raise self._invalid(path, "type.googleapis.com/google.protobuf.ListValue", value)
            raise self._invalid(path, self._label(items, owner, key), value)
        if items.get("type") == "array":  # ValueRange.values: list of lists of any
            for i, row in enumerate(value):
                if not isinstance(row, list):
                    raise self._invalid(f"{path}[{i}]", "type.googleapis.com/google.protobuf.ListValue", row)
            return value
        return [
            self._value(v, items, f"{path}[{i}]", key, parent, owner)
            for i, v in enumerate(value)
            if v is not None or items.get("type") == "any"
        ]

    def _struct(self, value: Any, schema: dict[str, Any], path: str, owner: str) -> Any:
        """A free-form object (``google.protobuf.Struct``) or a map of typed values."""
        if not isinstance(value, dict):
            raise self._invalid(path, "type.googleapis.com/google.protobuf.Struct", value)
        if "additionalProperties" not in schema:
            return value
        sub = schema["additionalProperties"]
        return {k: self._value(v, sub, f"{path}[{k}]", k, path, owner) for k, v in value.items()}

    def _enum(self, value: Any, schema: dict[str, Any], path: str, key: str, owner: str) -> Any:
        enum = schema["enum"]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(enum):
            return enum[value]  # proto enums may be sent as numbers
        if not isinstance(value, str) or value not in enum:
            raise self._invalid(path, self._label(schema, owner, key), value)
        return value

    def _scalar(self, value: Any, schema: dict[str, Any], path: str) -> Any:
        kind, fmt = schema.get("type"), schema.get("format")
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self._invalid(path, "TYPE_BOOL", value)
            return value
        if kind == "integer" or (kind == "string" and fmt in {"int64", "uint64"}):
            return self._integer(value, path, _SCALAR_TYPE.get((kind, fmt), "TYPE_INT32"))
        if kind == "number":
            return self._number(value, path, _SCALAR_TYPE.get((kind, fmt), "TYPE_DOUBLE"))
        if kind == "string":
            if not isinstance(value, str):
                raise self._invalid(path, "TYPE_STRING", value)
            if fmt == "google-fieldmask":
                try:
                    fieldmask.parse(value)
                except fieldmask.MaskSyntaxError:
                    raise self._invalid(path, "type.googleapis.com/google.protobuf.FieldMask", value) from None
        return value

    def _number(self, value: Any, path: str, label: str) -> float | int:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise self._invalid(path, label, value)

    def _integer(self, value: Any, path: str, label: str) -> int:
        if isinstance(value, bool):
            raise self._invalid(path, label, value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                try:
                    f = float(value)
                    if f.is_integer():
                        return int(f)
                except ValueError:
                    pass
        raise self._invalid(path, label, value)

    def _label(self, schema: dict[str, Any], owner: str, key: str) -> str:
        if "enum" in schema:
            return f"type.googleapis.com/{self.api.package}.{owner}.{camel(key)[:1].upper()}{camel(key)[1:]}"
        if "$ref" in schema:
            return f"type.googleapis.com/{self.api.package}.{schema['$ref']}"
        return _SCALAR_TYPE.get((str(schema.get("type")), schema.get("format")), "TYPE_STRING")

    @staticmethod
    def _invalid(path: str, label: str, value: Any) -> GoogleError:
        shown = json.dumps(value, ensure_ascii=False)
        msg = f"Invalid value at '{path}' ({label}), {shown}"
        return GoogleError.bad_request(msg, field=path or None, violation=True)

    @staticmethod
    def _not_repeating(key: str, parent: str) -> GoogleError:
        where = f" at '{parent}'" if parent else ""
        msg = (
            f'Invalid JSON payload received. Unknown name "{key}"{where}: '
            "Proto field is not repeating, cannot start list."
        )
        return GoogleError.bad_request(msg, field=parent or None, violation=True)


def unknown_mask_path(api: Api, ref: str, tree: fieldmask.Tree) -> str | None:
    """First path in a field mask that names no field of schema ``ref`` (or None)."""
    schemas = api.schemas
    if not schemas or ref not in schemas:
        return None

    def walk(schema: dict[str, Any], sub: fieldmask.Tree, prefix: str) -> str | None:
        while schema.get("type") == "array":
            schema = schema.get("items", {})
        if "$ref" in schema:
            schema = schemas[schema["$ref"]]
        props = schema.get("properties")
        if props is None:
            return None  # maps / any: accept whatever follows
        for key, child in sub.items():
            if key == "*":
                continue
            if key not in props:
                return prefix + key
            if child is not None:
                bad = walk(props[key], child, prefix + key + ".")
                if bad:
                    return bad
        return None

    return walk(schemas[ref], tree, "")
