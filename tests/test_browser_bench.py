"""The browser benchmark's harness (benchmarks/browser.py) on its floor app: every interaction it times
is seen to start a run and end drawn, and the table states each target's verdict. No timing is asserted
beyond "a positive time was measured"; the figures are the benchmark's, not the test's."""

from __future__ import annotations

import pytest

from benchmarks.browser import Row, measure_floor, table

pytestmark = pytest.mark.browser


def test_floor_interactions_are_timed_from_press_to_drawn(tmp_path):
    figures = measure_floor(500, 1, tmp_path)
    assert set(figures) == {"first", "slider", "switch", "segment"}
    assert all(0 < v < 120_000 for v in figures.values()), figures


def test_table_gives_ratio_target_and_verdict():
    rows = [Row("Tuning slider step", 100_000, 250.0, 100.0, 5), Row("page switch", 100_000, 1500.0, 300.0, 5),
            Row("first page (sample generated)", 100_000, 9000.0, None, 1)]
    lines = table(rows).splitlines()
    assert lines[2] == "| Tuning slider step | 100,000 | 250 ms | 100 ms | 2.5x | <= 300 ms | PASS |"
    assert lines[3] == "| page switch | 100,000 | 1,500 ms | 300 ms | 5.0x | <= 1,000 ms | FAIL |"
    assert lines[4] == "| first page (sample generated) | 100,000 | 9,000 ms | — | — | — | — |"
