"""Import a contact list (CSV or .xlsx) into Leads without duplicates.

Reading: a CSV's encoding is found from its bytes — a BOM (UTF-8 or UTF-16) first, then
strict UTF-8 (Cyrillic text in any other encoding is practically never valid UTF-8),
then ``charset-normalizer`` (already installed with requests) for the rest, which tells
cp1251 (Excel and 1C on Russian Windows) from KOI8-R or cp866 by language statistics;
the delimiter by :class:`csv.Sniffer`. An .xlsx is read with openpyxl in read-only mode.

Mapping: the file's headers are matched to Leads columns by the template's own
:meth:`~sheets_crm.core.template.Tab.match_rank` (names and synonyms, both languages),
with ``--map "Their column=Project"`` first.

De-duplication (:mod:`sheets_crm.core.dedupe`): each row is compared with the Leads and
with the file's earlier rows — same phone, same e-mail, same or similar name. New leads
are appended below the last used row of Leads; existing ones are never changed unless
``update``, which fills only their empty cells.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sheets_crm.app.edits import Written, write_edits
from sheets_crm.backends.protocol import Workbook
from sheets_crm.core.dedupe import Index, Match, Record
from sheets_crm.core.model import CellChange, Snapshot
from sheets_crm.core.phones import region_for_locale
from sheets_crm.core.reading import Tables, TabMap, cell_text
from sheets_crm.core.template import Tab, Template
from sheets_crm.core.text import normalise
from sheets_crm.errors import CrmError, WorkbookError

__all__ = [
    "Source",
    "MapError",
    "ImportPlan",
    "read_source",
    "decode",
    "parse_maps",
    "map_columns",
    "plan_import",
    "run_import",
    "sheet_region",
]

log = logging.getLogger(__name__)

_DELIMITERS = ";,\t|"
_CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


class MapError(CrmError):
    """A ``--map`` that names no header of the file or no Leads column (a usage error)."""


@dataclass
class Source:
    """A contact list as read: its headers and rows as text, and how it was read."""

    path: Path
    headers: list[str]
    rows: list[list[str]]
    #: 1-based row of each data row in the file (the header row is row ``header_row``).
    row_numbers: list[int]
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""

    def describe(self) -> str:
        if self.sheet:
            return f"{self.path.name}: sheet {self.sheet!r}, {len(self.rows)} rows"
        shown = {"\t": "tab", ";": ";", ",": ",", "|": "|"}.get(self.delimiter, self.delimiter)
        return f"{self.path.name}: {self.encoding}, delimiter {shown}, {len(self.rows)} rows"


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name), name
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.encoding is None:
        raise WorkbookError("cannot tell the file's text encoding; save it as UTF-8 or pass --encoding")
    return str(best), best.encoding


def _sniff(text: str) -> str:
    sample = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        first = sample.split("\n", 1)[0]
        return max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","


def read_source(path: Path, *, encoding: str | None = None) -> Source:
    """Read a CSV (encoding and delimiter detected) or an .xlsx (first sheet with data)."""
    if not path.exists():
        raise WorkbookError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix not in _CSV_SUFFIXES:
        raise WorkbookError(f"{path}: import reads .csv, .txt, .tsv and .xlsx files")
    data = path.read_bytes()
    if encoding:
        try:
            text, used = data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise WorkbookError(f"{path}: cannot read it as {encoding}: {exc}") from None
    else:
        text, used = decode(data)
    delimiter = _sniff(text)
    lines = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return _table(path, lines, encoding=used, delimiter=delimiter)


def _read_xlsx(path: Path) -> Source:
    import warnings
    import zipfile

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise WorkbookError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    try:
        for sheet in book.worksheets:
            lines = [[cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            if any(any(line) for line in lines):
                return _table(path, lines, sheet=sheet.title)
    finally:
        book.close()
    raise WorkbookError(f"{path}: the workbook has no data")


def _table(path: Path, lines: list[list[str]], **how: str) -> Source:
    """The first non-blank line is the header; blank lines are skipped (their numbers kept)."""
    lines = [[(v or "").strip() for v in line] for line in lines]
    start = next((i for i, line in enumerate(lines) if any(line)), None)
    if start is None:
        raise WorkbookError(f"{path}: the file has no data")
    headers = lines[start]
    width = len(headers)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for i, line in enumerate(lines[start + 1 :], start=start + 2):
        if any(line):
            rows.append((line + [""] * width)[:width] if len(line) <= width else line)
            numbers.append(i)
    return Source(path, headers, rows, numbers, **how)


def parse_maps(items: list[str], tab: Tab) -> dict[str, str]:
    """``["Their column=Project", ...]`` → {normalised their header: Leads column id}."""
    out: dict[str, str] = {}
    for item in items:
        theirs, sep, ours = item.rpartition("=")
        if not sep or not theirs.strip() or not ours.strip():
            raise MapError(f'--map {item!r}: write it as "Their column=Project"')
        column = tab.match_header(ours) or next((c for c in tab.columns if c.id == normalise(ours)), None)
        if column is None or column.owner != "user":
            names = ", ".join(c.names["en"] for c in tab.columns if c.owner == "user")
            raise MapError(f"--map {item!r}: {ours.strip()!r} is not a Leads column you fill; use one of {names}")
        out[normalise(theirs)] = column.id
    return out


@dataclass
class Mapped:
    """Which file column fills which Leads column, and what was left out and why."""

    columns: dict[int, str]  #: file column index -> Leads column id
    ignored: list[tuple[str, str]]  #: (file header, why it is not imported)


def map_columns(source: Source, tab: Tab, maps: dict[str, str], present: dict[str, int]) -> Mapped:
    """Match the file's headers to the Leads columns the person's sheet has."""
    wanted = set(maps)
    columns: dict[int, str] = {}
    rank_of: dict[str, int] = {}
    ignored: list[tuple[str, str]] = []
    for i, header in enumerate(source.headers):
        key = normalise(header)
        if key in maps:
            column_id, rank = maps[key], -1
            wanted.discard(key)
        else:
            found = tab.match_rank(header)
            if found is None:
                if header:
                    ignored.append((header, "no Leads column of that name (use --map)"))
                continue
            column_id, rank = found[0].id, found[1]
            if found[0].owner != "user":
                ignored.append((header, "a column the sync fills"))
                continue
        if column_id not in present:
            ignored.append((header, f"your Leads has no {tab.column(column_id).names['en']} column"))
            continue
        if column_id in rank_of and rank_of[column_id] <= rank:
            ignored.append((header, f"{tab.column(column_id).names['en']} comes from an earlier column"))
            continue
        if column_id in rank_of:  # this one is the stronger match: the earlier column gives way
            old = next(c for c, cid in columns.items() if cid == column_id)
            ignored.append((source.headers[old], f"{tab.column(column_id).names['en']} comes from {header!r}"))
            del columns[old]
        columns[i], rank_of[column_id] = column_id, rank
    if wanted:
        have = ", ".join(repr(h) for h in source.headers if h)
        raise MapError(f"--map names no column of {source.path.name}: {', '.join(sorted(wanted))}; it has {have}")
    if "project" not in columns.values():
        have = ", ".join(repr(h) for h in source.headers if h)
        raise MapError(
            f'{source.path.name}: no column means Project ({have}); say which one with --map "Their column=Project"'
        )
    return Mapped(columns, ignored)


@dataclass
class Found:
    """A file row that is already in Leads (``leads_row``) or repeats an earlier file row (``file_row``)."""

    row: int
    project: str
    reason: str
    detail: str
    leads_row: int | None = None
    file_row: int | None = None


@dataclass
class ImportPlan:
    """What an import will do: rows to append, matches, empty cells to fill, rows skipped."""

    source: Source
    mapped: Mapped
    leads_title: str
    headers: dict[str, str]  #: Leads column id -> its header in the sheet
    new: list[tuple[int, dict[str, str]]] = field(default_factory=list)  #: (file row, values by column id)
    first_new_row: int = 0  #: 1-based sheet row of the first appended lead
    found: list[Found] = field(default_factory=list)
    fills: list[tuple[int, int, str, str]] = field(default_factory=list)  #: (file row, Leads row, header, value)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    edits: list[CellChange] = field(default_factory=list)
    #: Nothing beyond the sync's own guard and the written cells themselves (see app.edits).
    guard: dict[str, list[tuple[int, int, Any]]] = field(default_factory=dict)


def sheet_region(snapshot: Snapshot, tables: Tables) -> str | None:
    """Where numbers without a country code are from: the sheet's locale, else Russia for a Russian sheet."""
    return region_for_locale(snapshot.locale) or ("RU" if tables.lang == "ru" else None)


def _last_used(lm: TabMap) -> int:
    """0-based index of the last Leads row with any text (the header at least)."""
    values = lm.data.values
    for r in range(len(values) - 1, 0, -1):
        if any(cell_text(v) for v in values[r]):
            return r
    return 0


def plan_import(
    snapshot: Snapshot, tables: Tables, source: Source, maps: dict[str, str], *, update: bool = False
) -> ImportPlan:
    """Decide, row by row, what the import appends, matches and fills. Pure (no I/O)."""
    lm = tables.leads_map
    mapped = map_columns(source, lm.tab, maps, lm.columns)
    plan = ImportPlan(source, mapped, lm.title, {cid: lm.header_of(cid) for cid in lm.columns})
    index = Index(sheet_region(snapshot, tables))
    data = lm.data
    for r in range(1, data.height):
        project = cell_text(data.cell(r, lm.columns["project"]))
        if project:
            index.add(Record(("leads", r + 1), project, *_contact_keys(data.values[r], lm.columns)))
    pending: dict[int, dict[str, str]] = {}
    for number, line in zip(source.row_numbers, source.rows, strict=True):
        values = {cid: line[i] for i, cid in mapped.columns.items() if i < len(line) and line[i]}
        project = values.get("project", "")
        if not project:
            plan.skipped.append((number, "no project name"))
            continue
        match = index.find(
            Record(("file", number), project, values.get("phone", ""), values.get("email", "")), add=True
        )
        if match is None:
            pending[number] = values
            plan.new.append((number, values))
            continue
        plan.found.append(_found(number, project, match))
        if update:
            _fill(plan, lm, match, values, pending, number)
    start = _last_used(lm) + 1
    plan.first_new_row = start + 1
    for k, (_number, values) in enumerate(plan.new):
        for cid, value in values.items():
            plan.edits.append(CellChange(lm.title, start + k, lm.columns[cid], value=value))
    return plan


def _contact_keys(line: list[Any], columns: dict[str, int]) -> tuple[str, str]:
    def text(cid: str) -> str:
        col = columns.get(cid)
        return cell_text(line[col]) if col is not None and col < len(line) else ""

    return text("phone"), text("email")


def _where(ref: object) -> tuple[str, int]:
    """A ref of this module's index: ("leads", sheet row) or ("file", file row)."""
    kind, row = cast("tuple[str, int]", ref)
    return kind, row


def _found(number: int, project: str, match: Match) -> Found:
    kind, other = _where(match.other)
    return Found(
        number,
        project,
        match.reason,
        match.detail,
        leads_row=other if kind == "leads" else None,
        file_row=other if kind == "file" else None,
    )


def _fill(
    plan: ImportPlan, lm: TabMap, match: Match, values: dict[str, str], pending: dict[int, dict[str, str]], number: int
) -> None:
    """--update: the matched lead's empty cells take this row's values (nothing typed is ever replaced)."""
    kind, other = _where(match.other)
    if kind == "file":  # a repeat of a row not yet written: complete that row
        target = pending[other]
        for cid, value in values.items():
            target.setdefault(cid, value)
        return
    row = other - 1
    taken = {(ch.row, ch.col) for ch in plan.edits}
    for cid, value in values.items():
        col = lm.columns[cid]
        if cid == "project" or cell_text(lm.data.cell(row, col)) or (row, col) in taken:
            continue
        plan.edits.append(CellChange(lm.title, row, col, value=value))
        plan.fills.append((number, other, lm.header_of(cid), value))


def run_import(
    workbook: Workbook,
    source: Source,
    maps: list[str],
    *,
    template: Template,
    update: bool = False,
    dry_run: bool = False,
    today: dt.date | None = None,
    tz: str | None = None,
    preview: Callable[[ImportPlan], None] | None = None,
) -> Written[ImportPlan]:
    """Plan the import on a fresh read and write it with the tool columns refreshed, in one write."""
    wanted = parse_maps(maps, template.leads)

    def decide(snapshot: Snapshot, tables: Tables, day: dt.date) -> ImportPlan:
        return plan_import(snapshot, tables, source, wanted, update=update)

    done = write_edits(workbook, decide, template=template, today=today, tz=tz, dry_run=dry_run, preview=preview)
    plan = done.plan
    log.info(
        "%s: %d new, %d already there, %d cells filled, %d skipped",
        source.path.name,
        len(plan.new),
        len(plan.found),
        len(plan.fills),
        len(plan.skipped),
    )
    return done
