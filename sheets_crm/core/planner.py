"""The pure planning core: tables in, desired tool columns and calls out.

No I/O and no clock: ``today`` is passed in. Everything is vectorised over
the Contact Plan (sort + group), so a million plan rows plan in about a
second.

Inputs are the frames :mod:`sheets_crm.core.reading` builds:

- leads: ``row, project, key, contact, phone, stage, owner``
- plan:  ``row, project, key, date (datetime64), status (open/done/cancelled),
  topic, result, owner`` — only rows with a usable date and project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sheets_crm.core.model import N_, SECTIONS, Call, Issue
from sheets_crm.core.template import Template

__all__ = ["Plan", "plan_crm", "freshness_colors", "SECTIONS", "LEAD_FIELDS", "CALL_FIELDS"]

LEAD_FIELDS = ("last_contact", "last_result", "next_contact", "next_topic", "days_since_contact", "touches")
CALL_FIELDS = ("section", "date", "days_overdue", "project", "contact", "phone", "topic", "last_result", "owner")


@dataclass
class Plan:
    """The desired state. ``leads`` is aligned row-for-row with the input leads."""

    #: LEAD_FIELDS + "fill" (the row's freshness, RRGGBB or None) + per-cell overrides
    #: "next_contact_fill" (overdue / nothing planned) and "days_since_contact_fill" (stale).
    leads: pd.DataFrame
    calls: pd.DataFrame  # CALL_FIELDS + "plan_row"
    issues: list[Issue]

    def call_list(self) -> list[Call]:
        calls = self.calls
        days_overdue = calls["days_overdue"].astype("Int64").tolist()
        return [
            Call(
                section=str(section),
                date=pd.Timestamp(date).date(),
                days_overdue=None if overdue is pd.NA else int(overdue),
                project=str(project),
                contact=str(contact),
                phone=str(phone),
                topic=str(topic),
                last_result=str(last_result),
                owner=str(owner),
                plan_row=int(plan_row),
            )
            for section, date, overdue, project, contact, phone, topic, last_result, owner, plan_row in zip(
                calls["section"].tolist(),
                calls["date"].to_numpy(dtype="datetime64[ns]"),
                days_overdue,
                calls["project"].tolist(),
                calls["contact"].tolist(),
                calls["phone"].tolist(),
                calls["topic"].tolist(),
                calls["last_result"].tolist(),
                calls["owner"].tolist(),
                calls["plan_row"].to_numpy(dtype="int64").tolist(),
                strict=True,
            )
        ]

    def counts(self) -> dict[str, int]:
        counts = self.calls["section"].value_counts()
        return {s: int(counts.get(s, 0)) for s in SECTIONS}


def plan_crm(
    leads: pd.DataFrame,
    plan: pd.DataFrame,
    today: dt.date,
    template: Template,
    plan_title: str = "Contact Plan",
    date_header: str = "Date",
) -> Plan:
    """Work out every lead's tool columns, the Calls Today list and the colours."""
    settings = template.settings
    today64 = pd.Timestamp(today)
    issues: list[Issue] = []

    dates = plan["date"].to_numpy(dtype="datetime64[ns]")
    rows = plan["row"].to_numpy(dtype="int64")
    status = plan["status"].to_numpy()
    done = status == "done"
    open_ = status == "open"
    for i in np.flatnonzero(done & (dates > today64.to_datetime64())):
        issues.append(
            Issue(
                plan_title,
                int(rows[i]),
                date_header,
                pd.Timestamp(dates[i]).date().isoformat(),
                "marked Done but dated in the future; counted as the last contact anyway",
                "future-done",
            )
        )

    # Projects as integer codes (the k-th distinct lead key is k; a plan row
    # whose project is not in Leads is -1): sorting and grouping integers
    # rather than strings is what keeps a million plan rows fast.
    first_lead = np.flatnonzero(~leads["key"].duplicated().to_numpy())
    lead_keys = pd.Index(leads["key"].to_numpy()[first_lead])
    lead_code = lead_keys.get_indexer(leads["key"].to_numpy())
    plan_code = lead_keys.get_indexer(plan["key"].to_numpy())
    known = plan_code >= 0

    # Last contact: latest done date; on a tie the row lower in the sheet
    # (entered later) wins, so its Result is the one shown.
    done_rows = np.flatnonzero(done & known)
    last = _pick(done_rows, plan_code, dates, rows, len(lead_keys), latest=True)[lead_code]
    touches = np.bincount(plan_code[done_rows], minlength=len(lead_keys))

    # Next contact: the earliest open row, overdue included; on a tie the
    # row higher in the sheet (planned first) wins.
    nxt = _pick(np.flatnonzero(open_ & known), plan_code, dates, rows, len(lead_keys), latest=False)[lead_code]

    # Calls: open rows up to the horizon, less those of closed (Won/Lost) leads unless the template keeps them.
    horizon = (today64 + pd.Timedelta(days=settings.upcoming_days)).to_datetime64()
    due = open_ & (dates <= horizon)
    if not settings.include_closed and len(first_lead):
        closed = _closed_codes(leads, first_lead, template)
        shut = due & known & closed[np.where(known, plan_code, 0)]
        if shut.any():
            issues.extend(_closed_issues(plan, shut, plan_code, leads, first_lead, plan_title, date_header))
            due &= ~shut

    out = pd.DataFrame(index=leads.index)
    out["last_contact"] = _gather(dates, last, np.datetime64("NaT"))
    out["last_result"] = _gather(plan["result"].to_numpy(dtype=object), last, "")
    out["next_contact"] = _gather(dates, nxt, np.datetime64("NaT"))
    out["next_topic"] = _gather(plan["topic"].to_numpy(dtype=object), nxt, "")
    days = (today64 - out["last_contact"]).dt.days
    out["days_since_contact"] = days.astype("Int64")
    out["touches"] = touches[lead_code].astype("int64")
    out["fill"] = freshness_colors(days, leads["stage"], template)
    _forgotten_fills(out, leads["stage"], today64, template)

    calls = _calls(plan, np.flatnonzero(due), plan_code, leads, first_lead, out, today64)
    return Plan(out, calls, issues)


def _closed_codes(leads: pd.DataFrame, first_lead: np.ndarray, template: Template) -> np.ndarray:
    """Per project code: is the lead's stage (on its first row in Leads) a closed one?"""
    stages = leads["stage"].to_numpy(dtype=object)[first_lead]
    closed_of = {s: bool((st := template.stage(s)) and st.closed) for s in set(stages.tolist())}
    return np.array([closed_of[s] for s in stages.tolist()], dtype=bool)


def _closed_issues(
    plan: pd.DataFrame,
    shut: np.ndarray,
    plan_code: np.ndarray,
    leads: pd.DataFrame,
    first_lead: np.ndarray,
    plan_title: str,
    date_header: str,
) -> list[Issue]:
    """One warning per closed lead whose open calls were left out: at its earliest such row."""
    positions = np.flatnonzero(shut)
    dates = plan["date"].to_numpy(dtype="datetime64[ns]")
    rows = plan["row"].to_numpy(dtype="int64")
    n_codes = len(first_lead)
    first = _pick(positions, plan_code, dates, rows, n_codes, latest=False)
    count = np.bincount(plan_code[positions], minlength=n_codes)
    projects = leads["project"].to_numpy(dtype=object)
    stages = leads["stage"].to_numpy(dtype=object)
    lead_rows = leads["row"].to_numpy(dtype="int64")
    issues: list[Issue] = []
    for code in np.flatnonzero(first >= 0).tolist():
        i, lead = int(first[code]), int(first_lead[code])
        others = int(count[code]) - 1
        msgid = (
            N_(
                "closed lead has an open call: {project!r} is {stage!r} in Leads (row {row}), so this call and "
                "{others} more of its open rows are left out of Calls Today; mark them Done or Cancelled, "
                "or reopen the lead"
            )
            if others
            else N_(
                "closed lead has an open call: {project!r} is {stage!r} in Leads (row {row}), so this call is "
                "left out of Calls Today; mark it Done or Cancelled, or reopen the lead"
            )
        )
        issues.append(
            Issue.of(
                plan_title,
                int(rows[i]),
                date_header,
                pd.Timestamp(dates[i]).date().isoformat(),
                msgid,
                "closed-lead-open-call",
                project=projects[lead],
                stage=stages[lead],
                row=int(lead_rows[lead]),
                others=others,
            )
        )
    return issues


def _pick(
    positions: np.ndarray, code: np.ndarray, dates: np.ndarray, rows: np.ndarray, n_codes: int, latest: bool
) -> np.ndarray:
    """Per project code, the plan position among ``positions`` with the smallest
    (date, row) — the largest when ``latest`` — or -1 when it has none."""
    order = positions[np.lexsort((rows[positions], dates[positions], code[positions]))]
    if latest:
        order = order[::-1]
    sorted_code = code[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_code[1:] != sorted_code[:-1]
    pick = np.full(n_codes, -1, dtype="int64")
    pick[sorted_code[first]] = order[first]
    return pick


def _gather(values: np.ndarray, positions: np.ndarray, missing: object) -> np.ndarray:
    """``values[positions]``, with ``missing`` where the position is -1."""
    out = np.full(len(positions), missing, dtype=values.dtype)
    hit = positions >= 0
    out[hit] = values[positions[hit]]
    return out


def _stage_rules(stages: pd.Series, template: Template) -> tuple[pd.Series, pd.Series]:
    """Per lead: its fade period in days (float) and whether its stage is closed."""
    settings = template.settings
    stage_of = {s: template.stage(s) for s in stages.unique()}
    fade = stages.map(
        {s: (st.fade_days if st and st.fade_days else settings.freshness_days) for s, st in stage_of.items()}
    ).astype("float64")
    closed = stages.map({s: bool(st and st.closed) for s, st in stage_of.items()}).astype(bool)
    return fade, closed


def _forgotten_fills(out: pd.DataFrame, stages: pd.Series, today64: pd.Timestamp, template: Template) -> None:
    """ "Forgotten" at a glance, on an open lead's tool cells (closed leads are never tinted).

    - Next contact before today: the overdue colour (as in Calls Today).
    - No open contact planned at all: Next contact stays empty, filled with the nothing-planned colour.
    - Stale (the freshness tint has faded out: days since contact ≥ the fade period): Days since
      contact gets the faint stale grey; never contacted stays white, so the two differ.
    Everything else keeps the row's freshness fill. An empty colour in the template turns a mark off.
    """
    settings = template.settings
    fade, closed = _stage_rules(stages, template)
    open_lead = ~closed
    nxt = out["next_contact"]
    overdue = open_lead & nxt.notna() & (nxt < today64)
    nothing = open_lead & nxt.isna()
    days = out["days_since_contact"].astype("float64")
    stale = open_lead & days.notna() & (days >= fade)
    row_fill = out["fill"]
    next_fill = row_fill.where(~overdue, settings.overdue_color or None)
    out["next_contact_fill"] = next_fill.where(~nothing, settings.nothing_planned_color or None)
    out["days_since_contact_fill"] = row_fill.where(~stale, settings.stale_color or None)


def freshness_colors(days: pd.Series, stages: pd.Series, template: Template) -> pd.Series:
    """Fill per lead: full colour at 0 days, fading linearly to none at fade days.

    Never contacted and closed stages (Won/Lost) get no fill. Channels are
    rounded after interpolation, so staler is never darker than fresher.
    """
    settings = template.settings
    fade, closed = _stage_rules(stages, template)
    d = days.astype("float64").clip(lower=0)
    share_s = (1.0 - d / fade).clip(lower=0.0, upper=1.0)
    share = share_s.where(~closed & days.notna(), 0.0).fillna(0.0).to_numpy(dtype="float64")

    base = np.array([int(settings.freshness_color[i : i + 2], 16) for i in (0, 2, 4)], dtype="float64")
    rgb = np.rint(255.0 - np.outer(share, 255.0 - base)).astype("int64")
    # Few distinct colours (one per day of fading): format each once.
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    distinct, which = np.unique(packed, return_inverse=True)
    names = np.array([f"{v:06X}" for v in distinct.tolist()], dtype=object)
    codes = pd.Series(names[which.reshape(-1)], index=days.index, dtype=object)
    return codes.where(share > 0, None)


def _calls(
    plan: pd.DataFrame,
    due: np.ndarray,
    plan_code: np.ndarray,
    leads: pd.DataFrame,
    first_lead: np.ndarray,
    lead_out: pd.DataFrame,
    today64: pd.Timestamp,
) -> pd.DataFrame:
    """Calls Today from the plan positions ``due`` (open, within the horizon)."""
    dates = plan["date"].to_numpy(dtype="datetime64[ns]")
    rows = plan["row"].to_numpy(dtype="int64")
    today = today64.to_datetime64()
    # 0 overdue, 1 today, 2 upcoming (the order of SECTIONS); within a
    # section by date, then sheet order.
    section = np.where(dates[due] < today, 0, np.where(dates[due] == today, 1, 2))
    order = np.lexsort((rows[due], dates[due], section))
    due, section = due[order], section[order]
    date = dates[due]

    # Lead details come from the first row of each project in Leads.
    lead = _gather(first_lead, plan_code[due], -1)
    lead_owner = _gather(leads["owner"].to_numpy(dtype=object), lead, "")
    owner = plan["owner"].to_numpy(dtype=object)[due]
    project = plan["project"].to_numpy(dtype=object)[due]
    days_overdue = pd.Series((today - date) // np.timedelta64(1, "D")).where(section != 2).astype("Int64")

    result = pd.DataFrame(
        {
            "section": np.array(SECTIONS, dtype=object)[section],
            "date": date,
            "days_overdue": days_overdue,
            # Show the lead's own spelling of the project name where there is one.
            "project": np.where(lead >= 0, _gather(leads["project"].to_numpy(dtype=object), lead, ""), project),
            "contact": _gather(leads["contact"].to_numpy(dtype=object), lead, ""),
            "phone": _gather(leads["phone"].to_numpy(dtype=object), lead, ""),
            "topic": plan["topic"].to_numpy(dtype=object)[due],
            "last_result": _gather(lead_out["last_result"].to_numpy(dtype=object), lead, ""),
            "owner": np.where(owner != "", owner, lead_owner),
            "plan_row": rows[due],
        }
    )
    return result
