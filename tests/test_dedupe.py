"""core.dedupe: one client written many ways is found; different clients are not merged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sheets_crm.core.dedupe import EMAIL, NAME, PHONE, SIMILAR, Index, Record, email_key, find_groups, name_key


def test_name_key_folds_script_case_quotes_and_legal_form() -> None:
    assert name_key("ООО «Ромашка»") == name_key("Romashka LLC") == name_key("  ромашка ") == "romashka"
    assert name_key("ИП Щукин") == "shchukin"
    assert name_key("Альфа 1") != name_key("Альфа 2")


def test_email_key_is_case_insensitive_and_finds_every_address() -> None:
    assert email_key("IVAN@x.ru") == email_key("ivan@X.RU") == ["ivan@x.ru"]
    assert email_key("a@b.ru, c@d.com") == ["a@b.ru", "c@d.com"]
    assert email_key("no address") == []


def test_the_same_phone_three_ways_with_extension() -> None:
    index = Index("RU")
    index.add(Record(2, "Alpha", "+7 916 123-45-67"))
    for ref, phone in ((10, "8 (916) 123 45 67"), (11, "8-916-1234567 доб. 12")):
        match = index.find(Record(ref, f"Other {ref}", phone))
        assert match is not None
        assert (match.other, match.reason, match.detail) == (2, PHONE, "+79161234567")


def test_email_then_name_then_similar_name() -> None:
    index = Index("RU")
    index.add(Record("a", "ООО Ромашка", "", "IVAN@x.ru"))
    index.add(Record("b", "Техносила", "", ""))
    by_mail = index.find(Record("x", "Совсем другое", "", "ivan@x.ru"))
    assert by_mail is not None and (by_mail.other, by_mail.reason) == ("a", EMAIL)
    by_name = index.find(Record("y", "Romashka LLC"))
    assert by_name is not None and (by_name.other, by_name.reason) == ("a", NAME)
    similar = index.find(Record("z", "Technosila"))
    assert similar is not None and (similar.other, similar.reason) == ("b", SIMILAR)
    assert index.find(Record("w", "Gamma Studio")) is None


def test_numbers_in_names_keep_clients_apart_and_short_names_match_only_exactly() -> None:
    index = Index("RU")
    index.add(Record(1, "Аптека 12"))
    index.add(Record(2, "Abc"))
    assert index.find(Record(3, "Аптека 13")) is None
    assert index.find(Record(4, "Abd")) is None


def test_find_with_add_catches_repeats_within_a_file() -> None:
    index = Index("RU")
    assert index.find(Record("file 2", "New One", "+7 999 000-00-01"), add=True) is None
    again = index.find(Record("file 3", "New One again", "89990000001"), add=True)
    assert again is not None and again.other == "file 2"


def test_no_region_reads_only_international_numbers() -> None:
    index = Index(None)
    index.add(Record(1, "A", "8 (916) 123 45 67"))
    assert index.find(Record(2, "B", "8 (916) 123 45 67")) is None  # unreadable without a region: not a key
    index.add(Record(3, "C", "+7 916 123-45-67"))
    found = index.find(Record(4, "D", "+79161234567"))
    assert found is not None and found.other == 3


def test_groups_join_records_linked_by_different_reasons() -> None:
    records = [
        Record(2, "Romashka", "+7 916 123-45-67", ""),
        Record(3, "Beta", "", ""),
        Record(4, "Ромашка ООО", "", "IVAN@x.ru"),
        Record(5, "Ivan P.", "", "ivan@x.ru"),
        Record(6, "Gamma", "8-916-1234567 доб. 12", ""),
        Record(7, "Delta", "", ""),
    ]
    groups = find_groups(records, "RU")
    assert len(groups) == 1
    assert sorted(groups[0].refs) == [2, 4, 5, 6]  # type: ignore[type-var]
    assert set(groups[0].reasons) == {PHONE, EMAIL, NAME}
    assert groups[0].reasons[PHONE] == ["+79161234567"]


def test_groups_are_empty_for_distinct_clients() -> None:
    records = [Record(i, f"Client {i}", f"+7 916 000-00-{i:02d}", f"c{i}@x.ru") for i in range(2, 30)]
    assert find_groups(records, "RU") == []


def test_group_issues_name_rows_and_reasons() -> None:
    from sheets_crm.core.dedupe import group_issues

    records = [
        Record(2, "ООО Ромашка", "+7 916 123-45-67", ""),
        Record(3, "Beta", "", ""),
        Record(4, "Romashka LLC", "8-916-1234567 доб. 12", ""),
    ]
    (issue,) = group_issues("Leads", "Project", records, "RU")
    assert (issue.tab, issue.row, issue.column, issue.code) == ("Leads", 2, "Project", "duplicate-group")
    assert issue.message == "probably one client in rows 2, 4: same phone (+79161234567); same name (romashka)"


def test_doctor_lists_duplicate_groups_with_rows_and_reasons(make_workbook: Callable[..., Path]) -> None:
    import datetime as dt

    from sheets_crm.app.doctor import run_doctor

    leads = [
        ["ООО Ромашка", "Иван", "+7 916 123-45-67", "IVAN@x.ru", "New", "", "", ""],
        ["Beta", "", "", "", "New", "", "", ""],
        ["Romashka LLC", "Иван", "8 (916) 123 45 67", "", "New", "", "", ""],
        ["Ivan P.", "", "8-916-1234567 доб. 12", "ivan@x.ru", "New", "", "", ""],
        ["Technosila", "", "", "", "New", "", "", ""],
        ["Техносила", "", "", "", "New", "", "", ""],
    ]
    path = make_workbook(leads, [], lang="ru")
    report = run_doctor(str(path), today=dt.date(2026, 11, 22), locale="ru_RU")
    groups = [p for p in report.problems if p.code == "duplicate-group"]
    assert [(g.row, g.value) for g in groups] == [(2, "ООО Ромашка"), (6, "Technosila")]
    assert groups[0].message.startswith("probably one client in rows 2, 4, 5: same phone (+79161234567)")
    assert "same e-mail (ivan@x.ru)" in groups[0].message and "same name (romashka)" in groups[0].message
    assert groups[1].message == "probably one client in rows 6, 7: similar name ('tekhnosila' ~ 'technosila' (90%))"
