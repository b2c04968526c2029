"""`report --html`: one self-contained page, checked in a real browser (headless Chromium) where one is installed.

A copy of the page gets a small probe script that measures, in the browser,
every chart's box and every bar's drawn size; the page itself has no script.
A screenshot then has to show each chart's colour inside that chart's box.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import crm, crm_ru, runner  # noqa: F401  (fixtures shared with the review tests)

from sheets_crm.cli.main import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
WINDOW = (1300, 1400)

_PROBE = """<script>
const out = {charts: {}, bars: {}};
for (const fig of document.querySelectorAll("figure.chart")) {
  const r = fig.querySelector("svg") ? fig.querySelector("svg").getBoundingClientRect() : null;
  out.charts[fig.id] = r && {x: r.x, y: r.y + window.scrollY, w: r.width, h: r.height};
}
for (const g of document.querySelectorAll("g[id*='-bar-']")) {
  const b = g.getBBox();
  out.bars[g.id] = [b.width, b.height];
}
const pre = document.createElement("pre");
pre.id = "probe";
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)


def _write_page(runner, crm_path: Path, page: Path, said: str = "Wrote the review page to {page}.") -> str:  # noqa: F811
    result = runner.invoke(app, ["report", str(crm_path), "--html", str(page), "--today", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == said.format(page=page)
    return page.read_text(encoding="utf-8")


def test_page_is_self_contained(runner, crm, tmp_path):  # noqa: F811
    text = _write_page(runner, crm, tmp_path / "review.html")
    assert "<script" not in text
    # Nothing to fetch: no src= at all, no link to anywhere, no remote url() in styles.
    assert not re.search(r"\ssrc=|<link|url\((?!#)|@import|href=\"http", text)
    assert text.count("<svg") == 3
    assert len(re.findall(r'<g id="funnel-bar-\d+">', text)) == 7  # six stages and Iota's unknown one
    assert len(re.findall(r'<g id="daily-bar-\d+-\d+">', text)) == 4 * 3  # 4 managers x Mon…Wed
    assert len(re.findall(r'<g id="overdue-bar-\d+">', text)) == 2  # Anna and Ivan


@needs_chromium
def test_every_chart_draws_in_chromium(runner, crm, tmp_path):  # noqa: F811
    page = tmp_path / "review.html"
    text = _write_page(runner, crm, page)
    probed = tmp_path / "probed.html"
    probed.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")

    dom = _chromium(probed.as_uri(), tmp_path, "--dump-dom").stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    bars = probe["bars"]

    funnel = [bars[f"funnel-bar-{i}"] for i in range(7)]
    assert all(w > 0 and h > 0 for w, h in funnel)  # every stage has a lead: every bar has length
    # Bars are proportional: New (2 leads) twice Qualified (1).
    assert funnel[0][0] == pytest.approx(2 * funnel[1][0], rel=0.01)
    drawn = {k for k, (w, h) in bars.items() if k.startswith("daily-") and w > 0 and h > 0}
    # Managers in order Anna, Ivan, Petr, (no owner); days Mon 23, Tue 24, Wed 25.
    assert drawn == {"daily-bar-0-0", "daily-bar-3-0", "daily-bar-3-2"}
    assert bars["daily-bar-0-0"][1] == pytest.approx(2 * bars["daily-bar-3-0"][1], rel=0.01)
    assert all(bars[f"overdue-bar-{i}"][0] > 0 for i in range(2))

    charts = probe["charts"]
    assert set(charts) == {"chart-funnel", "chart-daily", "chart-overdue"}
    assert all(box and box["w"] > 100 and box["h"] > 50 for box in charts.values())

    shot = tmp_path / "shot.png"
    _chromium(page.as_uri(), tmp_path, f"--screenshot={shot}")
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size == WINDOW
    colours = {
        "chart-funnel": (0x57, 0xBB, 0x8A),
        "chart-overdue": (0xE1, 0x57, 0x59),
        "chart-daily": (0x4E, 0x79, 0xA7),
    }
    for chart, colour in colours.items():
        box = charts[chart]
        assert box["y"] + box["h"] <= WINDOW[1], f"{chart} is below the screenshot"
        crop = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["w"]), int(box["y"] + box["h"])))
        raw = crop.tobytes()
        pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
        near = sum(1 for p in pixels if all(abs(a - b) <= 8 for a, b in zip(p, colour, strict=True)))
        assert near > 500, f"{chart}: only {near} pixels of its bar colour"


@needs_chromium
def test_russian_page_draws_in_chromium(runner, crm_ru, tmp_path):  # noqa: F811
    page = tmp_path / "review.html"
    text = _write_page(runner, crm_ru, page, "Страница обзора записана в {page}.")
    assert '<html lang="ru">' in text and "Воронка: лидов на этапе сейчас" in text
    dom = _chromium(page.as_uri(), tmp_path, "--dump-dom").stdout
    assert dom.count("<svg") == 3
    assert "Переговоры" in dom  # stage labels are text the browser renders, Cyrillic included
