"""Benchmark: a 10k-row contact list imported into a CRM (run by hand; prints JSON lines).

    uv run python -m bench.import_bench [--rows 10000] [--leads 2000]

Local: the wall time of read_source + plan + one write of a .xlsx. Google (the offline
stand-in): the number of HTTP requests, which must not grow with the file.
Every tenth row repeats an existing lead's phone written another way, every twentieth
an earlier row of the file, so de-duplication does real work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

TODAY = dt.date(2026, 11, 22)


def leads(n: int) -> list[list[object]]:
    return [
        [
            f"Existing {i}",
            f"Person {i}",
            f"+7 916 {i // 10000:03d}-{i % 10000 // 100:02d}-{i % 100:02d}",
            f"e{i}@x.ru",
            "New",
            "Anna",
            "",
            "",
        ]
        for i in range(n)
    ]


def export(rows: int, existing: int) -> str:
    lines = ["Компания;Контактное лицо;Телефон клиента;Email;Источник"]
    for i in range(rows):
        if i % 10 == 0 and existing:
            j = i % existing  # an existing lead's phone, written the 8 (…) way
            lines.append(f"Дубль {i};Кто-то;8 (916) {j // 10000:03d} {j % 10000 // 100:02d} {j % 100:02d};;Выставка")
        elif i % 20 == 5:
            lines.append(f"Повтор {i};;8-917-{(i - 1):07d} доб. 1;;")  # the row before, written another way
        else:
            lines.append(f"Компания {i};Имя {i};+7 917 {i:07d};c{i}@new.ru;Сайт")
    return "\r\n".join(lines) + "\r\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--leads", type=int, default=2_000)
    args = parser.parse_args()

    import openpyxl
    from conftest import make_snapshot  # noqa: F401  (tests/ on the path: the stand-in helpers)
    from test_google_e2e import seed, workbook

    from google_standin import FakeGoogle
    from sheets_crm.app.importing import read_source, run_import
    from sheets_crm.backends.local.workbook import LocalWorkbook, create_workbook, save_atomically
    from sheets_crm.core.layout import build_layout
    from sheets_crm.core.template import default_template

    tpl = default_template()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "export.csv"
        csv_path.write_bytes(export(args.rows, args.leads).encode("cp1251"))
        crm = create_workbook(Path(tmp) / "crm.xlsx", build_layout(tpl, "en"), overwrite=True)
        book = openpyxl.load_workbook(crm)
        ws = book["Leads"]
        for row in leads(args.leads):
            ws.append(row)
        save_atomically(book, crm)

        start = time.perf_counter()
        source = read_source(csv_path)
        read_s = time.perf_counter() - start
        done = run_import(LocalWorkbook(crm, locale="ru_RU"), source, [], template=tpl, today=TODAY)
        total = time.perf_counter() - start
        plan = done.plan
        print(
            json.dumps(
                {
                    "backend": "local",
                    "rows": args.rows,
                    "leads": args.leads,
                    "new": len(plan.new),
                    "found": len(plan.found),
                    "read_s": round(read_s, 2),
                    "total_s": round(total, 2),
                    "changed_cells": done.changed_cells,
                }
            )
        )

        fake = FakeGoogle()
        sid = seed(fake, leads(args.leads), [], locale="ru_RU")
        gbook = workbook(fake, sid)
        start = time.perf_counter()
        done = run_import(gbook, source, [], template=tpl, today=TODAY)
        total = time.perf_counter() - start
        stats = gbook.stats()
        print(
            json.dumps(
                {
                    "backend": "google-standin",
                    "rows": args.rows,
                    "leads": args.leads,
                    "new": len(done.plan.new),
                    "requests": stats.get("requests"),
                    "write_batches": stats.get("write_batches"),
                    "total_s": round(total, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
