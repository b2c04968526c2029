"""The workbook protocol: read a snapshot, apply a change set. Nothing else.

Like an httpx transport, a backend is a small object the sync takes as an
argument; the sync never knows which one it has. Each implementation owns
its I/O, its error translation and its atomicity guarantee.

Two optional hooks (no-ops by default) let a backend keep time-dependent tool
cells *live in the sheet itself* — a formula for Days since contact, conditional
formats for the freshness colour — instead of rewriting every lead every day:
a backend listing ``"days_since"``/``"freshness"`` in :attr:`Workbook.computes`
gets :class:`LiveColumns` in :meth:`Workbook.prepare`, and drops the core's
changes it keeps live. :meth:`Workbook.focus` tells a backend which tabs a sync
needs, so it may skip reading the others. :meth:`Workbook.change_token` is the
cheap change signal ``sheets-crm watch`` polls (None: the backend has none).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass, field

from sheets_crm.core.model import ChangeSet, Issue, Snapshot
from sheets_crm.core.template import Template
from sheets_crm.core.text import normalise

__all__ = ["ChangeToken", "Workbook", "LiveColumns", "StageFade"]


@dataclass(frozen=True)
class ChangeToken:
    """What ``watch`` compares between two looks at a workbook: a different ``value`` means it changed."""

    value: Hashable  #: e.g. a local file's (inode, size, mtime), a Google file's Drive version
    busy: bool = False  #: open for editing in another program (a lock file): sync only once it is closed
    shown: str = field(default="", compare=False)  #: for logs


@dataclass(frozen=True)
class StageFade:
    """How the freshness colour of leads at some stages fades (``labels`` empty: every other stage)."""

    labels: frozenset[str]
    fade_days: int
    closed: bool = False


@dataclass(frozen=True)
class LiveColumns:
    """Where the time-dependent tool cells of Leads are, for a backend that keeps them live."""

    leads: str  #: the Leads tab's title as read
    height: int  #: rows of Leads including the header
    last_contact: int  #: 0-based column of Last contact
    days_since: int  #: 0-based column of Days since contact
    stage: int | None  #: 0-based column of Stage (None: absent)
    freshness: tuple[int, ...]  #: the columns tinted by freshness
    color: str  #: full freshness colour RRGGBB
    stages: tuple[StageFade, ...]  #: per-stage fading, the catch-all (empty labels) last

    @classmethod
    def build(cls, template: Template, title: str, height: int, columns: Mapping[str, int]) -> LiveColumns | None:
        """From the template and where its Leads columns sit (column id -> 0-based index);
        None when Last contact or Days since contact is not there."""
        if "last_contact" not in columns or "days_since_contact" not in columns:
            return None
        settings = template.settings
        default = int(settings.freshness_days)
        fades: list[StageFade] = []
        for stage in template.stages:
            labels = frozenset(normalise(label) for label in (stage.id, *stage.labels.values()))
            if stage.closed:
                fades.append(StageFade(labels, 0, closed=True))
            elif stage.fade_days and stage.fade_days != default:
                fades.append(StageFade(labels, int(stage.fade_days)))
        fades.append(StageFade(frozenset(), default))  # every other stage, unknown and empty ones included
        return cls(
            leads=title,
            height=height,
            last_contact=columns["last_contact"],
            days_since=columns["days_since_contact"],
            stage=columns.get("stage"),
            freshness=tuple(columns[c.id] for c in template.leads.columns if c.freshness and c.id in columns),
            color=settings.freshness_color,
            stages=tuple(fades),
        )


class Workbook(ABC):
    """A CRM workbook. ``read`` then ``apply``; ``apply`` is all-or-nothing."""

    #: What to call it in messages (a path or a spreadsheet id).
    name: str = ""
    #: Tool cells this backend keeps live in the sheet ("days_since", "freshness"); see :meth:`prepare`.
    computes: frozenset[str] = frozenset()

    @abstractmethod
    def read(self, fills_for: Collection[str] = ()) -> Snapshot:
        """A consistent snapshot; background fills only for the tabs named."""

    @abstractmethod
    def apply(self, changes: ChangeSet, base: Snapshot) -> None:
        """Write every change or none. ``base`` is the snapshot it was planned on:
        raise :class:`~sheets_crm.errors.ConcurrentEditError` if the workbook
        moved since then in a way that would misplace the writes."""

    def focus(self, tabs: Collection[str]) -> None:  # noqa: B027 - an optional hook
        """A hint: the next reads need only these tabs (a TitleSet); others may be left unread."""

    def prepare(self, changes: ChangeSet, base: Snapshot, live: LiveColumns | None) -> ChangeSet:
        """The changes this backend will really write (default: all of them). A backend that
        :attr:`computes` some tool cells drops those changes and remembers what it must lay down."""
        return changes

    def live_problems(self, base: Snapshot, live: LiveColumns, rows: Collection[int]) -> list[Issue]:
        """For ``doctor``: the live tool cells (see :attr:`computes`) a person deleted or changed in
        ``base`` (``rows``: the lead rows, 0-based), which the next sync restores. Reads only."""
        return []

    def stats(self) -> dict[str, int]:
        """Requests made, bytes sent... (backends that talk to a service)."""
        return {}

    def change_token(self) -> ChangeToken | None:
        """The cheapest sign of a change (one stat, one small request); None: this backend cannot tell."""
        return None
