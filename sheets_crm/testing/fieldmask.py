"""Field masks: ``fields=`` partial responses and ``fields`` in update requests.

Google accepts the same small grammar in both places: comma lists, nested
parentheses, and paths written with ``.`` or ``/``
(``sheets(properties(title),data.rowData.values/userEnteredFormat)``).
"""

from __future__ import annotations

import copy
from typing import Any

Tree = dict[str, "Tree | None"]  # None = take the whole subtree


class MaskSyntaxError(ValueError):
    pass


def parse(mask: str) -> Tree:
    """Parse a mask into a tree: ``a.b,c(d)`` -> {a: {b: None}, c: {d: None}}."""
    tree, pos = _parse_list(mask, 0, top=True)
    if pos != len(mask):
        raise MaskSyntaxError(mask)
    return tree


def _parse_list(s: str, pos: int, *, top: bool) -> tuple[Tree, int]:
    tree: Tree = {}
    while True:
        start = pos
        while pos < len(s) and s[pos] not in ",()":
            pos += 1
        word = s[start:pos].strip()
        if not word:
            raise MaskSyntaxError(s)
        path = word.replace("/", ".").split(".")
        if any(not p for p in path):
            raise MaskSyntaxError(s)
        sub: Tree | None = None
        if pos < len(s) and s[pos] == "(":
            sub, pos = _parse_list(s, pos + 1, top=False)
            if pos >= len(s) or s[pos] != ")":
                raise MaskSyntaxError(s)
            pos += 1
        _merge(tree, path, sub)
        if pos < len(s) and s[pos] == ",":
            pos += 1
            continue
        if top and pos < len(s):
            raise MaskSyntaxError(s)
        return tree, pos


def _merge(tree: Tree, path: list[str], sub: Tree | None) -> None:
    node = tree
    for i, key in enumerate(path):
        last = i == len(path) - 1
        if last:
            if key in node and node[key] is None:
                return
            if sub is None:
                node[key] = None
            else:
                existing = node.get(key)
                if existing is None and key in node:
                    return
                merged = existing or {}
                for k, v in sub.items():
                    _merge(merged, [k], v)
                node[key] = merged
            return
        if key in node and node[key] is None:
            return
        node = node.setdefault(key, {})  # type: ignore[assignment]


def paths(tree: Tree, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Flatten a mask tree into leaf paths."""
    out: list[tuple[str, ...]] = []
    for key, sub in tree.items():
        if sub is None:
            out.append(prefix + (key,))
        else:
            out.extend(paths(sub, prefix + (key,)))
    return out


def filter_response(value: Any, tree: Tree | None) -> Any:
    """Keep only the masked parts of a response, as Google's partial responses do.

    A member present in the full response stays even if nothing inside it was
    asked for (Google answers ``{"sheets": [{"properties": {}}]}``).
    """
    if tree is None:
        return value
    if isinstance(value, list):
        return [filter_response(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in tree:
        star = tree["*"]
        out_all: dict[str, Any] = {}
        for k, v in value.items():
            out_all[k] = filter_response(v, tree.get(k, star))
        return out_all
    return {key: filter_response(value[key], sub) for key, sub in tree.items() if key in value}


_MISSING = object()


def get_path(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = obj
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def apply_update(target: dict[str, Any], source: dict[str, Any], mask_paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """Return a copy of ``target`` with every masked path taken from ``source``.

    A masked path absent from ``source`` is *cleared* in the result — that is
    how Google's update masks delete things (``fields: "note"`` with no note).
    ``*`` replaces the whole object.
    """
    result = copy.deepcopy(target)
    for path in mask_paths:
        if path == ("*",):
            result = copy.deepcopy(source)
            continue
        if path[-1] == "*":
            path = path[:-1]
        value = get_path(source, path)
        if value is _MISSING:
            _delete_path(result, path)
        else:
            _set_path(result, path, copy.deepcopy(value))
    return result


def _set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = obj
    for key in path[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            node[key] = nxt
        node = nxt
    node[path[-1]] = value


def _delete_path(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    trail: list[tuple[dict[str, Any], str]] = []
    node: Any = obj
    for key in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(key), dict):
            return
        trail.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(trail):  # prune parents emptied by the delete
        if parent[key] == {}:
            del parent[key]
        else:
            break
