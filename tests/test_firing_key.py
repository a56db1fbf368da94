"""What a rule's firing depends on, defined once (rules.model): `Rule.firing_key()` and
`RuleSet.firing_key(rule_ids)`, and the pattern path that decides with it when to regroup."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from riskcore import aggregates as agg
from riskcore.fixtures import random_signals_frame, signals_store
from riskcore.rules import (DEFAULT_RULESET_PATH, QUADRANTS, TIERS, Percentile, load_ruleset, with_points,
                            with_thresholds)
from riskcore.scoring import pattern_index, pattern_quadrants, pattern_tiers, patterns_for, score

RS = load_ruleset(DEFAULT_RULESET_PATH)


def _relabel(rs, rule_id, **changes):
    return replace(rs, rules=tuple(replace(r, **changes) if r.id == rule_id else r for r in rs.rules))


def test_rule_key_is_signal_op_threshold_null_fires():
    r = RS.rule("no_qbr")
    assert r.firing_key() == (r.signal, r.op, r.threshold, r.null_fires)
    same = replace(r, points=r.points + 1, label="other words", group="external", dimension="payment", enabled=False)
    assert same.firing_key() == r.firing_key()
    for change in ({"threshold": 1}, {"op": "<"}, {"null_fires": not r.null_fires}, {"signal": "last_nps"},
                   {"threshold": Percentile(80)}):
        assert replace(r, **change).firing_key() != r.firing_key(), change


def test_ruleset_key_adds_id_dimension_and_threshold_overrides():
    key = dict((rid, rest) for rid, *rest in RS.firing_key(["no_qbr", "usage_drop", "inactive_7d"]))
    assert list(key) == [r.id for r in RS.rules if r.id in {"no_qbr", "usage_drop", "inactive_7d"}]  # file order
    # default.toml: no_qbr has a threshold override for Enterprise; usage_drop only a points override
    assert key["no_qbr"] == ["churn", RS.rule("no_qbr").firing_key(), (("Enterprise", None, 100),)]
    assert key["usage_drop"][2] == ()
    assert key["inactive_7d"][2] == ((None, "onboarding", 3),)
    assert RS.threshold_overrides("no_qbr") == (("Enterprise", None, 100),)
    assert RS.firing_key() == RS.firing_key([r.id for r in RS.rules])


def test_ruleset_key_ignores_points_enabled_label_and_points_overrides():
    changed = with_points(RS, {"no_qbr": 1})
    changed = _relabel(changed, "usage_drop", label="Usage fell", enabled=False, group="external")
    changed = replace(changed, overrides=tuple(replace(o, points=33) if o.points is not None else o
                                               for o in changed.overrides))
    assert changed.firing_key() == RS.firing_key()
    moved = _relabel(RS, "usage_drop", dimension="payment")
    assert moved.firing_key() != RS.firing_key()
    other = with_thresholds(RS, {"no_qbr": 45})
    assert other.firing_key(["usage_drop"]) == RS.firing_key(["usage_drop"])
    assert other.firing_key(["no_qbr"]) != RS.firing_key(["no_qbr"])
    thr_over = replace(RS, overrides=tuple(replace(o, threshold=120) if o.rule == "no_qbr" else o
                                           for o in RS.overrides))
    assert thr_over.firing_key(["no_qbr"]) != RS.firing_key(["no_qbr"])


def test_tier_and_quadrant_names():
    assert TIERS == ("low", "medium", "high")
    assert QUADRANTS == ("Save", "Expand", "Maintain", "Triage")


@pytest.fixture(scope="module")
def data():
    store = signals_store(random_signals_frame(1500, seed=5))
    return store, pattern_index(store, RS, "signals", out_table="fk_idx")


def test_label_or_group_change_reuses_base_patterns_with_the_full_score(data):
    """A label and group change never changes a degree: the index's base patterns come back (no
    regroup), and tiers / quadrants still match the per-account score of the changed rule set."""
    store, idx = data
    rs = _relabel(RS, "no_qbr", label="No business review for {threshold} days", group="external")
    pat = patterns_for(store, idx, rs)
    np.testing.assert_array_equal(pat.base_pid, np.arange(len(idx.base)))
    np.testing.assert_array_equal(pat.n, idx.base.n)
    full = store.df(f"SELECT tier, quadrant FROM {score(store, rs, 'signals', out_table='fk_full')}")
    tiers = dict(zip(*np.unique(np.repeat(pattern_tiers(pat, rs), pat.n), return_counts=True)))
    quads = dict(zip(*np.unique(np.repeat(pattern_quadrants(pat, rs), pat.n), return_counts=True)))
    assert tiers == full["tier"].value_counts().to_dict()
    assert quads == full["quadrant"].value_counts().to_dict()


def test_movement_from_patterns_accepts_a_relabelled_rule_set(data):
    """aggregates compares firing keys: a relabel is the same firing, a threshold change is not."""
    store, idx = data
    relabelled = _relabel(RS, "no_qbr", label="Quiet account", group="external")
    mv = agg.tier_movement_from_patterns(idx.base, RS, relabelled)
    assert int(mv["accounts"].sum()) == idx.base.accounts
    with pytest.raises(ValueError, match="differ in thresholds or signals"):
        agg.tier_movement_from_patterns(idx.base, RS, with_thresholds(RS, {"no_qbr": 45}))


def test_doctests_of_the_split_packages():
    import doctest
    import importlib
    for name in ("riskcore.rules", "riskcore.rules.model", "riskcore.rules.labels", "riskcore.expressions"):
        result = doctest.testmod(importlib.import_module(name))
        assert result.failed == 0 and result.attempted > 0, name


# ---- the engine's cache keys and history's rule definition use the one firing key ---------------

def test_cache_keys_follow_the_firing_key():
    from riskcore.keys import firing_signature, firings_key, index_key
    from riskcore.rules import with_enabled, with_fusion, with_tiers
    same = _relabel(with_enabled(with_points(RS, {"no_qbr": 1}), {"usage_drop": False}), "no_qbr", label="x",
                    group="external")
    same = with_fusion(with_tiers(same, medium=5, high=9), enabled=not RS.fusion.enabled)
    assert firings_key(same) == firings_key(RS) and firing_signature(same) == firing_signature(RS)
    assert index_key(same, None, "signals", 1) == index_key(RS, None, "signals", 1)
    for other in (with_thresholds(RS, {"usage_drop": -0.9}), _relabel(RS, "no_qbr", signal="days_since_login"),
                  replace(RS, quadrant=replace(RS.quadrant, value_column="seats")),
                  replace(RS, overrides=tuple(replace(o, threshold=120) if o.rule == "no_qbr" else o
                                              for o in RS.overrides))):
        assert firings_key(other) != firings_key(RS) and firing_signature(other) != firing_signature(RS)
        assert index_key(other, None, "signals", 1) != index_key(RS, None, "signals", 1)
    payment = replace(RS, primary_dimension="payment")
    assert firings_key(payment) == firings_key(RS)  # stage 1 holds every dimension's rules
    assert firing_signature(payment) != firing_signature(RS)  # the backtest patterns hold the primary's
    cut = replace(RS, quadrant=replace(RS.quadrant, value_cutoff=5.0))
    assert firings_key(cut) == firings_key(RS) and index_key(cut, None, "s", 1) != index_key(RS, None, "s", 1)


def test_shared_firings_score_like_a_fresh_score_after_a_points_enabled_or_label_change(data):
    """Stage 1 does not depend on points, enabled flags, labels or groups: the firings table of the
    published rule set (the engine reuses it for an equal firings_key), re-weighted for the changed one,
    scores every account as scoring from scratch."""
    from riskcore.keys import firings_key
    from riskcore.rules import with_enabled
    from riskcore.scoring import firings, score_firings
    store, _ = data
    changed = _relabel(with_enabled(with_points(RS, {"usage_drop": 64, "no_qbr": 3}), {"inactive_7d": False}),
                       "no_qbr", label="QBR missing", group="external")
    assert firings_key(changed) == firings_key(RS)
    shared = firings(store, RS, "signals", out_table="fk_shared")
    got = store.df(f"SELECT account_id, risk_score, tier, quadrant FROM "
                   f"{score_firings(store, changed, shared, out_table='fk_reweighted')} ORDER BY account_id")
    fresh = store.df(f"SELECT account_id, risk_score, tier, quadrant FROM "
                     f"{score(store, changed, 'signals', out_table='fk_fresh')} ORDER BY account_id")
    assert got.equals(fresh) and (fresh["tier"] != "low").any()


def test_history_definition_is_the_firing_key():
    from riskcore.history import _definition
    r = RS.rule("no_qbr")
    assert _definition(RS, "no_qbr") == (r.firing_key(), RS.threshold_overrides("no_qbr"))
    assert _definition(RS, "no_such_rule") is None
    changed = _relabel(with_points(RS, {"no_qbr": 2}), "no_qbr", label="y", enabled=False, group="external")
    assert _definition(changed, "no_qbr") == _definition(RS, "no_qbr")
    assert _definition(with_thresholds(RS, {"no_qbr": 45}), "no_qbr") != _definition(RS, "no_qbr")


def test_backtest_patterns_are_shared_by_rule_sets_that_fire_alike(tmp_path):
    """Two rule sets with one firing signature share the engine's backtest patterns, and the accuracy of
    each equals its own run_backtest (a disabled rule, other points: same firings, other scores)."""
    from riskcore.backtest import run_backtest
    from riskcore.engine import Engine
    from riskcore.rules import with_enabled
    from riskcore.sample import ensure_sample
    from riskcore.workspace import discard_store, open_store
    store = open_store(ensure_sample(400))
    try:
        engine = Engine(store)
        other = with_enabled(with_points(RS, {"usage_drop": 70}), {"inactive_7d": False})
        a, b = engine.accuracy(RS), engine.accuracy(other)
        assert len([k for k, _ in engine.cache.entries() if k[0] == "backtest_patterns"]) == 1
        for rs, got in ((RS, a), (other, b)):
            full = run_backtest(store, rs)
            assert got["auc"] == pytest.approx(full["auc"], abs=1e-12)
            assert got["brier"] == pytest.approx(full["brier"], abs=1e-12)
        assert a["auc"] != pytest.approx(b["auc"], abs=1e-6)
    finally:
        discard_store(store)


def test_pages_show_the_model_names_in_their_own_order():
    """ui.session lists quadrants high value first (Save, Expand, Triage, Maintain): the same names."""
    from ui.session import QUADRANTS as SHOWN, TIER_COLORS, TIERS as PAGE_TIERS
    assert SHOWN == ("Save", "Expand", "Triage", "Maintain") and sorted(SHOWN) == sorted(QUADRANTS)
    assert PAGE_TIERS is TIERS and tuple(TIER_COLORS) == TIERS


def test_doctests_of_the_cache_keys():
    import doctest
    from riskcore import keys
    result = doctest.testmod(keys)
    assert result.failed == 0 and result.attempted > 0
