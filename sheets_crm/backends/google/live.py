"""Tool cells Google keeps live by itself: Days since contact as a formula, freshness as conditional formats.

Both change every day for every lead. Written as values, a next-morning sync
rewrites every lead (4 MB at 10k leads); laid down once as a formula and as
conditional-format rules, the sheet computes them itself — right every day,
even on a day the sync did not run — and the next-morning sync writes only
what really changed.

* **Days since contact** is a formula per row, ``=IF(I5="","",TODAY()-I5)``
  (``I`` = the Last contact column), laid down as **one** ``repeatCell`` per run
  of rows carrying the run's top formula: Google increments its relative
  references row by row ("the formula's ranges will automatically increment for
  each field in the range", RepeatCellRequest reference; the stand-in does the
  same), so the first sync's cost is constant, not ~45 bytes a lead. It is
  never written again while it stays: the next-morning sync reads the numbers
  the sheet computed, finds them right and writes nothing. ``TODAY()`` is the
  spreadsheet's own date in its own time zone — the product's definition of
  "today". A person sorting rows or moving the column keeps it right (Google
  adjusts relative references).
* **Freshness**: one ``CUSTOM_FORMULA`` rule per stage group and day of fading
  (a gradient rule can only colour a cell by its *own* value, and the tint
  spans every freshness column and depends on Last contact and Stage), each
  with the planner's exact colour for that day, so the sheet shows what the
  local backend paints (full colour on the day, fading linearly to white at the
  stage's fade days, closed stages and never-contacted leads untinted). With
  the default template that is 30 + 14 + 10 = 54 rules, about 15 KB, sent once.
  Our rules are recognised by their formula's shape; if a person deletes or
  edits one, the next sync replaces the set, and ``doctor`` says so
  (:meth:`GoogleWorkbook.live_problems`), as it does for a Days since contact
  cell typed or pasted over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sheets_crm.backends.google.colors import color_to_hex, hex_to_color
from sheets_crm.backends.protocol import LiveColumns
from sheets_crm.core.text import column_letter

__all__ = [
    "days_formula",
    "freshness_palette",
    "freshness_rules",
    "rules_requests",
    "is_ours",
    "same_rules",
    "rules_in_place",
    "RULE_MARK",
]

_RE2_SPECIAL = re.compile(r"[\\.^$|?*+()\[\]{}]")

#: Every freshness rule's formula starts so (how our rules are told from a person's).
RULE_MARK = "=AND(ISNUMBER($"


def days_formula(last_contact_col: int, row: int) -> str:
    """The Days since contact formula of 0-based ``row`` whose Last contact is in ``last_contact_col``."""
    cell = f"{column_letter(last_contact_col)}{row + 1}"
    return f'=IF({cell}="","",TODAY()-{cell})'


def _fade(share: float, base: str) -> str:
    """The planner's colour at ``share`` of full strength (same rounding: numpy's rint, half to even)."""
    out = []
    for i in (0, 2, 4):
        level = int(base[i : i + 2], 16)
        out.append(f"{round(255.0 - share * (255.0 - level)):02X}")
    return "".join(out)


def freshness_palette(fade_days: int, color: str) -> list[str]:
    """Colour for 0, 1, … fade_days-1 days since the last contact (white from fade_days on)."""
    return [_fade(max(0.0, min(1.0, 1.0 - d / fade_days)), color.upper()) for d in range(max(fade_days, 0))]


def _stage_test(stage_col: int | None, labels: Iterable[str], negate: bool) -> str:
    """A formula testing the Stage cell against labels, folded like the core folds them."""
    if stage_col is None:
        return ""
    names = sorted({label for label in labels if label})
    if not names:
        return ""
    # Fold like sheets_crm.core.text.normalise: trim and collapse spaces, case, ё→е (labels arrive folded).
    cell = f'SUBSTITUTE(LOWER(TRIM(SUBSTITUTE(${column_letter(stage_col)}2,CHAR(160)," "))),"ё","е")'
    alternatives = "|".join(_RE2_SPECIAL.sub(r"\\\g<0>", n).replace('"', '""') for n in names)
    test = f'REGEXMATCH({cell},"^({alternatives})$")'
    return f"NOT({test})" if negate else test


@dataclass(frozen=True)
class _Rule:
    formula: str
    color: str


def _rules(live: LiveColumns) -> list[_Rule]:
    """Every freshness rule, in order: per stage group, day 0 first."""
    last = f"${column_letter(live.last_contact)}2"
    special = [fade for fade in live.stages if fade.labels]
    out: list[_Rule] = []
    for fade in live.stages:
        if fade.closed:
            continue
        if fade.labels:
            stage = _stage_test(live.stage, fade.labels, negate=False)
        else:  # every stage not named by another group (unknown and empty stages included)
            stage = _stage_test(live.stage, (label for f in special for label in f.labels), negate=True)
        for day, color in enumerate(freshness_palette(fade.fade_days, live.color)):
            age = f"INT(TODAY()-{last}){'<=' if day == 0 else '='}{day}"  # a future contact counts as today
            parts = [f"ISNUMBER({last})", age] + ([stage] if stage else [])
            out.append(_Rule(f"=AND({','.join(parts)})", color))
    return out


def _ranges(live: LiveColumns, sheet_id: int) -> list[dict[str, Any]]:
    """The freshness columns from row 2 down to the end of the grid (unbounded: new rows included)."""
    runs: list[list[int]] = []
    for col in sorted(set(live.freshness)):
        if runs and runs[-1][-1] == col - 1:
            runs[-1].append(col)
        else:
            runs.append([col])
    return [
        {"sheetId": sheet_id, "startRowIndex": 1, "startColumnIndex": run[0], "endColumnIndex": run[-1] + 1}
        for run in runs
    ]


def freshness_rules(live: LiveColumns, sheet_id: int) -> list[dict[str, Any]]:
    """The ``ConditionalFormatRule`` objects the freshness colour needs."""
    ranges = _ranges(live, sheet_id)
    return [
        {
            "ranges": ranges,
            "booleanRule": {
                "condition": {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": rule.formula}]},
                "format": {"backgroundColor": hex_to_color(rule.color)},
            },
        }
        for rule in _rules(live)
    ]


def _formula(rule: dict[str, Any]) -> str:
    cond = (rule.get("booleanRule") or {}).get("condition") or {}
    values = cond.get("values") or [{}]
    return str(values[0].get("userEnteredValue", "")) if cond.get("type") == "CUSTOM_FORMULA" else ""


def is_ours(rule: dict[str, Any]) -> bool:
    """Is this conditional-format rule one of our freshness rules?"""
    formula = _formula(rule)
    return formula.startswith(RULE_MARK) and "INT(TODAY()-$" in formula


def _key(rule: dict[str, Any]) -> tuple[str, str | None, tuple[tuple[int, int], ...]]:
    color = color_to_hex(((rule.get("booleanRule") or {}).get("format") or {}).get("backgroundColor"))
    cols = tuple(
        sorted((int(r.get("startColumnIndex", 0)), int(r.get("endColumnIndex", 0))) for r in rule.get("ranges") or [])
    )
    return _formula(rule), color, cols


def same_rules(existing: Sequence[dict[str, Any]], wanted: Sequence[dict[str, Any]]) -> bool:
    """Do our rules among ``existing`` match ``wanted`` (formulas, colours, columns, order)?"""
    ours = [_key(r) for r in existing if is_ours(r)]
    return ours == [_key(r) for r in wanted]


def rules_in_place(existing: Sequence[dict[str, Any]], wanted: Sequence[dict[str, Any]]) -> int:
    """How many of ``wanted`` are among ``existing`` exactly (formula, colour and columns)."""
    ours = {_key(r) for r in existing if is_ours(r)}
    return sum(1 for r in wanted if _key(r) in ours)


def rules_requests(
    existing: Sequence[dict[str, Any]], live: LiveColumns, sheet_id: int, grid_rows: int
) -> list[dict[str, Any]]:
    """``batchUpdate`` requests that make the freshness rules exactly ours (none when they already are).

    Our old rules are deleted (highest index first, so indexes stay valid) and the set is added
    after the person's own rules. The first time (no rule of ours yet), the freshness columns'
    solid backgrounds an older version painted are cleared, or they would show where no rule matches.
    """
    wanted = freshness_rules(live, sheet_id)
    if same_rules(existing, wanted):
        return []
    reqs: list[dict[str, Any]] = []
    ours = [i for i, rule in enumerate(existing) if is_ours(rule)]
    for index in reversed(ours):
        reqs.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": index}})
    if not ours:
        for rng in _ranges(live, sheet_id):
            reqs.append(
                {
                    "repeatCell": {
                        "range": {**rng, "endRowIndex": max(grid_rows, 1)},
                        "cell": {},
                        "fields": "userEnteredFormat.backgroundColor",
                    }
                }
            )
    start = len(existing) - len(ours)
    for n, rule in enumerate(wanted):
        reqs.append({"addConditionalFormatRule": {"index": start + n, "rule": rule}})
    return reqs
