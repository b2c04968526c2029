"""The Google backend on the in-process stand-in, and the beginner's gspread baseline.

*Ours* is :class:`sheets_crm.backends.google.workbook.GoogleWorkbook` driven by
:func:`sheets_crm.app.sync.sync`. *The baseline* is the same sync written the way
gspread's documentation teaches it (:class:`BeginnerSync`): ``open_by_key``,
``worksheet(title)``, ``get_all_records()`` and ``row_values(1)`` per tab, then
one ``update_cell`` per changed cell and one ``format`` per changed row
(contiguous cells of one colour), through gspread's ``BackOffHTTPClient``. It
reuses our reading, planner and diff for *what* to write, so both compute the
same thing and only the I/O differs. ``get_all_records`` returns values only,
so the baseline cannot see colours already in the sheet: it re-applies every
coloured cell's colour at each sync (the one way its writes differ from ours).

Everything runs against :class:`google_standin.FakeGoogle`, which counts
requests and bytes; times include the stand-in's own work (parsing, applying
and rendering JSON, which real Google does on its side), reported separately
as ``standin_s``.

Unless ``faithful=True``, two of the stand-in's safety nets are switched off
for speed, neither of which changes a request, a byte or the client's work:
body validation against the discovery documents (the test suite does that),
and its copy-on-write (every write is applied to a copy of the whole
spreadsheet so a failed batch can roll back; nothing fails here, and at 100k
leads copying 7.4M cells for each of dozens of write requests would take the
stand-in tens of minutes).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sheets_crm.core.model import CellChange, ChangeSet, Snapshot, TabData
from sheets_crm.core.template import Template, default_template

from .generate import TODAY, Crm, generate, sheet_rows
from .measure import measure

__all__ = ["seed_spreadsheet", "BeginnerSync", "baseline_requests", "TASKS", "BASELINE_READS"]

#: open_by_key (1) + worksheet(title) ×3 + get_all_records ×3 + row_values(1) ×3.
BASELINE_READS = 10


# -- the stand-in --------------------------------------------------------------


def _fake(latency: float = 0.0, faithful: bool = False) -> Any:
    from google_standin import FakeGoogle

    # keep_log=False: a log of every request and response would be benchmark overhead.
    fake = FakeGoogle(account="service", keep_log=False, latency=latency, validate=faithful)
    _StandInClock(fake)
    return fake


@contextmanager
def _writes_in_place(faithful: bool) -> Iterator[None]:
    """Let the stand-in apply writes to the live spreadsheet instead of a copy."""
    from google_standin import Spreadsheet

    if faithful:
        yield
        return
    clone = Spreadsheet.clone
    Spreadsheet.clone = lambda self: self  # type: ignore[method-assign]
    try:
        yield
    finally:
        Spreadsheet.clone = clone  # type: ignore[method-assign]


class _StandInClock:
    """Time spent inside the stand-in (serving requests, incl. simulated latency)."""

    def __init__(self, fake: Any) -> None:
        self.seconds = 0.0
        send = fake.send

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return send(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        fake.send = timed  # requests calls adapter.send: the instance attribute wins
        fake.bench_clock = self


def seed_spreadsheet(
    fake: Any,
    crm: Crm,
    template: Template | None = None,
    lang: str = "en",
    *,
    owner: str | None = None,
    title: str = "Bench CRM",
    time_zone: str = "Europe/Moscow",
    locale: str = "en_GB",
) -> str:
    """The CRM as its owner would have typed it into a spreadsheet shared with us.

    Grids are as wide as the data (not Google's default 26 columns), so 100k
    leads stay under Google's 10-million-cell limit (about 7.4M cells).
    """
    rows = sheet_rows(crm, template, lang)
    return fake.add_spreadsheet(title, rows, time_zone=time_zone, locale=locale, owner=owner, cols=1)


def _request_stats(fake: Any, latency: float) -> dict[str, Any]:
    st = fake.stats
    standin = fake.bench_clock.seconds - latency * st.requests
    return {
        "requests": st.requests,
        "reads": st.reads,
        "writes": st.writes,
        "bytes_sent": st.bytes_sent,
        "bytes_received": st.bytes_received,
        "errors": st.errors,
        "by_method": dict(st.by_method),
        "standin_s": round(max(standin, 0.0), 3),
    }


def _reset(fake: Any) -> None:
    fake.reset_stats()
    fake.bench_clock.seconds = 0.0


# -- ours -----------------------------------------------------------------------


def _our_sync(fake: Any, sid: str, day: dt.date, latency: float) -> dict[str, Any]:
    from sheets_crm.app.sync import sync
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    workbook = GoogleWorkbook(sid, session=fake.session())
    _reset(fake)
    with measure() as ph:
        result = sync(workbook, today=day)
    ph.extra.update(_request_stats(fake, latency))
    ph.extra.update(
        changed_cells=result.changed_cells,
        written=result.written,
        calls=result.counts(),
        write_batches=result.stats.get("write_batches", 0),
    )
    return ph.as_dict()


def ours(
    n_leads: int,
    latency: float = 0.0,
    seed: int = 42,
    next_day: bool = True,
    baseline_counts: bool = False,
    faithful: bool = False,
) -> dict[str, Any]:
    """First sync, no-op second sync, and (``next_day``) the next morning's sync."""
    with _writes_in_place(faithful):
        return _ours(n_leads, latency, seed, next_day, baseline_counts, faithful)


def _ours(
    n_leads: int, latency: float, seed: int, next_day: bool, baseline_counts: bool, faithful: bool
) -> dict[str, Any]:
    logging.getLogger("sheets_crm").setLevel(logging.ERROR)  # the "write split" warning is counted instead
    fake = _fake(faithful=faithful)
    crm = generate(n_leads, seed)
    sid = seed_spreadsheet(fake, crm)
    del crm
    out: dict[str, Any] = {"n_leads": n_leads, "latency_s": latency}
    if baseline_counts:
        out["baseline_first"] = baseline_requests(fake, sid, TODAY)
    fake.latency = latency
    out["first"] = _our_sync(fake, sid, TODAY, latency)
    out["noop"] = _our_sync(fake, sid, TODAY, latency)
    if baseline_counts:
        fake.latency = 0.0
        out["baseline_noop"] = baseline_requests(fake, sid, TODAY)
        fake.latency = latency
    if next_day:
        out["next_day"] = _our_sync(fake, sid, TODAY + dt.timedelta(days=1), latency)
    return out


# -- the baseline -----------------------------------------------------------------


class BeginnerSync:
    """The CRM sync as a gspread beginner writes it (our planner decides *what*)."""

    def __init__(self, client: Any, spreadsheet_id: str, template: Template | None = None) -> None:
        self.gc = client
        self.sid = spreadsheet_id
        self.template = template or default_template()

    def read(self) -> tuple[Snapshot, dict[str, Any]]:
        from gspread.utils import ValueRenderOption

        sh = self.gc.open_by_key(self.sid)
        sheets = {tab.id: sh.worksheet(tab.names["en"]) for tab in self.template.tabs}
        tabs = {}
        for ws in sheets.values():
            # Unformatted, so dates come back as serial numbers like ours (not "20/11/2026").
            records = ws.get_all_records(value_render_option=ValueRenderOption.unformatted)
            header = ws.row_values(1)  # where each column is, for update_cell(row, col, ...)
            rows = [header, *([rec.get(h, "") for h in header] for rec in records)]
            tabs[ws.title] = TabData(ws.title, rows, ref=ws, grid_rows=ws.row_count, grid_cols=ws.col_count)
        return Snapshot(tabs, time_zone=sh.timezone, locale=sh.locale), sheets

    def run(self, today: dt.date) -> int:
        """One sync; returns the number of cells changed."""
        from sheets_crm.app.sync import compute

        snapshot, _ = self.read()
        changes = compute(snapshot, today, self.template).changes
        for op in plan_ops(changes, snapshot):
            op()
        return len(changes)


def plan_ops(changes: ChangeSet, snapshot: Snapshot) -> list[Callable[[], Any]]:
    """The beginner's writes: grow a tab that is too short, ``update_cell`` per
    changed value, ``format`` per run of same-coloured cells in a row."""
    ops: list[Callable[[], Any]] = []
    for title, tab_changes in changes.by_tab().items():
        if title not in snapshot.tabs:
            continue  # the tool's own History / state tabs (issue 11): a beginner's script keeps none
        tab = snapshot.tabs[title]
        ws = tab.ref
        need = max(ch.row for ch in tab_changes) + 1
        if tab.grid_rows and need > tab.grid_rows:
            ops.append(_call(ws, "add_rows", need - tab.grid_rows))
        for ch in tab_changes:
            if ch.value is not _keep():
                ops.append(_call(ws, "update_cell", ch.row + 1, ch.col + 1, _cell_value(ch.value)))
        for a1, color in _fill_runs(tab_changes):
            ops.append(_call(ws, "format", a1, {"backgroundColor": color}))
    return ops


def _keep() -> Any:
    from sheets_crm.core.model import KEEP

    return KEEP


def _call(ws: Any, name: str, *args: Any) -> Callable[[], Any]:
    return lambda: getattr(ws, name)(*args)


def _cell_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()  # USER_ENTERED: Google reads it as a date
    return value


def _fill_runs(changes: list[CellChange]) -> list[tuple[str, dict[str, float]]]:
    from gspread.utils import rowcol_to_a1

    from sheets_crm.backends.google.workbook import hex_to_color

    keep = _keep()
    by_row: dict[int, list[CellChange]] = {}
    for ch in changes:
        if ch.fill is not keep:
            by_row.setdefault(ch.row, []).append(ch)
    runs = []
    for r in sorted(by_row):
        line = sorted(by_row[r], key=lambda c: c.col)
        start = prev = line[0]
        for ch in [*line[1:], None]:
            if ch is not None and ch.col == prev.col + 1 and ch.fill == start.fill:
                prev = ch
                continue
            a1 = f"{rowcol_to_a1(r + 1, start.col + 1)}:{rowcol_to_a1(r + 1, prev.col + 1)}"
            color = hex_to_color(start.fill) if start.fill else {"red": 1.0, "green": 1.0, "blue": 1.0}
            runs.append((a1, color))
            if ch is not None:
                start = prev = ch
    return runs


def _stand_in_snapshot(fake: Any, sid: str, template: Template) -> Snapshot:
    """What the beginner's reads return, taken from the stand-in without HTTP."""
    ss = fake.spreadsheet(sid)
    tabs = {}
    for title in fake.tabs(sid):
        sheet = fake.sheet(sid, title)
        rows = fake.values(sid, title)
        tabs[title] = TabData(title, rows, ref=None, grid_rows=sheet.row_count, grid_cols=sheet.column_count)
    return Snapshot(tabs, time_zone=ss.properties.get("timeZone"), locale=ss.properties.get("locale"))


def baseline_requests(fake: Any, sid: str, today: dt.date, template: Template | None = None) -> dict[str, int]:
    """The baseline's exact request count for a sync of the sheet as it is now, computed
    (the same planning as :class:`BeginnerSync`, without sending anything)."""
    from sheets_crm.app.sync import compute

    template = template or default_template()
    snapshot = _stand_in_snapshot(fake, sid, template)
    changes = compute(snapshot, today, template).changes
    writes = len(plan_ops(changes, snapshot))  # built, never run
    return {
        "requests": BASELINE_READS + writes,
        "reads": BASELINE_READS,
        "writes": writes,
        "changed_cells": len(changes),
    }


def _baseline_sync(fake: Any, sid: str, day: dt.date, latency: float) -> dict[str, Any]:
    import gspread

    client = fake.client(http_client=gspread.BackOffHTTPClient)
    computed = baseline_requests(fake, sid, day)  # before the run: the sheet as the script will read it
    _reset(fake)
    with measure() as ph:
        changed = BeginnerSync(client, sid).run(day)
    ph.extra.update(_request_stats(fake, latency))
    ph.extra.update(changed_cells=changed, computed_requests=computed["requests"])
    return ph.as_dict()


def baseline(
    n_leads: int, latency: float = 0.0, seed: int = 42, verify: bool = False, faithful: bool = False
) -> dict[str, Any]:
    """The beginner's first and second sync; ``verify``: compare with ours cell by cell."""
    with _writes_in_place(faithful):
        return _baseline(n_leads, latency, seed, verify, faithful)


def _baseline(n_leads: int, latency: float, seed: int, verify: bool, faithful: bool) -> dict[str, Any]:
    logging.getLogger("sheets_crm").setLevel(logging.ERROR)
    fake = _fake(faithful=faithful)
    crm = generate(n_leads, seed)
    sid = seed_spreadsheet(fake, crm, title="Baseline")
    ours_sid = seed_spreadsheet(fake, crm, title="Ours") if verify else None
    del crm
    fake.latency = latency
    out: dict[str, Any] = {"n_leads": n_leads, "latency_s": latency}
    out["first"] = _baseline_sync(fake, sid, TODAY, latency)
    if verify:
        fake.latency = 0.0
        _our_sync(fake, ours_sid, TODAY, 0.0)
        out["verify"] = compare_sheets(fake, ours_sid, sid)
        fake.latency = latency
    out["noop"] = _baseline_sync(fake, sid, TODAY, latency)
    return out


def compare_sheets(fake: Any, a: str, b: str, template: Template | None = None) -> dict[str, Any]:
    """Values (unformatted: dates as serials) and fills of every cell of two spreadsheets."""
    template = template or default_template()
    cells = values_differ = fills_differ = 0
    examples: list[str] = []
    for title in fake.tabs(a):
        if title not in fake.tabs(b):
            continue  # the tool's own History / state tabs (issue 11): the beginner has none
        va, vb = fake.values(a, title), fake.values(b, title)
        height = max(len(va), len(vb))
        width = max([len(r) for r in va + vb] or [0])
        fa, fb = _fills(fake, a, title), _fills(fake, b, title)
        for r in range(height):
            for c in range(width):
                x = va[r][c] if r < len(va) and c < len(va[r]) else ""
                y = vb[r][c] if r < len(vb) and c < len(vb[r]) else ""
                cells += 1
                if x != y:
                    values_differ += 1
                    if len(examples) < 5:
                        examples.append(f"{title}!R{r + 1}C{c + 1}: {x!r} vs {y!r}")
                if fa.get((r, c)) != fb.get((r, c)):
                    fills_differ += 1
                    if len(examples) < 5:
                        examples.append(f"{title}!R{r + 1}C{c + 1} fill: {fa.get((r, c))} vs {fb.get((r, c))}")
    return {"cells": cells, "values_differ": values_differ, "fills_differ": fills_differ, "examples": examples}


def _fills(fake: Any, sid: str, title: str) -> dict[tuple[int, int], str]:
    from google_standin import color_to_hex

    sheet = fake.sheet(sid, title)
    out = {}
    for r, row in enumerate(sheet.rows):
        for c, cell in enumerate(row):
            color = ((cell or {}).get("userEnteredFormat") or {}).get("backgroundColor")
            hexed = color_to_hex(color) if color is not None else None
            if hexed and hexed != "#FFFFFF":  # white and no fill look the same
                out[(r, c)] = hexed
    return out


TASKS: dict[str, Callable[..., dict[str, Any]]] = {"google_ours": ours, "google_baseline": baseline}
