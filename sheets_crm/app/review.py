"""The weekly review's numbers and the client card, worked out from the frames the sync reads.

Pure: the typed tables (:func:`sheets_crm.core.reading.read_tables`), the
planner's result, ``today`` and a period go in; dataclasses come out. No I/O,
no clock, no printing — :mod:`sheets_crm.app.report` reads the workbook and
renders.

With the History tab (the sync keeps it) stage moves are dated: the review
counts moves in the period and works out conversion between stages and the
median days in a stage (:func:`stage_flow`), refusing to guess where History
is too short (:data:`MIN_SAMPLE`). Without it, won/lost are counted by the
stage leads are in now and the results carry ``history=False`` so every
renderer says so.
"""

from __future__ import annotations

import datetime as dt
import difflib
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sheets_crm.core.dates import to_date
from sheets_crm.core.history import HISTORY_HEADERS, HISTORY_NAMES
from sheets_crm.core.ledger import find_tab
from sheets_crm.core.model import Snapshot
from sheets_crm.core.planner import Plan
from sheets_crm.core.reading import Tables, cell_text
from sheets_crm.core.template import Template, default_template
from sheets_crm.core.text import column_letter, normalise
from sheets_crm.errors import CrmError

__all__ = [
    "PERIOD_KINDS",
    "Period",
    "period_for",
    "ManagerStats",
    "StageCount",
    "TouchesToWin",
    "Review",
    "build_review",
    "StageMove",
    "MovesStats",
    "history_moves",
    "stage_changes",
    "ADDED",
    "MIN_SAMPLE",
    "StageFlow",
    "Flow",
    "stage_flow",
    "NoSuchManagerError",
    "ProjectMatchError",
    "match_project",
    "CardContact",
    "Card",
    "build_card",
    "DayNumbers",
    "DigestNumbers",
    "digest_numbers",
]

PERIOD_KINDS = ("week", "month", "range")
#: "80 % of deals close after the fifth offer": the touch count the review singles out.
MANY_TOUCHES = 5


class NoSuchManagerError(CrmError):
    """--owner names nobody in the sheet."""


class ProjectMatchError(CrmError):
    """A card's project matched no lead, or several: ``candidates`` lists them."""

    def __init__(self, message: str, candidates: list[str]) -> None:
        super().__init__(message)
        self.candidates = candidates


# -- the period ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar dates ``start`` … ``end``, both included."""

    kind: str  # week / month / range
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end


def period_for(today: dt.date, kind: str = "week", start: dt.date | None = None, end: dt.date | None = None) -> Period:
    """The ISO week so far (Monday first), the calendar month so far, or ``start``…``end``.

    Raises ValueError for an empty range or an unknown kind.
    """
    if kind == "week":
        return Period("week", today - dt.timedelta(days=today.weekday()), today)
    if kind == "month":
        return Period("month", today.replace(day=1), today)
    if kind == "range":
        if start is None or end is None:
            raise ValueError("a date range needs both --from and --to")
        if end < start:
            raise ValueError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
        return Period("range", start, end)
    raise ValueError(f"unknown period {kind!r}; use one of {', '.join(PERIOD_KINDS)}")


# -- History / История: stage moves -------------------------------------------------------------------------------


_HISTORY_FIELDS = ("date", "tab", "row", "project", "column", "was", "now", "what")


@dataclass(frozen=True)
class StageMove:
    """One ``stage`` line of the History tab: a lead's Stage changed from ``was`` to ``now`` (as typed)."""

    day: dt.date
    key: str  # the lead's normalised project
    was: str
    now: str


#: History's ``What`` for a lead that appeared in Leads (its first stage is dated from this line).
ADDED = "lead-added"


def history_moves(snapshot: Snapshot, extra: list[list[Any]] | None = None) -> list[StageMove] | None:
    """The stage changes the sync recorded in History / История; None when the sheet has no History tab.

    A ``lead-added`` line comes back as a move with ``was`` = :data:`ADDED` and ``now`` empty (it
    dates the lead's first stage). ``extra``: lines in History's own order (Date, Tab, Row,
    Project, Column, Was, Now, What) that this sync is about to append. Lines without a readable
    date or project are skipped (a person may have typed in the tab).
    """
    tab = find_tab(snapshot.tabs, HISTORY_NAMES.values())
    if tab is None:
        return None if extra is None else _moves(extra, dict(zip(_HISTORY_FIELDS, range(8), strict=True)))
    cols: dict[str, int] = {}
    for col, raw in enumerate(tab.header):
        for headers in HISTORY_HEADERS.values():
            for name, header in zip(_HISTORY_FIELDS, headers, strict=True):
                if normalise(raw) == normalise(header):
                    cols.setdefault(name, col)
    if not {"date", "project", "was", "now", "what"} <= set(cols):
        return _moves(extra or [], dict(zip(_HISTORY_FIELDS, range(8), strict=True)))
    return _moves(tab.values[1:], cols) + _moves(extra or [], dict(zip(_HISTORY_FIELDS, range(8), strict=True)))


def _moves(rows: list[list[Any]], cols: dict[str, int]) -> list[StageMove]:
    def at(row: list[Any], name: str) -> Any:
        return row[cols[name]] if cols[name] < len(row) else None

    moves = []
    for row in rows:
        what = cell_text(at(row, "what"))
        if what not in ("stage", ADDED):
            continue
        day, key = _line_day(at(row, "date")), normalise(cell_text(at(row, "project")))
        if day is None or not key:
            continue
        if what == ADDED:
            moves.append(StageMove(day, key, ADDED, ""))
        else:
            moves.append(StageMove(day, key, cell_text(at(row, "was")), cell_text(at(row, "now"))))
    return moves


def _line_day(value: Any) -> dt.date | None:
    """History's Date cell: the ISO text the sync writes (read fast), else whatever a date cell holds."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return to_date(value)


def stage_changes(moves: list[StageMove] | None) -> list[StageMove]:
    """Only the real stage changes (no ``lead-added`` lines)."""
    return [m for m in moves or [] if m.was != ADDED]


#: Fewer leads (or finished stays) than this in a stage: History is too short to say; nothing is guessed.
MIN_SAMPLE = 3


@dataclass(frozen=True)
class StageFlow:
    """One open stage as History saw it: leads seen in it, where they went, how long they stayed.

    ``conversion`` (moved on / seen, 0..1) and ``median_days`` (finished stays whose start and end
    History dated) are None when fewer than :data:`MIN_SAMPLE` leads / stays back them.
    """

    stage: str  # the template's stage id
    seen: int  # leads History saw in this stage
    moved_on: int  # ... that went on to a later stage of the funnel (Won included)
    lost: int  # ... that went to Lost
    still: int  # ... that are in it now
    stays: int  # finished stays with both ends dated
    conversion: float | None
    median_days: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "seen": self.seen,
            "moved_on": self.moved_on,
            "lost": self.lost,
            "still": self.still,
            "conversion": None if self.conversion is None else round(self.conversion, 4),
            "dated_stays": self.stays,
            "median_days": self.median_days,
        }


@dataclass(frozen=True)
class Flow:
    """Conversion between stages and median days in a stage, from History (``since``: its first dated line)."""

    since: dt.date | None
    stages: list[StageFlow]

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "min_sample": MIN_SAMPLE,
            "stages": [s.as_json() for s in self.stages],
        }


class _FlowTally:
    """Per stage: the leads History saw there, moved on, lost; the lengths of the stays it dated."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.order = {s.id: i for i, s in enumerate(template.stages)}
        self.seen: dict[str, set[str]] = {}
        self.on: dict[str, set[str]] = {}
        self.lost: dict[str, set[str]] = {}
        self.days: dict[str, list[int]] = {}

    def sid(self, text: str) -> str | None:
        st = self.template.stage(text)
        return st.id if st else None

    def walk(self, key: str, lead_moves: list[StageMove], stage_now: dict[str, str]) -> None:
        added = next((m.day for m in lead_moves if m.was == ADDED), None)
        changes = [m for m in lead_moves if m.was != ADDED]
        start: dt.date | None = None
        first = changes[0].was if changes else ""
        if added is not None and (not changes or changes[0].day >= added):
            first = changes[0].was if changes else stage_now.get(key, "")
            start = added
        stage = self.sid(first)
        for move in changes:
            nxt = self.sid(move.now)
            if stage is not None:
                self.seen.setdefault(stage, set()).add(key)
                if nxt == "lost":
                    self.lost.setdefault(stage, set()).add(key)
                elif nxt is not None and self.order[nxt] > self.order[stage]:
                    self.on.setdefault(stage, set()).add(key)
                if start is not None:
                    self.days.setdefault(stage, []).append((move.day - start).days)
            stage, start = nxt, move.day
        if stage is not None:
            self.seen.setdefault(stage, set()).add(key)


def stage_flow(moves: list[StageMove], stage_now: dict[str, str], template: Template) -> Flow:
    """Walk every lead's dated stage history: a stay in a stage starts when History saw the lead added in
    it or moved into it, and ends with the next move. A stay whose start History did not see (the lead
    was there before History began) counts for conversion but not for days in the stage.

    ``stage_now``: each lead's stage as typed now (by normalised project), for a lead added but never moved.
    """
    tally = _FlowTally(template)
    by_lead: dict[str, list[StageMove]] = {}
    for m in moves:
        by_lead.setdefault(m.key, []).append(m)
    for key, lead_moves in by_lead.items():
        tally.walk(key, sorted(lead_moves, key=lambda m: m.day), stage_now)  # stable: same-day lines in order
    seen, on, lost, days, sid = tally.seen, tally.on, tally.lost, tally.days, tally.sid
    out = []
    for st in template.stages:
        if st.closed:
            continue
        n = len(seen.get(st.id, ()))
        went_on, went_lost = len(on.get(st.id, ())), len(lost.get(st.id, set()) - on.get(st.id, set()))
        stays = days.get(st.id, [])
        out.append(
            StageFlow(
                stage=st.id,
                seen=n,
                moved_on=went_on,
                lost=went_lost,
                still=sum(1 for k in seen.get(st.id, ()) if sid(stage_now.get(k, "")) == st.id),
                stays=len(stays),
                conversion=went_on / n if n >= MIN_SAMPLE else None,
                median_days=float(statistics.median(stays)) if len(stays) >= MIN_SAMPLE else None,
            )
        )
    return Flow(min((m.day for m in moves), default=None), out)


@dataclass(frozen=True)
class MovesStats:
    """One manager's stage moves in the period, from History (wins and losses dated by their move)."""

    name: str
    moves: int = 0
    won: int = 0
    lost: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "stage_moves": self.moves, "won": self.won, "lost": self.lost}


def _moves_by_manager(
    moves: list[StageMove], period: Period, lead_manager: pd.Series, names: _Managers, template: Template
) -> list[MovesStats]:
    counts: dict[str, list[int]] = {}
    for move in moves:
        if move.day not in period:
            continue
        key = str(lead_manager.get(move.key, ""))
        c = counts.setdefault(key, [0, 0, 0])
        st = template.stage(move.now)
        c[0] += 1
        c[1] += int(bool(st and st.id == "won"))
        c[2] += int(bool(st and st.id == "lost"))
    out = [MovesStats(names.spelling.get(k, "") if k else "", *c) for k, c in counts.items()]
    return sorted(out, key=lambda m: (m.name == "", m.name.casefold()))


# -- the review ---------------------------------------------------------------------------------------------------


@dataclass
class ManagerStats:
    """One manager's numbers (``name`` "" = rows and leads nobody owns)."""

    name: str
    planned: int = 0  # plan rows dated in the period, whatever their status
    done: int = 0
    cancelled: int = 0
    overdue: int = 0  # open plan rows dated before today (Calls Today's Overdue), whatever the period
    nothing_planned: int = 0  # open leads without an open plan row
    stale: int = 0  # open leads whose last contact is at least their stage's fade days ago
    never_contacted: int = 0  # open leads with no done contact at all
    won: int = 0  # leads in a Won stage now (undated without History)
    lost: int = 0
    #: Done contacts per day of the period (every day present, zeros included).
    daily: dict[dt.date, int] = field(default_factory=dict)

    COUNTS = ("planned", "done", "cancelled", "overdue", "nothing_planned", "stale", "never_contacted", "won", "lost")

    def add(self, other: ManagerStats) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for day, n in other.daily.items():
            self.daily[day] = self.daily.get(day, 0) + n

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        out.update({name: getattr(self, name) for name in self.COUNTS})
        out["daily_done"] = {day.isoformat(): n for day, n in self.daily.items()}
        return out


@dataclass(frozen=True)
class StageCount:
    """Leads in one stage now; ``stage`` is the template's stage id, "" for none or an unknown one."""

    stage: str
    leads: int
    closed: bool = False


@dataclass(frozen=True)
class TouchesToWin:
    """Touches (done contacts) of the leads in a Won stage now."""

    won: int
    median: float | None
    distribution: dict[int, int]  # touches -> leads, ascending
    many: int  # won leads with at least MANY_TOUCHES touches


@dataclass
class Review:
    today: dt.date
    period: Period
    managers: list[ManagerStats]
    team: ManagerStats
    funnel: list[StageCount]
    touches: TouchesToWin
    owner: str | None = None  # the --owner filter, as the sheet spells it
    #: True when the sheet has a History tab: stage moves and dated wins/losses come from it.
    history: bool = False
    #: Per manager, stage moves in the period (History); empty without History.
    moves: list[MovesStats] = field(default_factory=list)
    #: Conversion between stages and days in a stage, from all of History (None without History).
    flow: Flow | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "period": {
                "kind": self.period.kind,
                "label": self.period.label,
                "from": self.period.start.isoformat(),
                "to": self.period.end.isoformat(),
            },
            "owner": self.owner,
            "managers": [m.as_json() for m in self.managers],
            "team": self.team.as_json(),
            "funnel": [{"stage": s.stage, "leads": s.leads, "closed": s.closed} for s in self.funnel],
            "touches_to_win": {
                "won": self.touches.won,
                "median": self.touches.median,
                "distribution": {str(k): v for k, v in self.touches.distribution.items()},
                f"at_least_{MANY_TOUCHES}": self.touches.many,
            },
            "history": {
                "available": self.history,
                "stage_moves": [m.as_json() for m in self.moves] if self.history else None,
                "flow": self.flow.as_json() if self.flow is not None else None,
                "won_lost_dated": self.history,
            },
        }


class _Managers:
    """Manager names folded like everything else (case, spaces, ё); shown in their first spelling."""

    def __init__(self) -> None:
        self.spelling: dict[str, str] = {}

    def key(self, name: str) -> str:
        key = normalise(name)
        self.spelling.setdefault(key, name.strip())
        return key


def _unique_leads(tables: Tables, plan: Plan) -> pd.DataFrame:
    """One row per project (a duplicated project counts once), with the planner's columns beside it."""
    leads = tables.leads.reset_index(drop=True)
    planned = plan.leads.reset_index(drop=True)
    frame = pd.concat([leads, planned[["last_contact", "next_contact", "days_since_contact", "touches"]]], axis=1)
    return frame[~frame["key"].duplicated()].reset_index(drop=True)


def _stage_facts(stages: pd.Series, template: Template) -> pd.DataFrame:
    """Per lead: the template stage id ("" unknown/none), closed, won, lost, fade days."""
    facts = {}
    for text in stages.unique():  # a few distinct stage spellings, however many leads
        st = template.stage(text)
        fade = st.fade_days if st and st.fade_days else template.settings.freshness_days
        sid = st.id if st else ""
        facts[text] = (sid, bool(st and st.closed), sid == "won", sid == "lost", fade)
    rows = [facts[text] for text in stages]
    return pd.DataFrame(rows, columns=["stage_id", "closed", "won", "lost", "fade"], index=stages.index)


class _Tally:
    """Per-manager counters, made on first mention (so every manager of the sheet gets a row)."""

    def __init__(self, names: _Managers, period: Period) -> None:
        self.names, self.period = names, period
        self.stats: dict[str, ManagerStats] = {}

    def get(self, key: str) -> ManagerStats:
        if key not in self.stats:
            name = self.names.spelling.get(key, "") if key else ""
            self.stats[key] = ManagerStats(name, daily=dict.fromkeys(self.period.days(), 0))
        return self.stats[key]

    def add(self, counts: pd.Series, field_name: str) -> None:
        """Add per-manager counts (a Series indexed by manager key) to one field."""
        for key, n in counts.items():
            m = self.get(str(key))
            setattr(m, field_name, getattr(m, field_name) + int(n))

    def contacts(self, managers: pd.Series, rows: pd.DataFrame) -> None:
        """Plan rows dated in the period: planned, done (per day) and cancelled."""
        start, end = pd.Timestamp(self.period.start), pd.Timestamp(self.period.end)
        inside = ((rows["date"] >= start) & (rows["date"] <= end)).to_numpy()
        frame = pd.DataFrame({"manager": managers.to_numpy()[inside], "date": rows["date"].to_numpy()[inside]})
        status = rows["status"].to_numpy()[inside]
        done = frame[status == "done"]
        self.add(frame.groupby("manager", sort=False).size(), "planned")
        self.add(done.groupby("manager", sort=False).size(), "done")
        self.add(frame[status == "cancelled"].groupby("manager", sort=False).size(), "cancelled")
        for (key, day), n in done.groupby(["manager", "date"], sort=False).size().items():
            self.get(str(key)).daily[pd.Timestamp(day).date()] += int(n)

    def leads(self, leads: pd.DataFrame, facts: pd.DataFrame) -> None:
        """Leads now, by the lead's owner: won, lost; open ones with nothing planned, stale, never contacted."""
        for key in leads["manager"].unique():
            self.get(str(key))  # a manager whose leads are all quiet still gets a row
        since = leads["days_since_contact"]
        open_ = ~facts["closed"].to_numpy(dtype=bool)
        never = since.isna().to_numpy()
        flags = {
            "won": facts["won"].to_numpy(dtype=bool),
            "lost": facts["lost"].to_numpy(dtype=bool),
            "nothing_planned": open_ & leads["next_contact"].isna().to_numpy(),
            "never_contacted": open_ & never,
            "stale": open_ & ~never & (since.fillna(0).to_numpy(dtype="int64") >= facts["fade"].to_numpy()),
        }
        managers = leads["manager"].to_numpy()
        for field_name, flag in flags.items():
            self.add(pd.Series(managers[flag]).value_counts(sort=False), field_name)


def build_review(
    tables: Tables,
    plan: Plan,
    today: dt.date,
    period: Period,
    template: Template,
    *,
    owner: str | None = None,
    moves: list[StageMove] | None = None,
) -> Review:
    """Every manager's numbers for ``period``, the team's, the funnel now and the touches before a win.

    ``moves`` (from :func:`history_moves`; None: the sheet has no History) adds the stage moves.

    ``owner`` keeps one manager (matched like the rest: case, spaces, ё);
    :class:`NoSuchManagerError` when nobody in the sheet has that name.
    """
    names = _Managers()
    leads = _unique_leads(tables, plan)
    # Each distinct spelling is folded once (a million plan rows have a handful of owners); leads first, so a
    # manager shows in the spelling of the first lead they own.
    leads["manager"] = leads["owner"].map({o: names.key(o) for o in leads["owner"].unique()})
    lead_manager = pd.Series(leads["manager"].to_numpy(), index=leads["key"].to_numpy())

    rows = tables.plan
    own = rows["owner"].map({o: names.key(o) for o in rows["owner"].unique() if o}).astype(object)
    fallback = rows["key"].map(lead_manager).astype(object)
    row_manager = own.where(own.notna(), fallback.where(fallback.notna(), ""))
    calls = plan.calls
    overdue_owners = calls.loc[calls["section"] == "overdue", "owner"]
    overdue_manager = overdue_owners.map({o: names.key(o) for o in overdue_owners.unique()})

    wanted = None
    if owner is not None:
        wanted = normalise(owner)
        if wanted not in names.spelling:
            known = sorted((s for k, s in names.spelling.items() if k), key=str.casefold)
            raise NoSuchManagerError(
                f"no manager named {owner!r} in the sheet (managers: {', '.join(known) or 'none'})"
            )

    tally = _Tally(names, period)
    tally.contacts(row_manager, rows)
    tally.add(overdue_manager.value_counts(sort=False), "overdue")
    facts = _stage_facts(leads["stage"], template)
    tally.leads(leads, facts)
    for key in names.spelling:  # every manager the sheet names gets a row, zeros included
        if key:
            tally.get(key)

    stats = tally.stats
    if wanted is not None:
        stats = {wanted: tally.get(wanted)}
        mine = (leads["manager"] == wanted).to_numpy()
        leads, facts = leads[mine], facts[mine]
    managers = sorted(stats.values(), key=lambda m: (m.name == "", m.name.casefold()))
    team = ManagerStats("", daily=dict.fromkeys(period.days(), 0))
    for m in managers:
        team.add(m)
    by_manager = _moves_by_manager(stage_changes(moves), period, lead_manager, names, template)
    flow = None
    if moves is not None:
        mine_moves = [m for m in moves if wanted is None or lead_manager.get(m.key, "") == wanted]
        stage_now = dict(zip(leads["key"], leads["stage"], strict=True))
        flow = stage_flow(mine_moves, stage_now, template)
    if wanted is not None:
        by_manager = [m for m in by_manager if normalise(m.name) == wanted]
    return Review(
        history=moves is not None,
        moves=by_manager,
        flow=flow,
        today=today,
        period=period,
        managers=managers,
        team=team,
        funnel=_funnel(facts, template),
        touches=_touches(leads["touches"][facts["won"].to_numpy()]),
        owner=names.spelling[wanted] if wanted is not None else None,
    )


def _funnel(facts: pd.DataFrame, template: Template) -> list[StageCount]:
    counts = Counter(facts["stage_id"])
    out = [StageCount(s.id, counts.get(s.id, 0), s.closed) for s in template.stages]
    if counts.get(""):
        out.append(StageCount("", counts[""]))
    return out


def _touches(touches: pd.Series) -> TouchesToWin:
    values = [int(t) for t in touches]
    return TouchesToWin(
        won=len(values),
        median=float(statistics.median(values)) if values else None,
        distribution=dict(sorted(Counter(values).items())),
        many=sum(1 for t in values if t >= MANY_TOUCHES),
    )


# -- the card -----------------------------------------------------------------------------------------------------


def match_project(tables: Tables, query: str) -> tuple[str, bool]:
    """The lead key ``query`` means, and whether it was an exact match.

    Exact (case, spaces, ё folded) first; else the one project containing
    the text, or the one close spelling (difflib). Several → a
    :class:`ProjectMatchError` listing them; none → one with the closest.
    """
    first: dict[str, str] = {}
    for name, key in zip(tables.leads["project"], tables.leads["key"], strict=True):
        first.setdefault(key, name)
    want = normalise(query)
    if not want:
        raise ProjectMatchError("give a project name", [])
    if want in first:
        return want, True
    found = [k for k in first if want in k] or difflib.get_close_matches(want, list(first), n=10, cutoff=0.6)
    if len(found) == 1:
        return found[0], False
    if found:
        names = [first[k] for k in found]
        shown = ", ".join(repr(n) for n in names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        raise ProjectMatchError(f"{query!r} matches {len(names)} projects in Leads: {shown}; be more precise", names)
    near = [first[k] for k in difflib.get_close_matches(want, list(first), n=3, cutoff=0.3)]
    hint = f"; closest: {', '.join(repr(n) for n in near)}" if near else ""
    raise ProjectMatchError(f"no project {query!r} in Leads{hint}", near)


@dataclass(frozen=True)
class CardContact:
    """One Contact Plan row of the lead."""

    row: int
    date: dt.date | None  # None: the Date cell is empty or not a date (the sync ignores such a row, with a warning)
    status: str  # open / done / cancelled
    status_text: str  # as typed
    topic: str
    result: str
    owner: str
    date_text: str = ""  # what the Date cell holds when it is not a date


@dataclass
class Card:
    project: str
    row: int  # 1-based row in Leads
    #: Every column of the lead's row, in sheet order: (header, text). Tool columns hold fresh values.
    fields: list[tuple[str, str]]
    stage: str
    owner: str
    touches: int
    last_contact: dt.date | None
    last_result: str
    days_since_contact: int | None
    next_contact: dt.date | None
    next_topic: str
    contacts: list[CardContact]
    duplicate_rows: list[int] = field(default_factory=list)
    history: bool = False  # the sheet has a History tab
    #: The lead's stage changes from History, oldest first (empty without History, or none recorded).
    stage_history: list[StageMove] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def iso(day: dt.date | None) -> str | None:
            return day.isoformat() if day else None

        return {
            "project": self.project,
            "row": self.row,
            "fields": dict(self.fields),
            "stage": self.stage,
            "owner": self.owner,
            "touches": self.touches,
            "last_contact": iso(self.last_contact),
            "last_result": self.last_result,
            "days_since_contact": self.days_since_contact,
            "next_contact": iso(self.next_contact),
            "next_topic": self.next_topic,
            "contacts": [
                {
                    "row": c.row,
                    "date": iso(c.date),
                    "date_text": c.date_text,
                    "status": c.status,
                    "status_text": c.status_text,
                    "topic": c.topic,
                    "result": c.result,
                    "owner": c.owner,
                }
                for c in self.contacts
            ],
            "duplicate_rows": self.duplicate_rows,
            "stage_history": None
            if not self.history
            else [{"date": m.day.isoformat(), "was": m.was, "now": m.now} for m in self.stage_history],
        }


def _day(value: Any) -> dt.date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _tool_text(column_id: str, rec: pd.Series) -> str:
    value = rec[column_id]
    if pd.isna(value):
        return ""
    if column_id in ("last_contact", "next_contact"):
        return pd.Timestamp(value).date().isoformat()
    return str(value)


def _undated(tables: Tables, key: str, dated: set[int], template: Template) -> list[CardContact]:
    """The lead's plan rows the reader left out for want of a date, in sheet order (the card shows every row)."""
    pm = tables.plan_map
    cols = pm.columns
    out = []
    for number, values in enumerate(pm.data.values[1:], start=2):

        def text(column_id: str, values: list[Any] = values) -> str:
            col = cols.get(column_id)
            return cell_text(values[col]) if col is not None and col < len(values) else ""

        if number in dated or normalise(text("project")) != key:
            continue
        status = text("status")
        kind = template.status_kind(status) or "open"
        out.append(CardContact(number, None, kind, status, text("topic"), text("result"), text("owner"), text("date")))
    return out


def build_card(
    tables: Tables, plan: Plan, key: str, template: Template | None = None, moves: list[StageMove] | None = None
) -> Card:
    """Everything about the lead ``key`` (from :func:`match_project`); ``moves`` from :func:`history_moves`."""
    template = template or default_template()
    leads = tables.leads
    at = leads.index[leads["key"] == key]
    if not len(at):
        raise ProjectMatchError(f"no project {key!r} in Leads", [])
    i = at[0]
    lead, rec = leads.loc[i], plan.leads.loc[i]
    tm = tables.leads_map
    sheet_row = int(lead["row"])
    values = tm.data.values[sheet_row - 1] if sheet_row - 1 < tm.data.height else []
    tool_col = {col: cid for cid, col in tm.columns.items() if tm.tab.column(cid).owner == "tool"}
    fields: list[tuple[str, str]] = []
    for col in range(max(len(values), len(tm.data.header), *(c + 1 for c in tool_col))):
        header = tm.headers.get(col, "")
        text = (
            _tool_text(tool_col[col], rec) if col in tool_col else cell_text(values[col] if col < len(values) else None)
        )
        if header or text:
            fields.append((header or column_letter(col), text))

    rows = tables.plan[tables.plan["key"] == key].sort_values(["date", "row"], kind="stable")
    contacts = [
        CardContact(int(row), pd.Timestamp(day).date(), str(status), str(text), str(topic), str(result), str(who))
        for row, day, status, text, topic, result, who in zip(
            rows["row"],
            rows["date"],
            rows["status"],
            rows["status_text"],
            rows["topic"],
            rows["result"],
            rows["owner"],
            strict=True,
        )
    ]
    contacts += _undated(tables, key, set(tables.plan["row"]), template)
    since = rec["days_since_contact"]
    return Card(
        project=str(lead["project"]),
        row=sheet_row,
        fields=fields,
        stage=str(lead["stage"]),
        owner=str(lead["owner"]),
        touches=int(rec["touches"]),
        last_contact=_day(rec["last_contact"]),
        last_result=str(rec["last_result"]),
        days_since_contact=None if pd.isna(since) else int(since),
        next_contact=_day(rec["next_contact"]),
        next_topic=str(rec["next_topic"]),
        contacts=contacts,
        duplicate_rows=[int(r) for r in leads.loc[at[1:], "row"]],
        history=moves is not None,
        stage_history=sorted((m for m in stage_changes(moves) if m.key == key), key=lambda m: m.day),
    )


# -- the digest's numbers -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayNumbers:
    """One manager's morning numbers (``name`` "" = nobody's)."""

    name: str
    done_yesterday: int
    due_today: int
    overdue: int
    nothing_planned: int  # open leads without an open plan row

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "done_yesterday": self.done_yesterday,
            "due_today": self.due_today,
            "overdue": self.overdue,
            "nothing_planned": self.nothing_planned,
        }


@dataclass(frozen=True)
class DigestNumbers:
    """Every manager's morning numbers, keyed like the digest matches owners (case, spaces, ё folded)."""

    managers: dict[str, DayNumbers]
    team: DayNumbers

    def of(self, owner: str) -> DayNumbers:
        """The numbers of ``owner`` as the digest config spells it; zeros for a name the sheet does not know."""
        return self.managers.get(normalise(owner), DayNumbers(owner.strip(), 0, 0, 0, 0))


def digest_numbers(tables: Tables, plan: Plan, today: dt.date, template: Template) -> DigestNumbers:
    """Done yesterday, due today, overdue and nothing planned, per manager and for the team.

    Same attribution as the review (the plan row's Owner, else the lead's);
    due today and overdue are Calls Today's Today and Overdue sections.
    """
    yesterday = today - dt.timedelta(days=1)
    review = build_review(tables, plan, today, Period("range", yesterday, yesterday), template)
    calls = plan.calls
    due = Counter(normalise(o) for o in calls.loc[calls["section"] == "today", "owner"])
    managers = {
        normalise(m.name): DayNumbers(m.name, m.done, due.get(normalise(m.name), 0), m.overdue, m.nothing_planned)
        for m in review.managers
    }
    team = DayNumbers("", review.team.done, sum(due.values()), review.team.overdue, review.team.nothing_planned)
    return DigestNumbers(managers, team)
