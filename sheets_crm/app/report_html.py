"""The weekly review as one self-contained HTML page for the meeting screen.

Charts are drawn by matplotlib and inlined as SVG: no JavaScript, no fonts or
scripts fetched, so the file opens the same on a laptop without network.
matplotlib is imported here only (lazily, from the CLI's ``--html``), never
on the sync's path. Every bar carries an id (``funnel-bar-N``,
``daily-bar-M-D``, ``overdue-bar-N``) so a test can count what a browser drew.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sheets_crm.app.report import moves_lines, period_text
from sheets_crm.app.review import MANY_TOUCHES, MIN_SAMPLE, Review
from sheets_crm.app.review_words import COLUMNS, FLOW_HEAD, TEXT, day_text, flow_cells, manager_label, stage_label
from sheets_crm.core.template import Template
from sheets_crm.errors import CrmError

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

__all__ = ["render_html", "write_html"]

_PALETTE = ("#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F")
_STAGE_COLOR = "#57BB8A"
_OVERDUE_COLOR = "#E15759"
# What matplotlib puts around the <svg> element that a page does not need (and that names remote URLs).
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)

# Text stays text (the browser's fonts render Cyrillic); a fixed salt makes the ids repeatable; big enough
# to read on a meeting-room screen.
_RC: dict[RcKeyType, Any] = {"svg.fonttype": "none", "svg.hashsalt": "sheets-crm", "font.size": 12}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; margin: 0 0 16px; }
h2 { font-size: 17px; margin: 24px 0 8px; }
table.kpi { border-collapse: collapse; font-size: 14px; }
table.kpi th, table.kpi td { padding: 4px 10px; border-bottom: 1px solid #ddd; }
table.kpi td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.kpi tr.team td { font-weight: bold; border-top: 2px solid #999; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
figure.chart { margin: 0; }
figure.chart svg { display: block; width: 560px; height: auto; }
p.empty { color: #777; }
ul.notes { color: #555; font-size: 13px; }
"""


def _svg(fig: Figure) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return _SVG_METADATA.sub("", _SVG_PROLOGUE.sub("", buf.getvalue(), count=1))


def _figure(height: float) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, height))
    return fig


def _hbars(labels: list[str], values: list[int], gid: str, color: str) -> str:
    """Horizontal bars, first label on top, value printed at each bar's end."""
    fig = _figure(max(1.6, 0.45 * len(labels) + 0.6))
    ax = fig.subplots()
    ys = list(range(len(labels)))[::-1]
    bars = ax.barh(ys, values, color=color)
    for i, bar in enumerate(bars):
        bar.set_gid(f"{gid}-bar-{i}")
    ax.bar_label(bars, padding=3)
    ax.set_yticks(ys, labels)
    ax.set_xlim(0, max([*values, 1]) * 1.15)
    ax.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return _svg(fig)


def _daily(review: Review, lang: str) -> str:
    """Done contacts per day, one stacked segment per manager."""
    days = review.period.days()
    fig = _figure(3.2)
    from matplotlib.ticker import MaxNLocator

    ax = fig.subplots()
    xs = list(range(len(days)))
    bottom = [0] * len(days)
    for m_i, m in enumerate(review.managers):
        heights = [m.daily.get(day, 0) for day in days]
        bars = ax.bar(xs, heights, bottom=bottom, color=_PALETTE[m_i % len(_PALETTE)], label=manager_label(m, lang))
        for d_i, bar in enumerate(bars):
            bar.set_gid(f"daily-bar-{m_i}-{d_i}")
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    ax.set_xticks(xs, [day.strftime(TEXT[lang]["day"]) for day in days], rotation=90 if len(days) > 10 else 0)
    ax.set_ylim(0, max([*bottom, 1]) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if review.managers:  # below the plot, where it covers no bar
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False, ncols=min(4, len(review.managers)))
    return _svg(fig)


def _chart(chart_id: str, title: str, svg: str | None, lang: str) -> str:
    body = svg if svg is not None else f'<p class="empty">{html.escape(TEXT[lang]["chart_empty"])}</p>'
    return (
        f'<figure class="chart" id="chart-{chart_id}" role="img" aria-label="{html.escape(title)}">'
        f"<h2>{html.escape(title)}</h2>{body}</figure>"
    )


def _kpi_table(review: Review, lang: str) -> str:
    t = TEXT[lang]
    head = "".join(f"<th>{html.escape(t[c])}</th>" for c in ("manager", *COLUMNS))
    rows = []
    shown = [(m, "") for m in review.managers]
    if review.owner is None:
        shown.append((review.team, "team"))
    for m, cls in shown:
        name = t["team"] if cls else manager_label(m, lang)
        cells = "".join(f'<td class="n">{getattr(m, c)}</td>' for c in COLUMNS)
        rows.append(f'<tr class="{cls}"><td>{html.escape(name)}</td>{cells}</tr>')
    return f'<table class="kpi"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _moves_html(review: Review, lang: str) -> str:
    """Stage moves per manager in the period (only when the sheet has History)."""
    lines = moves_lines(review, lang)
    if not lines:
        return ""
    return "<pre>" + html.escape("\n".join(lines).strip("\n")) + "</pre>"


def _flow_html(review: Review, template: Template, lang: str) -> str:
    """Conversion between stages and median days in a stage (only when the sheet has History)."""
    t, flow = TEXT[lang], review.flow
    if flow is None:
        return ""
    if flow.since is None:
        return f"<p>{html.escape(t['flow_none'])}</p>"
    head = "".join(f"<th>{html.escape(t[h])}</th>" for h in FLOW_HEAD)
    rows = []
    for f in flow.stages:
        cells = "".join(f'<td class="n">{html.escape(c)}</td>' for c in flow_cells(f, lang))
        rows.append(f"<tr><td>{html.escape(stage_label(f.stage, template, lang))}</td>{cells}</tr>")
    caption = html.escape(t["flow"].format(since=day_text(flow.since, lang)))
    return (
        f'<h2>{caption}</h2><table class="kpi" id="flow"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _touches(review: Review, lang: str) -> str:
    t, touches = TEXT[lang], review.touches
    if not touches.won:
        return f"<p>{html.escape(t['touches_none'])}</p>"
    median = touches.median or 0.0
    lines = [t["touches"].format(won=touches.won, median=int(median) if median.is_integer() else f"{median:.1f}")]
    lines.append(t["touches_by"].strip())
    lines += [t["touches_line"].format(touches=n, leads=k).strip() for n, k in touches.distribution.items()]
    lines.append(t["many"].format(many=touches.many, won=touches.won, n=MANY_TOUCHES).strip())
    return "<p>" + "<br>".join(html.escape(line) for line in lines) + "</p>"


def render_html(review: Review, template: Template, lang: str, *, title: str) -> str:
    """The whole page as a string."""
    import matplotlib

    with matplotlib.rc_context(_RC):  # fonts are fixed when the artists are made
        return _page(review, template, lang, title)


def _page(review: Review, template: Template, lang: str, title: str) -> str:
    t = TEXT[lang]
    heading = t["title"].format(target=title, period=period_text(review, lang), today=day_text(review.today, lang))
    funnel = _hbars(
        [stage_label(s.stage, template, lang) for s in review.funnel],
        [s.leads for s in review.funnel],
        "funnel",
        _STAGE_COLOR,
    )
    late = [m for m in review.managers if m.overdue]
    overdue = (
        _hbars([manager_label(m, lang) for m in late], [m.overdue for m in late], "overdue", _OVERDUE_COLOR)
        if late
        else None
    )
    daily = _daily(review, lang) if review.managers else None
    notes = [t["note_period"], t["note_leads"]]
    notes += (
        [t["note_won_history"], t["note_flow"].format(n=MIN_SAMPLE)]
        if review.history
        else [t["note_won"], t["note_history"]]
    )
    owner = f"<p>{html.escape(t['owner_only'].format(owner=review.owner))}</p>" if review.owner is not None else ""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{lang}"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(heading)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(heading)}</h1>{owner}",
            _kpi_table(review, lang),
            _moves_html(review, lang),
            _flow_html(review, template, lang),
            '<div class="charts">',
            _chart("funnel", t["chart_funnel"], funnel, lang),
            _chart("daily", t["chart_daily"], daily, lang),
            _chart("overdue", t["chart_overdue"], overdue, lang),
            "</div>",
            _touches(review, lang),
            f"<h2>{html.escape(t['notes'])}</h2>",
            '<ul class="notes">' + "".join(f"<li>{html.escape(n.strip())}</li>" for n in notes) + "</ul>",
            "</body></html>",
            "",
        ]
    )


def write_html(path: Path, review: Review, template: Template, lang: str, *, title: str) -> Path:
    """Write the page (UTF-8) and return its path."""
    path = Path(path)
    page = render_html(review, template, lang, title=title)
    try:
        path.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise CrmError(f"cannot write the review page to {path}: {exc.strerror or exc}") from None
    return path
