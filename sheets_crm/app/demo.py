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
import re
from pathlib import Path
from typing import Any

import openpyxl

from sheets_crm.backends.local.workbook import create_workbook, save_atomically
from sheets_crm.core.layout import build_layout
from sheets_crm.core.template import Template, default_template
from sheets_crm.errors import WorkbookError

__all__ = ["demo_rows", "write_demo", "free_demo_path", "remember_demo", "is_untouched_demo"]

_EN: dict[str, Any] = {
    "companies": [
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
    ],
    "people": [
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
    ],
    "owners": ["Anna", "Ivan", "Maria"],
    "sources": ["Website", "Referral", "Cold call", "Conference", "Instagram"],
    "topics": [
        "Intro call",
        "Send proposal",
        "Follow up on proposal",
        "Demo of the prototype",
        "Discuss budget",
        "Contract review",
        "Kick-off meeting",
        "Check in after launch",
    ],
    "results": [
        "Interested, wants a proposal",
        "No answer, try again",
        "Asked for a discount",
        "Liked the demo",
        "Needs approval from the boss",
        "Agreed on scope",
        "Not now, call in a month",
    ],
    # the deliberately broken rows: (project, topic), odd status, misspelt project, duplicate lead
    "bad_date": ("Northwind Bakery", "Call about invoice"),
    "odd_status": ("Blue Fern Dental", "Pricing call", "Call back?"),
    "misspelt": ("Atlas Logistic", "Send the contract"),
    "today": ("Copperleaf Cafe", "Menu design"),
    "duplicate": ("Orbit Fitness", "Second contact", "Referral", "duplicate row on purpose"),
}

#: The same studio in Russian: names, people, topics and results as a Russian team writes them,
#: phones in the Russian format. The lists keep the English ones' lengths, so a seed gives the
#: same shape of week in both languages.
_RU: dict[str, Any] = {
    "companies": [
        "Пекарня «Северный ветер»",
        "Стоматология «Голубой папоротник»",
        "Атлас Логистика",
        "Агентство недвижимости «Ключ»",
        "Школа «Сосновый холм»",
        "Фитнес-клуб «Орбита»",
        "Кофейня «Медный лист»",
        "Ветклиника «Гавань»",
        "Юридическое бюро «Нимб»",
        "Йога-студия «Рассвет»",
        "Типография «Дельта»",
        "Автосервис «Клён»",
        "Ювелирный дом «Кварц»",
        "Отель «Излучина»",
        "Спа-салон «Солнцестояние»",
        "СтройТерра",
        "Фермерский рынок «Росток»",
        "Турагентство «Парус»",
        "Клиника «Ива»",
        "Страховая компания «Зенит»",
        "Репетиторский центр «Светоч»",
        "Пивоварня «Кобальт»",
        "Цветочная лавка «Вечнозелёный»",
        "Книжный магазин «Наперстянка»",
        "Спортзал «Гранит»",
        "Лаборатория «Спираль»",
        "Мебельная фабрика «Железное дерево»",
        "Детский клуб «Можжевельник»",
        "Салон оптики «Люмен»",
    ],
    "people": [
        "Ольга Смирнова",
        "Дмитрий Козлов",
        "Елена Новикова",
        "Никита Иванов",
        "Алла Соколова",
        "Леонид Мельников",
        "Марина Ковалёва",
        "Егор Сильвестров",
        "Софья Петрова",
        "Максим Фролов",
    ],
    "owners": ["Анна", "Иван", "Мария"],
    "sources": ["Сайт", "Рекомендация", "Холодный звонок", "Конференция", "Соцсети"],
    "topics": [
        "Знакомство",
        "Отправить предложение",
        "Обсудить предложение",
        "Показ прототипа",
        "Обсудить бюджет",
        "Согласование договора",
        "Стартовая встреча",
        "Как дела после запуска",
    ],
    "results": [
        "Интересно, ждут предложение",
        "Не дозвонились, перезвонить",
        "Просят скидку",
        "Понравилась демонстрация",
        "Нужно согласие руководителя",
        "Согласовали объём работ",
        "Не сейчас, позвонить через месяц",
    ],
    "bad_date": ("Пекарня «Северный ветер»", "Звонок по счёту"),
    "odd_status": ("Стоматология «Голубой папоротник»", "Звонок о цене", "Перезвонить?"),
    "misspelt": ("Атлас Логистик", "Отправить договор"),
    "today": ("Кофейня «Медный лист»", "Дизайн меню"),
    "duplicate": ("Фитнес-клуб «Орбита»", "Второй контакт", "Рекомендация", "дубль строки нарочно"),
}
_DATA = {"en": _EN, "ru": _RU}
_STAGES = ["New", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]


def _phone(rng: random.Random, lang: str) -> str:
    """A mobile number as people of ``lang`` write it (``+7 (916) 123-45-67`` in Russian)."""
    a, b, c, d = rng.randint(10, 99), rng.randint(100, 999), rng.randint(10, 99), rng.randint(10, 99)
    return f"+7 (9{a}) {b}-{c}-{d}" if lang == "ru" else f"+7 9{a} {b}-{c}-{d}"


def _email(person: str, company: str) -> str:
    """``olga@severnyi-veter.example``: the person's first name at the company's (transliterated) name."""
    from anyascii import anyascii

    quoted = re.search(r"«(.+?)»", company)
    name = quoted.group(1) if quoted else company.split()[0]
    slug = re.sub(r"[^a-z0-9]+", "-", anyascii(name).lower()).strip("-")
    return re.sub(r"[^a-z0-9]+", "", anyascii(person.split()[0]).lower()) + "@" + slug + ".example"


def demo_rows(
    today: dt.date, lang: str = "en", seed: int = 7, template: Template | None = None
) -> dict[str, list[list[Any]]]:
    """Rows (without headers) for the leads and plan tabs, keyed by tab id, in ``lang``'s words."""
    template = template or default_template()
    words = _DATA.get(lang, _EN)
    rng = random.Random(seed)
    stage_label = {s.labels["en"]: s.labels[lang] for s in template.stages}
    status = {k: template.status_label(k, lang) for k in ("open", "done", "cancelled")}
    companies, people, owners = words["companies"], words["people"], words["owners"]
    leads: list[list[Any]] = []
    plan: list[list[Any]] = []
    for i, company in enumerate(companies):
        stage = _STAGES[min(i * len(_STAGES) // len(companies), len(_STAGES) - 1)]
        person = people[i % len(people)]
        phone = _phone(rng, lang)
        owner = owners[i % len(owners)]
        source = rng.choice(words["sources"])
        leads.append([company, person, phone, _email(person, company), stage_label[stage], owner, source, ""])
        # Past contacts: most leads were contacted, a few never.
        if i % 9 != 4:
            for _ in range(rng.randint(2, 5)):
                day = today - dt.timedelta(days=rng.randint(0, 60))
                kind = "cancelled" if rng.random() < 0.12 else "done"
                topic = rng.choice(words["topics"])
                result = rng.choice(words["results"]) if kind == "done" else ""
                plan.append([company, day, topic, status[kind], result, owner])
        # Planned contacts: some forgotten in the past, some today, some ahead.
        if stage not in ("Won", "Lost") or i % 2:
            for _ in range(rng.randint(1, 3)):
                day = today + dt.timedelta(days=rng.randint(-6, 14))
                topic = rng.choice(words["topics"])
                planned = status["open"] if rng.random() < 0.8 else ""
                plan.append([company, day, topic, planned, "", owner if rng.random() < 0.7 else ""])
    rng.shuffle(plan)
    plan.sort(key=lambda row: row[1])
    # Deliberately broken rows, so the demo shows what warnings look like.
    anna, ivan, maria = owners
    plan.append([*words["bad_date"][:1], "31.02.2026", words["bad_date"][1], status["open"], "", anna])
    project, topic, odd = words["odd_status"]
    plan.append([project, today - dt.timedelta(days=2), topic, odd, "", ivan])
    plan.append([words["misspelt"][0], today, words["misspelt"][1], status["open"], "", maria])
    plan.append([words["today"][0], today, words["today"][1], status["open"], "", anna])
    project, contact, source, note = words["duplicate"]
    leads.append([project, contact, "", "", stage_label["New"], ivan, source, note])
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
