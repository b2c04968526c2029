"""Issue 16: everything the tool says about a Russian sheet is Russian — warnings, the doctor, --help.

The check is a word list: after taking out what is the sheet's own (its names, typed values) and
what is not a word of any language (paths, option names, codes), no Latin word may be left.
"""

from __future__ import annotations

import re

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from sheets_crm.cli.main import app
from sheets_crm.core.model import Issue

NO_LOCALE = dict.fromkeys(("SHEETS_CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "LANG"))
TODAY = "2026-11-22"

LEADS = [
    ["Ромашка", "Анна Петрова", "+7 916 000-00-01", "", "Предложение", "Анна", "", ""],
    ["Лютик", "Борис Иванов", "+7 916 000-00-02", "", "Новый", "Борис", "", ""],
    ["Василёк", "Вера Смирнова", "+7 916 000-00-03", "", "Проигран", "Анна", "", ""],
    ["Ромашка", "второй контакт", "", "", "Новый", "Борис", "", ""],  # duplicate project
    ["Одуванчик", "Дина Орлова", "8 (495) 000-00-04", "", "Новый", "Борис", "", ""],  # nothing planned
]
PLAN = [
    ["Ромашка", "20.11.2026", "Предложение", "Проведён", "Понравилось", "Анна"],
    ["Ромашка", "21.11.2026", "Перезвонить", "Запланирован", "", "Анна"],
    ["Лютик", "22.11.2026", "Знакомство", "", "", "Борис"],
    ["Лютик", "25.11.2026", "Демо", "Запланирован", "", "Борис"],
    ["Лютик", "31.02.2026", "Счёт", "Запланирован", "", "Борис"],  # not a date
    ["Лютик", "23.11.2026", "Цена", "Перезвонить?", "", "Борис"],  # unknown status
    ["Ромашко", "22.11.2026", "Договор", "Запланирован", "", "Анна"],  # unknown project (a typo)
    ["Василёк", "21.11.2026", "Итоги", "Запланирован", "", "Анна"],  # a Lost lead's open call
]


def _latin_words(text: str, *allowed: str) -> list[str]:
    for word in allowed:
        text = text.replace(word, "")
    return re.findall(r"[A-Za-z]{2,}", text)


@pytest.fixture
def ru_sheet(make_workbook):
    return make_workbook(LEADS, PLAN, lang="ru", name="ru.xlsx")


@pytest.mark.parametrize("width", [60, 120])
def test_sync_today_doctor_on_a_russian_sheet_speak_russian(ru_sheet, width):
    runner = CliRunner(env={"COLUMNS": str(width), **NO_LOCALE})
    runs = {
        "sync": runner.invoke(app, ["sync", str(ru_sheet), "--today", TODAY, "--dry-run"]),
        "today": runner.invoke(app, ["today", str(ru_sheet), "--today", TODAY]),
        "doctor": runner.invoke(app, ["doctor", str(ru_sheet), "--today", TODAY]),
    }
    for name, result in runs.items():
        assert result.exit_code in (0, 1), (name, result.output)
        text = re.sub(r"\S*\.xlsx", "", result.stdout)  # the path is the person's
        text = re.sub(r"то же название\s+\([^)]*\)", "", text)  # the name as compared: folded to Latin
        assert _latin_words(text) == [], (name, result.stdout)
    sync = re.sub(r"\s*\n\s*", " ", runs["sync"].stdout)  # wrapped lines joined
    # each of the frequent warnings is there, in Russian, with the sheet's own words
    assert "это не дата; строка пропущена" in sync
    assert "неизвестный статус; считается «Запланирован» (пишите «Проведен» или «Отменен»)" in sync
    assert "проекта нет во вкладке «Лиды»; может быть, «Ромашка»?" in sync
    assert "проект повторяется (он же в строке 2)" in sync
    assert "у закрытого лида есть открытый звонок" in sync
    assert "строка 6, столбец «Дата»: «31.02.2026»" in sync
    doctor = runs["doctor"].stdout
    assert doctor.startswith("Проверка:") and "Нераспознанные даты (1):" in doctor
    doctor = re.sub(r"\s*\n\s*", " ", doctor)
    assert "вероятно, один клиент в строках 2, 5: то же название (romashka)" in doctor
    assert "открытый лид («Новый») без запланированного контакта" in doctor


def test_the_same_sheet_in_english_words_is_unchanged(make_workbook):
    """English output stays exactly as before (the catalog is not in the way of the source language)."""
    path = make_workbook(
        [["Acme", "Ann", "", "", "New", "Ann", "", ""]], [["Acme", "31.02.2026", "Call", "Planned", "", "Ann"]]
    )
    result = CliRunner(env={"COLUMNS": "200", **NO_LOCALE}).invoke(app, ["sync", str(path), "--today", TODAY])
    assert "Contact Plan, row 2, column 'Date': '31.02.2026' — not a date; row ignored" in result.stdout


def test_an_issue_carries_its_key_and_values():
    issue = Issue.of("План", 5, "Проект", "Ромашко", "project not found in {leads}", "unknown-project", leads="Лиды")
    assert issue.message == "project not found in Лиды" and issue.msgid == "project not found in {leads}"
    assert issue.text() == issue.message
    assert issue.text(lambda key: {"project not found in {leads}": "нет в «{leads}»"}.get(key, key)) == "нет в «Лиды»"
    # a translation naming a value the core did not pass falls back to the English, never crashes
    assert issue.text(lambda key: "нет {oops}") == issue.message
    # the old positional form still works: its message is its own key
    old = Issue("План", 5, "Дата", "x", "not a date; row ignored", "bad-date")
    assert old.text(lambda key: "это не дата" if key == "not a date; row ignored" else key) == "это не дата"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--lang", "ru", "sync", "--help"], {}),
        (["sync", "--help", "--lang", "ru"], {}),
        (["sync", "--help"], {"LANG": "ru_RU.UTF-8"}),
        (["--help"], {"LC_ALL": "ru_RU.UTF-8"}),
    ],
)
def test_help_in_russian(args, env):
    result = CliRunner(env={"COLUMNS": "100", **NO_LOCALE, **env}).invoke(app, args)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("Использование: sheets-crm")
    assert "Параметры:" in text and "Показать эту справку и выйти." in text
    # what is left in Latin letters is names, not words: options, metavars, formats, products
    allowed = re.compile(
        r"--?[\w-]+|[A-Z][A-Z_]{2,}|sheets-crm|\.xlsx|\.ics|Google|JSON|CSV|UTF|cp1251|Drive|en_US|ru_RU|"
        r"en|ru|str|int|COMMAND|OPTIONS|ARGS|target|path|docs/[\w./]+|stderr|crontab|systemd|iCalendar|UID|"
        r"sync_time|time_zone|upcoming_days|digest|sheets-crm\.toml|Ctrl-C|toml|config|starter|YYYY-MM-DD|id|"
        r"ISO|LANG|LC_ALL|LC_MESSAGES|SHEETS_CRM_LANG|bak|OAuth"
    )
    for command in sorted(get_command(app).commands, key=len, reverse=True):  # type: ignore[attr-defined]
        text = re.sub(rf"(?<![\w-]){re.escape(command)}(?![\w-])", "", text)  # command names are names
    left = re.findall(r"[A-Za-z]{2,}", allowed.sub("", text))
    assert left == [], text


def test_help_in_english_by_default():
    result = CliRunner(env={"COLUMNS": "100", **NO_LOCALE}).invoke(app, ["sync", "--help"])
    assert result.stdout.startswith("Usage: sheets-crm sync") and "Show this message and exit." in result.stdout


def _without_tab_and_column(path, tab_index: int, header_cell: str | None):
    import openpyxl

    book = openpyxl.load_workbook(path)
    if header_cell is None:
        book.worksheets[tab_index].title = "Старое"
    else:
        book.worksheets[tab_index][header_cell] = "Названиеее"
    book.save(path)
    return path


@pytest.mark.parametrize(
    ("broken", "phrases"),
    [
        ((0, None), ["нет вкладки", "выполните: sheets-crm init", "Ничего не записано."]),
        ((0, "A1"), ["нет столбца", "в строке заголовков (строка 1)", "Ничего не записано."]),
    ],
)
def test_an_error_that_stops_the_sync_is_said_in_the_sheets_language(ru_sheet, broken, phrases):
    """A missing tab or key column stops the sync: the message, the fixing command and the outcome
    sentence are Russian on a Russian sheet, and nothing was written."""
    path = _without_tab_and_column(ru_sheet, *broken)
    before = path.read_bytes()
    result = CliRunner(env={"COLUMNS": "120", **NO_LOCALE}).invoke(app, ["sync", str(path), "--today", TODAY])
    assert result.exit_code == 1, result.output
    said = result.output
    for phrase in phrases:
        assert phrase in said, said
    # the names the tool accepts are given in both languages: the English one is a name, not a word of ours
    ours = ("sheets-crm", "init", "toml", str(path), "'Leads'", "'Project'", "[columns.leads]", '"project"')
    assert not _latin_words(said, *ours), said
    assert path.read_bytes() == before


def test_the_same_error_in_english_with_lang_en(ru_sheet):
    path = _without_tab_and_column(ru_sheet, 0, None)
    result = CliRunner(env=NO_LOCALE).invoke(app, ["--lang", "en", "sync", str(path), "--today", TODAY])
    assert result.exit_code == 1, result.output
    assert "Error: missing tab 'Leads' / 'Лиды'" in result.output
    assert f"or run: sheets-crm init {path} — it adds the missing tab Лиды and changes nothing else." in " ".join(
        result.output.split()
    )
    assert result.output.rstrip().endswith("Nothing was written.")


def test_the_doctors_findings_about_tabs_and_headers_are_russian(ru_sheet):
    import openpyxl

    book = openpyxl.load_workbook(ru_sheet)
    book.worksheets[2].title = "Звонки"  # Calls Today renamed: a missing tab with a guess
    book.worksheets[0]["C1"] = "Телефн"  # a misspelled header: a renamed column
    book.save(ru_sheet)
    result = CliRunner(env={"COLUMNS": "120", **NO_LOCALE}).invoke(app, ["doctor", str(ru_sheet), "--today", TODAY])
    said = " ".join(result.output.split())
    assert "нет вкладки 'Calls Today' / 'Звонки на сегодня'; может быть, это вкладка 'Звонки'?" in said, said
    assert f"выполните: sheets-crm init {ru_sheet} — команда добавит недостающую вкладку Звонки на сегодня" in said, (
        said
    )
    assert "столбец C — незнакомый заголовок; может быть, это 'Телефон'?" in said, said
    ours = ("sheets-crm", "init", "toml", str(ru_sheet), "'Calls Today'", "[columns.leads]", "phone")
    ours += ("(romashka)",)  # the project's key as the duplicate check compares it: the sheet's own name
    assert not _latin_words(said, *ours), said


def test_a_workbook_open_in_libreoffice_is_said_in_the_sheets_language(ru_sheet):
    """The error a local user meets most: the lock file beside the workbook stops the sync, in Russian."""
    lock = ru_sheet.with_name(f".~lock.{ru_sheet.name}#")
    lock.write_text("someone,host,2026-11-22")
    before = ru_sheet.read_bytes()
    result = CliRunner(env={"COLUMNS": "200", **NO_LOCALE}).invoke(app, ["sync", str(ru_sheet), "--today", TODAY])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert said.startswith(f"Ошибка: {ru_sheet} открыт в Excel или LibreOffice"), said
    assert said.endswith("Ничего не записано."), said
    assert not _latin_words(said, str(lock), lock.name, str(ru_sheet), "Excel", "LibreOffice", "sheets-crm"), said
    assert ru_sheet.read_bytes() == before
