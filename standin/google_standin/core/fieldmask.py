"""Field masks: ``fields=`` partial responses and ``fields`` in update requests.

Google accepts the same small grammar in both places: comma lists, nested
parentheses, and paths written with ``.`` or ``/``
(``sheets(properties(title),data.rowData.values/userEnteredFormat)``).
"""

from __future__ import annotations

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
    """Return ``target`` with every masked path taken from ``source``.

    A masked path absent from ``source`` is *cleared* in the result — that is
    how Google's update masks delete things (``fields: "note"`` with no note).
    ``*`` replaces the whole object. Copy-on-write: ``target`` is not modified
    and untouched branches (and values taken from ``source``) are shared, so
    callers must treat stored objects as immutable.
    """
    result = dict(target)
    for path in mask_paths:
        if path == ("*",):
            result = dict(source)
            continue
        if path[-1] == "*":
            path = path[:-1]
        value = get_path(source, path)
        if value is _MISSING:
            _cow_delete(result, path)
        else:
            _cow_set(result, path, value)
    return result


def _cow_set(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``obj[path] = value``; ``obj`` is a private copy, nested dicts on the path get copied."""
    if len(path) == 1:
        obj[path[0]] = value
        return
    child = obj.get(path[0])
    child = dict(child) if isinstance(child, dict) else {}
    _cow_set(child, path[1:], value)
    obj[path[0]] = child


def _cow_delete(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    """Delete ``obj[path]``, copying nested dicts on the way and pruning parents left empty."""
    if len(path) == 1:
        obj.pop(path[0], None)
        return
    child = obj.get(path[0])
    if not isinstance(child, dict) or path[1] not in child and len(path) == 2:
        return
    child = dict(child)
    _cow_delete(child, path[1:])
    if child:
        obj[path[0]] = child
    else:
        obj.pop(path[0], None)
