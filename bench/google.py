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
    fake.set_today(day)  # the sheet's own TODAY() (Days since contact is a formula)
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
    """Values (unformatted: dates as serials) and fills of every cell of two spreadsheets. Leads' fills
    are not compared: ours are conditional-format rules the sheet evaluates (no painted fill)."""
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
        if template.leads.matches(title):
            fa = fb = {}
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


# -- issue 13: the sync in its own process, the stand-in in another -----------------------------------------
#
#   python -m bench.google serve --leads N [--extra-rows R]   # the stand-in over HTTP; prints "PORT SID"
#   python -m bench.google sync --port P --sid SID --today D  # one sync; prints one JSON line
#
# The stand-in holds the whole spreadsheet (7.4M cells at 100k leads): serving it from a separate
# process keeps its memory out of the sync's peak, which is the sync process's own ru_maxrss.

_HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


def serve(n_leads: int, seed: int = 42, extra_rows: int = 0, port: int = 0, cell_limit: int | None = None) -> None:
    """Seed a CRM of ``n_leads`` (and an unrelated tab of ``extra_rows`` × 10) and serve it until killed.
    ``cell_limit`` replaces Google's 10-million-cell limit (to measure a CRM that would not fit).

    Control: ``POST /_bench/today?day=YYYY-MM-DD`` freezes the sheet's TODAY(); ``GET /_bench/stats``."""
    import http.server
    import json
    import sys
    from urllib.parse import parse_qs, urlsplit

    import requests

    fake = _fake()
    if cell_limit:
        from google_standin.sheets import models

        models.CELL_LIMIT = cell_limit
    Spreadsheet = __import__("google_standin", fromlist=["Spreadsheet"]).Spreadsheet
    Spreadsheet.clone = lambda self: self  # writes in place (see _writes_in_place): nothing fails here
    crm = generate(n_leads, seed)
    rows = sheet_rows(crm)
    if extra_rows:
        rows["Archive"] = [[f"c{c}" for c in range(10)]] + [
            [f"old row {r} col {c}" for c in range(10)] for r in range(extra_rows)
        ]
    sid = fake.add_spreadsheet("Bench CRM", rows, time_zone="Europe/Moscow", locale="en_GB", cols=1)
    del crm, rows
    fake.set_today(TODAY)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: bytes, ctype: str = "application/json; charset=UTF-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(size) if size else None
            url = urlsplit(self.path)
            if url.path == "/_bench/today":
                fake.set_today(dt.date.fromisoformat(parse_qs(url.query)["day"][0]))
                return self._answer(200, b"{}")
            if url.path == "/_bench/stats":
                st = fake.stats
                body = {"requests": st.requests, "bytes_sent": st.bytes_sent, "bytes_received": st.bytes_received}
                return self._answer(200, json.dumps(body).encode())
            host = self.headers.get("X-Bench-Host", _HOSTS[0])
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "x-bench-host")}
            prepared = requests.Request(self.command, host + self.path, headers=headers, data=data).prepare()
            resp = fake.send(prepared)
            self._answer(resp.status_code, resp.content, resp.headers.get("Content-Type", "application/json"))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's names

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(server.server_address[1], sid, flush=True)
    sys.stdout.close()
    server.serve_forever()


def _forwarding_session(port: int) -> Any:
    """A requests session sending every Google URL to the stand-in at ``port`` (same path and query)."""
    import requests
    from requests.adapters import HTTPAdapter

    class Forward(HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            for host in _HOSTS:
                if request.url.startswith(host):
                    request.url = f"http://127.0.0.1:{port}" + request.url[len(host) :]
                    request.headers["X-Bench-Host"] = host
                    break
            return super().send(request, *args, **kwargs)

    session = requests.Session()
    adapter = Forward()
    for host in _HOSTS:
        session.mount(host, adapter)
    return session


def fewest_bytes(changes: ChangeSet) -> int:
    """A floor for the bytes a write of ``changes`` needs: each changed cell's value in its most compact
    JSON form plus a separator (no coordinates, no wrappers, no colours)."""
    import json

    total = 0
    for ch in changes.changes:
        value = getattr(ch.value, "text", ch.value)  # a Formula: its text
        if value is None or value.__class__.__name__ == "_Keep":
            total += 1
            continue
        if isinstance(value, dt.date):
            value = (value - dt.date(1899, 12, 30)).days
        total += len(json.dumps(value, ensure_ascii=False, default=str).encode()) + 1
    return total


def _sheet_of(req: dict[str, Any]) -> Any:
    """The sheetId a batchUpdate request works on (None for spreadsheet-wide ones)."""
    body = next(iter(req.values()))
    if not isinstance(body, dict):
        return None
    for where in ("start", "range", "rule", "properties"):
        inner = body.get(where)
        if isinstance(inner, dict):
            if where == "rule":
                inner = (inner.get("ranges") or [{}])[0]
            if "sheetId" in inner:
                return inner["sheetId"]
    return body.get("sheetId")


def payload_breakdown(body: dict[str, Any], titles: dict[Any, str]) -> dict[str, int]:
    """A batchUpdate body's bytes per ``tab/request kind`` (compact JSON, as the client sends it), so a
    payload can be read: which tab and which kind of request the bytes go to. ``titles`` (sheetId → title)
    learns the tabs an ``addSheet`` adds, for the later batches of a split write."""
    import json

    out: dict[str, int] = {}
    for req in body.get("requests") or []:
        kind = next(iter(req))
        sheet = _sheet_of(req)
        if kind == "addSheet":  # a tab added in this very batch: its later requests name its new id
            props = (req[kind] or {}).get("properties") or {}
            titles[props.get("sheetId")] = props.get("title", "?")
        where = titles.get(sheet, str(sheet) if sheet is not None else "-")
        key = f"{where}/{kind}"
        out[key] = out.get(key, 0) + len(json.dumps(req, ensure_ascii=False, separators=(",", ":")).encode())
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def one_sync(
    port: int, sid: str, today: dt.date, breakdown: bool = False, cell_limit: int | None = None
) -> dict[str, Any]:
    """One sync through the forwarding session; what it cost. Run in a fresh process. ``breakdown``:
    also the write's bytes per tab and request kind (costs the measured sync a little time);
    ``cell_limit``: the sync's own check of Google's 10-million-cell limit moved (see :func:`serve`)."""
    import resource

    from sheets_crm.app.sync import sync
    from sheets_crm.backends.google import workbook as google_workbook
    from sheets_crm.backends.google.workbook import GoogleWorkbook

    if cell_limit:
        google_workbook.CELL_LIMIT = cell_limit

    logging.getLogger("sheets_crm").setLevel(logging.ERROR)
    written: list[int] = []
    parts: dict[str, int] = {}
    real_apply = GoogleWorkbook.apply

    def apply(self: Any, changes: ChangeSet, base: Snapshot) -> None:
        written.append(fewest_bytes(changes))
        if breakdown:
            titles: dict[Any, str] = {tab.ref: title for title, tab in base.tabs.items()}
            post = self.http.post_json

            def recording(url: str, body: Any, *args: Any, **kwargs: Any) -> Any:
                for key, size in payload_breakdown(body, titles).items():
                    parts[key] = parts.get(key, 0) + size
                return post(url, body, *args, **kwargs)

            self.http.post_json = recording
        real_apply(self, changes, base)

    GoogleWorkbook.apply = apply  # type: ignore[method-assign]
    workbook = GoogleWorkbook(sid, session=_forwarding_session(port))
    workbook.http.set_timeout((10.0, 600.0))  # the stand-in serves 100k leads slowly on a loaded machine
    t0 = time.perf_counter()
    result = sync(workbook, today=today)
    wall = time.perf_counter() - t0
    stats = workbook.stats()
    extra = {"payload": dict(sorted(parts.items(), key=lambda kv: -kv[1]))} if breakdown else {}
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "reads": stats["reads"],
        "writes": stats["writes"],
        "batches": stats["write_batches"],
        "split": bool(stats["split_writes"]),
        "bytes_sent": stats["bytes_sent"],
        "bytes_received": stats["bytes_received"],
        "changed_cells": result.changed_cells,
        "fewest_write_bytes": sum(written),
        # Bytes of the write(s) over the floor for the same changes (reads send no body).
        "write_ratio": round(stats["bytes_sent"] / sum(written), 2) if sum(written) else None,
        **extra,
    }


def scenarios(
    n_leads: int, seed: int = 42, unrelated_rows: int = 0, breakdown: bool = False, cell_limit: int | None = None
) -> Iterator[dict[str, Any]]:
    """First, no-op and next-morning sync of ``n_leads``, each in a fresh process of its own against the
    stand-in served from another (``python -m bench.google serve``); one dict per sync, as it ends.
    Like ``python -m bench.run --json``, plus ``breakdown`` (the write's bytes per tab and request kind)
    and the stand-in's seeding time; ``cell_limit`` lifts Google's 10-million-cell limit in both processes
    (a CRM too big for one Google spreadsheet can still be measured: say so when quoting the numbers)."""
    import json
    import os
    import subprocess
    import sys
    import urllib.request

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "bench.google", "serve", "--leads", str(n_leads), "--seed", str(seed)]
    limit = ["--cell-limit", str(cell_limit)] if cell_limit else []
    t0 = time.perf_counter()
    server = subprocess.Popen(
        [*cmd, *limit, "--extra-rows", str(unrelated_rows)], stdout=subprocess.PIPE, text=True, cwd=root, env=env
    )
    try:
        assert server.stdout is not None
        port, sid = server.stdout.readline().split()
        seeded = round(time.perf_counter() - t0, 1)
        for scenario, day in (("first", TODAY), ("noop", TODAY), ("next_day", TODAY + dt.timedelta(days=1))):
            url = f"http://127.0.0.1:{port}/_bench/today?day={day.isoformat()}"
            urllib.request.urlopen(urllib.request.Request(url, method="POST")).read()  # the sheet's TODAY()
            sync = [sys.executable, "-m", "bench.google", "sync", "--port", port, "--sid", sid, "--today", str(day)]
            done = subprocess.run(
                sync + limit + (["--breakdown"] if breakdown else []), capture_output=True, text=True, cwd=root, env=env
            )
            if done.returncode:
                line: dict[str, Any] = {"error": done.stderr.strip().splitlines()[-3:]}
            else:
                line = json.loads(done.stdout.strip().splitlines()[-1])
            yield {
                "backend": "google",
                "leads": n_leads,
                "unrelated_rows": unrelated_rows,
                "sync": scenario,
                "seed_s": seeded,
                **line,
            }
    finally:
        server.kill()
        server.wait()


def _main(argv: list[str]) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.google")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--leads", type=int, required=True)
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--extra-rows", type=int, default=0)
    s.add_argument("--cell-limit", type=int, help="instead of Google's 10,000,000 cells per spreadsheet")
    c = sub.add_parser("sync")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--sid", required=True)
    c.add_argument("--today", default=TODAY.isoformat())
    c.add_argument("--breakdown", action="store_true", help="the write's bytes per tab and request kind")
    c.add_argument("--cell-limit", type=int, help="instead of Google's 10,000,000 cells per spreadsheet")
    r = sub.add_parser("run", help="serve N leads, then the first / no-op / next-day syncs: JSON lines")
    r.add_argument("--leads", type=int, required=True)
    r.add_argument("--seed", type=int, default=42)
    r.add_argument("--extra-rows", type=int, default=0)
    r.add_argument("--breakdown", action="store_true")
    r.add_argument("--cell-limit", type=int, help="instead of Google's 10,000,000 cells per spreadsheet")
    args = parser.parse_args(argv)
    if args.cmd == "run":
        for result in scenarios(args.leads, args.seed, args.extra_rows, args.breakdown, args.cell_limit):
            print(json.dumps(result), flush=True)
        return 0
    if args.cmd == "serve":
        serve(args.leads, args.seed, args.extra_rows, cell_limit=args.cell_limit)
        return 0
    line = one_sync(args.port, args.sid, dt.date.fromisoformat(args.today), args.breakdown, args.cell_limit)
    print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
