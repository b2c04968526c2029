"""The template: tabs, columns, statuses, stages and colours, loaded from TOML.

The template is data (``templates/default.toml``); this module only gives it
types and the lookups the rest of the code needs (which tab is this title,
which column is this header, what kind of status is this text).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
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
]

LANGS = ("en", "ru")
Owner = Literal["user", "tool"]
StatusKind = Literal["open", "done", "cancelled"]
_STATUS_KINDS: tuple[StatusKind, ...] = get_args(StatusKind)


@dataclass(frozen=True)
class Column:
    id: str
    names: dict[str, str]
    owner: Owner
    type: str = "text"
    width: int = 14
    required: bool = False
    freshness: bool = False

    def matches(self, header: object) -> bool:
        return normalise(header) in {normalise(n) for n in self.names.values()}


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
    def _header_index(self) -> dict[str, Column]:
        return {normalise(name): col for col in self.columns for name in col.names.values()}

    def match_header(self, header: object) -> Column | None:
        return self._header_index.get(normalise(header))

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


@dataclass(frozen=True)
class Template:
    tabs: tuple[Tab, ...]
    statuses: dict[str, dict[str, Any]]
    stages: tuple[Stage, ...]
    sections: dict[str, dict[str, str]]
    settings: Settings = field(default_factory=Settings)

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

    def with_settings(self, **changes: Any) -> Template:
        """A copy with some settings replaced (config file / CLI overrides)."""
        from dataclasses import replace

        known = {k: v for k, v in changes.items() if v is not None}
        return replace(self, settings=replace(self.settings, **known))


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
                )
                for c in raw["columns"]
            )
            for c in cols:
                if c.owner not in ("user", "tool"):
                    raise TemplateError(f"{origin}: column {c.id!r} owner must be 'user' or 'tool'")
                missing = [lang for lang in LANGS if lang not in c.names]
                if missing:
                    raise TemplateError(f"{origin}: column {c.id!r} has no name for {missing}")
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
        settings = Settings(**raw_settings)
        template = Template(
            tabs=tuple(tabs),
            statuses=dict(data["statuses"]),
            stages=stages,
            sections=dict(data["sections"]),
            settings=settings,
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
