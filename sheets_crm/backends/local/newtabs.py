"""Add worksheets to a workbook package: the tool's own tabs (History, the hidden state tab).

A new tab is four small edits: an empty worksheet part, a ``<sheet>`` entry in workbook.xml
(``state="hidden"`` for a hidden one), its relationship in workbook.xml.rels and its content type
in [Content_Types].xml. The edits are spliced into the XML text, like every other local write;
the cells are then written into the new part by the ordinary writer.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from xml.sax.saxutils import quoteattr

from sheets_crm.backends.local.xlsx_read import Package, rels_part
from sheets_crm.errors import WorkbookError

__all__ = ["add_sheets", "EMPTY_SHEET"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_WORKSHEET_REL = _RELS + "/worksheet"
_WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
EMPTY_SHEET = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="' + _MAIN.encode() + b'" xmlns:r="' + _RELS.encode() + b'"><sheetData/></worksheet>'
)
_P = rb"(?:[\w.-]+:)?"


def _insert_before_close(xml: bytes, tag: bytes, entry_of: bytes, where: str) -> bytes:
    """``entry_of`` (with ``{p}`` for the element prefix in use) just before ``</tag>``."""
    m = re.search(rb"</(" + _P + rb")" + tag + rb"\s*>", xml)
    if m is None:
        raise WorkbookError(f"{where} has no </{tag.decode()}>; nothing was written")
    entry = entry_of.replace(b"{p}", m.group(1))
    return xml[: m.start()] + entry + xml[m.start() :]


def add_sheets(pkg: Package, new: Mapping[str, bool], replace: dict[str, bytes]) -> dict[str, str]:
    """Add an empty worksheet per ``new`` title (-> hidden), editing the package parts in
    ``replace`` (read from it first: other edits may already be there). Returns title -> part."""
    if not new:
        return {}
    names = set(pkg.zip.namelist()) | set(replace)
    wb_rels = rels_part(pkg.workbook_part)
    workbook = replace.get(pkg.workbook_part) or pkg.read(pkg.workbook_part)
    rels = replace.get(wb_rels) or pkg.read(wb_rels)
    types = replace.get("[Content_Types].xml") or pkg.read("[Content_Types].xml")
    base = posixpath.dirname(pkg.workbook_part)
    sheet_ids = [int(x) for x in re.findall(rb"<" + _P + rb"sheet\s[^>]*?\ssheetId\s*=\s*[\"'](\d+)", workbook)]
    rel_ids = {x.decode() for x in re.findall(rb"\sId\s*=\s*[\"']([^\"']+)", rels)}
    bound = re.search(rb"xmlns:([\w.-]+)\s*=\s*[\"']" + re.escape(_RELS.encode()) + rb"[\"']", workbook)
    r_attr = (bound.group(1) + b":id") if bound else b'xmlns:r="' + _RELS.encode() + b'" r:id'
    out: dict[str, str] = {}
    n = 1
    for title, hidden in new.items():
        while posixpath.join(base, f"worksheets/sheet{n}.xml") in names:
            n += 1
        part = posixpath.join(base, f"worksheets/sheet{n}.xml")
        names.add(part)
        rid = next(f"rIdCrm{i}" for i in range(1, 10_000) if f"rIdCrm{i}" not in rel_ids)
        rel_ids.add(rid)
        sheet_id = max(sheet_ids, default=0) + 1
        sheet_ids.append(sheet_id)
        state = b' state="hidden"' if hidden else b""
        workbook = _insert_before_close(
            workbook,
            b"sheets",
            b"<{p}sheet name="
            + quoteattr(title).encode()
            + b' sheetId="'
            + str(sheet_id).encode()
            + b'"'
            + state
            + b" "
            + r_attr
            + b'="'
            + rid.encode()
            + b'"/>',
            "workbook.xml",
        )
        target = posixpath.relpath(part, base) if base else part
        rels = _insert_before_close(
            rels,
            b"Relationships",
            b'<{p}Relationship Id="'
            + rid.encode()
            + b'" Type="'
            + _WORKSHEET_REL.encode()
            + b'" Target="'
            + target.encode()
            + b'"/>',
            "workbook.xml.rels",
        )
        types = _insert_before_close(
            types,
            b"Types",
            b'<{p}Override PartName="/' + part.encode() + b'" ContentType="' + _WORKSHEET_TYPE.encode() + b'"/>',
            "[Content_Types].xml",
        )
        replace[part] = EMPTY_SHEET
        out[title] = part
    replace[pkg.workbook_part] = workbook
    replace[wb_rels] = rels
    replace["[Content_Types].xml"] = types
    return out
