"""The pure planning core: tables in, desired tool columns and calls out.

No I/O and no clock: ``today`` is passed in. Everything is vectorised over
the Contact Plan (sort + group), so a million plan rows plan in about a
second.

Inputs are the frames :mod:`sheets_crm.reading` builds:

- leads: ``row, project, key, contact, phone, stage, owner``
- plan:  ``row, project, key, date (datetime64), status (open/done/cancelled),
  topic, result, owner`` — only rows with a usable date and project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .model import Call, Issue
from .template import Template

__all__ = ["Plan", "plan_crm", "freshness_colors", "SECTIONS", "LEAD_FIELDS", "CALL_FIELDS"]

SECTIONS = ("overdue", "today", "upcoming")
LEAD_FIELDS = ("last_contact", "last_result", "next_contact", "next_topic", "days_since_contact", "touches")
CALL_FIELDS = ("section", "date", "days_overdue", "project", "contact", "phone", "topic", "last_result", "owner")


@dataclass
class Plan:
    """The desired state. ``leads`` is aligned row-for-row with the input leads."""

    leads: pd.DataFrame   # LEAD_FIELDS + "fill" (RRGGBB or None)
    calls: pd.DataFrame   # CALL_FIELDS + "plan_row"
    issues: list[Issue]

    def call_list(self) -> list[Call]:
        out = []
        for rec in self.calls.itertuples(index=False):
            out.append(Call(
                section=rec.section,
                date=rec.date.date(),
                days_overdue=None if pd.isna(rec.days_overdue) else int(rec.days_overdue),
                project=rec.project, contact=rec.contact, phone=rec.phone, topic=rec.topic,
                last_result=rec.last_result, owner=rec.owner, plan_row=int(rec.plan_row),
            ))
        return out

    def counts(self) -> dict[str, int]:
        counts = self.calls["section"].value_counts()
        return {s: int(counts.get(s, 0)) for s in SECTIONS}


def plan_crm(leads: pd.DataFrame, plan: pd.DataFrame, today: dt.date, template: Template,
             plan_title: str = "Contact Plan", date_header: str = "Date") -> Plan:
    """Work out every lead's tool columns, the Calls Today list and the colours."""
    settings = template.settings
    today64 = pd.Timestamp(today)
    issues: list[Issue] = []

    done = plan[plan["status"] == "done"]
    future_done = done[done["date"] > today64]
    for rec in future_done.itertuples(index=False):
        issues.append(Issue(plan_title, int(rec.row), date_header, rec.date.date().isoformat(),
                            "marked Done but dated in the future; counted as the last contact anyway",
                            "future-done"))

    # Last contact: latest done date; on a tie the row lower in the sheet
    # (entered later) wins, so its Result is the one shown.
    last = (done.sort_values(["key", "date", "row"], kind="mergesort")
                .groupby("key", sort=False).tail(1)
                .set_index("key")[["date", "result"]])
    touches = done.groupby("key").size()

    # Next contact: the earliest open row, overdue included; on a tie the
    # row higher in the sheet (planned first) wins.
    open_rows = plan[plan["status"] == "open"]
    nxt = (open_rows.sort_values(["key", "date", "row"], kind="mergesort")
                    .groupby("key", sort=False).head(1)
                    .set_index("key")[["date", "topic"]])

    keys = leads["key"]
    out = pd.DataFrame(index=leads.index)
    out["last_contact"] = _lookup(last["date"], keys).astype("datetime64[ns]")
    out["last_result"] = _lookup(last["result"], keys).fillna("")
    out["next_contact"] = _lookup(nxt["date"], keys).astype("datetime64[ns]")
    out["next_topic"] = _lookup(nxt["topic"], keys).fillna("")
    days = (today64 - out["last_contact"]).dt.days
    out["days_since_contact"] = days.astype("Int64")
    out["touches"] = _lookup(touches, keys).fillna(0).astype("int64")
    out["fill"] = freshness_colors(days, leads["stage"], template)

    calls = _calls(open_rows, leads, out, today64, settings.upcoming_days)
    return Plan(out, calls, issues)


def _lookup(values: pd.Series, keys: pd.Series) -> pd.Series:
    """values[key] for each key, aligned to ``keys`` (NaN/NaT where absent).

    ``reindex`` keeps the dtype even when nothing matches, where ``map``
    would fall back to float and break date arithmetic.
    """
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def freshness_colors(days: pd.Series, stages: pd.Series, template: Template) -> pd.Series:
    """Fill per lead: full colour at 0 days, fading linearly to none at fade days.

    Never contacted and closed stages (Won/Lost) get no fill. Channels are
    rounded after interpolation, so staler is never darker than fresher.
    """
    settings = template.settings
    stage_of = {s: template.stage(s) for s in stages.unique()}
    fade = stages.map(lambda s: (stage_of[s].fade_days if stage_of[s] and stage_of[s].fade_days
                                 else settings.freshness_days)).astype("float64")
    closed = stages.map(lambda s: bool(stage_of[s] and stage_of[s].closed))
    d = days.astype("float64").clip(lower=0)
    share = (1.0 - d / fade).clip(lower=0.0, upper=1.0)
    share = share.where(~closed & days.notna(), 0.0).fillna(0.0).to_numpy()

    base = np.array([int(settings.freshness_color[i:i + 2], 16) for i in (0, 2, 4)], dtype="float64")
    rgb = np.rint(255.0 - np.outer(share, 255.0 - base)).astype("int64")
    codes = pd.Series([f"{r:02X}{g:02X}{b:02X}" for r, g, b in rgb], index=days.index, dtype=object)
    return codes.where(share > 0, None)


def _calls(open_rows: pd.DataFrame, leads: pd.DataFrame, lead_out: pd.DataFrame,
           today64: pd.Timestamp, upcoming_days: int) -> pd.DataFrame:
    horizon = today64 + pd.Timedelta(days=upcoming_days)
    due = open_rows[open_rows["date"] <= horizon].copy()
    section = np.where(due["date"] < today64, "overdue", np.where(due["date"] == today64, "today", "upcoming"))
    due["section"] = section
    due["order"] = pd.Categorical(section, categories=list(SECTIONS), ordered=True)
    overdue_days = (today64 - due["date"]).dt.days
    due["days_overdue"] = overdue_days.where(due["section"] != "upcoming").astype("Int64")

    # Lead details come from the first row of each project in Leads.
    info = leads.assign(last_result=lead_out["last_result"]).drop_duplicates("key").set_index("key")
    for name in ("contact", "phone", "last_result"):
        due[name] = _lookup(info[name], due["key"]).fillna("")
    lead_owner = _lookup(info["owner"], due["key"]).fillna("")
    due["owner"] = due["owner"].where(due["owner"] != "", lead_owner)
    # Show the lead's own spelling of the project name where there is one.
    due["project"] = _lookup(info["project"], due["key"]).fillna(due["project"])

    due = due.sort_values(["order", "date", "row"], kind="mergesort")
    result = due[list(CALL_FIELDS)].copy()
    result["plan_row"] = due["row"].to_numpy()
    return result.reset_index(drop=True)
