"""The benchmark harness at a tiny size, and the pattern path against the full per-account score.

No timing is asserted: only that every fast path gives the full path's numbers exactly.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_h

from riskcore import aggregates as agg
from benchmarks.bench import _same, bench_size, peer_degrees, peer_tiers, render, table
from riskcore.db import Store
from riskcore.fixtures import random_signals_frame, signals_store
from riskcore.rules import (DEFAULT_RULESET_PATH, Percentile, load_ruleset, with_enabled, with_fusion, with_points,
                            with_thresholds, with_tiers)
from riskcore.scoring import (round_score, round_sql, firing_patterns, pattern_index, patterns_for, patterns_from_signals,
                              score)


@pytest.fixture(scope="module")
def data():
    store = signals_store(random_signals_frame(3000, seed=11))
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    return store, rs, pattern_index(store, rs, "signals", out_table="idx")


def full(store, rs, name="full"):
    """The per-account scored table (both stages) for rs."""
    return score(store, rs, "signals", out_table=name)


def check_all(store, rs, pat, published=None):
    table = full(store, rs)
    assert _same(agg.tier_summary_from_patterns(pat, rs), agg.tier_summary(store, table), "tier")
    assert _same(agg.quadrant_summary_from_patterns(pat, rs), agg.quadrant_summary(store, table), "quadrant")
    h = agg.score_histogram_from_patterns(pat, rs, 20)
    ref = agg.score_histogram(store, table, 20)
    assert h["accounts"].tolist() == ref["accounts"].tolist()
    np.testing.assert_allclose(h["value"], ref["value"], rtol=1e-9)
    if published is not None:
        pub = full(store, published, "pub")
        mv = agg.tier_movement_from_patterns(pat, published, rs)
        ref = agg.tier_movement(store, pub, table)
        assert mv["accounts"].tolist() == ref["accounts"].tolist()
        assert mv[["from_tier", "to_tier"]].values.tolist() == ref[["from_tier", "to_tier"]].values.tolist()


WEIGHT_CHANGES = {
    "points": lambda rs: with_points(rs, {"usage_drop": 45, "no_qbr": 3, "champion_left": 60}),
    "percentile tiers": lambda rs: with_tiers(rs, medium=60, high=85, mode="percentile", dimension="churn"),
    "fusion off": lambda rs: with_fusion(rs, enabled=False),
    "rule disabled": lambda rs: with_enabled(rs, {"inactive_7d": False}),
    "zero points": lambda rs: with_points(rs, {"renewal_no_touch": 0}),
    "risk cut-off": lambda rs: replace(rs, quadrant=replace(rs.quadrant, risk_cutoff=40)),
}


@pytest.mark.parametrize("change", list(WEIGHT_CHANGES))
def test_weight_change_from_patterns_equals_full_score(data, change):
    store, rs, idx = data
    new = WEIGHT_CHANGES[change](rs)
    pat = patterns_for(store, idx, new)
    assert pat.degrees is idx.base.degrees  # no SQL at all on a weight change
    assert len(pat) < 3000 / 2
    check_all(store, new, pat, published=rs)


@pytest.mark.parametrize("changes", [{"usage_drop": -0.1}, {"usage_drop": -0.5, "no_qbr": 30},
                                     {"inactive_7d": 1}])
def test_threshold_change_from_index_equals_full_score(data, changes):
    store, rs, idx = data
    new = with_points(with_thresholds(rs, changes), {"usage_drop": 30})
    pat = patterns_for(store, idx, new)
    check_all(store, new, pat)
    again = patterns_from_signals(store, new, "signals")
    assert _same(agg.tier_summary_from_patterns(again, new), agg.tier_summary_from_patterns(pat, new), "tier")
    with pytest.raises(ValueError, match="thresholds"):  # plain patterns cannot see across a threshold change
        agg.tier_movement_from_patterns(pat, rs, new)
    mv = agg.tier_movement_from_index(idx, pat, rs, new)  # the index can: published tier per base pattern
    ref = agg.tier_movement(store, full(store, rs, "pub"), full(store, new))
    assert mv["accounts"].tolist() == ref["accounts"].tolist() and mv["accounts"].sum() == 3000
    np.testing.assert_allclose(mv["value"], ref["value"], rtol=1e-9)


def test_threshold_override_change(data):
    store, rs, idx = data
    overrides = tuple(replace(o, threshold=20) if o.rule == "no_qbr" and o.threshold is not None else o
                      for o in rs.overrides)
    new = replace(rs, overrides=overrides)
    check_all(store, new, patterns_for(store, idx, new))


def test_scale_rule_dimension_is_exact():
    """reputation has a graded rule: its degrees are pattern keys, so tiers stay exact."""
    store = signals_store(random_signals_frame(2000, seed=5))
    rs = replace(load_ruleset(DEFAULT_RULESET_PATH), primary_dimension="reputation")
    rs = with_points(rs, {"detractor": 55})
    idx = pattern_index(store, rs, "signals", out_table="idx_rep")
    assert idx.base.dimensions == ("reputation",)
    table = full(store, rs)
    assert _same(agg.tier_summary_from_patterns(idx.base, rs), agg.tier_summary(store, table), "tier")
    new = with_thresholds(rs, {"detractor": [7, 1]})
    pat = patterns_for(store, idx, new)
    assert _same(agg.tier_summary_from_patterns(pat, new), agg.tier_summary(store, full(store, new, "f2")), "tier")
    # firing_patterns over an existing firings table gives the same patterns
    fp = firing_patterns(store, rs, "full_firings")
    assert fp.accounts == idx.base.accounts == 2000
    assert _same(agg.tier_summary_from_patterns(fp, rs), agg.tier_summary(store, table), "tier")
    assert firing_patterns(store, rs, "full_firings", max_patterns=1) is None  # too many: caller falls back


def test_value_cutoff_change_needs_a_new_index(data):
    store, rs, idx = data
    new = replace(rs, quadrant=replace(rs.quadrant, value_cutoff=1000.0))
    with pytest.raises(ValueError, match="value"):
        patterns_for(store, idx, new)
    idx2 = pattern_index(store, new, "signals", out_table="idx_cut")
    check_all(store, new, idx2.base)


def test_round_score_matches_the_sql_by_construction():
    """Half-way values, sums of points x fractional degrees and plain randoms: numpy's round_score and
    DuckDB evaluating round_sql give the same doubles (no engine ROUND, whose halves differ by version)."""
    rng = np.random.default_rng(0)
    halves = (rng.integers(0, 10**6, 20000) + 0.5) / 1e4
    sums = (rng.integers(0, 101, (20000, 3)) * rng.random((20000, 3))).sum(axis=1)
    x = np.concatenate([halves, sums, rng.random(20000) * 100, rng.integers(0, 10**7, 20000) / 1e5])
    store = Store()
    store.register_df("x", pd.DataFrame({"x": x}))
    ref = store.df(f"SELECT {round_sql('x')} AS r FROM x")["r"].to_numpy()
    assert np.array_equal(round_score(x), ref)
    assert round_score(np.array([70.12485]))[0] in (70.1248, 70.1249)  # a 4-decimal value either way
    assert np.all(np.abs(round_score(x) - x) <= 0.5e-4 + 1e-12)


def test_pandas_peer_equals_full_score(data):
    store, rs, _ = data
    new = with_thresholds(with_points(rs, {"usage_drop": 40}), {"no_qbr": 90})
    table = full(store, new)
    ids = [r.id for r in new.rules if r.dimension == "churn"]
    frame = store.df(f"SELECT segment, stage, value, {', '.join('v_' + i for i in ids)} FROM full_firings")
    got = peer_tiers(frame, peer_degrees(frame, new, ids), new)
    assert _same(got, agg.tier_summary(store, table), "tier")


def test_bench_harness_tiny_sample():
    from riskcore.sample import ensure_sample
    timings, facts = bench_size(400, runs=1, log=lambda s: None, data=ensure_sample(400), backtest=False)
    ops = [t.operation for t in timings]
    assert ops[0] == "bare scan (floor)"
    checked = [t for t in timings if t.check]
    assert len(checked) == 7 and all(t.check in ("= full", "= patterns") for t in checked), \
        [(t.operation, t.check) for t in checked]
    assert all(t.median_ms >= 0 for t in timings)
    assert facts["patterns"] <= facts["accounts_scored"] and facts["chart_marks"] <= 20000
    md = table(timings)
    assert md.count("\n") == len(timings) + 1 and "| 400 | bare scan (floor) |" in md
    text = render(timings, [facts], [], 1)
    assert "## One-off costs" in text and "| 400 | weight change / bare scan <= 1.0 |" in text


# ---- a threshold change at small sizes: numpy regroup == the SQL regroup ----------------------

def _with_rule(rs, rule_id, op, thr, override_thr):
    """rs with one rule's op / threshold changed and its threshold overrides set to override_thr."""
    rules = tuple(replace(r, op=op, threshold=thr) if r.id == rule_id else r for r in rs.rules)
    overrides = tuple(replace(o, threshold=override_thr) if o.rule == rule_id and o.threshold is not None else o
                      for o in rs.overrides)
    return replace(rs, rules=rules, overrides=overrides)


def _assert_same_regroup(store, idx, rs, changed):
    """The numpy regroup (and for one rule, the fired-only SQL) equal the grouped SQL."""
    from riskcore.scoring import _regroup_in_memory, _regroup_in_sql, _regroup_one_rule_sql
    ref = _regroup_in_sql(store, idx, rs, changed)
    fast = [_regroup_in_memory(store, idx, rs, changed)]
    if len(changed) == 1:
        fast.append(_regroup_one_rule_sql(store, idx, rs, changed))
    for got in fast:
        _assert_same_groups(idx, got, ref)


def _assert_same_groups(idx, got, ref):
    assert got is not None, "expected the fast path"
    assert np.array_equal(got[0], ref[0])  # same patterns, same order
    for a, b in zip(got[1], ref[1]):
        assert np.array_equal(a, b)
    assert np.array_equal(got[2], ref[2]) and got[2].sum() == idx.base.accounts
    np.testing.assert_allclose(got[3], ref[3], rtol=1e-9, atol=1e-6)


_NUM = st_h.one_of(st_h.integers(-400, 400), st_h.floats(-2, 2, allow_nan=False).map(lambda x: round(x, 2)),
                   st_h.floats(-500, 500, allow_nan=False, allow_infinity=False))
_RULE_SIGNALS = ["usage_drop", "inactive_7d", "no_qbr", "low_nps"]  # float with NULLs, ints with NULLs + null_fires


@given(rule=st_h.sampled_from(_RULE_SIGNALS), op=st_h.sampled_from(["<", "<=", ">", ">=", "==", "!=", "between"]),
       a=_NUM, b=_NUM, c=_NUM, d=_NUM)
@settings(max_examples=80, deadline=None)
def test_numpy_regroup_equals_sql(data, rule, op, a, b, c, d):
    store, rs, idx = data
    thr, over = ((a, b), (c, d)) if op == "between" else (a, c)
    new = _with_rule(rs, rule, op, thr, over)
    _assert_same_regroup(store, idx, new, [rule])


def test_numpy_regroup_two_rules_and_overrides(data):
    store, rs, idx = data
    new = with_thresholds(rs, {"usage_drop": -0.2, "inactive_7d": 14})
    overrides = tuple(replace(o, threshold=2) if o.rule == "inactive_7d" and o.threshold is not None else o
                      for o in new.overrides)
    new = replace(new, overrides=overrides)
    changed = ["usage_drop", "inactive_7d"]
    _assert_same_regroup(store, idx, new, changed)
    check_all(store, new, patterns_for(store, idx, new))
    assert any(k[0][0] == "usage_drop" for k in idx.memory)  # the signal values were kept for the next change


def test_numpy_regroup_falls_back_to_sql(data, monkeypatch):
    """Percentile thresholds, NaN signals and big indexes take the SQL regroup: same numbers."""
    from riskcore import scoring
    store, rs, idx = data
    pct = _with_rule(rs, "no_qbr", ">", Percentile(80), Percentile(90))
    assert scoring._regroup_in_memory(store, idx, pct, ["no_qbr"]) is None
    check_all(store, pct, patterns_for(store, idx, pct))

    new = with_thresholds(rs, {"usage_drop": -0.25})
    monkeypatch.setattr(scoring.index, "IN_MEMORY_MAX_ACCOUNTS", 100)  # read where the regroup runs
    assert scoring._regroup_in_memory(store, idx, new, ["usage_drop"]) is None
    check_all(store, new, patterns_for(store, idx, new))


def test_numpy_regroup_refuses_nan_signals():
    """DuckDB orders NaN above every number, numpy compares it false: such a column stays in SQL."""
    from riskcore import scoring
    frame = random_signals_frame(500, seed=3)
    frame["usage_change_30d"] = frame["usage_change_30d"].astype(float)
    frame.loc[[3, 9], "usage_change_30d"] = np.nan
    store = signals_store(frame)
    store.execute("UPDATE signals SET usage_change_30d = 'NaN'::DOUBLE WHERE account_id IN ('acc00003', 'acc00009')")
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    idx = pattern_index(store, rs, "signals", out_table="idx_nan")
    new = with_thresholds(rs, {"usage_drop": -0.2})
    assert scoring._regroup_in_memory(store, idx, new, ["usage_drop"]) is None
    check_all(store, new, patterns_for(store, idx, new))


@pytest.mark.parametrize("new", [
    lambda rs: _with_rule(rs, "no_qbr", ">", Percentile(80), Percentile(90)),
    lambda rs: _with_rule(rs, "low_nps", "in", [0, 3, 6], [1]),
    lambda rs: _with_rule(rs, "inactive_7d", "is_null", None, None),
])
def test_one_rule_sql_regroup_beyond_numpy(data, new):
    """Percentile, `in` and is_null rules: numpy declines, the fired-only SQL equals the grouped SQL."""
    from riskcore.scoring import _regroup_in_memory, _regroup_in_sql, _regroup_one_rule_sql
    store, rs, idx = data
    r = new(rs)
    rid = next(x.id for x, y in zip(r.rules, rs.rules) if x != y)
    assert _regroup_in_memory(store, idx, r, [rid]) is None
    _assert_same_groups(idx, _regroup_one_rule_sql(store, idx, r, [rid]), _regroup_in_sql(store, idx, r, [rid]))
    check_all(store, r, patterns_for(store, idx, r))


def test_one_rule_sql_regroup_declines_graded_and_several_rules():
    from riskcore.scoring import _regroup_one_rule_sql
    store = signals_store(random_signals_frame(800, seed=9))
    rs = replace(load_ruleset(DEFAULT_RULESET_PATH), primary_dimension="reputation")
    idx = pattern_index(store, rs, "signals", out_table="idx_rep2")
    assert _regroup_one_rule_sql(store, idx, with_thresholds(rs, {"detractor": [8, 1]}), ["detractor"]) is None
    two = with_thresholds(rs, {"detractor": [8, 1], "promoter": 10})
    assert _regroup_one_rule_sql(store, idx, two, ["detractor", "promoter"]) is None
