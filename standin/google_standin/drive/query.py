"""Drive's ``q`` search language, the small part of it gspread and the project send.

``mimeType = '...' and trashed = false``, ``'<id>' in parents``,
``name contains 'CRM'``, ``'someone@example.com' in writers``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..core.errors import GoogleError
from .models import DriveFile

__all__ = ["matcher"]


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


def _field_ok(m: re.Match[str], f: DriveFile) -> bool:
    """``name = 'CRM'``, ``mimeType != '...'``, ``name contains 'x'``."""
    field, op, value = m.group("field").lower(), m.group("op").lower(), _unquote(m.group("value"))
    actual: Any = {
        "mimetype": f.mime_type,
        "name": f.name,
        "fulltext": f.name,
        "trashed": str(f.trashed).lower(),
        "starred": "false",
    }[field]
    if op == "=":
        return bool(actual == value)
    if op == "!=":
        return bool(actual != value)
    return value.lower() in str(actual).lower()  # contains


_READER_ROLES = {"owner", "writer", "commenter", "reader"}


def _membership_ok(m: re.Match[str], f: DriveFile) -> bool:
    """``'<id>' in parents``, ``'a@b' in owners|writers|readers``."""
    lit, coll = _unquote(m.group("lit")), m.group("coll").lower()
    if coll == "parents":
        return lit in (f.parents or ["root"])
    if coll == "owners":
        return lit.lower() == f.owner.lower()
    roles = {"owner", "writer"} if coll == "writers" else _READER_ROLES
    return f.role_of(lit) in roles


def _clause_ok(m: re.Match[str], f: DriveFile) -> bool:
    if m.group("field"):
        return _field_ok(m, f)
    if m.group("coll"):
        return _membership_ok(m, f)
    return _unquote(m.group("parent")) in (f.parents or ["root"])


def matcher(q: str) -> Callable[[DriveFile], bool]:
    """A predicate for ``q`` (clauses joined by ``and``); 400 "Invalid Value" for anything else."""
    clauses = []
    for clause in _split_and(q):
        m = _CLAUSE.match(clause)
        if not m:
            raise GoogleError.drive(400, "Invalid Value", "invalid", location="q", locationType="parameter")
        clauses.append(m)

    def match(f: DriveFile) -> bool:
        return all(_clause_ok(m, f) for m in clauses)

    return match
