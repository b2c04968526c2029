"""A realistic sample studio CRM, generated relative to a given day.

Deterministic for a given (today, seed): the demo and the tests see the same
rows. A few rows are broken on purpose so the demo shows its warnings.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import openpyxl

from sheets_crm.backends.local.workbook import create_workbook, save_atomically
from sheets_crm.core.layout import build_layout
from sheets_crm.core.template import Template, default_template

__all__ = ["demo_rows", "write_demo"]

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
    """Create the demo workbook at ``path`` (replacing an older demo file)."""
    template = template or default_template()
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
