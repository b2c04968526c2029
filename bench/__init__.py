"""Benchmarks for sheets-crm, run by hand: ``uv run python -m bench.run``.

Not part of the test suite (``tests/test_bench_smoke.py`` runs a tiny size).
"""
