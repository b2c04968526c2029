"""A tiny run of the benchmark runner (the real benchmark is run by hand: bench/run.py).

Runs every part in-process at 20 and 50 leads (the baseline at 20), no latency, and checks the
result structure, that a Google sync's request count does not grow with the
sheet, that the no-op sync writes nothing, and that the beginner's baseline
writes exactly what we write, in as many requests as computed.
"""

from __future__ import annotations

import pytest

from bench.generate import generate
from bench.run import Config, collect, in_process, render


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    cfg = Config(
        sizes=[20, 50],
        latency=0.0,
        baseline_max=20,
        verify_size=20,
        planner_1m=False,
        faithful=True,
        repeat=1,
        cache=tmp_path_factory.mktemp("bench"),
    )
    return collect(cfg, call=in_process)


def test_generator_is_deterministic_and_sized():
    a, b = generate(30, seed=1), generate(30, seed=1)
    assert a.leads == b.leads and a.plan == b.plan
    assert len(a.leads) == 30 and len(a.plan) == 300
    assert generate(30, seed=2).plan != a.plan


def test_google_requests_do_not_grow_with_the_sheet(results):
    shapes = set()
    for n in ("20", "50"):
        first = results["google"][n]["0"]["first"]["extra"]
        noop = results["google"][n]["0"]["noop"]["extra"]
        # Reads: properties, values, Calls Today's colours (+ Days since formulas, guard on a write).
        assert first["reads"] <= 5 and first["writes"] == 1 and first["changed_cells"] > 0
        assert noop["writes"] == 0 and noop["reads"] == 3 and noop["changed_cells"] == 0
        assert first["bytes_sent"] > 0 and noop["bytes_sent"] == 0
        shapes.add((first["reads"], first["writes"], noop["reads"], noop["writes"]))
        assert results["google"][n]["0"]["next_day"]["extra"]["writes"] == 1
    assert len(shapes) == 1


def test_baseline_writes_what_we_write_in_the_computed_number_of_requests(results):
    base = results["baseline"]["20"]["0"]
    assert base["verify"]["values_differ"] == 0 and base["verify"]["fills_differ"] == 0
    assert base["verify"]["cells"] > 0
    for kind in ("first", "noop"):
        measured = base[kind]["extra"]
        assert measured["requests"] == measured["computed_requests"]
        assert measured["requests"] == results["google"]["20"]["0"][f"baseline_{kind}"]["requests"]
    assert base["first"]["extra"]["requests"] > 10 * results["google"]["20"]["0"]["first"]["extra"]["requests"]
    assert "50" not in results["baseline"] or not results["baseline"]["50"]  # 50 > baseline_max: computed only


def test_local_and_planner_parts(results):
    for n in ("20", "50"):
        local = results["local"][n]
        assert local["first"]["extra"]["written"] and local["first"]["extra"]["changed_cells"] > 0
        assert not local["noop"]["extra"]["written"] and local["noop"]["extra"]["changed_cells"] == 0
        for key in ("floor_in", "floor_out", "first", "noop"):
            assert local[key]["wall_s"] > 0 and local[key]["peak_mb"] > 0
    planner = results["planner"]["50"]
    assert planner["plan_rows"] == 500 and planner["plan_rows_per_s"] > 0


def test_tables_render(results):
    text = render(results)
    for heading in ("## Targets", "## Google backend", "## Against the beginner", "## Local .xlsx", "## Planner"):
        assert heading in text
    assert "MISSED" not in text.split("## Google backend")[0].split("Google requests")[1].split("\n")[0]
