"""Backend-neutral data: what a workbook looks like, and what to change in it.

A backend turns its workbook into a :class:`Snapshot` and applies a
:class:`ChangeSet`; everything between (reading tables, planning, diffing) works
on these plain types and never sees openpyxl or gspread.

Coordinates are 0-based (row 0 is the header row); messages to users convert
to 1-based sheet row numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SECTIONS",
    "KEEP",
    "TabData",
    "Snapshot",
    "CellChange",
    "ChangeSet",
    "Issue",
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


@dataclass
class TabData:
    """One tab as read: raw cell values and the background fills we care about.

    ``values`` is ragged (trailing empties may be missing, as Google sends
    them). A value is None, str, int, float, bool, datetime.date/datetime
    (local files) or a serial day number (Google, for date cells).
    ``fills`` maps (row, col) to an upper-case RRGGBB string for cells with a
    solid background; backends fill it only for tabs they were asked for.
    """

    title: str
    values: list[list[Any]]
    fills: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Backend handle (e.g. Google sheetId); opaque to the core.
    ref: Any = None
    #: Grid size as the backend knows it (rows, cols); 0 = unknown/unbounded.
    grid_rows: int = 0
    grid_cols: int = 0
    #: Optional lazy source of fills (local files: read only the cells asked).
    fill_reader: Callable[[int, int], str | None] | None = field(default=None, repr=False)

    def fill(self, row: int, col: int) -> str | None:
        """The cell's solid background as RRGGBB, or None."""
        if self.fill_reader is not None:
            return self.fill_reader(row, col)
        return self.fills.get((row, col))

    def cell(self, row: int, col: int) -> Any:
        if row < len(self.values):
            line = self.values[row]
            if col < len(line):
                return line[col]
        return None

    @property
    def header(self) -> list[Any]:
        return self.values[0] if self.values else []

    @property
    def height(self) -> int:
        return len(self.values)


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


@dataclass(frozen=True)
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


@dataclass
class ChangeSet:
    """All the writes of one sync, applied atomically by the backend.

    ``guard`` lists, per tab title, (row, col, expected value) cells the backend
    may re-check just before writing: if a person moved rows meanwhile, the
    write must not land on the wrong lead.
    """

    changes: list[CellChange] = field(default_factory=list)
    guard: dict[str, list[tuple[int, int, Any]]] = field(default_factory=dict)
    #: Tabs to create first when the workbook lacks them, title -> hidden (the tool's own History
    #: and state tabs). Their cells, headers included, are ordinary :class:`CellChange` s; rows
    #: appended to a tab are cell changes past its last used row.
    new_tabs: dict[str, bool] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def by_tab(self) -> dict[str, list[CellChange]]:
        out: dict[str, list[CellChange]] = {}
        for change in self.changes:
            out.setdefault(change.tab, []).append(change)
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
        return cls(tab, row, column, value, msgid.format(**params), code, msgid, params)

    def text(self, gettext: Callable[[str], str] | None = None) -> str:
        """The message in the language ``gettext`` speaks (English without one, or when it has no translation)."""
        key = self.msgid or self.message
        said = gettext(key) if gettext is not None else key
        if said == key:
            return self.message
        try:
            return said.format(**self.params) if self.msgid else said
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


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for "mark, do not translate"
    """Mark ``message`` for the catalog without translating it (the core never translates)."""
    return message


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
