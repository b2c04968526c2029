"""Backend-neutral data: what a workbook looks like, and what to change in it.

A backend turns its workbook into a :class:`Snapshot` and applies a
:class:`ChangeSet`; everything between (reading tables, planning, diffing) works
on these plain types and never sees openpyxl or gspread.

Coordinates are 0-based (row 0 is the header row); messages to users convert
to 1-based sheet row numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sheets_crm.errors import N_

__all__ = [
    "SECTIONS",
    "KEEP",
    "TabData",
    "Snapshot",
    "CellChange",
    "ChangeBlock",
    "ChangeSet",
    "Issue",
    "Msg",
    "N_",
    "Call",
]

#: The three parts of Calls Today, in the order they are listed.
SECTIONS = ("overdue", "today", "upcoming")


class _Keep:
    """Sentinel: leave this part of the cell as it is."""

    _instance: _Keep | None = None

    def __new__(cls) -> _Keep:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEEP"

    def __bool__(self) -> bool:
        return False


KEEP: Any = _Keep()


class _Rows:
    """``TabData.values``: the rows, built on first use when the backend read the tab by columns.

    Once the rows exist they are the truth (callers may edit them in place), so the
    columns are dropped then: a tab is either columnar or row-based, never both out of step.
    """

    def __get__(self, obj: TabData | None, owner: type | None = None) -> list[list[Any]]:
        if obj is None:
            raise AttributeError("values")  # a required dataclass field: no default
        state = obj.__dict__
        rows: list[list[Any]] | None = state["_rows"]
        if rows is None:
            rows = _rows_of(state["_columns"], state["_height"], state["_widths"])
            state.update(_rows=rows, _columns=None, _widths=None)
        return rows

    def __set__(self, obj: TabData, value: list[list[Any]]) -> None:
        obj.__dict__.update(_rows=value, _columns=None, _widths=None)


def _rows_of(columns: list[np.ndarray], height: int, widths: np.ndarray | None) -> list[list[Any]]:
    """Columns → ragged rows: each as long as the backend saw it (``widths``), else without trailing empties."""
    if not columns:
        return [[] for _ in range(height)]
    whole = zip(*(col.tolist() for col in columns), strict=True)
    if widths is not None:
        return [list(line[:width]) for line, width in zip(whole, widths.tolist(), strict=True)]
    rows = [list(line) for line in whole]
    for line in rows:
        while line and line[-1] is None:
            line.pop()
    return rows


@dataclass
class TabData:
    """One tab as read: raw cell values and the background fills we care about.

    ``values`` is ragged (trailing empties may be missing, as Google sends
    them). A value is None, str, int, float, bool, datetime.date/datetime
    (local files) or a serial day number (Google, for date cells).
    ``fills`` maps (row, col) to an upper-case RRGGBB string for cells with a
    solid background; backends fill it only for tabs they were asked for.

    A backend may instead hand over the tab by columns (:meth:`from_columns`): one
    object array per column, the header row included, None for an empty cell.
    The readers of big tabs (:mod:`~sheets_crm.core.reading`, :mod:`~sheets_crm.core.diff`)
    use :meth:`column`, which is free then; ``values`` is built from the columns
    only when some other caller asks for rows.
    """

    title: str
    values: _Rows = _Rows()
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Backend handle (e.g. Google sheetId); opaque to the core.
    ref: Any = None
    #: Grid size as the backend knows it (rows, cols); 0 = unknown/unbounded.
    grid_rows: int = 0
    grid_cols: int = 0
    #: Optional lazy source of fills (local files: read only the cells asked).
    fill_reader: Callable[[int, int], str | None] | None = field(default=None, repr=False)

    @classmethod
    def from_columns(
        cls,
        title: str,
        columns: list[np.ndarray],
        height: int,
        row_widths: np.ndarray | None = None,
        **kwargs: Any,
    ) -> TabData:
        """A tab read by columns: ``columns[c][r]`` is the cell (row 0 the header), each ``height`` long.

        ``row_widths`` (optional) is how many cells each row had as the backend read it, empty ones
        included; without it a row ends at its last non-empty cell.
        """
        tab = cls(title, [], **kwargs)
        tab.use_columns(columns, height, row_widths)
        return tab

    def use_columns(self, columns: list[np.ndarray], height: int, row_widths: np.ndarray | None = None) -> None:
        """Hold the tab's cells by columns from now on (see :meth:`from_columns`)."""
        for col in columns:
            if len(col) != height:
                raise ValueError(f"column of {len(col)} cells in a tab of {height} rows")
        if row_widths is not None and len(row_widths) != height:
            raise ValueError(f"{len(row_widths)} row widths for a tab of {height} rows")
        self.__dict__.update(
            _rows=None,
            _columns=[np.asarray(c, dtype=object) for c in columns],
            _height=height,
            _widths=None if row_widths is None else np.asarray(row_widths, dtype=np.int64),
        )

    @property
    def columnar(self) -> bool:
        """True while the tab is held by columns (no caller asked for rows yet)."""
        return self.__dict__["_rows"] is None

    def fill(self, row: int, col: int) -> str | None:
        """The cell's solid background as RRGGBB, or None."""
        if self.fill_reader is not None:
            return self.fill_reader(row, col)
        return self.fills.get((row, col))

    def cell(self, row: int, col: int) -> Any:
        state = self.__dict__
        rows: list[list[Any]] | None = state["_rows"]  # read directly: history and the work list ask per cell
        if rows is not None:
            if row < len(rows):
                line = rows[row]
                if col < len(line):
                    return line[col]
            return None
        columns: list[np.ndarray] = state["_columns"]
        return columns[col][row] if col < len(columns) and 0 <= row < state["_height"] else None

    def row(self, row: int) -> list[Any]:
        """One row's cells (ragged: trailing empties may be missing). Do not edit it."""
        state = self.__dict__
        if state["_rows"] is not None:
            return self.values[row] if row < len(self.values) else []
        if not 0 <= row < state["_height"]:
            return []
        columns: list[np.ndarray] = state["_columns"]
        widths: np.ndarray | None = state["_widths"]
        if widths is not None:
            return [col[row] for col in columns[: int(widths[row])]]
        line = [col[row] for col in columns]
        while line and line[-1] is None:
            line.pop()
        return line

    def column(self, col: int) -> np.ndarray:
        """Column ``col``, the header row included, as an object array ``height`` long (None = empty)."""
        columns: list[np.ndarray] | None = self.__dict__["_columns"]
        if columns is not None:
            return columns[col] if col < len(columns) else np.full(self.height, None, dtype=object)
        out = np.empty(len(self.values), dtype=object)
        out[:] = [line[col] if col < len(line) else None for line in self.values]
        return out

    def fill_column(self, col: int) -> np.ndarray:
        """The fills of column ``col`` (RRGGBB or None), header row included, ``height`` long."""
        height = self.height
        out = np.full(height, None, dtype=object)
        if self.fill_reader is not None:
            reader = self.fill_reader
            out[:] = [reader(r, col) for r in range(height)]
        elif len(self.fills) < height:  # few fills (a first sync: none): walk them, not the rows
            for (r, c), color in self.fills.items():
                if c == col and 0 <= r < height:
                    out[r] = color
        else:
            get = self.fills.get
            out[:] = [get((r, col)) for r in range(height)]
        return out

    @property
    def width(self) -> int:
        """Columns in use: one past the last column any row reaches (empties included for columns)."""
        state = self.__dict__
        if state["_rows"] is None:
            widths: np.ndarray | None = state["_widths"]
            return int(widths.max(initial=0)) if widths is not None else len(state["_columns"])
        return max((len(line) for line in self.values), default=0)

    @property
    def header(self) -> list[Any]:
        return self.row(0) if self.height else []

    @property
    def height(self) -> int:
        state = self.__dict__
        rows: list[list[Any]] | None = state["_rows"]
        return len(rows) if rows is not None else int(state["_height"])


@dataclass
class Snapshot:
    """Everything a sync reads, in one consistent picture."""

    tabs: dict[str, TabData]
    #: IANA zone of the spreadsheet (Google) or None (local: configured/machine).
    time_zone: str | None = None
    #: Locale like "en_US" / "ru_RU": decides dd/mm vs mm/dd in text dates.
    locale: str | None = None
    title: str = ""
    #: Backend-specific token to detect edits between read and write.
    version: Any = None


@dataclass(frozen=True, slots=True)
class CellChange:
    """Set a tool-owned cell's value and/or fill. KEEP leaves that part alone.

    ``fill`` None clears the background; ``number_format`` is applied with the
    value (dates need one so they show as dates).
    """

    tab: str
    row: int
    col: int
    value: Any = KEEP
    fill: Any = KEEP
    number_format: str | None = None


@dataclass(frozen=True, eq=False)
class ChangeBlock:
    """The changes to one column of one tab, compactly: what :func:`~sheets_crm.core.diff.diff` builds.

    ``rows`` ascends; ``values``/``fills``/``formats`` are object arrays aligned with it, holding
    what one :class:`CellChange` per row would (KEEP where that part stays). A first sync of
    100 000 leads is a dozen blocks, not a million objects; :meth:`cells` expands them when a
    writer asks for cell changes, :meth:`runs` gives the contiguous stretches of rows.
    """

    tab: str
    col: int
    rows: np.ndarray
    values: np.ndarray
    fills: np.ndarray
    formats: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def cells(self) -> Iterator[CellChange]:
        tab, col = self.tab, self.col
        for row, value, fill, fmt in zip(
            self.rows.tolist(), self.values.tolist(), self.fills.tolist(), self.formats.tolist(), strict=True
        ):
            yield CellChange(tab, row, col, value, fill, fmt)

    def runs(self) -> list[tuple[int, int]]:
        """(start, stop) positions in ``rows`` of each stretch of consecutive rows."""
        if not len(self.rows):
            return []
        breaks = np.flatnonzero(np.diff(self.rows) != 1) + 1
        starts = [0, *breaks.tolist()]
        stops = [*breaks.tolist(), len(self.rows)]
        return list(zip(starts, stops, strict=True))


class _Changes:
    """``ChangeSet.changes``: a plain list of cell changes, expanded on first use from pending blocks."""

    def __get__(self, obj: ChangeSet | None, owner: type | None = None) -> list[CellChange]:
        if obj is None:
            return ()  # type: ignore[return-value]  # the dataclass default (hashable); __set__ makes it []
        pending: list[CellChange | ChangeBlock] | None = obj.__dict__.get("_pending")
        if pending:
            out: list[CellChange] = obj.__dict__["_changes"]
            for part in pending:
                if isinstance(part, ChangeBlock):
                    out.extend(part.cells())
                else:
                    out.append(part)
            obj.__dict__["_pending"] = None
        changes: list[CellChange] = obj.__dict__["_changes"]
        return changes

    def __set__(self, obj: ChangeSet, value: list[CellChange]) -> None:
        obj.__dict__["_changes"] = value if isinstance(value, list) else list(value)
        obj.__dict__["_pending"] = None


@dataclass
class ChangeSet:
    """All the writes of one sync, applied atomically by the backend.

    ``guard`` lists, per tab title, (row, col, expected value) cells the backend
    may re-check just before writing: if a person moved rows meanwhile, the
    write must not land on the wrong lead.

    ``changes`` is a list of :class:`CellChange`. :func:`lazy` builds a change set from
    :class:`ChangeBlock` s (and single changes) that stay compact until someone reads ``changes``.
    """

    changes: _Changes = _Changes()
    guard: dict[str, list[tuple[int, int, Any]]] = field(default_factory=dict)
    #: Tabs to create first when the workbook lacks them, title -> hidden (the tool's own History
    #: and state tabs). Their cells, headers included, are ordinary :class:`CellChange` s; rows
    #: appended to a tab are cell changes past its last used row.
    new_tabs: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def lazy(
        cls, parts: list[CellChange | ChangeBlock], guard: dict[str, list[tuple[int, int, Any]]] | None = None
    ) -> ChangeSet:
        """A change set whose ``changes`` are ``parts`` in order, blocks expanded only when read."""
        out = cls(changes=[], guard=guard or {})
        out.__dict__["_pending"] = [p for p in parts if not isinstance(p, ChangeBlock) or len(p)]
        return out

    @property
    def blocks(self) -> list[ChangeBlock] | None:
        """The pending blocks (before ``changes`` was first read), else None."""
        pending: list[CellChange | ChangeBlock] | None = self.__dict__.get("_pending")
        return None if pending is None else [p for p in pending if isinstance(p, ChangeBlock)]

    def __bool__(self) -> bool:
        return len(self) > 0

    def __len__(self) -> int:
        pending: list[CellChange | ChangeBlock] | None = self.__dict__.get("_pending")
        if pending:
            return len(self.__dict__["_changes"]) + sum(len(p) if isinstance(p, ChangeBlock) else 1 for p in pending)
        return len(self.changes)

    def add(self, change: CellChange) -> None:
        """Append one change after all the others, leaving pending blocks compact."""
        pending: list[CellChange | ChangeBlock] | None = self.__dict__.get("_pending")
        if pending is not None:
            pending.append(change)
        else:
            self.changes.append(change)

    def extend(self, changes: Iterable[CellChange | ChangeBlock]) -> None:
        """Append changes (cells or blocks) after all the others, leaving pending blocks compact."""
        pending: list[CellChange | ChangeBlock] | None = self.__dict__.get("_pending")
        if pending is not None:
            pending.extend(p for p in changes if not isinstance(p, ChangeBlock) or len(p))
            return
        out = self.changes
        for part in changes:
            if isinstance(part, ChangeBlock):
                out.extend(part.cells())
            else:
                out.append(part)

    def parts(self) -> list[CellChange | ChangeBlock]:
        """The changes in order, blocks still compact (read-only: add with :meth:`add`)."""
        done: list[CellChange] = self.__dict__["_changes"]
        pending: list[CellChange | ChangeBlock] | None = self.__dict__.get("_pending")
        return [*done, *(pending or ())]

    def cells(self, tabs: Container[str] | None = None) -> Iterator[CellChange]:
        """The cell changes in order, only those of ``tabs`` when given, without expanding ``changes``:
        the blocks of other tabs are skipped whole."""
        for part in self.parts():
            if tabs is not None and part.tab not in tabs:
                continue
            if isinstance(part, ChangeBlock):
                yield from part.cells()
            else:
                yield part

    def by_tab(self) -> dict[str, list[CellChange]]:
        out: dict[str, list[CellChange]] = {}
        for change in self.changes:
            out.setdefault(change.tab, []).append(change)
        return out

    def parts_by_tab(self) -> dict[str, list[CellChange | ChangeBlock]]:
        """The parts of :meth:`parts` per tab (in their order), blocks still compact."""
        out: dict[str, list[CellChange | ChangeBlock]] = {}
        for part in self.parts():
            out.setdefault(part.tab, []).append(part)
        return out


@dataclass(frozen=True)
class Issue:
    """A warning about one cell (or row, or tab): where it is and what is wrong.

    ``row`` is the 1-based sheet row number as the person sees it (None for
    tab-level problems); ``column`` is the header text as found in the sheet.

    ``message`` is English. A catalog translates it by its key: ``msgid``, the message
    before its values went in (``{name}`` placeholders, filled from ``params``), or the
    message itself when it has no values. Make one with :meth:`of`; mark a message kept
    in a constant with :func:`N_` so the catalog finds it. The core never translates
    (no catalogs, no I/O): the command line does, with :meth:`text`.
    """

    tab: str
    row: int | None
    column: str | None
    value: Any
    message: str
    code: str = "warning"
    msgid: str = ""
    #: the message's values by name (not compared: ``message`` already holds them)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def of(
        cls, tab: str, row: int | None, column: str | None, value: Any, msgid: str, code: str, /, **params: Any
    ) -> Issue:
        """An issue whose message is ``msgid`` with ``params`` filled in (the catalog's key stays ``msgid``)."""
        return cls(tab, row, column, value, msgid.format(**_filled(params, None)), code, msgid, params)

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message in the language ``gettext`` speaks (English without one, or when it has no translation)."""
        key = self.msgid or self.message
        said = gettext(key) if gettext is not None else key
        if said == key:
            return self.message
        try:
            return said.format(**_filled(self.params, gettext)) if self.msgid else said
        except (KeyError, IndexError, ValueError):  # a translation naming a value the core did not pass
            return self.message

    def __str__(self) -> str:
        where = [self.tab]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        shown = "" if self.value is None else f": {_short(self.value)!r}"
        return f"{', '.join(where)}{shown} — {self.message}"

    def as_dict(self) -> dict[str, Any]:
        value = self.value
        if isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        return {
            "tab": self.tab,
            "row": self.row,
            "column": self.column,
            "value": value,
            "message": self.message,
            "code": self.code,
        }


@dataclass(frozen=True)
class Msg:
    """A part of an Issue's message with its own catalog key, given as a value of :meth:`Issue.of`
    (e.g. each reason two leads look like one client); a tuple of them reads as a "; "-joined list."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        said = gettext(self.msgid) if gettext is not None else self.msgid
        try:
            return said.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return self.msgid.format(**self.params)

    def __str__(self) -> str:
        return self.text()


def _filled(params: Mapping[str, Any], gettext: Callable[[str], str] | None) -> dict[str, Any]:
    """The values to put in a message: :class:`Msg` parts in the language of ``gettext``."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, Msg):
            value = value.text(gettext)
        elif isinstance(value, tuple) and value and all(isinstance(v, Msg) for v in value):
            value = "; ".join(v.text(gettext) for v in value)
        out[name] = value
    return out


def _short(value: Any, limit: int = 60) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


@dataclass(frozen=True)
class Call:
    """One line of Calls Today: a planned contact to make."""

    section: str  # overdue / today / upcoming
    date: dt.date
    days_overdue: int | None
    project: str
    contact: str
    phone: str
    topic: str
    last_result: str
    owner: str
    plan_row: int = 0  # 1-based row in Contact Plan, for stable ids

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "date": self.date.isoformat(),
            "days_overdue": self.days_overdue,
            "project": self.project,
            "contact": self.contact,
            "phone": self.phone,
            "topic": self.topic,
            "last_result": self.last_result,
            "owner": self.owner,
        }
