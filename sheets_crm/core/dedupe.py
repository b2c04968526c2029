"""Who is the same client: matching people by phone, e-mail and project name.

One client is written many ways — "+7 916 123-45-67", "8 (916) 123 45 67" and
"8-916-1234567 доб. 12"; "IVAN@x.ru" and "ivan@x.ru"; "ООО Ромашка" and
"Romashka LLC". Each record is reduced to keys (E.164 phones through
:mod:`sheets_crm.core.phones`, a case-folded e-mail, a name folded to Latin
letters without legal forms) and compared on them, strongest first: same
phone, same e-mail, same name, similar name.

Name folding uses ``anyascii`` (a maintained Unicode→ASCII table: "Ромашка" →
"Romashka", so both scripts meet in one alphabet); similarity uses
``rapidfuzz`` (the same ratios as difflib, in C++: a 10k-row import compares
each new name against every known one, which difflib would take minutes for).
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from anyascii import anyascii
from rapidfuzz import fuzz, process

from sheets_crm.core.model import N_, Issue, Msg
from sheets_crm.core.phones import normalise_phones
from sheets_crm.core.text import normalise

__all__ = [
    "PHONE",
    "EMAIL",
    "NAME",
    "SIMILAR",
    "Record",
    "Match",
    "Group",
    "Index",
    "name_key",
    "email_key",
    "find_groups",
    "SIMILARITY",
    "group_issues",
]

#: Reasons, strongest first.
PHONE, EMAIL, NAME, SIMILAR = "same phone", "same e-mail", "same name", "similar name"
#: How a reason reads in a warning (the catalog's keys; the details are the linking values).
_REASON_TEXT = {
    PHONE: N_("same phone ({details})"),
    EMAIL: N_("same e-mail ({details})"),
    NAME: N_("same name ({details})"),
    SIMILAR: N_("similar name ({details})"),
}

#: The least token-sorted similarity (0..100) of two folded names that counts as "similar".
SIMILARITY = 90.0
#: Folded names shorter than this only ever match exactly ("abc" vs "abd" says nothing).
_MIN_FUZZY = 5

# Legal forms and filler words that say nothing about who the client is (after folding to Latin).
_LEGAL = frozenset(
    "ooo oao zao pao ao ip nko chp tov llc ltd inc corp co gmbh plc llp sa ag bv oy the company kompaniya".split()
)
_NON_WORD = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"\d+")
_EMAIL = re.compile(r"[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+")


def name_key(text: object) -> str:
    """A project or company name folded for comparison: Latin letters, no case, no quotes, no legal form.

    "ООО «Ромашка»", "Romashka LLC" and "romashka" all give "romashka".
    """
    folded = anyascii(normalise(text)).lower()
    words = [w for w in _NON_WORD.split(folded) if w and w not in _LEGAL]
    return " ".join(words)


def email_key(text: object) -> list[str]:
    """Every e-mail address in a cell, case-folded (a cell may hold two)."""
    return [m.casefold().strip(".") for m in _EMAIL.findall(str(text or ""))]


@dataclass(frozen=True)
class Record:
    """One person or company to compare: where it is (``ref``, e.g. a sheet row) and what identifies it."""

    ref: object
    project: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Match:
    """``ref`` is the same client as ``other``, because of ``reason``; ``detail`` shows the shared value."""

    ref: object
    other: object
    reason: str
    detail: str


@dataclass
class Group:
    """Records that are probably one client, with every reason found between them."""

    refs: list[object]
    reasons: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Keys:
    phones: list[str]
    emails: list[str]
    name: str


def _keys(record: Record, region: str | None) -> _Keys:
    return _Keys(normalise_phones(str(record.phone or ""), region), email_key(record.email), name_key(record.project))


class Index:
    """Known records, looked up by phone, e-mail and name; new ones may be added as they are accepted.

    ``find`` gives the strongest match of a record against what the index holds; an
    importer adds each new row after checking it, so a file's own repeats are caught too.
    """

    def __init__(self, region: str | None, *, fuzzy: bool = True) -> None:
        self.region = region
        self.fuzzy = fuzzy
        self._phones: dict[str, object] = {}
        self._emails: dict[str, object] = {}
        self._names: dict[str, object] = {}
        self._name_list: list[str] = []

    def add(self, record: Record) -> None:
        self._add_keys(record.ref, _keys(record, self.region))

    def _add_keys(self, ref: object, keys: _Keys) -> None:
        for phone in keys.phones:
            self._phones.setdefault(phone, ref)
        for email in keys.emails:
            self._emails.setdefault(email, ref)
        if keys.name and keys.name not in self._names:
            self._names[keys.name] = ref
            self._name_list.append(keys.name)

    def find(self, record: Record, *, add: bool = False) -> Match | None:
        """The strongest match for ``record`` (phone, e-mail, name, similar name), or None.

        With ``add``, the record's keys join the index: under its own ref when it matched
        nothing, else under the record it matched (a file row with the lead's e-mail and a
        new phone number teaches the index that number too).
        """
        keys = _keys(record, self.region)
        found = self._find(record.ref, keys)
        if add:
            self._add_keys(record.ref if found is None else found.other, keys)
        return found

    def _find(self, ref: object, keys: _Keys) -> Match | None:
        for phone in keys.phones:
            if phone in self._phones:
                return Match(ref, self._phones[phone], PHONE, phone)
        for email in keys.emails:
            if email in self._emails:
                return Match(ref, self._emails[email], EMAIL, email)
        if not keys.name:
            return None
        if keys.name in self._names:
            return Match(ref, self._names[keys.name], NAME, keys.name)
        similar = _similar(keys.name, self._name_list) if self.fuzzy else None
        if similar is not None:
            other, score = similar
            return Match(ref, self._names[other], SIMILAR, f"{keys.name!r} ~ {other!r} ({score:.0f}%)")
        return None


def _similar(name: str, known: list[str]) -> tuple[str, float] | None:
    """The known folded name most like ``name`` (at least :data:`SIMILARITY`), with its score."""
    if len(name) < _MIN_FUZZY or not known:
        return None
    best = process.extractOne(name, known, scorer=fuzz.token_sort_ratio, score_cutoff=SIMILARITY)
    if best is None:
        return None
    other, score = best[0], float(best[1])
    # "Alpha 1" and "Alpha 2" are two clients however alike: numbers must agree.
    if _DIGITS.findall(name) != _DIGITS.findall(other) or len(other) < _MIN_FUZZY:
        return None
    return other, score


def find_groups(records: Sequence[Record], region: str | None, *, fuzzy: bool = True) -> list[Group]:
    """Probable duplicate groups among ``records`` (two or more each), in order of first appearance.

    Every record is compared with the ones before it on each key; records linked by any
    reason end in one group (a shares a phone with b, b an e-mail with c: one client).
    """
    links: list[tuple[int, int, str, str]] = []
    phones: dict[str, int] = {}
    emails: dict[str, int] = {}
    names: dict[str, int] = {}
    name_list: list[str] = []
    for i, record in enumerate(records):
        keys = _keys(record, region)
        if keys.name and fuzzy and keys.name not in names:
            similar = _similar(keys.name, name_list)
            if similar is not None:
                links.append((names[similar[0]], i, SIMILAR, f"{keys.name!r} ~ {similar[0]!r} ({similar[1]:.0f}%)"))
            name_list.append(keys.name)
        for key, seen, reason in _pairs(keys, phones, emails, names):
            if key in seen:
                links.append((seen[key], i, reason, key))
            else:
                seen[key] = i
    return _collect(records, links)


def _collect(records: Sequence[Record], links: list[tuple[int, int, str, str]]) -> list[Group]:
    """Union the linked records into groups, each with the reasons and values that linked it."""
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            i = parent[i]
        return i

    for a, b, _reason, _detail in links:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, Group] = {}
    for a, b, reason, detail in links:
        group = groups.setdefault(root(a), Group([]))
        for i in (a, b):
            if records[i].ref not in group.refs:
                group.refs.append(records[i].ref)
        shown = group.reasons.setdefault(reason, [])
        if detail not in shown:
            shown.append(detail)
    return [g for _, g in sorted(groups.items())]


def _pairs(
    keys: _Keys, phones: dict[str, int], emails: dict[str, int], names: dict[str, int]
) -> Iterable[tuple[str, dict[str, int], str]]:
    for phone in dict.fromkeys(keys.phones):
        yield phone, phones, PHONE
    for email in dict.fromkeys(keys.emails):
        yield email, emails, EMAIL
    if keys.name:
        yield keys.name, names, NAME


def group_issues(title: str, header: str, records: Sequence[Record], region: str | None) -> list[Issue]:
    """One warning per probable duplicate group of leads: its rows and every reason (for ``doctor``).

    ``records`` carry their 1-based sheet row as ``ref``.
    """
    out: list[Issue] = []
    for group in find_groups(records, region):
        refs = sorted(int(cast(int, r)) for r in group.refs)
        why = tuple(
            Msg(_REASON_TEXT.get(reason, reason + " ({details})"), {"details": ", ".join(details)})
            for reason, details in group.reasons.items()
        )
        project = next((r.project for r in records if r.ref == refs[0]), "")
        shown = ", ".join(str(r) for r in refs)
        out.append(
            Issue.of(
                title,
                refs[0],
                header,
                project,
                "probably one client in rows {rows}: {why}",
                "duplicate-group",
                rows=shown,
                why=why,
            )
        )
    return out
