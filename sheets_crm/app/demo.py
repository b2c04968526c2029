"""A realistic sample studio CRM, generated relative to a given day.

Deterministic for a given (today, seed): the demo and the tests see the same
rows. A few rows are broken on purpose so the demo shows its warnings.

A demo file is only ever replaced while it is exactly as the demo left it: its
SHA-256 is kept in a small hidden file beside it (``.NAME.demo-sha256``, see
:func:`remember_demo`). A file the person changed, or any other file at that
path, is kept and the demo goes to a new name (:func:`free_demo_path`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path
from typing import Any

import openpyxl

from sheets_crm.backends.local.workbook import create_workbook, save_atomically
from sheets_crm.core.layout import build_layout
from sheets_crm.core.template import Template, default_template
from sheets_crm.errors import WorkbookError

__all__ = ["demo_rows", "write_demo", "free_demo_path", "remember_demo", "is_untouched_demo"]

_COMPANIES = [
    "Northwind Bakery",
    "Blue Fern Dental",
    "Atlas Logistics",
    "Kite & Key Realty",
    "Pine Hill School",
    "Orbit Fitness",
    "Copperleaf Cafe",
    "Harbor Vets",
    "Nimbus Legal",
    "Sunrise Yoga",
    "Delta Print Shop",
    "Maple Auto Care",
    "Quartz Jewelers",
    "Riverbend Hotel",
    "Solstice Spa",
    "TerraBuild",
    "Urban Sprout Market",
    "Vela Travel",
    "Willow Clinic",
    "Zenith Insurance",
    "Brightside Tutors",
    "Cobalt Brewing",
    "Evergreen Florist",
    "Foxglove Books",
    "Granite Gym",
    "Helix Labs",
    "Ironwood Furniture",
    "Juniper Kids Club",
    "Lumen Optics",
]
_PEOPLE = [
    "Olivia Park",
    "Liam Chen",
    "Emma Novak",
    "Noah Ivanov",
    "Ava Rossi",
    "Lucas Meyer",
    "Mia Kowalski",
    "Ethan Silva",
    "Sofia Petrova",
    "Mason Clark",
]
_OWNERS = ["Anna", "Ivan", "Maria"]
_SOURCES = ["Website", "Referral", "Cold call", "Conference", "Instagram"]
_TOPICS = [
    "Intro call",
    "Send proposal",
    "Follow up on proposal",
    "Demo of the prototype",
    "Discuss budget",
    "Contract review",
    "Kick-off meeting",
    "Check in after launch",
]
_RESULTS = [
    "Interested, wants a proposal",
    "No answer, try again",
    "Asked for a discount",
    "Liked the demo",
    "Needs approval from the boss",
    "Agreed on scope",
    "Not now, call in a month",
]
_STAGES = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def demo_rows(
    today: dt.date, lang: str = "en", seed: int = 7, template: Template | None = None
) -> dict[str, list[list[Any]]]:
    """Rows (without headers) for the leads and plan tabs, keyed by tab id."""
    template = template or default_template()
    rng = random.Random(seed)
    stage_label = {s.labels["en"]: s.labels[lang] for s in template.stages}
    status = {k: template.status_label(k, lang) for k in ("open", "done", "cancelled")}
    leads: list[list[Any]] = []
    plan: list[list[Any]] = []
    for i, company in enumerate(_COMPANIES):
        stage = _STAGES[min(i * len(_STAGES) // len(_COMPANIES), len(_STAGES) - 1)]
        person = _PEOPLE[i % len(_PEOPLE)]
        phone = f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}"
        email = person.split()[0].lower() + "@" + company.split()[0].lower().strip("&") + ".example"
        owner = _OWNERS[i % len(_OWNERS)]
        leads.append([company, person, phone, email, stage_label[stage], owner, rng.choice(_SOURCES), ""])
        # Past contacts: most leads were contacted, a few never.
        if i % 9 != 4:
            for _ in range(rng.randint(2, 5)):
                day = today - dt.timedelta(days=rng.randint(0, 60))
                kind = "cancelled" if rng.random() < 0.12 else "done"
                plan.append(
                    [
                        company,
                        day,
                        rng.choice(_TOPICS),
                        status[kind],
                        rng.choice(_RESULTS) if kind == "done" else "",
                        owner,
                    ]
                )
        # Planned contacts: some forgotten in the past, some today, some ahead.
        if stage not in ("Won", "Lost") or i % 2:
            for _ in range(rng.randint(1, 3)):
                day = today + dt.timedelta(days=rng.randint(-6, 14))
                plan.append(
                    [
                        company,
                        day,
                        rng.choice(_TOPICS),
                        status["open"] if rng.random() < 0.8 else "",
                        "",
                        owner if rng.random() < 0.7 else "",
                    ]
                )
    rng.shuffle(plan)
    plan.sort(key=lambda row: row[1])
    # Deliberately broken rows, so the demo shows what warnings look like.
    plan.append(["Northwind Bakery", "31.02.2026", "Call about invoice", status["open"], "", "Anna"])
    plan.append(["Blue Fern Dental", today - dt.timedelta(days=2), "Pricing call", "Call back?", "", "Ivan"])
    plan.append(["Atlas Logistic", today, "Send the contract", status["open"], "", "Maria"])
    plan.append(["Copperleaf Cafe", today, "Menu design", status["open"], "", "Anna"])
    leads.append(
        ["Orbit Fitness", "Second contact", "", "", stage_label["New"], "Ivan", "Referral", "duplicate row on purpose"]
    )
    return {"leads": leads, "plan": plan}


def write_demo(
    path: str | Path, today: dt.date, lang: str = "en", seed: int = 7, template: Template | None = None
) -> Path:
    """Create the demo workbook at ``path`` (replacing an older demo file nobody changed; any other file
    there is refused: pick the path with :func:`free_demo_path`)."""
    template = template or default_template()
    path = Path(path)
    if path.exists() and not is_untouched_demo(path):
        raise WorkbookError(f"{path} is not a demo file as the demo left it; it was not overwritten")
    path = create_workbook(path, build_layout(template, lang), overwrite=True)
    book = openpyxl.load_workbook(path)
    rows = demo_rows(today, lang, seed, template)
    for tab_id, data in rows.items():
        ws = book[template.tab(tab_id).names[lang]]
        date_cols = [i for i, c in enumerate(template.tab(tab_id).columns) if c.type == "date"]
        for row in data:
            ws.append(row)
            for i in date_cols:
                ws.cell(ws.max_row, i + 1).number_format = template.settings.date_format
    save_atomically(book, path)
    return path


def _sidecar(path: Path) -> Path:
    return path.with_name(f".{path.name}.demo-sha256")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_untouched_demo(path: Path) -> bool:
    """Whether ``path`` is a demo file exactly as the demo left it."""
    try:
        return _sidecar(path).read_text(encoding="ascii").strip() == _digest(path)
    except (OSError, UnicodeDecodeError):
        return False


def remember_demo(path: Path) -> None:
    """Note the finished demo file's hash, so a later demo may replace it only while nobody changed it."""
    try:
        _sidecar(path).write_text(_digest(path) + "\n", encoding="ascii")
    except OSError:
        pass  # without the note a later demo picks a new name rather than overwrite: the safe side


def free_demo_path(path: str | Path) -> Path:
    """``path`` when it is free or an untouched demo; else the first free ``NAME-2.xlsx``, ``NAME-3.xlsx``..."""
    path = Path(path)
    if not path.exists() or is_untouched_demo(path):
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists() or is_untouched_demo(candidate):
            return candidate
        n += 1
