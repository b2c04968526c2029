"""Synthetic CRMs for the benchmarks: N leads, 10 contact-plan rows per lead.

Deterministic for a given (n_leads, seed, today): the same rows every run, so
results are comparable between machines and commits. The mix is meant to look
like a studio's real sheet after some months of use:

* stages: New 25 %, Qualified 20 %, Proposal 15 %, Negotiation 10 %, Won 15 %,
  Lost 15 %; 8 managers; 6 sources; a quarter of leads with notes;
* open deals: 7 past contacts (up to 150 days ago: 78 % Done, 10 % Cancelled,
  12 % still open = forgotten/overdue) and 3 planned ones (2 days ago to 3
  weeks ahead), about 3 % of open deals never contacted at all;
* closed deals (Won/Lost): 10 past contacts, Done or Cancelled;
* plan status spellings: mostly the template's labels, some empty (= open),
  about 2 % synonyms and odd case/spacing ("done ", "Проведён", "completed");
* dates: 90 % real date cells, 5 % ISO text, 5 % ``dd.mm.yyyy`` text;
* plan rows in roughly chronological order (how a sheet grows), half of them
  with the manager filled in.

Writers: :func:`write_xlsx` (openpyxl write-only mode, the same layout as
``sheets-crm init``) and :func:`seed_google` (the in-process Google stand-in).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sheets_crm.core.layout import build_layout
from sheets_crm.core.model import Snapshot, TabData
from sheets_crm.core.template import Template, default_template

__all__ = ["Crm", "generate", "write_xlsx", "seed_google", "TODAY", "PLAN_PER_LEAD", "sheet_rows", "snapshot"]

#: The fixed "today" of every benchmark sync (dates are generated around it).
TODAY = dt.date(2026, 11, 22)
PLAN_PER_LEAD = 10

_WORDS_A = [
    "Northwind",
    "Blue Fern",
    "Atlas",
    "Kite & Key",
    "Pine Hill",
    "Orbit",
    "Copperleaf",
    "Harbor",
    "Nimbus",
    "Sunrise",
    "Delta",
    "Maple",
    "Quartz",
    "Riverbend",
    "Solstice",
    "Terra",
    "Urban Sprout",
    "Vela",
    "Willow",
    "Zenith",
    "Brightside",
    "Cobalt",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Helix",
    "Ironwood",
    "Juniper",
    "Lumen",
    "Белый Кит",
    "Север",
    "Ладога",
]
_WORDS_B = [
    "Bakery",
    "Dental",
    "Logistics",
    "Realty",
    "School",
    "Fitness",
    "Cafe",
    "Vets",
    "Legal",
    "Yoga",
    "Print Shop",
    "Auto Care",
    "Jewelers",
    "Hotel",
    "Spa",
    "Build",
    "Market",
    "Travel",
    "Clinic",
    "Insurance",
    "Tutors",
    "Brewing",
    "Florist",
    "Books",
    "Gym",
    "Labs",
    "Furniture",
    "Kids Club",
]
_FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Lucas",
    "Mia",
    "Ethan",
    "Sofia",
    "Mason",
    "Анна",
    "Игорь",
    "Мария",
    "Павел",
    "Ольга",
    "Дмитрий",
]
_LAST = [
    "Park",
    "Chen",
    "Novak",
    "Ivanov",
    "Rossi",
    "Meyer",
    "Kowalski",
    "Silva",
    "Petrova",
    "Clark",
    "Смирнов",
    "Кузнецова",
    "Попов",
    "Соколова",
]
_OWNERS = ["Anna", "Ivan", "Maria", "Petr", "Olga", "Sergey", "Elena", "Dmitry"]
_SOURCES = ["Website", "Referral", "Cold call", "Conference", "Instagram", "Partner"]
_NOTES = [
    "big one",
    "call after 3 pm",
    "prefers email",
    "budget approved in Q1",
    "friend of Ivan",
    "decision maker is the CFO",
    "wants a discount",
    "competitor is cheaper",
]
_TOPICS = [
    "Intro call",
    "Send proposal",
    "Follow up on proposal",
    "Demo of the prototype",
    "Discuss budget",
    "Contract review",
    "Kick-off meeting",
    "Check in after launch",
    "Invoice reminder",
    "Upsell support",
]
_RESULTS = [
    "Interested, wants a proposal",
    "No answer, try again",
    "Asked for a discount",
    "Liked the demo",
    "Needs approval from the boss",
    "Agreed on scope",
    "Not now, call in a month",
    "Sent the contract",
    "Signed",
    "Went silent",
]
_STAGES = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
_STAGE_P = [0.25, 0.20, 0.15, 0.10, 0.15, 0.15]
_ODD_DONE = ["done", "Done ", "Проведён", "completed", "DONE"]
_ODD_CANCELLED = ["cancelled", "Canceled", "Отменён"]


@dataclass
class Crm:
    """User-typed rows (no header, no tool columns) for Leads and Contact Plan."""

    n_leads: int
    seed: int
    today: dt.date
    #: Project, Contact, Phone, Email, Stage, Owner, Source, Notes
    leads: list[list[Any]]
    #: Project, Date, Topic, Status, Result, Owner
    plan: list[list[Any]]

    @property
    def plan_rows(self) -> int:
        return len(self.plan)


def generate(n_leads: int, seed: int = 42, today: dt.date = TODAY, plan_per_lead: int = PLAN_PER_LEAD) -> Crm:
    """A CRM of ``n_leads`` leads and ``plan_per_lead`` plan rows each (deterministic)."""
    rng = np.random.default_rng([seed, n_leads])
    n = n_leads
    idx = np.arange(n)

    # -- leads ------------------------------------------------------------------
    wa = rng.integers(0, len(_WORDS_A), n)
    wb = rng.integers(0, len(_WORDS_B), n)
    projects = [
        f"{_WORDS_A[a]} {_WORDS_B[b]} {i + 1}" for a, b, i in zip(wa.tolist(), wb.tolist(), idx.tolist(), strict=False)
    ]
    first = rng.integers(0, len(_FIRST), n).tolist()
    last = rng.integers(0, len(_LAST), n).tolist()
    contacts = [f"{_FIRST[f]} {_LAST[s]}" for f, s in zip(first, last, strict=False)]
    digits = rng.integers(0, 10**9, n).tolist()
    phones = [f"+7 9{d // 10**7:02d} {d // 10**4 % 1000:03d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in digits]
    emails = [
        f"{_FIRST[f].lower()}{i + 1}@client{i + 1}.example" if f < 10 else ""
        for f, i in zip(first, idx.tolist(), strict=False)
    ]
    stage_i = rng.choice(len(_STAGES), n, p=_STAGE_P)
    stages = [_STAGES[s] for s in stage_i.tolist()]
    owner_i = rng.integers(0, len(_OWNERS), n)
    owners = [_OWNERS[o] for o in owner_i.tolist()]
    sources = [_SOURCES[s] for s in rng.integers(0, len(_SOURCES), n).tolist()]
    has_note = rng.random(n) < 0.25
    notes = [
        _NOTES[k] if h else ""
        for h, k in zip(has_note.tolist(), rng.integers(0, len(_NOTES), n).tolist(), strict=False)
    ]
    leads = [list(r) for r in zip(projects, contacts, phones, emails, stages, owners, sources, notes, strict=False)]

    # -- plan ---------------------------------------------------------------------
    k = plan_per_lead
    lead_of = np.repeat(idx, k)
    slot = np.tile(np.arange(k), n)
    closed = np.isin(stage_i, [4, 5])[lead_of]
    never = (rng.random(n) < 0.03)[lead_of] & ~closed
    planned_slot = (slot >= k - 3) & ~closed  # the last 3 slots of an open deal are plans
    past = ~planned_slot & ~never

    m = n * k
    offset = np.where(past, -rng.integers(1, 151, m), rng.integers(-2, 22, m))
    u = rng.random(m)
    # 0 open, 1 done, 2 cancelled
    kind = np.zeros(m, dtype=np.int8)
    kind[past & closed] = np.where(u[past & closed] < 0.85, 1, 2)
    open_past = past & ~closed
    kind[open_past] = np.select([u[open_past] < 0.78, u[open_past] < 0.88], [1, 2], 0)
    odd = rng.random(m) < 0.02
    blank_status = rng.random(m) < 0.3
    status_pick = rng.integers(0, 5, m)
    statuses = []
    for kd, o, b, p in zip(kind.tolist(), odd.tolist(), blank_status.tolist(), status_pick.tolist(), strict=False):
        if kd == 1:
            statuses.append(_ODD_DONE[p] if o else "Done")
        elif kd == 2:
            statuses.append(_ODD_CANCELLED[p % 3] if o else "Cancelled")
        else:
            statuses.append("" if b else ("planned" if o else "Planned"))
    topics = [_TOPICS[t] for t in rng.integers(0, len(_TOPICS), m).tolist()]
    result_pick = rng.integers(0, len(_RESULTS), m).tolist()
    results = [_RESULTS[r] if kd == 1 else "" for r, kd in zip(result_pick, kind.tolist(), strict=False)]
    with_owner = rng.random(m) < 0.5
    plan_owner = [owners[li] if w else "" for li, w in zip(lead_of.tolist(), with_owner.tolist(), strict=False)]
    date_form = rng.random(m)
    days = [today + dt.timedelta(days=o) for o in offset.tolist()]
    dates: list[Any] = []
    for d, f in zip(days, date_form.tolist(), strict=False):
        if f < 0.90:
            dates.append(d)
        elif f < 0.95:
            dates.append(d.isoformat())
        else:
            dates.append(d.strftime("%d.%m.%Y"))
    # Roughly chronological: how rows accumulate when people plan contacts.
    order = np.lexsort((rng.random(m), offset + rng.integers(-10, 11, m)))
    lead_list = lead_of.tolist()
    plan = [
        [projects[lead_list[i]], dates[i], topics[i], statuses[i], results[i], plan_owner[i]] for i in order.tolist()
    ]
    return Crm(n_leads, seed, today, leads, plan)


def sheet_rows(crm: Crm, template: Template | None = None, lang: str = "en") -> dict[str, list[list[Any]]]:
    """Every tab's rows as a fresh CRM holds them (header first; tool columns empty)."""
    template = template or default_template()
    layout = {t.id: t for t in build_layout(template, lang)}
    return {
        layout["leads"].title: [[c.header for c in layout["leads"].columns], *crm.leads],
        layout["plan"].title: [[c.header for c in layout["plan"].columns], *crm.plan],
        layout["calls"].title: [[c.header for c in layout["calls"].columns]],
    }


def snapshot(crm: Crm, template: Template | None = None, lang: str = "en", columnar: bool = True) -> Snapshot:
    """The fresh CRM as a backend hands it to the core: by columns (the local reader's form), or by rows."""
    tabs: dict[str, TabData] = {}
    for title, rows in sheet_rows(crm, template, lang).items():
        if not columnar:
            tabs[title] = TabData(title, rows)
            continue
        width = max((len(line) for line in rows), default=0)
        columns = []
        for col in range(width):
            column = np.empty(len(rows), dtype=object)
            column[:] = [line[col] if col < len(line) else None for line in rows]
            columns.append(column)
        tabs[title] = TabData.from_columns(title, columns, len(rows))
    return Snapshot(tabs)


def write_xlsx(crm: Crm, path: str | Path, template: Template | None = None, lang: str = "en") -> Path:
    """The CRM as an .xlsx laid out like ``sheets-crm init`` (write-only mode: fast)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    template = template or default_template()
    path = Path(path)
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    data = {"leads": crm.leads, "plan": crm.plan, "calls": []}

    def fill(color: str) -> PatternFill:
        return PatternFill(fill_type="solid", start_color="FF" + color, end_color="FF" + color)

    for tab in build_layout(template, lang):
        ws = book.create_sheet(tab.title)
        ws.freeze_panes = "A2"
        date_cols = []
        for i, col in enumerate(tab.columns, start=1):
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = col.width
            body = f"{letter}2:{letter}10000"
            if col.type == "date":
                date_cols.append(i - 1)
            if col.choices:
                dv = DataValidation(
                    type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True, showErrorMessage=False
                )
                dv.add(body)
                ws.data_validations.append(dv)
            for text, color in col.highlights:
                ws.conditional_formatting.add(
                    body, CellIsRule(operator="equal", formula=[f'"{text}"'], fill=fill(color))
                )
        ws.append(_header_cells(ws, tab, bold, fill))
        fmt = tab.date_format
        for row in data[tab.id]:
            out: list[Any] = list(row)
            for c in date_cols:
                v = out[c] if c < len(out) else None
                if isinstance(v, dt.date):
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = fmt
                    out[c] = cell
            ws.append(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _header_cells(ws: Any, tab: Any, bold: Any, fill: Any) -> list[Any]:
    """The header row as init writes it: bold, coloured by owner, a note on tool columns."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment

    header = []
    for col in tab.columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.font = bold
        color = tab.header_fill_tool if col.tool else tab.header_fill_user
        if color:
            cell.fill = fill(color)
        if col.tool and tab.id != "calls":
            cell.comment = Comment("Filled in by sheets-crm at every sync: edits here are overwritten.", "sheets-crm")
        header.append(cell)
    return header


def seed_google(
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
    """Create the CRM in the Google stand-in; returns the spreadsheet id.

    Implemented in :mod:`bench.google` (it needs the stand-in's seeding API).
    """
    from .google import seed_spreadsheet

    return seed_spreadsheet(fake, crm, template, lang, owner=owner, title=title, time_zone=time_zone, locale=locale)
