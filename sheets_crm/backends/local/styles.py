"""styles.xml: what a cell's style index means, and new cell formats appended without renumbering.

Reading: for each cell format (``cellXfs`` entry) whether its number format shows a date,
and its solid background as RRGGBB. Writing: :class:`StyleEditor` hands out the index of
a cell format equal to a given one but with another fill and/or number format, reusing an
identical existing entry where there is one and otherwise *appending* the fill, number
format and cell format at the end of their lists. Existing entries are never changed or
moved, so every style index already in the file keeps its meaning; the edit is a splice
of the original text (everything else in styles.xml stays byte for byte).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from sheets_crm.errors import WorkbookError

__all__ = ["Styles", "StyleEditor", "is_date_format", "BUILTIN_FORMATS"]

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

#: Built-in number formats (ECMA-376 18.8.30) the tool may need to name by id.
BUILTIN_FORMATS: dict[int, str] = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    49: "@",
}
#: Built-in ids that are dates or times (27-36 and 50-58 are East Asian date formats).
_BUILTIN_DATE_IDS = frozenset([*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)])
_STRIP = re.compile(r'"[^"]*"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CHARS = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_ELAPSED = re.compile(r"\[(hh?|mm?|ss?)\]", re.I)


def is_date_format(code: str | None) -> bool:
    """Does this number format show a date or time? (Literals and [colour]/[locale] ignored.)"""
    if not code:
        return False
    first = _STRIP.sub("", code.split(";")[0])
    return _DATE_CHARS.search(first) is not None and _ELAPSED.search(code.split(";")[0]) is None


def _tag(name: str) -> str:
    """A regex for an element name with any namespace prefix."""
    return rf"(?:[\w.-]+:)?{name}(?=[\s/>])"


_ATTR = re.compile(r"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


def _attrs(tag_text: str) -> dict[str, str]:
    return {k: v[1:-1] for k, v in _ATTR.findall(tag_text)}


@dataclass
class Styles:
    """What the cell formats of a workbook mean (read side)."""

    #: Per cell format index: does it show numbers as dates?
    date_xf: list[bool] = field(default_factory=list)
    #: Per cell format index: the solid background colour as RRGGBB, or None.
    fill_xf: list[str | None] = field(default_factory=list)
    #: numFmtId -> format code, custom ones overriding built-ins.
    formats: dict[int, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes | None, where: str) -> Styles:
        if not data:
            return cls()
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            raise WorkbookError(f"{where}: styles.xml is not well-formed XML ({exc})") from None
        formats = dict(BUILTIN_FORMATS)
        custom: set[int] = set()
        for nf in root.iter(_NS + "numFmt"):
            try:
                num = int(nf.get("numFmtId", ""))
            except ValueError:
                continue
            formats[num] = nf.get("formatCode", "")
            custom.add(num)
        fills: list[str | None] = []
        fills_el = root.find(_NS + "fills")
        for fill in fills_el if fills_el is not None else ():
            fills.append(_solid_rgb(fill))
        styles = cls(formats=formats)
        xfs = root.find(_NS + "cellXfs")
        for xf in xfs if xfs is not None else ():
            num = _int(xf.get("numFmtId"))
            if num in custom:
                date = is_date_format(formats[num])
            else:  # built-in: 46 is elapsed time ([h]:mm:ss), a duration rather than a date
                date = num in _BUILTIN_DATE_IDS and num != 46
            styles.date_xf.append(date)
            fid = _int(xf.get("fillId"))
            styles.fill_xf.append(fills[fid] if 0 <= fid < len(fills) else None)
        return styles

    def is_date(self, xf: int) -> bool:
        return 0 <= xf < len(self.date_xf) and self.date_xf[xf]

    def fill(self, xf: int) -> str | None:
        return self.fill_xf[xf] if 0 <= xf < len(self.fill_xf) else None


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _solid_rgb(fill: ET.Element) -> str | None:
    """A fill's colour as the tool sees it: solid pattern, explicit ARGB foreground (theme/indexed: None)."""
    pattern = fill.find(_NS + "patternFill")
    if pattern is None or pattern.get("patternType") != "solid":
        return None
    fg = pattern.find(_NS + "fgColor")
    rgb = fg.get("rgb") if fg is not None else None
    return rgb[-6:].upper() if rgb else None


class _Section:
    """One list of styles.xml (numFmts, fills, cellXfs) as spans of the original text."""

    def __init__(self, text: str, name: str, child: str) -> None:
        self.name, self.child = name, child
        self.match = re.search(rf"<({_tag(name)})([^>]*?)(/?)>", text)
        self.items: list[str] = []
        self.added: list[str] = []
        self.end = -1
        if self.match is None:
            return
        if self.match.group(3):  # <fills/>: empty list
            self.end = self.match.end()
            return
        close = re.compile(rf"</{_tag(name)}\s*>")
        end = close.search(text, self.match.end())
        if end is None:
            raise WorkbookError(f"styles.xml: <{name}> is not closed")
        self.end = end.start()
        body = text[self.match.end() : end.start()]
        item = re.compile(rf"<{_tag(child)}[^>]*?(?:/>|>.*?</{_tag(child)}\s*>)", re.S)
        self.items = item.findall(body)

    @property
    def count(self) -> int:
        return len(self.items) + len(self.added)


class StyleEditor:
    """Cell formats for the tool's cells, appended to styles.xml as needed."""

    def __init__(self, data: bytes) -> None:
        self.original = data
        self.text = data.decode("utf-8")
        root = re.search(r"<((?:([\w.-]+):)?styleSheet)(?=[\s/>])[^>]*>", self.text)
        if root is None:
            raise WorkbookError("styles.xml has no <styleSheet>")
        self.root_end = root.end()
        self.prefix = f"{root.group(2)}:" if root.group(2) else ""
        self.numfmts = _Section(self.text, "numFmts", "numFmt")
        self.fills = _Section(self.text, "fills", "fill")
        self.xfs = _Section(self.text, "cellXfs", "xf")
        if self.fills.match is None or self.xfs.match is None:
            raise WorkbookError("styles.xml has no <fills> or <cellXfs> list")
        self._xf_keys = {_xf_key(x): i for i, x in reversed(list(enumerate(self.xfs.items)))}
        self._fill_cache: dict[str | None, int] = {}
        self._fmt_cache: dict[str, int] = {}
        self._derived: dict[tuple[int, object, str | None], int] = {}

    @property
    def changed(self) -> bool:
        return bool(self.numfmts.added or self.fills.added or self.xfs.added)

    def xf_with(self, base: int, *, fill: object, number_format: str | None) -> int:
        """The index of ``base`` with ``fill`` (RRGGBB, None = no fill, or ``_KEEP``) and ``number_format``."""
        key = (base, fill, number_format)
        if key in self._derived:
            return self._derived[key]
        if not 0 <= base < len(self.xfs.items) + len(self.xfs.added):
            base = 0
        raw = (self.xfs.items + self.xfs.added)[base] if self.xfs.count else f"<{self.prefix}xf/>"
        changes: dict[str, str] = {}
        if fill is not KEEP_FILL:
            changes["fillId"] = str(self._fill_id(fill if isinstance(fill, str) else None))
            changes["applyFill"] = "1"
        if number_format:
            changes["numFmtId"] = str(self._numfmt_id(number_format))
            changes["applyNumberFormat"] = "1"
        new = _set_attrs(raw, changes)
        index = self._xf_keys.get(_xf_key(new))
        if index is None:
            index = self.xfs.count
            self.xfs.added.append(new)
            self._xf_keys[_xf_key(new)] = index
        self._derived[key] = index
        return index

    def _fill_id(self, color: str | None) -> int:
        if color in self._fill_cache:
            return self._fill_cache[color]
        p = self.prefix
        for i, raw in enumerate(self.fills.items):
            if _fill_matches(raw, color):
                self._fill_cache[color] = i
                return i
        if color is None:
            raw = f'<{p}fill><{p}patternFill patternType="none"/></{p}fill>'
        else:
            argb = "FF" + color.upper()
            raw = (
                f'<{p}fill><{p}patternFill patternType="solid"><{p}fgColor rgb="{argb}"/>'
                f'<{p}bgColor rgb="{argb}"/></{p}patternFill></{p}fill>'
            )
        index = self.fills.count
        self.fills.added.append(raw)
        self._fill_cache[color] = index
        return index

    def _numfmt_id(self, code: str) -> int:
        if code in self._fmt_cache:
            return self._fmt_cache[code]
        used: set[int] = set()
        for raw in self.numfmts.items:
            attrs = _attrs(raw)
            num = _int(attrs.get("numFmtId"))
            used.add(num)
            if _xml_unescape(attrs.get("formatCode", "")) == code:
                self._fmt_cache[code] = num
                return num
        for num, builtin in BUILTIN_FORMATS.items():
            if builtin == code and num not in used:
                self._fmt_cache[code] = num
                return num
        num = max([163, *used]) + 1
        self.numfmts.added.append(f'<{self.prefix}numFmt numFmtId="{num}" formatCode="{_xml_attr(code)}"/>')
        self._fmt_cache[code] = num
        return num

    def result(self) -> bytes:
        """styles.xml with the appended entries (the original bytes if nothing was added)."""
        if not self.changed:
            return self.original
        text = self.text
        edits: list[tuple[int, int, str]] = []
        for section in (self.numfmts, self.fills, self.xfs):
            if not section.added:
                continue
            p = self.prefix
            if section.match is None:  # no <numFmts> yet: it must be the first child
                body = "".join(section.added)
                edits.append(
                    (
                        self.root_end,
                        self.root_end,
                        f'<{p}{section.name} count="{section.count}">{body}</{p}{section.name}>',
                    )
                )
                continue
            m = section.match
            open_tag = _set_count(text[m.start() : m.end()], section.count)
            if m.group(3):  # <fills/> → <fills count="n">…</fills>
                open_tag = open_tag[:-2].rstrip() + ">"
                edits.append((m.start(), m.end(), open_tag + "".join(section.added) + f"</{m.group(1)}>"))
            else:
                edits.append((m.start(), m.end(), open_tag))
                edits.append((section.end, section.end, "".join(section.added)))
        out, pos = [], 0
        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1])):
            out.append(text[pos:start])
            out.append(new)
            pos = end
        out.append(text[pos:])
        return "".join(out).encode("utf-8")


#: Sentinel for "leave the fill as it is" (the model's KEEP is falsy; this keeps the module standalone).
KEEP_FILL = object()


def _set_count(open_tag: str, count: int) -> str:
    if re.search(r"\scount\s*=", open_tag):
        return re.sub(r"(\scount\s*=\s*)([\"'])\d*\2", rf'\g<1>"{count}"', open_tag, count=1)
    end = -2 if open_tag.endswith("/>") else -1
    return f'{open_tag[:end]} count="{count}"{open_tag[end:]}'


def _set_attrs(raw: str, changes: dict[str, str]) -> str:
    """Set attributes on the start tag of ``raw`` (an element's text), keeping its children."""
    m = re.match(r"<[^>]*?(/?)>", raw)
    assert m is not None
    tag = raw[: m.end()]
    rest = raw[m.end() :]
    closing = "/>" if m.group(1) else ">"
    head = tag[: -len(closing)]
    for name, value in changes.items():
        pattern = re.compile(rf"(\s{name}\s*=\s*)([\"'])[^\"']*\2")
        if pattern.search(head):
            head = pattern.sub(rf'\g<1>"{value}"', head, count=1)
        else:
            head = f'{head.rstrip()} {name}="{value}"'
    return head + closing + rest


def _xf_key(raw: str) -> tuple[frozenset[tuple[str, str]], str]:
    m = re.match(r"<[^>]*?/?>", raw)
    assert m is not None
    children = re.sub(r"</?[\w.-]+:", lambda x: x.group(0)[:2] if x.group(0)[1] == "/" else "<", raw[m.end() :])
    return frozenset(_attrs(m.group(0)).items()), re.sub(r"\s+", " ", children).strip()


def _fill_matches(raw: str, color: str | None) -> bool:
    pattern = re.search(rf"<{_tag('patternFill')}([^>]*)>", raw)
    kind = _attrs(pattern.group(1)).get("patternType") if pattern else None
    if color is None:
        return pattern is not None and kind in (None, "none") and "Color" not in raw
    if kind != "solid":
        return False
    fg = re.search(rf"<{_tag('fgColor')}([^>]*)>", raw)
    bg = re.search(rf"<{_tag('bgColor')}([^>]*)>", raw)
    argb = "FF" + color.upper()
    return (
        fg is not None
        and _attrs(fg.group(1)).get("rgb", "").upper() == argb
        and set(_attrs(fg.group(1))) == {"rgb"}
        and (bg is None or _attrs(bg.group(1)).get("rgb", "").upper() == argb)
    )


def _xml_attr(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _xml_unescape(text: str) -> str:
    if "&" not in text:
        return text
    import html

    return html.unescape(text)
