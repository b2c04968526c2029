"""The template: tabs, columns, statuses, stages and colours, loaded from TOML.

The template is data (``templates/default.toml``); this module only gives it
types and the lookups the rest of the code needs (which tab is this title,
which column is this header, what kind of status is this text).
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from sheets_crm.core.text import normalise
from sheets_crm.errors import TemplateError

__all__ = [
    "Column",
    "Tab",
    "Stage",
    "Settings",
    "Template",
    "load_template",
    "default_template",
    "LANGS",
    "ALIAS",
    "NAME",
    "SYNONYM",
    "header_likeness",
]

LANGS = ("en", "ru")
Owner = Literal["user", "tool"]
StatusKind = Literal["open", "done", "cancelled"]
_STATUS_KINDS: tuple[StatusKind, ...] = get_args(StatusKind)


#: The Report tab's titles when the template does not name them.
_REPORT_NAMES = {"en": "Report", "ru": "Отчёт"}

#: How a header matched a column, strongest first: the person's own mapping
#: (sheets-crm.toml ``[columns]``), the column's name, a template synonym.
ALIAS, NAME, SYNONYM = 0, 1, 2


@dataclass(frozen=True)
class Column:
    id: str
    names: dict[str, str]
    owner: Owner
    type: str = "text"
    width: int = 14
    required: bool = False
    freshness: bool = False
    #: Other headers people write for this column (template data, both languages).
    synonyms: tuple[str, ...] = ()
    #: Headers the person mapped to this column in sheets-crm.toml.
    aliases: tuple[str, ...] = ()

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every header that means this column: names, synonyms, the person's aliases."""
        return (*self.names.values(), *self.synonyms, *self.aliases)

    def matches(self, header: object) -> bool:
        return normalise(header) in {normalise(n) for n in self.all_names}


@dataclass(frozen=True)
class Tab:
    id: str
    names: dict[str, str]
    columns: tuple[Column, ...]
    key: str | None = None

    def column(self, column_id: str) -> Column:
        for col in self.columns:
            if col.id == column_id:
                return col
        raise KeyError(column_id)

    @cached_property
    def _header_index(self) -> dict[str, tuple[Column, int]]:
        index: dict[str, tuple[Column, int]] = {}
        # Weakest first, so a name beats a synonym and the person's mapping beats both.
        for rank, names_of in ((SYNONYM, _synonyms), (NAME, _names), (ALIAS, _aliases)):
            for col in self.columns:
                for name in names_of(col):
                    index[normalise(name)] = (col, rank)
        return index

    def match_header(self, header: object) -> Column | None:
        found = self._header_index.get(normalise(header))
        return found[0] if found else None

    def match_rank(self, header: object) -> tuple[Column, int] | None:
        """The column a header means and how (:data:`ALIAS`, :data:`NAME` or :data:`SYNONYM`)."""
        return self._header_index.get(normalise(header))

    def closest_column(self, header: object, among: Iterable[Column], cutoff: float = 0.75) -> Column | None:
        """The column among ``among`` whose name or synonym ``header`` looks like a typo of ("did you mean")."""
        best: tuple[float, Column] | None = None
        for col in among:
            score = header_likeness(header, col)
            if score >= cutoff and (best is None or score > best[0]):
                best = (score, col)
        return best[1] if best else None

    def matches(self, title: object) -> bool:
        return normalise(title) in {normalise(n) for n in self.names.values()}

    @property
    def tool_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.owner == "tool")

    @property
    def required_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)


@dataclass(frozen=True)
class Stage:
    id: str
    labels: dict[str, str]
    color: str = ""
    closed: bool = False
    fade_days: int | None = None


@dataclass(frozen=True)
class Settings:
    upcoming_days: int = 7
    freshness_days: int = 30
    freshness_color: str = "57BB8A"
    overdue_color: str = "F4C7C3"
    today_color: str = "FFF2CC"
    upcoming_color: str = ""
    tool_header_color: str = "D9D9D9"
    user_header_color: str = "CFE2F3"
    date_format: str = "yyyy-mm-dd"
    #: Leads, Next contact of an open lead with nothing planned (left empty, filled with this).
    nothing_planned_color: str = "D9D2E9"
    #: Leads, Days since contact of an open lead past its fade period (never contacted stays white).
    stale_color: str = "EFEFEF"
    #: ``[calls] include_closed``: open calls of Won/Lost leads in Calls Today (default: left out, reported).
    include_closed: bool = False


@dataclass(frozen=True)
class Template:
    tabs: tuple[Tab, ...]
    statuses: dict[str, dict[str, Any]]
    stages: tuple[Stage, ...]
    sections: dict[str, dict[str, str]]
    settings: Settings = field(default_factory=Settings)
    #: The tool-owned Report / Отчёт tab's title per language (``[report] names``).
    report_names: dict[str, str] = field(default_factory=lambda: dict(_REPORT_NAMES))

    def tab(self, tab_id: str) -> Tab:
        for tab in self.tabs:
            if tab.id == tab_id:
                return tab
        raise KeyError(tab_id)

    @property
    def leads(self) -> Tab:
        return self.tab("leads")

    @property
    def plan(self) -> Tab:
        return self.tab("plan")

    @property
    def calls(self) -> Tab:
        return self.tab("calls")

    @cached_property
    def status_index(self) -> dict[str, StatusKind]:
        index: dict[str, StatusKind] = {}
        for kind, spec in self.statuses.items():
            if kind not in _STATUS_KINDS:
                continue  # a status kind the rules do not know has no meaning
            for text in [*spec.get("synonyms", []), *spec.get("label", {}).values()]:
                index[normalise(text)] = kind
        return index

    def status_kind(self, text: object) -> StatusKind | None:
        """open / done / cancelled, or None for a status nobody defined."""
        return self.status_index.get(normalise(text))

    @cached_property
    def stage_index(self) -> dict[str, Stage]:
        return {normalise(label): s for s in self.stages for label in (s.id, *s.labels.values())}

    def stage(self, text: object) -> Stage | None:
        return self.stage_index.get(normalise(text))

    def section_label(self, section: str, lang: str) -> str:
        return self.sections[section][lang]

    def status_label(self, kind: str, lang: str) -> str:
        return str(self.statuses[kind]["label"][lang])

    def with_aliases(self, mapping: Mapping[str, Mapping[str, str]]) -> Template:
        """A copy where the person's own headers mean template columns.

        ``mapping`` is ``{tab: {their header: column id}}``; ``tab`` is a tab id
        (``leads``/``plan``/``calls``) or any of the tab's names, or ``"*"`` for every
        tab where that column is a user column (a tool column, which the tool
        writes, is only mapped when its tab is named). The person's mapping beats the template's
        synonyms; a header that is another column's own name cannot be remapped.
        Raises :class:`TemplateError` naming the unknown tab or column.
        """
        extra: dict[tuple[str, str], list[str]] = {}
        for tab_key, headers in mapping.items():
            tabs = self.tabs if tab_key == "*" else (self._tab_named(tab_key),)
            for header, column_id in headers.items():
                # "*" reaches only the person's own columns: a header mapped onto a tool
                # column is written by the tool, so that must be asked for by tab.
                targets = [
                    t
                    for t in tabs
                    if any(c.id == column_id and (tab_key != "*" or c.owner == "user") for c in t.columns)
                ]
                if not targets:
                    ids = sorted({c.id for t in tabs for c in t.columns})
                    close = difflib.get_close_matches(column_id, ids, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise TemplateError(
                        f"[columns] {header!r} = {column_id!r}: no column {column_id!r} in "
                        f"{'any tab as a user column' if tab_key == '*' else repr(tab_key)}; {hint}"
                        f"columns are: {', '.join(ids)}"
                    )
                for tab in targets:
                    owner = next(
                        (c for c in tab.columns if normalise(header) in map(normalise, c.names.values())), None
                    )
                    if owner is not None and owner.id != column_id:
                        raise TemplateError(
                            f"[columns] {header!r} = {column_id!r}: {header!r} is already the name of "
                            f"column {owner.id!r} in {tab.names['en']!r}"
                        )
                    extra.setdefault((tab.id, column_id), []).append(header)
        tabs_out = []
        for tab in self.tabs:
            cols = tuple(
                replace(c, aliases=(*c.aliases, *extra[(tab.id, c.id)])) if (tab.id, c.id) in extra else c
                for c in tab.columns
            )
            tabs_out.append(replace(tab, columns=cols))
        return replace(self, tabs=tuple(tabs_out))

    def _tab_named(self, key: str) -> Tab:
        for tab in self.tabs:
            if tab.id == key or tab.matches(key):
                return tab
        known = ", ".join(t.id for t in self.tabs)
        raise TemplateError(f"[columns.{key}]: no tab {key!r}; use one of {known} (or a tab's name)")

    def with_settings(self, **changes: Any) -> Template:
        """A copy with some settings replaced (config file / CLI overrides)."""
        known = {k: v for k, v in changes.items() if v is not None}
        return replace(self, settings=replace(self.settings, **known))


def header_likeness(header: object, column: Column) -> float:
    """How much ``header`` looks like a typo of one of the column's names (difflib ratio, 0..1).

    A near miss is a few characters off: "Phne"→Phone 0.89, "Data"→Date 0.75, "Emial"→Email 0.8.
    A header that differs by more than max(2, a fifth of its length) characters is a different
    column, however alike ("Мой комментарий" is not "Комментарий"): 0.
    """
    got = normalise(header)
    best = 0.0
    if not got:
        return best
    for name in column.all_names:
        want = normalise(name)
        matcher = difflib.SequenceMatcher(None, got, want)
        longer = max(len(got), len(want))
        same = sum(block.size for block in matcher.get_matching_blocks())
        if longer - same <= max(2, longer // 5):
            best = max(best, matcher.ratio())
    return best


def _names(col: Column) -> Iterable[str]:
    return col.names.values()


def _synonyms(col: Column) -> Iterable[str]:
    return col.synonyms


def _aliases(col: Column) -> Iterable[str]:
    return col.aliases


def _check_unambiguous(columns: tuple[Column, ...], where: str) -> None:
    """No header may mean two columns of one tab (a synonym that is another column's name, say)."""
    seen: dict[str, str] = {}
    for col in columns:
        for name in {normalise(n) for n in (*col.names.values(), *col.synonyms)}:
            other = seen.setdefault(name, col.id)
            if other != col.id:
                raise TemplateError(f"{where}: header {name!r} would mean both {other!r} and {col.id!r}")


def _calls_rules(raw: Any, origin: str) -> dict[str, Any]:
    """The ``[calls]`` table: which open calls make Calls Today."""
    if not isinstance(raw, dict):
        raise TemplateError(f"{origin}: [calls] must be a table")
    unknown = sorted(set(raw) - {"include_closed"})
    if unknown:
        raise TemplateError(f"{origin}: [calls] has unknown key {unknown[0]!r} (known: include_closed)")
    value = raw.get("include_closed", False)
    if not isinstance(value, bool):
        raise TemplateError(f"{origin}: [calls] include_closed must be true or false, not {value!r}")
    return {"include_closed": value}


def _report_names(raw: Any, origin: str) -> dict[str, str]:
    """``[report] names``: the Report tab's title in every language."""
    if not isinstance(raw, dict) or not isinstance(raw.get("names", {}), dict):
        raise TemplateError(f"{origin}: [report] must be a table with names = {{ en = ..., ru = ... }}")
    names = {**_REPORT_NAMES, **{str(k): str(v) for k, v in raw.get("names", {}).items()}}
    if any(not names[lang].strip() for lang in LANGS):
        raise TemplateError(f"{origin}: [report] names must not be empty")
    return names


def _check_color(value: str, where: str) -> str:
    value = value.lstrip("#").upper()
    if value and (len(value) != 6 or any(c not in "0123456789ABCDEF" for c in value)):
        raise TemplateError(f"{where}: colour {value!r} is not a 6-digit hex RGB value")
    return value


def _parse(data: dict[str, Any], origin: str) -> Template:
    try:
        tabs = []
        for raw in data["tabs"]:
            cols = tuple(
                Column(
                    id=c["id"],
                    names=dict(c["names"]),
                    owner=c["owner"],
                    type=c.get("type", "text"),
                    width=int(c.get("width", 14)),
                    required=bool(c.get("required", False)),
                    freshness=bool(c.get("freshness", False)),
                    synonyms=tuple(str(s) for s in c.get("synonyms", ())),
                )
                for c in raw["columns"]
            )
            for c in cols:
                if c.owner not in ("user", "tool"):
                    raise TemplateError(f"{origin}: column {c.id!r} owner must be 'user' or 'tool'")
                missing = [lang for lang in LANGS if lang not in c.names]
                if missing:
                    raise TemplateError(f"{origin}: column {c.id!r} has no name for {missing}")
            _check_unambiguous(cols, f"{origin}: tab {raw['id']!r}")
            tabs.append(Tab(id=raw["id"], names=dict(raw["names"]), columns=cols, key=raw.get("key")))
        stages = tuple(
            Stage(
                id=s["id"],
                labels=dict(s["label"]),
                color=_check_color(s.get("color", ""), f"{origin}: stage {s['id']}"),
                closed=bool(s.get("closed", False)),
                fade_days=s.get("fade_days"),
            )
            for s in data.get("stages", [])
        )
        raw_settings = dict(data.get("settings", {}))
        for name, value in raw_settings.items():
            if name.endswith("_color"):
                raw_settings[name] = _check_color(value, f"{origin}: settings.{name}")
        settings = Settings(**raw_settings, **_calls_rules(data.get("calls", {}), origin))
        template = Template(
            tabs=tuple(tabs),
            statuses=dict(data["statuses"]),
            stages=stages,
            sections=dict(data["sections"]),
            settings=settings,
            report_names=_report_names(data.get("report", {}), origin),
        )
    except TemplateError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise TemplateError(f"{origin}: malformed template ({type(exc).__name__}: {exc})") from None
    for needed in ("leads", "plan", "calls"):
        try:
            template.tab(needed)
        except KeyError:
            raise TemplateError(f"{origin}: template has no tab with id {needed!r}") from None
    return template


def _default_path() -> Path:
    return Path(str(resources.files("sheets_crm").joinpath("templates", "default.toml")))


def load_template(path: str | Path | None = None) -> Template:
    """Load a template file (the default one when ``path`` is None)."""
    path = Path(path) if path else _default_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError(f"template file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{path}: not valid TOML: {exc}") from None
    return _parse(data, str(path))


_DEFAULT: Template | None = None


def default_template() -> Template:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_template()
    return _DEFAULT
