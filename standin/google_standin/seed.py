"""Test-side seeding and inspection of the fake's state (no HTTP, not counted).

Tests set up a spreadsheet the way its owner would have (typed values, dates,
sharing) and then assert on what the code under test left behind: values,
backgrounds, formats, validations, protections.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .core.a1 import cell_a1
from .drive.models import FOLDER_MIME, DriveFile
from .sheets.formula import FormulaContext
from .sheets.grid_ops import entered_cell, values_matrix
from .sheets.models import Sheet, Spreadsheet
from .sheets.ranges import resolve_range
from .sheets.render import cell_json

if TYPE_CHECKING:  # pragma: no cover
    from .state import State

SeedValue = str | int | float | bool | dt.date | dt.datetime | None
Tabs = Mapping[str, Iterable[Iterable[SeedValue]]] | Iterable[str]

DEFAULT_OWNER = "owner@example.com"


def color_to_hex(color: Mapping[str, float] | None) -> str | None:
    if color is None:
        return None
    return "#" + "".join(f"{round(float(color.get(k, 0)) * 255):02X}" for k in ("red", "green", "blue"))


def _typed_rows(data: list[list[SeedValue]], locale: str) -> list[list[Any]]:
    """Cells of a new, empty tab as if ``data`` were typed in (USER_ENTERED) — the same cells
    :func:`~google_standin.sheets.grid_ops.write_matrix` makes, made once per distinct value: a CRM
    repeats its owners, stages, statuses and topics, so 100k leads seed in seconds, not minutes.
    Equal cells share one dict: the stand-in treats stored cells as immutable (copy-on-write,
    see :func:`~google_standin.core.fieldmask.apply_update`)."""
    made: dict[tuple[type, SeedValue], dict[str, Any] | None] = {}
    rows: list[list[Any]] = []
    for line in data:
        out: list[Any] = []
        for value in line:
            if value is None or value == "":
                out.append(None)
                continue
            key = (type(value), value)
            if key not in made:
                made[key] = entered_cell(None, value, "USER_ENTERED", locale) or None
            out.append(made[key])
        rows.append(out)
    return rows


class SeedAndInspect:
    """Mixed into :class:`~google_standin.FakeGoogle`."""

    state: State

    # -- seeding ---------------------------------------------------------------------
    def add_spreadsheet(
        self,
        title: str = "CRM",
        tabs: Tabs | None = None,
        *,
        time_zone: str = "Etc/GMT",
        locale: str = "en_US",
        shared_with: Iterable[str] | None = None,
        owner: str | None = None,
        spreadsheet_id: str | None = None,
        parents: Iterable[str] | None = None,
        rows: int = 1000,
        cols: int = 26,
    ) -> str:
        """Create a spreadsheet as its owner would have; returns its id.

        ``tabs`` maps tab titles to rows of values, typed like USER_ENTERED
        (python ``date``/``datetime`` become serials with a DATE format).
        ``shared_with`` defaults to the fake's identity; pass ``[]`` (or other
        e-mails) for a spreadsheet the code under test may not open (403).
        """
        tab_rows: dict[str, list[list[SeedValue]]] = {}
        if tabs is None:
            tab_rows = {"Sheet1": []}
        elif isinstance(tabs, Mapping):
            tab_rows = {name: [list(r) for r in data] for name, data in tabs.items()}
        else:
            tab_rows = {name: [] for name in tabs}
        specs = []
        for i, (name, data) in enumerate(tab_rows.items()):
            width = max((len(r) for r in data), default=0)
            specs.append(
                {
                    "sheetId": 0 if i == 0 else None,
                    "title": name,
                    "gridProperties": {"rowCount": max(rows, len(data)), "columnCount": max(cols, width)},
                }
            )
        readers = [self.state.identity] if shared_with is None else list(shared_with)
        ss = self.state.create_spreadsheet(
            title,
            owner=owner or DEFAULT_OWNER,
            locale=locale,
            time_zone=time_zone,
            sheets=specs,
            parents=list(parents or []),
            file_id=spreadsheet_id,
            extra_readers=readers,
        )
        for sheet, data in zip(ss.sheets, tab_rows.values(), strict=False):
            sheet.rows = _typed_rows(data, ss.locale)
            sheet.trim()
        return ss.id

    def add_folder(self, name: str, *, shared_with: Iterable[str] | None = None, owner: str | None = None) -> str:
        """A Drive folder (e.g. one the owner shared with a service account)."""
        st = self.state
        f = DriveFile(st.new_file_id(), name, FOLDER_MIME, owner or DEFAULT_OWNER)
        f.permissions.append(st.permission("user", "owner", f.owner))
        for email in [st.identity] if shared_with is None else shared_with:
            if email.lower() != f.owner.lower():
                f.permissions.append(st.permission("user", "writer", email))
        st.files[f.id] = f
        return f.id

    # -- inspection ---------------------------------------------------------------------
    def spreadsheet(self, spreadsheet_id: str) -> Spreadsheet:
        return self.state.spreadsheets[spreadsheet_id]

    def file(self, file_id: str) -> DriveFile:
        return self.state.files[file_id]

    def sheet(self, spreadsheet_id: str, tab: str) -> Sheet:
        sheet = self.spreadsheet(spreadsheet_id).find_sheet(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {spreadsheet_id}")
        return sheet

    def tabs(self, spreadsheet_id: str) -> list[str]:
        return [s.title for s in self.spreadsheet(spreadsheet_id).sheets]

    def values(
        self,
        spreadsheet_id: str,
        tab: str,
        *,
        render: str = "UNFORMATTED_VALUE",
        dates: str = "SERIAL_NUMBER",
    ) -> list[list[Any]]:
        """The tab's values, trimmed like the API (dates as serial numbers by default)."""
        ss = self.spreadsheet(spreadsheet_id)
        sheet = self.sheet(spreadsheet_id, tab)
        return values_matrix(
            sheet,
            0,
            0,
            sheet.row_count,
            sheet.column_count,
            value_render=render,
            date_render=dates,
            locale=ss.locale,
            ctx=FormulaContext(ss, sheet),
        )

    def formatted(self, spreadsheet_id: str, tab: str) -> list[list[str]]:
        """What a person sees in the tab (FORMATTED_VALUE)."""
        return self.values(spreadsheet_id, tab, render="FORMATTED_VALUE")

    def _cell_pos(self, spreadsheet_id: str, tab: str, where: str | int, col: int | None) -> tuple[Sheet, int, int]:
        sheet = self.sheet(spreadsheet_id, tab)
        if isinstance(where, str):
            rng = resolve_range(self.spreadsheet(spreadsheet_id), f"'{tab.replace(chr(39), chr(39) * 2)}'!{where}")
            return sheet, rng.r0, rng.c0
        assert col is not None, "give (row, col) as 1-based numbers, or an A1 string"
        return sheet, where - 1, col - 1

    def cell(self, spreadsheet_id: str, tab: str, where: str | int, col: int | None = None) -> dict[str, Any]:
        """Full CellData of one cell (``"B3"`` or row, col 1-based): values, formats, note..."""
        sheet, r, c = self._cell_pos(spreadsheet_id, tab, where, col)
        ss = self.spreadsheet(spreadsheet_id)
        default = ss.properties.get("defaultFormat", {})
        return copy.deepcopy(cell_json(sheet.get(r, c), ss.locale, default, ctx=FormulaContext(ss, sheet)))

    def format(self, spreadsheet_id: str, tab: str, where: str | int, col: int | None = None) -> dict[str, Any]:
        """userEnteredFormat of one cell ({} when unformatted)."""
        sheet, r, c = self._cell_pos(spreadsheet_id, tab, where, col)
        return dict((sheet.get(r, c) or {}).get("userEnteredFormat") or {})

    def formats(self, spreadsheet_id: str, tab: str) -> dict[str, dict[str, Any]]:
        """userEnteredFormat of every formatted cell, keyed by A1 (``{"A2": {...}}``)."""
        sheet = self.sheet(spreadsheet_id, tab)
        out = {}
        for r, row in enumerate(sheet.rows):
            for c, cell in enumerate(row):
                if cell and cell.get("userEnteredFormat"):
                    out[cell_a1(r, c)] = cell["userEnteredFormat"]
        return out

    def background(self, spreadsheet_id: str, tab: str, where: str | int, col: int | None = None) -> str | None:
        """Fill colour of a cell as ``#RRGGBB``, or None when it has no fill of its own."""
        fmt = self.format(spreadsheet_id, tab, where, col)
        color = fmt.get("backgroundColor")
        if color is None and "backgroundColorStyle" in fmt:
            color = fmt["backgroundColorStyle"].get("rgbColor")
        return color_to_hex(color)

    def note(self, spreadsheet_id: str, tab: str, where: str | int, col: int | None = None) -> str | None:
        sheet, r, c = self._cell_pos(spreadsheet_id, tab, where, col)
        return (sheet.get(r, c) or {}).get("note")

    def validation(
        self, spreadsheet_id: str, tab: str, where: str | int, col: int | None = None
    ) -> dict[str, Any] | None:
        sheet, r, c = self._cell_pos(spreadsheet_id, tab, where, col)
        return (sheet.get(r, c) or {}).get("dataValidation")

    def protected_ranges(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        return self.sheet(spreadsheet_id, tab).protected_ranges

    def conditional_formats(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        return self.sheet(spreadsheet_id, tab).conditional_formats

    def merges(self, spreadsheet_id: str, tab: str) -> list[dict[str, Any]]:
        return self.sheet(spreadsheet_id, tab).merges

    def properties(self, spreadsheet_id: str) -> dict[str, Any]:
        return self.spreadsheet(spreadsheet_id).properties

    def sheet_properties(self, spreadsheet_id: str, tab: str) -> dict[str, Any]:
        return self.sheet(spreadsheet_id, tab).properties

    def permissions(self, file_id: str) -> list[dict[str, Any]]:
        return self.file(file_id).permissions

    def find(self, title: str) -> str | None:
        """Id of the (first) spreadsheet with this title, or None."""
        for sid, ss in self.state.spreadsheets.items():
            if ss.title == title:
                return sid
        return None
