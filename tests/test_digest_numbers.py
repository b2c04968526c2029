"""Issue 14 item 5: the morning digest shows each manager's own numbers — done yesterday, due today, overdue,
leads with nothing planned — worked out by the sync (test_report's CRM, numbers counted by hand there).

Exact text in English and Russian, from a real sync of the workbook to the messages built from its result.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import header
from test_digest import digest_config
from test_report import LEADS, PLAN, _russian

from sheets_crm.app.digest import build_digests, deliver, numbers_lines
from sheets_crm.app.review import DayNumbers
from sheets_crm.app.sync import sync
from sheets_crm.backends.local.workbook import LocalWorkbook

DAY = dt.date(2026, 11, 24)  # Acme and Gamma were done on 11-23 (Anna), Acme Corp too (nobody's)


@pytest.fixture
def result(make_workbook) -> Any:
    path = make_workbook([row[:8] for row in LEADS], PLAN)
    return sync(LocalWorkbook(path), today=DAY, dry_run=True)


def _config() -> Any:
    return digest_config(owners={"Anna": ("anna@studio.example",), "Ivan": ("ivan@studio.example",)})


def test_the_sync_result_carries_every_managers_numbers(result):
    numbers = result.numbers
    assert numbers is not None
    got = {k: (n.done_yesterday, n.due_today, n.overdue, n.nothing_planned) for k, n in numbers.managers.items()}
    assert got == {"anna": (2, 1, 0, 1), "ivan": (0, 0, 1, 1), "petr": (0, 0, 0, 0), "": (1, 0, 0, 1)}
    assert numbers.team == DayNumbers("", 3, 1, 1, 3)


def test_english_messages_open_with_the_numbers(result):
    messages = {m.audience: m for m in build_digests(result.calls, _config(), today=DAY, numbers=result.numbers)}
    anna = messages["Anna"].text.splitlines()
    assert anna[:3] == [
        "Calls for Anna",
        "",
        "Yesterday done: 2 · due today: 1 · overdue: 0 · leads with nothing planned: 1",
    ]
    ivan = messages["Ivan"].text.splitlines()
    assert ivan[2] == "Yesterday done: 0 · due today: 0 · overdue: 1 · leads with nothing planned: 1"
    team = messages["team"].text.splitlines()
    assert team[:9] == [
        "Team calls",
        "",
        "Numbers per manager:",
        "  Manager     Done yesterday  Due today  Overdue  Nothing planned",
        "  Anna                     2          1        0                1",
        "  Ivan                     0          0        1                1",
        "  Petr                     0          0        0                0",
        "  (no owner)               1          0        0                1",
        "  Team                     3          1        1                3",
    ]
    assert team[9] == "" and team[10].startswith("Overdue (1)")
    html = messages["team"].html
    assert "<h3>Numbers per manager:</h3>" in html and "<td>(no owner)</td>" in html
    assert "Yesterday done: 2 · due today: 1" in messages["Anna"].html


def test_russian_messages_open_with_the_numbers(make_workbook, template):
    leads, plan = _russian([row[:8] for row in LEADS], PLAN)
    path = make_workbook(leads, plan, lang="ru", leads_header=header(template, "leads", "ru"))
    result = sync(LocalWorkbook(path), today=DAY, dry_run=True)
    config = digest_config(owners={"Anna": ("anna@studio.example",)}, lang="ru")
    messages = {m.audience: m for m in build_digests(result.calls, config, today=DAY, numbers=result.numbers)}
    assert messages["Anna"].text.splitlines()[:3] == [
        "Звонки: Anna",
        "",
        "Вчера проведено: 2 · на сегодня: 1 · просрочено: 0 · лидов без плана: 1",
    ]
    assert messages["team"].text.splitlines()[:9] == [
        "Звонки команды",
        "",
        "Цифры по менеджерам:",
        "  Менеджер         Проведено вчера  На сегодня  Просрочено  Без плана",
        "  Anna                           2           1           0          1",
        "  Ivan                           0           0           1          1",
        "  Petr                           0           0           0          0",
        "  (без менеджера)                1           0           0          1",
        "  Команда                        3           1           1          3",
    ]


def test_a_configured_owner_the_sheet_does_not_know_gets_zeros():
    from sheets_crm.app.review import DigestNumbers

    numbers = DigestNumbers({}, DayNumbers("", 0, 0, 0, 0))
    assert numbers_lines(numbers.of("Olga"), "en") == [
        "Yesterday done: 0 · due today: 0 · overdue: 0 · leads with nothing planned: 0",
        "",
    ]
    assert numbers_lines(None, "en") == []


def test_deliver_passes_the_results_numbers(result, monkeypatch):
    sent: list[Any] = []
    monkeypatch.setattr("sheets_crm.app.digest.send", lambda messages, config, **kw: sent.extend(messages) or 1)
    deliver(result, _config(), lang="en")
    assert "Numbers per manager:" in next(m for m in sent if m.audience == "team").text


def test_cli_digest_preview_shows_the_numbers(make_workbook, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sheets_crm.cli.main import app

    path = make_workbook([row[:8] for row in LEADS], PLAN)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.delenv("SHEETS_CRM_CONFIG", raising=False)
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "SHEETS_CRM_LANG": None, "LC_ALL": None, "LANG": None})
    result = runner.invoke(app, ["digest", str(path), "--today", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert (
        "Numbers per manager:\n"
        "  Manager     Done yesterday  Due today  Overdue  Nothing planned\n"
        "  Anna                     2          1        0                1\n"
    ) in result.stdout
